"""A small results recorder: each notebook's key numbers, in one table for the whole course.

A notebook creates a :class:`ResultsRecorder`, records its key metrics as it goes and saves
``build/results/<notebook>.json`` at the end, together with its wall time, compute profile,
data source and environment. The pipeline then runs::

    python -m course_lib.results summary [--dir D]

which writes ``summary.md`` (one Markdown table) next to the JSON files.

Example::

    rec = ResultsRecorder("01_mlp_autoencoder", profile=prof.name, data_source=src)
    mse = model.evaluate(x_test, x_test, verbose=0)
    rec.record("test_mse", mse, unit="per pixel")
    rec.claim("The autoencoder beats PCA at the same code size", mse < pca_mse,
              autoencoder=mse, pca=pca_mse)
    rec.save()

Claims (:mod:`course_lib.claims`) are the run-dependent sentences of a notebook, printed with
✓ or ✗ and saved beside the metrics as ``claims: [{"text", "holds", "values"}]``.

TensorFlow is never imported here: versions are read from package metadata, and the device
is looked up only if the notebook has already imported TensorFlow.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.metadata
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import claims as claims_module
from course_lib import paths

__all__ = ["ResultsRecorder", "format_summary", "load_results", "main", "write_summary"]

SUMMARY_NAME = "summary.md"
_MAX_ARRAY_SIZE = 1000  # larger arrays are not "key metrics": record a summary of them
_SIG_DIGITS = 4
_MAX_ITEMS_SHOWN = 6  # dicts/lists longer than this are elided in the summary table
_REQUIRED_KEYS = ("notebook", "profile", "metrics")

# Distribution names to try for each version (first found wins).
_DISTRIBUTIONS = {
    "numpy": ("numpy",),
    "keras": ("keras", "keras-nightly"),
    "tensorflow": (
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-gpu",
        "tensorflow-macos",
        "tensorflow-intel",
        "tf-nightly",
    ),
}


# --------------------------------------------------------------------------- value checking


def _to_jsonable(value: Any, where: str) -> Any:
    """Convert a metric value to plain JSON types, or raise ``ValueError`` saying where.

    Accepts bool/int/float/str, numpy scalars and arrays (small ones become lists), objects
    with a ``.numpy()`` method (TensorFlow/Keras tensors) and nested dicts/lists/tuples of
    those. NaN and infinity are rejected: a metric that is not a number is a bug to fix.
    """
    if hasattr(value, "numpy") and callable(value.numpy) and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        if value.size > _MAX_ARRAY_SIZE:
            raise ValueError(
                f"{where}: array of shape {value.shape} is too large to record "
                f"(max {_MAX_ARRAY_SIZE} elements); record a summary such as its mean"
            )
        value = value.item() if value.ndim == 0 else value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}; only finite numbers can be recorded")
        return float(value)
    if isinstance(value, Mapping):
        return {_key(k, where): _to_jsonable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(
        f"{where} has type {type(value).__name__}, which cannot be recorded; use a number, "
        "bool, str, numpy scalar/array, or a dict/list of those"
    )


def _key(key: Any, where: str) -> str:
    """Dict keys become strings (as JSON would make them); only str and int are allowed."""
    if isinstance(key, np.integer):
        key = int(key)
    if isinstance(key, str | int) and not isinstance(key, bool):
        return str(key)
    raise ValueError(f"{where}: dict key {key!r} must be a str or int")


def _check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{kind} must be a non-empty string; got {value!r}")
    return value


def _check_notebook(notebook: Any) -> str:
    """A notebook name like ``01_mlp_autoencoder``: non-empty, no folders, ``.ipynb`` dropped."""
    name = _check_name("notebook", notebook).removesuffix(".ipynb")
    if "/" in name or "\\" in name or os.sep in name or name in {".", ".."} or not name:
        raise ValueError(
            f"notebook must be a bare name like '01_mlp_autoencoder', not a path; got {notebook!r}"
        )
    return name


# --------------------------------------------------------------------------- environment


def _version(module: str) -> str:
    """Version of an installed package without importing it (importing TF takes seconds)."""
    loaded = sys.modules.get(module)
    if loaded is not None and isinstance(getattr(loaded, "__version__", None), str):
        return loaded.__version__
    for dist in _DISTRIBUTIONS.get(module, (module,)):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(dist)
    return "not installed"


def _device() -> str:
    """``"GPU: <name>"`` or ``"CPU"`` if TensorFlow is already imported, else "unknown (...)".

    Importing TensorFlow (and initialising a GPU) just to write a JSON file would be slow
    and could grab GPU memory, so the lookup happens only if the notebook imported it.
    """
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return "unknown (TensorFlow not imported)"
    try:
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return "CPU"
        details = tf.config.experimental.get_device_details(gpus[0]) or {}
        name = details.get("device_name") or gpus[0].name
        return f"GPU: {name}" + (f" (x{len(gpus)})" if len(gpus) > 1 else "")
    except Exception as exc:  # a report must never crash a notebook
        return f"unknown ({type(exc).__name__}: {exc})"


def _environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "keras": _version("keras"),
        "tensorflow": _version("tensorflow"),
        "device": _device(),
    }


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and ``os.replace``: readers never see
    half a file, even if the kernel dies mid-write."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- the recorder


class ResultsRecorder:
    """Collect one notebook's key metrics and write them to ``<results_dir>/<notebook>.json``.

    The wall clock starts when the recorder is created, so create it at the top of the
    notebook. Recording a name again overwrites it, because notebooks get re-run cell by cell.
    """

    def __init__(
        self,
        notebook: str,
        *,
        profile: str,
        data_source: str,
        data_kind: str = "full",
        results_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.notebook = _check_notebook(notebook)
        self.profile = _check_name("profile", profile)
        self.data_source = _check_name("data_source", data_source)
        self.data_kind = _check_name("data_kind", data_kind)
        self.results_dir = Path(results_dir) if results_dir is not None else paths.results_dir()
        self.started_at = _utc_now()
        self._t0 = time.perf_counter()
        self._metrics: dict[str, dict[str, Any]] = {}
        self._claims: dict[str, claims_module.Claim] = {}

    @property
    def path(self) -> Path:
        """Where :meth:`save` writes."""
        return self.results_dir / f"{self.notebook}.json"

    @property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """A copy of ``{name: {"value": ..., "unit": ..., "note": ...}}``."""
        return copy.deepcopy(self._metrics)

    def record(
        self, name: str, value: Any, *, unit: str | None = None, note: str | None = None
    ) -> None:
        """Record one metric (returns nothing, so a cell ending in it prints nothing).

        numpy scalars and tensors are stored as Python numbers; NaN, infinity and
        unserialisable values raise ``ValueError`` naming the metric.
        """
        _check_name("metric name", name)
        for kind, text in (("unit", unit), ("note", note)):
            if text is not None and not isinstance(text, str):
                raise ValueError(f"metric {name!r}: {kind} must be a string or None")
        clean = _to_jsonable(value, f"metric {name!r}")
        self._metrics[name] = {"value": clean, "unit": unit, "note": note}

    def claim(self, text: str, holds: Any, **values: Any) -> None:
        """State a run-dependent sentence with the condition that makes it true; print ✓/✗.

        ``values`` are the numbers the sentence rests on; they are printed beside it and saved.
        Stating the same sentence again (a re-run cell) replaces it. Returns nothing, so a
        cell that ends with a claim prints only its line.
        """
        made = claims_module.make_claim(text, holds, values)
        self._claims[made.text] = made
        print(claims_module.format_claim(made))
        if not made.holds and self.profile != "smoke":
            import warnings

            warnings.warn(
                f"claim does not hold in the {self.profile} profile: {made.text}",
                stacklevel=2,
            )

    @property
    def claims(self) -> list[dict[str, Any]]:
        """The claims stated so far, as saved: ``[{"text", "holds", "values"}]``."""
        return [c.to_dict() for c in self._claims.values()]

    def elapsed(self) -> float:
        """Seconds since the recorder was created."""
        return time.perf_counter() - self._t0

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload :meth:`save` writes (environment and finish time taken now)."""
        return {
            "notebook": self.notebook,
            "profile": self.profile,
            "data_source": self.data_source,
            "data_kind": self.data_kind,
            "metrics": self.metrics,
            "claims": self.claims,
            "wall_time_seconds": round(self.elapsed(), 1),
            "started_at": self.started_at,
            "finished_at": _utc_now(),
            "environment": _environment(),
        }

    def save(self) -> Path:
        """Write the JSON file atomically and return its path; call again to update it."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        _atomic_write_text(self.path, text)
        return self.path

    def __repr__(self) -> str:
        return (
            f"ResultsRecorder({self.notebook!r}, profile={self.profile!r}, "
            f"metrics={sorted(self._metrics)})"
        )


# --------------------------------------------------------------------------- loading


def _resolve_dir(results_dir: str | os.PathLike[str] | None) -> Path:
    return Path(results_dir) if results_dir is not None else paths.results_dir()


def _load_one(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed results file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"malformed results file {path}: expected a JSON object")
    missing = [k for k in _REQUIRED_KEYS if k not in data]
    if missing:
        raise ValueError(f"malformed results file {path}: missing keys {missing}")
    if not isinstance(data["metrics"], dict):
        raise ValueError(f"malformed results file {path}: 'metrics' must be an object")
    return data


def load_results(results_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every ``*.json`` results file in the folder, sorted by notebook name.

    A missing folder gives ``[]``; a malformed file raises ``ValueError`` naming the file.
    """
    folder = _resolve_dir(results_dir)
    if not folder.is_dir():
        return []
    results = [_load_one(p) for p in sorted(folder.glob("*.json"))]
    return sorted(results, key=lambda r: str(r["notebook"]))


# --------------------------------------------------------------------------- the summary


def _fmt_scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{_SIG_DIGITS}g}"
    return str(value)


def _fmt_value(value: Any) -> str:
    """Compact text for a metric value; long dicts/lists keep their ends and a count."""
    if isinstance(value, Mapping):
        parts = [f"{k}: {_fmt_value(v)}" for k, v in value.items()]
        return _elide(parts, "{", "}")
    if isinstance(value, list):
        return _elide([_fmt_value(v) for v in value], "[", "]")
    return _fmt_scalar(value)


def _elide(parts: Sequence[str], open_: str, close: str) -> str:
    if len(parts) <= _MAX_ITEMS_SHOWN:
        return open_ + ", ".join(parts) + close
    head, tail = parts[: _MAX_ITEMS_SHOWN - 2], parts[-1:]
    return f"{open_}{', '.join(head)}, ..., {', '.join(tail)}{close} ({len(parts)} items)"


def _fmt_metric(name: str, entry: Any) -> str:
    if isinstance(entry, Mapping) and "value" in entry:
        value, unit = entry.get("value"), entry.get("unit")
    else:  # tolerate hand-written files that store bare values
        value, unit = entry, None
    return f"{name} = {_fmt_value(value)}" + (f" {unit}" if unit else "")


def _fmt_seconds(seconds: Any) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _cell(text: str) -> str:
    """Make text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _row(result: Mapping[str, Any]) -> str:
    kind = result.get("data_kind", "?")
    source = result.get("data_source", "?")
    metrics = result.get("metrics", {})
    shown = "; ".join(_fmt_metric(k, v) for k, v in metrics.items()) or "(none)"
    claims = result.get("claims", [])
    cells = [
        result.get("notebook", "?"),
        result.get("profile", "?"),
        f"{kind}: {source}",
        _fmt_seconds(result.get("run_seconds", result.get("wall_time_seconds"))),
        claims_module.summarise_claims(claims) if isinstance(claims, list) else "?",
        shown,
    ]
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _notes(results: Sequence[Mapping[str, Any]]) -> list[str]:
    notes = []
    not_full = [r for r in results if r.get("data_kind", "full") != "full"]
    if not_full:
        which = ", ".join(f"{r['notebook']} ({r.get('data_kind')})" for r in not_full)
        notes.append(
            f"> **Note:** not run on the full dataset: {which}. These notebooks used the "
            "bundled subset (or other reduced data), so their metrics are not comparable "
            "with full-data runs."
        )
    profiles = sorted({str(r.get("profile")) for r in results})
    if len(profiles) > 1:
        groups = "; ".join(
            f"{p}: " + ", ".join(str(r["notebook"]) for r in results if str(r.get("profile")) == p)
            for p in profiles
        )
        notes.append(
            f"> **Note:** different compute profiles were mixed ({groups}); compare metrics "
            "only between notebooks run with the same profile."
        )
    return notes


def format_summary(results: Sequence[Mapping[str, Any]]) -> str:
    """The course summary as Markdown: a header line, one table row per notebook, notes."""
    lines = ["# Course results", ""]
    if not results:
        lines.append("_No results recorded yet: run the notebooks first._")
        return "\n".join(lines) + "\n"
    times = [r.get("run_seconds", r.get("wall_time_seconds")) for r in results]
    total = sum(t for t in times if isinstance(t, int | float) and not isinstance(t, bool))
    all_claims = [c for r in results for c in (r.get("claims") or [])]
    held = sum(1 for c in all_claims if c.get("holds") is True)
    lines += [
        f"{len(results)} notebook(s), total wall time {_fmt_seconds(total)}; "
        f"{held} of {len(all_claims)} checked claims hold.",
        "",
        "| notebook | profile | data | wall time | claims held | metrics |",
        "|---|---|---|---|---|---|",
        *(_row(r) for r in results),
    ]
    failed = [(r["notebook"], t) for r in results for t in claims_module.failed_claims(r.get("claims") or [])]
    if failed:
        lines += ["", "Claims that do not hold in this run:", ""]
        lines += [f"- {nb}: {claims_module.FAIL_MARK} {_cell(t)}" for nb, t in failed]
    notes = _notes(results)
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def write_summary(
    results_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the Markdown summary (default ``<results_dir>/summary.md``) and return its path."""
    folder = _resolve_dir(results_dir)
    target = Path(out) if out is not None else folder / SUMMARY_NAME
    _atomic_write_text(target, format_summary(load_results(folder)))
    return target


def record_run_time(
    notebook: str, seconds: float, results_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Add the whole-notebook wall time (kernel start included), measured by the runner.

    The recorder inside a notebook can only time what happens after it is created; the
    runner times the whole execution and stores it as ``run_seconds`` in the same file,
    which the summary then shows instead.
    """
    path = _resolve_dir(results_dir) / f"{_check_notebook(notebook)}.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: the notebook did not save its results (rec.save())."
        )
    data = _load_one(path)
    data["run_seconds"] = round(float(seconds), 1)
    _atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")
    return path


README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def _replace_block(path: Path, start: str, end: str, body: str) -> Path:
    text = path.read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1:
        raise ValueError(f"{path} needs exactly one {start} ... {end} block to update.")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    _atomic_write_text(path, f"{head}{start}\n{body.strip()}\n{end}{tail}")
    return path


def update_readme(
    readme: str | os.PathLike[str], results_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Replace the block between the results markers in ``readme`` with the current summary.

    Keeps the README's reference numbers generated from ``build/results`` (never typed).
    """
    table = format_summary(load_results(results_dir)).split("\n", 2)[2]  # drop the H1 title
    return _replace_block(Path(readme), README_START, README_END, table)


TIMINGS_START = "<!-- timings:start -->"
TIMINGS_END = "<!-- timings:end -->"


def format_timings(results: Sequence[Mapping[str, Any]]) -> str:
    """A compact table for planning a session: notebook, profile, wall time, training, claims."""
    lines = ["| notebook | profile | wall time | of which training | claims held |",
             "|---|---|---|---|---|"]
    total = 0.0
    for r in results:
        seconds = r.get("run_seconds", r.get("wall_time_seconds"))
        if isinstance(seconds, int | float):
            total += seconds
        train = (r.get("metrics", {}).get("train_seconds") or {}).get("value")
        claims = r.get("claims") or []
        lines.append(f"| {r.get('notebook')} | {r.get('profile')} | {_fmt_seconds(seconds)} | "
                     f"{_fmt_seconds(train) if isinstance(train, int | float) else '—'} | "
                     f"{claims_module.summarise_claims(claims)} |")
    lines.append(f"| all | | {_fmt_seconds(total)} | | |")
    return "\n".join(lines)


def update_timings(path: str | os.PathLike[str], results_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the timings table into the ``timings`` block of ``path`` (the instructors' guide)."""
    return _replace_block(Path(path), TIMINGS_START, TIMINGS_END,
                          format_timings(load_results(results_dir)))


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.results", description="Course results tools."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    summary = sub.add_parser("summary", help="write summary.md from the results JSON files")
    summary.add_argument("--dir", default=None, help="results folder (default: build/results)")
    summary.add_argument("--out", default=None, help="output file (default: <dir>/summary.md)")
    readme = sub.add_parser("readme", help="write the summary table into README.md's results block")
    readme.add_argument("readme", help="path of the README to update")
    readme.add_argument("--dir", default=None, help="results folder (default: build/results)")
    timings = sub.add_parser("timings", help="write the timings table into a document's timings block")
    timings.add_argument("document", help="e.g. docs/instructors.md")
    timings.add_argument("--dir", default=None, help="results folder (default: build/results)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``summary [--dir D] [--out F]`` (write the summary, print it), ``readme``, ``timings``."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "timings":
            print(f"updated {update_timings(args.document, args.dir)}")
            return 0
        if args.command == "readme":
            print(f"updated {update_readme(args.readme, args.dir)}")
            return 0
        target = write_summary(args.dir, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {target}")
    print(target.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
