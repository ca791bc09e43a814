"""Adversarial autoencoders (AAE) and the VAE-GAN: autoencoders trained against a discriminator.

**Adversarial autoencoder** (Makhzani et al. 2015). A deterministic encoder ``z = f(x)``
and a decoder are trained to reconstruct, like any autoencoder. A VAE would add a KL term
that pulls *each* ``q(z|x)`` towards the prior; an AAE instead trains a small
*discriminator* ``D(z)`` to tell prior samples ``z ~ p(z)`` from codes ``f(x)``, and trains
the encoder to fool it. At equilibrium the *aggregated* posterior ``q(z) = E_x q(z|x)``
(the cloud of all codes) matches ``p(z)`` -- any prior we can sample from, not only one
with a closed-form KL. One training step has three phases, each with its own optimiser:

1. reconstruction: encoder + decoder minimise ``-log p(x | z)`` (binary cross-entropy);
2. regularisation, discriminator: ``D`` learns prior samples -> 1, codes -> 0;
3. regularisation, generator: the encoder learns to make ``D(f(x))`` say 1.

With ``n_classes > 0`` the decoder also receives the one-hot label (a *supervised* AAE):
the class no longer has to be stored in ``z``, which then keeps only "style".

**VAE-GAN** (Larsen et al. 2016). A VAE whose decoder doubles as a GAN generator: an image
discriminator ``D(x)`` learns to tell real images from reconstructions and from decoded
prior samples, and the decoder is trained to fool it. Its hidden features also give a
*learned* similarity: ``feature_weight`` adds the squared distance between ``D``'s features
of ``x`` and of its reconstruction, which cares about structure more than pixel-wise error.
Blurry images are easy for ``D`` to spot, so the decoder is pushed towards sharp ones.

Both models need a training step that Keras' ``compile``/``fit`` cannot express with one
loss and one optimiser, so they override :meth:`keras.Model.train_step` with TensorFlow's
``GradientTape`` (this module needs the TensorFlow backend). Everything else is ordinary
Keras: ``fit``, callbacks, metrics, ``.keras`` saving of the trained networks.

**Mixed precision.** Under the ``mixed_float16`` policy small gradients underflow in
float16. :meth:`compile` then wraps *each* optimiser in a ``LossScaleOptimizer``; every
phase multiplies its loss by that optimiser's scale inside the tape
(``optimizer.scale_loss``), and ``optimizer.apply`` divides the gradients by it again,
skips the update if any gradient is not finite and lowers the scale. Losses are computed
in float32 whatever the policy.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from . import likelihoods
from .backend import tensorflow_for
from .models import (
    _check_filters,
    _check_hidden,
    _check_input,
    _check_positive_int,
    _check_shape,
    run_batched,
)
from .vae import Sampling, _check_nonneg, check_labels


def _tf():
    return tensorflow_for("course_lib.adversarial")


# ---------------------------------------------------------------------- discriminators


def mlp_discriminator(
    input_dim: int,
    hidden: Sequence[int] = (256, 256),
    *,
    spectral_norm: bool = False,
    name: str = "code_discriminator",
) -> keras.Model:
    """Dense discriminator on codes: ``z -> logit`` (real = a prior sample).

    LeakyReLU keeps gradients alive for inputs the discriminator is sure about, which is
    what the encoder learns from. ``spectral_norm=True`` wraps the hidden layers in
    ``keras.layers.SpectralNormalization`` (Miyato et al. 2018): each weight matrix is divided
    by its largest singular value, which bounds how steeply the discriminator's output can
    change with ``z`` -- smoother, more informative gradients for the encoder.

    Built on the page in notebook 07, section 2 (``code_discriminator``), and checked there.
    """
    input_dim = _check_positive_int("input_dim", input_dim)
    units = _check_hidden(hidden)
    z = keras.Input(shape=(input_dim,), name="z")
    h = z
    for i, u in enumerate(units):
        dense = keras.layers.Dense(u, name=f"dense_{i + 1}")
        h = (keras.layers.SpectralNormalization(dense, name=f"sn_dense_{i + 1}") if spectral_norm else dense)(h)
        h = keras.layers.LeakyReLU(0.2, name=f"leaky_{i + 1}")(h)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(h)
    return keras.Model(z, logit, name=name)


def conv_image_discriminator(
    image_shape: Sequence[int] = (28, 28),
    filters: Sequence[int] = (32, 64),
    feature_units: int = 128,
    *,
    kernel_size: int = 4,
    dropout: float = 0.0,
    name: str = "image_discriminator",
) -> keras.Model:
    """Convolutional discriminator on images: ``x -> (logit, features)``.

    Stride-2 convolutions with LeakyReLU (no batch normalisation: the discriminator sees
    real and generated batches separately, and batch statistics would let it tell them
    apart by the batch, not by the image), then a Dense layer of ``feature_units`` whose
    activations are the *features* the VAE-GAN compares (``Dis_l`` in Larsen et al.).
    """
    shape = _check_shape(image_shape)
    chans = _check_filters(filters)
    feature_units = _check_positive_int("feature_units", feature_units)
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    if not 0 <= float(dropout) < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}.")
    x = keras.Input(shape=shape, name="image")
    h = keras.layers.Reshape((*shape, 1), name="add_channel")(x) if len(shape) == 2 else x
    for i, c in enumerate(chans):
        h = keras.layers.Conv2D(c, kernel_size, strides=2, padding="same", name=f"conv_{i + 1}")(h)
        h = keras.layers.LeakyReLU(0.2, name=f"leaky_{i + 1}")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    if dropout:
        h = keras.layers.Dropout(dropout, name="dropout")(h)
    h = keras.layers.Dense(feature_units, name="features_dense")(h)
    features = keras.layers.LeakyReLU(0.2, dtype="float32", name="features")(h)
    logit = keras.layers.Dense(1, dtype="float32", name="logit")(features)
    return keras.Model(x, [logit, features], name=name)


# ---------------------------------------------------------------------- shared pieces


def _bce_with_logits(target: float, logits):
    """Mean binary cross-entropy of ``logits`` against a constant target (0 or 1), float32."""
    logits = ops.cast(ops.reshape(logits, (-1,)), "float32")
    # -[t log s(l) + (1 - t) log(1 - s(l))] = softplus(l) - t * l, stable for any l
    return ops.mean(ops.softplus(logits) - target * logits)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-l))`` without overflow warnings for very negative logits."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def _wrap_for_mixed_precision(model: keras.Model, optimizer) -> keras.optimizers.Optimizer:
    optimizer = keras.optimizers.get(optimizer)
    if model.dtype_policy.name == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _apply(tape, optimizer, scaled_loss, variables) -> None:
    """Gradients of an (already loss-scaled) loss, applied by ``optimizer`` (unscales them)."""
    grads = tape.gradient(scaled_loss, variables)
    optimizer.apply(grads, variables)


def _check_fit_images(model, x, what: str) -> np.ndarray:
    """Training images for ``model``: float32, the model's shape, not empty, finite, in [0, 1]."""
    x = np.asarray(x, np.float32)
    _check_input(x, model.image_shape, what)
    if len(x) == 0:
        raise ValueError(f"{what}: x is empty (0 examples).")
    if np.nanmin(x) < 0 or np.nanmax(x) > 1 or not np.isfinite(x).all():
        raise ValueError(
            f"{what}: images must be finite intensities in [0, 1] (got {np.nanmin(x):g}.."
            f"{np.nanmax(x):g}); use data.to_float on uint8 images."
        )
    return x


def _d_accuracy(d_prior, d_code):
    """Fraction of prior samples called real (logit > 0) and codes called fake, together."""
    return ops.mean(ops.concatenate([
        ops.cast(ops.reshape(d_prior, (-1,)) > 0, "float32"),
        ops.cast(ops.reshape(d_code, (-1,)) <= 0, "float32"),
    ]))


_PARTS = ("encoder", "decoder", "discriminator")


def _parts_config(model: keras.Model) -> dict:
    """The three networks of an adversarial model, serialised for ``get_config``."""
    return {k: keras.saving.serialize_keras_object(getattr(model, k)) for k in _PARTS}


def _from_parts_config(cls, config: dict):
    """Rebuild ``cls(encoder, decoder, discriminator, **rest)`` from ``get_config`` output."""
    config = dict(config)
    parts = [keras.saving.deserialize_keras_object(config.pop(k)) for k in _PARTS]
    return cls(*parts, **config)


class _ThreeNetworkModel(keras.Model):
    """What the AAE and the VAE-GAN share: an encoder, a decoder, a discriminator, and one
    ``keras.metrics.Mean`` per tracked quantity (``self.trackers``, set by the subclass)."""

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.encoder.inputs[0].shape[1:])

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _track(self, values) -> dict:
        """Update the trackers with ``(name, value)`` pairs; the logs ``fit`` prints."""
        for name, value in values:
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}


# ---------------------------------------------------------------------- adversarial autoencoder


@keras.saving.register_keras_serializable(package="course_lib")
class AdversarialAutoencoder(_ThreeNetworkModel):
    """Encoder ``x -> z``, decoder ``z [, one_hot(y)] -> logits``, discriminator ``z -> logit``.

    The encoder is deterministic (one output, ``z``) or a Gaussian posterior (two outputs,
    ``(mean, log_var)``, sampled with the reparameterisation trick, Makhzani et al.'s
    "Gaussian posterior" variant): its noise smooths the cloud of codes, which makes a
    smooth prior such as N(0, I) easier to match.

    Train with :func:`fit_aae`, which feeds ``(x, [y,] z_prior)`` batches. Metrics per phase:
    ``reconstruction`` (binary cross-entropy per image, nats) and ``mse``; ``d_loss``
    (discriminator cross-entropy, ``2 log 2 = 1.386`` when it cannot tell codes from prior
    samples) and ``d_accuracy``; ``g_loss`` (the encoder's adversarial loss, ``log 2 =
    0.693`` at the equilibrium).

    The three-phase training step is built on the page in notebook 07, section 2
    (``aae_train_step``, with ``GradientTape`` and the R1 penalty), and checked there against
    :meth:`train_step`: the same weights and batch give the same losses and updated weights.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        discriminator: keras.Model,
        *,
        n_classes: int = 0,
        gradient_penalty: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not (isinstance(gradient_penalty, (int, float)) and np.isfinite(gradient_penalty) and gradient_penalty >= 0):
            raise ValueError(f"gradient_penalty must be a finite number >= 0, got {gradient_penalty!r}.")
        if len(encoder.outputs) not in (1, 2):
            raise ValueError(
                "The AAE's encoder must output the code z (deterministic: models.mlp_encoder) or "
                "(mean, log_var) of a Gaussian posterior (vae.gaussian_mlp_encoder)."
            )
        latent = int(encoder.outputs[0].shape[-1])
        n_dec = len(decoder.inputs)
        if n_dec != (2 if n_classes else 1):
            raise ValueError(
                f"With n_classes={n_classes} the decoder must take "
                f"{'(z, one-hot label)' if n_classes else 'z alone'}, but it has {n_dec} inputs: use "
                f"{'vae.conditional_logit_decoder' if n_classes else 'vae.logit_mlp_decoder'}."
            )
        if int(decoder.inputs[0].shape[-1]) != latent or int(discriminator.inputs[0].shape[-1]) != latent:
            raise ValueError(
                f"The encoder's codes have {latent} dimensions; the decoder expects "
                f"{decoder.inputs[0].shape[-1]} and the discriminator {discriminator.inputs[0].shape[-1]}."
            )
        if n_classes and int(decoder.inputs[1].shape[-1]) != n_classes:
            raise ValueError(f"The decoder's label input has {decoder.inputs[1].shape[-1]} classes, not {n_classes}.")
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.n_classes = int(n_classes)
        self.gradient_penalty = float(gradient_penalty)
        self.stochastic = len(encoder.outputs) == 2
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.built = True  # the three parts are built functional models
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("reconstruction", "mse", "d_loss", "d_accuracy", "g_loss")
        }

    def _discriminate_prior(self, z_prior):
        """``(D(z_prior), R1)``: the logits on prior samples and ``E ||grad_z D(z)||^2`` there.

        The R1 penalty (Mescheder et al., 2018) is computed only when ``gradient_penalty > 0``
        (else 0): it makes D flat on the real (prior) samples, so once the codes sit on the
        prior D has no slope left to push them past it -- the game converges instead of
        circling its equilibrium.
        """
        if not self.gradient_penalty:
            return self.discriminator(z_prior, training=True), ops.zeros((), "float32")
        tf = _tf()
        z_prior = ops.convert_to_tensor(z_prior, "float32")
        optimizer = getattr(self, "d_optimizer", None)
        with tf.GradientTape() as inner:
            inner.watch(z_prior)
            d_prior = self.discriminator(z_prior, training=True)
            total = ops.sum(ops.cast(d_prior, "float32"))
            if optimizer is not None:  # float16 gradients need the loss scale too (identity otherwise)
                total = optimizer.scale_loss(total)
        grad = ops.cast(inner.gradient(total, z_prior), "float32")
        if optimizer is not None:
            grad = grad / ops.cast(optimizer.scale_loss(1.0), "float32")
        return d_prior, ops.mean(ops.sum(ops.square(grad), axis=-1))

    def _decoder_inputs(self, z, y):
        if not self.n_classes:
            return z
        return [z, ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), self.n_classes)]

    def _code(self, x, training):
        """The code of ``x``: the encoder's output, or a sample of its Gaussian posterior."""
        if not self.stochastic:
            return self.encoder(x, training=training)
        mean, log_var = self.encoder(x, training=training)
        return self.sampling([mean, log_var])

    def call(self, inputs, training=None):
        x, y = (inputs[0], inputs[1]) if self.n_classes else (inputs, None)
        z = self._code(x, training=training)
        return {"z": z, "logits": self.decoder(self._decoder_inputs(z, y), training=training)}

    def compile(self, ae_optimizer="adam", d_optimizer="adam", g_optimizer="adam", **kwargs) -> None:
        """Three optimisers, one per phase (each wrapped for loss scaling under mixed_float16)."""
        super().compile(**kwargs)
        self.ae_optimizer = _wrap_for_mixed_precision(self, ae_optimizer)
        self.d_optimizer = _wrap_for_mixed_precision(self, d_optimizer)
        self.g_optimizer = _wrap_for_mixed_precision(self, g_optimizer)

    def get_compile_config(self) -> dict:
        """Nothing to restore at load time: the three optimisers are set by :func:`fit_aae`."""
        return {}

    def _unpack(self, data):
        data = keras.utils.unpack_x_y_sample_weight(data)[0]  # the inputs: (x, [y,] z_prior)
        if self.n_classes:
            x, y, z_prior = data
        else:
            (x, z_prior), y = data, None
        return x, y, z_prior

    def _reconstruction(self, x, logits):
        x32, logits = ops.cast(x, "float32"), ops.cast(logits, "float32")
        rec = -ops.mean(likelihoods.bernoulli_log_prob(x32, logits))
        mse = ops.mean(ops.square(ops.sigmoid(logits) - x32))
        return rec, mse

    def train_step(self, data):
        tf = _tf()
        x, y, z_prior = self._unpack(data)
        ae_vars = self.encoder.trainable_variables + self.decoder.trainable_variables
        # phase 1: reconstruction (encoder + decoder)
        with tf.GradientTape() as tape:
            z = self._code(x, training=True)
            logits = self.decoder(self._decoder_inputs(z, y), training=True)
            rec, mse = self._reconstruction(x, logits)
            scaled = self.ae_optimizer.scale_loss(rec)
        _apply(tape, self.ae_optimizer, scaled, ae_vars)
        # phase 2: the discriminator learns prior samples -> 1, codes -> 0 (the codes of
        # phase 1, as constants: this phase must not move the encoder)
        z = ops.stop_gradient(z)
        with tf.GradientTape() as tape:
            d_prior, r1 = self._discriminate_prior(z_prior)
            d_code = self.discriminator(z, training=True)
            d_loss = _bce_with_logits(1.0, d_prior) + _bce_with_logits(0.0, d_code)
            scaled = self.d_optimizer.scale_loss(d_loss + 0.5 * self.gradient_penalty * r1)
        _apply(tape, self.d_optimizer, scaled, self.discriminator.trainable_variables)
        # phase 3: the encoder (as generator) learns to make D call its codes prior samples
        with tf.GradientTape() as tape:
            g_loss = _bce_with_logits(1.0, self.discriminator(self._code(x, training=True), training=True))
            scaled = self.g_optimizer.scale_loss(g_loss)
        _apply(tape, self.g_optimizer, scaled, self.encoder.trainable_variables)
        return self._track((("reconstruction", rec), ("mse", mse), ("d_loss", d_loss),
                            ("d_accuracy", _d_accuracy(d_prior, d_code)), ("g_loss", g_loss)))

    def test_step(self, data):
        x, y, z_prior = self._unpack(data)
        z = self._code(x, training=False)
        rec, mse = self._reconstruction(x, self.decoder(self._decoder_inputs(z, y), training=False))
        d_prior = self.discriminator(z_prior, training=False)
        d_code = self.discriminator(z, training=False)
        d_loss = _bce_with_logits(1.0, d_prior) + _bce_with_logits(0.0, d_code)
        return self._track((("reconstruction", rec), ("mse", mse), ("d_loss", d_loss),
                            ("d_accuracy", _d_accuracy(d_prior, d_code)), ("g_loss", _bce_with_logits(1.0, d_code))))

    # ------------------------------------------------------------------ NumPy helpers
    def _labels(self, y, n: int, what: str) -> np.ndarray:
        return check_labels(y, n, self.n_classes, what)

    def encode(self, x, batch_size: int = 1024, *, sample: bool = False, seed: int = 0) -> np.ndarray:
        """The codes of ``x`` as a NumPy array.

        For a Gaussian-posterior encoder: the posterior means, or with ``sample=True`` one
        draw ``z ~ q(z|x)`` per image -- the codes the discriminator saw in training, which
        are what must match the prior. A deterministic encoder ignores ``sample``.
        """
        _check_input(x, self.image_shape, "encode")
        rng = np.random.default_rng(seed)
        parts = []
        for i in range(0, len(x), batch_size):
            out = self.encoder(x[i : i + batch_size], training=False)
            if not self.stochastic:
                parts.append(ops.convert_to_numpy(out).astype(np.float32))
                continue
            mean, log_var = (ops.convert_to_numpy(t).astype(np.float32) for t in out)
            if sample:
                mean = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape).astype(np.float32)
            parts.append(mean)
        return np.concatenate(parts)

    def decode(self, z, y=None, batch_size: int = 1024) -> np.ndarray:
        """Images ``sigmoid(logits)`` for codes ``z`` (and labels ``y``, an int or one per code)."""
        _check_input(z, (self.latent_dim,), "decode")
        z = np.asarray(z, np.float32)
        if self.n_classes:
            if y is None:
                raise ValueError("decode: this is a supervised AAE; pass the labels y to decode.")
            y = self._labels(y, len(z), "decode")
        elif y is not None:
            raise ValueError("decode: this AAE is unsupervised (n_classes=0); do not pass labels.")
        out = []
        for i in range(0, len(z), batch_size):
            yb = None if y is None else ops.convert_to_tensor(y[i : i + batch_size])
            logits = self.decoder(self._decoder_inputs(ops.convert_to_tensor(z[i : i + batch_size]), yb), training=False)
            out.append(ops.convert_to_numpy(ops.cast(logits, "float32")))
        return _sigmoid(np.concatenate(out))

    def reconstruct(self, x, y=None, batch_size: int = 1024) -> np.ndarray:
        return self.decode(self.encode(x, batch_size), y, batch_size)

    def sample(self, prior, n: int, y=None, seed: int | None = None) -> np.ndarray:
        """``n`` images decoded from ``prior.sample(n, seed)`` (the prior is not saved with the model)."""
        n = _check_positive_int("n", n)
        z = np.asarray(prior.sample(n, seed=seed), np.float32)
        return self.decode(z, y)

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            **_parts_config(self),
            n_classes=self.n_classes,
            gradient_penalty=self.gradient_penalty,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> AdversarialAutoencoder:
        return _from_parts_config(cls, config)


def fit_aae(
    model: AdversarialAutoencoder,
    x,
    prior,
    y=None,
    *,
    epochs: int,
    batch_size: int = 128,
    ae_lr: float = 1e-3,
    adversarial_lr: float = 1e-3,
    generator_lr: float | None = None,
    decay: bool = True,
    seed: int = 0,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Compile ``model`` with three Adam optimisers and train it on images ``x`` (and labels ``y``).

    ``ae_lr`` drives the reconstruction phase, ``adversarial_lr`` the discriminator and
    ``generator_lr`` (default: ``adversarial_lr``) the encoder's adversarial phase. Adam
    normalises each optimiser's steps separately, so the encoder's two phases pull with
    strengths set by their *learning rates*, not by the sizes of their losses: a smaller
    ``generator_lr`` favours reconstruction, a larger one the match with the prior.

    ``prior`` is any object with ``sample(n, seed)`` and ``dim`` (e.g. from
    :mod:`course_lib.priors`); the discriminator sees ``len(x)`` of its samples, in new
    batches every epoch. The adversarial optimisers use ``beta_1 = 0.5``, the usual GAN setting:
    less momentum lets the two players react to each other. With ``decay`` every learning
    rate falls along a cosine to 0 by the last step: a game played with ever smaller steps
    settles closer to its equilibrium instead of circling it. Returns the Keras ``History``.
    """
    from .training import _positive_float, _positive_int, warmup_cosine

    what = "fit_aae"
    if not isinstance(model, AdversarialAutoencoder):
        raise TypeError(f"{what}: model must be an AdversarialAutoencoder, got {type(model).__name__}.")
    epochs = _positive_int("epochs", epochs, what)
    batch_size = _positive_int("batch_size", batch_size, what)
    ae_lr = _positive_float("ae_lr", ae_lr, what)
    adversarial_lr = _positive_float("adversarial_lr", adversarial_lr, what)
    generator_lr = adversarial_lr if generator_lr is None else _positive_float("generator_lr", generator_lr, what)
    x = _check_fit_images(model, x, what)
    if getattr(prior, "dim", None) != model.latent_dim:
        raise ValueError(
            f"{what}: the prior has dim={getattr(prior, 'dim', None)!r} but the model's codes have "
            f"{model.latent_dim} dimensions; build the prior with the model's latent_dim."
        )
    arrays = [x]
    if model.n_classes:
        if y is None:
            raise ValueError(f"{what}: a supervised AAE (n_classes > 0) needs the labels y.")
        arrays.append(model._labels(y, len(x), what))
    elif y is not None:
        raise ValueError(f"{what}: labels given to an unsupervised AAE; build it with n_classes=10 to use them.")
    # One prior sample per training image, drawn once. fit() reshuffles the rows every
    # epoch, so each batch pairs images with prior samples it has not been paired with
    # before; the samples are independent of the images, so the pairing carries nothing.
    # (Arrays, not a Python generator: the whole input pipeline then runs inside TF.)
    z_prior = np.asarray(prior.sample(len(x), seed=seed), np.float32)
    if z_prior.shape != (len(x), model.latent_dim):
        raise ValueError(f"{what}: prior.sample({len(x)}) returned shape {z_prior.shape}, "
                         f"expected ({len(x)}, {model.latent_dim}).")
    steps = -(-len(x) // batch_size)

    def rate(lr):
        return warmup_cosine(steps, epochs, lr, 0.0) if decay else lr

    model.compile(
        ae_optimizer=keras.optimizers.Adam(rate(ae_lr)),
        d_optimizer=keras.optimizers.Adam(rate(adversarial_lr), beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(rate(generator_lr), beta_1=0.5),
    )
    return model.fit(tuple(arrays) + (z_prior,), batch_size=batch_size, epochs=epochs, shuffle=True,
                     callbacks=callbacks, verbose=verbose)


# ---------------------------------------------------------------------- VAE-GAN


@keras.saving.register_keras_serializable(package="course_lib")
class VAEGAN(_ThreeNetworkModel):
    """A VAE (encoder ``x -> (mean, log_var)``, decoder ``z -> logits``) plus an image discriminator.

    Per step, with ``x~`` the reconstruction of ``x`` and ``x_p`` the decoding of a prior
    sample (notation of Larsen et al. 2016):

    - discriminator: ``d_loss = BCE(D(x), 1) + BCE(D(x~), 0) + BCE(D(x_p), 0)``;
    - encoder: ``beta * KL + pixel_weight * pixel + feature_weight * feature``;
    - decoder: ``pixel_weight * pixel + feature_weight * feature + adversarial_weight * g_loss``
      with ``g_loss = BCE(D(x~), 1) + BCE(D(x_p), 1)`` (the non-saturating GAN loss).

    ``pixel`` is the binary cross-entropy per image (nats), ``feature`` half the squared
    distance between the discriminator's features of ``x`` and ``x~``. The encoder gets no
    adversarial gradient: its job is still to infer ``z``. Metrics: those terms plus
    ``d_real``/``d_fake`` (the discriminator's mean probability "real" on real images and on
    prior samples).

    The losses are built on the page in notebook 07, section 5 (``vaegan_losses``), and
    checked there against :meth:`test_step` with the same networks, batch and random draws.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        discriminator: keras.Model,
        *,
        beta: float = 1.0,
        pixel_weight: float = 1.0,
        feature_weight: float = 1.0,
        adversarial_weight: float = 1.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if len(encoder.outputs) != 2:
            raise ValueError("The VAE-GAN's encoder must output (mean, log_var): use vae.gaussian_mlp_encoder.")
        if len(discriminator.outputs) != 2:
            raise ValueError(
                "The discriminator must output (logit, features): use adversarial.conv_image_discriminator."
            )
        latent = int(encoder.outputs[0].shape[-1])
        if int(decoder.inputs[0].shape[-1]) != latent:
            raise ValueError(
                f"The encoder's codes have {latent} dimensions but the decoder expects {decoder.inputs[0].shape[-1]}."
            )
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.beta = _check_nonneg("beta", beta)
        self.pixel_weight = _check_nonneg("pixel_weight", pixel_weight)
        self.feature_weight = _check_nonneg("feature_weight", feature_weight)
        self.adversarial_weight = _check_nonneg("adversarial_weight", adversarial_weight)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.prior_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        self.built = True
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("pixel", "kl", "feature", "d_loss", "g_loss", "d_real", "d_fake")
        }

    def call(self, x, training=None):
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        return {"mean": mean, "log_var": log_var, "z": z, "logits": self.decoder(z, training=training)}

    def compile(self, encoder_optimizer="adam", decoder_optimizer="adam", d_optimizer="adam", **kwargs) -> None:
        """Three optimisers (encoder, decoder, discriminator), wrapped for loss scaling if mixed_float16."""
        super().compile(**kwargs)
        self.encoder_optimizer = _wrap_for_mixed_precision(self, encoder_optimizer)
        self.decoder_optimizer = _wrap_for_mixed_precision(self, decoder_optimizer)
        self.d_optimizer = _wrap_for_mixed_precision(self, d_optimizer)

    def get_compile_config(self) -> dict:
        """Nothing to restore at load time: the three optimisers are set by :func:`fit_vaegan`."""
        return {}

    def _terms(self, x, training: bool):
        x32 = ops.cast(x, "float32")
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        logits = ops.cast(self.decoder(z, training=training), "float32")
        z_p = keras.random.normal(ops.shape(z), dtype=z.dtype, seed=self.prior_seed)
        x_rec = ops.sigmoid(logits)
        x_p = ops.sigmoid(ops.cast(self.decoder(z_p, training=training), "float32"))
        d_x, f_x = self.discriminator(x32, training=training)
        d_rec, f_rec = self.discriminator(x_rec, training=training)
        d_p, _ = self.discriminator(x_p, training=training)
        kl = ops.mean(likelihoods.kl_standard_normal(ops.cast(mean, "float32"), ops.cast(log_var, "float32")))
        pixel = -ops.mean(likelihoods.bernoulli_log_prob(x32, logits))
        diff = ops.reshape(ops.cast(f_x, "float32") - ops.cast(f_rec, "float32"), (ops.shape(x)[0], -1))
        feature = 0.5 * ops.mean(ops.sum(ops.square(diff), axis=-1))
        d_loss = _bce_with_logits(1.0, d_x) + _bce_with_logits(0.0, d_rec) + _bce_with_logits(0.0, d_p)
        g_loss = _bce_with_logits(1.0, d_rec) + _bce_with_logits(1.0, d_p)
        values = {
            "pixel": pixel, "kl": kl, "feature": feature, "d_loss": d_loss, "g_loss": g_loss,
            "d_real": ops.mean(ops.sigmoid(ops.cast(d_x, "float32"))),
            "d_fake": ops.mean(ops.sigmoid(ops.cast(d_p, "float32"))),
        }
        return values

    def train_step(self, data):
        tf = _tf()
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        with tf.GradientTape(persistent=True) as tape:
            v = self._terms(x, training=True)
            reconstruction = self.pixel_weight * v["pixel"] + self.feature_weight * v["feature"]
            enc_loss = self.encoder_optimizer.scale_loss(self.beta * v["kl"] + reconstruction)
            dec_loss = self.decoder_optimizer.scale_loss(reconstruction + self.adversarial_weight * v["g_loss"])
            d_loss = self.d_optimizer.scale_loss(v["d_loss"])
        _apply(tape, self.encoder_optimizer, enc_loss, self.encoder.trainable_variables)
        _apply(tape, self.decoder_optimizer, dec_loss, self.decoder.trainable_variables)
        _apply(tape, self.d_optimizer, d_loss, self.discriminator.trainable_variables)
        del tape
        return self._track(v.items())

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        return self._track(self._terms(x, training=False).items())

    # ------------------------------------------------------------------ NumPy helpers
    def encode(self, x, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)`` of ``q(z|x)``."""
        _check_input(x, self.image_shape, "encode")
        parts = [self.encoder(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return (np.concatenate([ops.convert_to_numpy(m).astype(np.float32) for m, _ in parts]),
                np.concatenate([ops.convert_to_numpy(v).astype(np.float32) for _, v in parts]))

    def decode(self, z, batch_size: int = 1024) -> np.ndarray:
        _check_input(z, (self.latent_dim,), "decode")
        return _sigmoid(run_batched(self.decoder, np.asarray(z, np.float32), batch_size).astype(np.float32))

    def reconstruct(self, x, batch_size: int = 1024) -> np.ndarray:
        return self.decode(self.encode(x, batch_size)[0], batch_size)

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        n = _check_positive_int("n", n)
        return self.decode(np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            **_parts_config(self),
            beta=self.beta, pixel_weight=self.pixel_weight, feature_weight=self.feature_weight,
            adversarial_weight=self.adversarial_weight, seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> VAEGAN:
        return _from_parts_config(cls, config)


def fit_vaegan(
    model: VAEGAN,
    x,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    d_lr: float | None = None,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Compile ``model`` with three Adam optimisers (``beta_1 = 0.5``) and train it on grey images ``x``."""
    from .training import _positive_float, _positive_int

    what = "fit_vaegan"
    if not isinstance(model, VAEGAN):
        raise TypeError(f"{what}: model must be a VAEGAN, got {type(model).__name__}.")
    epochs = _positive_int("epochs", epochs, what)
    batch_size = _positive_int("batch_size", batch_size, what)
    lr = _positive_float("lr", lr, what)
    d_lr = lr if d_lr is None else _positive_float("d_lr", d_lr, what)
    x = _check_fit_images(model, x, what)
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        decoder_optimizer=keras.optimizers.Adam(lr, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(d_lr, beta_1=0.5),
    )
    return model.fit(x, batch_size=batch_size, epochs=epochs, shuffle=True, callbacks=callbacks, verbose=verbose)
