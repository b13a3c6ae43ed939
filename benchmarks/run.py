"""retroprop against its peers, measured side by side in one run on this machine.

    python benchmarks/run.py              # everything (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick      # fewer rounds and epochs, smaller scaling sweeps
    python benchmarks/run.py --only w1    # one workload: w1 … w5, scaling, memory, compile
    python benchmarks/run.py --only w5 --w5 epochs --w5-data digits --quick   # a part of W5
    python benchmarks/run.py --rounds 7   # interleaved rounds per comparison (default 5)

Peers are detected, or installed when missing: FANN (``apt-get install -y libfann-dev``, then
a small C harness, ``benchmarks/fann_w1.c``, compiled with gcc), scikit-learn (a dependency of
retroprop) and PyTorch CPU (``pip install torch==2.13.0``; never a dependency of retroprop).
A peer that cannot be had is reported as missing and its cells stay empty.

Workloads (issue 3):

- W1 online: digits scaled to [0, 1], 1,437 training and 360 test samples; sigmoid, squared
  error, plain SGD, batch size 1, η = 0.3, 30 epochs; 64-10-5-10 and 64-64-10; float64 and
  float32. Seconds per epoch (median, min–max over the epochs) and test accuracy. retroprop
  is timed three ways: ``fit(..., train_error="running")`` (the training error as a running
  mean over the epoch, as FANN's MSE: the same work per epoch as the peers), ``fit``'s
  default (which also evaluates the training set after each epoch) and ``MLPClassifier``.
- W2 mini-batch: 60,000 × 784 float32 synthetic MNIST-shaped data, 10 classes, 784-256-128-10
  ReLU + softmax cross-entropy, batch 128, plain SGD; retroprop's ``fit`` with running and
  with final training error. Seconds per epoch and the fraction of
  the float32 GEMM peak this machine reaches (measured here, best of NumPy and PyTorch).
- W3 inference: predictions per second of the W2 network on 60,000 samples.
- W4 full batch (issue 15): iRprop⁻ and Quickprop with FANN's settings against FANN's
  ``fann_train_epoch`` (ctypes on libdoublefann), same network, data and initial weights, on
  FANN's ``diabetes``, ``parity8``, ``two-spiral`` and generated thyroid-, gene- and
  mushroom-shaped sets (``_w4.py``). Seconds per epoch and test error.
- W5 the drop-in (issue 18): ``retroprop.MLPClassifier`` beside scikit-learn's, the same
  arguments and data: seconds per epoch for 'sgd', 'adam' and 'lbfgs', float32 and float64,
  batch sizes 1, 32, 128, 512 and "auto", on digits and on the MNIST-shaped set; ``partial_fit``
  per call; ``predict_proba`` and ``Network.predict`` of the W2 network (``_w5.py``).
  Two companions: ``w5_ranges.py`` merges several W5 results files into min–max ranges per
  cell, and ``w5_floor.py`` times the floor under the online cells (the bare optimizer update
  over the network's parameters) beside scikit-learn's step.
- Scaling: online samples per second against hidden width (8 … 1024) and against the number
  of samples (1k … 1M).
- Memory: peak resident memory of a W2 training run (in a fresh process).
- Compile: the waits of a first epoch in a new process, with fresh caches and then warm ones:
  the generic kernels (compiled once per machine), a new architecture (no wait: its kernel is
  compiled in the background, timed too).

The comparisons W1–W3 are interleaved (``_common.py`` says why): in each of ``--rounds``
rounds every contender runs its share of the epochs (or calls) on its one model, in an order
rotated each round. Timings are medians with (min–max) over all rounds; ratios compare the
medians, and beside them stands the median of the per-round ratios. Two-thread BLAS suffers
badly when another process holds a core: check ``uptime`` first, and read the one-thread rows
beside the default-thread ones. Results, every round's times included, go to
``benchmarks/results.json``.

The workloads live in ``_w1.py`` (W1) and ``_w2.py`` (W2, W3, GEMM peak), the shared timing
and data in ``_common.py``, the tables in ``_report.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import HERE, Row, digits, ensure_fann, ensure_torch, say
from _report import report
from _w1 import run_w1
from _w2 import run_w2_w3
from _w4 import run_w4
from _w5 import run_w5

import retroprop as rp


# -- scaling, memory, compile --------------------------------------------------------------
def run_scaling(args: argparse.Namespace) -> Row:
    """Online SGD samples per second: against hidden width, and against the data size."""
    Xtr, _, Ytr, _ = digits()
    widths = [8, 16, 32, 64, 128, 256, 512, 1024]
    by_width = []
    for h in widths:
        net = rp.Network.create([64, h, 10], seed=0)
        epochs = 3 if h <= 256 else 1
        rp.fit(net, Xtr, Ytr, learning_rate=0.3, epochs=1, seed=0, engine="numba")  # compile
        t0 = time.perf_counter()
        rp.fit(net, Xtr, Ytr, learning_rate=0.3, epochs=epochs, seed=0, engine="numba")
        seconds = (time.perf_counter() - t0) / epochs
        by_width.append({"hidden": h, "samples_per_second": len(Xtr) / seconds})
        say(f"scaling: width {h}: {len(Xtr) / seconds:,.0f} samples/s")
    sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
    rng = np.random.default_rng(0)
    by_n = []
    for n in sizes:
        pick = rng.integers(0, len(Xtr), n)
        X = np.clip(Xtr[pick] + rng.normal(0, 0.05, (n, 64)), 0, 1)
        Y = Ytr[pick]
        net = rp.Network.create([64, 10, 5, 10], seed=0)
        t0 = time.perf_counter()
        rp.fit(net, X, Y, learning_rate=0.3, epochs=1, seed=0, engine="numba")
        seconds = time.perf_counter() - t0
        by_n.append({"samples": n, "samples_per_second": n / seconds})
        say(f"scaling: {n:,} samples: {n / seconds:,.0f} samples/s")
    return {"by_width": by_width, "by_samples": by_n}


_MEMORY_CHILD = """
import resource, sys, threading, time
sys.path.insert(0, {src!r}); sys.path.insert(0, {here!r})
import _common as common
import retroprop as rp

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

peak = [0.0]
def watch():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)

X, Y = common.mnist_like()
data_mb = (X.nbytes + Y.nbytes) / 2**20
rp.fit(common.w2_network(), X[:2048], Y[:2048], learning_rate=common.W2_ETA, batch_size=128,
       epochs=1, seed=0)  # compiles (or loads) the element-wise kernels
base = rss()
threading.Thread(target=watch, daemon=True).start()
rp.fit(common.w2_network(), X, Y, learning_rate=common.W2_ETA, batch_size=128, epochs=1, seed=0)
time.sleep(0.01)
life = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(data_mb, base, peak[0], life)
"""


def run_memory() -> Row:
    """Peak RSS while fit() trains W2 for one epoch (sampled every 2 ms, fresh process)."""
    code = _MEMORY_CHILD.format(src=str(HERE.parent / "src"), here=str(HERE))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    data_mb, base_mb, peak_mb, life_mb = map(float, out.stdout.split())
    return {
        "data_mb": data_mb,
        "rss_before_fit_mb": base_mb,
        "peak_rss_mb": peak_mb,
        "over_data_mb": peak_mb - data_mb,
        "process_max_rss_mb": life_mb,
    }


_COMPILE_CHILD = """
import sys, time
sys.path.insert(0, {src!r}); sys.path.insert(0, {here!r})
import _common as common
from retroprop._fast import background
background.WAIT = False  # what users get
import retroprop as rp
Xtr, Xte, Ytr, Yte = common.digits()

def first_epoch(hidden, **settings):
    t = time.perf_counter()
    rp.fit(rp.Network.create([64, *hidden, 10], seed=0), Xtr, Ytr, learning_rate=0.3, epochs=1,
           engine="numba", **settings)
    return time.perf_counter() - t

online = first_epoch([10, 5])  # the generic kernels (once per machine), or their cache
t = time.perf_counter()
background.wait()
generated = time.perf_counter() - t  # the generated kernel, compiled by a worker meanwhile
minibatch = first_epoch([10, 5], batch_size=8)
new = first_epoch([{width}, 7])  # an architecture this cache has never seen
background.wait()
print(online, generated, minibatch, new)
"""


def run_compile() -> Row:
    """First-epoch waits in a new process with empty caches, then with the caches warm: the
    generic kernels (once per machine), the background compile of the generated kernel (no
    one waits for it), a mini-batch run, and a run of an architecture never seen before."""
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "RETROPROP_CACHE_DIR": cache}
        for width, label in ((11, "cold"), (12, "warm")):
            code = _COMPILE_CHILD.format(src=str(HERE.parent / "src"), here=str(HERE), width=width)
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            )
            online, generated, minibatch, new = map(float, out.stdout.split())
            result[label] = {
                "online_first_epoch": online,
                "generated_in_background": generated,
                "minibatch_first_epoch": minibatch,
                "new_architecture_first_epoch": new,
            }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and epochs, smaller sweeps"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["w1", "w2", "w3", "w4", "w5", "scaling", "memory", "compile"],
    )
    parser.add_argument(
        "--w5",
        nargs="*",
        choices=["epochs", "partial", "predict"],
        default=None,
        help="W5 parts (default all)",
    )
    parser.add_argument(
        "--w5-data",
        nargs="*",
        choices=["digits", "mnist"],
        default=None,
        help="W5 epoch table data sets (default both)",
    )
    parser.add_argument(
        "--w5-batches",
        nargs="*",
        choices=["1", "32", "128", "512", "auto"],
        default=None,
        help="W5 epoch table batch sizes (default all)",
    )
    parser.add_argument(
        "--w5-threads",
        type=int,
        default=None,
        help="BLAS threads for the W5 epoch table (default: the library's default)",
    )
    parser.add_argument("--epochs", type=int, default=30, help="W1 epochs (default 30)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="interleaved rounds per comparison (default 5, 3 with --quick)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 3 if args.quick else 5
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    only = set(args.only or ["w1", "w2", "w3", "w4", "w5", "scaling", "memory", "compile"])
    import threadpoolctl  # type: ignore[import-untyped]

    results: dict[str, Any] = {
        "rounds": args.rounds,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_before": os.getloadavg()[0],
            "python": platform.python_version(),
            "numpy": np.__version__,
            "blas": [
                (i["internal_api"], i["version"], i["num_threads"])
                for i in threadpoolctl.threadpool_info()
            ],
        },
    }
    try:
        with open("/proc/cpuinfo") as f:
            results["machine"]["cpu"] = next(
                line.split(":", 1)[1].strip() for line in f if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    torch = ensure_torch() if only & {"w1", "w2", "w3"} else None
    if torch is not None:
        results["machine"]["torch"] = torch.__version__
    if "w1" in only:
        results["w1"] = run_w1(args, ensure_fann(), torch)
    if only & {"w2", "w3"}:
        results["w2"], results["w3"] = run_w2_w3(args, torch)
    if "w4" in only:
        results["w4"] = run_w4(args)
    if "w5" in only:
        results["w5"] = run_w5(args)
    if "scaling" in only:
        results["scaling"] = run_scaling(args)
    if "memory" in only:
        results["memory"] = run_memory()
    if "compile" in only:
        results["compile"] = run_compile()
    results["machine"]["load_after"] = os.getloadavg()[0]
    args.out.write_text(json.dumps(results, indent=2))
    print(report(results))
    say(f"results written to {args.out}")


if __name__ == "__main__":
    main()
