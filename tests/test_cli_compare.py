"""`retroprop compare` run for real in a subprocess on a CSV written by the test."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

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
    result = run_cli(
        "compare", str(data), "-t", "label", "--solvers", "delta_bar_delta", cwd=tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "delta_bar_delta" in result.stderr


# -- real tables: missing values, text columns, three classes; a regression table -----------
def write_penguins(path: Path) -> Path:
    """A penguins-like table: an `id` column, numeric columns with missing cells, a text
    `island` column, a `sex` column with missing values, `year` coded as a number, and a
    3-class `species` target."""
    rng = np.random.default_rng(1)
    species = ("Adelie", "Chinstrap", "Gentoo")
    lines = ["id,species,island,bill_length_mm,flipper_length_mm,body_mass_g,sex,year"]
    for i in range(90):
        k = i % 3
        bill, flipper = 39 + 9 * k + rng.normal(0, 2), 190 + 12 * k + rng.normal(0, 5)
        mass = 3700 + 700 * (k == 2) + rng.normal(0, 300)
        cells = [f"{bill:.1f}", f"{flipper:.0f}", f"{mass:.0f}"]
        if i % 11 == 4:
            cells[i % 3] = ""  # a missing measurement
        sex = "" if i % 13 == 6 else ("male", "female")[i % 2]
        island = ("Torgersen", "Dream", "Biscoe")[(k + (i % 5 == 0)) % 3]
        lines.append(f"P{i:03d},{species[k]},{island},{','.join(cells)},{sex},{2007 + i % 3}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_cars(path: Path) -> Path:
    """A cars-like regression table: price (thousands of dollars ×1000, so errors in its units
    are far above 1) from numeric columns with a missing cell and a text `origin` column."""
    rng = np.random.default_rng(2)
    lines = ["name,horsepower,weight,origin,price"]
    for i in range(80):
        hp, weight = rng.uniform(60, 220), rng.uniform(1800, 4500)
        origin = ("usa", "europe", "japan")[i % 3]
        price = 5000 + 120 * hp + 2 * weight + 3000 * (origin == "europe") + rng.normal(0, 900)
        hp_cell = "" if i % 17 == 3 else f"{hp:.0f}"
        lines.append(f"car {i},{hp_cell},{weight:.0f},{origin},{price:.0f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def table_cells(stdout: str, solver: str) -> dict[str, str]:
    """The cells of one solver's row in the plain-text table, by column name."""
    from retroprop.apps.compare_view import REGRESSION_COLUMNS, TABLE_COLUMNS

    lines = stdout.splitlines()
    header = next(line for line in lines if line.startswith("solver"))
    columns = REGRESSION_COLUMNS if "train R²" in header else TABLE_COLUMNS
    row = next(line for line in lines if line.startswith(f"{solver} "))
    cells = row.split()
    return dict(zip(columns, cells, strict=True))


def test_compare_takes_trains_data_options_on_a_table_with_holes_and_text(
    tmp_path: Path, run_cli: RunCli
) -> None:
    data = write_penguins(tmp_path / "penguins.csv")
    common = ["compare", str(data), "-t", "species", "--solvers", "rprop", "adam"]
    common += ["--hidden", "4", "--budget-seconds", "0.2", "-o", "p.png"]
    result = run_cli(
        *common, "--impute", "mean", "--ignore", "id", "--categorical", "year", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    # 3 numeric + island (3) + sex (2) + year (3 categories) inputs; 3 classes
    assert "Network(11 → 4 sigmoid → 3 sigmoid" in result.stdout
    assert "72 training rows, 18 test rows" in result.stdout  # every row kept, 20 % held out
    for solver in ("rprop", "adam"):
        cells = table_cells(result.stdout, solver)
        assert 0 <= float(cells["train acc"]) <= 1 and 0 <= float(cells["test acc"]) <= 1
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"

    # without --categorical, year is one numeric input; --drop-missing skips the rows with holes
    dropped = run_cli(*common, "--drop-missing", "--ignore", "id", cwd=tmp_path)
    assert dropped.returncode == 0, dropped.stderr
    assert "Network(9 → 4 sigmoid → 3 sigmoid" in dropped.stdout
    n_complete = 90 - len({i for i in range(90) if i % 11 == 4 or i % 13 == 6})
    assert f"skipped {90 - n_complete} of 90 rows with missing values" in dropped.stderr
    n_test = -(-n_complete // 5)  # scikit-learn's ⌈0.2 n⌉
    assert f"{n_complete - n_test} training rows, {n_test} test rows" in dropped.stdout


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "--drop-missing"),  # holes without a policy: the message names compare's options
        (("--drop-missing", "--impute", "mean"), "choose one"),
        (("--impute", "median"), "--impute"),
        (("--impute", "mean", "--ignore", "colour"), "colour"),
        (("--impute", "mean", "--categorical", "colour"), "colour"),
        (("--impute", "mean", "--task", "clustering"), "--task"),
    ],
)
def test_compare_data_option_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, run_cli: RunCli, options: tuple[str, ...], message: str
) -> None:
    data = write_penguins(tmp_path / "penguins.csv")
    result = run_cli(
        "compare", str(data), "-t", "species", "--solvers", "rprop", *options, cwd=tmp_path
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "compare.png").exists()


def test_compare_regression_shows_r2_and_mae_in_the_targets_units(
    tmp_path: Path, run_cli: RunCli
) -> None:
    data = write_cars(tmp_path / "cars.csv")
    result = run_cli(
        "compare", str(data), "-t", "price", "--impute", "mean", "--ignore", "name",
        "--solvers", "rprop", "lbfgs", "--hidden", "5", "--budget-seconds", "0.3",
        "-o", "cars.png", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Network(5 → 5 sigmoid → 1 identity" in result.stdout
    assert "R² and MAE in the target's units" in result.stdout
    for solver in ("rprop", "lbfgs"):
        cells = table_cells(result.stdout, solver)
        assert "—" not in [cells[c] for c in ("train R²", "train MAE", "test R²", "test MAE")]
        assert float(cells["train R²"]) <= 1 and float(cells["test R²"]) <= 1
        # prices are in the thousands: an error in standardised units would be below 1
        assert 10 < float(cells["train MAE"]) < 20_000 and 10 < float(cells["test MAE"]) < 20_000
    assert float(table_cells(result.stdout, "lbfgs")["train R²"]) > 0.5
    assert (tmp_path / "cars.png").read_bytes()[:4] == b"\x89PNG"


FANN = Path(__file__).parent / "data" / "fann"


@pytest.mark.parametrize(
    ("lang", "title", "note"),
    [
        ("en", "error against the number of hidden neurons", "1 hidden neuron(s) grown"),
        ("es", "error frente al número de neuronas ocultas", "1 neurona(s) oculta(s) crecida(s)"),
    ],
)
def test_compare_grow_adds_the_error_against_hidden_neurons(
    tmp_path: Path, run_cli: RunCli, lang: str, title: str, note: str
) -> None:
    """--grow: a cascade-correlation run after the solvers, its table (one row per number of
    neurons: parity-8 needs one) and note, and a third panel in the PNG (a wider image). The
    FANN file's one output is the target without --target, as for train."""
    plot = tmp_path / "cmp.png"
    result = run_cli(
        "compare", str(FANN / "parity8.train"), "--solvers", "rprop", "--hidden",  # its target
        "4", "--budget-seconds", "0.5", "--grow", "--plot", str(plot), "--lang", lang,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert title in result.stdout and note in result.stdout
    growth = result.stdout.split(title, 1)[1].splitlines()
    assert growth[1].split()[:2] == (["hidden", "installed"] if lang == "en" else
                                     ["ocultas", "instalada"])  # fmt: skip
    rows = [line.split() for line in growth[3:5]]
    assert [row[0] for row in rows] == ["0", "1"] and rows[1][1] in ("sin", "cos")
    assert rows[1][3] == "1.000"  # every training row right with one neuron
    from PIL import Image

    with Image.open(plot) as image:
        assert image.width > 2.5 * image.height  # three panels side by side


def test_compare_max_hidden_needs_grow(tmp_path: Path, run_cli: RunCli) -> None:
    result = run_cli(
        "compare", str(FANN / "parity8.train"), "-t", "y", "--max-hidden", "3",
        "--plot", str(tmp_path / "c.png"),
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "retroprop: error: --max-hidden: only with --grow (cascade-correlation)"
    )


def test_compare_takes_one_of_a_fann_files_outputs(tmp_path: Path, run_cli: RunCli) -> None:
    """Several regression outputs: --target picks one, the others are left out (not inputs)."""
    rng = np.random.default_rng(1)
    lines = ["40 2 3"]
    for _ in range(40):
        lines += [" ".join(map(repr, rng.random(k).tolist())) for k in (2, 3)]
    data = tmp_path / "multi.data"
    data.write_text("\n".join(lines) + "\n")
    plot = str(tmp_path / "c.png")
    missing = run_cli("compare", str(data), "--solvers", "rprop", "--plot", plot)
    assert missing.returncode == 2
    assert "one of the file's outputs y1, y2, y3" in missing.stderr
    chosen = run_cli("compare", str(data), "-t", "y2", "--solvers", "rprop", "--hidden", "3",
                     "--budget-seconds", "0.2", "--plot", plot)  # fmt: skip
    assert chosen.returncode == 0, chosen.stderr
    assert "Network(2 → 3 sigmoid → 1 identity" in chosen.stdout  # x1, x2 only
