"""attn.viz.groups: runs that differ only in variant and seed are one comparison group."""
from attn.config import PRESETS
from attn.viz import groups


def test_the_key_ignores_variant_and_seed_but_no_other_setting():
    cfg = PRESETS["tiny"].to_dict()
    key = groups.comparison_key(cfg)
    assert groups.comparison_key(PRESETS["tiny"].with_variant("none", seed=7).to_dict()) == key
    other = {**cfg, "train": {**cfg["train"], "lr": cfg["train"]["lr"] * 2}}
    assert groups.comparison_key(other) != key
    assert cfg == PRESETS["tiny"].to_dict()  # the config handed in is left as it was


def test_the_label_names_task_settings_and_key():
    cfg = PRESETS["tiny"].to_dict()
    label = groups.comparison_label("reverse", cfg)
    assert label.startswith("reverse · ") and label.endswith("#" + groups.comparison_key(cfg)[:6])
    assert f"hidden {cfg['model']['hidden']}" in label and f"{cfg['train']['epochs']} epochs" in label


def _runs(rows):
    import pandas as pd
    return pd.DataFrame(rows, columns=["id", "task", "variant", "seed", "status", "finished"]).assign(style="luong")


def test_a_group_label_says_seeds_per_model_when_one_model_has_fewer():
    cfg = PRESETS["tiny"].to_dict()
    runs = _runs([("a0", "reverse", "none", 0, "done", 1), ("a1", "reverse", "none", 1, "done", 2),
                  ("d0", "reverse", "dot", 0, "done", 3)])
    label = groups.comparison_groups(runs, {i: cfg for i in runs["id"]})["label"][0]
    assert "seeds per model: none 2, dot 1" in label  # issue 17: it said "mean over 2 seeds" while dot had one
    even = runs[runs["id"] != "a1"]
    assert groups.comparison_groups(even, {i: cfg for i in even["id"]})["label"][0].endswith("· 1 seed")


def test_newest_runs_come_in_model_order_rnns_then_transformers():
    runs = _runs([("t", "copy", "dec·alibi", 0, "done", 5), ("n", "copy", "none", 0, "done", 1),
                  ("d", "copy", "dot", 0, "done", 2), ("d_old", "copy", "dot", 0, "done", 0),
                  ("r", "copy", "dec·rope", 0, "done", 4)])
    assert groups.newest_per_model(runs) == ["n", "d", "r", "t"]


def test_the_default_comparison_is_the_url_then_the_visitors_study_then_the_lecture_then_the_newest():
    options = ["newest", "older", groups.study_option("mine"), groups.study_option("lect")]
    assert groups.default_choice(options, url="older", queued="mine", lecture="lect") == "older"
    assert groups.default_choice(options, url="gone", queued="mine", lecture="lect") == "study-mine"
    assert groups.default_choice(options, queued=None, lecture="lect") == "study-lect"
    assert groups.default_choice(options) == "newest"
    assert groups.default_choice([]) is None
    assert groups.study_of("study-lect") == "lect" and groups.study_of("older") is None
