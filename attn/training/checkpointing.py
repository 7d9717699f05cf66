"""What a run measures at a checkpoint while it trains: BLEU by length bucket and the probe maps.

    checkpointer = Checkpointer(prepared, cfg.data, probe="")  # picks the sample and the probes, before training
    checkpointer(model, step, epoch, seconds) -> Checkpoint

The bucket metrics are the finished run's (evaluate.bucket_table: greedy decodes, BLEU, chrF, exact
match, token accuracy, alignment) on a fixed sample of the validation split: at most SAMPLE_PER_BUCKET
sentences per length bucket, the first of each bucket in the split's order, so every checkpoint scores the
same sentences and a checkpoint costs little (the trainer spends at most BUDGET of training time on them).

The probes are one validation sentence per bucket (checkpoints.choose_probes), their attention read under
teacher forcing (rows = the reference words), exactly as evaluation reads a test sentence's `forced`; or
the sentence typed on the Train page (TrainConfig.probe), which has no reference, so its rows are the
model's own greedy output at that checkpoint (its last row the </s> step, as on the Attention page).
"""
from __future__ import annotations

from attn.config import ConfigError
from attn.data.batching import tensorize
from attn.data.pairs import bucket_of
from attn.records import BucketRow, BucketScore, Checkpoint, ProbeMap
from attn.training.checkpoints import check_probe, choose_probes, probe_attention
from attn.data.text import UNK
from attn.nn.decode import greedy
from attn.training.evaluate import alignment_scores, attention_matrix, bucket_table, decode_split

SAMPLE_PER_BUCKET = 16  # validation sentences scored per length bucket at every checkpoint
BUDGET = 0.04           # share of training time the trainer spends on checkpoints between epoch ends (issue 13: the
                        # whole demo may slow by at most 10 %; at 0.05 it measured +10.3 % on a quiet machine)


class Checkpointer:
    """Measures one run at its checkpoints; built from the run's Prepared data before training starts
    (a bad typed probe is refused then, naming train.probe)."""

    def __init__(self, prepared, data_config, probe: str = "", device="cpu"):
        self.prepared, self.device = prepared, device
        data, valid = prepared.data, prepared.data.valid
        words = [len(p.src) for p in prepared.word_data.valid]                     # bucket by source words
        chosen, per_bucket = [], {}
        for i, n_words in enumerate(words):
            k = bucket_of(n_words, prepared.edges)
            if k is not None and per_bucket.get(k, 0) < SAMPLE_PER_BUCKET:
                per_bucket[k] = per_bucket.get(k, 0) + 1
                chosen.append(i)
        self.sample = [valid[i] for i in chosen]
        self.sample_words = [words[i] for i in chosen]
        self.sample_split = tensorize(self.sample, prepared.src_vocab, prepared.tgt_vocab)
        self.scorers: dict = {}  # each bucket's references, tokenized by sacrebleu at the first checkpoint only
        self.typed = None
        if probe:
            if prepared.subwords is not None:
                raise ConfigError(f"train.probe: a typed probe needs word or character data; this run reads "
                                  f"{prepared.subwords.kind} subwords, so leave train.probe empty")
            self.typed = check_probe(probe, data_config, prepared.src_vocab)
            self.probes = []
        else:
            self.probes = [valid[i] for i in choose_probes(prepared.word_data.valid, prepared.edges)]
        self.probe_split = tensorize(self.probes, prepared.src_vocab, prepared.tgt_vocab) if self.probes else None
        self.gold = data.has_gold and prepared.subwords is None and all(p.align is not None for p in self.probes)

    def __call__(self, model, step: int, epoch: float, seconds: float, evaluate: bool = True) -> Checkpoint:
        """The checkpoint of `model` now; evaluate=False leaves the bucket metrics out (the step-0 one: an
        untrained model's greedy decodes run to the length limit, slowly, and score about 0)."""
        was_training = model.training
        try:
            buckets = self.bucket_scores(model) if evaluate else ()
            probes = self.probe_maps(model)
        finally:
            model.train(was_training)
        return Checkpoint(step, epoch, seconds, buckets, probes)

    def bucket_scores(self, model) -> tuple[BucketScore, ...]:
        prepared = self.prepared
        decodes = decode_split(model, self.sample, self.sample_split, prepared.tgt_vocab, prepared.edges,
                               device=self.device, src_words=self.sample_words)
        table = bucket_table(decodes, prepared.data, prepared.edges, prepared.detok, pairs=self.sample,
                             scorers=self.scorers)
        return tuple(BucketScore.from_row(BucketRow.from_values(row)) for row in table.to_dict("records"))

    def probe_maps(self, model) -> tuple[ProbeMap, ...]:
        if self.typed is not None:
            return (self.typed_map(model),)
        maps = probe_attention(model, self.probe_split, self.device) if self.probes else None
        out = []
        for i, pair in enumerate(self.probes):
            weights = None if maps is None else maps[i]                                # (T_ref, S) | None
            out.append(ProbeMap(pair.src, pair.tgt, weights, self._alignment(weights, pair.align)))
        return tuple(out)

    def typed_map(self, model) -> ProbeMap:
        """The typed probe's greedy output and its attention (T, S), as evaluate.translate computes it; the
        rows are every output id as its token (</s> included, and the <pad> or <s> an untrained model may
        emit, which a translation's text leaves out), so each row of the map has its label."""
        import torch
        src_vocab, tgt_vocab = self.prepared.src_vocab, self.prepared.tgt_vocab
        ids = src_vocab.encode(list(self.typed.tokens))
        src = torch.tensor([ids], dtype=torch.long, device=self.device)                    # (1, S)
        src_len = torch.tensor([len(ids)], dtype=torch.long, device=self.device)
        with torch.no_grad():
            (hyp,) = greedy(model, src, src_len)
        rows = [tgt_vocab.itos[i] if 0 <= i < len(tgt_vocab) else UNK for i in hyp.tokens]
        return ProbeMap(self.typed.tokens, rows, attention_matrix(hyp.weights))          # (T, S) | None

    def _alignment(self, weights, gold) -> float | None:
        """Share of the rows with a gold link whose highest weight is on a gold-aligned source word."""
        if weights is None or not self.gold:
            return None
        hits, scored, _, _ = alignment_scores(weights, gold)
        return hits / scored if scored else None

