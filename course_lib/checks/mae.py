"""Checkers for the coding exercises of notebook 12 (attention and masked autoencoders).

- :func:`attention` — scaled dot-product attention: ``(softmax(q k^T / sqrt(d)) v, weights)``
  (what :func:`course_lib.attention.scaled_dot_product_attention` computes);
- :func:`random_masking` — the split of each image's patches into visible and hidden ones from
  given noise, and the inverse permutation that puts the tokens back in patch order (the
  convention of :func:`course_lib.mae.random_masking`, which draws the noise itself);
- :func:`masked_mse` — the masked autoencoder's loss: the per-patch mean squared error averaged
  over the hidden patches only (what :meth:`course_lib.mae.MaskedAutoencoder.masked_loss`
  computes).

The first two return tuples of arrays, checked part by part by
:func:`course_lib.checks.check_parts`, which names the part that is wrong.

In the notebook: ``from course_lib.checks import mae as check``, then
``check.attention(my_attention)`` as the last line of a cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.attention import scaled_dot_product_attention as _library_attention
from course_lib.checks import (
    Case,
    CheckResult,
    Mistake,
    check_function,
    check_parts,
    to_numpy,
)

__all__ = ["attention", "masked_mse", "random_masking"]

# --------------------------------------------------------------------------------------------
# Scaled dot-product attention
# --------------------------------------------------------------------------------------------


def _reference_attention(q, k, v):
    return tuple(to_numpy(t) for t in _library_attention(q, k, v))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _scores(q, k, scale):
    return np.matmul(q, np.swapaxes(k, -1, -2)) / scale


def _attend(weights, v):
    return np.matmul(weights, v), weights


def _attention_unscaled(q, k, v):
    return _attend(_softmax(_scores(q, k, 1.0)), v)


def _attention_over_d(q, k, v):
    return _attend(_softmax(_scores(q, k, q.shape[-1])), v)


def _attention_sqrt_dv(q, k, v):
    return _attend(_softmax(_scores(q, k, np.sqrt(v.shape[-1]))), v)


def _attention_query_axis(q, k, v):
    return _attend(_softmax(_scores(q, k, np.sqrt(q.shape[-1])), axis=-2), v)


def _attention_kq(q, k, v):  # fails whenever T_q != T_k
    return _attend(_softmax(np.matmul(k, np.swapaxes(q, -1, -2)) / np.sqrt(q.shape[-1])), v)


def _attention_kq_transposed_back(q, k, v):  # k q^T, softmax over its last axis (the queries)
    weights = _softmax(np.matmul(k, np.swapaxes(q, -1, -2)) / np.sqrt(q.shape[-1]))  # (..., T_k, T_q)
    return np.matmul(np.swapaxes(weights, -1, -2), v), weights


def _attention_no_softmax(q, k, v):
    return _attend(_scores(q, k, np.sqrt(q.shape[-1])), v)


def _attention_full_transpose(q, k, v):  # k.T reverses every axis: fails on batched inputs
    return _attend(_softmax(np.matmul(q, k.T) / np.sqrt(q.shape[-1])), v)


def _attention_swapped(q, k, v):
    out, weights = _reference_attention(q, k, v)
    return weights, out


def _attention_weights_transposed(q, k, v):
    out, weights = _reference_attention(q, k, v)
    return out, np.swapaxes(weights, -1, -2)


_RNG = np.random.default_rng(12)


def _qkv(*batch, t_q, t_k, d, d_v, scale=1.5):
    shapes = ((*batch, t_q, d), (*batch, t_k, d), (*batch, t_k, d_v))
    return tuple((scale * _RNG.normal(size=s)).astype(np.float32) for s in shapes)


_ATTENTION_CASES = [
    Case("4 queries and 4 keys (d = 3, d_v = 2)", _qkv(t_q=4, t_k=4, d=3, d_v=2)),
    Case("3 queries and 5 keys (d = 4, d_v = 2)", _qkv(t_q=3, t_k=5, d=4, d_v=2)),
    Case("a batch of 2 (3 queries, 5 keys, d = 4, d_v = 6)", _qkv(2, t_q=3, t_k=5, d=4, d_v=6)),
    Case("2 images x 2 heads (4 queries, 6 keys, d = 8, d_v = 3)", _qkv(2, 2, t_q=4, t_k=6, d=8, d_v=3)),
]


def attention(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(q, k, v)``: ``(softmax(q k^T / sqrt(d)) v, weights)``, the softmax over the keys.

    ``q (..., T_q, d)``, ``k (..., T_k, d)``, ``v (..., T_k, d_v)``; the output has shape
    ``(..., T_q, d_v)``, the weights ``(..., T_q, T_k)`` with rows summing to 1. Leading axes
    are batch axes. NumPy arrays or Keras tensors may be returned.
    """
    return check_parts(
        fn,
        exercise="attention",
        reference=_reference_attention,
        cases=_ATTENTION_CASES,
        parts=("out", "weights"),
        shapes=("(..., T_q, d_v): one value-sized vector per query",
                "(..., T_q, T_k): one row of weights over the keys per query"),
        why="The weights are what the notebook draws as attention maps.",
        mistakes=[
            Mistake(_attention_unscaled,
                    "you take the softmax of q k^T without scaling. Divide the scores by sqrt(d) (d = "
                    "q.shape[-1]): a dot product of d unit-variance numbers has variance d, and without the "
                    "scaling the softmax saturates as d grows."),
            Mistake(_attention_over_d,
                    "you divide the scores by d; the scale is sqrt(d) (d = q.shape[-1]), which brings the "
                    "variance d of a dot product back to 1. Dividing by d flattens the weights towards uniform."),
            Mistake(_attention_sqrt_dv,
                    "you scale by sqrt of the value size d_v = v.shape[-1]; the scale is sqrt(d), with d the "
                    "size of the queries and keys (q.shape[-1]) that the dot product sums over."),
            Mistake(_attention_query_axis,
                    "your softmax runs over the queries (axis -2), so each *column* of the weights sums to 1. "
                    "Each query distributes its attention over the keys: softmax over the last axis (keys), so "
                    "that every row (..., i, :) sums to 1."),
            Mistake(_attention_kq,
                    "you compute the scores as k q^T, of shape (..., T_k, T_q); they are q k^T, of shape "
                    "(..., T_q, T_k): row i holds query i's dot product with every key, and the softmax runs "
                    "along that row."),
            Mistake(_attention_kq_transposed_back,
                    "you compute the scores as k q^T, of shape (..., T_k, T_q), so your softmax over the last "
                    "axis normalises over the *queries*. The scores are q k^T, of shape (..., T_q, T_k): row i "
                    "holds query i's dot product with every key, and the softmax runs along that row (over "
                    "the keys)."),
            Mistake(_attention_no_softmax,
                    "your weights are the raw scaled scores; apply a softmax over the keys (last axis) so that "
                    "each query's weights are positive and sum to 1, then multiply by v."),
            Mistake(_attention_full_transpose,
                    "your function works on one sequence but not on batched inputs: `k.T` (like "
                    "keras.ops.transpose(k)) reverses *every* axis, batch axes included. Swap only the last "
                    "two: np.swapaxes(k, -1, -2) (keras.ops.swapaxes), and multiply with `@` / np.matmul, "
                    "which treats the leading axes as batch axes."),
            Mistake(_attention_swapped,
                    "you return (weights, out); the order is (out, weights): the attention output first, "
                    "then the weights."),
            Mistake(_attention_weights_transposed,
                    "your output is right but the weights you return are transposed, (..., T_k, T_q); return "
                    "them as computed, (..., T_q, T_k), one row per query."),
        ],
        hint="scores = q @ swapaxes(k, -1, -2) / sqrt(d); weights = softmax(scores, axis=-1); "
             "return weights @ v, weights.",
    )


# --------------------------------------------------------------------------------------------
# Random masking from given noise
# --------------------------------------------------------------------------------------------


def _split(shuffle, n_keep, restore=None):
    shuffle = np.asarray(shuffle)
    if restore is None:
        restore = np.argsort(shuffle, axis=1)
    return shuffle[:, :n_keep], shuffle[:, n_keep:], restore


def _reference_masking(noise, n_keep):
    return _split(np.argsort(noise, axis=1), n_keep)


def _masking_restore_is_shuffle(noise, n_keep):
    shuffle = np.argsort(noise, axis=1)
    return _split(shuffle, n_keep, restore=shuffle)


def _masking_restore_masked_first(noise, n_keep):
    keep, masked, _ = _reference_masking(noise, n_keep)
    return keep, masked, np.argsort(np.concatenate([masked, keep], axis=1), axis=1)


def _masking_batch_axis(noise, n_keep):
    keep, masked, _ = _split(np.argsort(noise, axis=0), n_keep)
    return keep, masked, None


def _masking_highest_first(noise, n_keep):
    keep, masked, _ = _split(np.argsort(-noise, axis=1), n_keep)
    return keep, masked, None


def _masking_highest_last(noise, n_keep):
    shuffle = np.argsort(noise, axis=1)
    return shuffle[:, shuffle.shape[1] - n_keep:], shuffle[:, :shuffle.shape[1] - n_keep], None


def _masking_sizes_swapped(noise, n_keep):
    keep, masked, _ = _split(np.argsort(noise, axis=1), noise.shape[1] - n_keep)
    return keep, masked, None


def _masking_shared(noise, n_keep):
    shuffle = np.broadcast_to(np.argsort(noise[0]), noise.shape)
    keep, masked, _ = _split(shuffle, n_keep)
    return keep, masked, None


def _masking_sorted_values(noise, n_keep):
    keep, masked, _ = _split(np.sort(noise, axis=1), n_keep)
    return keep, masked, None


def _masking_index_order(noise, n_keep):
    keep, masked, _ = _reference_masking(noise, n_keep)
    return np.sort(keep, axis=1), np.sort(masked, axis=1), None


_MASK_RNG = np.random.default_rng(120)
_MASKING_CASES = [
    Case("2 images of 6 patches (keep 2)", (_MASK_RNG.uniform(size=(2, 6)), 2)),
    Case("3 images of 8 patches (keep 3)", (_MASK_RNG.uniform(size=(3, 8)), 3)),
    Case("4 images of 16 patches (keep 4: mask ratio 0.75)", (_MASK_RNG.uniform(size=(4, 16)), 4)),
    Case("1 image of 5 patches (keep 1)", (_MASK_RNG.uniform(size=(1, 5)), 1)),
]


def random_masking(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(noise, n_keep)``: ``(keep, masked, restore)`` from noise ``(B, L)``.

    ``shuffle = argsort(noise, axis=1)`` (ascending noise); ``keep = shuffle[:, :n_keep]``,
    ``masked = shuffle[:, n_keep:]``, ``restore = argsort(shuffle, axis=1)``, the inverse
    permutation: ``take_along_axis(concatenate([keep, masked], 1), restore, 1)`` is ``arange(L)``
    in every row. The convention of :func:`course_lib.mae.random_masking`.
    """
    return check_parts(
        fn,
        exercise="random_masking",
        reference=_reference_masking,
        cases=_MASKING_CASES,
        parts=("keep", "masked", "restore"),
        shapes=("(B, n_keep): the visible patches of each image",
                "(B, L - n_keep): the hidden patches of each image",
                "(B, L): a permutation of 0 .. L-1 per image"),
        why="The encoder needs `keep`, the loss the hidden patches, the decoder `restore`.",
        mistakes=[
            Mistake(_masking_restore_is_shuffle,
                    "your `restore` is the shuffle itself (argsort of the noise); it must *undo* the shuffle: "
                    "restore = argsort(shuffle, axis=1), the inverse permutation, so that "
                    "take_along_axis(concatenate([keep, masked], 1), restore, 1) gives 0, 1, ..., L-1."),
            Mistake(_masking_restore_masked_first,
                    "your `restore` undoes the order [masked, keep]; the decoder lines its tokens up as "
                    "[keep, masked] (the encoded visible tokens, then the mask tokens): restore = "
                    "argsort(concatenate([keep, masked], 1), axis=1)."),
            Mistake(_masking_batch_axis,
                    "you sort along the batch axis (axis 0); each image's patches are sorted by their own "
                    "noise: argsort(noise, axis=1), along the patches."),
            Mistake(_masking_sizes_swapped,
                    "your `keep` and `masked` sizes are swapped: `keep` holds the n_keep visible patches "
                    "(shuffle[:, :n_keep]), `masked` the other L - n_keep."),
            Mistake(_masking_highest_first,
                    "you keep the patches with the *highest* noise. Any random split works as masking, but "
                    "the course keeps the n_keep *lowest* noise values (argsort ascending, first n_keep), as "
                    "course_lib.mae.random_masking does, so that your masks match the library's."),
            Mistake(_masking_highest_last,
                    "you keep the last n_keep patches of the ascending sort, those with the *highest* noise. "
                    "Any random split works as masking, but the course keeps the first n_keep (lowest noise), "
                    "as course_lib.mae.random_masking does, so that your masks match the library's."),
            Mistake(_masking_shared,
                    "every image gets the same mask (from the first row of the noise); each image must get its "
                    "own split from its own row: argsort(noise, axis=1) on the whole (B, L) array."),
            Mistake(_masking_sorted_values,
                    "you return the sorted noise *values*; the masks are patch *indices*: use argsort (which "
                    "patch has the smallest noise), not sort."),
            Mistake(_masking_index_order,
                    "your `keep` and `masked` hold the right patches but sorted by patch number; keep them in "
                    "argsort order (ascending noise), as course_lib.mae.random_masking does, with `restore` "
                    "the inverse of that order."),
        ],
        rtol=0, atol=0,
        hint="shuffle = np.argsort(noise, axis=1); restore = np.argsort(shuffle, axis=1).",
    )


# --------------------------------------------------------------------------------------------
# The masked autoencoder's loss
# --------------------------------------------------------------------------------------------


def _per_patch(pred, target):
    return ((np.asarray(pred, np.float64) - np.asarray(target, np.float64)) ** 2).mean(-1)  # (B, L)


def _masked_mse(pred, target, hidden):
    hidden = np.asarray(hidden, np.float64)
    return float((_per_patch(pred, target) * hidden).sum() / hidden.sum())


def _mse_all(pred, target, hidden):
    return float(_per_patch(pred, target).mean())


def _mse_visible(pred, target, hidden):
    return _masked_mse(pred, target, 1.0 - np.asarray(hidden, np.float64))


def _mse_sum_pixels(pred, target, hidden):
    return _masked_mse(pred, target, hidden) * np.shape(pred)[-1]


def _mse_over_all_patches(pred, target, hidden):
    hidden = np.asarray(hidden, np.float64)
    return float((_per_patch(pred, target) * hidden).sum() / hidden.size)


def _mse_summed(pred, target, hidden):
    return float((_per_patch(pred, target) * np.asarray(hidden, np.float64)).sum())


def _mse_absolute(pred, target, hidden):
    hidden = np.asarray(hidden, np.float64)
    per_patch = np.abs(np.asarray(pred, np.float64) - np.asarray(target, np.float64)).mean(-1)
    return float((per_patch * hidden).sum() / hidden.sum())


def _mse_per_image(pred, target, hidden):
    hidden = np.asarray(hidden, np.float64)
    return float(((_per_patch(pred, target) * hidden).sum(-1) / hidden.sum(-1)).mean())


def _hidden(rows):
    return np.array(rows, np.float32)


_LOSS_RNG = np.random.default_rng(121)


def _loss_case(b, length, p, hidden):
    return (_LOSS_RNG.normal(size=(b, length, p)).astype(np.float32),
            _LOSS_RNG.normal(size=(b, length, p)).astype(np.float32), hidden)


_LOSS_CASES = [
    Case("2 images of 4 patches x 3 pixels (3 hidden each)",
         _loss_case(2, 4, 3, _hidden([[1, 1, 0, 1], [0, 1, 1, 1]]))),
    Case("3 images of 6 patches x 4 pixels (2 hidden each)",
         _loss_case(3, 6, 4, _hidden([[1, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0]]))),
    Case("2 images of 5 patches x 2 pixels (1 and 4 hidden)",
         _loss_case(2, 5, 2, _hidden([[0, 0, 1, 0, 0], [1, 1, 0, 1, 1]]))),
]


def masked_mse(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(pred, target, hidden)``: the mean over hidden patches of the per-patch MSE.

    ``pred`` and ``target`` have shape ``(B, L, P)``, ``hidden`` ``(B, L)`` holds 1.0 for hidden
    patches, 0.0 for visible ones. The result is the scalar
    ``sum(mean((pred - target)**2, -1) * hidden) / sum(hidden)``.
    """
    return check_function(
        fn,
        exercise="masked_mse",
        reference=_masked_mse,
        cases=_LOSS_CASES,
        mistakes=[
            Mistake(_mse_all, "you average over all patches; the masked autoencoder is scored on the hidden "
                              "patches only (the visible ones are easy: the encoder saw them). Weight each "
                              "patch's error by `hidden` and divide by the number of hidden patches."),
            Mistake(_mse_visible, "you average over the *visible* patches: `hidden` is 1 for the hidden "
                                  "patches, the ones to predict — weight by `hidden`, not by 1 - hidden."),
            Mistake(_mse_sum_pixels, "you sum the squared errors over a patch's pixels; take their mean (over the "
                                     "last axis, P pixels), so the loss is a mean squared error per pixel."),
            Mistake(_mse_over_all_patches,
                    "you divide by the number of all patches (B * L); divide by the number of hidden "
                    "patches, sum(hidden), so the loss is a mean over the patches it scores."),
            Mistake(_mse_summed, "you return the sum of the hidden patches' errors; divide it by the number of "
                                 "hidden patches, sum(hidden), to get their mean."),
            Mistake(_mse_absolute, "you average absolute errors |pred - target|; the loss squares them: "
                                   "(pred - target) ** 2."),
            Mistake(_mse_per_image,
                    "you average per image first, then over the images; take one mean over all hidden patches "
                    "of the batch: sum of their errors / sum(hidden). (The two agree only when every image "
                    "hides the same number of patches, as in the MAE; the last case hides 1 and 4.)"),
        ],
        rtol=1e-4,
        hint="per_patch = ((pred - target) ** 2).mean(-1)  # (B, L); "
             "return (per_patch * hidden).sum() / hidden.sum().",
    )
