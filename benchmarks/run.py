"""retroprop against its peers, measured side by side in one run on this machine.

    python benchmarks/run.py              # everything (about 10 minutes on 2 cores)
    python benchmarks/run.py --quick      # fewer repetitions and smaller scaling sweeps
    python benchmarks/run.py --only w1    # one workload: w1, w2, w3, scaling, memory, compile

Peers are detected, or installed when missing: FANN (``apt-get install -y libfann-dev``, then
a small C harness, ``benchmarks/fann_w1.c``, compiled with gcc), scikit-learn (a dependency of
retroprop) and PyTorch CPU (``pip install torch==2.13.0``; never a dependency of retroprop).
A peer that cannot be had is reported as missing and its cells stay empty.

Workloads (issue 3):

- W1 online: digits scaled to [0, 1], 1,437 training and 360 test samples; sigmoid, squared
  error, plain SGD, batch size 1, η = 0.3, 30 epochs; 64-10-5-10 and 64-64-10; float64 and
  float32. Seconds per epoch (median, min–max over the 30 epochs) and test accuracy.
- W2 mini-batch: 60,000 × 784 float32 synthetic MNIST-shaped data, 10 classes, 784-256-128-10
  ReLU + softmax cross-entropy, batch 128, plain SGD. Seconds per epoch and the fraction of
  the float32 GEMM peak this machine reaches (measured here).
- W3 inference: predictions per second of the W2 network on 60,000 samples.
- Scaling: online samples per second against hidden width (8 … 1024) and against the number
  of samples (1k … 1M).
- Memory: peak resident memory of a W2 training run (in a fresh process).
- Compile: the one-off numba compile time of a new architecture (fresh caches, new process).

Timings are medians with (min–max); ratios compare medians measured in this run. Two-thread
BLAS suffers badly when another process holds a core: check ``uptime`` first, and read the
one-thread rows beside the default-thread ones. Results go to ``benchmarks/results.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))  # run from a clone without installing, too

import retroprop as rp  # noqa: E402

Row = dict[str, Any]


# -- helpers -------------------------------------------------------------------------------
def stats(seconds: Sequence[float]) -> dict[str, float]:
    a = np.asarray(seconds, dtype=float)
    return {
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": len(a),
    }


def fmt_time(s: dict[str, float] | None) -> str:
    if not s:
        return "—"

    def one(x: float) -> str:
        return f"{x * 1e3:.3g} ms" if x < 1 else f"{x:.3g} s"

    return f"{one(s['median'])} ({one(s['min'])}–{one(s['max'])})"


def ratio(other: dict[str, float] | None, ours: dict[str, float] | None) -> str:
    if not other or not ours:
        return "—"
    return f"{other['median'] / ours['median']:.2f}×"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def thread_limit(n: int | None) -> Any:
    """threadpoolctl's limit on the BLAS threads (a no-op for n = None)."""
    from contextlib import nullcontext

    if n is None:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n)


# -- peers ---------------------------------------------------------------------------------
def ensure_fann() -> Path | None:
    """Compile the FANN harness (installing libfann-dev first if needed); its folder or None."""
    if not Path("/usr/include/doublefann.h").exists() and shutil.which("apt-get"):
        say("FANN: apt-get install -y libfann-dev")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "libfann-dev"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
    if not Path("/usr/include/doublefann.h").exists() or not shutil.which("gcc"):
        say("FANN: not available (no libfann-dev or no gcc): skipped")
        return None
    out = Path(tempfile.mkdtemp(prefix="retroprop-fann-"))
    for suffix, define, lib in (("d", ["-DUSE_DOUBLE"], "-ldoublefann"), ("f", [], "-lfloatfann")):
        cmd = [
            "gcc",
            "-O2",
            *define,
            "-o",
            str(out / f"fann_w1_{suffix}"),
            str(HERE / "fann_w1.c"),
            lib,
            "-lm",
        ]
        subprocess.run(cmd, check=True)
    return out


def ensure_torch() -> Any:
    try:
        import torch
    except ImportError:
        say("PyTorch: pip install torch==2.13.0")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "torch==2.13.0"], check=False)
        try:
            import torch
        except ImportError:
            say("PyTorch: not available: skipped")
            return None
    return torch


# -- data ----------------------------------------------------------------------------------
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    d = rp.datasets.load_digits()
    Xtr, Xte, Ytr, Yte = train_test_split(
        d.X, d.y, test_size=360, random_state=0, stratify=d.labels
    )
    return Xtr, Xte, Ytr, Yte


def mnist_like(n: int = 60_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic MNIST-shaped data: 784 features in [0, 1], 10 learnable classes."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centers = rng.random((10, 784), dtype=np.float32)
    X = rng.random((n, 784), dtype=np.float32)
    X *= 0.5
    for s in range(0, n, 4096):  # in blocks: no temporary as large as X
        X[s : s + 4096] += 0.5 * centers[labels[s : s + 4096]]
    return X, np.eye(10, dtype=np.float32)[labels]


def write_fann_data(path: Path, X: np.ndarray, Y: np.ndarray) -> None:
    with path.open("w") as f:
        f.write(f"{len(X)} {X.shape[1]} {Y.shape[1]}\n")
        for x, y in zip(X, Y, strict=True):
            f.write(" ".join(f"{v:.9g}" for v in x) + "\n" + " ".join(f"{v:g}" for v in y) + "\n")


# -- W1 ------------------------------------------------------------------------------------
def w1_retroprop(hidden: Sequence[int], dtype: type, epochs: int, engine: str = "auto") -> Row:
    Xtr, Xte, Ytr, Yte = digits()
    net = rp.Network.create([64, *hidden, 10], seed=0, dtype=dtype)
    warm = "numba" if engine == "auto" else engine  # compile (or load) outside the timing
    rp.fit(net.copy(), Xtr, Ytr, learning_rate=0.3, epochs=1, seed=0, engine=warm)
    times: list[float] = []
    last = [0.0]

    def lap(epoch: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    last[0] = time.perf_counter()
    rp.fit(net, Xtr, Ytr, learning_rate=0.3, epochs=epochs, seed=0, engine=engine, callbacks=[lap])
    acc = float(np.mean(net.predict(Xte).argmax(1) == Yte.argmax(1)))
    return {"epoch": stats(times), "accuracy": acc}


def w1_fann(fann: Path | None, hidden: Sequence[int], dtype: type, epochs: int) -> Row | None:
    if fann is None:
        return None
    Xtr, Xte, Ytr, Yte = digits()
    tmp = Path(tempfile.mkdtemp(prefix="retroprop-w1-"))
    write_fann_data(tmp / "train.data", Xtr, Ytr)
    write_fann_data(tmp / "test.data", Xte, Yte)
    exe = fann / ("fann_w1_d" if dtype == np.float64 else "fann_w1_f")
    cmd = [
        str(exe),
        str(tmp / "train.data"),
        str(tmp / "test.data"),
        str(epochs),
        "0",
        *map(str, hidden),
    ]
    out = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    return {"epoch": stats(out["epoch_seconds"]), "accuracy": out["accuracy"]}


def w1_sklearn(hidden: Sequence[int], dtype: type, epochs: int) -> Row:
    import warnings

    from sklearn.neural_network import MLPClassifier

    Xtr, Xte, Ytr, Yte = digits()
    ytr = Ytr.argmax(1)
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation="logistic",
        solver="sgd",
        batch_size=1,
        momentum=0.0,
        learning_rate_init=0.3,
        alpha=0.0,
        random_state=0,
    )
    X = Xtr.astype(dtype)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            t0 = time.perf_counter()
            clf.partial_fit(X, ytr, classes=np.arange(10))
            times.append(time.perf_counter() - t0)
    acc = float(np.mean(clf.predict(Xte.astype(dtype)) == Yte.argmax(1)))
    return {"epoch": stats(times), "accuracy": acc}


def w1_torch(torch: Any, hidden: Sequence[int], dtype: type, epochs: int) -> Row | None:
    if torch is None:
        return None
    Xtr, Xte, Ytr, Yte = digits()
    tdt = torch.float64 if dtype == np.float64 else torch.float32
    torch.manual_seed(0)
    sizes = [64, *hidden, 10]
    layers: list[Any] = []
    for n_in, n_out in itertools.pairwise(sizes):
        lin = torch.nn.Linear(n_in, n_out).to(tdt)
        torch.nn.init.uniform_(lin.weight, -0.5, 0.5)
        torch.nn.init.uniform_(lin.bias, -0.5, 0.5)
        layers += [lin, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    X, Y = torch.tensor(Xtr, dtype=tdt), torch.tensor(Ytr, dtype=tdt)
    times = []
    for _ in range(epochs):
        order = torch.randperm(len(X))
        t0 = time.perf_counter()
        for i in order:
            opt.zero_grad()
            loss = 0.5 * ((model(X[i]) - Y[i]) ** 2).sum()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    with torch.no_grad():
        pred = model(torch.tensor(Xte, dtype=tdt)).argmax(1).numpy()
    return {"epoch": stats(times), "accuracy": float(np.mean(pred == Yte.argmax(1)))}


def run_w1(args: argparse.Namespace, fann: Path | None, torch: Any) -> list[Row]:
    rows = []
    for hidden in ([10, 5], [64]):
        for dtype in (np.float64, np.float32):
            name = f"64-{'-'.join(map(str, hidden))}-10 {np.dtype(dtype).name}"
            say(f"W1 {name}")
            ours = w1_retroprop(hidden, dtype, args.epochs)
            numpy_ref = w1_retroprop(hidden, dtype, 3, engine="numpy")
            fann_row = w1_fann(fann, hidden, dtype, args.epochs)
            sk = w1_sklearn(hidden, dtype, args.epochs)  # ~0.12 s per epoch
            th = w1_torch(torch, hidden, dtype, args.epochs)  # ~0.4 s per epoch
            rows.append(
                {
                    "case": name,
                    "retroprop": ours,
                    "retroprop_numpy": numpy_ref,
                    "fann": fann_row,
                    "sklearn": sk,
                    "torch": th,
                }
            )
    return rows


# -- W2 and W3 -----------------------------------------------------------------------------
W2_SIZES = [784, 256, 128, 10]
W2_ETA = 0.05


def w2_flops(n: int, with_eval: bool) -> float:
    """Multiply-adds × 2 of one epoch: forward, weight gradients, deltas below the output."""
    pairs = list(itertools.pairwise(W2_SIZES))
    macs = sum(a * b for a, b in pairs)
    total = 2 * macs + sum(a * b for a, b in pairs[1:])
    if with_eval:
        total += macs  # fit's end-of-epoch evaluation of the training set
    return 2.0 * n * total


def w2_network() -> rp.Network:
    return rp.Network.create(
        W2_SIZES,
        activation="relu",
        output_activation="softmax",
        loss="categorical_cross_entropy",
        init="he",
        seed=0,
        dtype=np.float32,
    )


def w2_retroprop(X: np.ndarray, Y: np.ndarray, epochs: int) -> Row:
    """fit() per epoch (with its full training-set evaluation) and the training pass alone."""
    from retroprop import _fast

    net = w2_network()
    times: list[float] = []
    last = [0.0]

    def lap(epoch: int, logs: dict[str, float]) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    last[0] = time.perf_counter()
    h = rp.fit(
        net, X, Y, learning_rate=W2_ETA, batch_size=128, epochs=epochs, seed=0, callbacks=[lap]
    )
    trainer = _fast.make_trainer(net, rp.SGD(W2_ETA), X, Y, 128, 0.0)
    rng = np.random.default_rng(0)
    passes = []
    for _ in range(epochs):
        index = rng.permutation(len(X))
        t0 = time.perf_counter()
        trainer.run_epoch(index)
        passes.append(time.perf_counter() - t0)
    return {
        "fit_epoch": stats(times),
        "epoch": stats(passes),
        "loss": h["loss"][-1],
        "accuracy": h["accuracy"][-1],
    }


def w2_sklearn(X: np.ndarray, Y: np.ndarray, epochs: int) -> Row:
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(256, 128),
        solver="sgd",
        batch_size=128,
        momentum=0.0,
        learning_rate_init=W2_ETA,
        alpha=0.0,
        random_state=0,
    )
    y = Y.argmax(1)
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(epochs):
            t0 = time.perf_counter()
            clf.partial_fit(X, y, classes=np.arange(10))
            times.append(time.perf_counter() - t0)
    return {"epoch": stats(times), "model": clf}


def w2_torch(torch: Any, X: np.ndarray, Y: np.ndarray, epochs: int) -> Row | None:
    if torch is None:
        return None
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 128),
        torch.nn.ReLU(),
        torch.nn.Linear(128, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=W2_ETA)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(Y.argmax(1))
    lossf = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(epochs):
        order = torch.randperm(len(Xt))
        t0 = time.perf_counter()
        for s in range(0, len(Xt), 128):
            b = order[s : s + 128]
            opt.zero_grad()
            lossf(model(Xt[b]), yt[b]).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return {"epoch": stats(times), "model": model}


def gemm_peak(threads: int | None, repeats: int) -> float:
    """float32 GEMM GFLOP/s of NumPy's BLAS on 2048 × 2048 matrices (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    A = rng.random((2048, 2048), dtype=np.float32)
    B = rng.random((2048, 2048), dtype=np.float32)
    C = np.empty_like(A)
    best = np.inf
    with thread_limit(threads):
        np.matmul(A, B, out=C)
        for _ in range(repeats):
            t0 = time.perf_counter()
            np.matmul(A, B, out=C)
            best = min(best, time.perf_counter() - t0)
    return 2 * 2048**3 / best / 1e9


def run_w2_w3(
    args: argparse.Namespace, torch: Any
) -> tuple[list[Row], list[Row], dict[str, float]]:
    from retroprop import _fast

    X, Y = mnist_like()
    epochs = 2 if args.quick else 3
    peaks = {}
    w2_rows, w3_rows = [], []
    for threads in (None, 1):
        label = "default threads" if threads is None else "1 thread"
        peaks[label] = gemm_peak(threads, 5)
        say(f"W2 {label}: GEMM peak {peaks[label]:.0f} GFLOP/s")
        with thread_limit(threads):
            if torch is not None:
                torch.set_num_threads(threads or os.cpu_count() or 1)
            ours = w2_retroprop(X, Y, epochs)
            sk = w2_sklearn(X, Y, epochs)
            th = w2_torch(torch, X, Y, epochs)
            # W3: predictions per second on the 60,000 samples
            net = w2_network()
            clf = sk["model"]
            pred: dict[str, Any] = {
                "retroprop": lambda net=net: _fast.predict(net, X),
                "retroprop Network.predict": lambda net=net: net.predict(X),
                "sklearn": lambda clf=clf: clf.predict_proba(X),
            }
            if th is not None:

                def torch_predict(model: Any = th["model"]) -> Any:
                    with torch.inference_mode():
                        return torch.softmax(model(torch.from_numpy(X)), dim=1)

                pred["torch"] = torch_predict
            w3 = {name: stats(repeat(fn, 3 if args.quick else 5)) for name, fn in pred.items()}
        flops = w2_flops(len(X), with_eval=False)
        for row in (ours, sk, th):
            if row is not None:
                row.pop("model", None)
                row["peak_fraction"] = flops / row["epoch"]["median"] / 1e9 / peaks[label]
        ours["fit_peak_fraction"] = (
            w2_flops(len(X), with_eval=True) / ours["fit_epoch"]["median"] / 1e9 / peaks[label]
        )
        w2_rows.append({"threads": label, "retroprop": ours, "sklearn": sk, "torch": th})
        w3_rows.append({"threads": label, **w3})
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
    return w2_rows, w3_rows, peaks


def repeat(fn: Callable[[], Any], n: int) -> list[float]:
    fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


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
import run
import retroprop as rp

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

peak = [0.0]
def watch():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)

X, Y = run.mnist_like()
data_mb = (X.nbytes + Y.nbytes) / 2**20
rp.fit(run.w2_network(), X[:2048], Y[:2048], learning_rate=run.W2_ETA, batch_size=128,
       epochs=1, seed=0)  # compiles (or loads) the element-wise kernels
base = rss()
threading.Thread(target=watch, daemon=True).start()
rp.fit(run.w2_network(), X, Y, learning_rate=run.W2_ETA, batch_size=128, epochs=1, seed=0)
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
import run
t0 = time.perf_counter()
import retroprop as rp
Xtr, Xte, Ytr, Yte = run.digits()
t1 = time.perf_counter()
rp.fit(rp.Network.create([64, 10, 5, 10], seed=0), Xtr, Ytr, learning_rate=0.3, epochs=1,
       engine="numba")
t2 = time.perf_counter()
rp.fit(rp.Network.create([64, 10, 5, 10], seed=0), Xtr, Ytr, learning_rate=0.3, epochs=1,
       engine="numba", batch_size=8)
t3 = time.perf_counter()
print(t2 - t1, t3 - t2)
"""


def run_compile() -> Row:
    """First-call compile times with empty caches, then with the caches warm."""
    code = _COMPILE_CHILD.format(src=str(HERE.parent / "src"), here=str(HERE))
    result = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "RETROPROP_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            out = subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            )
            online, generic = map(float, out.stdout.split())
            result[label] = {"online_generated": online, "minibatch_generic": generic}
    return result


# -- report --------------------------------------------------------------------------------
def report(results: dict[str, Any]) -> str:
    lines = [
        f"## retroprop benchmarks ({results['machine']['cpu']}, "
        f"load {results['machine']['load_before']})",
        "",
    ]
    if "w1" in results:
        lines += [
            f"### W1 online (per epoch of 1,437 samples; test accuracy after "
            f"{results['w1_epochs']} epochs)",
            "",
            "| case | retroprop | FANN | scikit-learn | PyTorch | NumPy ref. | vs FANN | "
            "vs FANN (min) | vs sklearn | vs PyTorch | accuracy r/F/s/P |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in results["w1"]:
            ours = r["retroprop"]["epoch"]
            f = (r["fann"] or {}).get("epoch")
            s, t = r["sklearn"]["epoch"], (r["torch"] or {}).get("epoch")
            fmin = f"{f['min'] / ours['min']:.2f}×" if f else "—"
            acc = "/".join(
                f"{x['accuracy']:.3f}" if x else "—"
                for x in (r["retroprop"], r["fann"], r["sklearn"], r["torch"])
            )
            lines.append(
                f"| {r['case']} | {fmt_time(ours)} | {fmt_time(f)} | {fmt_time(s)} | "
                f"{fmt_time(t)} | {fmt_time(r['retroprop_numpy']['epoch'])} | "
                f"{ratio(f, ours)} | {fmin} | {ratio(s, ours)} | {ratio(t, ours)} | "
                f"{acc} |"
            )
        lines.append("")
    if "w2" in results:
        lines += [
            "### W2 mini-batch (784-256-128-10 float32, batch 128, 60,000 samples; per epoch)",
            "",
            f"GEMM peak float32: {results['gemm_peak']}",
            "",
            "| threads | retroprop training pass | retroprop fit() incl. full-set logs | "
            "scikit-learn | PyTorch | vs PyTorch | vs sklearn | % of peak r/s/P |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in results["w2"]:
            ours, sk, th = r["retroprop"], r["sklearn"], r["torch"]
            pk = "/".join(f"{100 * x['peak_fraction']:.0f}%" if x else "—" for x in (ours, sk, th))
            lines.append(
                f"| {r['threads']} | {fmt_time(ours['epoch'])} | "
                f"{fmt_time(ours['fit_epoch'])} | {fmt_time(sk['epoch'])} | "
                f"{fmt_time((th or {}).get('epoch'))} | "
                f"{ratio((th or {}).get('epoch'), ours['epoch'])} | "
                f"{ratio(sk['epoch'], ours['epoch'])} | {pk} |"
            )
        lines.append("")
    if "w3" in results:
        lines += [
            "### W3 inference (W2 network, 60,000 samples)",
            "",
            "| threads | engine | time | predictions/s | vs PyTorch |",
            "|---|---|---|---|---|",
        ]
        for r in results["w3"]:
            for name, s in r.items():
                if name == "threads":
                    continue
                lines.append(
                    f"| {r['threads']} | {name} | {fmt_time(s)} | "
                    f"{60_000 / s['median']:,.0f} | {ratio(r.get('torch'), s)} |"
                )
        lines.append("")
    if "memory" in results:
        m = results["memory"]
        lines += [
            f"### Memory: W2 training peak RSS {m['peak_rss_mb']:.0f} MB = training data "
            f"{m['data_mb']:.0f} MB + {m['over_data_mb']:.0f} MB (interpreter, NumPy, "
            f"numba and BLAS included; RSS before fit {m['rss_before_fit_mb']:.0f} MB)",
            "",
        ]
    if "scaling" in results:
        sc = results["scaling"]
        lines += [
            "### Scaling (online SGD, samples/s)",
            "",
            "| 64-H-10, H = | " + " | ".join(str(r["hidden"]) for r in sc["by_width"]) + " |",
            "|---" * (len(sc["by_width"]) + 1) + "|",
            "| samples/s | "
            + " | ".join(f"{r['samples_per_second']:,.0f}" for r in sc["by_width"])
            + " |",
            "",
            "| 64-10-5-10, n = | "
            + " | ".join(f"{r['samples']:,}" for r in sc["by_samples"])
            + " |",
            "|---" * (len(sc["by_samples"]) + 1) + "|",
            "| samples/s | "
            + " | ".join(f"{r['samples_per_second']:,.0f}" for r in sc["by_samples"])
            + " |",
            "",
        ]
    if "compile" in results:
        c = results["compile"]
        lines += [
            f"### Compile (first call, new process): cold caches "
            f"{c['cold']['online_generated']:.1f} s (online, generated kernel) + "
            f"{c['cold']['minibatch_generic']:.1f} s (generic kernel); warm "
            f"{c['warm']['online_generated']:.2f} s + {c['warm']['minibatch_generic']:.2f} s",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller sweeps")
    parser.add_argument(
        "--only",
        nargs="*",
        default=None,
        choices=["w1", "w2", "w3", "scaling", "memory", "compile"],
    )
    parser.add_argument("--epochs", type=int, default=30, help="W1 epochs (default 30)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    only = set(args.only or ["w1", "w2", "w3", "scaling", "memory", "compile"])
    import threadpoolctl

    results: dict[str, Any] = {
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
        }
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
        results["w1_epochs"] = args.epochs
    if only & {"w2", "w3"}:
        w2, w3, peaks = run_w2_w3(args, torch)
        results["w2"], results["w3"] = w2, w3
        results["gemm_peak"] = ", ".join(f"{v:.0f} GFLOP/s ({k})" for k, v in peaks.items())
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
