"""The scaled dot-product attention toy of the Playground page."""
import math

import numpy as np
import pytest

import torch

from attn.nn.attention import masked_softmax
from attn.nn.playground import attention, draw_qkv, softmax_entropy_by_dim


def test_default_draw_has_the_course_notes_shapes():
    Q, K, V = draw_qkv()
    assert Q.shape == (3, 4) and K.shape == (5, 4) and V.shape == (5, 6)
    weights, output, scores, empty = attention(Q, K, V)
    assert weights.shape == (3, 5) and output.shape == (3, 6) and scores.shape == (3, 5)


def test_draw_is_reproducible_from_the_seed():
    assert all(np.array_equal(a, b) for a, b in zip(draw_qkv(seed=7), draw_qkv(seed=7)))
    assert not np.array_equal(draw_qkv(seed=7)[0], draw_qkv(seed=8)[0])


def test_weight_rows_sum_to_one():
    weights = attention(*draw_qkv(seed=3)).weights
    assert np.allclose(weights.sum(axis=1), 1.0) and (weights > 0).all()


def test_attention_equals_a_hand_computation():
    Q = np.array([[1.0, 0.0], [0.0, 2.0]])
    K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    V = np.array([[1.0], [2.0], [3.0]])
    scores = np.array([[1.0, 0.0, 1.0], [0.0, 2.0, 2.0]]) / math.sqrt(2)
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    weights, output, got_scores, _ = attention(Q, K, V)
    assert np.allclose(got_scores, scores)
    assert np.allclose(weights, expected)
    assert np.allclose(output, expected @ V)


def test_mask_gives_forbidden_keys_zero_weight():
    Q, K, V = draw_qkv()
    mask = np.ones((3, 5), dtype=bool)
    mask[0, 1:] = False
    mask[2, 4] = False
    weights, output, _, empty = attention(Q, K, V, mask=mask)
    assert weights[0].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert weights[2, 4] == 0.0 and np.isclose(weights[2].sum(), 1.0)
    assert np.allclose(output[0], V[0]) and not empty.any()


def test_an_all_padding_row_is_uniform_and_flagged_in_the_playground_and_the_models():
    Q, K, V = draw_qkv()
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    result = attention(Q, K, V, mask=mask)
    assert np.isfinite(result.weights).all() and np.isfinite(result.output).all()
    assert np.allclose(result.weights[1], 1 / 5) and np.allclose(result.output[1], V.mean(axis=0))
    assert result.empty_rows.tolist() == [False, True, False]
    # The models' path: the same scores as a batch of one query over five keys, all of them padding.
    scores = torch.from_numpy(result.scores[1]).float().view(1, 1, 5)            # (B, T, S)
    model_weights = masked_softmax(scores, torch.zeros(1, 5, dtype=torch.bool))   # (B, T, S)
    assert np.allclose(model_weights[0, 0].numpy(), result.weights[1])


def test_the_playground_and_the_models_mask_padding_alike():
    Q, K, V = draw_qkv(seed=5)
    keys = np.array([True, True, False, True, False])                 # one key mask, as the models have
    result = attention(Q, K, V, mask=keys)
    scores = torch.from_numpy(result.scores).float()[None]            # (B=1, T=3, S=5)
    model_weights = masked_softmax(scores, torch.from_numpy(keys)[None])[0].numpy()
    assert np.allclose(result.weights, model_weights, atol=1e-6)
    assert (result.weights[:, ~keys] == 0).all()


def test_mask_must_be_boolean_and_fit():
    Q, K, V = draw_qkv()
    with pytest.raises(ValueError, match="boolean"):
        attention(Q, K, V, mask=np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        attention(Q, K, V, mask=np.ones((3, 4), dtype=bool))


def test_scaling_changes_the_weights():
    Q, K, V = draw_qkv()
    scaled, _, scaled_scores, _ = attention(Q, K, V, scaled=True)
    unscaled, _, unscaled_scores, _ = attention(Q, K, V, scaled=False)
    assert np.allclose(unscaled_scores, scaled_scores * 2.0)  # sqrt(d_k) = 2
    assert not np.allclose(scaled, unscaled)
    assert unscaled.max() > scaled.max()  # larger scores, sharper softmax


def test_unscaled_entropy_collapses_at_large_dimension_while_scaled_stays():
    frame = softmax_entropy_by_dim(dims=(2, 512), n_keys=10, samples=300)
    assert list(frame.columns[:3]) == ["d", "scaled", "entropy"]
    at = {(row.d, row.scaled): row.entropy for row in frame.itertuples()}
    assert at[(512, False)] < 0.5 * at[(512, True)]
    assert at[(512, True)] == pytest.approx(at[(2, True)], abs=0.2)
    assert at[(512, True)] < math.log(10)
