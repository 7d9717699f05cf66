"""Runs kept and trained: the store, the one runner, and what plans runs.

    store      RunStore = RunWriter (writing) + RunReader (reading) over one SQLite database (schema)
    processes  process tokens: whether the process that owns a run is still alive
    version    code_version: the hash of what computes a run (cache key part)
    runner     JobRunner: the one runner for the pages and the CLI (cache, queue, cancel, crash recovery)
    workers    the worker side: a fork server's processes that train one run each
    plans      run configs from form values; form ranges read from attn.config's checks
    estimate   wall time of a set of runs, from measured throughput on this machine
    speed      that throughput measured: a short real run in a subprocess, cached beside the store
    settings   the shared server's settings from the environment
    executors  make_runner: the local JobRunner, or RayRunner with ATTN_EXECUTOR=ray
    ray_runner RayRunner: each run a Ray task streaming its events (through a queue actor on Ray
               Client); the server alone writes the store
    ray_cluster  joining the cluster ATTN_RAY_ADDRESS names, or saying why it cannot be joined
    checkpoint_store  checkpoints while training (BLEU by bucket, probe maps), thinned, mixed into RunStore
    studies    the runs one click queued (lecture and length demos, CLI commands, sweeps)
    sweep      grids of configs (variants x seeds x any field's values), the capacity preset

May import: attn.config, attn.records, attn.data, attn.nn, attn.training (the runner's workers train).
Never Streamlit.
"""
