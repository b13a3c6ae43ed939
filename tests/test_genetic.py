"""Tests for retroprop.train.solvers.genetic: the operators one by one, the vectorised population
against a per-individual loop, reproducibility, and convergence on XOR and the lecture's
digits."""

from __future__ import annotations

import numpy as np
import pytest

import retroprop as rp
from retroprop.train.solvers.genetic import (
    Genetic,
    blend_crossover,
    initial_population,
    mutate,
    next_generation,
    population_forward,
    population_loss,
    tournament,
    uniform_crossover,
)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def xor_run(seed: int = 0, epochs: int = 150, **settings: object) -> tuple[rp.Network, rp.History]:
    data = rp.datasets.xor()
    net = rp.Network.create([2, 2, 1], seed=seed)
    history = rp.fit(net, data.X, data.y, optimizer=Genetic(**settings), epochs=epochs, seed=seed)
    return net, history


# -- convergence -----------------------------------------------------------------------------


def test_solves_xor_with_two_hidden_neurons() -> None:
    net, history = xor_run(seed=0)
    o = net.predict(rp.datasets.xor().X)[:, 0]
    assert np.all((o > 0.5) == np.array([False, True, True, False])), o
    assert history["accuracy"][-1] == 1.0


@pytest.mark.slow
def test_reaches_85_percent_on_noisy_lecture_digits() -> None:
    train = rp.datasets.lecture_digits(noise=0.05, copies=10, seed=1)
    test = rp.datasets.lecture_digits(noise=0.05, copies=20, seed=2)
    net = rp.Network.create([35, 10, 5, 10], seed=1)
    rp.fit(net, train.X, train.y, optimizer="genetic", epochs=250, seed=1)
    assert rp.accuracy(test.y, net.predict(test.X)) >= 0.85


# -- reproducibility and the fit interface ----------------------------------------------------


def test_same_seed_same_result_bit_for_bit() -> None:
    net_a, hist_a = xor_run(seed=3, epochs=30, batch_size=2)
    net_b, hist_b = xor_run(seed=3, epochs=30, batch_size=2)
    assert net_a.get_flat().tobytes() == net_b.get_flat().tobytes()
    assert hist_a["loss"] == hist_b["loss"]
    net_c, _ = xor_run(seed=4, epochs=30, batch_size=2)
    assert net_c.get_flat().tobytes() != net_a.get_flat().tobytes()


def test_logs_one_generation_per_epoch_like_the_gradient_optimizers() -> None:
    data = rp.datasets.xor()
    net = rp.Network.create([2, 2, 1], seed=0)
    seen: list[int] = []
    history = rp.fit(
        net,
        data.X,
        data.y,
        optimizer="genetic",
        epochs=50,
        seed=0,
        validation_data=(data.X, data.y),
        callbacks=[lambda epoch, logs: seen.append(epoch) or epoch == 7],
    )
    assert seen == list(range(1, 8)) and history.epochs == 7
    for key in ("loss", "mse", "accuracy", "val_loss", "val_mse", "val_accuracy", "time"):
        assert len(history[key]) == 7
    assert history["updates"] == list(range(1, 8))  # one update (generation) per epoch
    assert history["loss"][-1] == pytest.approx(net.error(data.X, data.y), abs=1e-15)


def test_elitism_on_the_whole_set_never_loses_the_best() -> None:
    _, history = xor_run(seed=1, epochs=40)
    start = rp.Network.create([2, 2, 1], seed=1).error(rp.datasets.xor().X, rp.datasets.xor().y)
    losses = [start, *history["loss"]]
    assert np.all(np.diff(losses) <= 0)


def test_early_stopping_restores_the_best_generation() -> None:
    data = rp.datasets.xor()
    net = rp.Network.create([2, 2, 1], seed=0)
    history = rp.fit(
        net,
        data.X,
        data.y,
        optimizer=Genetic(batch_size=1),  # noisy fitness: the training loss goes up and down
        epochs=200,
        seed=0,
        early_stopping=rp.EarlyStopping(monitor="loss", patience=5),
    )
    assert history.stopped_early
    assert net.error(data.X, data.y) == pytest.approx(min(history["loss"]), abs=1e-15)


def test_divergence_is_detected_and_the_last_finite_weights_restored() -> None:
    data = rp.datasets.xor()
    net = rp.Network.create([2, 2, 1], activation="identity", seed=0)
    theta0 = net.get_flat()
    ga = Genetic(elitism=0, crossover_rate=0.0, mutation_rate=1.0, mutation_scale=1e308)
    with pytest.raises(rp.DivergenceError, match="epoch 1"):
        rp.fit(net, data.X * 1e10, data.y, optimizer=ga, epochs=3, seed=0)
    np.testing.assert_array_equal(net.get_flat(), theta0)


def test_float32_networks_stay_float32() -> None:
    data = rp.datasets.xor()
    net = rp.Network.create([2, 2, 1], seed=0, dtype=np.float32)
    rp.fit(net, data.X, data.y, optimizer=Genetic(population_size=10), epochs=3, seed=0)
    assert net.dtype == np.float32


def test_get_optimizer_knows_the_genetic_algorithm() -> None:
    ga = rp.get_optimizer("genetic", population_size=20, crossover="blend")
    assert isinstance(ga, Genetic) and (ga.population_size, ga.crossover) == (20, "blend")
    with pytest.raises(ValueError, match="learning_rate"):
        rp.fit(rp.Network.create([2, 1]), [[0, 0]], [0], optimizer="genetic", learning_rate=0.1)


# -- the vectorised population ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("activations", "loss", "weight_decay"),
    [
        (["sigmoid", "sigmoid", "sigmoid"], "squared_error", 0.0),
        (["tanh", "relu", "softmax"], "categorical_cross_entropy", 0.01),
        (["leaky_relu", "identity", "sigmoid"], "binary_cross_entropy", 0.1),
    ],
)
def test_population_evaluation_equals_a_loop_over_networks(activations, loss, weight_decay) -> None:
    rng = np.random.default_rng(0)
    net = rp.Network.create([6, 5, 4, 3], activation=activations, loss=loss, seed=0)
    X = rng.normal(size=(9, 6))
    Y = rp.datasets.one_hot(rng.integers(0, 3, size=9), 3)
    Theta = rng.normal(size=(7, net.get_flat().size))
    O = population_forward(net, Theta, X)
    J = population_loss(net, Theta, X, Y, weight_decay)
    assert O.shape == (7, 9, 3) and J.shape == (7,)
    for p, theta in enumerate(Theta):
        net.set_flat(theta)
        np.testing.assert_allclose(O[p], net.forward(X).output, rtol=1e-12, atol=1e-15)
        J_p, _ = net.gradient(X, Y, weight_decay)
        np.testing.assert_allclose(J[p], J_p, rtol=1e-12)


def test_population_forward_checks_the_parameter_count() -> None:
    net = rp.Network.create([2, 2, 1])
    with pytest.raises(ValueError, match="Theta"):
        population_forward(net, np.zeros((3, 8)), np.zeros((1, 2)))


# -- the operators ----------------------------------------------------------------------------


def test_initial_population_starts_from_the_networks_weights() -> None:
    theta0 = np.arange(5.0)
    Theta = initial_population(theta0, Genetic(population_size=50, init_scale=0.1), rng(0))
    assert Theta.shape == (50, 5)
    np.testing.assert_array_equal(Theta[0], theta0)  # the same start as the other solvers
    assert 0.05 < np.std(Theta[1:] - theta0) < 0.2


def test_tournament_picks_the_fittest_of_its_sample() -> None:
    fitness = rng(1).normal(size=20)
    winners = tournament(fitness, 50, 3, rng(2))
    entrants = rng(2).integers(0, 20, size=(50, 3))  # the same draws
    for w, sample in zip(winners, entrants, strict=True):
        assert w in sample and fitness[w] == fitness[sample].max()
    assert np.all(tournament(fitness, 10, 1000, rng(3)) == np.argmax(fitness))


def test_uniform_crossover_takes_genes_only_from_the_parents() -> None:
    A, B = np.zeros((40, 30)), np.ones((40, 30))
    child = uniform_crossover(A, B, rng(0))
    assert np.all((child == 0) | (child == 1))
    assert 0.4 < child.mean() < 0.6  # each parent with probability ½


@pytest.mark.parametrize("alpha", [0.0, 0.5])
def test_blend_crossover_stays_in_the_blx_alpha_range(alpha) -> None:
    A, B = rng(0).normal(size=(200, 10)), rng(1).normal(size=(200, 10))
    child = blend_crossover(A, B, alpha, rng(2))
    lo, hi = np.minimum(A, B), np.maximum(A, B)
    interval = hi - lo
    assert np.all(child >= lo - alpha * interval) and np.all(child <= hi + alpha * interval)
    outside = np.mean((child < lo) | (child > hi))
    assert outside == 0 if alpha == 0 else 0.3 < outside < 0.7  # α = 0.5: half the range


def test_mutation_rate_and_scale() -> None:
    Theta = np.zeros((100, 100))
    np.testing.assert_array_equal(mutate(Theta, 0.0, 1.0, rng(0)), Theta)
    changed = mutate(Theta, 0.1, 2.0, rng(0))
    assert 0.08 < np.mean(changed != 0) < 0.12
    assert np.std(changed[changed != 0]) == pytest.approx(2.0, rel=0.1)


def test_mutation_scale_decays_to_its_minimum() -> None:
    ga = Genetic(mutation_scale=1.0, mutation_decay=0.5, min_mutation_scale=0.2)
    assert [ga.sigma(g) for g in (1, 2, 3, 4)] == [1.0, 0.5, 0.25, 0.2]
    assert Genetic(mutation_decay=1.0).sigma(1000) == Genetic().mutation_scale


def test_elitism_copies_the_best_unchanged() -> None:
    Theta = rng(0).normal(size=(10, 4))
    fitness = np.array([0.0, 5.0, 1.0, 9.0, 2.0, 3.0, 4.0, 6.0, 7.0, 8.0])
    ga = Genetic(population_size=10, elitism=3, mutation_rate=1.0)
    new = next_generation(Theta, fitness, ga, 0.5, rng(1))
    assert new.shape == Theta.shape
    np.testing.assert_array_equal(new[:3], Theta[[3, 9, 8]])
    assert not any(np.array_equal(row, old) for row in new[3:] for old in Theta)


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        ({"population_size": 1}, "population_size"),
        ({"population_size": 10.0}, "population_size"),
        ({"tournament_size": 0}, "tournament_size"),
        ({"population_size": 5, "tournament_size": 6}, "tournament_size"),
        ({"crossover": "one-point"}, "crossover"),
        ({"alpha": -0.1}, "alpha"),
        ({"crossover_rate": 1.5}, "crossover_rate"),
        ({"mutation_rate": float("nan")}, "mutation_rate"),
        ({"mutation_scale": -1.0}, "mutation_scale"),
        ({"mutation_decay": 0.0}, "mutation_decay"),
        ({"mutation_decay": 1.5}, "mutation_decay"),
        ({"min_mutation_scale": 1.0, "mutation_scale": 0.1}, "min_mutation_scale"),
        ({"elitism": 100}, "elitism"),
        ({"elitism": True}, "elitism"),
        ({"init_scale": float("inf")}, "init_scale"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": "half"}, "batch_size"),
    ],
)
def test_invalid_settings_name_the_parameter(settings, name) -> None:
    with pytest.raises(ValueError, match=name):
        Genetic(**settings)
