"""Coverage-guided fuzzing of the model-file loader with atheris (not run in CI).

The only acceptable outcomes for any input are a loaded :class:`~retroprop.Model` or a
:class:`~retroprop.ModelFileError`; anything else (another exception, a hang, memory beyond
``-rss_limit_mb``) is a crash, and libFuzzer saves the input that caused it. A model that
loads must also save and load again to the same weights.

Two kinds of inputs, chosen by the first byte:

- raw bytes, read as a model file (zip parsing, truncation, garbage);
- structured: one of the seed files (models of every kind, and training checkpoints, which
  ``load_model`` also reads) with one member mutated by the fuzzer's bytes and the archive
  rebuilt with correct CRCs and, optionally, SHA-256 entries that match, so that mutations
  reach the checks behind the zip layer and the hashes (header fields, .npy headers, shapes,
  dtypes, values, preprocessing, optimizer state).

Messages of the form "damaged model file (KeyError: …)" come from the loader's last-resort
``except Exception``: they are acceptable outcomes but mean a check is missing, so they are
counted apart and printed.

Usage (``pip install atheris``)::

    python fuzz/fuzz_model_loader.py -max_total_time=300 -rss_limit_mb=2048 [corpus_dir]

Every 5000 inputs it prints the inputs tried and the outcomes by kind; libFuzzer's last line
(``#N DONE``) gives the total, and a crash stops the run with the input saved as
``crash-<sha1>``.
"""

from __future__ import annotations

import collections
import io
import re
import sys
import time
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

# Coverage feedback from retroprop and from the standard library's zip and JSON readers.
with atheris.instrument_imports(include=["retroprop", "zipfile", "json"]):
    import json
    import zipfile

    import numpy as np

    import retroprop as rp
    from helpers import rehashed, sample_network
    from retroprop.files.archive import write_archive
    from retroprop.files.checkpoint_file import Checkpoint, save_checkpoint
    from retroprop.files.loader import read_model_or_checkpoint
    from retroprop.files.model import Model
    from retroprop.files.model_file import ModelFileError, model_members
    from retroprop.train.loop import Callback, TrainState

STATS: collections.Counter[str] = collections.Counter()
UNCLASSIFIED: collections.Counter[str] = collections.Counter()
EXAMPLES: dict[str, str] = {}
# what the loaders' last-resort ``except Exception`` writes: "damaged … (KeyError: …)"
LAST_RESORT = re.compile(r"damaged (?:model file|checkpoint) \(([A-Z]\w*(?:Error|Exception)):")
START = time.time()


def _model(hidden: list[str], output: str, loss: str, dtype: str, task: str) -> Model:
    pre, net = sample_network(hidden, output, loss, dtype, task, ("no", "yes", 3), width=3)
    return Model(net, pre, training={"solver": "adam", "epochs": 5}, metrics={"loss": 0.5})


def _checkpoint(model: Model, optimizer: str) -> bytes:
    """A real checkpoint of a short run of ``model``'s network."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, model.network.sizes[0]))
    Y = np.eye(model.network.sizes[-1])[rng.integers(0, model.network.sizes[-1], 12)]

    class Keep(Callback):
        state: TrainState | None = None

        def on_epoch_state(self, epoch: int, state: Any) -> None:
            self.state = state()

    keep = Keep()
    rp.fit(model.network, X, Y, optimizer=optimizer, epochs=3, seed=0, callbacks=[keep],
           early_stopping=rp.EarlyStopping(patience=5), validation_fraction=0.25)  # fmt: skip
    assert keep.state is not None
    buf = io.BytesIO()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = save_checkpoint(Path(tmp) / "c.checkpoint", Checkpoint(model, keep.state, 3))
        buf.write(path.read_bytes())
    return buf.getvalue()


def _seeds() -> list[dict[str, bytes]]:
    """Member dictionaries of valid files: models of several kinds, and checkpoints."""
    configs = [
        (["sigmoid"], "softmax", "categorical_cross_entropy", "float64", "classification"),
        (["tanh", "relu"], "sigmoid", "binary_cross_entropy", "float32", "classification"),
        ([], "identity", "squared_error", "float64", "regression"),
        (["leaky_relu"], "identity", "absolute_error", "float32", "regression"),
    ]
    seeds = [model_members(_model(*c)) for c in configs]
    for c, opt in zip(configs[:2], ("adam", "irprop+"), strict=True):
        raw = _checkpoint(_model(*c), opt)
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            seeds.append({i.filename: z.read(i) for i in z.infolist()})
    return seeds


SEEDS = _seeds()


def _zip(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    write_archive(buf, parts)
    return buf.getvalue()


def _rehash(parts: dict[str, bytes]) -> dict[str, bytes]:
    """Make the SHA-256 entries of header.json / checkpoint.json match the members."""
    for head in ("header.json", "checkpoint.json"):
        if head not in parts:
            continue
        try:
            parts = rehashed(parts, head)
        except (ValueError, AttributeError, TypeError, RecursionError):
            pass  # the mutation broke the JSON: leave it broken
    return parts


def _mutate_json(text: bytes, fdp: atheris.FuzzedDataProvider) -> bytes:
    """Replace one JSON value (found by walking the document) with a fuzzed one."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    paths: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            paths.append((node, key))
            if isinstance(value, (dict, list)) and len(paths) < 5000:
                walk(value)

    if isinstance(doc, (dict, list)):
        walk(doc)
    if not paths:
        return text
    node, key = paths[fdp.ConsumeIntInRange(0, len(paths) - 1)]
    choice = fdp.ConsumeIntInRange(0, 9)
    values: list[Any] = [
        None, True, -1, 0, 2**64, 1e308, "", "x" * 5, [], {},
    ]  # fmt: skip
    if choice < 6:
        node[key] = values[fdp.ConsumeIntInRange(0, len(values) - 1)]
    elif choice < 8:
        node[key] = fdp.ConsumeIntInRange(-(2**31), 2**31)
    elif choice == 8:
        node[key] = fdp.ConsumeUnicodeNoSurrogates(20)
    elif isinstance(node, dict):
        del node[key]
    else:
        node.pop(key)
    return json.dumps(doc).encode()


def _structured(fdp: atheris.FuzzedDataProvider) -> bytes:
    parts = dict(SEEDS[fdp.ConsumeIntInRange(0, len(SEEDS) - 1)])
    names = sorted(parts)
    for _ in range(fdp.ConsumeIntInRange(1, 3)):
        name = names[fdp.ConsumeIntInRange(0, len(names) - 1)]
        how = fdp.ConsumeIntInRange(0, 5)
        raw = parts[name]
        if how == 0 and name.endswith(".json"):
            parts[name] = _mutate_json(raw, fdp)
        elif how == 1:  # overwrite bytes at an offset
            at = fdp.ConsumeIntInRange(0, max(len(raw) - 1, 0))
            patch = fdp.ConsumeBytes(fdp.ConsumeIntInRange(1, 16))
            parts[name] = raw[:at] + patch + raw[at + len(patch) :]
        elif how == 2:  # truncate
            parts[name] = raw[: fdp.ConsumeIntInRange(0, len(raw))]
        elif how == 3:  # delete or duplicate a member, or add an unexpected one
            if fdp.ConsumeBool():
                del parts[name]
                names.remove(name)
                if not names:
                    break
            else:
                parts[f"extra_{name}"] = raw
        elif how == 4 and name.endswith(".npy"):  # replace the array by a fuzzed one
            shape = tuple(fdp.ConsumeIntInRange(0, 4) for _ in range(fdp.ConsumeIntInRange(0, 2)))
            kinds = ["<f8", "<f4", ">f8", "<i8", "<f2", "|b1", "<c16", "|O"]
            dtype = kinds[fdp.ConsumeIntInRange(0, len(kinds) - 1)]
            if dtype == "|O":  # an object array: its data would be a pickle
                buf = io.BytesIO()
                header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
                np.lib.format.write_array_header_1_0(buf, header)
                parts[name] = buf.getvalue() + b"\x80\x04N."
            else:
                arr = np.frombuffer(
                    fdp.ConsumeBytes(int(np.prod(shape)) * np.dtype(dtype).itemsize).ljust(
                        int(np.prod(shape)) * np.dtype(dtype).itemsize, b"\0"
                    ),
                    dtype=dtype,
                ).reshape(shape)
                buf = io.BytesIO()
                np.save(buf, arr, allow_pickle=False)
                parts[name] = buf.getvalue()
        else:  # the fuzzer's own bytes as the member
            parts[name] = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 256))
    if fdp.ConsumeBool():
        parts = _rehash(parts)
    return _zip(parts)


def check(data: bytes) -> None:
    """Load ``data`` as a model file; anything but a Model or a ModelFileError raises."""
    fdp = atheris.FuzzedDataProvider(data)
    structured = fdp.ConsumeIntInRange(0, 3) != 0
    raw = _structured(fdp) if structured else fdp.ConsumeBytes(len(data))
    STATS["inputs"] += 1
    STATS["structured" if structured else "raw"] += 1
    if STATS["inputs"] % 5_000 == 0:
        report()
    try:
        model = read_model_or_checkpoint(io.BytesIO(raw), "fuzz.retroprop")
    except ModelFileError as exc:
        message = str(exc)
        STATS["ModelFileError"] += 1
        match = LAST_RESORT.search(message)
        if match:
            UNCLASSIFIED[match.group(1)] += 1
            EXAMPLES.setdefault(match.group(1), message[:300])
        return
    STATS["loaded"] += 1
    again = read_model_or_checkpoint(io.BytesIO(_zip(model_members(model))), "again.retroprop")
    if not np.array_equal(again.network.get_flat(), model.network.get_flat()):
        raise AssertionError("a loaded model does not survive saving and loading")
    out = model.network.predict(np.zeros((1, model.network.sizes[0]), model.network.dtype))
    assert out.shape == (1, model.network.sizes[-1])


def report() -> None:
    seconds = time.time() - START
    print(
        f"\nfuzz_model_loader: {STATS['inputs']} inputs in {seconds:.0f} s "
        f"({STATS['raw']} raw, {STATS['structured']} structured): {STATS['loaded']} loaded, "
        f"{STATS['ModelFileError']} ModelFileError; last-resort messages: "
        f"{dict(UNCLASSIFIED) or 'none'}",
        file=sys.stderr,
    )
    for kind, message in EXAMPLES.items():
        print(f"  e.g. {kind}: {message}", file=sys.stderr)


if __name__ == "__main__":
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
