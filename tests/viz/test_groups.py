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
