"""The frame process: live frames built off the server's GIL while training runs.

Training runs in a thread of the server in compiled code that holds the GIL between its
epochs' Python steps; a live frame (the decision map and the neurons' maps through the blocked
``predict``, the measurements, and some 50 kB of JSON) built in the same process must take the
GIL from it dozens of times a frame. A :class:`FrameWorker` is one child process that builds
them instead: the server sends it the weights, the status and the thinned curves (a few kB),
and gets back the frame's JSON text, the very text :func:`.frames.frame_text` makes of
:func:`.frames.live_frame` (same function, same inputs). The data, the map's plane and the
network's shape are sent once per change of them ("setup").

The child ignores Ctrl-C (the server stops it: :meth:`FrameWorker.close`) and ends when its
pipe closes, so a server that dies leaves no process behind.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from retroprop.apps.playground.data import Plane, Prepared
from retroprop.apps.playground.frames import frame_text, picture_frame
from retroprop.core.network import Network

__all__ = ["FrameError", "FrameWorker", "Setup", "network_shape"]

Shape = tuple[tuple[int, ...], tuple[str, ...], str, str]
"""A network's shape: sizes, activation per layer, loss and dtype (no weights)."""
Setup = tuple[Prepared, Plane, Shape]
"""What a frame needs beyond the weights: the data, the map's plane and the network's shape."""


class FrameError(RuntimeError):
    """The frame process failed or is gone (the server then builds frames itself)."""


def network_shape(net: Network) -> Shape:
    """The shape of ``net``, from which the child builds a network to load weights into."""
    names = tuple(ly.activation.name for ly in net.layers)
    return tuple(net.sizes), names, net.loss.name, np.dtype(net.dtype).name


class FrameWorker:
    """One child process that turns (weights, status, curves) into live frames' JSON text.

    Thread-safe: the connections of a server share it (one request at a time). ``key`` names a
    connection's setup (a number never used again once forgotten); :meth:`text` sends the setup
    again when its objects changed.
    """

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve, args=(child,), name="retroprop-playground-frames", daemon=True
        )
        self.process.start()
        child.close()
        self.lock = threading.Lock()
        self.setups: dict[int, Setup] = {}
        self.forgotten: set[int] = set()
        self.broken = False
        self.built = 0
        """Frames built so far."""

    def text(
        self,
        key: int,
        setup: Setup,
        theta: NDArray[np.floating],
        status: dict[str, Any],
        curves: dict[str, list[float | None]],
    ) -> str:
        """The JSON text of the live frame of weights ``theta`` (blocks until built).

        Raises:
            FrameError: the frame could not be built there, or the process is gone.
        """
        with self.lock:
            if self.broken:
                raise FrameError("the frame process is gone")
            if key in self.forgotten:  # a frame asked for as its page went
                raise FrameError(f"no setup {key}: forgotten")
            try:
                self._send_setup(key, setup)
                self.conn.send(("frame", key, theta, status, curves))
                kind, text = self.conn.recv()
            except (OSError, EOFError) as exc:
                self.broken = True
                raise FrameError(f"the frame process is gone ({exc})") from None
        if kind != "text":
            raise FrameError(text)
        self.built += 1
        return str(text)

    def _send_setup(self, key: int, setup: Setup) -> None:
        """Send ``setup`` unless the child has these very objects for ``key``."""
        old = self.setups.get(key)
        if old is None or old[0] is not setup[0] or old[1] is not setup[1] or old[2] != setup[2]:
            self.conn.send(("setup", key, setup))
            self.setups[key] = setup

    def forget(self, key: int) -> None:
        """Drop the setup of a connection that closed (``key`` is not used again)."""
        with self.lock:
            self.forgotten.add(key)
            if self.setups.pop(key, None) is not None and not self.broken:
                try:
                    self.conn.send(("forget", key))
                except OSError:
                    self.broken = True

    def close(self) -> None:
        """Stop the child: told to (once a frame it builds is done), else terminated after 5 s."""
        if self.lock.acquire(timeout=5):
            try:
                self.broken = True
                with contextlib.suppress(OSError):
                    self.conn.send(None)
            finally:
                self.lock.release()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()

    def __enter__(self) -> FrameWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _serve(conn: Connection) -> None:
    """The child: build frames until told to stop or the pipe closes."""
    from threadpoolctl import threadpool_limits

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    threadpool_limits(limits=1, user_api="blas")  # small products: one thread is fastest
    nets: dict[int, tuple[Prepared, Plane, Network]] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        if msg[0] == "setup":
            data, plane, shape = msg[2]
            nets[msg[1]] = (data, plane, _network(shape))
        elif msg[0] == "forget":
            nets.pop(msg[1], None)
        else:
            conn.send(_frame(nets, *msg[1:]))


def _network(shape: Shape) -> Network:
    """A network of ``shape`` (its weights are replaced by every frame's)."""
    sizes, activations, loss, dtype = shape
    return Network.create(list(sizes), activation=list(activations), loss=loss, dtype=dtype)


def _frame(
    nets: dict[int, tuple[Prepared, Plane, Network]],
    key: int,
    theta: NDArray[np.floating],
    status: dict[str, Any],
    curves: dict[str, list[float | None]],
) -> tuple[str, str]:
    """("text", the frame's JSON) or ("error", what went wrong)."""
    try:
        data, plane, net = nets[key]
        net.set_flat(theta)
        return "text", frame_text(picture_frame(data, plane, net, status, curves))
    except Exception as exc:  # reported to the server, which builds the frame itself
        return "error", f"{type(exc).__name__}: {exc}"
