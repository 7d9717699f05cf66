"""The pages' fixed texts (the equations of Home) and the lines they write about runs: counts, progress, time."""
from __future__ import annotations

import math
from typing import Mapping


# Equations shown on Home, one per variant (e_tj: score of source word j for output step t). The
# query q_t is the decoder state the score reads: s_t in the luong decoder (the presets' style),
# s_{t-1} in the bahdanau decoder, as in each paper; QUERY_NOTE says so under the equations.
EQUATIONS = {
    "none": r"c_t = h_{\mathrm{summary}} \quad\text{(the same vector at every output step } t\text{)}",
    "additive": r"e_{tj} = v^\top \tanh\left(W q_t + U h_j\right) \quad\text{(Bahdanau et al. 2015)}",
    "dot": r"e_{tj} = \frac{q_t^\top h_j}{\sqrt{d}} \quad\text{(Luong et al. 2015; scaled as in Vaswani et al. 2017)}",
    "general": r"e_{tj} = q_t^\top W h_j \quad\text{(Luong et al. 2015)}",
    "context": r"\alpha_{tj} = \frac{\exp(e_{tj})}{\sum_{k} \exp(e_{tk})}, \qquad c_t = \sum_j \alpha_{tj}\, h_j",
}
QUERY_NOTE = ("The query $q_t$ is a decoder state: the current one, $s_t$, in the Luong decoder (the presets' "
              "style), the previous one, $s_{t-1}$, in the Bahdanau decoder, as in each paper.")
STYLE_NOTES = {
    "luong": "Luong decoder: the score uses the current decoder state s_t, computed before the context.",
    "bahdanau": "Bahdanau decoder: the score uses the previous state s_{t-1}, and the context feeds the GRU.",
}


def store_line(counts: Mapping[str, int]) -> str:
    """The sidebar's line: how many runs are stored, training and queued. counts: runs per status
    (RunStore.status_counts, or status_counts of a run table)."""
    total = sum(counts.values())
    parts = [f"{total} run{'s' if total != 1 else ''} stored"]
    if counts.get("running"):
        parts.append(f"{counts['running']} training")
    if counts.get("queued"):
        parts.append(f"{counts['queued']} queued")
    if not counts.get("running") and not counts.get("queued"):
        parts.append("no jobs active")
    return " · ".join(parts)


def format_seconds(seconds) -> str:
    """12 s, 3 min 05 s, 1 h 02 min; '–' when unknown."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    seconds = max(0, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _number(value):
    """A store cell as a number, or None where it is empty (None, NaN, pd.NA)."""
    import pandas as pd  # loaded already: the cells come from a run table

    return None if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA else value


def progress_text(row: Mapping) -> str:
    """'additive seed 0 — epoch 2/8 · step 120/400 · ETA 12 s' for one row of store.runs()."""
    status = row.get("status")
    head = str(row.get("name"))
    if status == "queued":
        return f"{head} — queued"
    step, total = _number(row.get("step")), _number(row.get("total_steps"))
    epoch, epochs = _number(row.get("epoch")), _number(row.get("epochs"))
    parts = []
    if epochs:
        parts.append(f"epoch {int(epoch or 0)}/{int(epochs)}")
    if total:
        parts.append(f"step {int(step or 0)}/{int(total)}")
    if not parts:
        parts.append("starting (loading data)")
    elif step is not None and total and int(step) >= int(total):
        parts.append("evaluating on the test set")
    else:
        parts.append(f"ETA {format_seconds(_number(row.get('eta')))}")
    return f"{head} — " + " · ".join(parts)
