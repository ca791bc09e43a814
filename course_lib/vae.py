"""Variational autoencoders in Keras 3: the sampling layer, encoders and the :class:`VAE` model.

A VAE is a latent-variable model ``p(z) p(x|z)`` with ``p(z) = N(0, I)`` and a decoder
network for ``p(x|z)``, trained together with an encoder ``q(z|x) = N(mean(x),
diag(exp(log_var(x))))`` by maximising the evidence lower bound (ELBO)::

    log p(x) >= E_q[log p(x|z)] - KL(q(z|x) || p(z))
                 \\___ -distortion __/  \\____ rate ____/

The model minimises the negative ELBO per example in nats, ``reconstruction + beta * kl``
(``beta = 1`` is the VAE; other values give the beta-VAE of notebook 06), and reports the
two terms as separate metrics. Training goes through the ordinary ``compile`` / ``fit``:
the loss lives in :meth:`VAE.compute_loss`, the Keras 3 hook for models whose loss is not
a function of ``(y, y_pred)`` alone.

The decoder outputs one *logit* per pixel. With ``likelihood="bernoulli"`` (binary images)
the logit parameterises a Bernoulli; with ``"gaussian"`` (grey images) ``sigmoid(logit)``
is the mean of a Gaussian whose standard deviation is one learned scalar. Either way,
:meth:`VAE.decode` returns ``sigmoid(logit)``: the expected image.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from . import likelihoods
from .models import (
    UPSAMPLE_MODES,
    _check_filters,
    _check_hidden,
    _check_image_shape,
    _check_input,
    _check_mode,
    _check_positive_int,
    _check_shape,
    run_batched,
)

LIKELIHOODS = ("bernoulli", "gaussian")


@keras.saving.register_keras_serializable(package="course_lib")
class Sampling(keras.layers.Layer):
    """The reparameterisation trick: ``z = mean + exp(log_var / 2) * eps``, ``eps ~ N(0, I)``.

    Sampling ``z ~ q(z|x)`` directly would block gradients; written this way the randomness
    sits in ``eps``, which does not depend on the weights, and ``z`` is a differentiable
    function of ``mean`` and ``log_var``. The noise comes from a seeded Keras generator.
    Built on the page in notebook 05, section 2 (checked there against this layer).
    """

    def __init__(self, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


def gaussian_mlp_encoder(
    input_shape: Sequence[int] = (28, 28),
    latent_dim: int = 32,
    hidden: Sequence[int] = (512, 256),
    *,
    activation: str = "relu",
    name: str = "encoder",
) -> keras.Model:
    """Dense encoder with two heads: ``x -> (mean, log_var)``, each of size ``latent_dim``.

    Predicting ``log_var`` (not the variance) keeps the variance positive without a
    constraint and makes the KL term smooth. Built on the page in notebook 05, section 5.
    """
    shape = _check_shape(input_shape)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    units = _check_hidden(hidden)
    inputs = keras.Input(shape=shape, name="image")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(inputs, [mean, log_var], name=name)


def logit_mlp_decoder(
    latent_dim: int = 32,
    output_shape: Sequence[int] = (28, 28),
    hidden: Sequence[int] = (256, 512),
    *,
    activation: str = "relu",
    name: str = "decoder",
) -> keras.Model:
    """Dense decoder ``z -> logits``, one per pixel, in the image's shape (no sigmoid).

    Built on the page in notebook 05, section 5.
    """
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    shape = _check_shape(output_shape)
    units = _check_hidden(hidden)
    inputs = keras.Input(shape=(latent_dim,), name="z")
    h = inputs
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    h = keras.layers.Dense(int(np.prod(shape)), name="logits")(h)
    return keras.Model(inputs, keras.layers.Reshape(shape, name="image_logits")(h), name=name)


def _check_nonneg(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
    return float(value)


@keras.saving.register_keras_serializable(package="course_lib")
class VAE(keras.Model):
    """Encoder ``x -> (mean, log_var)``, :class:`Sampling`, decoder ``z -> logits``.

    ``likelihood``: ``"bernoulli"`` for binary pixels or ``"gaussian"`` (learned shared
    scale) for grey ones. ``beta`` weighs the KL term (1 = the ELBO). ``kl_warmup_steps``
    ramps the KL weight linearly from 0 to ``beta`` over that many optimiser steps, and
    ``free_bits`` (nats per latent dimension) stops the optimiser from pushing any
    dimension's batch-average KL below that value -- two standard remedies for posterior
    collapse. ``binarize=True`` draws a fresh binary image from the grey training batch at
    every step (*dynamic binarisation*: a new sample of the data each epoch, a strong
    regulariser); it applies in training only, so validation data must be binarised once,
    with a fixed seed, beforehand.

    ``model(x)`` returns a dict with the modelled data ``"x"``, ``"mean"``, ``"log_var"``,
    the sampled ``"z"`` and the decoder's ``"logits"``. Metrics during ``fit``: ``loss``
    (the objective), ``reconstruction`` (``-E log p(x|z)``), ``kl`` and ``neg_elbo``
    (their sum), all per example in nats.

    Built on the page in notebook 05, section 5 (``Sampling``, encoder, decoder and a model
    with this ``call`` and ``compute_loss``, without the options); the page version is checked
    there against this class with the same weights and seeds.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        likelihood: str = "bernoulli",
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        free_bits: float = 0.0,
        binarize: bool = False,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        try:
            outs = list(encoder.outputs)
        except (AttributeError, TypeError):
            outs = []
        if len(outs) != 2:
            raise ValueError(
                "The encoder must output two tensors, (mean, log_var); build it with "
                "vae.gaussian_mlp_encoder or end your own with two Dense heads."
            )
        latent = int(outs[0].shape[-1])
        dec_latent = int(decoder.inputs[0].shape[-1])
        if dec_latent != latent:
            raise ValueError(
                f"The encoder's codes have {latent} dimensions but the decoder expects "
                f"{dec_latent}: build both with the same latent_dim."
            )
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}.")
        if isinstance(kl_warmup_steps, bool) or not isinstance(kl_warmup_steps, int) or (
            kl_warmup_steps < 0
        ):
            raise ValueError(f"kl_warmup_steps must be an integer >= 0, got {kl_warmup_steps!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = _check_nonneg("beta", beta)
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = _check_nonneg("free_bits", free_bits)
        self.binarize = bool(binarize)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.binarize_seed = keras.random.SeedGenerator(None if seed is None else seed + 1)
        if likelihood == "gaussian":
            self.log_scale = self.add_weight(shape=(), initializer="zeros", name="log_scale")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.neg_elbo_tracker = keras.metrics.Mean(name="neg_elbo")

    # ------------------------------------------------------------------ the model itself
    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[0].shape[-1])

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.encoder.inputs[0].shape[1:])

    def _binarize(self, x, training):
        """A fresh binary sample of grey ``x`` in training (if ``binarize``); else ``x``."""
        if not (self.binarize and training):
            return x
        u = keras.random.uniform(ops.shape(x), dtype=x.dtype, seed=self.binarize_seed)
        return ops.cast(u < x, x.dtype)

    def call(self, x, training=None):
        x = self._binarize(x, training)
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var])
        logits = self.decoder(z, training=training)
        return {"x": x, "mean": mean, "log_var": log_var, "z": z, "logits": logits}

    def log_likelihood(self, x, logits):
        """``log p(x|z)`` per example given the decoder's logits, in nats, shape (N,)."""
        if self.likelihood == "bernoulli":
            return likelihoods.bernoulli_log_prob(x, logits)
        return likelihoods.gaussian_log_prob(x, ops.sigmoid(logits), 2.0 * self.log_scale)

    def kl_weight(self):
        """The KL weight at the current optimiser step: ``beta``, ramped up during warm-up."""
        if not self.kl_warmup_steps or self.optimizer is None:
            return ops.convert_to_tensor(self.beta)
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.kl_warmup_steps))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction = -ops.mean(self.log_likelihood(y_pred["x"], y_pred["logits"]))
        kl_dims = ops.mean(likelihoods.kl_per_dimension(y_pred["mean"], y_pred["log_var"]), 0)
        kl = ops.sum(kl_dims)
        kl_term = ops.sum(ops.maximum(kl_dims, self.free_bits)) if self.free_bits else kl
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        self.neg_elbo_tracker.update_state(reconstruction + kl)
        return reconstruction + self.kl_weight() * kl_term

    # ------------------------------------------------------------------ NumPy helpers
    def encode(self, x, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)`` of ``q(z|x)`` as NumPy arrays."""
        _check_input(x, self.image_shape, "encode")
        if len(x) == 0:
            raise ValueError("encode: the input is empty (0 examples).")
        parts = [self._encode_tensors(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        mean = np.concatenate([ops.convert_to_numpy(m) for m, _ in parts])
        log_var = np.concatenate([ops.convert_to_numpy(v) for _, v in parts])
        return mean, log_var

    def decode(self, z, batch_size: int = 1024) -> np.ndarray:
        """The expected image ``sigmoid(logits)`` for codes ``z``, as a NumPy array."""
        _check_input(z, (self.latent_dim,), "decode")
        logits = run_batched(self.decoder, z, batch_size)
        return 1.0 / (1.0 + np.exp(-logits))

    def reconstruct(self, x, batch_size: int = 1024) -> np.ndarray:
        """Decode the posterior mean: the model's best single reconstruction of ``x``."""
        return self.decode(self.encode(x, batch_size)[0], batch_size)

    def sample(self, n: int, seed: int | None = None, batch_size: int = 1024) -> np.ndarray:
        """``n`` expected images decoded from codes drawn from the prior ``N(0, I)``."""
        n = _check_positive_int("n", n)
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype(np.float32)
        return self.decode(z, batch_size)

    def _check_data(self, x, what: str) -> np.ndarray:
        _check_input(x, self.image_shape, what)
        if self.likelihood == "bernoulli":
            return likelihoods.check_binary(x, what)
        return np.asarray(x, np.float32)

    def _log_px_given_z(self, x_rep, z):
        return self.log_likelihood(
            ops.convert_to_tensor(x_rep), self.decoder(ops.convert_to_tensor(z), training=False)
        )

    def _encode_tensors(self, x):
        return self.encoder(ops.convert_to_tensor(x), training=False)

    def elbo(self, x, *, seed: int = 0, batch_size: int = 1000) -> dict[str, np.ndarray]:
        """Per-example ``elbo``, ``reconstruction`` (one sample of z) and analytic ``kl``, nats."""
        x = self._check_data(x, "elbo")
        rng = np.random.default_rng(seed)
        rec, kl = [], []
        for start in range(0, len(x), batch_size):
            xb = x[start : start + batch_size]
            mean, log_var = (ops.convert_to_numpy(t) for t in self._encode_tensors(xb))
            z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape).astype(np.float32)
            rec.append(-ops.convert_to_numpy(self._log_px_given_z(xb, z)).astype(np.float64))
            kl.append(ops.convert_to_numpy(likelihoods.kl_standard_normal(mean, log_var)).astype(np.float64))
        rec_a, kl_a = np.concatenate(rec), np.concatenate(kl)
        return {"elbo": -(rec_a + kl_a), "reconstruction": rec_a, "kl": kl_a}

    def log_likelihood_iw(
        self, x, k: int = 1000, *, seed: int = 0, batch_size: int | None = None
    ) -> np.ndarray:
        """Importance-weighted estimate of ``log p(x)`` per example (nats), with ``k`` samples.

        See :func:`likelihoods.importance_weighted_log_likelihood`. For Bernoulli models
        ``x`` must be binary (binarise the test set once, with a fixed seed).
        """
        x = self._check_data(x, "log_likelihood_iw")
        if batch_size is None:
            batch_size = max(1, 20000 // max(int(k), 1))
        return likelihoods.importance_weighted_log_likelihood(
            x, self._encode_tensors, self._log_px_given_z, k, batch_size=batch_size, seed=seed
        )

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            likelihood=self.likelihood,
            beta=self.beta,
            kl_warmup_steps=self.kl_warmup_steps,
            free_bits=self.free_bits,
            binarize=self.binarize,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> VAE:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


def active_units(mean: np.ndarray, threshold: float = 0.01) -> tuple[int, np.ndarray]:
    """Count the latent dimensions the model uses (Burda et al. 2016).

    A dimension is *active* when its posterior mean varies across the data:
    ``Var_x(E_q[z_u | x]) > threshold``. A collapsed dimension has ``q(z_u|x) = p(z_u)``
    for every ``x``, so its mean is constant and carries no information. Returns the count
    and the per-dimension variances (pass the encoder's means for a test set).
    """
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 2 or len(mean) < 2:
        raise ValueError(f"mean must be (N >= 2, latent_dim) posterior means, got {mean.shape}.")
    variances = mean.var(axis=0)
    return int(np.sum(variances > threshold)), variances


def _compile_and_fit(model: VAE, inputs, x: np.ndarray, what: str, *, epochs, batch_size, peak_lr,
                     warmup_epochs, validation_data, callbacks, verbose):
    """What :func:`fit_vae` and :func:`fit_cvae` share: checks, Adam on warm-up + cosine, fit."""
    from .training import _positive_int, warmup_cosine

    epochs = _positive_int("epochs", epochs, what)
    batch_size = _positive_int("batch_size", batch_size, what)
    if len(x) == 0:
        raise ValueError(f"{what}: x is empty (0 examples).")
    if model.binarize and (x.min() < 0 or x.max() > 1):
        raise ValueError(
            f"{what}: dynamic binarisation needs intensities in [0, 1], got "
            f"{x.min():g}..{x.max():g}. Use data.to_float on uint8 images."
        )
    steps = -(-len(x) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(warmup_cosine(steps, epochs, peak_lr, warmup_epochs)))
    return model.fit(inputs, batch_size=batch_size, epochs=epochs, shuffle=True,
                     validation_data=validation_data, callbacks=callbacks, verbose=verbose)


def fit_vae(
    model: VAE,
    x,
    *,
    epochs: int,
    batch_size: int = 128,
    peak_lr: float = 1e-3,
    warmup_epochs: float = 0.0,
    validation_data=None,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Compile ``model`` with Adam on a warm-up + cosine schedule and fit it to ``x``.

    No ``y``: a VAE's target is its own (binarised) input, and the loss is the model's own
    :meth:`VAE.compute_loss`. ``validation_data`` is an array of images (binarised already
    for a Bernoulli model). Returns the Keras ``History``.
    """
    what = "fit_vae"
    if not isinstance(model, VAE):
        raise TypeError(f"{what}: model must be a course_lib.vae.VAE, got {type(model).__name__}.")
    x = np.asarray(x, dtype=np.float32)
    _check_input(x, model.image_shape, what)
    if validation_data is not None:
        validation_data = (model._check_data(np.asarray(validation_data), f"{what} validation_data"),)
    return _compile_and_fit(model, x, x, what, epochs=epochs, batch_size=batch_size, peak_lr=peak_lr,
                            warmup_epochs=warmup_epochs, validation_data=validation_data,
                            callbacks=callbacks, verbose=verbose)


# ---------------------------------------------------------------------- conditional VAE


def check_labels(y, n: int, n_classes: int, what: str) -> np.ndarray:
    """``n`` integer class labels in ``0..n_classes-1`` (an int is repeated ``n`` times), as int32."""
    y = np.asarray(y)
    if y.ndim == 0:
        y = np.full(n, int(y))
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{what}: labels must be {n} integers (shape ({n},)), got {y.shape} {y.dtype}.")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{what}: labels must be in 0..{n_classes - 1}, got {y.min()}..{y.max()}.")
    return y.astype(np.int32)


def conditional_mlp_encoder(
    input_shape: Sequence[int] = (28, 28),
    n_classes: int = 10,
    latent_dim: int = 32,
    hidden: Sequence[int] = (512, 256),
    *,
    activation: str = "relu",
    name: str = "cond_encoder",
) -> keras.Model:
    """``(x, one_hot(y)) -> (mean, log_var)``: the encoder of a conditional VAE.

    The label goes in next to the flattened image, so the code need not spend capacity on
    the class and is free to describe everything else ("style").
    """
    shape = _check_shape(input_shape)
    n_classes = _check_positive_int("n_classes", n_classes)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    units = _check_hidden(hidden)
    image = keras.Input(shape=shape, name="image")
    label = keras.Input(shape=(n_classes,), name="label_one_hot")
    h = keras.layers.Concatenate(name="image_and_label")([keras.layers.Flatten()(image), label])
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model([image, label], [mean, log_var], name=name)


def conditional_logit_decoder(
    latent_dim: int = 32,
    n_classes: int = 10,
    output_shape: Sequence[int] = (28, 28),
    hidden: Sequence[int] = (256, 512),
    *,
    activation: str = "relu",
    name: str = "cond_decoder",
) -> keras.Model:
    """``(z, one_hot(y)) -> logits``: the decoder of a conditional VAE."""
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    n_classes = _check_positive_int("n_classes", n_classes)
    shape = _check_shape(output_shape)
    units = _check_hidden(hidden)
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(n_classes,), name="label_one_hot")
    h = keras.layers.Concatenate(name="z_and_label")([z, label])
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    h = keras.layers.Dense(int(np.prod(shape)), name="logits")(h)
    return keras.Model([z, label], keras.layers.Reshape(shape, name="image_logits")(h), name=name)


@keras.saving.register_keras_serializable(package="course_lib")
class ConditionalVAE(VAE):
    """A VAE whose encoder and decoder both see the class label (Sohn et al. 2015).

    Built on the page in notebook 06, section 3a (the one-hot label concatenated to the
    flattened image and to the code) and checked there against this class with the same
    weights. Same objective and options as :class:`VAE`, but the model describes ``p(x | y)``:
    train with ``fit((images, labels))`` (integer labels), generate a chosen class with
    :meth:`sample`, and transfer "style" by encoding an image with its own label and
    decoding the code with another (:meth:`restyle`).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs) -> None:
        try:
            enc_in = list(encoder.inputs)
            dec_in = list(decoder.inputs)
        except (AttributeError, TypeError):
            enc_in, dec_in = [], []
        if len(enc_in) != 2 or len(dec_in) != 2:
            raise ValueError(
                "A ConditionalVAE needs an encoder with inputs (image, one-hot label) and a "
                "decoder with inputs (z, one-hot label); build them with "
                "vae.conditional_mlp_encoder and vae.conditional_logit_decoder."
            )
        self.n_classes = int(enc_in[1].shape[-1])
        if int(dec_in[1].shape[-1]) != self.n_classes:
            raise ValueError(
                f"The encoder expects {self.n_classes} classes but the decoder "
                f"{dec_in[1].shape[-1]}: build both with the same n_classes."
            )
        super().__init__(encoder, decoder, **kwargs)

    def _one_hot(self, y):
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), self.n_classes)

    def call(self, inputs, training=None):
        x, y = inputs
        x = self._binarize(x, training)
        y1 = self._one_hot(y)
        mean, log_var = self.encoder([x, y1], training=training)
        z = self.sampling([mean, log_var])
        logits = self.decoder([z, y1], training=training)
        return {"x": x, "mean": mean, "log_var": log_var, "z": z, "logits": logits}

    def _labels(self, y, n: int, what: str) -> np.ndarray:
        return check_labels(y, n, self.n_classes, what)

    def encode(self, x, y, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)`` of ``q(z | x, y)``."""
        _check_input(x, self.image_shape, "encode")
        y1 = ops.convert_to_numpy(self._one_hot(self._labels(y, len(x), "encode")))
        means, log_vars = [], []
        for i in range(0, len(x), batch_size):
            m, v = self.encoder([x[i : i + batch_size], y1[i : i + batch_size]], training=False)
            means.append(ops.convert_to_numpy(m))
            log_vars.append(ops.convert_to_numpy(v))
        return np.concatenate(means), np.concatenate(log_vars)

    def decode(self, z, y, batch_size: int = 1024) -> np.ndarray:
        """The expected image of class ``y`` (an int or one label per code) for codes ``z``."""
        _check_input(z, (self.latent_dim,), "decode")
        y1 = ops.convert_to_numpy(self._one_hot(self._labels(y, len(z), "decode")))
        out = [
            ops.convert_to_numpy(self.decoder([z[i : i + batch_size], y1[i : i + batch_size]], training=False))
            for i in range(0, len(z), batch_size)
        ]
        return 1.0 / (1.0 + np.exp(-np.concatenate(out)))

    def reconstruct(self, x, y, batch_size: int = 1024) -> np.ndarray:
        return self.decode(self.encode(x, y, batch_size)[0], y, batch_size)

    def sample(self, y, seed: int | None = None, batch_size: int = 1024) -> np.ndarray:  # type: ignore[override]
        """One generated image per requested label in ``y``, codes drawn from ``N(0, I)``."""
        y = np.asarray(y)
        if y.ndim != 1 or len(y) == 0:
            raise ValueError(f"sample: y must be a non-empty 1-D array of labels, got shape {y.shape}.")
        z = np.random.default_rng(seed).standard_normal((len(y), self.latent_dim)).astype(np.float32)
        return self.decode(z, y, batch_size)

    def restyle(self, x, y_source, y_target) -> np.ndarray:
        """Encode ``x`` with its own labels, decode the code as class ``y_target``."""
        return self.decode(self.encode(x, y_source)[0], y_target)

    def elbo(self, *args, **kwargs):  # pragma: no cover - not used for the CVAE
        raise NotImplementedError("elbo/log_likelihood_iw are implemented for the unconditional VAE.")

    log_likelihood_iw = elbo


def fit_cvae(
    model: ConditionalVAE,
    x,
    y,
    *,
    epochs: int,
    batch_size: int = 128,
    peak_lr: float = 1e-3,
    warmup_epochs: float = 0.0,
    validation_data=None,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Like :func:`fit_vae` for a :class:`ConditionalVAE`: ``x`` images, ``y`` integer labels.

    ``validation_data`` is ``(images, labels)`` (images binarised already for Bernoulli).
    """
    what = "fit_cvae"
    if not isinstance(model, ConditionalVAE):
        raise TypeError(f"{what}: model must be a ConditionalVAE, got {type(model).__name__}.")
    x = np.asarray(x, dtype=np.float32)
    _check_input(x, model.image_shape, what)
    y = model._labels(y, len(x), what).astype(np.int32)
    val = None
    if validation_data is not None:
        vx, vy = validation_data
        vx = model._check_data(np.asarray(vx), f"{what} validation images")
        val = ((vx, model._labels(vy, len(vx), f"{what} validation labels").astype(np.int32)),)
    return _compile_and_fit(model, (x, y), x, what, epochs=epochs, batch_size=batch_size, peak_lr=peak_lr,
                            warmup_epochs=warmup_epochs, validation_data=val, callbacks=callbacks,
                            verbose=verbose)


# ---------------------------------------------------------------------- conditional conv builders


def _image_dims(what: str, shape: Sequence[int], n_stages: int) -> tuple[int, int, int]:
    """``(h, w, c)`` of a ``(h, w)`` or ``(h, w, c)`` image shape that ``n_stages`` halvings divide."""
    dims = _check_shape(shape)
    if len(dims) == 2:
        dims = (*dims, 1)
    return _check_image_shape(what, dims, n_stages)


def _label_planes(label, h: int, w: int, n_classes: int, name: str):
    """The one-hot label broadcast to ``(h, w, n_classes)`` constant feature planes."""
    planes = keras.layers.RepeatVector(h * w, name=f"{name}_repeat")(label)
    return keras.layers.Reshape((h, w, n_classes), name=f"{name}_planes")(planes)


def conditional_conv_decoder(
    latent_dim: int = 8,
    n_classes: int = 10,
    output_shape: Sequence[int] = (28, 28),
    filters: Sequence[int] = (64, 32),
    *,
    kernel_size: int = 3,
    upsample: str = "transpose",
    logits_layer: str = "conv",
    activation: str = "relu",
    label_planes: bool = False,
    name: str = "cond_conv_decoder",
) -> keras.Model:
    """``(z, one_hot(y)) -> logits`` with convolutions: the sharp decoder of a conditional VAE.

    Why: an MLP decoder has to learn every pixel's dependence on ``(z, y)`` separately and,
    with a small code, ends up drawing blurred class averages; its samples (and even its
    reconstructions) are recognised by the judge far less often than real images. A conv
    decoder shares one small set of local filters over the whole image, so edges, straps
    and textures come out sharp for the same budget.

    What: ``concat(z, one_hot(y))`` goes through a Dense layer to an
    ``(H / 2**n, W / 2**n, filters[0])`` feature map (7x7x64 for 28x28 and the defaults);
    each of the ``n = len(filters)`` stages doubles the resolution with ``filters[i]``
    channels (``upsample="transpose"``: a stride-2 Conv2DTranspose; ``"upsample"``:
    nearest-neighbour UpSampling2D then a Conv2D, see :func:`models.conv_decoder`); then a
    linear layer gives one logit per pixel, reshaped to ``output_shape``:
    ``logits_layer="conv"`` is a stride-1 Conv2D after the last stage (as in
    :func:`models.conv_decoder`), ``"transpose"`` a stride-2 Conv2DTranspose that doubles the
    resolution once more as it outputs the logits. With ``"transpose"`` no hidden layer runs
    at full resolution, so ``filters=(32,)`` means 7x7x32 -> 14x14x32 -> 28x28 logits: on a
    CPU every conv layer at 28x28 costs a large, nearly size-independent time per step, and
    this is the cheapest conv decoder that still draws every pixel with local filters.
    ``output_shape``
    may be ``(28, 28)`` (like the MLP builders, to pair with :func:`conditional_mlp_encoder`
    in a :class:`ConditionalVAE`) or ``(28, 28, 1)``. ``label_planes=True`` also feeds the
    label to every stage as ``n_classes`` constant feature planes, so each conv sees the
    class directly. No batch norm: the VAE samples with the decoder in inference mode from
    codes the training batches never showed it, and moving statistics only add a mismatch.
    """
    chans = _check_filters(filters)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    n_classes = _check_positive_int("n_classes", n_classes)
    shape = _check_shape(output_shape)
    logits_layer = _check_mode("logits_layer", logits_layer, ("conv", "transpose"))
    n_doublings = len(chans) + (logits_layer == "transpose")
    h_out, w_out, c_out = _image_dims("output_shape", shape, n_doublings)
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    upsample = _check_mode("upsample", upsample, UPSAMPLE_MODES)
    if not isinstance(label_planes, bool):
        raise ValueError(f"label_planes must be True or False, got {label_planes!r}.")

    factor = 2**n_doublings
    h0, w0 = h_out // factor, w_out // factor
    z = keras.Input(shape=(latent_dim,), name="z")
    label = keras.Input(shape=(n_classes,), name="label_one_hot")
    h = keras.layers.Concatenate(name="z_and_label")([z, label])
    h = keras.layers.Dense(h0 * w0 * chans[0], activation=activation, name="project")(h)
    h = keras.layers.Reshape((h0, w0, chans[0]), name="to_feature_map")(h)
    for i, f in enumerate(chans, start=1):
        if label_planes:
            planes = _label_planes(label, h0 * 2 ** (i - 1), w0 * 2 ** (i - 1), n_classes, f"stage{i}_label")
            h = keras.layers.Concatenate(name=f"stage{i}_with_label")([h, planes])
        if upsample == "transpose":
            h = keras.layers.Conv2DTranspose(f, kernel_size, strides=2, padding="same", activation=activation,
                                             name=f"stage{i}_conv")(h)
        else:
            h = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"stage{i}_up")(h)
            h = keras.layers.Conv2D(f, kernel_size, padding="same", activation=activation,
                                    name=f"stage{i}_conv")(h)
    if logits_layer == "conv":
        h = keras.layers.Conv2D(c_out, kernel_size, padding="same", name="logits")(h)
    else:
        h = keras.layers.Conv2DTranspose(c_out, kernel_size, strides=2, padding="same", name="logits")(h)
    out = keras.layers.Reshape(shape, name="image_logits")(h)
    return keras.Model([z, label], out, name=name)


def conditional_conv_encoder(
    input_shape: Sequence[int] = (28, 28),
    n_classes: int = 10,
    latent_dim: int = 8,
    filters: Sequence[int] = (32, 64),
    *,
    kernel_size: int = 3,
    hidden: Sequence[int] = (),
    activation: str = "relu",
    label_planes: bool = True,
    name: str = "cond_conv_encoder",
) -> keras.Model:
    """``(x, one_hot(y)) -> (mean, log_var)`` with convolutions: a conditional VAE encoder.

    Stride-2 Conv2D stages (``filters[i]`` channels each, halving the resolution), flatten,
    the label concatenated, optional Dense ``hidden`` layers, then the two linear heads of
    :func:`gaussian_mlp_encoder`. ``label_planes=True`` also gives the first conv the label
    as ``n_classes`` constant planes next to the image. ``input_shape`` may be ``(28, 28)``
    (a channel axis is added inside, so it pairs with :func:`conditional_conv_decoder` or
    the MLP decoder) or ``(28, 28, 1)``.
    """
    chans = _check_filters(filters)
    shape = _check_shape(input_shape)
    h_in, w_in, c_in = _image_dims("input_shape", shape, len(chans))
    n_classes = _check_positive_int("n_classes", n_classes)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    units = _check_hidden(hidden)
    if not isinstance(label_planes, bool):
        raise ValueError(f"label_planes must be True or False, got {label_planes!r}.")

    image = keras.Input(shape=shape, name="image")
    label = keras.Input(shape=(n_classes,), name="label_one_hot")
    h = keras.layers.Reshape((h_in, w_in, c_in), name="with_channels")(image) if len(shape) == 2 else image
    if label_planes:
        h = keras.layers.Concatenate(name="image_and_label_planes")(
            [h, _label_planes(label, h_in, w_in, n_classes, "input_label")])
    for i, f in enumerate(chans, start=1):
        h = keras.layers.Conv2D(f, kernel_size, strides=2, padding="same", activation=activation,
                                name=f"stage{i}_conv")(h)
    h = keras.layers.Concatenate(name="features_and_label")([keras.layers.Flatten(name="flatten")(h), label])
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model([image, label], [mean, log_var], name=name)
