"""The web labeller: the app through Starlette's TestClient, the server through HTTP, and whole
sessions in headless Chromium (skipped, with the reason, where no Chromium or Playwright is)."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web labeller needs the web extra: "
                    "pip install 'riskweasul[web]'")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx: pip install httpx")

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402

with warnings.catch_warnings():  # Starlette 1.x prefers the httpx2 fork; httpx still works
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from active.oracles import PairView, SessionProgress  # noqa: E402
from active.terminal import InteractiveOracle  # noqa: E402
from active.web import WebOracle  # noqa: E402
from active.web import server as web_server  # noqa: E402
from active.web.desk import Desk  # noqa: E402
from active.web.rehearsal import Rehearsal  # noqa: E402
from blocking.answers import Answer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class DeskOracle:
    """The loop's side of WebOracle.ask on a bare desk (for the app without a server)."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def ask(self, view: PairView) -> Answer:
        return self.desk.wait_answer(self.desk.publish(view))


def _token(html: str) -> str:
    return re.search(r'data-token="([^"]+)"', html).group(1)


def _key(html: str) -> str | None:
    found = re.search(r'data-key="([^"]+)"', html)
    return found.group(1) if found else None


def _wait_for(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def session():
    """A rehearsal of 6 pairs on a desk, its app's client and the loop thread."""
    desk = Desk()
    rehearsal = Rehearsal(DeskOracle(desk), 6, seed=1)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    _wait_for(lambda: desk.state().question is not None)
    client = TestClient(web_server.build_app(desk), base_url="http://127.0.0.1")
    yield desk, rehearsal, client
    desk.close()
    thread.join(5)


def test_page_shows_the_pair_reason_progress_and_answer_form(session):
    desk, rehearsal, client = session
    response = client.get("/")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    html = response.text
    view = rehearsal.view(0)
    assert _key(html) == "L000|R000" and "<title>riskweasul · pair L000|R000</title>" in html
    for attr in view.attributes:
        assert f'<th scope="row">{attr}</th>' in html
    assert view.left["name"].split()[0] in html and "asked because:" in html
    assert "0 of 6 answered" in html and "match 0 · non-match 0 · unsure 0" in html
    assert "F1 ≈ 0.72 (95% interval 0.42-1.00)" in html
    assert '<form method="post" action="/answer"' in html
    for value in ("match", "non-match", "unsure", "skip", "undo", "quit"):
        assert f'name="answer" value="{value}"' in html
    assert 'value="undo" class="undo" disabled' in html  # nothing to undo yet
    # Everything comes from the package: no CDN, no external address.
    assert "//" not in re.sub(r"<!doctype html>", "", html).replace("http-equiv", "")
    assert client.get("/static/labeller.js").status_code == 200
    assert client.get("/static/labeller.css").status_code == 200


def test_values_are_escaped_and_differences_marked():
    desk = Desk()
    view = PairView(position=0, key="a<1>|b", attributes=("name", "city", "zip"),
                    left={"name": "<script>alert(1)</script> Ltd", "city": "Bern", "zip": None},
                    right={"name": "Acme Ltd", "city": "Bern", "zip": 3000.0},
                    reason="risk <rule>", progress=SessionProgress(
                        n_answers=7, budget=50, can_undo=True,
                        learning_curve=((0, 0.7), (5, 0.8), (10, 0.85))))
    desk.publish(view)
    html = TestClient(web_server.build_app(desk), base_url="http://127.0.0.1").get("/").text
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>&lt;script&gt;alert(1)&lt;/script&gt;</mark> Ltd" in html  # Ltd is shared
    assert '<td class="same">Bern</td>' in html and '<td class="missing">(missing)</td>' in html
    assert "<mark>3000</mark>" in html and "risk &lt;rule&gt;" in html and "a&lt;1&gt;|b" in html
    assert 'value="undo" class="undo">' in html  # undo enabled
    assert "<polyline" in html and "F1 estimate (0.6-1) by labels (0-10)" in html
    assert "model P(match)" not in html


def test_form_post_without_script_redirects_to_the_next_pair(session):
    desk, rehearsal, client = session
    token = _token(client.get("/").text)
    response = client.post("/answer", data={"token": token, "answer": "match"},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert rehearsal.stored == [(0, Answer.MATCH)]
    page = client.get("/").text
    assert _key(page) == "L001|R001" and "1 of 6 answered" in page


def test_scripted_post_returns_the_next_pair_in_place(session):
    desk, rehearsal, client = session
    token = _token(client.get("/").text)
    response = client.post("/answer", data={"token": token, "answer": "non-match"},
                           headers={"X-Labeller": "fetch"})
    assert response.status_code == 200 and response.text.startswith('<main id="desk"')
    assert _key(response.text) == "L001|R001" and _token(response.text) != token
    assert rehearsal.stored == [(0, Answer.NON_MATCH)]


def test_a_second_tab_or_stale_form_is_refused_and_nothing_is_taken(session):
    desk, rehearsal, client = session
    first_tab = _token(client.get("/").text)
    second_tab = _token(client.get("/").text)
    assert first_tab == second_tab
    client.post("/answer", data={"token": first_tab, "answer": "match"},
                headers={"X-Labeller": "fetch"})
    stale = client.post("/answer", data={"token": second_tab, "answer": "non-match"})
    assert stale.status_code == 409 and "That answer was not taken" in stale.text
    assert _key(stale.text) == "L001|R001"  # the refusal shows the current pair
    forged = client.post("/answer", data={"token": "guess", "answer": "non-match"})
    assert forged.status_code == 409
    assert rehearsal.stored == [(0, Answer.MATCH)]


def test_concurrent_answers_to_one_pair_are_taken_once():
    desk = Desk()
    question = desk.publish(Rehearsal(DeskOracle(desk), 1).view(0))
    barrier = threading.Barrier(8)
    results = []

    def tab(answer: Answer) -> None:
        barrier.wait()
        results.append(desk.submit(question.token, answer))

    tabs = [threading.Thread(target=tab, args=([Answer.MATCH, Answer.NON_MATCH][i % 2],))
            for i in range(8)]
    for thread in tabs:
        thread.start()
    for thread in tabs:
        thread.join(5)
    assert sorted(results) == [False] * 7 + [True]
    assert desk.wait_answer(question) in (Answer.MATCH, Answer.NON_MATCH)


def test_unknown_answer_is_refused_with_the_list(session):
    desk, rehearsal, client = session
    token = _token(client.get("/").text)
    response = client.post("/answer", data={"token": token, "answer": "maybe"})
    assert response.status_code == 400
    assert "Unknown answer &#x27;maybe&#x27;; use one of match, non-match" in response.text
    assert rehearsal.stored == [] and desk.state().question.token == token


def test_skip_undo_and_relabel_reach_the_loop(session):
    desk, rehearsal, client = session

    def answer(value: str) -> str:
        token = _token(client.get("/").text)
        return client.post("/answer", data={"token": token, "answer": value},
                           headers={"X-Labeller": "fetch"}).text

    answer("match")      # pair 0
    answer("skip")       # pair 1, not stored
    page = answer("undo")  # takes back pair 0's answer, across the skip
    assert _key(page) == "L000|R000" and "0 of 6 answered" in page
    answer("unsure")
    answer("quit")
    assert rehearsal.stored == [(0, Answer.UNSURE)]


def test_waiting_page_refreshes_without_script_and_long_poll_returns_the_next_pair(monkeypatch):
    monkeypatch.setattr(web_server, "POLL_WAIT_S", 0.05)
    desk = Desk()
    client = TestClient(web_server.build_app(desk), base_url="http://127.0.0.1")
    page = client.get("/").text
    assert 'data-state="waiting"' in page and 'http-equiv="refresh"' in page
    assert 'data-state="waiting"' in client.get("/question?after=").text  # timed out
    timer = threading.Timer(0.02, desk.publish, args=(Rehearsal(DeskOracle(desk), 2).view(1),))
    monkeypatch.setattr(web_server, "POLL_WAIT_S", 5.0)
    timer.start()
    assert _key(client.get("/question?after=").text) == "L001|R001"


def test_closed_session_says_so_and_refuses_answers(session):
    desk, rehearsal, client = session
    token = _token(client.get("/").text)
    desk.close()
    assert "The labelling session has ended" in client.get("/").text
    response = client.post("/answer", data={"token": token, "answer": "match"})
    assert response.status_code == 409 and "that answer was not stored" in response.text
    assert rehearsal.stored == []


def test_foreign_host_header_is_rejected(session):
    _, _, client = session
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400


def test_weboracle_serves_answers_over_http_and_close_unblocks_ask():
    with pytest.raises(ValueError, match="port must be an integer from 0 to 65535"):
        WebOracle(port=70000)
    oracle = WebOracle(port=0, quiet=True)
    rehearsal = Rehearsal(oracle, 5)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    _wait_for(lambda: oracle._desk.state().question is not None)
    # Replies go out at once, not after the client's delayed ACK (about 40 ms on keep-alive).
    assert oracle._socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    with httpx.Client(base_url=oracle.url) as http:
        token = _token(http.get("/").text)
        response = http.post("/answer", data={"token": token, "answer": "match"},
                             headers={"X-Labeller": "fetch"})
        assert _key(response.text) == "L001|R001"
        with pytest.raises(OSError, match="is another labelling page running there"):
            WebOracle(port=int(oracle.url.rsplit(":", 1)[1].strip("/")), quiet=True).start()
    oracle.close()  # the loop's ask returns QUIT: the rehearsal ends with what it stored
    thread.join(5)
    assert not thread.is_alive() and rehearsal.stored == [(0, Answer.MATCH)]
    with pytest.raises(httpx.TransportError):
        httpx.get(oracle.url, timeout=1)
    with pytest.raises(RuntimeError, match="closed; make a new WebOracle"):
        oracle.ask(rehearsal.view(0))


# --- a real browser -------------------------------------------------------------------------

def _chromium() -> str | None:
    for candidate in (os.environ.get("RISKWEASUL_CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    """Headless system Chromium driven by Playwright (never a downloaded browser)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="browser tests need Playwright's Python package: pip install playwright "
               "(no browser download; the system Chromium is used)")
    executable = _chromium()
    if executable is None:
        pytest.skip("browser tests need Chromium from the system packages "
                    "(apt-get install chromium), or RISKWEASUL_CHROMIUM=/path/to/chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        yield browser
        browser.close()


def _press(page, key: str) -> None:
    """Press `key` on the page and wait until the page shows a new question (or ends)."""
    old = page.evaluate("document.getElementById('desk').dataset.token || ''")
    page.keyboard.press(key)
    page.wait_for_function(
        "old => { const d = document.getElementById('desk');"
        " return d.dataset.state !== 'question' || d.dataset.token !== old; }",
        arg=old, timeout=10_000)


# Twenty labelled pairs with skips, undos (one across a skip) and a reload in the middle.
KEYS = list("mnmsuum") + ["b", "n", "s", "b", "m"] + list("nnmum") + ["reload"] + list("mnuns") \
    + ["b", "u"] + list("mnmmn")


def _terminal_store(keys: list[str], n_pairs: int) -> list[tuple[int, Answer]]:
    """What the terminal labeller would have stored for the same keys."""
    script = iter(k for k in keys if k != "reload")
    console = Console(width=100, height=30, file=io.StringIO())
    oracle = InteractiveOracle(console=console, input_fn=lambda _p: next(script, "q"))
    return Rehearsal(oracle, n_pairs).run()


def test_browser_labels_twenty_pairs_by_keyboard_with_undo_and_reload(browser):
    n_pairs = 24
    oracle = WebOracle(port=0, quiet=True).start()
    rehearsal = Rehearsal(oracle, n_pairs)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    page = browser.new_page()
    try:
        page.goto(oracle.url)
        assert page.inner_text("h1") == "pair L000|R000"
        for key in KEYS:
            if key == "reload":
                page.reload()
                continue
            _press(page, key)
        assert page.evaluate("document.getElementById('desk').dataset.state") == "question"
        assert "20 of 24 answered" in page.inner_text(".answered")
        assert page.locator(".notice").count() == 0
    finally:
        page.close()
        oracle.close()
        thread.join(5)
    assert len(rehearsal.stored) == 20
    assert rehearsal.stored == _terminal_store(KEYS, n_pairs)


def test_browser_second_tab_is_refused_then_shows_the_current_pair(browser):
    oracle = WebOracle(port=0, quiet=True).start()
    rehearsal = Rehearsal(oracle, 5)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    try:
        first.goto(oracle.url)
        second.goto(oracle.url)
        _press(first, "m")
        _press(second, "n")  # stale: refused, shows the current pair with a message
        assert "That answer was not taken" in second.inner_text(".notice")
        assert second.inner_text("h1") == "pair L001|R001"
    finally:
        context.close()
        oracle.close()
        thread.join(5)
    assert rehearsal.stored == [(0, Answer.MATCH)]


def test_browser_without_script_labels_through_the_plain_form(browser):
    oracle = WebOracle(port=0, quiet=True).start()
    rehearsal = Rehearsal(oracle, 4)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(oracle.url)
        for value in ("match", "non-match", "undo", "unsure"):
            page.click(f'button[value="{value}"]')
        assert page.inner_text("h1") == "pair L002|R002"
    finally:
        context.close()
        oracle.close()
        thread.join(5)
    assert rehearsal.stored == [(0, Answer.MATCH), (1, Answer.UNSURE)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(port: int, store: Path, n_pairs: int) -> subprocess.Popen:
    """The rehearsal as its own process (so that it can be killed hard) on `port`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "active.web.rehearsal", "--port", str(port), "--store", str(store),
         "--pairs", str(n_pairs), "--quiet"], cwd=ROOT, env=os.environ.copy())
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.TransportError:
            assert process.poll() is None, "the rehearsal server exited"
            assert time.monotonic() < deadline, "the rehearsal server did not start"
            time.sleep(0.05)


def test_browser_session_survives_a_server_kill_without_losing_an_answer(browser, tmp_path):
    n_pairs, store, port = 40, tmp_path / "answers.jsonl", _free_port()
    keys = ["mnu"[i % 3] for i in range(n_pairs)]
    process = _serve(port, store, n_pairs)
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        for key in keys[:15]:
            _press(page, key)
        before_kill = page.evaluate("document.getElementById('desk').dataset.token")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        # A key pressed while the server is down is not taken; the page says so and retries.
        page.keyboard.press("m")
        page.wait_for_selector(".notice", timeout=10_000)
        assert "cannot be reached" in page.inner_text(".notice")
        process = _serve(port, store, n_pairs)
        # The restarted session asks pair 15 again, under a new token; the page picks it up.
        page.wait_for_function(
            "old => { const d = document.getElementById('desk');"
            " return d.dataset.key === 'L015|R015' && d.dataset.token !== old; }",
            arg=before_kill, timeout=15_000)
        assert page.locator(".notice").count() == 0
        for key in keys[15:]:
            _press(page, key)
        assert page.evaluate("document.getElementById('desk').dataset.state") == "closed"
        process.wait(15)
    finally:
        page.close()
        if process.poll() is None:
            process.kill()
    stored = Rehearsal(lambda _p: None, n_pairs, store=store).stored
    assert stored == [(i, {"m": Answer.MATCH, "n": Answer.NON_MATCH, "u": Answer.UNSURE}[k])
                      for i, k in enumerate(keys)]
