"""Notebook 11's exercise checkers accept the reference answers and explain plausible mistakes."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from course_lib import likelihoods, seqvae
from course_lib.checks import FAILED, NOT_ATTEMPTED, PASSED
from course_lib.checks import sequence as check
from course_lib.text import BOS, EOS, PAD, UNK


def _stub(*args, **kwargs):
    raise NotImplementedError


# --- the answers a learner would write (the worked answers of notebook 11) -------------------

def token_nll_numpy(targets, log_probs):
    picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]  # (B, T)
    return -(picked * (targets != 0)).sum(-1)


def token_nll_keras(targets, log_probs):
    targets = ops.cast(targets, "int32")
    picked = ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(targets, -1), axis=-1), -1)
    return -ops.sum(picked * ops.cast(ops.not_equal(targets, 0), picked.dtype), axis=-1)


def free_bits_numpy(kl_per_dim, free_bits):
    kl_d = kl_per_dim.mean(0)  # (d,): each dimension's batch-average KL
    return np.maximum(kl_d, free_bits).sum()


def free_bits_keras(kl_per_dim, free_bits):
    return ops.sum(ops.maximum(ops.mean(kl_per_dim, axis=0), free_bits))


def token_dropout_numpy(ids, rate, u):
    drop = (u < rate) & (ids != 0) & (ids != 2)  # never BOS or padding
    return np.where(drop, 1, ids)


def token_dropout_copy(ids, rate, u):
    out = ids.copy()
    out[(u < rate) & (ids != PAD) & (ids != BOS)] = UNK
    return out


def token_dropout_keras(ids, rate, u):
    drop = ops.logical_and(ops.logical_and(u < rate, ops.not_equal(ids, PAD)), ops.not_equal(ids, BOS))
    return ops.where(drop, UNK, ids)


ANSWERS = [(check.masked_token_nll, token_nll_numpy), (check.masked_token_nll, token_nll_keras),
           (check.free_bits_kl, free_bits_numpy), (check.free_bits_kl, free_bits_keras),
           (check.token_dropout, token_dropout_numpy), (check.token_dropout, token_dropout_copy),
           (check.token_dropout, token_dropout_keras)]


@pytest.mark.parametrize("checker, answer", ANSWERS)
def test_reference_answers_pass_and_stubs_are_not_attempted(checker, answer):
    result = checker(answer)
    assert result.status == PASSED, str(result)
    assert str(result).startswith("✓ ")
    stub = checker(_stub)
    assert stub.status == NOT_ATTEMPTED and "not attempted yet" in str(stub)


def test_a_non_function_is_refused():
    for checker in (check.masked_token_nll, check.free_bits_kl, check.token_dropout):
        result = checker(3)
        assert result.status == FAILED and "expected a function" in result.message, str(result)


def test_the_answers_agree_with_course_lib():
    rng = np.random.default_rng(0)
    # token_nll takes logits; the exercise takes their log-softmax
    ids = np.array([[BOS, 5, 6, 7, EOS, PAD, PAD], [BOS, 4, EOS, PAD, PAD, PAD, PAD],
                    [BOS, 8, 9, 4, 5, 6, EOS]], np.int32)
    targets = ids[:, 1:]
    logits = rng.normal(scale=2.0, size=(3, 6, 10)).astype("float32")
    log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
    nll, tokens = seqvae.token_nll(targets, logits)
    np.testing.assert_allclose(token_nll_numpy(targets, log_probs), ops.convert_to_numpy(nll), rtol=1e-5)
    np.testing.assert_array_equal(ops.convert_to_numpy(tokens), [4, 2, 6])
    # the same sentences padded to a longer T: the same NLL (padding contributes exactly 0)
    padded_t = np.pad(targets, ((0, 0), (0, 3)))
    padded_lp = np.concatenate([log_probs, ops.convert_to_numpy(
        ops.log_softmax(rng.normal(size=(3, 3, 10)).astype("float32"), axis=-1))], axis=1)
    np.testing.assert_allclose(token_nll_numpy(padded_t, padded_lp), token_nll_numpy(targets, log_probs),
                               rtol=1e-6)

    # free bits: SentenceVAE.compute_loss's KL term = loss - mean NLL (KL weight = beta = 1)
    encoder = seqvae.sentence_encoder(10, 3, embed_dim=4, units=4)
    decoder = seqvae.sentence_decoder(10, 3, embed_dim=4, units=4)
    mean = rng.normal(scale=[[1.5, 0.3, 0.05]], size=(3, 3)).astype("float32")
    log_var = rng.normal(scale=0.3, size=(3, 3)).astype("float32")
    y_pred = {"mean": mean, "log_var": log_var, "logits": logits}
    kl_per_dim = ops.convert_to_numpy(likelihoods.kl_per_dimension(mean, log_var)).astype(np.float64)
    nll_mean = float(ops.mean(nll))
    for free_bits in (0.0, 0.1, 0.5):
        model = seqvae.SentenceVAE(encoder, decoder, free_bits=free_bits)
        kl_term = float(model.compute_loss(x=ids, y_pred=y_pred)) - nll_mean
        assert free_bits_numpy(kl_per_dim, free_bits) == pytest.approx(kl_term, rel=1e-4, abs=1e-5)

    # TokenDropout draws u with its seed: the same u given to the answer
    many = np.tile(ids, (20, 1))
    layer = seqvae.TokenDropout(0.4, seed=3)
    dropped = ops.convert_to_numpy(layer(many, training=True))
    u = ops.convert_to_numpy(keras.random.uniform(many.shape, seed=keras.random.SeedGenerator(3)))
    np.testing.assert_array_equal(token_dropout_numpy(many, 0.4, u), dropped)
    assert (dropped == UNK).any() and (dropped[:, 0] == BOS).all() and (dropped[many == PAD] == PAD).all()
    assert ((dropped == UNK) & (many == EOS)).any()  # EOS is droppable, like the words


# --- masked token NLL ------------------------------------------------------------------------

def _picked(t, lp):
    return np.take_along_axis(lp, t[..., None], axis=-1)[..., 0]


@pytest.mark.parametrize("wrong, message", [
    (lambda t, lp: -_picked(t, lp).sum(-1), "padding included"),
    (lambda t, lp: token_nll_numpy(t, lp) / (t != 0).sum(-1), "you average over the real tokens"),
    (lambda t, lp: token_nll_numpy(t, lp) / t.shape[1], "divide the masked sum by T"),
    (lambda t, lp: -_picked(t, lp).mean(-1), "you average over all T positions"),
    (lambda t, lp: token_nll_numpy(t, lp).sum(), "(the sum over sentences)"),
    (lambda t, lp: token_nll_numpy(t, lp).mean(), "(the mean over sentences)"),
    (lambda t, lp: -_picked(t, lp).sum(), "you sum over everything"),
    (lambda t, lp: -token_nll_numpy(t, lp), "NLL is its negative"),
    (lambda t, lp: -(np.exp(_picked(t, lp)) * (t != 0)).sum(-1), "you sum probabilities"),
    (lambda t, lp: ((1 - np.exp(_picked(t, lp))) * (t != 0)).sum(-1), "you sum 1 - p"),
    (lambda t, lp: token_nll_numpy(t[:, 1:], lp[:, :-1]), "against targets[:, t + 1]"),
    (lambda t, lp: token_nll_numpy(t[:, :-1], lp[:, 1:]), "position t + 1 against targets[:, t]"),
    (lambda t, lp: -(_picked(t, lp) * ((t != 0) & (t != EOS))).sum(-1), "you leave out the EOS"),
])
def test_masked_token_nll_mistakes_are_explained(wrong, message):
    result = check.masked_token_nll(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_an_unrecognised_padding_bug_is_pointed_out():
    def pads_count_a_little(t, lp):  # masks padding but adds 0.01 per position
        return token_nll_numpy(t, lp) + 0.01 * t.shape[1]
    result = check.masked_token_nll(pads_count_a_little)
    assert result.status == FAILED, str(result)
    assert result.message.startswith("on 3 sentences of 5, 3 and 1 words + EOS, T = 6, expected")
    assert "Padding changes your result: the same sentences give 19.67, 4.998, 7.466 at T = 6" in result.message
    assert "exactly 0" in result.message

    result = check.masked_token_nll(lambda t, lp: token_nll_numpy(t, lp) * 1.1)  # padding-invariant
    assert result.status == FAILED and "Padding changes" not in result.message, str(result)
    assert "take_along_axis" in result.message  # the hint


# --- free bits -------------------------------------------------------------------------------

@pytest.mark.parametrize("wrong, message", [
    (lambda k, f: np.maximum(k, f).mean(0).sum(), "before averaging over the batch"),
    (lambda k, f: max(k.mean(0).sum(), f), "you clamp the total KL (max(sum"),
    (lambda k, f: max(k.mean(0).sum(), k.shape[1] * f), "at d * free_bits"),
    (lambda k, f: np.maximum(k.sum(1), f).mean(), "each example's total KL"),
    (lambda k, f: np.minimum(k.mean(0), f).sum(), "it is the maximum"),
    (lambda k, f: np.maximum(k.mean(0) - f, 0).sum(), "same gradients"),
    (lambda k, f: k.mean(0).sum(), "never use free_bits"),
    (lambda k, f: np.maximum(k.sum(0), f).sum(), "sum over the batch instead of averaging"),
    (lambda k, f: np.maximum(k.mean(0), f), "shape (d,)"),
    (lambda k, f: np.maximum(k.mean(0), f).mean(), "sum them"),
    (lambda k, f: np.maximum(k.mean(1), f).sum(), "the other way round"),
    (lambda k, f: np.maximum(k.mean(0), f * np.log(2)).sum(), "already in nats"),
])
def test_free_bits_mistakes_are_explained(wrong, message):
    result = check.free_bits_kl(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_free_bits_hinge_variant_explains_the_difference():
    result = check.free_bits_kl(lambda k, f: np.maximum(k.mean(0) - f, 0).sum())
    assert "d * free_bits" in result.message and "upper bound on -ELBO" in result.message, str(result)


# --- token dropout ---------------------------------------------------------------------------

def _dropout(ids, rate, u, protect=(PAD, BOS), by=UNK):
    return np.where((u < rate) & ~np.isin(ids, protect), by, ids)


def _in_place(ids, rate, u):
    ids[(u < rate) & (ids != PAD) & (ids != BOS)] = UNK
    return ids


def _in_place_and_bos(ids, rate, u):
    ids[(u < rate) & (ids != PAD)] = UNK
    return ids


@pytest.mark.parametrize("wrong, message", [
    (lambda i, r, u: _dropout(i, r, u, protect=(PAD,)), "you replace BOS too"),
    (lambda i, r, u: _dropout(i, r, u, protect=(BOS,)), "you replace padding (id 0)"),
    (lambda i, r, u: _dropout(i, r, u, protect=()), "BOS and padding included"),
    (lambda i, r, u: _dropout(i, r, u, by=PAD), "with PAD (0); replace them with UNK (1)"),
    (lambda i, r, u: np.where((u >= r) & (i != PAD) & (i != BOS), UNK, i), "you keep a fraction `rate`"),
    (lambda i, r, u: np.where((u > r) & (i != PAD) & (i != BOS), UNK, i), "you keep a fraction `rate`"),
    (lambda i, r, u: _dropout(i, r, u, protect=(PAD, BOS, EOS)), "you never drop EOS"),
    (lambda i, r, u: (u < r) & (i != PAD) & (i != BOS), "drop mask"),
    (lambda i, r, u: i, "unchanged"),
])
def test_token_dropout_mistakes_are_explained(wrong, message):
    result = check.token_dropout(wrong)
    assert result.status == FAILED and message in result.message, str(result)


def test_token_dropout_in_place_is_refused_even_when_the_result_is_right():
    result = check.token_dropout(_in_place)
    assert result.status == FAILED, str(result)
    assert result.message.startswith("your result is right, but you change the caller's `ids` array in place")
    result = check.token_dropout(_in_place_and_bos)
    assert result.status == FAILED, str(result)
    assert "you replace BOS too" in result.message and "Also, you change the caller's" in result.message


def test_token_dropout_names_the_case_and_position_of_an_unrecognised_bug():
    result = check.token_dropout(lambda i, r, u: np.where((u < r / 2) & (i != PAD) & (i != BOS), UNK, i))
    assert result.status == FAILED, str(result)
    assert result.message.startswith("on 3 sentences (4, 2 and 6 words), T = 8, rate 0.5, expected")
    assert "The first difference is at index" in result.message and "np.where(drop, 1, ids)" in result.message
