"""Checks and copies for resuming :func:`retroprop.fit` from a :class:`~retroprop.TrainState`.

A state comes from a file (a checkpoint) or from another run: before training continues from
it, its weights, sample order, generator state and optimizer state are checked against the
network, the data and the optimizer at hand, with errors that name the field.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.core.network import Network
from retroprop.core.optimizers import State
from retroprop.errors import ParameterError
from retroprop.train.callbacks import TrainState

Array = NDArray[np.floating]

__all__ = ["checked_optimizer_state", "checked_weights", "copy_state", "restore"]


def checked_weights(network: Network, weights: Array) -> Array:
    """``weights`` if they are finite parameters of ``network`` (flat, its dtype)."""
    theta = np.asarray(weights)
    n = network.get_flat().size
    if theta.shape != (n,) or theta.dtype != network.dtype or not np.all(np.isfinite(theta)):
        raise ParameterError(
            f"initial_state.weights: expected {n} finite {network.dtype} numbers for "
            f"{network!r}, got shape {theta.shape} of {theta.dtype}"
        )
    return theta


def copy_state(state: State) -> State:
    """A copy of an optimizer state whose arrays later updates cannot change."""
    return {k: [a.copy() for a in v] if isinstance(v, list) else v for k, v in state.items()}


def restore(
    ts: TrainState,
    fresh: State,
    params: list[Array],
    rng: np.random.Generator,
    index: NDArray[np.intp],
    fast: Any,
) -> State:
    """Put the generator, sample order and optimizer state of ``ts`` in place; the state.

    ``index`` (n_train,) receives the sample order and ``rng`` the generator state; the
    optimizer state is checked against ``fresh`` (:func:`checked_optimizer_state`) and, when a
    compiled engine ``fast`` trains, handed to it too.
    """
    _restore_order(ts, index)
    _restore_rng(ts, rng)
    state = checked_optimizer_state(ts.optimizer, fresh, params)
    if fast is not None:
        fast.set_optimizer_state(state)
    return state


def _restore_order(ts: TrainState, index: NDArray[np.intp]) -> None:
    """index ← the state's sample order, if it is a permutation of as many samples."""
    order = np.asarray(ts.order)
    n = len(index)
    if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
        raise ParameterError(
            f"initial_state.order: expected an order of the {n} training samples, got shape "
            f"{order.shape} (a state from other data?)"
        )
    index[:] = order


def _restore_rng(ts: TrainState, rng: np.random.Generator) -> None:
    """The generator continues from the state's ``bit_generator.state``."""
    try:
        rng.bit_generator.state = ts.rng
    except (TypeError, ValueError, KeyError) as exc:
        kind = type(rng.bit_generator).__name__
        raise ParameterError(f"initial_state.rng: not a {kind} generator state ({exc})") from None


def checked_optimizer_state(saved: State, fresh: State, params: list[Array]) -> State:
    """A copy of ``saved`` if it has the structure of ``fresh`` (the optimizer's ``init``).

    The same keys; arrays shaped like ``params`` where ``fresh`` has arrays (or None, as Adam's
    m̂ before the first step); numbers where it has numbers.
    """
    if set(saved) != set(fresh):
        raise ParameterError(
            f"initial_state.optimizer: keys {sorted(saved)}, expected {sorted(fresh)}"
        )
    state: State = {}
    for key, init in fresh.items():
        got = saved[key]
        if isinstance(init, list) or (init is None and got is not None):
            if not _like_params(got, params):
                raise ParameterError(
                    f"initial_state.optimizer[{key!r}]: expected {len(params)} arrays shaped "
                    f"like the parameters, of {params[0].dtype}"
                )
            state[key] = [v.copy() for v in got]
        elif init is None or (isinstance(got, (int, float)) and not isinstance(got, bool)):
            state[key] = got
        else:
            raise ParameterError(
                f"initial_state.optimizer[{key!r}]: expected a number, got {type(got).__name__}"
            )
    return state


def _like_params(value: Any, params: list[Array]) -> bool:
    """True for a list of arrays with the shapes and dtypes of ``params``."""
    return (
        isinstance(value, list)
        and len(value) == len(params)
        and all(
            isinstance(v, np.ndarray) and v.shape == p.shape and v.dtype == p.dtype
            for v, p in zip(value, params, strict=True)
        )
    )
