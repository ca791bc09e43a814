"""Fréchet distance: known values, invariances, a brute-force cross-check and bad input."""

import numpy as np
import pytest

from course_lib.frechet import frechet_distance, frechet_distance_images, within_class_spread


def _gauss(n, d, seed, mean=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    return mean + scale * rng.standard_normal((n, d))


def _correlated(n, d, seed):
    """Samples with a full, anisotropic covariance (not a multiple of the identity)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) / np.sqrt(d)
    return rng.standard_normal((n, d)) @ mix + rng.standard_normal(d)


def _brute_force(a, b):
    """The textbook formula with an explicit square root of the non-symmetric product.

    ``Sigma_a Sigma_b = V diag(w) V^-1`` (np.linalg.eig), so its principal square root is
    ``V diag(sqrt(w)) V^-1``; its trace must be real for covariance matrices.
    """
    mu_a, mu_b = a.mean(0), b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eig(sa @ sb)
    root = v @ np.diag(np.sqrt(w.astype(complex))) @ np.linalg.inv(v)
    assert abs(np.trace(root).imag) < 1e-6 * abs(np.trace(root).real)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(sa + sb) - 2 * np.trace(root).real)


def test_identical_sets_give_zero():
    a = _correlated(500, 16, seed=0)
    scale = np.trace(np.cov(a, rowvar=False))
    assert frechet_distance(a, a) <= 1e-6 * scale
    assert frechet_distance(a, a.copy()) >= 0.0


def test_mean_shift_gives_squared_norm():
    a = _gauss(20000, 8, seed=1)
    d = np.array([1.0, -2.0, 0.5, 0.0, 0.0, 3.0, 0.0, 1.0])
    # The same samples shifted: covariances are identical, so only the mean term is left.
    assert frechet_distance(a, a + d) == pytest.approx(d @ d, rel=1e-9)
    # Independent samples: the covariance term adds only sampling noise.
    b = _gauss(20000, 8, seed=2, mean=d)
    assert frechet_distance(a, b) == pytest.approx(d @ d, rel=0.02)


def test_larger_shift_is_farther():
    a = _gauss(3000, 10, seed=3)
    distances = [frechet_distance(a, _gauss(3000, 10, seed=4, mean=m)) for m in (0.0, 0.5, 1.0)]
    assert distances[0] < distances[1] < distances[2]


def test_scale_change_is_positive():
    a = _gauss(5000, 6, seed=5)
    b = _gauss(5000, 6, seed=6, scale=2.0)
    # Equal means, covariances I and 4I: Tr(I + 4I - 2*2I) = d.
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, 2.0 * a) == pytest.approx(6.0 * np.var(a, ddof=1), rel=0.05)


def test_symmetric():
    a, b = _correlated(300, 12, seed=7), _correlated(400, 12, seed=8)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-10)


@pytest.mark.parametrize("n, d", [(50, 3), (80, 7), (200, 20)])
def test_matches_brute_force(n, d):
    a, b = _correlated(n, d, seed=n), _correlated(n + 13, d, seed=n + 1)
    assert frechet_distance(a, b) == pytest.approx(_brute_force(a, b), rel=1e-8, abs=1e-10)


def test_fewer_samples_than_dimensions_is_finite():
    # Singular covariances (rank < d) are fine for the eigh-based square root.
    a, b = _gauss(10, 40, seed=9), _gauss(12, 40, seed=10)
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx(_brute_force(a, b), rel=1e-6)


def test_one_dimensional_features():
    a = _gauss(4000, 1, seed=11)
    b = _gauss(4000, 1, seed=12, mean=3.0, scale=2.0)
    # 1-D closed form: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2.
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_float32_and_integer_inputs_are_accepted():
    a = _gauss(100, 4, seed=13)
    assert frechet_distance(a.astype(np.float32), a) == pytest.approx(0.0, abs=1e-5)
    ints = np.random.default_rng(14).integers(0, 5, (100, 4))
    assert frechet_distance(ints, ints) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "different feature dimensions"),
        (np.zeros((1, 3)), np.zeros((10, 3)), "at least 2"),
        (np.zeros((10, 3)), np.zeros((0, 3)), "at least 2"),
        (np.zeros(10), np.zeros((10, 1)), r"2-D array \(N samples, d features\)"),
        (np.zeros((5, 28, 28)), np.zeros((5, 28, 28)), "not images"),
        (np.full((10, 3), np.nan), np.zeros((10, 3)), "NaN or infinite"),
        (np.zeros((10, 3)), np.full((10, 3), np.inf), "NaN or infinite"),
    ],
)
def test_bad_input_raises_clear_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


def test_non_numeric_input_is_a_type_error():
    with pytest.raises(TypeError, match="numeric"):
        frechet_distance(np.array([["a", "b"], ["c", "d"]]), np.zeros((2, 2)))


def test_images_convenience_uses_the_judges_features():
    class FakeJudge:
        def features(self, x):
            return np.asarray(x, dtype=np.float64).reshape(len(x), -1)[:, :5]

    x = np.random.default_rng(15).random((50, 28, 28))
    y = np.clip(x + 0.1, 0, 1)
    fake = FakeJudge()
    assert frechet_distance_images(fake, x, y) == pytest.approx(
        frechet_distance(fake.features(x), fake.features(y))
    )


def _classes_data(rng, n_per_class, scales, d=6):
    """Features of len(scales) classes, class c centred far from the others with spread scales[c]."""
    feats, ys = [], []
    for c, s in enumerate(scales):
        feats.append(10.0 * c + s * rng.standard_normal((n_per_class, d)))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(feats), np.concatenate(ys)


def test_within_class_spread_is_one_for_the_same_distribution_and_scales_quadratically():
    rng = np.random.default_rng(0)
    real, y_real = _classes_data(rng, 4000, [1.0, 2.0, 0.5])
    same, y_same = _classes_data(rng, 4000, [1.0, 2.0, 0.5])
    half, y_half = _classes_data(rng, 4000, [0.5, 1.0, 0.25])  # every class half as wide
    assert within_class_spread(same, y_same, real, y_real) == pytest.approx(1.0, abs=0.05)
    assert within_class_spread(half, y_half, real, y_real) == pytest.approx(0.25, abs=0.02)


def test_within_class_spread_is_per_class_not_pooled():
    """Samples whose classes are all piled at one point score 0, however far apart the classes are."""
    rng = np.random.default_rng(1)
    real, y_real = _classes_data(rng, 500, [1.0, 1.0])
    collapsed = np.repeat(np.array([[0.0] * 6, [50.0] * 6]), 300, axis=0)
    assert within_class_spread(collapsed, np.repeat([0, 1], 300), real, y_real) == 0.0
    # the pooled spread of these samples is huge; a wrong (pooled) implementation would be far above 1
    assert np.mean(np.sum((collapsed - collapsed.mean(0)) ** 2, 1)) > 1000


def test_within_class_spread_averages_the_class_ratios():
    rng = np.random.default_rng(2)
    real, y_real = _classes_data(rng, 4000, [1.0, 1.0])
    fake, y_fake = _classes_data(rng, 4000, [1.0, 0.0])  # class 1 collapsed: ratios 1 and 0
    assert within_class_spread(fake, y_fake, real, y_real) == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("change, match", [
    (lambda f, y, r, yr: (f[:, :3], y, r, yr), "same feature extractor"),
    (lambda f, y, r, yr: (f, y[:-1], r, yr), "one class id per row"),
    (lambda f, y, r, yr: (f[y != 1], y[y != 1], r, yr), "class 1 has 0 sample"),
    (lambda f, y, r, yr: (f, y, np.zeros_like(r), yr), "all identical"),
    (lambda f, y, r, yr: (f.reshape(-1), y, r, yr), "2-D array"),
])
def test_within_class_spread_bad_input(change, match):
    rng = np.random.default_rng(3)
    real, y_real = _classes_data(rng, 20, [1.0, 1.0])
    fake, y_fake = _classes_data(rng, 20, [1.0, 1.0])
    with pytest.raises(ValueError, match=match):
        within_class_spread(*change(fake, y_fake, real, y_real))
