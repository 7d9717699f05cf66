"""`python -m attn figures` and `python -m attn preload`, in this process, on their own run stores.

Tiny runs (reverse task, 2 epochs, emb 16, hidden 32) are trained once per module through
`python -m attn train`; figure files are checked by their signatures, not by their pixels.
"""
import os

import pytest

from attn.cli import figures, preload
from attn.cli import main as cli
from attn.records import Decode
from attn.viz import support as ds
from attn.runs.settings import server_settings
from attn.runs.store import RunStore

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(store folder, {variant: run id}) of tiny none and dot runs, seed 0."""
    path = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTN_HOME", str(path))
        assert cli.main(["train", "--preset", "tiny", "--variants", "none,dot", "--jobs", "1"]) == 0
    runs = RunStore(path).runs()
    return path, dict(zip(runs["variant"], runs["id"]))


def _files(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}


def test_figures_writes_png_and_svg_of_curves_buckets_and_attention(trained, tmp_path, capsys):
    home, ids = trained
    out = tmp_path / "figures"
    code = cli.main(["figures", "--runs", f"{ids['none']},{ids['dot']}", "--out", str(out),
                         "--home", str(home), "--metric", "bleu", "--style", "screen"])
    assert code == 0
    files = _files(out)
    printed = capsys.readouterr().out.split()
    assert sorted(os.path.basename(p) for p in printed) == sorted(files)  # every file written is printed
    stems = {name.rsplit(".", 1)[0] for name in files}
    assert {"loss-curves-side-by-side", "loss-curves-overlay", "bleu-by-length"} <= stems
    attention = sorted(s for s in stems if s.startswith("attention-sentence-"))
    assert len(attention) == 3  # short, medium, long by default
    for stem in stems:
        assert files[f"{stem}.png"].startswith(PNG), stem
        assert b"<svg" in files[f"{stem}.svg"][:500], stem


def test_figures_draws_every_metric_with_values_and_the_attention_of_attention_runs(trained):
    home, ids = trained
    store = RunStore(home)
    built = dict(figures.build_figures(store, [ids["none"], ids["dot"]], metrics=None, sentences=[0, 5]))
    buckets = store.buckets([ids["none"], ids["dot"]])
    with_values = {m for m in ("bleu", "chrf", "exact", "token_acc", "align", "aer") if buckets[m].notna().any()}
    assert {s[:-len("-by-length")] for s in built if s.endswith("-by-length")} == with_values
    assert {"attention-sentence-0", "attention-sentence-5"} <= set(built)
    panels = built["attention-sentence-0"].to_dict()["hconcat"]
    assert [p["title"]["text"] for p in panels] == ["dot"]  # `none` has no attention map to draw


def test_unknown_run_id_exits_2_naming_it_and_writes_nothing(trained, tmp_path, capsys):
    home, ids = trained
    out = tmp_path / "figures"
    assert cli.main(["figures", "--runs", f"{ids['dot']},nope1234", "--out", str(out), "--home", str(home)]) == 2
    assert "no run with id 'nope1234'" in capsys.readouterr().err
    assert not out.exists()


def test_latest_is_the_newest_run_of_each_variant(trained):
    home, ids = trained
    store = RunStore(home)
    assert figures.resolve_runs(store, "latest") == [ids["none"], ids["dot"]]


def test_spread_by_length_picks_a_short_a_medium_and_a_long_sentence():
    decodes = [Decode(index=i, bucket=0, src=["w"] * n, ref=["w"], hyp=["w"])
               for i, n in enumerate([7, 3, 12, 3, 8, 20, 20, 11])]
    assert figures.spread_by_length(decodes, 3) == [1, 2, 5]  # lengths 3, 12 (closest to 11.5), 20
    assert figures.spread_by_length(decodes, 0) == []


def test_preload_configs_are_the_home_pages_lecture_demo():
    assert ([c.key() for c in preload.preload_configs("lecture")]
            == [c.key() for c in ds.lecture_configs("lecture")])


def _assert_one_lecture_study(store, err: str, run_ids: list[str]) -> None:
    """The command printed the id of a study of kind "lecture" (preload: the server's own demo) holding
    `run_ids`, in that order."""
    import re
    (study_id,) = set(re.findall(r"\?study=([0-9a-f]{12})", err)) or {None}
    study = store.study(study_id)
    assert study.kind == "lecture" and list(study.run_ids) == run_ids, err


def test_second_preload_trains_nothing_and_the_home_page_finds_the_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ATTN_DEMO_PRESET", "tiny")  # preload trains what the Home page's button would
    monkeypatch.setenv("ATTN_DEMO_EPOCHS", "1")
    argv = ["preload", "--home", str(tmp_path)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    first = [line.split() for line in captured.out.splitlines()]
    assert len(first) == 3 and all("trained" in line for line in first)
    store = RunStore(tmp_path)
    stored = sorted(store.runs()["id"])
    _assert_one_lecture_study(store, captured.err, [line[3] for line in first])

    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    second = [line.split() for line in captured.out.splitlines()]
    assert [line[3] for line in second] == [line[3] for line in first]  # same run ids, in the same order
    assert all(line[-1] == "cached" for line in second)
    assert sorted(store.runs()["id"]) == stored  # nothing new was trained
    _assert_one_lecture_study(store, captured.err, [line[3] for line in first])  # answered from the cache: a study too
    assert len(store.studies("lecture")) == 2

    from attn.runs.runner import JobRunner
    runner = JobRunner(store)
    try:  # what the Home page's Lecture demo button submits
        demo = ds.lecture_configs(server_settings().demo_preset, server_settings().demo_epochs)
        assert [runner.submit(cfg) for cfg in demo] == [line[3] for line in first]
    finally:
        runner.shutdown()
