"""The names every layer shares, importable without torch, pandas or Streamlit.

One list of metrics, defined once: evaluation computes them, the store keeps a column per metric, and
charts and pages label them from here.
"""
from __future__ import annotations

METRICS = ("bleu", "chrf", "exact", "token_acc", "align", "aer")
METRIC_LABELS = {"bleu": "BLEU", "chrf": "chrF", "exact": "exact match (%)", "token_acc": "token accuracy (%)",
                 "align": "alignment score (%)", "aer": "AER (%)"}
