"""Plot of a sampler's estimate and confidence interval against the number of labels."""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from evaluation.base import Sampler


def plot_estimate(
    sampler: Sampler,
    true_value: float | None = None,
    path: str | Path | None = None,
    ax: Axes | None = None,
    label: str | None = None,
) -> Figure:
    """Draw the F estimate and its 95% interval per oracle query (and the true value if known);
    save to `path` when given. Pass `ax` to draw several samplers on one axes."""
    history = sampler.history
    if history.empty:
        raise ValueError("the sampler has no history yet: call sampler.sample(n) first")
    if ax is None:
        figure = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    name = label or type(sampler).__name__
    line = ax.plot(history["n_labels"], history["estimate"], label=f"{name} estimate")[0]
    ax.fill_between(
        history["n_labels"],
        history["low"],
        history["high"],
        color=line.get_color(),
        alpha=0.2,
        label=f"{name} 95% interval",
    )
    if true_value is not None:
        ax.axhline(true_value, color="black", linestyle="--", linewidth=1, label="true value")
    metric = "F1" if sampler.alpha == 0.5 else f"F(alpha={sampler.alpha:g})"
    ax.set(xlabel="oracle labels", ylabel=metric, ylim=(0, 1))
    ax.legend(loc="lower right", fontsize="small")
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure
