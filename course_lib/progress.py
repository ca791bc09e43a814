"""What ``make course`` shows while it runs: a progress line per notebook, and nothing else.

Two jobs, both for the terminal of a learner who just typed ``make course``:

- :class:`CellProgress` is called by the notebook executor after each code cell and keeps one
  line up to date — cells done / total, elapsed time, and an estimate of what is left from the
  wall time recorded when the notebook was last published. On a terminal the line is redrawn
  in place; in a log (CI, a pipe) a line is printed at most every ``every`` seconds.
- :func:`stderr_to_log` sends everything written to file descriptor 2 — TensorFlow's C++
  start-up log ("failed call to cuInit", absl's "All log messages before ..."), Jupyter's
  "Kernel is running over TCP without encryption" — to a log file while a notebook runs. The
  kernel inherits the descriptor, so its C++ noise lands there too. Errors are not lost: a
  failing cell is reported by the runner from the executed notebook, and the log is named in
  the final summary.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["CellProgress", "format_duration", "stderr_to_log"]


def format_duration(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"``: short, for progress lines and tables."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"


class CellProgress:
    """Progress of one notebook, updated after each executed code cell.

    ``total`` is the number of code cells that will run; ``estimate`` the expected wall time
    in seconds (``None`` when unknown, e.g. a profile never published). Use it as the
    ``on_cell_executed`` hook of nbclient / papermill (it accepts the hook's keyword arguments).
    """

    def __init__(
        self,
        name: str,
        total: int,
        *,
        estimate: float | None = None,
        stream: TextIO | None = None,
        every: float = 30.0,
        clock: Any = time.perf_counter,
    ) -> None:
        if total < 0:
            raise ValueError(f"total must be >= 0, got {total}")
        self.name = name
        self.total = total
        self.estimate = estimate
        self.stream = stream if stream is not None else sys.stdout
        self.every = every
        self.clock = clock
        self.done = 0
        self.start = clock()
        self._last_print = -float("inf")
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self) -> str:
        """The progress text: ``05_vae  12/31 cells  1 min 10 s elapsed, about 2 min 40 s left``."""
        elapsed = self.clock() - self.start
        text = f"  {self.name}  {self.done}/{self.total} cells  {format_duration(elapsed)} elapsed"
        if self.estimate:
            left = self.estimate - elapsed
            text += (f", about {format_duration(left)} left" if left > 0
                     else f", {format_duration(-left)} over the usual {format_duration(self.estimate)}")
        return text

    def __call__(self, **_: Any) -> None:
        """One more cell done (nbclient calls it with ``cell=..., cell_index=..., ...``)."""
        self.done += 1
        now = self.clock()
        if self._interactive:
            self.stream.write("\r" + self.line().ljust(100)[:100])
            self.stream.flush()
        elif now - self._last_print >= self.every or self.done == self.total:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._last_print = now

    def finish(self) -> None:
        """End the in-place line (terminal only)."""
        if self._interactive:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def stderr_to_log(log_path: Path) -> Iterator[Path]:
    """Send file descriptor 2 (and ``sys.stderr``) to ``log_path`` (appended) inside the block."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_path, "ab", buffering=0) as log:
        os.dup2(log.fileno(), 2)
        try:
            yield log_path
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
