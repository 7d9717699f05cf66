"""A generic trainer that emits events; progress bars, the run store and live charts subscribe.

The loop knows none of its listeners (minGPT's callbacks): it calls every callback with a
`TrainEvent` at the start, every `log_every` steps, after each epoch's validation, and at the end.
A stop request (a callable returning True) is checked before every batch, so it is honoured within
one batch.

Checkpoints (when the run has a `checkpoint` callable, attn.training.checkpointing.Checkpointer): one
before the first step (probe maps only), then whenever the training time since the last one is at least
its cost / budget (so they take about that share of training time; an epoch end needs half that, so
checkpoints line up with the validation loss), and one after training from the weights the run keeps
(the best epoch's under patience), so the last checkpoint's probe maps are the finished run's. Each is a
"checkpoint" event whose payload is the Checkpoint. Taking one changes nothing in training: the model is
put back in its mode and no random generator is drawn from.
"""
from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from attn.data.batching import TensorSplit, length_sorted_batches, sequential_batches
from attn.config import TrainConfig
from attn.nn import models
from attn.records import Checkpoint
from attn.training.events import Callback, TrainEvent
from attn.training.optim import Adam
from attn.data.text import PAD_ID


def set_seed(seed: int) -> None:
    """The one place seeds are set: Python's and torch's generators."""
    random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str) -> torch.device:
    """'auto' picks a GPU when one is there; 'cuda' without one is an error that says so."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu' or 'auto'")
    return torch.device(device)


@dataclass
class TrainResult:
    steps: list[dict] = field(default_factory=list)    # one row per step event
    epochs: list[dict] = field(default_factory=list)   # one row per epoch
    seconds: float = 0.0
    stopped: bool = False
    best_epoch: int | None = None


def train_step(model, optimizer, batch, clip: float, teacher_forcing: float = 1.0,
               fuse: bool | None = None) -> torch.Tensor:
    """One update on one batch (src, src_len, tgt_in, tgt_out): forward, token loss (models.token_loss:
    the output layer and the loss fused at a big target vocabulary, or `fuse` True/False), backward,
    gradient-norm clipping (clip > 0), optimizer step -> the loss, for the caller to log."""
    return update(model, optimizer, models.token_loss(model, batch, teacher_forcing, fuse=fuse), clip)


def update(model, optimizer, loss: torch.Tensor, clip: float) -> torch.Tensor:
    """Backward from `loss`, gradient-norm clipping (clip > 0), optimizer step -> the loss."""
    optimizer.zero_grad()
    loss.backward()
    if clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss


@torch.no_grad()
def evaluate_loss(model, split: TensorSplit, batch: int, device) -> float:
    """Mean token loss under teacher forcing (the validation curve)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for idx in sequential_batches(len(split), batch, split.src_len):
        batch = split.batch(idx, device)
        tgt_out = batch[3]
        total += float(models.token_loss(model, batch, reduction="sum"))
        count += int((tgt_out != PAD_ID).sum())
    model.train(was_training)
    return total / max(count, 1)


class Trainer:
    def __init__(self, model: torch.nn.Module, cfg: TrainConfig, train: TensorSplit,
                 valid: TensorSplit, seed: int, device: torch.device | str = "cpu",
                 checkpoint: Callable[..., Checkpoint] | None = None, budget: float = 0.05,
                 valid_bleu: Callable[[torch.nn.Module], float] | None = None):
        self.model, self.cfg, self.train_split, self.valid_split = model, cfg, train, valid
        # valid_bleu(model) -> the validation split's corpus BLEU, for cfg.early_stop == "bleu"
        if cfg.early_stop == "bleu" and valid_bleu is None:
            raise ValueError("train.early_stop = 'bleu' needs a valid_bleu scorer (experiment.run passes one)")
        self.valid_bleu = valid_bleu if cfg.early_stop == "bleu" else None
        self.device = torch.device(device)
        self.seed = seed
        self.callbacks: list[Callback] = []
        # checkpoint(model, step, epoch, seconds, evaluate=True) -> Checkpoint; None: no checkpoints
        self.checkpoint, self.budget = checkpoint, budget
        self._checkpoint_cost, self._checkpoint_done = 0.0, 0.0  # seconds the last took; when it ended

    def add_callback(self, fn: Callback) -> None:
        self.callbacks.append(fn)

    def _emit(self, event: TrainEvent) -> None:
        for fn in self.callbacks:
            fn(event)

    def _checkpoint_due(self, now: float, epoch_end: bool = False) -> bool:
        """Training seconds since the last checkpoint >= its cost / budget (half that at an epoch end)."""
        if self.checkpoint is None:
            return False
        return (now - self._checkpoint_done) * self.budget >= self._checkpoint_cost * (0.5 if epoch_end else 1.0)

    def _take_checkpoint(self, step: int, total_steps: int, steps_per_epoch: int, elapsed: float,
                         evaluate: bool = True) -> float:
        """Measure the model now and emit a "checkpoint" event -> the seconds it took."""
        begin = time.perf_counter()
        checkpoint = self.checkpoint(self.model, step, step / max(steps_per_epoch, 1), elapsed, evaluate=evaluate)
        self._emit(TrainEvent("checkpoint", step, total_steps, step // max(steps_per_epoch, 1), self.cfg.epochs,
                              elapsed, payload=checkpoint))
        self._checkpoint_done = time.perf_counter()
        self._checkpoint_cost = self._checkpoint_done - begin
        return self._checkpoint_cost

    def fit(self, should_stop: Callable[[], bool] | None = None) -> TrainResult:
        cfg, model = self.cfg, self.model
        model.to(self.device).train()
        generator = torch.Generator().manual_seed(self.seed)
        steps_per_epoch = math.ceil(len(self.train_split) / cfg.batch)
        total_steps = steps_per_epoch * cfg.epochs
        optimizer = Adam(model.parameters(), lr=cfg.lr, schedule=cfg.lr_schedule, total_steps=total_steps)
        result = TrainResult()
        start = time.perf_counter()
        step, best, best_state, bad_epochs = 0, -math.inf, None, 0   # best: the highest score so far
        self._emit(TrainEvent("start", 0, total_steps, 0, cfg.epochs, 0.0))
        if self.checkpoint is not None:  # the untrained model's maps: the first frame of an animation
            self._take_checkpoint(0, total_steps, steps_per_epoch, 0.0, evaluate=False)
        window_loss, window_tokens, window_start = 0.0, 0, time.perf_counter()
        for epoch in range(cfg.epochs):
            epoch_loss, epoch_tokens, epoch_start = 0.0, 0, time.perf_counter()
            for idx in length_sorted_batches(self.train_split.src_len, cfg.batch, cfg.pool, generator):
                if should_stop is not None and should_stop():
                    result.stopped = True
                    break
                batch = self.train_split.batch(idx, self.device)
                tgt_out = batch[3]
                loss = train_step(model, optimizer, batch, cfg.clip, cfg.teacher_forcing)
                step += 1
                n_tokens = int((tgt_out != PAD_ID).sum())
                loss_value = loss.item()
                window_loss += loss_value * n_tokens
                window_tokens += n_tokens
                epoch_loss += loss_value * n_tokens
                epoch_tokens += n_tokens
                if step % cfg.log_every == 0 or step == total_steps:
                    now = time.perf_counter()
                    elapsed = now - start
                    event = TrainEvent("step", step, total_steps, epoch, cfg.epochs, elapsed,
                                       train_loss=window_loss / max(window_tokens, 1),
                                       tokens_per_s=window_tokens / max(now - window_start, 1e-9),
                                       eta=elapsed / step * (total_steps - step))
                    result.steps.append(event.to_dict())
                    self._emit(event)
                    window_loss, window_tokens, window_start = 0.0, 0, time.perf_counter()
                if step < total_steps and self._checkpoint_due(time.perf_counter()):
                    window_start += self._take_checkpoint(step, total_steps, steps_per_epoch,
                                                          time.perf_counter() - start)
            if result.stopped:
                break
            epoch_train_seconds = time.perf_counter() - epoch_start
            valid_loss = evaluate_loss(model, self.valid_split, max(cfg.batch, 64), self.device)
            valid_bleu = None
            if self.valid_bleu is not None:
                valid_bleu = float(self.valid_bleu(model))
                model.train()
            # the score patience watches, higher is better: -loss, or BLEU under early_stop = "bleu"
            score = -valid_loss if valid_bleu is None else valid_bleu
            elapsed = time.perf_counter() - start
            event = TrainEvent("epoch", step, total_steps, epoch + 1, cfg.epochs, elapsed,
                               train_loss=epoch_loss / max(epoch_tokens, 1), valid_loss=valid_loss,
                               valid_bleu=valid_bleu,
                               tokens_per_s=epoch_tokens / max(epoch_train_seconds, 1e-9),
                               eta=elapsed / max(step, 1) * (total_steps - step))
            result.epochs.append(event.to_dict())
            self._emit(event)
            if epoch + 1 < cfg.epochs and self._checkpoint_due(time.perf_counter(), epoch_end=True):
                self._take_checkpoint(step, total_steps, steps_per_epoch, elapsed)
            window_start = time.perf_counter()  # validation and checkpoint time is not training time
            if score > best + 1e-6:
                best, bad_epochs, result.best_epoch = score, 0, epoch + 1
                if cfg.patience is not None:
                    best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
                if cfg.patience is not None and bad_epochs >= cfg.patience:
                    break
        if best_state is not None:
            model.load_state_dict(best_state)  # early stopping keeps the best epoch's weights
        model.eval()
        result.seconds = time.perf_counter() - start
        if self.checkpoint is not None and not result.stopped:  # from the weights the run keeps
            self._take_checkpoint(step, total_steps, steps_per_epoch, result.seconds)
        self._emit(TrainEvent("end", step, total_steps, len(result.epochs), cfg.epochs, result.seconds,
                              stopped=result.stopped))
        return result
