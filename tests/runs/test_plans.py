"""attn.runs.plans: the Train form's ranges come from attn.config's checks; every invalid field is named."""
from __future__ import annotations

import dataclasses

import pytest

import attn.config.configs
from attn.config import PRESETS, ConfigError, DataConfig
from attn.runs.plans import (MAX_SEEDS, FormError, config_range, data_from_param, data_param, demo_kind, form_fields,
                             lecture_configs, parse_seeds, plan_form, plan_runs, preset_values, training_config,
                             validate_form)

NUMBERS = [name for name in form_fields() if name != "seeds"]


def outside(value, upward: bool):
    """The nearest value past a range end: one for whole numbers, a hundredth otherwise."""
    step = 1 if isinstance(value, int) else 0.01
    return value + step if upward else value - step


# ------------------------------------------------------------------------------ ranges

@pytest.mark.parametrize("name", NUMBERS)
def test_each_range_is_exactly_what_the_config_accepts(name):
    field = form_fields()[name]
    assert validate_form({name: field.lo}) == [] and validate_form({name: field.hi}) == []
    for value in (outside(field.lo, False), outside(field.hi, True)):
        problems = validate_form({name: value})
        assert len(problems) == 1 and problems[0].startswith(field.label), problems
        assert f"{value!r}" in problems[0] and f"{field.lo}..{field.hi}" in problems[0]


def test_ranges_follow_the_limits_a_server_sets_by_environment(monkeypatch):
    monkeypatch.setenv("ATTN_MAX_HIDDEN", "256")
    monkeypatch.setenv("ATTN_MAX_EPOCHS", "7")
    fields = form_fields()
    assert (fields["hidden"].lo, fields["hidden"].hi) == (2, 256)
    assert fields["epochs"].hi == 7 and fields["epochs"].help.endswith("Allowed: 1..7.")
    assert validate_form({"epochs": 8}) == ["Epochs: train.epochs = 8 is outside the allowed range 1..7"]


def test_every_help_text_states_its_range():
    for field in form_fields().values():
        assert f"Allowed: {field.lo}..{field.hi}." in field.help
    assert config_range("run", "seed") == (0, 2**31 - 1)
    assert isinstance(config_range("train", "lr")[0], float) and isinstance(config_range("train", "batch")[0], int)


def test_a_changed_wording_of_the_config_check_fails_loudly(monkeypatch):
    def check(owner, name, value, lo, hi):
        raise ConfigError(f"{owner}.{name} must lie between {lo} and {hi}")
    monkeypatch.setattr(attn.config.configs, "_check", check)
    with pytest.raises(RuntimeError, match="no longer names its range"):
        config_range("model", "hidden")


# ------------------------------------------------------------------------------ validating a form

def test_three_invalid_fields_give_three_messages_with_value_and_range():
    assert validate_form({"hidden": 0, "epochs": 10000, "lr": 0, "batch": 64}) == [
        "Hidden size: model.hidden = 0 is outside the allowed range 2..1024",
        "Epochs: train.epochs = 10000 is outside the allowed range 1..200",
        "Learning rate: train.lr = 0 is outside the allowed range 1e-06..1.0"]


def test_rules_beyond_the_range_seeds_and_variants_are_named_too():
    problems = validate_form({"hidden": 31, "seeds": "0-1000", "variants": ["bogus"], "batch": 2.5, "style": "x"})
    assert problems[0] == "Hidden size: model.hidden = 31 must be even (each encoder direction gets H/2)"
    assert problems[1].startswith("seeds: the range '0-1000'")
    assert "unknown variant(s) bogus" in problems[2]
    assert problems[3] == "Batch: train.batch = 2.5 is not a whole number; allowed 1..4096"
    assert "model.style = 'x' is not one of" in problems[4]
    assert len(problems) == 5


def test_the_presets_own_values_are_valid_and_whole_floats_count_as_whole():
    for name in PRESETS:
        values = {key.split(".", 1)[1]: value for key, value in preset_values(name).items()
                  if key.startswith("train.")}
        assert validate_form({**values, "seeds": "0-2", "variants": ["none", "dot"]}, name) == []
    assert validate_form({"hidden": 64.0, "emb": 32.0}) == []


def test_an_unknown_form_field_is_a_programming_error():
    with pytest.raises(ValueError, match="no form field hiden"):
        validate_form({"hiden": 3})


def test_training_config_names_every_invalid_field_and_builds_nothing():
    with pytest.raises(FormError) as refused:
        training_config(PRESETS["tiny"].data, "tiny", style="luong", emb=1, hidden=0, scaled=True, epochs=1,
                        batch=8, lr=0.01, teacher_forcing=1.5)
    assert [p.split(":")[0] for p in refused.value.problems] == ["Embedding size", "Hidden size", "Teacher forcing"]
    assert isinstance(refused.value, ConfigError) and "; " in str(refused.value)


def test_training_config_of_valid_values_is_the_config_it_always_was():
    v = {key.split(".", 1)[1]: value for key, value in preset_values("lecture").items() if key.startswith("train.")}
    cfg = training_config(PRESETS["lecture"].data, "lecture", **v)
    assert cfg == PRESETS["lecture"] and cfg.key() == PRESETS["lecture"].key()
    assert isinstance(cfg.train.lr, float)
    assert training_config(PRESETS["lecture"].data, **{**v, "lr": 1}).train.lr == 1.0
    assert training_config(PRESETS["lecture"].data, **v, dropout=0.25).model.dropout == 0.25


# ------------------------------------------------------------------------------ seeds

def test_seeds_read_lists_and_ranges_up_to_the_maximum():
    assert parse_seeds(" 2, 0,2 ") == [2, 0]
    assert parse_seeds("0-2,5") == [0, 1, 2, 5]
    assert parse_seeds(f"0-{MAX_SEEDS - 1}") == list(range(MAX_SEEDS))
    assert parse_seeds("3-3") == [3]


def test_a_range_too_large_is_called_a_range_and_given_the_maximum():
    with pytest.raises(ValueError) as refused:
        parse_seeds("0-1000")
    message = str(refused.value)
    assert "not a whole number" not in message
    assert f"the range '0-1000' holds 1001 seeds, more than the {MAX_SEEDS} allowed" in message
    assert f"0-{MAX_SEEDS - 1}" in message


@pytest.mark.parametrize("text, said", [
    (f"0-{MAX_SEEDS - 1},{MAX_SEEDS}", f"more than the {MAX_SEEDS} seeds allowed"),
    ("5-2", "runs backwards; write 2-5"),
    ("-1", "-1 is outside the allowed range 0..2147483647"),
    ("2147483648", "outside the allowed range 0..2147483647"),
    ("a", "'a' is not a whole number or a range like 0-2"),
    ("1-b", "'1-b' is not a whole number or a range like 0-2"),
    (" , ", "at least one seed"),
])
def test_each_bad_seed_text_says_what_is_wrong(text, said):
    with pytest.raises(ValueError, match="seeds") as refused:
        parse_seeds(text)
    assert said in str(refused.value)



# ------------------------------------------------------------------------------ the Transformer, data links

def test_training_config_builds_the_transformer_the_form_asks_for():
    v = {key.split(".", 1)[1]: value for key, value in preset_values("lecture").items() if key.startswith("train.")}
    cfg = training_config(PRESETS["lecture"].data, **{**v, "teacher_forcing": 1.0},
                          transformer={"arch": "decoder", "positions": "alibi", "layers": 3, "heads": 8})
    assert (cfg.model.family, cfg.model.arch, cfg.model.positions, cfg.model.layers, cfg.model.heads) == \
        ("transformer", "decoder", "alibi", 3, 8) and cfg.model.label == "dec·alibi"
    assert len(plan_runs(cfg, ["none", "additive", "dot"], [0, 1])) == 2  # one per seed, no variants
    with pytest.raises(FormError) as refused:
        training_config(PRESETS["lecture"].data, **{**v, "teacher_forcing": 1.0},
                        transformer={"arch": "encdec", "positions": "none", "layers": 13, "heads": 8})
    assert refused.value.problems[0].startswith("Layers: model.layers = 13") and len(refused.value.problems) == 1


def test_data_in_a_link_reads_back_and_a_corpus_only_by_a_hash_this_store_holds(tmp_path):
    reverse = dataclasses.replace(PRESETS["lecture"].data, task="reverse", min_len=3, max_len=12, buckets=(0, 5, 13))
    assert data_from_param(data_param(reverse), tmp_path) == reverse
    assert data_param(PRESETS["lecture"].data) == "{}"
    sha = "ab" * 32
    corpus = DataConfig(task="corpus", corpus="/etc/passwd", corpus_sha256=sha)
    assert "/etc" not in data_param(corpus)  # never a server path
    with pytest.raises(ConfigError, match="does not hold; upload the corpus on Data"):
        data_from_param(data_param(corpus), tmp_path)
    (tmp_path / "corpora" / sha).mkdir(parents=True)
    (tmp_path / "corpora" / sha / "corpus.tsv").write_text("a\tb\n")
    assert data_from_param(data_param(corpus), tmp_path).corpus == str(tmp_path / "corpora" / sha / "corpus.tsv")
    assert data_param(dataclasses.replace(corpus, corpus_test="/srv/test.tsv")) is None  # no link for paths
    for text, said in (("{", "not readable JSON"), ('{"corpus":"/etc/passwd"}', "names no data settings corpus"),
                       ('{"corpus_test":"/etc/passwd"}', "names no data settings corpus_test"),
                       ('{"n_train":0}', "data.n_train = 0"), ('{"corpus_sha256":"../x"}', "not a corpus hash")):
        with pytest.raises(ConfigError, match=said):
            data_from_param(text, tmp_path)


def test_plan_form_gives_runs_or_every_problem_never_both():
    v = {key.split(".", 1)[1]: value for key, value in preset_values("lecture").items() if key.startswith("train.")}
    data = PRESETS["lecture"].data
    configs, problems = plan_form(data, "lecture", {**v, "seeds": "0-1", "variants": ["none", "dot"]})
    assert problems == [] and [(c.model.label, c.seed) for c in configs] == [("none", 0), ("dot", 0), ("none", 1),
                                                                              ("dot", 1)]
    configs, problems = plan_form(data, "lecture", {**v, "seeds": "x", "variants": ["dot"], "hidden": 0})
    assert configs == [] and [p.split(":")[0] for p in problems] == ["Hidden size", "seeds"]


def test_demo_kind_knows_the_two_demos_at_any_seeds_and_nothing_else():
    assert demo_kind(lecture_configs()) == "lecture"
    assert demo_kind([c.with_variant(c.model.variant, seed=s) for c in lecture_configs() for s in (0, 1)]) == "lecture"
    assert demo_kind(attn.config.length_configs((0, 1, 2))) == "length"
    assert demo_kind(lecture_configs()[:2]) is None  # two of the three models: not the demo
    assert demo_kind([PRESETS["tiny"]]) is None
    longer = [dataclasses.replace(c, train=dataclasses.replace(c.train, epochs=c.train.epochs + 1))
              for c in lecture_configs()]
    assert demo_kind(longer) is None  # other settings: another comparison
