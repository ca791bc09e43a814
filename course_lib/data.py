"""Fashion-MNIST for the course: offline-first loading, integrity checks and small helpers.

Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747; MIT licence, Zalando SE)
holds 60,000 training and 10,000 test images of clothing: 28x28 pixels, uint8 grey levels
0..255, labels 0..9 (names in :data:`CLASS_NAMES`).

Where the data comes from
-------------------------
:func:`load_fashion_mnist` looks in these places, in this order, and uses the first one that
holds the data. With ``verbose=True`` (the default) it prints every step, so you always see
where your data came from.

1. the ``path`` argument, else ``$COURSE_DATA_DIR``. An explicit request is never skipped:
   a missing or empty folder raises :class:`DataNotFoundError`.
2. ``<repo>/data/fashion-mnist/`` -- what ``make data`` fills.
3. the Keras cache: ``$KERAS_HOME/datasets/fashion-mnist/`` or
   ``~/.keras/datasets/fashion-mnist/``.
4. ``/usr/share/datasets/fashion-mnist/`` from the Debian package ``dataset-fashion-mnist``
   (``$COURSE_SYSTEM_DATA_DIR`` overrides this folder).
5. a download from the official mirror (``$COURSE_DATA_MIRROR`` overrides it) into
   ``<repo>/data/fashion-mnist/``. ``download=False`` or ``$COURSE_OFFLINE=1`` skips it. A
   network failure is reported and the search goes on; a file that arrives corrupt is an error.
6. the bundled subset ``data/fashion-mnist-subset.npz``: 6,000 train + 1,000 test images,
   600 / 100 per class. A boxed notice says that results will be weaker on it.
   ``allow_subset=False`` turns this step off.

A folder holds the four official files (``train-images-idx3-ubyte.gz``,
``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``),
gzip-compressed or not (same names without ``.gz``). A folder counts as present if any of
them is there. Every file is decoded and checked against :data:`FILES` (shape and SHA-256 of
the decoded pixels or labels). A folder that is incomplete, or a file that is truncated or has
the wrong content, raises :class:`DataIntegrityError` naming the file and the fix: the search
never silently skips a broken copy and never returns a partial dataset.

Command line (what ``make data`` runs)::

    python -m course_lib.data fetch [--dest DIR] [--mirror URL]
    python -m course_lib.data info

This module uses only numpy and the standard library, so it imports fast (no TensorFlow).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from course_lib import paths


def _display_source(source: str) -> str:
    """A URL as it is; a file or folder relative to the repository or ``~`` (see paths.display)."""
    return source if "://" in source else paths.display(source)


CLASS_NAMES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)

# The four official files (keys: names without ".gz"). "sha256" is the digest of the decoded
# payload, i.e. the bytes after the idx header, so it is the same for .gz and plain files.
FILES: dict[str, dict] = {
    "train-images-idx3-ubyte": {
        "shape": (60000, 28, 28),
        "sha256": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
    },
    "train-labels-idx1-ubyte": {
        "shape": (60000,),
        "sha256": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
    },
    "t10k-images-idx3-ubyte": {
        "shape": (10000, 28, 28),
        "sha256": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
    },
    "t10k-labels-idx1-ubyte": {
        "shape": (10000,),
        "sha256": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
}
_TRAIN_X, _TRAIN_Y, _TEST_X, _TEST_Y = FILES

DEFAULT_MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DOWNLOAD_TIMEOUT = 10.0  # seconds per network operation
SYSTEM_DATA_DIR = "/usr/share/datasets/fashion-mnist"

# The bundled subset, written by scripts/make_data_subset.py (see data/README.md).
SUBSET_FILE = "fashion-mnist-subset.npz"
SUBSET_PER_CLASS = {"train": 600, "test": 100}
SUBSET_SEED = 0
SUBSET_ARRAYS: dict[str, tuple[tuple[int, ...], str]] = {
    "x_train": ((6000, 28, 28), "uint8"),
    "y_train": ((6000,), "uint8"),
    "x_test": ((1000, 28, 28), "uint8"),
    "y_test": ((1000,), "uint8"),
    "train_index": ((6000,), "int64"),
    "test_index": ((1000,), "int64"),
}
SUBSET_SHA256: dict[str, str] = {
    "x_train": "6d1bb288ed71c5ee2d77444f9c413269366e1444cc275fd0a7956d17971a296f",
    "y_train": "e0df31ca6376f4239ac55e03488402c1b779da7f91420b46a6dcda3284847873",
    "x_test": "fcd06c5ce61c9522e6deecd30edf852e71fdf70488250249b303387e97c3af02",
    "y_test": "95ca627a9e0c173bfcf2140d2530cefa11e1768fdd016c8b14faea43662cbce0",
    "train_index": "de9d71db4af8e49b997caea8f7c042339f837a98f22518c112320cd652378c17",
    "test_index": "d1ae2de232f9a682fc7c785cf5e3269b599fa9dd48e31c04bd6771c3827509ba",
}

_FULL_FIXES = (
    "  - run `make data` (copies a local copy, or downloads about 30 MB into data/fashion-mnist/)\n"
    "  - install the Debian package: `sudo apt-get install dataset-fashion-mnist`\n"
    "  - set COURSE_DATA_DIR to a folder holding the four files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz)"
)
_FIX_DOWNLOAD = (
    "Nothing was saved. Fix: run `make data` again later, set COURSE_DATA_MIRROR to another "
    "mirror, or install the Debian package (`sudo apt-get install dataset-fashion-mnist`)."
)
_FIX_SUBSET = "Fix: restore it with `git checkout data/fashion-mnist-subset.npz`."


# --------------------------------------------------------------------------- errors


class DataError(RuntimeError):
    """Base class: the data is missing or wrong. Messages say what is wrong and how to fix it."""


class DataIntegrityError(DataError):
    """A file is corrupt, truncated, incomplete or not the official one (message names it)."""


class DataNotFoundError(DataError):
    """The data is in none of the places looked (or an explicitly requested place is empty)."""


class SubsetWarning(UserWarning):
    """Emitted when the bundled subset is used instead of the full Fashion-MNIST."""


class _DownloadFailed(DataNotFoundError):
    """A network problem (refused, timeout, DNS, HTTP error): nothing arrived to verify."""


def _fix_local(file: str | os.PathLike) -> str:
    return (
        f"Fix: delete {file} and run `make data` (or `sudo apt-get install "
        "dataset-fashion-mnist`), or set COURSE_DATA_DIR to a folder holding a good copy."
    )


# --------------------------------------------------------------------------- the dataset


@dataclass(frozen=True, eq=False)
class FashionMNIST:
    """Fashion-MNIST as numpy arrays, plus where it came from.

    ``x_*`` are uint8 ``(N, 28, 28)`` images, ``y_*`` uint8 ``(N,)`` labels 0..9. ``kind`` is
    ``"full"`` or ``"subset"``; ``location`` names the lookup step that found it and
    ``source`` the folder, file or URL.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str
    kind: str
    location: str

    @property
    def is_subset(self) -> bool:
        """True if this is the small bundled subset rather than the full 70,000 images."""
        return self.kind == "subset"

    def summary(self) -> str:
        """One or two lines for the learner: how many images, which kind, where from."""
        what = "SUBSET of Fashion-MNIST" if self.is_subset else "Fashion-MNIST (full set)"
        line = (
            f"{what}: {len(self.x_train):,} train + {len(self.x_test):,} test images "
            f"({self.x_train.shape[1]}x{self.x_train.shape[2]} uint8, {NUM_CLASSES} classes), "
            f"from {self.location}: {_display_source(self.source)}"
        )
        if self.is_subset:
            line += (
                "\n  Results will be weaker than on the full 70,000 images; "
                "run `make data` to get them."
            )
        return line


# --------------------------------------------------------------------------- idx decoding


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Decode one idx file (gzip-compressed or plain) into a read-only uint8 array.

    The array is a view on the decoded bytes; ``.copy()`` it if you want to write to it.
    A truncated or malformed file raises :class:`DataIntegrityError` naming it and the fix.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataNotFoundError(
            f"{path} does not exist. Fix: check the path, or run `make data`."
        ) from exc
    except OSError as exc:
        raise DataError(
            f"cannot read {path}: {exc}. Fix: check the path and its permissions."
        ) from exc
    return _decode_idx(raw, str(path), _fix_local(path))


def _decode_idx(raw: bytes, what: str, fix: str) -> np.ndarray:
    """Decode idx bytes (gunzipping first if needed); ``what`` names the file or URL in errors."""
    if raw[:2] == b"\x1f\x8b" or what.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DataIntegrityError(
                f"{what} is truncated or not a valid gzip file ({exc}). {fix}"
            ) from exc
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[3] == 0:
        raise DataIntegrityError(
            f"{what} is not an idx file: it starts with bytes {raw[:4].hex(' ')!r}, "
            f"expected '00 00 08 0N'. {fix}"
        )
    if raw[2] != 0x08:
        raise DataIntegrityError(
            f"{what} stores idx data type 0x{raw[2]:02x}; Fashion-MNIST files store unsigned "
            f"bytes (0x08). {fix}"
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataIntegrityError(f"{what} is truncated inside its idx header. {fix}")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataIntegrityError(
            f"{what} is {problem}: its header promises shape {dims} ({expected:,} bytes) but "
            f"it holds {len(raw):,} bytes. {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _sha256(arr: np.ndarray) -> str:
    """SHA-256 of an array's raw bytes in C order (no copy if already contiguous)."""
    return hashlib.sha256(np.ascontiguousarray(arr).reshape(-1).data).hexdigest()


def _expected(name: str) -> Mapping:
    """Expected ``shape`` and ``sha256`` of one official file (tests swap in their own)."""
    return FILES[name]


def _verify(name: str, arr: np.ndarray, shape: tuple, sha256: str, what: str, fix: str) -> None:
    """Check a decoded file against its expected shape, label range and checksum."""
    if arr.shape != tuple(shape):
        raise DataIntegrityError(
            f"{what} has shape {arr.shape}, but {name} of Fashion-MNIST has shape "
            f"{tuple(shape)}: wrong or cut-short file. {fix}"
        )
    if "labels" in name and arr.size and int(arr.max()) >= NUM_CLASSES:
        raise DataIntegrityError(
            f"{what} holds labels outside 0..9 (largest: {int(arr.max())}): not Fashion-MNIST "
            f"labels. {fix}"
        )
    digest = _sha256(arr)
    if digest != sha256:
        raise DataIntegrityError(
            f"{what} has the wrong content: SHA-256 of its decoded data is {digest[:16]}..., "
            f"expected {sha256[:16]}... (corrupt or not the official file). {fix}"
        )


@lru_cache(maxsize=8)
def _read_verified_cached(
    path: str, size: int, mtime_ns: int, name: str, shape: tuple, sha256: str
) -> np.ndarray:
    """Decode and verify one file; cached by path, size, mtime and expectation (read-only)."""
    arr = read_idx(path)
    _verify(name, arr, shape, sha256, path, _fix_local(path))
    return arr


def _read_verified(path: Path, name: str) -> np.ndarray:
    """Decoded, verified, read-only contents of ``path`` (the official file ``name``)."""
    stat = path.stat()
    exp = _expected(name)
    return _read_verified_cached(
        str(path.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        name,
        tuple(exp["shape"]),
        exp["sha256"],
    )


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class _Place:
    """A folder where the four files may live."""

    label: str
    path: Path
    explicit: bool = False


def _repo_data_folder() -> Path:
    return paths.data_dir() / "fashion-mnist"


def _keras_folder() -> Path:
    home = os.environ.get("KERAS_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".keras"
    return base / "datasets" / "fashion-mnist"


def _system_folder() -> Path:
    return Path(os.environ.get("COURSE_SYSTEM_DATA_DIR") or SYSTEM_DATA_DIR)


def _subset_path() -> Path:
    return paths.data_dir() / SUBSET_FILE


def _mirror(mirror: str | None = None) -> str:
    return mirror or os.environ.get("COURSE_DATA_MIRROR") or DEFAULT_MIRROR


def _offline() -> bool:
    return os.environ.get("COURSE_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _download_allowed(download: bool | None) -> bool:
    return not _offline() if download is None else bool(download)


def _explicit_place(path: str | os.PathLike | None) -> _Place | None:
    if path is not None:
        return _Place("path argument", Path(path).expanduser(), explicit=True)
    env = os.environ.get("COURSE_DATA_DIR")
    if env:
        return _Place("COURSE_DATA_DIR", Path(env).expanduser(), explicit=True)
    return None


def _local_places(path: str | os.PathLike | None = None) -> list[_Place]:
    """Steps 1-4 of the lookup, in order (step 1 only if a path or COURSE_DATA_DIR is given)."""
    explicit = _explicit_place(path)
    return [
        *([explicit] if explicit else []),
        _Place("data/fashion-mnist", _repo_data_folder()),
        _Place("keras cache", _keras_folder()),
        _Place("debian package", _system_folder()),
    ]


def search_locations(path: str | os.PathLike | None = None) -> list[tuple[str, Path | str]]:
    """The lookup order of :func:`load_fashion_mnist`: ``(label, folder, file or URL)`` pairs."""
    places: list[tuple[str, Path | str]] = [(p.label, p.path) for p in _local_places(path)]
    places.append(("download", _mirror()))
    places.append(("bundled subset", _subset_path()))
    return places


def _find_files(folder: Path) -> dict[str, Path | None]:
    """Map each official file name to its ``.gz`` or plain copy in ``folder`` (or None)."""
    found: dict[str, Path | None] = {}
    for name in FILES:
        candidates = [folder / f"{name}.gz", folder / name]
        found[name] = next((c for c in candidates if c.is_file()), None)
    return found


def _check_complete(place: _Place, files: dict[str, Path | None]) -> dict[str, Path]:
    missing = [f"{name}.gz" for name, p in files.items() if p is None]
    if missing:
        present = [p.name for p in files.values() if p is not None]
        raise DataIntegrityError(
            f"{place.path} ({place.label}) is incomplete: it holds {', '.join(present)} but "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing "
            "(plain, uncompressed files without .gz are accepted too). Fix: copy the missing "
            f"file(s) there from the same source, or delete {place.path} and run `make data` "
            "(or `sudo apt-get install dataset-fashion-mnist`), or set COURSE_DATA_DIR to a "
            "complete copy."
        )
    return {name: p for name, p in files.items() if p is not None}


def _load_folder(
    place: _Place, files: dict[str, Path | None], source: str | None = None
) -> FashionMNIST:
    """Verify a folder's four files and return writable copies as a full dataset."""
    complete = _check_complete(place, files)
    arrays = {name: _read_verified(p, name).copy() for name, p in complete.items()}
    return FashionMNIST(
        x_train=arrays[_TRAIN_X],
        y_train=arrays[_TRAIN_Y],
        x_test=arrays[_TEST_X],
        y_test=arrays[_TEST_Y],
        source=source or str(place.path),
        kind="full",
        location=place.label,
    )


# --------------------------------------------------------------------------- download


def _check_mirror(mirror: str) -> str:
    scheme = urllib.parse.urlsplit(mirror).scheme
    if scheme not in {"http", "https", "file"}:
        raise DataError(
            f"mirror {mirror!r} is not a URL. Fix: give a base URL such as {DEFAULT_MIRROR!r} "
            "(argument --mirror or env COURSE_DATA_MIRROR)."
        )
    return mirror.rstrip("/") + "/"


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"timed out after {DOWNLOAD_TIMEOUT:g} s"
    return str(reason) or type(reason).__name__


def _fetch_to_temp(url: str, folder: Path, name: str) -> Path:
    """Stream ``url`` into a hidden temporary file in ``folder``; network errors -> _DownloadFailed."""
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as resp,
        ):
            shutil.copyfileobj(resp, out, 1 << 20)
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, refused, DNS
        tmp.unlink(missing_ok=True)
        raise _DownloadFailed(f"could not download {url}: {_reason(exc)}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _download_set(dest: Path, mirror: str, say: Callable[[str], None]) -> Path:
    """Download the four files into ``dest``; each is renamed into place only once all verify."""
    base = _check_mirror(mirror)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _DownloadFailed(f"cannot create {dest} to download into: {exc}") from exc
    temps: dict[str, Path] = {}
    try:
        for name in FILES:
            url = f"{base}{name}.gz"
            say(f"       downloading {url}")
            temps[name] = _fetch_to_temp(url, dest, name)
            raw = temps[name].read_bytes()
            exp = _expected(name)
            arr = _decode_idx(raw, url, _FIX_DOWNLOAD)
            _verify(name, arr, tuple(exp["shape"]), exp["sha256"], url, _FIX_DOWNLOAD)
            say(f"       ... {len(raw) / 1e6:.1f} MB, verified")
        for name in list(temps):
            os.replace(temps.pop(name), dest / f"{name}.gz")
    finally:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        if created and dest.is_dir() and not any(dest.iterdir()):
            dest.rmdir()
    return dest


# --------------------------------------------------------------------------- bundled subset


def _load_subset(path: Path) -> FashionMNIST:
    """Load and verify the bundled subset (no pickles; shapes, dtypes and checksums checked)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in SUBSET_ARRAYS if key not in npz.files]
            if missing:
                raise DataIntegrityError(
                    f"{path} lacks the arrays {missing}: it is not the course's subset. {_FIX_SUBSET}"
                )
            arrays = {key: npz[key] for key in SUBSET_ARRAYS}
    except DataIntegrityError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataIntegrityError(f"{path} is corrupt ({exc}). {_FIX_SUBSET}") from exc
    for key, (shape, dtype) in SUBSET_ARRAYS.items():
        arr = arrays[key]
        if arr.shape != shape or arr.dtype != np.dtype(dtype):
            raise DataIntegrityError(
                f"{path}: array {key} is {arr.dtype} {arr.shape}, expected {dtype} {shape}. "
                f"{_FIX_SUBSET}"
            )
        if _sha256(arr) != SUBSET_SHA256[key]:
            raise DataIntegrityError(
                f"{path}: array {key} has the wrong content (checksum mismatch). {_FIX_SUBSET}"
            )
    return FashionMNIST(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_test=arrays["x_test"],
        y_test=arrays["y_test"],
        source=str(path),
        kind="subset",
        location="bundled subset",
    )


def _box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 2) + "+"
    return "\n".join([rule, *(f"| {line:<{width}} |" for line in lines), rule])


def _subset_notice() -> str:
    return _box(
        [
            "NOTE: using the bundled SUBSET of Fashion-MNIST, not the full data set.",
            "  6,000 train + 1,000 test images (600 / 100 per class) instead of 70,000.",
            "  Everything runs, but results will be weaker than on the full set.",
            "To get the full set (about 30 MB), do one of:",
            "  make data                                  (copies a local copy or downloads)",
            "  sudo apt-get install dataset-fashion-mnist",
            "  export COURSE_DATA_DIR=/folder/with/the/four/idx/files",
        ]
    )


def _not_found_message(looked: list[str], subset_missing: bool = False) -> str:
    lines = "\n".join(f"  {line}" for line in looked)
    fixes = _FULL_FIXES
    if subset_missing:
        fixes += "\n  - or restore the bundled subset: `git checkout data/fashion-mnist-subset.npz`"
    return f"Fashion-MNIST was not found. Looked in, in order:\n{lines}\nFix (any one):\n{fixes}"


# --------------------------------------------------------------------------- loading


def _printer(verbose: bool) -> Callable[[str], None]:
    return print if verbose else (lambda _message: None)


def load_fashion_mnist(
    path: str | os.PathLike | None = None,
    *,
    download: bool | None = None,
    allow_subset: bool = True,
    verbose: bool = True,
) -> FashionMNIST:
    """Find, verify and load Fashion-MNIST, trying the places in the module docstring in order.

    ``download``: ``None`` downloads unless ``$COURSE_OFFLINE`` is set; ``True``/``False``
    force it on/off. ``allow_subset=False`` raises :class:`DataNotFoundError` instead of
    falling back to the bundled subset. The returned arrays are fresh, writable copies.
    """
    say = _printer(verbose)
    say("Fashion-MNIST: looking for the data (first match wins)")
    looked: list[str] = []
    if _explicit_place(path) is None:
        say("  1. COURSE_DATA_DIR       not set")
    for step, place in enumerate(_local_places(path), start=1 if _explicit_place(path) else 2):
        files = _find_files(place.path)
        if not any(files.values()):
            if place.explicit:
                raise DataNotFoundError(_explicit_missing_message(place))
            say(f"  {step}. {place.label:<20}  {paths.display(place.path)}: not found")
            looked.append(f"{step}. {place.label}: {place.path} (not found)")
            continue
        data = _load_folder(place, files)
        say(f"  {step}. {place.label:<20}  {paths.display(place.path)}: found, 4 files verified")
        say(data.summary())
        return data

    data = _try_download(download, say, looked)
    if data is not None:
        return data

    subset = _subset_path()
    if not allow_subset:
        looked.append(f"6. bundled subset: {subset} (not used: allow_subset=False)")
        raise DataNotFoundError(_not_found_message(looked))
    if not subset.is_file():
        looked.append(f"6. bundled subset: {subset} (missing)")
        raise DataNotFoundError(_not_found_message(looked, subset_missing=True))
    data = _load_subset(subset)
    say(f"  6. {'bundled subset':<20}  {paths.display(subset)}: found, verified")
    say(_subset_notice())
    say(data.summary())
    warnings.warn(
        SubsetWarning(
            "Using the bundled Fashion-MNIST subset (6,000 train / 1,000 test images): results "
            "will be weaker than on the full set. Run `make data` to get the full set."
        ),
        stacklevel=2,
    )
    return data


def _explicit_missing_message(place: _Place) -> str:
    if not place.path.exists():
        problem = "does not exist"
    elif not place.path.is_dir():
        problem = "is not a folder"
    else:
        problem = "holds none of the four Fashion-MNIST files"
    return (
        f"{place.label} points to {place.path}, which {problem}. It was asked for explicitly, so "
        "it is not skipped. Fix: point it at a folder holding train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
        "(e.g. /usr/share/datasets/fashion-mnist after `sudo apt-get install "
        "dataset-fashion-mnist`), or unset it to use the normal lookup."
    )


def _try_download(
    download: bool | None, say: Callable[[str], None], looked: list[str]
) -> FashionMNIST | None:
    """Step 5: download into data/fashion-mnist/; None if skipped or the network failed."""
    mirror = _mirror()
    if not _download_allowed(download):
        why = "download=False" if download is False else "COURSE_OFFLINE is set"
        say(f"  5. {'download':<20}  skipped ({why})")
        looked.append(f"5. download from {mirror} (skipped: {why})")
        return None
    dest = _repo_data_folder()
    say(f"  5. {'download':<20}  {mirror} -> {dest}")
    try:
        _download_set(dest, mirror, say)
    except _DownloadFailed as exc:
        say(f"       failed: {exc}; going on")
        looked.append(f"5. download from {mirror} (failed: {exc})")
        return None
    data = _load_folder(_Place("download", dest), _find_files(dest), source=mirror)
    say(f"       saved in {dest}")
    say(data.summary())
    return data


# --------------------------------------------------------------------------- make data


def _same_folder(a: Path, b: Path) -> bool:
    return a.expanduser().resolve() == b.expanduser().resolve()


def _copy_set(
    place: _Place, files: dict[str, Path | None], dest: Path, say: Callable[[str], None]
) -> None:
    """Verify a local copy, then copy its files into ``dest`` (each via temp file + rename)."""
    complete = _check_complete(place, files)
    for name, src in complete.items():
        _read_verified(src, name)
    dest.mkdir(parents=True, exist_ok=True)
    for src in complete.values():
        fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{src.name}.", suffix=".part")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp_name)
            os.replace(tmp_name, dest / src.name)
        finally:
            Path(tmp_name).unlink(missing_ok=True)
        say(f"  copied {src} -> {dest / src.name}")


def fetch_full(
    dest: str | os.PathLike | None = None, *, mirror: str | None = None, verbose: bool = True
) -> Path:
    """Put the verified full set into ``dest`` (default ``data/fashion-mnist/``) and return it.

    What ``make data`` runs. If ``dest`` already holds a good copy nothing happens; otherwise
    a copy found by the lookup (COURSE_DATA_DIR, Keras cache, Debian package) is copied, else
    the files are downloaded from ``mirror`` (default ``$COURSE_DATA_MIRROR`` or the official
    mirror). Raises :class:`DataError` (with the fix) if none of this works.
    """
    say = _printer(verbose)
    folder = Path(dest).expanduser() if dest is not None else _repo_data_folder()
    target = _Place("destination", folder)
    files = _find_files(folder)
    if any(files.values()):
        _load_folder(target, files)
        say(f"Fashion-MNIST is already in {folder} (4 files verified).")
        return folder
    for place in _local_places():
        if _same_folder(place.path, folder):
            continue
        found = _find_files(place.path)
        if not any(found.values()):
            if place.explicit:
                raise DataNotFoundError(_explicit_missing_message(place))
            say(f"  {place.label:<20}  {place.path}: not found")
            continue
        say(f"  {place.label:<20}  {place.path}: found, copying")
        _copy_set(place, found, folder, say)
        _load_folder(target, _find_files(folder))
        say(f"Fashion-MNIST is ready in {folder} (copied from {place.label}, verified).")
        return folder
    base = _mirror(mirror)
    if not _download_allowed(None):
        raise DataNotFoundError(
            f"No local copy of Fashion-MNIST was found and COURSE_OFFLINE is set, so it was not "
            f"downloaded from {base}. Fix (any one):\n  - unset COURSE_OFFLINE and run "
            f"`make data` again\n{_FULL_FIXES}"
        )
    say(f"  download             {base} -> {folder}")
    try:
        _download_set(folder, base, say)
    except _DownloadFailed as exc:
        raise DataNotFoundError(
            f"{exc}. No local copy was found either. Fix (any one):\n"
            f"  - check your network, or set COURSE_DATA_MIRROR to a reachable mirror\n{_FULL_FIXES}"
        ) from exc
    say(f"Fashion-MNIST is ready in {folder} (downloaded, verified).")
    return folder


# --------------------------------------------------------------------------- array helpers


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1] (a new array).

    Integer arrays with values in 0..255 are accepted too. Floats are refused, because an array
    that is already float may or may not be scaled and dividing twice is a silent bug.
    """
    x = np.asarray(x)
    if x.dtype == np.bool_ or not np.issubdtype(x.dtype, np.integer):
        raise TypeError(
            f"to_float expects integer pixel values 0..255 (uint8), got dtype {x.dtype}. "
            "If your images are already floats in [0, 1], use them as they are."
        )
    if x.size and (int(x.min()) < 0 or int(x.max()) > 255):
        raise ValueError(
            f"to_float expects pixel values in 0..255, got range {int(x.min())}..{int(x.max())}."
        )
    return x.astype(np.float32) / np.float32(255.0)


def add_channel_axis(x: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (N, H, W, 1), the channels-last layout Keras convolutions expect (a view)."""
    x = np.asarray(x)
    if x.ndim != 3:
        hint = (
            " It seems to have a channel axis already." if x.ndim == 4 and x.shape[-1] == 1 else ""
        )
        raise ValueError(
            f"add_channel_axis expects a batch of 2-D images with shape (N, H, W), got shape "
            f"{x.shape}.{hint}"
        )
    return x[..., np.newaxis]


def dynamic_binarize(x: np.ndarray, rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Sample black/white images: each pixel is 1 with probability equal to its intensity.

    ``x`` must be float in [0, 1] (use :func:`to_float` first). Returns float32 0/1. Call it
    anew every epoch to get a fresh sample (the usual trick for Bernoulli VAEs); pass a seed or
    a Generator for a reproducible sample.
    """
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(
            f"dynamic_binarize expects float intensities in [0, 1], got dtype {x.dtype}. "
            "Convert uint8 images with to_float(x) first."
        )
    if x.size and not (np.all(x >= 0.0) and np.all(x <= 1.0)):
        raise ValueError(
            f"dynamic_binarize expects intensities in [0, 1], got range "
            f"{np.nanmin(x):g}..{np.nanmax(x):g} (or NaN). Use to_float(x) on uint8 images."
        )
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return (generator.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def _check_xy(x: np.ndarray, y: np.ndarray, caller: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(
            f"{caller} expects labels y of shape (N,) matching len(x)={len(x)}, got y.shape={y.shape}."
        )
    return x, y


def _proportional_allocation(counts: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` over classes in proportion to ``counts`` (largest remainder, by class order)."""
    exact = counts * total / counts.sum()
    alloc = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - alloc), kind="stable")
    alloc[order[: total - alloc.sum()]] += 1
    return alloc


def _equal_allocation(counts: np.ndarray, n: int) -> np.ndarray:
    """Split ``n`` over classes as equally as possible without exceeding any class's count."""
    alloc = np.zeros_like(counts, dtype=np.int64)
    remaining = n
    while remaining > 0:
        open_classes = np.flatnonzero(alloc < counts)
        share, extra = divmod(remaining, len(open_classes))
        if share == 0:
            alloc[open_classes[:extra]] += 1
            break
        give = np.minimum(counts[open_classes] - alloc[open_classes], share)
        alloc[open_classes] += give
        remaining -= int(give.sum())
    return alloc


def _pick_per_class(y: np.ndarray, alloc: np.ndarray, classes: np.ndarray, seed: int) -> np.ndarray:
    """Randomly pick ``alloc[i]`` indices of class ``classes[i]``; sorted, deterministic."""
    rng = np.random.default_rng(seed)
    picked = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, alloc, strict=True)
    ]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _stratified_indices(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` examples, as equally many per class as possible (sorted)."""
    classes, counts = np.unique(y, return_counts=True)
    return _pick_per_class(y, _equal_allocation(counts, n), classes, seed)


def validation_split(
    x: np.ndarray, y: np.ndarray, val_size: int = 5000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Hold out ``val_size`` examples, stratified by class, the same ones for the same seed.

    Returns ``(x_train, y_train, x_val, y_val)``; both parts keep the original order. Use it
    to tune on data the test set never sees.
    """
    x, y = _check_xy(x, y, "validation_split")
    if not 0 < val_size < len(y):
        raise ValueError(
            f"val_size={val_size} must be between 1 and len(x)-1={len(y) - 1}: there are only "
            f"{len(y)} examples to split."
        )
    classes, counts = np.unique(y, return_counts=True)
    val_index = _pick_per_class(y, _proportional_allocation(counts, val_size), classes, seed)
    is_val = np.zeros(len(y), dtype=bool)
    is_val[val_index] = True
    return x[~is_val], y[~is_val], x[is_val], y[is_val]


def stratified_subset(
    x: np.ndarray, y: np.ndarray, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples with (as nearly as possible) equal counts per class; deterministic per seed."""
    x, y = _check_xy(x, y, "stratified_subset")
    if not 0 < n <= len(y):
        raise ValueError(f"n={n} must be between 1 and len(x)={len(y)}.")
    index = _stratified_indices(y, n, seed)
    return x[index], y[index]


@dataclass(frozen=True, eq=False)
class Splits:
    """Float images in [0, 1] and labels for training, validation and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def summary(self) -> str:
        return (
            f"train {self.x_train.shape}, validation {self.x_val.shape}, "
            f"test {self.x_test.shape}"
        )


def prepare_splits(
    ds: FashionMNIST,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
    val_size: int | None = None,
    channel_axis: bool = False,
    seed: int = 0,
) -> Splits:
    """The splits every notebook trains on, made the same way everywhere.

    Pixels go to float32 in [0, 1]; a fixed stratified validation set is held out of the
    training images (5,000 on the full set, 10 % on the bundled subset, unless ``val_size``
    is given); then ``train_size`` / ``test_size`` (a profile's budget; ``None`` = all) pick
    seeded stratified subsets. ``channel_axis=True`` gives (N, 28, 28, 1) for conv layers.
    """
    if val_size is None:
        val_size = 5000 if len(ds.y_train) > 20000 else len(ds.y_train) // 10
    x_tr, y_tr, x_val, y_val = validation_split(
        to_float(ds.x_train), ds.y_train, val_size=val_size, seed=seed
    )
    x_te, y_te = to_float(ds.x_test), ds.y_test
    if train_size is not None and train_size < len(y_tr):
        x_tr, y_tr = stratified_subset(x_tr, y_tr, train_size, seed=seed)
    if test_size is not None and test_size < len(y_te):
        x_te, y_te = stratified_subset(x_te, y_te, test_size, seed=seed)
    if channel_axis:
        x_tr, x_val, x_te = (add_channel_axis(a) for a in (x_tr, x_val, x_te))
    return Splits(x_tr, y_tr, x_val, y_val, x_te, y_te)


# --------------------------------------------------------------------------- command line


def _status(label: str, where: Path | str) -> str:
    if label == "download":
        return "disabled (COURSE_OFFLINE is set)" if _offline() else "enabled"
    where = Path(where)
    if label == "bundled subset":
        return "present" if where.is_file() else "missing"
    found = sum(p is not None for p in _find_files(where).values())
    return {0: "not found", len(FILES): "all 4 files present"}.get(
        found, f"INCOMPLETE ({found} of 4)"
    )


def _print_info() -> None:
    print("Fashion-MNIST lookup order (first match wins):")
    explicit = _explicit_place(None) is not None
    if not explicit:
        print(f"  1. {'COURSE_DATA_DIR':<20}  not set (set it to use your own copy)")
    for i, (label, where) in enumerate(search_locations(), start=1 if explicit else 2):
        print(f"  {i}. {label:<20}  {where}  [{_status(label, where)}]")
    print("\nWhat load_fashion_mnist() finds now (without downloading):")


def main(argv: list[str] | None = None) -> int:
    """Command line: ``fetch`` (what ``make data`` runs) and ``info``."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.data", description="Fashion-MNIST for the course."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="copy or download the full set into data/fashion-mnist/")
    fetch.add_argument("--dest", help="target folder (default: <repo>/data/fashion-mnist)")
    fetch.add_argument("--mirror", help=f"base URL to download from (default: {DEFAULT_MIRROR})")
    fetch.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    sub.add_parser("info", help="show the lookup order and what is found")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            fetch_full(args.dest, mirror=args.mirror, verbose=not args.quiet)
        else:
            _print_info()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SubsetWarning)  # the boxed notice says it already
                load_fashion_mnist(download=False)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
