"""Hand-written network files: the DESIGN.md example, every kind of mistake, and a fuzz test."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retroprop as rp
from helpers import design_network
from retroprop.files.network_file import (
    NetworkFileError,
    load_network,
    loads_network,
    network_to_dict,
    save_network,
)

DESIGN_EXAMPLE = design_network()


def errors_of(doc: Any) -> list[str]:
    with pytest.raises(NetworkFileError) as info:
        loads_network(json.dumps(doc))
    return info.value.errors


def test_the_design_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "net.json"
    path.write_text(json.dumps(DESIGN_EXAMPLE))
    net = load_network(path)
    assert repr(net) == "Network(2 → 2 sigmoid → 2 sigmoid, squared_error)"
    np.testing.assert_array_equal(net.layers[0].W, [[0.15, 0.20], [0.25, 0.30]])  # W[j, i] = wⱼᵢ
    np.testing.assert_array_equal(net.layers[1].b, [0.60, 0.60])
    assert net.dtype == np.float64
    # z₁ = 0.15 × 0.05 + 0.20 × 0.10 + 0.35
    np.testing.assert_allclose(net.forward([0.05, 0.10]).z[0][0, 0], 0.3775)


def test_loss_is_optional_and_names_may_be_aliases() -> None:
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    del doc["loss"]
    doc["layers"][0]["activation"] = "logistic"  # type: ignore[index]
    net = loads_network(json.dumps({**doc, "description": "Mazur's example"}))
    assert net.loss.name == "squared_error" and net.layers[0].activation.name == "sigmoid"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["layers"][1]["weights"][0].append(1.0),
            "layers[1].weights[0]: expected 2 numbers, got 3",
        ),
        (
            lambda d: d["layers"][0]["weights"][1].pop(),
            "layers[0].weights[1]: expected 2 numbers, got 1",
        ),
        (lambda d: d["layers"][0]["biases"].pop(), "layers[0].biases: expected 2 numbers, got 1"),
        (lambda d: d["layers"][1]["weights"].pop(), "layers[1].biases: expected 1 numbers, got 2"),
        (
            lambda d: d["layers"][0].update(weights=[[0.1, "0.2"], [0.3, 0.4]]),
            "layers[0].weights[0][1]: expected a number, got a string",
        ),
        (
            lambda d: d["layers"][0].update(biases=[True, 0.2]),
            "layers[0].biases[0]: expected a number, got true",
        ),
        (lambda d: d["layers"][0].update(weights=[]), "layers[0].weights: expected a list of rows"),
        (
            lambda d: d["layers"][0].update(weights=[[]]),
            "layers[0].weights[0]: expected at least 1 number, got 0",
        ),
        (
            lambda d: d["layers"][0].update(weights={"a": 1}),
            "layers[0].weights: expected a list of rows",
        ),
        (
            lambda d: d["layers"][1].update(activation="sigmod"),
            "layers[1].activation: unknown activation 'sigmod'; valid names: ",
        ),
        (
            lambda d: d["layers"][1].update(activation=3),
            "layers[1].activation: expected the name of an activation",
        ),
        (
            lambda d: d["layers"][0].update(activation="softmax"),
            "layers[0].activation: softmax is only for the output layer",
        ),
        (lambda d: d["layers"][1].pop("biases"), "layers[1].biases: missing"),
        (lambda d: d["layers"][1].update(bias=[0.1]), "layers[1].bias: unknown field"),
        (lambda d: d.update(loss="squared"), None),
        (lambda d: d.update(loss="mse2"), "loss: unknown loss 'mse2'; valid names: "),
        (lambda d: d.update(loss=None), "loss: expected the name of a loss"),
        (
            lambda d: d.update(format="retroprop.model"),
            "format: expected 'retroprop.network'",
        ),
        (lambda d: d.pop("format"), "format: missing"),
        (lambda d: d.update(layers=[]), "layers: expected a list, got an empty list"),
        (lambda d: d.pop("layers"), "layers: missing"),
        (lambda d: d["layers"].append(7), "layers[2]: expected an object"),
        (lambda d: d.update(layer=1), "layer: unknown field"),
        (lambda d: d.update(description=1), "description: expected a string"),
    ],
)
def test_every_mistake_is_reported_with_its_path(change: Any, message: str | None) -> None:
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    change(doc)
    if message is None:
        loads_network(json.dumps(doc))
        return
    errors = errors_of(doc)
    assert any(e.startswith(message) for e in errors), errors


def test_valid_names_are_listed() -> None:
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    doc["layers"][0]["activation"] = "sigmod"  # type: ignore[index]
    (error,) = errors_of(doc)
    for name in ("sigmoid", "tanh", "relu", "identity", "softmax"):
        assert name in error


def test_all_mistakes_are_reported_at_once() -> None:
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    doc["loss"] = "nope"
    doc["layers"][0]["biases"] = [0.1]  # type: ignore[index]
    doc["layers"][1]["weights"][1] = [0.5, None]  # type: ignore[index]
    errors = errors_of(doc)
    assert [e.split(":")[0] for e in errors] == [
        "loss",
        "layers[0].biases",
        "layers[1].weights[1][1]",
    ]
    with pytest.raises(NetworkFileError, match=r"^net\.json: loss: .*; layers\[0\]\.biases: "):
        loads_network(json.dumps(doc), "net.json")


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("NaN", "nan"),
        ("Infinity", "inf"),
        ("-Infinity", "-inf"),
        ("1e999", "inf"),
        ("9" * 400, "999"),
    ],
)
def test_non_finite_numbers_are_refused(number: str, shown: str) -> None:
    text = json.dumps(DESIGN_EXAMPLE).replace("0.45", number, 1)
    with pytest.raises(NetworkFileError) as info:
        loads_network(text)
    (error,) = info.value.errors
    assert error.startswith(f"layers[1].weights[0][1]: expected a finite number, got {shown}")


def test_not_json_gives_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format": "retroprop.network",\n  "layers": [1, 2,]\n}\n')
    with pytest.raises(
        NetworkFileError, match=r"broken\.json: not valid JSON: .*\(line 3, column 19\)"
    ):
        load_network(path)
    with pytest.raises(NetworkFileError, match="not UTF-8"):
        loads_network(b"\xff\xfe{")
    with pytest.raises(NetworkFileError, match="nested too deeply"):
        loads_network("[" * 100_000 + "]" * 100_000)


def test_missing_file_is_a_network_file_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkFileError, match=r"nope\.json: cannot read the file \(No such file"):
        load_network(tmp_path / "nope.json")
    assert issubclass(NetworkFileError, ValueError)


def test_loading_never_executes_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    doc["layers"][0]["activation"] = f"__import__('os').system('touch {marker}')"  # type: ignore[index]
    errors_of(doc)
    assert not marker.exists()


@pytest.mark.parametrize(
    "net",
    [
        rp.Network.create([2, 2, 2], seed=1),
        rp.Network.create([3, 5, 4, 2], activation=["tanh", "relu", "softmax"], loss="cce", seed=2),
        rp.Network.create([1, 1], activation="identity", dtype=np.float32, seed=3),
    ],
    ids=repr,
)
def test_save_and_load_round_trip_bit_for_bit(net: rp.Network, tmp_path: Path) -> None:
    path = save_network(net, tmp_path / "sub" / "net.json")
    back = load_network(path)
    assert repr(back) == repr(net)
    for a, b in zip(back.params(), net.params(), strict=True):
        assert np.array_equal(a, b.astype(np.float64))
    assert json.loads(path.read_text()) == network_to_dict(net)
    text = path.read_text()
    assert text.count("\n") > 8  # one weight row per line, readable by hand


def test_unsaveable_networks_are_refused(tmp_path: Path) -> None:
    net = rp.Network.create([2, 1], seed=0)
    net.layers[0].W[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        save_network(net, tmp_path / "x.json")
    custom = rp.Activation("mine", lambda z: z, lambda z, a: z * 0 + 1)
    net = rp.Network.create([2, 1], activation=custom, seed=0)
    with pytest.raises(ValueError, match="custom activation or loss 'mine'"):
        save_network(net, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


# -- fuzz: whatever the file holds, the outcome is a network or a NetworkFileError ---------------
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["sigmoid", "softmax", "relu", "squared_error", "retroprop.network"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["format", "loss", "layers", "activation", "weights", "biases"])
            | st.text(max_size=4),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document, as a tuple of keys and indices."""
    found = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += paths(v, (*prefix, i))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    doc = copy.deepcopy(DESIGN_EXAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(paths(doc)))
        if not where:
            return draw(json_values)
        parent = doc
        for key in where[:-1]:
            parent = parent[key]
        if draw(st.booleans()):
            parent[where[-1]] = draw(json_values)
        elif isinstance(parent, list):
            parent.pop(where[-1])
        else:
            del parent[where[-1]]
    return doc


def check_outcome(text: str | bytes) -> None:
    try:
        net = loads_network(text)
    except NetworkFileError as exc:
        assert exc.errors and all(isinstance(e, str) and e for e in exc.errors)
        assert "\n" not in str(exc)
    else:
        assert isinstance(net, rp.Network)
        assert np.all(np.isfinite(net.get_flat()))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_documents())
def test_fuzz_mutated_documents(doc: Any) -> None:
    check_outcome(json.dumps(doc))


@settings(max_examples=200)
@given(json_values)
def test_fuzz_random_json(doc: Any) -> None:
    check_outcome(json.dumps(doc))


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_fuzz_random_bytes_and_text(data: bytes | str) -> None:
    check_outcome(data)
