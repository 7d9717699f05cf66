"""Comparable runs: those trained with the same settings but for variant and seed form one comparison group.

The Compare, Curves and Attention pages (and `python -m attn figures --runs latest`) pick a group, then
the newest run of each variant x seed in it.
"""
from __future__ import annotations

import hashlib
import json
from typing import Mapping

import pandas as pd

from attn.config import VARIANTS


def comparison_key(config: Mapping) -> str:
    """Hash of a run's config without its variant and seed: runs with equal keys are comparable."""
    cfg = json.loads(json.dumps(config))
    cfg.get("model", {}).pop("variant", None)
    cfg.pop("seed", None)
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]


def comparison_label(task: str, config: Mapping) -> str:
    """'reverse · 2,000 pairs · luong · emb 32 · hidden 64 · 8 epochs · lr 0.003 · #3f9a0c': a group for a picker."""
    m, t, d = config.get("model", {}), config.get("train", {}), config.get("data", {})
    size = f"{d.get('n_train', '?'):,} pairs · " if not d.get("corpus") else ""
    return (f"{task} · {size}{m.get('style')} · emb {m.get('emb')} · hidden {m.get('hidden')} · "
            f"{t.get('epochs')} epochs · lr {t.get('lr'):g} · #{comparison_key(config)[:6]}")


def with_groups(runs: pd.DataFrame, configs: Mapping[str, Mapping]) -> pd.DataFrame:
    """The done runs among `runs` that have a config, with their comparison key in a `group` column.

    Hashing 200 configs takes milliseconds, so a page computes this once per store version and hands
    the result to `comparison_groups` and `latest_runs`, which then keep its `group` column.
    """
    done = runs[(runs["status"] == "done") & runs["id"].isin(list(configs))] if len(runs) else runs
    if "group" in done.columns:
        return done
    if done.empty:
        return done.assign(group=pd.Series(dtype=object))
    return done.assign(group=[comparison_key(configs[i]) for i in done["id"]])


def comparison_groups(runs: pd.DataFrame, configs: Mapping[str, Mapping]) -> pd.DataFrame:
    """Done runs grouped by comparison key, newest group first.

    runs: store.runs() rows (id, task, variant, seed, status, finished), or `with_groups` of them;
    configs: run id -> config dict. Returns key, label, variants (fixed order), seeds, runs (count),
    finished (latest).
    """
    columns = ["key", "label", "variants", "seeds", "runs", "finished", "style", "task"]
    done = with_groups(runs, configs)
    if done.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for key, group in done.groupby("group", sort=False):
        first = group.iloc[0]
        present = set(group["variant"])
        rows.append({"key": key, "label": comparison_label(first["task"], configs[first["id"]]),
                     "variants": [v for v in VARIANTS if v in present] + sorted(present - set(VARIANTS)),
                     "seeds": sorted(int(s) for s in set(group["seed"])), "runs": len(group),
                     "finished": group["finished"].max(), "style": first["style"], "task": first["task"]})
    return pd.DataFrame(rows, columns=columns).sort_values("finished", ascending=False, kind="stable",
                                                           na_position="last").reset_index(drop=True)


def latest_runs(runs: pd.DataFrame, configs: Mapping[str, Mapping], key: str,
                seed: int | None = None) -> list[str]:
    """The newest done run of each variant x seed in comparison group `key` (one seed if given)."""
    if runs.empty:
        return []
    done = with_groups(runs, configs)
    done = done[done["group"] == key]
    if seed is not None:
        done = done[done["seed"] == seed]
    done = done.sort_values("finished", ascending=False, kind="stable").drop_duplicates(["variant", "seed"])
    order = {v: i for i, v in enumerate(VARIANTS)}
    done = done.assign(_o=done["variant"].map(lambda v: order.get(v, len(order)))).sort_values(["_o", "seed"])
    return list(done["id"])
