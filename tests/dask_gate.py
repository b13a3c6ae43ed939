"""Preloaded into the dask workers of test_search's lost-scheduler test (``dask worker --preload
tests/dask_gate.py``): the fits of the candidate whose hidden layers are
``RETROPROP_TEST_HELD`` (e.g. ``"32"``) wait until the file ``RETROPROP_TEST_GATE`` exists, so
they are certainly still running when the test kills the scheduler, however fast the machine.
They wait outside the worker's thread pool (:func:`distributed.secede`): the other fits run.

They wait two minutes at most, so that a mistake here cannot hang a worker for good. Not a test
module (no ``test_`` prefix): the workers load it by its path.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from typing import Any

from distributed import secede

from retroprop.apps import cluster

GATE = os.environ["RETROPROP_TEST_GATE"]
HELD = tuple(int(n) for n in os.environ["RETROPROP_TEST_HELD"].split())
_fit_fold = inspect.unwrap(cluster.fit_fold)  # dask may run a preload file more than once


@functools.wraps(_fit_fold)
def held_fit_fold(estimator: Any, params: Any, *args: Any) -> cluster.FoldResult:
    """:func:`retroprop.apps.cluster.fit_fold`, after the gate opens for a held candidate.

    The search submits ``fit_fold`` by reference (module and name), so the worker runs whatever
    its own ``retroprop.apps.cluster.fit_fold`` is: this function.
    """
    if tuple(params["hidden_layer_sizes"]) == HELD:
        # leave the worker's thread pool, so that the worker (and the scheduler) run the other
        # fits meanwhile, whatever order the scheduler gives them
        secede()
        deadline = time.monotonic() + 120
        while not os.path.exists(GATE) and time.monotonic() < deadline:
            time.sleep(0.05)
    return _fit_fold(estimator, params, *args)


cluster.fit_fold = held_fit_fold
