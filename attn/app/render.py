"""Charts to the browser: `show_chart` (a builder of attn.viz.charts, its spec kept for every visitor,
with PNG and SVG downloads) and `show_live_loss` (the Train page's chart, redrawn every second).

Building and validating an Altair chart costs 40-70 ms; sending a kept spec well under one. So a spec
is built once per builder and inputs (compared by value, every row) and kept as JSON beside its data
as Arrow bytes; the conversion is the one st.altair_chart does (attn.app.compat).
"""
from __future__ import annotations

import hashlib
import json
import pickle
import re

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from attn.app import compat
from attn.viz import charts


def show_chart(build, *args, key: str, name: str | None = None, **kwargs) -> None:
    """The chart `build(*args, **kwargs)` (a builder of attn.viz.charts), then PNG (2x) and SVG downloads.

    The Vega-Lite spec is built once per builder and inputs (compared by value) and kept for every
    visitor. The downloads build the chart again, only when clicked.
    """
    spec_json, datasets = _chart_spec(build.__name__, args, kwargs)
    _send(spec_json, datasets, build, args, kwargs, key, name)


def show_live_loss(df: pd.DataFrame, *, key: str, name: str, style: str, marks: pd.DataFrame | None = None) -> None:
    """charts.live_loss_chart(df, marks=marks), redrawn every second while runs train.

    Its data changes at every redraw, so a spec kept per input would never be reused; instead the
    spec is built (~130 ms with Altair's validation) once per shape (the variants present) and only
    the rows are swapped in (~5 ms): the same spec `show_chart` would send, for the price of the rows.
    """
    parts = charts.live_loss_parts(df, marks)
    if parts is None:
        show_chart(charts.live_loss_chart, df, style=style, key=key, name=name)
        return
    shape, rows = parts
    values = charts.rows_json(rows)
    # Named as Altair names inline data (its api._dataset_name), so the spec is the one it would make.
    rows_name = "data-" + hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]
    spec = json.loads(_live_template(shape, style, df, marks))
    spec["data"] = {"name": rows_name}
    _send(json.dumps(spec), {rows_name: compat.arrow_bytes(values)},
          charts.live_loss_chart, (df,), {"style": style, "marks": marks}, key, name)


@st.cache_resource(show_spinner=False, max_entries=32)
def _live_template(shape: tuple, style: str, _df: pd.DataFrame, _marks: pd.DataFrame | None = None) -> str:
    """The spec JSON of live_loss_chart without its rows, per shape (built from the first frame seen)."""
    return _convert(charts.live_loss_chart(_df, style=style, marks=_marks))[0]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "chart"


def _send(spec_json: str, datasets: dict, build, args: tuple, kwargs: dict, key: str, name: str | None) -> None:
    file_name = _slug(name or key)
    spec = json.loads(spec_json)  # a fresh dict each time: Streamlit may edit the one it is handed
    spec["datasets"] = dict(datasets)
    st.vega_lite_chart(spec, key=f"{key}_chart", width="content", alt=file_name.replace("-", " "))
    with st.container(horizontal=True, gap="small"):
        st.download_button("PNG", data=lambda: charts.to_png(build(*args, **kwargs), 2), file_name=f"{file_name}.png",
                           mime="image/png", key=f"{key}.png_download", on_click="ignore",
                           icon=":material/download:", help="the chart as a PNG image at twice screen size")
        st.download_button("SVG", data=lambda: charts.to_svg(build(*args, **kwargs)), file_name=f"{file_name}.svg",
                           mime="image/svg+xml", key=f"{key}.svg_download", on_click="ignore",
                           icon=":material/download:", help="the chart as an SVG vector image")


# ------------------------------------------------------------------------- kept specs, keyed by value

def frame_digest(frame: pd.DataFrame) -> bytes:
    """Every row of a frame, with its columns and types (Streamlit's own hash samples large frames)."""
    head = repr((list(frame.columns), [str(t) for t in frame.dtypes], frame.shape)).encode()
    try:
        return head + pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes()
    except TypeError:  # unhashable cells (lists): their pickled form
        return head + pickle.dumps(frame, pickle.HIGHEST_PROTOCOL)


def array_digest(array: np.ndarray) -> bytes:
    """Every value of an array, with its shape and type (Streamlit's own hash samples large arrays)."""
    return repr((array.shape, str(array.dtype))).encode() + np.ascontiguousarray(array).tobytes()


@st.cache_resource(show_spinner=False, max_entries=256,
                   hash_funcs={pd.DataFrame: frame_digest, np.ndarray: array_digest,
                               frozenset: lambda s: sorted(map(repr, s)), set: lambda s: sorted(map(repr, s))})
def _chart_spec(builder: str, args: tuple, kwargs: dict) -> tuple[str, dict[str, bytes]]:
    """(the Vega-Lite spec as JSON without its data, {dataset name: Arrow bytes}) of charts.<builder>."""
    return _convert(getattr(charts, builder)(*args, **kwargs))


def _convert(chart) -> tuple[str, dict[str, bytes]]:
    """The conversion st.altair_chart does on every call (compat.vega_lite_spec, so the chart sent is
    the same), with the pad sizing of `show_chart`: Vega's own ("pad": the builder's width is the data
    area), which Streamlit would replace with "fit" (squeezing axes, legends and labels into that
    width); exports use "pad" too.
    """
    sized = chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))
    spec = compat.vega_lite_spec(sized)
    datasets = {name: values if isinstance(values, bytes) else compat.arrow_bytes(values)
                for name, values in spec.pop("datasets", {}).items()}
    return json.dumps(spec), datasets
