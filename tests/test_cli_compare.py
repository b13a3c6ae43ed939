"""`retroprop compare` run for real in a subprocess on a CSV written by the test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from conftest import RunCli


def write_csv(path: Path) -> Path:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    label = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    lines = [
        "a,b,c,label",
        *(f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{t}" for x, t in zip(X, label, strict=True)),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_compare_prints_every_requested_solver_and_writes_the_plot(
    tmp_path: Path, run_cli: RunCli
) -> None:
    data = write_csv(tmp_path / "data.csv")
    solvers = ["sgd", "momentum", "rprop", "adam", "lbfgs", "genetic"]
    result = run_cli(
        "compare",
        str(data),
        "--target",
        "label",
        "--solvers",
        *solvers,
        "--hidden",
        "4",
        "3",
        "--budget-seconds",
        "0.2",
        "--plot",
        "cmp.png",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("solver", 1)[1]
    for name in solvers:
        assert f"\n{name} " in table
    assert "Network(3 → 4 sigmoid → 3 sigmoid → 2 sigmoid" in result.stdout
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_modes_only(tmp_path: Path, run_cli: RunCli) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = run_cli(
        "compare",
        str(data),
        "-t",
        "label",
        "--modes",
        "online",
        "minibatch",
        "batch",
        "--budget-seconds",
        "0.1",
        "-o",
        "m.png",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Training algorithms" not in result.stdout and "Update modes of sgd" in result.stdout
    for mode in ("online", "minibatch", "batch"):
        assert f"\n{mode} " in result.stdout


def test_compare_bad_solver_is_one_line_and_exit_2(tmp_path: Path, run_cli: RunCli) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = run_cli("compare", str(data), "-t", "label", "--solvers", "quickprop", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "quickprop" in result.stderr
