"""attn.settings: a shared server's settings read from the environment, and the errors for bad values."""
import dataclasses
from pathlib import Path

import pytest

from attn.config import ConfigError, limits
from attn.runs.settings import VARIABLES, ServerSettings, server_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    """An environment with none of the server's variables set, run from an empty folder."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_defaults_without_any_variable(env, tmp_path):
    s = server_settings()
    assert s.home == (tmp_path / "runs").resolve()
    assert (s.max_jobs, s.max_queued, s.max_upload_mb) == (None, 6, 50)
    assert (s.max_emb, s.max_hidden, s.max_epochs, s.max_pairs, s.max_len, s.max_vocab) == \
        (512, 1024, 200, 500_000, 200, 50_000)
    assert (s.read_only, s.admin_password, s.locked) == (False, None, False)
    assert (s.demo_preset, s.demo_epochs) == ("lecture", None)
    assert (s.executor, s.ray_address) == ("local", None)


def test_every_variable_is_read(env, tmp_path):
    values = {"ATTN_HOME": str(tmp_path / "store"), "ATTN_MAX_JOBS": "3", "ATTN_MAX_QUEUED": "2",
              "ATTN_MAX_EMB": "32", "ATTN_MAX_HIDDEN": "64", "ATTN_MAX_EPOCHS": "5", "ATTN_MAX_PAIRS": "1000",
              "ATTN_MAX_LEN": "30", "ATTN_MAX_VOCAB": "900", "ATTN_MAX_UPLOAD_MB": "7", "ATTN_READ_ONLY": "1",
              "ATTN_ADMIN_PASSWORD": "s3cret", "ATTN_DEMO_PRESET": "tiny", "ATTN_DEMO_EPOCHS": "12",
              "ATTN_EXECUTOR": "Ray", "ATTN_RAY_ADDRESS": " auto "}
    for name, value in values.items():
        env.setenv(name, value)
    assert set(values) == set(VARIABLES)
    s = server_settings()
    assert s.home == tmp_path / "store"
    assert (s.max_jobs, s.max_queued, s.max_upload_mb) == (3, 2, 7)
    assert (s.max_emb, s.max_hidden, s.max_epochs, s.max_pairs, s.max_len, s.max_vocab) == (32, 64, 5, 1000, 30, 900)
    assert (s.read_only, s.admin_password, s.locked) == (True, "s3cret", True)
    assert (s.demo_preset, s.demo_epochs) == ("tiny", 12)
    assert (s.executor, s.ray_address) == ("ray", "auto")


def test_limits_are_the_ones_every_run_config_is_checked_against(env):
    env.setenv("ATTN_MAX_HIDDEN", "48")
    env.setenv("ATTN_MAX_PAIRS", "123")
    s, lim = server_settings(), limits()
    assert (s.max_hidden, s.max_pairs, s.max_len) == (lim["hidden"], lim["n_train"], lim["max_len"]) == (48, 123, 200)


@pytest.mark.parametrize("raw, expected", [("1", True), ("true", True), ("YES", True), (" on ", True),
                                           ("0", False), ("false", False), ("no", False), ("", False)])
def test_read_only_accepts_the_usual_spellings(env, raw, expected):
    env.setenv("ATTN_READ_ONLY", raw)
    assert server_settings().read_only is expected


def test_an_admin_password_alone_locks_writes_and_an_empty_one_is_no_password(env):
    env.setenv("ATTN_ADMIN_PASSWORD", "")
    assert server_settings().admin_password is None and not server_settings().locked
    env.setenv("ATTN_ADMIN_PASSWORD", " with spaces ")
    s = server_settings()
    assert s.admin_password == " with spaces " and s.locked and not s.read_only


def test_the_password_is_not_in_the_repr(env):
    env.setenv("ATTN_ADMIN_PASSWORD", "hunter2")
    assert "hunter2" not in repr(server_settings())


@pytest.mark.parametrize("name, raw, words", [
    ("ATTN_READ_ONLY", "maybe", "must be 1 or 0"),
    ("ATTN_MAX_JOBS", "two", "whole number"),
    ("ATTN_MAX_JOBS", "0", "at least 1"),
    ("ATTN_MAX_QUEUED", "-3", "at least 1"),
    ("ATTN_MAX_UPLOAD_MB", "1.5", "whole number"),
    ("ATTN_MAX_HIDDEN", "big", "whole number"),
    ("ATTN_DEMO_PRESET", "huge", "valid: lecture, tiny"),
    ("ATTN_DEMO_EPOCHS", "ten", "whole number"),
])
def test_a_bad_value_names_the_variable(env, name, raw, words):
    env.setenv(name, raw)
    with pytest.raises(ConfigError, match=name) as info:
        server_settings()
    assert words in str(info.value) and raw in str(info.value)  # what is wrong, and the value given


def test_parsed_once_per_environment_and_again_after_a_change(env):
    first = server_settings()
    assert server_settings() is first
    env.setenv("ATTN_MAX_QUEUED", "4")
    assert server_settings() is not first and server_settings().max_queued == 4


def test_settings_are_frozen(env):
    with pytest.raises(dataclasses.FrozenInstanceError):
        server_settings().read_only = True


def test_an_unknown_demo_preset_is_refused_when_built_directly():
    with pytest.raises(ConfigError, match="ATTN_DEMO_PRESET"):
        ServerSettings(home=Path("."), max_jobs=None, max_queued=6, max_emb=1, max_hidden=2, max_epochs=1,
                       max_pairs=1, max_len=1, max_vocab=1, demo_preset="nope")
