"""Corruptions for denoising and inpainting: the inputs of notebook 04.

A denoising autoencoder (Vincent et al. 2008) is trained to map a *corrupted* image back to
the clean one. This module makes the corruptions, with NumPy, reproducibly:

- :func:`gaussian_noise`   additive ``N(0, sigma^2)`` noise, clipped to [0, 1]
- :func:`salt_and_pepper`  a fraction of pixels set to 0 (pepper) or 1 (salt)
- :func:`masking_noise`    a fraction of pixels set to 0 ("dropout" of the input)
- :func:`block_mask` and :func:`occlude`  square holes for inpainting
- :func:`corrupt`          one entry point: ``corrupt(x, "gaussian", 0.3, rng=0)``
- :func:`random_corruption` a different kind and level for every image (a "blind" restorer)

Every function takes a batch of grey images with pixels in [0, 1], shape ``(N, H, W)`` or
``(N, H, W, 1)``, returns a new float32 array of the same shape (the input is never
modified), and takes ``rng``: a ``np.random.Generator``, an integer seed, or ``None`` for
fresh randomness. Pass the same integer to get the same corruption again, e.g. a fixed noisy
test set that every model is scored on.

For training, ``training.fit_autoencoder(model, x, corrupt=...)`` applies one of these to the
whole training set afresh before every epoch: the model never sees the same noisy image
twice, which is what makes a denoising autoencoder generalise instead of memorising noise.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from course_lib.metrics import validate_images

RngLike = np.random.Generator | int | None

#: The kinds :func:`corrupt` understands and what its ``level`` means for each.
KINDS: dict[str, str] = {
    "gaussian": "level = sigma, the noise standard deviation (e.g. 0.1 to 0.5)",
    "salt_and_pepper": "level = amount, the fraction of pixels set to 0 or 1",
    "masking": "level = fraction, the fraction of pixels set to 0",
}


def _rng(rng: RngLike, what: str) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral) or rng < 0:
        raise ValueError(
            f"{what}: rng must be a np.random.Generator, a non-negative integer seed or None, "
            f"got {rng!r}."
        )
    return np.random.default_rng(int(rng))


def _number(name: str, value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}: {name} must be a number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{what}: {name} must be finite, got {value!r}.")
    return value


def _fraction(name: str, value: object, what: str) -> float:
    value = _number(name, value, what)
    if not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{what}: {name} is a fraction of pixels and must be in [0, 1], got {value!r} "
            f"(e.g. {name}=0.25 corrupts a quarter of the pixels)."
        )
    return value


def _images(x: np.ndarray, what: str) -> np.ndarray:
    """A validated float32 *copy* of ``x`` (so callers can write into it safely)."""
    return np.array(validate_images(x, what), dtype=np.float32, copy=True)


def gaussian_noise(
    x: np.ndarray, sigma: float, rng: RngLike = None, *, clip: bool = True
) -> np.ndarray:
    """``x + N(0, sigma^2)`` per pixel, clipped to [0, 1] unless ``clip=False``.

    Clipping keeps the corrupted images valid images (a camera cannot record a negative
    grey level); it also means the noise left in the output has a standard deviation a
    little below ``sigma`` near black and white pixels.
    """
    what = "gaussian_noise"
    sigma = _number("sigma", sigma, what)
    if sigma < 0:
        raise ValueError(f"{what}: sigma is a standard deviation and must be >= 0, got {sigma!r}.")
    generator = _rng(rng, what)
    out = _images(x, what)
    out += np.float32(sigma) * generator.standard_normal(out.shape, dtype=np.float32)
    if clip:
        np.clip(out, 0.0, 1.0, out=out)
    return out


def salt_and_pepper(
    x: np.ndarray, amount: float, rng: RngLike = None, *, salt_ratio: float = 0.5
) -> np.ndarray:
    """Set a random fraction ``amount`` of the pixels to 1 (salt) or 0 (pepper).

    Each pixel is corrupted independently with probability ``amount``; a corrupted pixel is
    salt with probability ``salt_ratio``, otherwise pepper. This impulse noise is what the
    median filter removes well and a Gaussian filter does not, so it separates the two
    classical baselines.
    """
    what = "salt_and_pepper"
    amount = _fraction("amount", amount, what)
    salt_ratio = _fraction("salt_ratio", salt_ratio, what)
    generator = _rng(rng, what)
    out = _images(x, what)
    hit = generator.random(out.shape) < amount
    salt = generator.random(out.shape) < salt_ratio
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def masking_noise(x: np.ndarray, fraction: float, rng: RngLike = None) -> np.ndarray:
    """Set a random ``fraction`` of the pixels to 0 (the masking noise of Vincent et al. 2008).

    Each pixel is dropped independently with probability ``fraction``. Unlike dropout in a
    network, the surviving pixels are *not* rescaled: the corrupted image is what the
    autoencoder sees, and it must fill in the missing pixels from the others.
    """
    what = "masking_noise"
    fraction = _fraction("fraction", fraction, what)
    generator = _rng(rng, what)
    out = _images(x, what)
    out[generator.random(out.shape) < fraction] = 0.0
    return out


def block_mask(
    shape: Sequence[int], block: int = 12, rng: RngLike = None, *, n_blocks: int = 1
) -> np.ndarray:
    """Boolean mask of ``shape`` (``(N, H, W)`` or ``(N, H, W, 1)``), True = missing pixel.

    Each image gets ``n_blocks`` square holes of ``block`` x ``block`` pixels at uniformly
    random positions, each fully inside the image (blocks of one image may overlap). Use it
    with :func:`occlude` for inpainting, and keep it to score the model on the missing
    pixels only.
    """
    what = "block_mask"
    dims = tuple(shape)
    if not (len(dims) == 3 or (len(dims) == 4 and dims[-1] == 1)) or any(
        isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1 for d in dims
    ):
        raise ValueError(
            f"{what}: shape must be (N, H, W) or (N, H, W, 1) with positive integers, "
            f"got {shape!r}. Pass x.shape of the images to be masked."
        )
    for name, value in (("block", block), ("n_blocks", n_blocks)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{what}: {name} must be a positive integer, got {value!r}.")
    n, h, w = (int(d) for d in dims[:3])
    if block > min(h, w):
        raise ValueError(
            f"{what}: a {block}x{block} block does not fit inside {h}x{w} images; "
            f"use block <= {min(h, w)}."
        )
    generator = _rng(rng, what)
    top = generator.integers(0, h - block + 1, size=(n, n_blocks))
    left = generator.integers(0, w - block + 1, size=(n, n_blocks))
    rows = np.arange(h)
    cols = np.arange(w)
    in_rows = (rows >= top[..., None]) & (rows < top[..., None] + block)  # (N, B, H)
    in_cols = (cols >= left[..., None]) & (cols < left[..., None] + block)  # (N, B, W)
    mask = (in_rows[..., :, None] & in_cols[..., None, :]).any(axis=1)  # (N, H, W)
    return mask.reshape(dims)


def occlude(x: np.ndarray, mask: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Copy of ``x`` with the pixels where ``mask`` is True set to ``fill``.

    ``mask`` is boolean with the shape of ``x`` (an ``(N, H, W)`` mask also works for
    ``(N, H, W, 1)`` images and vice versa), e.g. from :func:`block_mask`.
    """
    what = "occlude"
    out = _images(x, what)
    fill = _number("fill", fill, what)
    if not 0.0 <= fill <= 1.0:
        raise ValueError(f"{what}: fill is a grey level and must be in [0, 1], got {fill!r}.")
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ValueError(
            f"{what}: mask must be a boolean array (True = missing pixel), got dtype {m.dtype}. "
            "Make one with block_mask(x.shape) or with a comparison such as m > 0."
        )
    if m.shape != out.shape:
        if m.ndim == out.ndim + 1 and m.shape[-1] == 1 and m.shape[:-1] == out.shape:
            m = m[..., 0]
        elif out.ndim == m.ndim + 1 and out.shape[:-1] == m.shape:
            m = m[..., None]
        else:
            raise ValueError(
                f"{what}: mask shape {m.shape} does not match the images' shape {out.shape}; "
                "make the mask with block_mask(x.shape)."
            )
    out[m] = fill
    return out


def corrupt(x: np.ndarray, kind: str, level: float, rng: RngLike = None) -> np.ndarray:
    """Apply one corruption by name: ``"gaussian"`` (``level`` = sigma), ``"salt_and_pepper"``
    (``level`` = amount) or ``"masking"`` (``level`` = fraction).

    Lets a notebook loop over corruption types and levels with one call, e.g. to draw a
    table of PSNR against noise level for every model.
    """
    if kind == "gaussian":
        return gaussian_noise(x, level, rng)
    if kind == "salt_and_pepper":
        return salt_and_pepper(x, level, rng)
    if kind == "masking":
        return masking_noise(x, level, rng)
    known = "; ".join(f"{k!r} ({v})" for k, v in KINDS.items())
    raise ValueError(f"corrupt: unknown kind {kind!r}. Known kinds: {known}.")


#: Kinds :func:`random_corruption` understands: ``KINDS`` plus square holes ("blocks",
#: level = the side of the square in pixels, one hole per image).
RECIPE_KINDS = (*KINDS, "blocks")


def _check_recipe(recipe: dict, what: str) -> dict[str, tuple[float, float]]:
    if not isinstance(recipe, dict) or not recipe:
        raise ValueError(
            f"{what}: recipe must be a non-empty dict kind -> (low, high), e.g. "
            "{'gaussian': (0.05, 0.5), 'blocks': (6, 14)}; got " + repr(recipe) + "."
        )
    checked = {}
    for kind, levels in recipe.items():
        if kind not in RECIPE_KINDS:
            raise ValueError(
                f"{what}: unknown kind {kind!r} in the recipe; known kinds: "
                f"{', '.join(map(repr, RECIPE_KINDS))}."
            )
        try:
            low, high = (_number("level", v, what) for v in levels)
        except (TypeError, ValueError) as err:
            raise ValueError(
                f"{what}: the recipe entry for {kind!r} must be a (low, high) pair of numbers, "
                f"got {levels!r}."
            ) from err
        if not 0 <= low <= high:
            raise ValueError(
                f"{what}: the levels for {kind!r} must satisfy 0 <= low <= high, got {levels!r}."
            )
        if kind in ("salt_and_pepper", "masking") and high > 1:
            raise ValueError(f"{what}: {kind!r} levels are fractions in [0, 1], got {levels!r}.")
        if kind == "blocks" and (low < 1 or low != int(low) or high != int(high)):
            raise ValueError(
                f"{what}: 'blocks' levels are whole block sizes in pixels (>= 1), got {levels!r}."
            )
        checked[kind] = (low, high)
    return checked


def random_corruption(x: np.ndarray, recipe: dict, rng: RngLike = None) -> np.ndarray:
    """Corrupt every image with a kind drawn uniformly from ``recipe`` and a level drawn
    uniformly from that kind's ``(low, high)`` range.

    ``recipe`` maps kinds of :data:`RECIPE_KINDS` to level ranges, e.g.
    ``{"gaussian": (0.05, 0.5), "salt_and_pepper": (0.02, 0.3), "masking": (0.1, 0.6),
    "blocks": (6, 14)}``. A model trained on such inputs is a *blind* restorer: it is never
    told which damage or how much, so it must recognise both from the image itself -- what a
    restorer has to do in practice. Same conventions as the other functions: ``(N, H, W)``
    or ``(N, H, W, 1)`` images in [0, 1], a new float32 array out, ``rng`` for reproducibility.
    """
    what = "random_corruption"
    recipe = _check_recipe(recipe, what)
    generator = _rng(rng, what)
    out = _images(x, what)
    n = out.shape[0]
    kinds = list(recipe)
    choice = generator.integers(0, len(kinds), size=n)
    extra = (1,) * (out.ndim - 1)  # broadcast one level per image over its pixels
    for k, kind in enumerate(kinds):
        idx = np.flatnonzero(choice == k)
        if idx.size == 0:
            continue
        low, high = recipe[kind]
        sub = out[idx]
        if kind == "blocks":
            sizes = generator.integers(int(low), int(high) + 1, size=idx.size)
            for size in np.unique(sizes):
                pick = sizes == size
                mask = block_mask(sub[pick].shape, int(size), generator)
                sub[pick] = occlude(sub[pick], mask)
        else:
            level = generator.uniform(low, high, size=idx.size).astype(np.float32).reshape(-1, *extra)
            if kind == "gaussian":
                sub += level * generator.standard_normal(sub.shape, dtype=np.float32)
                np.clip(sub, 0.0, 1.0, out=sub)
            elif kind == "masking":
                sub[generator.random(sub.shape) < level] = 0.0
            else:  # salt_and_pepper, half salt
                hit = generator.random(sub.shape) < level
                salt = generator.random(sub.shape) < 0.5
                sub[hit & salt] = 1.0
                sub[hit & ~salt] = 0.0
        out[idx] = sub
    return out
