"""attn.runs.sweep: grids expanded to run configs, values parsed from text, the cell limit, the capacity
preset, and a stored sweep's axes found again from its configs."""
import dataclasses

import pytest

from attn.config import PRESETS, ConfigError
from attn.runs import sweep
from attn.runs.sweep import Axis, Grid, make_grid, parse_values

TINY = PRESETS["tiny"]


def test_the_capacity_preset_is_none_additive_dot_at_hidden_32_to_512_on_toy_fr_with_three_seeds():
    grid = sweep.sweep_preset("capacity")
    cells = grid.cells()
    assert len(cells) == 45 == grid.size
    assert {c.config.data.task for c in cells} == {"toy-fr"}
    assert {c.config.model.variant for c in cells} == {"none", "additive", "dot"}
    assert sorted({c.config.model.hidden for c in cells}) == [32, 64, 128, 256, 512]
    assert sorted({c.config.seed for c in cells}) == [0, 1, 2]
    lecture = PRESETS["lecture"]  # only the hidden size, the variant and the seed differ from the lecture preset
    assert all(c.config == dataclasses.replace(lecture, model=dataclasses.replace(
        lecture.model, hidden=c.config.model.hidden, variant=c.config.model.variant), seed=c.config.seed) for c in cells)


def test_a_grid_expands_seeds_outer_then_the_values_then_the_variants():
    grid = make_grid(TINY, "none,dot", "0-1", {"hidden": "16,32"})
    order = [(c.config.seed, c.config.model.hidden, c.config.model.variant) for c in grid.cells()]
    assert order == [(0, 16, "none"), (0, 16, "dot"), (0, 32, "none"), (0, 32, "dot"),
                     (1, 16, "none"), (1, 16, "dot"), (1, 32, "none"), (1, 32, "dot")]
    assert grid.cells()[3].values == (("hidden", 32),) and grid.cells()[3].label == "hidden 32 · dot · seed 0"


def test_two_swept_fields_make_every_combination():
    grid = make_grid(TINY, "dot", "0", {"hidden": "16,32", "lr": "0.001,0.01"})
    got = {(c.config.model.hidden, c.config.train.lr) for c in grid.cells()}
    assert got == {(16, 0.001), (16, 0.01), (32, 0.001), (32, 0.01)} and grid.size == 4


@pytest.mark.parametrize("name, text, expected", [
    ("hidden", "32,64,128", (32, 64, 128)),
    ("hidden", " 32, 64 ,32", (32, 64)),          # repeats dropped, spaces ignored
    ("n-train", "100-103", (100, 101, 102, 103)),  # a range of whole numbers; the flag's spelling works too
    ("epochs", "1-2,5", (1, 2, 5)),
    ("lr", "1e-3,0.003", (0.001, 0.003)),         # a float with an exponent is not a range
    ("style", "luong,bahdanau", ("luong", "bahdanau")),
])
def test_values_are_lists_and_ranges_of_any_config_field(name, text, expected):
    assert parse_values(name, text) == expected


@pytest.mark.parametrize("name, text, message", [
    ("hidden", "32,big", r"--hidden: 'big' is not a whole number or a range like 2-6; write e\.g\. --hidden 32,64"),
    ("hidden", "64-32", r"--hidden: the range '64-32' runs backwards; write 32-64"),
    ("n_train", "1-5000", r"--n-train: the range '1-5000' holds 5000 values"),
    ("lr", "fast", r"--lr: 'fast' is not a number; write e\.g\. --lr 0\.001,0\.003"),
    ("hidden", ",", r"--hidden: give at least one value"),
    ("colour", "1,2", r"a sweep cannot vary 'colour'; it can vary: .*hidden"),
])
def test_a_bad_list_is_refused_naming_the_flag_and_how_to_write_it(name, text, message):
    with pytest.raises(ConfigError, match=message):
        parse_values(name, text)


def test_a_value_outside_its_range_is_refused_naming_the_flag_and_the_range():
    with pytest.raises(ConfigError, match=r"--hidden 4096: model\.hidden = 4096 is outside the allowed range 2\.\.1024"):
        make_grid(TINY, "dot", "0", {"hidden": "32,4096"}).cells()
    with pytest.raises(ConfigError, match=r"--seeds: 'x' is not a whole number or a range like 0-2"):
        make_grid(TINY, "dot", "x", {})
    with pytest.raises(ConfigError, match=r"--variants: unknown variant 'luong'; choose from none, additive"):
        make_grid(TINY, "luong", "0", {}).cells()


def test_a_grid_over_the_cell_limit_is_refused_naming_ATTN_MAX_SWEEP_CELLS(monkeypatch):
    grid = make_grid(TINY, "none,dot", "0-2", {"hidden": "16,32"})
    monkeypatch.setenv("ATTN_MAX_SWEEP_CELLS", "11")
    with pytest.raises(ConfigError, match=r"this sweep has 12 cells \(hidden 16,32 × none,dot × seeds 0-2\), more than "
                                          r"the 11 one sweep may have on this server \(ATTN_MAX_SWEEP_CELLS=11\)"):
        grid.cells()
    monkeypatch.setenv("ATTN_MAX_SWEEP_CELLS", "12")
    assert len(grid.cells()) == 12


def test_the_default_cell_limit_holds_the_capacity_preset_and_refuses_more(monkeypatch):
    monkeypatch.delenv("ATTN_MAX_SWEEP_CELLS", raising=False)
    assert sweep.sweep_limit() == sweep.MAX_SWEEP_CELLS >= sweep.sweep_preset("capacity").size
    with pytest.raises(ConfigError, match="ATTN_MAX_SWEEP_CELLS"):
        Grid(TINY, ("none",), tuple(range(sweep.MAX_SWEEP_CELLS + 1))).cells()


def test_the_page_form_and_fixed_fields():
    grid = sweep.form_grid(**sweep.preset_form("capacity"))
    assert grid == sweep.sweep_preset("capacity")
    grid = sweep.form_grid("tiny", ["dot"], "0", "hidden", "16,32", fixed="epochs=1; n_train=50")
    assert {(c.config.train.epochs, c.config.data.n_train) for c in grid.cells()} == {(1, 50)}
    with pytest.raises(ConfigError, match=r"'epochs' is not field=value; write e\.g\. epochs=2; n_train=500"):
        sweep.parse_fixed("epochs")


def test_a_stored_sweep_finds_its_axes_again_and_is_a_study_of_kind_sweep(store):
    grid = Grid(TINY, ("none", "dot"), (0, 1), (Axis("hidden", (16, 32)),))
    ids = store.create_runs([c.config for c in grid.cells()], status="cancelled")
    study = store.add_study(f"sweep: {grid.describe()}", "sweep", ids)
    assert store.studies("sweep")["id"].tolist() == [study]
    configs = store.configs(ids)
    assert sweep.swept_fields(configs) == ["hidden"]
    frame = sweep.cell_frame(store.runs(), configs, ["hidden"])
    assert sorted(zip(frame["variant"], frame["seed"], frame["hidden"])) == sorted(
        (c.config.model.variant, c.config.seed, c.config.model.hidden) for c in grid.cells())
