"""A plain seq2seq as the tutorials write it, timed on the same data as `python -m attn bench`.

The reference point for the speed claim: a bidirectional-GRU encoder and a decoder that loops over
target steps in Python (GRUCell, one step at a time, attention recomputed from scratch each step),
embedding 64, hidden 128, batch 64. Prints target tokens per second for none / additive / dot, next
to Attention Lab's own figures at the same sizes.

    python benchmarks/plain_baseline.py [--steps 60] [--threads N]
"""
from __future__ import annotations

import argparse
import json

import torch
from torch import nn


from attn.training.bench import BENCH_DATA, throughput, tokens_per_second# noqa: E402
from attn.config import preset# noqa: E402
from attn.training.experiment import prepare# noqa: E402
from attn.data.text import PAD_ID# noqa: E402

EMB, HIDDEN, BATCH = 64, 128, 64


class PlainSeq2Seq(nn.Module):
    """Tutorial style: every decoder step in Python, attention projections recomputed per step."""

    def __init__(self, src_vocab: int, tgt_vocab: int, variant: str):
        super().__init__()
        self.variant = variant
        self.src_embed = nn.Embedding(src_vocab, EMB, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab, EMB, padding_idx=PAD_ID)
        self.encoder = nn.GRU(EMB, HIDDEN // 2, batch_first=True, bidirectional=True)
        self.cell = nn.GRUCell(EMB + HIDDEN, HIDDEN)
        self.W = nn.Linear(HIDDEN, HIDDEN)
        self.U = nn.Linear(HIDDEN, HIDDEN)
        self.v = nn.Linear(HIDDEN, 1)
        self.out = nn.Linear(2 * HIDDEN, tgt_vocab)

    def forward(self, src, src_len, tgt_in):
        states, last = self.encoder(self.src_embed(src))
        summary = torch.cat([last[0], last[1]], dim=-1)
        mask = torch.arange(src.size(1))[None, :] < src_len[:, None]
        s = summary
        logits = []
        for t in range(tgt_in.size(1)):
            if self.variant == "none":
                c = summary
            else:
                if self.variant == "additive":
                    e = self.v(torch.tanh(self.W(s)[:, None] + self.U(states))).squeeze(-1)
                else:
                    e = torch.bmm(states, s[:, :, None]).squeeze(-1)
                a = torch.softmax(e.masked_fill(~mask, -1e9), dim=-1)
                c = torch.bmm(a[:, None], states).squeeze(1)
            s = self.cell(torch.cat([self.tgt_embed(tgt_in[:, t]), c], dim=-1), s)
            logits.append(self.out(torch.cat([s, c], dim=-1)))
        return torch.stack(logits, dim=1), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    prepared = prepare(BENCH_DATA)
    lecture = preset("lecture")
    report = {"threads": torch.get_num_threads(), "emb": EMB, "hidden": HIDDEN, "batch": BATCH,
              "lecture_sizes": {"emb": lecture.model.emb, "hidden": lecture.model.hidden,
                                "batch": lecture.train.batch},
              "plain": {}, "attention_lab": {}}
    for variant in ("none", "additive", "dot"):
        torch.manual_seed(0)
        plain = PlainSeq2Seq(len(prepared.src_vocab), len(prepared.tgt_vocab), variant)
        report["plain"][variant] = round(tokens_per_second(plain, prepared, BATCH, args.steps))
        report["attention_lab"][variant] = round(throughput(variant, args.steps, prepared=prepared))
    report["speedup"] = {v: round(report["attention_lab"][v] / report["plain"][v], 2) for v in report["plain"]}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
