"""PCA baseline and principal angles: known answers on constructed data."""

import numpy as np
import pytest

from course_lib import linear


def _low_rank_data(n=2000, d=20, k=3, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(d, k)))
    scales = np.array([5.0, 3.0, 1.0])[:k]
    codes = rng.normal(size=(n, k)) * scales
    x = codes @ basis.T + 0.5 + noise * rng.normal(size=(n, d))
    return x, basis


def test_pca_recovers_a_planted_subspace():
    x, basis = _low_rank_data()
    pca = linear.fit_pca(x, 3)
    angles = linear.principal_angles(pca.components.T, basis)
    assert np.degrees(angles).max() < 1.0
    assert np.allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-10)
    assert np.all(np.diff(pca.explained_variance) <= 0)
    assert pca.explained_variance_ratio.sum() > 0.99


def test_pca_reconstruction_error_equals_discarded_variance():
    x, _ = _low_rank_data(noise=0.2)
    full = linear.fit_pca(x, x.shape[1])
    k = 2
    pca = linear.fit_pca(x, k)
    err = ((x - pca.reconstruct(x)) ** 2).sum(axis=1).mean()
    discarded = full.explained_variance[k:].sum()
    assert err == pytest.approx(discarded, rel=1e-4)


def test_pca_keeps_image_shape_and_round_trips_codes():
    rng = np.random.default_rng(1)
    x = rng.random((50, 4, 4))
    pca = linear.fit_pca(x, 16)  # full rank: exact reconstruction
    recon = pca.reconstruct(x)
    assert recon.shape == x.shape and recon.dtype == np.float32
    assert np.allclose(recon, x, atol=1e-5)
    assert pca.encode(x).shape == (50, 16)
    assert pca.decode(pca.encode(x), shape=(4, 4)).shape == (50, 4, 4)


def test_pca_is_deterministic_in_sign():
    x, _ = _low_rank_data()
    a = linear.fit_pca(x, 3).components
    b = linear.fit_pca(x[::-1].copy(), 3).components
    assert np.allclose(a, b, atol=1e-8)


@pytest.mark.parametrize("k", [0, 21, 2.5])
def test_pca_rejects_bad_component_counts(k):
    x, _ = _low_rank_data()
    with pytest.raises((ValueError, TypeError), match="n_components"):
        linear.fit_pca(x, k)


def test_pca_rejects_wrong_feature_count():
    x, _ = _low_rank_data()
    pca = linear.fit_pca(x, 2)
    with pytest.raises(ValueError, match="fitted on 20 features"):
        pca.reconstruct(np.zeros((3, 19)))
    with pytest.raises(ValueError, match=r"codes of shape \(N, 2\)"):
        pca.decode(np.zeros((3, 5)))


def test_principal_angles_known_values():
    e = np.eye(3)
    assert np.allclose(linear.principal_angles(e[:, :2], e[:, :2]), 0.0, atol=1e-7)
    assert np.allclose(linear.principal_angles(e[:, :1], e[:, 1:2]), np.pi / 2)
    theta = 0.3
    v = np.array([[np.cos(theta)], [np.sin(theta)], [0.0]])
    assert linear.principal_angles(e[:, :1], v)[0] == pytest.approx(theta)
    # Not orthonormal, same span -> zero angles.
    a = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    assert np.allclose(linear.principal_angles(a, e[:, :2]), 0.0, atol=1e-7)


def test_principal_angles_rejects_bad_input():
    with pytest.raises(ValueError, match="same number of rows"):
        linear.principal_angles(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="linearly dependent"):
        linear.principal_angles(np.ones((3, 2)), np.eye(3)[:, :2])


def test_pca_reconstruction_can_be_clipped_to_the_pixel_range():
    rng = np.random.default_rng(3)
    x = rng.random((200, 12))
    pca = linear.fit_pca(x, 2)
    raw, clipped = pca.reconstruct(x), pca.reconstruct(x, clip=True)
    assert raw.min() < 0 or raw.max() > 1  # a rank-2 projection leaves [0, 1]
    assert clipped.min() >= 0 and clipped.max() <= 1
    np.testing.assert_array_equal(clipped, np.clip(raw, 0, 1))
    assert ((x - clipped) ** 2).mean() <= ((x - raw) ** 2).mean()  # clipping never hurts in [0, 1]
