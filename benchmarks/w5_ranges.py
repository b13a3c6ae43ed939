"""W5 over several runs: each cell's ratio to scikit-learn as a range (min–max over the runs).

    python benchmarks/run.py --only w5 --rounds 3 --out /tmp/w5-1.json   # repeat, quiet machine
    python benchmarks/w5_ranges.py /tmp/w5-*.json

Prints, as Markdown, the epoch table (scikit-learn's epoch ÷ retroprop's, the ratio of the
medians of each run), the ``partial_fit`` and the prediction rows, and how many cells reach
issue 18's targets (batch 1: 50×; batch ≥ 32: 1.5×; predictions: 1.2×) in every run.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

TARGET_ONLINE, TARGET_BATCH, TARGET_PREDICT = 50.0, 1.5, 1.2


def _ratio(vs: dict[str, Any] | None) -> float | None:
    return None if not vs else float(vs["of_medians"])


def _span(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.2f}×" if round(lo, 2) == round(hi, 2) else f"{lo:.2f}–{hi:.2f}×"


def epoch_table(runs: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, bool]]]:
    """The epoch table's lines, and per cell (name, every run at its target)."""
    cells: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for run in runs:
        for r in run.get("w5", {}).get("epochs", []):
            ratio = _ratio(r["vs"])
            if ratio is not None:
                cells[(r["data"], r["solver"], r["dtype"])][str(r["batch_size"])].append(ratio)
    batches = ["1", "32", "128", "512", "auto"]
    head = " | ".join(f"batch {b}" for b in batches)
    lines = [
        f"| scikit-learn's epoch ÷ retroprop's | {head} |",
        "|---|" + "---|" * len(batches),
    ]
    verdicts = []
    for (data, solver, dtype), by_batch in cells.items():
        row = []
        for b in batches:
            got = by_batch.get(b)
            row.append(_span(got) if got else "—")
            if got:
                target = TARGET_ONLINE if b == "1" else TARGET_BATCH
                verdicts.append((f"{data} {solver} {dtype} batch {b}", min(got) >= target))
        lines.append(f"| {data}, {solver}, {dtype} | " + " | ".join(row) + " |")
    return lines, verdicts


def other_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[tuple[str, bool]]]:
    """``partial_fit`` and predictions: ranges of their ratios."""
    partial: dict[str, list[float]] = defaultdict(list)
    predict: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        w5 = run.get("w5", {})
        for solver, r in w5.get("partial_fit", {}).items():
            if _ratio(r["vs"]) is not None:
                partial[solver].append(_ratio(r["vs"]))  # type: ignore[arg-type]
        for r in w5.get("predict", []):
            for who in ("retroprop", "network"):
                if _ratio(r["vs"].get(who)) is not None:
                    predict[f"{r['threads']}, {who}"].append(_ratio(r["vs"][who]))  # type: ignore[arg-type]
    lines = ["| other calls ÷ scikit-learn's | range |", "|---|---|"]
    lines += [f"| partial_fit, {solver} | {_span(v)} |" for solver, v in partial.items()]
    lines += [f"| predict, {key} | {_span(v)} |" for key, v in predict.items()]
    verdicts = [(f"predict {key}", min(v) >= TARGET_PREDICT) for key, v in predict.items()]
    return lines, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", type=Path, help="results files of run.py")
    args = parser.parse_args()
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in args.results]
    runs = [r for r in runs if "w5" in r]
    if not runs:
        parser.error("none of these files holds W5 results")
    epochs, v1 = epoch_table(runs)
    others, v2 = other_rows(runs)
    print(f"W5 over {len(runs)} runs (ratio of medians per run; min–max over the runs)\n")
    print("\n".join(epochs) + "\n")
    print("\n".join(others) + "\n")
    for label, verdicts in (("epoch cells", v1), ("predictions", v2)):
        missed = [name for name, ok in verdicts if not ok]
        print(f"{label}: {len(verdicts) - len(missed)} of {len(verdicts)} at target in every run"
              + (f"; not: {', '.join(missed)}" if missed else ""))  # fmt: skip


if __name__ == "__main__":
    main()
