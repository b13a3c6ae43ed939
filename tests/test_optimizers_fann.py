"""Tests for FANN's step rules in retroprop.core.optimizers: Quickprop and SARPROP.

Single steps worked out by hand from FANN 2.2's ``fann_update_weights_quickprop`` and
``fann_update_weights_sarprop`` (in our sign: the step rule receives the mean gradient
g = ∂J/∂w; FANN's slope per sample is s = −g + (decay/n)·w for Quickprop), driven through the
public interface with the weights and the batch size (:func:`step_updates`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import retroprop as rp
from retroprop.core.optimizers import Quickprop, Sarprop, step_updates
from retroprop.train.registry import get_optimizer


def run(opt, grads, w0, *, losses=None, n=1):
    """Feed the gradient sequence to opt on weights w0; record updates, weights and states."""
    params = [np.array(w0, dtype=np.float64)]
    state = opt.init(params)
    rec = {"update": [], "w": [], "states": []}
    for t, g in enumerate(grads):
        loss = None if losses is None else losses[t]
        updates, state = step_updates(opt, [np.array(g, dtype=float)], state, loss, params, n)
        params[0] += updates[0]
        rec["update"].append(updates[0].copy())
        rec["w"].append(params[0].copy())
        rec["states"].append(state)
    return rec


# -- Quickprop -------------------------------------------------------------------------------
def test_quickprop_steps_by_hand() -> None:
    # η = 0.7, μ = 1.75, shrink = μ/(1 + μ) = 0.63636…, decay 0 (tested below); s = −g.
    # t1: s = 1; Δw′ = 0 (first step): linear only, Δw = 0.7 · 1 = 0.7
    # t2: s = 0.5; Δw′ = 0.7 > 0.001; s > 0 → + 0.7 · 0.5 = 0.35; s ≤ shrink · 1 → quadratic
    #     0.7 · 0.5 / (1 − 0.5) = 0.7; Δw = 1.05
    # t3: s = 0.45 > shrink · 0.5 = 0.318 → μ Δw′ = 1.8375, + 0.7 · 0.45 = 0.315; Δw = 2.1525
    # t4: s = −0.3: no linear term (s < 0 after a positive step); quadratic
    #     2.1525 · (−0.3) / (0.45 + 0.3) = −0.861
    # t5: s = −0.1, Δw′ < −0.001: s < 0 → 0.7 · (−0.1) = −0.07; s ≥ shrink · (−0.3) → quadratic
    #     −0.861 · (−0.1) / (−0.3 + 0.1) = −0.4305; Δw = −0.5005
    rec = run(Quickprop(decay=0.0), [[-1.0], [-0.5], [-0.45], [0.3], [0.1]], [0.0])
    expected = [0.7, 1.05, 2.1525, -0.861, -0.5005]
    np.testing.assert_allclose(np.ravel(rec["update"]), expected, rtol=1e-14)
    np.testing.assert_allclose(rec["states"][-1]["slope_old"][0], [-0.1])
    np.testing.assert_allclose(rec["states"][-1]["last_update"][0], [-0.5005], rtol=1e-14)


def test_quickprop_small_previous_step_is_a_gradient_step() -> None:
    # t1: s = 0.001 → Δw = 0.0007, not above FANN's 0.001 threshold;
    # t2: s = 1 → only the linear term 0.7 (no secant from a step too small to trust)
    rec = run(Quickprop(decay=0.0), [[-0.001], [-1.0]], [0.0])
    np.testing.assert_allclose(np.ravel(rec["update"]), [0.0007, 0.7], rtol=1e-14)


def test_quickprop_decay_is_per_sample_as_in_fann() -> None:
    # FANN adds decay·w to the epoch's sum of slopes; on the mean of n = 4 samples it is
    # decay·w/4: w = 2, g = 0 → s = −0.0001 · 2 / 4 = −0.00005, Δw = 0.7 · s = −0.000035
    rec = run(Quickprop(), [[0.0]], [2.0], n=4)
    np.testing.assert_allclose(rec["update"][0], [-0.000035], rtol=1e-12)


def test_quickprop_clips_the_weight_at_1500() -> None:
    rec = run(Quickprop(decay=0.0), [[-1.0]], [1499.9])
    assert rec["w"][0][0] == pytest.approx(1500.0, abs=1e-9)


def test_quickprop_needs_the_weights() -> None:
    opt = Quickprop()
    with pytest.raises(ValueError, match="weights"):
        opt.update([np.zeros(1)], opt.init([np.zeros(1)]), 0.1)


# -- SARPROP ---------------------------------------------------------------------------------
def test_sarprop_steps_by_hand() -> None:
    # Δ₀ = 0.1, η⁺ = 1.2, η⁻ = 0.5; weight decay off (shift −1000: 2^−1000 · w adds nothing).
    # One output, so FANN's MSE E = 2 · loss / 1; loss 0.01 → E = 0.02, threshold 0.1 E = 0.002.
    # t0: s′ = 0 → Δ = 0.1, Δw = −0.1 (s = 1 ≥ 0); s′ ← 1
    # t1: s = 2, s s′ > 0 → Δ = 0.12, Δw = −0.12
    # t2: s = −1, sign change, Δ′ = 0.12 ≥ 0.002 → Δ = 0.06, no step, s′ ← 0
    # t3: s = −1, s s′ = 0 → Δw = +Δ′ = +0.06 (s < 0), Δ stays 0.06; s′ ← −1
    # t4: loss 10 → E = 20, threshold 2; s = 1, sign change, Δ′ = 0.06 < 2 →
    #     Δ = 0.03 + U · √20 · 2^(−0.015 · 4 + 1.385), no step
    opt = Sarprop(weight_decay_shift=-1000.0)
    losses = [0.01, 0.01, 0.01, 0.01, 10.0]
    rec = run(opt, [[1.0], [2.0], [-1.0], [-1.0], [1.0]], [0.0], losses=losses)
    np.testing.assert_allclose(np.ravel(rec["update"]), [-0.1, -0.12, 0, 0.06, 0], rtol=1e-14)
    steps = [s["step_size"][0][0] for s in rec["states"]]
    u = opt.noise([np.zeros(1)], 4)[0][0]
    last = 0.03 + u * np.sqrt(20.0) * 2.0 ** (-0.015 * 4 + 1.385)
    np.testing.assert_allclose(steps, [0.1, 0.12, 0.06, 0.06, last], rtol=1e-14)
    assert [s["epoch"] for s in rec["states"]] == [1, 2, 3, 4, 5]
    assert rec["states"][-1]["grad_old"][0][0] == 0.0


def test_sarprop_weight_decay_is_annealed_and_per_sample() -> None:
    # t = 0, n = 2, w = 3, g = 0: s = 2^(−0.015 · 0 − 6.644) / 2 · 3 (FANN: ld 0.01 = −6.644)
    rec = run(Sarprop(), [[0.0]], [3.0], losses=[0.1], n=2)
    s = rec["states"][0]["grad_old"][0][0]
    assert s == pytest.approx(2.0**-6.644 / 2 * 3, rel=1e-14)
    assert rec["update"][0][0] == -0.1  # it decays: the weight moves towards 0


def test_sarprop_noise_repeats_for_a_seed() -> None:
    a, b, c = Sarprop(seed=1), Sarprop(seed=1), Sarprop(seed=2)
    p = [np.zeros((2, 3))]
    np.testing.assert_array_equal(a.noise(p, 5)[0], b.noise(p, 5)[0])
    assert not np.array_equal(a.noise(p, 5)[0], c.noise(p, 5)[0])
    assert not np.array_equal(a.noise(p, 5)[0], a.noise(p, 6)[0])


@pytest.mark.parametrize(
    ("name", "setting", "message"),
    [
        ("quickprop", {"mu": 0.0}, "mu"),
        ("quickprop", {"learning_rate": -1.0}, "learning_rate"),
        ("sarprop", {"eta_minus": 1.5}, "eta_minus"),
        ("sarprop", {"delta_min": 0.0}, "delta_min"),
        ("sarprop", {"temperature": float("nan")}, "temperature"),
    ],
)
def test_bad_settings_are_named(name: str, setting: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_optimizer(name, **setting)


# -- through fit and the estimators ----------------------------------------------------------
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)


@pytest.mark.parametrize(("name", "eta"), [("quickprop", 2.0), ("sarprop", None)])
def test_fit_learns_xor_with_the_full_batch(name: str, eta: float | None) -> None:
    # (Quickprop's default η = 0.7 sits ~400 epochs at XOR's saddle, all outputs ½)
    net = rp.Network.create([2, 4, 1], seed=0)
    hist = rp.fit(
        net, XOR_X, XOR_Y, optimizer=name, learning_rate=eta, batch_size="all", epochs=400,
        engine="numpy",
    )  # fmt: skip
    assert hist["loss"][-1] < 0.02
    assert np.all((net.predict(XOR_X) > 0.5) == (XOR_Y > 0.5))


def test_fit_gives_quickprop_the_batch_size() -> None:
    # the decay of the full batch of 4 is decay·w/4: one step by hand through train_step
    net = rp.Network.create([2, 1], seed=0)
    w = net.params()[0].copy()
    g = net.backward(net.forward(XOR_X), XOR_Y).flat()[0]
    rp.train_step(net, Quickprop(), Quickprop().init(net.params()), XOR_X, XOR_Y)
    np.testing.assert_allclose(net.params()[0], w + 0.7 * (-g - 0.0001 * w / 4), rtol=1e-14)


@pytest.mark.parametrize("solver", ["quickprop", "sarprop"])
def test_estimators_take_the_fann_rules(solver: str) -> None:
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = rp.MLPClassifier(hidden_layer_sizes=(8,), solver=solver, max_iter=200, random_state=0)
    assert clf.fit(X, y).score(X, y) > 0.9
    assert clf.trace_step(X[:5], y[:5]).optimizer == solver


# -- through the command line ----------------------------------------------------------------
def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retroprop", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_cli_trains_with_quickprop_and_compares_sarprop(tmp_path: Path) -> None:
    path = tmp_path / "xor.csv"
    rows = "".join(f"{a},{b},{a ^ b}\n" for a in (0, 1) for b in (0, 1) for _ in range(5))
    path.write_text("a,b,y\n" + rows)
    model = tmp_path / "xor.retroprop"
    result = cli(
        "train", path, "--target", "y", "--hidden", "4", "--solver", "quickprop",
        "--epochs", "30", "--seed", "0", "-o", model, "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert model.exists()
    result = cli(
        "compare", path, "--target", "y", "--solvers", "quickprop", "sarprop",
        "--budget-seconds", "1",
        "--hidden", "4", "--seed", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "quickprop" in result.stdout and "sarprop" in result.stdout


@pytest.mark.parametrize(("name", "key"), [("quickprop", "slope_old"), ("sarprop", "step_size")])
def test_explain_shows_the_rules_state(tmp_path: Path, name: str, key: str) -> None:
    net = tmp_path / "net.json"
    net.write_text(
        json.dumps(
            {
                "format": "retroprop.network",
                "loss": "squared_error",
                "layers": [
                    {"activation": "sigmoid", "weights": [[0.15, 0.2]], "biases": [0.35]},
                ],
            }
        )
    )
    result = cli(
        "explain", net, "--x", "0.05", "0.1", "--y", "0.9", "--optimizer", name, "-f", "json"
    )
    assert result.returncode == 0, result.stderr
    trace = json.loads(result.stdout)
    assert trace["optimizer"]["name"] == name
    assert key in trace["layers"][0]["optimizer_state"]
    text = cli("explain", net, "--x", "0.05", "0.1", "--y", "0.9", "--optimizer", name).stdout
    assert {"quickprop": "Quickprop", "sarprop": "2^(−T·t + shift)"}[name] in text
