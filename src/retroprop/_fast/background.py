"""Machine code for the generated kernels without waiting for it: numba's cache, else another
process compiles it while training goes on with the generic kernels.

A kernel generated for one architecture (:mod:`.codegen`) takes seconds to compile; the generic
kernels of :mod:`.kernels` serve every architecture, are compiled once per machine, and give the
same numbers bit for bit. So a trainer asks :func:`ready` before each epoch: True when the
generated function has machine code for these arguments' types in this process, or in numba's
cache on disk (loaded then, in milliseconds; never compiled here). Otherwise the first question
starts a compile worker (:mod:`.compile_worker`, a separate process: numba compiles under the
GIL, and a thread would stall training) and the answer stays False until the worker has exited;
then the cache is read once more, and if the code is still not there (the worker failed or was
killed) the answer stays False for the rest of the process: the generic kernels go on, and the
next process tries again.

The worker is detached (its own session, standard streams closed but for a log beside the
source) and exits on its own once compiled, even when the run that started it has
ended: a short run still leaves the kernel compiled for the next one. :func:`wait` waits for the
workers this process started (tests, benchmarks).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["ready", "wait"]

_Key = tuple[str, str, tuple[Any, ...]]


class _Job:
    """A compile worker started by this process (None: it could not start)."""

    def __init__(self, process: subprocess.Popen[bytes] | None) -> None:
        self.process = process
        self.done = threading.Event()
        if process is None:  # could not start: nothing to wait for
            self.done.set()
        else:  # reaped as soon as it exits: no zombie in a long-lived process
            threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        assert self.process is not None
        self.process.wait()
        self.done.set()


WAIT = False
"""When True, :func:`ready` waits for the worker it starts and reports what it compiled, as if
compiling were done in the foreground: for benchmarks that time the generated kernels and
tests that check them (the training process still compiles nothing itself)."""

_JOBS: dict[_Key, _Job] = {}
_LOOKED: set[_Key] = set()  # finished jobs whose result was looked for in the cache
_LOCK = threading.Lock()


def signature(dispatcher: Any, args: Sequence[Any]) -> tuple[Any, ...]:
    """The numba types of ``args`` as ``dispatcher`` would dispatch on them."""
    return tuple(dispatcher.typeof_pyval(a) for a in args)


def load_cached(dispatcher: Any, sig: tuple[Any, ...]) -> bool:
    """Give ``dispatcher`` machine code for ``sig`` from numba's cache if it is there (what
    ``Dispatcher.compile`` does before compiling); never compiles. False on any trouble."""
    from numba.core.compiler_lock import global_compiler_lock

    if sig in dispatcher.overloads:
        return True
    with global_compiler_lock:
        try:  # numba's private API (0.68): a change there, or an unreadable cache, is a miss
            cres = dispatcher._cache.load_overload(sig, dispatcher.targetctx)
            if cres is None:
                return False
            if not cres.objectmode:
                dispatcher.targetctx.insert_user_function(
                    cres.entry_point, cres.fndesc, [cres.library]
                )
            dispatcher.add_overload(cres)
        except Exception:
            return False
    return True


def ready(module: Any, path: Path, calls: Mapping[str, Sequence[Any]]) -> set[str]:
    """The functions of ``module`` (generated source at ``path``) that can run now on these
    arguments without compiling; one worker is started for the others (once per process and
    signature).

    Args:
        module: the imported generated module (its functions are numba dispatchers).
        path: its source file, which the worker imports.
        calls: function name → the arguments it will be called with (their types matter).
    """
    sigs = {name: signature(getattr(module, name), args) for name, args in calls.items()}
    found, missing = set(), []
    started: _Job | None = None
    with _LOCK:
        for name, sig in sigs.items():
            key = (module.__name__, name, sig)
            if sig in getattr(module, name).overloads:
                found.add(name)
                continue
            job = _JOBS.get(key)
            if job is not None and (not job.done.is_set() or key in _LOOKED):
                continue  # compiling, or compiled without result: the generic kernels go on
            if job is not None:
                _LOOKED.add(key)
            if load_cached(getattr(module, name), sig):
                found.add(name)
            elif job is None:
                missing.append((name, sig))
        if missing:
            started = _Job(_start(module.__name__, path, missing))
            for name, sig in missing:
                _JOBS[(module.__name__, name, sig)] = started
    if started is not None and WAIT:
        started.done.wait()
        return found | ready(module, path, {name: calls[name] for name, _ in missing})
    return found


def _start(module_name: str, path: Path, calls: list[tuple[str, Any]]) -> Any:
    """Start a detached worker compiling ``calls``; None when it cannot be started."""
    from retroprop._fast import compile_worker

    if not sys.executable:
        return None
    try:
        described = [(name, [describe(t) for t in sig]) for name, sig in calls]
        request = json.dumps({"module": module_name, "path": str(path), "calls": described})
        with open(path.with_suffix(".log"), "ab") as log:
            process = subprocess.Popen(
                [sys.executable, compile_worker.__file__],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                start_new_session=True, close_fds=True,
            )  # fmt: skip
    except (OSError, ValueError):  # cannot start, or an argument type it cannot describe
        return None
    assert process.stdin is not None
    try:
        with process.stdin:
            process.stdin.write(request.encode())
    except OSError:  # the worker died already: it exits with an error, reaped as any other
        pass
    return process


def describe(numba_type: Any) -> list[Any]:
    """An argument type as JSON for the worker (:func:`.compile_worker.numba_type`): arrays,
    booleans and the scalars int64, float32 and float64, all the generated kernels take.

    Raises:
        ValueError: another type.
    """
    from numba import types

    if numba_type == types.boolean:
        return ["bool"]
    if numba_type in (types.int64, types.float32, types.float64):
        return ["scalar", str(numba_type)]
    if isinstance(numba_type, types.Array):
        t = numba_type
        return ["array", str(t.dtype), t.ndim, t.layout, not t.mutable, t.aligned]
    raise ValueError(f"no description for argument type {numba_type}")


def wait(timeout: float | None = None) -> bool:
    """Wait for the compile workers this process started; True when all have exited."""
    with _LOCK:
        jobs = list(_JOBS.values())
    return all(job.done.wait(timeout) for job in jobs)


def workers() -> list[int]:
    """Process ids of the workers this process started that are still running."""
    with _LOCK:
        jobs = set(_JOBS.values())
    return [job.process.pid for job in jobs if job.process is not None and not job.done.is_set()]
