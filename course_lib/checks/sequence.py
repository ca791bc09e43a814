"""Checkers for the coding exercises of notebook 11 (sequence autoencoders).

- :func:`masked_token_nll` — the per-sentence negative log-likelihood of the target tokens,
  padding masked out (what :func:`course_lib.seqvae.token_nll` computes, from log-probabilities
  instead of logits);
- :func:`free_bits_kl` — the free-bits KL term: each latent dimension's batch-average KL
  clamped from below at ``free_bits`` nats, summed over the dimensions (the KL term of
  :meth:`course_lib.seqvae.SentenceVAE.compute_loss`);
- :func:`token_dropout` — word dropout from given uniform numbers: every token with
  ``u < rate`` becomes ``UNK``, except ``BOS`` and padding (the rule of
  :class:`course_lib.seqvae.TokenDropout`, which draws ``u`` itself).

Token ids follow :mod:`course_lib.text`: ``PAD = 0``, ``UNK = 1``, ``BOS = 2``, ``EOS = 3``,
words from 4.

In the notebook: ``from course_lib.checks import sequence as check``, then
``check.masked_token_nll(my_token_nll)`` as the last line of a cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import (
    FAILED,
    NOT_ATTEMPTED,
    Case,
    CheckResult,
    Mistake,
    check_function,
    to_numpy,
)
from course_lib.text import BOS, EOS, PAD, UNK

__all__ = ["free_bits_kl", "masked_token_nll", "token_dropout"]


# --------------------------------------------------------------------------------------------
# Per-sentence NLL with padding masked out
# --------------------------------------------------------------------------------------------


def _picked(targets, log_probs):
    """``log_probs[b, t, targets[b, t]]``, shape (B, T)."""
    targets = np.asarray(targets).astype(np.int64)
    return np.take_along_axis(np.asarray(log_probs, np.float64), targets[..., None], axis=-1)[..., 0]


def _real(targets):
    return (np.asarray(targets) != PAD).astype(np.float64)


def _nll(targets, log_probs):
    return -(_picked(targets, log_probs) * _real(targets)).sum(-1)


def _nll_unmasked(targets, log_probs):
    return -_picked(targets, log_probs).sum(-1)


def _nll_mean_real(targets, log_probs):
    return _nll(targets, log_probs) / _real(targets).sum(-1)


def _nll_mean_all(targets, log_probs):
    return _nll(targets, log_probs) / np.shape(targets)[1]


def _nll_mean_unmasked(targets, log_probs):
    return _nll_unmasked(targets, log_probs) / np.shape(targets)[1]


def _nll_batch_total(targets, log_probs):
    return float(_nll(targets, log_probs).sum())


def _nll_batch_mean(targets, log_probs):
    return float(_nll(targets, log_probs).mean())


def _nll_unmasked_batch_total(targets, log_probs):
    return float(_nll_unmasked(targets, log_probs).sum())


def _nll_no_minus(targets, log_probs):
    return -_nll(targets, log_probs)


def _nll_probabilities(targets, log_probs):
    return -(np.exp(_picked(targets, log_probs)) * _real(targets)).sum(-1)


def _nll_one_minus_probabilities(targets, log_probs):
    return ((1.0 - np.exp(_picked(targets, log_probs))) * _real(targets)).sum(-1)


def _nll_next_target(targets, log_probs):  # position t scored against targets[:, t + 1]
    return _nll(np.asarray(targets)[:, 1:], np.asarray(log_probs)[:, :-1])


def _nll_previous_target(targets, log_probs):  # position t + 1 scored against targets[:, t]
    return _nll(np.asarray(targets)[:, :-1], np.asarray(log_probs)[:, 1:])


def _nll_without_eos(targets, log_probs):
    keep = (np.asarray(targets) != PAD) & (np.asarray(targets) != EOS)
    return -(_picked(targets, log_probs) * keep).sum(-1)


def _log_softmax(logits):
    logits = logits - logits.max(-1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(-1, keepdims=True))).astype(np.float32)


def _targets(lengths, t, vocab, rng):
    """Rows ``w .. w EOS PAD ..``: ``lengths`` real tokens (EOS included), padded to ``t``."""
    rows = np.zeros((len(lengths), t), np.int32)
    for i, n in enumerate(lengths):
        rows[i, : n - 1] = rng.integers(EOS + 1, vocab, size=n - 1)
        rows[i, n - 1] = EOS
    return rows


_NLL_RNG = np.random.default_rng(11)
_T1 = _targets([6, 4, 2], 6, 9, _NLL_RNG)
_LP1 = _log_softmax(_NLL_RNG.normal(scale=2.0, size=(3, 6, 9)))
# the same sentences and the same log-probabilities at their positions, padded to T = 9: the
# three extra positions get log-probabilities of their own, which must not count
_T1_PADDED = np.concatenate([_T1, np.zeros((3, 3), np.int32)], axis=1)
_LP1_PADDED = np.concatenate([_LP1, _log_softmax(_NLL_RNG.normal(scale=2.0, size=(3, 3, 9)))], axis=1)
_SAME_PADDED = ("3 sentences of 5, 3 and 1 words + EOS, T = 6",
                "the same 3 sentences padded to T = 9")
_NLL_CASES = [
    Case(_SAME_PADDED[0], (_T1, _LP1)),
    Case(_SAME_PADDED[1], (_T1_PADDED, _LP1_PADDED)),
    Case("4 sentences of 2 to 7 tokens, T = 8, 12 words",
         (_targets([3, 8, 2, 5], 8, 12, _NLL_RNG), _log_softmax(_NLL_RNG.normal(scale=2.0, size=(4, 8, 12))))),
    Case("1 sentence of 2 words + EOS, T = 5, confident predictions",
         (_targets([3], 5, 6, _NLL_RNG), _log_softmax(_NLL_RNG.normal(scale=6.0, size=(1, 5, 6))))),
]

_NLL_MISTAKES = [
    Mistake(_nll_unmasked,
            "you sum over all T positions, padding included: the padding targets (id 0) add "
            "-log p(PAD) to every padded sentence, so the same sentence padded to a longer T gets a "
            "larger NLL. Multiply each position's term by the mask (targets != 0) before summing."),
    Mistake(_nll_mean_real,
            "you average over the real tokens of each sentence; the exercise asks for the *sum* "
            "(log p(x) = sum over t of log p(x_t | x_<t), and the ELBO adds the KL to that sum). "
            "The per-token NLL (sum / number of real tokens) is computed separately, for reporting."),
    Mistake(_nll_mean_all,
            "you divide the masked sum by T, the padded length; return the sum itself (the padded "
            "length depends on the batch, so dividing by it makes the same sentence's NLL change "
            "with its padding)."),
    Mistake(_nll_mean_unmasked,
            "you average over all T positions, padding included: return the *sum* over the real "
            "(non-padding) positions only — multiply by the mask (targets != 0), then sum over t."),
    Mistake(_nll_batch_total,
            "you return one number for the whole batch (the sum over sentences); return one NLL per "
            "sentence, shape (B,): sum over the time axis only (axis=-1)."),
    Mistake(_nll_batch_mean,
            "you return one number for the whole batch (the mean over sentences); return one NLL per "
            "sentence, shape (B,): sum over the time axis only (axis=-1). The model averages over "
            "sentences later, in its loss."),
    Mistake(_nll_unmasked_batch_total,
            "you sum over everything — all sentences and all positions, padding included. Return one "
            "NLL per sentence, shape (B,), summing over the real (non-padding) positions only."),
    Mistake(_nll_no_minus,
            "you return the log-likelihood sum of log p (negative numbers); the NLL is its negative: "
            "-sum over the real positions of log_probs[b, t, targets[b, t]], which is >= 0."),
    Mistake(_nll_probabilities,
            "you sum probabilities (exp of the log-probabilities); the NLL sums the log-probabilities "
            "themselves: -sum of log_probs[b, t, targets[b, t]] — no exp, log_probs are already logs."),
    Mistake(_nll_one_minus_probabilities,
            "you sum 1 - p of the targets; the NLL sums -log p: -sum of log_probs[b, t, targets[b, t]] "
            "over the real positions (no exp, log_probs are already logs)."),
    Mistake(_nll_next_target,
            "you score position t against targets[:, t + 1]: the targets are already aligned with "
            "log_probs (targets = ids[:, 1:], the shift done once, for teacher forcing), so "
            "log_probs[b, t] is scored against targets[b, t]."),
    Mistake(_nll_previous_target,
            "you score position t + 1 against targets[:, t]: the targets are already aligned with "
            "log_probs (targets = ids[:, 1:], the shift done once, for teacher forcing), so "
            "log_probs[b, t] is scored against targets[b, t]."),
    Mistake(_nll_without_eos,
            "you leave out the EOS positions; EOS is a target like the words (predicting where the "
            "sentence ends is part of modelling it): mask only the padding, targets != 0."),
]


def _padding_note(fn: Callable[..., object]) -> str:
    """What to add when ``fn`` gives the same sentences different NLLs at two padded lengths ("" if not)."""
    cases = [c for c in _NLL_CASES if c.name in _SAME_PADDED]
    try:
        short, padded = (to_numpy(fn(*(np.array(a, copy=True) for a in c.args))) for c in cases)
    except Exception:  # the stub, or a crash that check_function reports
        return ""
    if short.shape == padded.shape and np.allclose(short, padded, rtol=1e-4, atol=1e-6):
        return ""

    def show(values):
        return ", ".join(f"{v:.4g}" for v in values.ravel()[:3])

    return (f"Padding changes your result: the same sentences give {show(short)} at T = 6 but "
            f"{show(padded)} at T = 9; padding positions must contribute exactly 0. ")


def masked_token_nll(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(targets, log_probs)``: the NLL of each sentence, summed over its real tokens.

    ``targets (B, T)`` holds token ids (0 is padding), ``log_probs (B, T, V)`` log-softmax
    values; the result has shape ``(B,)``:
    ``-sum over t with targets[b, t] != 0 of log_probs[b, t, targets[b, t]]``. The same
    sentence padded to a longer ``T`` gets the same NLL.
    """
    return check_function(
        fn,
        exercise="masked_token_nll",
        reference=_nll,
        cases=_NLL_CASES,
        mistakes=_NLL_MISTAKES,
        rtol=1e-4,
        hint=(_padding_note(fn) if callable(fn) else "")  # shown only when no known mistake matches
        + "picked = np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]  # (B, T); "
          "return -(picked * (targets != 0)).sum(-1).",
    )


# --------------------------------------------------------------------------------------------
# Free bits
# --------------------------------------------------------------------------------------------


def _kl_dims(kl_per_dim):
    return np.asarray(kl_per_dim, np.float64).mean(0)  # (d,): each dimension's batch-average KL


def _free_bits(kl_per_dim, free_bits):
    return float(np.maximum(_kl_dims(kl_per_dim), free_bits).sum())


def _fb_clamp_per_example(kl_per_dim, free_bits):
    return float(np.maximum(np.asarray(kl_per_dim, np.float64), free_bits).mean(0).sum())


def _fb_clamp_total(kl_per_dim, free_bits):
    return float(max(_kl_dims(kl_per_dim).sum(), free_bits))


def _fb_clamp_total_d(kl_per_dim, free_bits):
    return float(max(_kl_dims(kl_per_dim).sum(), np.shape(kl_per_dim)[1] * free_bits))


def _fb_clamp_per_example_total(kl_per_dim, free_bits):
    return float(np.maximum(np.asarray(kl_per_dim, np.float64).sum(1), free_bits).mean())


def _fb_min(kl_per_dim, free_bits):
    return float(np.minimum(_kl_dims(kl_per_dim), free_bits).sum())


def _fb_hinge(kl_per_dim, free_bits):
    return float(np.maximum(_kl_dims(kl_per_dim) - free_bits, 0.0).sum())


def _fb_plain(kl_per_dim, free_bits):
    return float(_kl_dims(kl_per_dim).sum())


def _fb_batch_sum(kl_per_dim, free_bits):
    return float(np.maximum(np.asarray(kl_per_dim, np.float64).sum(0), free_bits).sum())


def _fb_per_dim(kl_per_dim, free_bits):
    return np.maximum(_kl_dims(kl_per_dim), free_bits)


def _fb_mean_dims(kl_per_dim, free_bits):
    return float(np.maximum(_kl_dims(kl_per_dim), free_bits).mean())


def _fb_axes_swapped(kl_per_dim, free_bits):
    return float(np.maximum(np.asarray(kl_per_dim, np.float64).mean(1), free_bits).sum())


def _fb_bits(kl_per_dim, free_bits):
    return float(np.maximum(_kl_dims(kl_per_dim), free_bits * np.log(2)).sum())


_FB_RNG = np.random.default_rng(111)
_FB_CASES = [
    # dimension 0 well used, 1 mixed (examples on both sides of 0.5, mean below), 2 collapsed
    Case("4 examples x 3 dimensions (one used, one partly, one collapsed), free bits 0.5",
         (np.array([[1.2, 0.9, 0.01], [2.0, 0.1, 0.02], [0.8, 0.05, 0.0], [1.5, 0.3, 0.03]]), 0.5)),
    Case("6 examples x 5 dimensions, random KLs, free bits 0.25",
         (_FB_RNG.gamma(0.6, 0.4, size=(6, 5)), 0.25)),
    Case("a collapsed posterior: 3 x 4 tiny KLs, free bits 0.2",
         (_FB_RNG.uniform(0.0, 0.02, size=(3, 4)), 0.2)),
    Case("free bits 0 (switched off): 5 x 2 KLs", (_FB_RNG.gamma(1.0, 0.5, size=(5, 2)), 0.0)),
    Case("one of 4 examples uses the code: 4 x 2 KLs, free bits 1",
         (np.array([[0.1, 0.1], [0.2, 0.1], [2.0, 0.5], [0.3, 0.1]]), 1.0)),
]


def free_bits_kl(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(kl_per_dim, free_bits)``: ``sum over d of max(mean over b of kl_per_dim[b, d], free_bits)``.

    ``kl_per_dim (B, d)`` holds each example's KL in each latent dimension (nats, >= 0),
    ``free_bits`` a float (nats per dimension). The result is a scalar, the KL term of
    :meth:`course_lib.seqvae.SentenceVAE.compute_loss` (Kingma et al. 2016).
    """
    return check_function(
        fn,
        exercise="free_bits_kl",
        reference=_free_bits,
        cases=_FB_CASES,
        mistakes=[
            Mistake(_fb_clamp_per_example,
                    "you clamp each example's KL before averaging over the batch (max, then mean). Free "
                    "bits clamp each dimension's *batch-average* KL: mean over the batch first (axis 0), "
                    "then max with free_bits, then sum over the dimensions. Clamped per example, an example "
                    "that uses a dimension cannot make up for one that does not."),
            Mistake(_fb_clamp_total,
                    "you clamp the total KL (max(sum over dimensions, free_bits)); free bits work per "
                    "dimension: sum over d of max(KL_d, free_bits), with KL_d the batch mean in dimension d. "
                    "With one clamp on the total, a single busy dimension lets all the others collapse."),
            Mistake(_fb_clamp_total_d,
                    "you clamp the total KL at d * free_bits; free bits work per dimension: sum over d of "
                    "max(KL_d, free_bits). The two agree only when every dimension is on the same side of "
                    "free_bits; with one clamp on the total, a single busy dimension lets the others collapse."),
            Mistake(_fb_clamp_per_example_total,
                    "you clamp each example's total KL and average over the batch; free bits clamp each "
                    "latent *dimension's* batch-average KL: sum over d of max(mean over b of kl[b, d], free_bits)."),
            Mistake(_fb_min,
                    "you take the minimum of KL_d and free_bits; it is the maximum: a dimension whose KL is "
                    "below free_bits costs free_bits (a constant, so no gradient pushes it further down "
                    "to the prior), one above it costs its KL."),
            Mistake(_fb_hinge,
                    "you compute max(KL_d - free_bits, 0): a known variant that gives the same gradients "
                    "(the two differ by the constant d * free_bits), but its value is not what the course "
                    "uses. Return sum over d of max(KL_d, free_bits), as SentenceVAE does: that term is "
                    ">= the KL, so the loss stays an upper bound on -ELBO and equals it when every "
                    "dimension is above free_bits."),
            Mistake(_fb_plain,
                    "you return the plain KL (sum of the batch-mean KLs) and never use free_bits; clamp "
                    "each dimension from below: sum over d of max(KL_d, free_bits)."),
            Mistake(_fb_batch_sum,
                    "you sum over the batch instead of averaging: KL_d is the *mean* over the examples "
                    "(axis 0) of kl_per_dim[:, d], so that free_bits is per example and per dimension, "
                    "whatever the batch size."),
            Mistake(_fb_per_dim,
                    "you return the clamped KL of each dimension (shape (d,)); the term is their sum over "
                    "the dimensions, a single number."),
            Mistake(_fb_mean_dims,
                    "you average the clamped KLs over the dimensions; sum them: the KL of a diagonal "
                    "Gaussian is the sum of its dimensions' KLs."),
            Mistake(_fb_axes_swapped,
                    "you average over the latent dimensions (axis 1) and sum over the examples; the other "
                    "way round: KL_d = mean over the examples (axis 0), then max with free_bits, then sum "
                    "over the dimensions."),
            Mistake(_fb_bits,
                    "you convert free_bits from bits to nats; in the course free_bits is already in nats "
                    "per dimension (the name is historical): use it as it is."),
        ],
        rtol=1e-6,
        hint="kl_d = kl_per_dim.mean(0)  # (d,); return np.maximum(kl_d, free_bits).sum().",
    )


# --------------------------------------------------------------------------------------------
# Token dropout from given uniform numbers
# --------------------------------------------------------------------------------------------


def _ids(ids):
    return np.asarray(ids)


def _dropout(ids, rate, u, *, protect=(PAD, BOS), by=UNK, keep_below=False):
    ids = _ids(ids)
    chosen = (np.asarray(u) >= rate) if keep_below else (np.asarray(u) < rate)
    droppable = ~np.isin(ids, protect)
    return np.where(droppable & chosen, by, ids)


def _reference_dropout(ids, rate, u):
    return _dropout(ids, rate, u)


def _td_bos_too(ids, rate, u):
    return _dropout(ids, rate, u, protect=(PAD,))


def _td_pad_too(ids, rate, u):
    return _dropout(ids, rate, u, protect=(BOS,))


def _td_everything(ids, rate, u):
    return _dropout(ids, rate, u, protect=())


def _td_to_pad(ids, rate, u):
    return _dropout(ids, rate, u, by=PAD)


def _td_keeps_rate(ids, rate, u):
    return _dropout(ids, rate, u, keep_below=True)


def _td_protects_eos(ids, rate, u):
    return _dropout(ids, rate, u, protect=(PAD, BOS, EOS))


def _td_mask(ids, rate, u):
    return (~np.isin(_ids(ids), (PAD, BOS)) & (np.asarray(u) < rate)).astype(np.int64)


def _td_unchanged(ids, rate, u):
    return _ids(ids)


def _sentences(lengths, t, rng):
    """``BOS w .. w EOS PAD ..`` rows: ``lengths`` words each, padded to ``t``."""
    rows = np.zeros((len(lengths), t), np.int32)
    for i, n in enumerate(lengths):
        rows[i, 0] = BOS
        rows[i, 1 : n + 1] = rng.integers(EOS + 1, 40, size=n)
        rows[i, n + 1] = EOS
    return rows


_TD_RNG = np.random.default_rng(112)
_TD_IDS = _sentences([4, 2, 6], 8, _TD_RNG)
# chosen by hand: BOS, EOS and padding positions below 0.5 in some rows, above it in others
_TD_U = np.array([[0.10, 0.70, 0.20, 0.90, 0.40, 0.05, 0.30, 0.95],
                  [0.80, 0.45, 0.60, 0.25, 0.15, 0.65, 0.35, 0.55],
                  [0.35, 0.55, 0.05, 0.75, 0.20, 0.85, 0.10, 0.60]])
_TD_CASES = [
    Case("3 sentences (4, 2 and 6 words), T = 8, rate 0.5", (_TD_IDS, 0.5, _TD_U)),
    Case("5 sentences of 1 to 9 words, T = 11, rate 0.3",
         (_sentences([1, 9, 3, 5, 2], 11, _TD_RNG), 0.3, _TD_RNG.uniform(size=(5, 11)))),
    Case("2 sentences, T = 6, rate 0.9", (_sentences([3, 1], 6, _TD_RNG), 0.9, _TD_RNG.uniform(size=(2, 6)))),
    Case("rate 0 (no dropout): nothing changes", (_TD_IDS, 0.0, _TD_U)),
]

_TD_IN_PLACE = ("you change the caller's `ids` array in place (ids[...] = ...). Dropout must leave the data "
                "alone: the decoder's inputs ids[:, :-1] and the targets ids[:, 1:] are views of the same "
                "array, so dropping inputs in place would turn targets into UNK as well (and the next epoch "
                "would drop from already dropped sentences). Work on a copy (ids.copy(), or "
                "np.where(drop, UNK, ids), which returns a new array).")


def token_dropout(fn: Callable[..., object]) -> CheckResult:
    """Check ``fn(ids, rate, u)``: ``ids`` with every token where ``u < rate`` replaced by ``UNK``.

    ``ids (B, T)`` are ``BOS w .. EOS PAD ..`` rows, ``u (B, T)`` uniform numbers in [0, 1);
    ``BOS`` (2) and ``PAD`` (0) never change, every other token (words and ``EOS``) becomes
    ``UNK`` (1) where ``u < rate``. The input array must not be modified. The rule of
    :class:`course_lib.seqvae.TokenDropout`.
    """
    if not callable(fn):
        return check_function(fn, exercise="token_dropout", reference=_reference_dropout, cases=_TD_CASES)
    modified: list[bool] = []

    def watched(ids, rate, u):
        before = np.array(ids, copy=True)
        out = fn(ids, rate, u)
        if not np.array_equal(np.asarray(ids), before):
            modified.append(True)
        return out

    result = check_function(
        watched,
        exercise="token_dropout",
        reference=_reference_dropout,
        cases=_TD_CASES,
        mistakes=[
            Mistake(_td_bos_too,
                    "you replace BOS too; BOS (id 2) never changes: it is the decoder's first input, the "
                    "signal to start a sentence. Protect both BOS and PAD: drop where "
                    "(u < rate) & (ids != 0) & (ids != 2)."),
            Mistake(_td_pad_too,
                    "you replace padding (id 0) with UNK too; padding never changes: it marks where the "
                    "sentence has ended (and the loss masks it by id 0). Protect both BOS and PAD: drop "
                    "where (u < rate) & (ids != 0) & (ids != 2)."),
            Mistake(_td_everything,
                    "you replace every token where u < rate, BOS and padding included; those two never "
                    "change: drop where (u < rate) & (ids != 0) & (ids != 2)."),
            Mistake(_td_to_pad,
                    "you replace the dropped tokens with PAD (0); replace them with UNK (1): the decoder "
                    "should see 'some word here', not 'the sentence has ended'."),
            Mistake(_td_keeps_rate,
                    "you drop where u >= rate, so you keep a fraction `rate` of the tokens and drop the "
                    "rest; `rate` is the fraction *dropped*: replace where u < rate."),
            Mistake(_td_protects_eos,
                    "you never drop EOS; the course's rule (course_lib.seqvae.TokenDropout) protects only BOS "
                    "and PAD: EOS is replaced by UNK where u < rate, like any word. (In the decoder's inputs an "
                    "EOS is only ever followed by padding, which the loss ignores, so this changes no loss; "
                    "follow the library's rule so your results match its.)"),
            Mistake(_td_mask,
                    "you return the 0/1 drop mask; return the token ids with the dropped ones replaced by "
                    "UNK: np.where(drop, 1, ids)."),
            Mistake(_td_unchanged,
                    "you return the ids unchanged; replace by UNK (1) every token with u < rate that is "
                    "neither BOS (2) nor PAD (0)."),
        ],
        rtol=0, atol=0,
        hint="drop = (u < rate) & (ids != 0) & (ids != 2); return np.where(drop, 1, ids).",
    )
    if modified and result.status != NOT_ATTEMPTED:
        if result.passed:
            return CheckResult(result.exercise, FAILED, "your result is right, but " + _TD_IN_PLACE)
        return CheckResult(result.exercise, FAILED, result.message + " Also, " + _TD_IN_PLACE)
    return result
