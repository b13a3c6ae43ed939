"""The step-through page: one self-contained HTML file (no CDN, no network) per traced step.

An SVG drawing of the network (edges coloured by the sign of the weight and sized by its
magnitude, neurons showing their values) and buttons (or the arrow keys) that walk through the
step moment by moment: the input, the forward pass layer by layer, the error, the δ of each
neuron from the output back, the weight updates layer by layer and the error after the step.
Each moment highlights the neurons and edges involved while a panel shows the equations with
the numbers (from :mod:`retroprop.glassbox.equations`). Hovering an edge shows wⱼᵢ, ∂E/∂w and
Δw. The page carries both languages and switches between them without reloading.

Ids in the drawing: column c = 0 for the inputs and c = l + 1 for ``trace.layers[l]``;
neuron j of column c is ``n{c}-{j}``, the edge from input i into it is ``e{c}-{j}-{i}``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from retroprop.errors import ParameterError
from retroprop.files.atomic import atomic_path
from retroprop.glassbox import equations
from retroprop.glassbox.diagnostics import diagnose, diagnose_steps
from retroprop.glassbox.equations import cascaded, num, sub
from retroprop.glassbox.trace import StepTrace
from retroprop.views.explain_text import (
    MAX_ROWS,
    diagnostic_text,
    input_rows,
    layer_name,
    neuron_label,
    output_rows,
    scaling_note,
)
from retroprop.views.i18n import LANGUAGES, STRINGS, localized, words

__all__ = ["step_page", "step_walk", "write_step_page"]

Moment = dict[str, Any]
"""One stop of the walk: ``kind``, ``step`` (0-based), ``title`` and ``lines`` per language, and
the ids of the ``nodes`` and ``edges`` it highlights."""
Words = dict[str, str]
"""The templates of one language (:func:`retroprop.views.i18n.words`)."""


def _both(make: Callable[[Words, str], Any]) -> dict[str, Any]:
    """{"en": make(words_en, "en"), "es": make(words_es, "es")}."""
    return {lang: make(words(lang), lang) for lang in LANGUAGES}


def _moment(
    kind: str,
    step: int,
    title: Callable[[Words, str], str],
    lines: Callable[[Words, str], list[str]],
    nodes: list[str],
    edges: list[str],
) -> Moment:
    """A :data:`Moment` with its title and lines in both languages (the equations' words
    too: :func:`~retroprop.views.i18n.localized`)."""
    return {
        "kind": kind,
        "step": step,
        "title": _both(title),
        "lines": _both(lambda T, lang: [localized(line, T) for line in lines(T, lang)]),
        "nodes": nodes,
        "edges": edges,
    }


def _capped(lines: list[str], T: Words) -> list[str]:
    if len(lines) <= MAX_ROWS:
        return lines
    return [*lines[:MAX_ROWS], T["more_rows"].format(n=len(lines) - MAX_ROWS)]


@dataclass(frozen=True)
class _Walk:
    """The moments of one traced step, in the order the page walks through them (sample 1).

    ``steps`` is how many steps the page shows; with more than one, titles say which this is.
    """

    trace: StepTrace
    steps: int

    @property
    def cols(self) -> list[int]:
        """Neurons per column of the drawing: the inputs, then each layer."""
        return [self.trace.x.shape[1]] + [ly.n_out for ly in self.trace.layers]

    def nodes(self, c: int) -> list[str]:
        return [f"n{c}-{j}" for j in range(self.cols[c])]

    def edges(self, c: int) -> list[str]:
        """Every edge into column c."""
        return [f"e{c}-{j}-{i}" for j in range(self.cols[c]) for i in range(self.cols[c - 1])]

    def moment(
        self,
        kind: str,
        title: Callable[[Words], str],
        lines: Callable[[Words, str], list[str]],
        nodes: list[str],
        edges: list[str],
    ) -> Moment:
        """A moment of this step; its title starts with "Step s of n · " when there are several."""

        def full_title(T: Words, lang: str) -> str:
            if self.steps == 1:
                return title(T)
            return T["step_of"].format(step=self.trace.step, steps=self.steps) + " · " + title(T)

        return _moment(kind, self.trace.step - 1, full_title, lines, nodes, edges)

    def start(self) -> Moment:
        """The input x, the target y, η and the optimizer."""
        trace = self.trace

        def lines(T: Words, lang: str) -> list[str]:
            out = [
                f"{T['input']} x = ({', '.join(num(v) for v in trace.x[0])})",
                f"{T['target']} y = ({', '.join(num(v) for v in trace.y[0])})",
                f"{T['learning_rate']} η = {num(trace.learning_rate)} · {T['optimizer']}: "
                f"{trace.optimizer}",
            ]
            if trace.batch_size > 1:
                out += [T["batch"].format(n=trace.batch_size), T["first_sample"]]
            named = [f"{x} = {value} · {name}" for x, name, value in input_rows(trace)]
            named += [f"{o} · {name} · y = {y}" for o, name, y in output_rows(trace)]
            return out + _capped(named, T) + scaling_note(trace, T)

        return self.moment("input", lambda T: T["input_title"], lines, self.nodes(0), [])

    def forward(self, l: int) -> Moment:
        """Layer l's zⱼ and oⱼ with the numbers, highlighting the layer and its edges."""
        trace = self.trace
        eqs = [line for pair in equations.forward_equations(trace.layers[l]) for line in pair]
        caption = "inputs_are_x" if l == 0 else "inputs_are_o"
        if cascaded(trace, l):
            caption = "inputs_are_h"
        return self.moment(
            "forward",
            lambda T: f"{T['forward']} · {layer_name(trace, l, T)}",
            lambda T, lang: [*_capped(eqs, T), T[caption].format(l=l)],
            self.nodes(l + 1),
            self.edges(l + 1),
        )

    def error(self) -> Moment:
        """The error E of the output, with the numbers."""
        trace = self.trace
        return self.moment(
            "error",
            lambda T: T.get(trace.loss, trace.loss),
            lambda T, lang: [equations.error_equation(trace)],
            self.nodes(len(trace.layers)),
            [],
        )

    def delta(self, l: int, j: int) -> Moment:
        """δ of neuron j of layer l, highlighting it and (below the output) the layer above."""
        trace = self.trace
        top = l == len(trace.layers) - 1
        above = [] if top else self.nodes(l + 2)
        out_edges = [] if top else [f"e{l + 2}-{k}-{j}" for k in range(self.cols[l + 2])]
        lines = [equations.delta_rule(trace, l), equations.delta_equation(trace, l, j)]
        return self.moment(
            "delta",
            lambda T: (
                f"{T['backward']} · {layer_name(trace, l, T)} · {T['neuron']} "
                f"{neuron_label(trace, l, j)}"
            ),
            lambda T, lang: lines,
            [f"n{l + 1}-{j}", *above],
            out_edges,
        )

    def update(self, l: int) -> Moment:
        """Every Δw of layer l and the new weights."""
        trace = self.trace
        rows = [f"{change}   →   {new}" for _, _, change, new in equations.update_rows(trace, l)]
        return self.moment(
            "update",
            lambda T: f"{T['updates']} · {layer_name(trace, l, T)}",
            lambda T, lang: [equations.update_rule(trace), *_capped(rows, T)],
            [*self.nodes(l), *self.nodes(l + 1)],
            self.edges(l + 1),
        )

    def after(self) -> Moment:
        """The error of the same input after the step, and the diagnostics in words."""
        trace = self.trace

        def lines(T: Words, lang: str) -> list[str]:
            change = num(trace.error_after - trace.error_before)
            text = T["error_before_after"].format(
                after=num(trace.error_after), before=num(trace.error_before), change=change
            )
            found = [f"• {diagnostic_text(d, lang)}" for d in diagnose(trace)]
            return [text, f"{T['diagnostics']}:", *(found or [T["no_findings"]])]

        return self.moment(
            "after", lambda T: T["after_title"], lines, self.nodes(len(trace.layers)), []
        )


def _moments(trace: StepTrace, steps: int) -> list[Moment]:
    """The moments of one step: input, forward layer by layer, error, every δ from the output
    back, the updates from the output back, and the error after the step."""
    walk = _Walk(trace, steps)
    backwards = range(len(trace.layers) - 1, -1, -1)
    return [
        walk.start(),
        *(walk.forward(l) for l in range(len(trace.layers))),
        walk.error(),
        *(walk.delta(l, j) for l in backwards for j in range(trace.layers[l].n_out)),
        *(walk.update(l) for l in backwards),
        walk.after(),
    ]


def _edge_info(trace: StepTrace) -> dict[str, str]:
    """Tooltip of every edge: wⱼᵢ, ∂E/∂wⱼᵢ, Δwⱼᵢ and the new weight."""
    info = {}
    for l, ly in enumerate(trace.layers):
        for (j, i), w in np.ndenumerate(ly.W_before):
            name = f"w{sub(j + 1, i + 1)}"
            info[f"e{l + 1}-{j}-{i}"] = (
                f"{name} = {num(w)} · ∂E/∂{name} = {num(ly.grad_W[j, i])} · "
                f"Δ{name} = {num(ly.dW[j, i])} → {num(ly.W_after[j, i])}"
            )
    return info


MAX_LABEL = 22
"""Characters of a column or class name shown in the drawing (the full name is its tooltip)."""


def _node_name(trace: StepTrace, c: int, j: int, x: float, y: float) -> str:
    """The label above neuron j of column c: x₁ / o₁, or the input's or output's name (as
    ``island=Dream`` and ``o[Adelie]``), escaped, cut to :data:`MAX_LABEL` characters with the
    whole name as its ``<title>``."""
    last = len(trace.layers)
    if c == 0 and trace.input_names is not None:
        name = trace.input_names[j]
    elif c == last and trace.output_names is not None:
        name = f"o[{trace.output_names[j]}]"
    else:
        name = f"{'x' if c == 0 else 'o'}{j + 1}"
    shown = name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"
    tip = f"<title>{escape(name)}</title>" if shown != name else ""
    return f'<text class="name" x="{x:.1f}" y="{y:.1f}">{tip}{escape(shown)}</text>'


VALUE_EM = 0.7
"""Width of a character of a neuron's value in ems of its font, at most (the digits of a
sans-serif font are about 0.55 em, "−" and "e" wider: ``−1.23e−5`` measured 0.65 em a
character in Chromium)."""


MIN_FONT = 6.0
"""Smallest font (px) of the values inside the circles; a drawing that would need a smaller
one shows no text (its neurons' names and values are in the tooltips and the panel)."""


def short(v: float) -> str:
    """A value as a neuron shows it inside its circle: 3 significant digits, the exponent
    without its zeros (``−1.23e−5``); the panel's equations keep :func:`num`'s 4 digits."""
    if not math.isfinite(v) or v == 0:
        return num(v)
    mantissa, _, exponent = f"{v:.3g}".partition("e")
    text = f"{mantissa}e{int(exponent)}" if exponent else mantissa
    return text.replace("-", "−")


def value_font(r: float, longest: int) -> float:
    """The font size (px) of the values shown inside circles of radius ``r``: 12 px, smaller
    when the longest value (``longest`` characters, e.g. ``−1.234e−05``) would not fit across
    the circle (less 2 px each side)."""
    return min(12.0, (2 * r - 4) / (VALUE_EM * max(longest, 1)))


def _svg(trace: StepTrace, longest: int = 7) -> str:
    """The drawing of the network with the weights before the step; the values inside the
    circles (``longest`` characters at most) in a font that fits them."""
    cols = [trace.x.shape[1]] + [ly.n_out for ly in trace.layers]
    tallest = max(cols)
    gap = 100.0 if tallest <= 6 else (64.0 if tallest <= 10 else max(7.0, 640.0 / tallest))
    height = 70 + gap * tallest
    width = 140 + 240 * (len(cols) - 1)
    r = min(24.0, gap * 0.3)
    font = value_font(r, longest)
    compact = ' class="compact"' if font < MIN_FONT else ""

    def xy(c: int, j: int) -> tuple[float, float]:
        spread = min(max(gap, 64.0), (height - 70) / cols[c])  # small layers spread out
        top = (height - spread * (cols[c] - 1)) / 2
        return 70 + 240 * c, top + spread * j

    w_max = max(float(np.max(np.abs(ly.W_before))) for ly in trace.layers) or 1.0
    parts = [
        f'<svg id="net"{compact} xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height:.0f}" '
        f'width="{width}" height="{height:.0f}">'
    ]
    for l, ly in enumerate(trace.layers):
        for (j, i), w in np.ndenumerate(ly.W_before):
            (x1, y1), (x2, y2) = xy(l, i), xy(l + 1, j)
            sign = "pos" if w >= 0 else "neg"
            stroke = 0.6 + 4.4 * abs(float(w)) / w_max
            parts.append(
                f'<line id="e{l + 1}-{j}-{i}" class="edge {sign}" x1="{x1:.1f}" y1="{y1:.1f}" '
                f'x2="{x2:.1f}" y2="{y2:.1f}" stroke-width="{stroke:.2f}"/>'
            )
    for c, n in enumerate(cols):
        for j in range(n):
            x, y = xy(c, j)
            parts.append(
                f'<g id="n{c}-{j}" class="node" data-col="{c}" data-j="{j}">'
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"/>'
                f"{_node_name(trace, c, j, x, y - r - 4)}"
                f'<text class="val" x="{x:.1f}" y="{y + font / 3:.1f}" '
                f'style="font-size: {font:.1f}px"></text>'
                f'<text class="dlt" x="{x:.1f}" y="{y + r + 13:.1f}"></text></g>'
            )
    parts.append("</svg>")
    return "\n".join(parts)


def _summary(traces: Sequence[StepTrace]) -> Moment:
    """A last moment after several steps: the error step by step and an oscillation warning."""

    def lines(T: Words, lang: str) -> list[str]:
        errors = [
            f"{T['step']} {t.step}: {num(t.error_before)} → {num(t.error_after)}" for t in traces
        ]
        return errors + [f"• {diagnostic_text(d, lang)}" for d in diagnose_steps(traces)]

    return _moment("summary", traces[-1].step - 1, lambda T, lang: T["summary"], lines, [], [])


def _longest(values: Sequence[dict[str, Any]]) -> int:
    """Characters of the longest value shown inside a circle (x, or o) at any step."""
    shown = [v for step in values for v in [*step["x"], *(o for ly in step["o"] for o in ly)]]
    return max(map(len, shown), default=1)


def step_walk(traces: Sequence[StepTrace]) -> dict[str, Any]:
    """The walk through one or more traced steps, as the page (and the playground) shows it.

    ``moments``: the stops in order, each with its title and lines in both languages and the
    ids of the neurons (``n{c}-{j}``) and edges (``e{c}-{j}-{i}``) it highlights; ``values``:
    per step the input x, every layer's o and δ (sample 1, as shown); ``edges``: per step the
    tooltip of every edge (wⱼᵢ, ∂E/∂w, Δw and the new weight).

    Raises:
        ParameterError: no traces.
    """
    if not traces:
        raise ParameterError("traces: give at least one traced step")
    moments = [m for t in traces for m in _moments(t, len(traces))]
    if len(traces) > 1:
        moments.append(_summary(traces))
    values = [
        {
            "x": [short(v) for v in t.x[0]],
            "o": [[short(v) for v in ly.a[0]] for ly in t.layers],
            "d": [[short(v) for v in ly.delta[0]] for ly in t.layers],
        }
        for t in traces
    ]
    return {"moments": moments, "values": values, "edges": [_edge_info(t) for t in traces]}


def step_page(traces: Sequence[StepTrace], lang: str = "en") -> str:
    """The HTML text of the step-through page for one or more consecutive traced steps.

    Args:
        traces: from :func:`~retroprop.glassbox.trace.trace_steps` (the drawing shows the
            first step's weights; every step's moments follow one another).
        lang: the language the page opens in (``"en"`` or ``"es"``; both are included).

    Raises:
        ParameterError: no traces, or an unknown language.
    """
    words(lang)  # validates the language
    walk = step_walk(traces)
    data = {"lang": lang, "strings": {code: words(code) for code in LANGUAGES}, **walk}
    # "<" only stands inside JSON strings, where \u003c is the same character: nothing in a
    # user's name (</script>, <!--) can end or change the script element that holds the data
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    template = resources.files("retroprop.views").joinpath("templates/step_page.html")
    html = template.read_text("utf-8")
    static = {key: escape(text[lang]) for key, text in STRINGS.items()}
    return (
        html.replace("{{lang}}", lang)
        .replace("{{title}}", static["page_title"])
        .replace("{{svg}}", _svg(traces[0], _longest(walk["values"])))
        .replace("{{data}}", payload)
    )


def write_step_page(
    traces: Sequence[StepTrace], path: str | os.PathLike[str], lang: str = "en"
) -> Path:
    """Write :func:`step_page` to ``path`` (atomically) and return the path."""
    text = step_page(traces, lang)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
