"""Who may write: read-only lecture mode, the admin password (environment or Streamlit secrets), the
upload size limit and unreadable settings, enforced by every write action, not only by its button."""
from streamlit.testing.v1 import AppTest

from attn.config import PRESETS
from attn.runs.store import RunStore
from tests.app.apptest import RUN_TIMEOUT, TSV, assert_clean, new_app, open_page, sign_in, start_app


# ------------------------------------------------------------------ read-only lecture mode, admin password

def test_read_only_train_page_refuses_queueing_and_creates_no_run(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = open_page(start_app(), "train")
    assert_clean(at)
    assert "read-only lecture mode" in at.info[0].value
    assert at.button(key="train.queue_button").disabled
    assert "Read-only" in at.sidebar.caption[1].value and not at.sidebar.text_input  # no password: no field
    assert open_page(at, "home").button(key="home.lecture_button").disabled
    assert RunStore(home).runs().empty


def _write_actions(run_id: str) -> None:
    """An AppTest script: call every write action of attn.app.actions directly and show what each one did."""
    import streamlit as st
    from attn.app import actions
    from attn.viz import support as ds
    ids, _, errors, _ = actions.submit_all(ds.lecture_configs("tiny"))
    st.error(f"submit_all: {ids} {errors}")
    for action, args in ((actions.resubmit, (run_id,)), (actions.cancel, (run_id,)),
                         (actions.delete_runs, ([run_id],)), (actions.rename_run, (run_id, "no such key"))):
        action(*args)
        st.error(f"{action.__name__}: {st.session_state.pop('notice', None)}")
    try:
        actions.store_corpus([("fr.tsv", b"a\tb\n")])
    except actions.Refused as exc:
        st.error(f"store_corpus: {exc}")


def test_every_write_action_refuses_in_read_only_mode_not_only_its_button(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"], status="failed")
    before = store.run(run_id)
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = AppTest.from_function(_write_actions, args=(run_id,), default_timeout=RUN_TIMEOUT).run()
    assert not at.exception
    messages = [e.value for e in at.error]
    assert [m.split(":")[0] for m in messages] == ["submit_all", "resubmit", "cancel", "delete_runs", "rename_run",
                                                  "store_corpus"]
    assert all("read-only lecture mode" in m for m in messages), messages
    after = store.run(run_id)
    assert list(store.runs()["id"]) == [run_id] and (after.name, after.status) == (before.name, "failed")
    assert not (home / "corpora").exists() or not any((home / "corpora").iterdir())


def test_read_only_refuses_uploads_and_runs_page_writes(home, monkeypatch):
    RunStore(home).create_run(PRESETS["tiny"], status="cancelled")
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    at = open_page(start_app(), "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    assert at.file_uploader(key="data.files_upload").disabled and "uploading a corpus" in at.info[0].value
    at = open_page(at, "runs")
    assert_clean(at)
    assert "renaming runs and deleting runs are switched off" in at.info[0].value
    assert at.button(key="runs.delete_button").disabled and at.button(key="runs.rename_button").disabled


def test_admin_password_guards_delete(home, monkeypatch):
    store = RunStore(home)
    run_id = store.create_run(PRESETS["tiny"], status="cancelled")
    at = open_page(start_app(), "runs")
    at.multiselect(key="runs.selected").set_value([run_id]).run()
    at.checkbox(key="runs.confirm_delete").check().run()
    monkeypatch.setenv("ATTN_ADMIN_PASSWORD", "open sesame")  # set while the page was open
    at.button(key="runs.delete_button").click().run()
    assert not at.exception
    assert "Deleting runs needs the admin password (set by ATTN_ADMIN_PASSWORD)" in at.error[0].value
    assert at.button(key="runs.delete_button").disabled and list(store.runs()["id"]) == [run_id]
    at = sign_in(at, "open Sesame")
    assert "not the admin password" in at.sidebar.error[0].value
    assert at.button(key="runs.delete_button").disabled
    at = sign_in(at, "open sesame")
    assert not at.sidebar.error and "Admin" in at.sidebar.caption[-1].value
    assert at.session_state["admin_password_input"] == ""  # the password itself is not kept
    at.checkbox(key="runs.confirm_delete").check().run()
    at.button(key="runs.delete_button").click().run()
    assert_clean(at)
    assert "Deleted 1" in at.success[0].value and store.runs().empty
    at.button(key="admin.signout_button").click().run()
    assert at.text_input(key="admin_password_input") is not None


def test_admin_password_from_streamlit_secrets_guards_training(home):
    at = new_app()
    at.secrets["admin_password"] = "from secrets"
    at = open_page(at.run(), "train")
    assert at.button(key="train.queue_button").disabled
    assert "Training needs the admin password" in at.info[0].value
    at = sign_in(at, "from secrets")
    assert not at.button(key="train.queue_button").disabled and not at.info[0].value.startswith("Training")


def test_admin_unlocks_a_read_only_server(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "1")
    monkeypatch.setenv("ATTN_ADMIN_PASSWORD", "lecturer")
    at = open_page(start_app(), "train")
    assert at.button(key="train.queue_button").disabled and "unlock this" in at.info[0].value
    at = sign_in(at, "lecturer")
    assert_clean(at)
    assert not at.button(key="train.queue_button").disabled
    assert "Read-only" in at.sidebar.caption[1].value  # the mode stays on for everyone else


def test_an_upload_over_the_size_limit_is_refused_and_not_stored(home, monkeypatch):
    monkeypatch.setenv("ATTN_MAX_UPLOAD_MB", "1")
    at = open_page(start_app(), "data")
    at.radio(key="data.source").set_value("import a corpus").run()
    big = TSV * (2**20 // len(TSV) + 1)
    at.file_uploader(key="data.files_upload").set_value(("big.tsv", big, "text/plain")).run()
    assert not at.exception
    assert "big.tsv is 1.0 MB, more than the 1 MB" in at.error[0].value
    assert not (home / "corpora").exists() or not any((home / "corpora").iterdir())


def test_a_bad_settings_value_is_shown_and_refuses_writes(home, monkeypatch):
    monkeypatch.setenv("ATTN_READ_ONLY", "maybe")
    at = open_page(start_app(), "train")
    assert not at.exception
    assert any("ATTN_READ_ONLY" in e.value for e in at.sidebar.error)
    assert at.button(key="train.queue_button").disabled and "ATTN_READ_ONLY" in at.info[0].value
