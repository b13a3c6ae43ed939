"""Compile generated kernels into numba's cache, in a process of its own (run as a script).

:mod:`.background` starts ``python compile_worker.py`` and writes to its standard input one
JSON object: the module name, the path of the generated source, and the calls to compile, each
a function name and its arguments' types (:func:`numba_type` reads them; no pickle). The
worker imports the module from that path under that name, exactly as the training process
does, so numba files the machine code where that process will look for it, compiles each
function for its signature (``Dispatcher.compile``, which first loads from the cache what is
there already and saves what it compiles), and exits: 0 when everything compiled. Its standard
error goes to ``<module>.log`` beside the source (appended): a line per function, "compiled" or
"found in the cache", or the traceback of what went wrong.

One worker at a time per generated module: an exclusive lock on ``<module>.lock`` beside the
source, so concurrent runs that need the same kernel compile it once (the later workers find it
cached). numba writes its cache files atomically (a temporary file, then a rename), so a worker
killed at any point leaves at worst an index entry without data, which numba treats as not
cached.

Imports only the standard library and numba (not retroprop), so that it runs whatever the
training process's ``sys.path`` was.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any


def _exclusive(lock_path: Path) -> Any:
    """Open and lock ``lock_path`` for this process (blocking); no lock where fcntl is missing."""
    handle = open(lock_path, "a")  # held until the process exits
    try:
        import fcntl
    except ImportError:  # Windows: concurrent workers just compile twice
        return handle
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def compile_all(module_name: str, path: str, calls: list[tuple[str, Any]]) -> None:
    """Import the generated module at ``path`` and compile each (function, signature)."""
    source = Path(path)
    lock = _exclusive(source.with_suffix(".lock"))
    spec = importlib.util.spec_from_file_location(module_name, source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    for name, signature in calls:
        dispatcher = getattr(module, name)
        start = time.perf_counter()
        dispatcher.compile(signature)
        seconds = time.perf_counter() - start
        done = "compiled" if sum(dispatcher.stats.cache_misses.values()) else "found in the cache"
        print(f"{module_name}.{name}: {done} ({seconds:.1f} s)", file=sys.stderr)
    lock.close()


def numba_type(spec: list[Any]) -> Any:
    """The numba type an argument description of :func:`.background.describe` stands for."""
    import numpy as np
    from numba import types
    from numba.np.numpy_support import from_dtype

    if spec[0] == "bool":
        return types.boolean
    if spec[0] == "scalar":  # int64, float32, float64
        return from_dtype(np.dtype(spec[1]))
    _, dtype, ndim, layout, readonly, aligned = spec
    return types.Array(from_dtype(np.dtype(dtype)), ndim, layout, readonly, aligned=aligned)


if __name__ == "__main__":
    request = json.load(sys.stdin)
    calls = [(name, tuple(map(numba_type, specs))) for name, specs in request["calls"]]
    compile_all(request["module"], request["path"], calls)
