"""The terminal labeller's screen, driven through a fake terminal (rich Console, fixed size)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from active.oracles import PairView, SessionProgress
from active.terminal import MIN_WIDTH, InteractiveOracle
from blocking.answers import Answer

LONG = ("Sony Bravia KDL-46V5100 46-inch 1080p LCD HDTV with Motionflow 120Hz, Bravia Engine 2, "
        "four HDMI inputs, a PC input and a long description that goes on and on ") * 4


def _view(**progress) -> PairView:
    defaults = dict(n_answers=37, budget=100, n_match=12, n_non_match=21, n_unsure=4,
                    status="training the matcher on 33 labels", f1_estimate=(0.87, 0.81, 0.92))
    defaults.update(progress)
    return PairView(
        position=3, key="abt-1042|buy-77821",
        attributes=("name", "description", "manufacturer", "price"),
        left={"name": "Sony Bravia KDL-46V5100 [m] LCD", "description": LONG,
              "manufacturer": "Sony", "price": 1299.0},
        right={"name": "Sony KDL46V5100 Bravia 46in LCD", "description": LONG[::-1],
               "manufacturer": None, "price": 1199.99},
        reason="the matcher says match but the LFs of bucket [name high] say non-match",
        progress=SessionProgress(**defaults),
    )


def _session(keys: list[str], width: int = 80, height: int = 24, **kw):
    """Ask once with scripted keys; the answer, the screen text and the prompts seen."""
    console = Console(width=width, height=height, record=True, file=io.StringIO())
    script, prompts = iter(keys), []

    def input_fn(prompt: str) -> str:
        prompts.append(prompt)
        return next(script)

    oracle = InteractiveOracle(console=console, input_fn=input_fn, **kw)
    answer = oracle.ask(_view())
    return answer, console.export_text(), prompts


@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40)])
def test_screen_fits_and_keeps_id_names_counts_reason_status_and_keys(width, height):
    answer, text, prompts = _session(["m"], width, height)
    assert answer is Answer.MATCH and len(prompts) == 1
    lines = text.splitlines()
    assert len(lines) <= height - 1  # one line left for the prompt
    assert max(map(len, lines)) <= width
    assert "pair abt-1042|buy-77821" in lines[0] and "37 of 100 answered" in lines[0]
    assert "match 12 · non-match 21 · unsure 4" in text
    assert "F1 ≈ 0.87 (95% interval 0.81-0.92)" in text
    for attr in ("name", "description", "manufacturer", "price"):
        assert any(line.startswith(f"│ {attr} ") for line in lines), attr
    assert "[m] match  [n] non-match  [u] unsure  [s] skip  [b] undo  [q] quit" in text
    assert "asked because: the matcher says match but the LFs of bucket [name high]" in text
    assert "training the matcher on 33 labels" in text
    # Brackets inside values are shown, not taken as markup; a missing value says so.
    assert "KDL-46V5100 [m]" in text and "(missing)" in text
    # Whole floats lose '.0', others are kept.
    assert "1299 " in text and "1199.99" in text


def test_long_values_are_cut_to_fit_and_the_cut_is_marked():
    _, small, _ = _session(["n"], 80, 24)
    _, large, _ = _session(["n"], 120, 40)
    assert "…" in small
    assert "on and on" not in small.split("manufacturer")[0].split("description")[1][:200]
    # The larger terminal shows more of the description.
    def description_lines(text: str) -> int:
        block = text.split("│ description")[1].split("manufacturer")[0]
        return block.count("\n")
    assert description_lines(large) > description_lines(small)


@pytest.mark.parametrize(("keys", "expected"), [
    (["m"], Answer.MATCH), (["n"], Answer.NON_MATCH), (["u"], Answer.UNSURE),
    (["s"], Answer.SKIP), (["b"], Answer.UNDO), (["q"], Answer.QUIT), (["  N "], Answer.NON_MATCH),
])
def test_each_key_gives_its_answer(keys, expected):
    assert _session(keys)[0] is expected


def test_unknown_key_shows_the_key_list_again_and_asks_again():
    answer, text, prompts = _session(["x", "", "u"])
    assert answer is Answer.UNSURE and len(prompts) == 3
    assert "unknown key 'x'" in text and "unknown key ''" in text
    assert text.count("[m] match  [n] non-match") == 3


def test_score_is_hidden_unless_asked_for():
    view = _view()
    view = PairView(**{**view.__dict__, "score": 0.62})
    for show, seen in ((False, False), (True, True)):
        console = Console(width=80, height=24, record=True, file=io.StringIO())
        InteractiveOracle(console=console, input_fn=lambda _p: "m", show_score=show).ask(view)
        assert ("P(match) 0.62" in console.export_text()) is seen


def test_no_budget_and_no_estimate_are_left_out():
    console = Console(width=80, height=24, record=True, file=io.StringIO())
    view = _view()
    view = PairView(**{**view.__dict__, "progress": SessionProgress(n_answers=3, n_match=1)})
    InteractiveOracle(console=console, input_fn=lambda _p: "m").ask(view)
    text = console.export_text()
    assert "3 answered" in text and " of " not in text.splitlines()[0] and "F1" not in text


def test_many_attributes_repeat_the_pair_id_beside_the_keys():
    attributes = tuple(f"field_{i:02d}" for i in range(20))
    view = PairView(position=0, key="a7|b9", attributes=attributes,
                    left={a: "x" for a in attributes}, right={a: "y" for a in attributes},
                    progress=SessionProgress(n_answers=4, budget=10))
    console = Console(width=80, height=24, record=True, file=io.StringIO())
    InteractiveOracle(console=console, input_fn=lambda _p: "m").ask(view)
    bottom = console.export_text().splitlines()[-23:]  # what stays on a 24-line screen
    assert "pair a7|b9 · 4 of 10 answered" in bottom[-2] and "[m] match" in bottom[-1]
    _, text, _ = _session(["m"], 80, 24)  # few attributes: the header is not repeated
    assert text.count("pair abt-1042|buy-77821") == 1


def test_narrow_terminal_gets_a_clear_message_and_still_works():
    answer, text, _ = _session(["s"], width=50)
    assert answer is Answer.SKIP
    assert f"needs at least {MIN_WIDTH}" in text and "50 columns wide" in text
    assert "pair abt-1042|buy-77821" in text and "manufacturer" in text
    assert max(map(len, text.splitlines())) <= 50
