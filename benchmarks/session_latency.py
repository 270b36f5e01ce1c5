"""How long a person waits in `riskweasul run --oracle interactive`: the command runs in a
pseudo-terminal as a person would start it, and a script answers every question from the gold
labels after a fixed think time.

Measured per data set: seconds from launch to the first question, the wait between an answer
and the next question (p50, p95, max), and the seconds from the last answer to the end of the
command. Answers: a candidate pair listed as a match in the data set's train/valid/test files
is a match, every other pair a non-match. Bars (issue 17): first question <= 20 s, p95 wait
<= 1 s, exit <= 30 s, on 2 cores. The load average is recorded beside every run.

    .venv/bin/python benchmarks/session_latency.py --names abt_buy,dblp_acm --budget 40
    .venv/bin/python benchmarks/session_latency.py --names abt_buy --budget 30 --profile /tmp/p
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmarks._common import (  # noqa: E402
    RESULTS,
    add_datasets_argument,
    command,
    dataset_folder,
    markdown_table,
    timestamp,
)

PROMPT = "answer (m/n/u/s/b/q): "
BLOCK_ON = {"abt_buy": "name", "amazon_google": "title", "dblp_acm": "title",
            "fodors_zagats": "name", "itunes_amazon": "Song_Name", "beer": "Beer_Name"}
BARS = {"first_question_s": 20.0, "wait_p95_s": 1.0, "exit_s": 30.0}
_ANSI = re.compile(rb"\x1b(\[[0-9;?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)"
                   rb"|[()][0-9A-Za-z]|[=>78])")
_PAIR = re.compile(r"pair (\S+?\|\S+)")
_STATUS = re.compile(r"(fitting|training|finishing|choosing|candidate pairs|predicted matches)"
                     r"[^\n]*")


def gold_matches(folder: Path) -> set[str]:
    """'ltable_id|rtable_id' of every pair labelled a match in train/valid/test."""
    frames = [pd.read_csv(folder / f"{split}.csv") for split in ("train", "valid", "test")]
    both = pd.concat(frames, ignore_index=True)
    both = both[both["label"] == 1]
    return set(both["ltable_id"].astype(str) + "|" + both["rtable_id"].astype(str))


def _set_size(fd: int, width: int, height: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))


def session(argv: list[str], matches: set[str], budget: int, think: float, width: int,
            height: int, timeout: float) -> dict:
    """Run one labelling session in a pseudo-terminal; the timings and what was seen."""
    master, slave = os.openpty()
    _set_size(slave, width, height)
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS=str(width), LINES=str(height),
               TERM="xterm-256color")
    env.setdefault("OMP_NUM_THREADS", "1")
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                             cwd=REPO, close_fds=True, start_new_session=True)
    os.close(slave)
    screen = ""  # text since the last answer, escape codes removed
    shown: list[float] = []  # when each question appeared
    answered: list[float] = []  # when each answer was sent
    status: list[tuple[float, str]] = []
    transcript: list[str] = []
    pending_answer_at: float | None = None
    partial = ""  # the last, unfinished line of output
    n_match = 0
    try:
        while True:
            now = time.perf_counter()
            if now - started > timeout:
                child.kill()
                raise TimeoutError(f"session did not end within {timeout:.0f} s")
            if pending_answer_at is not None and now >= pending_answer_at:
                key = _PAIR.findall(screen)
                answer = "m" if key and key[-1] in matches else "n"
                n_match += answer == "m"
                os.write(master, answer.encode())
                answered.append(time.perf_counter())
                pending_answer_at, screen = None, ""
                continue
            wait = 0.05 if pending_answer_at is None else max(pending_answer_at - now, 0)
            ready, _, _ = select.select([master], [], [], min(wait, 0.05))
            if not ready:
                if child.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            t = time.perf_counter() - started
            text = _ANSI.sub(b"", chunk).decode("utf-8", "replace").replace("\r", "")
            transcript.append(text)
            *lines, partial = (partial + text).split("\n")
            for match in _STATUS.finditer("\n".join(lines)):
                line = " ".join(match.group(0).split())[:100]
                if not status or status[-1][1] != line:  # each screen repeats the status
                    status.append((t, line))
            screen += text
            if PROMPT in screen and pending_answer_at is None and len(answered) == len(shown):
                shown.append(time.perf_counter())
                pending_answer_at = time.perf_counter() + think
        child.wait(timeout=max(timeout - (time.perf_counter() - started), 1))
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
    ended = time.perf_counter()
    waits = np.array([s - a for a, s in zip(answered, shown[1:], strict=False)])
    return {
        "returncode": child.returncode,
        "n_questions": len(shown),
        "n_answers": len(answered),
        "n_match_answers": n_match,
        "first_question_s": shown[0] - started if shown else float("nan"),
        "wait_p50_s": float(np.percentile(waits, 50)) if waits.size else float("nan"),
        "wait_p95_s": float(np.percentile(waits, 95)) if waits.size else float("nan"),
        "wait_max_s": float(waits.max()) if waits.size else float("nan"),
        "exit_s": ended - answered[-1] if answered else float("nan"),
        "total_s": ended - started,
        "waits": waits,
        "status": status,
        "tail": "".join(transcript)[-3000:],
    }


def cli_argv(folder: Path, name: str, budget: int, out: Path, args, profile: Path | None
             ) -> list[str]:
    """The `riskweasul run` command for one data set, optionally under cProfile."""
    runner = [sys.executable, "-m", "active.cli"]
    if profile is not None:
        runner = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "active.cli"]
    return [*runner, "run", "--left", str(folder / "tableA.csv"),
            "--right", str(folder / "tableB.csv"),
            "--lfs", str(REPO / "examples" / "lfs" / f"{name}.py"), "--blocking", "tfidf",
            "--block-on", BLOCK_ON[name], "--k", "5", "--oracle", "interactive",
            "--budget", str(budget), "--matcher", args.matcher, "--output", str(out)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", default="abt_buy,dblp_acm")
    parser.add_argument("--budget", type=int, default=40)
    parser.add_argument("--think", type=float, default=2.0,
                        help="seconds the scripted person looks at each pair before answering")
    parser.add_argument("--matcher", default="fast")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=1500)
    parser.add_argument("--profile", help="folder for a cProfile of each session's main thread")
    parser.add_argument("--out", default=str(RESULTS / "session_latency.md"))
    args = parser.parse_args(argv)
    datasets = dataset_folder(args.datasets, "session_latency.py")
    rows, details = [], []
    for name in args.names.split(","):
        folder = dataset_folder(datasets, "session_latency.py", name) / name
        if name not in BLOCK_ON:
            sys.exit(f"session_latency.py: no blocking attribute known for {name!r}; "
                     f"choose from {', '.join(BLOCK_ON)}")
        matches = gold_matches(folder)
        profile = None
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profile = Path(args.profile) / f"{name}.prof"
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as out:
            result = session(cli_argv(folder, name, args.budget, Path(out), args, profile),
                             matches, args.budget, args.think, args.width, args.height,
                             args.timeout)
        load_after = os.getloadavg()[0]
        row = {"data set": name, **{k: v for k, v in result.items()
                                    if k not in ("waits", "status", "tail")},
               "load_1min_before": load_before, "load_1min_after": load_after}
        for key, bar in BARS.items():
            row[f"{key} <= {bar:g}"] = "met" if result[key] <= bar else "NOT met"
        rows.append(row)
        details.append((name, result))
        print({k: v for k, v in row.items()}, flush=True)
        if result["returncode"] != 0:
            print(result["tail"], file=sys.stderr)
    write_report(rows, details, args, argv)
    return 0


def write_report(rows: list[dict], details: list, args, argv) -> None:
    """The results table, each session's waits in order and its status lines."""
    table = pd.DataFrame(rows)
    lines = ["# Session latency: `riskweasul run --oracle interactive` in a pseudo-terminal", "",
             f"Command: `{command('session_latency.py', argv)}`  ", f"Date: {timestamp()}; "
             f"{os.cpu_count()} CPUs (shared machine: see the load columns); terminal "
             f"{args.width}x{args.height}; budget {args.budget}; think time {args.think} s per "
             f"answer; matcher {args.matcher}.", "",
             markdown_table(table.T.reset_index().rename(columns={"index": "measure"})
                            .set_axis(["measure", *table["data set"]], axis=1).iloc[1:]), ""]
    for name, result in details:
        waits = ", ".join(f"{w:.2f}" for w in result["waits"])
        lines += [f"## {name}", "", f"Wait before each question after the first (s): {waits}", "",
                  "Status lines (seconds since launch):", ""]
        lines += [f"- {t:.1f} s: {text}" for t, text in result["status"]] + [""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
