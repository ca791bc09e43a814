"""Execute the course notebooks headless, publish their outputs, and export their figures.

This is what ``make course`` and the notebook tests call:

- ``python -m course_lib.runner run [--profile P] [--only 01 ...]`` executes every numbered
  notebook with papermill into ``build/notebooks/`` and writes ``build/results/summary.md``.
  The default profile is selected through ``$COURSE_PROFILE`` (no injected cell); any other
  profile is injected as the papermill parameter ``PROFILE``.
- ``--publish`` also copies the executed notebooks back into ``notebooks/`` with volatile
  metadata stripped, so committed notebooks carry real outputs of the default profile.
- ``python -m course_lib.runner figures NOTEBOOK [--out DIR]`` writes every PNG output of an
  executed notebook to files, so figures can be looked at outside Jupyter.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from course_lib import paths

KERNEL_NAME = "autoencoders-course"
KERNEL_DISPLAY_NAME = "Python (autoencoders course)"
# Cell metadata that changes on every run and would make diffs noisy.
_VOLATILE_CELL_KEYS = ("execution", "papermill")
_VOLATILE_NB_KEYS = ("papermill", "widgets")


@dataclass(frozen=True)
class NotebookRun:
    """Outcome of one notebook execution."""

    name: str
    output: Path
    seconds: float
    profile: str


def kernel_spec() -> dict:
    """The course kernel: this interpreter, with TensorFlow's C++ start-up log kept out of cells.

    TensorFlow 2.21 writes absl log lines (oneDNN, CUDA probing) straight to file descriptor 2,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says. ``capture_fd_output=False`` leaves such low-level
    output in the terminal that started Jupyter instead of pasting it into every notebook;
    Python warnings and errors still appear in the cells as usual.
    """
    return {
        "argv": [sys.executable, "-m", "ipykernel_launcher",
                 "--IPKernelApp.capture_fd_output=False", "-f", "{connection_file}"],
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
        "env": {"TF_CPP_MIN_LOG_LEVEL": "2"},
        "metadata": {"debugger": True},
    }


def ensure_kernel(prefix: str | os.PathLike | None = None) -> Path:
    """Register the course kernel in this environment (``<sys.prefix>/share/jupyter/kernels``).

    Idempotent; rewrites the spec if it points at another interpreter. Jupyter, papermill and
    nbval started from this environment all find it.
    """
    import json

    folder = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    spec = kernel_spec()
    target = folder / "kernel.json"
    if not target.is_file() or json.loads(target.read_text()) != spec:
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(spec, indent=1) + "\n")
    return target


def notebooks_dir() -> Path:
    root = paths.repo_root()
    if root is None:
        raise FileNotFoundError(
            "Cannot find the course repository (no pyproject.toml with course_lib/ above the "
            "current directory). Run from inside the repository or set COURSE_ROOT."
        )
    return root / "notebooks"


def list_notebooks(only: Iterable[str] | None = None) -> list[Path]:
    """Numbered notebooks (``NN_name.ipynb``) in course order, optionally filtered by prefix."""
    found = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if only:
        wanted = [str(o) for o in only]
        found = [p for p in found if any(p.stem.startswith(w) for w in wanted)]
        if not found:
            raise ValueError(f"No notebook matches {wanted}; available: {list_notebooks()}")
    return found


def published_seconds(path: Path) -> float | None:
    """The whole-notebook wall time of the run that was last published into ``path``, if recorded."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # an unreadable notebook fails later with papermill's own message
        return None
    value = nb.metadata.get("course", {}).get("published_run_seconds")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _count_code_cells(path: Path) -> int:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return sum(1 for c in nb.cells if c.cell_type == "code")


def run_notebook(
    path: Path,
    *,
    profile: str,
    out_dir: Path | None = None,
    inject: bool | None = None,
    timeout: int = 3600,
    progress: bool = False,
    log_path: Path | None = None,
) -> NotebookRun:
    """Execute one notebook with papermill in ``profile`` and return where it was written.

    ``inject=None`` injects the ``PROFILE`` parameter for every profile except the default
    one, which is selected by ``$COURSE_PROFILE`` so the executed copy has no injected cell.
    ``progress`` prints a progress line per cell (with an estimate from the last published
    run in the default profile); ``log_path`` receives everything written to stderr meanwhile
    (TensorFlow's C++ start-up log, the kernel's transport warning).
    """
    import papermill as pm

    from course_lib.profiles import DEFAULT_PROFILE, ENV_VAR, resolve_profile_name
    from course_lib.progress import CellProgress, stderr_to_log

    profile, _ = resolve_profile_name(profile)
    out_dir = out_dir or paths.build_dir() / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    ensure_kernel()
    if inject is None:
        inject = profile != DEFAULT_PROFILE
    parameters = {"PROFILE": profile} if inject else {}
    extra = {}
    hook = None
    if progress:
        estimate = published_seconds(path) if profile == DEFAULT_PROFILE else None
        hook = CellProgress(path.stem, _count_code_cells(path) + (1 if inject else 0),
                            estimate=estimate)
        extra["on_cell_executed"] = hook
    previous = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = profile
    start = time.perf_counter()
    quiet = stderr_to_log(log_path) if log_path is not None else contextlib.nullcontext()
    try:
        with quiet:
            pm.execute_notebook(
                str(path),
                str(output),
                parameters=parameters,
                kernel_name=KERNEL_NAME,
                cwd=str(path.parent),
                progress_bar=False,
                execution_timeout=timeout,
                **extra,
            )
    finally:
        if hook is not None:
            hook.finish()
        if previous is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = previous
    return NotebookRun(path.stem, output, time.perf_counter() - start, profile)


def strip_volatile(nb) -> object:
    """Remove run-specific metadata (timings, papermill bookkeeping) from a notebook in place."""
    for key in _VOLATILE_NB_KEYS:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in _VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.metadata.pop("collapsed", None)
            cell.metadata.pop("scrolled", None)
    return nb


def publish(executed: Path, dest: Path, run_seconds: float | None = None) -> Path:
    """Copy an executed notebook to ``dest`` with volatile metadata stripped.

    ``run_seconds`` (the whole run's wall time) is kept in the notebook's metadata as
    ``course.published_run_seconds``: ``make course`` estimates the time left from it.
    """
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    if any(
        "injected-parameters" in c.metadata.get("tags", []) for c in nb.cells
    ):
        raise ValueError(
            f"{executed} has an injected parameters cell: publish only default-profile runs."
        )
    strip_volatile(nb)
    if run_seconds is not None:
        nb.metadata["course"] = {"published_run_seconds": round(float(run_seconds), 1)}
    nbformat.validate(nb)
    nbformat.write(nb, dest)
    return dest


def export_figures(notebook: Path, out_dir: Path) -> list[Path]:
    """Write every ``image/png`` output of ``notebook`` to ``out_dir``; return the files."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, cell in enumerate(nb.cells):
        for j, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            if "image/png" in data:
                target = out_dir / f"{notebook.stem}_cell{i:03d}_{j}.png"
                target.write_bytes(base64.b64decode(data["image/png"]))
                written.append(target)
    return written


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failure_text(exc: BaseException) -> str:
    """A failing cell in a few lines: which cell, the error, the end of its traceback."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        lines = [f"cell {exc.cell_index} (execution count {exc.exec_count}) raised "
                 f"{exc.ename}: {exc.evalue}"]
        tb = [_ANSI.sub("", line) for line in (exc.traceback or [])]
        tail = "\n".join(tb).strip().splitlines()[-8:]
        return "\n".join(lines + ["    " + t for t in tail])
    return f"{type(exc).__name__}: {exc}"


def _key_metrics(notebook: str, limit: int = 4) -> str:
    """A short line of the notebook's first scalar metrics and its claims held / stated."""
    from course_lib.claims import summarise_claims
    from course_lib.results import load_results

    for result in load_results():
        if result.get("notebook") != notebook:
            continue
        shown = []
        for name, entry in result.get("metrics", {}).items():
            value = entry.get("value") if isinstance(entry, dict) else entry
            if isinstance(value, float):
                shown.append(f"{name} = {value:.4g}")
            elif isinstance(value, int) and not isinstance(value, bool):
                shown.append(f"{name} = {value}")
            if len(shown) == limit:
                break
        claims = result.get("claims") or []
        if claims:
            shown.append(f"claims held {summarise_claims(claims)}")
        return "; ".join(shown)
    return ""


def run_all(
    profile: str, only: Sequence[str] | None = None, *, publish_outputs: bool = False
) -> list[NotebookRun]:
    """Run the notebooks in order with a progress line each, then print a table and exit status.

    A failing notebook does not stop the others; the command then exits non-zero naming it.
    Everything the kernels write to stderr goes to ``build/logs/course.log``.
    """
    from course_lib.progress import format_duration
    from course_lib.results import record_run_time, write_summary

    log_path = paths.build_dir() / "logs" / "course.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(f"make course, profile {profile}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    notebooks = list_notebooks(only)
    print(f"[course] {len(notebooks)} notebook(s), profile {profile}; TensorFlow's start-up log "
          f"goes to {paths.display(log_path)}", flush=True)
    runs, rows, failed_names, refused = [], [], [], []
    for path in notebooks:
        print(f"[course] {path.name}", flush=True)
        output = (paths.build_dir() / "notebooks" / path.name)
        start = time.perf_counter()
        try:
            run = run_notebook(path, profile=profile, progress=True, log_path=log_path)
        except Exception as exc:  # report it, go on with the next notebook
            seconds = time.perf_counter() - start
            print(f"[course] {path.name} FAILED after {format_duration(seconds)}:\n"
                  f"  {_failure_text(exc)}", flush=True)
            failed_names.append(path.name)
            rows.append((path.stem, seconds, "FAILED", output))
            continue
        try:
            record_run_time(path.stem, run.seconds)
        except FileNotFoundError:
            print(f"[course] {path.name} saved no results (no rec.save())", flush=True)
        status = "ok"
        failed = failed_claims_of(path.stem)
        for text in failed:
            print(f"[course] {path.name}: claim does not hold: {text}", flush=True)
        if failed:
            status = f"ok, {len(failed)} claim(s) do not hold"
        metrics = _key_metrics(path.stem)
        print(f"[course] {path.name} done in {format_duration(run.seconds)}"
              + (f": {metrics}" if metrics else ""), flush=True)
        if publish_outputs:
            if failed:
                refused.append(path.name)
                status = "not published (claims)"
                print(f"[course] NOT published {path.name}: {len(failed)} claim(s) do not hold; "
                      "change the experiment or the sentence, then run again", flush=True)
            else:
                publish(run.output, path, run_seconds=run.seconds)
                status = "published"
                print(f"[course] published outputs into {paths.display(path)}", flush=True)
        runs.append(run)
        rows.append((path.stem, run.seconds, status, run.output))
    summary = write_summary()
    width = max([len(r[0]) for r in rows] + [8])
    print(f"\n{'notebook':<{width}}  {'wall time':>12}  {'status':<24}  executed copy")
    for name, seconds, status, output in rows:
        print(f"{name:<{width}}  {format_duration(seconds):>12}  {status:<24}  {paths.display(output)}")
    total = sum(r[1] for r in rows)
    print(f"{'total':<{width}}  {format_duration(total):>12}")
    print(f"[course] results: {paths.display(summary)}; log: {paths.display(log_path)}", flush=True)
    problems = []
    if failed_names:
        problems.append(f"failed: {', '.join(failed_names)} (see the error above and "
                        f"{paths.display(log_path)})")
    if refused:
        problems.append(f"not published (claims that do not hold): {', '.join(refused)}")
    if problems:
        raise SystemExit("[course] " + "; ".join(problems))
    return runs


def failed_claims_of(notebook: str) -> list[str]:
    """Texts of the claims in ``build/results/<notebook>.json`` that do not hold (none if absent)."""
    from course_lib.claims import failed_claims
    from course_lib.results import load_results

    for result in load_results():
        if result.get("notebook") == notebook:
            return failed_claims(result.get("claims") or [])
    return []


def main(argv: Sequence[str] | None = None) -> int:
    from course_lib.profiles import DEFAULT_PROFILE

    parser = argparse.ArgumentParser(prog="python -m course_lib.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebooks with papermill")
    run.add_argument("--profile", default=os.environ.get("COURSE_PROFILE") or DEFAULT_PROFILE)
    run.add_argument("--only", nargs="*", help="notebook number prefixes, e.g. 00 01")
    run.add_argument("--publish", action="store_true",
                     help="copy stripped outputs back into notebooks/ (default profile only)")
    sub.add_parser("kernel", help="register the course's Jupyter kernel in this environment")
    fig = sub.add_parser("figures", help="export the PNG figures of an executed notebook")
    fig.add_argument("notebook", type=Path)
    fig.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "run":
        if args.publish and args.profile != DEFAULT_PROFILE:
            parser.error(f"--publish is only for the default profile ({DEFAULT_PROFILE}).")
        run_all(args.profile, args.only, publish_outputs=args.publish)
        return 0
    if args.command == "kernel":
        print(f"kernel '{KERNEL_NAME}' registered: {ensure_kernel()}")
        return 0
    out = args.out or paths.build_dir() / "figures"
    files = export_figures(args.notebook, out)
    print(f"{len(files)} figure(s) written to {out}")
    for f in files:
        print(" ", f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
