"""Drawing the next token from a language model's logits: temperature and top-k sampling."""

from __future__ import annotations

import torch


def draw_next(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Sample one token per row from ``logits`` of shape ``(N, V)``; returns ``(N,)`` token ids.

    The distribution is :math:`p_i \\propto \\exp(z_i / \\tau)` over the ``top_k`` largest
    logits (all of them when ``top_k`` is 0); ``temperature`` :math:`\\tau < 1` sharpens it,
    :math:`\\tau > 1` flattens it, and :math:`\\tau = 0` takes the most likely token (greedy
    decoding). Top-k sampling follows Fan et al. 2018, "Hierarchical Neural Story Generation",
    section 5.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 is greedy decoding), got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 keeps every token), got {top_k}")
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(dim=-1)
    device = generator.device if generator is not None else probs.device
    picks = torch.multinomial(probs.to(device), 1, generator=generator)
    return picks.squeeze(-1).to(logits.device)
