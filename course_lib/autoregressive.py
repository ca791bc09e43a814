"""Autoregressive priors over a grid of discrete codes: a small PixelCNN and a small causal transformer.

A VQ-VAE trained with a uniform prior gives bad samples when its codes are drawn
independently: real code grids are far from uniform and far from independent. An
autoregressive model writes the joint distribution of the ``h x w`` grid, read in raster
order (row by row, left to right), as a product of conditionals::

    p(c | y) = prod_i p(c_i | c_1 .. c_{i-1}, y)

and learns each conditional with one network (van den Oord et al. 2016, *PixelCNN*). The
network sees the whole grid at once but must not look ahead: a **masked convolution**
zeroes the kernel weights at and after the centre (mask *A*, first layer: position ``i``
cannot see its own code) or only after it (mask *B*, later layers: position ``i`` may use
its own *features*, which already exclude code ``i``). Stacked, the output at ``i``
depends only on codes before ``i`` -- one pass gives all ``h w`` conditionals for
training; sampling needs ``h w`` passes, one position at a time.

The class ``y`` enters as a learned per-channel bias in every layer (the same for every
position, so it cannot leak future codes). The negative log-likelihood is reported in
*bits per code* (``log2`` instead of ``ln``): ``log2 K`` bits is what the uniform prior
pays, so the gap is what the prior has learned.

:class:`TransformerPrior` models the same conditionals with a small causal transformer
(attention masked so that position ``i`` reads only positions before it): every earlier code
is in reach of every layer, so it has no blind spot. Both share :class:`CodeGridPrior`: the
loss, the likelihood in bits, the checks and the seeded sampler.

``label_dropout`` (both priors) hides the class of that share of the training grids behind an extra
"no class" label, so one network learns ``p(c | y)`` and ``p(c)``; ``sample(..., guidance=s)`` then
draws from ``u + s (l - u)`` in logits (*classifier-free guidance*, Ho & Salimans 2022): ``s > 1``
trades variety for fidelity to the class, for two forward passes per step. Built on the page in
notebook 10, section 6.

The layers use ``keras.ops`` only; training is the ordinary ``compile`` / ``fit``
(:func:`fit_prior`), the loss in :meth:`CodeGridPrior.compute_loss`. Built on the page in
notebook 10 (the masked convolution, the PixelCNN prior and the causal transformer prior).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .models import _check_positive_int
from .vae import check_labels

MASK_TYPES = ("A", "B")


def causal_mask(kernel_size: int, mask_type: str) -> np.ndarray:
    """The ``(k, k)`` 0/1 mask of a raster-order masked convolution (``k`` odd).

    Rows above the centre are kept, and on the centre row the positions left of the
    centre; mask ``"B"`` also keeps the centre itself, mask ``"A"`` does not.
    """
    k = _check_positive_int("kernel_size", kernel_size)
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd so that the kernel has a centre, got {k}.")
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}.")
    c = k // 2
    mask = np.zeros((k, k), np.float32)
    mask[:c, :] = 1.0
    mask[c, :c] = 1.0
    if mask_type == "B":
        mask[c, c] = 1.0
    return mask


@keras.saving.register_keras_serializable(package="course_lib")
class MaskedConv2D(keras.layers.Layer):
    """A stride-1, ``"same"``-padded Conv2D whose kernel is multiplied by :func:`causal_mask`.

    The mask is applied in every call (not once to the weights), so the optimiser can change
    the masked weights all it likes: they never reach the output.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int,
        mask_type: str = "B",
        *,
        use_bias: bool = True,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.filters = _check_positive_int("filters", filters)
        self.mask = causal_mask(kernel_size, mask_type)
        self.kernel_size = int(kernel_size)
        self.mask_type = mask_type
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape) -> None:
        k, c_in = self.kernel_size, int(input_shape[-1])
        self.kernel = self.add_weight(
            shape=(k, k, c_in, self.filters), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer="zeros", name="bias") if self.use_bias else None
        )

    def call(self, x):
        kernel = self.kernel * ops.convert_to_tensor(self.mask[:, :, None, None], dtype=self.kernel.dtype)
        y = ops.conv(x, kernel, strides=1, padding="same")
        return y + self.bias if self.use_bias else y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "mask_type": self.mask_type,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


def _check_temperature(temperature: object) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not temperature > 0:
        raise ValueError(
            f"temperature must be a number > 0 (1 samples the model as learned; lower is more "
            f"conservative, higher more diverse), got {temperature!r}."
        )
    return float(temperature)


class CodeGridPrior(keras.Model):
    """What every autoregressive prior over an ``h x w`` grid of codes ``0..num_codes-1`` shares.

    A subclass builds its layers and defines ``call((codes, labels))`` -> logits of shape
    ``(N, rows, w, num_codes)`` for any number of ``rows <= h`` (the sampler feeds the rows filled
    so far), where the logits at a position depend only on the codes before it in raster order.
    This base class adds the loss (mean negative log-likelihood per code, tracked in bits), the
    checks of codes and labels, the likelihood in bits per image and per code, and the seeded
    sampler. ``num_classes = 0``: unconditional, no labels.
    """

    def __init__(
        self, num_codes: int, grid_shape: Sequence[int], num_classes: int = 0, label_dropout: float = 0.0, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        from .vq import _check_num_codes

        self.num_codes = _check_num_codes(num_codes)
        grid = tuple(grid_shape)
        if len(grid) != 2 or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in grid):
            raise ValueError(f"grid_shape must be (height, width) of the code grid, e.g. (7, 7), got {grid_shape!r}.")
        self.grid_shape = grid
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
            raise ValueError(f"num_classes must be an integer >= 0 (0 = unconditional), got {num_classes!r}.")
        self.num_classes = num_classes
        if isinstance(label_dropout, bool) or not isinstance(label_dropout, int | float) or not 0 <= label_dropout < 1:
            raise ValueError(
                f"label_dropout must be a number in [0, 1) (the share of training grids whose class is hidden; "
                f"0.1 is usual for guidance), got {label_dropout!r}."
            )
        if label_dropout and not num_classes:
            raise ValueError("label_dropout hides the class during training: it needs a class-conditional prior "
                             "(num_classes > 0).")
        self.label_dropout = float(label_dropout)
        # with label dropout the class table has one more row, the "no class" label num_classes
        self.label_slots = num_classes + (1 if label_dropout else 0)
        self._label_seed = keras.random.SeedGenerator(name="label_dropout_seed") if label_dropout else None
        self.nll_tracker = keras.metrics.Mean(name="bits_per_code")

    def _dummy_inputs(self):
        h, w = self.grid_shape
        codes = np.zeros((1, h, w), np.int32)
        return (codes, np.zeros((1,), np.int32)) if self.num_classes else codes

    def _split(self, inputs):
        if self.num_classes:
            if not isinstance(inputs, list | tuple) or len(inputs) != 2:
                raise ValueError("This prior is class-conditional: call it with (codes, labels).")
            return inputs[0], inputs[1]
        if isinstance(inputs, list | tuple):
            inputs = inputs[0]
        return inputs, None

    def _drop_labels(self, labels, training):
        """During training, replace each class id by the "no class" id ``num_classes`` with
        probability ``label_dropout``: one network then learns both ``p(c | y)`` and ``p(c)``,
        which guided sampling combines (Ho & Salimans 2022, *classifier-free guidance*)."""
        if labels is None:
            return None
        labels = ops.cast(labels, "int32")
        if not (training and self.label_dropout):
            return labels
        hide = keras.random.uniform(ops.shape(labels), seed=self._label_seed) < self.label_dropout
        return ops.where(hide, ops.full_like(labels, self.num_classes), labels)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        ce = ops.mean(
            keras.losses.sparse_categorical_crossentropy(ops.cast(y, "int32"), y_pred, from_logits=True)
        )
        self.nll_tracker.update_state(ce / math.log(2.0))
        return ce

    # ------------------------------------------------------------------ NumPy helpers
    def check_codes(self, codes, what: str) -> np.ndarray:
        """``codes`` as int32 after checking shape ``(N, h, w)`` and range ``0..K-1``."""
        codes = np.asarray(codes)
        h, w = self.grid_shape
        if codes.ndim != 3 or codes.shape[1:] != (h, w) or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError(
                f"{what}: expected a grid of integer codes of shape (N, {h}, {w}), got {codes.shape} "
                f"{codes.dtype}. Use VQVAE.encode to get the code grids of images."
            )
        if codes.size and (codes.min() < 0 or codes.max() >= self.num_codes):
            raise ValueError(f"{what}: codes must be in 0..{self.num_codes - 1}, got {codes.min()}..{codes.max()}.")
        return codes.astype(np.int32)

    def check_labels(self, labels, n: int, what: str) -> np.ndarray | None:
        """``n`` class ids in ``0..num_classes-1`` (an int is repeated); None if unconditional.

        A prior trained with ``label_dropout`` also takes ``labels=None``: the "no class" label
        ``num_classes`` for every grid, i.e. the unconditional model ``p(c)`` it learned too.
        """
        if not self.num_classes:
            if labels is not None:
                raise ValueError(f"{what}: this prior is unconditional (num_classes=0); pass labels=None.")
            return None
        if labels is None:
            if self.label_dropout:
                return np.full(n, self.num_classes, np.int32)
            raise ValueError(f"{what}: this prior is class-conditional; pass labels (class ids).")
        return check_labels(labels, n, self.num_classes, what)

    def _inputs(self, codes, labels):
        return (codes, labels) if self.num_classes else codes

    def logits(self, codes, labels=None, batch_size: int = 1024) -> np.ndarray:
        """Logits ``(N, h, w, K)`` of every conditional, for NumPy ``codes`` (and labels)."""
        codes = self.check_codes(codes, "logits")
        labels = self.check_labels(labels, len(codes), "logits")
        return self._logits(codes, labels, batch_size)

    def _logits(self, codes, labels, batch_size: int) -> np.ndarray:
        parts = []
        for i in range(0, len(codes), batch_size):
            lab = None if labels is None else labels[i : i + batch_size]
            parts.append(ops.convert_to_numpy(self(self._inputs(codes[i : i + batch_size], lab), training=False)))
        return np.concatenate(parts).astype(np.float64)

    def log_prob_bits(self, codes, labels=None, batch_size: int = 1024) -> np.ndarray:
        """``-log2 p(c | y)`` of each whole grid, bits per image, shape ``(N,)``."""
        codes = self.check_codes(codes, "log_prob_bits")
        labels = self.check_labels(labels, len(codes), "log_prob_bits")
        bits = []
        for i in range(0, len(codes), batch_size):  # one batch at a time: (N, h, w, K) logits can be GBs
            part = codes[i : i + batch_size]
            logits = self._logits(part, None if labels is None else labels[i : i + batch_size], batch_size)
            logits -= logits.max(-1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
            picked = np.take_along_axis(log_p, part[..., None], -1)[..., 0]
            bits.append(-picked.sum((1, 2)) / math.log(2.0))
        return np.concatenate(bits) if bits else np.zeros(0)

    def nll_bits_per_code(self, codes, labels=None, batch_size: int = 1024) -> float:
        """Mean negative log-likelihood in bits per code (``log2 K`` for the uniform prior)."""
        h, w = self.grid_shape
        return float(self.log_prob_bits(codes, labels, batch_size).mean() / (h * w))

    def sample(
        self, n: int, labels=None, *, temperature: float = 1.0, guidance: float = 1.0, seed: int = 0,
        batch_size: int = 1024, cache: bool = True,
    ) -> np.ndarray:
        """``n`` code grids drawn one position at a time in raster order, ``(n, h, w)`` int32.

        Each conditional is ``softmax(logits / temperature)``: 1 samples the learned model,
        below 1 sharpens it towards the likeliest codes, above 1 flattens it. The draws use a
        NumPy generator seeded with ``seed``: the same arguments give the same grids. Cost:
        ``h * w`` forward passes (on the rows filled so far). ``cache=False`` turns off a
        subclass's incremental decoding (:class:`TransformerPrior`'s key/value cache) and runs
        the full passes: the same grids, slower; for checking the cache.

        ``guidance`` ``s`` (classifier-free guidance; a prior trained with ``label_dropout > 0``):
        the logits at each position are ``u + s (l - u)``, ``l`` given the class and ``u`` given the
        "no class" label, i.e. ``p(c_i | ..) ∝ p(c_i | .., y)^s p(c_i | ..)^(1 - s)``. ``s = 1`` is the
        conditional model itself (no extra cost), ``s = 0`` the unconditional one, ``s > 1`` pushes
        each code towards what the class explains better than the other classes do -- more
        recognisable, less varied grids -- for twice the work per step.
        """
        n = _check_positive_int("n", n)
        labels = self.check_labels(labels, n, "sample")
        temperature = _check_temperature(temperature)
        guidance = self._check_guidance(guidance)
        batch_size = _check_positive_int("batch_size", batch_size)
        rng = np.random.default_rng(seed)
        h, w = self.grid_shape
        guided = guidance != 1.0
        # guided: grids n.. are the same grids read without their class (the "no class" label)
        codes = np.zeros((2 * n if guided else n, h, w), np.int32)
        if guided:
            labels = np.concatenate([labels, np.full(n, self.num_classes, np.int32)])
        stepper = self._logit_stepper if cache else CodeGridPrior._logit_stepper.__get__(self)
        next_logits = stepper(codes, labels, batch_size)
        for r in range(h):
            for c in range(w):
                logits = next_logits(r, c)
                if guided:
                    logits = logits[n:] + guidance * (logits[:n] - logits[n:])  # u + s (l - u)
                logits = logits / temperature
                logits -= logits.max(-1, keepdims=True)
                p = np.exp(logits)
                cdf = np.cumsum(p / p.sum(-1, keepdims=True), -1)
                u = rng.random((n, 1))
                drawn = np.minimum((cdf < u).sum(-1), self.num_codes - 1)
                codes[:n, r, c] = drawn
                if guided:
                    codes[n:, r, c] = drawn
        return codes[:n].copy() if guided else codes

    def _check_guidance(self, guidance: object) -> float:
        if isinstance(guidance, bool) or not isinstance(guidance, int | float) or not guidance >= 0:
            raise ValueError(
                f"guidance must be a number >= 0 (1 = the conditional model as learned, 0 = ignore the class, "
                f"above 1 = push towards the class), got {guidance!r}."
            )
        if guidance != 1 and not self.label_dropout:
            raise ValueError(
                f"guidance={guidance} needs a prior that also learned p(c) without the class: build it with "
                f"label_dropout > 0 (e.g. 0.1) and train it; this one has label_dropout=0, so only guidance=1 works."
            )
        return float(guidance)

    def _logit_stepper(self, codes: np.ndarray, labels, batch_size: int):
        """``step(r, c)`` -> the logits ``(N, K)`` at position ``(r, c)`` of the grids ``codes``,
        which the sampler fills in raster order (``step`` reads the array as it is then).

        This default runs the whole network on rows ``0..r``: rows below ``r`` cannot reach row
        ``r`` (the priors look only up and left), so the logits are the same for about half the
        work. A subclass may keep state between steps (:class:`TransformerPrior` caches keys
        and values).
        """

        def step(r: int, c: int) -> np.ndarray:
            return self._logits(codes[:, : r + 1], labels, batch_size)[:, r, c]

        return step

    # ------------------------------------------------------------------ saving
    def get_compile_config(self) -> dict:
        """Nothing to restore at load time: :func:`fit_prior` compiles again."""
        return {}

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "num_codes": self.num_codes,
            "grid_shape": list(self.grid_shape),
            "num_classes": self.num_classes,
            "label_dropout": self.label_dropout,
        }

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        config["grid_shape"] = tuple(config["grid_shape"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="course_lib")
class PixelCNNPrior(CodeGridPrior):
    """A small class-conditional PixelCNN over a ``grid_shape`` grid of codes ``0..num_codes-1``.

    Architecture: code embedding (``filters`` channels) -> masked conv A (``first_kernel``)
    -> ``n_blocks`` residual blocks ``h + MaskedConvB(relu(h))`` (``kernel_size``) -> relu,
    1x1 conv, relu, 1x1 conv to ``num_codes`` logits per position. Every layer adds a learned
    bias per class (``num_classes = 0``: unconditional, no labels).

    ``prior((codes, labels))`` returns logits of shape ``(N, h, w, num_codes)``; the logits
    at a position depend only on the codes before it in raster order. ``fit`` with
    ``x = (codes, labels)``, ``y = codes`` (:func:`fit_prior`) minimises the mean negative
    log-likelihood per code in nats; ``bits_per_code`` is the same in bits.

    Stacked masked convolutions have a *blind spot*: up and to the right of a position, the
    receptive field grows more slowly than the grid (van den Oord et al. 2016b fix this with
    separate vertical and horizontal stacks). On a small grid the simple fix is a first
    kernel of ``2 * max(h, w) - 1`` (13 for 7x7): the first layer then sees every earlier
    position directly.
    """

    def __init__(
        self,
        num_codes: int,
        grid_shape: Sequence[int],
        num_classes: int = 0,
        *,
        filters: int = 64,
        n_blocks: int = 4,
        first_kernel: int = 7,
        kernel_size: int = 3,
        **kwargs,
    ) -> None:
        super().__init__(num_codes, grid_shape, num_classes, **kwargs)
        self.filters = _check_positive_int("filters", filters)
        self.n_blocks = n_blocks if n_blocks == 0 else _check_positive_int("n_blocks", n_blocks)
        self.first_kernel = first_kernel
        self.kernel_size = kernel_size
        self.code_embedding = keras.layers.Embedding(self.num_codes, filters, name="code_embedding")
        self.first = MaskedConv2D(filters, first_kernel, "A", name="masked_conv_a")
        self.blocks = [MaskedConv2D(filters, kernel_size, "B", name=f"masked_conv_b{i + 1}") for i in range(n_blocks)]
        self.hidden = keras.layers.Conv2D(filters, 1, name="head_1x1")
        self.out = keras.layers.Conv2D(self.num_codes, 1, name="logits")
        n_cond = n_blocks + 2
        self.class_bias = (
            keras.layers.Embedding(self.label_slots, n_cond * filters, embeddings_initializer="zeros",
                                   name="class_bias")
            if num_classes else None
        )
        self(self._dummy_inputs())

    def call(self, inputs, training=None):
        codes, labels = self._split(inputs)
        labels = self._drop_labels(labels, training)
        h = self.code_embedding(ops.cast(codes, "int32"))  # (N, h, w, F)
        biases = []
        if self.class_bias is not None:
            b = self.class_bias(labels)  # (N, (n_blocks + 2) F)
            b = ops.reshape(b, (-1, self.n_blocks + 2, 1, 1, self.filters))
            biases = [b[:, i] for i in range(self.n_blocks + 2)]

        def cond(t, i):
            return t + biases[i] if biases else t

        h = cond(self.first(h), 0)
        for i, block in enumerate(self.blocks, start=1):
            h = h + cond(block(ops.relu(h)), i)
        h = cond(self.hidden(ops.relu(h)), self.n_blocks + 1)
        return self.out(ops.relu(h))

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "filters": self.filters,
            "n_blocks": self.n_blocks,
            "first_kernel": self.first_kernel,
            "kernel_size": self.kernel_size,
        }


@keras.saving.register_keras_serializable(package="course_lib")
class TransformerPrior(CodeGridPrior):
    """A small class-conditional causal transformer over the code grid read in raster order.

    The grid is a sequence of ``L = h w`` tokens. The input at position ``i`` is the code at
    ``i - 1`` (its embedding plus a learned position embedding); position 0 gets a *start
    token*, one learned vector per class (or one in all, unconditional). ``depth`` pre-norm
    :class:`course_lib.attention.TransformerBlock` s with a causal attention mask (position
    ``i`` attends to positions ``0..i`` only) and a final LayerNorm feed a Dense layer to
    ``num_codes`` logits. So the logits at ``i`` depend on the class and on *every* code before
    ``i`` -- no blind spot, whatever the grid -- and on nothing after it.

    Against :class:`PixelCNNPrior`: attention reaches every earlier code in one layer, where
    masked convolutions need a wide first kernel or many layers; the cost is attention over
    ``L`` tokens, cheap for a 7x7 grid. Same interface (``logits``, ``log_prob_bits``,
    ``sample``, :func:`fit_prior`).
    """

    def __init__(
        self,
        num_codes: int,
        grid_shape: Sequence[int],
        num_classes: int = 0,
        *,
        dim: int = 128,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
        **kwargs,
    ) -> None:
        from .attention import TransformerBlock

        super().__init__(num_codes, grid_shape, num_classes, **kwargs)
        self.dim = _check_positive_int("dim", dim)
        self.depth = _check_positive_int("depth", depth)
        self.num_heads = _check_positive_int("num_heads", num_heads)
        self.mlp_ratio = float(mlp_ratio)
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        self.dropout = float(dropout)
        h, w = self.grid_shape
        self.code_embedding = keras.layers.Embedding(self.num_codes, dim, name="code_embedding")
        self.start_token = keras.layers.Embedding(max(self.label_slots, 1), dim, name="start_token")
        self.position_embedding = keras.layers.Embedding(
            h * w, dim, embeddings_initializer=keras.initializers.RandomNormal(stddev=0.02), name="position_embedding"
        )
        self.embedding_dropout = keras.layers.Dropout(self.dropout, name="embedding_dropout")
        self.blocks = [TransformerBlock(dim, num_heads, mlp_ratio, name=f"block{i + 1}") for i in range(depth)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
        self.out = keras.layers.Dense(self.num_codes, name="logits")
        self(self._dummy_inputs())

    def call(self, inputs, training=None):
        codes, labels = self._split(inputs)
        rows, w = codes.shape[1], codes.shape[2]  # rows <= h: the sampler feeds the rows filled so far
        length = rows * w
        flat = ops.reshape(ops.cast(codes, "int32"), (-1, length))  # (N, L) in raster order
        labels = self._drop_labels(labels, training)
        start = labels if labels is not None else ops.zeros((ops.shape(flat)[0],), "int32")
        # input i = code i - 1, input 0 = the start token: shift right by one
        x = ops.concatenate(
            [self.start_token(start)[:, None, :], self.code_embedding(flat[:, : length - 1])], axis=1
        )  # (N, L, D)
        x = self.embedding_dropout(x + self.position_embedding(ops.arange(length))[None], training=training)
        causal = ops.convert_to_tensor(np.tril(np.ones((1, length, length), bool)))  # i attends to 0..i
        for block in self.blocks:
            x = block(x, attention_mask=causal)
        logits = self.out(self.final_norm(x))  # (N, L, K)
        return ops.reshape(logits, (-1, rows, w, self.num_codes))

    def _logit_stepper(self, codes: np.ndarray, labels, batch_size: int):
        """Incremental decoding with a key/value cache: each step runs the network on *one* new
        token per grid and attends to the keys and values the earlier steps stored.

        The full forward pass recomputes every earlier token at every step (``h w`` passes over
        up to ``h w`` tokens); here step ``i`` computes token ``i`` only, so sampling costs about
        as much as one forward pass over the whole grid. The logits equal the forward pass's
        (tested); steps must come in raster order, as the sampler calls them.
        """
        n = len(codes)
        h, w = self.grid_shape
        length = h * w
        flat = codes.reshape(n, length)  # a view: the sampler's writes show here
        start = labels if labels is not None else np.zeros(n, np.int32)
        cache = [
            (np.zeros((n, length, b.num_heads, b.key_dim), np.float32),
             np.zeros((n, length, b.num_heads, b.key_dim), np.float32))
            for b in self.blocks
        ]
        expected = [0]

        def attend(attention, a, keys, values, i):
            # a: (B, D), the new token after norm1; keys, values: (B, L, heads, k) views of the cache
            def project(kernel, bias):
                return ops.einsum("bd,dhk->bhk", a, kernel) + bias  # (B, heads, k)

            q = project(attention.query_kernel, attention.query_bias)
            keys[:, i] = ops.convert_to_numpy(project(attention.key_kernel, attention.key_bias))
            values[:, i] = ops.convert_to_numpy(project(attention.value_kernel, attention.value_bias))
            if i == 0:  # one key: its weight is 1
                mixed = values[:, 0]
            else:
                scores = ops.einsum("bhk,bjhk->bhj", q, keys[:, : i + 1]) / math.sqrt(attention.key_dim)
                mixed = ops.einsum("bhj,bjhk->bhk", ops.softmax(scores, axis=-1), values[:, : i + 1])
            return ops.einsum("bhk,hkd->bd", mixed, attention.output_kernel) + attention.output_bias

        def step(r: int, c: int) -> np.ndarray:
            i = r * w + c
            if i != expected[0]:
                raise RuntimeError(f"TransformerPrior sampling: position {i} asked for, {expected[0]} expected "
                                   "(the cache needs the positions in raster order).")
            expected[0] += 1
            out = []
            for s in range(0, n, batch_size):
                part = slice(s, s + batch_size)
                # the input at i is code i - 1 (the start token at 0), plus the position embedding
                token = (self.start_token(start[part]) if i == 0
                         else self.code_embedding(flat[part, i - 1]))
                x = token + self.position_embedding(np.array([i], np.int32))  # (B, D)
                for block, (keys, values) in zip(self.blocks, cache, strict=True):
                    x = x + attend(block.attention, block.norm1(x), keys[part], values[part], i)
                    x = x + block.mlp_out(block.mlp_in(block.norm2(x)))
                out.append(ops.convert_to_numpy(self.out(self.final_norm(x))))
            return np.concatenate(out).astype(np.float64)

        return step

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "dim": self.dim,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "dropout": self.dropout,
        }


def dependency_matrix(prior: CodeGridPrior, codes, labels=None) -> np.ndarray:
    """Which codes each conditional of ``prior`` depends on, found by perturbation.

    Changes the code at one position ``j`` (to the next code, on every grid of ``codes`` at
    once) and records which positions' logits move. Returns a boolean ``(h w, h w)`` matrix,
    ``sees[i, j]`` true if the logits at position ``i`` (raster order) changed when code ``j``
    did. A causal prior has no ``True`` on or above the diagonal; an earlier position ``j < i``
    with ``False`` lies in the *blind spot* of the stacked masks. Several grids guard against
    a dependency hidden by an inactive ReLU on one of them. ``h w + 1`` forward passes.
    """
    codes = prior.check_codes(codes, "dependency_matrix")
    labels = prior.check_labels(labels, len(codes), "dependency_matrix")
    h, w = prior.grid_shape
    n = h * w
    base = prior._logits(codes, labels, len(codes)).reshape(len(codes), n, -1)
    sees = np.zeros((n, n), bool)
    for j in range(n):
        changed = codes.reshape(len(codes), n).copy()
        changed[:, j] = (changed[:, j] + 1) % prior.num_codes
        moved = prior._logits(changed.reshape(codes.shape), labels, len(codes)).reshape(len(codes), n, -1)
        sees[:, j] = (np.abs(moved - base).max(-1) > 1e-6).any(0)
    return sees


def fit_prior(
    prior: CodeGridPrior,
    codes,
    labels=None,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 1e-3,
    validation_data=None,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Check the code grids (and labels), compile ``prior`` with Adam(``lr``) and fit it.

    ``validation_data``: ``(codes, labels)`` (or ``codes`` for an unconditional prior).
    """
    if not isinstance(prior, CodeGridPrior):
        raise TypeError(
            f"fit_prior: prior must be a PixelCNNPrior or a TransformerPrior, got {type(prior).__name__}."
        )
    codes = prior.check_codes(codes, "fit_prior")
    labels = prior.check_labels(labels, len(codes), "fit_prior")
    val = None
    if validation_data is not None:
        v_codes, v_labels = validation_data if prior.num_classes else (validation_data, None)
        v_codes = prior.check_codes(v_codes, "fit_prior (validation)")
        v_labels = prior.check_labels(v_labels, len(v_codes), "fit_prior (validation)")
        val = (prior._inputs(v_codes, v_labels), v_codes)
    prior.compile(optimizer=keras.optimizers.Adam(lr))
    return prior.fit(
        prior._inputs(codes, labels), codes, batch_size=_check_positive_int("batch_size", batch_size),
        epochs=_check_positive_int("epochs", epochs), validation_data=val, shuffle=True,
        callbacks=callbacks, verbose=verbose,
    )
