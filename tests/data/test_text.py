"""attn.text: tokenizers and vocabularies."""
from __future__ import annotations

import unicodedata

import pytest

from attn.data.text import (BOS_ID, EOS_ID, PAD_ID, SPECIALS, TOKENIZERS, UNK, UNK_ID, Vocab, tokenize_chars, tokenize_words)


# ------------------------------------------------------------------------------------------ words

def test_word_tokenizer_splits_punctuation_off_words():
    assert tokenize_words("Hello, world!") == ["Hello", ",", "world", "!"]


def test_word_tokenizer_keeps_inner_hyphens():
    assert tokenize_words("Aidez-moi.") == ["Aidez-moi", "."]


@pytest.mark.parametrize("text, tokens", [
    ("l'homme", ["l'", "homme"]),
    ("qu'il", ["qu'", "il"]),
    ("jusqu'ici", ["jusqu'", "ici"]),
    ("C'est", ["C'", "est"]),
])
def test_french_elision_keeps_the_apostrophe_on_the_elided_word(text, tokens):
    assert tokenize_words(text) == tokens


def test_aujourd_hui_stays_one_token():
    assert tokenize_words("aujourd'hui") == ["aujourd'hui"]
    assert tokenize_words("Aujourd'hui, l'aujourd'hui.") == ["Aujourd'hui", ",", "l'", "aujourd'hui", "."]


def test_english_clitic_keeps_the_apostrophe_on_the_clitic():
    assert tokenize_words("it's") == ["it", "'s"]
    assert tokenize_words("I'm sure they're here.") == ["I", "'m", "sure", "they", "'re", "here", "."]


@pytest.mark.parametrize("apostrophe", ["\u2019", "\u2018", "\u02bc", "`"])
def test_typographic_apostrophes_read_as_the_ascii_one(apostrophe):
    assert tokenize_words(f"l{apostrophe}homme") == ["l'", "homme"]
    assert tokenize_words(f"it{apostrophe}s") == ["it", "'s"]


def test_word_tokenizer_normalises_to_nfc():
    decomposed = unicodedata.normalize("NFD", "été")
    assert tokenize_words(decomposed) == ["été"]


def test_word_tokenizer_of_blank_text_is_empty():
    assert tokenize_words("") == [] and tokenize_words("   ") == []


# ------------------------------------------------------------------------------------------ chars

def test_char_tokenizer_gives_one_token_per_character_spaces_included():
    assert tokenize_chars("3 May") == ["3", " ", "M", "a", "y"]


def test_char_tokenizer_normalises_to_nfc():
    assert tokenize_chars(unicodedata.normalize("NFD", "é")) == ["é"]


def test_tokenizers_registry_holds_word_and_char():
    assert TOKENIZERS == {"word": tokenize_words, "char": tokenize_chars}


# ------------------------------------------------------------------------------------------ vocab

SENTENCES = [["the", "cat", "sat"], ["the", "dog", "sat"], ["the", "cat", "ran"]]


def test_vocab_starts_with_the_specials_at_fixed_ids():
    vocab = Vocab.build(SENTENCES)
    assert vocab.itos[:4] == list(SPECIALS)
    assert [vocab.stoi[t] for t in SPECIALS] == [PAD_ID, UNK_ID, BOS_ID, EOS_ID] == [0, 1, 2, 3]


def test_vocab_build_orders_by_frequency_then_alphabet():
    assert Vocab.build(SENTENCES).itos[4:] == ["the", "cat", "sat", "dog", "ran"]


def test_vocab_build_min_freq_drops_rare_tokens():
    assert Vocab.build(SENTENCES, min_freq=2).itos[4:] == ["the", "cat", "sat"]


def test_vocab_build_max_size_counts_the_specials():
    vocab = Vocab.build(SENTENCES, max_size=6)
    assert len(vocab) == 6 and vocab.itos[4:] == ["the", "cat"]


def test_vocab_build_does_not_duplicate_specials_found_in_text():
    vocab = Vocab.build([["<unk>", "a"]])
    assert vocab.itos == list(SPECIALS) + ["a"]


def test_encode_maps_unknown_tokens_to_unk_id_1():
    vocab = Vocab.build(SENTENCES)
    assert vocab.encode(["the", "zebra"]) == [vocab.stoi["the"], 1]
    assert UNK_ID == 1


def test_decode_skips_bos_and_pad_and_stops_at_eos():
    vocab = Vocab.build(SENTENCES)
    the, cat = vocab.stoi["the"], vocab.stoi["cat"]
    assert vocab.decode([BOS_ID, the, PAD_ID, cat, EOS_ID, the, cat]) == ["the", "cat"]


def test_decode_reads_out_of_range_ids_as_unk():
    vocab = Vocab.build(SENTENCES)
    assert vocab.decode([len(vocab) + 5]) == [UNK]


def test_encode_then_decode_round_trips_known_tokens():
    vocab = Vocab.build(SENTENCES)
    assert vocab.decode(vocab.encode(["the", "dog", "ran"]) + [EOS_ID]) == ["the", "dog", "ran"]


def test_to_list_from_list_round_trip_keeps_every_id():
    vocab = Vocab.build(SENTENCES)
    again = Vocab.from_list(vocab.to_list())
    assert again.itos == vocab.itos and again.stoi == vocab.stoi


def test_from_list_refuses_a_list_without_the_specials_first():
    with pytest.raises(ValueError, match="must start with the special tokens"):
        Vocab.from_list(["the", "cat"])
    with pytest.raises(ValueError, match="must start with the special tokens"):
        Vocab.from_list(["<unk>", "<pad>", "<s>", "</s>", "the"])


def test_from_list_refuses_a_repeated_token():
    with pytest.raises(ValueError, match="'the' occurs more than once"):
        Vocab.from_list(list(SPECIALS) + ["the", "cat", "the"])


def test_from_list_refuses_a_special_token_stored_again_later():
    # Accepting it would drop it and shift "cat" from id 5 to id 4.
    with pytest.raises(ValueError, match="found '<pad>' at id 4"):
        Vocab.from_list(list(SPECIALS) + ["<pad>", "cat"])


def test_from_list_refuses_a_non_string_token():
    with pytest.raises(ValueError, match="found 7 at id 5"):
        Vocab.from_list(list(SPECIALS) + ["cat", 7])
