"""Tests for course_lib.data: lookup order, integrity checks, download, subset and helpers.

Every test runs in an isolated environment (see ``isolated``): the repository root, Keras
cache and system data folder point into ``tmp_path``, downloads are off and the mirror is a
local address. Most tests use tiny synthetic idx files whose expected checksums replace
``data.FILES`` through ``data._expected``. Tests marked ``needs_full`` use the real set in
/usr/share/datasets/fashion-mnist and are skipped if it is not installed. Network access is
only ever to 127.0.0.1.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import warnings
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from course_lib import data

REPO = Path(__file__).resolve().parent.parent
REPO_SUBSET = REPO / "data" / "fashion-mnist-subset.npz"
REAL_DIR = Path("/usr/share/datasets/fashion-mnist")
NAMES = list(data.FILES)
TRAIN_X, TRAIN_Y, TEST_X, TEST_Y = NAMES

needs_full = pytest.mark.skipif(
    not all((REAL_DIR / f"{name}.gz").is_file() for name in NAMES),
    reason="full Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)


# --------------------------------------------------------------------------- helpers


def idx_bytes(arr: np.ndarray) -> bytes:
    """An uncompressed idx file holding the uint8 array ``arr``."""
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool = True) -> Path:
    raw = idx_bytes(arr)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def synthetic_arrays(n_train: int = 40, n_test: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """A tiny, balanced stand-in for Fashion-MNIST (labels cycle through 0..9)."""
    rng = np.random.default_rng(seed)
    return {
        TRAIN_X: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_Y: (np.arange(n_train) % 10).astype(np.uint8),
        TEST_X: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_Y: (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_set(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True, skip=()) -> Path:
    for name, arr in arrays.items():
        if name not in skip:
            write_idx(folder / (f"{name}.gz" if gz else name), arr, gz=gz)
    return folder


def expect(monkeypatch, arrays: dict[str, np.ndarray]) -> None:
    """Make the loader expect ``arrays`` (shape and SHA-256 of the payload) instead of FILES."""
    table = {
        name: {"shape": arr.shape, "sha256": hashlib.sha256(arr.tobytes()).hexdigest()}
        for name, arr in arrays.items()
    }
    monkeypatch.setattr(data, "_expected", table.__getitem__)


def idx_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """Point every lookup location into tmp_path; downloads off; mirror local; cache clear."""
    root = tmp_path / "repo"
    (root / "data").mkdir(parents=True)
    monkeypatch.setenv("COURSE_ROOT", str(root))
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_SYSTEM_DATA_DIR", str(tmp_path / "system"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"http://127.0.0.1:{closed_port()}/")
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    data._read_verified_cached.cache_clear()
    return root


@pytest.fixture
def repo_data(isolated) -> Path:
    return isolated / "data" / "fashion-mnist"


@pytest.fixture
def keras_dir(tmp_path) -> Path:
    return tmp_path / "keras" / "datasets" / "fashion-mnist"


@pytest.fixture
def system_dir(tmp_path) -> Path:
    return tmp_path / "system"


@pytest.fixture
def synthetic(monkeypatch) -> dict[str, np.ndarray]:
    arrays = synthetic_arrays()
    expect(monkeypatch, arrays)
    return arrays


@pytest.fixture
def with_subset(isolated) -> Path:
    """Put the repository's real bundled subset into the isolated repo's data/."""
    target = isolated / "data" / data.SUBSET_FILE
    shutil.copyfile(REPO_SUBSET, target)
    return target


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving ``served/``; yields (folder, base URL, log)."""
    served = tmp_path / "served"
    served.mkdir()
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{httpd.server_address[1]}/", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    arr = np.random.default_rng(1).integers(0, 256, (7, 28, 28), dtype=np.uint8)
    path = write_idx(tmp_path / ("a.gz" if gz else "a"), arr, gz=gz)
    out = data.read_idx(path)
    assert out.dtype == np.uint8 and out.shape == (7, 28, 28)
    np.testing.assert_array_equal(out, arr)
    labels = np.arange(13, dtype=np.uint8) % 10
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "l.gz", labels)), labels)


def test_read_idx_truncated_gz_names_file_and_fix(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((50, 28, 28), np.uint8) + 7)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(data.DataIntegrityError) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    assert "make data" in str(info.value)
    assert "truncated" in str(info.value)


def test_read_idx_payload_shorter_than_header_says(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.arange(10, dtype=np.uint8))[:-3])
    with pytest.raises(data.DataIntegrityError, match="truncated") as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"PK\x03\x04\x00\x00\x00\x00", "not an idx file"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x02", "0x0d"),
    ],
)
def test_read_idx_bad_magic_or_dtype(tmp_path, header, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(header + b"\x01\x02")
    with pytest.raises(data.DataIntegrityError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_missing_file_is_not_found(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="make data"):
        data.read_idx(tmp_path / "nope.gz")


# --------------------------------------------------------------------------- verification


def test_labels_out_of_range_are_refused(tmp_path, monkeypatch):
    arrays = synthetic_arrays()
    arrays[TEST_Y] = arrays[TEST_Y].copy()
    arrays[TEST_Y][3] = 12
    expect(monkeypatch, arrays)  # the checksum matches, so only the range check can catch it
    folder = write_set(tmp_path / "d", arrays)
    with pytest.raises(data.DataIntegrityError, match=r"0\.\.9") as info:
        data.load_fashion_mnist(folder, verbose=False)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value)


def test_wrong_content_is_refused_with_fix(tmp_path, synthetic):
    other = synthetic_arrays(seed=99)  # same shapes, other pixels
    folder = write_set(tmp_path / "d", {**synthetic, TRAIN_X: other[TRAIN_X]})
    with pytest.raises(data.DataIntegrityError, match="wrong content") as info:
        data.load_fashion_mnist(folder, verbose=False)
    message = str(info.value)
    assert str(folder / "train-images-idx3-ubyte.gz") in message
    assert "make data" in message and "COURSE_DATA_DIR" in message


def test_wrong_shape_is_refused(tmp_path, synthetic):
    folder = write_set(tmp_path / "d", {**synthetic, TEST_X: synthetic[TEST_X][:-1]})
    with pytest.raises(data.DataIntegrityError, match="shape") as info:
        data.load_fashion_mnist(folder, verbose=False)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)


def test_uncompressed_files_are_accepted(tmp_path, synthetic):
    folder = write_set(tmp_path / "plain", synthetic, gz=False)
    ds = data.load_fashion_mnist(folder, verbose=False)
    np.testing.assert_array_equal(ds.x_train, synthetic[TRAIN_X])
    np.testing.assert_array_equal(ds.y_test, synthetic[TEST_Y])


def test_returned_arrays_are_private_copies(tmp_path, synthetic):
    folder = write_set(tmp_path / "d", synthetic)
    first = data.load_fashion_mnist(folder, verbose=False)
    first.x_train[:] = 0
    first.y_train[:] = 9
    second = data.load_fashion_mnist(folder, verbose=False)
    np.testing.assert_array_equal(second.x_train, synthetic[TRAIN_X])
    np.testing.assert_array_equal(second.y_train, synthetic[TRAIN_Y])


def test_real_expectations_are_the_official_checksums():
    assert data.FILES[TRAIN_X]["shape"] == (60000, 28, 28)
    assert data.FILES[TEST_Y]["sha256"].startswith("3d0e6c6ea990b53b")
    assert data._expected(TRAIN_Y) is data.FILES[TRAIN_Y]


# --------------------------------------------------------------------------- lookup order


def test_lookup_order(tmp_path, monkeypatch, synthetic, repo_data, keras_dir, system_dir):
    explicit, env_dir = tmp_path / "explicit", tmp_path / "env"
    for folder in (explicit, env_dir, repo_data, keras_dir, system_dir):
        write_set(folder, synthetic)
    monkeypatch.setenv("COURSE_DATA_DIR", str(env_dir))

    def found(path=None):
        ds = data.load_fashion_mnist(path, verbose=False)
        assert ds.kind == "full" and not ds.is_subset
        return ds.location, Path(ds.source)

    assert found(explicit) == ("path argument", explicit)
    assert found() == ("COURSE_DATA_DIR", env_dir)
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert found() == ("data/fashion-mnist", repo_data)
    shutil.rmtree(repo_data)
    assert found() == ("keras cache", keras_dir)
    shutil.rmtree(keras_dir)
    assert found() == ("debian package", system_dir)


def test_keras_cache_defaults_to_home(tmp_path, monkeypatch, synthetic):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    folder = write_set(tmp_path / "home" / ".keras" / "datasets" / "fashion-mnist", synthetic)
    ds = data.load_fashion_mnist(verbose=False)
    assert (ds.location, Path(ds.source)) == ("keras cache", folder)


def test_search_locations_lists_the_order(tmp_path, monkeypatch, isolated, keras_dir, system_dir):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "env"))
    labels = [label for label, _ in data.search_locations()]
    assert labels == [
        "COURSE_DATA_DIR",
        "data/fashion-mnist",
        "keras cache",
        "debian package",
        "download",
        "bundled subset",
    ]
    places = dict(data.search_locations(tmp_path / "arg"))
    assert "COURSE_DATA_DIR" not in places  # an explicit path replaces the env variable
    assert places["path argument"] == tmp_path / "arg"
    assert places["data/fashion-mnist"] == isolated / "data" / "fashion-mnist"
    assert places["keras cache"] == keras_dir
    assert places["debian package"] == system_dir
    assert places["download"].startswith("http://127.0.0.1:")
    assert places["bundled subset"] == isolated / "data" / data.SUBSET_FILE


@pytest.mark.parametrize("make_empty_dir", [False, True])
def test_explicit_env_dir_missing_or_empty_is_an_error(
    tmp_path, monkeypatch, synthetic, system_dir, with_subset, make_empty_dir
):
    write_set(system_dir, synthetic)  # a good copy later in the order must NOT be used
    env_dir = tmp_path / "env"
    if make_empty_dir:
        env_dir.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(env_dir))
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist(verbose=False)
    message = str(info.value)
    assert "COURSE_DATA_DIR" in message and str(env_dir) in message
    assert ("none of the four" in message) == make_empty_dir


def test_missing_path_argument_is_an_error(tmp_path, with_subset):
    with pytest.raises(data.DataNotFoundError, match="does not exist"):
        data.load_fashion_mnist(tmp_path / "typo", verbose=False)


def test_incomplete_folder_names_missing_files(synthetic, repo_data, system_dir, with_subset):
    write_set(repo_data, synthetic, skip={TRAIN_Y, TEST_X})
    write_set(system_dir, synthetic)  # must not be reached: never fall through silently
    with pytest.raises(data.DataIntegrityError) as info:
        data.load_fashion_mnist(verbose=False)
    message = str(info.value)
    assert "incomplete" in message and str(repo_data) in message
    missing_part = message.split("but", 1)[1].split("missing")[0]
    assert (
        "train-labels-idx1-ubyte.gz" in missing_part and "t10k-images-idx3-ubyte.gz" in missing_part
    )
    assert "train-images-idx3-ubyte.gz" not in missing_part
    assert "make data" in message


def test_corrupt_location_is_not_skipped(synthetic, keras_dir, system_dir, with_subset):
    write_set(keras_dir, synthetic)
    bad = keras_dir / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    write_set(system_dir, synthetic)
    with pytest.raises(data.DataIntegrityError) as info:
        data.load_fashion_mnist(verbose=False)
    assert str(bad) in str(info.value) and "make data" in str(info.value)


def test_verbose_output_shows_where_data_came_from(capsys, synthetic, system_dir):
    write_set(system_dir, synthetic)
    ds = data.load_fashion_mnist()
    out = capsys.readouterr().out
    assert out.index("COURSE_DATA_DIR") < out.index("data/fashion-mnist") < out.index("keras cache")
    assert "debian package" in out and str(system_dir) in out and "verified" in out
    assert ds.summary() in out
    assert "40 train + 20 test" in ds.summary() and "debian package" in ds.summary()


# --------------------------------------------------------------------------- real full set


@needs_full
def test_real_full_set_loads_fast_and_verifies(monkeypatch):
    monkeypatch.setenv("COURSE_SYSTEM_DATA_DIR", str(REAL_DIR))
    start = time.perf_counter()
    ds = data.load_fashion_mnist(verbose=False, allow_subset=False)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"loading the full set took {elapsed:.2f} s"
    assert (ds.kind, ds.location, Path(ds.source)) == ("full", "debian package", REAL_DIR)
    assert ds.x_train.shape == (60000, 28, 28) and ds.x_test.shape == (10000, 28, 28)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert {a.dtype for a in (ds.x_train, ds.y_train, ds.x_test, ds.y_test)} == {np.dtype(np.uint8)}
    for name, arr in zip(NAMES, (ds.x_train, ds.y_train, ds.x_test, ds.y_test), strict=True):
        assert hashlib.sha256(arr.tobytes()).hexdigest() == data.FILES[name]["sha256"]
    assert np.bincount(ds.y_train, minlength=10).tolist() == [6000] * 10
    assert np.bincount(ds.y_test, minlength=10).tolist() == [1000] * 10
    assert ds.x_train.flags.writeable


@needs_full
def test_bundled_subset_is_reproducible_from_full_set():
    full = data.load_fashion_mnist(REAL_DIR, verbose=False)
    with np.load(REPO_SUBSET, allow_pickle=False) as npz:
        sub = {key: npz[key] for key in npz.files}
    np.testing.assert_array_equal(sub["x_train"], full.x_train[sub["train_index"]])
    np.testing.assert_array_equal(sub["y_test"], full.y_test[sub["test_index"]])
    x, y = data.stratified_subset(full.x_train, full.y_train, 6000, seed=0)
    np.testing.assert_array_equal(x, sub["x_train"])
    np.testing.assert_array_equal(y, sub["y_train"])
    x_tr, y_tr, x_val, y_val = data.validation_split(full.x_train, full.y_train, 5000, seed=0)
    assert len(x_tr) == 55000 and np.bincount(y_val).tolist() == [500] * 10


# --------------------------------------------------------------------------- download


def serve_set(served: Path, arrays: dict[str, np.ndarray]) -> None:
    write_set(served, arrays)


def test_download_success_writes_verified_files(monkeypatch, capsys, synthetic, server, repo_data):
    served, url, requests = server
    serve_set(served, synthetic)
    monkeypatch.delenv("COURSE_OFFLINE")
    monkeypatch.setenv("COURSE_DATA_MIRROR", url)
    ds = data.load_fashion_mnist()
    assert (ds.kind, ds.location, ds.source) == ("full", "download", url)
    np.testing.assert_array_equal(ds.x_train, synthetic[TRAIN_X])
    assert idx_files(repo_data) == sorted(f"{name}.gz" for name in NAMES)
    assert sorted(requests) == sorted(f"/{name}.gz" for name in NAMES)
    assert "downloading" in capsys.readouterr().out
    # now the repo copy is found first; no second download
    assert data.load_fashion_mnist(verbose=False).location == "data/fashion-mnist"
    assert len(requests) == 4


def test_fetch_full_downloads_into_dest(tmp_path, capsys, monkeypatch, synthetic, server):
    served, url, requests = server
    serve_set(served, synthetic)
    monkeypatch.delenv("COURSE_OFFLINE")
    dest = tmp_path / "dest"
    assert data.fetch_full(dest, mirror=url) == dest
    assert idx_files(dest) == sorted(f"{name}.gz" for name in NAMES)
    np.testing.assert_array_equal(data.read_idx(dest / f"{TEST_X}.gz"), synthetic[TEST_X])
    capsys.readouterr()
    assert data.fetch_full(dest, mirror=url) == dest  # already there: verified, not fetched again
    assert "already" in capsys.readouterr().out and len(requests) == 4


@pytest.mark.parametrize("damage", ["truncated", "other content", "not gzip"])
def test_corrupt_download_names_url_and_leaves_nothing(
    monkeypatch, synthetic, server, repo_data, damage
):
    served, url, _ = server
    serve_set(served, synthetic)
    target = served / f"{TRAIN_Y}.gz"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:-10])
    elif damage == "other content":
        write_idx(target, (synthetic[TRAIN_Y] + 1) % 10)
    else:
        target.write_bytes(b"<html>not found</html>")
    monkeypatch.delenv("COURSE_OFFLINE")
    monkeypatch.setenv("COURSE_DATA_MIRROR", url)
    with pytest.raises(data.DataIntegrityError) as info:
        data.load_fashion_mnist(verbose=False)
    assert f"{url}{TRAIN_Y}.gz" in str(info.value)
    assert "Nothing was saved" in str(info.value)
    assert idx_files(repo_data) == []  # neither the bad file nor the good ones nor temp files


def test_unreachable_mirror_falls_back_to_subset(monkeypatch, capsys, with_subset, repo_data):
    monkeypatch.delenv("COURSE_OFFLINE")
    port = closed_port()
    monkeypatch.setenv("COURSE_DATA_MIRROR", f"http://127.0.0.1:{port}/")
    with pytest.warns(data.SubsetWarning):
        ds = data.load_fashion_mnist()
    assert ds.kind == "subset" and ds.is_subset and ds.location == "bundled subset"
    out = capsys.readouterr().out
    assert f"127.0.0.1:{port}" in out and "failed" in out
    assert "+----" in out and "SUBSET" in out and "make data" in out
    assert idx_files(repo_data) == []


def test_fetch_full_unreachable_mirror_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("COURSE_OFFLINE")
    url = f"http://127.0.0.1:{closed_port()}/"
    with pytest.raises(data.DataNotFoundError) as info:
        data.fetch_full(tmp_path / "dest", mirror=url, verbose=False)
    assert url in str(info.value) and "apt-get install dataset-fashion-mnist" in str(info.value)
    assert idx_files(tmp_path / "dest") == []


def test_fetch_full_copies_a_local_copy(tmp_path, synthetic, system_dir, server):
    served, url, requests = server
    write_set(system_dir, synthetic)
    dest = tmp_path / "dest"
    assert data.fetch_full(dest, mirror=url, verbose=False) == dest
    assert idx_files(dest) == sorted(f"{name}.gz" for name in NAMES)
    assert data.load_fashion_mnist(dest, verbose=False).location == "path argument"
    assert requests == []


def test_fetch_full_offline_without_local_copy(tmp_path):
    with pytest.raises(data.DataNotFoundError, match="COURSE_OFFLINE"):
        data.fetch_full(tmp_path / "dest", verbose=False)


def test_download_false_skips_download_even_online(monkeypatch, capsys, server, with_subset):
    _, url, requests = server
    monkeypatch.delenv("COURSE_OFFLINE")
    monkeypatch.setenv("COURSE_DATA_MIRROR", url)
    with pytest.warns(data.SubsetWarning):
        ds = data.load_fashion_mnist(download=False)
    assert ds.is_subset and requests == []
    assert "skipped (download=False)" in capsys.readouterr().out


# --------------------------------------------------------------------------- no data anywhere


def test_offline_without_data_uses_subset_with_notice(capsys, with_subset):
    with pytest.warns(data.SubsetWarning, match="make data"):
        ds = data.load_fashion_mnist()
    out = capsys.readouterr().out
    box = [line for line in out.splitlines() if line.startswith(("|", "+"))]
    assert len(box) >= 5 and "weaker" in out and "apt-get install dataset-fashion-mnist" in out
    assert "skipped (COURSE_OFFLINE is set)" in out
    assert (len(ds.x_train), len(ds.x_test)) == (6000, 1000)
    assert "weaker" in ds.summary() and "data/fashion-mnist-subset.npz" in ds.summary()  # shown relative to the repository


def test_allow_subset_false_lists_every_place(isolated, keras_dir, system_dir, with_subset):
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_fashion_mnist(allow_subset=False, verbose=False)
    message = str(info.value)
    for place in (isolated / "data" / "fashion-mnist", keras_dir, system_dir, with_subset):
        assert str(place) in message
    for fix in (
        "make data",
        "apt-get install dataset-fashion-mnist",
        "COURSE_DATA_DIR",
        "COURSE_OFFLINE",
    ):
        assert fix in message


def test_missing_subset_is_an_error_with_fix(isolated):
    with pytest.raises(data.DataNotFoundError, match="git checkout data/fashion-mnist-subset.npz"):
        data.load_fashion_mnist(verbose=False)


# --------------------------------------------------------------------------- bundled subset


def test_bundled_subset_file_contents():
    assert REPO_SUBSET.is_file(), "data/fashion-mnist-subset.npz is missing"
    assert 2e6 < REPO_SUBSET.stat().st_size < 5e6
    with np.load(REPO_SUBSET, allow_pickle=False) as npz:
        sub = {key: npz[key] for key in npz.files}
    assert set(sub) == set(data.SUBSET_SHA256)
    assert sub["x_train"].shape == (6000, 28, 28) and sub["x_test"].shape == (1000, 28, 28)
    assert sub["x_train"].dtype == np.uint8 and sub["y_train"].dtype == np.uint8
    assert np.bincount(sub["y_train"], minlength=10).tolist() == [600] * 10
    assert np.bincount(sub["y_test"], minlength=10).tolist() == [100] * 10
    for key, arr in sub.items():
        assert hashlib.sha256(arr.tobytes()).hexdigest() == data.SUBSET_SHA256[key], key
    for index, size in ((sub["train_index"], 60000), (sub["test_index"], 10000)):
        assert np.all(np.diff(index) > 0) and 0 <= index[0] and index[-1] < size


def test_load_subset_through_lookup(with_subset):
    with pytest.warns(data.SubsetWarning):
        ds = data.load_fashion_mnist(verbose=False)
    assert (ds.kind, Path(ds.source)) == ("subset", with_subset)
    assert np.bincount(ds.y_train, minlength=10).tolist() == [600] * 10


def test_garbage_subset_file_is_an_integrity_error(with_subset):
    with_subset.write_bytes(b"this is not a zip file at all")
    with pytest.raises(data.DataIntegrityError) as info:
        data.load_fashion_mnist(verbose=False)
    assert str(with_subset) in str(info.value)
    assert "git checkout data/fashion-mnist-subset.npz" in str(info.value)


def test_tampered_subset_fails_checksum(with_subset):
    with np.load(with_subset, allow_pickle=False) as npz:
        sub = {key: npz[key] for key in npz.files}
    sub["x_test"][0, 0, 0] ^= 1
    np.savez_compressed(with_subset, **sub)
    with pytest.raises(data.DataIntegrityError, match="x_test.*checksum"):
        data.load_fashion_mnist(verbose=False)


def test_truncated_subset_is_an_integrity_error(with_subset):
    with_subset.write_bytes(with_subset.read_bytes()[:100_000])
    with pytest.raises(data.DataIntegrityError, match="git checkout"):
        data.load_fashion_mnist(verbose=False)


# --------------------------------------------------------------------------- array helpers


def test_to_float_scales_to_unit_range():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    out = data.to_float(x)
    assert out.dtype == np.float32 and out.shape == (1, 3)
    np.testing.assert_allclose(out, [[0.0, 128 / 255, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(data.to_float(np.array([0, 255], dtype=np.int64)), [0.0, 1.0])
    assert x[0, 2] == 255  # input untouched


def test_to_float_refuses_wrong_input():
    with pytest.raises(TypeError, match="already floats"):
        data.to_float(np.array([0.5], dtype=np.float32))
    with pytest.raises(TypeError, match="bool"):
        data.to_float(np.array([True]))
    with pytest.raises(ValueError, match=r"0\.\.255.*-1\.\.300"):
        data.to_float(np.array([-1, 300]))


def test_add_channel_axis():
    x = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    out = data.add_channel_axis(x)
    assert out.shape == (2, 28, 28, 1)
    np.testing.assert_array_equal(out[..., 0], x)
    with pytest.raises(ValueError, match="already"):
        data.add_channel_axis(out)
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        data.add_channel_axis(x[0])


def test_dynamic_binarize_samples_bernoulli():
    rng = np.random.default_rng(0)
    p = rng.random((100, 28, 28), dtype=np.float32)
    b = data.dynamic_binarize(p, rng=1)
    assert b.dtype == np.float32 and b.shape == p.shape
    assert set(np.unique(b).tolist()) <= {0.0, 1.0}
    assert abs(b.mean() - p.mean()) < 0.01
    # pixels with p = 0 or 1 are never / always on
    edges = np.array([0.0, 1.0] * 500, dtype=np.float32)
    np.testing.assert_array_equal(data.dynamic_binarize(edges), edges)


def test_dynamic_binarize_fresh_and_reproducible():
    p = np.full((50, 28, 28), 0.5, dtype=np.float32)
    assert not np.array_equal(data.dynamic_binarize(p), data.dynamic_binarize(p))
    np.testing.assert_array_equal(data.dynamic_binarize(p, 7), data.dynamic_binarize(p, 7))
    gen = np.random.default_rng(3)
    assert not np.array_equal(data.dynamic_binarize(p, gen), data.dynamic_binarize(p, gen))


def test_dynamic_binarize_refuses_wrong_input():
    with pytest.raises(TypeError, match="to_float"):
        data.dynamic_binarize(np.full((2, 28, 28), 200, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.dynamic_binarize(np.array([0.2, 1.5]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        data.dynamic_binarize(np.array([0.2, np.nan]))


def unbalanced_labels() -> np.ndarray:
    """Class c appears 20 * (c + 1) times, shuffled."""
    y = np.repeat(np.arange(10, dtype=np.uint8), [20 * (c + 1) for c in range(10)])
    return np.random.default_rng(5).permutation(y)


def test_validation_split_deterministic_disjoint_stratified():
    y = unbalanced_labels()  # 1,100 examples
    x = np.arange(len(y))  # each "image" is its own index, to track where it went
    x_tr, y_tr, x_val, y_val = data.validation_split(x, y, val_size=110, seed=0)
    assert len(x_val) == 110 and len(x_tr) == len(y) - 110
    assert set(x_tr.tolist()).isdisjoint(x_val.tolist())
    assert sorted([*x_tr.tolist(), *x_val.tolist()]) == list(range(len(y)))
    np.testing.assert_array_equal(y[x_val], y_val)
    np.testing.assert_array_equal(y[x_tr], y_tr)
    assert np.bincount(y_val, minlength=10).tolist() == [2 * (c + 1) for c in range(10)]
    again = data.validation_split(x, y, val_size=110, seed=0)
    np.testing.assert_array_equal(again[2], x_val)
    assert not np.array_equal(data.validation_split(x, y, val_size=110, seed=1)[2], x_val)


def test_validation_split_rounds_to_exact_size():
    y = np.arange(1000) % 10
    _, _, _, y_val = data.validation_split(np.zeros((1000, 2)), y, val_size=333)
    counts = np.bincount(y_val, minlength=10)
    assert counts.sum() == 333 and counts.max() - counts.min() <= 1


def test_validation_split_refuses_bad_sizes():
    y = np.arange(100) % 10
    with pytest.raises(ValueError, match="only 100 examples"):
        data.validation_split(np.zeros(100), y, val_size=5000)
    with pytest.raises(ValueError, match="val_size=0"):
        data.validation_split(np.zeros(100), y, val_size=0)
    with pytest.raises(ValueError, match="matching len"):
        data.validation_split(np.zeros(99), y, val_size=10)


def test_stratified_subset_counts_and_determinism():
    y = unbalanced_labels()
    x = np.arange(len(y))
    xs, ys = data.stratified_subset(x, y, 100, seed=0)
    assert np.bincount(ys, minlength=10).tolist() == [10] * 10
    np.testing.assert_array_equal(y[xs], ys)
    assert len(set(xs.tolist())) == 100
    np.testing.assert_array_equal(data.stratified_subset(x, y, 100, seed=0)[0], xs)
    assert not np.array_equal(data.stratified_subset(x, y, 100, seed=1)[0], xs)
    counts = np.bincount(data.stratified_subset(x, y, 25)[1], minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() <= 1


def test_stratified_subset_small_class_gets_all_it_has():
    y = np.array([0] * 3 + [1] * 50 + [2] * 50)
    _, ys = data.stratified_subset(np.zeros(len(y)), y, 63)
    assert np.bincount(ys).tolist() == [3, 30, 30]


def test_stratified_subset_refuses_too_many():
    y = np.arange(50) % 10
    with pytest.raises(ValueError, match="n=51"):
        data.stratified_subset(np.zeros(50), y, 51)


# --------------------------------------------------------------------------- CLI and import


def test_main_info_prints_lookup_order(capsys, with_subset):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert data.main(["info"]) == 0
    assert not [w for w in caught if issubclass(w.category, data.SubsetWarning)]  # box suffices
    out = capsys.readouterr().out
    positions = [
        out.index(label)
        for label in (
            "COURSE_DATA_DIR",
            "data/fashion-mnist",
            "keras cache",
            "debian package",
            "download",
            "bundled subset",
        )
    ]
    assert positions == sorted(positions)
    assert "disabled (COURSE_OFFLINE is set)" in out and "SUBSET" in out


def test_main_fetch_copies_and_reports_errors(tmp_path, capsys, synthetic, system_dir):
    assert data.main(["fetch", "--dest", str(tmp_path / "empty-offline")]) == 1
    assert "error:" in capsys.readouterr().err
    write_set(system_dir, synthetic)
    dest = tmp_path / "dest"
    assert data.main(["fetch", "--dest", str(dest), "--quiet"]) == 0
    assert idx_files(dest) == sorted(f"{name}.gz" for name in NAMES)


def test_importing_data_does_not_import_tensorflow():
    code = "import sys, course_lib.data; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.split() == ["False", "False"]


def _fake_dataset(n_train=1200, n_test=300, seed=0):
    rng = np.random.default_rng(seed)
    return data.FashionMNIST(
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.repeat(np.arange(10, dtype=np.uint8), n_train // 10),
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.repeat(np.arange(10, dtype=np.uint8), n_test // 10),
        source="synthetic",
        kind="subset",
        location="test",
    )


def test_prepare_splits_sizes_range_and_disjointness():
    ds = _fake_dataset()
    s = data.prepare_splits(ds, train_size=500, test_size=100)
    assert s.x_train.shape == (500, 28, 28) and s.x_val.shape == (120, 28, 28)  # 10 % of a small set
    assert s.x_test.shape == (100, 28, 28)
    assert s.x_train.dtype == np.float32 and 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    assert np.bincount(s.y_train).tolist() == [50] * 10
    flat_tr = {row.tobytes() for row in s.x_train}
    assert not flat_tr & {row.tobytes() for row in s.x_val}
    again = data.prepare_splits(ds, train_size=500, test_size=100)
    assert np.array_equal(again.x_train, s.x_train) and np.array_equal(again.x_val, s.x_val)
    assert "train (500, 28, 28)" in s.summary()


def test_prepare_splits_channel_axis_and_budget_larger_than_data():
    ds = _fake_dataset()
    s = data.prepare_splits(ds, train_size=10**6, val_size=200, channel_axis=True)
    assert s.x_train.shape == (1000, 28, 28, 1) and s.x_val.shape == (200, 28, 28, 1)
    assert s.x_test.shape == (300, 28, 28, 1)
