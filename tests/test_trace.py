"""The trace of a step: hand-worked numbers, finite differences, and what training really did."""

from __future__ import annotations

import itertools
import json
import math

import jsonschema
import numpy as np
import pytest

import retroprop as rp
from retroprop.core.network import Dense
from retroprop.glassbox.trace import StepTrace, trace_step, trace_steps
from retroprop.glassbox.trace_json import step_trace_schema, traces_to_dict

SIGMOID = rp.get_activation("sigmoid")


def classic() -> rp.Network:
    """The classic 2-2-2 example: one bias per neuron (0.35 hidden, 0.60 output)."""
    return rp.Network(
        [
            Dense(np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([0.35, 0.35]), SIGMOID),
            Dense(np.array([[0.40, 0.45], [0.50, 0.55]]), np.array([0.60, 0.60]), SIGMOID),
        ]
    )


def s(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_classic_example_worked_by_hand() -> None:
    trace, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], "sgd", learning_rate=0.5)
    hidden, out = trace.layers
    # forward: z = Σ w x + b, o = 1 / (1 + e^(−z))
    z_h1 = 0.15 * 0.05 + 0.20 * 0.10 + 0.35  # 0.3775
    z_h2 = 0.25 * 0.05 + 0.30 * 0.10 + 0.35  # 0.3925
    o_h1, o_h2 = s(z_h1), s(z_h2)  # 0.593270, 0.596884
    z_o1 = 0.40 * o_h1 + 0.45 * o_h2 + 0.60  # 1.105906
    z_o2 = 0.50 * o_h1 + 0.55 * o_h2 + 0.60  # 1.224921
    o_o1, o_o2 = s(z_o1), s(z_o2)  # 0.751365, 0.772928
    np.testing.assert_allclose(hidden.z[0], [z_h1, z_h2], rtol=1e-14)
    np.testing.assert_allclose(hidden.a[0], [o_h1, o_h2], rtol=1e-14)
    np.testing.assert_allclose(out.z[0], [z_o1, z_o2], rtol=1e-14)
    np.testing.assert_allclose(out.a[0], [o_o1, o_o2], rtol=1e-14)
    np.testing.assert_allclose(hidden.x[0], [0.05, 0.10])
    np.testing.assert_allclose(out.x[0], [o_h1, o_h2], rtol=1e-14)
    # E = ½ Σ (y − o)²
    E = 0.5 * ((0.01 - o_o1) ** 2 + (0.99 - o_o2) ** 2)  # 0.298371
    assert trace.error_before == pytest.approx(E, rel=1e-14)
    # output δₖ = oₖ(1 − oₖ)(yₖ − oₖ)
    d_o1 = o_o1 * (1 - o_o1) * (0.01 - o_o1)  # −0.138499
    d_o2 = o_o2 * (1 - o_o2) * (0.99 - o_o2)  # 0.038098
    np.testing.assert_allclose(out.delta[0], [d_o1, d_o2], rtol=1e-13)
    np.testing.assert_allclose(out.error_signal[0], [0.01 - o_o1, 0.99 - o_o2], rtol=1e-14)
    # hidden δⱼ = oⱼ(1 − oⱼ) Σₖ δₖ wₖⱼ with the weights before the update
    d_h1 = o_h1 * (1 - o_h1) * (d_o1 * 0.40 + d_o2 * 0.50)
    d_h2 = o_h2 * (1 - o_h2) * (d_o1 * 0.45 + d_o2 * 0.55)
    np.testing.assert_allclose(hidden.delta[0], [d_h1, d_h2], rtol=1e-13)
    # ∂E/∂wⱼᵢ = −δⱼ xᵢ and Δwⱼᵢ = η δⱼ xᵢ, added
    np.testing.assert_allclose(
        out.grad_W, [[-d_o1 * o_h1, -d_o1 * o_h2], [-d_o2 * o_h1, -d_o2 * o_h2]], rtol=1e-13
    )
    np.testing.assert_allclose(out.grad_b, [-d_o1, -d_o2], rtol=1e-13)
    np.testing.assert_allclose(
        hidden.dW, [[0.5 * d_h1 * 0.05, 0.5 * d_h1 * 0.10], [0.5 * d_h2 * 0.05, 0.5 * d_h2 * 0.10]]
    )
    w5, w6 = 0.40 + 0.5 * d_o1 * o_h1, 0.45 + 0.5 * d_o1 * o_h2
    w7, w8 = 0.50 + 0.5 * d_o2 * o_h1, 0.55 + 0.5 * d_o2 * o_h2
    np.testing.assert_allclose(out.W_after, [[w5, w6], [w7, w8]], rtol=1e-14)
    np.testing.assert_allclose(out.b_after, [0.60 + 0.5 * d_o1, 0.60 + 0.5 * d_o2], rtol=1e-14)
    w1, w2 = 0.15 + 0.5 * d_h1 * 0.05, 0.20 + 0.5 * d_h1 * 0.10
    w3, w4 = 0.25 + 0.5 * d_h2 * 0.05, 0.30 + 0.5 * d_h2 * 0.10
    b1, b2 = 0.35 + 0.5 * d_h1, 0.35 + 0.5 * d_h2
    np.testing.assert_allclose(hidden.W_after, [[w1, w2], [w3, w4]], rtol=1e-14)
    np.testing.assert_allclose(hidden.W_before, [[0.15, 0.20], [0.25, 0.30]])
    np.testing.assert_allclose(hidden.b_after, [b1, b2], rtol=1e-14)
    # the same sample, forward again with every new weight and bias
    h1, h2 = s(w1 * 0.05 + w2 * 0.10 + b1), s(w3 * 0.05 + w4 * 0.10 + b2)
    p1 = s(w5 * h1 + w6 * h2 + 0.60 + 0.5 * d_o1)
    p2 = s(w7 * h1 + w8 * h2 + 0.60 + 0.5 * d_o2)
    E_after = 0.5 * ((0.01 - p1) ** 2 + (0.99 - p2) ** 2)
    assert trace.error_after == pytest.approx(E_after, rel=1e-13)
    assert trace.error_after < trace.error_before


def test_classic_example_published_numbers() -> None:
    """The values every write-up of this example prints (the weights do not see the biases)."""
    trace, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], learning_rate=0.5)
    d = trace.to_dict()
    assert d["error_before"] == pytest.approx(0.298371109, abs=1e-9)
    np.testing.assert_allclose(d["layers"][1]["delta"], [-0.138498562, 0.038098236], atol=1e-9)
    np.testing.assert_allclose(
        d["layers"][1]["weights_after"], [[0.35891648, 0.408666186], [0.511301270, 0.561370121]]
    )
    np.testing.assert_allclose(
        d["layers"][0]["weights_after"], [[0.149780716, 0.19956143], [0.24975114, 0.29950229]]
    )


@pytest.mark.parametrize(
    ("activations", "loss"),
    [
        (["sigmoid", "sigmoid"], "squared_error"),
        (["tanh", "identity"], "squared_error"),
        (["leaky_relu", "sigmoid"], "binary_cross_entropy"),
        (["sigmoid", "softmax"], "categorical_cross_entropy"),
        (["tanh", "softmax"], "squared_error"),
        (["tanh", "tanh", "sigmoid"], "absolute_error"),
    ],
)
def test_gradients_agree_with_finite_differences(activations: list[str], loss: str) -> None:
    sizes = [3, 4, 3, 2][: len(activations) + 1]
    net = rp.Network.create(sizes, activation=activations, loss=loss, seed=7)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (4, 3))
    Y = rng.dirichlet(np.ones(sizes[-1]), 4)  # rows in (0, 1) that sum to 1
    reference = net.copy()
    trace, _ = trace_step(net, X, Y, learning_rate=0.1)
    eps = 1e-6
    for l, layer in enumerate(trace.layers):
        for p, g in ((reference.layers[l].W, layer.grad_W), (reference.layers[l].b, layer.grad_b)):
            numeric = np.empty_like(p)
            for i in np.ndindex(p.shape):
                saved = p[i]
                p[i] = saved + eps
                plus = reference.error(X, Y)
                p[i] = saved - eps
                minus = reference.error(X, Y)
                p[i] = saved
                numeric[i] = (plus - minus) / (2 * eps)
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)
        if layer.derivative is not None:  # δ = f′(z) · (−∂E/∂o) for element-wise f
            np.testing.assert_allclose(
                layer.delta, layer.derivative * layer.error_signal, atol=1e-9
            )
    # the batch gradient is the mean of −δ xᵀ over the samples
    for layer in trace.layers:
        np.testing.assert_allclose(layer.grad_W, -np.einsum("sj,si->ji", layer.delta, layer.x) / 4)


def test_trace_is_what_train_step_and_fit_do() -> None:
    x, y = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    traced, stepped, fitted = classic(), classic(), classic()
    trace, _ = trace_step(traced, x, y, "sgd", learning_rate=0.5)
    opt = rp.SGD(learning_rate=0.5)
    result = rp.train_step(stepped, opt, opt.init(stepped.params()), x, y)
    rp.fit(fitted, x, y, learning_rate=0.5, epochs=1, batch_size=1, shuffle=False)
    for l in range(2):
        for net in (traced, stepped, fitted):
            assert np.array_equal(trace.layers[l].W_after, net.layers[l].W)
            assert np.array_equal(trace.layers[l].b_after, net.layers[l].b)
        assert np.array_equal(trace.layers[l].dW, result.updates[2 * l])
        assert np.array_equal(trace.layers[l].delta, result.gradients.delta[l])
    assert trace.objective == result.loss == trace.error_before


def test_steps_continue_like_training() -> None:
    x, y = [0.05, 0.10], [0.01, 0.99]
    traced, fitted = classic(), classic()
    traces, _ = trace_steps(traced, x, y, "momentum", learning_rate=0.5, steps=3)
    rp.fit(fitted, [x], [y], optimizer="momentum", learning_rate=0.5, epochs=3, shuffle=False)
    assert np.array_equal(traced.get_flat(), fitted.get_flat())
    assert [t.step for t in traces] == [1, 2, 3]
    for before, after in itertools.pairwise(traces):
        assert after.error_before == pytest.approx(before.error_after, rel=1e-14)
        np.testing.assert_array_equal(after.layers[0].W_before, before.layers[0].W_after)


@pytest.mark.parametrize("nesterov", [False, True])
def test_momentum_update_is_gradient_part_plus_momentum_part(nesterov: bool) -> None:
    net = classic()
    opt = rp.Momentum(learning_rate=0.5, momentum=0.9, nesterov=nesterov)
    first, state = trace_step(net, [0.05, 0.10], [0.01, 0.99], opt)
    second, _ = trace_step(net, [0.05, 0.10], [0.01, 0.99], opt, state=state)
    for layer_1, layer_2 in zip(first.layers, second.layers, strict=True):
        assert layer_1.gradient_term is not None and layer_1.momentum_term is not None
        assert layer_2.gradient_term is not None and layer_2.momentum_term is not None
        np.testing.assert_allclose(layer_2.gradient_term[0], -0.5 * layer_2.grad_W)
        np.testing.assert_allclose(layer_2.gradient_term[0] + layer_2.momentum_term[0], layer_2.dW)
        np.testing.assert_allclose(layer_2.gradient_term[1] + layer_2.momentum_term[1], layer_2.db)
        if not nesterov:  # classic: the momentum part is μ times the previous Δw
            np.testing.assert_allclose(layer_1.momentum_term[0], 0.0)
            np.testing.assert_allclose(layer_2.momentum_term[0], 0.9 * layer_1.dW)
            np.testing.assert_array_equal(layer_2.state["velocity"][0], layer_2.dW)
    d = second.to_dict()
    assert d["optimizer"]["momentum"] == 0.9 and d["optimizer"]["nesterov"] is nesterov
    assert set(d["layers"][0]["update_parts"]) == {
        "gradient_weights",
        "gradient_biases",
        "momentum_weights",
        "momentum_biases",
    }


def test_optimizer_state_is_recorded() -> None:
    adam, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], "adam", learning_rate=0.01)
    assert set(adam.layers[0].state) == {"m_hat", "v_hat"}
    assert adam.optimizer_scalars == {"t": 1}
    g = adam.layers[1].grad_W  # first step: m̂ = g, v̂ = g²
    np.testing.assert_allclose(adam.layers[1].state["m_hat"][0], g)
    np.testing.assert_allclose(adam.layers[1].state["v_hat"][0], g * g)
    rprop, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], "rprop-", learning_rate=0.1)
    assert set(rprop.layers[0].state) == {"step_size"}
    np.testing.assert_allclose(rprop.layers[0].dW, -np.sign(rprop.layers[0].grad_W) * 0.1)
    sgd, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99])
    assert sgd.layers[0].state == {} and sgd.layers[0].gradient_term is None


def test_minibatch_records_each_sample_and_the_mean_gradient() -> None:
    X = np.array([[0.05, 0.10], [0.9, -0.3], [0.0, 1.0]])
    Y = np.array([[0.01, 0.99], [1.0, 0.0], [0.5, 0.5]])
    trace, _ = trace_step(classic(), X, Y, learning_rate=0.5)
    assert trace.batch_size == 3 and trace.layers[0].delta.shape == (3, 2)
    singles = [trace_step(classic(), X[k], Y[k], learning_rate=0.5)[0] for k in range(3)]
    for l in range(2):
        np.testing.assert_allclose(
            trace.layers[l].delta, np.vstack([t.layers[l].delta for t in singles]), rtol=1e-14
        )
        mean = np.mean([t.layers[l].grad_W for t in singles], axis=0)
        np.testing.assert_allclose(trace.layers[l].grad_W, mean, rtol=1e-13)
    np.testing.assert_allclose(trace.E_before, [t.error_before for t in singles], rtol=1e-14)
    assert trace.error_before == pytest.approx(np.mean(trace.E_before))
    d = trace.to_dict()
    assert np.shape(d["input"]) == (3, 2) and np.shape(d["layers"][1]["delta"]) == (3, 2)
    assert np.shape(d["layers"][1]["grad_weights"]) == (2, 2)


def validate(doc: object) -> None:
    jsonschema.Draft202012Validator(step_trace_schema()).validate(doc)


def test_json_has_the_design_contract_and_validates() -> None:
    trace, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], learning_rate=0.5)
    doc = json.loads(trace.to_json())
    validate(doc)
    assert doc["learning_rate"] == 0.5
    assert doc["input"] == [0.05, 0.10] and doc["target"] == [0.01, 0.99]
    assert doc["error_before"] > doc["error_after"]
    contract = {"z", "a", "delta", "grad_weights", "weights_before", "weights_after"}
    contract |= {"biases_before", "biases_after"}
    for layer in doc["layers"]:
        assert contract <= set(layer)
        assert np.shape(layer["grad_weights"]) == np.shape(layer["weights_before"])
    assert doc["layers"][0]["weights_before"] == [[0.15, 0.20], [0.25, 0.30]]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adam", "irprop+", "rprop+"])
def test_every_optimizer_and_batches_and_steps_validate(optimizer: str) -> None:
    X = np.array([[0.05, 0.10], [0.9, -0.3]])
    Y = np.array([[0.01, 0.99], [1.0, 0.0]])
    traces, _ = trace_steps(classic(), X, Y, optimizer, learning_rate=0.1, steps=3)
    doc = json.loads(json.dumps(traces_to_dict(traces), allow_nan=False))
    validate(doc)
    assert doc["format"] == "retroprop.step_traces" and len(doc["steps"]) == 3
    validate(traces_to_dict(traces[:1]))
    with pytest.raises(jsonschema.ValidationError):
        validate({**traces[0].to_dict(), "error_before": "0.3"})


def test_overflow_becomes_null_in_json() -> None:
    """Exactly the non-finite numbers become null; the finite ones beside them stay numbers."""
    net = rp.Network.create([1, 1], activation="identity", seed=0)
    traces, _ = trace_steps(net, [1e150], [0.0], learning_rate=1e150, steps=3)
    doc = json.loads(json.dumps(traces_to_dict(traces), allow_nan=False))  # strict JSON
    validate(doc)
    first, layer = traces[0], traces[0].layers[0]
    step, out = doc["steps"][0], doc["steps"][0]["layers"][0]
    # Δw = −η ∂E/∂w = −1e150 × 1.4e299 overflows: w after the first step is −inf
    assert np.isneginf(layer.dW[0, 0]) and np.isneginf(layer.W_after[0, 0])
    assert out["update_weights"] == [[None]] and out["weights_after"] == [[None]]
    assert np.isinf(first.error_after) and step["error_after"] is None
    # the finite numbers of the same step keep their values
    assert np.isfinite(first.error_before) and step["error_before"] == first.error_before
    assert out["weights_before"] == [[layer.W_before[0, 0]]]
    assert out["biases_after"] == [layer.b_after[0]] and np.isfinite(layer.b_after[0])
    assert out["grad_weights"] == [[layer.grad_W[0, 0]]]


def test_a_healthy_trace_has_no_null_number() -> None:
    """Its only nulls say "not applicable" (no momentum parts, a finding about no layer)."""
    trace, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99], learning_rate=0.5)
    doc = trace.to_dict()
    numbers = [doc[k] for k in ("learning_rate", "input", "target", "error_before", "error_after")]
    numbers += [ly[k] for ly in doc["layers"] for k in ly if k not in ("update_parts", "role")]
    assert "None" not in repr(numbers)
    assert [ly["update_parts"] for ly in doc["layers"]] == [None, None]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="x: expected 2 numbers per sample"):
        trace_step(classic(), [0.05, 0.10, 0.2], [0.01, 0.99])
    with pytest.raises(ValueError, match="y: expected 2 numbers"):
        trace_step(classic(), [0.05, 0.10], [0.01])
    with pytest.raises(ValueError, match="lbfgs"):
        trace_step(classic(), [0.05, 0.10], [0.01, 0.99], "lbfgs")
    with pytest.raises(ValueError, match="learning_rate"):
        trace_step(classic(), [0.05, 0.10], [0.01, 0.99], rp.SGD(), learning_rate=0.5)
    with pytest.raises(ValueError, match="finite"):
        trace_step(classic(), [math.nan, 0.10], [0.01, 0.99])
    with pytest.raises(ValueError, match="steps"):
        trace_steps(classic(), [0.05, 0.10], [0.01, 0.99], steps=0)


def test_trace_is_plain_data() -> None:
    trace, _ = trace_step(classic(), [0.05, 0.10], [0.01, 0.99])
    assert isinstance(trace, StepTrace)
    assert trace.network == "Network(2 → 2 sigmoid → 2 sigmoid, squared_error)"
    np.testing.assert_array_equal(trace.output, trace.layers[-1].a)
