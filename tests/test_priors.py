"""AAE priors: shapes, seeding, the geometry of each prior, labels, make_prior and bad input."""

import numpy as np
import pytest

from course_lib.priors import (
    PRIOR_NAMES,
    GaussianMixture2D,
    Prior,
    Ring2D,
    StandardGaussian,
    SwissRoll2D,
    make_prior,
)

ALL_PRIORS = [
    StandardGaussian(2),
    StandardGaussian(5),
    GaussianMixture2D(),
    Ring2D(),
    SwissRoll2D(),
]
IDS = ["gaussian-2d", "gaussian-5d", "mixture", "ring", "swiss_roll"]


# --------------------------------------------------------------------------- interface


@pytest.mark.parametrize("prior", ALL_PRIORS, ids=IDS)
def test_shapes_dtypes_and_protocol(prior):
    assert isinstance(prior, Prior)
    z = prior.sample(123, seed=0)
    assert z.shape == (123, prior.dim) and z.dtype == np.float32
    assert np.isfinite(z).all()
    z2, comp = prior.sample_with_labels(7, seed=1)
    assert z2.shape == (7, prior.dim) and z2.dtype == np.float32
    assert comp.shape == (7,) and comp.dtype == np.int64
    assert prior.sample(1, seed=0).shape == (1, prior.dim)


@pytest.mark.parametrize("prior", ALL_PRIORS, ids=IDS)
def test_seeded_sampling_is_reproducible_and_seeds_differ(prior):
    a = prior.sample(500, seed=42)
    np.testing.assert_array_equal(a, prior.sample(500, seed=42))
    assert not np.array_equal(a, prior.sample(500, seed=43))
    # sample() returns exactly the codes of sample_with_labels() for the same seed
    z, comp = prior.sample_with_labels(500, seed=42)
    np.testing.assert_array_equal(a, z)
    np.testing.assert_array_equal(comp, prior.sample_with_labels(500, seed=42)[1])
    # seed=None: fresh randomness
    assert not np.array_equal(prior.sample(50), prior.sample(50))


@pytest.mark.parametrize("prior", [StandardGaussian(3), Ring2D()], ids=["gaussian", "ring"])
def test_priors_without_parts_label_everything_zero(prior):
    _, comp = prior.sample_with_labels(1000, seed=0)
    assert (comp == 0).all()


def test_priors_are_frozen_and_have_names():
    prior = GaussianMixture2D()
    with pytest.raises(AttributeError):
        prior.radius = 5.0
    assert [p.name for p in ALL_PRIORS] == ["gaussian", "gaussian", "mixture", "ring", "swiss_roll"]
    assert [p.dim for p in ALL_PRIORS] == [2, 5, 2, 2, 2]


# --------------------------------------------------------------------------- geometry


def test_standard_gaussian_moments():
    z = StandardGaussian(3).sample(20000, seed=0).astype(np.float64)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.03)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.eye(3), atol=0.04)


def test_mixture_component_means_on_circle():
    prior = GaussianMixture2D(n_components=10, radius=3.0)
    means = prior.component_means()
    assert means.shape == (10, 2)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 3.0, rtol=1e-6)
    angles = np.mod(np.arctan2(means[:, 1], means[:, 0]), 2 * np.pi)
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(10) / 10, atol=1e-6)
    np.testing.assert_allclose(means[0], [3.0, 0.0], atol=1e-6)


def test_mixture_components_are_balanced_and_centred_on_their_means():
    prior = GaussianMixture2D()
    n = 20000
    z, comp = prior.sample_with_labels(n, seed=0)
    counts = np.bincount(comp, minlength=10)
    assert counts.shape == (10,) and comp.min() >= 0 and comp.max() <= 9
    # multinomial: std of each count = sqrt(n * 0.1 * 0.9) = 42; allow 5 sigma
    np.testing.assert_allclose(counts, n / 10, atol=5 * np.sqrt(n * 0.09))
    means = prior.component_means()
    for c in range(10):
        np.testing.assert_allclose(z[comp == c].mean(axis=0), means[c], atol=0.05)
    # nearly every sample lies closest to its own component's mean
    nearest = np.argmin(((z[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
    assert (nearest == comp).mean() > 0.97


def test_mixture_components_are_elongated_along_the_radius():
    prior = GaussianMixture2D(radial_std=0.5, tangential_std=0.1)
    z, comp = prior.sample_with_labels(20000, seed=1)
    means = prior.component_means().astype(np.float64)
    for c in (0, 3, 7):
        u = means[c] / np.linalg.norm(means[c])  # along the radius
        v = np.array([-u[1], u[0]])  # across
        d = z[comp == c] - means[c]
        assert np.std(d @ u) == pytest.approx(0.5, rel=0.08)
        assert np.std(d @ v) == pytest.approx(0.1, rel=0.08)


def test_mixture_default_scale_is_comparable_to_standard_normal():
    z = GaussianMixture2D().sample(20000, seed=2).astype(np.float64)
    rms = np.sqrt((z**2).mean(axis=0))
    assert ((rms > 1.0) & (rms < 2.0)).all()
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=0.05)


def test_ring_radius_distribution():
    z = Ring2D(radius=2.5, width=0.1).sample(20000, seed=0).astype(np.float64)
    r = np.linalg.norm(z, axis=1)
    assert r.mean() == pytest.approx(2.5, abs=0.01)
    assert r.std() == pytest.approx(0.1, rel=0.05)
    assert r.min() > 2.0  # a hole in the middle
    angles = np.arctan2(z[:, 1], z[:, 0])
    counts = np.histogram(angles, bins=8, range=(-np.pi, np.pi))[0]
    np.testing.assert_allclose(counts, 20000 / 8, rtol=0.1)  # uniform angle
    exact = Ring2D(radius=1.0, width=0.0).sample(100, seed=0)
    np.testing.assert_allclose(np.linalg.norm(exact, axis=1), 1.0, rtol=1e-6)


def test_swiss_roll_labels_follow_the_roll():
    n = 20000
    z, comp = SwissRoll2D().sample_with_labels(n, seed=0)
    z = z.astype(np.float64)
    assert comp.min() == 0 and comp.max() == 9
    np.testing.assert_allclose(np.bincount(comp), n / 10, atol=5 * np.sqrt(n * 0.09))
    # The distance from the origin grows along the roll, so it orders the bins.
    r = np.linalg.norm(z, axis=1)
    medians = [np.median(r[comp == c]) for c in range(10)]
    assert np.all(np.diff(medians) > 0)
    # Labels are monotone along the roll: without noise, sorting by distance from the origin
    # (which is proportional to the position t) gives non-decreasing labels ...
    z0, c0 = SwissRoll2D(noise=0.0).sample_with_labels(n, seed=0)
    assert np.all(np.diff(c0[np.argsort(np.linalg.norm(z0, axis=1))]) >= 0)
    # ... and with the default noise, a label is (nearly always) at most one bin away from the
    # bin its distance rank puts it in.
    predicted = np.empty(n, dtype=np.int64)
    predicted[np.argsort(r)] = np.arange(n) * 10 // n
    assert (np.abs(predicted - comp) <= 1).mean() > 0.995
    assert (predicted == comp).mean() > 0.65


def test_swiss_roll_is_scaled_like_standard_normal():
    z = SwissRoll2D().sample(20000, seed=1).astype(np.float64)
    assert np.sqrt((z**2).mean()) == pytest.approx(1.0, abs=0.05)
    assert np.abs(z).max() < 3.0


def test_swiss_roll_noise_and_bins():
    z0, c0 = SwissRoll2D(noise=0.0, n_bins=4).sample_with_labels(5000, seed=3)
    z1, _ = SwissRoll2D(noise=0.2, n_bins=4).sample_with_labels(5000, seed=3)
    assert set(np.unique(c0)) == {0, 1, 2, 3}
    # same seed, same positions along the roll; noise only adds scatter of that size
    assert np.std(z1 - z0) == pytest.approx(0.2, rel=0.05)


# --------------------------------------------------------------------------- make_prior


@pytest.mark.parametrize(
    "name, cls",
    [
        ("gaussian", StandardGaussian),
        ("mixture", GaussianMixture2D),
        ("ring", Ring2D),
        ("swiss_roll", SwissRoll2D),
    ],
)
def test_make_prior_by_name(name, cls):
    prior = make_prior(name)
    assert type(prior) is cls and prior.name == name and prior.dim == 2
    np.testing.assert_array_equal(prior.sample(10, seed=0), cls().sample(10, seed=0))
    assert name in PRIOR_NAMES


def test_make_prior_dim_and_kwargs():
    assert make_prior("gaussian", dim=16).sample(3, seed=0).shape == (3, 16)
    prior = make_prior("mixture", n_components=6, radius=3.0)
    assert prior == GaussianMixture2D(n_components=6, radius=3.0)
    assert make_prior("Swiss-Roll").name == "swiss_roll"


def test_make_prior_errors():
    with pytest.raises(
        ValueError, match="unknown prior 'laplace'.*gaussian, mixture, ring, swiss_roll"
    ):
        make_prior("laplace")
    for name in ("mixture", "ring", "swiss_roll"):
        with pytest.raises(ValueError, match="2-D only.*dim=8.*'gaussian'"):
            make_prior(name, dim=8)
    with pytest.raises(ValueError, match="dim must be >= 1"):
        make_prior("gaussian", dim=0)
    with pytest.raises(TypeError, match=r"no parameter\(s\) \['sigma'\].*radius"):
        make_prior("ring", sigma=1.0)
    with pytest.raises(TypeError, match="no parameter"):
        make_prior("gaussian", radius=1.0)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: StandardGaussian(0), "dim must be >= 1"),
        (lambda: StandardGaussian(2.5), "dim must be an integer"),
        (lambda: GaussianMixture2D(n_components=0), "n_components must be >= 1"),
        (lambda: GaussianMixture2D(radius=0.0), "radius must be a finite number > 0"),
        (lambda: GaussianMixture2D(radial_std=-0.5), "radial_std must be a finite number >= 0"),
        (lambda: GaussianMixture2D(tangential_std=float("nan")), "tangential_std"),
        (lambda: Ring2D(width=-1.0), "width must be a finite number >= 0"),
        (lambda: Ring2D(radius=float("inf")), "radius must be a finite number > 0"),
        (lambda: SwissRoll2D(noise=-0.1), "noise must be a finite number >= 0"),
        (lambda: SwissRoll2D(n_bins=0), "n_bins must be >= 1"),
    ],
)
def test_bad_parameters_raise_clear_errors(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize("prior", ALL_PRIORS, ids=IDS)
@pytest.mark.parametrize(
    "n, seed, match",
    [
        (0, 0, "must be >= 1"),
        (-3, 0, "must be >= 1"),
        (2.0, 0, "must be an integer"),
        (True, 0, "must be an integer"),
        (10, -1, "seed must be None or a non-negative integer"),
        (10, 1.5, "seed must be None or a non-negative integer"),
    ],
)
def test_bad_sample_arguments_raise_clear_errors(prior, n, seed, match):
    with pytest.raises(ValueError, match=match):
        prior.sample(n, seed=seed)
    with pytest.raises(ValueError, match=match):
        prior.sample_with_labels(n, seed=seed)


def test_numpy_integers_are_accepted():
    prior = GaussianMixture2D(n_components=np.int64(4))
    z = prior.sample(np.int32(5), seed=np.int64(0))
    assert z.shape == (5, 2)
