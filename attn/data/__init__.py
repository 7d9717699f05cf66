"""The data layer: what a model reads, from a generated task or an imported corpus. No torch except
`batching`.

    pairs      Pair, ParallelData, splits, bucket edges (run_edges: the one rule for a run's buckets)
    text       tokenizers, Vocab, the special tokens (PAD_ID, BOS_ID, EOS_ID, UNK)
    normalize  a typed sentence read the way the task writes its sources
    files      a corpus file's bytes to lines (size limits, gzip, encodings, CorpusError)
    corpus     an imported corpus's lines to pairs (TSV or two parallel files)
    tasks/     generated tasks with gold alignments: toy-fr, reverse, dates, copy, sort, addition
    load       load_data(DataConfig): whichever of the two a config names; check_subwords, corpus_name
    subwords   SentencePiece BPE/unigram models per side, cached in the store; attention merged per word
    scoring    sacrebleu's BLEU and chrF settings and signatures (torch-free)
    batching   pairs to padded tensors and length-sorted batches

May import: attn.config, attn.records. `pairs` and `text` import nothing of their neighbours; `load`
sits above `corpus` and `tasks`, so the package has no import circle.
"""
