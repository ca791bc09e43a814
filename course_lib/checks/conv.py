"""Checkers for the coding exercises of notebook 03 (convolutional autoencoders).

Four small functions a learner writes to understand what a conv autoencoder's layers do:

- :func:`conv_output_size` — the side length after a ``Conv2D`` (stride, padding, kernel);
- :func:`transposed_output_size` — the side length after a ``Conv2DTranspose``;
- :func:`conv2d_params` — the number of parameters of a ``Conv2D`` layer;
- :func:`psnr_per_image` — the course's PSNR, one value per image.

In the notebook: ``from course_lib.checks import conv as check``, then e.g.
``check.conv_output_size(my_conv_output_size)`` as the last line of a cell. Each checker runs
the learner's function on a few cases (edge cases included), compares it with the reference
answer and, when the answer behaves exactly like a known mistake, says in plain words what is
wrong and what is right. The reference answers match Keras 3 (``padding="same"`` /
``"valid"``) and :func:`course_lib.metrics.per_example_psnr`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["conv2d_params", "conv_output_size", "psnr_per_image", "transposed_output_size"]


# --------------------------------------------------------------------------------------------
# Output size of a Conv2D
# --------------------------------------------------------------------------------------------


def _conv_size(size: int, kernel_size: int, stride: int, padding: str) -> int:
    """Keras's Conv2D: 'valid' keeps the positions where the kernel fits, 'same' pads to ceil(n / s)."""
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel_size) // stride + 1


def _conv_size_no_plus_one(size, kernel_size, stride, padding):
    return math.ceil(size / stride) if padding == "same" else (size - kernel_size) // stride


def _conv_size_floor_same(size, kernel_size, stride, padding):
    return size // stride if padding == "same" else (size - kernel_size) // stride + 1


def _conv_size_no_stride(size, kernel_size, stride, padding):
    return size if padding == "same" else size - kernel_size + 1


_CONV_SIZE_CASES = [
    Case("28 pixels, kernel 3, stride 2, 'same' (the encoder's first stage)", (28, 3, 2, "same")),
    Case("7 pixels, kernel 3, stride 2, 'same' (an odd size)", (7, 3, 2, "same")),
    Case("7 pixels, kernel 3, stride 1, 'same'", (7, 3, 1, "same")),
    Case("28 pixels, kernel 3, stride 1, 'valid'", (28, 3, 1, "valid")),
    Case("28 pixels, kernel 5, stride 2, 'valid'", (28, 5, 2, "valid")),
    Case("14 pixels, kernel 3, stride 2, 'valid'", (14, 3, 2, "valid")),
]


def conv_output_size(fn: Callable[..., int]) -> CheckResult:
    """Check ``fn(size, kernel_size, stride, padding)``: the side length a ``Conv2D`` outputs.

    ``padding="valid"``: ``floor((size - kernel_size) / stride) + 1`` (only positions where the
    kernel fits); ``padding="same"``: ``ceil(size / stride)`` (Keras pads so that every
    ``stride``-th position is kept, whatever the kernel).
    """
    return check_function(
        fn,
        exercise="conv_output_size",
        reference=_conv_size,
        cases=_CONV_SIZE_CASES,
        mistakes=[
            Mistake(_conv_size_no_plus_one,
                    "with padding='valid' you forgot the + 1: a kernel of size k fits at "
                    "floor((size - k) / stride) + 1 positions (the first position counts too), "
                    "e.g. 26 for 28 pixels and a 3×3 kernel with stride 1."),
            Mistake(_conv_size_floor_same,
                    "with padding='same' Keras rounds up, not down: the output has "
                    "ceil(size / stride) positions, so 7 pixels with stride 2 give 4, not 3 "
                    "(use math.ceil or -(-size // stride))."),
            Mistake(_conv_size_no_stride,
                    "your sizes ignore the stride: a stride-2 convolution evaluates the kernel at "
                    "every second position, so it divides the size by about 2 — 'same' gives "
                    "ceil(size / stride), 'valid' floor((size - k) / stride) + 1."),
        ],
        hint="'valid': floor((size - kernel_size) / stride) + 1; 'same': ceil(size / stride).",
    )


# --------------------------------------------------------------------------------------------
# Output size of a Conv2DTranspose
# --------------------------------------------------------------------------------------------


def _tconv_size(size: int, kernel_size: int, stride: int, padding: str) -> int:
    """Keras's Conv2DTranspose (no output_padding): 'same' gives size·stride, 'valid' adds the overhang."""
    if padding == "same":
        return size * stride
    return size * stride + max(kernel_size - stride, 0)


def _tconv_size_as_conv(size, kernel_size, stride, padding):
    return _conv_size(size, kernel_size, stride, padding)


def _tconv_size_no_crop(size, kernel_size, stride, padding):
    return (size - 1) * stride + kernel_size


def _tconv_size_no_overhang(size, kernel_size, stride, padding):
    return size * stride


_TCONV_SIZE_CASES = [
    Case("7 pixels, kernel 3, stride 2, 'same' (the decoder's first stage)", (7, 3, 2, "same")),
    Case("14 pixels, kernel 3, stride 2, 'same'", (14, 3, 2, "same")),
    Case("7 pixels, kernel 3, stride 2, 'valid'", (7, 3, 2, "valid")),
    Case("7 pixels, kernel 4, stride 2, 'valid'", (7, 4, 2, "valid")),
    Case("5 pixels, kernel 3, stride 1, 'valid'", (5, 3, 1, "valid")),
    Case("5 pixels, kernel 3, stride 1, 'same'", (5, 3, 1, "same")),
]


def transposed_output_size(fn: Callable[..., int]) -> CheckResult:
    """Check ``fn(size, kernel_size, stride, padding)``: the side length a ``Conv2DTranspose`` outputs.

    Every input position paints a ``kernel_size`` patch, ``stride`` pixels after the previous
    one: ``padding="valid"`` keeps the whole painted area, ``size * stride + max(kernel_size -
    stride, 0)`` (that is ``(size - 1) * stride + kernel_size`` when the kernel is at least the
    stride); ``padding="same"`` crops it to exactly ``size * stride``.
    """
    return check_function(
        fn,
        exercise="transposed_output_size",
        reference=_tconv_size,
        cases=_TCONV_SIZE_CASES,
        mistakes=[
            Mistake(_tconv_size_as_conv,
                    "that is the output size of an ordinary convolution, which shrinks the image; "
                    "a transposed convolution goes the other way and multiplies the size by the "
                    "stride: 'same' gives size * stride (7 → 14 with stride 2)."),
            Mistake(_tconv_size_no_crop,
                    "(size - 1) * stride + kernel_size is right for padding='valid' only; "
                    "padding='same' crops the output to exactly size * stride "
                    "(7 pixels, stride 2 → 14, not 15)."),
            Mistake(_tconv_size_no_overhang,
                    "size * stride is right for padding='same' only; with padding='valid' the "
                    "last patch sticks out by kernel_size - stride pixels, which are kept: "
                    "(size - 1) * stride + kernel_size (7 pixels, kernel 3, stride 2 → 15)."),
        ],
        hint="'same': size * stride; 'valid': (size - 1) * stride + kernel_size when "
             "kernel_size >= stride.",
    )


# --------------------------------------------------------------------------------------------
# Parameters of a Conv2D
# --------------------------------------------------------------------------------------------


def _conv_params(kernel_size: int, c_in: int, c_out: int, use_bias: bool = True) -> int:
    """k·k·c_in·c_out weights (one k×k kernel per pair of channels) + one bias per output channel."""
    return kernel_size * kernel_size * c_in * c_out + (c_out if use_bias else 0)


def _conv_params_no_bias(kernel_size, c_in, c_out, use_bias=True):
    return kernel_size * kernel_size * c_in * c_out


def _conv_params_always_bias(kernel_size, c_in, c_out, use_bias=True):
    return kernel_size * kernel_size * c_in * c_out + c_out


def _conv_params_no_c_in(kernel_size, c_in, c_out, use_bias=True):
    return kernel_size * kernel_size * c_out + (c_out if use_bias else 0)


def _conv_params_k_not_squared(kernel_size, c_in, c_out, use_bias=True):
    return kernel_size * c_in * c_out + (c_out if use_bias else 0)


_CONV_PARAMS_CASES = [
    Case("kernel 3, 1 → 16 channels, with bias", (3, 1, 16, True)),
    Case("kernel 3, 16 → 64 channels, no bias (a conv before batch norm)", (3, 16, 64, False)),
    Case("kernel 3, 64 → 64 channels, with bias", (3, 64, 64, True)),
    Case("kernel 1, 32 → 8 channels, with bias (a 1×1 conv)", (1, 32, 8, True)),
    Case("kernel 5, 3 → 10 channels, with bias", (5, 3, 10, True)),
]


def conv2d_params(fn: Callable[..., int]) -> CheckResult:
    """Check ``fn(kernel_size, c_in, c_out, use_bias=True)``: the parameter count of a ``Conv2D``.

    Each of the ``c_out`` filters is a ``kernel_size × kernel_size × c_in`` block of weights,
    plus one bias per output channel when ``use_bias`` — none when the conv feeds a batch
    norm (whose shift β does the bias's job). The image size does not appear: the weights are
    shared over all positions.
    """
    return check_function(
        fn,
        exercise="conv2d_params",
        reference=_conv_params,
        cases=_CONV_PARAMS_CASES,
        mistakes=[
            Mistake(_conv_params_no_bias,
                    "you left out the biases: with use_bias=True a Conv2D has one bias per output "
                    "channel, so add c_out (kernel 3, 1 → 16 channels: 144 weights + 16 biases = 160)."),
            Mistake(_conv_params_always_bias,
                    "you add the biases even when use_bias=False: a conv followed by batch norm "
                    "has no bias (batch norm's β replaces it), so its count is "
                    "kernel_size² · c_in · c_out only."),
            Mistake(_conv_params_no_c_in,
                    "your count ignores the input channels: each filter spans all c_in input "
                    "channels, so it has kernel_size² · c_in weights, and there are c_out filters."),
            Mistake(_conv_params_k_not_squared,
                    "a kernel of size k is k × k: it has k² weights per pair of channels, not k "
                    "(kernel_size * kernel_size * c_in * c_out)."),
        ],
        hint="kernel_size² · c_in · c_out weights, plus c_out biases when use_bias.",
    )


# --------------------------------------------------------------------------------------------
# PSNR per image
# --------------------------------------------------------------------------------------------


def _psnr_per_image(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """10·log10(1 / MSE_i) for each image i, pixels in [0, 1]: shape (N,)."""
    a = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    b = np.asarray(x_hat, dtype=np.float64).reshape(len(x_hat), -1)
    return 10.0 * np.log10(1.0 / ((a - b) ** 2).mean(axis=1))


def _psnr_of_mean_mse(x, x_hat):
    return 10.0 * np.log10(1.0 / np.mean((np.asarray(x) - np.asarray(x_hat)) ** 2))


def _psnr_of_mean_mse_repeated(x, x_hat):
    return np.full(len(x), _psnr_of_mean_mse(x, x_hat))


def _psnr_natural_log(x, x_hat):
    return _psnr_per_image(x, x_hat) * np.log(10.0)


def _psnr_twenty(x, x_hat):
    return 2.0 * _psnr_per_image(x, x_hat)


def _psnr_wrong_sign(x, x_hat):
    return -_psnr_per_image(x, x_hat)


def _psnr_cases() -> list[Case]:
    rng = np.random.default_rng(3)
    clean = rng.uniform(0.0, 1.0, size=(3, 8, 8, 1))
    noisy = np.clip(clean + rng.normal(0.0, 0.1, size=clean.shape), 0.0, 1.0)
    pair = rng.uniform(0.0, 1.0, size=(2, 8, 8, 1))
    uneven = pair.copy()
    uneven[0] = np.clip(uneven[0] + 0.01, 0.0, 1.0)  # nearly perfect
    uneven[1] = 1.0 - uneven[1]  # very wrong
    one = rng.uniform(0.0, 1.0, size=(1, 8, 8, 1))
    return [
        Case("3 images (8×8×1) with noise of standard deviation 0.1", (clean, noisy)),
        Case("2 images, one nearly perfect and one very wrong", (pair, uneven)),
        Case("a batch of a single image", (one, np.clip(one * 0.9, 0.0, 1.0))),
    ]


def psnr_per_image(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(x, x_hat)``: the PSNR of each image in dB, an array of shape ``(N,)``.

    ``PSNR_i = 10 · log10(1 / MSE_i)`` for pixels in [0, 1], where ``MSE_i`` averages the
    squared error over the pixels of image ``i`` only. The course reports the mean of these
    per-image values (``course_lib.metrics.psnr``), which is not ``10 · log10(1 / mean MSE)``.
    """
    return check_function(
        fn,
        exercise="psnr_per_image",
        reference=_psnr_per_image,
        cases=_psnr_cases(),
        mistakes=[
            Mistake(_psnr_of_mean_mse,
                    "you return one number, the PSNR of the MSE over all images; the exercise "
                    "asks for one PSNR per image: average the squared error over each image's "
                    "own pixels (axis=(1, 2, 3)), then take 10 · log10(1 / MSE_i) of each."),
            Mistake(_psnr_of_mean_mse_repeated,
                    "every image gets the same value, the PSNR of the MSE over all images; "
                    "compute each image's own MSE (mean over axis=(1, 2, 3)) and its own PSNR."),
            Mistake(_psnr_natural_log,
                    "you used the natural logarithm; decibels are defined with log10: "
                    "10 · log10(1 / MSE_i) (np.log10, not np.log)."),
            Mistake(_psnr_twenty,
                    "20 · log10 is for amplitudes such as the RMSE; the MSE is a power (a squared "
                    "error), so PSNR_i = 10 · log10(1 / MSE_i) (or 20 · log10(1 / RMSE_i))."),
            Mistake(_psnr_wrong_sign,
                    "the sign is wrong: a better reconstruction (smaller MSE) must have a larger "
                    "PSNR, so use 10 · log10(1 / MSE_i) = -10 · log10(MSE_i)."),
        ],
        hint="PSNR_i = 10 · log10(1 / MSE_i), MSE_i the mean squared error over image i's pixels.",
    )
