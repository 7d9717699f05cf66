"""attn.config: model labels and their canonical order (other settings are tested where they are used)."""
import dataclasses

import pytest

from attn.config import (LENGTH_TRANSFORMER, MODEL_ORDER, POSITIONS, VARIANTS, ConfigError, ModelConfig,
                         length_configs, model_label)


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_rnn_is_labelled_by_its_attention_variant(variant):
    assert ModelConfig(variant=variant).label == variant


@pytest.mark.parametrize("arch, positions, label", [
    ("decoder", "alibi", "dec·alibi"), ("decoder", "none", "dec·nope"), ("encdec", "rope", "encdec·rope"),
    ("encdec", "sinusoidal", "encdec·sinusoidal")])
def test_a_transformer_is_labelled_by_its_architecture_and_positions_with_none_written_nope(arch, positions, label):
    model = ModelConfig(family="transformer", arch=arch, positions=positions, variant="additive")
    assert model.label == label


def test_the_model_order_is_the_rnns_then_decoders_then_encoder_decoders_each_in_positions_order():
    names = [p if p != "none" else "nope" for p in POSITIONS]
    assert MODEL_ORDER == (*VARIANTS, *(f"dec·{p}" for p in names), *(f"encdec·{p}" for p in names))
    assert len(set(MODEL_ORDER)) == len(MODEL_ORDER)


def test_every_model_that_can_be_configured_has_its_label_in_the_model_order():
    labels = [ModelConfig(variant=v).label for v in VARIANTS]
    for arch in ("decoder", "encdec"):
        for positions in POSITIONS:
            try:
                labels.append(ModelConfig(family="transformer", arch=arch, positions=positions).label)
            except ConfigError:  # NoPE needs a causal stack
                assert (arch, positions) == ("encdec", "none")
    assert set(labels) <= set(MODEL_ORDER) and [m for m in MODEL_ORDER if m in labels] == labels


def test_the_length_preset_has_one_label_per_model():
    labels = [cfg.model.label for cfg in length_configs(seeds=(0,))]
    assert labels == ["none", "additive", "dot", "dec·sinusoidal", "dec·learned", "dec·rope", "dec·alibi",
                      "dec·t5", "dec·nope"]


def test_a_stored_config_dict_without_the_transformer_fields_is_labelled_as_an_rnn():
    assert model_label(variant="dot") == "dot"
    stored = dataclasses.asdict(dataclasses.replace(LENGTH_TRANSFORMER, positions="t5"))
    assert model_label(**{k: stored[k] for k in ("family", "variant", "arch", "positions")}) == "dec·t5"
