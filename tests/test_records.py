"""The shared records: one Decode, one BucketRow and one RunRecord from evaluation to store to page."""
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from attn.config import PRESETS, ModelConfig
from attn.data.text import Vocab
from attn.nn.model import Seq2Seq
from attn.records import BUCKET_COLUMNS, DERIVED_RUN_FIELDS, METRICS, BucketRow, Decode, RunRecord, bucket_frame
from attn.training.evaluate import attention_matrix, translate
from attn.viz import support as ds


def _decode(**changes) -> Decode:
    fields = dict(index=3, bucket=1, src=["a", "b", "c"], ref=["c", "b", "a"], hyp=["c", "a"],
                  weights=np.full((3, 3), 1 / 3, dtype=np.float32), forced=np.eye(3, dtype=np.float32))
    return Decode(**{**fields, **changes})


def test_records_import_without_torch_pandas_or_streamlit():
    code = "import sys, attn.records; print(sorted({'torch', 'pandas', 'streamlit'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


def test_a_decode_holds_tuples_and_cannot_be_changed():
    d = _decode()
    assert (d.src, d.ref, d.hyp) == (("a", "b", "c"), ("c", "b", "a"), ("c", "a"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.hyp = ("x",)


def test_decodes_are_equal_by_value_arrays_included():
    assert _decode() == _decode()
    assert _decode() != _decode(forced=np.zeros((3, 3), dtype=np.float32))
    assert _decode() != _decode(weights=None)


@pytest.mark.parametrize("weights, message", [
    (torch.full((3, 3), 0.5), "numpy float32 array.*torch.Tensor"),
    (np.full((3, 3), 0.5), "float64"),
    (np.full((3,), 0.5, dtype=np.float32), "2-D"),
    (np.full((2, 4), 0.5, dtype=np.float32), r"\(T, 3\).*\(2, 4\)"),
])
def test_a_decode_refuses_weights_that_are_not_a_float32_matrix_over_its_source(weights, message):
    with pytest.raises((TypeError, ValueError), match=f"Decode.weights.*{message}"):
        _decode(weights=weights)


def test_a_decode_refuses_a_forced_matrix_of_another_shape_than_ref_by_src():
    with pytest.raises(ValueError, match=r"Decode.forced must be \(3, 3\)"):
        _decode(forced=np.eye(2, 3, dtype=np.float32))


def test_a_decode_refuses_a_string_where_tokens_belong():
    with pytest.raises(TypeError, match="Decode.src must be a sequence of tokens"):
        _decode(src="a b c")


def test_attention_matrix_is_the_one_tensor_to_record_step():
    tensor = torch.rand(4, 6, dtype=torch.float64)
    matrix = attention_matrix(tensor[1:3, :3])
    assert matrix.dtype == np.float32 and matrix.shape == (2, 3) and matrix.flags.owndata
    assert np.allclose(matrix, tensor[1:3, :3].numpy()) and attention_matrix(None) is None


def test_a_typed_sentence_is_a_decode_without_index_ref_or_forced():
    src_vocab = Vocab.build([["a", "b"]])
    tgt_vocab = Vocab.build([["x", "y"]])
    torch.manual_seed(0)
    model = Seq2Seq(ModelConfig(variant="dot", emb=8, hidden=8), len(src_vocab), len(tgt_vocab)).eval()
    d = translate(model, ["a", "b", "zz"], src_vocab, tgt_vocab)
    assert (d.index, d.bucket, d.ref, d.forced) == (None, None, None, None) and d.src == ("a", "b", "zz")
    assert d.weights.dtype == np.float32 and d.weights.shape[1] == 3
    assert translate(model, [], src_vocab, tgt_vocab).src == ("<unk>",)  # what the model read


def test_attention_items_label_the_stop_row_and_set_variants_without_weights_apart():
    gold = frozenset({(0, 2), (1, 1), (2, 0)})
    same = _decode(hyp=["c", "b", "a"], weights=np.full((4, 3), 0.25, dtype=np.float32))
    items, without = ds.attention_items({"dot": same, "none": _decode(weights=None, forced=None)}, "generated", gold)
    assert list(without) == ["none"] and [it["title"] for it in items] == ["dot"]
    assert items[0]["out_tokens"] == ["c", "b", "a", "</s>"] and items[0]["gold"] == gold
    items, _ = ds.attention_items({"dot": _decode()}, "generated", gold)
    assert items[0]["out_tokens"] == ["c", "a", "</s>"] and items[0]["gold"] is None  # output differs from ref
    items, _ = ds.attention_items({"dot": _decode()}, "reference", gold)
    assert items[0]["out_tokens"] == ["c", "b", "a"] and np.array_equal(items[0]["weights"], np.eye(3))
    assert ds.sentence_label(_decode(), "char") == "#3 · 3 tokens · abc"
    from attn.data.subwords import merged_words
    pieces = _decode(src=["▁an", "ne", "▁fol", "lows", "▁."], weights=None, forced=None)
    assert ds.sentence_label(pieces, words=merged_words) == "#3 · 3 words · anne follows ."


def test_a_bucket_row_has_one_field_per_metric_in_order():
    assert BUCKET_COLUMNS == ("bucket", "lo", "hi", "n", *METRICS)
    assert BucketRow("1-2", 1, 2, 5, *range(len(METRICS))).metrics() == tuple(range(len(METRICS)))


def test_a_bucket_row_from_numpy_values_has_plain_numbers_and_none_for_nan():
    row = BucketRow.from_values({"bucket": "5-9", "lo": np.int64(5), "hi": np.int64(9), "n": np.int64(0),
                                 "bleu": float("nan"), "chrf": np.float64(12.5), "exact": 0.0,
                                 "token_acc": 50.0, "align": None, "extra": "ignored"})
    assert row == BucketRow("5-9", 5, 9, 0, None, 12.5, 0.0, 50.0, None, None)
    assert type(row.lo) is int and type(row.chrf) is float
    with pytest.raises(ValueError, match="needs n"):
        BucketRow.from_values({"bucket": "5-9"})


def test_bucket_frame_puts_identity_first_and_gives_float_metrics_with_nan():
    rows = [({"run_id": "r1", "seed": 0}, BucketRow("1-4", 1, 4, 3, 10.0, 20.0, 0.0, 50.0, None, None)),
            ({"run_id": "r1", "seed": 0}, BucketRow("5-9", 5, 9, 0, None, None, 0.0, 0.0, None, None))]
    frame = bucket_frame(rows, identity=("run_id", "seed"))
    assert list(frame.columns) == ["run_id", "seed", *BUCKET_COLUMNS]
    assert frame["bleu"].dtype == float and frame["bleu"].isna().tolist() == [False, True]
    assert frame["align"].isna().all() and frame["n"].tolist() == [3, 0]
    empty = bucket_frame([], identity=("run_id",))
    assert empty.empty and list(empty.columns) == ["run_id", *BUCKET_COLUMNS]


def _run_columns(tmp_path) -> list[str]:
    from attn.runs.store import RunStore
    return [row[1] for row in RunStore(tmp_path)._db().execute("PRAGMA table_info(runs)")]


def test_a_run_record_has_a_field_per_column_of_the_runs_table_plus_the_derived_ones(tmp_path):
    fields = [f.name for f in dataclasses.fields(RunRecord)]
    assert [f for f in fields if f not in DERIVED_RUN_FIELDS] == _run_columns(tmp_path)  # same names, same order
    assert all(f in fields for f in DERIVED_RUN_FIELDS)


def test_a_run_record_goes_to_json_and_back_unchanged_and_its_json_cannot_change_it(tmp_path):
    import json
    from attn.runs.store import RunStore
    store = RunStore(tmp_path)
    record = store.run(store.create_run(PRESETS["tiny"]))
    as_json = record.to_json()
    assert list(as_json) == [*_run_columns(tmp_path), *DERIVED_RUN_FIELDS]  # the keys `runs export` printed
    assert RunRecord(**json.loads(json.dumps(as_json))) == record
    as_json["config"]["seed"] = 99
    assert record.config["seed"] == 0 and record.to_json()["config"]["seed"] == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = "done"


def test_a_run_row_with_a_column_the_record_does_not_know_is_refused_naming_it(tmp_path):
    from attn.runs.store import RunStore
    store = RunStore(tmp_path)
    row = store._rows([store.create_run(PRESETS["tiny"])])[0]
    with pytest.raises(ValueError, match="unknown: \\['study'\\], missing: none"):
        RunRecord.from_row({**row, "study": "abc"})
    del row["heartbeat"]
    with pytest.raises(ValueError, match="missing: \\['heartbeat'\\]"):
        RunRecord.from_row(row)
