"""Runs: browse, filter, rename, delete and export stored runs."""
import streamlit as st

from attn.app import actions, admin, frame, state
from attn.viz import support as ds

frame.require_frame()
st.title("Runs")
actions.show_notice()
store = state.store()
runs = store.runs()
if runs.empty:
    st.info("No runs stored yet: press **Lecture demo** on Home or queue runs on **Train**.")
    st.stop()

filters = st.columns(3)
choices = {}
for column, (field, label) in zip(filters, [("status", "Status"), ("task", "Task"), ("variant", "Variant")]):
    options = sorted(runs[field].dropna().unique())
    frame.keep_valid(f"runs.{field}", options, multi=True)
    choices[field] = column.multiselect(label, options, key=f"runs.{field}", placeholder="all")
shown = ds.filter_runs(runs, **choices)
st.dataframe(ds.runs_table(shown), hide_index=True, column_config={
    "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent"),
    "bleu": st.column_config.NumberColumn("BLEU", format="%.1f"),
    "train_seconds": st.column_config.NumberColumn("training (s)", format="%.1f"),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
    "finished": st.column_config.DatetimeColumn("finished", format="YYYY-MM-DD HH:mm"),
    "params": st.column_config.NumberColumn("parameters", format="%d")})
st.caption(f"{len(shown)} of {len(runs)} runs")

names = dict(zip(runs["id"], runs["name"]))
frame.keep_valid("runs.selected", list(shown["id"]), multi=True)
selected = st.multiselect("Runs to rename, delete or export", list(shown["id"]), key="runs.selected",
                          format_func=lambda rid: f"{names[rid]} ({rid})", placeholder="choose runs")
no_rename, no_delete = admin.refusal("rename"), admin.refusal("delete")
if no_rename or no_delete:  # one box above both, not one in each narrow column
    admin.show_refusal(*(action for action, no in (("rename", no_rename), ("delete", no_delete)) if no))
rename, delete, export = st.columns(3, gap="large", border=True)
with rename:
    st.markdown("**Rename**")
    st.text_input("New name", key="runs.new_name", disabled=len(selected) != 1 or bool(no_rename))
    st.button("Rename", key="runs.rename_button",
              disabled=len(selected) != 1 or not st.session_state.get("runs.new_name") or bool(no_rename),
              on_click=actions.rename_run, args=(selected[0] if selected else "", "runs.new_name"),
              help=no_rename or "choose exactly one run")
with delete:
    st.markdown("**Delete**")
    confirm = st.checkbox(f"Delete {len(selected)} run(s) with their weights", key="runs.confirm_delete",
                          disabled=not selected or bool(no_delete))
    st.button("Delete", key="runs.delete_button", type="primary",
              disabled=not (selected and confirm) or bool(no_delete),
              on_click=actions.delete_runs, args=(list(selected),),
              help=no_delete or "queued and training runs must be cancelled first")
with export:
    st.markdown("**Export**")
    ids = list(selected) or list(shown["id"])
    st.caption(f"{'the selected' if selected else 'all shown'} {len(ids)} run(s)")
    st.download_button("CSV (bucket metrics)", data=lambda: store.export(ids, "csv"), file_name="runs.csv",
                       mime="text/csv", key="runs.csv_download", on_click="ignore", icon=":material/download:")
    st.download_button("JSON (configs, metrics, curves)", data=lambda: store.export(ids, "json"),
                       file_name="runs.json", mime="application/json", key="runs.json_download", on_click="ignore",
                       icon=":material/download:")
