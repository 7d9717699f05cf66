"""The terminal's progress display for runs trained at once: one status line per run."""
from __future__ import annotations

import sys
import time


class Progress:
    """One status line for all concurrent runs, redrawn in place on a terminal.

    Off a terminal (CI logs, pipes) it prints a line per finished epoch instead, so logs stay short.
    Called with (index of the run, TrainEvent); `note` sets a run's line without an event (a run
    answered from the store, a cancelled one).
    """

    def __init__(self, labels: list[str], stream=None):
        self.labels, self.stream = labels, stream if stream is not None else sys.stderr
        self.state: dict[int, str] = {i: "queued" for i in range(len(labels))}
        self.tty = self.stream.isatty()
        self.last_draw = 0.0
        self._drawn = False

    def __call__(self, index: int, event) -> None:
        label = self.labels[index]
        if event.kind in ("step", "epoch"):
            frac = event.step / max(event.total_steps, 1)
            loss = event.valid_loss if event.kind == "epoch" else event.train_loss
            tps = f" {event.tokens_per_s / 1000:.1f}k tok/s" if event.tokens_per_s else ""
            self.state[index] = f"{_bar(frac)} {frac:4.0%} loss {loss:.3f}{tps} eta {event.eta:.0f}s"
            if not self.tty and event.kind == "epoch":
                print(f"{label}: epoch {event.epoch}/{event.epochs} train {event.train_loss:.3f} "
                      f"valid {event.valid_loss:.3f}" + ("" if event.valid_bleu is None else
                                                         f" BLEU {event.valid_bleu:.1f}")
                      + f" ({event.elapsed:.1f}s)", file=self.stream, flush=True)
        elif event.kind == "end":
            self.state[index] = f"done in {event.elapsed:.1f}s" + (" (stopped)" if event.stopped else "")
            if not self.tty:
                print(f"{label}: {self.state[index]}", file=self.stream, flush=True)
        self._draw(force=event.kind == "end")

    def note(self, index: int, text: str) -> None:
        """Show `text` as the run's state (and, off a terminal, print it once)."""
        self.state[index] = text
        if not self.tty:
            print(f"{self.labels[index]}: {text}", file=self.stream, flush=True)
        self._draw(force=True)

    def _draw(self, force: bool) -> None:
        if not self.tty or not (force or time.monotonic() - self.last_draw > 0.1):
            return
        self.last_draw = time.monotonic()
        width = max(len(label) for label in self.labels)
        lines = [f"{self.labels[i]:<{width}}  {self.state[i]}" for i in range(len(self.labels))]
        up = f"\x1b[{len(lines)}F" if self._drawn else ""
        self._drawn = True
        print(up + "\n".join(line + "\x1b[K" for line in lines), file=self.stream, flush=True)


def _bar(frac: float, width: int = 20) -> str:
    full = int(frac * width)
    return "[" + "#" * full + "." * (width - full) + "]"
