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
from retroprop.cli._options import LangOpt, lang_value
from retroprop.cli._render import regression_many
from retroprop.files.loader import load_model
from retroprop.files.model import Model
from retroprop.files.model_file import architecture_json
from retroprop.views.i18n import command_words
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
    lang: LangOpt = None,
) -> None:
    """Show the versions of retroprop and its libraries, or what a model file holds.

    With MODEL: architecture, preprocessing, training settings, metrics, the SHA-256 of the
    training data and the library versions it was trained with.

    Example:

        retroprop info iris.retroprop --lang es
    """
    T = command_words(lang_value("--lang", lang))
    if model is not None:
        show_model(model, as_json, T)
        return
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return T["info_not_installed"]

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


def show_model(path: Path, as_json: bool = False, T: dict[str, str] | None = None) -> None:
    """Print architecture, preprocessing, training settings, metrics, data hash and versions, in
    the language of the command-line words ``T`` (English by default)."""
    from retroprop.cli._render import key_value_table

    T = T or command_words("en")
    model = load_model(path)
    info = describe(model)
    if as_json:
        sys.stdout.write(json_text(json.dumps(info, indent=2, ensure_ascii=False)) + "\n")
        return
    arch = info["architecture"]
    title = T["info_title"].format(name=path.name, version=model.format_version)
    rows = {
        T["info_network"]: repr(model.network),
        T["info_parameters"]: f"{arch['parameters']} ({arch['dtype']})",
        T["info_task"]: _task(model, T),
        T["info_created"]: model.created,
        T["info_data"]: T["info_data_rows"].format(
            source=model.data.get("source", "?"), rows=model.data.get("rows", "?")
        ),
        T["info_sha256"]: model.data.get("sha256"),
    }
    console.print(key_value_table(title, rows), highlight=False)
    console.print(_features_table(model, T), highlight=False)
    for key, values in (
        ("info_settings", model.training),
        ("info_metrics", model.metrics),
        ("info_versions", model.versions),
    ):
        console.print(key_value_table(T[key], values), highlight=False)


def _task(model: Model, T: dict[str, str]) -> str:
    """What the model predicts: the class labels, or the target's scale."""
    target = model.preprocessor.target
    if target.kind == "classification":
        classes = ", ".join(map(str, target.classes))
        return T["info_classification"].format(name=repr(target.name), classes=classes)
    if target.more:
        return regression_many(target, T)
    return T["info_regression"].format(name=repr(target.name), mean=target.mean, scale=target.scale)


def _features_table(model: Model, T: dict[str, str]) -> Any:
    """The network inputs in order: each column, its kind and its preprocessing."""
    from rich.table import Table as RichTable

    features = RichTable(title=T["info_features"], title_justify="left")
    for key in ("info_column", "info_kind", "info_preprocessing"):
        features.add_column(T[key])
    for f in model.preprocessor.features:
        if f.kind == "numeric":
            how = f"(x − {f.mean:.6g}) / {f.scale:.6g}"
        else:
            cats = ", ".join(f.categories[:8]) + (", …" if len(f.categories) > 8 else "")
            how = T["info_one_hot"].format(n=len(f.categories), categories=cats)
        features.add_row(plain(f.name), T.get(f"info_{f.kind}", f.kind), plain(how))
    return features
