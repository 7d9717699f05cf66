"""The code version: what lets a stored run answer for a new request (attn/runs/version.py)."""
import dataclasses
import os

import pytest

from attn.config import PRESETS
from attn.runs.version import code_version, source_hash

TINY = PRESETS["tiny"]


def test_the_cache_needs_the_same_config_seed_and_code_version(store, result):
    run_id = store.save_finished(TINY, result)
    assert store.find_cached(TINY) == run_id
    assert store.find_cached(dataclasses.replace(TINY, seed=1)) is None
    assert store.find_cached(TINY.with_variant("dot")) is None
    store._db().execute("UPDATE runs SET code_version='0.0.0+older' WHERE id=?", (run_id,))
    assert store.find_cached(TINY) is None
    assert code_version().startswith(__import__("attn").__version__ + "+")


@pytest.fixture
def attn_copy(tmp_path):
    """A copy of the attn package's sources to edit."""
    import shutil
    import attn
    copy = tmp_path / "attn"
    shutil.copytree(os.path.dirname(attn.__file__), copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _append(path, text):
    path.write_text(path.read_text() + text)


def test_the_code_version_follows_the_c_kernels_too(attn_copy):
    """A kernel computes what is trained: changing one must not let old runs answer from the cache."""
    before = source_hash(attn_copy)
    _append(attn_copy / "nn" / "kernels" / "gru.c", "\n/* changed */\n")
    assert source_hash(attn_copy) != before


@pytest.mark.parametrize("module", ["nn/model.py", "training/evaluate.py", "data/tasks/toy_fr.py", "config/configs.py", "config/presets.py",
                                    "records.py"])
def test_changing_what_computes_a_run_changes_the_code_version(attn_copy, module):
    before = source_hash(attn_copy)
    _append(attn_copy / module, "\n# changed\n")
    assert source_hash(attn_copy) != before


@pytest.mark.parametrize("module", ["viz/charts.py", "cli/main.py", "app/__init__.py", "runs/store.py",
                                    "runs/writing.py", "training/bench.py"])
def test_changing_a_chart_page_or_cli_module_keeps_the_code_version(attn_copy, module):
    before = source_hash(attn_copy)
    _append(attn_copy / module, "\n# changed\n")
    assert source_hash(attn_copy) == before


def test_code_version_is_the_release_plus_the_hash_of_this_package():
    import attn
    from pathlib import Path
    assert code_version.__wrapped__() == f"{attn.__version__}+{source_hash(Path(attn.__file__).parent)}"


def test_a_failed_run_is_never_a_cache_hit(store):
    run_id = store.create_run(TINY)
    store.set_status(run_id, "failed", error="boom")
    assert store.find_cached(TINY) is None and store.run(run_id).error == "boom"

