"""The bundled WordNet sentences (checksum, splits, clear errors) and the word vocabulary."""

from __future__ import annotations

import bz2
import shutil

import numpy as np
import pytest

from course_lib import text
from course_lib.data import DataIntegrityError, DataNotFoundError


@pytest.fixture(scope="module")
def sentences():
    return text.load_sentences()


def test_bundled_file_loads_with_three_disjoint_splits_of_short_sentences(sentences):
    sizes = {k: len(v) for k, v in sentences.items()}
    assert set(sizes) == set(text.SPLITS)
    assert sizes["train"] > 30000 and sizes["validation"] > 4000 and sizes["test"] > 4000
    assert sizes["train"] == pytest.approx(8 * sizes["test"], rel=0.01)
    train, val, test = (set(sentences[k]) for k in text.SPLITS)
    assert not (train & val) and not (train & test) and not (val & test)
    lengths = [len(s.split()) for split in text.SPLITS for s in sentences[split]]
    assert min(lengths) == text.MIN_TOKENS and max(lengths) == text.MAX_TOKENS
    some = sentences["train"][:200]
    assert all(text.normalise(s) == s.split() for s in some)  # stored already normalised


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"missing.*git checkout.*wordnet-base.*make_text_data\.py"):
        text.load_sentences(tmp_path / text.SENTENCES_FILE)


def test_damaged_file_is_refused_with_the_fix(tmp_path):
    copy = tmp_path / text.SENTENCES_FILE
    shutil.copy(text.sentences_path(), copy)
    blob = bytearray(copy.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    copy.write_bytes(bytes(blob))
    with pytest.raises(DataIntegrityError, match=r"damaged.*SHA-256.*make_text_data\.py"):
        text.load_sentences(copy)
    copy.write_bytes(b"not bzip2 at all")
    with pytest.raises(DataIntegrityError, match=r"cannot be read"):
        text.load_sentences(copy, verify=False)
    copy.write_bytes(bz2.compress(b"train\tgood line\nwrong line\n"))
    with pytest.raises(DataIntegrityError, match=r"line 2: expected 'split<TAB>sentence'"):
        text.load_sentences(copy, verify=False)


def test_normalise_keeps_words_numbers_and_inner_apostrophes():
    assert text.normalise("He's 3 years old -- isn't he?") == ["he's", "3", "years", "old", "isn't", "he"]
    assert text.normalise("The well-known \u201cword\u201d") == ["the", "well", "known", "word"]
    with pytest.raises(TypeError, match="expected a string"):
        text.normalise(["a", "list"])


def test_vocabulary_ids_are_frequency_ordered_with_alphabetical_ties():
    vocab = text.Vocabulary.from_sentences(["b a c", "a b", "a d"], max_size=7)
    assert vocab.words == ("", "[UNK]", "<bos>", "<eos>", "a", "b", "c")  # c and d tie: c first
    assert (text.PAD, text.UNK, text.BOS, text.EOS) == (0, 1, 2, 3)
    assert vocab.coverage(["a d"]) == 0.5
    with pytest.raises(ValueError, match="max_size must be an integer > 4"):
        text.Vocabulary.from_sentences(["a"], max_size=4)
    with pytest.raises(ValueError, match="special tokens"):
        text.Vocabulary(("a", "b"))


def test_encode_and_decode_round_trip_with_bos_eos_padding_and_unk():
    vocab = text.Vocabulary.from_sentences(["the cat sat", "the dog sat down"])
    ids = vocab.encode(["The cat sat.", "the bird sat"], max_tokens=5)
    assert ids.shape == (2, 7) and ids.dtype == np.int32
    w = {word: i for i, word in enumerate(vocab.words)}
    np.testing.assert_array_equal(ids[0], [text.BOS, w["the"], w["cat"], w["sat"], text.EOS, 0, 0])
    assert ids[1, 2] == text.UNK
    assert vocab.decode(ids) == ["the cat sat", "the [UNK] sat"]
    assert vocab.decode(ids[0]) == ["the cat sat"]  # one row
    np.testing.assert_array_equal(text.lengths(ids), [4, 4])  # three words + EOS
    inputs, targets = text.shift(ids)
    np.testing.assert_array_equal(inputs, ids[:, :-1])
    np.testing.assert_array_equal(targets, ids[:, 1:])


def test_encode_and_decode_refuse_bad_input():
    vocab = text.Vocabulary.from_sentences(["a b c"])
    with pytest.raises(ValueError, match=r"sentence 1 has 4 words; this vocabulary encodes 1 to 3"):
        vocab.encode(["a b", "a b c a"], max_tokens=3)
    with pytest.raises(ValueError, match=r"sentence 0 has 0 words"):
        vocab.encode(["?!"])
    with pytest.raises(ValueError, match="no sentences"):
        vocab.encode([])
    with pytest.raises(ValueError, match=r"ids must be in 0..6"):
        vocab.decode(np.array([[2, 9, 3]]))
    with pytest.raises(ValueError, match="integer ids of shape"):
        vocab.decode(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"shift: expected ids of shape"):
        text.shift(np.array([1, 2, 3]))


def test_vocabulary_from_the_bundled_training_split(sentences):
    vocab = text.Vocabulary.from_sentences(sentences["train"], max_size=3000)
    assert vocab.size == 3000 and vocab.words[4] == "the"
    assert 0.7 < vocab.coverage(sentences["validation"]) < 0.9
    ids = vocab.encode(sentences["validation"][:50])
    assert ids.shape == (50, text.MAX_TOKENS + 2)
    assert np.all(ids[:, 0] == text.BOS) and np.all((ids == text.EOS).sum(1) == 1)
