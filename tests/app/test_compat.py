"""attn.app.compat: the private Streamlit functions it uses are still there and still do what it expects,
and when one is gone or raises, the public way gives the same chart.

When a Streamlit upgrade breaks one of these tests, the charts still draw (compat falls back), but the
message names the private path and the version: check the charts (tests/app/test_render.py), then
update compat.py and the streamlit range in requirements.txt.
"""
import importlib
import json
import logging
import re

import altair as alt
import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from attn.app import compat
from attn.viz import charts
from tests.app.apptest import RUN_TIMEOUT, assert_clean, charts_of


def _upgrade(path: str, what: str) -> str:
    return (f"Streamlit {st.__version__}: {path} {what}. attn/app/compat.py falls back to "
            f"{compat.PRIVATE[path]}; check that the charts look the same (tests/app/test_render.py), then "
            "update compat.py and the streamlit range in requirements.txt")


def _chart(seed: int = 0) -> alt.LayerChart:
    """A real builder's chart: layers of three datasets (bars, bucket edges, labels) given as inline rows."""
    return charts.length_histogram([3, 4, 4, 5, 9, 12, seed + 14], [3, 6, 13, seed + 15])


def _frame_chart() -> alt.Chart:
    """A chart of a DataFrame: its rows go through the data transformer (Arrow bytes)."""
    return alt.Chart(pd.DataFrame({"step": [5, 10, 15], "loss": [2.0, 1.0, 0.5]})).mark_line().encode(x="step",
                                                                                                    y="loss")


def _rows(data) -> pd.DataFrame:
    """A dataset of a spec as a frame: Arrow IPC bytes, or inline rows."""
    if isinstance(data, bytes):
        return pa.ipc.open_stream(data).read_all().to_pandas()
    return pd.DataFrame(list(data))


def _named_in_order(spec: dict) -> tuple[str, list[str]]:
    """The spec without its datasets, as JSON with every dataset name replaced by its order of
    appearance -> (that JSON, the names in that order)."""
    text = json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)
    names = list(dict.fromkeys(re.findall(r'"name": "([^"]+)"', text)))
    names = [n for n in names if n in spec.get("datasets", {})]
    for i, name in enumerate(names):
        text = text.replace(f'"{name}"', f'"dataset-{i}"')
    return text, names


@pytest.mark.parametrize("path", list(compat.PRIVATE))
def test_the_private_streamlit_functions_compat_uses_are_there(path):
    module, name = path.rsplit(".", 1)
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(_upgrade(path, f"is gone ({type(exc).__name__}: {exc})"))
    assert callable(found), _upgrade(path, f"is a {type(found).__name__}, not a function")
    assert compat.available(path), _upgrade(path, "did not import in attn/app/compat.py")


@pytest.mark.parametrize("chart, sizes", [(_chart(), [3, 4, 6]), (_frame_chart(), [3])])
def test_the_private_spec_conversion_gives_the_spec_with_its_named_datasets(chart, sizes):
    try:
        spec = compat._private_spec(chart)
    except Exception as exc:
        pytest.fail(_upgrade(compat.SPEC, f"raised {type(exc).__name__}: {exc}"))
    datasets = spec.get("datasets")
    assert isinstance(datasets, dict), _upgrade(compat.SPEC, f"gave datasets {datasets!r:.200}")
    _, names = _named_in_order(spec)
    assert sorted(names) == sorted(datasets), _upgrade(compat.SPEC, "names datasets the spec does not use")
    found = sorted(len(_rows(data)) for data in datasets.values())
    assert found == sizes, _upgrade(compat.SPEC, f"kept datasets of {found} rows, not {sizes}")


def test_the_private_arrow_bytes_read_back_as_the_rows():
    rows = [{"step": 5, "train_loss": 1.5, "variant": "dot"}, {"step": 10, "train_loss": 0.75, "variant": "dot"}]
    try:
        blob = compat._private_arrow(rows)
    except Exception as exc:
        pytest.fail(_upgrade(compat.ARROW, f"raised {type(exc).__name__}: {exc}"))
    assert isinstance(blob, bytes), _upgrade(compat.ARROW, f"gave a {type(blob).__name__}")
    pd.testing.assert_frame_equal(_rows(blob), pd.DataFrame(rows), obj=_upgrade(compat.ARROW, "changed the rows"))


@pytest.mark.parametrize("build", [_chart, _frame_chart])
def test_the_public_spec_is_the_private_one_but_for_the_datasets_names(build):
    private, public = compat._private_spec(build()), compat.public_vega_lite_spec(build())
    (private_text, private_names), (public_text, public_names) = _named_in_order(private), _named_in_order(public)
    assert public_text == private_text
    for mine, theirs in zip(public_names, private_names, strict=True):
        pd.testing.assert_frame_equal(_rows(public["datasets"][mine]), _rows(private["datasets"][theirs]))


def test_the_public_arrow_bytes_are_the_private_ones():
    frame = pd.DataFrame({"bucket": ["1-5", "6-9"], "bleu": [50.0, float("nan")], "n": [10, 0]})
    assert compat.public_arrow_bytes(frame) == compat._private_arrow(frame)
    assert compat.public_arrow_bytes(frame.to_dict("records")) == compat._private_arrow(frame.to_dict("records"))


@pytest.fixture
def without_private(monkeypatch):
    """compat as on a Streamlit without either private function."""
    monkeypatch.setattr(compat, "_private_spec", None)
    monkeypatch.setattr(compat, "_private_arrow", None)


def test_without_the_private_functions_compat_uses_the_public_ways(without_private):
    assert not any(compat.available(path) for path in compat.PRIVATE)
    assert _named_in_order(compat.vega_lite_spec(_chart())) == _named_in_order(compat.public_vega_lite_spec(_chart()))
    assert compat.arrow_bytes([{"a": 1}]) == compat.public_arrow_bytes([{"a": 1}])


def test_a_private_function_that_raises_is_replaced_by_the_public_way_and_logged(monkeypatch, caplog):
    def changed(chart, *, new_argument):  # a signature a later Streamlit might have
        raise AssertionError("not called this way")

    monkeypatch.setattr(compat, "_private_spec", changed)
    monkeypatch.setattr(compat, "_failed", set())
    with caplog.at_level(logging.WARNING, logger="attn.dashboard"):
        spec = compat.vega_lite_spec(_chart())
    assert _named_in_order(spec) == _named_in_order(compat.public_vega_lite_spec(_chart()))
    assert not compat.available(compat.SPEC)  # the public way from now on
    warning = caplog.records[-1].getMessage()
    assert compat.SPEC in warning and st.__version__ in warning and "TypeError" in warning


def test_a_bad_chart_raises_its_own_error_and_keeps_the_private_path(monkeypatch):
    monkeypatch.setattr(compat, "_failed", set())
    broken = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
    broken.width = "wide"  # not a number: Altair's validation refuses it in to_dict, on either path
    with pytest.raises(Exception, match="wide"):
        compat.vega_lite_spec(broken)
    assert compat.available(compat.SPEC)


def _kept_then_direct(seed: int) -> None:
    """An AppTest script: a chart through render.show_chart, then the same through st.altair_chart."""
    import altair as alt
    import streamlit as st
    from attn.app import render
    from attn.viz import charts
    values, edges = [3, 4, 4, 5, 9, 12, seed + 14], [3, 6, 13, seed + 15]
    render.show_chart(charts.length_histogram, values, edges, key="kept")
    chart = charts.length_histogram(values, edges)
    st.altair_chart(chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding")), width="content")


def test_a_chart_kept_the_public_way_is_what_altair_chart_sends_but_for_names(home, without_private):
    at = AppTest.from_function(_kept_then_direct, args=(7,), default_timeout=RUN_TIMEOUT).run()
    assert_clean(at)
    kept, direct = (c.proto for c in charts_of(at))
    rename = {d.name: f"dataset-{i}" for i, d in enumerate(kept.datasets)}
    rename.update({d.name: f"dataset-{i}" for i, d in enumerate(direct.datasets)})
    text = [re.sub(r'"(data-[0-9a-f]+|[0-9a-f]{32,})"', lambda m: f'"{rename.get(m.group(1), m.group(1))}"', p.spec)
            for p in (kept, direct)]
    assert text[0] == text[1]
    assert [d.data.data for d in kept.datasets] == [d.data.data for d in direct.datasets]
