"""The pure helpers behind the pages (attn.viz.support): seeds, configs, comparison groups, progress text,
attention items, playground masks, data overviews and uploads. No Streamlit here."""
import gzip

import numpy as np
import pandas as pd
import pytest

from attn.config import PRESETS, ConfigError, DataConfig
from attn.data.corpus import CorpusOptions
from attn.data.pairs import Pair, ParallelData
from attn.records import Decode
from attn.viz import support as ds
from tests.app.apptest import TSV


def test_load_upload_returns_the_reason_for_a_bad_file():
    data, error = ds.load_upload([("broken.tsv", b"one\ntwo\nthree\n")])
    assert data is None and error.startswith("broken.tsv") and "no tab" in error


def test_load_upload_reads_a_tsv_and_two_parallel_files():
    data, error = ds.load_upload([("fr.tsv", gzip.compress(TSV))])
    assert error is None and len(data.train) + len(data.valid) + len(data.test) == 6
    src, tgt = b"a b\nc d\ne f\n", b"A B\nC D\nE F\n"
    data, error = ds.load_upload([("s.txt", src), ("t.txt", tgt)], CorpusOptions(lowercase=True))
    assert error is None and data.name == "s.txt+t.txt"


def test_load_upload_refuses_misaligned_files_and_wrong_counts():
    _, error = ds.load_upload([("s.txt", b"a\nb\n"), ("t.txt", b"a\n")])
    assert "different line counts" in error
    assert "got 3 files" in ds.load_upload([("a", b"x"), ("b", b"x"), ("c", b"x")])[1]
    assert "zip archive" in ds.load_upload([("c.zip", b"PK\x03\x04rest")])[1]


def test_parse_seeds_reads_lists_and_ranges():
    assert ds.parse_seeds("0") == [0]
    assert ds.parse_seeds(" 2, 0,2 ") == [2, 0]
    assert ds.parse_seeds("0-2,5") == [0, 1, 2, 5]
    for bad in ("", "a", "-1", "3-1"):
        with pytest.raises(ValueError, match="seed"):
            ds.parse_seeds(bad)


def test_lecture_configs_are_three_variants_of_the_preset_with_optional_epochs():
    configs = ds.lecture_configs("tiny")
    assert [c.model.variant for c in configs] == ["none", "additive", "dot"]
    assert {c.with_variant("additive").key() for c in configs} == {PRESETS["tiny"].key()}
    longer = ds.lecture_configs("tiny", epochs=9)
    assert {c.train.epochs for c in longer} == {9} and longer[0].data == PRESETS["tiny"].data


def test_plan_runs_is_seeds_times_variants():
    configs = ds.plan_runs(PRESETS["tiny"], ["none", "dot"], [0, 1])
    assert [(c.model.variant, c.seed) for c in configs] == [("none", 0), ("dot", 0), ("none", 1), ("dot", 1)]
    with pytest.raises(ConfigError, match="at least one variant"):
        ds.plan_runs(PRESETS["tiny"], [], [0])


def test_training_config_with_preset_values_is_the_preset():
    v = ds.preset_values("tiny")
    cfg = ds.training_config(PRESETS["tiny"].data, "tiny", style=v["train.style"], emb=v["train.emb"],
                             hidden=v["train.hidden"], scaled=v["train.scaled"], epochs=v["train.epochs"],
                             batch=v["train.batch"], lr=v["train.lr"], teacher_forcing=v["train.teacher_forcing"])
    assert cfg.key() == PRESETS["tiny"].key()
    with pytest.raises(ConfigError, match="hidden"):
        ds.training_config(PRESETS["tiny"].data, "tiny", style="luong", emb=16, hidden=31, scaled=True, epochs=1,
                           batch=8, lr=0.01, teacher_forcing=1.0)


def test_task_data_config_with_the_default_widgets_is_the_lecture_data():
    lecture = PRESETS["lecture"].data
    assert ds.task_data_config(lecture.task, ds.task_length_range(lecture.task), lecture.n_train, lecture.n_valid,
                               lecture.n_test) == lecture
    cfg = ds.task_data_config("reverse", (3, 12), 300, 40, 60, 4, "0,5,10,20", "uniform")
    assert (cfg.min_len, cfg.max_len, cfg.buckets, cfg.length_dist) == (None, 12, (0, 5, 10, 20), "uniform")


def test_comparison_groups_and_latest_runs():
    base = PRESETS["tiny"].to_dict()
    other = PRESETS["lecture"].to_dict()
    configs = {"a": base, "b": base, "c": base, "d": other}
    runs = pd.DataFrame({"id": ["a", "b", "c", "d"], "status": ["done"] * 4, "task": ["reverse"] * 3 + ["toy-fr"],
                         "variant": ["dot", "dot", "none", "dot"], "seed": [0, 0, 0, 0], "style": ["luong"] * 4,
                         "finished": pd.to_datetime([3, 1, 2, 0], unit="s")})
    groups = ds.comparison_groups(runs, configs)
    assert list(groups["runs"]) == [3, 1] and groups["variants"][0] == ["none", "dot"]
    assert ds.latest_runs(runs, configs, groups["key"][0]) == ["c", "a"]  # newest dot (a), in variant order
    grouped = ds.with_groups(runs, configs)  # keys computed once, kept by both helpers
    assert list(grouped["group"]) == [groups["key"][0]] * 3 + [groups["key"][1]]
    assert ds.comparison_groups(grouped, configs).equals(groups)
    assert ds.latest_runs(grouped, configs, groups["key"][1]) == ["d"]
    assert ds.comparison_groups(runs.iloc[:0], configs).empty and ds.with_groups(runs.iloc[:0], configs).empty
    assert ds.comparison_key({**base, "seed": 5}) == groups["key"][0]


def test_progress_text_and_seconds():
    row = {"name": "dot seed 0", "status": "running", "step": 10, "total_steps": 40, "epoch": 1, "epochs": 4,
           "eta": 75.0}
    assert ds.progress_text(row) == "dot seed 0 — epoch 1/4 · step 10/40 · ETA 1 min 15 s"
    assert ds.progress_text({**row, "status": "queued"}) == "dot seed 0 — queued"
    assert ds.format_seconds(float("nan")) == "–" and ds.format_seconds(7200) == "2 h 00 min"


def test_attention_items_set_none_apart_and_label_the_stop_row():
    half = np.float32(0.5)
    decodes = {"none": Decode(index=0, bucket=0, src=("a", "b"), ref=("b", "a"), hyp=("b", "a")),
               "dot": Decode(index=0, bucket=0, src=("a", "b"), ref=("b", "a"), hyp=("b", "a"),
                             weights=np.full((3, 2), half), forced=np.full((2, 2), half))}
    gold = frozenset({(0, 1), (1, 0)})
    items, without = ds.attention_items(decodes, "generated", gold)
    assert list(without) == ["none"] and items[0]["out_tokens"] == ["b", "a", "</s>"] and items[0]["gold"] == gold
    items, _ = ds.attention_items(decodes, "reference", gold)
    assert items[0]["out_tokens"] == ["b", "a"] and items[0]["weights"].shape == (2, 2)


def test_playground_masks():
    assert ds.playground_mask("none", 3, 5) is None
    causal = ds.playground_mask("causal", 3, 5)
    assert causal.shape == (3, 5) and causal[0].tolist() == [True, False, False, False, False]
    with pytest.raises(ValueError, match="3×5"):
        ds.playground_mask("custom", 3, 5, np.ones((2, 2)))
    matrix, emptied = ds.editor_matrix(pd.DataFrame([[1.0, None]]))
    assert matrix.tolist() == [[1.0, 0.0]] and emptied == 1


def test_describe_data_and_overview():
    pairs = tuple(Pair(("a", "b"), ("b", "a")) for _ in range(5))
    data = ParallelData("t", pairs, pairs[:1], pairs[:2])
    overview = ds.data_overview(data, DataConfig(task="reverse"))
    assert (overview["train"], overview["src_vocab"]) == (5, 6)
    assert "sources of 3–20 tokens" in ds.describe_data(DataConfig(task="reverse", n_train=10))
    assert ds.preview_pairs(data, 2).index.tolist() == [1, 2]
