"""The settings of a server that several people use, read from the environment into one frozen object.

Every variable is optional; unset or empty means the default. A value that cannot be used raises
ConfigError naming the variable, the value and what would be right. The run-size limits are the
ones `attn.config.limits()` enforces on every RunConfig; they are repeated here so one object
describes the whole server (the Train page's widget ranges, the job runner, the upload check).

The admin password may also come from Streamlit's secrets (`admin_password` in
.streamlit/secrets.toml); the dashboard (attn.app) reads those, since attn never imports Streamlit.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from attn.config import PRESETS, ConfigError, env_int, limits
from attn.runs.executors import ray_address
from attn.runs.store import home as store_home

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
# Every variable ServerSettings is read from: a change to any of them gives a new ServerSettings.
VARIABLES = ("ATTN_HOME", "ATTN_MAX_JOBS", "ATTN_MAX_QUEUED", "ATTN_MAX_EMB", "ATTN_MAX_HIDDEN", "ATTN_MAX_EPOCHS",
             "ATTN_MAX_PAIRS", "ATTN_MAX_LEN", "ATTN_MAX_VOCAB", "ATTN_MAX_UPLOAD_MB", "ATTN_READ_ONLY",
             "ATTN_ADMIN_PASSWORD", "ATTN_DEMO_PRESET", "ATTN_DEMO_EPOCHS", "ATTN_EXECUTOR", "ATTN_RAY_ADDRESS")


@dataclass(frozen=True)
class ServerSettings:
    """What a server allows, and who may change what it stores."""

    home: Path                  # ATTN_HOME: the run store folder (default ./runs)
    max_jobs: int | None        # ATTN_MAX_JOBS: runs trained at once; None: one per core (the job runner decides)
    max_queued: int             # ATTN_MAX_QUEUED: queued + training runs one visitor may have at once (default 6)
    max_emb: int                # ATTN_MAX_EMB: largest embedding size a run may ask for (default 512)
    max_hidden: int             # ATTN_MAX_HIDDEN: largest hidden size (default 1024)
    max_epochs: int             # ATTN_MAX_EPOCHS: most epochs (default 200)
    max_pairs: int              # ATTN_MAX_PAIRS: most training pairs, generated or imported (default 500,000)
    max_len: int                # ATTN_MAX_LEN: longest source sentence in tokens (default 200)
    max_vocab: int              # ATTN_MAX_VOCAB: largest vocabulary a run may build (default 50,000)
    max_upload_mb: int = 50     # ATTN_MAX_UPLOAD_MB: largest uploaded corpus file in MB; Streamlit's
                                # server.maxUploadSize (.streamlit/config.toml) caps it as well
    read_only: bool = False     # ATTN_READ_ONLY=1: lecture mode. Visitors browse stored runs and type
                                # sentences on Attention; nobody trains, cancels, renames, uploads or
                                # deletes, except a visitor who entered the admin password
    admin_password: str | None = field(default=None, repr=False)  # ATTN_ADMIN_PASSWORD: when set,
                                # training, cancelling, renaming, uploading and deleting need it (None: open)
    demo_preset: str = "lecture"  # ATTN_DEMO_PRESET: the preset Home's Lecture demo trains (tests use "tiny")
    demo_epochs: int | None = None  # ATTN_DEMO_EPOCHS: the Lecture demo's epochs; None: the preset's own
    executor: str = "local"     # ATTN_EXECUTOR: local worker processes, or ray (attn.runs.executors checks it
                                # when the runner starts: a bad value must not stop the pages serving stored runs)
    ray_address: str | None = None  # ATTN_RAY_ADDRESS: the cluster with ATTN_EXECUTOR=ray; None: a Ray of its own

    def __post_init__(self):
        if self.demo_preset not in PRESETS:
            raise ConfigError(f"environment variable ATTN_DEMO_PRESET = {self.demo_preset!r} is not a preset; "
                              f"valid: {', '.join(PRESETS)}")

    @property
    def locked(self) -> bool:
        """True when write actions are closed to visitors who have not entered the admin password."""
        return self.read_only or self.admin_password is not None


def _flag(name: str, raw: str | None) -> bool:
    value = (raw or "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE or value == "":
        return False
    raise ConfigError(f"environment variable {name} must be 1 or 0 (also true/false, yes/no, on/off), got {raw!r}")


def _optional_limit(name: str) -> int | None:
    return env_int(name, 0) or None  # env_int gives the default (0) only for an unset variable


@functools.lru_cache(maxsize=8)
def _parse(values: tuple) -> ServerSettings:
    """`values`: os.environ's VARIABLES now; the cache key (the limit parsers read os.environ themselves)."""
    env = dict(zip(VARIABLES, values))
    lim = limits()  # the same parsing and defaults every RunConfig is checked with
    password = env["ATTN_ADMIN_PASSWORD"]
    return ServerSettings(
        home=store_home(),
        max_jobs=_optional_limit("ATTN_MAX_JOBS"),
        max_queued=env_int("ATTN_MAX_QUEUED", 6),
        max_emb=lim["emb"], max_hidden=lim["hidden"], max_epochs=lim["epochs"], max_pairs=lim["n_train"],
        max_len=lim["max_len"], max_vocab=lim["vocab"],
        max_upload_mb=env_int("ATTN_MAX_UPLOAD_MB", 50),
        read_only=_flag("ATTN_READ_ONLY", env["ATTN_READ_ONLY"]),
        admin_password=password if password else None,  # an empty variable is no password, not ""
        demo_preset=(env["ATTN_DEMO_PRESET"] or "").strip() or "lecture",
        demo_epochs=_optional_limit("ATTN_DEMO_EPOCHS"),
        executor=(env["ATTN_EXECUTOR"] or "").strip().lower() or "local",  # checked where the runner starts
        ray_address=ray_address(env["ATTN_RAY_ADDRESS"] or ""),
    )


def server_settings() -> ServerSettings:
    """The settings in the environment now; parsed once per distinct set of values (raises ConfigError)."""
    return _parse(tuple(os.environ.get(name) for name in VARIABLES))
