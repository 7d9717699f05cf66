"""Greedy decoding (batched) and beam search, both returning the attention of every output step."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from attn.data.text import BOS_ID, EOS_ID


@dataclass
class Hypothesis:
    tokens: list[int]                    # output ids, without <s>, up to and including </s> if emitted
    weights: torch.Tensor | None         # (T, S) attention of each output step over the real source
    score: float = 0.0                   # sum of log-probabilities


def max_output_length(src_len: torch.Tensor, cap: int = 200) -> int:
    """Outputs may run to twice the longest source plus a margin, never past `cap`."""
    return int(min(cap, 2 * int(src_len.max()) + 10))


@torch.no_grad()
def greedy(model, src: torch.Tensor, src_len: torch.Tensor, max_len: int | None = None) -> list[Hypothesis]:
    """Batched greedy search: every sentence takes its argmax word until </s> or max_len."""
    model.eval()
    enc = model.encode(src, src_len)
    state = model.decoder.init_state(enc)
    batch = src.size(0)
    # each sentence stops at its own limit, so a sentence decodes the same alone or in any batch
    limits = (torch.clamp(2 * src_len + 10, max=200) if max_len is None
              else torch.full_like(src_len, max_len)).cpu()
    max_len = int(limits.max())
    prev = torch.full((batch,), BOS_ID, dtype=torch.long, device=src.device)
    finished = torch.zeros(batch, dtype=torch.bool, device=src.device)
    out_ids, out_weights = [], []
    for _ in range(max_len):
        logits, state, weights = model.decoder.step(prev, state, enc)
        prev = logits.argmax(-1)                                       # (B,)
        out_ids.append(prev)
        out_weights.append(weights)
        finished |= (prev == EOS_ID) | (len(out_ids) >= limits.to(prev.device))
        if bool(finished.all()):
            break
    ids = torch.stack(out_ids, dim=1).cpu()                            # (B, T)
    has_weights = out_weights[0] is not None
    all_weights = torch.stack(out_weights, dim=1).cpu() if has_weights else None  # (B, T, S)
    hyps = []
    for b in range(batch):
        row = ids[b].tolist()
        row = row[:int(limits[b])]
        length = row.index(EOS_ID) + 1 if EOS_ID in row else len(row)
        n_src = int(src_len[b])
        w = all_weights[b, :length, :n_src].clone() if has_weights else None
        hyps.append(Hypothesis(row[:length], w))
    return hyps


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_len: torch.Tensor, beam: int = 5,
                max_len: int | None = None, alpha: float = 0.6) -> list[Hypothesis]:
    """Beam search, one sentence at a time with its beam as the batch.

    Finished hypotheses are ranked by log p / lp(len), lp(len) = ((5 + len) / 6)^alpha (Wu et al. 2016),
    len counting the </s>. The search stops once `beam` hypotheses have finished and the best of them
    beats log p / lp(limit) of the best open beam: an open beam's log p only falls and its lp only grows
    up to lp(limit), so that is the most it could still reach. (tests/nn/test_decode.py checks both
    against an exhaustive search.)
    """
    model.eval()
    results = []
    for b in range(src.size(0)):
        n_src = int(src_len[b])
        enc = model.encode(src[b:b + 1, :n_src], src_len[b:b + 1])
        limit = max_len or max_output_length(src_len[b:b + 1])
        state = model.decoder.init_state(enc)                          # (1, H)
        beams = [(0.0, [], [], state[0])]                              # (logp, ids, weights, state)
        finished: list[tuple[float, Hypothesis]] = []
        for _ in range(limit):
            k = len(beams)
            prev = torch.tensor([ids[-1] if ids else BOS_ID for _, ids, _, _ in beams], device=src.device)
            states = torch.stack([s for _, _, _, s in beams])
            logits, new_states, weights = model.decoder.step(prev, states, enc.repeat(k))
            logp = torch.log_softmax(logits, dim=-1)                   # (k, V)
            total = logp + torch.tensor([s for s, _, _, _ in beams], device=logp.device)[:, None]
            top = total.flatten().topk(min(beam, total.numel()))
            candidates = []
            for score, flat in zip(top.values.tolist(), top.indices.tolist()):
                i, tok = divmod(flat, logp.size(1))
                w = beams[i][2] + ([weights[i].cpu()] if weights is not None else [])
                ids = beams[i][1] + [tok]
                if tok == EOS_ID:
                    lp = ((5 + len(ids)) / 6) ** alpha
                    hyp = Hypothesis(ids, torch.stack(w) if w else None, score)
                    finished.append((score / lp, hyp))
                else:
                    candidates.append((score, ids, w, new_states[i]))
            beams = candidates[:beam]
            if not beams or (len(finished) >= beam and
                             max(f[0] for f in finished) > beams[0][0] / (((5 + limit) / 6) ** alpha)):
                break
        if not finished:  # nothing reached </s> within the limit: keep the best open beam
            score, ids, w, _ = beams[0]
            finished.append((score, Hypothesis(ids, torch.stack(w) if w else None, score)))
        results.append(max(finished, key=lambda f: f[0])[1])
    return results
