"""Adversarial autoencoder and VAE-GAN: builders, the wiring of each training phase,
mixed-precision loss scaling, saving, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import adversarial as adv
from course_lib import models, priors, vae

LATENT = 2


def _images(n: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(size=(n, 28, 28)).astype(np.float32)


def _aae(n_classes: int = 0, latent: int = LATENT, **kwargs) -> adv.AdversarialAutoencoder:
    dec = (vae.conditional_logit_decoder(latent, n_classes, (28, 28), (16,)) if n_classes
           else vae.logit_mlp_decoder(latent, (28, 28), (16,)))
    return adv.AdversarialAutoencoder(
        models.mlp_encoder((28, 28), latent, (16,)), dec, adv.mlp_discriminator(latent, (8,)), n_classes=n_classes,
        **kwargs,
    )


def _vaegan(**kwargs) -> adv.VAEGAN:
    return adv.VAEGAN(
        vae.gaussian_mlp_encoder((28, 28), 4, (16,)),
        vae.logit_mlp_decoder(4, (28, 28), (16,)),
        adv.conv_image_discriminator((28, 28), (4, 8), 8),
        seed=0,
        **kwargs,
    )


def _weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def _changed(before: list[np.ndarray], model: keras.Model) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def _sgd(lr: float) -> keras.optimizers.Optimizer:
    return keras.optimizers.SGD(lr)


# ---------------------------------------------------------------------- builders


def test_discriminator_shapes():
    d = adv.mlp_discriminator(3, (8, 8))
    assert d(np.zeros((5, 3), np.float32)).shape == (5, 1)
    img = adv.conv_image_discriminator((28, 28), (4, 8), 16)
    logit, feats = img(np.zeros((5, 28, 28), np.float32))
    assert logit.shape == (5, 1) and feats.shape == (5, 16)
    sn = adv.mlp_discriminator(3, (8,), spectral_norm=True)
    assert sn(np.zeros((5, 3), np.float32)).shape == (5, 1)
    assert any(isinstance(layer, keras.layers.SpectralNormalization) for layer in sn.layers)
    with_channel = adv.conv_image_discriminator((28, 28, 1), (4,), 8, kernel_size=3)
    assert with_channel(np.zeros((2, 28, 28, 1), np.float32))[0].shape == (2, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: adv.mlp_discriminator(0),
        lambda: adv.mlp_discriminator(2, (0,)),
        lambda: adv.conv_image_discriminator((28, 28), (), 8),
        lambda: adv.conv_image_discriminator((28, 28), (4,), 0),
        lambda: adv.conv_image_discriminator((28, 28), (4,), 8, dropout=1.5),
    ],
)
def test_builders_reject_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


def test_aae_checks_its_parts():
    enc = models.mlp_encoder((28, 28), 2, (8,))
    with pytest.raises(ValueError, match="conditional_logit_decoder"):
        adv.AdversarialAutoencoder(enc, vae.logit_mlp_decoder(2, (28, 28), (8,)), adv.mlp_discriminator(2), n_classes=10)
    with pytest.raises(ValueError, match="z alone"):
        adv.AdversarialAutoencoder(enc, vae.conditional_logit_decoder(2, 10, (28, 28), (8,)), adv.mlp_discriminator(2))
    with pytest.raises(ValueError, match="dimensions"):
        adv.AdversarialAutoencoder(enc, vae.logit_mlp_decoder(3, (28, 28), (8,)), adv.mlp_discriminator(2))
    with pytest.raises(ValueError, match="logit, features"):
        adv.VAEGAN(vae.gaussian_mlp_encoder((28, 28), 2, (8,)), vae.logit_mlp_decoder(2), adv.mlp_discriminator(784))


# ---------------------------------------------------------------------- the three AAE phases


def _one_aae_step(model, ae_lr, d_lr, g_lr, n_classes=0):
    x = _images(32)
    prior = priors.make_prior("gaussian", dim=model.latent_dim)
    model.compile(ae_optimizer=_sgd(ae_lr), d_optimizer=_sgd(d_lr), g_optimizer=_sgd(g_lr))
    parts = (model.encoder, model.decoder, model.discriminator)
    before = [_weights(p) for p in parts]
    batch = (x, np.arange(32) % 10, prior.sample(32, seed=0)) if n_classes else (x, prior.sample(32, seed=0))
    logs = model.train_on_batch(batch, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    assert set(logs) >= {"reconstruction", "mse", "d_loss", "d_accuracy", "g_loss"}
    return tuple(_changed(b, p) for b, p in zip(before, parts, strict=True))


def test_aae_phases_update_the_right_networks():
    # (encoder, decoder, discriminator) changed?
    assert _one_aae_step(_aae(), 0.1, 0.0, 0.0) == (True, True, False)  # reconstruction
    assert _one_aae_step(_aae(), 0.0, 0.1, 0.0) == (False, False, True)  # discriminator
    assert _one_aae_step(_aae(), 0.0, 0.0, 0.1) == (True, False, False)  # encoder as generator
    assert _one_aae_step(_aae(10), 0.1, 0.0, 0.0, n_classes=10) == (True, True, False)


def test_aae_discriminator_learns_to_separate_codes_from_prior():
    model = _aae()
    x = _images(256)
    far = priors.make_prior("gaussian", dim=LATENT)

    class Shifted:  # a prior far from where the untrained codes lie
        dim = LATENT

        def sample(self, n, seed=None):
            return far.sample(n, seed) + 8.0

    model.compile(ae_optimizer=_sgd(0.0), d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=_sgd(0.0))
    first = model.train_on_batch((x[:64], Shifted().sample(64, seed=0)), return_dict=True)
    for step in range(1, 60):
        logs = model.train_on_batch((x[:64], Shifted().sample(64, seed=step)), return_dict=True)
    assert logs["d_accuracy"] > 0.95 and logs["d_loss"] < first["d_loss"] / 3


def test_r1_penalty_is_the_squared_gradient_norm_of_d_at_prior_samples():
    # A linear discriminator D(z) = w.z + b has gradient w everywhere: R1 = ||w||^2 exactly.
    model = adv.AdversarialAutoencoder(models.mlp_encoder((28, 28), 3, (8,)), vae.logit_mlp_decoder(3, (28, 28), (8,)),
                                       adv.mlp_discriminator(3, ()), gradient_penalty=1.0)
    w = np.asarray(model.discriminator.get_layer("logit").kernel)[:, 0]
    z = priors.make_prior("gaussian", dim=3).sample(16, seed=0)
    logits, r1 = model._discriminate_prior(z)
    assert logits.shape == (16, 1)
    np.testing.assert_allclose(float(r1), float(np.sum(w**2)), rtol=1e-5)
    no_penalty = adv.AdversarialAutoencoder(model.encoder, model.decoder, model.discriminator)
    assert float(no_penalty._discriminate_prior(z)[1]) == 0.0
    with pytest.raises(ValueError, match="gradient_penalty"):
        adv.AdversarialAutoencoder(model.encoder, model.decoder, model.discriminator, gradient_penalty=-1.0)


def _slope_at_prior_after_training_d(gradient_penalty: float) -> float:
    """Train only the discriminator on separable data; return mean ||grad D|| at prior samples."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = adv.AdversarialAutoencoder(models.mlp_encoder((28, 28), LATENT, (16,)),
                                       vae.logit_mlp_decoder(LATENT, (28, 28), (16,)),
                                       adv.mlp_discriminator(LATENT, (32,)), gradient_penalty=gradient_penalty)
    model.compile(ae_optimizer=_sgd(0.0), d_optimizer=keras.optimizers.Adam(1e-2), g_optimizer=_sgd(0.0))
    x, prior = _images(64), priors.make_prior("gaussian", dim=LATENT)
    for step in range(80):
        model.train_on_batch((x, prior.sample(64, seed=step) + 3.0), return_dict=True)
    z = tf.constant(prior.sample(256, seed=999) + 3.0)
    with tf.GradientTape() as tape:
        tape.watch(z)
        out = tf.reduce_sum(model.discriminator(z))
    return float(tf.reduce_mean(tf.norm(tape.gradient(out, z), axis=-1)))


def test_r1_penalty_flattens_the_discriminator_on_the_prior():
    free, penalised = _slope_at_prior_after_training_d(0.0), _slope_at_prior_after_training_d(10.0)
    assert penalised < free / 3, (free, penalised)


def test_fit_aae_trains_and_checks_inputs():
    x, y = _images(96), np.arange(96) % 10
    model = _aae(10)
    prior = priors.make_prior("gaussian", dim=LATENT)
    hist = adv.fit_aae(model, x, prior, y, epochs=2, batch_size=32, verbose=0)
    assert len(hist.history["reconstruction"]) == 2
    assert model.sample(prior, 7, y=3, seed=0).shape == (7, 28, 28)
    assert model.reconstruct(x[:5], y[:5]).shape == (5, 28, 28)
    with pytest.raises(ValueError, match="labels y"):
        adv.fit_aae(model, x, prior, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="pass the labels"):
        model.decode(np.zeros((2, LATENT), np.float32))
    with pytest.raises(ValueError, match="dim"):
        adv.fit_aae(model, x, priors.make_prior("gaussian", dim=3), y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adv.fit_aae(model, x * 255, prior, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="0..9"):
        adv.fit_aae(model, x, prior, y + 5, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="unsupervised"):
        adv.fit_aae(_aae(), x, prior, y, epochs=1, verbose=0)
    with pytest.raises(TypeError):
        adv.fit_aae(models.mlp_autoencoder(), x, prior, epochs=1, verbose=0)


def test_fit_aae_rejects_a_prior_that_returns_the_wrong_shape():
    class Broken:
        dim = LATENT

        def sample(self, n, seed=None):
            return np.zeros((n, LATENT + 1), np.float32)

    with pytest.raises(ValueError, match="returned shape"):
        adv.fit_aae(_aae(), _images(16), Broken(), epochs=1, verbose=0)


# ---------------------------------------------------------------------- VAE-GAN


def _one_vaegan_step(model, enc_lr, dec_lr, d_lr):
    model.compile(encoder_optimizer=_sgd(enc_lr), decoder_optimizer=_sgd(dec_lr), d_optimizer=_sgd(d_lr))
    parts = (model.encoder, model.decoder, model.discriminator)
    before = [_weights(p) for p in parts]
    logs = model.train_on_batch(_images(16), return_dict=True)
    assert set(logs) == {"pixel", "kl", "feature", "d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in logs.values())
    return tuple(_changed(b, p) for b, p in zip(before, parts, strict=True))


def test_vaegan_optimisers_update_their_own_network():
    assert _one_vaegan_step(_vaegan(), 0.1, 0.0, 0.0) == (True, False, False)
    assert _one_vaegan_step(_vaegan(), 0.0, 0.1, 0.0) == (False, True, False)
    assert _one_vaegan_step(_vaegan(), 0.0, 0.0, 0.1) == (False, False, True)


def test_vaegan_encoder_gets_no_adversarial_gradient():
    # with no KL, pixel or feature term the encoder's loss is zero; the decoder still learns to fool D
    model = _vaegan(beta=0.0, pixel_weight=0.0, feature_weight=0.0, adversarial_weight=1.0)
    assert _one_vaegan_step(model, 0.1, 0.1, 0.0) == (False, True, False)


def test_fit_vaegan_and_errors():
    model = _vaegan(adversarial_weight=2.0)
    hist = adv.fit_vaegan(model, _images(64), epochs=2, batch_size=32, verbose=0)
    assert len(hist.history["d_loss"]) == 2
    assert model.sample(5, seed=0).shape == (5, 28, 28)
    a, b = model.sample(3, seed=1), model.sample(3, seed=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adv.fit_vaegan(model, _images(8) - 1, epochs=1, verbose=0)
    with pytest.raises(ValueError):
        adv.fit_vaegan(model, _images(8), epochs=0, verbose=0)
    with pytest.raises(ValueError, match="must be a number >= 0"):
        _vaegan(adversarial_weight=-1.0)


# ---------------------------------------------------------------------- saving


def test_save_and_load_round_trip(tmp_path):
    x, y = _images(32), np.arange(32) % 10
    aae = _aae(10, gradient_penalty=2.5)
    adv.fit_aae(aae, x, priors.make_prior("gaussian", dim=LATENT), y, epochs=1, batch_size=16, verbose=0)
    aae.save(tmp_path / "aae.keras")
    back = keras.saving.load_model(tmp_path / "aae.keras")
    assert isinstance(back, adv.AdversarialAutoencoder) and back.n_classes == 10
    assert back.gradient_penalty == 2.5
    np.testing.assert_allclose(back.reconstruct(x, y), aae.reconstruct(x, y), atol=1e-6)
    np.testing.assert_allclose(_weights(back.discriminator)[0], _weights(aae.discriminator)[0])

    gan = _vaegan(adversarial_weight=3.0, feature_weight=0.5)
    adv.fit_vaegan(gan, x, epochs=1, batch_size=16, verbose=0)
    gan.save(tmp_path / "gan.keras")
    back = keras.saving.load_model(tmp_path / "gan.keras")
    assert isinstance(back, adv.VAEGAN) and back.adversarial_weight == 3.0 and back.feature_weight == 0.5
    np.testing.assert_allclose(back.reconstruct(x), gan.reconstruct(x), atol=1e-6)
    np.testing.assert_allclose(back.discriminator(x)[1], gan.discriminator(x)[1], atol=1e-6)


# ---------------------------------------------------------------------- mixed precision


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    yield
    keras.mixed_precision.set_dtype_policy("float32")


def test_mixed_precision_wraps_every_optimizer_and_trains(mixed_precision):
    model = _aae(gradient_penalty=1.0)
    assert model.encoder.dtype_policy.name == "mixed_float16"
    model.compile(ae_optimizer="adam", d_optimizer=keras.optimizers.Adam(), g_optimizer="sgd")
    for opt in (model.ae_optimizer, model.d_optimizer, model.g_optimizer):
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
    already = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    model.compile(ae_optimizer=already)
    assert model.ae_optimizer is already  # not wrapped twice
    hist = adv.fit_aae(model, _images(64), priors.make_prior("gaussian", dim=LATENT), epochs=2, batch_size=32, verbose=0)
    assert all(np.isfinite(v[-1]) for v in hist.history.values())
    assert model.decode(np.zeros((2, LATENT), np.float32)).dtype == np.float32

    gan = _vaegan()
    hist = adv.fit_vaegan(gan, _images(32), epochs=1, batch_size=16, verbose=0)
    assert isinstance(gan.decoder_optimizer, keras.optimizers.LossScaleOptimizer)
    assert all(np.isfinite(v[-1]) for v in hist.history.values())


def test_r1_penalty_is_unscaled_under_mixed_precision(mixed_precision):
    model = adv.AdversarialAutoencoder(models.mlp_encoder((28, 28), 3, (8,)), vae.logit_mlp_decoder(3, (28, 28), (8,)),
                                       adv.mlp_discriminator(3, ()), gradient_penalty=1.0)
    model.compile(d_optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(), initial_scale=2.0**12))
    w = np.asarray(model.discriminator.get_layer("logit").kernel, np.float32)[:, 0]
    _, r1 = model._discriminate_prior(priors.make_prior("gaussian", dim=3).sample(16, seed=0))
    np.testing.assert_allclose(float(r1), float(np.sum(w**2)), rtol=1e-2)  # float16 precision, scale removed


def test_mixed_precision_skips_overflowing_steps_and_lowers_the_scale(mixed_precision):
    model = _aae()
    huge = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**120)
    model.compile(ae_optimizer=huge, d_optimizer=_sgd(0.0), g_optimizer=_sgd(0.0))
    prior = priors.make_prior("gaussian", dim=LATENT)
    before = _weights(model.decoder)
    model.train_on_batch((_images(16), prior.sample(16, seed=0)), return_dict=True)
    # float16 gradients of a loss scaled by 2**120 overflow: the update is skipped, the scale halves
    assert not _changed(before, model.decoder)
    assert float(huge.dynamic_scale) == 2.0**119
    good = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.1), initial_scale=2.0**10)
    model.compile(ae_optimizer=good, d_optimizer=_sgd(0.0), g_optimizer=_sgd(0.0))
    model.train_on_batch((_images(16), prior.sample(16, seed=0)), return_dict=True)
    assert _changed(before, model.decoder)
    assert float(good.dynamic_scale) == 2.0**10


def test_gaussian_posterior_encoder_samples_codes():
    model = adv.AdversarialAutoencoder(
        vae.gaussian_mlp_encoder((28, 28), LATENT, (16,)), vae.logit_mlp_decoder(LATENT, (28, 28), (16,)),
        adv.mlp_discriminator(LATENT, (8,)), seed=3,
    )
    assert model.stochastic
    x = _images(20)
    adv.fit_aae(model, x, priors.make_prior("gaussian", dim=LATENT), epochs=1, batch_size=10, verbose=0)
    mean = model.encode(x)
    drawn = model.encode(x, sample=True, seed=0)
    assert drawn.shape == mean.shape and not np.allclose(drawn, mean)
    np.testing.assert_array_equal(drawn, model.encode(x, sample=True, seed=0))
    deterministic = _aae()
    np.testing.assert_array_equal(deterministic.encode(x, sample=True), deterministic.encode(x))
    inp = keras.Input((28, 28))
    flat = keras.layers.Flatten()(inp)
    three_heads = keras.Model(inp, [keras.layers.Dense(LATENT)(flat) for _ in range(3)])
    with pytest.raises(ValueError, match="Gaussian posterior"):
        adv.AdversarialAutoencoder(three_heads, vae.logit_mlp_decoder(LATENT), adv.mlp_discriminator(LATENT))


def test_decoded_images_are_finite_probabilities_for_extreme_codes():
    model = _aae()
    images = model.decode(np.full((3, LATENT), 1e4, np.float32))
    assert np.isfinite(images).all() and images.min() >= 0 and images.max() <= 1
