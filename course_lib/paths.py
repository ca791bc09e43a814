"""Where things live: the repository root, ``data/`` and ``build/``.

Notebooks run with ``notebooks/`` as their working directory, tests from the repository
root, and ``course_lib`` may be installed in editable mode or as a plain package. These
functions find the same folders in every case, and environment variables override them:

- ``COURSE_ROOT``: the repository root;
- ``COURSE_BUILD_DIR``: where executed notebooks and results go (default ``<root>/build``).
"""

from __future__ import annotations

import os
from pathlib import Path

_MARKER = "pyproject.toml"


def _looks_like_root(path: Path) -> bool:
    return (path / _MARKER).is_file() and (path / "course_lib").is_dir()


def repo_root() -> Path | None:
    """Return the course repository's root folder, or ``None`` if it cannot be found.

    Order: ``$COURSE_ROOT``; the folder holding this package (editable install); the
    current directory and its parents.
    """
    env = os.environ.get("COURSE_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parent.parent
    if _looks_like_root(here):
        return here
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if _looks_like_root(candidate):
            return candidate
    return None


def build_dir() -> Path:
    """Folder for generated artefacts (git-ignored): ``$COURSE_BUILD_DIR`` or ``<root>/build``."""
    env = os.environ.get("COURSE_BUILD_DIR")
    if env:
        return Path(env).expanduser().resolve()
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "build"


def results_dir() -> Path:
    """Folder where notebooks record their metrics: ``<build>/results``."""
    return build_dir() / "results"


def data_dir() -> Path:
    """The repository's ``data/`` folder (bundled subset, licence, ``make data`` target)."""
    root = repo_root()
    return (root if root is not None else Path.cwd()) / "data"


def display(path: str | os.PathLike[str]) -> str:
    """``path`` as a reader should see it: relative to the repository (or ``~``) when inside it.

    Notebook outputs are committed; an absolute path would publish the folder layout of the
    machine that ran them. Paths elsewhere (``/usr/share/datasets/...``) are shown as they are.
    """
    target = Path(path).expanduser()
    try:
        target = target.resolve()
    except OSError:
        return str(path)
    root = repo_root()
    if root is not None:
        try:
            return str(target.relative_to(root.resolve()))
        except ValueError:
            pass
    try:
        return str(Path("~") / target.relative_to(Path.home().resolve()))
    except (ValueError, RuntimeError):
        return str(target)
