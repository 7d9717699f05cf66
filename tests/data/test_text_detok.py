"""Word tokens back to running text for BLEU (detokenize_words) and the text the tokenizer reads."""
import pytest
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from attn.data.text import detokenize_words, normalize_text, tokenize_words

WRITTEN = ["Je vois l'homme.", "It's mine, isn't it?", "Qu'il vienne aujourd'hui !", "' quoted ' text",
           "Le chien court dans le jardin."]


@pytest.mark.parametrize("text", WRITTEN)
def test_detokenized_words_read_as_the_written_sentence_to_bleus_13a_tokenizer(text):
    assert Tokenizer13a()(detokenize_words(tokenize_words(text))) == Tokenizer13a()(text)


def test_apostrophes_go_back_on_the_elided_word_and_the_clitic():
    assert detokenize_words(["l'", "homme", "et", "it", "'s"]) == "l'homme et it's"


def test_normalize_text_is_what_the_tokenizer_reads():
    assert normalize_text("l\u2019e\u0301te\u0301") == "l'\u00e9t\u00e9"
    assert tokenize_words("l\u2019e\u0301te\u0301") == ["l'", "\u00e9t\u00e9"]
