"""The Playground's positional-encodings panel: each encoding's term in one query's scores, as small
multiples. (Its masks and editable matrices are in attn.viz.matrices.)"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import pandas as pd

from attn.viz.theme import VARIANT_COLORS, Theme, inline_data, require_columns, styled, theme

# ------------------------------------------------------------------ the positional-encodings panel

POSITION_PANELS = ("sinusoidal", "learned", "rope", "alibi", "t5", "none")  # attn.nn.position_view.ENCODINGS
PANEL_TITLES = {"sinusoidal": "sinusoidal", "learned": "learned absolute", "rope": "RoPE", "alibi": "ALiBi",
                "t5": "T5 relative bias", "none": "NoPE (none)"}


def trained_table_runs(configs: dict[str, dict]) -> dict[str, dict]:
    """Of {run id: config dict}, the Transformer runs whose encoding has a table it learns (learned, t5)."""
    return {rid: cfg for rid, cfg in configs.items()
            if cfg["model"].get("family") == "transformer" and cfg["model"].get("positions") in ("learned", "t5")}


def position_notes(query: int, last_key: int, max_positions: int, causal: bool = False,
                   trained: Sequence[str] = (), slopes: Sequence[float] = ()) -> dict[str, str]:
    """One line per panel saying what is drawn (and what is not), in the words of attn.nn.positions."""
    rows = (f"no row past {max_positions - 1}; the model reuses row {max_positions - 1} for every later position"
            if max_positions <= last_key else f"a row for each of 0..{max_positions - 1}")
    if query >= max_positions:
        rows = f"query {query} has no row (table: 0..{max_positions - 1}); the model reuses row {max_positions - 1} for it"
    learned = ("trained table, " if "learned" in trained else "fresh table (untrained noise), ") + rows
    t5 = ("trained table: one line per head" if "t5" in trained else
          "bucket index of j−i: a fresh table is all zeros, so this is the structure it learns on")
    slope_text = ", ".join(f"{m:g}" for m in slopes)
    notes = {"sinusoidal": "depends only on i−j; largest at j = i",
             "learned": learned,
             "rope": "depends only on i−j; its envelope shrinks with distance",
             "alibi": "one slope per head" + (f": m = {slope_text}" if slope_text else ""),
             "t5": t5,
             "none": "no position term: flat 0"}
    if causal:
        notes = {k: v + "; keys j > i masked" for k, v in notes.items()}
    return notes


def _position_panel(rows: pd.DataFrame, encoding: str, query: int, last_key: int, note: str, th: Theme,
                    panel_width: int, max_positions: int | None) -> alt.LayerChart:
    """One encoding's curve (a line per head), the query's position, and for a learned table its end."""
    quantity = str(rows["quantity"].iloc[0]) if len(rows) else ""
    drawn = rows.dropna(subset=["value"])
    x = alt.X("key:Q", title="key position j", scale=alt.Scale(domain=[0, max(last_key, 1)], nice=False))
    base = alt.Chart(inline_data(drawn))
    heads = drawn["head"].nunique() > 1
    color = (alt.Color("head:O", title="head", scale=alt.Scale(scheme="dark2"),
                       legend=alt.Legend(orient="right", symbolType="stroke", symbolStrokeWidth=th.line))
             if heads else alt.value(VARIANT_COLORS["dec·" + ("nope" if encoding == "none" else encoding)]))
    tooltip = [alt.Tooltip("key:Q", title="j"), alt.Tooltip("head:O"), alt.Tooltip("value:Q", format=".4g")]
    step = "step" if quantity.startswith("bucket") else "linear"
    layers = [base.mark_line(interpolate=step, strokeWidth=th.line)
              .encode(x=x, y=alt.Y("value:Q", title=quantity), color=color, detail="head:O", tooltip=tooltip)]
    marks = pd.DataFrame({"key": [query], "label": [f"query i = {query}"]})
    layers.append(alt.Chart(inline_data(marks)).mark_rule(color="gray", strokeDash=[4, 3]).encode(x="key:Q"))
    if encoding == "learned" and max_positions is not None and max_positions <= last_key:
        end = pd.DataFrame({"key": [max_positions - 0.5], "label": [f"no row past {max_positions - 1}"]})
        end_chart = alt.Chart(inline_data(end))
        layers += [end_chart.mark_rule(color="#D55E00", strokeWidth=max(1.0, th.line / 2)).encode(x="key:Q"),
                   end_chart.mark_text(align="left", baseline="top", dx=4, dy=4, fontSize=th.label, color="#D55E00")
                   .encode(x="key:Q", y=alt.value(0), text="label:N")]
    if drawn.empty:
        layers.append(alt.Chart(inline_data(pd.DataFrame({"text": ["nothing to draw: no row"]})))
                      .mark_text(fontSize=th.text, color="gray")
                      .encode(text="text:N", x=alt.value(panel_width / 2), y=alt.value(th.height * 0.45)))
    return alt.layer(*layers).properties(
        width=panel_width, height=int(th.height * 0.6),
        # one subtitle line per clause, so a long note wraps instead of widening its column
        title=alt.TitleParams(PANEL_TITLES[encoding], subtitle=[line for line in note.split("; ") if line] or "",
                              anchor="start"))


def position_effects_chart(df: pd.DataFrame, query: int, style: str = "screen", notes: dict | None = None,
                           max_positions: int | None = None):
    """Each positional encoding's term in the score of the query at position `query` over key positions
    0..N, as small multiples (two columns on screen, three on a slide).

    df: attn.nn.position_view.position_effects (encoding, quantity, head, key, value; NaN = masked or no
    row). notes: a subtitle per panel (`position_notes`). max_positions: the learned table's rows, whose
    end is drawn when keys reach past it. Each panel keeps its own y scale: the quantities differ.
    """
    require_columns(df, ["encoding", "quantity", "head", "key", "value"], "position_effects_chart")
    th = theme(style)
    last_key = int(df["key"].max())
    if not 0 <= query <= last_key:
        raise ValueError(f"position_effects_chart: query = {query} must lie among the keys 0..{last_key}")
    notes = notes or {}
    columns = 3 if style == "slide" else 2
    panel_width = int(th.width / 3) if style == "slide" else int(th.width * 0.55)
    panels = [_position_panel(df[df["encoding"] == e], e, query, last_key, notes.get(e, ""), th, panel_width,
                              max_positions)
              for e in POSITION_PANELS if (df["encoding"] == e).any()]
    chart = (alt.concat(*panels, columns=columns, spacing=24)
             .resolve_scale(y="independent", color="independent")
             .properties(title=alt.TitleParams(f"What each encoding adds to the score of query i = {query}",
                                               subtitle="over key positions j = 0.." + str(last_key))))
    return styled(chart, style)
