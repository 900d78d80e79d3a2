"""``chainrule.nn.utils.rnn``: ``pad_sequence`` and ``unpad_sequence`` as torch's (differentiable).
Packed sequences (``PackedSequence``, ``pack_padded_sequence``) are not built: chainrule's RNNs
take padded batches."""

from __future__ import annotations

from ... import _ns
from ..._tensor import Tensor
from .. import functional as F


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors of shapes (Lᵢ, *) into (max L, B, *) — (B, max L, *) if ``batch_first`` —
    filling with ``padding_value`` on the ``padding_side``.

    Example:
        >>> pad_sequence([chainrule.ones(2), chainrule.ones(3)], batch_first=True)
        tensor([[1., 1., 0.],
                [1., 1., 1.]])
    """
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if isinstance(sequences, Tensor):
        seqs = list(sequences.unbind(0))
    rest = tuple(seqs[0].shape[1:])
    for s in seqs:
        if s.ndim == 0 or tuple(s.shape[1:]) != rest:
            raise RuntimeError(f"pad_sequence: every sequence needs the trailing shape "
                               f"{list(rest)} (got {list(s.shape)})")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        n = longest - s.shape[0]
        side = (0, n) if padding_side == "right" else (n, 0)
        padded.append(F.pad(s, (0, 0) * len(rest) + side, value=padding_value))
    return _ns.stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of unpadded sequences (the first ``lengths[i]`` steps of each)."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(lengths)]


__all__ = ["pad_sequence", "unpad_sequence"]
