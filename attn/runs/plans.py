"""Which runs to queue: the dashboard's widget values (and the CLI preload's choices) in, run configs out.

Not presentation: a page reads its widgets, asks here for the RunConfigs they mean, and hands them to the
runner. Built only from `attn.config` and `attn.data`, so it loads without torch.
"""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from attn.config import (PRESETS, VARIANTS, ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig,
                         length_configs)
from attn.data.pairs import parse_edges
from attn.data.tasks import TASKS

LECTURE_VARIANTS = ("none", "additive", "dot")
DEFAULT_PRESET = "lecture"
MAX_SEEDS = 100  # seeds one request may name: with four variants that is already 400 runs


def lecture_configs(preset: str = DEFAULT_PRESET, epochs: int | None = None) -> list[RunConfig]:
    """The Lecture demo: none, additive and dot on the preset's task, seed 0 (`epochs`: instead of the preset's)."""
    base = PRESETS[preset]
    if epochs is not None:
        base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=int(epochs)))
    return [base.with_variant(v) for v in LECTURE_VARIANTS]


def demo_kind(configs: Sequence[RunConfig]) -> str | None:
    """"lecture" or "length" when `configs` are exactly that one-click demo's models (any seeds: with
    --seeds they are its bands), else None. A study of such runs opens on the Lecture view, wherever
    it was queued from (Home, `train --preset lecture`, `preload`)."""
    def models(runs):  # the configs' keys with the seed left out
        return {dataclasses.replace(cfg, seed=0).key() for cfg in runs}
    keys = models(configs)
    for kind, demo in (("lecture", lecture_configs()), ("length", length_configs())):
        if keys == models(demo):
            return kind
    return None


def parse_seeds(text: str) -> list[int]:
    """"0", "0,1,2" or "0-2" -> distinct seeds in the order given, at most MAX_SEEDS of them.

    Each error says what is wrong with which part: not a number, a range that runs backwards or holds
    more than MAX_SEEDS seeds, a seed outside the range RunConfig allows.
    """
    lo_seed, hi_seed = config_range("run", "seed")
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        if not part:
            continue
        try:
            first, last = (int(x) for x in part.split("-", 1)) if "-" in part[1:] else (int(part),) * 2
        except ValueError:
            raise ValueError(f"seeds: {part!r} is not a whole number or a range like 0-2; "
                             "write e.g. 0 or 0,1,2 or 0-2") from None
        if last < first:
            raise ValueError(f"seeds: the range {part!r} runs backwards; write {last}-{first}")
        if last - first + 1 > MAX_SEEDS:
            raise ValueError(f"seeds: the range {part!r} holds {last - first + 1} seeds, more than the "
                             f"{MAX_SEEDS} allowed at once; write e.g. {first}-{first + MAX_SEEDS - 1}")
        for value in (first, last):
            if not lo_seed <= value <= hi_seed:
                raise ValueError(f"seeds: {value} is outside the allowed range {lo_seed}..{hi_seed}")
        seeds += [value for value in range(first, last + 1) if value not in seeds]
        if len(seeds) > MAX_SEEDS:
            raise ValueError(f"seeds: {str(text).strip()!r} names more than the {MAX_SEEDS} seeds allowed at once")
    if not seeds:
        raise ValueError("seeds: give at least one seed, e.g. 0 or 0,1,2")
    return seeds


def training_config(data: DataConfig, preset: str = DEFAULT_PRESET, *, style: str, emb: int, hidden: int,
                    scaled: bool, epochs: int, batch: int, lr: float, teacher_forcing: float,
                    dropout: float | None = None, transformer: Mapping[str, Any] | None = None) -> RunConfig:
    """The preset's run with the Train page's settings laid over it (`dropout` None: the preset's).

    `transformer`: {"arch", "positions", "layers", "heads"} for model.family = "transformer" (None: the RNN).
    Raises FormError naming every invalid field with its value and allowed range (validate_form).
    """
    values = {"style": style, "emb": emb, "hidden": hidden, "scaled": scaled, "epochs": epochs, "batch": batch,
              "lr": lr, "teacher_forcing": teacher_forcing}
    if dropout is not None:
        values["dropout"] = dropout
    if transformer is not None:
        values.update(family="transformer", **transformer)
    problems = validate_form(values, preset)
    if problems:
        raise FormError(problems)
    base = PRESETS[preset]
    model = dataclasses.replace(base.model, style=style, emb=int(emb), hidden=int(hidden), scaled=bool(scaled))
    if dropout is not None:
        model = dataclasses.replace(model, dropout=float(dropout))
    if transformer is not None:
        model = dataclasses.replace(model, family="transformer", arch=transformer["arch"],
                                    positions=transformer["positions"], layers=int(transformer["layers"]),
                                    heads=int(transformer["heads"]))
    return RunConfig(data=data, model=model,
                     train=dataclasses.replace(base.train, epochs=int(epochs), batch=int(batch), lr=float(lr),
                                               teacher_forcing=float(teacher_forcing)),
                     seed=base.seed)


def plan_runs(base: RunConfig, variants: Sequence[str], seeds: Sequence[int]) -> list[RunConfig]:
    """One config per seed x variant (seeds outer, so the first seed of every variant starts first).

    A Transformer has no attention variant to vary (its `variant` is unused): one config per seed."""
    if base.model.family == "transformer":
        return [dataclasses.replace(base, seed=int(s)) for s in seeds]
    if not variants:
        raise ConfigError(f"choose at least one variant ({', '.join(VARIANTS)})")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ConfigError(f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(VARIANTS)}")
    return [base.with_variant(v, seed=int(s)) for s in seeds for v in variants]


def plan_form(data: DataConfig, preset: str, values: Mapping[str, Any]) -> tuple[list[RunConfig], list[str]]:
    """The Train form's values (validate_form's names; family "transformer" adds arch, positions, layers and
    heads) -> (the runs they ask for, []), or ([], one message per invalid field): nothing half-made."""
    problems = validate_form(values, preset)
    if problems:
        return [], problems
    numbers = {k: values[k] for k in ("style", "emb", "hidden", "scaled", "epochs", "batch", "lr", "teacher_forcing")}
    transformer = ({k: values[k] for k in ("arch", "positions", "layers", "heads")}
                   if values.get("family") == "transformer" else None)
    base = training_config(data, preset, **numbers, transformer=transformer)
    return plan_runs(base, values["variants"], parse_seeds(values["seeds"])), []


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


# ------------------------------------------------------------------------------------ the Train form

class FormError(ConfigError):
    """Several invalid form fields at once; `problems` holds one message per field."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True)
class FormField:
    """One number of the Train form: the RunConfig field it sets and the range attn.config allows it."""

    name: str                       # key in validate_form's values and training_config's keywords
    label: str                      # what the page calls it
    section: str                    # "model", "train" or "run": where it goes in a RunConfig
    lo: int | float                 # allowed range, read from attn.config's own check (config_range)
    hi: int | float
    help: str                       # what it means and its range, for the widget's help=


# name, label, section, config field, meaning (+ what the check asks beyond the range). Ranges are not
# written here: config_range reads each from the check attn.config applies.
_FORM = (
    ("emb", "Embedding size", "model", "emb", "size E of each word's vector, source and target"),
    ("hidden", "Hidden size", "model", "hidden", "size H of the decoder state; each encoder direction has "
                                                 "H/2, so H must be even"),
    ("dropout", "Dropout", "model", "dropout", "share of embedding and output units zeroed in training"),
    ("epochs", "Epochs", "train", "epochs", "passes over the training sentences"),
    ("batch", "Batch", "train", "batch", "sentences per training step"),
    ("lr", "Learning rate", "train", "lr", "Adam's step size"),
    ("teacher_forcing", "Teacher forcing", "train", "teacher_forcing",
     "how often the decoder reads the true previous word instead of its own guess"),
    ("seeds", "Seeds", "run", "seed", f"e.g. 0, or 0,1,2, or 0-2: whole numbers, at most {MAX_SEEDS} of them"),
    ("layers", "Layers", "model", "layers", "Transformer blocks in each stack"),
    ("heads", "Heads", "model", "heads", "Transformer attention heads; each gets hidden / heads dimensions, "
                                         "so the heads must divide the hidden size"),
)
_CLASSES = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "run": RunConfig}
_REFUSED = re.compile(r"allowed range (\S+?)\.\.(\S+)$")
_OTHER_KEYS = ("style", "scaled", "variants", "family", "arch", "positions")  # choices, not numbers
_MODEL_CHOICES = ("style", "scaled", "family", "arch", "positions")


def config_range(section: str, name: str) -> tuple[int | float, int | float]:
    """The range attn.config allows `section.name`, read from its own check, which names the range when
    it refuses a value: it is handed one no range holds. Limits set by environment are included.

    A check that refuses another field's default first (ATTN_MAX_EPOCHS=5 refuses epochs = 10) has named
    that field's range too: it is given its lowest allowed value and the probe tries again.
    """
    base = PRESETS[DEFAULT_PRESET]  # a RunConfig's parts are made already: their own defaults may be refused
    values: dict[str, Any] = {"data": base.data, "model": base.model, "train": base.train} if section == "run" else {}
    values[name] = "?"
    for _ in range(len(dataclasses.fields(_CLASSES[section])) + 1):
        try:
            _CLASSES[section](**values)
        except ConfigError as exc:
            said = str(exc)
            found = _REFUSED.search(said)
            refused = said.split(" = ", 1)[0]
            if found is None or not refused.startswith(f"{section}."):
                raise RuntimeError(f"attn.config's check of {section}.{name} no longer names its range as "
                                   f"'allowed range LO..HI' ({said}); update plans.config_range") from exc
            if refused == f"{section}.{name}":
                return _number(found[1]), _number(found[2])
            values[refused.split(".", 1)[1]] = _number(found[1])
        else:
            break
    raise RuntimeError(f"attn.config accepts {section}.{name} = '?': it no longer checks that field's range")


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def form_fields() -> dict[str, FormField]:
    """Every number of the Train form by name, with its allowed range and a help text stating it."""
    fields = {}
    for name, label, section, field, meaning in _FORM:
        lo, hi = config_range(section, field)
        fields[name] = FormField(name, label, section, lo, hi, f"{meaning[0].upper()}{meaning[1:]}. "
                                                              f"Allowed: {lo}..{hi}.")
    return fields


def validate_form(values: Mapping[str, Any], preset: str = DEFAULT_PRESET) -> list[str]:
    """One message per invalid field of the Train form, naming it, its value and its range; [] if all are valid.

    `values` by name (form_fields(), plus "style", "scaled" and "variants"); fields left out keep the
    preset's value. Each field is checked alone on the preset, so every invalid one is named, then all
    together for the rules that join fields.
    """
    fields = form_fields()
    unknown = sorted(set(values) - set(fields) - set(_OTHER_KEYS))
    if unknown:
        raise ValueError(f"validate_form: no form field {', '.join(unknown)}; "
                         f"the fields are {', '.join([*fields, *_OTHER_KEYS])}")
    base, problems = PRESETS[preset], []
    for name, value in values.items():
        label = fields[name].label if name in fields else name.capitalize()
        try:
            if name == "seeds":
                parse_seeds(value)
            elif name == "variants":
                plan_runs(base, value, [base.seed])
            else:
                _with_values(base, _whole({name: value}))
        except ValueError as exc:  # ConfigError too: its message names the config field, value and range
            said = str(exc)
            problems.append(said if said.lower().startswith(label.lower()) else f"{label}: {said}")
    if not problems:
        try:
            _with_values(base, _whole({k: v for k, v in values.items() if k not in ("seeds", "variants")}))
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _whole(values: Mapping[str, Any]) -> dict[str, Any]:
    """Whole-number fields given as 64.0 become 64; 2.5 is refused naming the field and its range."""
    out = dict(values)
    for name, field in form_fields().items():
        value = out.get(name)
        if isinstance(field.lo, int) and isinstance(value, float):
            if not value.is_integer():
                raise ConfigError(f"{field.section}.{name} = {value!r} is not a whole number; "
                                  f"allowed {field.lo}..{field.hi}")
            out[name] = int(value)
    return out


def _with_values(base: RunConfig, values: Mapping[str, Any]) -> RunConfig:
    """`base` with form values laid over it; each section is rebuilt, so attn.config checks every value."""
    fields = form_fields()
    section_of = {**{n: f.section for n, f in fields.items()}, **{n: "model" for n in _MODEL_CHOICES}}
    changes: dict[str, dict] = {"model": {}, "train": {}}
    for name, value in values.items():
        changes[section_of[name]][name] = value
    return RunConfig(data=base.data, model=dataclasses.replace(base.model, **changes["model"]),
                     train=dataclasses.replace(base.train, **changes["train"]), seed=base.seed)


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


# ------------------------------------------------------------------------------------ data in a link

CORPUS_FILES = (("corpus.tsv",), ("source.txt", "target.txt"))  # what RunStore.store_corpus names them


PATH_FIELDS = ("corpus", "corpus_valid", "corpus_test")  # server paths: never in a link


def data_param(cfg: DataConfig) -> str | None:
    """The chosen data as a short URL value: the fields that differ from the lecture preset's, as JSON;
    None when a link cannot name it (official split files given by path, as the CLI can).

    An imported corpus goes by its content hash only (never a server path), so a link names a corpus
    this server stored and nothing else.
    """
    if cfg.corpus_valid or cfg.corpus_test:
        return None
    base = dataclasses.asdict(PRESETS[DEFAULT_PRESET].data)
    changed = {k: v for k, v in dataclasses.asdict(cfg).items() if base[k] != v and k not in PATH_FIELDS}
    return json.dumps(changed, separators=(",", ":"), sort_keys=True)


def data_from_param(text: str, store_home: Path) -> DataConfig:
    """`data_param`'s value back to a DataConfig; a corpus must be one `store_home` holds.

    Raises ConfigError saying what in the link is wrong and what would be right.
    """
    where = "the data in this link (?data=...)"
    try:
        changed = json.loads(text)
    except ValueError:
        raise ConfigError(f"{where} is not readable JSON: {text[:80]!r}; open Data and choose the data again") \
            from None
    fields = {f.name for f in dataclasses.fields(DataConfig)} - set(PATH_FIELDS)
    if not isinstance(changed, dict) or set(changed) - fields:
        extra = sorted(set(changed) - fields) if isinstance(changed, dict) else []
        raise ConfigError(f"{where} names no data setting{'s ' + ', '.join(extra) if extra else ''}; "
                          f"the settings are {', '.join(sorted(fields))}")
    if changed.get("buckets") is not None:
        changed["buckets"] = tuple(changed["buckets"]) if isinstance(changed["buckets"], list) else changed["buckets"]
    sha = changed.get("corpus_sha256")
    if sha is not None:
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
            raise ConfigError(f"{where}: corpus_sha256 = {sha!r} is not a corpus hash (64 hex digits)")
        folder = Path(store_home) / "corpora" / sha
        names = next((names for names in CORPUS_FILES if all((folder / n).is_file() for n in names)), None)
        if names is None:
            raise ConfigError(f"{where} names corpus {sha[:10]}, which this server's run store does not hold; "
                              "upload the corpus on Data")
        changed["corpus"] = ",".join(str(folder / n) for n in names)
    try:
        return dataclasses.replace(PRESETS[DEFAULT_PRESET].data, **changed)
    except (TypeError, ValueError) as exc:  # ConfigError names the field, value and range
        raise ConfigError(f"{where}: {exc}") from None
