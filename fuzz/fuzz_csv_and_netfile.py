"""Coverage-guided fuzzing of the CSV reader and the network-file loader with atheris.

Not run in CI. The first input byte picks the target:

- CSV: the rest of the bytes is a file for :func:`retroprop.read_csv`; the only acceptable
  outcomes are a :class:`~retroprop.Table` or a :class:`~retroprop.DataError`. A table then
  goes through :meth:`Preprocessor.fit` / ``transform`` with the last column as the target
  (DataError allowed), whose inputs must be finite and of the right shape.
- network file: the rest is JSON text for :func:`retroprop.files.network_file.loads_network`; the
only
  acceptable outcomes are a :class:`~retroprop.Network` or a
  :class:`~retroprop.NetworkFileError`.

Usage (``pip install atheris``)::

    python fuzz/fuzz_csv_and_netfile.py -max_total_time=120 -rss_limit_mb=2048 -dict=fuzz/csv.dict
"""

from __future__ import annotations

import collections
import sys
import tempfile
import time
import warnings
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["retroprop", "csv", "json"]):
    import numpy as np

    from retroprop.data.preprocessing import Preprocessor
    from retroprop.data.tabular import DataError, DataWarning, read_csv
    from retroprop.files.network_file import NetworkFileError, loads_network

STATS: collections.Counter[str] = collections.Counter()
START = time.time()
FOLDER = Path(tempfile.mkdtemp(prefix="retroprop-fuzz-"))
SEED_NETWORK = b"""{"format": "retroprop.network", "loss": "squared_error", "layers": [
 {"activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]], "biases": [0.35, 0.35]},
 {"activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]], "biases": [0.60, 0.60]}]}"""


def fuzz_csv(data: bytes) -> None:
    path = FOLDER / "fuzz.csv"
    path.write_bytes(data)
    try:
        table = read_csv(path)
    except DataError:
        STATS["csv DataError"] += 1
        return
    STATS["csv Table"] += 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        for missing in ("error", "drop", "mean"):
            try:
                pre, rows = Preprocessor.fit(table, table.names[-1], missing=missing)  # type: ignore[arg-type]
            except DataError:
                continue
            X = pre.transform(table, rows, missing="mean" if missing == "mean" else "error")
            assert X.shape == (len(rows), pre.n_inputs) and np.all(np.isfinite(X))
            STATS["csv preprocessed"] += 1


def fuzz_netfile(data: bytes) -> None:
    try:
        net = loads_network(data, "fuzz.json")
    except NetworkFileError:
        STATS["network NetworkFileError"] += 1
        return
    STATS["network loaded"] += 1
    out = net.predict(np.zeros((1, net.sizes[0]), net.dtype))
    assert out.shape == (1, net.sizes[-1])


def check(data: bytes) -> None:
    if not data:
        return
    STATS["inputs"] += 1
    if STATS["inputs"] % 5_000 == 0:
        report()
    if data[0] % 2:
        fuzz_netfile(data[1:] if data[0] % 4 == 1 else SEED_NETWORK[: data[0]] + data[1:])
    else:
        fuzz_csv(data[1:])


def report() -> None:
    seconds = time.time() - START
    print(f"\nfuzz_csv_and_netfile: {STATS['inputs']} inputs in {seconds:.0f} s: "
          f"{dict(STATS)}", file=sys.stderr)  # fmt: skip


if __name__ == "__main__":
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
