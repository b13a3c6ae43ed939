"""The playground's server and protocol, through Starlette's TestClient (no browser): the token
and Origin checks, a traced step equal to ``retroprop explain``'s JSON, editing a weight,
reset, bad messages, playing, the user's CSV, and the exports."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from retroprop.apps.playground.data import plane
from retroprop.apps.playground.framer import FrameWorker, network_shape
from retroprop.apps.playground.frames import curve, frame_text, live_frame
from retroprop.apps.playground.server import Playground, create_app
from retroprop.apps.playground.session import Session
from retroprop.apps.playground.settings import Settings
from retroprop.files.model_file import read_model
from retroprop.train.loop import fit

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture()
def pg() -> Playground:
    return Playground(hosts=("testserver",))


@pytest.fixture()
def client(pg: Playground) -> TestClient:
    return TestClient(create_app(pg))


class Page:
    """One socket, read frame by frame."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.sent = 0

    def send(self, **msg: Any) -> None:
        self.ws.send_text(json.dumps(msg))
        self.sent += 1

    def until(self, kind: str, limit: int = 200) -> dict[str, Any]:
        """The next frame of type ``kind`` (frames of other types are skipped)."""
        for _ in range(limit):
            frame = json.loads(self.ws.receive_text())
            if frame["type"] == kind:
                return frame
            assert frame["type"] != "error", frame["message"]
            assert frame.get("error") is None, frame["error"]
        raise AssertionError(f"no {kind} frame in {limit} frames")

    def settled(self) -> dict[str, Any]:
        """The first live frame that shows every command sent so far carried out."""
        self.send(cmd="pause")
        while True:
            frame = self.until("frame")
            if frame["handled"] == self.sent:
                return frame


@pytest.fixture()
def page(client: TestClient, pg: Playground) -> Iterator[Page]:
    with client.websocket_connect(f"/ws?token={pg.token}", headers=ORIGIN) as ws:
        p = Page(ws)
        p.until("catalog")
        p.until("data")
        p.until("frame")
        yield p


def test_token_and_origin_required(client: TestClient, pg: Playground) -> None:
    assert client.get("/").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    page = client.get(f"/?token={pg.token}")
    assert page.status_code == 200 and pg.token in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert client.get("/static/app.js").status_code == 200  # served from the package
    for url, headers in [
        ("/ws", ORIGIN),
        ("/ws?token=wrong", ORIGIN),
        (f"/ws?token={pg.token}", {"origin": "http://evil.example"}),
        (f"/ws?token={pg.token}", {}),
    ]:
        with (
            pytest.raises(WebSocketDisconnect),
            client.websocket_connect(url, headers=headers) as ws,
        ):
            ws.receive_text()


def test_wrong_host_refused(pg: Playground) -> None:
    client = TestClient(create_app(pg), base_url="http://rebound.example")
    assert client.get(f"/?token={pg.token}").status_code == 403


def _explain_json(
    run_cli: Any, tmp_path: Path, network: dict[str, Any], trace: dict[str, Any]
) -> Any:
    """``retroprop explain --format json`` of the same network, sample, optimizer and η."""
    path = tmp_path / "net.json"
    path.write_text(json.dumps(network))
    x = [str(v) for v in trace["input"]]
    y = [str(v) for v in trace["target"]]
    eta = repr(trace["learning_rate"])
    done = run_cli(
        "explain", str(path), "--x", *x, "--y", *y, "--lr", eta, "--optimizer", "sgd", "-f", "json"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _close(a: Any, b: Any, path: str = "") -> None:
    """Every number of ``a`` equals ``b``'s to 1e-12 (same structure)."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _close(u, v, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert abs(a - b) <= 1e-12 * max(1.0, abs(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _file(frame: dict[str, Any]) -> bytes:
    assert frame["type"] == "file"
    return base64.b64decode(frame["base64"])


def test_step_equals_explain(page: Page, run_cli: Any, tmp_path: Path) -> None:
    page.send(
        cmd="configure", settings={"data": "circles", "hidden": [3], "activations": ["sigmoid"]}
    )
    page.until("data")
    page.send(cmd="step", unit="sample")  # the second step: weights already moved once
    page.until("step")
    page.send(cmd="export", kind="network")
    network = json.loads(_file(page.until("file")))
    page.send(cmd="step", unit="sample")
    trace = page.until("step")["trace"]
    assert trace["step"] == 2 and trace["batch_size"] == 1
    explained = _explain_json(run_cli, tmp_path, network, trace)
    assert explained["layers"][0]["weights_before"] == network["layers"][0]["weights"]
    for key in ("step", "network"):  # the step's number and the layer names are the page's
        trace.pop(key), explained.pop(key)
    for key in ("input_names", "output_names"):
        trace.pop(key)
    _close(trace, explained)


def test_edit_weight_undo_redo(page: Page) -> None:
    before = page.settled()
    page.send(cmd="edit", layer=0, kind="w", j=1, i=0, value=2.5)
    edited = page.settled()
    assert edited["weights"][0]["W"][1][0] == 2.5 and edited["can_undo"]
    assert edited["train"]["loss"] != before["train"]["loss"]  # the error changed with it
    page.send(cmd="edit", layer=1, kind="b", j=0, value=-1.0)
    assert page.settled()["weights"][1]["b"][0] == -1.0
    page.send(cmd="undo")
    page.send(cmd="undo")
    undone = page.settled()
    assert undone["weights"] == before["weights"] and undone["can_redo"]
    page.send(cmd="redo")
    assert page.settled()["weights"][0]["W"][1][0] == 2.5


def test_reset_same_seed_same_weights(page: Page) -> None:
    first = page.settled()["weights"]
    page.send(cmd="step", unit="epoch")
    page.send(cmd="step", unit="epoch")
    assert page.settled()["weights"] != first
    page.send(cmd="reset")
    assert page.settled()["weights"] == first
    page.send(cmd="configure", settings={"seed": 7})
    page.until("data")
    other = page.settled()["weights"]
    page.send(cmd="configure", settings={"seed": 0})
    page.until("data")
    assert page.settled()["weights"] == first != other


@pytest.mark.parametrize(
    "text, says",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"cmd": 3}', "expected a JSON object"),
        ('{"cmd": "fly"}', "unknown command 'fly'"),
        ('{"cmd": "step", "unit": "year"}', "expected sample, batch or epoch"),
        ('{"cmd": "configure", "settings": {"hidden": [0]}}', "hidden[0]"),
        ('{"cmd": "configure", "settings": {"solver": "magic"}}', "solver"),
        ('{"cmd": "configure", "settings": {"learning_rate": "fast"}}', "learning_rate"),
        ('{"cmd": "configure", "settings": {"colour": 1}}', "unknown field(s) colour"),
        ('{"cmd": "edit", "layer": 9, "kind": "w", "j": 0, "i": 0, "value": 1}', "no layer 9"),
        ('{"cmd": "edit", "layer": 0, "kind": "w", "j": 99, "i": 0, "value": 1}', "no w(99, 0)"),
        ('{"cmd": "edit", "layer": 0, "kind": "b", "j": 0, "value": "NaN"}', "finite number"),
        ('{"cmd": "undo"}', "nothing to undo"),
        ('{"cmd": "export", "kind": "step_page"}', "no traced step yet"),
        ('{"cmd": "export", "kind": "pdf"}', "export: expected"),
        ('{"cmd": "load_state", "state": {"format": "other"}}', "not a retroprop.playground"),
        ('{"cmd": "load_csv", "name": "a.csv", "text": "a,b\\n1\\n"}', "a.csv"),
    ],
)
def test_bad_messages_get_error_frames(page: Page, text: str, says: str) -> None:
    page.ws.send_text(text)
    page.sent += 1
    error = page.until("error")
    assert says in error["message"]
    page.send(cmd="step", unit="sample")  # the connection carries on
    assert page.until("step")["trace"]["step"] == 1


def test_play_sends_frames_then_pauses(page: Page) -> None:
    page.send(cmd="play")
    epochs = []
    deadline = time.monotonic() + 120
    while len(epochs) < 5 and time.monotonic() < deadline:
        frame = page.until("frame")
        if frame["running"] and frame["epoch"] > 0:
            epochs.append(frame["epoch"])
    assert epochs == sorted(epochs) and len(epochs) == 5
    paused = page.settled()
    assert not paused["running"] and paused["epoch"] >= epochs[-1]
    assert len(paused["curve"]["epoch"]) > 0
    page.send(cmd="step", unit="sample")  # stepping continues from where play stopped
    assert page.until("step")["trace"]["step"] == paused["updates"] + 1


def test_steps_follow_fit() -> None:
    """A batch, the rest of the epoch, then a whole epoch: exactly fit's two epochs (same
    seed, same shuffles, same optimizer state), to rounding."""
    settings = Settings(data="moons", n_samples=40, hidden=(5,), activations=("tanh",),
                        batch_size=4, solver="momentum", learning_rate=0.2, seed=3)  # fmt: skip
    s = Session.start(settings)
    net = s.network.copy()
    s.step("batch")
    assert (s.epoch, s.position) == (1, 4)
    s.step("epoch")  # the rest of epoch 1
    s.step("epoch")
    assert (s.epoch, s.position, s.updates) == (2, 0, 2 * len(s.data.X) // 4)
    fit(net, s.data.X, s.data.Y, optimizer="momentum", learning_rate=0.2, epochs=2,
        batch_size=4, seed=3, engine="numpy")  # fmt: skip
    np.testing.assert_allclose(s.network.get_flat(), net.get_flat(), rtol=0, atol=1e-12)


def test_csv_with_three_classes_and_a_script_column(page: Page) -> None:
    rng = np.random.default_rng(0)
    rows = ["<script>alert(1)</script>,b,kind"]
    for k, name in enumerate(["<b>x</b>", "beta", "gamma"]):
        for _ in range(20):
            a, b = rng.normal(k, 0.3, 2)
            rows.append(f"{a:.4f},{b:.4f},{name}")
    page.send(cmd="load_csv", name="<i>three</i>.csv", text="\n".join(rows) + "\n")
    data = page.until("data")
    assert data["inputs"] == ["<script>alert(1)</script>", "b"]
    assert data["outputs"] == ["<b>x</b>", "beta", "gamma"] and data["source"] == "<i>three</i>.csv"
    frame = page.settled()
    assert len(frame["confusion"]["train"]) == 3
    assert len(frame["weights"][-1]["b"]) == 3


def test_state_export_and_reload(page: Page) -> None:
    page.send(cmd="configure", settings={"solver": "adam", "learning_rate": 0.05, "batch_size": 2})
    page.until("data")
    for unit in ("epoch", "sample", "batch"):
        page.send(cmd="step", unit=unit)
    page.send(cmd="export", kind="state")
    state = json.loads(_file(page.until("file")))
    saved = page.settled()
    page.send(cmd="step", unit="batch")
    after_saved = page.until("step")["trace"]
    page.send(cmd="reset")
    page.send(cmd="load_state", state=state)
    page.until("data")
    reloaded = page.settled()
    assert reloaded["weights"] == saved["weights"]
    assert (reloaded["epoch"], reloaded["updates"], reloaded["position"]) == (
        saved["epoch"], saved["updates"], saved["position"],
    )  # fmt: skip
    page.send(cmd="step", unit="batch")  # the same next step: optimizer state, order, position
    assert page.until("step")["trace"] == after_saved


def test_exports(page: Page, tmp_path: Path) -> None:
    page.send(cmd="step", unit="sample")
    page.until("step")
    page.send(cmd="export", kind="model")
    model = read_model(io.BytesIO(_file(page.until("file"))), "m.retroprop")
    assert model.network.sizes == [2, 4, 2]
    assert model.preprocessor.target.classes == (0, 1)
    page.send(cmd="export", kind="step_page", lang="es")
    html = _file(page.until("file")).decode()
    assert '<html lang="es"' in html
    page.send(cmd="export", kind="script")
    script = _file(page.until("file")).decode()
    compile(script, "playground.py", "exec")
    assert "rp.fit(" in script


@pytest.mark.parametrize(
    "data",
    [
        "xor",
        "circles",
        "moons",
        "spirals",
        "gaussians",
        "plane",
        "sine",
        "lecture_digits",
        "digits",
    ],
)
def test_every_builtin_data_set(page: Page, data: str) -> None:
    page.send(cmd="configure", settings={"data": data, "test_fraction": 0.2, "n_samples": 60})
    shown = page.until("data")
    assert shown["source"] == data and len(shown["train"]["st"]) == shown["n_train"]
    page.send(cmd="step", unit="batch")
    page.until("step")
    frame = page.settled()
    assert frame["map"]["n"] >= 100 and frame["updates"] == 1
    if data in ("plane", "sine"):
        assert shown["task"] == "regression" and "r2" in frame["train"]
    if data in ("lecture_digits", "digits"):
        assert shown["plane"]["labels"] == ["PC1", "PC2"]  # 35 or 64 inputs: the PCA plane
        page.send(cmd="configure", settings={"map_axes": [3, 10]})
        assert page.until("data")["plane"]["labels"] == ["x4", "x11"]


@pytest.mark.parametrize("solver", ["genetic", "lbfgs"])
def test_whole_run_solvers(page: Page, solver: str) -> None:
    page.send(cmd="configure", settings={"solver": solver})
    assert page.until("data")["steps"] is False
    page.send(cmd="step", unit="sample")
    assert "step one epoch" in page.until("error")["message"]
    page.send(cmd="step", unit="epoch")
    if solver == "genetic":  # one generation: the population's errors, best first
        first = page.settled()
        generation = first["population"]
        losses = generation["losses"]
        assert generation["generation"] == 1 and len(losses) == 100 and losses == sorted(losses)
        assert first["train"]["loss"] == pytest.approx(losses[0], rel=1e-9)
        page.send(cmd="step", unit="epoch")
        second = page.settled()
        assert second["population"]["generation"] == 2  # the same population, evolved
        assert second["train"]["loss"] <= first["train"]["loss"]  # elitism
    else:
        assert page.settled()["epoch"] == 1
        assert page.settled()["population"] is None
    page.send(cmd="play")
    while True:
        frame = page.until("frame")
        if frame["epoch"] >= 3:
            break
    paused = page.settled()
    assert not paused["running"] and paused["curve"]["epoch"][:3] == [1, 2, 3]
    assert paused["curve"]["epoch"] == sorted(paused["curve"]["epoch"])
    if solver == "genetic":  # play went on with the stepped population, and so does the next step
        assert paused["population"]["generation"] == paused["epoch"]
        page.send(cmd="step", unit="epoch")
        assert page.settled()["population"]["generation"] == paused["epoch"] + 1


def test_genetic_play_pause_continues_one_run() -> None:
    """Generations stepped, played, paused and stepped again are the generations of one run:
    the same as stepping them all (the population and its generator carry over)."""
    from retroprop.apps.playground.runner import Runner

    settings = Settings(data="xor", solver="genetic", solver_params={"population_size": 20})
    mixed = Session.start(settings)
    mixed.step("epoch")
    runner = Runner(mixed, lambda: None)
    runner.play()
    deadline = time.monotonic() + 60
    while mixed.epoch < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.pause()
    played = mixed.epoch
    assert played >= 4
    for _ in range(3):
        mixed.step("epoch")
    assert mixed.population is not None and mixed.population.g == played + 3
    stepped = Session.start(settings)
    for _ in range(played + 3):
        stepped.step("epoch")
    np.testing.assert_array_equal(mixed.network.get_flat(), stepped.network.get_flat())
    assert [c["loss"] for c in mixed.curve] == [c["loss"] for c in stepped.curve]


def test_command_line_mistakes(run_cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    for args, says in [
        (["playground", str(tmp_path / "none.csv"), "--no-browser"], "none.csv"),
        (["playground", str(path), "--target", "nope", "--no-browser"], "no column 'nope'"),
        (["playground", "--target", "label", "--no-browser"], "only with a CSV"),
        (["playground", "--lang", "fr", "--no-browser"], "--lang"),
    ]:
        done = run_cli(*args)
        assert done.returncode == 2, done.stderr
        assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_script_reproduces_the_run(tmp_path: Path) -> None:
    """The exported script, run on its own, ends with the playground's weights."""
    import subprocess
    import sys

    from retroprop.apps.playground.exports import export

    s = Session.start(Settings(data="moons", solver="momentum", solver_params={"momentum": 0.8}))
    s.step("epoch")
    s.step("epoch")
    path = tmp_path / "run.py"
    path.write_bytes(base64.b64decode(export(s, "script", "en")["base64"]))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    weights = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(weights, s.network.get_flat(), rtol=0, atol=1e-10)


def test_the_url_answers_as_soon_as_it_is_printed() -> None:
    """The socket listens before the URL is printed: a page opened at once is served (queued
    until the server accepts), not refused; Ctrl-C then stops the server with status 0, and
    its frame process with it."""
    import re
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "retroprop", "playground", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        match = re.search(r"http://127\.0\.0\.1:\d+/\?token=\S+", proc.stdout.readline())
        assert match
        with urllib.request.urlopen(match.group(0), timeout=60) as page:
            assert page.status == 200
            assert "<title>" in page.read().decode("utf-8")
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        # the frame process; not multiprocessing's resource tracker (it exits on its own once
        # the server has gone) nor a kernel compile worker (detached by design: it finishes
        # compiling for the next run after the server stops, _fast/background.py)
        frames = [pid for pid in children if "multiprocessing.spawn" in _cmdline(pid)]
        assert len(frames) == 1
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    assert proc.stdout.read().strip().endswith("\nretroprop playground: stopped")
    for pid in frames:  # stopped with the server: no process left behind
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def _cmdline(pid: str) -> str:
    """The command line of process ``pid`` ('' once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_undo_takes_back_steps_play_reset_and_settings(page: Page) -> None:
    """Undo takes back any change as one move, exactly: the step after an undo is the step that
    was undone (same optimizer state, order and position)."""
    page.send(cmd="configure", settings={"solver": "adam", "batch_size": 2})
    page.until("data")
    start = page.settled()
    page.send(cmd="step", unit="batch")
    taken = page.until("step")["trace"]
    assert page.settled()["undo_what"] == "pg_step_batch"
    page.send(cmd="undo")
    back = page.settled()
    assert back["weights"] == start["weights"] and back["updates"] == 0
    assert back["redo_what"] == "pg_step_batch"
    page.send(cmd="step", unit="batch")
    assert page.until("step")["trace"] == taken  # the same step again
    stepped = page.settled()
    page.send(cmd="play")
    page.until("frame")
    page.send(cmd="undo")  # pauses, and goes back to before play
    assert page.settled()["weights"] == stepped["weights"]
    page.send(cmd="reset")
    assert page.settled()["weights"] == start["weights"]
    page.send(cmd="undo")
    after_undo = page.settled()
    assert after_undo["weights"] == stepped["weights"] and after_undo["updates"] == 1
    page.send(cmd="configure", settings={"hidden": [6, 3], "activations": ["tanh", "relu"]})
    assert page.until("data")["sizes"] == [2, 6, 3, 2]
    page.send(cmd="undo")
    assert page.until("data")["sizes"] == [2, 4, 2]
    assert page.settled()["weights"] == stepped["weights"]
    page.send(cmd="redo")
    assert page.until("data")["sizes"] == [2, 6, 3, 2]
    assert not page.settled()["can_redo"]


def test_a_failed_change_changes_nothing(page: Page) -> None:
    page.send(cmd="step", unit="sample")
    page.until("step")
    before = page.settled()
    page.send(cmd="load_state", state={"format": "retroprop.playground", "settings": {}})
    assert "missing or malformed" in page.until("error")["message"]
    after = page.settled()
    assert after["weights"] == before["weights"] and after["updates"] == before["updates"]
    assert after["undo_what"] == "pg_step_sample"


def _three_classes(header: str = "a,b,kind") -> str:
    rng = np.random.default_rng(0)
    rows = [header]
    for k, name in enumerate(["x", "é", "<b>z</b>"]):
        rows += [f"{a:.4f},{b:.4f},{name}" for a, b in rng.normal(k, 0.3, (10, 2))]
    return "\n".join(rows) + "\n"


def test_state_with_an_uploaded_csv_reloads_on_a_new_page(
    client: TestClient, pg: Playground
) -> None:
    """The CSV the page sent travels in the state: a fresh page (no CSV) reloads it exactly."""
    with client.websocket_connect(f"/ws?token={pg.token}", headers=ORIGIN) as ws:
        page = Page(ws)
        page.until("data")
        page.send(cmd="load_csv", name="<i>three</i>.csv", text=_three_classes())
        page.until("data")
        page.send(cmd="configure", settings={"batch_size": 4, "solver": "momentum"})
        page.until("data")
        page.send(cmd="step", unit="epoch")
        page.send(cmd="step", unit="batch")
        page.send(cmd="export", kind="state")
        state = json.loads(_file(page.until("file")))
        saved = page.settled()
        page.send(cmd="step", unit="batch")
        next_step = page.until("step")["trace"]
    assert state["csv"]["text"] == _three_classes() and state["csv"]["source"] == "<i>three</i>.csv"
    with client.websocket_connect(f"/ws?token={pg.token}", headers=ORIGIN) as ws:
        page = Page(ws)
        page.until("data")
        page.send(cmd="load_state", state=json.loads(json.dumps(state)))
        data = page.until("data")
        assert data["source"] == "<i>three</i>.csv" and data["outputs"] == ["<b>z</b>", "x", "é"]
        reloaded = page.settled()
        assert reloaded["weights"] == saved["weights"] and reloaded["curve"] == saved["curve"]
        page.send(cmd="step", unit="batch")
        assert page.until("step")["trace"] == next_step
        page.send(cmd="configure", settings={"data": "xor"})  # the page keeps its CSV
        page.until("data")
        page.send(cmd="configure", settings={"data": "csv"})
        assert page.until("data")["source"] == "<i>three</i>.csv"
    tampered = {**state, "csv": {**state["csv"], "text": _three_classes("a,b,kinds")}}
    with client.websocket_connect(f"/ws?token={pg.token}", headers=ORIGIN) as ws:
        page = Page(ws)
        page.until("data")
        page.send(cmd="load_state", state=tampered)
        assert "does not match its digest" in page.until("error")["message"]


def test_state_names_the_command_lines_csv(tmp_path: Path) -> None:
    """The command line's CSV is named (and fingerprinted) in the state, not copied: a server
    started on it reloads the state; one started without it says which file it needs."""
    from retroprop.apps.playground.saved_state import load_state, state_dict
    from retroprop.apps.playground.session import CsvData
    from retroprop.data.tabular import read_csv
    from retroprop.errors import RetropropError

    path = tmp_path / "three.csv"
    path.write_text(_three_classes())
    csv = CsvData(read_csv(path))
    s = Session.start(Settings(data="csv", target="kind", seed=2), csv)
    s.step("epoch")
    state = json.loads(json.dumps(state_dict(s)))
    assert "text" not in state["csv"] and state["csv"]["sha256"] == csv.table.sha256
    again = Session.start(Settings())
    load_state(again, state, CsvData(read_csv(path)))
    np.testing.assert_array_equal(again.network.get_flat(), s.network.get_flat())
    with pytest.raises(RetropropError, match=r"start retroprop playground three\.csv"):
        load_state(Session.start(Settings()), state)


def test_a_csv_over_the_limit_says_so(page: Page, monkeypatch: pytest.MonkeyPatch) -> None:
    from retroprop.apps.playground import saved_state

    monkeypatch.setattr(saved_state, "MAX_CSV_BYTES", 100)
    page.send(cmd="load_csv", name="big.csv", text=_three_classes())
    message = page.until("error")["message"]
    assert message.startswith("big.csv: 580 B; the page takes CSV files of at most 100 B")


def test_genetic_state_reloads_its_population() -> None:
    from retroprop.apps.playground.saved_state import load_state, state_dict

    settings = Settings(data="moons", n_samples=40, solver="genetic")
    s = Session.start(settings)
    s.step("epoch")
    s.step("epoch")
    state = json.loads(json.dumps(state_dict(s)))
    again = Session.start(Settings())
    load_state(again, state)
    s.step("epoch")
    again.step("epoch")
    assert again.population is not None and again.population.g == 3
    np.testing.assert_array_equal(again.network.get_flat(), s.network.get_flat())


def test_script_reads_the_csv_with_its_encoding(tmp_path: Path) -> None:
    """A CSV in Latin-1 (``--encoding latin-1``): the exported script reads it the same way and
    ends with the playground's weights."""
    import subprocess
    import sys

    from retroprop.apps.playground.exports import export
    from retroprop.apps.playground.session import CsvData
    from retroprop.data.tabular import read_csv

    path = tmp_path / "latin.csv"
    path.write_bytes(_three_classes("año,b,clase").encode("latin-1"))
    table = read_csv(path, encoding="latin-1")
    csv = CsvData(table, encoding="latin-1")
    s = Session.start(Settings(data="csv", target="clase", test_fraction=0.2), csv)
    s.step("epoch")
    assert s.data.input_names[0] == "año"
    script = tmp_path / "run.py"
    script.write_bytes(base64.b64decode(export(s, "script", "en")["base64"]))
    assert "encoding='latin-1'" in script.read_text()
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    weights = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(weights, s.network.get_flat(), rtol=0, atol=1e-10)


def test_undo_keeps_fifty_changes_within_its_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from retroprop.apps.playground import history

    s = Session.start(Settings())
    h = history.History()
    for _ in range(60):
        with h.change(s, "pg_step_sample"):
            s.step("sample")
    assert len(h.undo) == history.UNDO_DEPTH == 50
    monkeypatch.setattr(history, "UNDO_BYTES", 3 * h.undo[0].nbytes)
    with h.change(s, "pg_step_sample"):
        s.step("sample")
    assert len(h.undo) == 3
    while h.back(s):
        pass
    assert s.updates == 61 - 3 and len(h.redo) == 3


def test_population_summary_best_first_thinned() -> None:
    from retroprop.apps.playground.session import Population

    fitness = -np.arange(300.0)[::-1].copy()
    fitness[0] = -np.inf  # an individual whose error overflowed
    pop = Population(np.zeros((300, 2)), fitness, np.random.default_rng(0), g=7)
    s = pop.summary()
    assert s["generation"] == 7 and s["size"] == 300 and len(s["losses"]) == 200
    assert s["losses"][0] == 0.0 and s["losses"][-1] is None
    finite = [j for j in s["losses"] if j is not None]
    assert finite == sorted(finite) and len(finite) == 199


@pytest.fixture(scope="module")
def framer() -> Iterator[FrameWorker]:
    with FrameWorker() as worker:
        yield worker


@pytest.mark.parametrize("data", ["moons", "sine"])
def test_frame_process_sends_the_frames_the_server_makes(framer: FrameWorker, data: str) -> None:
    """The frame process's text is the server's own for the same weights, status and curves
    (classes with their confusion matrices, and a regression), also after the data change."""
    settings = Settings(data=data, n_samples=60, test_fraction=0.25, hidden=(4, 3),
                        activations=("tanh", "relu"))  # fmt: skip
    s = Session.start(settings)
    for _ in range(3):
        s.step("epoch")
    p = plane(s.data, s.settings.map_axes)
    status = {"epoch": s.epoch, "running": True, "error": None}
    expected = frame_text(live_frame(s, p, s.network, status))
    got = framer.text(1, (s.data, p, network_shape(s.network)), s.network.get_flat(),
                      status, curve(s))  # fmt: skip
    assert got == expected
    assert json.loads(got)["map"]["n"] >= 100


def test_playing_through_the_frame_process(framer: FrameWorker) -> None:
    """While training runs the frames come from the frame process; when it is gone, from the
    server again (no frame lost); its setup is dropped when the page goes."""
    pg = Playground(hosts=("testserver",), framer=framer)
    built, setups = framer.built, len(framer.setups)
    with TestClient(create_app(pg)).websocket_connect(f"/ws?token={pg.token}",
                                                      headers=ORIGIN) as ws:  # fmt: skip
        page = Page(ws)
        page.send(cmd="play")
        running = [f for f in (page.until("frame") for _ in range(20)) if f["running"]]
        assert framer.built > built and len(framer.setups) == setups + 1
        assert running and all(f["map"]["n"] >= 100 for f in running)
        page.settled()
    deadline = time.monotonic() + 60  # the server forgets the setup once the page has gone
    while len(framer.setups) > setups and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(framer.setups) == setups
    gone = FrameWorker()
    gone.process.kill()
    gone.process.join()
    pg = Playground(hosts=("testserver",), framer=gone)
    with TestClient(create_app(pg)).websocket_connect(f"/ws?token={pg.token}",
                                                      headers=ORIGIN) as ws:  # fmt: skip
        page = Page(ws)
        page.until("frame")
        page.send(cmd="play")
        running = [f for f in (page.until("frame") for _ in range(10)) if f["running"]]
        assert running and gone.broken and gone.built == 0
        page.settled()
    gone.close()
