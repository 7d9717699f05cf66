"""`python -m attn runs`: list, show, export and delete stored runs (attn/cli/runs.py)."""
import argparse
import json

import pytest

from attn.cli.runs import register
from attn.config import PRESETS
from attn.runs.store import RunStore
from attn.training.experiment import run

TINY = PRESETS["tiny"]


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "home")


@pytest.fixture(scope="module")
def result():
    """One real RunResult of the tiny preset."""
    return run(TINY)


def _cli(store, *argv, capsys):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["runs", "--home", str(store.home), *argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_cli_lists_shows_exports_and_deletes(store, result, capsys, tmp_path):
    run_id = store.save_finished(TINY, result)
    code, out, _ = _cli(store, "list", capsys=capsys)
    assert code == 0 and out.startswith(run_id)
    code, out, _ = _cli(store, "list", "--json", capsys=capsys)
    [row] = json.loads(out)
    assert {"id": run_id, "status": "done", "task": "reverse", "variant": "additive", "seed": 0}.items() <= row.items()
    assert "created" in row
    code, out, _ = _cli(store, "show", run_id, capsys=capsys)
    assert code == 0 and '"hidden": 32' in out and "by source length" in out
    code, _, _ = _cli(store, "export", run_id, "--format", "csv", "--out", str(tmp_path / "b.csv"), capsys=capsys)
    assert code == 0 and (tmp_path / "b.csv").read_text().startswith("run_id,")
    code, _, err = _cli(store, "delete", run_id, "nope", capsys=capsys)
    assert code == 2 and "nope" in err and store.status(run_id) == "done"  # nothing deleted
    code, _, err = _cli(store, "show", "nope", capsys=capsys)
    assert code == 2 and "no run with id 'nope'" in err
    assert _cli(store, "delete", run_id, capsys=capsys)[0] == 0 and store.runs().empty



def test_transformer_runs_are_listed_in_aligned_columns_and_shown_as_transformers(store, capsys):
    import dataclasses
    from attn.config import LENGTH_TRANSFORMER
    transformer = dataclasses.replace(TINY, model=dataclasses.replace(LENGTH_TRANSFORMER, positions="sinusoidal"))
    ids = [store.create_run(TINY.with_variant("dot")), store.create_run(transformer)]
    code, out, _ = _cli(store, "list", capsys=capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2 and "dec·sinusoidal seed 0" in out
    assert len({line.index(" seed ") for line in lines}) == 1  # one column, however long the model label
    code, out, _ = _cli(store, "show", ids[1], capsys=capsys)
    assert code == 0 and "task reverse, dec·sinusoidal Transformer, seed 0," in out and "luong" not in out.split("config:")[0]
    code, out, _ = _cli(store, "show", ids[0], capsys=capsys)
    assert "task reverse, dot attention, luong decoder, seed 0," in out
