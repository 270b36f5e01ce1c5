"""The torch network of the RNN matcher (Definition 2 of the risk-sampling paper)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class SequenceEncoder(nn.Module):
    """Token ids -> character n-gram hashing vectors -> bi-GRU -> max-pooled summary (2 hidden).

    The part of the matcher that self-supervised pretraining trains: it never sees a label.
    Token vectors are the mean of trainable n-gram bucket embeddings, optionally concatenated
    with frozen pretrained vectors given per call (so they are never stored here).
    """

    def __init__(self, n_buckets: int, hash_dim: int, pretrained_dim: int, hidden: int) -> None:
        super().__init__()
        self.ngrams = nn.EmbeddingBag(
            n_buckets + 1, hash_dim, mode="mean", padding_idx=0, sparse=True
        )
        self.gru = nn.GRU(hash_dim + pretrained_dim, hidden, batch_first=True, bidirectional=True)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        ngram_table: torch.Tensor,
        pretrained_table: torch.Tensor | None,
    ) -> torch.Tensor:
        """Summaries (S, 2 hidden) of S token sequences (S, T) with lengths (S,) >= 1."""
        used, inverse = torch.unique(tokens, return_inverse=True)
        vectors = self.ngrams(ngram_table[used])
        if pretrained_table is not None:
            vectors = torch.cat([vectors, pretrained_table[used]], dim=1)
        packed = pack_padded_sequence(
            vectors[inverse], lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = self.gru(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, padding_value=float("-inf"))
        return states.max(dim=1).values  # max-pool over the tokens of each sequence


class PairNetwork(nn.Module):
    """Encoder per attribute view -> |a - b|, a * b -> MLP (with pair features) -> match logit."""

    def __init__(
        self,
        n_attributes: int,
        n_lexical: int,
        n_buckets: int,
        hash_dim: int,
        pretrained_dim: int,
        hidden: int,
        mlp_hidden: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.n_attributes = n_attributes
        self.encoder = SequenceEncoder(n_buckets, hash_dim, pretrained_dim, hidden)
        compare_dim = n_attributes * 4 * hidden + n_lexical
        self.mlp = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(compare_dim, mlp_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_hidden, mlp_hidden),
            nn.ReLU(),
        )
        self.out = nn.Linear(mlp_hidden, 1)

    def forward(
        self,
        tokens: torch.Tensor,
        lengths: torch.Tensor,
        ngram_table: torch.Tensor,
        pretrained_table: torch.Tensor | None,
        lexical: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (logits (B,), penultimate representation (B, mlp_hidden)).

        tokens: (2 * n_attributes * B, T) ids into the tables, ordered (attribute, side, pair).
        """
        summary = self.encoder(tokens, lengths, ngram_table, pretrained_table)
        batch = lexical.shape[0]
        summary = summary.view(self.n_attributes, 2, batch, -1)
        left, right = summary[:, 0], summary[:, 1]
        compared = torch.cat([(left - right).abs(), left * right], dim=2)
        features = torch.cat([compared.permute(1, 0, 2).reshape(batch, -1), lexical], dim=1)
        hidden = self.mlp(features)
        return self.out(hidden).squeeze(1), hidden
