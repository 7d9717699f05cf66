"""Comparable runs: those trained with the same settings but for variant and seed form one comparison group.

The Compare, Curves and Attention pages (and `python -m attn figures --runs latest`) pick a group, then
the newest run of each variant x seed in it.
"""
from __future__ import annotations

import hashlib
import json
from typing import Mapping, Sequence

import pandas as pd

from attn.config import MODEL_ORDER


def in_model_order(labels) -> list[str]:
    """The distinct labels in MODEL_ORDER, any others after them, sorted."""
    seen = set(labels)
    return [v for v in MODEL_ORDER if v in seen] + sorted(seen - set(MODEL_ORDER))


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
        label = f"{comparison_label(first['task'], configs[first['id']])} · {seeds_per_model(group)}"
        rows.append({"key": key, "label": label,
                     "variants": in_model_order(present),
                     "seeds": sorted(int(s) for s in set(group["seed"])), "runs": len(group),
                     "finished": group["finished"].max(), "style": first["style"], "task": first["task"]})
    return pd.DataFrame(rows, columns=columns).sort_values("finished", ascending=False, kind="stable",
                                                           na_position="last").reset_index(drop=True)


def seeds_per_model(runs: pd.DataFrame) -> str:
    """'3 seeds each' when every model has the same seeds, else the count per model in MODEL_ORDER:
    'seeds per model: none 2, additive 2, dot 1' (a label must not claim a mean over seeds a model lacks)."""
    if runs.empty:
        return "no runs"
    counts = runs.groupby("variant")["seed"].nunique()
    if counts.nunique() == 1:
        n = int(counts.iloc[0])
        return "1 seed" if n == 1 else f"{n} seeds each"
    return "seeds per model: " + ", ".join(f"{v} {int(counts[v])}" for v in in_model_order(counts.index))


def latest_runs(runs: pd.DataFrame, configs: Mapping[str, Mapping], key: str,
                seed: int | None = None) -> list[str]:
    """The newest done run of each variant x seed in comparison group `key` (one seed if given)."""
    if runs.empty:
        return []
    done = with_groups(runs, configs)
    return newest_per_model(done[done["group"] == key], seed)


def newest_per_model(runs: pd.DataFrame, seed: int | None = None) -> list[str]:
    """Ids of the newest run of each model label x seed among `runs` (one seed if given), in MODEL_ORDER."""
    if runs.empty:
        return []
    done = runs if seed is None else runs[runs["seed"] == seed]
    done = done.sort_values("finished", ascending=False, kind="stable").drop_duplicates(["variant", "seed"])
    order = {v: i for i, v in enumerate(MODEL_ORDER)}
    done = done.assign(_o=done["variant"].map(lambda v: order.get(v, len(order)))).sort_values(["_o", "seed"])
    return list(done["id"])


# ------------------------------------------------------------------ studies beside settings groups

STUDY_PREFIX = "study-"   # a picker option "study-<id>" is a study (store.study), any other a comparison key


def study_option(study_id: str) -> str:
    return STUDY_PREFIX + study_id


def study_of(option: str | None) -> str | None:
    """The study id of a picker option, None for a comparison group."""
    return option[len(STUDY_PREFIX):] if option and option.startswith(STUDY_PREFIX) else None


def study_label(name: str, created: str, runs: pd.DataFrame) -> str:
    """'Lecture demo · 2026-12-01 00:12 · none, additive, dot · 1 seed' for a picker; runs: its done runs."""
    models = in_model_order(runs["variant"])
    shown = ", ".join(models[:5]) + (f" and {len(models) - 5} more" if len(models) > 5 else "")
    return f"{name} · {str(created)[:16].replace('T', ' ')} · {shown} · {seeds_per_model(runs)}"


def default_choice(options: Sequence[str], url: str | None = None, queued: str | None = None,
                   lecture: str | None = None) -> str | None:
    """Which comparison a page opens on: the one in the URL, else the study this visitor just queued,
    else the newest lecture study, else the first option (the newest group) -- never simply whatever
    anyone trained last, so a student's run cannot change what the projector shows.

    options: picker options (comparison keys and study options); queued, lecture: study ids or None.
    """
    for candidate in (url, queued and study_option(queued), lecture and study_option(lecture)):
        if candidate and candidate in options:
            return candidate
    return options[0] if len(options) else None
