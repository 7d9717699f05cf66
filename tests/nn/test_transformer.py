"""The Transformer family: config rules and cache keys, causality, padding, caching, decoding, learning."""
import dataclasses
import hashlib
import json
import time

import pytest
import torch

from attn.config import ARCHS, POSITIONS, PRESETS, ConfigError, ModelConfig, RunConfig, TrainConfig
from attn.data.text import BOS_ID, EOS_ID, PAD_ID
from attn.nn.decode import beam_search, greedy
from attn.nn.model import Seq2Seq
from attn.nn.models import build_model
from attn.nn.positions import T5Bias
from attn.nn.transformer_lm import pack
from attn.training.optim import Adam
from attn.nn.models import logits_loss as token_loss
from attn.training.trainer import train_step
from tests.nn.batches import padded_batch

CASES = [(arch, pos) for arch in ARCHS for pos in POSITIONS if not (arch == "encdec" and pos == "none")]
IDS = [f"{a}-{p}" for a, p in CASES]


def _cfg(arch="encdec", positions="sinusoidal", **kw):
    base = dict(family="transformer", arch=arch, positions=positions, hidden=16, heads=2, layers=2, ff=32,
                max_positions=64)
    return ModelConfig(**{**base, **kw})


def _model(arch, positions, seed=0, **kw):
    torch.manual_seed(seed)
    model = build_model(_cfg(arch, positions, **kw), 15, 13)
    for module in model.modules():  # T5's table starts at zero; give its bias something to show
        if isinstance(module, T5Bias):
            torch.nn.init.normal_(module.table.weight)
    return model.eval()


def _pad(x, extra):
    return torch.cat([x, torch.full((x.size(0), extra), PAD_ID, dtype=x.dtype)], dim=1)


# ---- config -------------------------------------------------------------------------------------

def test_heads_that_do_not_divide_hidden_are_refused_naming_both():
    with pytest.raises(ConfigError, match=r"model.heads = 5 must divide model.hidden = 64.*1, 2, 4, 8, 16"):
        ModelConfig(family="transformer", hidden=64, heads=5)


def test_nope_with_the_encoder_decoder_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match=r"model.positions = 'none'.*word order.*model.arch = 'decoder'"):
        ModelConfig(family="transformer", arch="encdec", positions="none")
    assert ModelConfig(family="transformer", arch="decoder", positions="none").positions == "none"


def test_unknown_positions_name_is_refused_listing_the_valid_ones():
    with pytest.raises(ConfigError, match=r"model.positions = 'xpos' is not one of: sinusoidal, learned, rope"):
        ModelConfig(family="transformer", positions="xpos")


def test_rope_needs_an_even_head_size():
    with pytest.raises(ConfigError, match=r"model.positions = 'rope'.*12 / 4 = 3"):
        ModelConfig(family="transformer", positions="rope", hidden=12, heads=4)


def test_an_rnn_config_need_not_satisfy_the_transformers_shapes():
    assert ModelConfig(hidden=126).heads == 4                 # 4 does not divide 126: irrelevant to a GRU
    with pytest.raises(ConfigError, match="model.hidden = 127 must be even"):
        ModelConfig(hidden=127)


def test_the_transformer_refuses_scheduled_sampling():
    with pytest.raises(ConfigError, match="train.teacher_forcing = 0.5"):
        RunConfig(model=_cfg(), train=TrainConfig(teacher_forcing=0.5))


# The fields each section had before the Transformer and the test-length fields were added.
OLD_FIELDS = {
    "data": ("task", "corpus", "corpus_sha256", "n_train", "n_valid", "n_test", "min_len", "max_len",
             "length_dist", "data_seed", "lowercase", "max_pairs", "level", "min_freq", "buckets", "n_buckets"),
    "model": ("variant", "style", "emb", "hidden", "dropout", "scaled"),
    "train": ("epochs", "batch", "lr", "lr_schedule", "clip", "teacher_forcing", "patience", "pool", "device",
              "log_every", "beam"),
}


@pytest.mark.parametrize("name", ["lecture", "tiny"])
def test_an_rnn_presets_key_is_the_old_formula_over_the_old_fields(name):
    cfg = PRESETS[name]
    d = cfg.to_dict()
    old = {section: {k: d[section][k] for k in names} for section, names in OLD_FIELDS.items()}
    old["seed"] = d["seed"]
    blob = json.dumps(old, sort_keys=True, separators=(",", ":"))
    assert cfg.key() == hashlib.sha256(blob.encode()).hexdigest()[:16]
    if name == "lecture":
        assert cfg.key() == "044282aeee972996"              # the key its stored runs were saved under


def test_a_stored_config_without_the_new_fields_loads_as_the_rnn():
    cfg = PRESETS["lecture"]
    d = cfg.to_dict()
    for name in ("family", "arch", "layers", "heads", "ff", "positions", "max_positions"):
        del d["model"][name]
    loaded = RunConfig.from_dict(d)
    assert loaded == cfg and loaded.model.family == "rnn" and loaded.key() == cfg.key()


def test_transformer_fields_enter_the_key_when_set():
    cfg = PRESETS["lecture"]
    as_transformer = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, family="transformer"))
    more_heads = dataclasses.replace(as_transformer, model=dataclasses.replace(as_transformer.model, heads=8))
    assert len({cfg.key(), as_transformer.key(), more_heads.key()}) == 3
    assert RunConfig.from_dict(more_heads.to_dict()) == more_heads


def test_family_rnn_builds_the_unchanged_seq2seq():
    cfg = ModelConfig(emb=8, hidden=12)
    torch.manual_seed(3)
    ours = build_model(cfg, 15, 13)
    torch.manual_seed(3)
    plain = Seq2Seq(cfg, 15, 13)
    assert type(ours) is Seq2Seq
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), plain.state_dict().values()))


# ---- the model ----------------------------------------------------------------------------------

@pytest.mark.parametrize("arch,positions", CASES, ids=IDS)
def test_changing_a_later_target_word_changes_no_earlier_output(arch, positions):
    model = _model(arch, positions)
    src, src_len, tgt_in, _ = padded_batch()
    changed = tgt_in.clone()
    changed[:, 2] = 12
    with torch.no_grad():
        logits, weights = model(src, src_len, tgt_in)
        logits2, weights2 = model(src, src_len, changed)
    assert torch.equal(logits[:, :2], logits2[:, :2]) and torch.equal(weights[:, :2], weights2[:, :2])
    assert not torch.allclose(logits[:, 2:], logits2[:, 2:])


@pytest.mark.parametrize("arch,positions", CASES, ids=IDS)
def test_padding_further_changes_no_output_loss_or_weights(arch, positions):
    model = _model(arch, positions)
    src, src_len, tgt_in, tgt_out = padded_batch()
    with torch.no_grad():
        logits, weights = model(src, src_len, tgt_in)
        logits2, weights2 = model(_pad(src, 3), src_len, _pad(tgt_in, 2))
    T, S = tgt_in.shape[1], src.shape[1]
    assert torch.allclose(logits, logits2[:, :T], atol=1e-5)
    assert torch.allclose(token_loss(logits, tgt_out), token_loss(logits2, _pad(tgt_out, 2)), atol=1e-6)
    assert torch.allclose(weights, weights2[:, :T, :S], atol=1e-6)
    real = torch.arange(S + 3)[None, :] < src_len[:, None]                     # (B, S + 3)
    assert torch.all(weights2.masked_select(~real[:, None, :]) == 0)
    assert torch.allclose(weights2.sum(-1), torch.ones(3, T + 2), atol=1e-5)


@pytest.mark.parametrize("arch,positions", CASES, ids=IDS)
def test_step_by_step_decoding_matches_teacher_forcing(arch, positions):
    model = _model(arch, positions)
    src, src_len, tgt_in, _ = padded_batch()
    with torch.no_grad():
        logits, weights = model(src, src_len, tgt_in)
        enc = model.encode(src, src_len)
        state = model.decoder.init_state(enc)
        steps = []
        for t in range(tgt_in.size(1)):
            step_logits, state, step_weights = model.decoder.step(tgt_in[:, t], state, enc)
            steps.append((step_logits, step_weights))
    real = tgt_in != PAD_ID
    assert torch.allclose(torch.stack([s[0] for s in steps], 1)[real], logits[real], atol=1e-5)
    assert torch.allclose(torch.stack([s[1] for s in steps], 1)[real], weights[real], atol=1e-6)


@pytest.mark.parametrize("arch", ARCHS)
def test_the_same_seed_gives_the_same_model_and_training_step(arch):
    def one_step(seed):
        model = _model(arch, "rope", seed=seed, dropout=0.1).train()
        torch.manual_seed(seed)
        loss = train_step(model, Adam(model.parameters(), lr=1e-3), padded_batch(), clip=1.0)
        return loss.item(), [p.detach().clone() for p in model.parameters()]
    (loss_a, params_a), (loss_b, params_b), (loss_c, _) = one_step(1), one_step(1), one_step(2)
    assert loss_a == loss_b and all(torch.equal(a, b) for a, b in zip(params_a, params_b))
    assert loss_a != loss_c


@pytest.mark.parametrize("arch", ARCHS)
def test_dropout_comes_from_the_config(arch):
    model = _model(arch, "sinusoidal", dropout=0.5).train()
    src, src_len, tgt_in, _ = padded_batch()
    assert not torch.equal(model(src, src_len, tgt_in)[0], model(src, src_len, tgt_in)[0])
    model.eval()
    assert torch.equal(model(src, src_len, tgt_in)[0], model(src, src_len, tgt_in)[0])


def test_decoder_only_returns_target_positions_only_and_the_source_side_gets_no_loss_gradient():
    model = _model("decoder", "alibi")
    src, src_len, tgt_in, tgt_out = padded_batch()
    final = {}
    model.decoder.stack.norm.register_forward_hook(lambda m, i, out: final.update(states=out) or out.retain_grad())
    logits, _ = model(src, src_len, tgt_in)
    assert logits.shape == (3, tgt_in.size(1), 13)
    token_loss(logits, tgt_out).backward()
    grad = final["states"].grad                                                  # (B, S + T, D) packed rows
    _, target_index = pack(src, src_len, tgt_in, model.decoder.offset)
    for b in range(3):
        n = int(src_len[b])
        assert torch.all(grad[b, :n] == 0)                                       # source outputs: no loss
        real_targets = target_index[b][tgt_out[b] != PAD_ID]
        assert torch.all(grad[b, real_targets].abs().sum(-1) > 0)


@pytest.mark.parametrize("arch,positions", CASES, ids=IDS)
def test_gradients_reach_every_parameter(arch, positions):
    model = _model(arch, positions).train()
    src, src_len, tgt_in, tgt_out = padded_batch()
    token_loss(model(src, src_len, tgt_in)[0], tgt_out).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


@pytest.mark.parametrize("arch", ARCHS)
def test_attention_maps_hold_every_layer_and_head_and_the_drawn_map(arch):
    model = _model(arch, "t5", layers=3)
    src, src_len, tgt_in, _ = padded_batch()
    maps = model.attention_maps(src, src_len, tgt_in)
    B, S = src.shape
    T = tgt_in.size(1)
    assert len(maps.cross) == 3 and all(m.shape == (B, 2, T, S) for m in maps.cross)
    assert len(maps.decoder) == 3 and all(m.shape == (B, 2, T, T) for m in maps.decoder)
    assert len(maps.encoder) == (3 if arch == "encdec" else 0)
    assert all(m.shape == (B, 2, S, S) for m in maps.encoder)
    with torch.no_grad():
        assert torch.allclose(maps.weights(), model(src, src_len, tgt_in)[1], atol=1e-6)
    model.train()
    assert model(src, src_len, tgt_in)[1] is None                                # training skips the maps
    assert model(src, src_len, tgt_in, need_weights=True)[1].shape == (B, T, S)


@pytest.mark.parametrize("arch", ARCHS)
def test_greedy_and_beam_search_decode_both_archs(arch):
    model = _model(arch, "learned")
    src, src_len, _, _ = padded_batch()
    hyps = greedy(model, src, src_len, max_len=6)
    beams = beam_search(model, src, src_len, beam=1, max_len=6)
    wide = beam_search(model, src, src_len, beam=3, max_len=6)
    for b, (h, one, three) in enumerate(zip(hyps, beams, wide)):
        assert h.tokens == one.tokens and 1 <= len(three.tokens) <= 6
        for hyp in (h, one, three):
            assert hyp.weights.shape == (len(hyp.tokens), int(src_len[b]))
            assert torch.allclose(hyp.weights.sum(-1), torch.ones(len(hyp.tokens)), atol=1e-5)


def _reverse_task(n=24, seed=0):
    """n random sequences of 3-6 symbols (ids 4..11, shared by both sides) and their reversals."""
    g = torch.Generator().manual_seed(seed)
    rows = [torch.randint(4, 12, (int(torch.randint(3, 7, (1,), generator=g)),), generator=g) for _ in range(n)]
    src = torch.full((n, 6), PAD_ID)
    tgt = torch.full((n, 8), PAD_ID)
    for i, r in enumerate(rows):
        src[i, :len(r)] = r
        tgt[i, 0], tgt[i, 1:len(r) + 1], tgt[i, len(r) + 1] = BOS_ID, r.flip(0), EOS_ID
    return src, torch.tensor([len(r) for r in rows]), tgt[:, :-1], tgt[:, 1:], rows


@pytest.mark.parametrize("arch,positions", [("encdec", "sinusoidal"), ("decoder", "rope")])
def test_a_tiny_transformer_learns_to_reverse_a_few_sequences(arch, positions):
    torch.manual_seed(0)
    model = build_model(_cfg(arch, positions, hidden=32, heads=4, ff=64), 12, 12).train()
    src, src_len, tgt_in, tgt_out, rows = _reverse_task()
    optimizer = Adam(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    for _ in range(300):
        loss = train_step(model, optimizer, (src, src_len, tgt_in, tgt_out), clip=1.0)
    assert time.perf_counter() - start < 120                                     # a hang guard, not a timing
    hyps = greedy(model, src, src_len)
    correct = sum(h.tokens == r.flip(0).tolist() + [EOS_ID] for h, r in zip(hyps, rows))
    assert loss.item() < 0.1 and correct >= 22, (loss.item(), correct)
