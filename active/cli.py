"""The `riskweasul` command line: demo, run, lfs and evaluate."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

DEMO_LFS = Path(__file__).resolve().parent / "demo_lfs.py"  # shipped in the package
BLOCKINGS = ("tfidf", "sorted", "equivalence", "person")
MATCHERS = ("fast", "rnn")
ORACLES = ("interactive", "web", "file")
RUN_KEYS = {
    "left": str, "right": str, "pairs": str, "lfs": str, "blocking": str, "block_on": str,
    "k": int, "window": int, "id_column": str, "oracle": str, "labels": str, "budget": int,
    "batch_size": int, "selector": str, "matcher": str, "output": str, "store": str,
    "seed": int, "show_score": bool, "pseudo_labels": bool, "calibrate": bool,
    "final_matcher": str, "port": int,
}


class CLIError(Exception):
    """A user error: printed as one line, exit status 2."""


def _console():
    from rich.console import Console

    return Console(stderr=False)


def _status_printer(console):
    """Status messages as timestamped lines (a log when the output is not a terminal)."""
    return lambda message: console.log(message)


def _matcher(name: str, seed: int):
    from matchers import RNNMatcher, SimilarityMatcher

    if name == "fast":
        return SimilarityMatcher(seed=seed)
    if name == "rnn":
        return RNNMatcher(seed=seed)
    raise CLIError(f"--matcher must be one of {', '.join(MATCHERS)}, got {name!r}")


def _read_config(path: str) -> dict:
    """Options from a JSON or TOML file; unknown keys are an error naming them."""
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"--config: no such file {path!r}")
    try:
        if file.suffix.lower() == ".toml":
            import tomllib

            config = tomllib.loads(file.read_text(encoding="utf-8"))
        else:
            config = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CLIError(f"--config {path!r} is not valid {file.suffix or 'JSON'}: {exc}") from exc
    if not isinstance(config, dict):
        raise CLIError(f"--config {path!r} must hold a table/object of options")
    config = {str(k).replace("-", "_"): v for k, v in config.items()}
    unknown = sorted(set(config) - set(RUN_KEYS))
    if unknown:
        raise CLIError(
            f"--config {path!r}: unknown key(s) {', '.join(unknown)}; allowed: "
            f"{', '.join(sorted(RUN_KEYS))}"
        )
    for key, kind in RUN_KEYS.items():
        if key in config and not isinstance(config[key], kind):
            raise CLIError(
                f"--config {path!r}: {key} must be a {kind.__name__}, got {config[key]!r}"
            )
    return config


# demo ---------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole loop on synthetic (or FEBRL) person records with a simulated oracle."""
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
        on_status=_status_printer(console), seed=args.seed,
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
    low, high = sampler.interval(0.95)
    console.print(f"OASIS F1 estimate from {sampler.n_queries} labels: {sampler.estimate:.3f} "
                  f"(95% interval {low:.4f}-{high:.4f}); true pool F1 {true_f1:.3f}")
    files["oasis"] = out / "oasis_estimate.png"
    plot_estimate(sampler, true_value=true_f1, path=files["oasis"])
    console.print("wrote " + ", ".join(str(p) for p in files.values()))
    console.print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


# run ----------------------------------------------------------------------------------------


def _pairs_from_tables(opts: dict):
    from blocking import (
        AttributeEquivalenceBlocker,
        SortedNeighbourhoodBlocker,
        TfidfKNNBlocker,
        default_person_blocker,
        join_pairs,
        load_pairs,
        read_table,
    )

    id_column = opts.get("id_column") or "id"
    left = read_table(opts["left"], id_column=id_column)
    right = read_table(opts["right"], id_column=id_column) if opts.get("right") else None
    if opts.get("pairs"):
        return load_pairs(opts["pairs"], left, right, id_column=id_column), right is None
    blocking = opts.get("blocking") or "tfidf"
    columns = [c.strip() for c in (opts.get("block_on") or "").split(",") if c.strip()]
    if blocking not in BLOCKINGS:
        raise CLIError(f"--blocking must be one of {', '.join(BLOCKINGS)}, got {blocking!r}")
    if blocking != "person" and not columns:
        raise CLIError(f"--blocking {blocking} needs --block-on COLUMN[,COLUMN...]")
    if blocking == "tfidf":
        blocker = TfidfKNNBlocker(columns, k=opts.get("k") or 5)
    elif blocking == "sorted":
        blocker = SortedNeighbourhoodBlocker(columns[0], window=opts.get("window") or 3)
    elif blocking == "equivalence":
        blocker = AttributeEquivalenceBlocker(columns[0])
    else:
        blocker = default_person_blocker()
    blocker.id_column = id_column
    candidates = blocker.block(left, right)
    return join_pairs(candidates, left, right, id_column=id_column), right is None


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
    """Command-line options over config-file options over defaults."""
    opts = _read_config(args.config) if args.config else {}
    for key in RUN_KEYS:
        value = getattr(args, key, None)
        if value is not None and value is not False:
            opts[key] = value
    return opts


def cmd_run(args: argparse.Namespace) -> int:
    """A user's tables, LFs and oracle: label, train, and write the results."""
    opts = _merged_options(args)
    for required in ("left", "lfs"):
        if not opts.get(required):
            raise CLIError(f"run needs --{required} (on the command line or in --config)")
    console = _console()
    from active.loop import ActiveLoop
    from active.report import history_table, write_outputs
    from active.store import LabelStore
    from blocking.pairs import pair_keys
    from labeling_functions import load_lfs

    out = Path(opts.get("output") or "riskweasul-out")
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {str(out)!r} is a file; give a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    store = LabelStore(opts.get("store") or out / "labels.sqlite")  # refused now if unusable
    lfs = load_lfs(opts["lfs"])
    oracle = _oracle(opts, args.resources)
    with console.status("blocking"):
        pairs, dedup = _pairs_from_tables(opts)
    console.log(f"{len(pairs)} candidate pairs")
    if hasattr(oracle, "unknown_keys"):
        unknown = oracle.unknown_keys(pair_keys(pairs))
        if unknown:
            console.log(f"{len(unknown)} answers in {opts['labels']} are for pairs outside the "
                        f"candidates (e.g. {unknown[0]!r}); they are not used")
    interactive = (opts.get("oracle") or "interactive") != "file"
    loop = ActiveLoop(
        pairs, lfs, oracle=oracle, selector=opts.get("selector") or "hybrid",
        matcher=_matcher(opts.get("matcher") or "fast", opts.get("seed", 0)),
        final_matcher=_final_matcher(opts.get("final_matcher") or "none", opts.get("seed", 0)),
        batch_size=opts.get("batch_size") or 10, store=store,
        pseudo_labels=bool(opts.get("pseudo_labels")), calibrate=bool(opts.get("calibrate")),
        background=interactive, on_status=_status_printer(console), seed=opts.get("seed", 0),
    )
    try:
        history = loop.run(opts.get("budget", 50))
    except KeyboardInterrupt:
        if loop.matcher_proba is not None:
            write_outputs(loop, out, dedup=dedup)
        console.print(f"interrupted: {len(loop.log)} answers are stored in {store.path}; "
                      "outputs written from the last fitted round; rerun to continue")
        return 130
    console.print(history_table(history))
    if loop.final is not None:
        console.print(_final_line(loop.final))
    files = write_outputs(loop, out, dedup=dedup)
    console.print(f"{int(loop.predict().sum())} predicted matches at threshold "
                  f"{loop.threshold:.2f}; wrote " + ", ".join(str(p) for p in files.values()))
    return 0


def _final_matcher(name: str, seed: int):
    if name == "none":
        return None
    return _matcher(name, seed)


def _final_line(final: dict) -> str:
    """The final-matcher comparison in one line."""
    if "final_f1" not in final:
        return f"final matcher not used: {final['why']}"
    return (f"final matcher F1 {final['final_f1']:.3f} vs in-loop {final['in_loop_f1']:.3f} on "
            f"{final['n_holdout']} held-out expert labels; scoring with the "
            f"{'final' if final['chosen'] == 'final' else 'in-loop'} matcher")


# lfs ----------------------------------------------------------------------------------------


def cmd_lfs(args: argparse.Namespace) -> int:
    """Print the LF summary (coverage, overlaps, conflicts, accuracy on labels if known)."""
    from rich.table import Table

    from blocking import demo_dataset, load_pairs, read_table
    from labeling_functions import apply_lfs, lf_summary, load_lfs

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


def cmd_evaluate(args: argparse.Namespace) -> int:
    """OASIS estimate of F1 from a predictions file; answers are stored and a rerun resumes."""
    from active.store import LabelStore
    from blocking.pairs import pair_keys
    from evaluation import OASISSampler, plot_estimate, read_predictions

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--output {str(out)!r} is a file; give a folder for the outputs")
    out.mkdir(parents=True, exist_ok=True)
    store = LabelStore(args.store or out / "labels.sqlite")
    frame = read_predictions(args.predictions, args.prediction_column, args.score_column)
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
    asker = EvaluationAsker(oracle, store, frame)
    sampler = OASISSampler(frame[args.prediction_column].to_numpy(),
                           frame[args.score_column].to_numpy(), asker, alpha=args.alpha,
                           seed=args.seed)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of all four subcommands."""
    parser = argparse.ArgumentParser(
        prog="riskweasul",
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

    demo = sub.add_parser("demo", help="the whole loop on demo data with a simulated oracle")
    demo.add_argument("--dataset", choices=("synthetic", "febrl"), default="synthetic")
    demo.add_argument("--entities", type=int, default=300, help="synthetic entities")
    demo.add_argument("--budget", type=int, default=40)
    demo.add_argument("--batch-size", type=int, default=10)
    demo.add_argument("--selector", default="hybrid")
    demo.add_argument("--matcher", choices=MATCHERS, default="fast")
    demo.add_argument("--oasis", type=int, default=200, help="OASIS labels for the F1 estimate")
    demo.add_argument("--output", default="runs/demo")
    demo.add_argument("--resume", action="store_true", help="keep the labels of a previous demo")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--oracle", choices=("simulated", "interactive", "web"),
                      default="simulated", help="who answers: the demo's gold labels, you at "
                                                "the terminal, or you in your browser")
    demo.add_argument("--port", type=int, default=8765, help="port of the web labeller")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="label your own tables with your LFs")
    run.add_argument("--config", help="JSON or TOML file with the same keys as the options")
    run.add_argument("--left", help="record table (CSV/Parquet); alone = de-duplication")
    run.add_argument("--right", help="second record table for linkage")
    run.add_argument("--pairs", help="candidate pairs (ltable_id, rtable_id) instead of blocking")
    run.add_argument("--lfs", help="Python file defining `lfs`")
    run.add_argument("--blocking", choices=BLOCKINGS)
    run.add_argument("--block-on", help="column(s) to block on, comma-separated")
    run.add_argument("--k", type=int, help="neighbours per record (tfidf)")
    run.add_argument("--window", type=int, help="window size (sorted)")
    run.add_argument("--id-column")
    run.add_argument("--oracle", choices=ORACLES,
                     help="who answers: the terminal, a page in your browser, or a label file "
                          "(default: interactive)")
    run.add_argument("--port", type=int, help="port of the web labeller (default 8765)")
    run.add_argument("--labels", help="label CSV for --oracle file")
    run.add_argument("--budget", type=int)
    run.add_argument("--batch-size", type=int)
    run.add_argument("--selector")
    run.add_argument("--matcher", choices=MATCHERS,
                     help="in-loop matcher, refitted after every batch (default: fast)")
    run.add_argument("--final-matcher", choices=("none", *MATCHERS),
                     help="matcher trained once when labelling ends; it scores the output if "
                          "it beats the in-loop one on held-out expert labels (default: none)")
    run.add_argument("--output")
    run.add_argument("--store", help="label store (default OUTPUT/labels.sqlite)")
    run.add_argument("--seed", type=int)
    run.add_argument("--show-score", action="store_true", help="show the model's score")
    run.add_argument("--pseudo-labels", action="store_true", help="add confident pseudo-labels")
    run.add_argument("--calibrate", action="store_true",
                     help="cut at the best F1 on the expert labels instead of 0.5")
    run.set_defaults(func=cmd_run)

    lfs = sub.add_parser("lfs", help="summary of a set of LFs on pairs")
    lfs.add_argument("--lfs", required=True, help="Python file defining `lfs`")
    lfs.add_argument("--pairs", help="pairs file (flattened, or ids with --left/--right)")
    lfs.add_argument("--left")
    lfs.add_argument("--right")
    lfs.add_argument("--entities", type=int, default=300,
                     help="without --pairs: synthetic demo pairs")
    lfs.set_defaults(func=cmd_lfs)

    ev = sub.add_parser("evaluate", help="OASIS estimate of F1 from a predictions file")
    ev.add_argument("--predictions", required=True, help="CSV/Parquet with prediction, score")
    ev.add_argument("--prediction-column", default="prediction")
    ev.add_argument("--score-column", default="score")
    ev.add_argument("--oracle", choices=ORACLES, default="interactive")
    ev.add_argument("--port", type=int, default=8765, help="port of the web labeller")
    ev.add_argument("--labels", help="label CSV for --oracle file")
    ev.add_argument("--n", type=int, default=200, help="new oracle labels to draw")
    ev.add_argument("--alpha", type=float, default=0.5)
    ev.add_argument("--store", help="label store (default OUTPUT/labels.sqlite)")
    ev.add_argument("--output", default="riskweasul-eval")
    ev.add_argument("--show-score", action="store_true")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `riskweasul` console script."""
    args = build_parser().parse_args(argv)
    if args.threads is not None:
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
