"""Metrics: sacrebleu agreement, alignment score and AER, buckets, decoding."""
import pytest
import sacrebleu
import torch

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.data.pairs import Pair, ParallelData, bucket_edges, bucket_label, bucket_of, parse_edges
from attn.nn.decode import beam_search, greedy
from attn.training.evaluate import Decode, alignment_scores, bucket_table
from attn.training.experiment import prepare, run


def _decode(i, src, ref, hyp, bucket=0, forced=None):
    return Decode(index=i, bucket=bucket, src=src.split(), ref=ref.split(), hyp=hyp.split(), forced=forced)


def test_bleu_and_chrf_agree_with_sacrebleu_on_a_known_example():
    refs = ["le chat s' est assis sur le tapis .", "la souris noire mange ."]
    hyps = ["le chat est assis sur le tapis .", "la souris noire mange ."]
    pairs = tuple(Pair(tuple("x y".split()), tuple(r.split())) for r in refs)
    data = ParallelData("t", pairs, pairs, pairs)
    decodes = [_decode(i, "x y", r, h) for i, (r, h) in enumerate(zip(refs, hyps))]
    table = bucket_table(decodes, data, [0, 10])
    assert table.loc[0, "bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert table.loc[0, "chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert table.loc[0, "exact"] == pytest.approx(50.0)
    # token accuracy: position-wise matches over the longer of hyp and ref, summed over sentences
    first = sum(h == r for h, r in zip(hyps[0].split(), refs[0].split()))
    assert table.loc[0, "token_acc"] == pytest.approx(100 * (first + 5) / (9 + 5))
    assert table.loc[0, "align"] is None or table["align"].isna().all()


def test_alignment_score_and_aer_by_hand():
    forced = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])  # argmax 0, 2, 1
    gold = frozenset({(0, 0), (1, 1), (2, 1), (2, 2)})
    hits, scored, inter, size = alignment_scores(forced, gold)
    assert (hits, scored) == (2, 3)
    assert inter == 2 and size == 3 + 4   # AER = 1 - 4/7


def test_bucket_edges_cover_the_observed_range():
    edges = bucket_edges([3, 4, 10, 50], 5)
    assert edges[0] == 3 and edges[-1] == 51 and len(edges) == 6
    assert bucket_of(50, edges) == 4 and bucket_of(3, edges) == 0 and bucket_of(51, edges) is None
    assert bucket_label([0, 10, 20], 1) == "10-19"


def test_bucket_edges_shrink_when_the_range_is_narrow():
    assert bucket_edges([4, 5], 5) == [4, 5, 6]


@pytest.mark.parametrize("text", ["10,5", "a,b", "3", "-1,4"])
def test_bad_user_edges_are_refused_with_the_input_named(text):
    with pytest.raises(ValueError, match="bucket edges"):
        parse_edges(text)


def test_empty_bucket_has_no_bleu_rather_than_zero():
    pairs = (Pair(("a",), ("b",)),)
    data = ParallelData("t", pairs, pairs, pairs)
    table = bucket_table([_decode(0, "a", "b", "b", bucket=0)], data, [0, 5, 10])
    assert table.loc[1, "n"] == 0 and table["bleu"].isna().iloc[1]


@pytest.fixture(scope="module")
def trained(request):
    from conftest import make_reverse
    data = ParallelData("reverse-test", make_reverse(200, 1), make_reverse(20, 2), make_reverse(30, 3))
    cfg = RunConfig(data=DataConfig(task="reverse"), model=ModelConfig(variant="dot", emb=16, hidden=32),
                    train=TrainConfig(epochs=3, batch=16, lr=1e-2))
    prepared = prepare(cfg.data, data)
    return run(cfg, prepared), prepared


def test_run_gives_one_row_per_bucket_with_alignment_on_gold_data(trained):
    result, prepared = trained
    labels = [bucket_label(prepared.edges, k) for k in range(len(prepared.edges) - 1)]
    assert [b.bucket for b in result.buckets] == labels
    assert sum(b.n for b in result.buckets) == len(prepared.data.test)
    assert all(b.align is not None for b in result.buckets)
    assert all(d.forced.shape == (len(d.ref), len(d.src)) for d in result.decodes)


def test_beam_of_one_equals_greedy(trained):
    result, prepared = trained
    src, src_len, _, _ = prepared.test.batch(torch.arange(8))
    g = greedy(result.model, src, src_len)
    b = beam_search(result.model, src, src_len, beam=1)
    assert [h.tokens for h in g] == [h.tokens for h in b]


def test_beam_search_returns_one_hypothesis_per_sentence_with_a_weight_row_per_token(trained):
    result, prepared = trained
    src, src_len, _, _ = prepared.test.batch(torch.arange(6))
    g = greedy(result.model, src, src_len)
    b5 = beam_search(result.model, src, src_len, beam=5)
    assert all(len(h.tokens) > 0 for h in b5)
    assert all(h.weights.shape[0] == len(h.tokens) for h in b5)
    assert len(b5) == len(g)
