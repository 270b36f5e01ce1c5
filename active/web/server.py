"""The web labeller's server: a Starlette app on a local port, run by uvicorn in a thread.

`WebOracle.ask(view)` opens the question on a `Desk` and blocks until the page answers it. The
page is rendered on the server; a small script (keys m/n/u/s/b/q, answering without a reload)
is an enhancement. The server never writes anything: an answer exists once the loop has it.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs

try:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the web labeller needs starlette and uvicorn: pip install 'riskweasul[web]'"
    ) from exc

from active.oracles import PairView
from active.web.desk import Desk
from active.web.page import render_desk, render_page
from blocking.answers import Answer

STATIC = Path(__file__).with_name("static")
NEXT_WAIT_S = 10.0
"""How long the reply to an answer waits for the loop's next pair before showing 'waiting'."""
POLL_WAIT_S = 20.0
"""How long the page's long poll for the next pair is held open."""
_ANSWERS = {answer.value: answer for answer in Answer}
REFUSED = ("That answer was not taken: the pair it was for is no longer open (it was answered in "
           "another tab, or the session moved on). Nothing was stored from it; this is the "
           "current pair.")
_NO_STORE = {"Cache-Control": "no-store"}


def build_app(desk: Desk, *, show_score: bool = False,
              allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]")) -> Starlette:
    """The labelling page's app on `desk` (separate from the server so tests can call it)."""

    def html(text: str, status_code: int = 200) -> HTMLResponse:
        return HTMLResponse(text, status_code=status_code, headers=_NO_STORE)

    async def index(request: Request) -> Response:
        return html(render_page(desk.state(), show_score=show_score))

    async def question(request: Request) -> Response:
        after = request.query_params.get("after", "")
        state = await run_in_threadpool(desk.wait_next, after, POLL_WAIT_S)
        return html(render_desk(state, show_score=show_score))

    async def answer(request: Request) -> Response:
        # The page's form is url-encoded; parsed here to spare the python-multipart dependency.
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        token, value = form.get("token", [""])[0], form.get("answer", [""])[0]
        scripted = request.headers.get("x-labeller") == "fetch"
        notice, status_code = "", 200
        if value not in _ANSWERS:
            state = desk.state()
            notice = (f"Unknown answer {value!r}; use one of {', '.join(_ANSWERS)}. "
                      "Nothing was stored.")
            status_code = 400
        elif desk.submit(token, _ANSWERS[value]):
            state = await run_in_threadpool(desk.wait_next, token, NEXT_WAIT_S)
            if not scripted:
                return RedirectResponse("/", status_code=303)
        else:
            state = desk.state()
            notice = (REFUSED if not state.closed
                      else "The session has ended; that answer was not stored.")
            status_code = 409
        if scripted:
            return html(render_desk(state, show_score=show_score, notice=notice), status_code)
        return html(render_page(state, show_score=show_score, notice=notice), status_code)

    routes = [
        Route("/", index),
        Route("/question", question),
        Route("/answer", answer, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes,
                     middleware=[Middleware(TrustedHostMiddleware,
                                            allowed_hosts=list(allowed_hosts))])


def _bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, or an error that says what to do when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it a keep-alive reply waits ~40 ms for the
    # browser's delayed ACK (Nagle), a fifth of the 200 ms a key may take.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(
            exc.errno,
            f"WebOracle: cannot listen on {host}:{port} ({exc.strerror}); is another labelling "
            "page running there? Pass another port (port=0 picks a free one)",
        ) from exc
    return sock


class WebOracle:
    """A person in a browser: a local page shows each pair side by side with the differences
    highlighted, why it was asked, k of budget, the class balance and the live F1 estimate.

    `ask(view)` starts the server on first use (``http://host:port/``, printed to stderr) and
    blocks until the page answers that very pair; `close()` stops the server. Use as a context
    manager to close it on the way out. ``port=0`` picks a free port (see `url`).
    """

    def __init__(self, port: int = 8765, host: str = "127.0.0.1", *, show_score: bool = False,
                 open_browser: bool = False, quiet: bool = False) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"WebOracle: port must be an integer from 0 to 65535, got {port!r}")
        self.port = port
        self.host = host
        self.show_score = show_score
        self.open_browser = open_browser
        self.quiet = quiet
        self._desk = Desk()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._closed = False
        self._starting = threading.Lock()

    @property
    def url(self) -> str:
        """The page's address (with the port actually bound once started)."""
        port = self._bound_port if self._bound_port is not None else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}/"

    def start(self) -> WebOracle:
        """Start serving the page (done by the first `ask`); returns self."""
        with self._starting:
            if self._closed:
                raise RuntimeError("WebOracle: closed; make a new WebOracle to label again")
            if self._thread is None:
                self._serve()
        return self

    def _serve(self) -> None:
        self._socket = _bind(self.host, self.port)
        self._bound_port = self._socket.getsockname()[1]
        local = ("127.0.0.1", "localhost", "[::1]")
        hosts = ("*",) if self.host in ("0.0.0.0", "::", "") else (*local, self.host)
        app = build_app(self._desk, show_score=self.show_score, allowed_hosts=hosts)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]},
                                        name="riskweasul-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"WebOracle: the labelling page at {self.url} did not start")
            time.sleep(0.01)
        if not self.quiet:
            print(f"labelling page: {self.url}  (each answer is stored as you give it)",
                  file=sys.stderr)
        if self.open_browser:
            webbrowser.open(self.url)

    def ask(self, view: PairView) -> Answer:
        """Show `view` on the page and wait for the answer to it (QUIT once closed)."""
        self.start()
        return self._desk.wait_answer(self._desk.publish(view))

    def close(self) -> None:
        """Stop the server; a blocked `ask` returns QUIT. Safe to call twice."""
        self._closed = True
        self._desk.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> WebOracle:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
