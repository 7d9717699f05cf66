"""attn.nn.saliency: gradient x input against a closed form, the shape and padding rules on every model
family (none included), and Spearman's rho per row."""
import numpy as np
import pytest
import torch
from torch import nn

from attn.config import ModelConfig
from attn.data.text import BOS_ID, PAD_ID
from attn.nn.models import build_model
from attn.nn import saliency as saliency_module
from attn.nn.saliency import output_saliency, rank_correlation, reference_saliency, saliency, sequence_saliency
from tests.nn.batches import padded_batch


class LinearModel(nn.Module):
    """logits_t = [0, 0, z_t, -z_t], z_t = sum_j A_tj (w . e_j) over the real source: one linear layer.

    log p(word 2) = z - log(2 + e^z + e^-z), so d log p / d e_j = c_t A_tj w with c_t the same for
    every source word j (likewise for word 3), and gradient x input = c_t A_tj (w * e_j): the row
    normalisation removes c_t, and row t is |A_tj| ||w * e_j|| / sum_k |A_tk| ||w * e_k||.
    """

    def __init__(self, table, mixing):
        super().__init__()
        self.embed = nn.Embedding.from_pretrained(torch.tensor(table, dtype=torch.float32), freeze=True)
        self.mixing = torch.tensor(mixing, dtype=torch.float32)                 # A (T, S)
        self.w = torch.ones(2)

    def forward(self, src, src_len, tgt_in):
        e = self.embed(src)                                                      # (B, S, 2)
        mask = (torch.arange(src.size(1))[None] < src_len[:, None]).float()      # (B, S)
        z = torch.einsum("ts,bs->bt", self.mixing[:tgt_in.size(1), :src.size(1)], (e @ self.w) * mask)
        return torch.stack([torch.zeros_like(z), torch.zeros_like(z), z, -z], dim=-1), None


def test_linear_model_matches_gradient_times_input_in_closed_form():
    # e_1 = (0.3, 0.4), e_2 = (0, 0.1): ||w * e|| = 0.5 and 0.1 for w = (1, 1)
    model = LinearModel([[0, 0], [0.3, 0.4], [0, 0.1]], [[1.0, 1.0], [1.0, -2.0]])
    src, src_len = torch.tensor([[1, 2]]), torch.tensor([2])
    tgt_in, tgt_out = torch.tensor([[BOS_ID, 2]]), torch.tensor([[2, 3]])
    got = saliency(model, src, src_len, tgt_in, tgt_out, embedding=model.embed)[0]
    assert torch.allclose(got, torch.tensor([[5 / 6, 1 / 6], [5 / 7, 2 / 7]]), atol=1e-6)


def test_linear_model_padding_gets_zero_and_ended_rows_are_zero():
    model = LinearModel([[0, 0], [0.3, 0.4], [0, 0.1]], [[1.0, 1.0, 7.0], [1.0, -2.0, 7.0], [1.0, 1.0, 1.0]])
    src, src_len = torch.tensor([[1, 2, PAD_ID], [2, PAD_ID, PAD_ID]]), torch.tensor([2, 1])
    tgt_in = torch.tensor([[BOS_ID, 2, 3], [BOS_ID, 2, PAD_ID]])
    tgt_out = torch.tensor([[2, 3, 2], [3, PAD_ID, PAD_ID]])
    got = saliency(model, src, src_len, tgt_in, tgt_out, embedding=model.embed)
    assert torch.all(got[0, :, 2] == 0) and torch.all(got[1, :, 1:] == 0) and torch.all(got[1, 1:] == 0)
    assert torch.allclose(got[0, 1], torch.tensor([5 / 7, 2 / 7, 0.0]), atol=1e-6)
    assert torch.allclose(got[1, 0], torch.tensor([1.0, 0.0, 0.0]))


MODELS = [dict(variant=v, style=s) for v in ("none", "additive", "dot", "general") for s in ("luong", "bahdanau")]
MODELS += [dict(family="transformer", arch=a, hidden=16, heads=2, layers=2, ff=32) for a in ("encdec", "decoder")]
IDS = [f"{m.get('variant', 'tf')}-{m.get('style', m.get('arch'))}" for m in MODELS]


def _model(**kw):
    torch.manual_seed(0)
    base = dict(emb=8, hidden=16) if kw.get("family") is None else {}
    return build_model(ModelConfig(**{**base, **kw}), 15, 13)


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
def test_every_model_gets_rows_summing_to_one_and_zero_padding(kw):
    model = _model(**kw)
    src, src_len, tgt_in, tgt_out = padded_batch()
    got = saliency(model, src, src_len, tgt_in, tgt_out)
    assert got.shape == (3, 5, 5) and got.dtype == torch.float32
    real_rows = tgt_out != PAD_ID
    assert torch.allclose(got.sum(-1)[real_rows], torch.ones(int(real_rows.sum())), atol=1e-5)
    assert torch.all(got[~real_rows] == 0)
    assert torch.all(got[1, :, 3:] == 0) and torch.all(got[2, :, 1:] == 0)      # padded source columns
    assert torch.all(got[0, :4] < 1)                                            # a real spread, not one-hot


@pytest.mark.parametrize("kw", MODELS, ids=IDS)
def test_a_sentence_alone_gets_the_map_it_gets_in_a_padded_batch(kw):
    model = _model(**kw)
    src, src_len, tgt_in, tgt_out = padded_batch()
    batched = saliency(model, src, src_len, tgt_in, tgt_out)[1]                 # (T, S) of sentence 1
    alone = reference_saliency(model, [9, 10, 11], [7, 8])                      # (T_ref, S)
    assert alone.shape == (2, 3) and alone.dtype == np.float32
    assert np.allclose(alone, batched[:2, :3].numpy(), atol=1e-5)


def test_none_gets_a_map_that_depends_on_the_words():
    model = _model(variant="none")
    first = reference_saliency(model, [5, 6, 7], [4, 5])
    other = reference_saliency(model, [5, 12, 7], [4, 5])
    assert first.shape == (2, 3) and not np.allclose(first, other)


def test_typed_sentence_reads_back_the_models_own_output():
    model = _model(variant="additive")
    hyp, sal = output_saliency(model, [5, 6, 7], max_len=6)
    assert len(hyp) >= 1 and sal.shape == (len(hyp), 3)
    assert np.allclose(sal.sum(-1), 1, atol=1e-5)


def test_a_stored_outputs_rows_with_its_end_step_are_the_reference_rows_plus_the_end_row():
    from attn.data.text import EOS_ID
    model = _model(variant="general")
    rows = sequence_saliency(model, [5, 6, 7], [4, 5, EOS_ID])                   # the </s> step read too
    assert rows.shape == (3, 3) and np.allclose(rows[:2], reference_saliency(model, [5, 6, 7], [4, 5]), atol=1e-6)
    assert np.allclose(rows.sum(-1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="at least one token"):
        sequence_saliency(model, [5], [])


def test_saliency_leaves_the_model_in_training_mode_and_without_parameter_gradients():
    model = _model(variant="dot").train()
    src, src_len, tgt_in, tgt_out = padded_batch()
    saliency(model, src, src_len, tgt_in, tgt_out)
    assert model.training and all(p.grad is None for p in model.parameters())


def test_empty_inputs_are_refused_with_what_is_missing():
    model = _model(variant="dot")
    with pytest.raises(ValueError, match="at least one token"):
        reference_saliency(model, [], [4])
    with pytest.raises(ValueError, match="type at least one word"):
        output_saliency(model, [])


def test_rank_correlation_per_row_with_ties_and_constant_rows():
    attention = np.array([[0.1, 0.2, 0.7], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4], [0.2, 0.2, 0.2]])
    sal = np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.1, 0.2, 0.7]])
    rho = rank_correlation(attention, sal)
    # row 3: ranks (0.5, 0.5, 2) against (0, 1, 2): centred (-0.5, -0.5, 1) . (-1, 0, 1) = 1.5,
    # norms sqrt(1.5) and sqrt(2): rho = 1.5 / sqrt(3) = 0.866
    assert rho[0] == pytest.approx(1.0) and rho[1] == pytest.approx(-1.0)
    assert rho[2] == pytest.approx(1.5 / np.sqrt(3)) and np.isnan(rho[3])


def test_rank_correlation_refuses_maps_of_different_shapes():
    with pytest.raises(ValueError, match=r"\(T, S\) of one shape"):
        rank_correlation(np.ones((2, 3)), np.ones((3, 2)))


def test_copies_in_small_chunks_give_the_same_maps(monkeypatch):
    model = _model(variant="additive")
    src, src_len, tgt_in, tgt_out = padded_batch()
    whole = saliency(model, src, src_len, tgt_in, tgt_out)                     # 1 copy, then the other 14
    monkeypatch.setattr(saliency_module, "LOGIT_BUDGET", 2 * 5 * 13)           # chunks of 2 copies of (5, 13)
    chunked = saliency(model, src, src_len, tgt_in, tgt_out)
    assert torch.allclose(whole, chunked, atol=1e-6)
