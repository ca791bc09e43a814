"""Out-of-distribution images made offline, and the input-complexity correction.

Nalisnick et al. (2019, "Do deep generative models know what they don't know?") found that
likelihood models trained on one image set can give *higher* likelihood to images of a
simpler set they never saw. Notebook 08 shows it on Fashion-MNIST with sets that need no
download:

- ``"glyphs"``: digits and letters rendered white on black with matplotlib's bundled fonts
  (DejaVu Sans, Serif and Mono), at random sizes, positions and slants — MNIST-like strokes;
- ``"constant"``: images of one grey level each (uniform in [0, 1]);
- ``"noise"``: independent uniform pixels;
- ``"inverted"``: clothes with black and white swapped (``1 - x``), given the clothes.

The remedy of Serrà et al. (2020, "Input complexity and out-of-distribution detection with
likelihood-based generative models"): subtract the image's *complexity*, measured by a
general-purpose compressor, from its negative log-likelihood, both in bits:
``S(x) = -log2 p(x) - L(x)``, with ``L(x)`` the length of the zlib-compressed 8-bit image
(:func:`compressed_bits`). A simple image is cheap for every model, so only the part of the
likelihood that a generic compressor cannot explain is credited to the model.

Both terms must count the same thing. Serrà et al. scored models of the 8-bit images; a
Bernoulli VAE (notebook 08's) pays for a *binary draw* of the image instead, so ``L(x)`` (up
to 8 bits a pixel) overstates the complexity of incompressible inputs: uniform noise then
looks very normal. In such a model's own units the image-only part of the cost is the
binary entropy ``H(x)`` (:func:`course_lib.anomaly.binary_entropy`, divided by ``ln 2`` for
bits); notebook 08 shows both corrections.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["OOD_SETS", "compressed_bits", "glyphs", "ood_sets"]

OOD_SETS = ("glyphs", "constant", "noise", "inverted")
_CHARACTERS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZabdeghkmnqrty"
_FONTS = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono")


def _render(char: str, family: str, size: float, slant: str) -> np.ndarray:
    """One character, white on black, centred in a 28x28 float image in [0, 1]."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=28)
    fig.patch.set_facecolor("black")
    canvas = FigureCanvasAgg(fig)
    fig.text(0.5, 0.5, char, color="white", fontsize=size, family=family, style=slant,
             weight="bold", ha="center", va="center")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    return rgba[..., 0].astype(np.float32) / 255.0


def glyphs(n: int, seed: int = 0) -> np.ndarray:
    """``n`` glyph images (N, 28, 28) in [0, 1]: random character, font, size, slant and shift."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"glyphs: n must be a positive integer, got {n!r}.")
    rng = np.random.default_rng(seed)
    cache: dict[tuple, np.ndarray] = {}
    out = np.empty((n, 28, 28), dtype=np.float32)
    for i in range(n):
        key = (_CHARACTERS[rng.integers(len(_CHARACTERS))], _FONTS[rng.integers(len(_FONTS))],
               float(rng.choice((44.0, 52.0, 60.0))), ("normal", "italic")[rng.integers(2)])
        if key not in cache:
            cache[key] = _render(*key)
        dy, dx = rng.integers(-2, 3, size=2)
        out[i] = np.roll(cache[key], (int(dy), int(dx)), axis=(0, 1))
    return out


def ood_sets(n: int, clothes: np.ndarray | None = None, seed: int = 0) -> dict[str, np.ndarray]:
    """The out-of-distribution sets of :data:`OOD_SETS`, ``n`` images each, float32 in [0, 1].

    ``"inverted"`` needs ``clothes`` (at least ``n`` images, e.g. test images: the set is
    ``1 - clothes[:n]``); without them it is left out.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"ood_sets: n must be a positive integer, got {n!r}.")
    rng = np.random.default_rng([seed, 1])
    sets = {
        "glyphs": glyphs(n, seed=seed),
        "constant": np.broadcast_to(rng.random((n, 1, 1)), (n, 28, 28)).astype(np.float32),
        "noise": rng.random((n, 28, 28)).astype(np.float32),
    }
    if clothes is not None:
        clothes = np.asarray(clothes, dtype=np.float32)
        if clothes.ndim != 3 or len(clothes) < n:
            raise ValueError(f"ood_sets: clothes must be at least {n} images (N, H, W), got shape {clothes.shape}.")
        if clothes.min() < 0 or clothes.max() > 1:
            raise ValueError("ood_sets: clothes must have pixels in [0, 1] (use data.to_float).")
        sets["inverted"] = 1.0 - clothes[:n]
    return sets


def compressed_bits(x) -> np.ndarray:
    """Per image: the length in bits of its 8-bit pixels compressed by zlib (level 9).

    A generic measure of *input complexity*: a blank image compresses to a few bytes, noise
    hardly at all. ``x`` is (N, H, W) in [0, 1].
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"compressed_bits: expected a non-empty (N, H, W) array, got shape {x.shape}.")
    if not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1:
        raise ValueError("compressed_bits: pixels must be finite and in [0, 1].")
    pixels = np.round(x * 255).astype(np.uint8)
    return np.array([8.0 * len(zlib.compress(img.tobytes(), 9)) for img in pixels])
