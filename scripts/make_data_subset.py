"""Build the bundled Fashion-MNIST subset ``data/fashion-mnist-subset.npz`` from the full set.

The subset keeps 600 images per class from the official training split and 100 per class
from the official test split (6,000 + 1,000), chosen at random with seed 0 and kept in their
original order. It lets every notebook run without the full download; results on it are weaker.

The full set is found by the normal lookup of :func:`course_lib.data.load_fashion_mnist`
(no download, no subset), or taken from ``--source DIR``. The file stores ``x_train``,
``y_train``, ``x_test``, ``y_test`` and the indices into the official splits (``train_index``,
``test_index``), so anyone with the full set can check or rebuild it.

Usage::

    python scripts/make_data_subset.py [--source DIR] [--out FILE]

Afterwards the script reloads the file and compares its arrays with ``SUBSET_SHA256`` in
``course_lib/data.py``; if they differ it prints the new table to paste there and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from course_lib import data, paths  # noqa: E402


def build_subset(full: data.FashionMNIST, seed: int = data.SUBSET_SEED) -> dict[str, np.ndarray]:
    """The subset's arrays: stratified draws from the official train and test splits."""
    n_train = data.SUBSET_PER_CLASS["train"] * data.NUM_CLASSES
    n_test = data.SUBSET_PER_CLASS["test"] * data.NUM_CLASSES
    train_index = data._stratified_indices(full.y_train, n_train, seed)
    test_index = data._stratified_indices(full.y_test, n_test, seed)
    return {
        "x_train": full.x_train[train_index],
        "y_train": full.y_train[train_index],
        "x_test": full.x_test[test_index],
        "y_test": full.y_test[test_index],
        "train_index": train_index.astype(np.int64),
        "test_index": test_index.astype(np.int64),
    }


def checksums(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """SHA-256 of each array, in the layout of ``data.SUBSET_SHA256``."""
    return {key: data._sha256(arrays[key]) for key in data.SUBSET_ARRAYS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", help="folder with the four official idx files")
    parser.add_argument("--out", default=str(paths.data_dir() / data.SUBSET_FILE))
    args = parser.parse_args(argv)

    full = data.load_fashion_mnist(args.source, download=False, allow_subset=False)
    arrays = build_subset(full)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)

    with np.load(out, allow_pickle=False) as npz:
        written = checksums({key: npz[key] for key in data.SUBSET_ARRAYS})
    for split, y in (("train", arrays["y_train"]), ("test", arrays["y_test"])):
        print(f"{split}: {len(y)} images, per class {np.bincount(y, minlength=10).tolist()}")
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if written != data.SUBSET_SHA256:
        print("SUBSET_SHA256 in course_lib/data.py does not match; replace it with:")
        print("SUBSET_SHA256: dict[str, str] = {")
        for key, digest in written.items():
            print(f'    "{key}": "{digest}",')
        print("}")
        return 1
    print("checksums match SUBSET_SHA256 in course_lib/data.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
