"""Which runs to queue: the dashboard's widget values (and the CLI preload's choices) in, run configs out.

Not presentation: a page reads its widgets, asks here for the RunConfigs they mean, and hands them to the
runner. Built only from `attn.config` and `attn.data`, so it loads without torch.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from attn.config import PRESETS, VARIANTS, ConfigError, DataConfig, RunConfig
from attn.data.pairs import parse_edges
from attn.data.tasks import TASKS

LECTURE_VARIANTS = ("none", "additive", "dot")
DEFAULT_PRESET = "lecture"


def lecture_configs(preset: str = DEFAULT_PRESET, epochs: int | None = None) -> list[RunConfig]:
    """The Lecture demo: none, additive and dot on the preset's task, seed 0 (`epochs`: instead of the preset's)."""
    base = PRESETS[preset]
    if epochs is not None:
        base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=int(epochs)))
    return [base.with_variant(v) for v in LECTURE_VARIANTS]


def parse_seeds(text: str) -> list[int]:
    """"0", "0,1,2" or "0-2" -> distinct seeds in the order given; the error says what is expected."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo or hi - lo > 99:
                    raise ValueError
                values = range(lo, hi + 1)
            else:
                values = [int(part)]
        except ValueError:
            raise ValueError(f"seeds: {part!r} is not a whole number or a range like 0-2; "
                             "write e.g. 0 or 0,1,2 or 0-2") from None
        for value in values:
            if value < 0:
                raise ValueError(f"seeds must not be negative, got {value}")
            if value not in seeds:
                seeds.append(value)
    if not seeds:
        raise ValueError("seeds: give at least one seed, e.g. 0 or 0,1,2")
    return seeds


def training_config(data: DataConfig, preset: str = DEFAULT_PRESET, *, style: str, emb: int, hidden: int,
                    scaled: bool, epochs: int, batch: int, lr: float, teacher_forcing: float) -> RunConfig:
    """The preset's run with the Train page's settings laid over it (raises ConfigError on a bad value)."""
    base = PRESETS[preset]
    return RunConfig(data=data,
                     model=dataclasses.replace(base.model, style=style, emb=int(emb), hidden=int(hidden),
                                               scaled=bool(scaled)),
                     train=dataclasses.replace(base.train, epochs=int(epochs), batch=int(batch), lr=float(lr),
                                               teacher_forcing=float(teacher_forcing)),
                     seed=base.seed)


def plan_runs(base: RunConfig, variants: Sequence[str], seeds: Sequence[int]) -> list[RunConfig]:
    """One config per seed x variant (seeds outer, so the first seed of every variant starts first)."""
    if not variants:
        raise ConfigError(f"choose at least one variant ({', '.join(VARIANTS)})")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(VARIANTS)}")
    return [base.with_variant(v, seed=int(s)) for s in seeds for v in variants]


def preset_values(name: str) -> dict[str, Any]:
    """Widget values (by key) of the Train and Data pages that reproduce preset `name`."""
    cfg = PRESETS[name]
    spec = TASKS[cfg.data.task]
    lo = cfg.data.min_len if cfg.data.min_len is not None else spec.default_min_len
    hi = cfg.data.max_len if cfg.data.max_len is not None else spec.default_max_len
    return {"train.style": cfg.model.style, "train.emb": cfg.model.emb, "train.hidden": cfg.model.hidden,
            "train.scaled": cfg.model.scaled, "train.epochs": cfg.train.epochs, "train.batch": cfg.train.batch,
            "train.lr": cfg.train.lr, "train.teacher_forcing": cfg.train.teacher_forcing,
            "data.source": "built-in task", "data.task": cfg.data.task, "data.length": (lo, hi),
            "data.length_dist": cfg.data.length_dist, "data.n_train": cfg.data.n_train,
            "data.n_valid": cfg.data.n_valid, "data.n_test": cfg.data.n_test,
            "data.n_buckets": cfg.data.n_buckets, "data.edges": ""}


# ------------------------------------------------------------------------------------ data

def _edges(edges_text: str) -> tuple[int, ...] | None:
    """The bucket-edges field ("0,10,20") as a tuple; None when blank (equal-width buckets)."""
    return tuple(parse_edges(edges_text)) if edges_text and edges_text.strip() else None


def task_length_range(task: str) -> tuple[int, int]:
    """The Data page's default source-length range: the lecture preset's on its task, else the task's."""
    spec, base = TASKS[task], PRESETS[DEFAULT_PRESET].data
    same = base.task == task
    lo = base.min_len if same and base.min_len is not None else spec.default_min_len
    hi = base.max_len if same and base.max_len is not None else spec.default_max_len
    return lo, hi


def task_data_config(task: str, length: tuple[int, int], n_train: int, n_valid: int, n_test: int,
                     n_buckets: int = 5, edges_text: str = "", length_dist: str | None = None) -> DataConfig:
    """A built-in task's DataConfig, built on the lecture preset's data settings.

    A length end is stored as the preset stores it when it has the preset's value on the preset's
    task, and as None when it is the task's default, so the Data page's defaults give exactly the
    lecture preset's config (and so the same cached runs).
    """
    spec, base = TASKS[task], PRESETS[DEFAULT_PRESET].data
    same = base.task == task

    def end(value: int, preset_value: int | None, task_default: int) -> int | None:
        if same and value == (preset_value if preset_value is not None else task_default):
            return preset_value
        return None if value == task_default else value

    return dataclasses.replace(
        base, task=task, corpus=None, corpus_sha256=None, n_train=int(n_train), n_valid=int(n_valid),
        n_test=int(n_test), min_len=end(int(length[0]), base.min_len, spec.default_min_len),
        max_len=end(int(length[1]), base.max_len, spec.default_max_len),
        length_dist=length_dist or base.length_dist, n_buckets=int(n_buckets), buckets=_edges(edges_text))


def corpus_data_config(spec: str, sha256: str, *, lowercase: bool, max_len: int | None, max_pairs: int | None,
                       level: str, n_buckets: int = 5, edges_text: str = "") -> DataConfig:
    """An imported corpus, stored in the run store under its content hash (`spec` from store_corpus)."""
    return DataConfig(task="corpus", corpus=spec, corpus_sha256=sha256, lowercase=bool(lowercase),
                      max_len=max_len or None, max_pairs=max_pairs or None, level=level,
                      n_buckets=int(n_buckets), buckets=_edges(edges_text))
