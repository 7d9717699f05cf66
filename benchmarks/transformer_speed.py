"""Training throughput of our encoder-decoder Transformer against torch.nn.Transformer; figures printed.

    python benchmarks/transformer_speed.py                 # d_model 128, 4 heads, 2+2 layers, ff 512
    python benchmarks/transformer_speed.py --steps 100 --hidden 256 --heads 8 --layers 3 --ff 1024

Both models have the same sizes (d_model = hidden, heads, layers, ff), dropout 0, pre-norm
(torch's norm_first=True), sinusoidal positions, token embeddings scaled by sqrt(d_model), a linear
output layer, the same batches of the generated reverse task (source lengths 3-20 over 40 symbols,
length-sorted pools as in training), the same loss (`token_loss`), clipping and optimizer (the
Trainer's Adam). A step is `train_step`: forward, loss, backward, clip, update. torch's model gets
its masks the usual way: a source key-padding mask (encoder and cross-attention) and a causal target
mask (tgt_is_causal). The two are measured in alternating rounds in one process, on 1 and on 2
threads, and the best round of each is reported, in target tokens per wall-clock second and per
CPU second of the process (steadier when other processes share the cores).
"""
from __future__ import annotations

import argparse
import math
import time
import warnings

import torch
from torch import nn

from attn.config import ModelConfig, RunConfig, TrainConfig
from attn.data.text import PAD_ID
from attn.nn.models import build_model
from attn.nn.positions import Sinusoidal
from attn.data.batching import length_sorted_batches
from attn.training.bench import BENCH_DATA
from attn.training.experiment import prepare
from attn.training.optim import Adam
from attn.training.trainer import train_step


class TorchTransformer(nn.Module):
    """torch.nn.Transformer with the same embeddings, positions and output layer as ours."""

    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int):
        super().__init__()
        d = cfg.hidden
        self.src_embed = nn.Embedding(src_vocab_size, d, padding_idx=PAD_ID)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d, padding_idx=PAD_ID)
        self.positions = Sinusoidal(d, cfg.heads, cfg.max_positions)
        self.scale = math.sqrt(d)
        with warnings.catch_warnings():  # "enable_nested_tensor is True, but ... norm_first was True"
            warnings.simplefilter("ignore", UserWarning)
            self.core = nn.Transformer(d, cfg.heads, cfg.layers, cfg.layers, cfg.ff, dropout=cfg.dropout,
                                       batch_first=True, norm_first=True)
        self.out = nn.Linear(d, tgt_vocab_size)

    def _embed(self, table, ids):
        positions = torch.arange(ids.size(1))[None]
        return self.positions.embed(table(ids) * self.scale, positions)

    def forward(self, src, src_len, tgt_in):
        src_padding = torch.arange(src.size(1))[None] >= src_len[:, None]              # (B, S) True at pads
        causal = nn.Transformer.generate_square_subsequent_mask(tgt_in.size(1))
        states = self.core(self._embed(self.src_embed, src), self._embed(self.tgt_embed, tgt_in),
                           tgt_mask=causal, tgt_is_causal=True, src_key_padding_mask=src_padding,
                           memory_key_padding_mask=src_padding)
        return self.out(states), None


def measure(models: dict, prepared, batch: int, steps: int, rounds: int, clip: float, lr: float) -> dict:
    """Per model, the best of `rounds` alternating rounds of `steps` steps (after 5 warm-up steps):
    target tokens per wall second, and per CPU second of this process (all its threads) -- on a
    shared machine the second is the steadier figure of the two."""
    optimizers = {name: Adam(m.parameters(), lr=lr) for name, m in models.items()}
    batches = length_sorted_batches(prepared.train.src_len, batch, 32, torch.Generator().manual_seed(0))
    best = {name: {"wall": 0.0, "cpu": 0.0} for name in models}
    for name, model in models.items():
        for i in range(5):
            train_step(model, optimizers[name], prepared.train.batch(batches[i]), clip)
    for r in range(rounds):
        for name, model in models.items():
            tokens, wall, cpu = 0, time.perf_counter(), time.process_time()
            for i in range(steps):
                step_batch = prepared.train.batch(batches[(5 + r * steps + i) % len(batches)])
                train_step(model, optimizers[name], step_batch, clip)
                tokens += int((step_batch[3] != PAD_ID).sum())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name]["wall"] = max(best[name]["wall"], tokens / wall)
            best[name]["cpu"] = max(best[name]["cpu"], tokens / cpu)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--ff", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    model_cfg = ModelConfig(family="transformer", arch="encdec", positions="sinusoidal", hidden=args.hidden,
                            heads=args.heads, layers=args.layers, ff=args.ff, dropout=0.0)
    cfg = RunConfig(data=BENCH_DATA, model=model_cfg, train=TrainConfig(batch=args.batch))
    prepared = prepare(cfg.data)
    V_src, V_tgt = len(prepared.src_vocab), len(prepared.tgt_vocab)
    print(f"reverse task, d_model {args.hidden}, heads {args.heads}, layers {args.layers}+{args.layers}, "
          f"ff {args.ff}, batch {args.batch}, {args.steps} steps x {args.rounds} rounds; target tokens/s")
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        ours = build_model(model_cfg, V_src, V_tgt).train()
        torch.manual_seed(0)
        theirs = TorchTransformer(model_cfg, V_src, V_tgt).train()
        assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
        best = measure({"ours": ours, "torch": theirs}, prepared, args.batch, args.steps, args.rounds,
                       cfg.train.clip, cfg.train.lr)
        for clock in ("wall", "cpu"):
            ours_rate, torch_rate = best["ours"][clock], best["torch"][clock]
            print(f"{threads} thread(s), per {clock:4} s: ours {ours_rate:8.0f}   torch.nn.Transformer "
                  f"{torch_rate:8.0f}   ours / torch = {ours_rate / torch_rate:.2f}")


if __name__ == "__main__":
    main()
