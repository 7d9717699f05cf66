"""Sweep: a grid of runs (variants x seeds x the values of one field), its cells filling in, and a metric of
the longest bucket against the swept field; each value opens in Compare."""
import streamlit as st

from attn.app import admin, frame, render, state
from attn.app import sweep as sweeps
from attn.app.actions import show_notice
from attn.config import PRESETS, VARIANTS
from attn.records import METRIC_LABELS, METRICS
from attn.runs.sweep import FIELDS, SWEEP_PRESETS, form_grid, preset_form, sweep_limit
from attn.runs.store import StoreError
from attn.viz import charts
from attn.viz.groups import comparison_key
from attn.viz.sweep import ENDS, cells_table

FORM = ("preset", "variants", "seeds", "field", "values", "fixed")


def _apply(name: str) -> None:
    for key, value in preset_form(name).items():
        st.session_state[f"sweep.{key}"] = value


def _grid():
    return form_grid(**{key: st.session_state[f"sweep.{key}"] for key in FORM})


def _queue() -> None:
    """Queue sweep's on_click: runs before the page, so no other click can cut it short."""
    try:
        queued = sweeps.queue_sweep(_grid())
    except ValueError as exc:  # ConfigError: a field the form names
        queued = sweeps.Queued(None, 0, 0, f"**Nothing was queued:** {exc}")
    st.session_state["sweep.outcome"] = queued
    if queued.study:
        st.query_params[sweeps.URL_SWEEP] = queued.study


frame.require_frame()
st.title("Sweep")
st.caption("Would a bigger vector fix the bottleneck? Train a grid — variants × seeds × the values of one field — "
           "and read a metric of the longest sentences against that field. Cells the store holds return at once.")
if "sweep.preset" not in st.session_state:
    _apply("capacity")
with st.container(border=True):
    top = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
    top[0].selectbox("Start from preset", list(PRESETS), key="sweep.preset",
                     help="the settings every cell shares, before the fields below")
    top[1].multiselect("Variants", list(VARIANTS), key="sweep.variants")
    top[2].text_input("Seeds", key="sweep.seeds", help="e.g. 0 or 0,1,2 or 0-4")
    for name in SWEEP_PRESETS:
        top[3].button(f"{name.capitalize()} preset", key=f"sweep.{name}_button", on_click=_apply, args=(name,),
                      help="none, additive and dot at hidden 32 to 512 on toy-fr, 3 seeds" if name == "capacity" else None)
    row = st.columns([1, 2, 2], vertical_alignment="bottom")
    row[0].selectbox("Swept field", sorted(FIELDS), key="sweep.field")
    row[1].text_input("Values", key="sweep.values", help="comma-separated, e.g. 32,64,128; whole numbers also 2-6")
    row[2].text_input("Also set", key="sweep.fixed", help="fields every cell shares, e.g. epochs=2; n_train=500")
    try:
        grid = _grid()
        st.caption(f"Will queue **{grid.size} cells**: {grid.describe()} (this server allows {sweep_limit()} per "
                   "sweep, ATTN_MAX_SWEEP_CELLS).")
        if grid.size <= sweep_limit():
            st.caption(f":material/timer: {state.estimate_note([cell.config for cell in grid.cells()])}")
    except ValueError as exc:
        st.warning(str(exc), icon=":material/edit:")
    refused = admin.show_refusal("train")
    st.button("Queue sweep", key="sweep.queue_button", type="primary", icon=":material/play_arrow:",
              disabled=bool(refused), help=refused, on_click=_queue)
    outcome = st.session_state.get("sweep.outcome")
    if outcome is not None and outcome.error:
        st.error(outcome.error, icon=":material/error:")
    elif outcome is not None:
        st.success(f"Sweep {outcome.study}: {outcome.cells} cells, {outcome.ready} of them from the store.",
                   icon=":material/check_circle:")

studies = sweeps.sweep_studies()
if studies.empty:
    st.info("No sweep yet: queue one above, or run `python -m attn sweep --preset capacity`.")
    st.stop()
options = list(studies["id"])
wanted = st.query_params.get(sweeps.URL_SWEEP)
if wanted and wanted not in options:
    st.warning(f"The link asks for sweep {wanted!r}, which this store does not hold; showing the newest.",
               icon=":material/link_off:")
frame.keep_valid("sweep.study", options)
if wanted in options and st.session_state.get("sweep.study") != wanted and st.session_state.get("sweep.url_seen") != wanted:
    st.session_state["sweep.study"] = wanted
st.session_state["sweep.url_seen"] = wanted
names = dict(zip(studies["id"], studies["name"]))
chosen = st.selectbox("Sweep", options, format_func=lambda i: f"{names[i]} · {i}", key="sweep.study")
if st.query_params.get(sweeps.URL_SWEEP) != chosen:
    st.query_params[sweeps.URL_SWEEP] = chosen


def cells_view(study_id: str, was_active: bool) -> None:
    """The sweep's cells as they fill in, and its figure; refreshed every 2 s while cells train."""
    with frame.guard("The sweep"):
        show_notice()
        try:
            sweep = sweeps.load(study_id)
        except StoreError as exc:
            st.warning(f"This sweep cannot be shown: {exc}", icon=":material/link_off:")
            return
        if was_active and not sweep.active:
            st.rerun()  # all ended: the page (and its timer) once more
        cells = sweep.cells
        ended = int((~cells["status"].isin(["queued", "running"])).sum())
        st.progress(ended / max(len(cells), 1), text=f"{ended} of {len(cells)} cells ended "
                    f"({int((cells['status'] == 'done').sum())} done)")
        if sweep.active:
            no_cancel = admin.refusal("cancel")
            st.button("Cancel the rest", key="sweep.cancel_button", on_click=sweeps.cancel_rest, args=(study_id,),
                      icon=":material/stop:", disabled=bool(no_cancel), help=no_cancel)
        if not sweep.fields:
            st.info("These cells differ only in variant and seed: nothing is swept.")
            return
        field, by = sweep.fields[0], sweep.fields[1:]
        st.dataframe(cells_table(cells, field, by), hide_index=True)
        points = sweep.points()
        if points.empty:
            st.caption("The figure follows when the first cell has finished.")
            return
        controls = st.columns([1, 2, 1])
        metric = controls[0].selectbox("Metric", list(METRICS), format_func=METRIC_LABELS.get, key="sweep.metric")
        labels = list(dict.fromkeys(points.sort_values("lo")["bucket"]))
        buckets = controls[1].multiselect("Buckets (one panel each)", [*ENDS, *labels], default=["longest"],
                                          key="sweep.buckets") or ["longest"]
        band = controls[2].radio("Band over seeds", ["minmax", "std"], key="sweep.band", horizontal=True,
                                 format_func={"minmax": "min–max", "std": "±1 std"}.get)
        render.show_chart(charts.metric_by_field, points, field, metric, buckets, style=frame.style(), band=band,
                          by=by, key="sweep.chart", name=f"{metric}-by-{field}")
        st.markdown("**Open in Compare** (every variant and seed at one value, by sentence length):")
        links = st.columns(min(6, cells[field].nunique()))
        done = cells[cells["status"] == "done"]
        for i, (value, group) in enumerate(done.groupby(field, sort=False)):
            links[i % len(links)].page_link("pages/compare.py", label=f"{field} {value}", icon=":material/stacked_line_chart:",
                                            query_params={"group": comparison_key(sweep.configs[group["run_id"].iloc[0]])})


active = sweeps.unfinished(chosen) > 0
st.fragment(cells_view, run_every=2.0 if active else None)(chosen, active)
