"""Training and evaluation: one run from a config to its result.

    trainer     Trainer (events to callbacks), train_step, set_seed
    optim       Adam as one fused call per step
    events      TrainEvent, torch-free so a process can show progress without importing torch
    evaluate    test decodes, BLEU / chrF / exact match / token accuracy / alignment per bucket
    experiment  prepare the data, build, train and evaluate one run: RunResult
    checkpoints thinning to at most 50 checkpoints, probe maps as float16, probe choice and checks (torch-free)
    checkpointing  Checkpointer: BLEU by length bucket on a validation sample + probe maps, while training
    bench       throughput of the training step

May import: attn.config, attn.records, attn.data, attn.nn.
"""
