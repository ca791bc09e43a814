"""Check the course's quality and speed targets against recorded results.

Targets come from the issues; the numbers come from ``build/results/*.json`` written by the
notebooks (run ``make course`` first, in the workshop profile, on the full data). Prints one
line per target and exits 1 if any target is missed or its result is absent.

    python scripts/check_targets.py [--dir build/results]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from typing import Any

from course_lib.results import load_results

BUDGET_SECONDS = 300  # workshop profile: at most 5 minutes per notebook


def _metric(result: Mapping[str, Any], name: str) -> Any:
    return result["metrics"][name]["value"]


def _mlp_vs_pca(r: Mapping[str, Any]) -> tuple[bool, str]:
    ratio = _metric(r, "mlp_ae_k32_test_mse") / _metric(r, "pca_k32_test_mse")
    return ratio <= 0.9, f"MLP AE / PCA test MSE at k=32 = {ratio:.3f} (target <= 0.9)"


def _beats_pca_everywhere(r: Mapping[str, Any]) -> tuple[bool, str]:
    ae, pca = _metric(r, "deep_ae_test_mse_by_k"), _metric(r, "pca_test_mse_by_k")
    worse = [k for k in ae if ae[k] >= pca[k]]
    return not worse, "deep AE below PCA at every k" if not worse else f"not below PCA at k={worse}"


def _gain_at_k2(r: Mapping[str, Any]) -> tuple[bool, str]:
    gain = 1 - _metric(r, "deep_ae_test_mse_by_k")["2"] / _metric(r, "pca_test_mse_by_k")["2"]
    return gain >= 0.30, f"deep AE error {gain:.1%} below PCA at k=2 (target >= 30%)"


def _probe(r: Mapping[str, Any]) -> tuple[bool, str]:
    acc = _metric(r, "probe_acc_code32")
    return acc >= 0.82, f"linear probe on the 32-d code: {acc:.4f} (target >= 0.82)"


TARGETS: dict[str, list[tuple[str, Callable[[Mapping[str, Any]], tuple[bool, str]]]]] = {
    "01_mlp_autoencoder": [("non-linear AE <= 0.9 x PCA at k=32", _mlp_vs_pca)],
    "02_deep_autoencoder": [
        ("deep AE beats PCA at every k", _beats_pca_everywhere),
        ("deep AE >= 30% better than PCA at k=2", _gain_at_k2),
        ("linear probe on code32 >= 0.82", _probe),
    ],
}


def check(results: list[Mapping[str, Any]]) -> list[tuple[str, bool, str]]:
    """(target, passed, detail) for every target and every notebook's time budget."""
    by_name = {r["notebook"]: r for r in results}
    rows = []
    for notebook, targets in TARGETS.items():
        r = by_name.get(notebook)
        for label, fn in targets:
            if r is None:
                rows.append((f"{notebook}: {label}", False, "no results: run `make course`"))
            elif r.get("profile") != "workshop" or r.get("data_kind") != "full":
                rows.append((f"{notebook}: {label}", False,
                             f"recorded with profile={r.get('profile')}, data={r.get('data_kind')}; "
                             "targets are for the workshop profile on the full data"))
            else:
                ok, detail = fn(r)
                rows.append((f"{notebook}: {label}", ok, detail))
    for r in results:
        seconds = r.get("run_seconds", r.get("wall_time_seconds"))
        if r.get("profile") == "workshop" and isinstance(seconds, int | float):
            rows.append((f"{r['notebook']}: workshop time", seconds <= BUDGET_SECONDS,
                         f"{seconds:.0f} s (budget {BUDGET_SECONDS} s)"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=None, help="results folder (default: build/results)")
    args = parser.parse_args(argv)
    rows = check(load_results(args.dir))
    for name, ok, detail in rows:
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    failed = sum(not ok for _, ok, _ in rows)
    print(f"{len(rows) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
