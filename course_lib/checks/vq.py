"""Checkers for the coding exercises of notebook 10 (VQ-VAE and its autoregressive prior).

- :func:`nearest_codes` — vector quantisation's assignment: the index of the nearest codebook
  row (squared Euclidean distance) for every vector of a grid (what
  :meth:`course_lib.vq.VectorQuantizer.nearest` computes);
- :func:`codebook_perplexity` — ``exp`` of the entropy of the code frequencies (what
  :func:`course_lib.vq.perplexity_and_usage` computes);
- :func:`causal_mask` — the 0/1 kernel mask of a raster-order masked convolution, type A or B
  (what :func:`course_lib.autoregressive.causal_mask` returns).

In the notebook: ``from course_lib.checks import vq as check``, then
``check.nearest_codes(my_nearest_codes)`` as the last line of a cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.autoregressive import causal_mask as _causal_mask
from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["causal_mask", "codebook_perplexity", "nearest_codes"]


# --------------------------------------------------------------------------------------------
# Nearest-code assignment
# --------------------------------------------------------------------------------------------


def _distances(z, codebook):
    z = np.asarray(z, np.float64)
    e = np.asarray(codebook, np.float64)
    return ((z[..., None, :] - e) ** 2).sum(-1)  # (..., K)


def _nearest(z, codebook):
    return _distances(z, codebook).argmin(-1)


def _farthest(z, codebook):
    return _distances(z, codebook).argmax(-1)


def _most_similar(z, codebook):
    return (np.asarray(z, np.float64) @ np.asarray(codebook, np.float64).T).argmax(-1)


def _flattened(z, codebook):
    return _nearest(z, codebook).reshape(-1)


def _nearest_l1(z, codebook):
    z, e = np.asarray(z, np.float64), np.asarray(codebook, np.float64)
    return np.abs(z[..., None, :] - e).sum(-1).argmin(-1)


def _nearest_vector(z, codebook):
    return np.asarray(codebook, np.float64)[_nearest(z, codebook)]


_RNG = np.random.default_rng(10)
# codebook rows of very different lengths: the largest dot product is then often not the nearest
_CODEBOOK = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0], [-2.0, -2.0], [0.5, 0.5]])
_NEAREST_CASES = [
    Case("3 vectors in 2-D, 5 codes of different lengths",
         (np.array([[0.2, 0.1], [2.0, 0.2], [-1.0, -1.5]]), _CODEBOOK)),
    Case("a 2 x 3 x 3 grid of 4-d vectors, 6 codes", (_RNG.normal(size=(2, 3, 3, 4)), _RNG.normal(size=(6, 4)) * [[1], [2], [0.5], [3], [1], [1.5]])),
    Case("vectors near codes far from the origin",
         (np.array([[[2.6, 0.3], [-1.7, -2.2]]]), _CODEBOOK)),
]


def nearest_codes(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(z, codebook)``: the index of the nearest codebook row for every vector of ``z``.

    ``z`` has shape ``(..., D)``, ``codebook`` ``(K, D)``; the result has shape ``z.shape[:-1]``
    and holds integers in ``0..K-1``, the argmin over ``k`` of ``||z - e_k||^2``.
    """
    return check_function(
        fn,
        exercise="nearest_codes",
        reference=_nearest,
        cases=_NEAREST_CASES,
        mistakes=[
            Mistake(_farthest, "you pick the code with the largest distance; the quantiser picks the "
                               "nearest one: argmin, not argmax."),
            Mistake(_most_similar,
                    "you pick the code with the largest dot product z·e_k; that is the nearest code only "
                    "when all codes have the same length. Use the squared distance "
                    "||z||² - 2 z·e_k + ||e_k||² (the ||e_k||² term matters) and take its argmin."),
            Mistake(_flattened, "your indices are flattened; return one index per vector, in the grid's "
                                "shape z.shape[:-1] (reshape the argmin back)."),
            Mistake(_nearest_l1, "you measure the distance with absolute differences (L1); the quantiser uses "
                                 "the squared Euclidean distance ||z - e_k||² = sum over d of (z_d - e_kd)²."),
            Mistake(_nearest_vector, "you return the nearest code *vectors*; the exercise asks for their "
                                     "indices (the integers k), which the decoder looks up in the codebook."),
        ],
        rtol=0, atol=0,
        hint="Compute the (..., K) squared distances to every code and take argmin over the last axis.",
    )


# --------------------------------------------------------------------------------------------
# Perplexity of the code frequencies
# --------------------------------------------------------------------------------------------


def _frequencies(codes, num_codes):
    counts = np.bincount(np.asarray(codes).reshape(-1), minlength=int(num_codes)).astype(np.float64)
    return counts / counts.sum()


def _entropy_nats(codes, num_codes):
    p = _frequencies(codes, num_codes)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def _perplexity(codes, num_codes):
    return float(np.exp(_entropy_nats(codes, num_codes)))


def _perplexity_entropy_only(codes, num_codes):
    return _entropy_nats(codes, num_codes)


def _perplexity_bits_exp(codes, num_codes):
    return float(np.exp(_entropy_nats(codes, num_codes) / np.log(2)))


def _perplexity_used_count(codes, num_codes):
    return float(len(np.unique(np.asarray(codes))))


def _perplexity_over_k(codes, num_codes):
    return _perplexity(codes, num_codes) / num_codes


def _perplexity_zeros_kept(codes, num_codes):
    p = _frequencies(codes, num_codes)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.exp(-(p * np.log(p)).sum()))


def _perplexity_divided_by_k(codes, num_codes):
    counts = np.bincount(np.asarray(codes).reshape(-1), minlength=int(num_codes)) / num_codes
    counts = counts[counts > 0]
    return float(np.exp(-(counts * np.log(counts)).sum()))


def _perplexity_sign(codes, num_codes):
    return 1.0 / _perplexity(codes, num_codes)


def _perplexity_two_to_nats(codes, num_codes):
    return float(2.0 ** _entropy_nats(codes, num_codes))


_PERPLEXITY_CASES = [
    Case("every one of 8 codes used equally", (np.tile(np.arange(8), 5).reshape(5, 2, 4), 8)),
    Case("one code takes half, 4 share the rest, 3 unused", (np.array([0] * 8 + [1, 2, 3, 4] * 2).reshape(4, 2, 2), 8)),
    Case("a 3 x 7 x 7 grid of codes from 64, skewed",
         (np.minimum(np.random.default_rng(3).geometric(0.15, size=(3, 7, 7)) - 1, 63), 64)),
]


def codebook_perplexity(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(codes, num_codes)``: ``exp(-sum_k p_k ln p_k)`` of the code frequencies ``p_k``.

    ``codes`` is an integer array of any shape (every position counts once); ``p_k`` is the
    fraction of positions holding code ``k`` (unused codes contribute 0).
    """
    return check_function(
        fn,
        exercise="codebook_perplexity",
        reference=_perplexity,
        cases=_PERPLEXITY_CASES,
        mistakes=[
            Mistake(_perplexity_entropy_only, "you return the entropy; the perplexity is its exponential, "
                                              "exp(H) — the number of equally used codes with the same entropy."),
            Mistake(_perplexity_bits_exp, "you exponentiate an entropy in bits with e; use the same base for "
                                          "both: exp of the entropy in nats, or 2 ** (entropy in bits)."),
            Mistake(_perplexity_used_count, "you count the codes that are used; that is the usage. The "
                                            "perplexity weighs them by frequency: exp(-sum p_k ln p_k)."),
            Mistake(_perplexity_over_k, "you divide by the codebook size; the perplexity is a number of "
                                        "codes (between 1 and K), not a fraction."),
            Mistake(_perplexity_zeros_kept, "you get nan: an unused code has p_k = 0, and 0 * log 0 is nan in NumPy; "
                                            "it counts 0 — drop the zeros (p = p[p > 0]) before the log."),
            Mistake(_perplexity_divided_by_k, "your frequencies are counts divided by the codebook size; p_k is the "
                                              "fraction of *positions* holding code k: divide by codes.size (they "
                                              "must sum to 1)."),
            Mistake(_perplexity_sign, "you return exp(+sum p ln p) = 1 / perplexity; the entropy is "
                                      "-sum p_k ln p_k, with the minus sign."),
            Mistake(_perplexity_two_to_nats, "you raise 2 to an entropy in nats; use the same base for both: "
                                             "exp of the entropy in nats, or 2 ** (entropy in bits)."),
        ],
        rtol=1e-6,
        hint="p = np.bincount(codes.ravel(), minlength=num_codes) / codes.size; drop the zeros before the log.",
    )


# --------------------------------------------------------------------------------------------
# The causal mask of a masked convolution
# --------------------------------------------------------------------------------------------


def _mask_swapped(kernel_size, mask_type):
    return _causal_mask(kernel_size, "B" if mask_type == "A" else "A")


def _mask_whole_centre_row(kernel_size, mask_type):
    mask = _causal_mask(kernel_size, mask_type)
    c = kernel_size // 2
    mask[c, c + 1:] = 1.0
    return mask


def _mask_rows_above_only(kernel_size, mask_type):
    mask = _causal_mask(kernel_size, mask_type)
    c = kernel_size // 2
    mask[c, :c] = 0.0
    return mask


def _mask_transposed(kernel_size, mask_type):
    return _causal_mask(kernel_size, mask_type).T


def _mask_always_b(kernel_size, mask_type):
    return _causal_mask(kernel_size, "B")


def _mask_always_a(kernel_size, mask_type):
    return _causal_mask(kernel_size, "A")


def _mask_upside_down(kernel_size, mask_type):
    return _causal_mask(kernel_size, mask_type)[::-1]


def _mask_mirrored(kernel_size, mask_type):
    return _causal_mask(kernel_size, mask_type)[:, ::-1]


_MASK_CASES = [Case(f"kernel {k}, mask {t}", (k, t)) for k in (3, 5, 7) for t in ("A", "B")]


def causal_mask(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(kernel_size, mask_type)``: the ``(k, k)`` 0/1 mask of a raster-order masked conv.

    Rows above the centre are 1, on the centre row the positions left of the centre are 1,
    everything after the centre is 0; the centre itself is 0 for mask ``"A"`` and 1 for ``"B"``.
    """
    return check_function(
        fn,
        exercise="causal_mask",
        reference=_causal_mask,
        cases=_MASK_CASES,
        mistakes=[
            Mistake(_mask_swapped, "your masks A and B are swapped: the first layer (A) must not see the "
                                   "centre — the code it predicts — and later layers (B) may see their own "
                                   "position's features."),
            Mistake(_mask_whole_centre_row, "your mask keeps the whole centre row; the positions right of the "
                                            "centre come later in raster order and must be 0."),
            Mistake(_mask_rows_above_only, "your mask drops the positions left of the centre on its row; they "
                                           "come earlier in raster order and may be seen (1)."),
            Mistake(_mask_always_b, "your mask is the same for A and B (always B's): A must hide the centre "
                                    "(0), B keeps it (1) — check mask_type."),
            Mistake(_mask_always_a, "your mask is the same for A and B (always A's): B keeps the centre (1), "
                                    "A hides it (0) — check mask_type."),
            Mistake(_mask_upside_down, "your mask keeps the rows *below* the centre; row 0 is the top and earlier "
                                       "rows are above: mask[:c] = 1."),
            Mistake(_mask_mirrored, "your mask keeps the centre row *right* of the centre; earlier positions are "
                                    "to the left: mask[c, :c] = 1."),
            Mistake(_mask_transposed, "your mask reads the grid column by column; raster order is row by row: "
                                      "rows above the centre are 1, then the left part of the centre row."),
        ],
        rtol=0, atol=0,
        hint="Start from zeros((k, k)); set the rows above the centre, then the centre row left of the centre.",
    )
