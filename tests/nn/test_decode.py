"""Decoding: beam search against an exhaustive search, its length normalisation and stopping rule;
greedy decoding independent of the batch a sentence is decoded in."""
import itertools
import math

import pytest
import torch

from attn.config import ModelConfig
from attn.data.text import BOS_ID, EOS_ID, PAD_ID
from attn.nn.decode import beam_search, greedy
from attn.nn.model import Encoded
from attn.nn.models import build_model

A, B = 4, 5  # the two words of the hand-built vocabulary: <pad> <unk> <s> </s> a b


def lp(length: int, alpha: float) -> float:
    """The length penalty beam_search divides by: ((5 + len) / 6)^alpha (Wu et al. 2016)."""
    return ((5 + length) / 6) ** alpha


class TableModel:
    """A hand-built decoder: p(next word) depends only on the step t and the previous word.

    `table` maps (t, previous word) to {word: probability}; unlisted words share what is left
    equally, unlisted (t, previous word) get `default`. Attention is uniform over the source.
    """

    def __init__(self, table: dict, default: dict, vocab: int = 6, steps: int = 12):
        self.decoder = self
        self.steps = 0  # decoder steps taken, to see where beam search stops
        self.logprobs = torch.empty(steps, vocab, vocab)
        for t, prev in itertools.product(range(steps), range(vocab)):
            given = table.get((t, prev), default)
            rest = (1.0 - sum(given.values())) / (vocab - len(given))
            self.logprobs[t, prev] = torch.tensor([given.get(w, rest) for w in range(vocab)]).log()

    def eval(self):
        return self

    def encode(self, src, src_len):
        mask = torch.arange(src.size(1))[None, :] < src_len[:, None]
        zeros = torch.zeros(src.size(0), src.size(1), 1)
        return Encoded(memory=zeros, keys=None, mask=mask, summary=torch.zeros(src.size(0), 1))

    def init_state(self, enc):
        return torch.zeros(enc.mask.size(0), 1)                       # (B, 1): the step t

    def step(self, prev, state, enc):
        self.steps += 1
        t = state[:, 0].long().clamp(max=self.logprobs.size(0) - 1)
        weights = enc.mask.float() / enc.mask.sum(-1, keepdim=True)  # (B, S)
        return self.logprobs[t, prev], state + 1, weights


def long_or_short():
    """</s> at once scores log p = -1; "a a a </s>" scores -1.2 - 3 log(1/0.99): worse unnormalised,
    better once divided by lp(4) when alpha = 0.6 (-1.23 / 1.275 = -0.965 > -1)."""
    after_a = {A: 0.99, EOS_ID: 0.004, B: 0.003}
    return TableModel({(0, BOS_ID): {EOS_ID: math.exp(-1.0), A: math.exp(-1.2), B: 0.2},
                       (1, A): after_a, (2, A): after_a,
                       (3, A): {EOS_ID: 0.99, A: 0.004, B: 0.003}},
                      default={EOS_ID: 0.5})


SRC, SRC_LEN = torch.tensor([[7, 8, 9]]), torch.tensor([3])


def exhaustive(model, src, src_len, max_len: int, alpha: float):
    """Every output of at most max_len words, finished by </s>, scored as beam search ranks finished
    outputs (log p / lp(len)): the best one's (normalised score, tokens, log p)."""
    enc = model.encode(src, src_len)
    frontier = [([], 0.0, model.decoder.init_state(enc)[0])]          # (ids, log p, state (H,))
    finished = []
    with torch.no_grad():
        for _ in range(max_len):
            prev = torch.tensor([ids[-1] if ids else BOS_ID for ids, _, _ in frontier])
            states = torch.stack([s for _, _, s in frontier])
            logits, new_states, _ = model.decoder.step(prev, states, enc.repeat(len(frontier)))
            logp = torch.log_softmax(logits.double(), dim=-1)          # (k, V)
            grown = []
            for i, (ids, score, _) in enumerate(frontier):
                for word in range(logp.size(1)):
                    total = score + float(logp[i, word])
                    if word == EOS_ID:
                        finished.append((total / lp(len(ids) + 1, alpha), ids + [word], total))
                    else:
                        grown.append((ids + [word], total, new_states[i]))
            frontier = grown
    return max(finished, key=lambda f: f[0])


def _random_model(seed, tgt_vocab=6, eos_bias=0.0, gain=4.0, emb=4, hidden=6, **config):
    """A random model whose weights are scaled up by `gain`: its outputs then depend on the source and
    the step (a freshly initialised one says the same word everywhere); `eos_bias` moves p(</s>)."""
    torch.manual_seed(seed)
    model = build_model(ModelConfig(emb=emb, hidden=hidden, **config), 12, tgt_vocab).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(gain)
        model.decoder.out.bias[EOS_ID] += eos_bias
    return model


def test_a_beam_wide_enough_finds_what_an_exhaustive_search_finds():
    """6 words, at most 3 steps: a beam of 6^3 never prunes, so beam search must return the best of
    every finished output, ranked by log p / lp(len), for every alpha."""
    bests = set()
    for seed, alpha in itertools.product(range(6), (0.0, 0.6, 2.0)):
        model = _random_model(seed, eos_bias=-2.0, style=("luong", "bahdanau")[seed % 2])
        _, tokens, logp = exhaustive(model, SRC, SRC_LEN, max_len=3, alpha=alpha)
        (hyp,) = beam_search(model, SRC, SRC_LEN, beam=6 ** 3, max_len=3, alpha=alpha)
        assert hyp.tokens == tokens, (seed, alpha)
        assert hyp.score == pytest.approx(logp, abs=1e-4), (seed, alpha)  # the unnormalised sum of log p
        assert hyp.weights.shape == (len(tokens), 3)
        bests.add(tuple(tokens))
    assert len(bests) >= 3 and max(map(len, bests)) == 3  # the cases differ; some best outputs are long


def _log_p(model, src, src_len, tokens):
    """log p(tokens | src) by stepping the decoder over them: what a hypothesis's score must be."""
    enc = model.encode(src, src_len)
    state, total = model.decoder.init_state(enc), 0.0
    with torch.no_grad():
        for prev, word in zip([BOS_ID] + tokens[:-1], tokens):
            logits, state, _ = model.decoder.step(torch.tensor([prev]), state, enc)
            total += float(torch.log_softmax(logits.double(), -1)[0, word])
    return total


@pytest.mark.parametrize("seed", range(3))
def test_a_narrow_beam_scores_its_output_by_its_log_probability_and_never_beats_the_exhaustive_best(seed):
    model = _random_model(seed, eos_bias=-2.0)
    best, _, _ = exhaustive(model, SRC, SRC_LEN, max_len=4, alpha=0.6)
    for beam in (2, 3):
        (hyp,) = beam_search(model, SRC, SRC_LEN, beam=beam, max_len=4, alpha=0.6)
        assert hyp.score == pytest.approx(_log_p(model, SRC, SRC_LEN, hyp.tokens), abs=1e-4)
        if hyp.tokens[-1] == EOS_ID:
            assert hyp.score / lp(len(hyp.tokens), 0.6) <= best + 1e-5


@pytest.mark.parametrize("alpha, expected", [(0.0, [EOS_ID]), (0.6, [A, A, A, EOS_ID])])
def test_finished_outputs_are_ranked_by_log_p_over_the_length_penalty(alpha, expected):
    model = long_or_short()
    assert exhaustive(model, SRC, SRC_LEN, max_len=5, alpha=alpha)[1] == expected
    (hyp,) = beam_search(model, SRC, SRC_LEN, beam=6 ** 5, max_len=5, alpha=alpha)
    assert hyp.tokens == expected


@pytest.mark.parametrize("alpha, expected, steps", [(0.0, [EOS_ID], 2), (0.6, [A, A, A, EOS_ID], 4)])
def test_search_stops_once_beam_outputs_finished_and_no_open_one_can_still_win(alpha, expected, steps):
    """The rule: stop when `beam` outputs have finished and the best of them beats the best open
    beam's bound log p / lp(limit) (log p only falls and lp only grows until the limit). Beam 2,
    limit 10: after step 2, </s> (-1) and "a </s>" have finished and "a a" is open at -1.21.
    Unnormalised (alpha 0) -1 > -1.21 ends the search; with alpha 0.6 the bound -1.21 / lp(10) = -0.70
    says "a a" could still win, and it does at step 4, where the search ends."""
    model = long_or_short()
    (hyp,) = beam_search(model, SRC, SRC_LEN, beam=2, max_len=10, alpha=alpha)
    assert hyp.tokens == expected
    assert model.steps == steps


@pytest.mark.parametrize("beam, finds_it", [(2, False), (3, True), (4, True)])
def test_a_beam_of_k_keeps_k_open_hypotheses(beam, finds_it):
    """The best output starts with the third most likely word: a beam of 3 keeps that prefix,
    a beam of 2 has dropped it after step 1 (the search is then greedy about its first word)."""
    C = 6
    then = {(1, A): {EOS_ID: 0.2}, (1, B): {EOS_ID: 0.2}, (1, C): {EOS_ID: 0.99}}
    model = TableModel({(0, BOS_ID): {A: 0.34, B: 0.33, C: 0.32, EOS_ID: 0.002}, **then},
                       default={EOS_ID: 0.2}, vocab=7)
    best = exhaustive(model, SRC, SRC_LEN, max_len=4, alpha=0.6)[1]
    assert best == [C, EOS_ID]
    (hyp,) = beam_search(model, SRC, SRC_LEN, beam=beam, max_len=4, alpha=0.6)
    assert (hyp.tokens == best) is finds_it


def test_without_a_finished_output_the_best_open_beam_is_returned():
    model = TableModel({}, default={A: 0.6, B: 0.3, EOS_ID: 0.0001})
    (hyp,) = beam_search(model, SRC, SRC_LEN, beam=3, max_len=4)
    assert hyp.tokens == [A, A, A, A] and model.steps == 4
    assert hyp.score == pytest.approx(4 * math.log(0.6), abs=1e-5)


def test_beam_of_one_equals_greedy():
    model = _random_model(0, tgt_vocab=9, eos_bias=0.5, hidden=8)
    src = torch.tensor([[4, 5, 6, 7], [8, 9, PAD_ID, PAD_ID], [10, 11, 4, PAD_ID]])
    src_len = torch.tensor([4, 2, 3])
    g = greedy(model, src, src_len)
    b = beam_search(model, src, src_len, beam=1)
    assert [h.tokens for h in g] == [h.tokens for h in b]
    assert all(torch.allclose(x.weights, y.weights, atol=1e-6) for x, y in zip(g, b))


# ------------------------------------------------------------------ greedy and batching

LENGTHS = [1, 7, 3, 5, 2, 6]
CONFIGS = [dict(variant="additive", style="luong"), dict(variant="dot", style="bahdanau"),
           dict(variant="general", style="luong"), dict(variant="none", style="bahdanau"),
           dict(family="transformer", layers=1, heads=2, ff=16)]


def _sources(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(4, 12, (n,), generator=g) for n in LENGTHS]


def _batch(sentences, extra_padding=0):
    width = max(len(s) for s in sentences) + extra_padding
    src = torch.full((len(sentences), width), PAD_ID)
    for i, s in enumerate(sentences):
        src[i, :len(s)] = s
    return src, torch.tensor([len(s) for s in sentences])


@pytest.mark.parametrize("eos_bias", [-1e4, 0.5], ids=["never-stops", "stops-early"])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_greedy_gives_a_sentence_the_same_output_alone_as_in_any_batch(config, eos_bias):
    """Batch-mates, their lengths, their order and extra padding change nothing: not the words, not
    the attention, and not where a sentence stops (each stops at its own length limit, 2 S + 10)."""
    sentences, limits, lengths = _sources(), [2 * n + 10 for n in LENGTHS], []
    for seed in range(3):
        model = _random_model(seed, tgt_vocab=9, eos_bias=eos_bias, hidden=8, **config)
        alone = [greedy(model, *_batch([s]))[0] for s in sentences]
        lengths += [len(h.tokens) for h in alone]
        orders = [list(range(6)), [5, 4, 3, 2, 1, 0], [1, 0], [4, 2, 0]]
        for order, extra in itertools.product(orders, (0, 3)):
            batched = greedy(model, *_batch([sentences[i] for i in order], extra))
            for i, hyp in zip(order, batched):
                assert hyp.tokens == alone[i].tokens, (seed, order, extra, i)
                if alone[i].weights is not None:
                    assert hyp.weights.shape == alone[i].weights.shape
                    # 1e-4: float32 rounding differs between batch shapes, and the scaled-up
                    # Transformer amplifies it to ~1e-4 (1e-14 in float64); padding that leaked would
                    # take a visible share of each row
                    assert torch.allclose(hyp.weights, alone[i].weights, atol=1e-4), (seed, order, extra, i)
    at_limit = [n == limit for n, limit in zip(lengths, limits * 3)]
    assert all(at_limit) if eos_bias < 0 else (any(at_limit) and not all(at_limit))


def test_greedy_max_len_caps_every_sentence():
    model = _random_model(0, tgt_vocab=9, eos_bias=-1e4)
    hyps = greedy(model, *_batch(_sources()), max_len=4)
    assert [len(h.tokens) for h in hyps] == [4] * len(LENGTHS)
