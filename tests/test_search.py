"""Architecture search: real cross-validation, the refitted best model, Dask, the command.

Grids are tiny and fits short (a few epochs on ~90 rows): these tests check what the search
computes and returns, not how good the networks get.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import retroprop
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
        (["--scheduler-timeout", "nan"], ("--scheduler-timeout", "(0, 3600]", "nan")),
        (["--scheduler-timeout", "0"], ("--scheduler-timeout", "(0, 3600]")),
    ]:
        code = main([*base, *args])
        lines = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(lines) == 1, (args, lines)
        assert all(w in lines[0] for w in words), (words, lines[0])
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    assert main([*base, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "pip install 'retroprop[dask]'" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# -- --scheduler at something that is not a Dask scheduler ------------------------------------
@contextmanager
def tcp_server(answer: bytes | None) -> Iterator[str]:
    """A server on 127.0.0.1 that replies ``answer`` to whatever it is sent (an HTTP server's
    400) or, with None, accepts connections and never says a word; its address."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            held.append(conn)
            if answer is not None:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=10)
        for conn in held:
            conn.close()
        server.close()


HTTP_400 = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (HTTP_400, "not a Dask scheduler (its reply is not Dask's protocol)"),
        (None, "not a Dask scheduler (no answer to Dask's handshake within 3 s)"),
    ],
    ids=["http-400", "silent"],
)
def test_a_server_that_is_not_a_scheduler_is_named(
    messy_csv: Path, tmp_path: Path, answer: bytes | None, reason: str
) -> None:
    out = tmp_path / "m.retroprop"
    with tcp_server(answer) as address:
        run = cli(
            "search", messy_csv, "-t", "animal", "--hidden", "3", "--epochs", "2", "--cv", "2",
            "--scheduler", address, "--scheduler-timeout", "3", "-o", out,
        )  # fmt: skip
    assert run.returncode == 2 and run.stdout == "", run.stderr
    assert run.stderr.splitlines() == [f"retroprop: error: --scheduler {address}: {reason}"]
    assert not out.exists()


def test_scheduler_addresses_and_timeouts_are_checked(table: Table) -> None:
    with tcp_server(None) as address:
        with pytest.raises(ValueError, match=f"scheduler {address}: not a Dask scheduler"):
            search(table, "animal", [(3,)], scheduler=address, scheduler_timeout=0.5)
    for address, words in [
        ("foo://127.0.0.1:8786", "unknown scheme 'foo' (known: inproc, tcp"),
        ("tcp://127.0.0.1:99999", "port 99999 is not in 1–65535"),
        ("tcp://127.0.0.1:x", "not an address like tcp://HOST:PORT"),
    ]:
        with pytest.raises(ValueError, match=re.escape(f"scheduler {address}: {words}")):
            search(table, "animal", [(3,)], scheduler=address)
    for timeout in (0, -1, float("nan"), float("inf"), 3601):
        with pytest.raises(ValueError, match=r"scheduler_timeout: expected seconds in \(0, 3600\]"):
            search(
                table, "animal", [(3,)], scheduler="tcp://127.0.0.1:1", scheduler_timeout=timeout
            )


def test_scheduler_without_dask_names_the_extra(messy_csv: Path, tmp_path: Path) -> None:
    hide = "import sys; sys.modules['distributed'] = sys.modules['dask'] = None; "
    run = cli(
        "search", messy_csv, "-t", "animal", "--scheduler", "tcp://127.0.0.1:8786",
        "-o", tmp_path / "m.retroprop", pre=hide,
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [
        "retroprop: error: scheduler tcp://127.0.0.1:8786: needs dask.distributed: "
        "pip install 'retroprop[dask]'"
    ]


# -- a real cluster (a scheduler and 3 worker processes on 127.0.0.1), faults included ---------
FAULT_GRID = (
    "--hidden",
    "16",
    "32",
    "32 16",
    "--lr",
    "0.001",
    "0.003",
    "--epochs",
    "60",
    "--cv",
    "3",
)
FAULT_FITS = 6 * 3  # candidates × folds


class Cluster(NamedTuple):
    address: str
    scheduler: subprocess.Popen[bytes]
    client: Any  # a client of the test's own, to watch the cluster and find the workers


@contextmanager
def dask_cluster(
    tmp_path: Path, n_workers: int = 3, worker_env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """``dask scheduler`` and ``n_workers`` ``dask worker`` processes (one thread each, no
    nanny: a killed worker stays dead), every one killed on the way out.

    With ``worker_env``, the workers have these variables too and preload ``dask_gate.py``,
    which holds the fits of one candidate until a file exists (see that module)."""
    distributed = pytest.importorskip("distributed")
    src = str(Path(retroprop.__file__).parents[1])  # the workers import this retroprop
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }
    preload = (
        [] if worker_env is None else ["--preload", str(Path(__file__).with_name("dask_gate.py"))]
    )
    file = tmp_path / "scheduler.json"
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                 "--port", "0", "--no-dashboard", "--scheduler-file", str(file)],
                **quiet,
            )
        )  # fmt: skip
        wait_until(lambda: file.exists() and file.stat().st_size > 0, "the scheduler file")
        address = json.loads(file.read_text())["address"]
        for _ in range(n_workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", address, "--host",
                     "127.0.0.1", "--nthreads", "1", "--no-nanny", "--no-dashboard",
                     "--death-timeout", "60", *preload],
                    **{**quiet, "env": {**env, **(worker_env or {})}},
                )
            )  # fmt: skip
        with distributed.Client(address, timeout=5, set_as_default=False) as client:
            client.wait_for_workers(n_workers, timeout=60)
            yield Cluster(address, procs[0], client)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=30)


def wait_until(
    done: Callable[[], Any],
    what: str,
    run: subprocess.Popen[str] | None = None,
    seconds: float = 90,
) -> Any:
    """Poll ``done`` until it returns something true (bounded: fails after ``seconds``, or as
    soon as the command ``run`` has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := done():
            return value
        if run is not None and run.poll() is not None:
            pytest.fail(
                f"the command ended (exit code {run.returncode}) before {what}: {finish(run)}"
            )
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for {what}")


# The command line, which with ``noting=DIR`` also creates DIR/KEY once it holds the result of
# the dask task KEY (Future.result returned it): the test then knows what the search received.
NOTING = """
import sys, pathlib, distributed
marks, result = pathlib.Path(sys.argv.pop(1)), distributed.Future.result
def noted(future, *args, **kwargs):
    value = result(future, *args, **kwargs)
    (marks / future.key).touch()
    return value
distributed.Future.result = noted
"""


def cli_popen(*args: Any, noting: Path | None = None) -> subprocess.Popen[str]:
    code = "import sys; from retroprop.cli.app import main; sys.exit(main(sys.argv[1:]))"
    if noting is not None:
        code, args = NOTING + code, (noting, *args)
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(run: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return run.communicate(timeout=180)
    finally:
        run.kill()
        run.wait(timeout=30)


@pytest.fixture(scope="module")
def fault_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1500 rows: fits of a few tenths of a second, long enough to kill a worker during one."""
    path = tmp_path_factory.mktemp("cluster") / "animals.csv"
    table = animals(1500)
    names = ["length", "colour", "weight", "animal"]
    lines = [",".join(names)]
    lines += [",".join(table.column(n).text(i) for n in names) for i in range(table.n_rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def local_scores(fault_csv: Path) -> dict[str, Any]:
    """The same search on this machine (also compiles the kernels the workers load)."""
    results = fault_csv.with_name("local.json")
    run = cli(
        "search", fault_csv, "-t", "animal", *FAULT_GRID, "--n-jobs", "1", "--results", results,
        "-o", fault_csv.with_name("local.retroprop"), "--quiet",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return json.loads(results.read_text())


def by_params(results: dict[str, Any]) -> dict[str, tuple[int, list[float]]]:
    return {json.dumps(c["params"]): (c["rank"], c["scores"]) for c in results["candidates"]}


def fits(client: Any) -> list[str]:
    """Keys of the search's fits that the scheduler holds results of."""
    return [k for k, held in client.who_has().items() if held and k.startswith("retroprop-fit-")]


def test_a_worker_killed_mid_search_changes_nothing(
    fault_csv: Path, local_scores: dict[str, Any], tmp_path: Path
) -> None:
    results, out = tmp_path / "cluster.json", tmp_path / "cluster.retroprop"
    with dask_cluster(tmp_path) as cluster:
        pids = cluster.client.run(os.getpid)  # worker address → process id
        run = cli_popen(
            "search", fault_csv, "-t", "animal", *FAULT_GRID, "--scheduler", cluster.address,
            "--results", results, "-o", out,
        )  # fmt: skip

        def busy_worker() -> str | None:
            running = cluster.client.processing()
            return next(
                (w for w, keys in running.items() if keys and len(fits(cluster.client)) >= 1), None
            )

        victim = wait_until(busy_worker, "a worker running a fit", run)
        os.kill(pids[victim], signal.SIGKILL)
        stdout, stderr = finish(run)
        assert victim not in cluster.client.scheduler_info()["workers"]
    assert run.returncode == 0, stderr
    assert f"6 candidates × 3 folds = 18 fits (classification, dask {cluster.address})" in stdout
    remote = json.loads(results.read_text())
    assert remote["unfinished"] == 0 and remote["backend"] == f"dask {cluster.address}"
    assert by_params(remote).keys() == by_params(local_scores).keys()
    for key, (rank, scores) in by_params(local_scores).items():
        assert by_params(remote)[key][0] == rank
        assert_allclose(by_params(remote)[key][1], scores, rtol=0, atol=1e-12)
    local_model = load_model(fault_csv.with_name("local.retroprop"))
    assert_allclose(load_model(out).network.get_flat(), local_model.network.get_flat(), atol=1e-12)


def test_a_lost_scheduler_reports_the_finished_candidates(fault_csv: Path, tmp_path: Path) -> None:
    """Two candidates (16 neurons) finish; the fits of the two others (32 neurons) are held on
    the workers (``dask_gate.py``) until the scheduler has been killed."""
    results, out = tmp_path / "partial.json", tmp_path / "partial.retroprop"
    received, gate = tmp_path / "received", tmp_path / "gate"
    received.mkdir()
    held = {"RETROPROP_TEST_GATE": str(gate), "RETROPROP_TEST_HELD": "32"}
    grid = ("--hidden", "16", "32", "--lr", "0.001", "0.003", "--epochs", "150", "--cv", "3")
    with dask_cluster(tmp_path, worker_env=held) as cluster:
        run = cli_popen(
            "search", fault_csv, "-t", "animal", *grid, "--scheduler", cluster.address,
            "--results", results, "-o", out, noting=received,
        )  # fmt: skip
        # candidates 0 and 1 have 16 neurons (ParameterGrid: hidden varies before lr)
        sixteen = {f"retroprop-fit-{i}-{k}-" for i in (0, 1) for k in range(3)}

        def in_search() -> set[str]:  # the fits whose results the search holds, run id cut
            return {m.name[:-32] for m in received.iterdir() if m.name.startswith("retroprop-fit-")}

        wait_until(lambda: sixteen <= in_search(), "the search to receive the 16-neuron fits", run)
        assert in_search() == sixteen and len(fits(cluster.client)) == 6  # the others held
        cluster.scheduler.kill()
        stdout, stderr = finish(run)
        gate.touch()
    assert run.returncode == 2, stderr
    partial = json.loads(results.read_text())
    assert len(partial["candidates"]) == 2 and partial["unfinished"] == 2
    assert {tuple(c["params"]["hidden_layer_sizes"]) for c in partial["candidates"]} == {(16,)}
    assert stderr.splitlines() == [
        f"retroprop: error: --scheduler {cluster.address}: connection lost during the search; "
        f"2 of 4 candidates finished (written to {results}); no model written"
    ]
    assert "2 candidates finished (of 4) × 3 folds = 6 fits" in stdout  # their table
    quick_here = search(
        fault_csv, "animal", [(16,)], learning_rate=[0.001, 0.003], epochs=150, cv=3
    )
    finished = by_params(partial)
    for key, (_, scores) in by_params(quick_here.to_json()).items():
        assert_allclose(finished[key][1], scores, rtol=0, atol=1e-12)
    assert not out.exists()
