"""Web labeller: time from a key (or click) to the next pair on the page, in headless Chromium.

    python benchmarks/web_labeller.py [--pairs 40] [--repeats 3] [--chromium /usr/bin/chromium]

A rehearsal session (made-up pairs; the next pair is ready as soon as an answer arrives, as in
the loop) is answered through the page three ways:
- `keys (in page)`: the page's script; from the keydown event to the next pair in the DOM plus
  one animation frame, measured inside the page (performance.now);
- `keys (driver)`: the same, seen from the test driver (Playwright's key press until it sees the
  new pair; includes the driver's own round trips and polling);
- `plain form (driver)`, the baseline: JavaScript off, a click on the button posts the form and
  the browser loads the next page (303 redirect), until its load event.
Bar (issue 22): <= 200 ms per key.
"""

from __future__ import annotations

import argparse
import platform
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from playwright.sync_api import sync_playwright

from active.web import WebOracle
from active.web.rehearsal import Rehearsal

RESULTS = Path(__file__).resolve().parent / "results" / "web_labeller.md"
ANSWERS = "mnu"

# Installed in the page: stamps each keydown and, when #desk is replaced, the next frame after it.
_PROBE = """() => {
  window.__lat = [];
  let t0 = null;
  document.addEventListener('keydown', () => { t0 = performance.now(); }, true);
  new MutationObserver(() => {
    if (t0 === null) return;
    const start = t0; t0 = null;
    requestAnimationFrame(() => window.__lat.push(performance.now() - start));
  }).observe(document.body, { childList: true });
}"""


def _session(browser, n_pairs: int, script: bool) -> tuple[list[float], list[float]]:
    """Answer a fresh rehearsal of `n_pairs`; (driver-side ms, in-page ms) per answer."""
    oracle = WebOracle(port=0, quiet=True).start()
    rehearsal = Rehearsal(oracle, n_pairs)
    thread = threading.Thread(target=rehearsal.run, daemon=True)
    thread.start()
    context = browser.new_context(java_script_enabled=script)
    page = context.new_page()
    page.goto(oracle.url)
    page.wait_for_selector("#desk[data-state=question]")
    if script:
        page.evaluate(_PROBE)
    driver = []
    for i in range(n_pairs - 1):  # the last answer ends the session: nothing to wait for
        old = page.get_attribute("#desk", "data-token")
        t0 = time.perf_counter()
        if script:
            page.keyboard.press(ANSWERS[i % 3])
            page.wait_for_function(
                "old => document.getElementById('desk').dataset.token !== old", arg=old,
                polling=1)
        else:
            value = {"m": "match", "n": "non-match", "u": "unsure"}[ANSWERS[i % 3]]
            with page.expect_navigation(wait_until="load"):
                page.click(f'button[value="{value}"]')
            assert page.get_attribute("#desk", "data-token") != old
        driver.append((time.perf_counter() - t0) * 1000)
    if script:  # the last frame stamp may land just after the driver saw the new pair
        page.wait_for_function("n => window.__lat.length >= n", arg=n_pairs - 1, timeout=5000)
    in_page = page.evaluate("window.__lat") if script else []
    context.close()
    oracle.close()
    thread.join(5)
    if len(rehearsal.stored) != n_pairs - 1:
        raise RuntimeError(f"lost answers: {len(rehearsal.stored)} stored of {n_pairs - 1}")
    return driver, in_page


def main() -> None:
    """Time every method over `repeats` sessions and write the results table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"keys (in page)": [], "keys (driver)": [],
                                     "plain form (driver), baseline": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
        version = browser.version
        for _ in range(args.repeats):
            driver, in_page = _session(browser, args.pairs, script=True)
            times["keys (driver)"] += driver
            times["keys (in page)"] += in_page
            times["plain form (driver), baseline"] += _session(browser, args.pairs, False)[0]
        browser.close()
    baseline = np.median(times["plain form (driver), baseline"])
    rows = []
    for method, values in times.items():
        v = np.asarray(values)
        rows.append(f"| {method} | {len(v)} | {np.median(v):.1f} | {np.percentile(v, 95):.1f} | "
                    f"{v.max():.1f} | {np.median(v) / baseline:.2f} |")
    command = (f"python benchmarks/web_labeller.py --pairs {args.pairs} --repeats {args.repeats}"
               f" --chromium {args.chromium}")
    text = "\n".join([
        "# Web labeller: key to next pair",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on the shared 2-core machine (other "
        f"jobs running); Chromium {version} headless, Python {platform.python_version()}.",
        "",
        f"{args.repeats} rehearsal sessions of {args.pairs} made-up pairs per method (answers "
        "m, n, u in turn; the next pair is ready when an answer arrives, as in the loop). Times "
        "in ms per answer; ratio = median / the plain form's median. Bar (issue 22): <= 200 ms.",
        "",
        "| method | answers | median | p95 | max | ratio |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
