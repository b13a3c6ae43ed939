"""``retroprop export``: a model file (or a hand-written network file) as an ONNX graph or a FANN
network file (``--format fann``); ``retroprop import-fann``: a FANN network file as a model."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from retroprop.cli._common import CommandError, choice, console
from retroprop.cli._options import ForceOpt, LangOpt, lang_value, output_option
from retroprop.views.i18n import command_words

__all__ = ["export", "import_fann"]


def export(
    model_path: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL",
            help="Model file from retroprop train (or a network JSON file).",
            exists=True,
            dir_okay=False,
        ),
    ],
    output: Annotated[
        Path | None, output_option("File to write [default: MODEL name].onnx (or .net)")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="onnx, or fann (a FANN 2.x .net file).")
    ] = "onnx",
    inputs: Annotated[
        str,
        typer.Option(
            help="columns (one input per column), matrix (one input X; numeric columns only) "
            "or auto (matrix when every column is numeric)."
        ),
    ] = "auto",
    opset: Annotated[int, typer.Option(help="ONNX opset (13 or more; 19 for categories).")] = 19,
    force: ForceOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    lang: LangOpt = None,
) -> None:
    """Export a model to ONNX, preprocessing included, or to a FANN network file (--format fann).

    The graph takes the raw feature columns, standardises numbers and one-hot encodes
    categories as in training, runs the network and returns `label` and `probabilities`
    (classification) or `prediction` in the target's units (regression). A network JSON file
    becomes a graph from input X to output `output`. Needs: pip install 'retroprop[onnx]'.

    --format fann writes a FANN_FLO_2.1 file that FANN 2.2's fann_create_from_file reads:
    layered, sigmoid, tanh or identity layers (a classifier needs sigmoid outputs), numeric
    columns only, the input scaling folded into the weights; --inputs and --opset do not apply.

    Example:

        retroprop export iris.retroprop -o iris.onnx

        retroprop export diabetes.retroprop --format fann -o diabetes.net
    """
    from retroprop.files.atomic import output_rules

    T = command_words(lang_value("--lang", lang))
    choice("--inputs", inputs, ("auto", "columns", "matrix"))
    fann = choice("--format", format.lower(), ("onnx", "fann")) == "fann"
    output = output or Path(model_path.with_suffix(".net" if fann else ".onnx").name)
    rules = output_rules(force=force, inputs={"MODEL": model_path})
    rules.check({"--output": output})
    source = _source(model_path)
    if fann:
        _export_fann(source, output, rules, None if quiet else T["fann_written"])
    else:
        _export_onnx(source, output, rules, inputs, opset, quiet)


def _source(model_path: Path) -> Any:
    """The model (or, for a ``.json`` file, the network) to export."""
    from retroprop.files.loader import load_model
    from retroprop.files.network_file import load_network

    if model_path.suffix.lower() == ".json":
        return load_network(model_path)
    return load_model(model_path)


def _export_onnx(
    source: Any, output: Path, rules: Any, inputs: str, opset: int, quiet: bool
) -> None:
    """Write the ONNX graph (the output rules already checked) and show its inputs and outputs;
    a missing ``onnx`` package as one line."""
    from retroprop.files.onnx_export import export_onnx

    try:
        write = partial(export_onnx, source, output, inputs=inputs, opset=opset)  # type: ignore[arg-type]
        _write(rules, output, write)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    if not quiet:
        _summary(output)


def _write(rules: Any, output: Path, write: Callable[[], object]) -> None:
    """``write()`` under the output rules; a failure to write as one line."""
    try:
        with rules:
            write()
    except OSError as exc:
        raise CommandError(f"{output}: cannot write ({exc.strerror or exc})") from None


def _export_fann(source: Any, output: Path, rules: Any, written: str | None) -> None:
    """Write the FANN file (the output rules already checked) and say what was written (the
    ``written`` line, with ``{path}``; None: say nothing)."""
    from retroprop.files.fann_model import export_fann

    _write(rules, output, lambda: export_fann(source, output))
    if written is not None:
        console.print(written.format(path=output), soft_wrap=True, highlight=False)


def import_fann(
    net_path: Annotated[
        Path,
        typer.Argument(
            metavar="NET", help="FANN network file (.net).", exists=True, dir_okay=False
        ),
    ],
    output: Annotated[
        Path | None, output_option("Model file to write [default: NET name].retroprop")
    ] = None,
    force: ForceOpt = False,
    regression: Annotated[
        bool,
        typer.Option(
            "--regression",
            help="Several outputs are regression targets y1 … yk (default: classes).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary.")] = False,
    lang: LangOpt = None,
) -> None:
    """Import a FANN network (a FANN 2.x floating-point .net file) as a model file.

    The model computes what FANN's fann_run computes (to rounding): FANN's steepness is folded
    into the weights; SIGMOID, SIGMOID_SYMMETRIC, LINEAR, GAUSSIAN, SIN_SYMMETRIC and
    COS_SYMMETRIC neurons convert, other activations are refused; a shortcut network (what
    fann_cascadetrain_on_data grows) becomes a cascade network. Its columns are those
    retroprop gives a FANN data file: inputs x1 … xn, target class (several outputs; with
    --regression the regression targets y1 … yk) or y (one output), so the network's FANN test
    file can be evaluated directly.

    Example:

        retroprop import-fann diabetes.net -o diabetes.retroprop

        retroprop evaluate diabetes.retroprop diabetes.test
    """
    from retroprop.files.atomic import output_rules
    from retroprop.files.fann_model import import_fann as read_model
    from retroprop.files.model_file import save_model

    T = command_words(lang_value("--lang", lang))
    output = output or Path(net_path.with_suffix(".retroprop").name)
    rules = output_rules(force=force, inputs={"NET": net_path})
    rules.check({"--output": output})
    model = read_model(net_path, regression=regression)
    _write(rules, output, lambda: save_model(output, model))
    if not quiet:
        console.print(
            f"{model.network}\n{T['model_written'].format(path=output)}",
            soft_wrap=True,
            highlight=False,
        )


def _summary(path: Path) -> None:
    """The graph's inputs and outputs, read back from the file written."""
    import onnx
    from rich.table import Table as RichTable

    graph = onnx.load(str(path)).graph
    table = RichTable(title=f"{path} (ONNX)", title_justify="left")
    for name in ("", "name", "type", "shape"):
        table.add_column(name)
    for kind, values in (("input", graph.input), ("output", graph.output)):
        for v in values:
            t = v.type.tensor_type
            dims = [d.dim_param or str(d.dim_value) for d in t.shape.dim]
            elem = onnx.TensorProto.DataType.Name(t.elem_type).lower()
            table.add_row(kind, v.name, elem, f"({', '.join(dims)})")
    console.print(table, highlight=False)
