"""`python -m attn train` over model families: Transformer flags, the length preset, its unseen buckets."""
import json
import re

import pytest

from attn.cli.main import build_parser, main, run_configs
from attn.config import LENGTH_TRANSFORMER, POSITIONS, length_configs, preset
from attn.runs.store import RunStore

# The length preset made small enough for a test: 9 models, about 10 s on 2 cores.
SMALL_LENGTH = ["--preset", "length", "--epochs", "1", "--n-train", "64", "--n-test", "40"]
LENGTH_LABELS = ["none", "additive", "dot", *(f"dec·{'nope' if p == 'none' else p}" for p in POSITIONS)]


def _study_id(err: str) -> str:
    """The study id a command printed (`?study=<id>`), exactly one."""
    (study_id,) = set(re.findall(r"\?study=([0-9a-f]{12})", err))
    return study_id


def _configs(*argv):
    return run_configs(build_parser(all_commands=False).parse_args(["train", *argv]))


@pytest.mark.parametrize("argv, message", [
    (["--family", "transformer", "--hidden", "64", "--heads", "3"],
     "model.heads = 3 must divide model.hidden = 64"),
    (["--family", "transformer", "--arch", "encdec", "--positions", "none"],
     "model.positions = 'none' (NoPE) with model.arch = 'encdec' cannot work"),
    (["--preset", "length", "--test-max-len", "10"], "data.test_max_len = 10 is below data.max_len = 20"),
    (["--family", "transformer", "--positions", "rope,spiral"], "model.positions = 'spiral' is not one of"),
    (["--family", "cnn"], "model.family = 'cnn' is not one of: rnn, transformer"),
    (["--family", "transformer", "--variants", "dot"], "--variants chooses an RNN's attention"),
])
def test_a_bad_model_or_length_flag_gets_the_configs_message_naming_the_field(tmp_path, monkeypatch, capsys,
                                                                               argv, message):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    assert main(["train", "--preset", "tiny", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err and "Traceback" not in err, err
    assert not (tmp_path / "home").exists()  # refused before anything was stored


def test_every_transformer_flag_lands_in_the_config_one_run_per_encoding_and_seed():
    configs = _configs("--preset", "tiny", "--family", "transformer", "--arch", "decoder", "--positions",
                       "rope,alibi", "--layers", "3", "--heads", "2", "--ff", "48", "--test-min-len", "2",
                       "--test-max-len", "20", "--seeds", "0-1")
    assert [(c.model.label, c.seed) for c in configs] == [("dec·rope", 0), ("dec·alibi", 0), ("dec·rope", 1),
                                                          ("dec·alibi", 1)]
    model = configs[0].model
    assert (model.family, model.arch, model.layers, model.heads, model.ff) == ("transformer", "decoder", 3, 2, 48)
    assert (configs[0].data.test_min_len, configs[0].data.test_max_len) == (2, 20)
    assert configs[0].train == preset("tiny").train and model.hidden == preset("tiny").model.hidden


def test_the_length_preset_alone_is_its_nine_models_per_seed_with_the_flags_laid_over_each():
    assert _configs("--preset", "length", "--seeds", "0-2") == length_configs([0, 1, 2])
    small = _configs(*SMALL_LENGTH)
    assert [c.model.label for c in small] == LENGTH_LABELS
    assert all(c.train.epochs == 1 and c.data.n_train == 64 for c in small)
    assert [c.model for c in small[3:]] == [c.model for c in length_configs()[3:]]  # model flags untouched
    assert small[3].model.hidden == LENGTH_TRANSFORMER.hidden


def test_the_length_preset_stores_nine_runs_marks_unseen_buckets_and_answers_again_from_the_cache(
        tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATTN_HOME", str(tmp_path / "home"))
    out = tmp_path / "r.json"
    assert main(["train", *SMALL_LENGTH, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "stored 9 runs" in captured.err, captured.err
    store = RunStore(tmp_path / "home")
    assert sorted(store.runs()["variant"]) == sorted(LENGTH_LABELS)
    runs = json.loads(out.read_text())["runs"]
    assert [run["variant"] for run in runs] == LENGTH_LABELS
    for run in runs:
        assert run["train_max_len"] == 20 and run["params"] > 0
        assert [b["unseen"] for b in run["buckets"]] == [b["lo"] > 20 for b in run["buckets"]]
        assert any(b["unseen"] for b in run["buckets"]) and not all(b["unseen"] for b in run["buckets"])
    table = captured.out.split("models (parameters):")[1].split()
    assert [table[table.index(label) + 1] for label in LENGTH_LABELS] == [f"{run['params']:,}" for run in runs]
    assert "21-25*" in captured.out  # the first bucket past the training lengths, marked
    stored = captured.err.split("stored 9 runs in ")[1].split("\n")[0].split(": ")[1].split()
    study = store.study(_study_id(captured.err))  # the 9 runs, as one study to open with ?study=<id>
    assert study.kind == "cli" and list(study.run_ids) == stored and "dec·rope" in study.name

    assert main(["train", *SMALL_LENGTH, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "9 runs answered from" in err and "stored" not in err, err
    assert store.study(_study_id(err)).run_ids == study.run_ids and len(store.studies("cli")) == 2
    assert len(store.runs()) == 9 and json.loads(out.read_text())["runs"] == runs
