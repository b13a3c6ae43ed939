"""``retroprop info``: the versions of retroprop and its libraries, or what a model file holds
(without running it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from retroprop._version import __version__
from retroprop.cli._common import console
from retroprop.files.loader import load_model
from retroprop.files.model import Model
from retroprop.files.model_file import architecture_json
from retroprop.views.terminal import json_text, plain

__all__ = ["describe", "info", "show_model"]

LIBRARIES = ("numpy", "scipy", "scikit-learn", "numba", "matplotlib", "rich", "typer")
"""The libraries whose versions ``retroprop info`` prints."""


def info(
    model: Annotated[
        Path | None,
        typer.Argument(
            metavar="MODEL", help="A model file to describe.", exists=True, dir_okay=False
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Describe the model as JSON.")] = False,
) -> None:
    """Show the versions of retroprop and its libraries, or what a model file holds.

    With MODEL: architecture, preprocessing, training settings, metrics, the SHA-256 of the
    training data and the library versions it was trained with.

    Example:

        retroprop info iris.retroprop
    """
    if model is not None:
        show_model(model, as_json)
        return
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    libs = ", ".join(f"{name} {installed(name)}" for name in LIBRARIES)
    console.print(f"retroprop {__version__} ({libs}; Python {sys.version.split()[0]})")


def describe(model: Model) -> dict[str, Any]:
    """The model's description as plain JSON (the header of its file, without array hashes)."""
    net = model.network
    return {
        "format_version": model.format_version,
        "created": model.created,
        "architecture": {**architecture_json(net), "parameters": int(net.get_flat().size)},
        "preprocessing": model.preprocessor.to_json(),
        "training": model.training,
        "metrics": model.metrics,
        "data": model.data,
        "versions": model.versions,
    }


def show_model(path: Path, as_json: bool = False) -> None:
    """Print architecture, preprocessing, training settings, metrics, data hash and versions."""
    from rich.table import Table as RichTable

    from retroprop.cli._render import key_value_table

    model = load_model(path)
    info = describe(model)
    if as_json:
        sys.stdout.write(json_text(json.dumps(info, indent=2, ensure_ascii=False)) + "\n")
        return
    pre, target = model.preprocessor, model.preprocessor.target
    if target.kind == "classification":
        task = f"classification of {target.name!r}: classes {', '.join(map(str, target.classes))}"
    else:
        task = f"regression of {target.name!r} (mean {target.mean:.6g}, scale {target.scale:.6g})"
    arch = info["architecture"]
    console.print(
        key_value_table(
            f"{path.name} (retroprop model, format version {model.format_version})",
            {
                "network": repr(model.network),
                "parameters": f"{arch['parameters']} ({arch['dtype']})",
                "task": task,
                "created": model.created,
                "training data": f"{model.data.get('source', '?')}, "
                f"{model.data.get('rows', '?')} rows",
                "data SHA-256": model.data.get("sha256"),
            },
        ),
        highlight=False,
    )
    features = RichTable(title="Features (network inputs, in order)", title_justify="left")
    for name in ("column", "kind", "preprocessing"):
        features.add_column(name)
    for f in pre.features:
        if f.kind == "numeric":
            how = f"(x − {f.mean:.6g}) / {f.scale:.6g}"
        else:
            cats = ", ".join(f.categories[:8]) + (", …" if len(f.categories) > 8 else "")
            how = f"one-hot over {len(f.categories)}: {cats}"
        features.add_row(plain(f.name), f.kind, plain(how))
    console.print(features, highlight=False)
    console.print(key_value_table("Training settings", model.training), highlight=False)
    console.print(key_value_table("Metrics", model.metrics), highlight=False)
    console.print(key_value_table("Versions", model.versions), highlight=False)
