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

The factorised entropy model (:class:`LogisticEntropyModel`) is one logistic distribution per
code channel, with a learned location and scale; the probability of integer ``k`` is the
logistic's mass on ``[k - 1/2, k + 1/2]`` (:func:`logistic_likelihood`). The context model
(:class:`ContextEntropyModel`, in :class:`ContextCompressionAutoencoder`) predicts each code
value's logistic from the code values at the positions before it (a mask-A convolution, as in
the PixelCNN of notebook 10; Minnen, Ballé & Toderici 2018 without their hyperprior), so that
values that are predictable from their neighbours cost fewer bits. :mod:`course_lib.bitstream`
turns the same probabilities into real bytes, and :mod:`course_lib.classic_codecs` measures
JPEG, WebP and PNG on the same images.

Built on the page in notebook 09, section 2 (transforms, entropy model and loss) and section 6
(the context model); the page versions are checked there against :class:`CompressionAutoencoder`
and :class:`ContextCompressionAutoencoder` with the same weights.
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
#: The context model's predicted log-scales are clipped to this range (scales 0.0067 to 2981).
LOG_SCALE_RANGE = (-5.0, 8.0)
#: What the loss weighs against the rate: ``"sse"`` (R + lambda SSE) or ``"psnr"`` (R - lambda PSNR).
DISTORTIONS = ("sse", "psnr")
#: Added to each image's MSE in :func:`psnr_distortion` so that a perfect image has a finite PSNR (100 dB).
PSNR_MSE_FLOOR = 1e-10
#: The context model's coder computes in fixed point: weights in multiples of 2**-16 ...
WEIGHT_BITS = 16
#: ... and hidden activations in multiples of 2**-12 (see ContextEntropyModel.coder_weights).
ACTIVATION_BITS = 12

__all__ = [
    "DISTORTIONS",
    "CompressionAutoencoder",
    "ContextCompressionAutoencoder",
    "ContextEntropyModel",
    "LogisticEntropyModel",
    "analysis_transform",
    "fit_compressor",
    "logistic_bits",
    "logistic_likelihood",
    "psnr_distortion",
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


def logistic_likelihood(y, loc, scale):
    """``P`` of the unit bin around each entry of ``y`` under logistics ``(loc, scale)``, floored at 1e-9.

    ``sigmoid((y + 1/2 - loc) / scale) - sigmoid((y - 1/2 - loc) / scale)`` with ``keras.ops``
    (broadcasting), evaluated in the lower tail where the difference of two sigmoids keeps its
    precision. For a rounded code this is ``P(y_hat)``; for a noisy training code ``y + u`` it
    is the density of the noisy code. Both entropy models below use it.
    """
    centred = y - loc
    sign = ops.where(centred > 0, -1.0, 1.0)  # the lower tail keeps the difference exact
    upper = ops.sigmoid(sign * (centred + 0.5) / scale)
    lower = ops.sigmoid(sign * (centred - 0.5) / scale)
    return ops.maximum(ops.abs(upper - lower), LIKELIHOOD_FLOOR)


def psnr_distortion(x, x_hat):
    """Each image's PSNR in dB, ``-10 log10(MSE_i)`` for pixel values in [0, 1], shape (N,).

    The loss ``R - lambda * PSNR`` weighs an image's squared error by ``1 / MSE_i``: a dB is
    the same relative drop in error for every image, so an easy image's error counts as much as
    a hard one's. Up to constants it is a Gaussian negative log-likelihood with the variance set to
    each image's own MSE (a profile likelihood), where ``SSE`` is a Gaussian with one fixed variance.
    """
    squared = ops.square(ops.convert_to_tensor(x) - x_hat)
    mse = ops.mean(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)  # (N,)
    return -10.0 * ops.log(mse + PSNR_MSE_FLOOR) / math.log(10.0)


def _bits_per_example(likelihood):
    """``-log2`` of a likelihood tensor summed over everything but the batch axis, (N,)."""
    per_value = -ops.log(likelihood) / math.log(2.0)
    return ops.sum(ops.reshape(per_value, (ops.shape(likelihood)[0], -1)), axis=1)


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
        return logistic_likelihood(y, self.loc, ops.exp(self.log_scale))

    def bits(self, y):
        """``-log2 P(y)`` summed over everything but the batch axis: bits per example, (N,)."""
        return _bits_per_example(self.likelihood(y))

    def call(self, y):
        return self.likelihood(y)

    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the lowest and highest integer code the codec can write (int64)."""
        loc = np.round(ops.convert_to_numpy(self.loc).astype(np.float64))
        scale = np.exp(ops.convert_to_numpy(self.log_scale).astype(np.float64))
        radius = np.clip(np.ceil(SUPPORT_SCALES * scale), 1, MAX_RADIUS)
        return (loc - radius).astype(np.int64), (loc + radius).astype(np.int64)

    def numpy_bits(self, codes) -> np.ndarray:
        """The rate of integer codes ``(N, ..., channels)``, ``-log2 P`` per example (float64, (N,))."""
        codes = np.asarray(codes)
        loc = ops.convert_to_numpy(self.loc)
        scale = np.exp(ops.convert_to_numpy(self.log_scale))
        return logistic_bits(codes, loc, scale).reshape(len(codes), -1).sum(axis=1)

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


@keras.saving.register_keras_serializable(package="course_lib")
class ContextEntropyModel(layers.Layer):
    """A context model: each code value's logistic predicted from the values before it.

    For a code of shape ``(h, w, c)`` read in raster order, the location and scale of value
    ``y_hat[i, j, k]`` are a function of the values at the positions before ``(i, j)``::

        h1     = relu(MaskedConv2D_A(y_hat))          (N, h, w, filters)  the centre excluded
        h2     = relu(h1 W1 + b1)                     (N, h, w, filters)  a 1x1 layer
        params = h2 W2 + b2 + position_bias           (N, h, w, 2c)       position_bias: (h, w, 2c)
        loc, log_scale = split(params)                scale = exp(clip(log_scale, -5, 8))
        P(y_hat[i, j, k]) = logistic mass of the unit bin around it   (:func:`logistic_likelihood`)

    The mask-A kernel (:class:`course_lib.autoregressive.MaskedConv2D`, the PixelCNN's first
    layer in notebook 10) sees the ``kernel_size // 2`` rows above and the values to the left,
    never the position itself or a later one, so a decoder that has decoded the earlier
    positions can compute the same distribution. The ``c`` values at one position are
    conditionally independent given the earlier positions (the mask hides every channel of
    the centre), so one evaluation gives all ``c`` distributions of a position. The learned bias per position and channel
    gives the first position (which sees nothing) its own distribution, and lets every position
    know where it is (the images are centred). Minnen, Ballé & Toderici (2018) without their
    hyperprior.

    ``support()`` is ``[-code_radius, code_radius]`` in every channel: the codec clips codes to
    it and writes each value with a table over that fixed alphabet. The NumPy side
    (:meth:`coder_weights`, :meth:`coder_parameters`, :meth:`context_at`) computes the same
    parameters in exact fixed-point arithmetic; :mod:`course_lib.bitstream` builds its tables
    from them position by position, in the encoder and the decoder alike, and
    :meth:`numpy_bits` (the model's estimated rate of integer codes) uses the same numbers.
    """

    def __init__(
        self, code_shape: Sequence[int], filters: int = 64, kernel_size: int = 5, code_radius: int = 63, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        from .autoregressive import MaskedConv2D, causal_mask

        code_shape = tuple(code_shape)
        if len(code_shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                           for d in code_shape):
            raise ValueError(f"code_shape must be three positive integers (height, width, channels), got {code_shape!r}.")
        self.code_shape = code_shape
        self.filters = _check_channels("filters", filters)
        self.kernel_size = int(kernel_size)
        if isinstance(code_radius, bool) or not isinstance(code_radius, int) or not 1 <= code_radius <= MAX_RADIUS:
            raise ValueError(f"code_radius must be an integer from 1 to {MAX_RADIUS}, got {code_radius!r}.")
        self.code_radius = code_radius
        h, w, c = code_shape
        self.masked_conv = MaskedConv2D(self.filters, self.kernel_size, "A", name="masked_conv")
        self.hidden = layers.Dense(self.filters, activation="relu", name="hidden")
        self.head = layers.Dense(2 * c, name="head")
        self.masked_conv.build((None, h, w, c))
        self.hidden.build((None, h, w, self.filters))
        self.head.build((None, h, w, self.filters))
        self.position_bias = self.add_weight(shape=(h, w, 2 * c), initializer="zeros", name="position_bias")
        mask = causal_mask(self.kernel_size, "A")
        r = self.kernel_size // 2
        #: the (dy, dx) offsets the mask keeps, in the kernel's row-major order
        self.offsets = tuple((int(a) - r, int(b) - r) for a, b in zip(*np.nonzero(mask), strict=True))
        #: per position, the grid rows and columns of the kept offsets inside the grid, and which offsets they are
        self._neighbours = [[self._inside(i, j) for j in range(w)] for i in range(h)]
        self.built = True

    def _inside(self, i: int, j: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w, _ = self.code_shape
        kept = [n for n, (dy, dx) in enumerate(self.offsets) if 0 <= i + dy < h and 0 <= j + dx < w]
        rows = np.array([i + self.offsets[n][0] for n in kept], np.int64)
        cols = np.array([j + self.offsets[n][1] for n in kept], np.int64)
        return rows, cols, np.array(kept, np.int64)

    # ------------------------------------------------------------------ Keras side (training)
    def parameters(self, y_hat):
        """``(loc, scale)`` of every code value, each ``(N, h, w, c)``, from the earlier positions.

        In training ``y_hat`` is the noisy code ``y + u`` (unclipped), at test time the rounded one;
        the coder conditions on the rounded values clipped to ``code_radius``.
        """
        h1 = ops.relu(self.masked_conv(y_hat))
        params = self.head(self.hidden(h1)) + self.position_bias
        loc, log_scale = ops.split(params, 2, axis=-1)
        return loc, ops.exp(ops.clip(log_scale, *LOG_SCALE_RANGE))

    def likelihood(self, y_hat):
        """``P`` of the unit bin around each code value given the values before it, floored at 1e-9."""
        loc, scale = self.parameters(y_hat)
        return logistic_likelihood(y_hat, loc, scale)

    def bits(self, y_hat):
        """``-log2 P(y_hat)`` summed per example, (N,)."""
        return _bits_per_example(self.likelihood(y_hat))

    def call(self, y_hat):
        return self.likelihood(y_hat)

    # ------------------------------------------------------------------ NumPy side (coding)
    def support(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the lowest and highest integer code the codec can write (int64)."""
        c = self.code_shape[-1]
        return np.full(c, -self.code_radius, np.int64), np.full(c, self.code_radius, np.int64)

    def coder_weights(self) -> dict[str, np.ndarray]:
        """The weights in fixed point: integers (held in float64) for the exact arithmetic of the coder.

        Counted in units of ``2**-16`` (``WEIGHT_BITS``), the kernels and the first bias are
        rounded to integers; the later biases and the position bias to integers in units of
        ``2**-28``, the scale of the sums they are added to. :meth:`coder_parameters` floors the
        hidden activations to multiples of ``2**-12`` (``ACTIVATION_BITS``)::

            a1 = context @ w0 + b0              units of 2**-16 (context: integer codes, |value| <= code_radius)
            h1 = floor(relu(a1) / 2**4)         units of 2**-12
            a2 = h1 @ w1 + b1                   units of 2**-28
            h2 = floor(relu(a2) / 2**16)        units of 2**-12
            a3 = h2 @ w2 + b2 + position_bias   units of 2**-28;  (loc, log_scale) = a3 / 2**28

        Every product and partial sum is then an integer whose magnitude this method bounds from
        the weights and ``code_radius`` (``a1``, ``a2``, ``a3`` below ``2**53``): float64 holds it
        exactly, so any summation order (any BLAS, any batch size) gives the same ``loc`` and
        ``log_scale`` bit for bit -- an "integer network" (Ballé, Johnston & Minnen 2019). The
        scale and the tables that follow are elementwise float functions of these numbers: the
        same on one machine and NumPy build whatever is batched, not guaranteed across processors
        whose ``exp`` / ``tanh`` round differently. Raises ``ValueError`` if the weights are too
        large for the bound.
        """
        def numpy(weight):
            return ops.convert_to_numpy(weight).astype(np.float64)

        kernel = numpy(self.masked_conv.kernel)  # (k, k, c, filters)
        r = self.kernel_size // 2
        kept = np.stack([kernel[r + dy, r + dx] for dy, dx in self.offsets]).reshape(-1, self.filters)
        w, a = 2.0**WEIGHT_BITS, 2.0 ** (WEIGHT_BITS + ACTIVATION_BITS)
        q = {
            "w0": np.round(kept * w), "b0": np.round(numpy(self.masked_conv.bias) * w),
            "w1": np.round(numpy(self.hidden.kernel) * w), "b1": np.round(numpy(self.hidden.bias) * a),
            "w2": np.round(numpy(self.head.kernel) * w), "b2": np.round(numpy(self.head.bias) * a),
            "position_bias": np.round(numpy(self.position_bias) * a),
        }
        # the largest magnitude any partial sum can reach, layer by layer
        def column_sum(matrix):
            return float(np.abs(matrix).sum(axis=0).max())

        if not all(np.all(np.isfinite(v)) for v in q.values()):
            raise ValueError("the context model's weights hold NaN or infinite values: it cannot code (was training unstable?)")
        a1 = self.code_radius * column_sum(q["w0"]) + float(np.abs(q["b0"]).max())
        a2 = a1 / 2.0 ** (WEIGHT_BITS - ACTIVATION_BITS) * column_sum(q["w1"]) + float(np.abs(q["b1"]).max())
        a3 = (a2 / w * column_sum(q["w2"]) + float(np.abs(q["b2"]).max())
              + float(np.abs(q["position_bias"]).max()))
        if max(a1, a2, a3) >= 2.0**53:
            raise ValueError(
                "the context model's weights are too large for the coder's exact fixed-point "
                f"arithmetic (a sum could reach 2**{math.log2(max(a1, a2, a3)):.1f}, the limit is 2**53)."
            )
        return q

    def coder_parameters(self, weights: dict, context: np.ndarray, position_bias: np.ndarray):
        """``(loc, scale)`` float64 from integer ``context`` values, ``(..., n_kept * c)``.

        The network of :meth:`parameters` in the fixed point of :meth:`coder_weights`: exact
        integer sums, then the division by a power of two (exact), the clip and the exponential.
        ``position_bias`` is ``weights["position_bias"]`` (all positions) or one position of it.
        """
        h1 = np.floor(np.maximum(context @ weights["w0"] + weights["b0"], 0.0) / 2.0 ** (WEIGHT_BITS - ACTIVATION_BITS))
        h2 = np.floor(np.maximum(h1 @ weights["w1"] + weights["b1"], 0.0) / 2.0**WEIGHT_BITS)
        params = (h2 @ weights["w2"] + weights["b2"] + position_bias) / 2.0 ** (WEIGHT_BITS + ACTIVATION_BITS)
        c = self.code_shape[-1]
        return np.ascontiguousarray(params[..., :c]), np.exp(np.clip(params[..., c:], *LOG_SCALE_RANGE))

    def context_at(self, codes: np.ndarray, i: int, j: int) -> np.ndarray:
        """The values the mask keeps for position ``(i, j)`` of codes ``(N, h, w, c)``: ``(N, n_kept * c)``.

        Only earlier positions are read (zeros outside the grid), so a decoder that holds the
        values decoded so far gets exactly what the encoder gets from the whole code.
        """
        rows, cols, kept = self._neighbours[i][j]
        context = np.zeros((len(codes), len(self.offsets), self.code_shape[-1]))
        context[:, kept] = codes[:, rows, cols]
        return context.reshape(len(codes), -1)

    def numpy_parameters(self, codes) -> tuple[np.ndarray, np.ndarray]:
        """``(loc, scale)`` of every value of integer codes ``(N, h, w, c)``, float64, all positions at once.

        The coder's arithmetic (:meth:`coder_parameters`): the same numbers the coder's tables
        are built from.
        """
        codes = np.asarray(codes)
        if codes.shape[1:] != self.code_shape:
            raise ValueError(f"expected codes of shape (N, {self.code_shape}), got {codes.shape}.")
        h, w, _ = self.code_shape
        r = self.kernel_size // 2
        padded = np.pad(codes.astype(np.float64), ((0, 0), (r, r), (r, r), (0, 0)))
        context = np.concatenate(
            [padded[:, r + dy : r + dy + h, r + dx : r + dx + w, :] for dy, dx in self.offsets], axis=-1
        )
        weights = self.coder_weights()
        return self.coder_parameters(weights, context, weights["position_bias"])

    def numpy_bits(self, codes) -> np.ndarray:
        """The rate of integer codes ``(N, h, w, c)``, ``-log2 P`` per example (float64, (N,))."""
        codes = np.asarray(codes)
        loc, scale = self.numpy_parameters(codes)
        return logistic_bits(codes, loc, scale).reshape(len(codes), -1).sum(axis=1)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(code_shape=list(self.code_shape), filters=self.filters, kernel_size=self.kernel_size,
                      code_radius=self.code_radius)
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
    [0, 1]); ``lmbda`` is therefore in bits per unit of squared error. With
    ``distortion="psnr"`` it is ``bits - lmbda * PSNR`` with each image's own PSNR in dB
    (:func:`psnr_distortion`; ``lmbda`` in bits per dB): the mean per-image PSNR that the
    course reports, instead of the mean squared error. Metrics during ``fit``: ``loss``,
    ``bits`` and ``mse``.

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
        distortion: str = "sse",
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if distortion not in DISTORTIONS:
            raise ValueError(f"distortion must be one of {', '.join(map(repr, DISTORTIONS))}, got {distortion!r}.")
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
        self.distortion = distortion
        self.seed = seed
        self.entropy_model = self._make_entropy_model(code_shape)
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.bits_tracker = keras.metrics.Mean(name="bits")
        self.mse_tracker = keras.metrics.Mean(name="mse")

    def _make_entropy_model(self, code_shape: tuple[int, ...]) -> layers.Layer:
        """The factorised model: one logistic per code channel."""
        return LogisticEntropyModel(code_shape[-1], name="entropy_model")

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
        bits = ops.mean(y_pred["bits"])
        self.bits_tracker.update_state(bits)
        self.mse_tracker.update_state(ops.mean(squared))
        if self.distortion == "psnr":
            return bits - self.lmbda * ops.mean(psnr_distortion(x, y_pred["x_hat"]))  # R - lambda * PSNR
        sse = ops.sum(ops.reshape(squared, (ops.shape(squared)[0], -1)), axis=1)  # (N,)
        return bits + self.lmbda * ops.mean(sse)  # R + lambda * SSE

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
        if codes.shape[1:] != self.code_shape:
            raise ValueError(f"estimated_bits: expected codes of shape (N, {self.code_shape}), got {codes.shape}.")
        return self.entropy_model.numpy_bits(codes)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            analysis=keras.saving.serialize_keras_object(self.analysis),
            synthesis=keras.saving.serialize_keras_object(self.synthesis),
            lmbda=self.lmbda,
            distortion=self.distortion,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        analysis = keras.saving.deserialize_keras_object(config.pop("analysis"))
        synthesis = keras.saving.deserialize_keras_object(config.pop("synthesis"))
        return cls(analysis, synthesis, **config)


@keras.saving.register_keras_serializable(package="course_lib")
class ContextCompressionAutoencoder(CompressionAutoencoder):
    """:class:`CompressionAutoencoder` with a :class:`ContextEntropyModel` instead of the factorised one.

    The same transforms, quantiser, loss and NumPy helpers; the rate of each code value is
    conditioned on the values before it. Codes are clipped to ``[-code_radius, code_radius]``
    (``model.codes`` does it; :mod:`course_lib.bitstream` writes them position by position).
    Built on the page in notebook 09, section 6.
    """

    def __init__(self, analysis: keras.Model, synthesis: keras.Model, *, context_filters: int = 64,
                 code_radius: int = 63, **kwargs) -> None:
        self.context_filters = _check_channels("context_filters", context_filters)
        self.code_radius = code_radius
        super().__init__(analysis, synthesis, **kwargs)

    def _make_entropy_model(self, code_shape: tuple[int, ...]) -> layers.Layer:
        return ContextEntropyModel(code_shape, filters=self.context_filters, code_radius=self.code_radius,
                                   name="entropy_model")

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(context_filters=self.context_filters, code_radius=self.code_radius)
        return config


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
