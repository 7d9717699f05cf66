"""Studies: the runs one click asked for, recorded, read back, listed, and left by deleted runs."""
import re
import sqlite3

import pytest

from attn.config import PRESETS
from attn.runs.schema import MIGRATIONS
from attn.runs.store import RunStore, StoreError, Study

TINY = PRESETS["tiny"]


def _runs(store, n=3):
    return store.create_runs([TINY.with_variant(v) for v in ("none", "additive", "dot")[:n]], status="cancelled")


def test_a_study_keeps_its_name_kind_and_runs_in_the_order_asked(store):
    first, second, third = _runs(store)
    study_id = store.add_study("  Lecture demo ", "lecture", [third, first, second, first])
    study = store.study(study_id)
    assert re.fullmatch(r"[0-9a-f]{12}", study_id)
    assert isinstance(study, Study) and (study.id, study.name, study.kind) == (study_id, "Lecture demo", "lecture")
    assert study.run_ids == (third, first, second)  # a run asked for twice is kept once, at its first place
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", study.created)


def test_studies_are_listed_newest_first_with_their_run_counts_and_filtered_by_kind(store):
    ids = _runs(store)
    lecture = store.add_study("Lecture demo", "lecture", ids)
    cli = store.add_study("python -m attn train", "cli", ids[:1])
    frame = store.studies()
    assert list(frame.columns) == ["id", "name", "kind", "created", "runs"]
    assert frame[["id", "kind", "runs"]].values.tolist() == [[cli, "cli", 1], [lecture, "lecture", 3]]
    assert store.studies("lecture")["id"].tolist() == [lecture]
    assert store.studies("length").empty


def test_an_unknown_study_id_is_an_error_naming_it(store):
    with pytest.raises(StoreError, match="no study with id 'feedfacecafe'"):
        store.study("feedfacecafe")


@pytest.mark.parametrize("name, kind, run_ids, message", [
    ("Lecture demo", "demo", None, "study kind 'demo' is not one of: lecture, length, train, cli"),
    ("   ", "train", None, "a study name must have 1 to 200 characters, got 0"),
    (7, "train", None, "a study name must be text, got int"),
    ("Train form", "train", [], "a study needs at least one run id"),
    ("Train form", "train", "abcd1234", "must be a list of run ids, got str 'abcd1234'"),
    ("Train form", "train", ["nope0000"], "study 'Train form': no run with id 'nope0000'"),
])
def test_a_bad_study_is_refused_naming_what_is_wrong_and_nothing_is_stored(store, name, kind, run_ids, message):
    ids = _runs(store, 1) if run_ids is None else run_ids
    with pytest.raises(StoreError, match=re.escape(message)):
        store.add_study(name, kind, ids)
    assert store.studies().empty
    with pytest.raises(StoreError, match="study kind 'demo'"):
        store.studies("demo")


def test_a_deleted_run_leaves_its_studies_and_the_study_stays(store):
    kept, deleted, other = _runs(store)
    study_id = store.add_study("Train form", "train", [kept, deleted])
    store.add_study("Train form", "train", [other])
    store.delete(deleted)
    assert store.study(study_id).run_ids == (kept,)
    assert store.studies().set_index("id").loc[study_id, "runs"] == 1
    rows = store._db().execute("SELECT COUNT(*) FROM study_runs WHERE run_id=?", (deleted,)).fetchone()[0]
    assert rows == 0 and store.integrity_check() == "ok"


def test_adding_a_study_changes_the_store_version(store):
    ids = _runs(store, 1)
    before = store.version()
    store.add_study("Lecture demo", "lecture", ids)
    assert store.version() != before


def test_a_store_from_before_studies_opens_with_its_runs_and_takes_studies(tmp_path):
    db = sqlite3.connect(tmp_path / "runs.sqlite", isolation_level=None)
    for step in MIGRATIONS[:4]:
        step(db)
    db.execute("PRAGMA user_version = 4")
    db.close()
    old = RunStore(tmp_path)
    assert old.studies().empty
    ids = _runs(old, 2)
    assert old.study(old.add_study("Train short, test long", "length", ids)).run_ids == tuple(ids)
