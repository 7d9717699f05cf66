"""attn.viz.length at checkpoints: each run's newest checkpoint at or before a share of its training, the
note saying which steps are drawn, and the gap on the longest bucket that the benchmark times."""
import pandas as pd
import pytest

from attn.viz.length import at_checkpoint, checkpoint_note, longest_bucket_gap, metric_by_bucket

RUNS = pd.DataFrame({"id": ["n", "a"], "variant": ["none", "additive"], "seed": [0, 0], "name": ["N", "A"]})


def _checkpoints() -> pd.DataFrame:
    rows = []
    for run_id, steps, gain in (("n", (0, 10, 20, 40), 0.2), ("a", (0, 15, 30), 2.0)):
        for step in steps:
            for bucket, lo in (("3-6", 3), ("7-12", 7)):
                scored = step > 0  # the first checkpoint (before training) holds no scores
                rows.append({"run_id": run_id, "step": step, "epoch": step / 10, "seconds": step / 5,
                             "bucket": bucket if scored else None, "lo": lo, "hi": lo + 3, "n": 12,
                             "bleu": gain * step / (1 if lo == 3 else 2) if scored else None})
    return pd.DataFrame(rows)


def test_the_newest_scored_checkpoint_of_each_run_at_or_before_a_share_of_its_training():
    end = at_checkpoint(_checkpoints(), RUNS)
    assert dict(zip(end["run_id"], end["step"])) == {"n": 40, "a": 30}
    half = at_checkpoint(_checkpoints(), RUNS, 0.5)
    assert dict(zip(half["run_id"], half["step"])) == {"n": 20, "a": 15}
    assert set(half["variant"]) == {"none", "additive"} and len(half) == 4
    assert at_checkpoint(_checkpoints(), RUNS, 0.0).empty  # only the unscored first checkpoints
    with pytest.raises(ValueError, match="between 0 and 1"):
        at_checkpoint(_checkpoints(), RUNS, 1.5)


def test_the_note_names_the_steps_and_the_chart_carries_it():
    rows = at_checkpoint(_checkpoints(), RUNS, 0.5)
    note = checkpoint_note(rows)
    assert note.startswith("while training: steps 15–20 (epoch 1.5–2.0)")
    spec = metric_by_bucket(rows, "bleu", note=note, min_sentences=5).to_dict()
    assert spec["title"]["subtitle"][0] == note
    assert "hollow" not in str(spec["title"]["subtitle"])  # 12 sentences per bucket is enough at checkpoints


def test_the_gap_on_the_longest_bucket_is_the_best_attention_model_minus_none():
    end = at_checkpoint(_checkpoints(), RUNS)
    assert longest_bucket_gap(end) == pytest.approx(2.0 * 30 / 2 - 0.2 * 40 / 2)
    assert longest_bucket_gap(end[end["variant"] == "none"]) is None
