"""pages/attention.py on a subword run (issue 15): its maps per piece, or merged per word at a toggle, and
the figure says which. The runs are trained by the CLI on a small toy-fr corpus read as BPE pieces."""
import json
import subprocess
import sys

import pytest

from attn.data.subwords import MERGED_NOTE, WORD_START
from attn.data.tasks import load_task
from tests.app.apptest import ROOT, assert_clean, charts_of, open_page, start_app

TRAIN_TIMEOUT = 900  # seconds; only guards against a hang


@pytest.fixture(scope="module")
def subword_home(tmp_path_factory):
    """ATTN_HOME with additive and dot trained on BPE pieces (the tiny preset's sizes, two epochs)."""
    home = tmp_path_factory.mktemp("subwords")
    task = load_task("toy-fr", n_train=300, n_valid=30, n_test=40, seed=5)
    corpus = home / "corpus.tsv"
    corpus.write_text("".join(f"{' '.join(p.src)}\t{' '.join(p.tgt)}\n" for p in task.train + task.valid + task.test),
                      encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "attn", "train", "--preset", "tiny", "--data", str(corpus),
                           "--subwords", "bpe", "--subword-vocab", "60", "--variants", "additive,dot"],
                          cwd=ROOT, env={**__import__("os").environ, "ATTN_HOME": str(home)}, capture_output=True,
                          text=True, timeout=TRAIN_TIMEOUT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return home


def _grid(at) -> dict:
    (chart,) = charts_of(at)
    return json.loads(chart.proto.spec)


def _axis_labels(spec, title: str) -> list[list[str]]:
    """Per panel, the labels of its axis titled `title` ("source" or "output"), as the chart writes them."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("title") == title and "labelExpr" in node:
                found.append(json.loads(node["labelExpr"].rsplit("[datum.value]", 1)[0]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
    walk(spec)
    return found


def _titles(spec) -> list[str]:
    panels = [p for row in spec.get("vconcat", [spec]) for p in row.get("hconcat", [row])]
    return [p["title"]["text"] if isinstance(p["title"], dict) else p["title"] for p in panels]


def test_a_subword_runs_maps_merge_per_word_at_the_toggle_and_say_so(subword_home, monkeypatch):
    monkeypatch.setenv("ATTN_HOME", str(subword_home))
    at = open_page(start_app(), "attention")
    assert_clean(at)
    pieces = _grid(at)
    assert _titles(pieces) == ["additive", "dot"] and WORD_START in json.dumps(pieces, ensure_ascii=False)
    at.toggle(key="attention.per_word").set_value(True).run()
    assert_clean(at)
    words = _grid(at)
    assert _titles(words) == ["additive · per word", "dot · per word"]
    # the source axis reads the words its pieces spell ("▁fol" "lows" -> "follows"), one column each
    for piece_labels, word_labels in zip(_axis_labels(pieces, "source"), _axis_labels(words, "source")):
        assert any(not p.startswith(WORD_START) for p in piece_labels)  # some word is cut into pieces
        assert word_labels == "".join(piece_labels).replace(WORD_START, " ").split()
    assert any(MERGED_NOTE in c.value for c in at.caption)
