"""attn.viz.datasets: the bucket edges the Data page shows are the ones evaluation uses; lengths and overviews."""
import pytest

from attn.config import DataConfig
from attn.data.pairs import Pair, ParallelData
from attn.viz import datasets


def pair(n: int) -> Pair:
    return Pair(tuple("a" * n), tuple("b" * n))


def data_of(train_lengths, test_lengths) -> ParallelData:
    train = tuple(pair(n) for n in train_lengths)
    return ParallelData("t", train, train[:1], tuple(pair(n) for n in test_lengths))


@pytest.mark.parametrize("edges", [None, (), (1, 4, 30), (4, 6, 8)])
@pytest.mark.parametrize("n_buckets", [1, 3, 5])
def test_the_data_pages_edges_hold_every_test_sentence_and_split_at_the_training_length(edges, n_buckets):
    data = data_of((2, 3, 4, 6), (2, 3, 9, 12, 17))      # trained up to 6 tokens, tested up to 17
    used = datasets.edges_in_use(data, edges, n_buckets)
    assert used[0] <= 2 and used[-1] > 17                   # nothing falls outside a bucket
    assert 7 in used                                        # no bucket mixes seen (<= 6) and unseen lengths


def test_overview_labels_the_buckets_of_its_edges():
    data = data_of((1, 2, 3), (2, 3, 9, 17))
    overview = datasets.data_overview(data, DataConfig(task="reverse", buckets=(1, 4, 10, 30)))
    assert overview["edges"] == [1, 4, 10, 30] and overview["buckets"] == ["1-3", "4-9", "10-29"]
    assert (overview["train"], overview["valid"], overview["test"]) == (3, 1, 4)


def test_source_lengths_are_the_test_splits_or_else_the_training_splits():
    assert datasets.source_lengths(data_of((1, 2), (7, 8, 9))) == [7, 8, 9]
    assert datasets.source_lengths(data_of((1, 2), ())) == [1, 2]


def test_preview_shows_text_and_lengths_of_the_first_pairs():
    frame = datasets.preview_pairs(data_of((1, 3, 2), ()), n=2)
    assert frame.columns.tolist() == ["source", "target", "tokens"] and frame.index.name == "#"
    assert frame["tokens"].tolist() == ["1 → 1", "3 → 3"]
