"""Quickstart: the weak/active loop on synthetic person records with a simulated expert.

    .venv/bin/python examples/quickstart.py

Swap `SimulatedOracle` for `InteractiveOracle()` to answer the questions yourself, and pass
`store="labels.sqlite"` to keep every answer across runs.
"""

from active import ActiveLoop, SimulatedOracle
from active.cli import DEMO_LFS
from blocking import demo_dataset
from labeling_functions import load_lfs
from matchers import SimilarityMatcher

data = demo_dataset("synthetic", seed=0, n_entities=300)  # records, blocking, labelled pairs
pairs, gold = data.pairs, data.pairs["label"]
lfs = load_lfs(DEMO_LFS)

loop = ActiveLoop(
    pairs, lfs, oracle=SimulatedOracle(gold), selector="hybrid",
    matcher=SimilarityMatcher(seed=0),  # the in-loop matcher (the default); refitted per batch
    batch_size=10, gold=gold, seed=0,
)
history = loop.run(budget=30)
print(history[["n_labels", "lm_f1", "matcher_f1", "t_matcher", "t_select"]].round(3))

clusters = loop.clusters()
print(f"{int((clusters.cluster_size == 1).sum())} unique records, "
      f"{int((clusters.cluster_size > 1).sum())} duplicates in "
      f"{clusters.loc[clusters.cluster_size > 1, 'cluster'].nunique()} clusters")
