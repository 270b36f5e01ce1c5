"""The labelling page as server-rendered HTML: the pair side by side, why it was asked, where the
session stands and one form of answer buttons (it works with JavaScript off)."""

from __future__ import annotations

import math
from html import escape

from active.oracles import PairView, SessionProgress
from active.pair_text import (
    answered_text,
    balance_text,
    cell_text,
    f1_text,
    is_missing,
    token_diff,
)
from active.web.desk import DeskState

BUTTONS = (("m", "match"), ("n", "non-match"), ("u", "unsure"), ("s", "skip"), ("b", "undo"),
           ("q", "quit"))


def _cell(value: object, other: object) -> str:
    if is_missing(value):
        return '<td class="missing">(missing)</td>'
    if cell_text(value) == cell_text(other):
        return f'<td class="same">{escape(cell_text(value))}</td>'
    body = " ".join(f"<mark>{escape(t)}</mark>" if differs else escape(t)
                    for t, differs in token_diff(value, other))
    return f"<td>{body}</td>"


def _pair_table(view: PairView) -> str:
    rows = []
    for attr in view.attributes:
        left, right = view.left.get(attr), view.right.get(attr)
        rows.append(f'<tr><th scope="row">{escape(attr)}</th>{_cell(left, right)}'
                    f"{_cell(right, left)}</tr>")
    return ('<table class="pair"><thead><tr><th scope="col">attribute</th>'
            '<th scope="col">left record</th><th scope="col">right record</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _balance_bar(p: SessionProgress) -> str:
    parts = [(p.n_match, "match"), (p.n_non_match, "non-match"), (p.n_unsure, "unsure")]
    spans = "".join(f'<span class="{cls}" style="flex-grow:{n}" title="{cls} {n}"></span>'
                    for n, cls in parts if n)
    return f'<div class="balance-bar" aria-hidden="true">{spans}</div>'


def _curve(p: SessionProgress, width: int = 240, height: int = 64) -> str:
    """The learning curve (F1 estimate against labels) as an inline SVG, or '' below 2 points."""
    points = p.learning_curve
    if len(points) < 2:
        return ""
    xs, ys = [n for n, _ in points], [min(max(f1, 0.0), 1.0) for _, f1 in points]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    y0 = max(math.floor(min(ys) * 10) / 10 - 0.1, 0.0)  # the F1 axis runs from y0 to 1
    pad = 4

    def xy(n: float, f1: float) -> str:
        x = pad + (n - x0) / (x1 - x0) * (width - 2 * pad)
        y = height - pad - (min(max(f1, 0.0), 1.0) - y0) / (1 - y0) * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(n, f1) for n, f1 in points)
    last_n, last_f1 = points[-1]
    return (f'<figure class="curve"><svg viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="learning curve: F1 {last_f1:.2f} at {last_n} labels">'
            f'<polyline points="{line}"/></svg><figcaption>F1 estimate ({y0:.1f}-1) by labels '
            f"({xs[0]}-{xs[-1]})</figcaption></figure>")


def _progress(p: SessionProgress) -> str:
    bar = (f'<progress value="{min(p.n_answers, p.budget)}" max="{p.budget}"></progress>'
           if p.budget else "")
    f1 = f'<p class="f1">{escape(f1_text(p))}</p>' if p.f1_estimate is not None else ""
    return (f'<section class="stats"><div><p class="answered">{escape(answered_text(p))}'
            f" · {p.n_this_session} this session</p>{bar}</div>"
            f'<div><p class="balance">{escape(balance_text(p))}</p>{_balance_bar(p)}</div>'
            f"<div>{f1}{_curve(p)}</div></section>")


def _buttons(token: str, can_undo: bool) -> str:
    buttons = "".join(
        f'<button type="submit" name="answer" value="{value}" class="{value}"'
        f'{" disabled" if value == "undo" and not can_undo else ""}>'
        f"<kbd>{key}</kbd> {value}</button>"
        for key, value in BUTTONS
    )
    return (f'<form method="post" action="/answer" class="answers">'
            f'<input type="hidden" name="token" value="{escape(token)}">{buttons}</form>')


def render_desk(state: DeskState, *, show_score: bool = False, notice: str = "") -> str:
    """The page's <main> element for `state` (swapped in place by the script, or a whole page)."""
    note = f'<p class="notice" role="alert">{escape(notice)}</p>' if notice else ""
    if state.closed:
        return ('<main id="desk" data-state="closed">' + note +
                "<h1>The labelling session has ended</h1><p>Every answer you gave is stored by "
                "the session. You can close this tab.</p></main>")
    if state.question is None:
        last = state.last_view
        status = escape(last.progress.status) if last and last.progress.status else "working"
        stats = _progress(last.progress) if last else ""
        return (f'<main id="desk" data-state="waiting">{note}<h1>Waiting for the next pair'
                f'</h1><p class="status">{status}…</p>{stats}</main>')
    view, token = state.question.view, state.question.token
    score = (f' <span class="score">model P(match) {view.score:.2f}</span>'
             if show_score and view.score is not None else "")
    reason = (f'<p class="reason"><strong>asked because:</strong> {escape(view.reason)}</p>'
              if view.reason else "")
    status = (f'<p class="status">{escape(view.progress.status)}</p>'
              if view.progress.status else "")
    return (f'<main id="desk" data-state="question" data-token="{escape(token)}" '
            f'data-key="{escape(view.key)}">{note}'
            f'<h1>pair <code>{escape(view.key)}</code>{score}</h1>'
            f"{_progress(view.progress)}{reason}{status}{_pair_table(view)}"
            f"{_buttons(token, view.progress.can_undo)}</main>")


def render_page(state: DeskState, *, show_score: bool = False, notice: str = "") -> str:
    """A whole HTML page around `render_desk` (refreshes itself while waiting, without script)."""
    title = (f"pair {state.question.view.key}" if state.question is not None
             else "session ended" if state.closed else "waiting")
    refresh = ('<noscript><meta http-equiv="refresh" content="1"></noscript>'
               if state.question is None and not state.closed else "")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>riskweasul · {escape(title)}</title>{refresh}"
            '<link rel="stylesheet" href="/static/labeller.css">'
            '<script src="/static/labeller.js" defer></script></head><body>'
            f"{render_desk(state, show_score=show_score, notice=notice)}"
            '<footer>keys: <kbd>m</kbd> match · <kbd>n</kbd> non-match · <kbd>u</kbd> unsure · '
            "<kbd>s</kbd> skip · <kbd>b</kbd> undo · <kbd>q</kbd> quit</footer></body></html>")
