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
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with atheris.instrument_imports(include=["retroprop", "csv", "json"]):
    import numpy as np

    from helpers import DESIGN_NETWORK, preprocessed
    from retroprop.data.tabular import DataError, read_csv
    from retroprop.files.network_file import NetworkFileError, loads_network

STATS: collections.Counter[str] = collections.Counter()
START = time.time()
FOLDER = Path(tempfile.mkdtemp(prefix="retroprop-fuzz-"))
SEED_NETWORK = DESIGN_NETWORK.read_bytes()


def fuzz_csv(data: bytes) -> None:
    path = FOLDER / "fuzz.csv"
    path.write_bytes(data)
    try:
        table = read_csv(path)
    except DataError:
        STATS["csv DataError"] += 1
        return
    STATS["csv Table"] += 1
    for _ in preprocessed(table):  # asserts finite inputs of the right shape
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
