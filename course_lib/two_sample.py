"""Do two sets of points come from the same distribution? The maximum mean discrepancy (MMD).

An adversarial autoencoder is meant to make its codes look like samples from a prior. Its
discriminator's loss is a poor judge of that (it depends on how strong the discriminator
happens to be), so the course checks the result with a fixed two-sample statistic: the
**maximum mean discrepancy** of Gretton et al. (2012), "A Kernel Two-Sample Test".

The idea: pick a similarity ``k(a, b)`` between two points -- here the Gaussian (RBF)
kernel ``k(a, b) = exp(-||a - b||² / (2 h²))``, 1 for identical points and falling to 0 for
points much farther apart than the *bandwidth* ``h``. Then

    MMD²(X, Y) = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)

"how similar X is to itself, plus Y to itself, minus twice how similar they are to each
other". For the Gaussian kernel the population value is zero **only** if the two
distributions are identical -- every difference in location, spread or shape shows up --
and it grows as they move apart. No density is needed, only samples, which is exactly the
situation of AAE codes versus prior samples.

Three practical points, all handled here:

- **Estimates are noisy and biased.** :func:`mmd2` by default averages over *all* pairs,
  including each point with itself (the "biased" V-statistic). That value is never negative,
  but for two samples from the same distribution it is a small positive *noise floor* that
  shrinks like 1/n, not zero. So a number on its own means little: :func:`prior_match`
  compares the codes-vs-prior value with the value two samples of the prior give on average
  **at the same sample size**, and reports their ratio. (The "unbiased" U-statistic leaves out the self-pairs; it is
  centred on zero and can be negative, which makes such a ratio meaningless.)
- **The bandwidth sets the length scale that is compared.** Too small and every point is
  only similar to itself; too large and only the means are compared. By default it is the
  *median heuristic*: the median distance between points of the pooled sample
  (:func:`median_bandwidth`).
- **n² pairs.** 10,000 codes against 10,000 prior samples are 10⁸ kernel values (800 MB in
  float64). They are computed in small tiles of ``chunk_size × chunk_size`` pairs and summed
  on the fly, so memory stays at about a megabyte whatever the sample size (and the work
  stays in the CPU cache, which is faster than large tiles).

**One bandwidth sees one scale: use several.** At the median bandwidth the kernel compares
the clouds at the scale of the whole cloud, which in practice means their first two moments
(where they are and how wide). A uniform disc with the swiss roll's mean and covariance fills
the area of the spiral with no spiral in it, yet scores a median-bandwidth ratio of 1.5-2.1
(5 trials), about what genuine swiss-roll samples score (up to 1.8). :func:`prior_match_by_scale`
therefore repeats the test at 1, 1/2, 1/4 and 1/8 of the median bandwidth and reports the
*worst* ratio; :func:`matches_prior` compares it with a threshold measured on genuine samples.

Measured with ``scripts/measure_prior_match.py`` (2-core CPU, about 1.3 s per call): 10,000
codes, ``prior_match_by_scale(codes, prior.sample, n=2000, seed=trial)`` -- five disjoint sets
of 2,000 codes, three prior draws each, the setting of notebook 07. Ratios ("worst" is the
largest over the four default scales):

- **genuine prior samples** (40 trials per prior; 5 %-95 % and max): worst ratio 0.94-1.36
  (max 1.47) for N(0, I), 0.93-1.58 (max 1.76) for the 10-Gaussian mixture, 0.85-1.55
  (max 1.79) for the swiss roll; pooled over the 120 trials 0.93-1.52, max 1.79. The scatter is largest at the
  median bandwidth (swiss roll 0.59-1.55) and shrinks at finer scales (0.85-1.10 at 1/8);
- **a disc with the swiss roll's mean and covariance** vs the swiss roll (here and below: the
  range over 5 trials): ratio 1.5-2.1 at the median bandwidth (genuine: up to 1.79), 7.2-8.0
  at 1/2, 16.4-16.8 at 1/4 and **20.8-21.4 at 1/8**, the worst scale: about 14 times the
  genuine 95th percentile. (A disc centred
  on 0 with the roll's root-mean-square radius is already seen at the median bandwidth, ratio
  31-34, because the one-and-a-half-turn spiral is off-centre; a Gaussian with the roll's mean
  and covariance gives 4.9-6.2 there and 31-32 at 1/4);
- **wrong covariance** vs N(0, I): standard deviations 1.2 and 1/1.2, worst ratio 8.8-10.4;
  correlation 0.3, 6.3-7.0; both standard deviations 1.1, 5.3-5.8 -- all at the median
  bandwidth, where moment errors show most;
- **a missing mode** (the mixture without one of its ten arms) vs the mixture: 10.6-13.1;
- milder shape errors, caught only at the finer scales: the swiss roll with noise 0.15
  instead of 0.05, 3.2-3.6 (at 1/8; 0.5-1.3 at the median bandwidth); noise 0.3, 12.8-13.3;
  the mixture with arms three times wider, 5.0-5.4 (0.9-1.4 at the median bandwidth).

The default threshold :data:`PRIOR_MATCH_THRESHOLD` = 2.5 is the genuine maximum (1.79)
rounded up with a margin, because 120 trials cannot pin down the far tail; every mismatch
above stays above it (the mildest, 3.2, by 30 %). It holds for five disjoint sets of codes
(or more): with a single set (``subsets=1``) genuine samples scatter about twice as much at
the median bandwidth (see :func:`prior_match`), and the threshold does not apply.

Plain NumPy in float64; it does not import TensorFlow. Priors to compare against are in
:mod:`course_lib.priors`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np

from .vectors import check_vectors

__all__ = ["matches_prior", "median_bandwidth", "mmd2", "prior_match", "prior_match_by_scale"]

#: Tile side for the pairwise kernel sums: a float64 tile of 256 × 256 pairs is 512 KB, small
#: enough to stay in the CPU cache (measured: 2-3 times faster than 2048 × 2048 tiles).
DEFAULT_CHUNK_SIZE = 256


# --------------------------------------------------------------------------- validation


def _check_points(x: np.ndarray, what: str, caller: str) -> np.ndarray:
    return check_vectors(
        x, what, caller,
        shape_hint="Flatten or encode images first; a single dimension per point needs shape "
        "(N, 1), e.g. x.reshape(-1, 1).",
        nan_hint="Check the model that produced them (a diverged encoder gives NaN codes).",
    )


def _check_pair(x: np.ndarray, y: np.ndarray, caller: str) -> tuple[np.ndarray, np.ndarray]:
    a = _check_points(x, "x", caller)
    b = _check_points(y, "y", caller)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{caller}: the two sets have different dimensions, {a.shape[1]} (x {a.shape}) vs "
            f"{b.shape[1]} (y {b.shape}). Compare codes with a prior of the same dimension."
        )
    return a, b


def _check_count(value: object, what: str, caller: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{caller}: {what} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _positive_floats(values: Sequence[object], caller: str, message: str) -> tuple[float, ...]:
    """``values`` as finite floats > 0 (bools refused), or ``ValueError(f"{caller}: {message}")``."""
    out = []
    for v in values:
        if (not isinstance(v, Real) or isinstance(v, bool) or not math.isfinite(float(v))
                or float(v) <= 0):
            raise ValueError(f"{caller}: {message}")
        out.append(float(v))
    return tuple(out)


def _check_bandwidths(bandwidth: float | Sequence[float], caller: str) -> tuple[float, ...]:
    """One or several bandwidths as a tuple of finite positive floats, or a ValueError."""
    values = [bandwidth] if np.ndim(bandwidth) == 0 else list(np.asarray(bandwidth).ravel())
    if not values:
        raise ValueError(
            f"{caller}: bandwidth is an empty sequence. Pass None (median heuristic), one "
            "positive number, or a non-empty list of positive numbers."
        )
    return _positive_floats(
        values, caller,
        f"every bandwidth must be a finite number > 0, got {bandwidth!r}. It is the kernel's "
        "length scale, in the units of the points; pass None to use the median heuristic.")


# --------------------------------------------------------------------------- kernel sums


def _kernel_sum(
    a: np.ndarray, b: np.ndarray, bandwidths: tuple[float, ...], chunk: int, same: bool
) -> float:
    """Sum of ``k(a_i, b_j)`` over all pairs (i, j), for the kernel averaged over bandwidths.

    The ``len(a) × len(b)`` kernel matrix is never built: it is computed and summed one
    ``chunk × chunk`` tile at a time. Squared distances use
    ``||a - b||² = ||a||² + ||b||² - 2 a·b`` (one matrix product per tile), clipped at 0
    against round-off. With ``same=True`` (``a is b``), the matrix is symmetric, so only
    tiles on or above the diagonal are computed and the off-diagonal ones counted twice.
    """
    gammas = [1.0 / (2.0 * h * h) for h in bandwidths]
    a_sq = np.einsum("ij,ij->i", a, a)
    b_sq = np.einsum("ij,ij->i", b, b)
    total = 0.0
    for i0 in range(0, len(a), chunk):
        i1 = min(i0 + chunk, len(a))
        for j0 in range(i0 if same else 0, len(b), chunk):
            j1 = min(j0 + chunk, len(b))
            d2 = a[i0:i1] @ b[j0:j1].T
            d2 *= -2.0
            d2 += a_sq[i0:i1, None]
            d2 += b_sq[None, j0:j1]
            np.maximum(d2, 0.0, out=d2)
            if len(gammas) == 1:
                np.multiply(d2, -gammas[0], out=d2)
                tile = float(np.exp(d2, out=d2).sum())
            else:
                buf = np.empty_like(d2)
                tile = 0.0
                for g in gammas:
                    np.multiply(d2, -g, out=buf)
                    tile += float(np.exp(buf, out=buf).sum())
            total += tile if (not same or i0 == j0) else 2.0 * tile
    return total / len(gammas)


def _mean_kernel(
    a: np.ndarray,
    b: np.ndarray | None,
    bandwidths: tuple[float, ...],
    chunk: int,
    unbiased: bool = False,
) -> float:
    """Mean kernel value between ``a`` and ``b``; ``b=None`` means ``a`` with itself.

    Within one set (``b=None``) the biased mean averages all ``n²`` pairs, including the ``n``
    self-pairs whose kernel value is exactly 1; the unbiased mean leaves those out and
    averages the ``n (n - 1)`` others.
    """
    if b is not None:
        return _kernel_sum(a, b, bandwidths, chunk, same=False) / (len(a) * len(b))
    n = len(a)
    total = _kernel_sum(a, a, bandwidths, chunk, same=True)
    if unbiased:
        return (total - n) / (n * (n - 1))
    return total / (n * n)


def _median_distance(points: np.ndarray) -> float:
    """Median of the distances between distinct points (duplicate pairs are ignored).

    Squared distances of duplicates come out of ``||a||² + ||b||² - 2 a·b`` as round-off
    (about 1e-16 of the squared norms) rather than exactly 0, so pairs closer than 1e-5 times
    the root-mean-square norm of the (centred) points count as duplicates.
    """
    n = len(points)
    sq = np.einsum("ij,ij->i", points, points)
    tolerance = 1e-10 * float(sq.mean())  # in squared-distance units
    rows_per_block = max(1, 2**21 // n)  # blocks of ~2 million squared distances (16 MB)
    found = []
    for i0 in range(0, n, rows_per_block):
        i1 = min(i0 + rows_per_block, n)
        d2 = sq[i0:i1, None] + sq[None, :] - 2.0 * (points[i0:i1] @ points.T)
        upper = np.arange(i0, i1)[:, None] < np.arange(n)[None, :]
        found.append(d2[upper])  # each pair once (i < j)
    d2 = np.concatenate(found)
    d = np.sqrt(d2[d2 > tolerance])
    if d.size == 0:
        raise ValueError(
            "median_bandwidth: all points are identical, so there is no typical distance to "
            "use as bandwidth. Check the inputs (a collapsed encoder gives identical codes) "
            "or pass a bandwidth explicitly."
        )
    return float(np.median(d))


def _sets_and_draws(
    codes: np.ndarray,
    prior_sampler: Callable[[int, int], np.ndarray],
    n: int | None,
    repeats: int,
    subsets: int | None,
    seed: int,
    caller: str,
) -> tuple[int, int, int, list[np.ndarray], list[np.ndarray]]:
    """Check the arguments of :func:`prior_match`; cut the codes into sets, draw the prior.

    Returns ``(n, repeats, subsets, sets, draws)``: ``subsets`` disjoint sets of ``n`` codes
    (shuffled with ``seed``) and ``repeats * subsets`` prior draws of ``n`` points, with seeds
    derived from ``seed``; draws ``i * repeats ... (i + 1) * repeats - 1`` belong to set ``i``.
    """
    c = _check_points(codes, "codes", caller)
    if n is None:
        n = len(c)
    n = _check_count(n, "n", caller, 2)
    if n > len(c):
        raise ValueError(
            f"{caller}: n={n} is larger than the number of codes ({len(c)}). Use n <= "
            f"{len(c)}, or leave n=None to use all codes."
        )
    repeats = _check_count(repeats, "repeats", caller, 1)
    if subsets is None:
        subsets = len(c) // n
    subsets = _check_count(subsets, "subsets", caller, 1)
    if subsets * n > len(c):
        raise ValueError(
            f"{caller}: subsets={subsets} disjoint sets of n={n} codes need {subsets * n} codes, "
            f"but there are {len(c)}. Use subsets <= {len(c) // n}, or leave subsets=None."
        )
    rng = np.random.default_rng(seed)
    if subsets == 1 and n == len(c):
        sets = [c]
    else:
        order = rng.permutation(len(c))[: subsets * n]
        sets = [c[np.sort(part)] for part in np.split(order, subsets)]
    prior_seeds = [int(s) for s in rng.integers(0, 2**31 - 1, size=repeats * subsets)]

    def draw(s: int) -> np.ndarray:
        p = _check_points(prior_sampler(n, s), f"prior_sampler({n}, {s})", caller)
        if p.shape != (n, c.shape[1]):
            raise ValueError(
                f"{caller}: prior_sampler({n}, {s}) returned shape {p.shape}, expected "
                f"{(n, c.shape[1])} (n samples of the codes' dimension). Check the prior's dim."
            )
        return p

    return n, repeats, subsets, sets, [draw(s) for s in prior_seeds]


# --------------------------------------------------------------------------- public API


def median_bandwidth(x: np.ndarray, y: np.ndarray, max_points: int = 2000, seed: int = 0) -> float:
    """The median heuristic: median distance between points of the pooled sample ``x ∪ y``.

    Why: the bandwidth should be on the scale of the data, so that the kernel separates
    "near" from "far" pairs. The median pairwise distance is a robust, parameter-free choice
    of that scale (Gretton et al., 2012) and is unaffected by a few outliers. It is computed
    on the pooled sample so that it does not favour either set.

    The number of pairs grows like N², so if the pooled sample has more than ``max_points``
    points, a random subset of ``max_points`` of them (without replacement, drawn with
    ``np.random.default_rng(seed)``) is used: 2000 points give about 2 million distances,
    plenty for a median, in a fraction of a second. The fixed ``seed`` makes the result
    deterministic -- the same inputs always give the same bandwidth. Pairs of identical
    points (distance 0, e.g. a code that occurs twice) are ignored. ``x`` and ``y`` are ``(N, d)`` arrays with the same
    ``d``; the result is in the units of the points.
    """
    a, b = _check_pair(x, y, "median_bandwidth")
    max_points = _check_count(max_points, "max_points", "median_bandwidth", 2)
    pooled = np.concatenate([a, b])
    if len(pooled) > max_points:
        idx = np.random.default_rng(seed).choice(len(pooled), size=max_points, replace=False)
        pooled = pooled[np.sort(idx)]
    pooled = pooled - pooled.mean(axis=0)  # distances are unchanged; round-off is smaller
    return _median_distance(pooled)


def mmd2(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bandwidth: float | Sequence[float] | None = None,
    unbiased: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> float:
    """Squared maximum mean discrepancy between the point sets ``x`` and ``y`` (Gaussian kernel).

    ``x`` is ``(m, d)``, ``y`` is ``(n, d)``: any ``m, n >= 2``, the same ``d``. Returns

        MMD² = mean k(x_i, x_j) + mean k(y_i, y_j) - 2 mean k(x_i, y_j),
        k(a, b) = exp(-||a - b||² / (2 h²)),

    computed in float64. It is symmetric in ``x`` and ``y``, and invariant to moving both sets
    by the same offset.

    ``bandwidth`` (``h``):

    - ``None`` (default): the median heuristic on the pooled sample, :func:`median_bandwidth`
      with its defaults (at most 2000 points, seed 0, so deterministic).
    - a positive number: that bandwidth.
    - a sequence of positive numbers: the kernel is the **average** of the Gaussian kernels
      with those bandwidths, which is sensitive to differences at several length scales at
      once. Averaging (rather than summing) keeps ``k(a, a) = 1``, so the value stays on the
      same scale (between 0 and 2) however many bandwidths are used. MMD² is linear in the
      kernel, so the result is the mean of the single-bandwidth values.

    ``unbiased=False`` (default) gives the *biased* V-statistic: the means over ``x`` with
    itself and ``y`` with itself include the self-pairs (``k = 1``). It is the squared
    distance between the two sets' mean embeddings, so it is **never negative** (round-off
    below 0 is returned as 0.0). For two samples from the same distribution it is not zero
    but a small positive *noise floor*: on average exactly ``(1/m + 1/n) (1 - E k(x, x'))``
    (the self-pairs count ``k = 1`` where other pairs average ``E k(x, x')``), shrinking like
    1/n. That is why a codes-vs-prior value should be compared with a prior-vs-prior value
    computed at the **same sample size** (:func:`prior_match` does this).

    ``unbiased=True`` gives the U-statistic, which leaves out the self-pairs: its expected value
    is exactly the population MMD², so under "same distribution" it is centred on zero and is
    negative about half the time. Good for tests of significance; useless as the denominator
    of a ratio.

    The ``m × n`` (and ``m × m``, ``n × n``) kernel matrices are never stored: they are summed
    in tiles of at most ``chunk_size × chunk_size`` pairs, about ``16 chunk_size²`` bytes at a
    time (1 MB for the default 256). ``chunk_size`` changes only memory and speed, not the
    value (up to round-off).
    """
    a, b = _check_pair(x, y, "mmd2")
    chunk = _check_count(chunk_size, "chunk_size", "mmd2", 1)
    if bandwidth is None:
        bandwidths: tuple[float, ...] = (median_bandwidth(a, b),)
    else:
        bandwidths = _check_bandwidths(bandwidth, "mmd2")
    shift = np.concatenate([a, b]).mean(axis=0)  # centre both sets: same value, less round-off
    a, b = a - shift, b - shift
    value = (
        _mean_kernel(a, None, bandwidths, chunk, unbiased)
        + _mean_kernel(b, None, bandwidths, chunk, unbiased)
        - 2.0 * _mean_kernel(a, b, bandwidths, chunk)
    )
    return value if unbiased else max(value, 0.0)


def prior_match(
    codes: np.ndarray,
    prior_sampler: Callable[[int, int], np.ndarray],
    *,
    n: int | None = None,
    bandwidth: float | Sequence[float] | None = None,
    repeats: int = 3,
    subsets: int | None = None,
    seed: int = 0,
) -> dict[str, float | int | tuple[float, ...]]:
    """How well do ``codes`` match a prior? Biased MMD², codes vs prior, next to its noise floor.

    ``codes`` is an ``(N, d)`` array (e.g. an encoder's codes for a test set);
    ``prior_sampler(n, seed)`` returns ``n`` samples of the prior as an ``(n, d)`` array --
    pass ``prior.sample`` of a :mod:`course_lib.priors` prior, or any function with that
    signature.

    What is computed, with ``n`` points on each side (``n`` defaults to ``len(codes)``):

    - the codes are shuffled (with ``seed``) and cut into ``subsets`` **disjoint** sets
      ``C_1, C_2, ...`` of ``n`` codes each; by default as many as fit, ``len(codes) // n``
      (10,000 test codes and ``n = 2000``: five sets, every code used once);
    - each set is compared with ``repeats`` fresh prior samples ``P`` of ``n`` points, with
      seeds derived from ``seed`` (not equal to it, so codes made with
      ``prior.sample(N, seed)`` are not compared with themselves by accident);
    - ``codes_vs_prior`` is the mean of ``mmd2(C_i, P)`` (biased) over all these pairs. Every
      pair is a test at sample size ``n``, so the mean has the same expected value as a single
      pair -- the statistic *at* ``n`` -- but far less scatter than one subset against one
      draw: using more sets averages the noise, it does not make the test stricter;
    - ``prior_vs_prior`` is the noise floor: the value ``codes_vs_prior`` has *on average* when
      the codes are genuine prior samples, i.e. the expected biased MMD² between two
      independent ``n``-point samples of the prior. It is exactly ``2 (1 - E k(p, p')) / n``
      (the self-pairs, ``k = 1``, stand in for pairs whose average is ``E k(p, p')``), with
      ``E k(p, p')``, the mean kernel value between two independent prior points, estimated
      from the same draws. This is far more precise than the MMD² of one prior sample against
      another, which scatters as much as ``codes_vs_prior`` itself and would make the ratio a
      ratio of two noisy numbers;
    - ``ratio = codes_vs_prior / prior_vs_prior``.

    Both use the biased estimate (never negative; see :func:`mmd2`) and the **same** fixed
    bandwidth: ``bandwidth`` if given, otherwise the median heuristic on the first set of codes
    and the first prior draw, computed once.

    Reading the ratio: **≈ 1** means that, with ``n`` points, the codes cannot be told apart
    from genuine prior samples; **≫ 1** means a clear mismatch (wrong location, spread or
    shape). Even a perfect match scatters: with the median bandwidth, ``repeats=3`` and a single
    set of ``n = 2000`` codes (``subsets=1``), codes drawn from the 2-D course priors
    themselves give ratios of about 0.35 to 2.0 (5 %-95 % of 100 trials; up to 3.2), so a
    single such value of 2 means little. Averaged over five disjoint sets (10,000 codes) the
    same trials give about 0.7 to 1.5 (at most 1.9). The ratio grows with ``n`` for a real
    mismatch (the floor drops like 1/n, the mismatch does not), so always report ``n`` with it.

    Returns ``{"n", "subsets", "bandwidth", "codes_vs_prior", "prior_vs_prior", "ratio"}``;
    ``bandwidth`` is a float, or a tuple of floats if several were given.
    """
    caller = "prior_match"
    bandwidths = None if bandwidth is None else _check_bandwidths(bandwidth, caller)
    n, repeats, subsets, sets, draws = _sets_and_draws(
        codes, prior_sampler, n, repeats, subsets, seed, caller
    )
    if bandwidths is None:
        bandwidths = (median_bandwidth(sets[0], draws[0], seed=seed),)

    # With mean kernel values K(A, B): MMD²(A, B) = K(A, A) + K(B, B) - 2 K(A, B).
    # K(C_i, C_i) is the same for every draw it meets, so it is computed once per set.
    chunk = DEFAULT_CHUNK_SIZE
    shift = sets[0].mean(axis=0)  # any common offset leaves the values unchanged; less round-off
    vs_prior, k_between = [], []
    for i, codes_i in enumerate(sets):
        codes_i = codes_i - shift
        k_cc = _mean_kernel(codes_i, None, bandwidths, chunk)
        for p in draws[i * repeats : (i + 1) * repeats]:
            p = p - shift
            k_pp = _mean_kernel(p, None, bandwidths, chunk)  # includes the n self-pairs (k = 1)
            vs_prior.append(max(k_cc + k_pp - 2.0 * _mean_kernel(codes_i, p, bandwidths, chunk), 0.0))
            k_between.append((k_pp * n * n - n) / (n * (n - 1)))  # distinct pairs only: E k(p, p')
    codes_vs_prior = float(np.mean(vs_prior))
    prior_vs_prior = 2.0 * (1.0 - float(np.mean(k_between))) / n
    return {
        "n": n,
        "subsets": subsets,
        "bandwidth": bandwidths[0] if len(bandwidths) == 1 else bandwidths,
        "codes_vs_prior": codes_vs_prior,
        "prior_vs_prior": prior_vs_prior,
        "ratio": codes_vs_prior / prior_vs_prior,
    }


# --------------------------------------------------------------------------- several scales

#: The default bandwidth scales of :func:`prior_match_by_scale`, as fractions of the median
#: heuristic bandwidth: the whole cloud (1), then finer and finer detail.
DEFAULT_SCALES: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)


def _check_scales(scales: object, caller: str) -> tuple[float, ...]:
    """The bandwidth scales as a tuple of distinct finite floats > 0, or a clear ValueError."""
    values = [scales] if np.ndim(scales) == 0 else list(np.asarray(scales, dtype=object).ravel())
    if not values:
        raise ValueError(
            f"{caller}: scales is empty. Pass one or more fractions of the median bandwidth, "
            f"e.g. scales={DEFAULT_SCALES}."
        )
    out = _positive_floats(
        values, caller,
        f"every scale must be a finite number > 0, got {scales!r}. A scale is a fraction of "
        "the median bandwidth (1.0 = the median heuristic, 0.25 = a quarter of it).")
    if len(set(out)) != len(out):
        raise ValueError(f"{caller}: scales must be distinct, got {scales!r}.")
    return out


def _kernel_sums_each(
    a: np.ndarray, b: np.ndarray, bandwidths: tuple[float, ...], chunk: int, same: bool
) -> np.ndarray:
    """Like :func:`_kernel_sum`, but one sum per bandwidth (not the average kernel).

    Every tile's squared distances are computed once and used for all bandwidths. Going from
    a bandwidth ``h`` to ``h / 2`` multiplies the exponent by 4, so
    ``k_{h/2} = (k_h)²²`` -- two squarings instead of a new exponential, when bandwidths are
    taken in decreasing order and successive ones differ by a power of 2 (the default scales).
    """
    order = np.argsort(bandwidths)[::-1]  # widest first
    hs = [bandwidths[i] for i in order]
    steps: list[int | None] = [None]  # number of squarings from the previous bandwidth, or None
    for h_prev, h in zip(hs, hs[1:], strict=False):
        squarings = math.log2((h_prev / h) ** 2)
        steps.append(int(round(squarings)) if abs(squarings - round(squarings)) < 1e-12 else None)
    gammas = [1.0 / (2.0 * h * h) for h in hs]
    a_sq = np.einsum("ij,ij->i", a, a)
    b_sq = np.einsum("ij,ij->i", b, b)
    totals = np.zeros(len(hs))
    for i0 in range(0, len(a), chunk):
        i1 = min(i0 + chunk, len(a))
        for j0 in range(i0 if same else 0, len(b), chunk):
            j1 = min(j0 + chunk, len(b))
            d2 = a[i0:i1] @ b[j0:j1].T
            d2 *= -2.0
            d2 += a_sq[i0:i1, None]
            d2 += b_sq[None, j0:j1]
            np.maximum(d2, 0.0, out=d2)
            factor = 1.0 if (not same or i0 == j0) else 2.0
            k = np.empty_like(d2)
            for m, (g, step) in enumerate(zip(gammas, steps, strict=True)):
                if step is None:
                    np.multiply(d2, -g, out=k)
                    np.exp(k, out=k)
                else:
                    for _ in range(step):
                        np.square(k, out=k)
                totals[m] += factor * float(k.sum())
    out = np.empty(len(hs))
    out[order] = totals
    return out


def prior_match_by_scale(
    codes: np.ndarray,
    prior_sampler: Callable[[int, int], np.ndarray],
    *,
    n: int | None = None,
    scales: Sequence[float] = DEFAULT_SCALES,
    repeats: int = 3,
    subsets: int | None = None,
    seed: int = 0,
) -> dict[str, object]:
    """:func:`prior_match` at several bandwidths: the median heuristic *and fractions of it*.

    Why: with the median-heuristic bandwidth the kernel compares the two clouds at the scale
    of the whole cloud, and misses structure much finer than that. A disc of the right size
    and a swiss-roll spiral of the same spread give a ratio near 1 at the median bandwidth,
    although one has no spiral at all; at a quarter of it the spiral's empty gaps, which the
    disc fills, are plain to see. So the codes must match the prior at every scale.

    Same arguments and the same sets, prior draws and median bandwidth as :func:`prior_match`
    (same ``seed`` -> same numbers as ``prior_match(..., bandwidth=scale * median)``, up to
    round-off). The median bandwidth is computed once, on the first set of codes and the
    first prior draw; each ``scale`` in ``scales`` (finite, > 0, distinct) gives the bandwidth
    ``scale * median``, and all bandwidths are computed in one pass over the pairs.

    Returns plain Python numbers, ready for ``ResultsRecorder.record``::

        {"n", "subsets", "median_bandwidth",
         "by_scale": {"0.25": {"bandwidth", "codes_vs_prior", "prior_vs_prior", "ratio"}, ...},
         "worst_ratio", "worst_scale"}

    The keys of ``by_scale`` are **strings**, ``repr(float(scale))`` (``"1.0"``, ``"0.5"``,
    ``"0.25"``, ``"0.125"``), because the results files allow only str/int keys;
    ``worst_ratio`` is the largest ratio over the scales and ``worst_scale`` (a float) the
    scale where it occurs. Judge it with :func:`matches_prior`, whose threshold was measured
    for the default scales (see the module docstring).
    """
    caller = "prior_match_by_scale"
    scale_values = _check_scales(scales, caller)
    n, repeats, subsets, sets, draws = _sets_and_draws(
        codes, prior_sampler, n, repeats, subsets, seed, caller
    )
    median = median_bandwidth(sets[0], draws[0], seed=seed)
    bandwidths = tuple(s * median for s in scale_values)

    chunk = DEFAULT_CHUNK_SIZE
    shift = sets[0].mean(axis=0)  # a common offset leaves every value unchanged; less round-off
    vs_prior, k_between = [], []  # one array (per bandwidth) per (set, draw) pair
    for i, codes_i in enumerate(sets):
        codes_i = codes_i - shift
        k_cc = _kernel_sums_each(codes_i, codes_i, bandwidths, chunk, same=True) / (n * n)
        for p in draws[i * repeats : (i + 1) * repeats]:
            p = p - shift
            k_pp = _kernel_sums_each(p, p, bandwidths, chunk, same=True) / (n * n)
            k_cp = _kernel_sums_each(codes_i, p, bandwidths, chunk, same=False) / (n * n)
            vs_prior.append(np.maximum(k_cc + k_pp - 2.0 * k_cp, 0.0))
            k_between.append((k_pp * n * n - n) / (n * (n - 1)))
    codes_vs_prior = np.mean(vs_prior, axis=0)
    prior_vs_prior = 2.0 * (1.0 - np.mean(k_between, axis=0)) / n
    ratios = codes_vs_prior / prior_vs_prior
    by_scale = {
        repr(s): {
            "bandwidth": float(h),
            "codes_vs_prior": float(cp),
            "prior_vs_prior": float(pp),
            "ratio": float(r),
        }
        for s, h, cp, pp, r in zip(
            scale_values, bandwidths, codes_vs_prior, prior_vs_prior, ratios, strict=True
        )
    }
    worst = int(np.argmax(ratios))
    return {
        "n": int(n),
        "subsets": int(subsets),
        "median_bandwidth": float(median),
        "by_scale": by_scale,
        "worst_ratio": float(ratios[worst]),
        "worst_scale": scale_values[worst],
    }


#: The largest ``worst_ratio`` that :func:`matches_prior` accepts by default: 120 trials of
#: genuine prior samples (default scales, n = 2000, five disjoint sets of codes) gave at most
#: 1.79 (95th percentile 1.52), rounded up with a margin for the tail; the mildest mismatch
#: measured gives 3.2 (see the module docstring).
PRIOR_MATCH_THRESHOLD = 2.5


def matches_prior(result: dict, threshold: float = PRIOR_MATCH_THRESHOLD) -> bool:
    """Do the codes match the prior at every scale? ``worst_ratio <= threshold``.

    ``result`` is what :func:`prior_match_by_scale` returned. The default ``threshold``,
    :data:`PRIOR_MATCH_THRESHOLD`, lies above every ``worst_ratio`` that genuine prior samples
    gave in 120 trials (default scales, ``n = 2000``, five disjoint sets of codes, three prior
    draws each; at most 1.79): a value above it is more than chance explains. It holds for that
    setting (five or more sets); with a single set of codes (``subsets=1``) genuine samples
    scatter more, so pass a threshold measured for it (module docstring).
    """
    if not isinstance(result, dict) or "worst_ratio" not in result:
        raise ValueError(
            "matches_prior: result must be the dict returned by prior_match_by_scale (it has a "
            f"'worst_ratio' key); got {type(result).__name__}"
            + (f" with keys {sorted(result)}" if isinstance(result, dict) else "")
            + ". For a plain prior_match result compare its 'ratio' yourself."
        )
    ok = isinstance(threshold, Real) and not isinstance(threshold, bool)
    if not ok or not math.isfinite(float(threshold)) or float(threshold) <= 0:
        raise ValueError(
            f"matches_prior: threshold must be a finite number > 0, got {threshold!r}."
        )
    return bool(result["worst_ratio"] <= float(threshold))
