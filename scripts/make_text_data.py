"""Build the bundled sentence set ``data/wordnet-sentences.txt.bz2`` from the WordNet 3.0 database.

WordNet glosses hold short quoted example sentences (``"she choked with emotion when she
spoke about her deceased husband"``). This script takes every quoted example from the four
data files (``data.noun``, ``data.verb``, ``data.adj``, ``data.adv``) of the Debian package
``wordnet-base`` (``sudo apt-get install wordnet-base``; files in ``/usr/share/wordnet``),
normalises it with :func:`course_lib.text.normalise` (lower case; words, numbers and
apostrophes kept, every other character a separator), keeps sentences of
``text.MIN_TOKENS``..``text.MAX_TOKENS`` tokens, drops duplicates, and splits them at random
(``np.random.default_rng(0)``) into train / validation / test (80 / 10 / 10 %).

The output is a bzip2'd UTF-8 text file (bzip2 packs it to about 440 KB, gzip to 610 KB), one
sentence per line, ``split<TAB>sentence``, grouped by split and within a split in random order
(so the first ``n`` training sentences are a random sample of them); bzip2 writes no time
stamp, so the same package version always gives the same bytes. Its SHA-256 is ``text.SENTENCES_SHA256``;
if a rebuild gives other bytes (another WordNet version) the script prints the new value to
paste there and exits 1. The WordNet licence is copied next to it as
``data/LICENSE-wordnet.txt``.

Usage::

    python scripts/make_text_data.py [--source /usr/share/wordnet] [--out data/wordnet-sentences.txt.bz2]
"""

from __future__ import annotations

import argparse
import bz2
import hashlib
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_lib import paths, text  # noqa: E402

DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")
SPLIT_FRACTIONS = {"train": 0.8, "validation": 0.1, "test": 0.1}
SEED = 0
_QUOTED = re.compile(r'"([^"]+)"')


def examples(source: Path) -> list[str]:
    """Every quoted example in the glosses of the four WordNet data files, in file order."""
    out: list[str] = []
    for name in DATA_FILES:
        path = source / name
        if not path.is_file():
            raise SystemExit(
                f"{path} not found: install the WordNet database with "
                "'sudo apt-get install wordnet-base' or pass --source DIR."
            )
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith(" ") or "|" not in line:  # the licence header / no gloss
                continue
            gloss = line.split("|", 1)[1]
            out.extend(_QUOTED.findall(gloss))
    return out


def build(source: Path) -> dict[str, list[str]]:
    """Normalised, length-filtered, de-duplicated sentences split at random (seed 0)."""
    seen: set[str] = set()
    kept: list[str] = []
    for raw in examples(source):
        tokens = text.normalise(raw)
        if not text.MIN_TOKENS <= len(tokens) <= text.MAX_TOKENS:
            continue
        sentence = " ".join(tokens)
        if sentence not in seen:
            seen.add(sentence)
            kept.append(sentence)
    order = np.random.default_rng(SEED).permutation(len(kept))
    n_train = int(round(SPLIT_FRACTIONS["train"] * len(kept)))
    n_val = int(round(SPLIT_FRACTIONS["validation"] * len(kept)))
    bounds = {"train": (0, n_train), "validation": (n_train, n_train + n_val),
              "test": (n_train + n_val, len(kept))}
    return {split: [kept[i] for i in order[a:b]] for split, (a, b) in bounds.items()}


def licence_text(copyright_file: str) -> str:
    """The WordNet stanza of the Debian copyright file (the ``Files: *`` part), as plain text."""
    stanza = copyright_file.split("Files: *", 1)[1].split("\nFiles:", 1)[0]
    body = []
    for line in stanza.splitlines():
        if line.startswith(("Copyright:", "License:")):
            body.append(line.split(":", 1)[1].strip())
        elif line.startswith(" "):
            body.append("" if line.strip() == "." else line[1:])
    header = ("WordNet 3.0 -- the source of data/wordnet-sentences.txt.bz2 (example sentences from its\n"
              "glosses, normalised and split by scripts/make_text_data.py). Licence as distributed\n"
              "with the Debian package wordnet-base (/usr/share/doc/wordnet-base/copyright):\n\n")
    return header + "\n".join(body).strip() + "\n"


def write(splits: dict[str, list[str]], out: Path) -> bytes:
    """Write the bzip2'd ``split<TAB>sentence`` lines (reproducible bytes)."""
    body = "".join(f"{split}\t{s}\n" for split in text.SPLITS for s in splits[split]).encode("utf-8")
    blob = bz2.compress(body, compresslevel=9)
    out.write_bytes(blob)
    return blob


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="/usr/share/wordnet", help="folder with WordNet's data.* files")
    parser.add_argument("--out", default=str(paths.data_dir() / text.SENTENCES_FILE))
    parser.add_argument("--licence", default="/usr/share/doc/wordnet-base/copyright")
    args = parser.parse_args(argv)

    splits = build(Path(args.source))
    out = Path(args.out)
    blob = write(splits, out)
    licence = Path(args.licence)
    if licence.is_file():
        (out.parent / text.LICENCE_FILE).write_text(licence_text(licence.read_text()))
    digest = hashlib.sha256(blob).hexdigest()
    counts = {k: len(v) for k, v in splits.items()}
    print(f"wrote {paths.display(out)}: {counts}, "
          f"{len(blob) / 1024:.0f} KB, sha256 {digest}")
    if digest != text.SENTENCES_SHA256:
        print(f"The checksum differs from text.SENTENCES_SHA256; paste this there:\n"
              f'SENTENCES_SHA256 = "{digest}"')
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
