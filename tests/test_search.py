"""Architecture search: real cross-validation, the refitted best model, Dask, the command.

Grids are tiny and fits short (a few epochs on ~90 rows): these tests check what the search
computes and returns, not how good the networks get.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from retroprop import DataError, MLPClassifier, MLPRegressor, Table, load_model, save_model
from retroprop.apps.search import plot_search, search
from retroprop.data.preprocessing import Preprocessor

rng = np.random.default_rng(0)
GRID: dict[str, Any] = {"learning_rate": [0.05, 0.2], "epochs": 8, "cv": 3}
HIDDEN = [(3,), (6,), (4, 3)]


def animals(n: int = 90, classes: tuple[str, ...] = ("cat", "dog", "eel")) -> Table:
    """Numbers, a categorical column and string labels that depend on them."""
    k = np.arange(n) % len(classes)
    return Table.from_columns(
        {
            "length": (k * 2.0 + rng.normal(size=n)).round(2).tolist(),
            "colour": [["grey", "brown", "green"][(j // 3 + k[j]) % 3] for j in range(n)],
            "weight": rng.normal(size=n).round(2).tolist(),
            "animal": [classes[i] for i in k],
        }
    )


def matrix(table: Table, target: str) -> tuple[Preprocessor, Any, Any]:
    """The inputs and targets the search gives the estimators."""
    pre, rows = Preprocessor.fit(table, target)
    Y = pre.encode_target(table, rows)
    y = Y.argmax(axis=1) if pre.target.kind == "classification" else Y[:, 0]
    return pre, pre.transform(table, rows), y


@pytest.fixture(scope="module")
def table() -> Table:
    return animals()


@pytest.fixture(scope="module")
def local(table: Table) -> Any:
    return search(table, "animal", HIDDEN, n_jobs=1, **GRID)


def test_every_candidate_is_cross_validated_and_ranked(table: Table, local: Any) -> None:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    assert len(local.candidates) == 6 and local.scoring == "accuracy" and local.cv == 3
    assert [c.rank for c in local.candidates] == sorted(c.rank for c in local.candidates)
    means = [c.mean_score for c in local.candidates]
    assert means == sorted(means, reverse=True)
    # 2 numbers + 3 colours = 5 inputs, 3 classes: (5 + 1)·4 + (4 + 1)·3 for "4 3"
    sizes = {c.hidden: c.n_parameters for c in local.candidates}
    assert sizes == {(3,): 6 * 3 + 4 * 3, (6,): 6 * 6 + 7 * 3, (4, 3): 6 * 4 + 5 * 3 + 4 * 3}
    # the scores are exactly scikit-learn's cross-validation of the same estimator
    _, X, y = matrix(table, "animal")
    c = local.candidates[-1]
    est = MLPClassifier(max_iter=8, batch_size=32, random_state=0).set_params(**c.params)
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_array_equal(cross_val_score(est, X, y, cv=folds), c.scores)
    assert c.mean_score == pytest.approx(np.mean(c.scores)) and c.mean_fit_time > 0
    assert json.loads(json.dumps(local.to_json()))["candidates"][0]["rank"] == 1


def test_the_best_candidate_is_refitted_on_all_rows(
    table: Table, local: Any, tmp_path: Path
) -> None:
    pre, X, y = matrix(table, "animal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier(max_iter=8, batch_size=32, random_state=0)
        est.set_params(**local.best.params).fit(X, y)
    model = local.model
    assert model.network.sizes == [5, *local.best.hidden, 3]
    assert model.training["hidden"] == list(local.best.hidden)
    assert model.training["search_cv"] == 3 and "cv_accuracy_mean" in model.metrics
    loaded = load_model(save_model(tmp_path / "best.retroprop", model))
    assert_allclose(loaded.predict_proba(table), est.predict_proba(X), rtol=1e-12)
    assert loaded.predict(table) == [pre.target.classes[k] for k in est.predict(X)]


def test_binary_model_has_one_softmax_output_per_class() -> None:
    table = animals(60, ("no", "yes"))
    result = search(table, "animal", [(3,)], epochs=5, cv=3)
    _, X, y = matrix(table, "animal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPClassifier((3,), "sigmoid", learning_rate_init=0.01, max_iter=5, batch_size=32)
        est.set_params(random_state=0).fit(X, y)
    model = result.model
    assert model.network.sizes[-1] == 2 and model.network.layers[-1].activation.name == "softmax"
    assert_allclose(model.predict_proba(table), est.predict_proba(X), rtol=1e-12)
    assert result.candidates[0].n_parameters == 6 * 3 + 4 * 1  # one logistic output in the fits


def test_regression_predicts_in_target_units() -> None:
    X = rng.normal(size=(60, 2))
    cols = {"a": X[:, 0].tolist(), "b": X[:, 1].tolist(), "price": (1e5 + 1e4 * X.sum(1)).tolist()}
    table = Table.from_columns(cols)
    result = search(table, "price", [(), (4,)], epochs=5, cv=3, learning_rate=[0.1])
    assert result.task == "regression" and result.scoring == "r2"
    pre, Xs, y = matrix(table, "price")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = MLPRegressor(hidden_layer_sizes=result.best.hidden, activation="sigmoid")
        est.set_params(learning_rate_init=0.1, max_iter=5, batch_size=32, random_state=0)
        est.fit(Xs, y)
    want = est.predict(Xs) * pre.target.scale + pre.target.mean
    assert_allclose(result.model.predict(table), want, rtol=1e-12)
    mae = search(table, "price", [(2,)], epochs=3, cv=3, scoring="neg_mean_absolute_error")
    assert mae.scoring == "neg_mean_absolute_error" and mae.best.mean_score < 0


def test_failed_fits_rank_last_with_one_warning() -> None:
    X = rng.normal(size=(45, 2))
    table = Table.from_columns(
        {"a": X[:, 0].tolist(), "b": X[:, 1].tolist(), "y": X.sum(1).tolist()}
    )
    with pytest.warns(UserWarning, match="fits failed and rank last.*non-finite") as caught:
        result = search(
            table, "y", [(4,)], learning_rate=[0.01, 1e9], solver=["sgd"], activation=["relu"],
            epochs=5, cv=3,
        )  # fmt: skip
    assert len(caught) == 1
    worst = result.candidates[-1]
    assert worst.params["learning_rate_init"] == 1e9 and np.isnan(worst.mean_score)
    assert not np.isnan(result.best.mean_score)
    with pytest.raises(ValueError, match="every fit failed; All the 3 fits failed: ValueError"):
        search(table, "y", [(4,)], learning_rate=[1e9], solver=["sgd"], activation=["relu"], cv=3)


def test_invalid_settings(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DataError, match=r"class .cat. has only 3 rows.*cv=3 or fewer"):
        search(animals(9), "animal", [(3,)], cv=4)
    with pytest.raises(ValueError, match="'activation' parameter"):
        search(table, "animal", [(3,)], activation=["swish"])
    with pytest.raises(ValueError, match="hidden: give at least one"):
        search(table, "animal", [])
    with pytest.raises(ValueError, match="layer sizes must be positive"):
        search(table, "animal", [(3, 0)])
    with pytest.raises(ValueError, match="cv: expected 2 to 90"):
        search(table, "animal", [(3,)], cv=1)
    with pytest.raises(ValueError, match="scoring: unknown score 'accuracy_macro'"):
        search(table, "animal", [(3,)], scoring="accuracy_macro")
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'retroprop\[dask\]'"):
        search(table, "animal", [(3,)], scheduler="tcp://127.0.0.1:8786")


def test_unreachable_scheduler(table: Table, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("dask.distributed")
    with socket.socket() as s:  # a port on loopback that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ValueError, match=f"scheduler tcp://127.0.0.1:{port}: cannot connect"):
        search(table, "animal", [(3,)], scheduler=f"tcp://127.0.0.1:{port}", scheduler_timeout=1)


def test_plot(local: Any, tmp_path: Path) -> None:
    path = plot_search(local, tmp_path / "plots" / "search.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dask_cluster_gives_the_local_ranking_and_scores(table: Table, local: Any) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        host="127.0.0.1",
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        dashboard_address=None,
    ) as cluster:
        remote = search(table, "animal", HIDDEN, scheduler=cluster.scheduler_address, **GRID)
    assert remote.backend == f"dask {cluster.scheduler_address}"
    assert [c.params for c in remote.candidates] == [c.params for c in local.candidates]
    assert [c.rank for c in remote.candidates] == [c.rank for c in local.candidates]
    for r, c in zip(remote.candidates, local.candidates, strict=True):
        assert_allclose(r.scores, c.scores, rtol=0, atol=1e-12)
    assert_allclose(remote.model.network.get_flat(), local.model.network.get_flat(), atol=1e-12)


# -- the command ------------------------------------------------------------------------------
def cli(*args: Any, pre: str = "") -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess; ``pre`` runs first (to hide dask, say)."""
    code = f"{pre}import sys; from retroprop.cli.app import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=180
    )


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Semicolons, decimal commas, a quoted categorical column and a blank line."""
    path = tmp_path_factory.mktemp("search") / "animals.csv"
    table = animals()
    lines = ["length;colour;weight;animal"]
    for i in range(table.n_rows):
        length, weight = (
            str(table.column(n).values[i]).replace(".", ",") for n in ("length", "weight")
        )
        lines.append(
            f'{length};"{table.column("colour").text(i)}";{weight};{table.column("animal").text(i)}'
        )
        if i == 40:
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_command_searches_and_saves_the_best_model(messy_csv: Path) -> None:
    out = messy_csv.with_name("best.retroprop")
    plot, results = messy_csv.with_name("search.png"), messy_csv.with_name("search.json")
    run = cli(
        "search", messy_csv, "--target", "animal", "--hidden", "3", "4 2", "--lr", "0.05", "0.2",
        "--epochs", "5", "--cv", "3", "--n-jobs", "1", "-o", out, "--plot", plot,
        "--results", results,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # no "did not converge" warnings from the short fits
    text = run.stdout
    assert "4 candidates × 3 folds = 12 fits (classification, local)" in text
    for word in (
        "rank",
        "hidden",
        "parameters",
        "η",
        "accuracy (mean ± std)",
        "fit time (s)",
        "4 2",
    ):
        assert word in text, word
    assert f"Best model written to {out}" in text and f"Plot written to {plot}" in text
    data = json.loads(results.read_text())
    assert len(data["candidates"]) == 4 and data["candidates"][0]["rank"] == 1
    model = load_model(out)
    assert model.network.sizes[1:-1] == data["candidates"][0]["params"]["hidden_layer_sizes"]
    assert model.classes == ("cat", "dog", "eel") and plot.read_bytes()[:4] == b"\x89PNG"


def test_several_values_after_one_option() -> None:
    from retroprop.cli._values import expand_multi_values

    argv = ["search", "d.csv", "--hidden", "10", "10 5", "32,16", "--lr", "0.1", "0.3"]
    argv += ["--solver", "adam", "sgd", "--activation", "relu", "tanh", "--alpha", "1e-4", "0"]
    assert expand_multi_values([*argv, "-t", "y"]) == [
        "search", "d.csv", "--hidden", "10", "--hidden", "10 5", "--hidden", "32,16",
        "--lr", "0.1", "--lr", "0.3", "--solver", "adam", "--solver", "sgd",
        "--activation", "relu", "--activation", "tanh", "--alpha", "1e-4", "--alpha", "0",
        "-t", "y",
    ]  # fmt: skip
    # a positional argument after the values is not taken for one
    assert expand_multi_values(["search", "--hidden", "8", "d.csv"])[-1] == "d.csv"


@pytest.mark.parametrize("command", ["search", "export"])
def test_help_has_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from retroprop.cli.app import main

    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example" in out and f"retroprop {command}" in out


def test_command_errors(
    messy_csv: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bad input: exit code 2 and one line on stderr (in-process through the same entry)."""
    from retroprop.cli.app import main

    base = ["search", str(messy_csv), "--target", "animal", "-o", str(tmp_path / "m.retroprop")]
    for args, words in [
        (["--activation", "swish"], ("--activation", "invalid value 'swish'")),
        (["--cv", "1"], ("--cv",)),
        (["--hidden", "3 x"], ("--hidden",)),
        (["--target", "colour", "--cv", "40"], ("cv=40", "fewer")),
        (["--batch-size", "0"], ("--batch-size",)),
    ]:
        code = main([*base, *args])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (args, lines)
        assert all(w in lines[0] for w in words), (words, lines[0])
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    assert main([*base, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pip install 'retroprop[dask]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
