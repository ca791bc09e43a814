"""Vector quantisation: the :class:`VectorQuantizer` layer and a small convolutional :class:`VQVAE`.

A VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017) replaces the Gaussian code of a VAE
with a *discrete* one. The encoder maps an image to a grid of vectors ``z_e`` (one per
position, dimension ``D``); each vector is replaced by its nearest entry of a learned
*codebook* ``e_1 .. e_K``::

    k(i) = argmin_k ||z_e(i) - e_k||^2          q(i) = e_{k(i)}

and the decoder sees the grid of ``q``. Seen as a VAE, the posterior is a deterministic
categorical (all mass on ``k(i)``) and the prior uniform over ``K`` codes, so the KL is the
constant ``log K`` per position and drops out of training.

**Gradients.** The argmin has no gradient. The *straight-through estimator* passes the
decoder's gradient with respect to ``q`` unchanged to ``z_e``:
``z_q = z_e + stop_gradient(q - z_e)`` equals ``q`` forwards and has Jacobian 1 backwards.
The codebook then gets no gradient from the reconstruction, so two losses are added::

    codebook   = mean ||stop_gradient(z_e) - q||^2   (moves the codes towards the encoder)
    commitment = mean ||z_e - stop_gradient(q)||^2   (keeps the encoder near its codes)
    loss       = reconstruction + codebook + beta * commitment

**EMA codebook.** With ``ema=True`` the codebook is not trained by the optimiser: after
each step every code moves to an exponential moving average of the encoder vectors
assigned to it (``decay``), with Laplace-smoothed cluster sizes so that a rarely used code
is not divided by zero. The codebook loss then drops out (it would be redundant).

**Codebook health.** A code that no encoder vector is near never moves again (a *dead*
code). The quantiser counts assignments; :meth:`VectorQuantizer.restart_dead_codes` moves
every code used fewer than ``min_count`` times since the last restart onto a randomly
chosen recent encoder vector. Usage (the fraction of codes used) and perplexity
(``exp`` of the entropy of the code frequencies: ``K`` if all are used equally, 1 if one
takes everything) measure it.

Design: :meth:`VectorQuantizer.call` has no side effects; it *returns* the quantised grid,
the code indices and both loss terms, so a training step adds them where it can be read.
The state changes (EMA, counts, restarts) are explicit methods that :meth:`VQVAE.train_step`
calls after the optimiser step. ``VQVAE.train_step`` uses ``tf.GradientTape`` (TensorFlow
backend); everything else is ``keras.ops``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .backend import tensorflow_for
from .models import (
    _check_filters,
    _check_image_shape,
    _check_input,
    _check_positive_int,
    _conv_block,
)
from .vae import _check_nonneg


def _tf():
    return tensorflow_for("course_lib.vq")


def _check_num_codes(num_codes: object) -> int:
    if isinstance(num_codes, bool) or not isinstance(num_codes, int | np.integer) or num_codes < 2:
        raise ValueError(
            f"num_codes (the codebook size K) must be an integer >= 2, got {num_codes!r}: "
            "with one code every position gets the same vector and the code carries no information."
        )
    return int(num_codes)


def _check_decay(decay: object) -> float:
    if isinstance(decay, bool) or not isinstance(decay, int | float) or not 0 < decay < 1:
        raise ValueError(f"decay must be a number strictly between 0 and 1, got {decay!r}.")
    return float(decay)


def perplexity_and_usage(codes, num_codes: int):
    """``(perplexity, usage)`` of integer ``codes`` (any shape) over a codebook of ``num_codes``.

    Perplexity is ``exp(-sum_k p_k log p_k)`` with ``p_k`` the fraction of positions given
    code ``k``: the number of equally used codes that would have the same entropy. Usage is
    the fraction of the codebook used at least once.
    """
    one_hot = ops.one_hot(ops.reshape(codes, (-1,)), num_codes, dtype="float32")
    p = ops.mean(one_hot, axis=0)
    entropy = -ops.sum(p * ops.log(ops.maximum(p, 1e-10)))
    return ops.exp(entropy), ops.mean(ops.cast(p > 0, "float32"))


def code_statistics(codes, num_codes: int) -> dict[str, object]:
    """Usage, perplexity and per-code counts of a NumPy array of codes (any shape), e.g. a test set's.

    The NumPy twin of :func:`perplexity_and_usage` for whole data sets (``bincount``, no
    one-hot matrix): ``{"usage": float, "perplexity": float, "counts": (K,) int array}``.
    """
    k = _check_num_codes(num_codes)
    codes = np.asarray(codes).reshape(-1)
    if codes.size == 0 or not np.issubdtype(codes.dtype, np.integer) or codes.min() < 0 or codes.max() >= k:
        raise ValueError(f"code_statistics: expected integer codes in 0..{k - 1}, got {codes.dtype} values.")
    counts = np.bincount(codes, minlength=k)
    p = counts / counts.sum()
    nz = p[p > 0]
    return {"usage": float((counts > 0).mean()), "perplexity": float(np.exp(-(nz * np.log(nz)).sum())),
            "counts": counts}


@keras.saving.register_keras_serializable(package="course_lib")
class VectorQuantizer(keras.layers.Layer):
    """Nearest-code quantisation of the last axis with a codebook of ``num_codes`` x ``code_dim``.

    ``layer(z)`` (``z`` of shape ``(..., code_dim)``) returns a dict:

    - ``"quantized"``: ``z + stop_gradient(q - z)`` (equals the nearest codes ``q``; the
      gradient passes straight through to ``z``);
    - ``"codes"``: the int32 indices of the nearest codes, shape ``z.shape[:-1]``;
    - ``"codebook_loss"`` (0 with ``ema=True``) and ``"commitment_loss"``: mean squared
      distances, one with the encoder side frozen, one with the codebook side frozen;
    - ``"vq_loss"``: ``codebook_loss + beta * commitment_loss``, what the training step adds
      to the reconstruction loss;
    - ``"perplexity"`` and ``"usage"`` of this batch's codes.

    The call changes no state. The training step calls :meth:`ema_update` (if ``ema``),
    :meth:`count` and, now and then, :meth:`restart_dead_codes`.

    The codebook starts uniform in ``[-1/K, 1/K]`` (common in re-implementations; the paper gives no start); call
    :meth:`kmeans_init` on encoder outputs to start from their clusters instead.
    Built on the page in notebook 10 (the quantiser and the training step).
    """

    def __init__(
        self,
        num_codes: int,
        code_dim: int,
        *,
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        epsilon: float = 1e-5,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.num_codes = _check_num_codes(num_codes)
        self.code_dim = _check_positive_int("code_dim", code_dim)
        self.beta = _check_nonneg("beta", beta)
        self.ema = bool(ema)
        self.decay = _check_decay(decay)
        self.epsilon = _check_nonneg("epsilon", epsilon)
        if self.epsilon == 0:
            raise ValueError("epsilon (the Laplace smoothing of the cluster sizes) must be > 0.")
        self.seed = seed
        self.restart_seed = keras.random.SeedGenerator(seed)
        k = self.num_codes
        init = keras.initializers.RandomUniform(-1.0 / k, 1.0 / k, seed=seed)
        self.codebook = self.add_weight(
            shape=(k, self.code_dim), initializer=init, trainable=not self.ema, name="codebook"
        )
        # EMA state: sizes start at 1 and sums at the codebook itself, so sum / size = codebook.
        self.ema_cluster_size = self.add_weight(
            shape=(k,), initializer="ones", trainable=False, name="ema_cluster_size"
        )
        self.ema_code_sum = self.add_weight(
            shape=(k, self.code_dim), initializer="zeros", trainable=False, name="ema_code_sum"
        )
        self.ema_code_sum.assign(self.codebook.value)
        # assignments per code since the last restart (for dead-code detection)
        self.usage_counts = self.add_weight(
            shape=(k,), initializer="zeros", trainable=False, name="usage_counts"
        )
        self.built = True

    # ------------------------------------------------------------------ quantisation
    def _flat(self, z):
        return ops.reshape(ops.cast(z, "float32"), (-1, self.code_dim))

    def nearest(self, z):
        """Index of the nearest code (squared Euclidean distance) for each vector of ``z``."""
        flat = self._flat(z)
        e = ops.convert_to_tensor(self.codebook)
        # ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2, without building an (N, K, D) tensor
        d = (
            ops.sum(flat**2, axis=1, keepdims=True)
            - 2.0 * ops.matmul(flat, ops.transpose(e))
            + ops.sum(e**2, axis=1)[None, :]
        )
        codes = ops.cast(ops.argmin(d, axis=1), "int32")
        return ops.reshape(codes, ops.shape(z)[:-1])

    def lookup(self, codes):
        """The code vectors for integer ``codes`` of any shape: shape ``codes.shape + (D,)``."""
        return ops.take(self.codebook, ops.cast(codes, "int32"), axis=0)

    def call(self, z):
        z = ops.cast(z, "float32")
        codes = self.nearest(z)
        q = self.lookup(codes)
        commitment = ops.mean((z - ops.stop_gradient(q)) ** 2)
        if self.ema:
            codebook = ops.zeros((), "float32")
        else:
            codebook = ops.mean((ops.stop_gradient(z) - q) ** 2)
        perplexity, usage = perplexity_and_usage(codes, self.num_codes)
        return {
            "quantized": z + ops.stop_gradient(q - z),
            "codes": codes,
            "codebook_loss": codebook,
            "commitment_loss": commitment,
            "vq_loss": codebook + self.beta * commitment,
            "perplexity": perplexity,
            "usage": usage,
        }

    def compute_output_spec(self, z):
        shape = tuple(z.shape)
        scalar = keras.KerasTensor((), "float32")
        return {
            "quantized": keras.KerasTensor(shape, "float32"),
            "codes": keras.KerasTensor(shape[:-1], "int32"),
            **{k: scalar for k in ("codebook_loss", "commitment_loss", "vq_loss", "perplexity", "usage")},
        }

    # ------------------------------------------------------------------ state updates
    def count(self, codes) -> None:
        """Add this batch's assignments to :attr:`usage_counts`."""
        one_hot = ops.one_hot(ops.reshape(codes, (-1,)), self.num_codes, dtype="float32")
        self.usage_counts.assign_add(ops.sum(one_hot, axis=0))

    def ema_update(self, z, codes) -> None:
        """Move every code to the EMA of the encoder vectors assigned to it (``ema=True`` only).

        ``N_k <- decay N_k + (1 - decay) n_k`` and ``m_k <- decay m_k + (1 - decay) sum z``
        over the vectors assigned to code ``k``; then ``e_k = m_k / N~_k`` with the
        Laplace-smoothed size ``N~_k = (N_k + eps) / (N + K eps) * N``, ``N = sum_k N_k``.
        An unused code keeps ``m_k / N_k`` (both decay together) instead of collapsing to 0.
        """
        if not self.ema:
            raise ValueError("ema_update: this quantiser trains its codebook by gradient (ema=False).")
        flat = self._flat(z)
        one_hot = ops.one_hot(ops.reshape(codes, (-1,)), self.num_codes, dtype="float32")
        n_k = ops.sum(one_hot, axis=0)
        sums = ops.matmul(ops.transpose(one_hot), flat)
        g = self.decay
        size = g * self.ema_cluster_size + (1.0 - g) * n_k
        code_sum = g * self.ema_code_sum + (1.0 - g) * sums
        total = ops.sum(size)
        smoothed = (size + self.epsilon) / (total + self.num_codes * self.epsilon) * total
        self.ema_cluster_size.assign(size)
        self.ema_code_sum.assign(code_sum)
        self.codebook.assign(code_sum / smoothed[:, None])

    def restart_dead_codes(self, z, min_count: float = 1.0, due=True):
        """Move each code used < ``min_count`` times since the last restart onto a random row of ``z``.

        ``z`` holds recent encoder outputs (any shape ending in ``code_dim``). The counts are
        reset afterwards. ``due`` (a boolean, may be a tensor) lets a compiled training step
        call this every step and act only every n-th: when false nothing changes. Returns the
        number of codes restarted (a scalar tensor). The EMA state of a restarted code is
        reset to that vector with size 1.
        """
        flat = ops.stop_gradient(self._flat(z))
        due = ops.cast(due, "bool")
        dead = ops.logical_and(ops.less(self.usage_counts, min_count), due)
        n = ops.shape(flat)[0]
        idx = keras.random.randint((self.num_codes,), 0, n, seed=self.restart_seed)
        candidates = ops.take(flat, idx, axis=0)
        self.codebook.assign(ops.where(dead[:, None], candidates, self.codebook))
        if self.ema:
            self.ema_code_sum.assign(ops.where(dead[:, None], candidates, self.ema_code_sum))
            self.ema_cluster_size.assign(ops.where(dead, 1.0, self.ema_cluster_size))
        self.usage_counts.assign(ops.where(due, ops.zeros_like(self.usage_counts), self.usage_counts))
        return ops.sum(ops.cast(dead, "float32"))

    def kmeans_init(self, z, iterations: int = 10, seed: int = 0) -> None:
        """Set the codebook to k-means centres of encoder outputs ``z`` (NumPy, Lloyd iterations).

        Starts from k-means++ seeds; an empty cluster keeps its centre. Starting
        where the encoder's vectors are avoids codes that no vector is ever near.
        """
        flat = np.asarray(ops.convert_to_numpy(self._flat(z)), np.float64)
        if len(flat) < self.num_codes:
            raise ValueError(
                f"kmeans_init: need at least num_codes = {self.num_codes} vectors, got {len(flat)}."
            )
        rng = np.random.default_rng(seed)
        # k-means++ start: each next centre drawn with probability proportional to the squared
        # distance to the nearest centre so far, so clusters rarely share a starting centre
        centres = [flat[rng.integers(len(flat))]]
        d2 = ((flat - centres[0]) ** 2).sum(1)
        for _ in range(1, self.num_codes):
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(len(flat), 1.0 / len(flat))
            centres.append(flat[rng.choice(len(flat), p=p)])
            d2 = np.minimum(d2, ((flat - centres[-1]) ** 2).sum(1))
        centres = np.array(centres)
        for _ in range(_check_positive_int("iterations", iterations)):
            d = (flat**2).sum(1)[:, None] - 2 * flat @ centres.T + (centres**2).sum(1)[None]
            assign = d.argmin(1)
            for k in range(self.num_codes):
                members = flat[assign == k]
                if len(members):
                    centres[k] = members.mean(0)
        self.codebook.assign(centres.astype(np.float32))
        self.ema_code_sum.assign(centres.astype(np.float32))
        self.ema_cluster_size.assign(np.ones(self.num_codes, np.float32))
        self.usage_counts.assign(np.zeros(self.num_codes, np.float32))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_codes": self.num_codes,
            "code_dim": self.code_dim,
            "beta": self.beta,
            "ema": self.ema,
            "decay": self.decay,
            "epsilon": self.epsilon,
            "seed": self.seed,
        }


# ---------------------------------------------------------------------- conv encoder / decoder


def conv_vq_encoder(
    input_shape: Sequence[int] = (28, 28, 1),
    code_dim: int = 16,
    filters: Sequence[int] = (32, 64),
    *,
    kernel_size: int = 3,
    batch_norm: bool = False,
    activation: str = "relu",
    name: str = "vq_encoder",
) -> keras.Model:
    """Strided conv stages (each halves the resolution), then a 1x1 conv to ``code_dim`` channels.

    Output: a grid of vectors, ``(H / 2**n, W / 2**n, code_dim)`` (7x7x16 for 28x28 images
    and the defaults) -- one vector per position to quantise, instead of the single Dense
    code of :func:`models.conv_encoder`. The last conv is linear: codes can take any value.
    """
    chans = _check_filters(filters)
    h_in, w_in, c_in = _check_image_shape("input_shape", input_shape, len(chans))
    code_dim = _check_positive_int("code_dim", code_dim)
    inputs = keras.Input(shape=(h_in, w_in, c_in), name="image")
    h = inputs
    for i, f in enumerate(chans, start=1):
        h = _conv_block(h, f, kernel_size, 2, batch_norm, activation, f"stage{i}_conv")
    z = keras.layers.Conv2D(code_dim, 1, name="to_codes")(h)
    return keras.Model(inputs, z, name=name)


def conv_vq_decoder(
    grid_shape: Sequence[int] = (7, 7, 16),
    output_shape: Sequence[int] = (28, 28, 1),
    filters: Sequence[int] = (64, 32),
    *,
    kernel_size: int = 3,
    batch_norm: bool = False,
    activation: str = "relu",
    name: str = "vq_decoder",
) -> keras.Model:
    """A 3x3 conv on the quantised grid, stride-2 transposed conv stages, a sigmoid conv out.

    Mirrors :func:`conv_vq_encoder`: ``(7, 7, D)`` -> 14x14 -> 28x28 -> the image's channels,
    pixels in [0, 1].
    """
    chans = _check_filters(filters)
    grid = tuple(int(d) for d in grid_shape)
    if len(grid) != 3 or min(grid) < 1:
        raise ValueError(f"grid_shape must be (height, width, code_dim), got {grid_shape!r}.")
    out = tuple(int(d) for d in output_shape)
    factor = 2 ** len(chans)
    if len(out) != 3 or out[0] != grid[0] * factor or out[1] != grid[1] * factor:
        raise ValueError(
            f"output_shape {output_shape!r} must be (grid height * {factor}, grid width * {factor}, "
            f"channels) for a grid of {grid[:2]} and {len(chans)} upsampling stages."
        )
    inputs = keras.Input(shape=grid, name="quantized")
    h = _conv_block(inputs, chans[0], kernel_size, 1, batch_norm, activation, "stem_conv")
    for i, f in enumerate(chans, start=1):
        h = _conv_block(h, f, kernel_size, 2, batch_norm, activation, f"stage{i}_conv", transpose=True)
    outputs = keras.layers.Conv2D(out[2], kernel_size, padding="same", activation="sigmoid", name="image")(h)
    return keras.Model(inputs, outputs, name=name)


# ---------------------------------------------------------------------- the model


@keras.saving.register_keras_serializable(package="course_lib")
class VQVAE(keras.Model):
    """Encoder ``x -> z_e`` (a grid of vectors), :class:`VectorQuantizer`, decoder ``z_q -> x_hat``.

    ``model(x)`` returns the quantiser's dict plus ``"z_e"`` and ``"reconstruction"``.
    Training (``compile(optimizer=...)`` then ``fit(x)``) minimises
    ``mse(x, x_hat) + codebook + beta * commitment``; after each optimiser step the
    training step applies the EMA update (if the quantiser has ``ema=True``), counts the
    assignments and, every ``restart_every`` steps (0 = never), restarts the codes used fewer
    than ``restart_min_count`` times since the last restart on vectors of the current batch.

    Metrics: ``loss``, ``reconstruction`` (mean squared error per pixel), ``codebook``,
    ``commitment``, ``perplexity``, ``usage`` (per batch, averaged over the epoch) and
    ``restarted`` (codes restarted per step, averaged). Built on the page in notebook 10.
    """

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        quantizer: VectorQuantizer,
        *,
        restart_every: int = 0,
        restart_min_count: float = 1.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(quantizer, VectorQuantizer):
            raise TypeError(f"quantizer must be a VectorQuantizer, got {type(quantizer).__name__}.")
        enc_out = tuple(encoder.outputs[0].shape)
        if len(enc_out) != 4 or enc_out[-1] != quantizer.code_dim:
            raise ValueError(
                f"The encoder must output a grid (N, h, w, {quantizer.code_dim}) for code_dim = "
                f"{quantizer.code_dim}; it outputs {enc_out}."
            )
        if tuple(decoder.inputs[0].shape[1:]) != enc_out[1:]:
            raise ValueError(
                f"The decoder expects {tuple(decoder.inputs[0].shape[1:])} but the encoder's grid is {enc_out[1:]}."
            )
        if isinstance(restart_every, bool) or not isinstance(restart_every, int) or restart_every < 0:
            raise ValueError(f"restart_every must be an integer >= 0 (0 = never), got {restart_every!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.quantizer = quantizer
        self.restart_every = restart_every
        self.restart_min_count = _check_nonneg("restart_min_count", restart_min_count)
        self.trackers = {
            name: keras.metrics.Mean(name=name)
            for name in ("loss", "reconstruction", "codebook", "commitment", "perplexity", "usage", "restarted")
        }

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.encoder.inputs[0].shape[1:])

    @property
    def grid_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the code grid."""
        return tuple(int(d) for d in self.encoder.outputs[0].shape[1:3])

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, x, training=None):
        z_e = self.encoder(x, training=training)
        out = dict(self.quantizer(z_e))
        out["z_e"] = z_e
        out["reconstruction"] = self.decoder(out["quantized"], training=training)
        return out

    def _terms(self, x, training: bool):
        x = ops.cast(x, "float32")
        out = self(x, training=training)
        mse = ops.mean((ops.reshape(x, ops.shape(out["reconstruction"])) - out["reconstruction"]) ** 2)
        return out, mse, mse + out["vq_loss"]

    def _track(self, out, mse, loss, restarted) -> dict:
        values = {
            "loss": loss, "reconstruction": mse, "codebook": out["codebook_loss"],
            "commitment": out["commitment_loss"], "perplexity": out["perplexity"],
            "usage": out["usage"], "restarted": restarted,
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: t.result() for name, t in self.trackers.items()}

    def train_step(self, data):
        tf = _tf()
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        with tf.GradientTape() as tape:
            out, mse, loss = self._terms(x, training=True)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        q = self.quantizer
        if q.ema:
            q.ema_update(out["z_e"], out["codes"])
        q.count(out["codes"])
        restarted = ops.zeros((), "float32")
        if self.restart_every:
            due = ops.equal(ops.mod(self.optimizer.iterations, self.restart_every), 0)
            restarted = q.restart_dead_codes(out["z_e"], self.restart_min_count, due)
        return self._track(out, mse, loss, restarted)

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        out, mse, loss = self._terms(x, training=False)
        return self._track(out, mse, loss, ops.zeros((), "float32"))

    # ------------------------------------------------------------------ NumPy helpers
    def encode(self, x, batch_size: int = 1024) -> np.ndarray:
        """The grid of code indices for images ``x``: int32, shape ``(N, h, w)``."""
        _check_input(x, self.image_shape, "encode")
        if len(x) == 0:
            raise ValueError("encode: the input is empty (0 examples).")
        parts = [
            ops.convert_to_numpy(self.quantizer.nearest(self.encoder(x[i : i + batch_size], training=False)))
            for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts).astype(np.int32)

    def check_codes(self, codes, what: str = "decode") -> np.ndarray:
        """``codes`` as int32 after checking shape ``(N, h, w)`` and range ``0..K-1``."""
        codes = np.asarray(codes)
        h, w = self.grid_shape
        if codes.ndim != 3 or codes.shape[1:] != (h, w) or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(
                f"{what}: expected a grid of integer codes of shape (N, {h}, {w}), got "
                f"{codes.shape} {codes.dtype}."
            )
        k = self.quantizer.num_codes
        if codes.size and (codes.min() < 0 or codes.max() >= k):
            raise ValueError(f"{what}: codes must be in 0..{k - 1}, got {codes.min()}..{codes.max()}.")
        return codes.astype(np.int32)

    def decode(self, codes, batch_size: int = 1024) -> np.ndarray:
        """Images for a grid of code indices ``(N, h, w)``."""
        codes = self.check_codes(codes, "decode")
        parts = [
            ops.convert_to_numpy(self.decoder(self.quantizer.lookup(codes[i : i + batch_size]), training=False))
            for i in range(0, len(codes), batch_size)
        ]
        return np.concatenate(parts).reshape((len(codes), *self.image_shape))

    def reconstruct(self, x, batch_size: int = 1024) -> np.ndarray:
        """``decode(encode(x))``: the images rebuilt from their codes."""
        return self.decode(self.encode(x, batch_size), batch_size)

    # ------------------------------------------------------------------ saving
    def get_compile_config(self) -> dict:
        """Nothing to restore at load time: compile again to train further."""
        return {}

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            quantizer=keras.saving.serialize_keras_object(self.quantizer),
            restart_every=self.restart_every,
            restart_min_count=self.restart_min_count,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> VQVAE:
        config = dict(config)
        parts = [keras.saving.deserialize_keras_object(config.pop(k)) for k in ("encoder", "decoder", "quantizer")]
        return cls(*parts, **config)


class CodebookUsageTracker(keras.callbacks.Callback):
    """Every ``every`` training steps, the codebook usage and perplexity on fixed ``images``.

    The training metrics ``usage`` and ``perplexity`` are per-batch values averaged over an
    epoch; this callback measures the codes of the same held-out images at regular steps
    (and before the first step), so curves of different models are comparable point by point.
    ``history`` holds ``(step, usage, perplexity)`` tuples. Used in notebook 10.
    """

    def __init__(self, images, every: int = 50) -> None:
        super().__init__()
        self.images = np.asarray(images)
        if len(self.images) == 0:
            raise ValueError("CodebookUsageTracker: images is empty; pass some held-out images.")
        self.every = _check_positive_int("every", every)
        self.history: list[tuple[int, float, float]] = []
        self._step = 0

    def _measure(self) -> None:
        stats = code_statistics(self.model.encode(self.images), self.model.quantizer.num_codes)
        self.history.append((self._step, float(stats["usage"]), float(stats["perplexity"])))

    def on_train_begin(self, logs=None) -> None:
        if not isinstance(self.model, VQVAE):
            raise TypeError(f"CodebookUsageTracker needs a VQVAE, got {type(self.model).__name__}.")
        if not self.history:
            self._measure()

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._step += 1
        if self._step % self.every == 0:
            self._measure()


def conv_vqvae(
    input_shape: Sequence[int] = (28, 28, 1),
    num_codes: int = 64,
    code_dim: int = 16,
    filters: Sequence[int] = (32, 64),
    *,
    beta: float = 0.25,
    ema: bool = False,
    decay: float = 0.99,
    restart_every: int = 0,
    restart_min_count: float = 1.0,
    seed: int | None = None,
    name: str = "vqvae",
) -> VQVAE:
    """A :class:`VQVAE` from :func:`conv_vq_encoder`, a :class:`VectorQuantizer` and :func:`conv_vq_decoder`."""
    enc = conv_vq_encoder(input_shape, code_dim, filters)
    grid = tuple(int(d) for d in enc.outputs[0].shape[1:])
    dec = conv_vq_decoder(grid, input_shape, tuple(reversed(tuple(filters))))
    quantizer = VectorQuantizer(num_codes, code_dim, beta=beta, ema=ema, decay=decay, seed=seed, name="quantizer")
    return VQVAE(enc, dec, quantizer, restart_every=restart_every, restart_min_count=restart_min_count, name=name)
