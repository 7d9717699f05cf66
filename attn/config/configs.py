"""Every setting of a run in frozen dataclasses, with ranges checked where they are made.

A run is fully described by a `RunConfig` (data, model, training, seed); it is stored beside every
run so a stored model can be rebuilt from what is stored with it. `LIMITS` holds the upper bounds a
shared server may tighten through environment variables (ATTN_MAX_HIDDEN, ATTN_MAX_EPOCHS, ...).
The presets built from these types are in attn.config.presets.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

VARIANTS = ("none", "additive", "dot", "general")
STYLES = ("luong", "bahdanau")
FAMILIES = ("rnn", "transformer")
ARCHS = ("encdec", "decoder")
POSITIONS = ("sinusoidal", "learned", "rope", "alibi", "t5", "none")  # attn.nn.positions.POSITIONAL
ARCH_LABELS = {"decoder": "dec", "encdec": "encdec"}  # how a Transformer's arch starts its model label


def model_label(family: str = "rnn", variant: str = "additive", arch: str = "encdec",
                positions: str = "sinusoidal") -> str:
    """The name a model goes by everywhere (store, charts, CLI): an RNN by its attention variant ("dot"),
    a Transformer by its architecture and positional encoding ("dec·alibi", "encdec·rope"), with
    positions "none" written "nope" (NoPE, Kazemnejad et al. 2023). The defaults are ModelConfig's, so a
    stored config dict from before a field existed gets the label it was trained under."""
    if family != "transformer":
        return variant
    return f"{ARCH_LABELS.get(arch, arch)}·{'nope' if positions == 'none' else positions}"


# The canonical order of model labels on every page, chart and table: the RNNs, then the decoder-only
# and the encoder-decoder Transformers, each by positional encoding in POSITIONS order. "encdec·nope" is
# listed for the pattern's sake only: ModelConfig refuses NoPE with an encoder (see _check_transformer).
MODEL_ORDER = VARIANTS + tuple(model_label("transformer", arch=arch, positions=p)
                               for arch in ("decoder", "encdec") for p in POSITIONS)

# Fields added after runs were stored, as (section of RunConfig.to_dict(), field name). RunConfig.key()
# leaves each out while it holds its default, so every config made before it existed keeps its cache key.
NEW_FIELDS: set[tuple[str, str]] = {("data", "test_min_len"), ("data", "test_max_len")}
NEW_FIELDS |= {("data", name) for name in ("corpus_valid", "corpus_test", "subwords", "subword_vocab")}  # issue 15
NEW_FIELDS |= {("model", name) for name in ("family", "arch", "layers", "heads", "ff", "positions",
                                            "max_positions")}  # the Transformer family
NEW_FIELDS |= {("model", "tied")}  # tied input/output embeddings (issue 15)
NEW_FIELDS |= {("train", "checkpoints"), ("train", "probe")}  # issue 13: checkpoints while training
NEW_FIELDS |= {("train", "early_stop")}  # issue 15: early stopping on validation BLEU


class ConfigError(ValueError):
    """A setting outside its allowed range; the message names the field, the value and the range."""


def env_int(name: str, default: int) -> int:
    """A positive whole number from the environment; a bad value is an error naming the variable."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"environment variable {name} must be at least 1, got {value}")
    return value


def limits() -> dict[str, int]:
    """Upper bounds on what a run may ask for; a shared server sets them tighter by environment."""
    return {
        "emb": env_int("ATTN_MAX_EMB", 512),
        "hidden": env_int("ATTN_MAX_HIDDEN", 1024),
        "epochs": env_int("ATTN_MAX_EPOCHS", 200),
        "n_train": env_int("ATTN_MAX_PAIRS", 500_000),
        "max_len": env_int("ATTN_MAX_LEN", 200),
        "vocab": env_int("ATTN_MAX_VOCAB", 50_000),
    }


def _check(owner: str, name: str, value: Any, lo: float, hi: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(f"{owner}.{name} = {value!r} is outside the allowed range {lo}..{hi}")


def _check_choice(owner: str, name: str, value: Any, choices: tuple) -> None:
    if value not in choices:
        raise ConfigError(f"{owner}.{name} = {value!r} is not one of: {', '.join(map(str, choices))}")


@dataclass(frozen=True)
class DataConfig:
    task: str = "toy-fr"            # built-in task name, or "corpus" when `corpus` is set
    corpus: str | None = None       # "PATH" (TSV) or "SRC,TGT" (two files) to import instead of a task
    corpus_sha256: str | None = None  # content hash of the imported corpus (set after loading)
    n_train: int = 4000             # generated training pairs (built-in tasks)
    n_valid: int = 300              # generated validation pairs
    n_test: int = 500               # generated test pairs
    min_len: int | None = None      # shortest source in tokens (None: the task's default)
    max_len: int | None = None      # longest source in tokens (None: the task's default / no limit)
    length_dist: str = "uniform"    # built-in tasks: "uniform" source lengths, or "natural" (P(L) ~ 1/L)
    test_min_len: int | None = None  # built-in tasks: shortest test source (None: as in training)
    test_max_len: int | None = None  # built-in tasks: longest test source, >= max_len (None: as in training)
    data_seed: int = 0              # seed of the data generator and corpus split, fixed across runs
    lowercase: bool = False         # imported corpora: lowercase before tokenizing
    max_pairs: int | None = None    # imported corpora: keep at most this many pairs
    level: str = "word"             # imported corpora: "word" or "char" tokens
    min_freq: int = 1               # tokens rarer than this in training become <unk>
    buckets: tuple[int, ...] | None = None  # source-length bucket edges; None derives them from data
    n_buckets: int = 5              # number of equal-width buckets when `buckets` is None
    # Issue 15, imported corpora only: official splits (each "PATH" or "SRC,TGT", used as given instead of
    # the seeded split) and SentencePiece subwords trained on the training split (buckets stay in words).
    corpus_valid: str | None = None  # official validation file(s)
    corpus_test: str | None = None   # official test file(s)
    subwords: str | None = None     # None: whole words | "bpe" | "unigram"
    subword_vocab: int = 8000       # pieces per side when `subwords` is set

    def __post_init__(self):
        lim = limits()
        _check("data", "n_train", self.n_train, 1, lim["n_train"])
        _check("data", "n_valid", self.n_valid, 1, 100_000)
        _check("data", "n_test", self.n_test, 1, 100_000)
        _check("data", "min_freq", self.min_freq, 1, 1000)
        _check("data", "n_buckets", self.n_buckets, 1, 20)
        _check_choice("data", "level", self.level, ("word", "char"))
        _check_choice("data", "length_dist", self.length_dist, ("uniform", "natural"))
        if self.min_len is not None:
            _check("data", "min_len", self.min_len, 1, lim["max_len"])
        if self.max_len is not None:
            _check("data", "max_len", self.max_len, 1, lim["max_len"])
        if self.min_len is not None and self.max_len is not None and self.min_len > self.max_len:
            raise ConfigError(f"data.min_len = {self.min_len} is larger than data.max_len = {self.max_len}")
        self._check_test_lengths(lim["max_len"])
        if self.max_pairs is not None:
            _check("data", "max_pairs", self.max_pairs, 1, lim["n_train"])
        self._check_corpus_extras(lim["vocab"])
        if self.buckets is not None:
            b = tuple(self.buckets)
            if len(b) < 2 or any(y <= x for x, y in zip(b, b[1:])) or b[0] < 0:
                raise ConfigError(f"data.buckets = {b!r} must be at least two strictly increasing "
                                  "non-negative numbers")
            object.__setattr__(self, "buckets", b)

    def _check_corpus_extras(self, most_vocab: int) -> None:
        """Official splits and subwords (issue 15) apply to an imported corpus at word level."""
        _check_choice("data", "subwords", self.subwords, (None, "bpe", "unigram"))
        _check("data", "subword_vocab", self.subword_vocab, 8, most_vocab)
        for name in ("corpus_valid", "corpus_test", "subwords"):
            value = getattr(self, name)
            if value is not None and not self.corpus:
                raise ConfigError(f"data.{name} = {value!r} applies to an imported corpus only (set data.corpus, "
                                  f"the training file, too, or leave {name} None)")
        if self.subwords and self.level != "word":
            raise ConfigError(f"data.subwords = {self.subwords!r} splits words into pieces; data.level must be "
                              f"'word', got {self.level!r}")

    def _check_test_lengths(self, most: int) -> None:
        """Train short, test long: the test range may start anywhere but must reach the training maximum."""
        lo, hi = self.test_min_len, self.test_max_len
        if (lo is not None or hi is not None) and self.corpus:
            raise ConfigError(f"data.test_min_len = {lo!r}, data.test_max_len = {hi!r}: test lengths apply to "
                              f"built-in tasks only; an imported corpus is split at random (leave both None)")
        if lo is not None:
            _check("data", "test_min_len", lo, 1, most)
        if hi is not None:
            _check("data", "test_max_len", hi, 1, most)
            if self.max_len is not None and hi < self.max_len:
                raise ConfigError(f"data.test_max_len = {hi} is below data.max_len = {self.max_len}: the test "
                                  f"range must reach the end of the training range; allowed {self.max_len}..{most}")
        if lo is not None and hi is not None and lo > hi:
            raise ConfigError(f"data.test_min_len = {lo} is larger than data.test_max_len = {hi}; "
                              f"allowed: 1 <= test_min_len <= test_max_len <= {most}")


@dataclass(frozen=True)
class ModelConfig:
    variant: str = "additive"       # how the context is formed: none | additive | dot | general
    style: str = "luong"            # decoder: luong (score from s_t, all steps at once) | bahdanau (from s_{t-1})
    emb: int = 64                   # embedding size E, source and target
    hidden: int = 128               # decoder state size H; each encoder direction has H/2
    dropout: float = 0.0            # dropout on embeddings and the combined output state
    scaled: bool = True             # dot: divide scores by sqrt(H) (Vaswani et al. 2017)
    # The Transformer family (attn/nn/transformer.py): its width d_model is `hidden`; `emb` is unused
    # (its token embeddings are d_model wide), and so are `variant`, `style` and `scaled`.
    family: str = "rnn"             # "rnn": the GRU encoder-decoder above | "transformer"
    arch: str = "encdec"            # transformer: "encdec" (encoder + decoder) | "decoder" (decoder-only)
    layers: int = 2                 # transformer: blocks in each stack
    heads: int = 4                  # transformer: attention heads; must divide hidden
    ff: int = 512                   # transformer: width of each block's feed-forward layer
    positions: str = "sinusoidal"   # transformer: sinusoidal | learned | rope | alibi | t5 | none
    max_positions: int = 512        # transformer, "learned": rows of the table (later positions use the last)
    tied: bool = False              # output layer = target embedding table (Press & Wolf 2017), every family

    def __post_init__(self):
        lim = limits()
        _check_choice("model", "variant", self.variant, VARIANTS)
        _check_choice("model", "style", self.style, STYLES)
        _check("model", "emb", self.emb, 2, lim["emb"])
        _check("model", "hidden", self.hidden, 2, lim["hidden"])
        if self.hidden % 2:
            why = "each encoder direction gets H/2" if self.family == "rnn" else "sin/cos and RoPE pairs"
            raise ConfigError(f"model.hidden = {self.hidden} must be even ({why})")
        _check("model", "dropout", self.dropout, 0.0, 0.9)
        _check_choice("model", "family", self.family, FAMILIES)
        _check_choice("model", "arch", self.arch, ARCHS)
        _check("model", "layers", self.layers, 1, 12)
        _check("model", "heads", self.heads, 1, 64)
        _check("model", "ff", self.ff, 1, 4 * lim["hidden"])
        _check_choice("model", "positions", self.positions, POSITIONS)
        _check("model", "max_positions", self.max_positions, 1, 8192)
        _check_choice("model", "tied", self.tied, (False, True))
        if self.family == "transformer":
            self._check_transformer()

    @property
    def label(self) -> str:
        """The model's name in MODEL_ORDER: "none" ... "general" for an RNN, e.g. "dec·rope" for a Transformer."""
        return model_label(self.family, self.variant, self.arch, self.positions)

    def _check_transformer(self) -> None:
        """Shapes only the Transformer needs; an RNN config never has to satisfy them."""
        if self.hidden % self.heads:
            divisors = ", ".join(str(h) for h in range(1, 65) if self.hidden % h == 0)
            raise ConfigError(f"model.heads = {self.heads} must divide model.hidden = {self.hidden} (each "
                              f"head gets hidden / heads dimensions); allowed here: {divisors}")
        if self.positions == "rope" and (self.hidden // self.heads) % 2:
            raise ConfigError(f"model.positions = 'rope' rotates pairs, so it needs an even head size, but "
                              f"model.hidden / model.heads = {self.hidden} / {self.heads} = "
                              f"{self.hidden // self.heads}; change model.heads")
        if self.positions == "none" and self.arch == "encdec":
            raise ConfigError("model.positions = 'none' (NoPE) with model.arch = 'encdec' cannot work: a "
                              "bidirectional encoder without positions sees its source as a bag of words "
                              "and cannot tell word order; use model.arch = 'decoder' (a causal decoder "
                              "can infer positions from its mask) or another model.positions")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10                # passes over the training split
    batch: int = 64                 # sentences per minibatch
    lr: float = 3e-3                # Adam learning rate
    lr_schedule: str = "constant"   # "constant", or "linear": decays to 10% of lr by the last step
    clip: float = 1.0               # gradient-norm clipping
    teacher_forcing: float = 1.0    # probability of feeding the gold previous word (1.0: always)
    patience: int | None = None     # stop after this many epochs without a better validation score
    early_stop: str = "loss"        # the score patience watches: "loss" (validation token loss) or
                                    # "bleu" (corpus BLEU of greedy decodes of the validation split)
    pool: int = 32                  # batches per length-sorted pool (more: less padding, less shuffling)
    device: str = "cpu"             # cpu | cuda | auto
    log_every: int = 5              # steps between step events (the live chart's resolution)
    beam: int = 1                   # beam size for the test decodes (1: greedy)
    checkpoints: bool = True        # while training: BLEU per length bucket on validation + probe maps
    probe: str = ""                 # a source sentence whose attention each checkpoint keeps ("": one
                                    # validation sentence per length bucket)

    def __post_init__(self):
        _check("train", "epochs", self.epochs, 1, limits()["epochs"])
        _check("train", "batch", self.batch, 1, 4096)
        _check("train", "lr", self.lr, 1e-6, 1.0)
        _check_choice("train", "lr_schedule", self.lr_schedule, ("constant", "linear"))
        _check("train", "clip", self.clip, 0.0, 1000.0)
        _check("train", "teacher_forcing", self.teacher_forcing, 0.0, 1.0)
        if self.patience is not None:
            _check("train", "patience", self.patience, 1, 1000)
        _check_choice("train", "early_stop", self.early_stop, ("loss", "bleu"))
        if self.early_stop == "bleu" and self.patience is None:
            raise ConfigError("train.early_stop = 'bleu' needs train.patience: the number of epochs without a "
                              "better validation BLEU before training stops (e.g. 2)")
        _check("train", "pool", self.pool, 1, 10_000)
        _check_choice("train", "device", self.device, ("cpu", "cuda", "auto"))
        _check("train", "log_every", self.log_every, 1, 100_000)
        _check("train", "beam", self.beam, 1, 32)
        if not isinstance(self.checkpoints, bool):
            raise ConfigError(f"train.checkpoints = {self.checkpoints!r} must be True or False")
        if not isinstance(self.probe, str):
            raise ConfigError(f"train.probe = {self.probe!r} must be text (a source sentence, or '' for "
                              "one validation sentence per length bucket)")
        if self.probe and not self.probe.strip():
            raise ConfigError("train.probe is blank: type a source sentence, or leave it empty ('') to probe "
                              "one validation sentence per length bucket")
        most = 20 * limits()["max_len"]  # normalize.CHARS_PER_TOKEN characters per allowed token
        if len(self.probe) > most:
            raise ConfigError(f"train.probe has {len(self.probe)} characters; at most {most} (ATTN_MAX_LEN "
                              f"tokens): shorten the sentence")


@dataclass(frozen=True)
class RunConfig:
    """One trained model: the data it saw, its architecture, how it was trained, and its seed."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0                   # initialisation and batch order; the data seed is separate

    def __post_init__(self):
        _check("run", "seed", self.seed, 0, 2**31 - 1)
        if self.model.family == "transformer" and self.train.teacher_forcing < 1.0:
            raise ConfigError(f"train.teacher_forcing = {self.train.teacher_forcing} needs a step-by-step "
                              "decoder; model.family = 'transformer' reads the whole gold prefix at once, "
                              "so use train.teacher_forcing = 1.0")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        """Rebuild from `to_dict` output; unknown keys are an error naming them."""
        def build(klass, sub: dict):
            names = {f.name for f in dataclasses.fields(klass)}
            extra = set(sub) - names
            if extra:
                raise ConfigError(f"unknown {klass.__name__} fields: {', '.join(sorted(extra))}")
            sub = dict(sub)
            if klass is DataConfig and sub.get("buckets") is not None:
                sub["buckets"] = tuple(sub["buckets"])
            return klass(**sub)
        return cls(data=build(DataConfig, d.get("data", {})), model=build(ModelConfig, d.get("model", {})),
                   train=build(TrainConfig, d.get("train", {})), seed=int(d.get("seed", 0)))

    def key(self) -> str:
        """A stable hash of everything that determines the result (used by the run cache).

        NEW_FIELDS holding their defaults are left out, so a config that existed before them keeps its key.
        """
        blob = json.dumps(_without_new_defaults(self.to_dict()), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def with_variant(self, variant: str, seed: int | None = None) -> "RunConfig":
        """The same run with another attention variant (and optionally seed): everything else shared."""
        return dataclasses.replace(self, model=dataclasses.replace(self.model, variant=variant),
                                   seed=self.seed if seed is None else seed)


def _without_new_defaults(d: dict) -> dict:
    """`RunConfig.to_dict()` output without the NEW_FIELDS that hold their dataclass default."""
    classes = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}
    for section, name in NEW_FIELDS:
        spec = {f.name: f for f in dataclasses.fields(classes[section])}[name]
        default = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()
        if name in out[section] and out[section][name] == default:
            del out[section][name]
    return out


def replace(cfg, **changes):
    """`dataclasses.replace` re-exported so callers need one import."""
    return dataclasses.replace(cfg, **changes)
