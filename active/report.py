"""What a loop run leaves behind: PNG plots, the output files and a short terminal report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from blocking.files import atomic_write
from blocking.pairs import ID_COLUMNS


def _save(figure, path: str | Path) -> Path:
    """Save a figure as PNG atomically."""
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    atomic_write(path, buffer.getvalue())
    return Path(path)


def _figure(figsize=(6.4, 4.0)):
    from matplotlib.figure import Figure  # no pyplot: works without a display

    figure = Figure(figsize=figsize, layout="constrained")
    return figure, figure.add_subplot()


def _legend(ax, **kwargs) -> None:
    """A legend when something was drawn; without gold labels there is nothing to compare."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)
    else:
        ax.text(0.5, 0.5, "no gold labels given", ha="center", transform=ax.transAxes)


def plot_learning_curve(history: pd.DataFrame, path: str | Path) -> Path:
    """F1 against expert labels: the matcher's estimated F1 on the pool with its 95% interval
    (what a run without gold labels knows), and, where gold is known, the true F1 of the
    matcher (pool and held-out) and of the label model."""
    figure, ax = _figure()
    if "f1_estimate" in history and history["f1_estimate"].notna().any():
        known = history.dropna(subset=["f1_estimate"]).sort_values("n_labels")
        ax.fill_between(known["n_labels"], known["f1_low"], known["f1_high"], alpha=0.2,
                        color="tab:purple", label="95% interval")
        ax.plot(known["n_labels"], known["f1_estimate"], marker="s", color="tab:purple",
                label="matcher, estimated from the labels")
    for column, label in [("eval_f1", "matcher, held-out pairs"), ("matcher_f1", "matcher, pool"),
                          ("lm_f1", "label model, pool")]:
        if column in history and history[column].notna().any():
            ax.plot(history["n_labels"], history[column], marker="o", label=label)
    ax.set(xlabel="expert labels", ylabel="F1", ylim=(0, 1.02), title="learning curve")
    ax.grid(alpha=0.3)
    _legend(ax, loc="lower right", fontsize="small")
    return _save(figure, path)


def plot_models(history: pd.DataFrame, path: str | Path) -> Path:
    """Label model against matcher: precision, recall and F1 on the pool per iteration."""
    figure, ax = _figure()
    styles = {"precision": ":", "recall": "--", "f1": "-"}
    for model, color in [("lm", "tab:orange"), ("matcher", "tab:blue")]:
        for metric, style in styles.items():
            column = f"{model}_{metric}"
            if column in history and history[column].notna().any():
                name = "label model" if model == "lm" else "matcher"
                ax.plot(history["n_labels"], history[column], style, color=color,
                        label=f"{name} {metric}")
    ax.set(xlabel="expert labels", ylabel="score on the pool", ylim=(0, 1.02),
           title="label model vs matcher")
    ax.grid(alpha=0.3)
    _legend(ax, loc="lower right", fontsize="small", ncol=2)
    return _save(figure, path)


def plot_bucket_kl(bucket_kl: pd.DataFrame, path: str | Path, top: int = 8) -> Path:
    """KL divergence between label model and expert labels for the largest buckets."""
    figure, ax = _figure()
    if not bucket_kl.empty:
        largest = (bucket_kl.groupby("bucket")["size"].max().sort_values(ascending=False)
                   .index[:top])
        for bucket in largest:
            rows = bucket_kl[bucket_kl["bucket"] == bucket]
            ax.plot(rows["n_labels"], rows["kl"], marker=".",
                    label=f"{bucket} (n={int(rows['size'].iloc[0])})")
        ax.legend(loc="upper right", fontsize="x-small", title="LF votes (bucket)")
    ax.set(xlabel="expert labels", ylabel="KL(label model || expert)", title="bucket KL")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.grid(alpha=0.3)
    return _save(figure, path)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """A CSV written through a temporary file and a rename: a kill never leaves half a file."""
    atomic_write(path, frame.to_csv(index=False))
    return path


def _append_history(history: pd.DataFrame, path: Path) -> pd.DataFrame:
    """This session's rows after the earlier sessions' rows of `path`, with a session column."""
    earlier = pd.read_csv(path) if path.exists() and path.stat().st_size else pd.DataFrame()
    session = int(earlier["session"].max()) + 1 if "session" in earlier else 1
    return pd.concat([earlier, history.assign(session=session)], ignore_index=True)


def write_outputs(loop, out: str | Path, dedup: bool = True,
                  max_cluster: int | str | None = "auto", one_to_one: bool = False,
                  on_status: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Write scored pairs, the match set, clusters (de-duplication: unique and duplicated
    records too), labels, the history (appended across sessions) and plots into `out`; every
    file is replaced atomically.

    Clusters: `active.clustering.cluster_records` with `max_cluster` (default "auto": split
    components larger than the matches support) and `one_to_one` (two tables); `on_status`
    hears when components had to be split.
    """
    from active.clustering import cluster_records

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    scored = loop.scored_pairs()
    files["scored_pairs"] = _write_csv(scored, out / "scored_pairs.csv")
    id_cols = [c for c in ID_COLUMNS if c in scored.columns]
    matches = scored.loc[scored["prediction"] == 1, [*id_cols, "score"]]
    files["matches"] = _write_csv(matches, out / "matches.csv")
    if len(id_cols) == 2:
        clusters = cluster_records(loop.pairs, scored["score"].to_numpy(), loop.threshold,
                                   dedup=dedup, max_size=max_cluster, one_to_one=one_to_one)
        split = clusters.attrs["split"]
        if split["n_split"] and on_status is not None:
            on_status(f"warning: {split['n_split']} cluster(s) of matched records grew beyond "
                      f"the {split['max_size']} records the matches support (largest "
                      f"{split['largest_component']}, chained by weak links); they were split "
                      "at higher score cuts, keeping their strongest links (--max-cluster)")
        files["clusters"] = _write_csv(clusters, out / "clusters.csv")
        if dedup:
            single = clusters["cluster_size"] == 1
            files["unique"] = _write_csv(clusters.loc[single, ["record_id"]], out / "unique.csv")
            files["duplicates"] = _write_csv(clusters[~single].sort_values("cluster"),
                                             out / "duplicates.csv")
    files["labels"] = _write_csv(loop.store.records(), out / "labels.csv")
    files["history"] = out / "history.csv"
    history = _append_history(loop.history_frame(), files["history"])
    _write_csv(history, files["history"])
    files["learning_curve"] = plot_learning_curve(history, out / "learning_curve.png")
    files["label_model_vs_matcher"] = plot_models(history, out / "label_model_vs_matcher.png")
    if not loop.bucket_kl.empty:
        files["bucket_kl"] = plot_bucket_kl(loop.bucket_kl, out / "bucket_kl.png")
    return files


def history_table(history: pd.DataFrame):
    """A rich table of the loop's history: labels, quality per model, time per stage."""
    from rich.table import Table

    table = Table(title="active loop", show_edge=False, header_style="bold")
    columns = [("n_labels", "labels", "{:d}"), ("lm_f1", "LM F1", "{:.3f}"),
               ("matcher_f1", "matcher F1", "{:.3f}"), ("eval_f1", "held-out F1", "{:.3f}"),
               ("threshold", "threshold", "{:.2f}"), ("selector", "selector", "{}"),
               ("t_matcher", "fit s", "{:.1f}"), ("t_select", "select s", "{:.2f}")]
    present = [c for c in columns if c[0] in history]
    for _, title, _ in present:
        table.add_column(title, justify="right")
    for _, row in history.iterrows():
        cells = []
        for column, _, fmt in present:
            value = row[column]
            missing = value is None or (isinstance(value, float) and np.isnan(value))
            cells.append("" if missing else fmt.format(int(value) if fmt == "{:d}" else value))
        table.add_row(*cells)
    return table
