"""attn.data.normalize: a typed sentence becomes what the task's own sources look like, and says what changed."""
from __future__ import annotations

import dataclasses

import pytest

from attn.config import PRESETS, DataConfig
from attn.data.corpus import CorpusOptions, load_tsv
from attn.data.normalize import data_form, normalize_typed
from attn.data.tasks import TASKS, load_task
from attn.data.text import UNK, Vocab


def sources(task: str, **lengths) -> list[tuple[str, ...]]:
    return [p.src for p in load_task(task, n_train=300, n_valid=0, n_test=0, seed=3, **lengths).train]


def typed(task: str, src: tuple[str, ...]) -> str:
    """A source as a person would type it: word tokens joined by spaces, characters by nothing."""
    return ("" if TASKS[task].level == "char" else " ").join(src)


# ------------------------------------------------------------------------------ the tasks' own forms

@pytest.mark.parametrize("task", sorted(TASKS))
@pytest.mark.parametrize("length_dist", ["uniform", "natural"])
def test_a_generated_source_typed_back_is_read_unchanged_and_without_notes(task, length_dist):
    spec = TASKS[task]
    for src in sources(task, min_len=spec.default_min_len, max_len=spec.default_max_len, length_dist=length_dist):
        read = normalize_typed(typed(task, src), task)
        assert (read.tokens, read.notes) == (src, ()), (src, read)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_each_task_declares_the_form_its_generated_sources_have(task):
    spec, srcs = TASKS[task], sources(task)
    form = spec.typed
    text = ["".join(src) for src in srcs]
    if any(c.isalpha() for t in text for c in t):  # lowercasing a task without letters changes nothing
        assert form.lowercase == all(t == t.lower() for t in text)
    finals = {src[-1] for src in srcs}
    assert form.final == (finals.pop() if len(finals) == 1 else None)
    if spec.level == "word":
        assert form.symbols == all(len(tok) == 1 for src in srcs for tok in src)
        assert not any(c in tok for src in srcs for tok in src for c in form.separators)
    else:
        assert not any("  " in t or t != t.strip() for t in text)  # what single_spaces assumes


# ------------------------------------------------------------------------------ toy-fr, the lecture's task

def test_the_lecture_sentence_is_lowercased_and_gets_its_final_full_stop():
    read = normalize_typed("The cat sat on the mat", "toy-fr")
    assert read.tokens == ("the", "cat", "sat", "on", "the", "mat", ".")
    assert read.notes == ("lowercased, as every training sentence is",
                          "added the final '.' that every training sentence ends with")


def test_punctuation_is_split_off_and_another_end_mark_becomes_the_full_stop():
    read = normalize_typed("The cat sat on the mat!", "toy-fr")
    assert read.tokens == ("the", "cat", "sat", "on", "the", "mat", ".")
    assert any("'mat!' -> mat !" in note for note in read.notes)
    assert any("replaced the final '!' with the '.'" in note for note in read.notes)
    assert normalize_typed("the cat sat .", "toy-fr").notes == ()
    assert normalize_typed("the cat sat.", "toy-fr").tokens == ("the", "cat", "sat", ".")


def test_unknown_words_are_named_and_read_as_unk_given_a_vocabulary():
    vocab = Vocab(["the", "cat", "sat", "."])
    read = normalize_typed("The zebra sat, the yak sat", "toy-fr", vocab)
    assert read.unknown == ("zebra", ",", "yak")
    assert f"3 unknown words: 'zebra', ',', 'yak' will be read as {UNK}" in read.notes
    assert vocab.encode(read.tokens).count(vocab.stoi["the"]) == 2
    assert normalize_typed("the cat sat", "toy-fr", vocab).unknown == ()


def test_a_sentence_longer_than_the_training_range_says_so():
    data = dataclasses.replace(PRESETS["lecture"].data, max_len=5)
    read = normalize_typed("the black cat sat on the mat", data)
    assert "8 tokens: longer than any training sentence (at most 5)" in read.notes[-1]
    assert not any("longer" in n for n in normalize_typed("the cat sat", data).notes)


def test_a_stored_data_section_reads_like_its_config():
    cfg = PRESETS["lecture"].data
    stored = PRESETS["lecture"].to_dict()["data"]
    assert data_form(stored) == data_form(cfg)
    assert data_form(cfg).train_max_len == 40 and data_form("toy-fr").train_max_len == TASKS["toy-fr"].default_max_len
    assert normalize_typed("The dog", stored) == normalize_typed("The dog", cfg)


# ------------------------------------------------------------------------------ other tasks

def test_symbol_tasks_write_every_character_as_its_own_symbol_and_keep_case():
    assert normalize_typed("abC", "reverse").tokens == ("a", "b", "C")
    assert normalize_typed("347+58", "addition").tokens == ("3", "4", "7", "+", "5", "8")
    assert normalize_typed("3 4 7 + 5 8", "addition").notes == ()


def test_sort_reads_commas_as_spaces_and_keeps_numbers_whole():
    read = normalize_typed("7, 3,12", "sort")
    assert read.tokens == ("7", "3", "12")
    assert read.notes == ("read ',' as a space between tokens",)


def test_dates_are_characters_with_case_kept_and_single_spaces():
    read = normalize_typed("  Mercredi   25 Nov 2026 ", "dates")
    assert read.tokens == tuple("Mercredi 25 Nov 2026")
    assert read.notes == ("wrote each run of spaces as one space, as the training sentences do",)


def test_invisible_characters_are_removed_and_counted():
    read = normalize_typed("the\u200b cat\u00ad sat", "toy-fr")
    assert read.tokens == ("the", "cat", "sat", ".")
    assert read.notes[0] == "removed 2 invisible characters"


# ------------------------------------------------------------------------------ imported corpora

def test_a_corpus_sentence_is_read_as_the_import_read_its_lines(tmp_path):
    lines = ["The Cat sat.\tLe chat.", "It's  mine!\tC'est à moi.", "Wait, Paul\tAttends, Paul"] * 4
    path = tmp_path / "c.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for lowercase in (False, True):
        for level in ("word", "char"):
            data = load_tsv(path, CorpusOptions(lowercase=lowercase, level=level))
            cfg = DataConfig(task="corpus", corpus=str(path), lowercase=lowercase, level=level)
            imported = {p.src for p in data.train + data.valid + data.test}
            read = {normalize_typed(line.split("\t")[0], cfg).tokens for line in lines}
            assert read == imported, (lowercase, level)


def test_a_corpus_gets_no_end_mark_and_its_own_lowercase_note():
    cfg = DataConfig(task="corpus", corpus="x.tsv", lowercase=True)
    read = normalize_typed("Go away", cfg)
    assert read.tokens == ("go", "away")
    assert read.notes == ("lowercased, as the corpus was imported lowercased",)
    assert normalize_typed("Go away", dataclasses.replace(cfg, lowercase=False)).tokens == ("Go", "away")


# ------------------------------------------------------------------------------ refusals

@pytest.mark.parametrize("text", ["", "   ", "\u200b"])
def test_an_empty_sentence_is_refused(text):
    with pytest.raises(ValueError, match="empty|nothing is left"):
        normalize_typed(text, "toy-fr")


@pytest.mark.parametrize("text, task", [("! ? .", "toy-fr"), (", ;", "sort"), ("...", "dates")])
def test_a_sentence_with_nothing_left_to_read_is_refused(text, task):
    with pytest.raises(ValueError, match="nothing is left to translate"):
        normalize_typed(text, task)


def test_a_sentence_over_the_limit_is_refused_naming_the_limit(monkeypatch):
    with pytest.raises(ValueError, match=r"has 6 tokens after normalization; the limit is 5"):
        normalize_typed("the cat sat on it", "toy-fr", limit=5)
    monkeypatch.setenv("ATTN_MAX_LEN", "4")
    with pytest.raises(ValueError, match=r"the limit is 4 \(ATTN_MAX_LEN\)"):
        normalize_typed("the cat sat on", "toy-fr")
    with pytest.raises(ValueError, match="at most 80 characters"):
        normalize_typed("a" * 81, "reverse")
    assert len(normalize_typed("the cat sat", "toy-fr").tokens) == 4


def test_an_unknown_task_or_a_wrong_type_is_refused():
    with pytest.raises(ValueError, match="valid tasks"):
        normalize_typed("x", "klingon")
    with pytest.raises(TypeError):
        normalize_typed(["the", "cat"], "toy-fr")
