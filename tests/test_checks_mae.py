"""Notebook 12's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from course_lib import attention as attention_lib
from course_lib import mae
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import mae as check


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 12) -------------------

def attention_numpy(q, k, v):
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)  # (..., T_q, T_k)
    scores = scores - scores.max(-1, keepdims=True)  # for numerical stability
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    return weights @ v, weights


def attention_keras(q, k, v):
    d = q.shape[-1]
    scores = ops.matmul(q, ops.swapaxes(k, -1, -2)) / np.sqrt(d)
    weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, v), weights


def masking(noise, n_keep):
    shuffle = np.argsort(noise, axis=1)  # (B, L): patches by ascending noise
    restore = np.argsort(shuffle, axis=1)  # the inverse permutation
    return shuffle[:, :n_keep], shuffle[:, n_keep:], restore


def masking_keras(noise, n_keep):
    shuffle = ops.argsort(noise, axis=1)
    return [shuffle[:, :n_keep], shuffle[:, n_keep:], ops.argsort(shuffle, axis=1)]  # a list is fine too


def masked_mse_numpy(pred, target, hidden):
    per_patch = ((pred - target) ** 2).mean(-1)  # (B, L)
    return (per_patch * hidden).sum() / hidden.sum()


def masked_mse_keras(pred, target, hidden):
    per_patch = ops.mean((pred - target) ** 2, axis=-1)
    return ops.sum(per_patch * hidden) / ops.sum(hidden)


ANSWERS = [(check.attention, attention_numpy), (check.attention, attention_keras),
           (check.random_masking, masking), (check.random_masking, masking_keras), (check.masked_mse, masked_mse_numpy),
           (check.masked_mse, masked_mse_keras)]


@pytest.mark.parametrize("checker, answer", ANSWERS)
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, str(result)
    assert str(result).startswith("✓ ")
    stub = checker(_stub)
    assert stub.status == NOT_ATTEMPTED and "not attempted yet" in str(stub)


def test_the_answers_agree_with_course_lib():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=s).astype("float32") for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6)))
    out, weights = attention_lib.scaled_dot_product_attention(q, k, v)
    mine = attention_numpy(q, k, v)
    np.testing.assert_allclose(mine[0], ops.convert_to_numpy(out), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mine[1], ops.convert_to_numpy(weights), rtol=1e-5, atol=1e-6)

    # random_masking draws uniform noise with its seed: the same noise given to the answer
    noise = ops.convert_to_numpy(keras.random.uniform((3, 16), seed=7))
    library = mae.random_masking(3, 16, 0.75, seed=7)
    for got, want in zip(masking(noise, 4), library, strict=True):
        np.testing.assert_array_equal(got, ops.convert_to_numpy(want))
    keep, masked, restore = masking(noise, 4)
    np.testing.assert_array_equal(np.take_along_axis(np.concatenate([keep, masked], 1), restore, 1),
                                  np.tile(np.arange(16), (3, 1)))

    model = mae.MaskedAutoencoder(image_shape=(8, 8, 1), patch_size=4, dim=8, depth=1, num_heads=1,
                                  decoder_dim=8, decoder_depth=1, decoder_heads=1, mask_ratio=0.5)
    x = rng.uniform(size=(3, 8, 8, 1)).astype("float32")
    pred = rng.normal(size=(3, 4, 16)).astype("float32")
    keep = np.array([[0, 2], [3, 1], [1, 2]])
    hidden = ops.convert_to_numpy(model.hidden_patches(keep, 3))
    target = ops.convert_to_numpy(model.targets(x))
    assert masked_mse_numpy(pred, target, hidden) == pytest.approx(
        float(model.masked_loss(x, pred, keep)), rel=1e-5)


# --- attention -------------------------------------------------------------------------------

def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _attention_with(scale=lambda q, k, v: np.sqrt(q.shape[-1]), axis=-1, softmax=True):
    def wrong(q, k, v):
        scores = q @ np.swapaxes(k, -1, -2) / scale(q, k, v)
        weights = _softmax(scores, axis) if softmax else scores
        return weights @ v, weights
    return wrong


def _kq(q, k, v):
    weights = _softmax(k @ np.swapaxes(q, -1, -2) / np.sqrt(q.shape[-1]))
    return weights @ v, weights


def _kq_transposed_back(q, k, v):
    weights = _softmax(k @ np.swapaxes(q, -1, -2) / np.sqrt(q.shape[-1]))  # (..., T_k, T_q)
    return np.swapaxes(weights, -1, -2) @ v, weights


def _kq_keras(q, k, v):
    weights = ops.softmax(ops.matmul(k, ops.swapaxes(q, -1, -2)) / np.sqrt(q.shape[-1]))
    return ops.matmul(weights, v), weights


def _full_transpose_keras(q, k, v):
    weights = ops.softmax(ops.matmul(q, ops.transpose(k)) / np.sqrt(q.shape[-1]))
    return ops.matmul(weights, v), weights


@pytest.mark.parametrize("wrong, message", [
    (_attention_with(scale=lambda q, k, v: 1.0), "without scaling"),
    (_attention_with(scale=lambda q, k, v: q.shape[-1]), "divide the scores by d;"),
    (_attention_with(scale=lambda q, k, v: np.sqrt(v.shape[-1])), "value size d_v"),
    (_attention_with(axis=-2), "over the queries (axis -2)"),
    (_kq_transposed_back, "normalises over the *queries*"),
    (_kq, "k q^T"),
    (_kq_keras, "k q^T"),
    (_attention_with(softmax=False), "raw scaled scores"),
    (lambda q, k, v: tuple(reversed(attention_numpy(q, k, v))), "you return (weights, out)"),
    (lambda q, k, v: (attention_numpy(q, k, v)[0], np.swapaxes(attention_numpy(q, k, v)[1], -1, -2)),
     "weights you return are transposed"),
    (_full_transpose_keras, "reverses *every* axis"),
])
def test_attention_mistakes_are_explained(wrong, message):
    result = check.attention(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_attention_mistake_that_crashes_says_where():
    result = check.attention(_kq)
    assert "That is also why your function fails on 3 queries and 5 keys (d = 4, d_v = 2) with ValueError" in result.message


def test_attention_returning_only_the_output_is_explained():
    result = check.attention(lambda q, k, v: attention_numpy(q, k, v)[0])
    assert result.status == FAILED, str(result)
    assert "only `out` (and it is right)" in result.message and "(out, weights)" in result.message
    result = check.attention(lambda q, k, v: q)
    assert "a single array" in result.message, str(result)
    result = check.attention(lambda q, k, v: (*attention_numpy(q, k, v), None))
    assert "returns 3 values" in result.message, str(result)


def test_attention_wrong_shape_names_the_part_and_its_shape():
    result = check.attention(lambda q, k, v: (attention_numpy(q, k, v)[0].mean(-1), attention_numpy(q, k, v)[1]))
    assert result.status == FAILED and "`out` has shape (4,)" in result.message, str(result)
    assert "should have shape (4, 2), that is (..., T_q, d_v)" in result.message


def test_an_unrecognised_wrong_answer_names_the_case_and_the_part():
    result = check.attention(lambda q, k, v: (attention_numpy(q, k, v)[0] + 0.1, attention_numpy(q, k, v)[1]))
    assert result.status == FAILED, str(result)
    assert "on 4 queries and 4 keys (d = 3, d_v = 2)," in result.message and "`out` should be" in result.message
    assert "(4 of 4 cases differ.)" in result.message and "softmax(scores, axis=-1)" in result.message


def test_a_crash_in_the_learners_code_is_reported_with_its_line():
    def broken(q, k, v):
        return q @ k  # (T_q, d) @ (T_k, d): the shapes do not fit
    result = check.attention(broken)
    assert result.status == FAILED, str(result)
    assert result.message.startswith("on 4 queries and 4 keys (d = 3, d_v = 2), your function raised ValueError (line ")


# --- random masking --------------------------------------------------------------------------

def _from_shuffle(shuffle, n_keep):
    return shuffle[:, :n_keep], shuffle[:, n_keep:], np.argsort(shuffle, axis=1)


def _restore_masked_first(noise, n_keep):
    keep, masked, _ = masking(noise, n_keep)
    return keep, masked, np.argsort(np.concatenate([masked, keep], 1), axis=1)


def _sorted_by_index(noise, n_keep):
    keep, masked, _ = masking(noise, n_keep)
    keep, masked = np.sort(keep, 1), np.sort(masked, 1)
    return keep, masked, np.argsort(np.concatenate([keep, masked], 1), axis=1)


@pytest.mark.parametrize("wrong, message", [
    (lambda noise, n: (*masking(noise, n)[:2], np.argsort(noise, axis=1)), "is the shuffle itself"),
    (_restore_masked_first, "undoes the order [masked, keep]"),
    (lambda noise, n: _from_shuffle(np.argsort(noise, axis=0), n), "batch axis (axis 0)"),
    (lambda noise, n: _from_shuffle(np.argsort(noise, axis=0), n)[:2] + (np.argsort(noise, 1),),
     "batch axis (axis 0)"),
    (lambda noise, n: _from_shuffle(np.argsort(-noise, axis=1), n), "*highest* noise"),
    (lambda noise, n: _from_shuffle(np.argsort(noise, axis=1)[:, ::-1], n), "*highest* noise"),
    (lambda noise, n: _from_shuffle(np.argsort(noise, axis=1), noise.shape[1] - n), "sizes are swapped"),
    (lambda noise, n: _from_shuffle(np.tile(np.argsort(noise[0]), (len(noise), 1)), n), "same mask"),
    (lambda noise, n: _from_shuffle(np.sort(noise, axis=1), n), "sorted noise *values*"),
    (_sorted_by_index, "sorted by patch number"),
])
def test_random_masking_mistakes_are_explained(wrong, message):
    result = check.random_masking(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_random_masking_highest_noise_explains_the_convention():
    def highest_last(noise, n):
        shuffle = np.argsort(noise, axis=1)
        rest = noise.shape[1] - n
        return shuffle[:, rest:], shuffle[:, :rest], np.argsort(np.concatenate([shuffle[:, rest:], shuffle[:, :rest]], 1), 1)
    result = check.random_masking(highest_last)
    assert result.status == FAILED and "Any random split works" in result.message, str(result)
    assert "course_lib.mae.random_masking" in result.message


def test_random_masking_unknown_restore_mistake_names_restore():
    result = check.random_masking(lambda noise, n: (*masking(noise, n)[:2], masking(noise, n)[2][:, ::-1]))
    assert result.status == FAILED and "`restore` should be" in result.message, str(result)


# --- masked MSE ------------------------------------------------------------------------------

def _per_patch(pred, target):
    return ((pred - target) ** 2).mean(-1)


@pytest.mark.parametrize("wrong, message", [
    (lambda p, t, h: ((p - t) ** 2).mean(), "average over all patches"),
    (lambda p, t, h: (_per_patch(p, t) * (1 - h)).sum() / (1 - h).sum(), "*visible* patches"),
    (lambda p, t, h: (((p - t) ** 2).sum(-1) * h).sum() / h.sum(), "sum the squared errors"),
    (lambda p, t, h: (_per_patch(p, t) * h).sum() / h.size, "(B * L)"),
    (lambda p, t, h: (_per_patch(p, t) * h).mean(), "(B * L)"),
    (lambda p, t, h: (_per_patch(p, t) * h).sum(), "return the sum"),
    (lambda p, t, h: (np.abs(p - t).mean(-1) * h).sum() / h.sum(), "absolute errors"),
    (lambda p, t, h: ((_per_patch(p, t) * h).sum(-1) / h.sum(-1)).mean(), "per image first"),
])
def test_masked_mse_mistakes_are_explained(wrong, message):
    result = check.masked_mse(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_masked_mse_per_patch_array_is_a_shape_error():
    result = check.masked_mse(lambda p, t, h: _per_patch(p, t) * h)
    assert result.status == FAILED and "should have shape ()" in result.message, str(result)
