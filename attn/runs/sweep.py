"""Sweeps: a grid of runs, variants x seeds x the values of any config fields, and the capacity preset.

    python -m attn sweep --preset lecture --hidden 32,64,128,256,512 --seeds 0-4
    python -m attn sweep --preset capacity                 # none, additive, dot at hidden 32..512, 3 seeds

A grid is a base RunConfig, the attention variants, the seeds and one or more swept fields (`Axis`), each
with its list of values; `Grid.cells()` expands it to one `Cell` (a RunConfig and the values that made
it) per variant x seed x value, seeds outer, so the first seed of every value finishes first and a
picture with one line per variant appears before its bands. A shared server caps the cells one sweep may
ask for with ATTN_MAX_SWEEP_CELLS. The same grid comes from the CLI's flags (`parse_values`) and the
Sweep page's fields. A sweep's runs are recorded as a study of kind "sweep"; `swept_fields` finds its
axes again from the stored configs alone.

Built only from attn.config and attn.runs.plans (no torch), so pages load it without PyTorch.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd

from attn.config import (PRESETS, VARIANTS, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig,
                         env_int)
from attn.runs.plans import LECTURE_VARIANTS, parse_seeds

MAX_SWEEP_CELLS = 100   # default of ATTN_MAX_SWEEP_CELLS: the capacity preset's 45 cells fit, twice over
SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
# Fields a sweep may not vary: the variant and seed are the grid's own axes; corpus paths hold commas and
# are set by importing; the bucket edges are a tuple, and sweeping them would change what is compared.
NOT_SWEPT = {"variant", "corpus", "corpus_sha256", "corpus_valid", "corpus_test", "buckets"}
_RANGE = re.compile(r"^(\d+)-(\d+)$")


@dataclass(frozen=True)
class FieldSpec:
    """A config field a sweep can vary: where it lives and what kind of value it takes."""

    name: str        # the field's name, and the flag's: --n-train for n_train
    section: str     # "data", "model" or "train"
    kind: str        # "int", "float" or "str"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _field_specs() -> dict[str, FieldSpec]:
    """Every numeric or text field of DataConfig, ModelConfig and TrainConfig but NOT_SWEPT, by name."""
    specs: dict[str, FieldSpec] = {}
    for section, klass in SECTIONS.items():
        for f in dataclasses.fields(klass):
            kind = str(f.type).replace(" | None", "")
            if f.name in NOT_SWEPT or kind not in ("int", "float", "str"):
                continue
            if f.name in specs:  # one flag per name: a name in two sections would be ambiguous
                raise RuntimeError(f"config field {f.name!r} is in both {specs[f.name].section} and {section}")
            specs[f.name] = FieldSpec(f.name, section, kind)
    return specs


FIELDS = _field_specs()


def field_spec(name: str) -> FieldSpec:
    """The FieldSpec of `name` ("hidden", "n_train" or "n-train"); an unknown name lists the valid ones."""
    spec = FIELDS.get(str(name).strip().lstrip("-").replace("-", "_"))
    if spec is None:
        raise ConfigError(f"a sweep cannot vary {name!r}; it can vary: {', '.join(sorted(FIELDS))}")
    return spec


def parse_values(name: str, text: str) -> tuple:
    """'32,64,128' or '0-4' (whole numbers) or '1e-3,3e-3' or 'luong,bahdanau' -> the distinct values in order.

    Errors name the flag, the part that is wrong and how to write it right.
    """
    spec = field_spec(name)
    example = {"int": "32,64,128 or 2-6", "float": "0.001,0.003", "str": "luong,bahdanau"}[spec.kind]
    values: list = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            match = _RANGE.match(part) if spec.kind == "int" else None
            first, last = (int(match[1]), int(match[2])) if match else (None, None)
            new = (None if match else [int(part) if spec.kind == "int" else float(part) if spec.kind == "float"
                                       else part])
        except ValueError:
            what = {"int": "a whole number or a range like 2-6", "float": "a number"}[spec.kind]
            raise ConfigError(f"{spec.flag}: {part!r} is not {what}; write e.g. {spec.flag} {example}") from None
        if match:
            if last < first:
                raise ConfigError(f"{spec.flag}: the range {part!r} runs backwards; write {last}-{first}")
            if last - first >= MAX_SWEEP_CELLS:
                raise ConfigError(f"{spec.flag}: the range {part!r} holds {last - first + 1} values, more than a "
                                  f"sweep may have; list the values you want, e.g. {spec.flag} {example}")
            new = list(range(first, last + 1))
        values += [v for v in new if v not in values]
    if not values:
        raise ConfigError(f"{spec.flag}: give at least one value, e.g. {spec.flag} {example}")
    return tuple(values)


@dataclass(frozen=True)
class Axis:
    """One swept field and its values, in the order given."""

    name: str
    values: tuple


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: its config and the swept values that made it."""

    config: RunConfig
    values: tuple[tuple[str, Any], ...]   # ((field name, value), ...) in the grid's axis order

    @property
    def label(self) -> str:
        """'hidden 64 · dot · seed 1'"""
        return " · ".join([*(f"{n} {v:g}" if isinstance(v, float) else f"{n} {v}" for n, v in self.values),
                           self.config.model.label, f"seed {self.config.seed}"])


@dataclass(frozen=True)
class Grid:
    """A sweep: `base` with every variant x seed x combination of the axes' values."""

    base: RunConfig
    variants: tuple[str, ...] = LECTURE_VARIANTS
    seeds: tuple[int, ...] = (0,)
    axes: tuple[Axis, ...] = ()

    @property
    def size(self) -> int:
        """Cells the grid asks for (before any is built or checked)."""
        n = len(self.seeds) * (1 if self.base.model.family == "transformer" else len(self.variants))
        for axis in self.axes:
            n *= len(axis.values)
        return n

    def describe(self) -> str:
        """'hidden 32,64,128 × none,additive,dot × seeds 0,1,2': the study's name."""
        parts = [f"{a.name} {','.join(f'{v:g}' if isinstance(v, float) else str(v) for v in a.values)}"
                 for a in self.axes]
        if self.base.model.family != "transformer":
            parts.append(",".join(self.variants))
        parts.append(f"seeds {compact(self.seeds)}")
        return " × ".join(parts)

    def cells(self, limit: int | None = None) -> list[Cell]:
        """Every cell, seeds outer, then the axes' values, then the variants -> one Cell each.

        Raises ConfigError when the grid has more cells than `limit` (default: sweep_limit()), or when a
        value is outside its field's range (the config's message, after the flag that gave the value).
        """
        limit = sweep_limit() if limit is None else limit
        if self.size > limit:
            raise ConfigError(f"this sweep has {self.size} cells ({self.describe()}), more than the {limit} one "
                              f"sweep may have on this server (ATTN_MAX_SWEEP_CELLS={limit}); drop seeds or "
                              f"values, or raise ATTN_MAX_SWEEP_CELLS")
        if not self.seeds:
            raise ConfigError("--seeds: give at least one seed, e.g. 0 or 0,1,2 or 0-2")
        variants = self.variants if self.base.model.family != "transformer" else (self.base.model.variant,)
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown or not variants:
            raise ConfigError(f"--variants: {'unknown variant ' + repr(unknown[0]) if unknown else 'none given'}; "
                              f"choose from {', '.join(VARIANTS)}")
        cells = []
        for seed in self.seeds:
            for combo in itertools.product(*(axis.values for axis in self.axes)):
                values = tuple((axis.name, value) for axis, value in zip(self.axes, combo))
                cfg = with_values(self.base, values)
                cells += [Cell(cfg.with_variant(v, seed=int(seed)), values) for v in variants]
        return cells


def compact(numbers: Sequence[int]) -> str:
    """(0, 1, 2, 5) -> '0-2,5': whole numbers as parse_seeds and parse_values read them."""
    parts: list[list[int]] = []
    for n in numbers:
        if parts and n == parts[-1][-1] + 1:
            parts[-1].append(n)
        else:
            parts.append([n])
    return ",".join(f"{p[0]}-{p[-1]}" if len(p) > 2 else ",".join(map(str, p)) for p in parts)


def sweep_limit() -> int:
    """The most cells one sweep may have: ATTN_MAX_SWEEP_CELLS, else MAX_SWEEP_CELLS."""
    return env_int("ATTN_MAX_SWEEP_CELLS", MAX_SWEEP_CELLS)


def with_values(base: RunConfig, values: Sequence[tuple[str, Any]]) -> RunConfig:
    """`base` with each (field name, value) set, checked by the config; a bad value names the flag too."""
    changes: dict[str, dict] = {section: {} for section in SECTIONS}
    for name, value in values:
        spec = field_spec(name)
        changes[spec.section][spec.name] = value
    try:
        return dataclasses.replace(base, **{section: dataclasses.replace(getattr(base, section), **fields)
                                            for section, fields in changes.items() if fields})
    except ConfigError as exc:
        flags = " ".join(f"{field_spec(n).flag} {v}" for n, v in values)
        raise ConfigError(f"{flags}: {exc}") from None


def make_grid(base: RunConfig, variants: Sequence[str] | str | None = None, seeds: str | Sequence[int] = "0",
              axes: Mapping[str, str | Sequence] | None = None) -> Grid:
    """A Grid from what a person types: variants 'none,dot' (None: none, additive, dot), seeds '0-2',
    axes {'hidden': '32,64', ...} (text, parsed by parse_values, or a list of values)."""
    if isinstance(variants, str):
        variants = [v.strip() for v in variants.split(",") if v.strip()]
    variants = tuple(dict.fromkeys(variants)) if variants is not None else LECTURE_VARIANTS
    try:
        seeds = tuple(parse_seeds(seeds) if isinstance(seeds, str) else dict.fromkeys(int(s) for s in seeds))
    except ValueError as exc:
        raise ConfigError(f"--{exc}") from None
    parsed = []
    for name, text in (axes or {}).items():
        spec = field_spec(name)
        values = parse_values(spec.name, text) if isinstance(text, str) else tuple(dict.fromkeys(text))
        parsed.append(Axis(spec.name, values))
    return Grid(base, variants, seeds, tuple(parsed))


# The capacity question (issue 14): does a bigger fixed vector close the gap on long sentences? The
# lecture preset's task and training at hidden 32 to 512, as Bahdanau et al. compared RNNencdec-30 and -50.
CAPACITY_HIDDEN = (32, 64, 128, 256, 512)
SWEEP_PRESETS: dict[str, Grid] = {
    "capacity": Grid(PRESETS["lecture"], LECTURE_VARIANTS, (0, 1, 2), (Axis("hidden", CAPACITY_HIDDEN),)),
}


def sweep_preset(name: str) -> Grid:
    if name not in SWEEP_PRESETS:
        raise ConfigError(f"unknown sweep preset {name!r}; valid: {', '.join(SWEEP_PRESETS)}")
    return SWEEP_PRESETS[name]


# ------------------------------------------------------------------ a stored sweep, read back

def swept_fields(configs: Mapping[str, Mapping]) -> list[str]:
    """The fields (in FIELDS) whose values differ between the stored configs {run id: config dict}: the
    axes of a sweep whose runs are these. Variant and seed are not among them."""
    swept = []
    for name, spec in FIELDS.items():
        values = {repr(cfg.get(spec.section, {}).get(name)) for cfg in configs.values()}
        if len(values) > 1:
            swept.append(name)
    return swept


def cell_frame(runs: pd.DataFrame, configs: Mapping[str, Mapping], fields: Sequence[str],
               order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per run of `configs`: run_id, variant, seed, status, bleu, progress and each swept field's
    value (runs: store.runs()), in the order of `order` (a study's run ids), else as `runs` lists them."""
    rows = runs[runs["id"].isin(list(configs))]
    if order is not None:
        position = {rid: i for i, rid in enumerate(order)}
        rows = rows.sort_values("id", key=lambda ids: ids.map(position), kind="stable")
    frame = rows[["id", "variant", "seed", "status", "bleu", "progress"]].rename(columns={"id": "run_id"})
    for name in fields:
        section = FIELDS[name].section
        frame[name] = [configs[rid][section].get(name) for rid in frame["run_id"]]
    return frame.reset_index(drop=True)


def sweep_points(cells: pd.DataFrame, buckets: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """store.buckets() rows of the done cells with each swept field's value beside them: the tidy frame of
    attn.viz.sweep (one row per run x bucket)."""
    values = cells[["run_id", *fields]]
    return buckets.merge(values, on="run_id", how="inner")


# ------------------------------------------------------------------ the Sweep page's form

def parse_fixed(text: str) -> list[tuple[str, Any]]:
    """'epochs=2; n_train=500' -> [('epochs', 2), ('n_train', 500)]: fields every cell shares."""
    fixed = []
    for part in str(text or "").split(";"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"'{part.strip()}' is not field=value; write e.g. epochs=2; n_train=500")
        values = parse_values(name.strip(), value)
        if len(values) != 1:
            raise ConfigError(f"'{part.strip()}': a fixed field takes one value; sweep one field at a time")
        fixed.append((field_spec(name).name, values[0]))
    return fixed


def form_grid(preset: str, variants: Sequence[str], seeds: str, field: str, values: str, fixed: str = "") -> Grid:
    """The Sweep page's fields -> the Grid they mean: `preset`'s config with `fixed` laid over it, `field`
    swept over `values`; errors name the field and how to write it."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r}; valid: {', '.join(PRESETS)}")
    base = with_values(PRESETS[preset], parse_fixed(fixed))
    return make_grid(base, list(variants), seeds, {field: values})


def preset_form(name: str) -> dict[str, Any]:
    """The Sweep page's field values (by widget name) that ask for sweep preset `name`."""
    grid = sweep_preset(name)
    base = next(key for key, cfg in PRESETS.items() if cfg == grid.base)
    axis = grid.axes[0]
    return {"preset": base, "variants": list(grid.variants), "seeds": compact(grid.seeds), "field": axis.name,
            "values": ",".join(map(str, axis.values)), "fixed": ""}
