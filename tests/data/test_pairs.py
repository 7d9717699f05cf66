"""Length buckets: edges from data, user edges, which bucket a length falls in, labels."""
import pytest

from attn.data.pairs import (ParallelData, Pair, bucket_edges, bucket_label, bucket_of, cover_lengths, parse_edges,
                             resolve_edges, split_at_training)


def test_bucket_edges_cover_the_observed_range():
    edges = bucket_edges([3, 4, 10, 50], 5)
    assert edges[0] == 3 and edges[-1] == 51 and len(edges) == 6
    assert bucket_of(50, edges) == 4 and bucket_of(3, edges) == 0 and bucket_of(51, edges) is None


def test_bucket_edges_shrink_when_the_range_is_narrow():
    assert bucket_edges([4, 5], 5) == [4, 5, 6]


def test_a_bucket_holds_its_lower_edge_and_not_its_upper_one():
    edges = [0, 10, 20]
    assert [bucket_of(n, edges) for n in (0, 9, 10, 19, 20)] == [0, 0, 1, 1, None]


def test_every_length_falls_in_the_bucket_whose_range_holds_it():
    edges = [2, 5, 6, 11]
    for length in range(0, 13):
        inside = [k for k in range(len(edges) - 1) if edges[k] <= length <= edges[k + 1] - 1]
        assert bucket_of(length, edges) == (inside[0] if inside else None), length


def test_labels_are_inclusive_on_both_ends():
    assert bucket_label([0, 10, 20], 1) == "10-19"
    assert bucket_label([4, 5, 9], 0) == "4"


@pytest.mark.parametrize("text", ["10,5", "a,b", "3", "-1,4"])
def test_bad_user_edges_are_refused_with_the_input_named(text):
    with pytest.raises(ValueError, match="bucket edges"):
        parse_edges(text)


@pytest.mark.parametrize("edges", [[0, 10, 20], [5, 10], [12, 14, 16], [0, 3, 40], [1, 2]])
def test_covered_edges_put_every_sentence_in_a_bucket(edges):
    lengths = [1, 3, 3, 7, 12, 19, 20, 34]
    covered = cover_lengths(edges, lengths)
    counts = [sum(bucket_of(n, covered) == k for n in lengths) for k in range(len(covered) - 1)]
    assert sum(counts) == len(lengths)
    assert covered[1:len(edges)] == edges[1:]                      # the user's edges stay (the first may drop)
    assert len(covered) == len(edges) + (max(lengths) >= edges[-1])  # one open bucket more past the last edge
    assert all(b > a for a, b in zip(covered, covered[1:]))


def test_edges_that_cover_the_data_are_kept_as_given():
    assert cover_lengths([0, 3, 8], [1, 2, 7]) == [0, 3, 8]


def test_sentences_past_the_last_edge_get_an_open_last_bucket_labelled_n_plus():
    covered = cover_lengths([0, 10, 20], [3, 12, 34])
    assert covered == [0, 10, 20, 35]
    assert [bucket_label(covered, k) for k in range(3)] == ["0-9", "10-19", "20+"]
    closed = cover_lengths([0, 10, 40], [3, 12, 34])               # an edge past the longest: no open bucket
    assert [bucket_label(closed, k) for k in range(2)] == ["0-9", "10-39"]


def test_an_open_last_bucket_stays_open_when_cut_at_the_training_length():
    data = _lengths(train=(2, 24), test=(3, 12, 34))
    edges = split_at_training(resolve_edges(data, (0, 10, 20), 5), data, automatic=False)
    assert edges == [0, 10, 20, 25, 35]
    assert [bucket_label(edges, k) for k in range(4)] == ["0-9", "10-19", "20-24", "25+"]


def test_the_first_edge_is_lowered_to_the_shortest_sentence():
    covered = cover_lengths([5, 10, 20], [2, 12, 19])
    assert covered == [2, 10, 20]
    assert bucket_label(covered, 0) == "2-9"


def _lengths(train, test):
    pair = lambda n: Pair(("w",) * n, ("w",))
    return ParallelData("t", tuple(map(pair, train)), (), tuple(map(pair, test)))


@pytest.mark.parametrize("edges", [None, (0, 5), (3, 4, 6), (0, 40)])
def test_a_runs_edges_put_every_test_sentence_in_a_bucket(edges):
    data = _lengths(train=(1, 50), test=(2, 3, 7, 12, 12, 30))
    resolved = resolve_edges(data, edges, n_buckets=4)
    assert all(bucket_of(len(p.src), resolved) is not None for p in data.test)
    if edges == (0, 40):
        assert resolved == [0, 40]                                # edges that cover are kept


def test_without_a_test_split_the_training_lengths_decide_the_edges():
    assert resolve_edges(_lengths(train=(2, 9), test=()), (4, 5), 3) == [2, 5, 10]
    assert resolve_edges(_lengths(train=(2, 9), test=()), None, 1) == [2, 10]


def test_one_edge_is_refused_with_the_edges_named():
    with pytest.raises(ValueError, match=r"\[4\]"):
        cover_lengths([4], [1, 2])


def test_gold_alignment_is_only_claimed_when_every_test_pair_has_one():
    with_gold = Pair(("a",), ("b",), frozenset({(0, 0)}))
    without = Pair(("a",), ("b",))
    assert ParallelData("t", (), (), (with_gold, with_gold)).has_gold
    assert not ParallelData("t", (), (), (with_gold, without)).has_gold
    assert not ParallelData("t", (), (), ()).has_gold


def test_char_level_tokens_are_joined_without_spaces():
    assert ParallelData("t", (), (), (), level="char").detok(list("2026-11-25")) == "2026-11-25"
    assert ParallelData("t", (), (), ()).detok(["le", "chat"]) == "le chat"
