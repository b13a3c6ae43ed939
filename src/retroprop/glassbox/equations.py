"""The lecture's equations of a traced step, filled in with its numbers, as plain strings.

Shared by the views (terminal tables, the step-through page); nothing here draws or prints.
Neurons and inputs are numbered from 1 as in the lecture: in a layer, neuron j receives
inputs xᵢ through weights wⱼᵢ; at the output the index is k. Numbers show 4 significant
digits with the typographic minus:
``δ₁ = o₁(1 − o₁)(y₁ − o₁) = 0.7514 × 0.2486 × (0.01 − 0.7514) = −0.1385``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from retroprop.core.losses import MATCHED_PAIRS
from retroprop.glassbox.trace import LayerTrace, StepTrace

__all__ = [
    "MAX_TERMS",
    "delta_equation",
    "delta_rule",
    "error_equation",
    "forward_equations",
    "num",
    "sub",
    "update_rows",
    "update_rule",
]

MAX_TERMS = 6
"""Sums with more terms show the first ones, then "+ …"."""

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def num(v: float) -> str:
    """A number as the equations show it: ``0.7514``, ``−0.1385``, ``1.25e−05``, ``0.35``."""
    v = float(v)
    if not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    return f"{v:.4g}".replace("-", "−")


def fac(v: float) -> str:
    """A factor of a product: negative numbers in parentheses."""
    text = num(v)
    return f"({text})" if text.startswith("−") else text


def sub(*indices: int) -> str:
    """Subscript of 1-based indices: ``sub(1, 2)`` = ``₁₂``; ``₁₀,₃`` when one has 2 digits."""
    parts = [str(i).translate(_SUB) for i in indices]
    return ("," if any(i > 9 for i in indices) else "").join(parts)


def _sum(terms: Sequence[str], plus: str = " + ") -> str:
    if len(terms) > MAX_TERMS:
        terms = [*terms[: MAX_TERMS - 1], f"… ({len(terms)} terms)"]
    return plus.join(terms).replace("+ −", "− ")


def _activation(name: str, z: float, o: float, j: int, zs: Sequence[float]) -> str:
    """oⱼ = f(zⱼ) with the number."""
    o_j = f"o{sub(j)}"
    if name == "sigmoid":
        return f"{o_j} = 1 / (1 + e^(−{fac(z)})) = {num(o)}"
    if name == "tanh":
        return f"{o_j} = tanh({num(z)}) = {num(o)}"
    if name == "relu":
        return f"{o_j} = max(0, {num(z)}) = {num(o)}"
    if name == "leaky_relu":
        return f"{o_j} = max(0.01 × {fac(z)}, {num(z)}) = {num(o)}"
    if name == "identity":
        return f"{o_j} = z{sub(j)} = {num(o)}"
    if name == "softmax":
        denominator = _sum([f"e^{fac(zm)}" for zm in zs])
        return f"{o_j} = e^{fac(z)} / ({denominator}) = {num(o)}"
    return f"{o_j} = f({num(z)}) = {num(o)}"


def forward_equations(layer: LayerTrace, s: int = 0) -> list[tuple[str, str]]:
    """Per neuron j of the layer, for sample s: (zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ, oⱼ = f(zⱼ)) with numbers."""
    rows = []
    for j in range(layer.n_out):
        terms = [f"{fac(w)} × {fac(x)}" for w, x in zip(layer.W_before[j], layer.x[s], strict=True)]
        z = layer.z[s, j]
        z_eq = f"z{sub(j + 1)} = {_sum([*terms, num(layer.b_before[j])])} = {num(z)}"
        o_eq = _activation(layer.activation, z, layer.a[s, j], j + 1, layer.z[s])
        rows.append((z_eq, o_eq))
    return rows


def error_equation(trace: StepTrace, s: int = 0) -> str:
    """E of sample s with the numbers, e.g. ``E = ½ Σₖ (yₖ − oₖ)² = ½ [(0.01 − 0.7514)² + …]``."""
    y, o, E = trace.y[s], trace.output[s], trace.E_before[s]
    if trace.loss == "squared_error":
        terms = _sum([f"({num(yk)} − {num(ok)})²" for yk, ok in zip(y, o, strict=True)])
        return f"E = ½ Σₖ (yₖ − oₖ)² = ½ [{terms}] = {num(E)}"
    if trace.loss == "absolute_error":
        terms = _sum([f"|{num(yk)} − {num(ok)}|" for yk, ok in zip(y, o, strict=True)])
        return f"E = Σₖ |yₖ − oₖ| = {terms} = {num(E)}"
    if trace.loss == "categorical_cross_entropy":
        terms = _sum([f"{fac(yk)} × ln {num(ok)}" for yk, ok in zip(y, o, strict=True)])
        return f"E = −Σₖ yₖ ln oₖ = −[{terms}] = {num(E)}"
    if trace.loss == "binary_cross_entropy":
        return f"E = −Σₖ [yₖ ln oₖ + (1 − yₖ) ln(1 − oₖ)] = {num(E)}"
    return f"E = {num(E)}"


def _output_rule(trace: StepTrace) -> str:
    """The form of the output δ: sigmoid, shortcut, squared, chain or jacobian (softmax)."""
    layer = trace.layers[-1]
    if (layer.activation, trace.loss) in MATCHED_PAIRS:
        return "shortcut"
    if layer.derivative is None:
        return "jacobian"
    if trace.loss == "squared_error":
        return "sigmoid" if layer.activation == "sigmoid" else "squared"
    return "chain"


def delta_rule(trace: StepTrace, l: int) -> str:
    """The symbolic rule for δ of layer l, e.g. ``δₖ = oₖ(1 − oₖ)(yₖ − oₖ)``."""
    layer = trace.layers[l]
    if l < len(trace.layers) - 1:
        if layer.activation == "sigmoid":
            return "δⱼ = oⱼ(1 − oⱼ) Σₖ δₖ wₖⱼ"
        if layer.derivative is None:
            return "δⱼ = Σₘ (∂oₘ/∂zⱼ) Σₖ δₖ wₖₘ"
        return "δⱼ = f′(zⱼ) Σₖ δₖ wₖⱼ"
    return {
        "sigmoid": "δₖ = oₖ(1 − oₖ)(yₖ − oₖ)",
        "shortcut": "δₖ = yₖ − oₖ",
        "squared": "δₖ = f′(zₖ)(yₖ − oₖ)",
        "chain": "δₖ = f′(zₖ) (−∂E/∂oₖ)",
        "jacobian": "δₖ = Σₘ (∂oₘ/∂zₖ)(−∂E/∂oₘ)",
    }[_output_rule(trace)]


def _delta_numbers(trace: StepTrace, l: int, j: int, s: int) -> str:
    """The right side of :func:`delta_rule` with the numbers ("" when there is no short form)."""
    layer = trace.layers[l]
    o = layer.a[s, j]
    f1 = "" if layer.derivative is None else fac(layer.derivative[s, j])
    if l < len(trace.layers) - 1:
        above = trace.layers[l + 1]
        pairs = zip(above.delta[s], above.W_before[:, j], strict=True)
        total = _sum([f"{fac(dk)} × {fac(wk)}" for dk, wk in pairs])
        if layer.activation == "sigmoid":
            return f"{num(o)} × {num(1 - o)} × ({total})"
        return f"{f1} × ({total})" if f1 else ""
    y = trace.y[s, j]
    rule = _output_rule(trace)
    if rule == "sigmoid":
        return f"{num(o)} × {num(1 - o)} × ({num(y)} − {num(o)})"
    if rule == "shortcut":
        return f"{num(y)} − {num(o)}"
    if rule == "squared":
        return f"{f1} × ({num(y)} − {num(o)})"
    return f"{f1} × {fac(layer.error_signal[s, j])}" if f1 else ""


def delta_equation(trace: StepTrace, l: int, j: int, s: int = 0) -> str:
    """δ of neuron j (0-based) of layer l for sample s: the rule, its numbers and the result."""
    index = "ₖ" if l == len(trace.layers) - 1 else "ⱼ"
    right = delta_rule(trace, l).split(" = ", 1)[1].replace(index, sub(j + 1))
    numbers = _delta_numbers(trace, l, j, s)
    d = num(trace.layers[l].delta[s, j])
    return (
        f"δ{sub(j + 1)} = {right} = {numbers} = {d}"
        if numbers
        else f"δ{sub(j + 1)} = {right} = {d}"
    )


def update_rule(trace: StepTrace) -> str:
    """The symbolic update rule of the step's optimizer."""
    if trace.optimizer == "sgd":
        if trace.batch_size == 1 and not trace.weight_decay:
            return "Δwⱼᵢ = η δⱼ xᵢ,  Δbⱼ = η δⱼ"
        return "Δw = −η ∂E/∂w"
    if trace.optimizer == "momentum":
        return "Δw = −η ∂E/∂w + μ v"
    if trace.optimizer == "adam":
        return "Δw = −η m̂ / (√v̂ + ε)"
    return "Δw = −sign(∂E/∂w) Δ"


def update_rows(trace: StepTrace, l: int) -> list[tuple[str, str, str, str]]:
    """Per weight wⱼᵢ, then per bias bⱼ of layer l: (name, ∂E/∂w, Δw equation, new value)."""
    layer = trace.layers[l]
    eta = trace.learning_rate
    rows = []
    n_out, n_in = layer.W_before.shape
    params = [(j, i) for j in range(n_out) for i in range(n_in)] + [(j, -1) for j in range(n_out)]
    for j, i in params:
        is_bias = i < 0
        name = f"b{sub(j + 1)}" if is_bias else f"w{sub(j + 1, i + 1)}"
        at: tuple[int, ...] = (j,) if is_bias else (j, i)
        pick = 1 if is_bias else 0
        g = float((layer.grad_b if is_bias else layer.grad_W)[at])
        dw = float((layer.db if is_bias else layer.dW)[at])
        before = float((layer.b_before if is_bias else layer.W_before)[at])
        after = float((layer.b_after if is_bias else layer.W_after)[at])
        if trace.optimizer == "sgd" and trace.batch_size == 1 and not trace.weight_decay:
            delta = layer.delta[0, j]
            x = "" if is_bias else f" × {fac(layer.x[0, i])}"
            xi = "" if is_bias else f" x{sub(i + 1)}"
            eq = f"Δ{name} = η δ{sub(j + 1)}{xi} = {num(eta)} × {fac(delta)}{x} = {num(dw)}"
        elif layer.gradient_term is not None and layer.momentum_term is not None:
            gt, mt = layer.gradient_term[pick][at], layer.momentum_term[pick][at]
            eq = f"Δ{name} = −η ∂E/∂{name} + μ v = {num(gt)} + {fac(mt)} = {num(dw)}"
        elif trace.optimizer == "adam":
            m, v = layer.state["m_hat"][pick][at], layer.state["v_hat"][pick][at]
            eq = f"Δ{name} = −{num(eta)} × {fac(m)} / (√{num(v)} + ε) = {num(dw)}"
        elif "step_size" in layer.state:
            step = layer.state["step_size"][pick][at]
            eq = f"Δ{name} = {num(dw)}  (Δ = {num(step)}, sign(∂E/∂w) = {num(np.sign(g))})"
        else:
            eq = f"Δ{name} = −η ∂E/∂{name} = −{num(eta)} × {fac(g)} = {num(dw)}"
        rows.append((name, num(g), eq, f"{name} = {num(before)} + {fac(dw)} = {num(after)}"))
    return rows
