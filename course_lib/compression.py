"""Learned image compression: quantiser, factorised entropy model and the rate–distortion model.

An autoencoder becomes a codec when its code is *quantised* (rounded to integers, so that it
can be written with finitely many bits) and *entropy-coded* (frequent values get short
codewords), and when it is trained on ``rate + lambda * distortion`` (Ballé, Laparra &
Simoncelli, 2017)::

    y = analysis(x)            (N, 7, 7, C) real numbers
    y_hat = round(y)           integers; training uses y + u, u ~ U(-1/2, 1/2) instead
    x_hat = synthesis(y_hat)   the reconstruction
    rate  = -log2 P(y_hat)     bits per image under a learned factorised entropy model
    loss  = rate + lambda * SSE(x, x_hat)

Rounding has zero gradient almost everywhere, so training replaces it with additive uniform
noise (:func:`quantize`): the noisy code has the same spread as the rounded one, and the
density of ``y + u`` under the entropy model is the probability mass of the unit bin around
it, which is exactly what the rate of the rounded code is at test time.

The entropy model (:class:`LogisticEntropyModel`) is one logistic distribution per code
channel, with a learned location and scale; the probability of integer ``k`` is the
logistic's mass on ``[k - 1/2, k + 1/2]``. :mod:`course_lib.bitstream` turns the same
probabilities into real bytes, and :mod:`course_lib.classic_codecs` measures JPEG, WebP and
PNG on the same images.

Built on the page in notebook 09, section 2 (transforms, entropy model and loss); the page
version is checked there against :class:`CompressionAutoencoder` with the same weights.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from .models import run_batched

#: Smallest probability a code value is given in the rate (bits), so that log2 stays finite.
LIKELIHOOD_FLOOR = 1e-9
#: The integer support of each channel reaches this many logistic scales either side of its
#: location (tail mass outside it: about 2 exp(-16), far below a bit per million images).
SUPPORT_SCALES = 16.0
#: Largest support radius in integers (codes further out are clipped to it).
MAX_RADIUS = 255

__all__ = [
    "CompressionAutoencoder",
    "LogisticEntropyModel",
    "analysis_transform",
    "fit_compressor",
    "logistic_bits",
    "quantize",
    "synthesis_transform",
]


def quantize(y, *, training: bool, seed=None):
    """Additive uniform noise ``y + u, u ~ U(-1/2, 1/2)`` in training; ``round(y)`` otherwise.

    ``seed`` is a Keras ``SeedGenerator`` (or an int) for the noise. The noise is the
    differentiable stand-in for rounding: its gradient is the identity.
    """
    if training:
        return y + keras.random.uniform(ops.shape(y), -0.5, 0.5, dtype=y.dtype, seed=seed)
    return ops.round(y)


def logistic_bits(values, loc, scale) -> np.ndarray:
    """Bits ``-log2 P(k)`` of integer codes ``values`` under logistics with ``loc`` / ``scale``.

    ``P(k) = sigmoid((k + 1/2 - loc) / scale) - sigmoid((k - 1/2 - loc) / scale)``, the
    logistic's mass on the unit bin around ``k``. NumPy, float64, elementwise with
    broadcasting; the reference for the notebook's exercise and for the layer below.
    """
    values, loc, scale = (np.asarray(a, np.float64) for a in (values, loc, scale))
    if np.any(scale <= 0):
        raise ValueError("logistic_bits: every scale must be positive.")
    centred = values - loc
    sign = np.where(centred > 0, -1.0, 1.0)  # evaluate in the lower tail, where sigmoid is exact

    def sigmoid(t):
        return 0.5 * (1.0 + np.tanh(0.5 * t))

    mass = np.abs(sigmoid(sign * (centred + 0.5) / scale) - sigmoid(sign * (centred - 0.5) / scale))
    return -np.log2(np.maximum(mass, LIKELIHOOD_FLOOR))


@keras.saving.register_keras_serializable(package="course_lib")
class LogisticEntropyModel(layers.Layer):
    """A factorised entropy model: one logistic (location, scale) per code channel.

    ``likelihood(y)`` is the probability mass of the unit bin around each value of ``y``
    (shape ``(..., channels)``); for a rounded code that is ``P(y_hat)``, for a noisy code
    ``y + u`` it is the density of the noisy code, so the same function gives the training
    rate and the test rate. ``bits(y)`` sums ``-log2`` of it per example.
    """

    def __init__(self, channels: int, init_scale: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive integer, got {channels!r}.")
        if not init_scale > 0:
            raise ValueError(f"init_scale must be positive, got {init_scale!r}.")
        self.channels = channels
        self.init_scale = float(init_scale)
        self.loc = self.add_weight(shape=(channels,), initializer="zeros", name="loc")
        self.log_scale = self.add_weight(
            shape=(channels,),
            initializer=keras.initializers.Constant(math.log(self.init_scale)),
            name="log_scale",
        )
        self.built = True

    def likelihood(self, y):
        """``P`` of the unit bin around each entry of ``y``, floored at 1e-9."""
        scale = ops.exp(self.log_scale)
        centred = y - self.loc
        sign = ops.where(centred > 0, -1.0, 1.0)  # the lower tail keeps the difference exact
        upper = ops.sigmoid(sign * (centred + 0.5) / scale)
        lower = ops.sigmoid(sign * (centred - 0.5) / scale)
        return ops.maximum(ops.abs(upper - lower), LIKELIHOOD_FLOOR)

    def bits(self, y):
        """``-log2 P(y)`` summed over everything but the batch axis: bits per example, (N,)."""
        per_value = -ops.log(self.likelihood(y)) / math.log(2.0)
        return ops.sum(ops.reshape(per_value, (ops.shape(y)[0], -1)), axis=1)

    def call(self, y):
        return self.likelihood(y)

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the lowest and highest integer code the codec can write (int64)."""
        loc = np.round(ops.convert_to_numpy(self.loc).astype(np.float64))
        scale = np.exp(ops.convert_to_numpy(self.log_scale).astype(np.float64))
        radius = np.clip(np.ceil(SUPPORT_SCALES * scale), 1, MAX_RADIUS)
        return (loc - radius).astype(np.int64), (loc + radius).astype(np.int64)

    def pmf_table(self) -> tuple[np.ndarray, np.ndarray]:
        """``(low, table)``: ``table[c, j]`` is P(code ``low[c] + j``) in channel c (float64).

        Rows are zero-padded to the widest support; each row is the model's mass on its
        support, renormalised to sum to 1 (the entropy coder needs a proper distribution).
        """
        low, high = self.support()
        width = int((high - low).max()) + 1
        loc = ops.convert_to_numpy(self.loc).astype(np.float64)
        scale = np.exp(ops.convert_to_numpy(self.log_scale).astype(np.float64))
        values = low[:, None] + np.arange(width)[None, :]
        table = 2.0 ** -logistic_bits(values, loc[:, None], scale[:, None])
        table[values > high[:, None]] = 0.0
        return low, table / table.sum(axis=1, keepdims=True)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(channels=self.channels, init_scale=self.init_scale)
        return config


def _check_channels(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def analysis_transform(code_channels: int = 16, filters: Sequence[int] = (64,)) -> keras.Model:
    """The encoder ``y = g_a(x)``: (N, 28, 28) images to (N, 7, 7, code_channels) real codes.

    A stride-2 5x5 convolution per entry of ``filters`` with ReLU, down to 14x14, then a
    stride-2 5x5 convolution with no activation to the code (the code must be free to take
    any real value before it is rounded).
    """
    _check_channels("code_channels", code_channels)
    if len(filters) != 1:
        raise ValueError(f"filters must hold one hidden width (28 -> 14 -> 7), got {filters!r}.")
    image = keras.Input(shape=(28, 28), name="image")
    h = layers.Reshape((28, 28, 1))(image)
    h = layers.Conv2D(_check_channels("filters", filters[0]), 5, strides=2, padding="same", activation="relu")(h)
    y = layers.Conv2D(code_channels, 5, strides=2, padding="same", name="code")(h)
    return keras.Model(image, y, name="analysis")


def synthesis_transform(code_channels: int = 16, filters: Sequence[int] = (64,)) -> keras.Model:
    """The decoder ``x_hat = g_s(y_hat)``: (N, 7, 7, code_channels) codes to (N, 28, 28) images.

    Mirror of :func:`analysis_transform` with transposed convolutions and a sigmoid output.
    """
    _check_channels("code_channels", code_channels)
    if len(filters) != 1:
        raise ValueError(f"filters must hold one hidden width (7 -> 14 -> 28), got {filters!r}.")
    code = keras.Input(shape=(7, 7, code_channels), name="code")
    h = layers.Conv2DTranspose(
        _check_channels("filters", filters[0]), 5, strides=2, padding="same", activation="relu"
    )(code)
    h = layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="sigmoid")(h)
    return keras.Model(code, layers.Reshape((28, 28))(h), name="synthesis")


@keras.saving.register_keras_serializable(package="course_lib")
class CompressionAutoencoder(keras.Model):
    """Analysis transform, quantiser, entropy model and synthesis transform, trained on R + λ D.

    ``model(x, training=...)`` returns a dict: ``"y"`` (the real code), ``"y_hat"`` (noisy in
    training, rounded otherwise), ``"x_hat"`` and ``"bits"`` (per image). The loss per image
    is ``bits + lmbda * SSE`` with the SSE summed over the 784 pixels (pixel values in
    [0, 1]); ``lmbda`` is therefore in bits per unit of squared error. Metrics during ``fit``:
    ``loss``, ``bits`` and ``mse``.

    The NumPy side (:meth:`codes`, :meth:`decode_codes`, :meth:`estimated_bits`) works on
    integer codes clipped to the entropy model's support, exactly what
    :mod:`course_lib.bitstream` writes, so a decoded file equals :meth:`reconstruct`.
    """

    def __init__(
        self,
        analysis: keras.Model,
        synthesis: keras.Model,
        *,
        lmbda: float = 100.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        code_shape = tuple(int(d) for d in analysis.outputs[0].shape[1:])
        wanted = tuple(int(d) for d in synthesis.inputs[0].shape[1:])
        if code_shape != wanted:
            raise ValueError(
                f"the analysis transform writes codes of shape {code_shape} but the synthesis "
                f"transform reads {wanted}: build both with the same code_channels."
            )
        if isinstance(lmbda, bool) or not isinstance(lmbda, (int, float)) or not lmbda > 0:
            raise ValueError(f"lmbda must be a positive number, got {lmbda!r}.")
        self.analysis = analysis
        self.synthesis = synthesis
        self.lmbda = float(lmbda)
        self.seed = seed
        self.entropy_model = LogisticEntropyModel(code_shape[-1], name="entropy_model")
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.bits_tracker = keras.metrics.Mean(name="bits")
        self.mse_tracker = keras.metrics.Mean(name="mse")

    def build(self, input_shape=None) -> None:
        # the transforms are built functional models and the entropy model's weights exist
        self.built = True

    @property
    def code_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.analysis.outputs[0].shape[1:])

    def call(self, x, training=None):
        y = self.analysis(x, training=training)  # (N, 7, 7, C)
        y_hat = quantize(y, training=bool(training), seed=self.noise_seed)
        x_hat = self.synthesis(y_hat, training=training)  # (N, 28, 28)
        bits = self.entropy_model.bits(y_hat)  # (N,)
        return {"y": y, "y_hat": y_hat, "x_hat": x_hat, "bits": bits}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        squared = ops.square(x - y_pred["x_hat"])
        sse = ops.sum(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)  # (N,)
        bits = ops.mean(y_pred["bits"])
        self.bits_tracker.update_state(bits)
        self.mse_tracker.update_state(ops.mean(squared))
        return bits + self.lmbda * ops.mean(sse)

    # ------------------------------------------------------------------ NumPy helpers
    def _check_images(self, x, what: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(f"{what}: expected images of shape (N, 28, 28), got {x.shape}.")
        if len(x) == 0:
            raise ValueError(f"{what}: the input is empty (0 images).")
        return x.astype(np.float32)

    def codes(self, x, batch_size: int = 1024) -> np.ndarray:
        """Integer codes (int64, (N, 7, 7, C)): ``round(g_a(x))`` clipped to the support."""
        y = run_batched(self.analysis, self._check_images(x, "codes"), batch_size)
        low, high = self.entropy_model.support()
        return np.clip(np.round(y).astype(np.int64), low, high)

    def decode_codes(self, codes, batch_size: int = 1024) -> np.ndarray:
        """The reconstruction ``g_s(codes)`` as float32 NumPy, (N, 28, 28)."""
        codes = np.asarray(codes)
        if codes.shape[1:] != self.code_shape:
            raise ValueError(f"decode_codes: expected codes of shape (N, {self.code_shape}), got {codes.shape}.")
        return run_batched(self.synthesis, codes.astype(np.float32), batch_size)

    def reconstruct(self, x, batch_size: int = 1024) -> np.ndarray:
        """What the codec gives back for ``x``: ``g_s(codes(x))``."""
        return self.decode_codes(self.codes(x, batch_size), batch_size)

    def estimated_bits(self, codes) -> np.ndarray:
        """The model's rate of integer codes, ``-log2 P(codes)`` per image (float64, (N,))."""
        codes = np.asarray(codes)
        loc = ops.convert_to_numpy(self.entropy_model.loc)
        scale = np.exp(ops.convert_to_numpy(self.entropy_model.log_scale))
        return logistic_bits(codes, loc, scale).reshape(len(codes), -1).sum(axis=1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            analysis=keras.saving.serialize_keras_object(self.analysis),
            synthesis=keras.saving.serialize_keras_object(self.synthesis),
            lmbda=self.lmbda,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        analysis = keras.saving.deserialize_keras_object(config.pop("analysis"))
        synthesis = keras.saving.deserialize_keras_object(config.pop("synthesis"))
        return cls(analysis, synthesis, **config)


def fit_compressor(
    model: CompressionAutoencoder,
    x_train: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 128,
    peak_lr: float = 3e-3,
    validation_data: np.ndarray | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> keras.callbacks.History:
    """Compile with Adam on a warm-up + cosine schedule and fit (inputs are their own targets)."""
    from .training import warmup_cosine

    steps_per_epoch = -(-len(x_train) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(warmup_cosine(steps_per_epoch, epochs, peak_lr, warmup_epochs=0.2)))
    return model.fit(
        x_train,
        x_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_data=None if validation_data is None else (validation_data, validation_data),
        callbacks=list(callbacks),
        verbose=verbose,
    )
