"""Measure ``two_sample.prior_match_by_scale``: how genuine prior samples score, and mismatches.

The numbers in the docstring of ``course_lib/two_sample.py`` (and the default threshold of
``two_sample.matches_prior``) come from this script, run on the 2-core CPU. Each trial draws
10,000 codes and runs ``prior_match_by_scale(codes, prior.sample, n=2000, seed=trial)`` --
the setting of notebook 07: five disjoint sets of 2,000 codes, three prior draws each -- at
the scales 1, 1/2, 1/4, 1/8 and 1/16 of the median bandwidth (the last one only to see what
a still finer kernel would add). Run from the repository root::

    python scripts/measure_prior_match.py genuine 40    # codes = genuine prior samples (~4 min)
    python scripts/measure_prior_match.py mismatch 5    # codes of the wrong shape (~1.5 min)

``genuine`` prints, per prior (Gaussian, 10-Gaussian mixture, swiss roll), the 5 %, 50 %,
95 % and max of the ratio at each scale and of the worst ratio over the default scales: that
is the floor a perfect match shows. ``mismatch`` prints the median ratio per scale for codes
that differ from the prior in shape only (a uniform disc with the swiss roll's mean and
covariance), in covariance, or by a missing mode, and a few milder cases. Both write a JSON
file with every ratio (``--out``, default ``build/measure_prior_match_<part>.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from course_lib.priors import GaussianMixture2D, StandardGaussian, SwissRoll2D
from course_lib.two_sample import DEFAULT_SCALES, prior_match_by_scale

SCALES = (*DEFAULT_SCALES, 0.0625)
N, N_CODES = 2000, 10_000
PRIORS = {"gaussian": StandardGaussian(2), "mixture": GaussianMixture2D(), "swiss_roll": SwissRoll2D()}


def uniform_disc(n: int, seed: int, radius: float) -> np.ndarray:
    """``n`` points spread uniformly over a disc of ``radius`` around 0 (covariance radius²/4 I)."""
    rng = np.random.default_rng(seed)
    r = radius * np.sqrt(rng.uniform(size=n))
    t = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return np.stack([r * np.cos(t), r * np.sin(t)], axis=1)


_ROLL = SwissRoll2D().sample(200_000, seed=1).astype(np.float64)
ROLL_MEAN, ROLL_ROOT = _ROLL.mean(axis=0), np.linalg.cholesky(np.cov(_ROLL.T))
ROLL_RMS_RADIUS = float(np.sqrt((_ROLL**2).sum(axis=1).mean()))


def roll_disc(n: int, seed: int) -> np.ndarray:
    """A uniform disc (an ellipse) with the swiss roll's mean and covariance: its shape only differs."""
    return ROLL_MEAN + uniform_disc(n, seed, 2.0) @ ROLL_ROOT.T


def gaussian(n: int, seed: int, mean=(0.0, 0.0), root=None) -> np.ndarray:
    """``n`` points of N(mean, root rootᵀ); ``root=None`` is the identity."""
    root = np.eye(2) if root is None else np.asarray(root)
    return np.asarray(mean) + np.random.default_rng(seed).standard_normal((n, 2)) @ root.T


def missing_mode(n: int, seed: int) -> np.ndarray:
    """The mixture prior without its component 0: nine arms, each with 1/9 of the points."""
    z, component = GaussianMixture2D().sample_with_labels(2 * n, seed)
    return z[component != 0][:n]


MISMATCHES = {  # name: (prior, codes(n, seed))
    "disc with the roll's mean and covariance": ("swiss_roll", roll_disc),
    "disc centred on 0, the roll's rms radius": (
        "swiss_roll", lambda n, s: uniform_disc(n, s, np.sqrt(2.0) * ROLL_RMS_RADIUS)),
    "Gaussian with the roll's mean and covariance": (
        "swiss_roll", lambda n, s: gaussian(n, s, ROLL_MEAN, ROLL_ROOT)),
    "swiss roll, noise 0.15 (prior 0.05)": ("swiss_roll", lambda n, s: SwissRoll2D(noise=0.15).sample(n, s)),
    "swiss roll, noise 0.3": ("swiss_roll", lambda n, s: SwissRoll2D(noise=0.3).sample(n, s)),
    "Gaussian, std 1.2 and 1/1.2": ("gaussian", lambda n, s: gaussian(n, s, root=np.diag([1.2, 1 / 1.2]))),
    "Gaussian, correlation 0.3": (
        "gaussian", lambda n, s: gaussian(n, s, root=np.linalg.cholesky([[1.0, 0.3], [0.3, 1.0]]))),
    "Gaussian, std 1.1": ("gaussian", lambda n, s: gaussian(n, s, root=1.1 * np.eye(2))),
    "mixture, one mode missing": ("mixture", missing_mode),
    "mixture, arms 3x wider (tangential std 0.3)": (
        "mixture", lambda n, s: GaussianMixture2D(tangential_std=0.3).sample(n, s)),
    "Gaussian of the mixture's spread (std 1.46)": ("mixture", lambda n, s: gaussian(n, s, root=1.46 * np.eye(2))),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["genuine", "mismatch"])
    parser.add_argument("trials", type=int, help="trials per prior (genuine) or per case (mismatch)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    start = time.time()
    cases = (
        {name: (name, None) for name in PRIORS} if args.part == "genuine" else MISMATCHES
    )
    results = {}
    for name, (prior_name, make_codes) in cases.items():
        prior = PRIORS[prior_name]
        rows = []
        for trial in range(args.first_seed, args.first_seed + args.trials):
            if make_codes is None:
                codes = prior.sample(N_CODES, seed=10_000 + trial)
            else:
                codes = make_codes(N_CODES, 20_000 + trial)
            result = prior_match_by_scale(codes, prior.sample, n=N, scales=SCALES, seed=trial)
            rows.append([result["by_scale"][repr(s)]["ratio"] for s in SCALES])
        results[name] = rows
        ratios = np.array(rows)
        worst = ratios[:, : len(DEFAULT_SCALES)].max(axis=1)
        print(f"{name} vs the {prior_name} prior ({len(rows)} trials, {time.time() - start:.0f} s)")
        for label, column in [*((f"scale {s:g}", ratios[:, i]) for i, s in enumerate(SCALES)),
                              ("worst of 1..1/8", worst)]:
            q5, q50, q95 = np.percentile(column, [5, 50, 95])
            print(f"   {label:16s} 5% {q5:6.2f}   median {q50:6.2f}   95% {q95:6.2f}   max {column.max():6.2f}")
    out = args.out or Path("build") / f"measure_prior_match_{args.part}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"scales": SCALES, "n": N, "codes": N_CODES, "ratios": results}, indent=1))


if __name__ == "__main__":
    main()
