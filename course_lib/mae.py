"""The masked autoencoder (MAE; He et al., 2021): hide most patches, rebuild them (notebook 12).

An image is cut into patches (:func:`attention.patchify`); a random ``mask_ratio`` of them
(75 % by default) is hidden. A Vision-Transformer *encoder* sees only the visible patches --
at 75 % masking a quarter of the tokens, so pretraining is cheap -- and a lighter *decoder*
gets the encoded visible tokens plus one shared, learned *mask token* in every hidden
position, adds position codes so each mask token knows where it is, and predicts every
patch's pixels. The loss counts the hidden patches only::

    loss = mean over hidden patches of mean_pixels (prediction - target)^2

Neighbouring pixels are so alike that filling small holes is easy interpolation; hiding most
of the image forces the encoder to model objects (what a sleeve, a sole, a collar look like),
which is what makes its features useful for classification later. With
``norm_pix_loss=True`` the target is each patch normalised by its own mean and standard
deviation, which stresses edges and texture over brightness (the paper found it gives better
features); predictions are then in those units, so pixel-space errors are not defined.

After pretraining the decoder is thrown away: :func:`feature_extractor` builds a fresh
image-to-vector model (the encoder on *all* patches, tokens averaged) with the trained
weights, for linear probes and fine-tuning. Training uses ``tf.GradientTape`` (TensorFlow
backend); the rest is ``keras.ops``. Built on the page in notebook 12.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from .attention import POSITION_KINDS, PositionEmbedding, TransformerBlock, patchify, unpatchify
from .backend import tensorflow_for
from .models import _check_input, _check_positive_int

__all__ = [
    "MAEDecoder",
    "MaskedAutoencoder",
    "ViTEncoder",
    "feature_extractor",
    "num_kept",
    "patch_mask_to_pixels",
    "random_masking",
]


def _tf():
    return tensorflow_for("course_lib.mae")


# ---------------------------------------------------------------------- masking


def _check_ratio(mask_ratio: object) -> float:
    if (
        isinstance(mask_ratio, bool)
        or not isinstance(mask_ratio, int | float | np.floating)
        or not 0 < mask_ratio < 1
    ):
        raise ValueError(
            f"mask_ratio must be a fraction strictly between 0 and 1 (e.g. 0.75 hides three "
            f"patches in four), got {mask_ratio!r}: 0 hides nothing to predict, 1 leaves the "
            "encoder nothing to see."
        )
    return float(mask_ratio)


def num_kept(num_patches: int, mask_ratio: float) -> int:
    """How many of ``num_patches`` stay visible at ``mask_ratio``: ``round(L * (1 - ratio))``.

    At least one patch must stay visible and at least one be hidden, else ``ValueError``.
    """
    length = _check_positive_int("num_patches", num_patches)
    ratio = _check_ratio(mask_ratio)
    keep = int(round(length * (1.0 - ratio)))
    if not 1 <= keep <= length - 1:
        raise ValueError(
            f"mask_ratio {ratio} with {length} patches keeps {keep} visible: at least one patch "
            "must be visible and at least one hidden. Use smaller patches or another ratio."
        )
    return keep


def random_masking(batch_size, num_patches: int, mask_ratio: float, seed=None):
    """A random split of each image's patches into visible and hidden ones.

    Returns int32 tensors ``(keep, masked, restore)``: ``keep (B, K)`` and ``masked (B, L - K)``
    are patch indices (``K = num_kept(L, mask_ratio)``), together a random permutation of
    ``0 .. L-1`` per image; ``restore (B, L)`` is the inverse permutation, so that tokens
    ordered ``[keep, masked]`` return to patch order with ``take_along_axis(tokens, restore)``.
    Each image gets its own split: uniform noise per patch, sorted (``argsort``); the lowest
    ``K`` are kept. ``seed``: an int (the same masks every time), a
    ``keras.random.SeedGenerator`` (new masks at every call, as in training) or ``None``.
    """
    keep_n = num_kept(num_patches, mask_ratio)
    noise = keras.random.uniform((batch_size, int(num_patches)), seed=seed)
    shuffle = ops.cast(ops.argsort(noise, axis=1), "int32")
    restore = ops.cast(ops.argsort(shuffle, axis=1), "int32")
    return shuffle[:, :keep_n], shuffle[:, keep_n:], restore


def _gather_tokens(tokens, index):
    """``tokens (B, L, D)`` at ``index (B, K)`` along the token axis: ``(B, K, D)``."""
    index = ops.cast(index, "int32")
    index = ops.repeat(ops.expand_dims(index, -1), ops.shape(tokens)[-1], axis=-1)
    return ops.take_along_axis(tokens, index, axis=1)


def patch_mask_to_pixels(patch_mask, patch_size: int, image_shape: Sequence[int]) -> np.ndarray:
    """A per-patch mask ``(N, L)`` (True/1 = hidden) as a boolean pixel mask ``(N, *image_shape)``,
    e.g. for ``baselines.diffusion_inpaint`` on exactly the hidden patches."""
    shape = tuple(int(d) for d in image_shape)
    c = shape[2] if len(shape) == 3 else 1
    m = np.asarray(ops.convert_to_numpy(patch_mask)).astype(np.float32)
    per_pixel = np.repeat(m[..., None], patch_size * patch_size * c, axis=-1)
    return np.asarray(ops.convert_to_numpy(unpatchify(per_pixel, patch_size, shape))) > 0.5


def _normalise_patches(patches, eps: float = 1e-6):
    """Each patch minus its mean, divided by its standard deviation (the MAE's norm-pix target)."""
    mean = ops.mean(patches, axis=-1, keepdims=True)
    var = ops.var(patches, axis=-1, keepdims=True)
    return (patches - mean) / ops.sqrt(var + eps)


# ---------------------------------------------------------------------- encoder / decoder


def _check_image_shape(image_shape: Sequence[int], patch_size: int) -> tuple[tuple[int, int, int], int, int]:
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape!r}.")
    p = _check_positive_int("patch_size", patch_size)
    if shape[0] % p or shape[1] % p:
        raise ValueError(
            f"patch_size {p} does not divide the {shape[0]}x{shape[1]} images; for 28x28 use 2, 4, 7 or 14."
        )
    return shape, shape[0] // p, shape[1] // p


@keras.saving.register_keras_serializable(package="course_lib")
class ViTEncoder(keras.layers.Layer):
    """Vision-Transformer encoder: patches → Dense(dim) + position code → ``depth`` blocks → LayerNorm.

    ``encoder(images)`` encodes all patches, ``(B, L, dim)``; ``encoder(images, keep=idx)``
    only the patches listed in ``idx (B, K)`` (each token keeps its own position code), as
    the MAE does in pretraining. ``return_attention=True`` also returns the last block's
    attention weights ``(B, heads, T, T)``.
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        patch_size: int = 4,
        dim: int = 64,
        depth: int = 3,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        position: str = "sincos",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        shape, gh, gw = _check_image_shape(image_shape, patch_size)
        if position not in POSITION_KINDS:
            raise ValueError(f"Unknown position embedding {position!r}; valid kinds are {POSITION_KINDS}.")
        self.image_shape = shape
        self.patch_size = int(patch_size)
        self.dim = _check_positive_int("dim", dim)
        self.depth = _check_positive_int("depth", depth)
        self.num_heads = _check_positive_int("num_heads", num_heads)
        self.mlp_ratio = float(mlp_ratio)
        self.position_kind = position
        self.grid = (gh, gw)
        self.num_patches = gh * gw
        self.patch_embed = keras.layers.Dense(self.dim, name="patch_embed")
        self.position = PositionEmbedding(gh, gw, self.dim, position, name="position")
        self.blocks = [
            TransformerBlock(self.dim, self.num_heads, self.mlp_ratio, name=f"block{i + 1}")
            for i in range(self.depth)
        ]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")

    def build(self, input_shape) -> None:
        patch_dim = self.patch_size**2 * self.image_shape[2]
        self.patch_embed.build((None, self.num_patches, patch_dim))
        for block in self.blocks:
            block.build((None, None, self.dim))
        self.norm.build((None, None, self.dim))
        self.built = True

    def call(self, images, keep=None, return_attention: bool = False):
        tokens = self.position(self.patch_embed(patchify(images, self.patch_size)))  # (B, L, dim)
        if keep is not None:
            tokens = _gather_tokens(tokens, keep)  # (B, K, dim): the visible patches only
        weights = None
        for block in self.blocks:
            tokens, weights = block(tokens, return_attention=True)
        tokens = self.norm(tokens)
        return (tokens, weights) if return_attention else tokens

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_patches, self.dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "image_shape": self.image_shape, "patch_size": self.patch_size,
                "dim": self.dim, "depth": self.depth, "num_heads": self.num_heads,
                "mlp_ratio": self.mlp_ratio, "position": self.position_kind}


@keras.saving.register_keras_serializable(package="course_lib")
class MAEDecoder(keras.layers.Layer):
    """The MAE's light decoder: visible tokens + mask tokens, back in patch order → pixels per patch.

    ``decoder(encoded, restore)`` with ``encoded (B, K, encoder_dim)`` (the visible patches in
    the order of ``keep``) and ``restore (B, L)`` from :func:`random_masking` returns
    ``(B, L, patch_size**2 * channels)``: Dense(dim), one learned mask token appended per
    hidden patch, tokens put back in patch order, the decoder's own position codes, ``depth``
    blocks, LayerNorm, a linear Dense to the patch's pixels.
    """

    def __init__(
        self,
        grid_h: int,
        grid_w: int,
        patch_dim: int,
        dim: int = 64,
        depth: int = 1,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.grid_h = _check_positive_int("grid_h", grid_h)
        self.grid_w = _check_positive_int("grid_w", grid_w)
        self.patch_dim = _check_positive_int("patch_dim", patch_dim)
        self.dim = _check_positive_int("dim", dim)
        self.depth = _check_positive_int("depth", depth)
        self.num_heads = _check_positive_int("num_heads", num_heads)
        self.mlp_ratio = float(mlp_ratio)
        self.num_patches = self.grid_h * self.grid_w
        self.embed = keras.layers.Dense(self.dim, name="embed")
        self.mask_token = self.add_weight(
            shape=(self.dim,), initializer=keras.initializers.RandomNormal(stddev=0.02), name="mask_token"
        )
        self.position = PositionEmbedding(self.grid_h, self.grid_w, self.dim, "sincos", name="position")
        self.blocks = [
            TransformerBlock(self.dim, self.num_heads, self.mlp_ratio, name=f"block{i + 1}")
            for i in range(self.depth)
        ]
        self.norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.head = keras.layers.Dense(self.patch_dim, name="to_pixels")

    def build(self, input_shape, restore_shape=None) -> None:
        self.embed.build((None, None, int(input_shape[-1])))
        for block in self.blocks:
            block.build((None, self.num_patches, self.dim))
        self.norm.build((None, self.num_patches, self.dim))
        self.head.build((None, self.num_patches, self.dim))
        self.built = True

    def call(self, encoded, restore):
        h = self.embed(encoded)  # (B, K, dim)
        batch, kept = ops.shape(h)[0], h.shape[1]
        n_hidden = self.num_patches - kept
        tokens = ops.broadcast_to(ops.cast(self.mask_token, h.dtype), (batch, n_hidden, self.dim))
        h = ops.concatenate([h, tokens], axis=1)  # (B, L, dim), ordered [keep, masked]
        h = self.position(_gather_tokens(h, restore))  # back in patch order
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))

    def compute_output_shape(self, input_shape, restore_shape=None):
        return (input_shape[0], self.num_patches, self.patch_dim)

    def get_config(self) -> dict:
        return {**super().get_config(), "grid_h": self.grid_h, "grid_w": self.grid_w,
                "patch_dim": self.patch_dim, "dim": self.dim, "depth": self.depth,
                "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio}


# ---------------------------------------------------------------------- the model


@keras.saving.register_keras_serializable(package="course_lib")
class MaskedAutoencoder(keras.Model):
    """A ViT masked autoencoder for small images (defaults: 28x28x1, 4x4 patches → 49 tokens).

    ``compile(optimizer=...)`` then ``fit(x)`` (no labels) minimises the squared error on the
    hidden patches, with fresh random masks (``mask_ratio``) at every step; metric ``loss``.
    ``model(x)`` returns the predicted patches ``(B, L, patch_size**2 * C)`` for one random
    mask. NumPy helpers: :meth:`features` (mean encoder token per image, all patches
    visible), :meth:`reconstruct` and :meth:`masked_patch_mse` (seeded masks).
    """

    def __init__(
        self,
        image_shape: Sequence[int] = (28, 28, 1),
        patch_size: int = 4,
        dim: int = 64,
        depth: int = 3,
        num_heads: int = 4,
        decoder_dim: int = 64,
        decoder_depth: int = 1,
        decoder_heads: int = 4,
        mlp_ratio: float = 2.0,
        mask_ratio: float = 0.75,
        norm_pix_loss: bool = False,
        position: str = "sincos",
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        shape, gh, gw = _check_image_shape(image_shape, patch_size)
        self.mask_ratio = _check_ratio(mask_ratio)
        num_kept(gh * gw, self.mask_ratio)  # a ratio that leaves no visible (or no hidden) patch
        self.norm_pix_loss = bool(norm_pix_loss)
        self.seed = seed
        self.patch_size = int(patch_size)
        self.encoder = ViTEncoder(shape, patch_size, dim, depth, num_heads, mlp_ratio, position, name="encoder")
        self.decoder = MAEDecoder(gh, gw, self.patch_size**2 * shape[2], decoder_dim, decoder_depth,
                                  decoder_heads, mlp_ratio, name="decoder")
        self.mask_seed = keras.random.SeedGenerator(seed)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self._config = {"image_shape": shape, "patch_size": self.patch_size, "dim": dim, "depth": depth,
                        "num_heads": num_heads, "decoder_dim": decoder_dim, "decoder_depth": decoder_depth,
                        "decoder_heads": decoder_heads, "mlp_ratio": float(mlp_ratio),
                        "mask_ratio": self.mask_ratio, "norm_pix_loss": self.norm_pix_loss,
                        "position": position, "seed": seed}
        self.build((None, *shape))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.encoder.image_shape

    @property
    def num_patches(self) -> int:
        return self.encoder.num_patches

    @property
    def metrics(self):
        return [self.loss_tracker]

    def build(self, input_shape) -> None:
        self.encoder.build(input_shape)
        self.decoder.build((None, None, self.encoder.dim))
        self.built = True

    # ------------------------------------------------------------------ forward pass and loss
    def forward(self, x, keep, restore, training=None):
        """Predicted patches ``(B, L, P)`` for images ``x`` whose visible patches are ``keep``."""
        encoded = self.encoder(x, keep=keep, training=training)
        return self.decoder(encoded, restore, training=training)

    def targets(self, x):
        """What the decoder must predict: the patches, or each normalised with ``norm_pix_loss``."""
        patches = patchify(ops.cast(x, "float32"), self.patch_size)
        return _normalise_patches(patches) if self.norm_pix_loss else patches

    def masked_loss(self, x, pred, keep):
        """Mean squared error over the pixels of the hidden patches only (visible ones count 0)."""
        hidden = self.hidden_patches(keep, ops.shape(pred)[0])
        per_patch = ops.mean((pred - self.targets(x)) ** 2, axis=-1)  # (B, L)
        return ops.sum(per_patch * hidden) / ops.maximum(ops.sum(hidden), 1.0)

    def hidden_patches(self, keep, batch_size):
        """``(B, L)`` float: 1 for hidden patches, 0 for the visible ones listed in ``keep``."""
        visible = ops.sum(ops.one_hot(ops.cast(keep, "int32"), self.num_patches), axis=1)
        return 1.0 - ops.reshape(visible, (batch_size, self.num_patches))

    def call(self, x, training=None):
        x = ops.cast(x, "float32")
        keep, _, restore = random_masking(ops.shape(x)[0], self.num_patches, self.mask_ratio, self.mask_seed)
        return self.forward(x, keep, restore, training=training)

    def _step_loss(self, x, training: bool):
        x = ops.cast(x, "float32")
        keep, _, restore = random_masking(ops.shape(x)[0], self.num_patches, self.mask_ratio, self.mask_seed)
        pred = self.forward(x, keep, restore, training=training)
        return self.masked_loss(x, pred, keep)

    def train_step(self, data):
        tf = _tf()
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        with tf.GradientTape() as tape:
            loss = self._step_loss(x, training=True)
        variables = self.trainable_variables
        self.optimizer.apply(tape.gradient(loss, variables), variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        x = keras.utils.unpack_x_y_sample_weight(data)[0]
        self.loss_tracker.update_state(self._step_loss(x, training=False))
        return {"loss": self.loss_tracker.result()}

    # ------------------------------------------------------------------ NumPy helpers
    def features(self, x, batch_size: int = 1000) -> np.ndarray:
        """One vector per image: the mean of the encoder's tokens with every patch visible, ``(N, dim)``."""
        _check_input(x, self.image_shape, "features")
        if len(x) == 0:
            raise ValueError("features: the input is empty (0 examples).")
        parts = [ops.convert_to_numpy(ops.mean(self.encoder(x[i : i + batch_size], training=False), axis=1))
                 for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)

    def reconstruct(self, x, mask_ratio: float | None = None, seed: int = 0, batch_size: int = 1000) -> dict:
        """Rebuild images from a seeded random ``mask_ratio`` of hidden patches (NumPy).

        Returns ``{"prediction", "pasted", "mask"}``: the decoder's output for every patch as
        images, the input with only its hidden patches replaced by the prediction, and the
        boolean pixel mask (True = hidden); all of shape ``x.shape``. The same ``seed`` and
        ratio hide the same patches. With ``norm_pix_loss`` the predictions are in
        normalised units: they are mapped back with each hidden patch's *true* mean and
        standard deviation, which the model never saw -- for looking at, not for scoring.
        """
        _check_input(x, self.image_shape, "reconstruct")
        ratio = self.mask_ratio if mask_ratio is None else _check_ratio(mask_ratio)
        n = len(x)
        if n == 0:
            raise ValueError("reconstruct: the input is empty (0 examples).")
        keep, _, restore = random_masking(n, self.num_patches, ratio, seed=int(seed))
        keep, restore = ops.convert_to_numpy(keep), ops.convert_to_numpy(restore)
        preds = []
        for i in range(0, n, batch_size):
            xb = ops.convert_to_tensor(x[i : i + batch_size], "float32")
            pred = self.forward(xb, keep[i : i + batch_size], restore[i : i + batch_size], training=False)
            if self.norm_pix_loss:
                patches = patchify(xb, self.patch_size)
                mean = ops.mean(patches, axis=-1, keepdims=True)
                std = ops.sqrt(ops.var(patches, axis=-1, keepdims=True) + 1e-6)
                pred = pred * std + mean
            preds.append(ops.convert_to_numpy(unpatchify(pred, self.patch_size, self.image_shape)))
        prediction = np.concatenate(preds).reshape(x.shape)
        hidden = np.ones((n, self.num_patches), np.float32)
        np.put_along_axis(hidden, keep, 0.0, axis=1)
        mask = patch_mask_to_pixels(hidden, self.patch_size, self.image_shape).reshape(x.shape)
        pasted = np.where(mask, prediction, np.asarray(x, np.float32))
        return {"prediction": prediction, "pasted": pasted, "mask": mask}

    def masked_patch_mse(self, x, mask_ratio: float | None = None, seed: int = 0, batch_size: int = 1000) -> float:
        """Mean squared error (pixels in [0, 1]) over the hidden pixels of a seeded random mask.

        Only for pixel targets: a ``norm_pix_loss`` model predicts normalised patches, and
        turning them into pixels needs the hidden patches' own statistics.
        """
        if self.norm_pix_loss:
            raise ValueError(
                "masked_patch_mse: this model predicts per-patch normalised pixels (norm_pix_loss=True); "
                "its pixel error would need the hidden patches' true mean and spread. Compare pixel "
                "errors with a model trained on raw pixels."
            )
        out = self.reconstruct(x, mask_ratio, seed, batch_size)
        err = (out["prediction"] - np.asarray(x, np.float32)) ** 2
        return float(err[out["mask"]].mean())

    # ------------------------------------------------------------------ saving
    def get_compile_config(self) -> dict:
        """Nothing to restore at load time: compile again to train further."""
        return {}

    def get_config(self) -> dict:
        return {**super().get_config(), **self._config}


def feature_extractor(mae: MaskedAutoencoder | ViTEncoder, *, pretrained: bool = True,
                      name: str = "vit_features") -> keras.Model:
    """A new image → ``(dim,)`` model: a copy of the MAE's encoder (all patches) and the token mean.

    ``pretrained=True`` copies the trained weights; ``False`` gives the same architecture
    freshly initialised (the "from scratch" classifier of a fair comparison). The copy is
    independent: fine-tuning it leaves ``mae`` unchanged.
    """
    source = mae.encoder if isinstance(mae, MaskedAutoencoder) else mae
    if not isinstance(source, ViTEncoder):
        raise TypeError(f"feature_extractor: expected a MaskedAutoencoder or ViTEncoder, got {type(mae).__name__}.")
    config = source.get_config()
    config["name"] = "encoder"
    encoder = ViTEncoder.from_config(config)
    inputs = keras.Input(shape=source.image_shape, name="image")
    features = keras.layers.GlobalAveragePooling1D(name="token_mean")(encoder(inputs))
    model = keras.Model(inputs, features, name=name)
    if pretrained:
        encoder.set_weights(source.get_weights())
    return model
