"""A traced step in the terminal: rich tables in the lecture's notation, English or Spanish.

For each step: the forward pass layer by layer (zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ and oⱼ = f(zⱼ) with the
numbers), the error E, the δ of every neuron from the output back to the first hidden layer,
every weight and bias update with its new value, the error of the same input after the step
and the diagnostics in words. The equations come from :mod:`retroprop.glassbox.equations`, the words
from :mod:`retroprop.views.i18n`; this module only lays them out. Every string goes in as
:func:`~retroprop.views.terminal.plain` text: no rich markup, control characters escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from retroprop.glassbox.diagnostics import Diagnostic, diagnose, diagnose_steps
from retroprop.glassbox.equations import (
    cascaded,
    delta_equation,
    delta_rule,
    error_equation,
    forward_equations,
    num,
    sub,
    update_rows,
    update_rule,
)
from retroprop.glassbox.trace import StepTrace
from retroprop.views.i18n import localized, words
from retroprop.views.terminal import plain

__all__ = [
    "MAX_ROWS",
    "diagnostic_text",
    "explain_renderables",
    "input_rows",
    "layer_name",
    "neuron_label",
    "output_rows",
    "print_explanation",
    "scaling_note",
]

MAX_ROWS = 40
"""Update tables show at most this many weights per layer (the JSON output has them all)."""


def _vector(values: Sequence[float]) -> str:
    return "(" + ", ".join(num(v) for v in values) + ")"


def diagnostic_text(d: Diagnostic, lang: str = "en") -> str:
    """One finding in words; layers and neurons are numbered from 1."""
    template = words(lang)[d.code]
    layer = None if d.layer is None else d.layer + 1
    neuron = None if d.neuron is None else d.neuron + 1
    value = f"{d.value:.0f}" if d.code == "oscillating" else num(d.value)
    return template.format(layer=layer, neuron=neuron, value=value, step=d.step)


def _table(caption: str | None, columns: Sequence[str]) -> Table:
    table = Table(caption=caption, box=box.SIMPLE_HEAD, caption_justify="left")
    for name in columns:
        table.add_column(plain(name), overflow="fold")
    return table


def _title(text: str) -> Text:
    return plain(f"\n{text}", style="bold cyan", lines=True)


def layer_name(trace: StepTrace, l: int, T: dict[str, str]) -> str:
    """ "layer 2 (output layer, sigmoid)" in the language of ``T``; l is 0-based."""
    role = T["output_layer"] if l == len(trace.layers) - 1 else T["hidden_layer"]
    return f"{T['layer'].format(l=l + 1)} ({role}, {trace.layers[l].activation})"


def neuron_label(trace: StepTrace, l: int, j: int) -> str:
    """Neuron j of layer l numbered from 1, with its name at a named output: ``2 [Chinstrap]``."""
    if l == len(trace.layers) - 1 and trace.output_names is not None:
        return f"{j + 1} [{trace.output_names[j]}]"
    return str(j + 1)


def input_rows(trace: StepTrace, s: int = 0) -> list[tuple[str, str, str]]:
    """(xᵢ, its name, its value in sample s) per input of a trace with named inputs, else []."""
    return _named_rows("x", trace.input_names, trace.x[s])


def output_rows(trace: StepTrace, s: int = 0) -> list[tuple[str, str, str]]:
    """(oₖ, its name, the target yₖ of sample s) per output of a trace with named outputs."""
    return _named_rows("o", trace.output_names, trace.y[s])


def _named_rows(
    symbol: str, names: Sequence[str] | None, values: Sequence[float]
) -> list[tuple[str, str, str]]:
    """(the symbol numbered from 1, its name, its value) per name; [] without names."""
    if names is None:
        return []
    return [
        (f"{symbol}{sub(i + 1)}", name, num(v))
        for i, (name, v) in enumerate(zip(names, values, strict=True))
    ]


def scaling_note(trace: StepTrace, T: dict[str, str]) -> list[str]:
    """ "y is standardised: y = (price − 21.3) / 8.1; …" for a standardised target (one line
    per target column: y₁ = …, y₂ = … for several), else no line."""
    if trace.target_scaling is None:
        return []
    scalings = (trace.target_scaling, *trace.more_scaling)
    notes = []
    for k, (column, mean, scale) in enumerate(scalings):
        shift = f"+ {num(-mean)}" if mean < 0 else f"− {num(mean)}"
        y = f"y{sub(k + 1)}" if len(scalings) > 1 else "y"
        notes.append(
            T["target_standardised"].format(y=y, column=column, shift=shift, scale=num(scale))
        )
    return notes


def _names(trace: StepTrace, T: dict[str, str]) -> list[RenderableType]:
    """Tables of what the inputs and outputs are (a model trained on a table), and the note
    on a standardised target; nothing for a network without names."""
    out: list[RenderableType] = []
    for title, rows, head in (
        (T["inputs_named"], input_rows(trace), [T["column"], "x"]),
        (
            T["outputs_named"],
            output_rows(trace),
            [T["column"] if trace.target_scaling else T["class"], T["target"] + " y"],
        ),
    ):
        if rows:
            table = _table(None, ["", *head])
            for row in rows:
                table.add_row(*map(plain, row))
            out += [_title(title), table]
    out += [plain(note, style="italic") for note in scaling_note(trace, T)]
    return out


def _header(trace: StepTrace, steps: int, T: dict[str, str]) -> list[RenderableType]:
    title = T["title"] if steps == 1 else f"{T['title']} · {T['step_of']}"
    settings = f"{T['learning_rate']} η = {num(trace.learning_rate)}"
    if "momentum" in trace.optimizer_settings:
        settings += f", {T['momentum']} μ = {num(trace.optimizer_settings['momentum'])}"
    lines: list[RenderableType] = [
        plain(title.format(step=trace.step, steps=steps), style="bold underline"),
        plain(f"{T['network']}: {trace.network}"),
        plain(f"{T['optimizer']}: {trace.optimizer} · {settings}"),
    ]
    for s in range(trace.batch_size):
        prefix = f"{T['sample']} {s + 1}: " if trace.batch_size > 1 else ""
        lines.append(
            plain(
                f"{prefix}{T['input']} x = {_vector(trace.x[s])} · "
                f"{T['target']} y = {_vector(trace.y[s])}"
            )
        )
    if trace.batch_size > 1:
        lines.append(plain(T["batch"].format(n=trace.batch_size), style="italic"))
    return lines + _names(trace, T)


def _input_caption(trace: StepTrace, l: int) -> str:
    """What layer l reads: the input, the layer before, or (a cascade) all of them."""
    if l == 0:
        return "inputs_are_x"
    return "inputs_are_h" if cascaded(trace, l) else "inputs_are_o"


def _weights_caption(trace: StepTrace, l: int, T: dict[str, str]) -> str:
    """Whose weights wₖⱼ carry δ back to hidden layer l: the next layer's or, in a cascade,
    every later layer's."""
    if cascaded(trace, l + 1):
        return T["weights_later"].format(l=l + 2, last=len(trace.layers))
    return T["weights_above"].format(l=l + 2)


def _forward(trace: StepTrace, T: dict[str, str]) -> list[RenderableType]:
    out: list[RenderableType] = []
    many = trace.batch_size > 1
    for l, layer in enumerate(trace.layers):
        caption = T[_input_caption(trace, l)].format(l=l)
        columns = [T["neuron"], f"{T['net_input']} zⱼ = Σᵢ wⱼᵢ xᵢ + bⱼ", f"{T['activation']} oⱼ"]
        columns = [T["sample"], *columns] if many else columns
        out.append(_title(f"{T['forward']} · {layer_name(trace, l, T)}"))
        table = _table(caption, columns)
        for s in range(trace.batch_size):
            for j, (z_eq, o_eq) in enumerate(forward_equations(layer, s)):
                j_name = neuron_label(trace, l, j)
                eqs = [localized(z_eq, T), localized(o_eq, T)]
                table.add_row(*map(plain, [*([s + 1] if many else []), j_name, *eqs]))
        out.append(table)
    name = T.get(trace.loss, trace.loss)
    for s in range(trace.batch_size):
        prefix = f"{T['sample']} {s + 1} · " if many else ""
        equation = localized(error_equation(trace, s), T)
        out.append(plain(f"{prefix}{name}: {equation}", style="bold"))
    if many:
        mean = T["mean_error"].format(n=trace.batch_size, value=num(trace.error_before))
        out.append(plain(f"{name}, {mean}", style="bold"))
    return out


def _backward(trace: StepTrace, T: dict[str, str]) -> list[RenderableType]:
    out: list[RenderableType] = []
    many = trace.batch_size > 1
    for l in range(len(trace.layers) - 1, -1, -1):
        last = l == len(trace.layers) - 1
        caption = None if last else _weights_caption(trace, l, T)
        out.append(_title(f"{T['backward']} · {layer_name(trace, l, T)}: {delta_rule(trace, l)}"))
        if trace.layers[l].activation == "sigmoid_fann":
            out.append(plain(T["sigmoid_fann_derivative"], style="italic"))
        columns = [T["sample"], T["neuron"], "δ"] if many else [T["neuron"], "δ"]
        table = _table(caption, columns)
        for s in range(trace.batch_size):
            for j in range(trace.layers[l].n_out):
                sample = [str(s + 1)] if many else []
                j_name = neuron_label(trace, l, j)
                equation = localized(delta_equation(trace, l, j, s), T)
                table.add_row(*map(plain, [*sample, j_name, equation]))
        out.append(table)
    return out


def _updates(trace: StepTrace, T: dict[str, str]) -> list[RenderableType]:
    out: list[RenderableType] = []
    columns = [T["parameter"], T["gradient"], T["change"], T["new_value"]]
    for l in range(len(trace.layers) - 1, -1, -1):
        out.append(_title(f"{T['updates']} · {layer_name(trace, l, T)}: {update_rule(trace)}"))
        table = _table(None, columns)
        rows = update_rows(trace, l)
        for row in rows[:MAX_ROWS]:
            table.add_row(*map(plain, row))
        if len(rows) > MAX_ROWS:
            table.add_row("", "", plain(T["more_rows"].format(n=len(rows) - MAX_ROWS)), "")
        out.append(table)
    change = trace.error_after - trace.error_before
    text = T["error_before_after"].format(
        after=num(trace.error_after), before=num(trace.error_before), change=num(change)
    )
    out.append(plain(text, style="bold"))
    return out


def _diagnostics(found: Sequence[Diagnostic], lang: str, T: dict[str, str]) -> RenderableType:
    lines = [f"• {diagnostic_text(d, lang)}" for d in found] or [T["no_findings"]]
    style = "yellow" if found else "green"
    return plain(f"{T['diagnostics']}:\n" + "\n".join(lines), style=style, lines=True)


def explain_renderables(traces: Sequence[StepTrace], lang: str = "en") -> list[RenderableType]:
    """Everything :func:`print_explanation` prints, as rich renderables."""
    T = words(lang)
    out: list[RenderableType] = []
    for trace in traces:
        out += _header(trace, len(traces), T)
        out += _forward(trace, T)
        out += _backward(trace, T)
        out += _updates(trace, T)
        out.append(_diagnostics(diagnose(trace), lang, T))
        out.append(plain(""))
    if len(traces) > 1:
        out.append(_title(T["summary"]))
        summary = _table(None, [T["step"], T["error_before"], T["error_after"]])
        for trace in traces:
            summary.add_row(
                *map(plain, (trace.step, num(trace.error_before), num(trace.error_after)))
            )
        out.append(summary)
        out.append(_diagnostics(diagnose_steps(traces), lang, T))
    return out


def print_explanation(traces: Sequence[StepTrace], console: Console, lang: str = "en") -> None:
    """Print the explanation of one or more consecutive traced steps."""
    for renderable in explain_renderables(traces, lang):
        console.print(renderable, highlight=False)
