"""What training reports while it runs: the events a progress bar, the run store and live charts read.

Kept apart from the trainer, free of torch, so a process that only shows progress (the CLI's parent
process, which receives events from its training workers) can unpickle events without importing torch
(2-3 s of CPU, taken from the workers on a small laptop).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable


@dataclass
class TrainEvent:
    kind: str                       # "start" | "step" | "epoch" | "checkpoint" | "end"
    step: int                       # optimizer steps done
    total_steps: int                # steps planned (epochs x batches per epoch)
    epoch: int                      # epochs completed (float progress is step / steps_per_epoch)
    epochs: int
    elapsed: float                  # seconds since training started
    train_loss: float | None = None # mean token loss since the previous step event (or over the epoch)
    valid_loss: float | None = None # epoch events: mean token loss on the validation split
    valid_bleu: float | None = None # epoch events under early_stop = "bleu": corpus BLEU on the validation split
    tokens_per_s: float | None = None  # target tokens per second since the previous event
    eta: float | None = None        # seconds left at the current pace
    stopped: bool = False           # end event: a stop request ended training early
    # checkpoint events: an attn.records.Checkpoint (numpy arrays and plain values, no tensors: it is
    # pickled to the CLI's parent process and replayed on a cluster's server)
    payload: object = None

    def to_dict(self) -> dict:
        """The event's numbers (the curve rows the trainer keeps); a checkpoint's payload is left out."""
        row = asdict(replace(self, payload=None))  # asdict would deep-copy a payload's arrays
        row.pop("payload")
        return row


Callback = Callable[[TrainEvent], None]
