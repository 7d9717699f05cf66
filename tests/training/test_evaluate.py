"""Metrics per length bucket against sacrebleu and hand computations; the forced attention they score."""
import numpy as np
import pytest
import sacrebleu
import torch

from attn.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.data.pairs import Pair, ParallelData, bucket_label, bucket_of
from attn.data.tasks import load_task
from attn.data.text import BOS_ID
from attn.training.evaluate import Decode, alignment_scores, bucket_table, decode_split, resolve_edges
from attn.training.experiment import build_model, prepare, run


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


# (source, reference, hypothesis): sources of 1-2 words (bucket 0), 3-4 (bucket 1) and 5-6 (bucket 2)
SENTENCES = [
    ("a", "le chat dort .", "le chat dort ."),
    ("a b", "un chien noir mange la soupe .", "un chien mange la soupe noire ."),
    ("a b", "il pleut .", "il neige ."),
    ("a b c", "la maison est grande et vieille .", "la maison est vieille et grande ."),
    ("a b c d", "nous allons au marché demain matin .", "nous allons au marché ce matin ."),
    ("a b c d e", "elle lit un livre dans le jardin .", "elle lit un livre ."),
    ("a b c d e f", "le train part à huit heures .", "le train part à huit heures ."),
    ("a b c d e", "je ne sais pas .", "je sais pas ."),
]


def test_each_bucket_scores_exactly_its_own_sentences_as_sacrebleu_does():
    edges = [1, 3, 5, 7]
    pairs = tuple(Pair(tuple(s.split()), tuple(r.split())) for s, r, _ in SENTENCES)
    data = ParallelData("t", pairs, pairs, pairs)
    decodes = [_decode(i, s, r, h, bucket=bucket_of(len(s.split()), edges)) for i, (s, r, h) in enumerate(SENTENCES)]
    table = bucket_table(decodes, data, edges)
    assert list(table["n"]) == [3, 2, 3]
    for k in range(3):
        members = [(r, h) for s, r, h in SENTENCES if edges[k] <= len(s.split()) < edges[k + 1]]
        refs, hyps = [r for r, _ in members], [h for _, h in members]
        assert table.loc[k, "bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score), k
        assert table.loc[k, "chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score), k
    assert len(set(table["bleu"].round(6))) == 3  # three different scores: no bucket borrowed another's


def test_scorers_kept_between_calls_give_the_same_table_and_tokenize_each_buckets_references_once():
    """A checkpoint scores the same sample every time (checkpointing.Checkpointer keeps `scorers`): the
    references are counted once per bucket, other hypotheses score as sacrebleu scores them afresh."""
    edges = [1, 3, 5, 7]
    pairs = tuple(Pair(tuple(s.split()), tuple(r.split())) for s, r, _ in SENTENCES)
    data = ParallelData("t", pairs, pairs, pairs)

    def decodes(hyp_of):
        return [_decode(i, s, r, hyp_of(r, h), bucket=bucket_of(len(s.split()), edges))
                for i, (s, r, h) in enumerate(SENTENCES)]

    scorers = {}
    for hyp_of in (lambda r, h: h, lambda r, h: r, lambda r, h: h.replace(".", "!")):  # three checkpoints
        kept, fresh = bucket_table(decodes(hyp_of), data, edges, scorers=scorers), bucket_table(decodes(hyp_of), data, edges)
        assert kept.equals(fresh)
        assert len(scorers) == 3  # one entry per bucket, made at the first call
    assert sorted(len(key) for key in scorers) == [2, 3, 3]


def test_character_level_buckets_score_the_joined_strings_with_character_bleu_and_chrf():
    """The dates task's tokens are characters: BLEU counts character n-grams of the joined strings
    (sacrebleu's 'char' tokenizer), chrF reads the same strings."""
    data = load_task("dates", n_train=2, n_valid=1, n_test=6, seed=0)
    assert data.level == "char"
    edges = resolve_edges(data, None, 2)

    def damaged(tgt, i):  # a wrong digit in the day and, for every other sentence, a lost month digit
        chars = list(tgt)
        chars[-1] = "0" if chars[-1] != "0" else "1"
        return chars[:5] + chars[6:] if i % 2 else chars

    decodes = [Decode(index=i, bucket=bucket_of(len(p.src), edges), src=p.src, ref=p.tgt, hyp=damaged(p.tgt, i))
               for i, p in enumerate(data.test)]
    table = bucket_table(decodes, data, edges)
    assert sum(table["n"]) == len(data.test) and (table["n"] > 0).all()
    for k in range(len(edges) - 1):
        members = [d for d in decodes if d.bucket == k]
        refs, hyps = ["".join(d.ref) for d in members], ["".join(d.hyp) for d in members]
        assert table.loc[k, "bleu"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs], tokenize="char").score)
        assert table.loc[k, "chrf"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
        assert table.loc[k, "exact"] == 0.0


def test_alignment_score_and_aer_by_hand():
    forced = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5], [0.1, 0.8, 0.1]])  # argmax 0, 2, 1
    gold = frozenset({(0, 0), (1, 1), (2, 1), (2, 2)})
    hits, scored, inter, size = alignment_scores(forced, gold)
    assert (hits, scored) == (2, 3)
    assert inter == 2 and size == 3 + 4   # AER = 1 - 4/7


def test_alignment_score_and_aer_reach_the_bucket_table_as_computed_by_hand():
    """Three hand-built decodes in two buckets; A = {(t, argmax_j forced_tj)}, S = gold links."""
    f32 = lambda rows: np.array(rows, dtype=np.float32)
    pairs = (
        Pair(("a", "b"), ("x", "y"), frozenset({(0, 1), (1, 0)})),
        Pair(("a", "b"), ("x", "y", "z"), frozenset({(0, 0), (2, 1)})),            # y has no gold link
        Pair(("a", "b", "c", "d"), ("x", "y"), frozenset({(0, 3), (1, 2), (1, 1)})),
    )
    forced = [f32([[0.2, 0.8], [0.6, 0.4]]),                            # A = {(0,1), (1,0)}: both gold
              f32([[0.7, 0.3], [0.1, 0.9], [0.6, 0.4]]),                # A = {(0,0), (1,1), (2,0)}: (0,0) gold
              f32([[0.1, 0.2, 0.3, 0.4], [0.5, 0.2, 0.2, 0.1]])]       # A = {(0,3), (1,0)}: (0,3) gold
    data = ParallelData("t", pairs, pairs, pairs)
    edges = [0, 3, 5]
    decodes = [Decode(index=i, bucket=bucket_of(len(p.src), edges), src=p.src, ref=p.tgt, hyp=p.tgt, forced=f)
               for i, (p, f) in enumerate(zip(pairs, forced))]
    table = bucket_table(decodes, data, edges)
    # bucket 0: hits 2 + 1 of 2 + 2 scored targets; |A & S| = 2 + 1, |A| + |S| = (2 + 2) + (3 + 2)
    assert table.loc[0, "align"] == pytest.approx(100 * 3 / 4)
    assert table.loc[0, "aer"] == pytest.approx(100 * (1 - 2 * 3 / 9))
    # bucket 1: 1 hit of 2; |A & S| = 1, |A| + |S| = 2 + 3
    assert table.loc[1, "align"] == pytest.approx(100 * 1 / 2)
    assert table.loc[1, "aer"] == pytest.approx(100 * (1 - 2 * 1 / 5))


def test_a_perfect_attention_has_no_alignment_error():
    pair = Pair(("a", "b", "c"), ("z", "y", "x"), frozenset({(0, 2), (1, 1), (2, 0)}))
    forced = np.eye(3, dtype=np.float32)[::-1].copy()
    data = ParallelData("t", (pair,), (pair,), (pair,))
    table = bucket_table([Decode(index=0, bucket=0, src=pair.src, ref=pair.tgt, hyp=pair.tgt, forced=forced)],
                         data, [0, 5])
    assert table.loc[0, "align"] == pytest.approx(100.0) and table.loc[0, "aer"] == pytest.approx(0.0)


def test_empty_bucket_has_no_bleu_rather_than_zero():
    pairs = (Pair(("a",), ("b",)),)
    data = ParallelData("t", pairs, pairs, pairs)
    table = bucket_table([_decode(0, "a", "b", "b", bucket=0)], data, [0, 5, 10])
    assert table.loc[1, "n"] == 0 and table["bleu"].isna().iloc[1]


def _reverse(n_test=30, **lengths):
    return load_task("reverse", n_train=200, n_valid=20, n_test=n_test, seed=1, **lengths)


def _untrained(data, buckets=None):
    cfg = RunConfig(data=DataConfig(task="reverse", buckets=buckets),
                    model=ModelConfig(variant="additive", emb=8, hidden=16))
    prepared = prepare(cfg.data, data)
    return prepared, build_model(cfg, prepared)


def test_forced_attention_row_t_is_the_step_that_reads_the_gold_prefix_and_predicts_word_t():
    """forced[t] is the attention while the decoder has read <s> y_1 .. y_{t-1} and predicts y_t:
    the row that the gold link (t, j) of target word t is scored against."""
    prepared, model = _untrained(_reverse(n_test=12))
    decodes = decode_split(model, prepared.data.test, prepared.test, prepared.tgt_vocab, prepared.edges, batch=5)
    with torch.no_grad():
        for d in decodes:
            src = torch.tensor([prepared.src_vocab.encode(d.src)])
            enc = model.encode(src, torch.tensor([len(d.src)]))
            state, rows = model.decoder.init_state(enc), []
            for prev in [BOS_ID] + prepared.tgt_vocab.encode(d.ref)[:-1]:
                _, state, weights = model.decoder.step(torch.tensor([prev]), state, enc)
                rows.append(weights[0].numpy())
            assert np.allclose(d.forced, np.stack(rows), atol=1e-5), d.index


def test_bucket_counts_add_up_to_the_test_split_when_user_edges_do_not_cover_it():
    data = _reverse(min_len=2, max_len=9)
    lengths = [len(p.src) for p in data.test]
    assert min(lengths) < 4 and max(lengths) >= 6          # the edges below leave sentences out both ends
    prepared, model = _untrained(data, buckets=(4, 5, 6))
    decodes = decode_split(model, data.test, prepared.test, prepared.tgt_vocab, prepared.edges)
    table = bucket_table(decodes, data, prepared.edges)
    assert table["n"].sum() == len(data.test)
    # the first edge lowered to the shortest sentence; past the user's last edge one open bucket "6+" (f82cf8b)
    assert list(table["bucket"]) == [f"{min(lengths)}-4", "5", "6+"]
    assert table.loc[2, "hi"] == max(lengths)


def test_user_edges_that_cover_the_test_split_are_used_as_given():
    data = _reverse(min_len=2, max_len=9)
    assert resolve_edges(data, (0, 5, 10), 5) == [0, 5, 10]


@pytest.fixture(scope="module")
def trained():
    data = _reverse()
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

