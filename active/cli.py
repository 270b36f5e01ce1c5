"""The `riskweasul` command line: demo, run, score, lfs and evaluate."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from pathlib import Path

DEMO_LFS = Path(__file__).resolve().parent / "demo_lfs.py"  # shipped in the package
BLOCKINGS = ("tfidf", "sorted", "equivalence", "person", "embedding", "tfidf+embedding")
MATCHERS = ("fast", "rnn")
ORACLES = ("interactive", "web", "file")
ANALYZERS = ("word", "char")
RUN_KEYS = {
    "left": str, "right": str, "pairs": str, "lfs": str, "blocking": str, "block_on": str,
    "k": int, "analyzer": str, "window": int, "id_column": str, "oracle": str, "labels": str,
    "budget": int, "batch_size": int, "selector": str, "matcher": str, "output": str,
    "store": str, "seed": int, "show_score": bool, "pseudo_labels": bool, "calibrate": bool,
    "final_matcher": str, "port": int, "max_cluster": (int, str), "one_to_one": bool,
    "audit": int,
}
# what `run` does for an option given neither on the command line nor in --config; the help
# texts quote these, so they cannot drift apart
RUN_DEFAULTS = {
    "blocking": "tfidf", "k": 10, "analyzer": "word", "window": 3, "id_column": "id",
    "oracle": "interactive", "port": 8765, "budget": 50, "batch_size": 10, "selector": "hybrid",
    "matcher": "fast", "final_matcher": "none", "output": "riskweasul-out", "seed": 0,
    "max_cluster": "auto", "audit": 2,
}
# while a stage runs, a line repeats after this many quiet seconds (checked 8 times as often),
# so a file-oracle run's log gains a line at least every 10 s
HEARTBEAT_S = 8.0


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _console():
    from rich.console import Console

    # a log file gets whole lines: no wrapping at the 80 columns rich assumes off a terminal
    return Console(stderr=False, log_path=False,
                   width=None if sys.stdout.isatty() else 160)


def _status_printer(console):
    """Status messages as timestamped lines (a log when the output is not a terminal)."""
    return lambda message: console.log(message)


class Progress:
    """Timestamped progress lines for every stage of a run: blocking, LF votes, each fit (the
    loop's `on_status`), scoring and writing, with the labels so far, the latest fit time and
    the estimated time left. While a stage is open, a line repeats at least every `heartbeat`
    seconds, so a log shows that a long fit is still running."""

    def __init__(self, console, budget: int | None = None,
                 heartbeat: float | None = None) -> None:
        self.console, self.budget, self.heartbeat = console, budget, heartbeat
        self.loop = None
        self._labels_at_start: int | None = None
        self._started = time.monotonic()
        self._last_line = time.monotonic()
        self._stage: tuple[str, float] | None = None
        self._fits_at_message = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def log(self, message: str) -> None:
        """Print one timestamped line."""
        with self._lock:
            self._last_line = time.monotonic()
            self.console.log(message)

    def __call__(self, message: str) -> None:
        """The loop's `on_status`: the message, then where the labelling stands."""
        if self._stage is not None:
            self._stage = (message, time.monotonic())
        self._fits_at_message = self._fits()
        self.log(message + self._where())

    def _fits(self) -> int:
        return 0 if self.loop is None else len(self.loop.history)

    def _doing(self, message: str) -> str:
        """What the loop is doing now: a fit announced by `message` ends with a history row,
        and the loop then chooses and asks pairs until it announces the next fit."""
        if self._fits() > self._fits_at_message:
            return "choosing pairs and asking the oracle"
        return message

    def _where(self) -> str:
        loop = self.loop
        if loop is None:
            return ""
        n = len(loop.log)
        if self._labels_at_start is None:
            self._labels_at_start, self._started = n, time.monotonic()
        parts = [f"{n} of {self.budget} labels" if self.budget else f"{n} labels"]
        if loop.history:
            row = loop.history[-1]
            fit = sum(row.get(k, 0.0) for k in ("t_label_model", "t_matcher", "t_risk"))
            parts.append(f"last fit {fit:.1f} s")
            if row.get("f1_estimate") is not None:  # the loop's live estimate, when it has one
                parts.append(f"estimated F1 {row['f1_estimate']:.2f} "
                             f"({row['f1_low']:.2f}-{row['f1_high']:.2f})")
        gained = n - self._labels_at_start
        if self.budget and gained > 0 and n < self.budget:
            left = (self.budget - n) * (time.monotonic() - self._started) / gained
            parts.append(f"about {_duration(left)} left")
        return " | " + ", ".join(parts)

    @contextlib.contextmanager
    def stage(self, message: str):
        """Announce a stage, repeat a line while it runs, and say how long it took."""
        self.log(message)
        self._stage = (message, time.monotonic())
        started = time.monotonic()
        self._start_heartbeat()
        try:
            yield
        finally:
            self._stage = None
        self.log(f"{message}: done in {_duration(time.monotonic() - started)}")

    def _start_heartbeat(self) -> None:
        if self.heartbeat is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._beat, name="riskweasul-progress",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat / 8):
            stage = self._stage
            if stage is not None and time.monotonic() - self._last_line >= self.heartbeat:
                doing = self._doing(stage[0])
                since = "" if doing != stage[0] else f" ({_duration(time.monotonic() - stage[1])})"
                self.log(f"still {doing}{since}" + self._where())

    def close(self) -> None:
        """Stop the repeating line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _duration(seconds: float) -> str:
    """12 s, 3 min 5 s, 1 h 39 min."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _matcher(name: str, seed: int):
    from active.loop import default_matcher
    from matchers import RNNMatcher

    if name == "fast":
        return default_matcher(seed)
    if name == "rnn":
        return RNNMatcher(seed=seed)
    raise CLIError(f"--matcher must be one of {', '.join(MATCHERS)}, got {name!r}")


def _run_checks() -> dict:
    """The check of every `run` option (blocking.validation), for the command line and config."""
    from active.selectors import SELECTOR_NAMES
    from blocking import validation as v

    def max_cluster(value, where):
        try:
            return _max_cluster(value)
        except CLIError as exc:
            raise v.InputError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None

    checks = {name: v.text for name in ("left", "right", "pairs", "lfs", "block_on",
                                        "id_column", "labels", "output", "store")}
    checks.update({name: v.positive_int for name in ("k", "window", "batch_size")})
    checks.update({name: v.boolean
                   for name in ("show_score", "pseudo_labels", "calibrate", "one_to_one")})
    checks.update(
        blocking=v.one_of(*BLOCKINGS), analyzer=v.one_of(*ANALYZERS), oracle=v.one_of(*ORACLES),
        matcher=v.one_of(*MATCHERS), final_matcher=v.one_of("none", *MATCHERS),
        selector=v.one_of(*SELECTOR_NAMES), seed=v.seed, max_cluster=max_cluster,
        budget=v.non_negative_int, port=v.port, audit=v.non_negative_int,
    )
    assert set(checks) == set(RUN_KEYS), "every run option needs a check"
    return checks


def _check_args(args: argparse.Namespace, **checks) -> None:
    """Check a subcommand's options before any work (`name=check` from blocking.validation);
    an error names the option."""
    for name, check in checks.items():
        value = getattr(args, name, None)
        if value is not None:
            setattr(args, name, check(value, "--" + name.replace("_", "-")))


# demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole loop on synthetic (or FEBRL) person records with a simulated oracle."""
    from blocking import validation as v

    _check_args(args, entities=v.positive_int, budget=v.non_negative_int,
                batch_size=v.positive_int, oasis=v.non_negative_int, seed=v.seed, port=v.port,
                audit=v.non_negative_int)
    console = _console()
    started = time.perf_counter()
    import pandas as pd

    from active.loop import ActiveLoop
    from active.oracles import SimulatedOracle
    from active.report import history_table, write_outputs
    from blocking import demo_dataset
    from evaluation import OASISSampler, plot_estimate
    from labeling_functions import load_lfs

    if not DEMO_LFS.is_file():
        raise CLIError(f"the demo's labeling functions {str(DEMO_LFS)!r} are missing")
    out = Path(args.output)
    with console.status("blocking the demo records"):
        data = demo_dataset(args.dataset, seed=args.seed, n_entities=args.entities)
        held_out = demo_dataset(args.dataset, seed=args.seed + 1, n_entities=args.entities)
    pairs, gold = data.pairs, data.pairs["label"].to_numpy()
    console.print(f"[bold]{args.dataset}[/bold]: {len(data.records)} records, {len(pairs)} "
                  f"candidate pairs ({int(gold.sum())} matches); held-out: "
                  f"{len(held_out.pairs)} pairs")
    out.mkdir(parents=True, exist_ok=True)
    if (out / "labels.sqlite").exists():
        raise CLIError(
            f"--output {str(out)!r} holds the label store of a run (labels.sqlite); the demo "
            "would overwrite that run's outputs. Choose another --output."
        )
    store = out / "demo_labels.sqlite"
    if store.exists() and not args.resume:
        for suffix in ("", "-wal", "-shm"):  # the demo's own simulated answers only
            Path(str(store) + suffix).unlink(missing_ok=True)
    simulated = args.oracle == "simulated"
    oracle = SimulatedOracle(gold) if simulated else _oracle(
        {"oracle": args.oracle, "port": args.port}, args.resources)
    loop = ActiveLoop(
        pairs, load_lfs(DEMO_LFS), oracle=oracle, selector=args.selector, background=not simulated,
        matcher=_matcher(args.matcher, args.seed), batch_size=args.batch_size, store=store,
        gold=gold, eval_pairs=held_out.pairs, eval_labels=held_out.pairs["label"],
        on_status=_status_printer(console), seed=args.seed, audit=args.audit,
    )
    history = loop.run(args.budget)
    console.print(history_table(history))
    files = write_outputs(loop, out, dedup=True)
    clusters = pd.read_csv(files["clusters"])
    duplicates = int((clusters["cluster_size"] > 1).sum())
    console.print(f"records: {len(clusters)} = {len(clusters) - duplicates} unique + "
                  f"{duplicates} in {clusters.loc[clusters.cluster_size > 1, 'cluster'].nunique()}"
                  " duplicate clusters")
    scored = loop.scored_pairs()
    sampler = OASISSampler(scored["prediction"].to_numpy(), scored["score"].to_numpy(),
                           SimulatedOracle(gold), seed=args.seed)
    sampler.sample(min(args.oasis, len(pairs) - 1))
    true_f1 = history["matcher_f1"].iloc[-1]
    console.print(_oasis_line(sampler.n_queries, sampler.estimate, *sampler.interval(0.95),
                              true_f1))
    files["oasis"] = out / "oasis_estimate.png"
    plot_estimate(sampler, true_value=true_f1, path=files["oasis"])
    console.print("wrote " + ", ".join(str(p) for p in files.values()))
    console.print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


# run ----------------------------------------------------------------------------------------


def _oasis_line(n_labels: int, estimate: float, low: float, high: float, truth: float) -> str:
    """The demo's OASIS line; it says so when the 95% interval misses the true F1, and why."""
    line = (f"OASIS F1 estimate from {n_labels} labels: {estimate:.3f} "
            f"(95% interval {low:.4f}-{high:.4f}); true pool F1 {truth:.3f}")
    if low <= truth <= high:
        return line
    return (line + "\n  the interval misses the true F1: a 95% interval misses one run in 20, and "
            "more often where the matcher's errors sit in a score band no label reached (see "
            "'Known limits' in the README)")


def _blocker(opts: dict, table_columns: tuple[str, ...] | list[str] = ()):
    """The blocker the options name (tfidf, sorted, equivalence, person, embedding or both);
    `table_columns` (the record table's, the id left out) are named when --block-on is missing."""
    from blocking import (
        AttributeEquivalenceBlocker,
        EmbeddingKNNBlocker,
        SortedNeighbourhoodBlocker,
        TfidfKNNBlocker,
        UnionBlocker,
        default_person_blocker,
    )
    from blocking.language_model import INSTALL_HINT, SentenceEncoder, lm_available

    blocking = opts["blocking"]
    columns = [c.strip() for c in (opts.get("block_on") or "").split(",") if c.strip()]
    if blocking not in BLOCKINGS:
        raise CLIError(f"--blocking must be one of {', '.join(BLOCKINGS)}, got {blocking!r}")
    if blocking != "person" and not columns:
        hint = (f": the column(s) whose text finds candidates, e.g. --block-on {table_columns[0]} "
                f"(the table has {', '.join(table_columns)})" if table_columns else "")
        raise CLIError(f"--blocking {blocking} needs --block-on COLUMN[,COLUMN...]{hint}")
    if opts["analyzer"] not in ANALYZERS:
        raise CLIError(f"--analyzer must be one of {', '.join(ANALYZERS)}, got "
                       f"{opts['analyzer']!r}")
    if "embedding" in blocking and not lm_available():
        raise CLIError(f"--blocking {blocking} needs the sentence encoder: {INSTALL_HINT}")
    if blocking in ("tfidf", "embedding", "tfidf+embedding"):
        char = opts["analyzer"] == "char"
        parts = [TfidfKNNBlocker(columns, k=opts["k"], analyzer="char_wb" if char else "word",
                                 ngram_range=(3, 3) if char else (1, 1))]
        if "embedding" in blocking:
            encoder = SentenceEncoder(cache_dir=Path(opts["output"]) / "embeddings")
            parts = parts[:blocking.count("tfidf")] + [
                EmbeddingKNNBlocker(columns, k=opts["k"], encoder=encoder)]
        for part in parts:
            part.id_column = opts["id_column"]
        blocker = parts[0] if len(parts) == 1 else UnionBlocker(parts)
    elif blocking == "sorted":
        blocker = SortedNeighbourhoodBlocker(columns[0], window=opts["window"])
    elif blocking == "equivalence":
        blocker = AttributeEquivalenceBlocker(columns[0])
    else:
        blocker = default_person_blocker()
    blocker.id_column = opts["id_column"]
    return blocker


def _pairs_from_tables(opts: dict, progress: Progress):
    """The candidate pairs (read from --pairs or blocked) and whether this is de-duplication."""
    from blocking import join_pairs, load_pairs, read_table

    id_column = opts["id_column"]
    with progress.stage("reading the tables"):
        left = read_table(opts["left"], id_column=id_column)
        right = read_table(opts["right"], id_column=id_column) if opts.get("right") else None
    sizes = f"{len(left)}" + ("" if right is None else f" x {len(right)}")
    if opts.get("pairs"):
        with progress.stage(f"reading the pairs {opts['pairs']}"):
            pairs = load_pairs(opts["pairs"], left, right, id_column=id_column)
    else:
        blocker = _blocker(opts, [c for c in left.columns if c != id_column])
        with progress.stage(f"blocking {sizes} records ({opts['blocking']})"):
            pairs = join_pairs(blocker.block(left, right), left, right, id_column=id_column)
    progress.log(f"{len(pairs)} candidate pairs from {sizes} records")
    return pairs, right is None


def _oracle(opts: dict, resources: contextlib.ExitStack):
    from active.oracles import FileOracle
    from active.terminal import InteractiveOracle

    kind = opts.get("oracle") or "interactive"
    if kind == "file":
        if not opts.get("labels"):
            raise CLIError("--oracle file needs --labels LABELS.csv")
        return FileOracle(opts["labels"])
    if kind == "interactive":
        return InteractiveOracle(show_score=bool(opts.get("show_score")))
    if kind == "web":
        from active.web import WebOracle

        oracle = WebOracle(port=opts.get("port") or 8765, show_score=bool(opts.get("show_score")))
        oracle.start()
        resources.callback(oracle.close)  # the page says "finished" when the command ends
        print(f"label in your browser at {oracle.url} (Ctrl-C stops; every answer is kept)",
              file=sys.stderr)
        return oracle
    raise CLIError(f"--oracle must be 'interactive', 'web' or 'file', got {kind!r}")


def _merged_options(args: argparse.Namespace) -> dict:
    """Command-line options over config-file options over `RUN_DEFAULTS`, each checked before
    any work starts (a 0, a negative, a bool where a number belongs is an error naming it)."""
    from blocking.validation import check_options, read_config

    checks = _run_checks()
    opts = dict(RUN_DEFAULTS)
    opts["max_cluster"] = _max_cluster(opts["max_cluster"])
    opts.update(read_config(args.config, checks) if args.config else {})
    given = {key: getattr(args, key, None) for key in RUN_KEYS}
    opts.update(check_options({k: v for k, v in given.items() if v is not None and v is not False},
                              checks))
    return opts


def _max_cluster(value) -> int | str | None:
    """--max-cluster: 'auto', 'none' or an integer of at least 2."""
    if value in ("auto", "none"):
        return None if value == "none" else value
    try:
        size = int(value)
    except (TypeError, ValueError):
        size = 0
    if size < 2 or isinstance(value, bool):
        raise CLIError(f"--max-cluster must be 'auto', 'none' or an integer >= 2, got {value!r}")
    return size


def cmd_run(args: argparse.Namespace) -> int:
    """A user's tables, LFs and oracle: label, train, and write the results and the model."""
    opts = _merged_options(args)
    for required in ("left", "lfs"):
        if not opts.get(required):
            raise CLIError(f"run needs --{required} (on the command line or in --config)")
    if opts.get("one_to_one") and not opts.get("right"):
        raise CLIError("--one-to-one needs two tables (--left and --right)")
    out = Path(opts["output"])
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {str(out)!r} is a file; give a folder for the outputs")
    console = _console()
    progress = Progress(console, budget=opts["budget"], heartbeat=HEARTBEAT_S)
    args.resources.callback(progress.close)
    with progress.stage(f"loading the LFs ({opts['lfs']}) and the label store"):
        from active.loop import ActiveLoop
        from active.store import LabelStore
        from blocking.pairs import pair_keys
        from labeling_functions import load_lfs

        out.mkdir(parents=True, exist_ok=True)
        store = LabelStore(opts.get("store") or out / "labels.sqlite")  # refused if unusable
        lfs = load_lfs(opts["lfs"])
        oracle = _oracle(opts, args.resources)
    interactive = opts["oracle"] != "file"
    pairs, dedup = _pairs_from_tables(opts, progress)
    if hasattr(oracle, "unknown_keys"):
        keys = pair_keys(pairs)
        if dedup:
            _answer_either_order(oracle, keys)
        unknown = oracle.unknown_keys(keys)
        if oracle.answers and len(unknown) == len(oracle.answers):
            raise CLIError(
                f"--labels {opts['labels']!r} answers none of the {len(pairs)} candidate pairs "
                f"(e.g. it names {unknown[0]!r}); its ids must be spelt as in the tables "
                "(ltable_id|rtable_id)"
            )
        if unknown:
            progress.log(f"{len(unknown)} answers in {opts['labels']} are for pairs outside the "
                         f"candidates (e.g. {unknown[0]!r}); they are not used")
    seed = opts["seed"]
    with progress.stage(f"preparing the loop ({opts['matcher']} matcher, {len(pairs)} pairs)"):
        loop = ActiveLoop(
            pairs, lfs, oracle=oracle, selector=opts["selector"],
            matcher=_matcher(opts["matcher"], seed),
            final_matcher=_final_matcher(opts["final_matcher"], seed, out),
            batch_size=opts["batch_size"], store=store,
            pseudo_labels=bool(opts.get("pseudo_labels")), calibrate=bool(opts.get("calibrate")),
            background=interactive, on_status=progress, seed=seed, audit=opts["audit"],
        )
    _check_store_pool(loop.log, store, len(pairs), progress)
    progress.loop = loop
    with progress.stage(f"applying {len(lfs)} LFs to {len(pairs)} pairs"):
        votes = loop.L
    progress.log(f"LF votes: {float((votes != -1).any(axis=1).mean()):.1%} of the pairs have "
                 "at least one vote")
    # a person labelling must not see repeated lines; a file oracle's log shows them
    labelling = contextlib.nullcontext() if interactive else progress.stage("labelling")
    try:
        with labelling:
            history = loop.run(opts["budget"])
    except KeyboardInterrupt:
        if loop.matcher_proba is not None:
            _write_run(loop, out, dedup, opts, progress)
        console.print(f"interrupted: {len(loop.log)} answers are stored in {store.path}; "
                      "outputs written from the last fitted round; rerun to continue")
        return 130
    from active.report import history_table

    console.print(history_table(history))
    files = _write_run(loop, out, dedup, opts, progress)
    _print_summary(console, loop, files)
    return 0


def _answer_either_order(oracle, keys) -> None:
    """De-duplication: an answer for pair 'b|a' is the answer for candidate 'a|b'."""
    pool = set(map(str, keys))
    for key in oracle.unknown_keys(keys):
        left, _, right = key.partition("|")
        swapped = f"{right}|{left}"
        if swapped in pool and swapped not in oracle.answers:
            oracle.answers[swapped] = oracle.answers.pop(key)


def _check_store_pool(log, store, n_pairs: int, progress: Progress) -> None:
    """A store whose answers are all about other pairs belongs to another pool: refused; one
    with some such answers (e.g. after blocking differently) is used with a word."""
    if not log.n_foreign:
        return
    if not len(log):
        raise CLIError(
            f"label store {store.path!r} holds {log.n_foreign} answers, none about these "
            f"{n_pairs} candidate pairs: it belongs to other tables or another blocking. "
            "Choose another --store (or --output), or delete that file to start afresh"
        )
    progress.log(f"{log.n_foreign} answers in {store.path} are about pairs outside these "
                 f"candidates; they stay stored and are not used ({len(log)} are used)")


def _write_run(loop, out: Path, dedup: bool, opts: dict, progress: Progress) -> dict[str, Path]:
    """The output files and the run's model file (if it reproduces the run's scores)."""
    from active.model import FILE_NAME, save_run_model
    from active.report import write_outputs

    with progress.stage(f"writing the outputs to {out}"):
        files = write_outputs(loop, out, dedup=dedup, max_cluster=opts["max_cluster"],
                              one_to_one=bool(opts.get("one_to_one")), on_status=progress.log)
    blocking = {k: opts.get(k) for k in ("blocking", "block_on", "k", "analyzer", "window",
                                         "id_column", "max_cluster", "one_to_one")}
    if opts.get("pairs"):  # the run was given its pairs: no blocking for `score` to repeat
        blocking["blocking"] = None
    try:
        save_run_model(loop, out / FILE_NAME, opts["lfs"], options=blocking)
    except RuntimeError as exc:  # e.g. interrupted while a background fit had moved on
        progress.log(f"model not saved: {exc}")
    else:
        files["model"] = out / FILE_NAME
    return files


def _print_summary(console, loop, files: dict[str, Path]) -> None:
    """The end of a run: which matcher scored, the matches, the files written."""
    unanswered = getattr(loop.oracle, "unanswered", ())
    if unanswered:
        console.print(f"the label file has no answer for {len(unanswered)} of the pairs the "
                      f"loop asked about (e.g. {min(unanswered)!r}); they were skipped. Add "
                      "them to the file and rerun to use them")
    if loop.final is not None:
        console.print(_final_line(loop.final))
    estimate = loop.f1_estimate()
    if estimate is None:
        console.print("estimated F1: not enough expert labels of both classes (10 needed)")
    else:
        low, high = estimate.interval
        console.print(f"estimated F1 of the output on all {len(loop.pairs)} candidates: "
                      f"{estimate.estimate:.3f} (95% interval {low:.3f}-{high:.3f}) from "
                      f"{len(loop.expert_labels())} expert labels ({estimate.n_audit} of them a "
                      "random audit); blocking losses not counted")
    console.print(f"{int(loop.predict().sum())} predicted matches at threshold "
                  f"{loop.threshold:.2f}; wrote " + ", ".join(str(p) for p in files.values()))
    if "model" in files:
        console.print(f"score new pairs with: riskweasul score --model {files['model']} "
                      "--left ... [--right ...]")


def _final_matcher(name: str, seed: int, out: Path):
    """The matcher trained once when labelling ends: the deep matcher reads each record as one
    serialized text too (values in the wrong attribute still align), pretrains its encoder on
    the pool's records (cached in OUTPUT/deep_cache, so a resumed run reuses it) and learns
    from the probabilistic labels with a bootstrapping loss (benchmarks/results/deep_matcher.md);
    on pools up to 12,000 pairs it averages several networks (n_members="auto"), which makes it
    steadier across seeds (benchmarks/results/deep_matcher_spread.md)."""
    if name == "none":
        return None
    if name == "rnn":
        from matchers import RNNMatcher

        return RNNMatcher(seed=seed, serialized=True, pretrain=True,
                          pretrain_cache=str(out / "deep_cache"), loss="bootstrap_soft", beta=0.6,
                          n_members="auto")
    return _matcher(name, seed)


def _final_line(final: dict) -> str:
    """The final-matcher comparison in one line."""
    if "final_f1" not in final:
        return f"final matcher not used: {final['why']}"
    return (f"final matcher F1 {final['final_f1']:.3f} vs in-loop {final['in_loop_f1']:.3f} on "
            f"{len(final['held_out'])} expert labels neither trained on; scoring with the "
            f"{'final' if final['chosen'] == 'final' else 'in-loop'} matcher: {final['why']}")


# score --------------------------------------------------------------------------------------


def cmd_score(args: argparse.Namespace) -> int:
    """Score pairs (a file, or the tables blocked as the run did) with a run's saved model."""
    import pandas as pd

    from active.model import load_run_model
    from blocking.pairs import ID_COLUMNS

    if not args.left:
        raise CLIError("score needs --left (and --right for two tables): the records the pairs "
                       "refer to")
    console = _console()
    model = load_run_model(args.model)
    opts = {**RUN_DEFAULTS, **{k: v for k, v in model.options.items() if v is not None}}
    for key in ("blocking", "block_on", "k", "analyzer", "window", "id_column"):
        value = getattr(args, key)
        if value is not None:
            opts[key] = value
    opts.update(left=args.left, right=args.right, pairs=args.pairs)
    if not (args.pairs or args.blocking or model.options.get("blocking")):
        raise CLIError("score needs --pairs or --blocking: the run read its candidates from a "
                       "pairs file, so there is no blocking to repeat")
    progress = Progress(console, heartbeat=HEARTBEAT_S)
    args.resources.callback(progress.close)
    pairs, dedup = _pairs_from_tables(opts, progress)
    with progress.stage(f"scoring {len(pairs)} pairs"):
        scores = model.match_proba(pairs)
    out = pd.DataFrame({c: pairs[c] for c in ID_COLUMNS if c in pairs.columns})
    out["score"] = scores
    out["prediction"] = (scores >= model.threshold).astype(int)
    if args.lfs:
        with progress.stage("label model votes"):
            out["lm_score"] = model.label_proba(pairs, args.lfs)
    if "label" in pairs.columns:
        out["label"] = pairs["label"].to_numpy()
    path = Path(args.output)
    from blocking.files import atomic_write

    atomic_write(path, out.to_csv(index=False))
    console.print(f"{int(out['prediction'].sum())} of {len(out)} pairs predicted matches at "
                  f"threshold {model.threshold:.2f} (model trained on {model.n_labels} expert "
                  f"labels; {'de-duplication' if dedup else 'two tables'}); wrote {path}")
    return 0


# lfs ----------------------------------------------------------------------------------------


def cmd_lfs(args: argparse.Namespace) -> int:
    """Print the LF summary (coverage, overlaps, conflicts, accuracy on labels if known)."""
    from rich.table import Table

    from blocking import demo_dataset, load_pairs, read_table
    from blocking import validation as v
    from labeling_functions import apply_lfs, lf_summary, load_lfs

    _check_args(args, entities=v.positive_int)
    lfs = load_lfs(args.lfs)
    if args.pairs:
        left = read_table(args.left) if args.left else None
        right = read_table(args.right) if args.right else None
        pairs = load_pairs(args.pairs, left, right)
    else:
        pairs = demo_dataset("synthetic", seed=0, n_entities=args.entities).pairs
    L = apply_lfs(lfs, pairs)
    expert = None
    if "label" in pairs.columns:
        expert = {i: int(y) for i, y in enumerate(pairs["label"]) if y in (0, 1)}
    summary = lf_summary(lfs, L, expert_labels=expert)
    shown = {"declared_polarity": "votes", "Coverage": "coverage", "Overlaps": "overlaps",
             "Conflicts": "conflicts", "expert_votes": "labelled", "expert_accuracy": "accuracy",
             "lm_accuracy": "LM accuracy"}
    shown = {k: v for k, v in shown.items() if k in summary.columns}
    table = Table(title=f"{len(lfs)} LFs on {len(pairs)} pairs", header_style="bold")
    table.add_column("LF", no_wrap=True)
    for title in shown.values():
        table.add_column(title, justify="right")
    polarity = {1: "match", 0: "non-match"}
    for name, row in summary.iterrows():
        cells = [polarity.get(v, str(v)) if k == "declared_polarity"
                 else f"{v:.3f}" if isinstance(v, float) else str(v)
                 for k, v in row[list(shown)].items()]
        table.add_row(str(name), *cells)
    _console().print(table)
    return 0


# evaluate -----------------------------------------------------------------------------------


class EvaluationAsker:
    """Asks the oracle about pair i of a predictions file for OASIS: a stored answer is reused,
    a new one is stored before the sampler sees it (this is the store's only writer here)."""

    def __init__(self, oracle, store, frame) -> None:
        from blocking.pairs import attribute_names, pair_fingerprints, pair_keys

        self.oracle, self.store, self.frame = oracle, store, frame
        self.keys, self.hashes = pair_keys(frame), pair_fingerprints(frame)
        try:
            self.attributes = tuple(attribute_names(frame, where="--predictions"))
        except ValueError:
            self.attributes = ()
        self.known = store.labels("evaluate")
        self.asked = 0

    def _view(self, i: int):
        from active.oracles import PairView, SessionProgress

        values = list(self.known.values())
        progress = SessionProgress(n_answers=len(values), n_match=values.count(1),
                                   n_non_match=values.count(0), n_unsure=values.count(None))
        return PairView.from_row(self.frame.iloc[i], i, str(self.keys[i]), self.attributes,
                                 reason="drawn by OASIS importance sampling to estimate F1",
                                 progress=progress)

    def __call__(self, i: int):
        from blocking.answers import Answer, to_answer

        key = str(self.keys[i])
        if key in self.known:
            return self.known[key]
        while True:
            answer = to_answer(self.oracle.ask(self._view(i)), where=f"oracle, pair {key}")
            if answer is not Answer.UNDO:
                break
            print("undo is not available while estimating F1 (each answer has already shaped "
                  "the sample); answer this pair, or skip it", file=sys.stderr)
        if answer.is_stored:
            self.store.add(key, answer.label, stream="evaluate", selector="oasis", position=i,
                           pair_hash=self.hashes[i])
            self.known[key] = answer.label
            self.asked += 1
        return answer


def _ids_as_written(frame, path: str):
    """The predictions with their pair-id columns as written in a CSV file ('007' stays
    '007', as in the label file), since read_predictions parses them as numbers."""
    import pandas as pd

    columns = [c for c in ("ltable_id", "rtable_id", "key", "id") if c in frame.columns]
    if columns and Path(path).suffix.lower() == ".csv":
        raw = pd.read_csv(path, dtype=str, usecols=columns, keep_default_na=False)
        for column in columns:
            frame[column] = raw[column].str.strip().to_numpy()
    return frame


def cmd_evaluate(args: argparse.Namespace) -> int:
    """OASIS estimate of F1 from a predictions file; answers are stored and a rerun resumes."""
    import numpy as np

    from active.store import LabelStore
    from blocking import validation as v
    from blocking.pairs import pair_keys
    from evaluation import OASISSampler, plot_estimate, read_predictions

    _check_args(args, n=v.positive_int, alpha=v.fraction, seed=v.seed, port=v.port,
                hedge_window=v.non_negative_int, misfit=v.non_negative,
                tail_slope=v.non_negative)
    v.input_file(args.predictions, "--predictions")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {str(out)!r} is a file; give a folder for the outputs")
    frame = _ids_as_written(read_predictions(args.predictions, args.prediction_column,
                                             args.score_column), args.predictions)
    scores = frame[args.score_column].to_numpy(dtype=float)
    outside = np.flatnonzero((scores < 0) | (scores > 1))
    if outside.size:
        raise CLIError(
            f"--predictions {args.predictions!r}: column {args.score_column!r} must hold scores "
            f"from 0 to 1 (OASIS reads them as probabilities); row {outside[0] + 1} has "
            f"{scores[outside[0]]!r} ({outside.size} rows outside). Pass --score-column naming "
            "a probability column"
        )
    oracle = _oracle({"oracle": args.oracle, "labels": args.labels, "port": args.port,
                      "show_score": args.show_score}, args.resources)
    try:
        keys = pair_keys(frame)
    except ValueError as exc:
        raise CLIError(f"--predictions {args.predictions!r}: {exc}") from exc
    if hasattr(oracle, "unknown_keys"):
        missing = len(set(map(str, keys)) - set(oracle.answers))
        if missing == len(keys):
            raise CLIError(
                f"--labels {args.labels!r} answers none of the {len(keys)} pairs of "
                f"--predictions {args.predictions!r}; give both files the same id columns "
                "(ltable_id and rtable_id, key, or id)"
            )
    out.mkdir(parents=True, exist_ok=True)
    store = LabelStore(args.store or out / "labels.sqlite")  # refused if unusable
    asker = EvaluationAsker(oracle, store, frame)
    sampler = OASISSampler(frame[args.prediction_column].to_numpy(),
                           frame[args.score_column].to_numpy(), asker, alpha=args.alpha,
                           seed=args.seed, hedge_window=args.hedge_window,
                           estimator=args.estimator, n_strata=args.strata,
                           allocation=args.allocation, misfit=args.misfit,
                           tail_slope=args.tail_slope)
    console = _console()
    sampler.sample(min(args.n, len(frame)))
    if sampler.stopped:
        console.print("stopped; every answer so far is stored and a rerun continues from it")
    low, high = sampler.interval(0.95)
    console.print(f"F1 estimate {sampler.estimate:.3f} (95% interval {low:.4f}-{high:.4f}) "
                  f"from {sampler.n_queries} labels ({asker.asked} new)")
    if sampler.n_queries:
        plot_estimate(sampler, path=out / "oasis_estimate.png")
        sampler.history.to_csv(out / "oasis_history.csv", index=False)
    return 0


# parser -------------------------------------------------------------------------------------


class _HelpFormatter(argparse.HelpFormatter):
    """Help that ends each option with its default, unless the option has none to show."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (action.default not in (None, False, argparse.SUPPRESS) and "default" not in text
                and action.option_strings):
            text += " (default: %(default)s)"
        return text


def _run_option(parser: argparse.ArgumentParser, flag: str, help: str, **kwargs) -> None:
    """A `run` option whose help quotes its `RUN_DEFAULTS` value (argparse's own default stays
    None, so that a config file's value is not overridden by an option nobody gave)."""
    key = flag.lstrip("-").replace("-", "_")
    if key in RUN_DEFAULTS:
        help = f"{help} (default: {RUN_DEFAULTS[key]})"
    parser.add_argument(flag, help=help, **kwargs)


def _add_pair_options(parser: argparse.ArgumentParser, defaults_from: str) -> None:
    """Where the candidate pairs come from: the options `run` and `score` share."""
    option = _run_option if defaults_from == "run" else (
        lambda p, flag, help, **kw: p.add_argument(flag, help=f"{help} (default: the run's)",
                                                   **kw))
    parser.add_argument("--left", help="record table (CSV/Parquet); alone = de-duplication")
    parser.add_argument("--right", help="second record table for linkage")
    parser.add_argument("--pairs", help="candidate pairs (ltable_id, rtable_id) instead of "
                                        "blocking")
    option(parser, "--blocking", "how to find candidate pairs: TF-IDF nearest neighbours, "
           "sorted neighbourhood, equal values, the person blocker (names, birth date, "
           "social security id), or sentence-embedding nearest neighbours alone or beside "
           "TF-IDF's (the `lm` extra)", choices=BLOCKINGS)
    option(parser, "--block-on", "column(s) to block on, comma-separated")
    option(parser, "--k", "neighbours per record (tfidf)", type=int)
    option(parser, "--analyzer", "tfidf on words, or on character 3-grams (better for product "
           "names with codes and typos)", choices=ANALYZERS)
    option(parser, "--window", "window size (sorted)", type=int)
    option(parser, "--id-column", "the record id column of the tables")


# evaluation.oasis.ESTIMATORS and ALLOCATIONS and evaluation.strata.STRATIFICATIONS, named here
# so that the parser does not import the numerical stack (a test keeps them equal)
EVALUATE_ESTIMATORS = ("stratified", "poststratified", "ratio", "doubly_robust")
EVALUATE_ALLOCATIONS = ("neyman", "variance")
EVALUATE_STRATA = ("auto", "fine", "finest")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all five subcommands."""
    from active.selectors import SELECTOR_NAMES
    parser = argparse.ArgumentParser(
        prog="riskweasul", formatter_class=_HelpFormatter,
        description="Entity resolution with almost no hand labels: LFs, a penalized label "
                    "model, risk-aware active learning and OASIS evaluation.",
    )
    parser.add_argument("--debug", action="store_true", help="full traceback on errors")
    parser.add_argument(
        "--threads", type=int, default=None,
        help="CPU threads for torch and scikit-learn (default: $OMP_NUM_THREADS, else 1; the "
             "loop alternates many small torch and scikit-learn fits, which run far slower "
             "when both keep a thread pool spinning on every core)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)

    demo = command("demo", "the whole loop on demo data with a simulated oracle")
    demo.add_argument("--dataset", choices=("household", "synthetic", "febrl"), default="household",
                      help="person records: generated with relatives and re-keyed duplicates "
                           "(household, where LFs alone fall short), generated (synthetic), or "
                           "FEBRL1 (needs the febrl extra)")
    demo.add_argument("--entities", type=int, default=300, help="synthetic entities")
    demo.add_argument("--budget", type=int, default=80,
                      help="expert labels to gather (with the audit's, 2 of every 10)")
    demo.add_argument("--batch-size", type=int, default=10, help="labels between fits")
    demo.add_argument("--audit", type=int, default=2,
                      help="pairs of each batch drawn at random to measure the matcher (the F1 "
                           "estimate rests on them; they never train it)")
    demo.add_argument("--selector", default="hybrid",
                      help=f"how pairs are chosen to ask: {', '.join(SELECTOR_NAMES)}")
    demo.add_argument("--matcher", choices=MATCHERS, default="fast",
                      help="in-loop matcher: gradient boosting on similarities, or a neural "
                           "network")
    demo.add_argument("--oasis", type=int, default=200, help="OASIS labels for the F1 estimate")
    demo.add_argument("--output", default="runs/demo", help="folder for the outputs")
    demo.add_argument("--resume", action="store_true", help="keep the labels of a previous demo")
    demo.add_argument("--seed", type=int, default=0, help="fixes every random choice")
    demo.add_argument("--oracle", choices=("simulated", "interactive", "web"),
                      default="simulated", help="who answers: the demo's gold labels, you at "
                                                "the terminal, or you in your browser")
    demo.add_argument("--port", type=int, default=8765, help="port of the web labeller")
    demo.set_defaults(func=cmd_demo)

    run = command("run", "label your own tables with your LFs; writes the results and the "
                         "model (OUTPUT/model.riskweasul) that `score` uses")
    run.add_argument("--config", help="JSON or TOML file with the same keys as the options; "
                                      "options given on the command line win")
    _add_pair_options(run, "run")
    run.add_argument("--lfs", help="Python file defining `lfs`")
    _run_option(run, "--oracle", "who answers: the terminal, a page in your browser, or a "
                "label file", choices=ORACLES)
    _run_option(run, "--port", "port of the web labeller", type=int)
    run.add_argument("--labels", help="label CSV for --oracle file")
    _run_option(run, "--budget", "expert labels to gather (earlier sessions' count)", type=int)
    _run_option(run, "--batch-size", "labels between fits", type=int)
    _run_option(run, "--audit", "pairs of each batch drawn at random (with known "
                "probabilities) to measure the matcher: the F1 estimate and its interval rest on "
                "them; they never train it. 0 = none (an estimate from the chosen pairs alone)",
                type=int)
    _run_option(run, "--selector", f"how pairs are chosen to ask: {', '.join(SELECTOR_NAMES)}")
    _run_option(run, "--matcher", "in-loop matcher, refitted after every batch", choices=MATCHERS)
    _run_option(run, "--final-matcher", "matcher trained once when labelling ends; it scores "
                "the output if it beats the in-loop one on held-out expert labels",
                choices=("none", *MATCHERS))
    _run_option(run, "--output", "folder for the outputs")
    run.add_argument("--store", help="label store (default: OUTPUT/labels.sqlite)")
    _run_option(run, "--seed", "fixes every random choice", type=int)
    run.add_argument("--show-score", action="store_true", help="show the model's score")
    run.add_argument("--pseudo-labels", action="store_true", help="add confident pseudo-labels")
    run.add_argument("--calibrate", action="store_true",
                     help="cut at the best F1 on the expert labels instead of 0.5")
    _run_option(run, "--max-cluster", "largest cluster in clusters.csv: larger components are "
                "split at higher score cuts, keeping their strongest links; 'auto' = the size "
                "the matches support (1 + the 95th percentile of a record's matches), 'none' = "
                "plain connected components")
    run.add_argument("--one-to-one", action="store_true",
                     help="two tables: each record in at most one match in clusters.csv (the "
                          "matching with the largest total score inside each component)")
    run.set_defaults(func=cmd_run)

    score = command("score", "score pairs with the model a run saved: a pairs file, or the "
                              "tables blocked as the run did (or as the options say)")
    score.add_argument("--model", required=True, help="model file written by run "
                                                      "(OUTPUT/model.riskweasul)")
    _add_pair_options(score, "model")
    score.add_argument("--lfs", help="the run's LF file: adds the label model's lm_score")
    score.add_argument("--output", default="scores.csv",
                       help="CSV of ltable_id, rtable_id, score, prediction")
    score.set_defaults(func=cmd_score)

    lfs = command("lfs", "summary of a set of LFs on pairs")
    lfs.add_argument("--lfs", required=True, help="Python file defining `lfs`")
    lfs.add_argument("--pairs", help="pairs file (flattened, or ids with --left/--right)")
    lfs.add_argument("--left", help="left record table for an ids-only pairs file")
    lfs.add_argument("--right", help="right record table for an ids-only pairs file")
    lfs.add_argument("--entities", type=int, default=300,
                     help="without --pairs: synthetic demo pairs")
    lfs.set_defaults(func=cmd_lfs)

    ev = command("evaluate", "OASIS estimate of F1 from a predictions file")
    ev.add_argument("--predictions", required=True, help="CSV/Parquet with prediction, score")
    ev.add_argument("--prediction-column", default="prediction", help="0/1 predictions")
    ev.add_argument("--score-column", default="score", help="scores in [0, 1]")
    ev.add_argument("--oracle", choices=ORACLES, default="interactive", help="who answers")
    ev.add_argument("--port", type=int, default=8765, help="port of the web labeller")
    ev.add_argument("--labels", help="label CSV for --oracle file")
    ev.add_argument("--n", type=int, default=200, help="new oracle labels to draw")
    ev.add_argument("--alpha", type=float, default=0.5,
                    help="the F-measure estimated: 0.5 = F1 (precision and recall weighed alike)")
    ev.add_argument("--store", help="label store (default: OUTPUT/labels.sqlite)")
    ev.add_argument("--output", default="riskweasul-eval", help="folder for the outputs")
    ev.add_argument("--show-score", action="store_true", help="show the prediction's score")
    ev.add_argument("--hedge-window", type=int, default=0,
                    help="keep labelling a band of scores whose answers contradict the score "
                         "curve (strata either side; 0 = off, 4 as benchmarked; see "
                         "benchmarks/results/oasis_v21_hedge.md)")
    ev.add_argument("--estimator", choices=EVALUATE_ESTIMATORS, default="stratified",
                    help="how the draws are made and the labels combined (OASISSampler's "
                         "estimator; see benchmarks/results/oasis_v23.md)")
    ev.add_argument("--strata", choices=EVALUATE_STRATA, default="auto",
                    help="score strata: auto (the logit rule), fine (the OASIS authors' "
                         "rule; with --estimator poststratified on pools of a few thousand "
                         "pairs) or finest (whichever of the two cuts more strata)")
    ev.add_argument("--allocation", choices=EVALUATE_ALLOCATIONS, default="neyman",
                    help="how the stratified estimator picks the next stratum: neyman, or "
                         "variance (where one label is expected to remove the most variance; "
                         "with --strata finest; see benchmarks/results/oasis_v24.md)")
    ev.add_argument("--misfit", type=float, default=1.0,
                    help="how far (sd, log-odds) the score-to-match-rate curve may be off "
                         "where labels do not reach; 0 trusts the curve there (see "
                         "benchmarks/results/oasis_v25.md)")
    ev.add_argument("--tail-slope", type=float, default=1.0,
                    help="least slope (per unit of the scores' log-odds) of the "
                         "score-to-match-rate curve beyond the outermost labelled error on "
                         "each side; 0 lets a curve flattened by a band of errors run on into "
                         "the near-certain bulk (see benchmarks/results/oasis_v29.md)")
    ev.add_argument("--seed", type=int, default=0, help="fixes every random choice")
    ev.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `riskweasul` console script."""
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        from blocking.validation import InputError, thread_count

        try:
            args.threads = thread_count(args.threads)
        except InputError as exc:
            print(f"riskweasul {args.command}: error: {exc}", file=sys.stderr)
            return 2
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # read when torch / scikit-learn load
    try:
        with contextlib.ExitStack() as args.resources:
            return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"riskweasul {args.command}: interrupted; every answer given so far is stored",
              file=sys.stderr)
        return 130
    except (CLIError, ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        print(f"riskweasul {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
