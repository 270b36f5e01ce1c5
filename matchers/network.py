"""The torch network of the RNN matcher (Definition 2 of the risk-sampling paper)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class PairNetwork(nn.Module):
    """Token vectors -> shared bi-GRU per attribute -> |a - b|, a * b -> MLP -> match logit.

    Token vectors are the mean of trainable character n-gram hashing embeddings, optionally
    concatenated with frozen pretrained vectors given per batch (so they are never stored here).
    """

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
        self.ngrams = nn.EmbeddingBag(
            n_buckets + 1, hash_dim, mode="mean", padding_idx=0, sparse=True
        )
        self.gru = nn.GRU(hash_dim + pretrained_dim, hidden, batch_first=True, bidirectional=True)
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
        used, inverse = torch.unique(tokens, return_inverse=True)
        vectors = self.ngrams(ngram_table[used])
        if pretrained_table is not None:
            vectors = torch.cat([vectors, pretrained_table[used]], dim=1)
        packed = pack_padded_sequence(
            vectors[inverse], lengths, batch_first=True, enforce_sorted=False
        )
        states, _ = self.gru(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, padding_value=float("-inf"))
        summary = states.max(dim=1).values  # max-pool over the tokens of each sequence
        batch = lexical.shape[0]
        summary = summary.view(self.n_attributes, 2, batch, -1)
        left, right = summary[:, 0], summary[:, 1]
        compared = torch.cat([(left - right).abs(), left * right], dim=2)
        features = torch.cat([compared.permute(1, 0, 2).reshape(batch, -1), lexical], dim=1)
        hidden = self.mlp(features)
        return self.out(hidden).squeeze(1), hidden
