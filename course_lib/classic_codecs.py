"""Rate–distortion curves of the classic codecs (JPEG, WebP, PNG) through Pillow, on real files.

Every image is written to its own file in memory with Pillow, at one quality setting, and
read back: the *bytes* are the length of that file (headers included, as on a disk), the
distortion is measured on the decoded 8-bit image. :func:`rd_curve` does that for a list of
quality settings; :func:`bytes_at_psnr` reads off the file size a codec needs for a given
PSNR by interpolating along its curve. Used by notebook 09 to put the learned codec of
:mod:`course_lib.compression` on the same axes.

Settings (:data:`CODECS`), chosen so that each classic codec writes its smallest standard file:

- JPEG: baseline, one grey component (no chroma), Pillow's standard quantisation tables
  scaled by the quality, and ``optimize=True`` — Huffman tables fitted to the image instead of
  the generic ones (150 to 200 bytes less per 28x28 Fashion-MNIST file, measured at
  qualities 1 to 95);
- WebP: lossy VP8 with ``method=6`` (the slowest, strongest search). WebP has no grey mode:
  Pillow stores the grey image as colour whose chroma is constant (it costs little);
- PNG: lossless, ``optimize=True``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from . import metrics

#: Pillow format name and save options of each codec: JPEG with optimised Huffman tables,
#: WebP with its slowest, best method, PNG with its smallest filter/compression search.
CODECS = {
    "jpeg": ("JPEG", {"optimize": True}),
    "webp": ("WEBP", {"method": 6}),
    "png": ("PNG", {"optimize": True}),
}

__all__ = [
    "CODECS",
    "bytes_at_psnr",
    "decode_bytes",
    "encode_image",
    "rd_curve",
    "run_codec",
    "size_ratios",
    "to_uint8",
]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] to 8-bit pixels (rounded): what an image file stores."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"expected a batch of grey images (N, H, W), got shape {images.shape}")
    if images.dtype == np.uint8:
        return images
    if np.any(images < 0) or np.any(images > 1) or not np.all(np.isfinite(images)):
        raise ValueError("pixel values must lie in [0, 1]")
    return np.round(images * 255.0).astype(np.uint8)


def _check_codec(codec: str) -> tuple[str, dict]:
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}; choose one of {', '.join(CODECS)}")
    return CODECS[codec]


def encode_image(image: np.ndarray, codec: str, quality: int | None = None) -> bytes:
    """One 8-bit grey image (H, W) to the bytes of a ``codec`` file (quality 0–100; PNG: none)."""
    from PIL import Image

    fmt, options = _check_codec(codec)
    options = dict(options)
    if codec == "png":
        if quality is not None:
            raise ValueError("PNG is lossless: it has no quality setting")
    else:
        if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 0 <= quality <= 100:
            raise ValueError(f"quality must be an integer from 0 to 100, got {quality!r}")
        options["quality"] = int(quality)
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decode_bytes(data: bytes) -> np.ndarray:
    """A file's bytes back to an 8-bit grey image."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def run_codec(images: np.ndarray, codec: str, quality: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Write and read back every image: ``(bytes per image (N,), decoded images in [0, 1])``."""
    pixels = to_uint8(images)
    sizes = np.empty(len(pixels), np.int64)
    decoded = np.empty(pixels.shape, np.float32)
    for i, image in enumerate(pixels):
        data = encode_image(image, codec, quality)
        sizes[i] = len(data)
        decoded[i] = decode_bytes(data) / 255.0
    return sizes, decoded


def rd_curve(images: np.ndarray, codec: str, qualities: Sequence[int]) -> list[dict]:
    """One point per quality: mean bytes per image, mean PSNR (dB) and mean SSIM of the decodes."""
    reference = to_uint8(images) / 255.0
    curve = []
    for quality in qualities:
        sizes, decoded = run_codec(images, codec, int(quality))
        curve.append(
            {
                "quality": int(quality),
                "bytes": float(sizes.mean()),
                "psnr": metrics.psnr(reference, decoded),
                "ssim": metrics.ssim(reference, decoded),
            }
        )
    return curve


def bytes_at_psnr(bytes_per_image: Sequence[float], psnr: Sequence[float], target: float) -> float:
    """Bytes per image a codec needs for ``target`` dB, interpolated along its curve.

    The points are sorted by size and reduced to the ones that are not beaten by a smaller
    file (the codec's best trade-offs); between the two neighbours of ``target`` the size is
    interpolated linearly in PSNR. A target outside the range the curve reaches raises
    ``ValueError`` (no extrapolation).
    """
    sizes, quality = np.asarray(bytes_per_image, np.float64), np.asarray(psnr, np.float64)
    if sizes.shape != quality.shape or sizes.ndim != 1 or len(sizes) < 2:
        raise ValueError("bytes_at_psnr: give two sequences of the same length, at least two points")
    order = np.argsort(sizes)
    sizes, quality = sizes[order], quality[order]
    best = quality >= np.maximum.accumulate(quality)  # no smaller file reaches a higher PSNR
    sizes, quality = sizes[best], quality[best]
    if not quality[0] <= target <= quality[-1]:
        raise ValueError(
            f"bytes_at_psnr: {target} dB is outside the curve's range "
            f"({quality[0]:.2f} to {quality[-1]:.2f} dB)"
        )
    return float(np.interp(target, quality, sizes))


def size_ratios(
    ours: tuple[Sequence[float], Sequence[float]],
    theirs: tuple[Sequence[float], Sequence[float]],
    low: float,
    high: float,
    step: float = 0.25,
) -> list[tuple[float, float]]:
    """``(PSNR, our bytes / their bytes)`` at every ``step`` dB from ``low`` to ``high``.

    ``ours`` and ``theirs`` are two codecs' curves as ``(bytes per image, PSNR)`` sequences; both
    are interpolated with :func:`bytes_at_psnr` at each PSNR of the grid, so that "at every
    PSNR from 24 to 30 dB" is judged between the measured points too, not only at them. Raises
    ``ValueError`` naming the curve that does not reach the whole range.
    """
    if not low < high or not step > 0:
        raise ValueError(f"size_ratios: need low < high and step > 0, got {low}, {high}, {step}")
    for name, (_, psnr) in (("ours", ours), ("theirs", theirs)):
        if len(psnr) == 0 or min(psnr) > low or max(psnr) < high:
            reach = "no points" if len(psnr) == 0 else f"{min(psnr):.2f} to {max(psnr):.2f} dB"
            raise ValueError(f"size_ratios: the curve {name!r} covers {reach}, not all of {low:g} to {high:g} dB")
    grid = np.arange(low, high + step / 2, step)
    return [(float(g), bytes_at_psnr(*ours, g) / bytes_at_psnr(*theirs, g)) for g in grid]
