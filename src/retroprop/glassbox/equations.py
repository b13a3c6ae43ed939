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
from typing import NamedTuple

import numpy as np

from retroprop.core.activations import LEAKY_SLOPE
from retroprop.core.losses import MATCHED_PAIRS
from retroprop.core.optimizers import (
    OPTIMIZERS,
    SGD,
    Adam,
    Momentum,
    Quickprop,
    Rprop,
    Sarprop,
)
from retroprop.glassbox.records import LayerTrace, StepRecord

__all__ = [
    "ACTIVATION_FORMS",
    "ERROR_FORMS",
    "MAX_TERMS",
    "MORE_TERMS",
    "UPDATE_RULES",
    "ErrorForm",
    "delta_equation",
    "delta_rule",
    "error_equation",
    "forward_equations",
    "minus",
    "num",
    "rule_of",
    "sub",
    "update_rows",
    "update_rule",
]

MAX_TERMS = 6
"""Sums with more terms show the first ones, then "+ …"."""

MORE_TERMS = "… ({n} terms)"
"""How a sum of more than :data:`MAX_TERMS` terms ends: the equations' one word, which the
views translate (:func:`retroprop.views.i18n.localized`)."""

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


def minus(a: float, b: float) -> str:
    """a − b with the numbers: ``0.01 − 0.7514``; a negative b is added, never subtracted
    twice: ``−0.9627 + 0.9546`` rather than ``−0.9627 − −0.9546``."""
    b_text = num(b)
    if b_text.startswith("−"):
        return f"{num(a)} + {b_text[1:]}"
    return f"{num(a)} − {b_text}"


def sub(*indices: int) -> str:
    """Subscript of 1-based indices: ``sub(1, 2)`` = ``₁₂``; ``₁₀,₃`` when one has 2 digits."""
    parts = [str(i).translate(_SUB) for i in indices]
    return ("," if any(i > 9 for i in indices) else "").join(parts)


def _sum(terms: Sequence[str], plus: str = " + ") -> str:
    if len(terms) > MAX_TERMS:
        terms = [*terms[: MAX_TERMS - 1], MORE_TERMS.format(n=len(terms))]
    return plus.join(terms).replace("+ −", "− ")


ACTIVATION_FORMS: dict[str, str] = {
    "sigmoid": "1 / (1 + e^(−{zf}))",
    "sigmoid_fann": "1 / (1 + e^(−{zf}))",
    "tanh": "tanh({z})",
    "relu": "max(0, {z})",
    "leaky_relu": f"max({num(LEAKY_SLOPE)} × {{zf}}, {{z}})",
    "identity": "z{j}",
    "exp": "e^{zf}",
    "sin": "sin({z})",
    "cos": "cos({z})",
    "gaussian": "e^(−{zf}²)",
}
"""f(zⱼ) written out per activation name: ``{z}`` is the number, ``{zf}`` the number as a factor
(in parentheses when negative), ``{j}`` the neuron's subscript. Softmax, which needs the whole
layer, is written by :func:`_activation`; an activation not listed shows as f(z)."""


def _activation(name: str, z: float, o: float, j: int, zs: Sequence[float]) -> str:
    """oⱼ = f(zⱼ) with the number."""
    if name == "softmax":
        denominator = _sum([f"e^{fac(zm)}" for zm in zs])
        f_z = f"e^{fac(z)} / ({denominator})"
    else:
        form = ACTIVATION_FORMS.get(name, "f({z})")
        f_z = form.format(z=num(z), zf=fac(z), j=sub(j))
    return f"o{sub(j)} = {f_z} = {num(o)}"


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


class ErrorForm(NamedTuple):
    """How the error E of a loss is written: its rule and, when short, its terms per output.

    ``term`` is filled with ``y_minus_o`` (y − o with the numbers, :func:`minus`), ``o`` and
    ``yf`` (y as a factor); ``total`` wraps the sum of the terms. Without ``term`` the
    equation shows the rule and the result.
    """

    rule: str
    term: str | None = None
    total: str = "{terms}"


ERROR_FORMS: dict[str, ErrorForm] = {
    "squared_error": ErrorForm("½ Σₖ (yₖ − oₖ)²", "({y_minus_o})²", "½ [{terms}]"),
    "absolute_error": ErrorForm("Σₖ |yₖ − oₖ|", "|{y_minus_o}|"),
    "categorical_cross_entropy": ErrorForm("−Σₖ yₖ ln oₖ", "{yf} × ln {o}", "−[{terms}]"),
    "binary_cross_entropy": ErrorForm("−Σₖ [yₖ ln oₖ + (1 − yₖ) ln(1 − oₖ)]"),
    "poisson": ErrorForm("Σₖ [yₖ ln(yₖ / oₖ) − yₖ + oₖ]"),
}
"""The per-sample error E of each loss name; a loss not listed shows as E = its value."""


def error_equation(trace: StepRecord, s: int = 0) -> str:
    """E of sample s with the numbers, e.g. ``E = ½ Σₖ (yₖ − oₖ)² = ½ [(0.01 − 0.7514)² + …]``."""
    y, o, E = trace.y[s], trace.output[s], trace.E_before[s]
    form = ERROR_FORMS.get(trace.loss)
    if form is None:
        return f"E = {num(E)}"
    if form.term is None:
        return f"E = {form.rule} = {num(E)}"
    pairs = zip(y, o, strict=True)
    terms = _sum(
        [form.term.format(y_minus_o=minus(yk, ok), o=num(ok), yf=fac(yk)) for yk, ok in pairs]
    )
    return f"E = {form.rule} = {form.total.format(terms=terms)} = {num(E)}"


def _output_rule(trace: StepRecord) -> str:
    """The form of the output δ: sigmoid, shortcut, squared, chain or jacobian (softmax)."""
    layer = trace.layers[-1]
    if (layer.activation, trace.loss) in MATCHED_PAIRS:
        return "shortcut"
    if layer.derivative is None:
        return "jacobian"
    if trace.loss == "squared_error":
        return "sigmoid" if layer.activation == "sigmoid" else "squared"
    return "chain"


def delta_rule(trace: StepRecord, l: int) -> str:
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


def cascaded(trace: StepRecord, l: int) -> bool:
    """Whether layer l reads more than the layer before it: a cascade block, which reads the
    inputs and every earlier block (shortcut connections; see
    :mod:`retroprop.core.cascade`)."""
    return l > 0 and trace.layers[l].x.shape[1] != trace.layers[l - 1].n_out


def readers(trace: StepRecord, l: int, j: int) -> list[tuple[int, int]]:
    """(layer m, column) of every weight wₘ that reads neuron j of layer l: the next layer's
    column j, or in a cascade every later layer's column (what l reads) + j."""
    if not cascaded(trace, l + 1):
        return [(l + 1, j)]
    column = trace.layers[l].x.shape[1] + j
    return [(m, column) for m in range(l + 1, len(trace.layers))]


def _delta_numbers(trace: StepRecord, l: int, j: int, s: int) -> str:
    """The right side of :func:`delta_rule` with the numbers ("" when there is no short form).

    Every form is f′(z) × (error signal): f′(z) is written o × (1 − o) for sigmoid (the
    lecture's form) and is the number f′(zⱼ) otherwise; there is none for softmax, and the
    shortcut δ = y − o has no factor at all.
    """
    layer = trace.layers[l]
    o = layer.a[s, j]
    if l < len(trace.layers) - 1:
        pairs = [
            (dk, wk)
            for m, column in readers(trace, l, j)
            for dk, wk in zip(
                trace.layers[m].delta[s], trace.layers[m].W_before[:, column], strict=True
            )
        ]
        signal = f"({_sum([f'{fac(dk)} × {fac(wk)}' for dk, wk in pairs])})"
        rule = "sigmoid" if layer.activation == "sigmoid" else "chain"
    else:
        rule = _output_rule(trace)
        y = trace.y[s, j]
        if rule == "shortcut":
            return minus(y, o)
        error = f"({minus(y, o)})"
        signal = fac(layer.error_signal[s, j]) if rule in ("chain", "jacobian") else error
    if rule == "sigmoid":
        return f"{num(o)} × {num(1 - o)} × {signal}"
    if layer.derivative is None:
        return ""
    return f"{fac(layer.derivative[s, j])} × {signal}"


def delta_equation(trace: StepRecord, l: int, j: int, s: int = 0) -> str:
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


UPDATE_RULES: dict[type, str] = {
    SGD: "Δw = −η ∂E/∂w",
    Momentum: "Δw = −η ∂E/∂w + μ v",
    Adam: "Δw = −η m̂ / (√v̂ + ε)",
    Rprop: "Δw = −sign(∂E/∂w) Δ",
    Quickprop: "Δw = Δw′ s / (s′ − s) (capped at μ Δw′) + η s,  s = −∂E/∂w + decay·w",
    Sarprop: "Δw = −sign(∂E/∂w + 2^(−T·t + shift)·w) Δ",
}
"""The symbolic update of each step rule, by its class in the optimizer registry (a subclass,
such as a variant of Adam, is written as its base)."""


def _step_rule(trace: StepRecord) -> type | None:
    """The class the optimizer registry gives the step's optimizer name (None if unknown)."""
    return OPTIMIZERS.get(trace.optimizer)


def rule_of(kind: type | None) -> str:
    """The :data:`UPDATE_RULES` entry of an optimizer class or of its nearest base class.

    An unknown optimizer is written as a plain gradient step.
    """
    for cls in kind.__mro__ if kind is not None else ():
        if cls in UPDATE_RULES:
            return UPDATE_RULES[cls]
    return UPDATE_RULES[SGD]


def _lecture_form(trace: StepRecord) -> bool:
    """True for the lecture's own step: plain SGD on one sample without weight decay."""
    return _step_rule(trace) is SGD and trace.batch_size == 1 and not trace.weight_decay


def update_rule(trace: StepRecord) -> str:
    """The symbolic update rule of the step's optimizer."""
    if _lecture_form(trace):
        return "Δwⱼᵢ = η δⱼ xᵢ,  Δbⱼ = η δⱼ"
    return rule_of(_step_rule(trace))


Parameter = tuple[str, int, tuple[int, ...]]
"""A weight or bias of a layer: (name, pick, index), see :func:`_parameters`."""


def _parameters(layer: LayerTrace) -> list[Parameter]:
    """(name, pick, index) of every weight wⱼᵢ, then of every bias bⱼ of the layer.

    ``pick`` selects from the trace's (for W, for b) pairs: 0 for a weight, 1 for a bias.
    """
    n_out, n_in = layer.W_before.shape
    weights: list[Parameter] = [
        (f"w{sub(j + 1, i + 1)}", 0, (j, i)) for j in range(n_out) for i in range(n_in)
    ]
    biases: list[Parameter] = [(f"b{sub(j + 1)}", 1, (j,)) for j in range(n_out)]
    return weights + biases


def _update_equation(
    trace: StepRecord, layer: LayerTrace, name: str, pick: int, at: tuple[int, ...]
) -> str:
    """Δ of one parameter (see :func:`_parameters`) with the numbers, in its step rule's form.

    Which form is read off what the trace recorded: the lecture's η δⱼ xᵢ for plain online
    SGD, the two parts of a momentum update, Adam's m̂ and v̂, Rprop's step size Δ.
    """
    g = float((layer.grad_W, layer.grad_b)[pick][at])
    dw = num((layer.dW, layer.db)[pick][at])
    eta = trace.learning_rate
    if _lecture_form(trace):
        j, delta = at[0], fac(layer.delta[0, at[0]])
        if pick == 1:
            return f"Δ{name} = η δ{sub(j + 1)} = {num(eta)} × {delta} = {dw}"
        i = at[1]
        x = fac(layer.x[0, i])
        return f"Δ{name} = η δ{sub(j + 1)} x{sub(i + 1)} = {num(eta)} × {delta} × {x} = {dw}"
    if layer.gradient_term is not None and layer.momentum_term is not None:
        gt, mt = layer.gradient_term[pick][at], layer.momentum_term[pick][at]
        return f"Δ{name} = −η ∂E/∂{name} + μ v = {num(gt)} + {fac(mt)} = {dw}"
    if layer.state.get("m_hat") is not None and layer.state.get("v_hat") is not None:
        m, v = layer.state["m_hat"][pick][at], layer.state["v_hat"][pick][at]
        return f"Δ{name} = −{num(eta)} × {fac(m)} / (√{num(v)} + ε) = {dw}"
    if "slope_old" in layer.state:
        s = layer.state["slope_old"][pick][at]
        return f"Δ{name} = {dw}  (Quickprop, from the slope s = {num(s)} and the last step)"
    if "step_size" in layer.state:
        step = layer.state["step_size"][pick][at]
        return f"Δ{name} = {dw}  (Δ = {num(step)}, sign(∂E/∂w) = {num(np.sign(g))})"
    return f"Δ{name} = −η ∂E/∂{name} = −{num(eta)} × {fac(g)} = {dw}"


def update_rows(trace: StepRecord, l: int) -> list[tuple[str, str, str, str]]:
    """Per weight wⱼᵢ, then per bias bⱼ of layer l: (name, ∂E/∂w, Δw equation, new value)."""
    layer = trace.layers[l]
    rows = []
    for name, pick, at in _parameters(layer):
        g = (layer.grad_W, layer.grad_b)[pick][at]
        dw = (layer.dW, layer.db)[pick][at]
        before = (layer.W_before, layer.b_before)[pick][at]
        after = (layer.W_after, layer.b_after)[pick][at]
        change = _update_equation(trace, layer, name, pick, at)
        rows.append((name, num(g), change, f"{name} = {num(before)} + {fac(dw)} = {num(after)}"))
    return rows
