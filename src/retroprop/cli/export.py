"""``retroprop export``: a model file (or a hand-written network file) as an ONNX graph."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer

from retroprop.cli._common import CommandError, choice, console
from retroprop.cli._options import ForceOpt
from retroprop.errors import ParameterError

__all__ = ["export"]


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
        Path | None,
        typer.Option("--output", "-o", help="ONNX file to write [default: MODEL name].onnx"),
    ] = None,
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
) -> None:
    """Export a model to ONNX, preprocessing and decoding included, to serve it anywhere.

    The graph takes the raw feature columns, standardises numbers and one-hot encodes
    categories as in training, runs the network and returns `label` and `probabilities`
    (classification) or `prediction` in the target's units (regression). A network JSON file
    becomes a graph from input X to output `output`. Needs: pip install 'retroprop[onnx]'.

    Example:

        retroprop export iris.retroprop -o iris.onnx
    """
    from retroprop.files.atomic import output_rules
    from retroprop.files.loader import load_model
    from retroprop.files.network_file import load_network
    from retroprop.files.onnx_export import export_onnx

    choice("--inputs", inputs, ("auto", "columns", "matrix"))
    output = output or Path(model_path.with_suffix(".onnx").name)
    rules = output_rules(force=force, inputs={"MODEL": model_path})
    rules.check({"--output": output})
    source: Any = (
        load_network(model_path) if model_path.suffix.lower() == ".json" else load_model(model_path)
    )
    try:
        with rules:
            export_onnx(source, output, inputs=inputs, opset=opset)  # type: ignore[arg-type]
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    except ParameterError as exc:
        raise CommandError(cli_words(str(exc))) from None
    except OSError as exc:
        raise CommandError(f"{output}: cannot write ({exc.strerror or exc})") from None
    if not quiet:
        _summary(output)


_CLI_WORDS = (
    (re.compile(r"\binputs='(\w+)'"), r"--inputs \1"),
    (re.compile(r"^(inputs|opset):"), r"--\1:"),
)
"""How :func:`~retroprop.files.onnx_export.export_onnx`'s messages name its arguments
(``inputs='columns'``, ``opset:``), and how the command's options are spelled."""


def cli_words(message: str) -> str:
    """``message`` of the Python function with its arguments named as this command's options:
    ``use inputs='columns'`` becomes ``use --inputs columns``."""
    for pattern, words in _CLI_WORDS:
        message = pattern.sub(words, message)
    return message


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
