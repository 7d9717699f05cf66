"""attn.nn.heads: entropy and mean attention distance on hand-made weights; every head of both
Transformers, cropped to the sentence, agreeing with the map the pages draw."""
import math

import numpy as np
import pytest
import torch

from attn.config import ModelConfig
from attn.data.text import BOS_ID, EOS_ID
from attn.nn.heads import HeadMaps, entropy, head_maps, head_stats, mean_distance, reference_head_maps
from attn.nn.models import build_model


def test_identity_has_entropy_zero_and_distance_zero():
    eye = np.eye(4)
    assert entropy(eye) == pytest.approx(0.0) and mean_distance(eye) == pytest.approx(0.0)


def test_uniform_has_entropy_log_n_and_the_mean_gap():
    uniform = np.full((3, 3), 1 / 3)
    assert entropy(uniform) == pytest.approx(math.log(3))
    # rows 0, 1, 2: (0 + 1 + 2) / 3, (1 + 0 + 1) / 3, (2 + 1 + 0) / 3 -> mean 8 / 9
    assert mean_distance(uniform) == pytest.approx(8 / 9)


def test_anti_diagonal_is_sharp_but_far_and_batched_shapes_reduce_the_last_two_axes():
    anti = np.eye(3)[::-1]
    assert entropy(anti) == pytest.approx(0.0) and mean_distance(anti) == pytest.approx(4 / 3)
    half = np.array([[0.5, 0.5], [0.5, 0.5]])                               # entropy log 2, distance 1/2
    stacked = np.stack([np.stack([np.eye(2), half])])                       # (layers 1, heads 2, 2, 2)
    assert np.allclose(entropy(stacked), [[0.0, math.log(2)]]) and np.allclose(mean_distance(stacked), [[0, 0.5]])


def test_head_stats_one_row_per_head_of_each_kind_present():
    maps = HeadMaps(encoder=None, decoder=np.stack([np.stack([np.eye(2)] * 3)] * 2),
                    cross=np.stack([np.stack([np.full((2, 4), 0.25)] * 3)] * 2))
    stats = head_stats(maps)
    assert [(s.kind, s.layer, s.head) for s in stats[:4]] == [("decoder", 1, 1), ("decoder", 1, 2),
                                                              ("decoder", 1, 3), ("decoder", 2, 1)]
    assert len(stats) == 12 and {s.kind for s in stats} == {"decoder", "cross"}
    assert all(s.entropy == pytest.approx(math.log(4)) for s in stats if s.kind == "cross")


def _model(arch):
    torch.manual_seed(0)
    cfg = ModelConfig(family="transformer", arch=arch, hidden=16, heads=2, layers=3, ff=32)
    return build_model(cfg, 15, 13)


@pytest.mark.parametrize("arch", ["encdec", "decoder"])
def test_every_layer_and_head_cropped_to_the_sentence_and_the_last_layer_mean_is_the_drawn_map(arch):
    model = _model(arch).train()
    src, ref = [5, 6, 7, 8], [4, 9, 10]
    maps = reference_head_maps(model, src, ref)                             # rows: ref + </s>
    assert model.training                                                   # its mode is given back
    assert maps.cross.shape == (3, 2, 4, 4) and maps.decoder.shape == (3, 2, 4, 4)
    assert maps.cross.dtype == np.float32 and np.allclose(maps.cross.sum(-1), 1, atol=1e-5)
    assert np.allclose(np.triu(maps.decoder, k=1), 0)                       # causal: no look ahead
    if arch == "encdec":
        assert maps.encoder.shape == (3, 2, 4, 4)
    else:
        assert maps.encoder is None
    model.eval()
    _, drawn = model(torch.tensor([src]), torch.tensor([4]), torch.tensor([[BOS_ID] + ref]))
    assert np.allclose(maps.head_average("cross"), drawn[0].detach().numpy(), atol=1e-5)
    assert len(head_stats(maps)) == 3 * 2 * (3 if arch == "encdec" else 2)


def test_head_maps_of_a_model_without_heads_says_which_models_have_them():
    model = build_model(ModelConfig(variant="dot", emb=8, hidden=16), 15, 13)
    with pytest.raises(TypeError, match="only the Transformer family"):
        head_maps(model, [5, 6], [4, EOS_ID])
    with pytest.raises(ValueError, match="at least one source"):
        head_maps(_model("encdec"), [], [4])


def test_unknown_kind_names_the_valid_ones():
    maps = HeadMaps(encoder=None, decoder=np.zeros((1, 1, 1, 1)), cross=np.zeros((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="encoder, decoder, cross"):
        maps.of("self")
