"""What the playground's user can set, checked field by field as it arrives from the page.

:class:`Settings` holds the data choice, the network and the training settings; a JSON object
from the page becomes one through :func:`settings_from_json`, whose errors name the field
(they reach the page as an error frame). The names of activations, losses and solvers come
from the registries (:func:`catalog`), so the page offers exactly what retroprop has.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from typing import Any

from retroprop.apps.playground.data import BUILTIN as BUILTIN_NAMES
from retroprop.core.activations import ACTIVATIONS
from retroprop.core.losses import LOSSES
from retroprop.errors import RetropropError
from retroprop.train.registry import TRAINERS, get_optimizer

__all__ = ["MAX_NEURONS", "ProtocolError", "Settings", "catalog", "settings_from_json"]

MAX_NEURONS = 64
"""Neurons per hidden layer the page offers (and accepts): more would not be watchable."""
MAX_HIDDEN_LAYERS = 6
MAX_SAMPLES = 5000
"""Points a generated toy data set may have."""


class ProtocolError(RetropropError):
    """A message on the playground's socket that cannot be carried out (answered by an error
    frame naming what is wrong)."""


@dataclass(frozen=True)
class Settings:
    """Data, network and training of a playground session.

    ``data`` is a built-in data set's name or ``"csv"`` (the file given on the command line or
    sent by the page); ``map_axes`` the two inputs the map shows (None: PCA, or the two
    inputs of 2-D data); ``solver_params`` the solver's settings other than η (μ, β₁, the
    GA's population, …).
    """

    data: str = "xor"
    noise: float = 0.1
    n_samples: int = 200
    test_fraction: float = 0.0
    target: str | None = None
    map_axes: tuple[int, int] | None = None
    hidden: tuple[int, ...] = (4,)
    activations: tuple[str, ...] = ("tanh",)
    output_activation: str | None = None
    loss: str | None = None
    solver: str = "sgd"
    learning_rate: float = 0.3
    solver_params: dict[str, Any] | None = None
    batch_size: int | str = 1
    weight_decay: float = 0.0
    seed: int = 0
    init: str = "glorot"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON of every field (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def data_key(self) -> tuple[Any, ...]:
        """What the data depend on: a change here means new data, else only a new network."""
        return (self.data, self.noise, self.n_samples, self.test_fraction, self.target, self.seed)


def _number(name: str, value: Any, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProtocolError(f"{name}: expected a number, got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ProtocolError(f"{name}: expected a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"{name}: expected a whole number in [{low}, {high}], got {value!r}")
    return value


def _name(name: str, value: Any, valid: Any) -> str:
    if not isinstance(value, str) or value not in valid:
        raise ProtocolError(f"{name}: expected one of {', '.join(valid)}, got {value!r}")
    return value


def _layers(d: dict[str, Any]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The hidden layers' sizes and their activations (one per layer)."""
    hidden, acts = d.get("hidden", [4]), d.get("activations", ["tanh"])
    if not isinstance(hidden, list) or len(hidden) > MAX_HIDDEN_LAYERS:
        raise ProtocolError(f"hidden: expected a list of up to {MAX_HIDDEN_LAYERS} layer sizes")
    sizes = tuple(_integer(f"hidden[{k}]", n, 1, MAX_NEURONS) for k, n in enumerate(hidden))
    if not isinstance(acts, list) or len(acts) != len(sizes):
        raise ProtocolError(f"activations: expected one per hidden layer ({len(sizes)})")
    hidden_acts = [a for a, f in ACTIVATIONS.items() if not f.output_only]
    names = tuple(_name(f"activations[{k}]", a, hidden_acts) for k, a in enumerate(acts))
    return sizes, names


def _map_axes(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 2:
        raise ProtocolError("map_axes: expected two input numbers, or null for the PCA plane")
    i, j = (_integer("map_axes", v, 0, 100_000) for v in value)
    return i, j


def _solver(d: dict[str, Any], eta: float) -> tuple[str, dict[str, Any]]:
    """The solver's name and its settings, checked by building it."""
    name = _name("solver", d.get("solver", "sgd"), list(TRAINERS))
    params = d.get("solver_params") or {}
    if not isinstance(params, dict):
        raise ProtocolError("solver_params: expected an object of the solver's settings")
    try:
        get_optimizer(name, **optimizer_kwargs(name, eta, params))
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"solver_params: {exc}") from None
    return name, params


def optimizer_kwargs(name: str, eta: float, params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``get_optimizer(name, …)``: η (for solvers that take one)
    and the other settings."""
    default = get_optimizer(name)
    takes_eta = is_dataclass(default) and "learning_rate" in {f.name for f in fields(default)}
    return {**params, **({"learning_rate": eta} if takes_eta else {})}


def _batch_size(value: Any) -> int | str:
    if value == "all":
        return "all"
    return _integer("batch_size", value, 1, MAX_SAMPLES)


def settings_from_json(d: Any, base: Settings | None = None) -> Settings:
    """Checked :class:`Settings` from a JSON object; missing fields keep ``base``'s values.

    Raises:
        ProtocolError: a field that is not what it must be (the message names it).
    """
    if not isinstance(d, dict):
        raise ProtocolError("settings: expected an object")
    base = base or Settings()
    unknown = set(d) - {f.name for f in fields(Settings)}
    if unknown:
        raise ProtocolError(f"settings: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    d = {**base.to_json(), **d}
    hidden, acts = _layers(d)
    eta = _number("learning_rate", d["learning_rate"], 1e-9, 1e3)
    solver, params = _solver(d, eta)
    target = d["target"]
    if target is not None and not isinstance(target, str):
        raise ProtocolError(f"target: expected a column name, got {target!r}")
    out_act, loss = d["output_activation"], d["loss"]
    return replace(
        base,
        data=_name("data", d["data"], (*BUILTIN_NAMES, "csv")),
        noise=_number("noise", d["noise"], 0.0, 1.0),
        n_samples=_integer("n_samples", d["n_samples"], 10, MAX_SAMPLES),
        test_fraction=_number("test_fraction", d["test_fraction"], 0.0, 0.9),
        target=target,
        map_axes=_map_axes(d["map_axes"]),
        hidden=hidden,
        activations=acts,
        output_activation=None
        if out_act is None
        else _name("output_activation", out_act, ACTIVATIONS),
        loss=None if loss is None else _name("loss", loss, LOSSES),
        solver=solver,
        learning_rate=eta,
        solver_params=params,
        batch_size=_batch_size(d["batch_size"]),
        weight_decay=_number("weight_decay", d["weight_decay"], 0.0, 10.0),
        seed=_integer("seed", d["seed"], 0, 2**31 - 1),
        init=_name("init", d["init"], ("uniform", "glorot", "he")),
    )


def _solver_fields(name: str) -> dict[str, Any]:
    """A solver's settings other than its name and η, with their defaults (for the page)."""
    opt = get_optimizer(name)
    if not is_dataclass(opt):
        return {}
    skip = {"name", "learning_rate", "nesterov", "variant"}
    return {
        f.name: getattr(opt, f.name)
        for f in fields(opt)
        if f.name not in skip and isinstance(getattr(opt, f.name), (int, float, str))
    }


def catalog() -> dict[str, Any]:
    """What the page may offer: data sets, activations, losses and every solver's settings."""
    return {
        "data": [*BUILTIN_NAMES, "csv"],
        "hidden_activations": [a for a, f in ACTIVATIONS.items() if not f.output_only],
        "output_activations": list(ACTIVATIONS),
        "losses": list(LOSSES),
        "solvers": {name: _solver_fields(name) for name in TRAINERS},
        "max_neurons": MAX_NEURONS,
        "max_hidden_layers": MAX_HIDDEN_LAYERS,
    }
