"""The VAE model: sampling, loss terms, warm-up and free bits, training, saving, evaluation."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import likelihoods, vae


def _model(latent=4, **kwargs):
    keras.utils.set_random_seed(0)
    enc = vae.gaussian_mlp_encoder((6, 6), latent, (16,))
    dec = vae.logit_mlp_decoder(latent, (6, 6), (16,))
    return vae.VAE(enc, dec, seed=0, **kwargs)


@pytest.fixture(scope="module")
def grey():
    rng = np.random.default_rng(0)
    base = rng.random((4, 6, 6)).astype(np.float32)
    return np.clip(base[rng.integers(0, 4, 256)] + 0.05 * rng.standard_normal((256, 6, 6)), 0, 1).astype(
        np.float32
    )


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def test_sampling_has_the_right_moments_and_passes_gradients():
    import tensorflow as tf

    layer = vae.Sampling(seed=1)
    mean = tf.Variable(np.full((20000, 2), [1.0, -2.0], np.float32))
    log_var = tf.Variable(np.full((20000, 2), [0.0, np.log(0.25)], np.float32))
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
        loss = tf.reduce_sum(z)
    z = z.numpy()
    np.testing.assert_allclose(z.mean(0), [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(z.std(0), [1.0, 0.5], atol=0.02)
    g_mean, g_lv = tape.gradient(loss, [mean, log_var])
    np.testing.assert_allclose(g_mean.numpy(), 1.0)  # dz/dmean = 1: the trick at work
    assert np.abs(g_lv.numpy()).sum() > 0


def test_call_returns_all_parts_and_binarises_only_in_training(grey):
    model = _model(binarize=True)
    out = model(grey[:64], training=True)
    assert set(out) == {"x", "mean", "log_var", "z", "logits"}
    x_bin = _np(out["x"])
    assert set(np.unique(x_bin)) <= {0.0, 1.0}
    many = np.stack([_np(model(grey[:1], training=True)["x"])[0] for _ in range(400)])
    np.testing.assert_allclose(many.mean(0), grey[0], atol=0.1)  # E[binary sample] = intensity
    np.testing.assert_array_equal(_np(model(grey[:64], training=False)["x"]), grey[:64])


def test_loss_is_reconstruction_plus_beta_kl(grey):
    model = _model(beta=3.0)
    x = (grey[:32] > 0.5).astype(np.float32)
    out = model(x, training=False)
    loss = float(_np(model.compute_loss(x=x, y_pred=out)))
    rec = -float(_np(likelihoods.bernoulli_log_prob(out["x"], out["logits"])).mean())
    kl = float(_np(likelihoods.kl_standard_normal(out["mean"], out["log_var"])).mean())
    assert loss == pytest.approx(rec + 3.0 * kl, rel=1e-5)


def test_free_bits_floor_each_dimension(grey):
    model = _model(latent=4, free_bits=5.0)
    x = (grey[:32] > 0.5).astype(np.float32)
    out = model(x, training=False)
    rec = -float(_np(likelihoods.bernoulli_log_prob(out["x"], out["logits"])).mean())
    kl_dims = _np(likelihoods.kl_per_dimension(out["mean"], out["log_var"])).mean(0)
    assert kl_dims.max() < 5.0  # an untrained encoder sits near the prior
    assert float(_np(model.compute_loss(x=x, y_pred=out))) == pytest.approx(rec + 4 * 5.0, rel=1e-5)


def test_kl_warmup_ramps_the_weight():
    model = _model(beta=2.0, kl_warmup_steps=10)
    model.compile(optimizer=keras.optimizers.Adam())
    assert float(_np(model.kl_weight())) == 0.0
    model.optimizer.iterations.assign(5)
    assert float(_np(model.kl_weight())) == pytest.approx(1.0)
    model.optimizer.iterations.assign(50)
    assert float(_np(model.kl_weight())) == pytest.approx(2.0)


def test_fit_tracks_terms_and_learns(grey):
    model = _model(binarize=True)
    val = (grey[:64] > 0.5).astype(np.float32)
    hist = vae.fit_vae(model, grey, epochs=8, batch_size=32, peak_lr=1e-2, validation_data=val, verbose=0)
    h = hist.history
    for key in ("loss", "reconstruction", "kl", "neg_elbo", "val_loss", "val_neg_elbo"):
        assert key in h, sorted(h)
    np.testing.assert_allclose(h["neg_elbo"], np.add(h["reconstruction"], h["kl"]), rtol=1e-4)
    assert h["val_neg_elbo"][-1] < h["val_neg_elbo"][0] - 1.0


def test_fit_rejects_grey_validation_for_bernoulli(grey):
    with pytest.raises(ValueError, match="binary"):
        vae.fit_vae(_model(binarize=True), grey, epochs=1, validation_data=grey[:8], verbose=0)
    with pytest.raises(ValueError, match="expected a batch of shape"):
        vae.fit_vae(_model(), grey.reshape(256, 36), epochs=1, verbose=0)


def test_save_and_load_round_trip(tmp_path, grey):
    model = _model(beta=0.5, kl_warmup_steps=3, free_bits=0.1, binarize=True, likelihood="gaussian")
    vae.fit_vae(model, grey, epochs=1, batch_size=64, verbose=0)
    path = tmp_path / "vae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, vae.VAE)
    for key in ("likelihood", "beta", "kl_warmup_steps", "free_bits", "binarize", "seed"):
        assert getattr(loaded, key) == getattr(model, key)
    np.testing.assert_allclose(loaded.encode(grey[:5])[0], model.encode(grey[:5])[0], rtol=1e-6)
    np.testing.assert_allclose(loaded.decode(np.zeros((2, 4), np.float32)), model.decode(np.zeros((2, 4), np.float32)))
    assert float(_np(loaded.log_scale)) == pytest.approx(float(_np(model.log_scale)))


def test_numpy_helpers_shapes_and_ranges(grey):
    model = _model()
    mean, log_var = model.encode(grey[:10], batch_size=3)
    assert mean.shape == log_var.shape == (10, 4)
    rec = model.reconstruct(grey[:10])
    assert rec.shape == (10, 6, 6) and rec.min() >= 0 and rec.max() <= 1
    samples = model.sample(7, seed=1)
    assert samples.shape == (7, 6, 6)
    np.testing.assert_array_equal(samples, model.sample(7, seed=1))
    with pytest.raises(ValueError, match="expected a batch of shape"):
        model.encode(grey[:3].reshape(3, 36))


def test_iw_bound_sits_between_elbo_and_is_reproducible(grey):
    model = _model(binarize=True)
    vae.fit_vae(model, grey, epochs=3, batch_size=32, peak_lr=1e-2, verbose=0)
    x = (grey[:100] > 0.5).astype(np.float32)
    elbo = model.elbo(x, seed=0)
    np.testing.assert_allclose(elbo["elbo"], -(elbo["reconstruction"] + elbo["kl"]))
    l1 = np.mean([model.log_likelihood_iw(x, k=1, seed=s).mean() for s in range(20)])
    assert l1 == pytest.approx(elbo["elbo"].mean(), abs=1.0)  # k = 1 is the ELBO
    l50 = model.log_likelihood_iw(x, k=50, seed=0)
    assert l50.mean() > elbo["elbo"].mean()
    np.testing.assert_array_equal(l50, model.log_likelihood_iw(x, k=50, seed=0))


def test_evaluation_needs_binary_data_and_valid_k(grey):
    model = _model()
    with pytest.raises(ValueError, match="binary"):
        model.log_likelihood_iw(grey[:4], k=2)
    with pytest.raises(ValueError, match="binary"):
        model.elbo(grey[:4])
    with pytest.raises(ValueError, match="integer >= 1"):
        model.log_likelihood_iw((grey[:4] > 0.5).astype(np.float32), k=0)


def test_constructor_errors():
    enc = vae.gaussian_mlp_encoder((6, 6), 4, (8,))
    with pytest.raises(ValueError, match="same latent_dim"):
        vae.VAE(enc, vae.logit_mlp_decoder(3, (6, 6), (8,)))
    with pytest.raises(ValueError, match="likelihood"):
        vae.VAE(enc, vae.logit_mlp_decoder(4, (6, 6), (8,)), likelihood="poisson")
    with pytest.raises(ValueError, match="beta"):
        vae.VAE(enc, vae.logit_mlp_decoder(4, (6, 6), (8,)), beta=-1)
    plain = keras.Sequential([keras.Input((6, 6)), keras.layers.Flatten(), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="two tensors"):
        vae.VAE(plain, vae.logit_mlp_decoder(4, (6, 6), (8,)))


def test_active_units_counts_varying_dimensions():
    rng = np.random.default_rng(0)
    mean = np.zeros((500, 5))
    mean[:, [0, 3]] = rng.standard_normal((500, 2))
    mean[:, 4] = 0.001 * rng.standard_normal(500)  # varies, but below the threshold
    count, variances = vae.active_units(mean)
    assert count == 2 and variances.shape == (5,)
    with pytest.raises(ValueError, match="posterior means"):
        vae.active_units(mean[:1])


def _cvae(**kwargs):
    keras.utils.set_random_seed(0)
    enc = vae.conditional_mlp_encoder((6, 6), 3, 4, (16,))
    dec = vae.conditional_logit_decoder(4, 3, (6, 6), (16,))
    return vae.ConditionalVAE(enc, dec, seed=0, **kwargs)


def test_conditional_vae_learns_the_class_and_round_trips(tmp_path, grey):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, len(grey))
    x = np.clip(grey * 0.3 + (y[:, None, None] == np.arange(6)[None, :, None] // 2) * 0.7, 0, 1).astype(np.float32)
    model = _cvae(binarize=True)
    hist = vae.fit_cvae(model, x, y, epochs=15, batch_size=32, peak_lr=1e-2, verbose=0,
                        validation_data=((x[:32] > 0.5).astype(np.float32), y[:32]))
    assert hist.history["val_neg_elbo"][-1] < hist.history["val_neg_elbo"][0]
    samples = model.sample(np.repeat(np.arange(3), 50), seed=0)
    rows = samples.mean(axis=2)  # (150, 6): the class lights up rows 2c and 2c+1
    bright = rows.reshape(3, 50, 3, 2).mean(axis=(1, 3))  # class x row-pair
    assert np.all(np.argmax(bright, axis=1) == np.arange(3)), bright
    restyled = model.restyle(x[:5], y[:5], np.full(5, 2))
    assert restyled.shape == (5, 6, 6)
    path = tmp_path / "cvae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, vae.ConditionalVAE) and loaded.n_classes == 3
    np.testing.assert_allclose(loaded.sample(np.arange(3), seed=4), model.sample(np.arange(3), seed=4), rtol=1e-5)


def test_conditional_vae_label_errors(grey):
    model = _cvae()
    with pytest.raises(ValueError, match="labels must be in 0..2"):
        model.sample(np.array([0, 3]))
    with pytest.raises(ValueError, match="5 integers"):
        model.encode(grey[:5], np.zeros(4, int))
    with pytest.raises(ValueError, match="one-hot label"):
        vae.ConditionalVAE(vae.gaussian_mlp_encoder((6, 6), 4, (8,)), vae.logit_mlp_decoder(4, (6, 6), (8,)))


# ---------------------------------------------------------------------- conditional conv builders


@pytest.mark.parametrize("upsample", ["transpose", "upsample"])
@pytest.mark.parametrize("label_planes", [False, True])
def test_conditional_conv_decoder_output_shape(upsample, label_planes):
    dec = vae.conditional_conv_decoder(4, 3, (8, 8), (8, 4), upsample=upsample, label_planes=label_planes)
    out = _np(dec([np.zeros((5, 4), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]]))
    assert out.shape == (5, 8, 8)
    dec3 = vae.conditional_conv_decoder(4, 3, (8, 8, 1), (4,), upsample=upsample, label_planes=label_planes)
    assert dec3.output_shape == (None, 8, 8, 1)
    # logits_layer="transpose": the logits layer doubles the resolution itself (2x2 -> 4x4 -> 8x8)
    dect = vae.conditional_conv_decoder(4, 3, (8, 8), (4,), upsample=upsample, logits_layer="transpose",
                                        label_planes=label_planes)
    assert dect.get_layer("to_feature_map").output.shape[1:] == (2, 2, 4)
    assert _np(dect([np.zeros((2, 4), np.float32), np.eye(3, dtype=np.float32)[:2]])).shape == (2, 8, 8)


@pytest.mark.parametrize("label_planes", [False, True])
def test_conditional_conv_encoder_output_shapes(label_planes):
    enc = vae.conditional_conv_encoder((8, 8), 3, 4, (4, 8), hidden=(16,), label_planes=label_planes)
    mean, log_var = enc([np.zeros((5, 8, 8), np.float32), np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1]]])
    assert _np(mean).shape == (5, 4) and _np(log_var).shape == (5, 4)
    assert vae.conditional_conv_encoder((8, 8, 1), 3, 4, (4,)).input_shape[0] == (None, 8, 8, 1)


def _conv_cvae(encoder="mlp", **kwargs):
    keras.utils.set_random_seed(0)
    if encoder == "mlp":
        enc = vae.conditional_mlp_encoder((8, 8), 3, 4, (16,))
    else:
        enc = vae.conditional_conv_encoder((8, 8), 3, 4, (4, 8))
    dec = vae.conditional_conv_decoder(4, 3, (8, 8), (8,), logits_layer="transpose", label_planes=True)
    return vae.ConditionalVAE(enc, dec, seed=0, **kwargs)


@pytest.mark.parametrize("encoder", ["mlp", "conv"])
def test_conditional_conv_builders_train_inside_a_cvae_and_round_trip(tmp_path, encoder):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 192)
    # class c lights up rows 2c..2c+2 of an 8x8 image
    x = np.clip(0.2 * rng.random((192, 8, 8)) + (np.arange(8)[None, :, None] // 3 == y[:, None, None]) * 0.8,
                0, 1).astype(np.float32)
    model = _conv_cvae(encoder, binarize=True)
    assert model.image_shape == (8, 8)
    hist = vae.fit_cvae(model, x, y, epochs=4, batch_size=32, peak_lr=1e-2, verbose=0,
                        validation_data=((x[:32] > 0.5).astype(np.float32), y[:32]))
    assert np.all(np.isfinite(hist.history["loss"]))
    assert hist.history["val_neg_elbo"][-1] < hist.history["val_neg_elbo"][0]
    samples = model.sample(np.arange(6) % 3, seed=0)
    assert samples.shape == (6, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    assert model.reconstruct(x[:4], y[:4]).shape == (4, 8, 8)
    path = tmp_path / f"conv_cvae_{encoder}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, vae.ConditionalVAE)
    np.testing.assert_allclose(loaded.sample(np.arange(3), seed=4), model.sample(np.arange(3), seed=4), rtol=1e-5)
    np.testing.assert_allclose(loaded.encode(x[:4], y[:4])[0], model.encode(x[:4], y[:4])[0], rtol=1e-5, atol=1e-6)


def test_conditional_conv_builders_reject_bad_arguments():
    with pytest.raises(ValueError, match="latent_dim"):
        vae.conditional_conv_decoder(0, 3, (8, 8))
    with pytest.raises(ValueError, match="n_classes"):
        vae.conditional_conv_decoder(4, 0, (8, 8))
    with pytest.raises(ValueError, match="not divisible"):
        vae.conditional_conv_decoder(4, 3, (28, 28), (64, 32, 16))
    with pytest.raises(ValueError, match="at least one stage"):
        vae.conditional_conv_decoder(4, 3, (8, 8), ())
    with pytest.raises(ValueError, match="not divisible"):
        vae.conditional_conv_decoder(4, 3, (28, 28), (64, 32), logits_layer="transpose")
    with pytest.raises(ValueError, match="logits_layer mode"):
        vae.conditional_conv_decoder(4, 3, (8, 8), (4,), logits_layer="dense")
    with pytest.raises(ValueError, match="upsample mode"):
        vae.conditional_conv_decoder(4, 3, (8, 8), (4,), upsample="bilinear")
    with pytest.raises(ValueError, match="output_shape"):
        vae.conditional_conv_decoder(4, 3, (784,), (4,))
    with pytest.raises(ValueError, match="label_planes"):
        vae.conditional_conv_decoder(4, 3, (8, 8), (4,), label_planes="yes")
    with pytest.raises(ValueError, match="kernel_size"):
        vae.conditional_conv_encoder((8, 8), 3, 4, (4,), kernel_size=0)
    with pytest.raises(ValueError, match="input_shape"):
        vae.conditional_conv_encoder((8, 8, 1, 1), 3, 4, (4,))
    with pytest.raises(ValueError, match="hidden"):
        vae.conditional_conv_encoder((8, 8), 3, 4, (4,), hidden=(0,))
    with pytest.raises(ValueError, match="filters must be a sequence"):
        vae.conditional_conv_encoder((8, 8), 3, 4, 8)
