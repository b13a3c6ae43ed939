"""``retroprop playground``: the live page, served on this machine only.

The command reads the CSV (if one is named) and checks that it can be trained on, starts the
server (:mod:`retroprop.apps.playground.server`) on 127.0.0.1, prints the URL with its token,
opens the browser, and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from retroprop.cli._common import CommandError, choice, console
from retroprop.cli._options import EncodingOpt, encoding_value, seed_option

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from retroprop.apps.playground.server import Playground

__all__ = ["playground"]


def _listen(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:port (0: any free port); never another interface.

    It listens before the URL is printed, so a page opened at once waits in the queue until the
    server accepts, rather than being refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise CommandError(f"--port {port}: cannot listen there ({exc.strerror})") from None
    return sock


def playground(
    data: Annotated[
        Path | None,
        typer.Argument(
            help="A CSV file to train on (none: the built-in data sets).", show_default=False
        ),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="The CSV's column to predict [default: its last column].")
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free port).")
    ] = 0,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Only print the URL.")] = False,
    lang: Annotated[str, typer.Option(help="Language of the page: en or es (it has both).")] = "en",
    test_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Share of the CSV's rows held out for testing.")
    ] = 0.2,
    seed: Annotated[int, seed_option("Seed of the split, the weights and the sample order.")] = 0,
    encoding: EncodingOpt = "utf-8",
) -> None:
    """Watch and step backpropagation live in the browser, on built-in data or your CSV.

    Starts a local server on 127.0.0.1 (nothing outside this machine can reach it), prints
    its URL (with a random token that the page and its socket require) and opens the browser.
    The page trains a network you shape (layers, activations, loss, every solver retroprop
    has, online / mini-batch / full batch) and shows the decision map, a small map in every
    hidden neuron, the weights, the curves and the confusion matrix while it learns; step one
    sample to see every equation of the step filled in (the numbers of retroprop explain),
    click a weight to type a new one, save the state or export the model. A CSV is
    preprocessed as retroprop train does. Ctrl-C stops the server.

    Example:

        retroprop playground

        retroprop playground penguins.csv --target species --lang es
    """
    from retroprop.apps.playground.server import Playground, create_app
    from retroprop.apps.playground.session import CsvData, Session
    from retroprop.apps.playground.settings import Settings

    choice("--lang", lang, ("en", "es"))
    encoding_value(encoding)
    settings, csv = Settings(seed=seed), None
    if data is not None:
        from retroprop.data.tabular import read_csv

        table = read_csv(data, encoding=encoding)
        target = target or table.names[-1]
        if target not in table:
            raise CommandError(f"--target: {data.name} has no column {target!r}")
        settings = Settings(data="csv", target=target, test_fraction=test_fraction, seed=seed)
        csv = CsvData(table, encoding=encoding)
    elif target is not None or encoding != "utf-8":
        option = "--target" if target is not None else "--encoding"
        raise CommandError(f"{option}: only with a CSV file")
    Session.start(settings, csv)  # the data can be trained on: say so now, not in the page
    pg = Playground(csv=csv, settings=settings, lang=lang)
    _serve(pg, create_app(pg), _listen(port), no_browser)


def _serve(pg: Playground, app: Starlette, sock: socket.socket, no_browser: bool) -> None:
    """Run the server on ``sock`` until Ctrl-C; print the URL and open the browser."""
    import uvicorn
    from threadpoolctl import threadpool_limits

    from retroprop.apps.playground.framer import FrameWorker
    from retroprop.apps.playground.server import MAX_MESSAGE_BYTES

    # The worker thread trains in compiled code that holds the GIL; a shorter switch interval
    # lets the event loop send frames (and build them, without a frame process) between its
    # epochs.
    sys.setswitchinterval(0.001)
    # The frames' matrix products are small (a 100 × 100 map through a few neurons): with more
    # than one BLAS thread, OpenBLAS's threads fork, join and spin on every product and take
    # the cores from the training thread (measured on a loaded 2-core machine: the map took
    # 12 ms instead of 1 ms, and training with the page open fell to 30-40 % of fit's rate).
    threadpool_limits(limits=1, user_api="blas")
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/?token={pg.token}"
    # Frames go to this machine only: compressing them (permessage-deflate, 50-60 kB of JSON
    # 20-30 times a second) was the event loop's largest cost, and the page's to inflate them.
    config = uvicorn.Config(
        app,
        log_level="warning",
        ws="auto",
        lifespan="off",
        ws_max_size=MAX_MESSAGE_BYTES,
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    # live frames are built in a child process while training runs (apps/playground/framer)
    with FrameWorker() as pg.framer:
        console.print(
            f"retroprop playground: {url}\n(Ctrl-C stops it)", soft_wrap=True, markup=False
        )
        if not no_browser:
            threading.Timer(0.5, webbrowser.open, args=(url,)).start()
        with contextlib.suppress(KeyboardInterrupt):
            # uvicorn shuts down on Ctrl-C, then raises the signal again for its caller
            server.run(sockets=[sock])
    console.print("retroprop playground: stopped", markup=False)
