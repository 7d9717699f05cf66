"""Every private Streamlit name the app uses, each with a public fallback: the one place to look after an upgrade.

`render.show_chart` keeps a chart's Vega-Lite spec and its data as Arrow bytes for every visitor, so it
needs what st.altair_chart does inside: turn the chart into a spec whose data are named datasets of
Arrow IPC bytes. Streamlit does that in two private functions, used here first, so a kept chart is
exactly the chart st.altair_chart would send:

    streamlit.elements.vega_charts._convert_altair_to_vega_lite_spec(chart) -> spec with "datasets"
    streamlit.dataframe_util.convert_anything_to_arrow_bytes(data) -> Arrow IPC stream bytes

When an upgrade moves or changes one of them, the public way takes over and the server log says so
once: the spec from `chart.to_dict()` (Altair's own data-transformer and theme API, as Streamlit does
it), the bytes from `pyarrow.Table.from_pandas` written as an IPC stream. The chart then differs from
st.altair_chart's only in its datasets' names. tests/app/test_compat.py fails, naming the private
path and the Streamlit version, as soon as either private function is gone or behaves differently.

The per-visitor queue limit tells browsers apart by Streamlit's XSRF cookie (`xsrf_cookie`, `xsrf_token`):
its name and Tornado's "2|mask|token xor mask|time" layout are implementation details, kept here; a
cookie in another layout counts as a whole, so an upgrade can only make reloads count as new visitors.

(The frame once also set the private `PagesManager.uses_pages_directory`; the public `st.navigation`
in dashboard.py sets it, see `frame.require_frame`.)
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:
    import altair as alt

try:
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec as _private_spec
except ImportError:
    _private_spec = None
try:
    from streamlit.dataframe_util import convert_anything_to_arrow_bytes as _private_arrow
except ImportError:
    _private_arrow = None

log = logging.getLogger("attn.dashboard")

SPEC = "streamlit.elements.vega_charts._convert_altair_to_vega_lite_spec"
ARROW = "streamlit.dataframe_util.convert_anything_to_arrow_bytes"
# Every private name this module uses -> the public way used when it is gone.
PRIVATE = {SPEC: "chart.to_dict() with an Arrow data transformer and Altair's 'none' theme",
           ARROW: "pyarrow.Table.from_pandas written as an Arrow IPC stream"}
_failed: set[str] = set()  # private paths that raised here once: the public way from then on
_altair_lock = threading.Lock()  # Altair's theme and data transformer are process-wide settings


def available(path: str) -> bool:
    """True when the private function at `path` (a key of PRIVATE) is importable and has not failed here."""
    found = {SPEC: _private_spec, ARROW: _private_arrow}[path]
    return found is not None and path not in _failed


def vega_lite_spec(chart: alt.TopLevelMixin) -> dict:
    """The Vega-Lite spec st.altair_chart would send for `chart`: its data in "datasets", as Arrow bytes."""
    return _private_or_public(SPEC, _private_spec, public_vega_lite_spec, chart)


def arrow_bytes(data: Any) -> bytes:
    """Rows (a DataFrame, or what pd.DataFrame takes) as the Arrow IPC bytes Streamlit sends charts."""
    return _private_or_public(ARROW, _private_arrow, public_arrow_bytes, data)


def _private_or_public(path: str, private, public, value):
    """private(value) while the private function at `path` works; when it raises on a value the public
    way takes, the public way from then on (said once in the log). A value both refuse is the caller's
    error, raised as the private function raised it."""
    if available(path):
        try:
            return private(value)
        except Exception as exc:
            if not _works(public, value):
                raise
            _fall_back(path, exc)
    return public(value)


# ---------------------------------------------------------------------------------- the public ways

def public_arrow_bytes(data: Any) -> bytes:
    """`arrow_bytes` through pyarrow alone: the table of pd.DataFrame(data) as an IPC stream."""
    import pandas as pd
    import pyarrow as pa

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _to_named_arrow(data: Any, datasets: dict) -> dict:
    """An Altair data transformer: keep `data` as Arrow bytes under a name made from its content."""
    blob = public_arrow_bytes(data)
    name = "data-" + hashlib.sha256(blob).hexdigest()[:32]
    datasets[name] = blob
    return {"name": name}


@functools.cache
def _altair():
    """Altair with the "attn_arrow" data transformer registered. Imported on the first chart, not with this
    module: the state module needs the XSRF functions below on every page, and a fresh server's first
    Home view (no chart) should not wait for Altair (benchmarks/first_view.py)."""
    import altair as alt

    alt.data_transformers.register("attn_arrow", _to_named_arrow)
    return alt


def public_vega_lite_spec(chart: alt.TopLevelMixin) -> dict:
    """`vega_lite_spec` through Altair's public API: to_dict() with the data collected as Arrow bytes
    and without Altair's default theme (its 300x300 view would override the builders' sizes)."""
    datasets: dict[str, bytes] = {}
    alt = _altair()
    with _altair_lock:
        theme = alt.theme.enable("none") if alt.theme.active == "default" else contextlib.nullcontext()
        with theme, alt.data_transformers.enable("attn_arrow", datasets=datasets):
            spec = chart.to_dict()
    spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def _works(function, argument) -> bool:
    try:
        function(argument)
        return True
    except Exception:
        return False


def _fall_back(path: str, exc: Exception) -> None:
    """The private function at `path` raised where the public way works: use that from now on."""
    _failed.add(path)
    log.warning("Streamlit %s: %s raised %s: %s; charts are converted by %s from now on (attn/app/compat.py)",
                st.__version__, path, type(exc).__name__, exc, PRIVATE[path])


if _private_spec is None or _private_arrow is None:
    log.warning("Streamlit %s lacks %s; charts are converted the public way (attn/app/compat.py)", st.__version__,
                " and ".join(p for p in PRIVATE if not available(p)))


# Streamlit's XSRF cookie (server.enableXsrfProtection, on in .streamlit/config.toml): one random token per
# browser, kept across reloads and tabs; its value is "2|mask|token xor mask|time" and only the mask changes.
XSRF_COOKIE = "_streamlit_xsrf"


def xsrf_cookie() -> str | None:
    """This browser's XSRF cookie as the page's request carried it, or None."""
    cookie = st.context.cookies.get(XSRF_COOKIE)
    return cookie if isinstance(cookie, str) else None


def xsrf_token(cookie: str) -> str:
    """The cookie's token without its per-response mask (the same across reloads); another layout: the cookie."""
    parts = cookie.strip("\"'").split("|")
    try:
        mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
        return bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)).hex()
    except (IndexError, ValueError, ZeroDivisionError):
        return cookie
