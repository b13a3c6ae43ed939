"""The search's fits on a Dask cluster: a bounded connection, one task per fit, faults survived.

:func:`connect` checks, within a timeout, that the address is a Dask scheduler before a
:class:`~distributed.Client` is made: a port where nothing listens, a server that never answers
and one that speaks another protocol (an HTTP server, say) are each a :class:`ClusterError`
naming the address, never a hang or an internal error.

:func:`cross_validate_grid` submits every (candidate, fold) fit as its own task and collects them
as they finish. Each fit is pure (fixed seed, fixed split), so when a worker dies the scheduler
runs its fits again elsewhere with the same result, and the data are a task too (run again if
the worker holding them dies). When the scheduler itself is lost, the fits finished so far
are returned with the reason, for the caller to report. The scores are scikit-learn's
``cv_results_`` as :class:`~sklearn.model_selection.GridSearchCV` computes them (same splits,
same scorer, same mean, standard deviation and ranking), so a cluster run ranks and scores
exactly as a local one.

May import: what :mod:`retroprop.apps` may (dask and scikit-learn inside the functions).
"""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from retroprop.errors import RetropropError

__all__ = ["ClusterError", "FoldResult", "GridRun", "connect", "cross_validate_grid", "fit_fold"]

MISSING_DASK = "needs dask.distributed: pip install 'retroprop[dask]'"


class ClusterError(RetropropError):
    """The scheduler cannot be reached, is not a Dask scheduler, or was lost during a search."""


def connect(address: str, timeout: float) -> Any:
    """A :class:`distributed.Client` of the scheduler at ``address``, after checking within
    ``timeout`` seconds that something listens there and answers as a Dask scheduler.

    Raises:
        ClusterError: naming the address and what was found there instead.
        ImportError: dask.distributed is not installed (the message names the extra).
    """
    try:
        from distributed import Client
        from distributed.comm.addressing import parse_address, parse_host_port
        from distributed.comm.registry import backends
    except ImportError:
        raise ImportError(f"scheduler {address}: {MISSING_DASK}") from None
    try:
        scheme, location = parse_address(address, strict=False)
        host, port = parse_host_port(location, 8786)  # dask's default port
    except ValueError as exc:
        raise ClusterError(
            f"scheduler {address}: not an address like tcp://HOST:PORT ({exc})"
        ) from None
    if scheme not in backends:
        known = ", ".join(sorted(backends))
        raise ClusterError(f"scheduler {address}: unknown scheme {scheme!r} (known: {known})")
    if not 0 < port < 65536:
        raise ClusterError(f"scheduler {address}: port {port} is not in 1–65535")
    if scheme == "tcp":
        _listening(address, host, port, timeout)
    _answers_as_scheduler(address, timeout)
    client: Any = Client  # untyped; Any keeps mypy strict quiet either way
    try:
        return client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"scheduler {address}: cannot connect ({exc})") from None


def _listening(address: str, host: str, port: int, timeout: float) -> None:
    """A plain TCP connection opens within ``timeout`` (refused and unreachable are named)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass  # opened and closed: only that something listens is checked here
    except TimeoutError:
        raise ClusterError(f"scheduler {address}: no answer within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ClusterError(f"scheduler {address}: cannot connect ({reason.lower()})") from None


def _answers_as_scheduler(address: str, timeout: float) -> None:
    """Dask's handshake and an ``identity`` call answered within ``timeout``, by a scheduler.

    dask's own ``connect`` waits for the handshake without a limit and trusts the frame length
    it reads (an HTTP reply reads as exabytes), so the exchange runs in its own event loop under
    one deadline and every failure of it means: not a Dask scheduler.
    """
    from distributed.comm.core import connect

    dask_connect: Any = connect  # untyped

    async def identity() -> Any:
        comm = await dask_connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> Any:
        return await asyncio.wait_for(identity(), timeout)

    try:
        answer = asyncio.run(bounded())
    except TimeoutError:
        reason = f"no answer to Dask's handshake within {timeout:g} s"
    except Exception as exc:  # MemoryError included: a foreign reply read as a frame length
        reason = _foreign_reply(exc)
    else:
        kind = answer.get("type") if isinstance(answer, dict) else None
        if kind == "Scheduler":
            return
        reason = f"a Dask {kind}" if isinstance(kind, str) else "an unexpected answer"
        if isinstance(answer, dict) and isinstance(answer.get("scheduler"), str):
            reason += f" whose scheduler is {answer['scheduler']}"
    raise ClusterError(f"scheduler {address}: not a Dask scheduler ({reason})")


def _foreign_reply(exc: BaseException) -> str:
    from distributed.comm.core import CommClosedError

    if isinstance(exc, CommClosedError):
        return "it closed the connection during Dask's handshake"
    if isinstance(exc, MemoryError):
        return "its reply is not Dask's protocol"
    return f"its reply is not Dask's protocol: {type(exc).__name__}"


class FoldResult(NamedTuple):
    """One fit and its score on the held-out fold; ``failure`` says why the fit failed (the
    score is then NaN, as scikit-learn's ``error_score=np.nan``)."""

    score: float
    fit_time: float
    score_time: float
    failure: str | None


def fit_fold(
    estimator: Any,
    params: Mapping[str, Any],
    data: tuple[Any, Any],
    train: Any,
    test: Any,
    scoring: Any,
) -> FoldResult:
    """Fit a clone of ``estimator`` with ``params`` on rows ``train`` of ``data = (X, y)`` and
    score it on rows ``test``, as GridSearchCV's ``_fit_and_score`` does (runs on a worker)."""
    from sklearn.base import clone
    from sklearn.metrics import check_scoring

    X, y = data
    est = clone(estimator).set_params(**clone(dict(params), safe=False))
    start = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes: epochs is the user's budget
        try:
            est.fit(X[train], y[train])
        except Exception as exc:
            return FoldResult(np.nan, time.time() - start, 0.0, _error_line(exc))
        fit_time = time.time() - start
        try:
            score = float(check_scoring(est, scoring)(est, X[test], y[test]))
        except Exception as exc:
            return FoldResult(np.nan, fit_time, time.time() - start - fit_time, _error_line(exc))
    return FoldResult(score, fit_time, time.time() - start - fit_time, None)


def _error_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class GridRun(NamedTuple):
    """What :func:`cross_validate_grid` finished.

    Attributes:
        folds: ``{(candidate index, fold index): FoldResult}`` of every finished fit.
        lost: why the search stopped early (the scheduler was lost, a task failed on the
            cluster); None when every fit finished.
    """

    folds: dict[tuple[int, int], FoldResult]
    lost: str | None


def cross_validate_grid(
    client: Any,
    estimator: Any,
    candidates: Sequence[Mapping[str, Any]],
    X: Any,
    y: Any,
    splits: Sequence[tuple[Any, Any]],
    scoring: Any,
    timeout: float,
) -> GridRun:
    """Every candidate on every split, one task per fit (keyed ``retroprop-fit-I-K-…`` for
    candidate I, fold K), collected as they finish; ``timeout`` bounds fetching each result.

    The data go to the cluster as one task that returns them, not scattered: a task can be run
    again when the worker holding its result dies, scattered data cannot (and dask's memory
    manager drops the extra copies that ``broadcast`` makes).
    """
    from distributed import as_completed

    completed: Any = as_completed  # untyped
    address = client.scheduler.address
    run = uuid.uuid4().hex
    data = client.submit(_data, X, y, key=f"retroprop-data-{run}")
    tasks = {
        client.submit(
            fit_fold,
            estimator,
            params,
            data,
            train,
            test,
            scoring,
            key=f"retroprop-fit-{i}-{k}-{run}",
        ): (i, k)
        for i, params in enumerate(candidates)
        for k, (train, test) in enumerate(splits)
    }
    folds: dict[tuple[int, int], FoldResult] = {}
    for future in completed(tasks, loop=client.loop):
        i, k = tasks[future]
        try:
            folds[i, k] = future.result(timeout=timeout)
        except Exception as exc:
            return GridRun(folds, f"scheduler {address}: {_why(future.status, exc, i, k)}")
    return GridRun(folds, None)


def _data(X: Any, y: Any) -> tuple[Any, Any]:
    """The search's rows, as a task's result (runs on a worker)."""
    return X, y


def _why(status: str, exc: Exception, i: int, k: int) -> str:
    """Why the result of fit ``k`` of candidate ``i`` did not come back."""
    if status == "error":  # fit_fold catches the fit's own errors: this one is the cluster's
        return (
            f"fit {k + 1} of candidate {i + 1} failed on the cluster ({type(exc).__name__}: {exc})"
        )
    reason = getattr(exc, "reason", None)
    if status == "cancelled" and reason not in (None, "scheduler-connection-lost"):
        return f"fit {k + 1} of candidate {i + 1} was cancelled on the cluster ({reason})"
    return "connection lost during the search"


def cv_results(
    candidates: Sequence[Mapping[str, Any]], folds: Mapping[tuple[int, int], FoldResult], cv: int
) -> dict[str, Any]:
    """GridSearchCV's ``cv_results_`` of ``candidates`` from their fits on ``cv`` folds: the
    same keys, the same mean, (population) standard deviation and ``rank="min"`` ranking with
    failed candidates tied last."""
    from scipy.stats import rankdata

    n = len(candidates)
    table = {
        name: np.array(
            [[getattr(folds[i, k], name) for k in range(cv)] for i in range(n)], dtype=np.float64
        ).reshape(n, cv)
        for name in ("fit_time", "score_time", "score")
    }
    results: dict[str, Any] = {}

    def average(array: Any) -> Any:  # np.average of no rows divides by zero
        return np.average(array, axis=1) if n else np.empty(0)

    for name in ("fit_time", "score_time"):
        array = table[name]
        mean = average(array)
        results[f"mean_{name}"] = mean
        results[f"std_{name}"] = np.sqrt(average((array - mean[:, np.newaxis]) ** 2))
    for key in dict.fromkeys(k for p in candidates for k in p):
        column = np.ma.MaskedArray(np.empty(n, dtype=object), mask=True)
        for i, p in enumerate(candidates):
            if key in p:
                column[i] = p[key]
        results[f"param_{key}"] = column
    results["params"] = [dict(p) for p in candidates]
    scores = table["score"]
    for k in range(cv):
        results[f"split{k}_test_score"] = scores[:, k]
    mean = average(scores)
    results["mean_test_score"] = mean
    results["std_test_score"] = np.sqrt(average((scores - mean[:, np.newaxis]) ** 2))
    if np.isnan(mean).all():
        results["rank_test_score"] = np.ones(n, dtype=np.int32)
    else:
        filled = np.nan_to_num(mean, nan=np.nanmin(mean) - 1)
        results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
    return results
