"""Cascade-correlation, retroprop against FANN (issue 15): neurons, accuracy and time.

    python benchmarks/cascade.py              # 5 seeds per data set
    python benchmarks/cascade.py --seeds 10

Both grow a network on FANN's own files (``tests/data/fann``: parity8, two-spiral) with the
same rule: sigmoid outputs, stop when no training output is off by 0.5 or more (FANN's
``FANN_STOPFUNC_BIT``), at most 40 (parity-8) or 60 (two-spirals) neurons, every other setting
FANN 2.2's default. FANN runs ``fann_cascadetrain_on_data`` through a small C harness
(``benchmarks/fann_cascade.c``, built with gcc against Debian's libfann-dev); retroprop runs
:func:`retroprop.cascade_fit`. Each seed gives both a run; the table shows the hidden neurons,
training and test accuracy and seconds of every run, and, for two-spirals, retroprop's test
accuracy with at most as many neurons as FANN used in the same seed ("same budget").
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import retroprop as rp

HERE = Path(__file__).parent
DATA = HERE.parent / "tests" / "data" / "fann"
SETS = {"parity8": 40, "two-spiral": 60}


def arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and outputs of a FANN data file."""
    table = rp.read_fann(path)
    X = np.column_stack([c.values for c in table.columns if c.name.startswith("x")])
    return X, np.column_stack([table.column(t).values for t in table.targets])


def accuracy(net: rp.CascadeNetwork, X: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean(np.all((net.predict(X) >= 0.5) == (Y >= 0.5), axis=1)))


def build_fann(folder: Path) -> Path | None:
    """The C harness, or None when there is no compiler or libfann."""
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None or not Path("/usr/include/doublefann.h").exists():
        return None
    binary = folder / "fann_cascade"
    built = subprocess.run(
        [gcc, "-O2", str(HERE / "fann_cascade.c"), "-o", str(binary), "-ldoublefann", "-lm"],
        capture_output=True,
    )
    return binary if built.returncode == 0 else None


def run_fann(binary: Path, name: str, max_neurons: int, seed: int) -> dict[str, float]:
    train, test = DATA / f"{name}.train", DATA / f"{name}.test"
    out = subprocess.run(
        [str(binary), str(train), str(test), str(max_neurons), str(seed)],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return {out[k]: float(out[k + 1]) for k in range(0, len(out), 2)}


def run_retroprop(name: str, max_neurons: int, seed: int) -> dict[str, float]:
    X, Y = arrays(DATA / f"{name}.train")
    Xt, Yt = arrays(DATA / f"{name}.test")
    start = time.perf_counter()
    result = rp.cascade_fit(X, Y, max_hidden=max_neurons, bit_fail_limit=0.5, seed=seed)
    seconds = time.perf_counter() - start
    net = result.network
    return {
        "hidden": net.n_hidden,
        "train": accuracy(net, X, Y),
        "test": accuracy(net, Xt, Yt),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        binary = build_fann(Path(folder))
        if binary is None:
            print("FANN: not available (gcc and libfann-dev are needed); retroprop only")
        for name, max_neurons in SETS.items():
            print(f"\n{name} (at most {max_neurons} neurons)")
            print("seed | FANN: hidden train test s | retroprop: hidden train test s | budget")
            rows = []
            for seed in range(1, args.seeds + 1):
                fann = run_fann(binary, name, max_neurons, seed) if binary else None
                ours = run_retroprop(name, max_neurons, seed)
                same = "–"
                if fann is not None and ours["hidden"] > fann["hidden"]:
                    same = f"{run_retroprop(name, int(fann['hidden']), seed)['test']:.3f}"
                elif fann is not None:
                    same = f"{ours['test']:.3f}"
                rows.append((fann, ours, same))
                f = (
                    "{hidden:.0f} {train:.3f} {test:.3f} {seconds:.2f}".format(**fann)
                    if fann
                    else "–"
                )
                r = "{hidden:.0f} {train:.3f} {test:.3f} {seconds:.2f}".format(**ours)
                print(f"{seed:4d} | {f} | {r} | {same}")
            summary(rows)


def summary(rows: list[tuple[dict[str, float] | None, dict[str, float], str]]) -> None:
    """Medians over the seeds."""
    for who, pick in (("FANN", 0), ("retroprop", 1)):
        runs = [r[pick] for r in rows if r[pick] is not None]
        if runs:
            med = {k: statistics.median(float(run[k]) for run in runs) for k in runs[0]}  # type: ignore[index]
            print(
                f"median {who}: {med['hidden']:.0f} hidden, train {med['train']:.3f}, "
                f"test {med['test']:.3f}, {med['seconds']:.2f} s"
            )
    budgets = [float(r[2]) for r in rows if r[2] != "–"]
    if budgets:
        print(
            f"median retroprop test accuracy within FANN's budget: {statistics.median(budgets):.3f}"
        )


if __name__ == "__main__":
    main()
