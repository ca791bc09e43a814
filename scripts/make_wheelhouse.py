"""Build an offline workshop bundle: every pinned wheel for the supported platforms, and the data.

    python scripts/make_wheelhouse.py [--dest build/wheelhouse] [--python 3.11]    (make wheelhouse)

A room of 30 people installing 2.5 GB of TensorFlow over one Wi-Fi fails. The instructor runs
this once, at home, and copies the folder to a USB stick; each learner then installs with no
network at all::

    make setup WHEELHOUSE=/media/usb/wheelhouse

The folder holds:

- ``wheels/``: the wheels of every package pinned in ``constraints.txt`` (plus ``setuptools``
  and ``wheel``, which installing the course itself needs), for Linux x86-64 (resolved here,
  with pip's own resolver, exactly as ``make setup`` would) and for macOS arm64 (each pin
  downloaded for that platform, plus the few packages only macOS needs, then the whole set
  checked by a dry-run install for macOS from the folder alone, with the index disabled);
  pure-Python wheels are shared by both;
- ``fashion-mnist/``: the four files of the full data set, verified; ``make setup
  WHEELHOUSE=...`` copies them to ``data/fashion-mnist/``.

Only Python ``--python`` (default: the running interpreter's ``X.Y.Z``) is covered, because
binary wheels are built per Python version; run again with another ``--python`` to add one.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAC = ("macosx_14_0_arm64", "macosx_13_0_arm64", "macosx_12_0_arm64", "macosx_11_0_arm64")
# Packages that exist only on macOS in the course's dependency tree (environment markers).
MAC_ONLY = ("appnope",)
INSTALL_TOOLS = ("setuptools>=77", "wheel")


def _pins(constraints: Path) -> list[str]:
    return [line.strip() for line in constraints.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def _pip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)


def _platform_args(python: str) -> list[str]:
    args = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp"]
    for tag in MAC:
        args += ["--platform", tag]
    return args


def download_here(wheels: Path, constraints: Path) -> None:
    """This platform: resolve the course's own requirements like ``make setup`` does."""
    done = _pip("download", "-q", "-d", str(wheels), "-c", str(constraints),
                f"{ROOT}[dev]", *INSTALL_TOOLS)
    if done.returncode != 0:
        raise SystemExit(f"pip download failed for this platform:\n{done.stderr[-3000:]}")
    for built in wheels.glob("course_lib-*"):  # the course itself is installed from the clone
        built.unlink()
    for built in wheels.glob("course-lib-*"):
        built.unlink()


def download_mac(wheels: Path, constraints: Path, python: str) -> list[str]:
    """macOS arm64: every pin for that platform (no resolver: the pins are the resolution)."""
    missing = []
    for pin in [*_pins(constraints), *MAC_ONLY, *INSTALL_TOOLS]:
        done = _pip("download", "-q", "--no-deps", "-d", str(wheels), *_platform_args(python), pin)
        if done.returncode != 0:
            missing.append(pin)
    return missing


def check_mac(wheels: Path, constraints: Path, python: str) -> str:
    """A dry-run install for macOS arm64 from the folder alone: '' if it resolves, else pip's error."""
    requirements = ["tensorflow", "keras", "numpy", "matplotlib", "jupyterlab", "ipykernel",
                    "papermill", "nbformat", "nbclient", "nbval", "pytest", "ruff", "playwright"]
    done = _pip("install", "--dry-run", "--ignore-installed", "--no-index", "--find-links",
                str(wheels), "--target", str(wheels.parent / ".dry-run"), *_platform_args(python),
                "-c", str(constraints), *requirements)
    return "" if done.returncode == 0 else done.stderr[-3000:]


def copy_data(dest: Path) -> None:
    from course_lib import data

    folder = dest / "fashion-mnist"
    data.fetch_full(folder)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", type=Path, default=ROOT / "build" / "wheelhouse")
    # the full version: some pins require a patch release (soupsieve: >= 3.11.5), and pip reads
    # "3.11" as 3.11.0
    parser.add_argument("--python", default=".".join(map(str, sys.version_info[:3])))
    parser.add_argument("--no-mac", action="store_true", help="only this platform")
    args = parser.parse_args(argv)
    constraints = ROOT / "constraints.txt"
    wheels = args.dest / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"wheels for this platform -> {wheels}", flush=True)
    download_here(wheels, constraints)
    if not args.no_mac:
        print(f"wheels for macOS arm64, Python {args.python} ...", flush=True)
        missing = download_mac(wheels, constraints, args.python)
        if missing:
            print(f"  no macOS arm64 wheel for: {', '.join(missing)} (checked below)")
        problem = check_mac(wheels, constraints, args.python)
        shutil.rmtree(wheels.parent / ".dry-run", ignore_errors=True)
        if problem:
            print(f"  WARNING: the macOS arm64 set does not resolve offline:\n{problem}")
        else:
            print("  macOS arm64: a dry-run install from the folder alone resolves")
    print("the full Fashion-MNIST ...", flush=True)
    copy_data(args.dest)
    shutil.copy(ROOT / "constraints.txt", args.dest / "constraints.txt")
    size = sum(p.stat().st_size for p in args.dest.rglob("*") if p.is_file())
    count = len(list(wheels.glob("*")))
    print(f"wheelhouse ready: {args.dest} ({count} files in wheels/, {size / 1e9:.2f} GB in all, "
          f"{time.perf_counter() - start:.0f} s)")
    print(f"install with no network:  make setup WHEELHOUSE={args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
