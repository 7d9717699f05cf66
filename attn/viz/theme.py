"""What every chart shares: the variant colours, the two styles, and the helpers builders are made of.

Styles: `"screen"` (the dashboard: default fonts, no background so light and dark themes both work)
and `"slide"` (white background, large fonts, thick lines, sized for a 16:9 slide). A builder reads
its sizes from `theme(style)` and applies the fonts once, with `styled`, on the finished chart.

Model colours come from the Okabe-Ito palette (Okabe & Ito 2008, safe for colour-blind readers), then
Paul Tol's "muted" one, and are defined once, in `VARIANT_COLORS`, for every model label in
attn.config.MODEL_ORDER; `variant_scale()` pins them to that order, so a model has the same colour on
every chart and page. `family_dash()` draws the Transformers dashed beside the solid RNNs.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Sequence

import altair as alt
from altair.utils.schemapi import debug_mode
import pandas as pd

from attn.config import MODEL_ORDER

VARIANT_ORDER = MODEL_ORDER  # every model label (attn.config.MODEL_ORDER): RNNs, then the Transformers
# One colour per model label, fixed. The RNNs keep the Okabe-Ito colours the lecture figures always had;
# the decoder-only Transformers take the rest of Okabe-Ito (but its yellow #F0E442: 1.3:1 against a white
# slide), then Paul Tol's "muted" palette (also safe for colour-blind readers), which colours the
# encoder-decoders. RNN and Transformer are told apart by dashes as well (`family_dash`), not colour alone.
VARIANT_COLORS = {"none": "#D55E00",      # vermillion: the baseline without attention
                  "additive": "#0072B2",  # blue
                  "dot": "#E69F00",       # orange
                  "general": "#009E73",   # bluish green
                  "dec·sinusoidal": "#56B4E9",  # sky blue
                  "dec·learned": "#CC79A7",     # reddish purple
                  "dec·rope": "#000000",        # black
                  "dec·alibi": "#882255",       # Tol wine
                  "dec·t5": "#44AA99",          # Tol teal
                  "dec·nope": "#999933",        # Tol olive
                  "encdec·sinusoidal": "#332288",  # Tol indigo
                  "encdec·learned": "#AA4499",     # Tol purple
                  "encdec·rope": "#117733",        # Tol green
                  "encdec·alibi": "#CC6677",       # Tol rose
                  "encdec·t5": "#009988",          # Tol vibrant teal (Tol muted's cyan is too pale)
                  "encdec·nope": "#DDCC77"}        # Tol sand (a label no config can have: NoPE needs a decoder)
# Names outside VARIANT_ORDER (e.g. an experiment's own label) get these, in order seen.
SPARE_COLORS = ("#F0E442", "#BBBBBB", "#663333", "#997700")
# Stroke dashes, [dash, gap] in px: RNNs solid, decoder-only Transformers dashed, encoder-decoders dotted.
FAMILY_DASHES = {"rnn": [1, 0], "dec": [8, 4], "encdec": [2, 3]}
PLAYGROUND_COLORS = {"scaled (÷√d)": "#56B4E9", "unscaled": "#CC79A7"}  # not variant colours
GOLD_COLOR = "#D55E00"
BAR_COLOR = "#8A9AAB"
# Attention weights: white (0) to dark blue (1), a single-hue ramp (Vega's "blues" stops, led by white so
# that zero weight reads as empty); lightness alone carries the value, for every kind of colour vision.
HEATMAP_DOMAIN = [0.0, 0.05, 0.25, 0.5, 0.75, 1.0]
HEATMAP_RANGE = ["#ffffff", "#cfe1f2", "#93c4de", "#4a98c9", "#1764ab", "#08306b"]
DIVERGING_SCHEME = "blueorange"  # for signed matrices (Q, K, V) in the Playground
STYLES = ("screen", "slide")


@dataclass(frozen=True)
class Theme:
    """Sizes of one style; `styled` applies the fonts, builders read the sizes."""

    width: int              # data area of a single chart, px
    height: int
    title: int              # font sizes
    subtitle: int
    label: int              # axis / legend / header labels
    axis_title: int
    text: int               # text marks drawn inside a chart
    line: float             # stroke width of lines
    point: int              # area of point marks
    cell_min: int           # heatmap cell size bounds (px); cell_min fits one line of label text
    cell_max: int
    label_limit: int        # longest tick label before it is cut with an ellipsis, px


THEMES = {
    "screen": Theme(width=520, height=300, title=15, subtitle=12, label=11, axis_title=12, text=12,
                    line=2.0, point=40, cell_min=15, cell_max=36, label_limit=110),
    "slide": Theme(width=1000, height=470, title=22, subtitle=16, label=16, axis_title=18, text=16,
                   line=4.0, point=130, cell_min=21, cell_max=56, label_limit=170),
}


def theme(style: str) -> Theme:
    """The sizes of `style`; an unknown style is an error naming the valid ones."""
    if style not in THEMES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    return THEMES[style]


def styled(chart, style: str):
    """The one place fonts, strokes and background are set, for every builder.

    One .configure() call: every configure_*() call copies the chart, and copying a layered or
    faceted chart re-runs Altair's merging of its sub-charts (~15 ms each for the loss charts).
    """
    th = theme(style)
    slide = {"background": "white", "padding": 20} if style == "slide" else {}
    return chart.configure(
        **slide,
        title=alt.TitleConfig(fontSize=th.title, subtitleFontSize=th.subtitle, anchor="start", offset=10),
        axis=alt.AxisConfig(labelFontSize=th.label, titleFontSize=th.axis_title, titlePadding=8),
        legend=alt.LegendConfig(labelFontSize=th.label, titleFontSize=th.axis_title, symbolSize=th.point * 2,
                                symbolStrokeWidth=th.line, labelLimit=th.label_limit * 2),
        header=alt.HeaderConfig(labelFontSize=th.axis_title, titleFontSize=th.axis_title),
        line=alt.LineConfig(strokeWidth=th.line),
        rule=alt.MarkConfig(strokeWidth=max(1.0, th.line / 2)),
        point=alt.MarkConfig(size=th.point))


def variant_scale(variants: Iterable[str] = ()) -> alt.Scale:
    """Colour scale over every model label in MODEL_ORDER, always in that order and the same colours.

    Names not among them (passed in `variants`) are appended with spare colours.
    """
    extra = [v for v in dict.fromkeys(variants) if v not in VARIANT_COLORS]
    domain = list(VARIANT_ORDER) + extra
    spare = [SPARE_COLORS[i % len(SPARE_COLORS)] for i in range(len(extra))]
    return alt.Scale(domain=domain, range=[VARIANT_COLORS[v] for v in VARIANT_ORDER] + spare)


def present(variants: Iterable[str]) -> list[str]:
    """Labels that occur, in MODEL_ORDER (unknown names last, in order seen)."""
    seen = list(dict.fromkeys(variants))
    return [v for v in VARIANT_ORDER if v in seen] + [v for v in seen if v not in VARIANT_COLORS]


def variant_color(variants: Sequence[str], title: str | None = "attention") -> alt.Color:
    """The colour channel `variant:N` with the fixed scale; the legend lists only the variants drawn."""
    shown = present(variants)
    return alt.Color("variant:N", scale=variant_scale(shown), sort=list(variant_scale(shown).domain),
                     legend=alt.Legend(title=title, values=shown, symbolOpacity=1))  # opaque even beside a pale band


def dash_of(label: str) -> list[int]:
    """The stroke dash of a model label: solid for an RNN (and a name outside MODEL_ORDER), dashed for a
    decoder-only Transformer ("dec·..."), dotted for an encoder-decoder ("encdec·...")."""
    if label not in VARIANT_COLORS or "·" not in label:
        return FAMILY_DASHES["rnn"]
    return FAMILY_DASHES[label.split("·")[0]]


def family_dash(variants: Sequence[str], title: str | None = "attention") -> alt.StrokeDash:
    """The strokeDash channel `variant:N`: Transformers dashed, RNNs solid. Add it beside `variant_color`
    with the same `variants` and `title`: both scales have the same domain, so Vega-Lite draws one legend
    whose symbols show each line's colour and dash."""
    shown = present(variants)
    domain = list(variant_scale(shown).domain)
    return alt.StrokeDash("variant:N", scale=alt.Scale(domain=domain, range=[dash_of(v) for v in domain]),
                          sort=domain, legend=alt.Legend(title=title, values=shown))


def rows_json(df: pd.DataFrame) -> list[dict]:
    """The rows of a frame as the charts inline them (NaN -> null, 6 significant digits)."""
    return json.loads(df.to_json(orient="records", double_precision=6))


def inline_data(df: pd.DataFrame) -> alt.InlineData:
    """Inline values through pandas' JSON writer: NaN -> null, numpy scalars -> JSON, no row cap.

    The rows go in as a tuple and without Altair's validation on construction: Altair deep-copies
    lists and dicts (not tuples) at every .configure_*(), layer and facet, and validated the rows
    here as well, which made a 260-row loss chart cost 136 ms to build instead of ~20. The whole
    spec, rows included, is still validated once when it is turned into JSON.
    """
    rows = tuple(rows_json(df))
    with debug_mode(False):
        return alt.InlineData(values=rows)


def require_columns(df: pd.DataFrame, columns: Sequence[str], builder: str) -> None:
    """Raise naming the builder, the missing columns and the columns the frame has."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{builder}: the data frame lacks column(s) {', '.join(missing)}; "
                         f"it has {', '.join(map(str, df.columns)) or 'none'}")


def message_panel(text: str, style: str, width: int | None = None, height: int | None = None,
                  title: str = "") -> alt.Chart:
    """An empty panel with one centred line of text (unstyled; callers style it)."""
    th = theme(style)
    width, height = width or th.width, height or th.height
    return (alt.Chart(alt.InlineData(values=[{"text": text}]), title=title)
            .mark_text(fontSize=th.text + 2, color="gray")
            .encode(text="text:N", x=alt.value(width / 2), y=alt.value(height / 2))
            .properties(width=width, height=height, view=alt.ViewConfig(strokeWidth=0)))


def message_chart(text: str, style: str = "screen") -> alt.Chart:
    """A styled chart that only says `text` (e.g. 'no runs yet')."""
    return styled(message_panel(text, style), style)
