"""Take the README's screenshots of the labelling page (headless system Chromium, Playwright).

    python docs/screenshots.py [--chromium /usr/bin/chromium]

A rehearsal (made-up pairs, no model) is answered 17 times so that the counts, the balance and
the learning curve show something, then the page is shot at a desktop and a phone width.
"""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from active.web import WebOracle
from active.web.rehearsal import Rehearsal

HERE = Path(__file__).resolve().parent
WIDTHS = {"labeller-wide.png": (1280, 560), "labeller-narrow.png": (420, 900)}


def main() -> None:
    """Answer a rehearsal part-way through and save one PNG per width under docs/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    oracle = WebOracle(port=0, quiet=True).start()
    thread = threading.Thread(target=Rehearsal(oracle, 60, seed=3).run, daemon=True)
    thread.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(oracle.url)
        for key in "mnnmumnnmnmnnumnm":
            old = page.evaluate("document.getElementById('desk').dataset.token")
            page.keyboard.press(key)
            page.wait_for_function("old => document.getElementById('desk').dataset.token !== old",
                                   arg=old)
        for name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.screenshot(path=str(HERE / name), full_page=True)
            print(f"wrote {HERE / name}")
        browser.close()
    oracle.close()
    thread.join(5)


if __name__ == "__main__":
    main()
