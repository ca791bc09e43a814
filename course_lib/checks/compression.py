"""Checkers for the coding exercises of notebook 09 (learned image compression).

- :func:`code_bits` — the rate of rounded codes under a factorised logistic entropy model:
  ``-log2`` of each integer's probability mass on its unit bin, summed per image (what
  :meth:`course_lib.compression.CompressionAutoencoder.estimated_bits` computes);
- :func:`bytes_at_psnr` — reading a codec's file size at a given PSNR off its rate–distortion
  curve by linear interpolation (what :func:`course_lib.classic_codecs.bytes_at_psnr` does on a
  curve whose points all count).

In the notebook: ``from course_lib.checks import compression as check``, then
``check.code_bits(my_code_bits)`` as the last line of a cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function
from course_lib.compression import logistic_bits

__all__ = ["bytes_at_psnr", "code_bits"]


# --------------------------------------------------------------------------------------------
# The rate of a rounded code
# --------------------------------------------------------------------------------------------


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-np.asarray(t, np.float64)))


def _per_image(values):
    values = np.asarray(values, np.float64)
    return values.reshape(len(values), -1).sum(axis=1)


def _code_bits(codes, loc, scale):
    return _per_image(logistic_bits(codes, loc, scale))


def _code_bits_nats(codes, loc, scale):
    return _code_bits(codes, loc, scale) * np.log(2.0)


def _code_bits_density(codes, loc, scale):
    t = (np.asarray(codes, np.float64) - loc) / scale
    density = _sigmoid(t) * (1 - _sigmoid(t)) / scale
    return _per_image(-np.log2(density))


def _code_bits_shifted_bin(codes, loc, scale):
    codes = np.asarray(codes, np.float64)
    mass = _sigmoid((codes + 1 - loc) / scale) - _sigmoid((codes - loc) / scale)
    return _per_image(-np.log2(mass))


def _code_bits_no_scale(codes, loc, scale):
    return _code_bits(codes, loc, np.ones_like(np.asarray(scale, np.float64)))


def _code_bits_negative(codes, loc, scale):
    return -_code_bits(codes, loc, scale)


def _code_bits_mean(codes, loc, scale):
    bits = logistic_bits(codes, loc, scale)
    return bits.reshape(len(bits), -1).mean(axis=1)


_RNG = np.random.default_rng(9)
_BITS_CASES = [
    Case("2 codes of 2x2 positions and 3 channels",
         (_RNG.integers(-3, 4, size=(2, 2, 2, 3)), np.array([0.0, 0.4, -1.2]), np.array([1.0, 0.5, 2.0]))),
    Case("one code of zeros, channels centred on 0",
         (np.zeros((1, 3, 3, 2), int), np.zeros(2), np.array([0.3, 3.0]))),
    Case("codes far in the tail (|k| up to 6)",
         (np.array([[[[6, -5]]], [[[0, 1]]]]), np.array([0.0, 0.0]), np.array([0.7, 1.5]))),
]


def code_bits(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(codes, loc, scale)``: bits per image of integer ``codes`` under the logistic model.

    ``codes`` is ``(N, H, W, C)`` integers, ``loc`` and ``scale`` have one entry per channel
    (the last axis). The result is ``(N,)``: for each image, the sum over all its values of
    ``-log2 P(k)`` with ``P(k) = sigmoid((k + 1/2 - loc) / scale) - sigmoid((k - 1/2 - loc) / scale)``.
    """
    return check_function(
        fn,
        exercise="code_bits",
        reference=_code_bits,
        cases=_BITS_CASES,
        mistakes=[
            Mistake(_code_bits_nats,
                    "your rates are in nats: a file is measured in bits, so use np.log2 (or divide by log 2)."),
            Mistake(_code_bits_density,
                    "you use the logistic's density at k; a rounded code needs the probability *mass* of "
                    "its bin: sigmoid((k + 1/2 - loc)/scale) - sigmoid((k - 1/2 - loc)/scale)."),
            Mistake(_code_bits_shifted_bin,
                    "your bin is [k, k + 1]; rounding sends every value in [k - 1/2, k + 1/2] to k, so the "
                    "bin is centred on k."),
            Mistake(_code_bits_no_scale,
                    "your rates ignore the scale: the bin edges k ± 1/2 are standardised as "
                    "(k ± 1/2 - loc) / scale before the sigmoid, one scale per channel."),
            Mistake(_code_bits_negative,
                    "your rates are negative: a probability is at most 1, so log2 P(k) <= 0 and the "
                    "bits are -log2 P(k)."),
            Mistake(_code_bits_mean,
                    "you average over the code's values; the rate of an image is the *sum* of the bits of "
                    "all its values."),
        ],
        rtol=1e-6,
        hint="Sum -log2 P(k) over every axis but the first.",
    )


# --------------------------------------------------------------------------------------------
# File size at a given PSNR
# --------------------------------------------------------------------------------------------


def _bytes_at_psnr(sizes, psnr, target):
    sizes, psnr = np.asarray(sizes, np.float64), np.asarray(psnr, np.float64)
    order = np.argsort(sizes)
    return float(np.interp(target, psnr[order], sizes[order]))


def _bytes_at_psnr_swapped(sizes, psnr, target):
    sizes, psnr = np.asarray(sizes, np.float64), np.asarray(psnr, np.float64)
    order = np.argsort(sizes)
    return float(np.interp(target, sizes[order], psnr[order]))


def _bytes_at_psnr_unsorted(sizes, psnr, target):
    return float(np.interp(target, np.asarray(psnr, np.float64), np.asarray(sizes, np.float64)))


def _bytes_at_psnr_nearest(sizes, psnr, target):
    sizes, psnr = np.asarray(sizes, np.float64), np.asarray(psnr, np.float64)
    return float(sizes[np.argmin(np.abs(psnr - target))])


_PSNR_CASES = [
    Case("3 points in increasing order, 26 dB between the first two",
         (np.array([100.0, 150.0, 220.0]), np.array([24.0, 27.0, 30.0]), 26.0)),
    Case("4 points given from the largest file down, 29 dB",
         (np.array([400.0, 300.0, 250.0, 200.0]), np.array([33.0, 30.5, 28.0, 25.0]), 29.0)),
    Case("the target exactly on a point", (np.array([60.0, 80.0, 90.0]), np.array([22.0, 26.0, 27.5]), 26.0)),
    Case("5 points in mixed order, 23.3 dB",
         (np.array([90.0, 50.0, 130.0, 70.0, 110.0]), np.array([24.0, 20.0, 28.0, 22.5, 26.0]), 23.3)),
]


def bytes_at_psnr(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(sizes, psnr, target)``: bytes per image at ``target`` dB, linearly interpolated.

    ``sizes`` and ``psnr`` are the points of one codec's curve (PSNR rises with the size) in
    any order; the answer is a float between the sizes of the two neighbouring points.
    """
    return check_function(
        fn,
        exercise="bytes_at_psnr",
        reference=_bytes_at_psnr,
        cases=_PSNR_CASES,
        mistakes=[
            Mistake(_bytes_at_psnr_swapped,
                    "you interpolate PSNR as a function of bytes: here the PSNR is given and the size is "
                    "wanted, so interpolate sizes at the target in the (PSNR, size) points: "
                    "np.interp(target, psnr, sizes)."),
            Mistake(_bytes_at_psnr_unsorted,
                    "np.interp needs the points in increasing order of PSNR: sort both arrays by size "
                    "(or by PSNR) first."),
            Mistake(_bytes_at_psnr_nearest,
                    "you return the size of the nearest point; interpolate linearly between the two "
                    "points either side of the target."),
        ],
        rtol=1e-6,
    )
