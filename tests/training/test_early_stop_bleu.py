"""Early stopping on validation BLEU (train.early_stop = "bleu"): what patience watches, and the weights kept."""
import pytest
import torch

from attn.config import ConfigError, DataConfig, ModelConfig, RunConfig, TrainConfig
from attn.training.experiment import build_model, prepare, run, validation_bleu
from attn.training.trainer import Trainer

DATA_CFG = DataConfig(task="reverse")


def _cfg(**train):
    settings = dict(epochs=2, batch=16, lr=1e-2, log_every=2)
    settings.update(train)
    return RunConfig(data=DATA_CFG, model=ModelConfig(variant="dot", emb=16, hidden=32),
                     train=TrainConfig(**settings), seed=0)


def test_bleu_without_patience_or_an_unknown_score_is_refused_naming_the_field():
    with pytest.raises(ConfigError, match="train.early_stop = 'bleu' needs train.patience"):
        TrainConfig(early_stop="bleu")
    with pytest.raises(ConfigError, match="train.early_stop"):
        TrainConfig(early_stop="chrf", patience=2)


def test_patience_watches_the_scorer_and_the_best_epochs_weights_are_kept(reverse_data):
    """BLEU of 10, 30, 20, 25, ... by epoch with patience 2: training ends after epoch 4 (two epochs
    without beating 30), and the model holds epoch 2's weights whatever the validation loss did."""
    prepared = prepare(DATA_CFG, reverse_data)
    cfg = _cfg(epochs=8, patience=2, early_stop="bleu", checkpoints=False)
    model = build_model(cfg, prepared)
    scores, weights = iter([10.0, 30.0, 20.0, 25.0, 40.0]), []

    def scorer(m):
        weights.append({k: v.clone() for k, v in m.state_dict().items()})
        return next(scores)

    trainer = Trainer(model, cfg.train, prepared.train, prepared.valid, seed=0, valid_bleu=scorer)
    result = trainer.fit()
    assert [e["valid_bleu"] for e in result.epochs] == [10.0, 30.0, 20.0, 25.0]
    assert result.best_epoch == 2
    kept = model.state_dict()
    assert all(torch.equal(kept[k], weights[1][k]) for k in kept)
    assert not all(torch.equal(kept[k], weights[3][k]) for k in kept)


def test_a_run_scores_its_validation_split_each_epoch_and_keeps_its_best(reverse_data):
    prepared = prepare(DATA_CFG, reverse_data)
    result = run(_cfg(epochs=4, patience=1, early_stop="bleu"), prepared)
    bleus = [e["valid_bleu"] for e in result.training.epochs]
    assert all(0.0 <= b <= 100.0 for b in bleus)
    assert result.training.best_epoch == 1 + bleus.index(max(bleus))
    # the kept weights score the best epoch's BLEU again
    assert validation_bleu(prepared)(result.model) == pytest.approx(max(bleus), abs=1e-9)


def test_under_the_default_no_bleu_is_computed(reverse_data):
    result = run(_cfg(epochs=1), prepare(DATA_CFG, reverse_data))
    assert result.training.epochs[0]["valid_bleu"] is None


def test_decoding_without_attention_gives_the_same_outputs_and_no_matrices(reverse_data):
    from attn.training.evaluate import decode_split
    prepared = prepare(DATA_CFG, reverse_data)
    model = run(_cfg(epochs=1), prepared).model
    args = (model, prepared.data.valid, prepared.valid, prepared.tgt_vocab, prepared.edges)
    full, lean = decode_split(*args), decode_split(*args, attention=False)
    assert [d.hyp for d in lean] == [d.hyp for d in full] and [d.bucket for d in lean] == [d.bucket for d in full]
    assert all(d.weights is None and d.forced is None for d in lean)
    assert any(d.weights is not None for d in full)
