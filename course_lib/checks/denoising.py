"""Checkers for notebook 04's coding exercises (denoising and restoration).

``from course_lib.checks import denoising as check`` and then, as the last line of a cell,

- ``check.gaussian_noise(my_gaussian_noise)``: ``fn(x, sigma, rng)`` adds ``N(0, sigma^2)``
  noise to every pixel, drawn from ``rng``, and clips to [0, 1];
- ``check.salt_and_pepper(my_salt_and_pepper)``: ``fn(x, amount, rng)`` sets a fraction
  ``amount`` of the pixels to 0 or 1, half each;
- ``check.tweedie_denoiser(my_tweedie)``: ``fn(y, mu, s, sigma)``, the best denoiser
  ``E[x | y]`` for a 1-D Gaussian prior ``x ~ N(mu, s^2)`` and noise ``y = x + sigma * eps``,
  written with Tweedie's formula;
- ``check.hole_mse(my_hole_mse)``: ``fn(x, x_hat, mask)``, the MSE over the missing pixels only.

The two corruptions are random, so their checkers cannot compare outputs with a reference:
they run the learner's function on many pixels and check what must hold for *any* correct
answer — the shape, the range [0, 1], the mean and standard deviation of the noise, the
fraction of pixels changed, that the input is not modified, and that the same seed gives the
same corruption (the noise must come from ``rng``). The two deterministic exercises compare
with a reference on small cases and recognise the usual mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import (
    FAILED,
    NOT_ATTEMPTED,
    NOT_ATTEMPTED_MESSAGE,
    PASSED,
    Case,
    CheckResult,
    Mistake,
    check_function,
    to_numpy,
)

__all__ = ["gaussian_noise", "hole_mse", "salt_and_pepper", "tweedie_denoiser"]

class _Verdict(Exception):
    """Raised inside a statistical checker to stop at the first problem found."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _run(fn: Callable[..., Any], x: np.ndarray, level: float, seed: int, case: str) -> np.ndarray:
    """Call ``fn(x, level, rng)`` on a copy of ``x``; return its output as float64, or stop."""
    given = x.copy()
    try:
        out = fn(given, level, np.random.default_rng(seed))
    except NotImplementedError:
        raise _Verdict(NOT_ATTEMPTED, NOT_ATTEMPTED_MESSAGE) from None
    except Exception as exc:  # the learner's bug, reported in words
        raise _Verdict(FAILED, f"on {case}, your function raised {type(exc).__name__}: {exc}") from None
    if out is None:
        raise _Verdict(FAILED, f"on {case}, your function returned None — did you forget `return`?")
    if not np.array_equal(given, x):
        raise _Verdict(FAILED, f"on {case}, your function changed its input `x` in place; corrupt a "
                               "copy instead (`x = x.copy()` first, or build a new array such as "
                               "`x + noise`), so the clean images stay clean.")
    try:
        arr = to_numpy(out)
    except (TypeError, ValueError) as exc:
        raise _Verdict(FAILED, f"on {case}, the result is not an array of numbers: {exc}") from None
    if arr.shape != x.shape:
        raise _Verdict(FAILED, f"on {case}, your result has shape {arr.shape} but the images have "
                               f"shape {x.shape}: return the corrupted images, one per input image.")
    return arr


def _statistical(exercise: str, body: Callable[[], str]) -> CheckResult:
    if not callable(body):  # pragma: no cover - internal use
        raise TypeError(body)
    try:
        return CheckResult(exercise, PASSED, body())
    except _Verdict as verdict:
        return CheckResult(exercise, verdict.status, verdict.message)


# ---------------------------------------------------------------------- Gaussian noise


def gaussian_noise(fn: Callable) -> CheckResult:
    """Check ``fn(x, sigma, rng)``: ``clip(x + N(0, sigma^2), 0, 1)`` per pixel, noise from ``rng``.

    Run on 200 grey 28x28 images (every pixel 0.5, so clipping is negligible at sigma = 0.1)
    the noise ``out - x`` must have mean ~0 and standard deviation ~sigma, differ from pixel to
    pixel and from image to image; on black images with sigma = 0.3 the output must stay in
    [0, 1] and average ``sigma / sqrt(2 pi)`` (the clipped half-normal); sigma = 0 must return
    the images unchanged; and the same seed must give the same noise.
    """
    if not callable(fn):
        return CheckResult("gaussian_noise", FAILED, f"expected a function, got {type(fn).__name__}.")

    def body() -> str:
        grey = np.full((200, 28, 28), 0.5)
        sigma = 0.1
        case = "200 grey images (every pixel 0.5) with sigma = 0.1"
        out = _run(fn, grey, sigma, 0, case)
        noise = out - grey
        if np.allclose(noise, 0.0):
            raise _Verdict(FAILED, f"on {case}, the images come back unchanged: add noise drawn "
                                   "with rng.normal(0.0, sigma, size=x.shape).")
        std, mean = float(noise.std()), float(noise.mean())
        if abs(std - sigma**2) < 0.1 * sigma**2:
            raise _Verdict(FAILED, f"the noise has standard deviation {std:.4f} = sigma**2: you used "
                                   "the variance as the scale. rng.normal's scale is the standard "
                                   "deviation: rng.normal(0.0, sigma, size=x.shape).")
        if np.allclose(noise, noise[:1]):
            raise _Verdict(FAILED, "every image got the same noise pattern: draw the noise for the "
                                   "whole batch at once, size=x.shape, not one image's worth.")
        if float(noise.std(axis=(1, 2)).max()) < 1e-9:
            raise _Verdict(FAILED, "all pixels of an image got the same noise value: draw one number "
                                   "per pixel, rng.normal(0.0, sigma, size=x.shape).")
        if abs(mean) > 0.01:
            raise _Verdict(FAILED, f"the noise averages {mean:+.4f} instead of 0: Gaussian noise is "
                                   "centred, N(0, sigma^2) — do not shift it (e.g. no abs(), "
                                   "no rng.random()).")
        if abs(std - sigma) > 0.05 * sigma:
            raise _Verdict(FAILED, f"the noise has standard deviation {std:.4f}, expected sigma = "
                                   f"{sigma}: use rng.normal(0.0, sigma, size=x.shape) (uniform "
                                   "noise or a different scale gives another spread).")
        black = np.zeros((200, 28, 28))
        case = "200 black images (every pixel 0) with sigma = 0.3"
        out = _run(fn, black, 0.3, 1, case)
        low, high = float(out.min()), float(out.max())
        if low < 0.0 or high > 1.0:
            raise _Verdict(FAILED, f"on {case}, the output ranges from {low:.3f} to {high:.3f}: "
                                   "clip the noisy images to the valid range with "
                                   "np.clip(x + noise, 0.0, 1.0).")
        expected = 0.3 / np.sqrt(2 * np.pi)
        if abs(float(out.mean()) - expected) > 0.01:
            raise _Verdict(FAILED, f"on {case}, the clipped output averages {out.mean():.4f}; "
                                   f"expected about {expected:.4f} (half the pixels pushed up, "
                                   "the other half clipped to 0): add N(0, sigma^2), then clip.")
        some = np.random.default_rng(5).random((3, 28, 28))
        case = "three random images with sigma = 0"
        if not np.allclose(_run(fn, some, 0.0, 2, case), some, atol=1e-6):
            raise _Verdict(FAILED, f"on {case}, the images should come back unchanged (no noise).")
        case = "the same images and the same seed, twice"
        first, second = _run(fn, grey[:4], 0.2, 7, case), _run(fn, grey[:4], 0.2, 7, case)
        if not np.array_equal(first, second):
            raise _Verdict(FAILED, "the same seed gave different noise: draw the noise from the `rng` "
                                   "argument (rng.normal(...)), not from np.random.normal, so a run "
                                   "can be repeated exactly.")
        return (f"correct: noise mean {mean:+.4f}, standard deviation {std:.4f} for sigma = {sigma}; "
                "clipped to [0, 1]; sigma = 0 changes nothing; the same seed gives the same noise.")

    return _statistical("gaussian_noise", body)


# ---------------------------------------------------------------------- salt and pepper


def salt_and_pepper(fn: Callable) -> CheckResult:
    """Check ``fn(x, amount, rng)``: a fraction ``amount`` of pixels set to 1 or 0, half each.

    On 200 grey images (every pixel 0.5) every output pixel must be 0, 0.5 or 1; the fraction
    changed must be ``amount`` (0.2, within 0.01) and half of the changed pixels salt (within
    0.03); ``amount = 0`` changes nothing, ``amount = 1`` every pixel; the same seed gives the
    same result.
    """
    if not callable(fn):
        return CheckResult("salt_and_pepper", FAILED, f"expected a function, got {type(fn).__name__}.")

    def body() -> str:
        grey = np.full((200, 28, 28), 0.5)
        amount = 0.2
        case = "200 grey images (every pixel 0.5) with amount = 0.2"
        out = _run(fn, grey, amount, 0, case)
        odd = ~(np.isclose(out, 0.0) | np.isclose(out, 0.5) | np.isclose(out, 1.0))
        if odd.any():
            raise _Verdict(FAILED, f"on {case}, {odd.mean():.1%} of the pixels have values other than "
                                   "0 (pepper), 1 (salt) or their old value: a hit pixel is set to "
                                   "exactly 0 or 1, the others are left alone.")
        changed = ~np.isclose(out, 0.5)
        fraction = float(changed.mean())
        if fraction == 0.0:
            raise _Verdict(FAILED, f"on {case}, no pixel changed: pick the hit pixels with "
                                   "rng.random(x.shape) < amount and set them to 0 or 1.")
        salt = float(np.isclose(out[changed], 1.0).mean())
        if abs(fraction - amount) > 0.01:
            if abs(fraction - (1 - (1 - amount) ** 2)) < 0.01 or abs(fraction - 2 * amount) < 0.01:
                raise _Verdict(FAILED, f"{fraction:.3f} of the pixels changed, expected {amount}: you "
                                       "chose the salt pixels and the pepper pixels separately, each "
                                       "with probability amount. Choose the hit pixels once "
                                       "(rng.random(x.shape) < amount), then split them into salt and "
                                       "pepper with a second coin.")
            if abs(fraction - amount / 2) < 0.01:
                raise _Verdict(FAILED, f"only {fraction:.3f} of the pixels changed, expected {amount}: "
                                       "the amount is the fraction of pixels hit in all (salt plus "
                                       "pepper), not each.")
            raise _Verdict(FAILED, f"{fraction:.3f} of the pixels changed, expected {amount}: each pixel "
                                   "is hit independently with probability amount.")
        if salt > 0.97:
            raise _Verdict(FAILED, "every changed pixel became 1 (salt): half of the hit pixels should "
                                   "become 0 (pepper) — split them with a second coin, "
                                   "rng.random(x.shape) < 0.5.")
        if salt < 0.03:
            raise _Verdict(FAILED, "every changed pixel became 0 (pepper): half of the hit pixels should "
                                   "become 1 (salt) — split them with a second coin, "
                                   "rng.random(x.shape) < 0.5.")
        if abs(salt - 0.5) > 0.03:
            raise _Verdict(FAILED, f"{salt:.1%} of the changed pixels are salt, expected half: split "
                                   "the hit pixels with a fair coin, rng.random(x.shape) < 0.5.")
        case = "amount = 0"
        if not np.allclose(_run(fn, grey[:5], 0.0, 1, case), grey[:5]):
            raise _Verdict(FAILED, "with amount = 0 the images should come back unchanged.")
        case = "amount = 1"
        every = _run(fn, grey[:5], 1.0, 2, case)
        if np.isclose(every, 0.5).any():
            raise _Verdict(FAILED, "with amount = 1 every pixel should become 0 or 1 (use < amount, "
                                   "not <= or a different threshold).")
        case = "the same images and the same seed, twice"
        if not np.array_equal(_run(fn, grey[:4], 0.3, 7, case), _run(fn, grey[:4], 0.3, 7, case)):
            raise _Verdict(FAILED, "the same seed gave a different result: draw the random numbers "
                                   "from the `rng` argument (rng.random(...)), not from np.random.")
        return (f"correct: {fraction:.3f} of the pixels changed for amount = {amount}, "
                f"{salt:.1%} of them salt; amount 0 and 1 behave; the same seed gives the same result.")

    return _statistical("salt_and_pepper", body)


# ---------------------------------------------------------------------- Tweedie's formula


def _tweedie_reference(y, mu, s, sigma):
    y = np.asarray(y, np.float64)
    score = -(y - mu) / (s**2 + sigma**2)  # d/dy log N(y; mu, s^2 + sigma^2)
    return y + sigma**2 * score


_TWEEDIE_CASES = [
    Case("no noise (sigma = 0): the observation is the answer", (np.array([0.3, 1.7]), 1.0, 0.5, 0.0)),
    Case("y = mu: nothing to correct", (np.array([2.0]), 2.0, 1.0, 0.7)),
    Case("prior N(0, 1), noise sigma = 1: halfway to the prior mean", (np.array([-2.0, 1.0, 4.0]), 0.0, 1.0, 1.0)),
    Case("prior N(1, 0.5^2), noise sigma = 0.2, five observations",
         (np.array([0.2, 0.8, 1.0, 1.3, 2.5]), 1.0, 0.5, 0.2)),
    Case("a narrow prior (s = 0.1) and strong noise (sigma = 2)", (np.array([-1.0, 3.0]), 0.5, 0.1, 2.0)),
]
_TWEEDIE_MISTAKES = [
    Mistake(lambda y, mu, s, sigma: np.asarray(y, np.float64) - sigma**2 * (np.asarray(y) - mu) / s**2,
            "you used the prior's variance s^2 in the score; the score is that of the *noisy* "
            "observations, whose density is N(mu, s^2 + sigma^2): "
            "d/dy log p(y) = -(y - mu) / (s^2 + sigma^2)."),
    Mistake(lambda y, mu, s, sigma: np.asarray(y, np.float64) + sigma**2 * (np.asarray(y) - mu) / (s**2 + sigma**2),
            "the sign of the score is wrong: log p(y) falls away from the mean, so its derivative "
            "is -(y - mu) / (s^2 + sigma^2), and the denoiser pulls y *towards* mu."),
    Mistake(lambda y, mu, s, sigma: np.asarray(y, np.float64) - sigma * (np.asarray(y) - mu) / (s**2 + sigma**2),
            "you multiplied the score by sigma; Tweedie's formula multiplies it by the noise "
            "variance: E[x | y] = y + sigma^2 * d/dy log p(y)."),
    Mistake(lambda y, mu, s, sigma: np.asarray(y, np.float64),
            "you returned the observation unchanged; add the correction sigma^2 * d/dy log p(y), "
            "with d/dy log p(y) = -(y - mu) / (s^2 + sigma^2)."),
]


def tweedie_denoiser(fn: Callable) -> CheckResult:
    """Check ``fn(y, mu, s, sigma) -> E[x | y]`` for ``x ~ N(mu, s^2)``, ``y = x + sigma * eps``.

    Tweedie's formula: ``E[x | y] = y + sigma^2 * d/dy log p(y)`` with ``p(y) = N(mu, s^2 +
    sigma^2)``, so ``E[x | y] = y - sigma^2 (y - mu) / (s^2 + sigma^2)``.
    """
    return check_function(
        fn, exercise="tweedie_denoiser", reference=_tweedie_reference, cases=_TWEEDIE_CASES,
        mistakes=_TWEEDIE_MISTAKES,
        hint="E[x | y] = y + sigma**2 * score, with score = -(y - mu) / (s**2 + sigma**2).",
    )


# ---------------------------------------------------------------------- MSE on the hole


def _hole_reference(x, x_hat, mask):
    x, x_hat, mask = np.asarray(x, np.float64), np.asarray(x_hat, np.float64), np.asarray(mask, bool)
    return np.mean((x_hat - x)[mask] ** 2)


_hrng = np.random.default_rng(4)
_hx = _hrng.random((3, 6, 6))
_hmask = np.zeros((3, 6, 6), bool)
_hmask[:, 1:4, 2:5] = True
_HOLE_CASES = [
    Case("one 2x2 image, one missing pixel",
         (np.array([[[0.0, 1.0], [0.5, 0.5]]]), np.array([[[0.0, 1.0], [0.5, 0.1]]]),
          np.array([[[False, False], [False, True]]]))),
    Case("three 6x6 images with a 3x3 hole, errors inside and outside the hole",
         (_hx, np.clip(_hx + _hrng.normal(scale=0.2, size=_hx.shape), 0, 1), _hmask)),
    Case("holes of different sizes in two images",
         (_hx[:2], _hx[:2] * 0.5, np.stack([_hmask[0], np.eye(6, dtype=bool)]))),
]
_HOLE_MISTAKES = [
    Mistake(lambda x, x_hat, mask: np.mean((np.asarray(x_hat, np.float64) - x) ** 2),
            "you averaged over the whole image; the hole MSE averages the squared error over the "
            "missing pixels only: np.mean((x_hat - x)[mask] ** 2)."),
    Mistake(lambda x, x_hat, mask: np.mean((np.asarray(x_hat, np.float64) - x)[~np.asarray(mask, bool)] ** 2),
            "you averaged over the known pixels; the mask is True where a pixel is *missing*: "
            "use (x_hat - x)[mask], not [~mask]."),
    Mistake(lambda x, x_hat, mask: np.sum((np.asarray(x_hat, np.float64) - x)[np.asarray(mask, bool)] ** 2),
            "you summed the squared errors; the MSE is their mean over the missing pixels "
            "(np.mean, not np.sum)."),
    Mistake(lambda x, x_hat, mask: np.mean(np.abs(np.asarray(x_hat, np.float64) - x)[np.asarray(mask, bool)]),
            "you averaged absolute errors; the MSE squares them: np.mean((x_hat - x)[mask] ** 2)."),
]


def hole_mse(fn: Callable) -> CheckResult:
    """Check ``fn(x, x_hat, mask) -> float``: the mean squared error over the pixels where ``mask``
    is True (the missing ones), pooled over all images."""
    return check_function(
        fn, exercise="hole_mse", reference=_hole_reference, cases=_HOLE_CASES,
        mistakes=_HOLE_MISTAKES, hint="np.mean((x_hat - x)[mask] ** 2).",
    )
