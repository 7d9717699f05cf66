"""Seconds for one training epoch of none, additive and dot on a corpus (the stand-in of make_corpus.py).

    python benchmarks/make_corpus.py --out /tmp/standin
    python benchmarks/corpus_epoch.py --data /tmp/standin                 # lecture sizes, word level
    python benchmarks/corpus_epoch.py --data /tmp/standin --tied          # tied embeddings
    python benchmarks/corpus_epoch.py --data /tmp/standin --preset corpus # the corpus preset (BPE 4,000, ...)
    python benchmarks/corpus_epoch.py --data /tmp/standin --loss plain    # without the fused output layer + loss

`--data` is a folder with train.tsv, valid.tsv and test.tsv (the official splits, used as given). Each
variant trains one epoch with the Trainer (every batch, then the validation loss, as a run does; the
per-epoch checkpoints are off where the config has them, so only training is timed) at the lecture
preset's sizes (embedding 64, hidden 128, batch 64) on one thread, as each of the demo's workers
trains. Printed per variant: wall seconds and CPU seconds of this process (on a shared, loaded
machine the CPU seconds are the steadier figure), target tokens/s; then the sums over the variants.
Compare figures taken one right after the other. `--steps N` times the first N batches only and
scales to the epoch (a quick look; the full epoch is the figure to quote). The data is a generated
stand-in, not a real corpus: say so wherever a figure from it goes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import time
from pathlib import Path

import torch

import attn
from attn.config import DataConfig, TrainConfig, on_corpus, preset
from attn.training.experiment import build_model, prepare
from attn.training.trainer import Trainer


def corpus_data(folder: str, preset_name: str = "lecture", **changes) -> DataConfig:
    """The folder's train/valid/test TSVs as official splits, with the preset's data settings (as
    `python -m attn train --preset P --data ...` has them: the corpus preset's min_freq and subwords)."""
    root = Path(folder)
    return on_corpus(preset_name, str(root / "train.tsv"), corpus_valid=str(root / "valid.tsv"),
                     corpus_test=str(root / "test.tsv"), **changes)


def time_epoch(cfg, prepared, steps: int | None = None) -> dict:
    """One epoch of `cfg` (or its first `steps` batches, scaled to the epoch): wall and CPU seconds."""
    model = build_model(cfg, prepared)
    done = 0

    def should_stop() -> bool:
        nonlocal done
        done += 1
        return steps is not None and done > steps

    trainer = Trainer(model, cfg.train, prepared.train, prepared.valid, seed=cfg.seed)
    wall, cpu = time.perf_counter(), time.process_time()
    result = trainer.fit(should_stop)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    per_epoch = math.ceil(len(prepared.train) / cfg.train.batch)
    batches = min(done - 1, per_epoch) if result.stopped else per_epoch
    scale = per_epoch / max(batches, 1)
    tokens = int((prepared.train.tgt_len.float().sum()))  # target tokens of one epoch, </s> included
    return {"wall_s": round(wall * scale, 1), "cpu_s": round(cpu * scale, 1), "batches_timed": batches,
            "tokens_per_s_wall": round(tokens / (wall * scale)), "params": sum(
                p.numel() for p in model.parameters())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with train.tsv, valid.tsv, test.tsv")
    parser.add_argument("--variants", default="none,additive,dot")
    parser.add_argument("--preset", default="lecture", help="model and training sizes (default: lecture)")
    parser.add_argument("--tied", action="store_true", help="tied input/output embeddings (ModelConfig.tied)")
    parser.add_argument("--subwords", choices=("bpe", "unigram"), help="SentencePiece pieces instead of words")
    parser.add_argument("--subword-vocab", type=int, default=8000, dest="subword_vocab")
    parser.add_argument("--words", action="store_true", help="whole words, even where the preset has subwords")
    parser.add_argument("--steps", type=int, help="time only the first N batches of each epoch, scaled up")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--loss", choices=("auto", "plain", "fused"), default="auto",
                        help="the Trainer's loss: auto (as a run trains: fused from models.FUSED_LOSS_MIN_VOCAB "
                             "target words up), plain (logits + F.cross_entropy) or fused, at any vocabulary")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.loss != "auto":
        from attn.training import bench, trainer
        trainer.train_step = bench.plain_loss_step if args.loss == "plain" else bench.fused_loss_step
    base = preset(args.preset)
    data_changes = {"subwords": args.subwords, "subword_vocab": args.subword_vocab} if args.subwords else {}
    if args.words:
        data_changes["subwords"] = None
    data = corpus_data(args.data, args.preset, **data_changes)
    # one epoch of training and its validation loss; no early stopping (a validation-BLEU scorer decodes
    # the validation split each epoch: the full run's time, not a training step's)
    train = dataclasses.replace(base.train, epochs=1, patience=None, early_stop="loss")
    if any(f.name == "checkpoints" for f in dataclasses.fields(TrainConfig)):
        train = dataclasses.replace(train, checkpoints=False)
    model = dataclasses.replace(base.model, tied=True) if args.tied else base.model
    start = time.perf_counter()
    prepared = prepare(data)
    report = {"data": args.data, "stand_in": True, "code": str(Path(attn.__file__).parent), "prepare_s": round(time.perf_counter() - start, 1),
              "pairs": len(prepared.train), "src_vocab": len(prepared.src_vocab),
              "tgt_vocab": len(prepared.tgt_vocab), "emb": model.emb, "hidden": model.hidden,
              "batch": train.batch, "tied": args.tied, "loss": args.loss, "threads": args.threads, "variants": {}}
    for variant in args.variants.split(","):
        cfg = dataclasses.replace(base, data=data, model=dataclasses.replace(model, variant=variant), train=train)
        report["variants"][variant] = time_epoch(cfg, prepared, args.steps)
        print(json.dumps({variant: report["variants"][variant]}), flush=True)
    for key in ("wall_s", "cpu_s"):
        report[f"epoch_{key}_all_variants"] = round(sum(v[key] for v in report["variants"].values()), 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
