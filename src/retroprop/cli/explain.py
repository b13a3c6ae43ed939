"""``retroprop explain``: every number of a backpropagation step, as text, JSON or a page.

The network comes from a hand-written network file (:mod:`retroprop.files.network_file`) with the
sample given by ``--x``/``--y``, or from a trained ``*.retroprop`` model (``--model``) with the
sample being one row of a CSV file (``--data … --row N``) put through the model's preprocessing.
A model's step is taken with the model's own optimizer and learning rate (unless
``--optimizer``/``--learning-rate`` say otherwise), and its trace names the inputs (columns, and
``column=category`` for one-hot inputs) and outputs (class labels, or the standardised target).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand

from retroprop.cli import _common
from retroprop.cli._common import CommandError, choice
from retroprop.cli._data_options import with_options
from retroprop.cli._model_step import optimizer_choice, step_names
from retroprop.cli._options import (
    EncodingOpt,
    ForceOpt,
    csv_not_model,
    encoding_value,
    lang_value,
    learning_rate_option,
    output_option,
)
from retroprop.cli._values import _is_number
from retroprop.cli.apply import ImputeOpt

if TYPE_CHECKING:
    from retroprop.core.cascade import CascadeNetwork
    from retroprop.core.network import Network
    from retroprop.core.optimizers import Optimizer
    from retroprop.files.model import Model

__all__ = ["ExplainCommand", "explain"]

_VALUE_OPTIONS = ("--x", "--y")
FORMATS = ("text", "json", "html")
DEFAULT_ETA = {"sgd": 0.5, "momentum": 0.5, "nesterov": 0.5}
"""η when --lr is not given: the lecture's 0.5 for the delta rule; others use their default."""

MAX_STEPS = 1000
"""Steps one ``explain`` traces (each holds every weight before and after, every δ, …)."""

MAX_TRACED = 500_000
"""Steps × weights and biases one ``explain`` traces: the memory and the text it prints grow
with it (about 1 KB of memory for each as JSON)."""


def group_values(args: Sequence[str]) -> list[str]:
    """Rewrite ``--x 0.05 0.10`` to ``--x "0.05 0.10"``: one option value per sample.

    click options take one value per occurrence. The numbers after ``--x`` or ``--y`` (up to
    the next token that is not a number) become one value, so ``--x 0.05 0.10 --x 0.2 0.3``
    is a mini-batch of two samples and negative numbers keep working.
    """
    out: list[str] = []
    k = 0
    while k < len(args):
        token = args[k]
        out.append(token)
        k += 1
        if token in _VALUE_OPTIONS:
            values = []
            while k < len(args) and _is_number(args[k]):
                values.append(args[k])
                k += 1
            if values:
                out.append(" ".join(values))
    return out


class ExplainCommand(TyperCommand):
    """The ``explain`` command, with several numbers after ``--x`` and ``--y``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, group_values(args))


def _samples(option: str, groups: Sequence[str], width: int, what: str) -> list[list[float]]:
    """The numbers given after each ``--x`` (or ``--y``), checked against the network."""
    rows = []
    for group in groups:
        try:
            row = [float(t) for t in group.replace(",", " ").split()]
        except ValueError:
            raise CommandError(f"{option}: expected numbers, got {group!r}") from None
        if len(row) != width:
            raise CommandError(
                f"{option}: expected {width} numbers (the network has {width} {what}), "
                f"got {len(row)}"
            )
        if not all(math.isfinite(v) for v in row):
            raise CommandError(f"{option}: expected finite numbers, got {group!r}")
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Sample:
    """The network to take the step on, the sample (X, Y) and, for a trained model, the model
    (its settings give the default optimizer; its preprocessing names inputs and outputs)."""

    network: Network | CascadeNetwork
    X: Any
    Y: Any
    model: Model | None = None


def _model_sample(
    model_path: Path,
    data: Path | None,
    row: int | None,
    impute: str | None = None,
    encoding: str = "utf-8",
) -> Sample:
    """The network of a trained model, and row ``row`` of ``data`` in its encoding (x, y).

    ``row`` counts data rows from 1, as a person counts them below the header line (a file
    without a header: its first line is row 1); see the table's line numbers in messages.
    Missing values are handled as by ``retroprop predict``: as the model was trained, or as
    ``--impute`` says.
    """
    import numpy as np

    from retroprop.cli._common import warnings_on_stderr
    from retroprop.cli.apply import missing_override
    from retroprop.data.fann import match_outputs, read_data
    from retroprop.files.loader import load_model

    if data is None or row is None:
        raise CommandError(
            "--model: give the CSV file and the row to explain, e.g. --data iris.csv --row 3"
        )
    with warnings_on_stderr():
        model = load_model(model_path)
        pre = model.preprocessor
        table = read_data(data, encoding=encoding)
        no_target = (
            f"{table.source}: no target column {pre.target.name!r}; a row without its target "
            "cannot be traced (the step needs the target to compute the error)"
        )
        if not 1 <= row <= table.n_rows:
            raise CommandError(
                f"--row {row}: out of range; {table.source} has {table.n_rows} data "
                f"row{'s' if table.n_rows != 1 else ''} (rows count from 1 below the header)"
            )
        if table.has_header and pre.target.name not in table:
            raise CommandError(no_target)
        table = pre.align(match_outputs(table, pre.target, required=True))
        if pre.target.name not in table:
            raise CommandError(no_target)
        rows = np.array([row - 1], dtype=np.intp)
        x = pre.transform(table, rows, missing=missing_override(impute))
        y = pre.encode_target(table, rows)
    return Sample(model.network.copy(), x, y, model)


NetworkArg = Annotated[
    Path | None,
    typer.Argument(help="Hand-written network file (JSON); or use --model.", show_default=False),
]
XOpt = Annotated[
    list[str] | None,
    typer.Option("--x", help="The input of one sample: --x 0.05 0.10 (repeat for a batch)."),
]
YOpt = Annotated[list[str] | None, typer.Option("--y", help="Its target: --y 0.01 0.99.")]
ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model", metavar="MODEL", help="Trained model (from retroprop train), not NET.json."
    ),
]
DataOpt = Annotated[
    Path | None, typer.Option("--data", help="With --model: CSV file with the row.")
]
RowOpt = Annotated[
    int | None,
    typer.Option("--row", help="With --model: data row N, counted from 1 below the header."),
]
LearningRateOpt = Annotated[
    float | None,
    learning_rate_option(
        "η [default: with --model, the model's own; else 0.5 for sgd/momentum, or the optimizer's]."
    ),
]
OptimizerOpt = Annotated[
    str | None,
    typer.Option(
        help="sgd, momentum, nesterov, adam, rprop+, rprop-, irprop+, irprop-, irprop-fann, "
        "quickprop, sarprop. "
        "[default: sgd; with --model, the model's own]",
        show_default=False,
    ),
]
MomentumOpt = Annotated[
    float | None, typer.Option(help="μ for momentum and nesterov [default: 0.9].")
]
FormatOpt = Annotated[
    str, typer.Option("--format", "-f", help="text, json, or html (a page; needs -o).")
]
StepsOpt = Annotated[
    int,
    typer.Option(
        min=1,
        max=MAX_STEPS,
        help=f"Consecutive steps on the same input (at most {MAX_STEPS}, and steps × "
        f"weights at most {MAX_TRACED:,}).",
    ),
]
LangOpt = Annotated[
    str | None,
    typer.Option(
        metavar="en|es",
        help="Language: en or es (the page has both, and starts in this one) [default: "
        "RETROPROP_LANG, else the locale (es_* is Spanish), else en].",
    ),
]
OutputOpt = Annotated[
    Path | None, output_option("Write to this file, not the screen (-: the screen).")
]


class _Where(NamedTuple):
    """Where the network and the sample come from (the group ``explain`` takes as ``where``):
    a network file with ``--x``/``--y``, or ``--model`` with ``--data``/``--row``
    (:func:`_sample` checks them together)."""

    network: NetworkArg = None
    x: XOpt = None
    y: YOpt = None
    model_path: ModelOpt = None
    data: DataOpt = None
    row: RowOpt = None


class _Rule(NamedTuple):
    """The step rule's options (the group ``explain`` takes as ``rule``; η is checked by
    :func:`_traces`)."""

    learning_rate: LearningRateOpt = None
    optimizer: OptimizerOpt = None
    momentum: MomentumOpt = None
    steps: StepsOpt = 1


class _Page(NamedTuple):
    """What is written where (the group ``explain`` takes as ``page``, checked by
    :func:`_page_options`): a format and a language it has, and the page's file for html
    (None: the screen)."""

    output_format: str
    lang: str
    output: Path | None


def _page_options(
    output_format: FormatOpt = "text", lang: LangOpt = None, output: OutputOpt = None
) -> _Page:
    """The :class:`_Page` group's options, checked."""
    from retroprop.files.atomic import is_stdout

    choice("--format", output_format, FORMATS)
    language = lang_value("--lang", lang)
    output = None if is_stdout(output) else output
    if output_format == "html" and output is None:
        raise CommandError("--format html: give the page's file name with -o, e.g. -o step.html")
    return _Page(output_format, language, output)


_NOWHERE, _NO_RULE, _SCREEN = _Where(), _Rule(), _Page("text", "en", None)
"""The defaults of ``explain``'s groups (typer never sees them; see
:func:`~._data_options.with_options`)."""


@with_options(where=_Where, rule=_Rule, page=_page_options)
def explain(
    where: _Where = _NOWHERE,  # NET.json --x --y --model --data --row
    rule: _Rule = _NO_RULE,  # --learning-rate --optimizer --momentum --steps
    page: _Page = _SCREEN,  # --format --lang --output
    encoding: EncodingOpt = "utf-8",
    force: ForceOpt = False,
    impute: ImputeOpt = None,
) -> None:
    """Show every number of one backpropagation step on a hand-written or trained network.

    The forward pass (z = Σ w x + b, o = f(z)), the error E = ½ Σ (y − o)², the δ of every
    neuron from the output back, each update Δw = η δ x with the new weight, and the error
    after the step, each equation filled in with the numbers. --format json prints the step
    trace (with --steps N > 1: {"steps": [one trace per step]}); its JSON Schema ships as
    retroprop/glassbox/schemas/step_trace.schema.json. --format html -o step.html writes a
    self-contained page that walks through the step in the browser. The network file looks like
    {"format": "retroprop.network", "loss": "squared_error", "layers": [{"activation":
    "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "biases": [0.35, 0.35]}, …]}.
    Instead of NET.json, --model MODEL.retroprop --data FILE.csv --row N (or --model
    MODEL.retroprop FILE.csv --row N) takes a step of the trained network on data row N (counted
    from 1 below the header), preprocessed as the model does, with the model's own optimizer and
    learning rate; inputs and outputs are named after the columns, categories and classes. The
    model file is not changed.

    Example:

        retroprop explain net.json --x 0.05 0.10 --y 0.01 0.99 --lr 0.5 --lang es

        retroprop explain net.json --x 0.05 0.10 --y 0.01 0.99 --format html -o step.html

        retroprop explain --model iris.retroprop iris.csv --row 3
    """
    from retroprop.files.atomic import output_rules

    inputs = {"NET": where.network, "--model": where.model_path, "--data": where.data}
    rules = output_rules(force=force, inputs=inputs)
    rules.check({"--output": page.output})
    for option, given in (("--impute", impute is not None), ("--encoding", encoding != "utf-8")):
        if given and where.model_path is None:
            raise CommandError(f"{option}: only with --model MODEL.retroprop")
    w = where
    sample = _sample(w.network, w.model_path, w.x or [], w.y or [], w.data, w.row, impute, encoding)
    traces = _traces(sample, rule)
    try:
        with rules:
            _write(traces, page.output_format, page.lang, page.output)
    except OSError as exc:
        raise CommandError(f"--output {page.output}: cannot write ({exc.strerror})") from None


def _traces(sample: Sample, rule: _Rule) -> list[Any]:
    """The traces of ``rule.steps`` steps on the sample: with the optimizer and η asked for
    (a model's own by default); a model's inputs and outputs named."""
    from retroprop.glassbox.trace import trace_steps

    if rule.learning_rate is not None and not rule.learning_rate > 0:
        raise CommandError(f"--learning-rate must be a positive number, got {rule.learning_rate}")
    _check_steps(rule.steps, sample.network)
    name, eta = optimizer_choice(sample.model, rule.optimizer, rule.learning_rate)
    opt = _step_rule(name, eta, rule.momentum)
    names = {} if sample.model is None else step_names(sample.model.preprocessor)
    traces, _ = trace_steps(sample.network, sample.X, sample.Y, opt, steps=rule.steps, **names)
    return list(traces)


def _sample(
    network: Path | None,
    model_path: Path | None,
    x: Sequence[str],
    y: Sequence[str],
    data: Path | None,
    row: int | None,
    impute: str | None = None,
    encoding: str = "utf-8",
) -> Sample:
    """The network and the sample (X, Y) to take the step on: from a network file and
    ``--x``/``--y``, or from a trained model and a row of a CSV file (exactly one of the two).
    With ``--model``, the CSV file may be given as the argument instead of ``--data``."""
    if model_path is not None and network is not None and data is None:
        network, data = None, network  # explain --model M.retroprop DATA.csv --row N
    if (network is None) == (model_path is None):
        raise CommandError(
            "give either a network file (NET.json with --x and --y) or --model MODEL.retroprop "
            "with --data and --row, not both"
            if network is not None
            else "give a network file (NET.json with --x and --y) or --model MODEL.retroprop "
            "with --data and --row"
        )
    if model_path is not None:
        if x or y:
            raise CommandError("--x/--y: not with --model (the sample is --data's --row)")
        usage = "retroprop explain --model MODEL --data DATA --row N"
        csv_not_model(data, usage, model_path)
        return _model_sample(model_path, data, row, impute, encoding_value(encoding))
    assert network is not None
    if data is not None or row is not None:
        raise CommandError("--data/--row: only with --model MODEL.retroprop")
    return _network_sample(network, x, y)


def _network_sample(network: Path, x: Sequence[str], y: Sequence[str]) -> Sample:
    """A hand-written network and the samples given by ``--x`` and ``--y``, (B, n_in) and
    (B, n_out), checked against it."""
    from retroprop.files.network_file import load_network

    if not x:
        raise CommandError("--x: give the input of the sample, e.g. --x 0.05 0.10")
    if not y:
        raise CommandError("--y: give the target of the sample, e.g. --y 0.01 0.99")
    net = load_network(network)
    X = _samples("--x", x, net.sizes[0], "inputs")
    Y = _samples("--y", y, net.sizes[-1], "outputs")
    if len(X) != len(Y):
        raise CommandError(f"--x and --y: {len(X)} inputs but {len(Y)} targets")
    return Sample(net, X, Y)


def _check_steps(steps: int, net: Network | CascadeNetwork) -> None:
    """The trace of ``steps`` steps of ``net`` stays within :data:`MAX_TRACED` numbers per kind."""
    n = sum(layer.W.size + layer.b.size for layer in net.layers)
    if steps * n > MAX_TRACED:
        fewer = f"use --steps {MAX_TRACED // n} or fewer" if n <= MAX_TRACED else "a smaller one"
        raise CommandError(
            f"--steps {steps}: a trace of {steps:,} step{'s' if steps > 1 else ''} of a network "
            f"with {n:,} weights and biases holds {steps * n:,} of each; at most "
            f"{MAX_TRACED:,} can be explained ({fewer})"
        )


def _step_rule(name: str, learning_rate: float | None, momentum: float | None) -> Optimizer:
    """The step rule ``name`` with η (given, or the lecture's 0.5 for the delta rule) and μ;
    whole-run solvers (L-BFGS, the genetic algorithm) take no single step to explain."""
    from retroprop.core.optimizers import Optimizer
    from retroprop.train.registry import get_optimizer

    settings: dict[str, float] = {}
    eta = learning_rate if learning_rate is not None else DEFAULT_ETA.get(name)
    if eta is not None:
        settings["learning_rate"] = eta
    if momentum is not None:
        if name not in ("momentum", "nesterov"):
            raise CommandError("--momentum: only for --optimizer momentum or nesterov")
        settings["momentum"] = momentum
    opt = get_optimizer(name, **settings)
    if not isinstance(opt, Optimizer):  # L-BFGS, the genetic algorithm
        raise CommandError(f"--optimizer: {name} is not a step rule; explain another optimizer")
    return opt


def _write(traces: Sequence[Any], output_format: str, lang: str, output: Path | None) -> None:
    """The traces as a page (html), JSON or the explanation text, to ``output`` or the screen."""
    import json

    from rich.console import Console

    from retroprop.files.atomic import atomic_path

    if output_format == "html":
        from retroprop.views.steppage import write_step_page

        assert output is not None
        write_step_page(traces, output, lang)
        _common.console.print(f"Step page written to {output.resolve()}", soft_wrap=True)
        return
    if output_format == "json":
        from retroprop.glassbox.trace_json import traces_to_dict

        text = json.dumps(traces_to_dict(traces), indent=2, ensure_ascii=False, allow_nan=False)
        if output is None:
            typer.echo(text)
            return
        with atomic_path(output) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")
        return
    from retroprop.views.explain_text import print_explanation

    if output is None:
        console = Console(highlight=False)
        if not console.is_terminal:  # a file or a pipe: keep every equation on one line
            console = Console(highlight=False, width=200)
        print_explanation(traces, console, lang)
        return
    with atomic_path(output) as tmp, tmp.open("w", encoding="utf-8") as f:
        print_explanation(traces, Console(file=f, width=200, no_color=True), lang)
