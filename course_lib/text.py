"""Sentences for the sequence VAE: the bundled WordNet example sentences and a word vocabulary.

**Data.** ``data/wordnet-sentences.txt.bz2`` holds the short example sentences quoted in the
glosses of WordNet 3.0 (Princeton University; licence in ``data/LICENSE-wordnet.txt``), built by
``scripts/make_text_data.py`` from the Debian package ``wordnet-base``: lower case, words,
numbers and apostrophes kept (``"she's"``, ``"1990"``), any other character a separator,
``MIN_TOKENS``..``MAX_TOKENS`` words, duplicates dropped, a fixed random split (seed 0) into
train / validation / test (80 / 10 / 10 %). :func:`load_sentences` verifies its SHA-256.

**Vocabulary: words, not characters.** A sentence is 3-12 words but 15-70 characters. A
recurrent decoder's cost and the distance over which it must carry information both grow with
the sequence length, and a VAE's code has to survive that distance (Bowman et al. 2016 used
words). With words, a 12-token sentence is 14 decoder steps, cheap on a CPU; the price is a
larger softmax and unknown words, so :class:`Vocabulary` keeps the ``max_size`` most frequent
training words (rarer ones become ``[UNK]``) and reports how many tokens that covers.
Strings become ids with ``keras.layers.TextVectorization`` given this fixed vocabulary (no
``adapt``, whose order among equally frequent words is not fixed), splitting on whitespace
after :func:`normalise`.

**Encoding.** Id 0 is padding (``PAD``), 1 an unknown word (``UNK``), 2 the begin-of-sentence
token (``BOS``), 3 the end (``EOS``); words follow from 4 in order of frequency.
:meth:`Vocabulary.encode` turns each sentence into ``BOS w1 .. wn EOS`` padded with 0 to
``MAX_TOKENS + 2`` ids. A decoder is trained on *inputs* ``ids[:, :-1]`` to predict *targets*
``ids[:, 1:]`` (:func:`shift`): the next token at every position, ``EOS`` included, padding
masked out.
"""

from __future__ import annotations

import bz2
import collections
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import paths
from .data import DataIntegrityError, DataNotFoundError

SENTENCES_FILE = "wordnet-sentences.txt.bz2"
LICENCE_FILE = "LICENSE-wordnet.txt"
SENTENCES_SHA256 = "86aef5dc60276337447b94470652c3cb56f3e9b81891296dbf8934cf83daad1e"
SPLITS = ("train", "validation", "test")
MIN_TOKENS = 3
MAX_TOKENS = 12

PAD, UNK, BOS, EOS = 0, 1, 2, 3
SPECIAL = ("", "[UNK]", "<bos>", "<eos>")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
_FIX = (
    "Restore the file with 'git checkout data/" + SENTENCES_FILE + "', or rebuild it from the "
    "WordNet database: 'sudo apt-get install wordnet-base' then "
    "'python scripts/make_text_data.py'."
)


def normalise(sentence: str) -> list[str]:
    """Lower-case ``sentence`` and split it into words: ``"He's 3 years old!"`` -> ``["he's", "3", "years", "old"]``.

    Letters, digits and inner apostrophes make words; everything else (punctuation, hyphens,
    quotes) separates them. The bundled file went through this function, so a sentence typed
    in a notebook is tokenised the same way as the training data.
    """
    if not isinstance(sentence, str):
        raise TypeError(f"normalise: expected a string, got {type(sentence).__name__}.")
    return _TOKEN.findall(sentence.lower().replace("\u2019", "'"))


def sentences_path() -> Path:
    """Where the bundled file lives: ``<repository>/data/wordnet-sentences.txt.bz2``."""
    return paths.data_dir() / SENTENCES_FILE


def load_sentences(path: str | Path | None = None, *, verify: bool = True) -> dict[str, list[str]]:
    """The bundled sentences as ``{"train": [...], "validation": [...], "test": [...]}``.

    Each sentence is one string of space-separated normalised words. The file's SHA-256 must
    equal :data:`SENTENCES_SHA256` (``verify=False`` skips this, for a rebuilt file); a missing
    or damaged file raises :class:`~course_lib.data.DataNotFoundError` /
    :class:`~course_lib.data.DataIntegrityError` with the fix.
    """
    path = sentences_path() if path is None else Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"The sentence file {paths.display(path)} is missing. {_FIX}")
    blob = path.read_bytes()
    if verify and hashlib.sha256(blob).hexdigest() != SENTENCES_SHA256:
        raise DataIntegrityError(
            f"{paths.display(path)} is damaged or not the bundled version (its SHA-256 differs "
            f"from text.SENTENCES_SHA256). {_FIX}"
        )
    try:
        lines = bz2.decompress(blob).decode("utf-8").splitlines()
    except (OSError, EOFError, ValueError) as err:
        raise DataIntegrityError(f"{paths.display(path)} cannot be read ({err}). {_FIX}") from err
    out: dict[str, list[str]] = {split: [] for split in SPLITS}
    for n, line in enumerate(lines, start=1):
        split, sep, sentence = line.partition("\t")
        if not sep or split not in out or not sentence:
            raise DataIntegrityError(
                f"{paths.display(path)}, line {n}: expected 'split<TAB>sentence' with split one of "
                f"{SPLITS}, got {line[:60]!r}. {_FIX}"
            )
        out[split].append(sentence)
    return out


@dataclass(frozen=True)
class Vocabulary:
    """A fixed word list: ``words[i]`` is the token with id ``i`` (ids 0-3 are :data:`SPECIAL`).

    Build it from the training sentences with :meth:`from_sentences`; turn sentences into
    padded id arrays with :meth:`encode` and back with :meth:`decode`.
    """

    words: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.words[: len(SPECIAL)]) != SPECIAL:
            raise ValueError(f"A Vocabulary must start with the special tokens {SPECIAL}.")
        if len(set(self.words)) != len(self.words):
            raise ValueError("A Vocabulary must not list a word twice.")

    @classmethod
    def from_sentences(cls, sentences: Iterable[str], max_size: int = 4000, min_count: int = 1) -> Vocabulary:
        """The ``max_size - 4`` most frequent words seen at least ``min_count`` times.

        Ties in frequency are broken alphabetically, so the same sentences always give the same
        ids. Pass the *training* sentences only: validation words must be allowed to be unknown.
        """
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= len(SPECIAL):
            raise ValueError(f"max_size must be an integer > {len(SPECIAL)}, got {max_size!r}.")
        counts = collections.Counter(w for s in sentences for w in s.split())
        if not counts:
            raise ValueError("Vocabulary.from_sentences: no words in the sentences given.")
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        return cls(SPECIAL + tuple(ranked[: max_size - len(SPECIAL)]))

    @property
    def size(self) -> int:
        return len(self.words)

    def __len__(self) -> int:
        return len(self.words)

    def coverage(self, sentences: Iterable[str]) -> float:
        """Fraction of the words in ``sentences`` that are in the vocabulary (not ``[UNK]``)."""
        known = set(self.words[len(SPECIAL):])
        words = [w for s in sentences for w in s.split()]
        return float(np.mean([w in known for w in words])) if words else float("nan")

    def _vectorizer(self, length: int):
        import keras

        return keras.layers.TextVectorization(
            standardize=None, split="whitespace", output_mode="int",
            output_sequence_length=length, vocabulary=list(self.words[2:]),
        )

    def encode(self, sentences: Sequence[str] | str, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        """``BOS w1 .. wn EOS PAD ..`` ids, shape ``(N, max_tokens + 2)``, int32.

        Each sentence is :func:`normalise`'d first (so raw text works); unknown words become
        ``UNK``. A sentence of no words or more than ``max_tokens`` words is an error.
        """
        if isinstance(sentences, str):
            sentences = [sentences]
        sentences = list(sentences)
        if not sentences:
            raise ValueError("encode: no sentences given.")
        token_lists = [normalise(s) for s in sentences]
        for i, tokens in enumerate(token_lists):
            if not 1 <= len(tokens) <= max_tokens:
                raise ValueError(
                    f"encode: sentence {i} has {len(tokens)} words; this vocabulary encodes 1 to "
                    f"{max_tokens} (pass max_tokens=... for longer ones): {sentences[i][:60]!r}."
                )
        lines = [" ".join(["<bos>", *t, "<eos>"]) for t in token_lists]
        ids = self._vectorizer(max_tokens + 2)(np.array(lines, dtype=object))
        return np.asarray(ids, dtype=np.int32)

    def decode(self, ids, *, stop_at_eos: bool = True) -> list[str]:
        """Sentences from id arrays ``(N, T)``: ``BOS`` and ``PAD`` dropped, cut at the first ``EOS``."""
        ids = np.asarray(ids)
        if ids.ndim == 1:
            ids = ids[None]
        if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"decode: expected integer ids of shape (N, T), got {ids.shape} {ids.dtype}.")
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(f"decode: ids must be in 0..{self.size - 1}, got {ids.min()}..{ids.max()}.")
        out = []
        for row in ids:
            words = []
            for i in row:
                if i == EOS and stop_at_eos:
                    break
                if i not in (PAD, BOS):
                    words.append(self.words[i])
            out.append(" ".join(words))
        return out


def shift(ids) -> tuple[np.ndarray, np.ndarray]:
    """Teacher forcing: decoder ``inputs = ids[:, :-1]`` (from ``BOS``), ``targets = ids[:, 1:]``."""
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 2:
        raise ValueError(f"shift: expected ids of shape (N, T >= 2), got {ids.shape}.")
    return ids[:, :-1], ids[:, 1:]


def lengths(ids) -> np.ndarray:
    """Tokens per sentence that a decoder predicts: the words plus ``EOS`` (non-padding, non-``BOS``)."""
    ids = np.asarray(ids)
    return np.sum((ids != PAD) & (ids != BOS), axis=-1)
