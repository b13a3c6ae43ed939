"""The playground's server: a Starlette app with the page, its static files and one WebSocket.

Security: the server listens on 127.0.0.1 only (:mod:`retroprop.cli.playground`); the page and
the socket need the random token of the URL the command prints; the socket refuses an
``Origin`` other than the page's own (and a ``Host`` other than the loopback names, against
DNS rebinding); the only file read is the CSV named on the command line (a CSV loaded in the
page arrives as text over the socket); every user string is escaped where the page places it;
a bad message gets an ``error`` frame and the connection carries on.

On the socket the page sends commands (``{"cmd": "play"}``, ``{"cmd": "step", "unit":
"sample"}``, …, see :data:`COMMANDS`) and the server sends frames (:mod:`.frames`). Each
connection has its own :class:`~.session.Session`; training runs in its worker thread
(:class:`~.runner.Runner`) and a sender task sends the newest picture at most
:data:`MAX_FPS` times a second. While training runs, the picture is built by the frame
process (:mod:`.framer`) when the server has one, so that it does not take the GIL from the
training thread; otherwise, and whenever that process fails, by the server itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from retroprop.apps.playground.data import plane
from retroprop.apps.playground.exports import export
from retroprop.apps.playground.framer import FrameError, FrameWorker, network_shape
from retroprop.apps.playground.frames import (
    curve,
    data_frame,
    frame_text,
    live_frame,
    step_frame,
)
from retroprop.apps.playground.history import History
from retroprop.apps.playground.runner import Runner
from retroprop.apps.playground.saved_state import MAX_CSV_BYTES, csv_data, load_state
from retroprop.apps.playground.session import CsvData, Session
from retroprop.apps.playground.settings import ProtocolError, Settings, catalog, settings_from_json
from retroprop.errors import RetropropError
from retroprop.views.i18n import LANGUAGES, words

__all__ = ["MAX_FPS", "Playground", "create_app"]

MAX_FPS = 24
"""Frames per second the sender sends at most (the newest picture each time)."""
MAX_MESSAGE_BYTES = 32 << 20
"""Size of a message on the socket (a saved state with its CSV fits: at most
:data:`~.saved_state.MAX_CSV_BYTES` of CSV, escaped, and the weights)."""
LOOPBACK = ("127.0.0.1", "localhost")


@dataclass
class Playground:
    """What the server was started with: the token, the command line's CSV (read once at
    start), the first settings and the frame process (if any)."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    csv: CsvData | None = None
    settings: Settings = field(default_factory=Settings)
    hosts: tuple[str, ...] = LOOPBACK
    lang: str = "en"
    framer: FrameWorker | None = None

    def allowed(self, token: str | None) -> bool:
        return token is not None and secrets.compare_digest(token, self.token)

    def host_ok(self, host_header: str | None) -> bool:
        """A Host of the loopback names (with any port): not a rebound DNS name."""
        host = urlsplit(f"//{host_header or ''}").hostname
        return host in self.hosts

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """The socket's Origin is the page's own: http://<the Host header>."""
        return origin is not None and host_header is not None and origin == f"http://{host_header}"


def _page(pg: Playground) -> str:
    """The page, with the token and the words of both languages placed safely."""
    html = resources.files("retroprop.apps.playground").joinpath("static/index.html")
    data = {
        "token": pg.token, "lang": pg.lang, "strings": {k: words(k) for k in LANGUAGES},
        "limits": {"csv_bytes": MAX_CSV_BYTES, "message_bytes": MAX_MESSAGE_BYTES},
    }  # fmt: skip
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return (
        html.read_text("utf-8")
        .replace("{{lang}}", escape(pg.lang))
        .replace("{{title}}", escape(words(pg.lang)["pg_title"]))
        .replace("{{data}}", payload)
    )


def create_app(pg: Playground) -> Starlette:
    """The Starlette app of the playground ``pg``."""

    async def index(request: Request) -> Response:
        if not pg.host_ok(request.headers.get("host")):
            return PlainTextResponse("wrong host", status_code=403)
        if not pg.allowed(request.query_params.get("token")):
            return PlainTextResponse("token required: open the URL the command printed", 403)
        return HTMLResponse(_page(pg), headers=_HEADERS)

    async def socket(ws: WebSocket) -> None:
        host = ws.headers.get("host")
        if not (
            pg.allowed(ws.query_params.get("token"))
            and pg.host_ok(host)
            and pg.origin_ok(ws.headers.get("origin"), host)
        ):
            await ws.close(code=1008)  # policy violation
            return
        await ws.accept()
        await Connection(ws, pg).run()

    static = StaticFiles(packages=[("retroprop.apps.playground", "static")])
    return Starlette(
        routes=[
            Route("/", index),
            WebSocketRoute("/ws", socket),
            Mount("/static", app=static, name="static"),
        ]
    )


_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


_KEYS = itertools.count()
"""Numbers of the connections (their setups' names in the frame process)."""

Handler = Callable[["Connection", dict[str, Any]], Awaitable[None]]
COMMANDS: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    """Register a socket command's handler."""

    def register(f: Handler) -> Handler:
        COMMANDS[name] = f
        return f

    return register


class Connection:
    """One page's socket: its session, its worker thread and its sender task."""

    def __init__(self, ws: WebSocket, pg: Playground) -> None:
        self.ws, self.pg = ws, pg
        self.key = next(_KEYS)
        self.loop = asyncio.get_running_loop()
        self.dirty = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.session: Session | None = None
        self.runner: Runner | None = None
        self.history = History()
        self.plane: Any = None
        self.handled = 0
        self.waking = False
        """Commands carried out (or refused) so far: each live frame says how many."""

    def notify(self) -> None:
        """A new picture exists (callable from the worker thread). Wakes the event loop once
        until the sender has taken the picture, not once per epoch."""
        if self.waking:
            return
        self.waking = True
        self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self.waking = False
        self.dirty.set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.send_text(frame_text(frame))

    async def send_text(self, text: str) -> None:
        async with self.send_lock:
            await self.ws.send_text(text)

    async def error(self, message: str, cmd: Any = None) -> None:
        await self.send({"type": "error", "message": message, "cmd": cmd})

    async def run(self) -> None:
        """Greet, then receive commands until the page goes; the sender runs alongside."""
        await self.send({"type": "catalog", **catalog()})
        try:
            self.start(Session.start(self.pg.settings, self.pg.csv))
        except RetropropError as exc:
            await self.error(str(exc))
            self.start(Session.start(Settings()))
        await self.send(data_frame(self.session_, self.plane))
        sender = asyncio.create_task(self.sender())
        try:
            await self.receive()
        finally:
            sender.cancel()
            if self.pg.framer is not None:
                self.pg.framer.forget(self.key)
            if self.runner is not None:
                await asyncio.to_thread(self.runner.pause)

    @property
    def session_(self) -> Session:
        assert self.session is not None
        return self.session

    @property
    def runner_(self) -> Runner:
        assert self.runner is not None
        return self.runner

    def start(self, session: Session) -> None:
        """Use ``session`` (a new one, or reconfigured) and its plane."""
        self.session = session
        if self.runner is None:
            self.runner = Runner(session, self.notify)
        self.plane = plane(session.data, session.settings.map_axes)
        self.dirty.set()

    async def receive(self) -> None:
        """Carry out commands until the page goes (or a frame could not be sent to it)."""
        with contextlib.suppress(WebSocketDisconnect):
            while self.ws.application_state == WebSocketState.CONNECTED:
                text = await self.ws.receive_text()
                await self.handle(text)

    async def handle(self, text: str) -> None:
        """Carry out one command; whatever goes wrong becomes an error frame."""
        cmd: Any = None
        try:
            msg = json.loads(text)
            if not isinstance(msg, dict) or not isinstance(msg.get("cmd"), str):
                raise ProtocolError('expected a JSON object {"cmd": …}')
            cmd = msg["cmd"]
            if cmd not in COMMANDS:
                raise ProtocolError(f"unknown command {cmd!r}; known: {', '.join(COMMANDS)}")
            await COMMANDS[cmd](self, msg)
        except (json.JSONDecodeError, UnicodeDecodeError):
            await self.error('not JSON: expected a JSON object {"cmd": …}', cmd)
        except RetropropError as exc:
            await self.error(str(exc), cmd)
        except WebSocketDisconnect:
            raise
        except Exception as exc:  # our bug: say so, and keep the connection
            await self.error(f"internal error: {type(exc).__name__}: {exc}", cmd)
        finally:
            self.handled += 1
            self.dirty.set()  # every command is answered by a live frame that counts it

    async def pause(self) -> None:
        if self.runner_.running:
            await asyncio.to_thread(self.runner_.pause)

    def change(self, what: str) -> contextlib.AbstractContextManager[None]:
        """A change of the session that undo can take back (made while paused)."""
        return self.history.change(self.session_, what)

    def status(self) -> dict[str, Any]:
        s, r = self.session_, self.runner_
        return {
            "epoch": s.epoch,
            "updates": s.updates,
            "position": s.position,
            "running": r.running,
            "can_undo": bool(self.history.undo),
            "can_redo": bool(self.history.redo),
            **self.history.labels(),
            "population": None if s.population is None else s.population.summary(),
            "error": r.error,
            "handled": self.handled,
            "time": time.time(),
        }

    def picture(self) -> dict[str, Any]:
        """The live frame: of the worker's latest weights while it runs, else the session's."""
        s, r = self.session_, self.runner_
        net = s.network
        theta = r.latest
        if r.running and theta is not None:
            net = net.copy()
            net.set_flat(theta)
        return live_frame(s, self.plane, net, self.status())

    async def picture_text(self) -> str:
        """The live frame's JSON text; while training runs, built by the frame process (the
        same text :meth:`picture` gives; the server builds it if that process fails)."""
        s, r, framer = self.session_, self.runner_, self.pg.framer
        theta = r.latest
        if framer is not None and r.running and theta is not None:
            setup = (s.data, self.plane, network_shape(s.network))
            try:
                return await asyncio.to_thread(
                    framer.text, self.key, setup, theta, self.status(), curve(s)
                )
            except FrameError:
                pass
        return frame_text(self.picture())

    async def sender(self) -> None:
        """Send the newest picture whenever there is one, at most :data:`MAX_FPS` a second."""
        while True:
            await self.dirty.wait()
            self.dirty.clear()
            started = time.perf_counter()
            await self.send_text(await self.picture_text())
            await asyncio.sleep(max(0.0, 1.0 / MAX_FPS - (time.perf_counter() - started)))


# -- the commands -------------------------------------------------------------------------------
# Every command that changes the session pauses first and makes its change inside
# ``c.change(what)``: undo takes it back (``what`` is the page's word for it).
@command("play")
async def _play(c: Connection, msg: dict[str, Any]) -> None:
    if not c.runner_.running:
        with c.change("pg_play"):
            c.runner_.play()


@command("pause")
async def _pause(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    c.dirty.set()


@command("reset")
async def _reset(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    with c.change("pg_reset"):
        c.session_.reset()
    await c.send(data_frame(c.session_, c.plane))


@command("configure")
async def _configure(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    with c.change("pg_settings_change"):
        c.session_.configure(settings_from_json(msg.get("settings"), c.session_.settings))
        c.start(c.session_)
    await c.send(data_frame(c.session_, c.plane))


STEP_WORDS = {"sample": "pg_step_sample", "batch": "pg_step_batch", "epoch": "pg_step_epoch"}


@command("step")
async def _step(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    unit = msg.get("unit", "sample")
    with c.change(STEP_WORDS.get(unit, "")):
        trace = c.session_.step(unit)
    if trace is not None:
        await c.send(step_frame(trace))


@command("edit")
async def _edit(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    with c.change("pg_weight_edit"):
        c.session_.set_param(
            msg.get("layer"), msg.get("kind"), msg.get("j"), msg.get("i", 0), msg.get("value")
        )


@command("undo")
async def _undo(c: Connection, msg: dict[str, Any]) -> None:
    await _move(c, "undo")


@command("redo")
async def _redo(c: Connection, msg: dict[str, Any]) -> None:
    await _move(c, "redo")


async def _move(c: Connection, move: Literal["undo", "redo"]) -> None:
    """Pause, then undo or redo the last change (an error when there is none)."""
    await c.pause()
    done = c.history.back(c.session_) if move == "undo" else c.history.forward(c.session_)
    if not done:
        raise ProtocolError(f"{move}: nothing to {move}")
    c.start(c.session_)
    await c.send(data_frame(c.session_, c.plane))


@command("export")
async def _export(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    lang = msg.get("lang", "en")
    frame = export(c.session_, msg.get("kind"), lang if lang in LANGUAGES else "en")  # type: ignore[arg-type]
    await c.send({**frame, "purpose": msg.get("purpose", "download")})


@command("load_state")
async def _load_state(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    with c.change("pg_load_state"):
        load_state(c.session_, msg.get("state"), c.pg.csv)
        position = (c.session_.position, c.session_.epoch)
        c.start(c.session_)
        assert position == (c.session_.position, c.session_.epoch)
    await c.send(data_frame(c.session_, c.plane))


@command("load_csv")
async def _load_csv(c: Connection, msg: dict[str, Any]) -> None:
    await c.pause()
    text, name = msg.get("text"), msg.get("name", "data.csv")
    if not isinstance(text, str) or not isinstance(name, str):
        raise ProtocolError("load_csv: expected the file's name and text")
    csv = csv_data(name, text)
    settings = settings_from_json(
        {"data": "csv", "target": msg.get("target"), "map_axes": None}, c.session_.settings
    )
    with c.change("pg_csv_file"):
        c.session_.configure(settings, csv)
        c.start(c.session_)
    await c.send(data_frame(c.session_, c.plane))
