"""The README's "Backprop or evolution?" figure: every solver on the bundled digits.

Run from the repository root:  python docs/make_comparison.py [BUDGET_SECONDS]
"""

from __future__ import annotations

import sys
from pathlib import Path

from sklearn.model_selection import train_test_split

import retroprop as rp
from retroprop.apps.compare import compare
from retroprop.apps.compare_view import format_table

HERE = Path(__file__).resolve().parent / "images"


def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    d = rp.datasets.load_digits()
    X, X_test, Y, Y_test = train_test_split(
        d.X, d.y, test_size=0.2, stratify=d.labels, random_state=0
    )
    result = compare(
        X, Y, X_test=X_test, Y_test=Y_test, hidden=(10, 5), budget_seconds=budget,
        target_accuracy=0.9, modes=("online", "minibatch", "batch"), seed=0,
    )  # fmt: skip
    print(format_table(result, "solvers"))
    print(format_table(result, "modes"))
    HERE.mkdir(parents=True, exist_ok=True)
    print("written", rp.plot_comparison(result, HERE / "compare_digits.png"))


if __name__ == "__main__":
    main()
