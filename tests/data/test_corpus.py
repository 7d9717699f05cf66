"""attn.corpus: each test writes its own small corpus into tmp_path."""
from __future__ import annotations

import gzip
import pickle
import random

import pytest

from attn.data.corpus import (CorpusError, CorpusOptions, load_corpus, load_parallel, load_parallel_bytes, load_tsv, load_tsv_bytes)

PAIRS = [("Go.", "Va !"), ("Hi.", "Salut !"), ("I'm OK.", "Je vais bien."), ("Thanks!", "Merci !"),
         ("It's mine.", "C'est à moi."), ("We won.", "Nous avons gagné."), ("Help me.", "Aidez-moi."),
         ("I see the man.", "Je vois l'homme."), ("He is tired.", "Il est fatigué."), ("Wait!", "Attendez !")]


def tsv_text(pairs=PAIRS, attribution=True) -> str:
    tail = "\tCC-BY 2.0 (France) Attribution: tatoeba.org #1 (CM)" if attribution else ""
    return "".join(f"{src}\t{tgt}{tail}\n" for src, tgt in pairs)


def write(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return str(path)


def all_pairs(data):
    return data.train + data.valid + data.test


# ----------------------------------------------------------------------------------------- layouts

def test_tsv_with_attribution_column_keeps_source_and_target_only(tmp_path):
    data = load_tsv(write(tmp_path, "eng-fra.txt", tsv_text()))
    assert data.name == "eng-fra.txt" and data.level == "word"
    assert len(all_pairs(data)) == len(PAIRS)
    pair = next(p for p in all_pairs(data) if p.src == ("I", "see", "the", "man", "."))
    assert pair.tgt == ("Je", "vois", "l'", "homme", ".")
    assert all(p.align is None for p in all_pairs(data))
    assert not data.has_gold
    assert all("CC-BY" not in tok for p in all_pairs(data) for tok in p.tgt)


def test_tsv_without_attribution_column_loads(tmp_path):
    data = load_tsv(write(tmp_path, "pairs.tsv", tsv_text(attribution=False)))
    assert data.report["kept"] == len(PAIRS)


def test_splits_come_from_split_pairs_with_the_options(tmp_path):
    path = write(tmp_path, "eng-fra.txt", tsv_text())
    data = load_tsv(path, CorpusOptions(valid_frac=0.2, test_frac=0.3, split_seed=7))
    assert (len(data.train), len(data.valid), len(data.test)) == (5, 2, 3)
    again = load_tsv(path, CorpusOptions(valid_frac=0.2, test_frac=0.3, split_seed=7))
    assert again.test == data.test


def test_two_parallel_files_pair_line_by_line(tmp_path):
    src = write(tmp_path, "train.en", "".join(s + "\n" for s, _ in PAIRS))
    tgt = write(tmp_path, "train.fr", "".join(t + "\n" for _, t in PAIRS))
    data = load_parallel(src, tgt)
    assert data.name == "train.en+train.fr"
    assert data.report["files"] == ["train.en", "train.fr"]
    assert data.report["layout"] == "parallel"
    assert (("Hi", "."), ("Salut", "!")) in {(p.src, p.tgt) for p in all_pairs(data)}


def test_load_corpus_reads_one_path_as_tsv_and_two_as_parallel_files(tmp_path):
    tsv = write(tmp_path, "eng-fra.txt", tsv_text())
    src = write(tmp_path, "a.en", "Hi.\nGo.\nWait!\n")
    tgt = write(tmp_path, "a.fr", "Salut !\nVa !\nAttendez !\n")
    assert load_corpus(tsv).report["layout"] == "tsv"
    assert load_corpus(f"{src}, {tgt}").report["kept"] == 3


def test_load_corpus_refuses_three_paths(tmp_path):
    with pytest.raises(CorpusError, match="SRC_PATH,TGT_PATH"):
        load_corpus("a.en,b.fr,c.de")


def test_bytes_loaders_match_path_loaders(tmp_path):
    content = tsv_text().encode()
    from_path = load_tsv(write(tmp_path, "eng-fra.txt", content))
    from_bytes = load_tsv_bytes(content, "eng-fra.txt")
    assert from_bytes.train == from_path.train and from_bytes.report == from_path.report
    both = load_parallel_bytes(b"Hi.\nGo.\n", b"Salut !\nVa !\n", "x.en", "x.fr")
    assert both.name == "x.en+x.fr" and both.report["kept"] == 2


def test_gzip_tsv_loads(tmp_path):
    data = load_tsv(write(tmp_path, "eng-fra.txt.gz", gzip.compress(tsv_text().encode())))
    assert data.report["kept"] == len(PAIRS)


def test_gzip_is_detected_by_content_without_gz_suffix(tmp_path):
    data = load_tsv(write(tmp_path, "upload.tsv", gzip.compress(tsv_text().encode())))
    assert data.report["kept"] == len(PAIRS)


def test_gzip_parallel_files_load(tmp_path):
    src = write(tmp_path, "a.en.gz", gzip.compress(b"Hi.\nGo.\n"))
    tgt = write(tmp_path, "a.fr", b"Salut !\nVa !\n")
    assert load_parallel(src, tgt).report["kept"] == 2


def test_crlf_line_endings_and_utf8_bom_are_handled(tmp_path):
    content = b"\xef\xbb\xbf" + tsv_text(attribution=False).replace("\n", "\r\n").encode()
    data = load_tsv(write(tmp_path, "windows.tsv", content))
    assert data.report["kept"] == len(PAIRS) and data.report["skipped"] == {}
    tokens = {tok for p in all_pairs(data) for tok in p.src + p.tgt}
    assert "Go" in tokens  # the first word, not "\ufeffGo"
    assert not any("\r" in tok or "\ufeff" in tok for tok in tokens)


# ----------------------------------------------------------------------------------------- options

def test_lowercase_lowers_both_sides_before_tokenizing(tmp_path):
    data = load_tsv(write(tmp_path, "eng-fra.txt", tsv_text()), CorpusOptions(lowercase=True))
    tokens = [tok for p in all_pairs(data) for tok in p.src + p.tgt]
    assert tokens == [tok.lower() for tok in tokens]
    assert "c'" in tokens  # "C'est" lowered, then split at the elision


def test_max_len_drops_pairs_with_a_long_side_and_counts_them(tmp_path):
    data = load_tsv(write(tmp_path, "eng-fra.txt", tsv_text()), CorpusOptions(max_len=3))
    kept = all_pairs(data)
    assert all(len(p.src) <= 3 and len(p.tgt) <= 3 for p in kept)
    # Over 3 tokens on a side: I'm OK. / It's mine. / We won. / I see the man. / He is tired.
    # ("Aidez-moi." is 2 tokens: the hyphen joins.)
    assert data.report["too_long"] == 5 and data.report["kept"] == 5 == len(kept)


def test_max_pairs_keeps_the_first_good_pairs_and_reports_truncation(tmp_path):
    content = "no tab here\n" + tsv_text()
    data = load_tsv(write(tmp_path, "eng-fra.txt", content), CorpusOptions(max_pairs=3))
    assert data.report["kept"] == 3 and data.report["truncated"] is True
    assert {p.src for p in all_pairs(data)} == {("Go", "."), ("Hi", "."), ("I", "'m", "OK", ".")}
    whole = load_tsv(write(tmp_path, "all.txt", tsv_text()), CorpusOptions(max_pairs=len(PAIRS)))
    assert whole.report["truncated"] is False


def test_char_level_tokenizes_characters(tmp_path):
    data = load_tsv(write(tmp_path, "dates.tsv", "3 May\t03-05\n4 June\t04-06\n1 July\t01-07\n"),
                    CorpusOptions(level="char"))
    assert data.level == "char"
    assert (("3", " ", "M", "a", "y"), ("0", "3", "-", "0", "5")) in {(p.src, p.tgt) for p in all_pairs(data)}


@pytest.mark.parametrize("field, value, allowed", [
    ("max_len", 0, ">= 1"), ("max_pairs", -5, ">= 1"), ("max_bytes", 0, ">= 1"), ("level", "bpe", "word"),
    ("valid_frac", 1.0, "[0, 1)"), ("test_frac", -0.1, "[0, 1)"), ("lowercase", "yes", "True or False"),
    ("max_len", 2.5, "whole number"),
])
def test_options_out_of_range_name_field_value_and_range(field, value, allowed):
    with pytest.raises(ValueError) as caught:
        CorpusOptions(**{field: value})
    message = str(caught.value)
    assert f"CorpusOptions.{field}" in message and repr(value) in message and allowed in message


def test_options_refuse_eval_fractions_that_leave_nothing_to_train():
    with pytest.raises(ValueError, match="valid_frac \\+ test_frac"):
        CorpusOptions(valid_frac=0.5, test_frac=0.5)


# ------------------------------------------------------------------------------------------ report

def test_report_counts_lines_blanks_kept_skipped_and_problems(tmp_path):
    lines = [f"{s}\t{t}" for s, t in PAIRS]
    lines[2:2] = ["", "just one column"]   # lines 3 and 4
    lines[7:7] = ["\tVide", "   "]          # lines 8 and 9
    lines.append("Empty target.\t  \tCC-BY")  # line 15
    data = load_tsv(write(tmp_path, "eng-fra.txt", "\n".join(lines) + "\n"))
    report = data.report
    assert report["files"] == ["eng-fra.txt"]
    assert (report["lines"], report["blank"], report["kept"]) == (15, 2, 10)
    assert report["skipped"] == {"no tab": 1, "empty source": 1, "empty target": 1}
    assert report["first_problems"][0].startswith("line 4: no tab between source and target")
    assert report["first_problems"][1:] == ["line 8: empty source side", "line 15: empty target side"]
    assert report["too_long"] == 0 and report["truncated"] is False
    assert report["lines"] == report["blank"] + report["kept"] + sum(report["skipped"].values())


def test_report_lists_at_most_five_problems(tmp_path):
    content = tsv_text() + "bad\n" * 8
    report = load_tsv(write(tmp_path, "eng-fra.txt", content)).report
    assert report["skipped"] == {"no tab": 8} and len(report["first_problems"]) == 5


def test_sha256_equals_for_same_content_and_differs_for_different(tmp_path):
    one = load_tsv(write(tmp_path, "a.tsv", tsv_text())).report["sha256"]
    same = load_tsv(write(tmp_path, "b.tsv", tsv_text())).report["sha256"]
    other = load_tsv(write(tmp_path, "c.tsv", tsv_text(PAIRS[:-1]))).report["sha256"]
    assert one == same != other and len(one) == 64


def test_parallel_sha256_depends_on_both_files_and_their_order(tmp_path):
    en, fr = write(tmp_path, "a.en", "Hi.\nGo.\n"), write(tmp_path, "a.fr", "Salut !\nVa !\n")
    fr2 = write(tmp_path, "b.fr", "Salut.\nVa !\n")
    digest = load_parallel(en, fr).report["sha256"]
    assert digest == load_parallel(en, fr).report["sha256"]
    assert digest != load_parallel(en, fr2).report["sha256"]
    assert digest != load_parallel(fr, en).report["sha256"]


def test_some_bad_lines_are_skipped_and_counted(tmp_path):
    content = tsv_text().encode() + b"Caf\xe9.\tCaf\xe9.\n" + b"bin\x00ary\tx\n" + b"one column\n"
    data = load_tsv(write(tmp_path, "eng-fra.txt", content))
    assert data.report["kept"] == len(PAIRS)
    assert data.report["skipped"] == {"not UTF-8": 1, "NUL byte": 1, "no tab": 1}
    assert data.report["first_problems"][0].startswith("line 11: not valid UTF-8: byte 0xE9")


def test_parallel_empty_side_names_the_file(tmp_path):
    src = write(tmp_path, "a.en", "Hi.\nGo.\n\nWait!\n")
    tgt = write(tmp_path, "a.fr", "Salut !\nVa !\nAttendez !\n\n")
    report = load_parallel(src, tgt).report
    assert report["skipped"] == {"empty source": 1, "empty target": 1}
    assert report["first_problems"] == ["line 3: empty source side (in " + src + ")",
                                        "line 4: empty target side (in " + tgt + ")"]


def test_thirty_thousand_generated_pairs_load(tmp_path):
    rng = random.Random(0)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyzé") for _ in range(rng.randint(2, 9)))
             for _ in range(10_000)]
    rows = (f"{' '.join(rng.choices(vocab, k=rng.randint(1, 42)))}.\t"
            f"{' '.join(rng.choices(vocab, k=rng.randint(1, 42)))} !\tCC-BY #{i}\n" for i in range(30_000))
    data = load_tsv(write(tmp_path, "big.tsv", "".join(rows)))
    assert data.report["kept"] == 30_000
    assert len(data.train) + len(data.valid) + len(data.test) == 30_000


# ------------------------------------------------------------------------------------------ errors

def test_missing_file_is_named(tmp_path):
    missing = str(tmp_path / "nope.tsv")
    with pytest.raises(CorpusError, match="file not found") as caught:
        load_tsv(missing)
    assert caught.value.file == missing and caught.value.line is None


def test_directory_is_not_a_regular_file(tmp_path):
    with pytest.raises(CorpusError, match="is a directory"):
        load_tsv(tmp_path)


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="empty file"):
        load_tsv(write(tmp_path, "empty.tsv", b""))


def test_empty_gzip_is_refused(tmp_path):
    with pytest.raises(CorpusError, match="empty after gzip decompression"):
        load_tsv(write(tmp_path, "empty.tsv.gz", gzip.compress(b"")))


def test_only_blank_lines_give_no_usable_pairs(tmp_path):
    with pytest.raises(CorpusError, match="no usable pairs: all 3 lines are blank"):
        load_tsv(write(tmp_path, "blank.tsv", "\n  \n\t\n".replace("\t", " ")))


def test_all_pairs_too_long_says_to_raise_max_len(tmp_path):
    with pytest.raises(CorpusError, match="max_len=1"):
        load_tsv(write(tmp_path, "eng-fra.txt", tsv_text()), CorpusOptions(max_len=1))


def test_no_tab_on_most_lines_names_the_first_bad_line(tmp_path):
    content = "Go.\tVa !\nHello world\nHi Salut\nThanks Merci\n"
    with pytest.raises(CorpusError) as caught:
        load_tsv(write(tmp_path, "eng-fra.txt", content))
    err = caught.value
    assert err.line == 2 and "no tab between source and target" in err.reason
    assert str(err).startswith("eng-fra.txt, line 2: no tab") or ", line 2: no tab" in str(err)
    assert "'source<TAB>target[<TAB>attribution]'" in str(err) and "3 of 4 non-blank lines" in str(err)


def test_binary_content_names_the_line_of_the_first_nul(tmp_path):
    content = b"Go.\tVa !\n" + b"\x89PNG\x00\x00\x01\n\x00\x00\x00\x1a\n\x07\x00\x10\x00\n"
    with pytest.raises(CorpusError, match="binary") as caught:
        load_tsv(write(tmp_path, "image.tsv", content))
    assert caught.value.line == 2 and "NUL byte" in caught.value.reason


def test_latin1_text_names_line_and_byte_offset(tmp_path):
    content = "Go.\tVa !\nCoffee.\tCafé.\nSummer.\tÉté.\n".encode("latin-1")
    with pytest.raises(CorpusError) as caught:
        load_tsv(write(tmp_path, "latin1.tsv", content))
    err = caught.value
    # "Go.\tVa !\n" is 9 bytes, "Coffee.\tCaf" 11 more: the é is byte 20 of the file, byte 12 of line 2.
    assert err.line == 2 and "not valid UTF-8: byte 0xE9 at byte offset 20 (byte 12 of the line)" in err.reason
    assert "Latin-1" in err.reason


def test_byte_offset_counts_the_bom(tmp_path):
    content = b"\xef\xbb\xbf" + "Café.\tCafé.\nÉté.\tÉté.\n".encode("latin-1")
    with pytest.raises(CorpusError, match="byte offset 6 "):
        load_tsv(write(tmp_path, "bom.tsv", content))


def test_mismatched_line_counts_name_both_counts(tmp_path):
    src = write(tmp_path, "a.en", "Hi.\nGo.\nWait!\n")
    tgt = write(tmp_path, "a.fr", "Salut !\nVa !\n")
    with pytest.raises(CorpusError) as caught:
        load_parallel(src, tgt)
    assert "different line counts: a.en has 3 lines, a.fr has 2" in caught.value.reason
    assert caught.value.file == f"{src} + {tgt}"


def test_a_trailing_blank_line_in_one_file_is_not_a_mismatch(tmp_path):
    data = load_parallel(write(tmp_path, "a.en", "Hi.\nGo.\n\n"), write(tmp_path, "a.fr", "Salut !\nVa !"))
    assert data.report["kept"] == 2


def test_file_over_size_limit_is_refused_before_reading(tmp_path):
    with pytest.raises(CorpusError, match="max_bytes"):
        load_tsv(write(tmp_path, "eng-fra.txt", tsv_text()), CorpusOptions(max_bytes=100))


def test_gzip_that_decompresses_over_the_limit_is_refused(tmp_path):
    bomb = gzip.compress(tsv_text().encode() * 100)
    options = CorpusOptions(max_bytes=len(bomb) + 10)
    with pytest.raises(CorpusError, match="decompresses to over"):
        load_tsv(write(tmp_path, "small.tsv.gz", bomb), options)


def test_uploaded_bytes_over_the_limit_are_refused():
    with pytest.raises(CorpusError, match="max_bytes"):
        load_tsv_bytes(tsv_text().encode(), "upload.tsv", CorpusOptions(max_bytes=10))


def test_corrupt_gzip_is_a_corpus_error(tmp_path):
    packed = gzip.compress(tsv_text().encode() * 20)
    broken = packed[:20] + bytes(b ^ 0x5A for b in packed[20:60]) + packed[60:]
    with pytest.raises(CorpusError, match="corrupt gzip"):
        load_tsv(write(tmp_path, "broken.tsv.gz", broken))


def test_truncated_gzip_is_a_corpus_error(tmp_path):
    packed = gzip.compress(tsv_text().encode())
    with pytest.raises(CorpusError, match="corrupt gzip"):
        load_tsv(write(tmp_path, "cut.tsv.gz", packed[: len(packed) // 2]))


def test_zip_archive_is_refused_with_its_members_named(tmp_path):
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fra.txt", tsv_text())
    with pytest.raises(CorpusError, match=r"zip archive \(holding fra.txt\); unzip it"):
        load_tsv_bytes(buffer.getvalue(), "fra-eng.zip")


def test_utf16_text_is_refused_with_a_hint(tmp_path):
    with pytest.raises(CorpusError, match="UTF-16.*save it as UTF-8"):
        load_tsv(write(tmp_path, "notepad.tsv", tsv_text().encode("utf-16")))


def test_str_instead_of_bytes_is_a_type_error():
    with pytest.raises(TypeError, match="expected the file's bytes, got str"):
        load_tsv_bytes(tsv_text(), "upload.tsv")


def test_corpus_error_message_and_fields_survive_pickling():
    err = CorpusError("eng-fra.txt", "no tab between source and target", line=12)
    assert str(err) == "eng-fra.txt, line 12: no tab between source and target"
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.file, copy.line, copy.reason, str(copy)) == (err.file, 12, err.reason, str(err))
    assert isinstance(err, ValueError)
