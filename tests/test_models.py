"""Autoencoder builders: shapes, the linear case, training signal, .keras round trip."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import linear, models  # noqa: E402


def test_mlp_autoencoder_shapes_and_range():
    ae = models.mlp_autoencoder((28, 28), latent_dim=8, hidden=(32,))
    x = np.random.default_rng(0).random((5, 28, 28)).astype("float32")
    assert ae.encode(x).shape == (5, 8)
    out = ae.reconstruct(x)
    assert out.shape == (5, 28, 28)
    assert out.min() >= 0.0 and out.max() <= 1.0  # sigmoid output
    assert ae.latent_dim == 8
    assert [layer.units for layer in ae.decoder.layers if hasattr(layer, "units")] == [32, 784]


def test_linear_autoencoder_has_no_nonlinearity():
    ae = models.linear_autoencoder((4, 4), latent_dim=3)
    x = np.random.default_rng(0).normal(size=(6, 4, 4)).astype("float32")
    # A linear map (plus bias): f(a + b) - f(0) = f(a) - f(0) + f(b) - f(0).
    zero = np.zeros_like(x[:1])
    f = ae.reconstruct
    lhs = f(x[:1] + x[1:2]) - f(zero)
    rhs = (f(x[:1]) - f(zero)) + (f(x[1:2]) - f(zero))
    assert np.allclose(lhs, rhs, atol=1e-5)
    # No sigmoid at the output: a large input gives values outside [0, 1].
    assert np.abs(f(np.full((1, 4, 4), 100.0, dtype="float32"))).max() > 1.0


def test_linear_autoencoder_learns_the_principal_subspace():
    """Baldi & Hornik: MSE training drives the linear AE to PCA's subspace."""
    rng = np.random.default_rng(0)
    d, k = 12, 2
    basis, _ = np.linalg.qr(rng.normal(size=(d, k)))
    x = (rng.normal(size=(4000, k)) * [3.0, 2.0]) @ basis.T + 0.05 * rng.normal(size=(4000, d))
    x = x.astype("float32").reshape(-1, 3, 4)
    keras.utils.set_random_seed(0)
    ae = models.linear_autoencoder((3, 4), latent_dim=k)
    ae.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    ae.fit(x, x, epochs=40, batch_size=64, verbose=0)
    w = ae.decoder.get_layer("pixels").get_weights()[0]  # (k, d)
    pca = linear.fit_pca(x, k)
    angles = linear.principal_angles(w.T, pca.components.T)
    assert np.degrees(angles).max() < 3.0
    ae_mse = float(((ae.reconstruct(x) - x) ** 2).mean())
    pca_mse = float(((pca.reconstruct(x) - x) ** 2).mean())
    assert ae_mse < 1.05 * pca_mse


def test_save_and_load_round_trip(tmp_path):
    ae = models.mlp_autoencoder((28, 28), latent_dim=4, hidden=(16,))
    x = np.random.default_rng(1).random((3, 28, 28)).astype("float32")
    ae.compile(optimizer="adam", loss="mse")
    path = tmp_path / "ae.keras"
    ae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, models.Autoencoder)
    assert np.allclose(loaded.reconstruct(x), ae.reconstruct(x), atol=1e-6)
    assert np.allclose(loaded.encode(x), ae.encode(x), atol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"latent_dim": 2.5}, "latent_dim must be a positive integer"),
        ({"hidden": (32, -1)}, r"hidden\[1\] must be a positive integer"),
        ({"input_shape": (28, 0)}, "input_shape must be a tuple of positive integers"),
    ],
)
def test_builders_reject_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.mlp_autoencoder(**kwargs)


def test_mismatched_halves_are_refused():
    enc = models.mlp_encoder((28, 28), 8)
    dec = models.mlp_decoder(16, (28, 28))
    with pytest.raises(ValueError, match="latent_dim"):
        models.Autoencoder(enc, dec)


def test_wrong_input_shape_gets_a_clear_error():
    ae = models.mlp_autoencoder((28, 28), latent_dim=4, hidden=())
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, 28, 28\), got \(2, 784\)"):
        ae.reconstruct(np.zeros((2, 784), dtype="float32"))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        ae.decode(np.zeros((2, 5), dtype="float32"))


def test_sparse_code_penalty_is_added_to_the_loss():
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    plain = models.mlp_autoencoder(latent_dim=8, hidden=(16,), code_activation="relu")
    sparse = models.mlp_autoencoder(latent_dim=8, hidden=(16,), code_activation="relu", code_l1=0.5)
    plain(x)
    sparse(x)
    assert plain.losses == []
    assert len(sparse.losses) == 1 and float(sparse.losses[0]) > 0.0
    code = sparse.encode(x)
    assert code.min() >= 0.0  # ReLU code
    with pytest.raises(ValueError, match="code_l1 must be a non-negative number"):
        models.mlp_autoencoder(latent_dim=8, code_l1=-1.0)
