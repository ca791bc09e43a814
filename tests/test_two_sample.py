"""MMD: a naive cross-check, known population values, the noise floor, prior_match, bad input;
prior_match_by_scale: sees the shape (a disc vs a spiral) that the median bandwidth misses."""

import json
import tracemalloc

import numpy as np
import pytest

from course_lib.priors import GaussianMixture2D, StandardGaussian, SwissRoll2D
from course_lib.results import ResultsRecorder
from course_lib.two_sample import (
    PRIOR_MATCH_THRESHOLD,
    matches_prior,
    median_bandwidth,
    mmd2,
    prior_match,
    prior_match_by_scale,
)


def _gauss(n, d, seed, mean=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    return mean + scale * rng.standard_normal((n, d))


def _naive_kernel(a, b, bandwidths):
    """The full kernel matrix, averaged over bandwidths, straight from the definition."""
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return np.mean([np.exp(-d2 / (2.0 * h * h)) for h in bandwidths], axis=0)


def _naive_mmd2(x, y, bandwidths, unbiased):
    kxx, kyy, kxy = (_naive_kernel(a, b, bandwidths) for a, b in [(x, x), (y, y), (x, y)])
    m, n = len(x), len(y)
    if unbiased:
        return (
            (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2.0 * kxy.mean()
        )
    return kxx.mean() + kyy.mean() - 2.0 * kxy.mean()


def _gaussian_mean_kernel(h, d, shift=0.0):
    """E exp(-||x - y||² / (2 h²)) for x ~ N(0, I), y ~ N(shift, I) in d dimensions."""
    c = (h * h / (h * h + 2.0)) ** (d / 2.0)
    return c * np.exp(-(shift**2) / (2.0 * (h * h + 2.0)))


# --------------------------------------------------------------------------- mmd2


@pytest.mark.parametrize("unbiased", [False, True])
@pytest.mark.parametrize(
    "m, n, d, bandwidth",
    [(30, 30, 1, 0.7), (50, 37, 3, 1.5), (64, 90, 8, [0.5, 2.0, 8.0]), (40, 41, 2, None)],
)
def test_matches_naive_reference(m, n, d, bandwidth, unbiased):
    x = _gauss(m, d, seed=m)
    y = _gauss(n, d, seed=n + 1000, mean=0.3, scale=1.2)
    hs = [median_bandwidth(x, y)] if bandwidth is None else np.atleast_1d(bandwidth)
    expected = _naive_mmd2(x, y, hs, unbiased)
    value = mmd2(x, y, bandwidth=bandwidth, unbiased=unbiased, chunk_size=16)
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_identical_sets_give_zero():
    x = _gauss(500, 3, seed=0)
    assert mmd2(x, x) == pytest.approx(0.0, abs=1e-12)
    assert mmd2(x, x.copy(), bandwidth=[0.1, 1.0, 10.0]) == pytest.approx(0.0, abs=1e-12)
    assert mmd2(x, x) >= 0.0


def test_symmetric():
    x, y = _gauss(300, 4, seed=1), _gauss(450, 4, seed=2, mean=0.2)
    assert mmd2(x, y) == pytest.approx(mmd2(y, x), rel=1e-10)
    assert mmd2(x, y, unbiased=True) == pytest.approx(mmd2(y, x, unbiased=True), rel=1e-10)


def test_chunking_does_not_change_the_value():
    for (m, n), chunks in [((60, 47), (1, 2, 7)), ((700, 523), (64, 256, 699, 700))]:
        x, y = _gauss(m, 3, seed=m), _gauss(n, 3, seed=n, scale=1.3)
        for unbiased in (False, True):
            whole = mmd2(x, y, bandwidth=1.1, unbiased=unbiased, chunk_size=10_000)
            for chunk in chunks:
                value = mmd2(x, y, bandwidth=1.1, unbiased=unbiased, chunk_size=chunk)
                assert value == pytest.approx(whole, rel=1e-10)


def test_memory_stays_small_for_large_inputs():
    # 6000 x 6000 pairs would be 288 MB as one float64 matrix; the tiles need about 1 MB.
    x, y = _gauss(6000, 2, seed=5), _gauss(6000, 2, seed=6)
    tracemalloc.start()
    try:
        mmd2(x, y, bandwidth=1.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20e6


def test_several_bandwidths_average_the_kernels():
    x, y = _gauss(200, 2, seed=7), _gauss(220, 2, seed=8, mean=0.4)
    hs = [0.3, 1.0, 4.0]
    singles = [mmd2(x, y, bandwidth=h) for h in hs]
    assert mmd2(x, y, bandwidth=hs) == pytest.approx(np.mean(singles), rel=1e-10)
    assert mmd2(x, y, bandwidth=np.array(hs)) == pytest.approx(np.mean(singles), rel=1e-10)
    assert mmd2(x, y, bandwidth=[1.0]) == mmd2(x, y, bandwidth=1.0)
    # Averaging (not summing) keeps the value on the single-kernel scale: with tiny bandwidths
    # only the self-pairs count and MMD² = 1/m + 1/n, however many bandwidths there are.
    tiny = mmd2(x, y, bandwidth=[1e-4, 2e-4, 3e-4])
    assert tiny == pytest.approx(1 / 200 + 1 / 220, rel=1e-6)
    assert tiny == pytest.approx(mmd2(x, y, bandwidth=1e-4), rel=1e-6)


def test_default_bandwidth_is_the_median_heuristic():
    x, y = _gauss(300, 2, seed=9), _gauss(300, 2, seed=10, mean=0.5)
    assert mmd2(x, y) == mmd2(x, y, bandwidth=median_bandwidth(x, y))


def test_population_value_for_a_mean_shift():
    # N(0, I) vs N(delta, I) with bandwidth h has MMD² = 2 c (1 - exp(-delta² / (2 (h² + 2)))),
    # c = (h² / (h² + 2))^(d/2). The unbiased estimate is centred on it (std ~4 % at n = 4000,
    # so three pairs of samples are averaged).
    d, h, delta, n = 2, 1.0, 1.0, 4000
    pairs = [(_gauss(n, d, seed=s), _gauss(n, d, seed=s + 50, mean=[delta, 0.0])) for s in range(3)]
    expected = 2.0 * (_gaussian_mean_kernel(h, d) - _gaussian_mean_kernel(h, d, delta))
    unbiased = np.mean([mmd2(x, y, bandwidth=h, unbiased=True) for x, y in pairs])
    assert unbiased == pytest.approx(expected, rel=0.08)
    # The biased estimate adds exactly the self-pair term (1/m + 1/n)(1 - mean k(x, x')),
    # on average (2 / n)(1 - E k(x, x')).
    biased = np.mean([mmd2(x, y, bandwidth=h) for x, y in pairs])
    floor = (2.0 / n) * (1.0 - _gaussian_mean_kernel(h, d))
    assert biased - unbiased == pytest.approx(floor, rel=0.02)


def test_biased_is_positive_and_unbiased_can_be_negative():
    biased, unbiased = [], []
    for seed in range(10):
        x, y = _gauss(200, 2, seed=2 * seed), _gauss(200, 2, seed=2 * seed + 1)
        biased.append(mmd2(x, y, bandwidth=1.0))
        unbiased.append(mmd2(x, y, bandwidth=1.0, unbiased=True))
    biased, unbiased = np.array(biased), np.array(unbiased)
    assert (biased > 0).all()
    assert (unbiased < 0).any() and (unbiased > 0).any()  # centred on zero
    assert (biased > unbiased).all()


def test_noise_floor_matches_formula_and_shrinks_like_one_over_n():
    d, h = 5, 2.0
    floor = {}
    for n in (100, 400):
        values = [
            mmd2(_gauss(n, d, seed=s), _gauss(n, d, seed=s + 500), bandwidth=h) for s in range(100)
        ]
        floor[n] = np.mean(values)
        expected = (2.0 / n) * (1.0 - _gaussian_mean_kernel(h, d))
        assert floor[n] == pytest.approx(expected, rel=0.15)
    assert floor[100] / floor[400] == pytest.approx(4.0, rel=0.25)


def test_clear_differences_are_far_above_the_noise_floor():
    n, d = 1000, 2
    x = _gauss(n, d, seed=13)
    same = mmd2(x, _gauss(n, d, seed=14))
    shifted = mmd2(x, _gauss(n, d, seed=14, mean=0.5))
    wider = mmd2(x, _gauss(n, d, seed=14, scale=1.5))
    assert shifted > 5 * same and wider > 5 * same
    # larger shifts give larger values
    values = [mmd2(x, _gauss(n, d, seed=15, mean=m), bandwidth=1.5) for m in (0.0, 0.3, 0.6, 1.0)]
    assert np.all(np.diff(values) > 0)


def test_invariant_to_translation_and_equivariant_to_scale():
    x, y = _gauss(300, 3, seed=16), _gauss(300, 3, seed=17, mean=0.3)
    base = mmd2(x, y, bandwidth=1.2)
    # points far from the origin: centring inside mmd2 avoids cancellation in ||a||² + ||b||² - 2ab
    assert mmd2(x + 1e4, y + 1e4, bandwidth=1.2) == pytest.approx(base, rel=1e-6)
    assert mmd2(3.0 * x, 3.0 * y, bandwidth=3.6) == pytest.approx(base, rel=1e-10)


def test_float32_and_integer_inputs_are_accepted():
    x = _gauss(100, 2, seed=18)
    assert mmd2(x.astype(np.float32), x, bandwidth=1.0) == pytest.approx(0.0, abs=1e-10)
    ints = np.random.default_rng(19).integers(0, 5, (100, 2))
    assert mmd2(ints, ints) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- median_bandwidth


def test_median_bandwidth_for_a_standard_normal():
    # x - x' ~ N(0, 2 I); in 2-D ||x - x'||² / 2 is chi-squared with 2 dof, median 2 ln 2.
    x, y = _gauss(5000, 2, seed=20), _gauss(5000, 2, seed=21)
    assert median_bandwidth(x, y) == pytest.approx(np.sqrt(4 * np.log(2)), rel=0.03)


def test_median_bandwidth_exact_small_case_and_properties():
    x = np.array([[0.0], [1.0], [3.0]])
    y = np.array([[7.0], [7.0]])
    # pooled distances 1, 2, 3, 4, 4, 6, 6, 7, 7 (the two 7s at distance 0 are ignored): median 4
    assert median_bandwidth(x, y) == pytest.approx(4.0)
    # duplicates are ignored even when round-off makes their distance not exactly 0
    z = _gauss(50, 3, seed=24, mean=100.0, scale=3.0)
    assert median_bandwidth(z, z.copy()) == pytest.approx(median_bandwidth(z[:25], z[25:]))
    a, b = _gauss(1500, 3, seed=22), _gauss(1000, 3, seed=23)  # 2500 > 2000: a subset is used
    h = median_bandwidth(a, b)
    assert median_bandwidth(a, b) == h  # deterministic (fixed seed for the subset)
    assert median_bandwidth(3.0 * a, 3.0 * b) == pytest.approx(3.0 * h, rel=1e-10)
    assert median_bandwidth(a, b, seed=1) != h  # another subset ...
    assert median_bandwidth(a, b, seed=1) == pytest.approx(h, rel=0.03)  # ... similar value
    assert median_bandwidth(a, b, max_points=2500) == pytest.approx(h, rel=0.03)  # all


def test_median_bandwidth_errors():
    with pytest.raises(ValueError, match="all points are identical"):
        median_bandwidth(np.ones((5, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="max_points must be an integer >= 2"):
        median_bandwidth(np.zeros((5, 2)), np.ones((4, 2)), max_points=1)
    with pytest.raises(ValueError, match="different dimensions"):
        median_bandwidth(np.zeros((5, 2)), np.ones((4, 3)))


# --------------------------------------------------------------------------- prior_match


class _Recorder:
    """Wraps a prior's sampler and keeps every draw, to recompute prior_match's numbers."""

    def __init__(self, prior):
        self.prior, self.calls, self.draws = prior, [], []

    def __call__(self, n, seed):
        self.calls.append((n, seed))
        self.draws.append(self.prior.sample(n, seed))
        return self.draws[-1]


@pytest.mark.parametrize("prior", [StandardGaussian(2), GaussianMixture2D()], ids=lambda p: p.name)
def test_codes_from_the_prior_give_a_ratio_near_one(prior):
    ratios = [
        prior_match(prior.sample(2000, seed=100 + s), prior.sample, seed=s)["ratio"]
        for s in range(5)
    ]
    # A perfect match still scatters (5 %-95 % about 0.4-2.8, see the prior_match docstring),
    # so single values get a wide range and the median of five a narrow one.
    assert all(0.2 < r < 5.0 for r in ratios)
    assert 0.5 < np.median(ratios) < 2.0


@pytest.mark.parametrize(
    "make_codes",
    [
        lambda n: StandardGaussian(2).sample(n, seed=1) + 0.5,  # shifted by half a std
        lambda n: 1.5 * StandardGaussian(2).sample(n, seed=1),  # too wide
        lambda n: 0.7 * StandardGaussian(2).sample(n, seed=1),  # too narrow
        lambda n: GaussianMixture2D().sample(n, seed=1) / 1.46,  # same spread, wrong shape
    ],
    ids=["shift", "wide", "narrow", "mixture"],
)
def test_mismatched_codes_give_a_large_ratio(make_codes):
    result = prior_match(make_codes(2000), StandardGaussian(2).sample)
    assert result["ratio"] > 5


def test_standard_normal_codes_do_not_match_the_mixture_prior():
    prior = GaussianMixture2D()
    assert prior_match(StandardGaussian(2).sample(2000, seed=3), prior.sample)["ratio"] > 20


def test_prior_match_recomputed_from_its_draws():
    prior = GaussianMixture2D()
    codes = StandardGaussian(2).sample(300, seed=4) * 1.5
    rec = _Recorder(prior)
    result = prior_match(codes, rec, repeats=4, seed=7)
    assert set(result) == {"n", "subsets", "bandwidth", "codes_vs_prior", "prior_vs_prior", "ratio"}
    assert result["n"] == 300 and result["subsets"] == 1
    assert len(rec.draws) == 4 and all(n == 300 for n, _ in rec.calls)
    assert 7 not in [s for _, s in rec.calls]  # seeds derived from, not equal to, `seed`
    h = result["bandwidth"]
    assert h == median_bandwidth(codes, rec.draws[0], seed=7)
    expected = np.mean([mmd2(codes, p, bandwidth=h) for p in rec.draws])
    assert result["codes_vs_prior"] == pytest.approx(expected, rel=1e-9)
    # the noise floor: 2 (1 - E k(p, p')) / n, E k from the distinct pairs of each draw
    n = 300
    mean_k = np.mean([(_naive_kernel(p, p, [h]).sum() - n) / (n * (n - 1)) for p in rec.draws])
    assert result["prior_vs_prior"] == pytest.approx(2 * (1 - mean_k) / n, rel=1e-9)
    assert result["ratio"] == pytest.approx(result["codes_vs_prior"] / result["prior_vs_prior"])


def test_prior_vs_prior_is_the_average_prior_against_prior_value():
    prior = StandardGaussian(5)
    result = prior_match(prior.sample(200, seed=0), prior.sample, seed=1)
    h = result["bandwidth"]
    values = [
        mmd2(prior.sample(200, seed=1000 + s), prior.sample(200, seed=2000 + s), bandwidth=h)
        for s in range(100)
    ]
    assert result["prior_vs_prior"] == pytest.approx(np.mean(values), rel=0.15)


def test_prior_match_subsamples_codes_and_is_reproducible():
    prior = StandardGaussian(2)
    codes = prior.sample(3000, seed=5)
    rec = _Recorder(prior)
    first = prior_match(codes, rec, n=500, seed=3)
    # six disjoint sets of 500 codes, each against three fresh prior draws of 500 points
    assert first["n"] == 500 and first["subsets"] == 6
    assert len(rec.calls) == 18 and all(n == 500 for n, _ in rec.calls)
    assert len({s for _, s in rec.calls}) == 18
    assert prior_match(codes, prior.sample, n=500, subsets=2, seed=3)["subsets"] == 2
    assert prior_match(codes, prior.sample, n=500, seed=3) == first
    assert prior_match(codes, prior.sample, n=500, seed=4) != first
    assert prior_match(codes[:400], prior.sample)["n"] == 400  # default: all codes


def test_prior_match_subsets_average_the_noise_not_the_expectation():
    prior = StandardGaussian(2)
    # genuine prior samples: five disjoint sets scatter far less than one
    perfect = {
        k: [prior_match(prior.sample(2500, seed=50 + s), prior.sample, n=500, subsets=k, seed=s)["ratio"]
            for s in range(20)]
        for k in (1, 5)
    }
    assert np.std(perfect[5]) < 0.6 * np.std(perfect[1])
    assert 0.7 < np.mean(perfect[5]) < 1.3
    # a real mismatch (shifted by 0.3 std): the same expected ratio, whatever the number of sets
    shifted = prior.sample(2500, seed=9) + 0.3
    mean_ratio = {
        k: np.mean([prior_match(shifted, prior.sample, n=500, subsets=k, seed=s)["ratio"] for s in range(10)])
        for k in (1, 5)
    }
    assert mean_ratio[1] > 5
    assert mean_ratio[5] == pytest.approx(mean_ratio[1], rel=0.15)


def test_prior_match_explicit_bandwidths():
    prior = StandardGaussian(2)
    codes = prior.sample(300, seed=6) + 0.3
    auto = prior_match(codes, prior.sample, seed=2)
    fixed = prior_match(codes, prior.sample, seed=2, bandwidth=auto["bandwidth"])
    assert fixed == auto
    several = prior_match(codes, prior.sample, seed=2, bandwidth=[0.5, 2.0])
    assert several["bandwidth"] == (0.5, 2.0)
    assert several["ratio"] > 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 301}, "larger than the number of codes"),
        ({"n": 1}, "n must be an integer >= 2"),
        ({"repeats": 0}, "repeats must be an integer >= 1"),
        ({"subsets": 0}, "subsets must be an integer >= 1"),
        ({"n": 100, "subsets": 4}, r"subsets=4 disjoint sets of n=100 codes need 400 codes, but there are 300"),
        ({"bandwidth": 0.0}, "finite number > 0"),
        ({"bandwidth": [1.0, -2.0]}, "finite number > 0"),
    ],
)
def test_prior_match_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        prior_match(np.zeros((300, 2)), StandardGaussian(2).sample, **kwargs)


def test_prior_match_bad_sampler_or_codes():
    codes = StandardGaussian(2).sample(100, seed=0)
    with pytest.raises(ValueError, match=r"returned shape \(100, 3\), expected \(100, 2\)"):
        prior_match(codes, StandardGaussian(3).sample)
    with pytest.raises(ValueError, match="NaN or infinite"):
        prior_match(codes, lambda n, seed: np.full((n, 2), np.nan))
    with pytest.raises(ValueError, match="NaN or infinite"):
        prior_match(np.full((100, 2), np.inf), StandardGaussian(2).sample)
    with pytest.raises(ValueError, match="2-D array"):
        prior_match(codes.ravel(), StandardGaussian(2).sample)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "x, y, kwargs, match",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), {}, "different dimensions"),
        (np.zeros((1, 3)), np.ones((10, 3)), {}, "at least 2"),
        (np.zeros((10, 3)), np.zeros((0, 3)), {}, "at least 2"),
        (np.zeros(10), np.zeros((10, 1)), {}, r"2-D array \(N points, d dimensions\)"),
        (np.zeros((5, 28, 28)), np.zeros((5, 28, 28)), {}, "2-D array"),
        (np.full((10, 3), np.nan), np.zeros((10, 3)), {}, "NaN or infinite"),
        (np.zeros((10, 3)), np.full((10, 3), -np.inf), {}, "NaN or infinite"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": 0.0}, "finite number > 0"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": -1.0}, "finite number > 0"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": np.nan}, "finite number > 0"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": [1.0, 0.0]}, "finite number > 0"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": []}, "empty sequence"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"bandwidth": "wide"}, "finite number > 0"),
        (np.zeros((10, 3)), np.ones((10, 3)), {"chunk_size": 0}, "chunk_size"),
    ],
)
def test_bad_input_raises_clear_errors(x, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mmd2(x, y, **kwargs)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        mmd2(np.array([["a", "b"], ["c", "d"]]), np.zeros((2, 2)))


# --------------------------------------------------------------------------- prior_match_by_scale


def _roll_disc(n, seed):
    """Swiss-roll codes that fill the roll's area but not its spiral: a uniform disc (an ellipse)
    with the swiss roll's mean and covariance, so the first two moments agree."""
    roll = SwissRoll2D().sample(100_000, seed=99).astype(np.float64)
    root = np.linalg.cholesky(np.cov(roll.T))
    rng = np.random.default_rng(seed)
    r = 2.0 * np.sqrt(rng.uniform(size=n))  # a uniform disc of radius 2 has covariance I
    t = rng.uniform(0.0, 2.0 * np.pi, size=n)
    return roll.mean(axis=0) + np.stack([r * np.cos(t), r * np.sin(t)], axis=1) @ root.T


def test_by_scale_sees_the_disc_that_the_median_bandwidth_misses():
    roll = SwissRoll2D()
    result = prior_match_by_scale(_roll_disc(3000, seed=1), roll.sample, n=1000, seed=0)
    # At the median bandwidth the disc looks like the roll: the ratio is within the range of
    # genuine samples ...
    assert result["by_scale"]["1.0"]["ratio"] < PRIOR_MATCH_THRESHOLD
    # ... at a fraction of it the spiral's gaps, which the disc fills, are obvious.
    assert result["worst_ratio"] > 3 * PRIOR_MATCH_THRESHOLD
    assert result["worst_scale"] < 1.0
    assert not matches_prior(result)


@pytest.mark.parametrize("prior", [SwissRoll2D(), GaussianMixture2D(), StandardGaussian(2)],
                         ids=lambda p: p.name)
def test_by_scale_genuine_samples_match(prior):
    for s in range(3):
        result = prior_match_by_scale(prior.sample(2000, seed=300 + s), prior.sample, n=500, seed=s)
        assert matches_prior(result), result
        assert all(0.3 < v["ratio"] < PRIOR_MATCH_THRESHOLD for v in result["by_scale"].values())


def test_by_scale_sees_a_missing_mode_and_a_wrong_covariance():
    z, component = GaussianMixture2D().sample_with_labels(4000, seed=2)
    nine_arms = z[component != 0][:2000]
    assert not matches_prior(prior_match_by_scale(nine_arms, GaussianMixture2D().sample, n=500))
    squeezed = StandardGaussian(2).sample(2000, seed=3) * np.array([1.25, 0.8])
    assert not matches_prior(prior_match_by_scale(squeezed, StandardGaussian(2).sample, n=500))


def test_by_scale_structure_and_recordable(tmp_path):
    prior = GaussianMixture2D()
    result = prior_match_by_scale(prior.sample(1200, seed=4), prior.sample, n=400, repeats=2, seed=5)
    assert set(result) == {"n", "subsets", "median_bandwidth", "by_scale", "worst_ratio", "worst_scale"}
    assert result["n"] == 400 and result["subsets"] == 3
    assert type(result["n"]) is int and type(result["subsets"]) is int
    assert list(result["by_scale"]) == ["1.0", "0.5", "0.25", "0.125"]
    for key, entry in result["by_scale"].items():
        assert set(entry) == {"bandwidth", "codes_vs_prior", "prior_vs_prior", "ratio"}
        assert all(type(v) is float for v in entry.values())
        assert entry["bandwidth"] == pytest.approx(float(key) * result["median_bandwidth"], rel=1e-12)
        assert entry["ratio"] == pytest.approx(entry["codes_vs_prior"] / entry["prior_vs_prior"])
    ratios = {float(k): v["ratio"] for k, v in result["by_scale"].items()}
    assert result["worst_ratio"] == max(ratios.values())
    assert type(result["worst_scale"]) is float and ratios[result["worst_scale"]] == result["worst_ratio"]
    json.loads(json.dumps(result, allow_nan=False))  # plain JSON types only
    rec = ResultsRecorder("00_test", profile="smoke", data_source="synthetic", results_dir=tmp_path)
    rec.record("prior_match_by_scale", result)  # str keys: accepted by the results recorder
    # same arguments, same numbers
    assert prior_match_by_scale(prior.sample(1200, seed=4), prior.sample, n=400, repeats=2, seed=5) == result


@pytest.mark.parametrize("scales", [(1.0, 0.5, 0.25, 0.125), (0.7, 0.3, 2.0)], ids=["powers_of_2", "others"])
def test_by_scale_agrees_with_prior_match_at_each_bandwidth(scales):
    # Same sets, draws and median bandwidth as prior_match; each scale is prior_match at
    # bandwidth scale * median (the powers of 2 are computed by squaring, the others by exp).
    prior = SwissRoll2D()
    codes = _roll_disc(900, seed=6)
    result = prior_match_by_scale(codes, prior.sample, n=300, scales=scales, seed=8)
    assert result["median_bandwidth"] == prior_match(codes, prior.sample, n=300, seed=8)["bandwidth"]
    for s in scales:
        single = prior_match(codes, prior.sample, n=300, seed=8, bandwidth=s * result["median_bandwidth"])
        entry = result["by_scale"][repr(float(s))]
        for k in ("codes_vs_prior", "prior_vs_prior", "ratio"):
            assert entry[k] == pytest.approx(single[k], rel=1e-9)


@pytest.mark.parametrize(
    "scales, match",
    [
        ((), "scales is empty"),
        ([], "scales is empty"),
        ((1.0, 0.0), "finite number > 0"),
        ((1.0, -0.5), "finite number > 0"),
        ((np.nan,), "finite number > 0"),
        ((np.inf,), "finite number > 0"),
        (("small",), "finite number > 0"),
        ((True,), "finite number > 0"),
        ((0.5, 0.5), "distinct"),
    ],
)
def test_by_scale_bad_scales(scales, match):
    prior = StandardGaussian(2)
    with pytest.raises(ValueError, match=match):
        prior_match_by_scale(prior.sample(100, seed=0), prior.sample, scales=scales)


def test_by_scale_bad_other_arguments_and_matches_prior_errors():
    prior = StandardGaussian(2)
    codes = prior.sample(100, seed=0)
    with pytest.raises(ValueError, match="larger than the number of codes"):
        prior_match_by_scale(codes, prior.sample, n=101)
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        prior_match_by_scale(codes, prior.sample, repeats=0)
    with pytest.raises(ValueError, match="prior_match_by_scale: codes must be a 2-D array"):
        prior_match_by_scale(codes.ravel(), prior.sample)
    assert prior_match_by_scale(codes, prior.sample, scales=0.5)["by_scale"].keys() == {"0.5"}
    with pytest.raises(ValueError, match="returned by prior_match_by_scale"):
        matches_prior(prior_match(codes, prior.sample))
    result = prior_match_by_scale(codes, prior.sample)
    with pytest.raises(ValueError, match="threshold must be a finite number > 0"):
        matches_prior(result, threshold=0)
    assert matches_prior(result, threshold=1e6) and not matches_prior(result, threshold=1e-6)
