"""Attention and the pieces of a Vision Transformer: patches as tokens, positions, blocks (notebook 12).

Attention lets every token of a sequence read from every other one. Each token is projected
to a *query* ``q``, a *key* ``k`` and a *value* ``v``; token ``i``'s output is the average of
all values weighted by how well its query matches each key::

    A = softmax(Q K^T / sqrt(d))       (T_q, T_k), every row sums to 1
    out = A V                          (T_q, d_v)

The ``1 / sqrt(d)`` keeps the dot products at unit scale when ``d`` grows, so the softmax
does not saturate. *Multi-head* attention runs ``h`` of these side by side on ``h`` different
projections (``key_dim`` each) and mixes their outputs with one more projection.

An image becomes a sequence by cutting it into non-overlapping ``p x p`` patches
(:func:`patchify`; :func:`unpatchify` puts them back), each flattened to one token. Attention
itself ignores order, so a *position embedding* is added to each token: learned, or the fixed
2-D sine-cosine code of :func:`sincos_position_embedding`. A :class:`TransformerBlock` is
attention plus a small MLP, each in a residual branch behind a LayerNorm ("pre-norm").

Everything here is ``keras.ops``. :class:`MultiHeadSelfAttention` stores its weights with the
shapes and order of ``keras.layers.MultiHeadAttention``, so ``pagecheck.copy_weights`` moves them
between the two (tested: same weights, same output). Built on the page in notebook 12.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .models import _check_positive_int

__all__ = [
    "MultiHeadSelfAttention",
    "PositionEmbedding",
    "TransformerBlock",
    "num_patches",
    "patchify",
    "scaled_dot_product_attention",
    "sincos_position_embedding",
    "unpatchify",
]


# ---------------------------------------------------------------------- attention


def scaled_dot_product_attention(q, k, v, mask=None):
    """``(softmax(q k^T / sqrt(d)) v, weights)`` for ``q (..., T_q, d)``, ``k (..., T_k, d)``,
    ``v (..., T_k, d_v)``.

    ``mask`` (optional) is boolean, broadcastable to ``(..., T_q, T_k)``: ``True`` where query
    ``i`` may attend to key ``j``. Masked scores are set to a large negative number before the
    softmax, so their weights are 0 (a row that masks every key would get uniform weights; do
    not build such masks). Returns the output ``(..., T_q, d_v)`` and the attention weights
    ``(..., T_q, T_k)``, whose rows sum to 1.
    """
    q, k, v = (ops.convert_to_tensor(t) for t in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"scaled_dot_product_attention: queries and keys must have the same size d, got "
            f"{q.shape[-1]} and {k.shape[-1]}."
        )
    if k.shape[-2] is not None and v.shape[-2] is not None and k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: one value per key is needed, got {k.shape[-2]} keys "
            f"and {v.shape[-2]} values."
        )
    d = q.shape[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / math.sqrt(d)  # (..., T_q, T_k)
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.full_like(scores, -1e9))
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


@keras.saving.register_keras_serializable(package="course_lib")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Multi-head self-attention written with :func:`scaled_dot_product_attention`.

    ``layer(x)`` with ``x (B, T, dim)`` returns ``(B, T, dim)``; ``return_attention=True``
    also returns the weights ``(B, heads, T, T)``. ``attention_mask`` (optional, boolean ``(B, T, T)``
    or ``(B, 1, T, T)``): ``True`` where a token may attend.

    Weights, in the order and shapes of ``keras.layers.MultiHeadAttention(num_heads, key_dim)``:
    query, key and value kernels ``(dim, heads, key_dim)`` with biases ``(heads, key_dim)``,
    then the output kernel ``(heads, key_dim, dim)`` and bias ``(dim,)``. So
    ``pagecheck.copy_weights(ours, keras_mha)`` makes ``keras_mha(x, x)`` give our output.
    """

    def __init__(self, num_heads: int, key_dim: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads = _check_positive_int("num_heads", num_heads)
        self.key_dim = _check_positive_int("key_dim", key_dim)

    def build(self, input_shape) -> None:
        dim = int(input_shape[-1])
        h, k = self.num_heads, self.key_dim
        glorot = keras.initializers.GlorotUniform
        for name in ("query", "key", "value"):
            setattr(self, f"{name}_kernel", self.add_weight(
                shape=(dim, h, k), initializer=glorot(), name=f"{name}_kernel"))
            setattr(self, f"{name}_bias", self.add_weight(
                shape=(h, k), initializer="zeros", name=f"{name}_bias"))
        self.output_kernel = self.add_weight(shape=(h, k, dim), initializer=glorot(), name="output_kernel")
        self.output_bias = self.add_weight(shape=(dim,), initializer="zeros", name="output_bias")

    def call(self, x, attention_mask=None, return_attention: bool = False):
        # (B, T, dim) x (dim, h, k) -> (B, T, h, k) -> (B, h, T, k): one sequence per head
        def project(kernel, bias):
            return ops.transpose(ops.einsum("btd,dhk->bthk", x, kernel) + bias, (0, 2, 1, 3))

        q = project(self.query_kernel, self.query_bias)
        k = project(self.key_kernel, self.key_bias)
        v = project(self.value_kernel, self.value_bias)
        mask = attention_mask
        if mask is not None and len(mask.shape) == 3:
            mask = ops.expand_dims(mask, 1)  # the same mask for every head
        heads, weights = scaled_dot_product_attention(q, k, v, mask)  # (B, h, T, k), (B, h, T, T)
        out = ops.einsum("bhtk,hkd->btd", heads, self.output_kernel) + self.output_bias
        return (out, weights) if return_attention else out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim}


# ---------------------------------------------------------------------- patches


def _as_4d(images):
    shape = tuple(images.shape)
    if len(shape) == 3:
        return ops.expand_dims(images, -1), True
    if len(shape) != 4:
        raise ValueError(
            f"patchify: expected images of shape (N, H, W) or (N, H, W, C), got {shape}."
        )
    return images, False


def _check_patch(image_hw: Sequence[int], patch_size: object, what: str) -> int:
    p = _check_positive_int("patch_size", patch_size)
    h, w = (int(d) for d in image_hw)
    if h % p or w % p:
        divisors = [d for d in range(1, min(h, w) + 1) if h % d == 0 and w % d == 0]
        raise ValueError(
            f"{what}: patch_size {p} does not divide the {h}x{w} images; the patches must tile "
            f"the image exactly. Sizes that do: {divisors}."
        )
    return p


def num_patches(image_shape: Sequence[int], patch_size: int) -> int:
    """How many ``patch_size`` x ``patch_size`` patches tile an image of ``image_shape`` (H, W[, C])."""
    p = _check_patch(tuple(image_shape)[:2], patch_size, "num_patches")
    return (int(image_shape[0]) // p) * (int(image_shape[1]) // p)


def patchify(images, patch_size: int):
    """Cut images ``(N, H, W[, C])`` into patches ``(N, (H/p)(W/p), p*p*C)``, row by row.

    Patch ``i`` is the ``i``-th ``p x p`` block in reading order (left to right, then top to
    bottom); its pixels are flattened row by row, channels last. Works on NumPy arrays and
    tensors (``keras.ops``). A ``patch_size`` that does not divide ``H`` and ``W`` raises a
    ``ValueError`` listing the sizes that do.
    """
    images = ops.convert_to_tensor(images)
    x, _ = _as_4d(images)
    _, h, w, c = x.shape
    p = _check_patch((h, w), patch_size, "patchify")
    gh, gw = h // p, w // p
    x = ops.reshape(x, (-1, gh, p, gw, p, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (N, gh, gw, p, p, c)
    return ops.reshape(x, (-1, gh * gw, p * p * c))


def unpatchify(patches, patch_size: int, image_shape: Sequence[int]):
    """The inverse of :func:`patchify`: patches ``(N, L, p*p*C)`` back to images ``(N, *image_shape)``.

    ``image_shape`` is ``(H, W)`` or ``(H, W, C)``; with ``(H, W)`` the result has no channel
    axis. ``unpatchify(patchify(x, p), p, x.shape[1:])`` returns ``x`` exactly.
    """
    shape = tuple(int(d) for d in image_shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"unpatchify: image_shape must be (H, W) or (H, W, C), got {image_shape!r}.")
    h, w = shape[:2]
    c = shape[2] if len(shape) == 3 else 1
    p = _check_patch((h, w), patch_size, "unpatchify")
    gh, gw = h // p, w // p
    patches = ops.convert_to_tensor(patches)
    if len(patches.shape) != 3 or patches.shape[1] != gh * gw or patches.shape[2] != p * p * c:
        raise ValueError(
            f"unpatchify: expected patches of shape (N, {gh * gw}, {p * p * c}) for {shape} images "
            f"and patch_size {p}, got {tuple(patches.shape)}."
        )
    x = ops.reshape(patches, (-1, gh, gw, p, p, c))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))  # (N, gh, p, gw, p, c)
    return ops.reshape(x, (-1, *shape))


# ---------------------------------------------------------------------- positions


def sincos_position_embedding(grid_h: int, grid_w: int, dim: int) -> np.ndarray:
    """Fixed 2-D sine-cosine position codes, ``(grid_h * grid_w, dim)`` float32, in patch order.

    Half of the channels encode the row, half the column; each half is ``sin`` and ``cos`` of
    the coordinate at ``dim / 4`` frequencies ``1 / 10000^(i / (dim/4))`` (the Transformer's
    1-D code, applied per axis, as in the MAE paper). Every position gets its own code, and
    since ``sin a sin b + cos a cos b = cos(a - b)`` the dot product of two codes depends only
    on the offset between the patches, which attention scores can use. ``dim`` must be a
    multiple of 4.
    """
    gh = _check_positive_int("grid_h", grid_h)
    gw = _check_positive_int("grid_w", grid_w)
    dim = _check_positive_int("dim", dim)
    if dim % 4:
        raise ValueError(
            f"sincos_position_embedding: dim must be a multiple of 4 (sin and cos for rows and "
            f"for columns), got {dim}."
        )
    freqs = 1.0 / 10000 ** (np.arange(dim // 4, dtype=np.float64) / (dim // 4))
    rows, cols = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")

    def code(pos):
        angles = pos.reshape(-1, 1) * freqs[None, :]
        return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)

    return np.concatenate([code(rows), code(cols)], axis=1).astype(np.float32)


#: Kinds of position embedding :class:`PositionEmbedding` knows.
POSITION_KINDS = ("sincos", "learned")


@keras.saving.register_keras_serializable(package="course_lib")
class PositionEmbedding(keras.layers.Layer):
    """Adds a position code to tokens ``(B, grid_h * grid_w, dim)`` in patch order.

    ``kind="sincos"``: the fixed code of :func:`sincos_position_embedding` (not trained);
    ``kind="learned"``: one trained vector per position (small random start).
    :meth:`table` returns the ``(L, dim)`` codes, e.g. to gather those of the visible patches.
    """

    def __init__(self, grid_h: int, grid_w: int, dim: int, kind: str = "sincos", **kwargs) -> None:
        super().__init__(**kwargs)
        if kind not in POSITION_KINDS:
            raise ValueError(f"Unknown position embedding {kind!r}; valid kinds are {POSITION_KINDS}.")
        self.grid_h = _check_positive_int("grid_h", grid_h)
        self.grid_w = _check_positive_int("grid_w", grid_w)
        self.dim = _check_positive_int("dim", dim)
        self.kind = kind
        length = self.grid_h * self.grid_w
        if kind == "sincos":
            fixed = sincos_position_embedding(self.grid_h, self.grid_w, self.dim)
            init = keras.initializers.Constant(fixed)
        else:
            init = keras.initializers.RandomNormal(stddev=0.02)
        self.embedding = self.add_weight(
            shape=(length, self.dim), initializer=init, trainable=kind == "learned", name="embedding"
        )
        self.built = True

    def table(self):
        return ops.convert_to_tensor(self.embedding)

    def call(self, tokens):
        return tokens + ops.cast(self.table(), tokens.dtype)[None]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "grid_h": self.grid_h, "grid_w": self.grid_w,
                "dim": self.dim, "kind": self.kind}


# ---------------------------------------------------------------------- transformer block


@keras.saving.register_keras_serializable(package="course_lib")
class TransformerBlock(keras.layers.Layer):
    """Pre-norm transformer block on tokens ``(B, T, dim)``::

        x = x + MHSA(LayerNorm(x))                 every token reads from every other
        x = x + MLP(LayerNorm(x))                  per token: Dense(mlp_ratio * dim, gelu), Dense(dim)

    The residual paths carry the input through unchanged, so a deep stack starts close to the
    identity and trains stably; normalising *before* each branch (pre-norm) keeps the residual
    stream un-normalised. ``attention_mask`` is passed to the attention (``True`` = may attend;
    named so that Keras does not treat it as a padding mask). ``key_dim`` defaults to
    ``dim // num_heads``. ``block(x, return_attention=True)`` also returns the attention weights
    ``(B, heads, T, T)``.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 2.0,
        key_dim: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.dim = _check_positive_int("dim", dim)
        self.num_heads = _check_positive_int("num_heads", num_heads)
        if key_dim is None:
            if self.dim % self.num_heads:
                raise ValueError(
                    f"TransformerBlock: dim {self.dim} is not divisible by num_heads "
                    f"{self.num_heads}; pick another head count or pass key_dim."
                )
            key_dim = self.dim // self.num_heads
        self.key_dim = _check_positive_int("key_dim", key_dim)
        if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, int | float) or mlp_ratio <= 0:
            raise ValueError(f"TransformerBlock: mlp_ratio must be a number > 0, got {mlp_ratio!r}.")
        self.mlp_ratio = float(mlp_ratio)
        hidden = max(1, int(round(self.mlp_ratio * self.dim)))
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm1")
        self.attention = MultiHeadSelfAttention(self.num_heads, self.key_dim, name="attention")
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6, name="norm2")
        self.mlp_in = keras.layers.Dense(hidden, activation="gelu", name="mlp_in")
        self.mlp_out = keras.layers.Dense(self.dim, name="mlp_out")

    def build(self, input_shape) -> None:
        if int(input_shape[-1]) != self.dim:
            raise ValueError(
                f"TransformerBlock(dim={self.dim}) got tokens of size {input_shape[-1]}."
            )
        shape = tuple(input_shape)
        for layer in (self.norm1, self.attention, self.norm2):
            layer.build(shape)
        self.mlp_in.build(shape)
        self.mlp_out.build((*shape[:-1], self.mlp_in.units))
        self.built = True

    def call(self, x, attention_mask=None, return_attention: bool = False):
        a, weights = self.attention(self.norm1(x), attention_mask=attention_mask, return_attention=True)
        x = x + a
        x = x + self.mlp_out(self.mlp_in(self.norm2(x)))
        return (x, weights) if return_attention else x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads,
                "mlp_ratio": self.mlp_ratio, "key_dim": self.key_dim}
