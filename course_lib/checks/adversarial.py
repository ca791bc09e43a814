"""Checkers for the coding exercises of notebook 07 (adversarial autoencoders and the VAE-GAN).

Three small functions a learner writes to understand what an adversarial autoencoder computes:

- :func:`discriminator_loss` — the discriminator's binary cross-entropy from logits (prior
  samples / real images → 1, codes / generated images → 0), numerically stable for any logit;
- :func:`mmd2` — the biased estimate of the squared maximum mean discrepancy with a Gaussian
  kernel, the two-sample statistic the chapter uses to ask "do the codes match the prior?";
- :func:`r1_penalty` — the R1 gradient penalty ``E ||∇_w D(w)||²`` on prior samples, with
  ``tf.GradientTape``.

In the notebook: ``from course_lib.checks import adversarial as check``, then e.g.
``check.mmd2(my_mmd2)`` as the last line of a cell. Each checker runs the learner's function on
a few cases (edge cases included), compares it with the reference answer and, when the answer
behaves exactly like a known mistake, says in plain words what is wrong and what is right. The
references agree with :mod:`course_lib.adversarial` and :func:`course_lib.two_sample.mmd2`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.checks import Case, CheckResult, Mistake, check_function

__all__ = ["discriminator_loss", "mmd2", "r1_penalty"]


# --------------------------------------------------------------------------------------------
# The discriminator's binary cross-entropy from logits
# --------------------------------------------------------------------------------------------


def _softplus(x: np.ndarray) -> np.ndarray:
    """``log(1 + e^x)`` without overflow: ``max(x, 0) + log1p(e^-|x|)``."""
    x = np.asarray(x, np.float64)
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _d_loss(logits_real, logits_fake):
    # -log σ(l) = softplus(-l) for the "real" targets, -log(1 - σ(l)) = softplus(l) for the "fake" ones
    return np.mean(_softplus(-np.asarray(logits_real))) + np.mean(_softplus(np.asarray(logits_fake)))


def _d_loss_naive(logits_real, logits_fake):
    with np.errstate(over="ignore", divide="ignore"):
        s_real = 1.0 / (1.0 + np.exp(-np.asarray(logits_real, np.float64)))
        s_fake = 1.0 / (1.0 + np.exp(-np.asarray(logits_fake, np.float64)))
        return -np.mean(np.log(s_real)) - np.mean(np.log(1.0 - s_fake))


def _d_loss_swapped(logits_real, logits_fake):
    return _d_loss(logits_fake, logits_real)


def _d_loss_summed(logits_real, logits_fake):
    return np.sum(_softplus(-np.asarray(logits_real))) + np.sum(_softplus(np.asarray(logits_fake)))


def _d_loss_sign(logits_real, logits_fake):
    return -_d_loss(logits_real, logits_fake)


_D_CASES = [
    Case("a batch of 4 real and 4 fake logits", ([2.0, 0.5, -1.0, 3.0], [-2.0, 0.1, 1.5, -0.3])),
    Case("undecided discriminator (all logits 0: the loss is 2 log 2)", (np.zeros(6), np.zeros(6))),
    Case("batches of different sizes", ([1.0, 2.0], [-1.0, 0.0, 4.0, -3.0, 0.5])),
    Case("very confident logits (±50, ±800)", ([50.0, -50.0, 800.0], [-800.0, 50.0, -50.0])),
]


def discriminator_loss(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(logits_real, logits_fake)``: the discriminator's loss, from logits, in nats.

    ``mean(-log σ(l_real)) + mean(-log(1 - σ(l_fake)))`` — each term averaged over its own batch
    — written stably as ``mean(softplus(-l_real)) + mean(softplus(l_fake))``: ``log σ(l)``
    computed through the sigmoid underflows to ``log 0 = -inf`` for ``l ≪ 0`` (the last case).
    """
    return check_function(
        fn,
        exercise="discriminator_loss",
        reference=_d_loss,
        cases=_D_CASES,
        mistakes=[
            Mistake(_d_loss_naive,
                    "right on ordinary logits, but infinite (or NaN) on very confident ones: "
                    "σ(-800) underflows to 0 and log 0 = -inf. Write -log σ(l) as softplus(-l) and "
                    "-log(1 - σ(l)) as softplus(l) (keras.ops.softplus, or "
                    "max(l, 0) + log1p(exp(-|l|)) in NumPy) — exact for any logit."),
            Mistake(_d_loss_swapped,
                    "the targets are swapped: the discriminator must call real samples (prior samples "
                    "or real images) 1 and fake ones (codes or generated images) 0, so the real logits "
                    "go into softplus(-l) = -log σ(l) and the fake ones into softplus(l) = -log(1 - σ(l))."),
            Mistake(_d_loss_summed,
                    "you sum over the batch; the loss is a mean over each batch (it must not grow with "
                    "the batch size — an undecided discriminator scores 2 log 2 = 1.386 nats)."),
            Mistake(_d_loss_sign,
                    "your loss has the wrong sign: a cross-entropy is -log of a probability, so it is "
                    "never negative (2 log 2 = 1.386 when every logit is 0)."),
        ],
        rtol=1e-5,
        atol=1e-6,
    )


# --------------------------------------------------------------------------------------------
# The biased MMD² with a Gaussian kernel
# --------------------------------------------------------------------------------------------


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)


def _mmd2(x, y, bandwidth):
    k = lambda a, b: np.exp(-_sq_dists(a, b) / (2.0 * bandwidth**2))  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2.0 * k(x, y).mean()


def _mmd2_unbiased(x, y, bandwidth):
    def within(a):
        kk = np.exp(-_sq_dists(a, a) / (2.0 * bandwidth**2))
        n = len(a)
        return (kk.sum() - np.trace(kk)) / (n * (n - 1))

    cross = np.exp(-_sq_dists(x, y) / (2.0 * bandwidth**2)).mean()
    return within(x) + within(y) - 2.0 * cross


def _mmd2_no_two(x, y, bandwidth):
    k = lambda a, b: np.exp(-_sq_dists(a, b) / (2.0 * bandwidth**2))  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - k(x, y).mean()


def _mmd2_kernel_without_half(x, y, bandwidth):
    k = lambda a, b: np.exp(-_sq_dists(a, b) / bandwidth**2)  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2.0 * k(x, y).mean()


def _mmd2_distance_not_squared(x, y, bandwidth):
    k = lambda a, b: np.exp(-np.sqrt(_sq_dists(a, b)) / (2.0 * bandwidth**2))  # noqa: E731
    return k(x, x).mean() + k(y, y).mean() - 2.0 * k(x, y).mean()


def _mmd_cases() -> list[Case]:
    rng = np.random.default_rng(7)
    a = rng.normal(size=(30, 2))
    return [
        Case("two samples of N(0, I) in 2-D, bandwidth 1", (a, rng.normal(size=(40, 2)), 1.0)),
        Case("a shifted sample, bandwidth 0.5", (a, rng.normal(size=(25, 2)) + [1.5, 0.0], 0.5)),
        Case("3-D points, bandwidth 2", (rng.normal(size=(20, 3)), 2.0 * rng.normal(size=(20, 3)), 2.0)),
        Case("identical sets (MMD² is 0)", (a, a.copy(), 1.0)),
    ]


def mmd2(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(x, y, bandwidth)``: the biased MMD² between point sets ``x`` (n, d) and ``y`` (m, d).

    ``mean k(x_i, x_j) + mean k(y_i, y_j) - 2 mean k(x_i, y_j)``, every mean over *all* pairs
    (self-pairs included: the biased "V-statistic", never negative), with the Gaussian kernel
    ``k(a, b) = exp(-||a - b||² / (2 h²))`` — as :func:`course_lib.two_sample.mmd2`.
    """
    return check_function(
        fn,
        exercise="mmd2",
        reference=_mmd2,
        cases=_mmd_cases(),
        mistakes=[
            Mistake(_mmd2_unbiased,
                    "you left out the self-pairs (i = j): that is the unbiased estimate, which can be "
                    "negative. The course uses the biased one — average k over all n² pairs of each "
                    "set, the diagonal (k = 1) included — so that it is never negative and its noise "
                    "floor can be compared in a ratio."),
            Mistake(_mmd2_no_two,
                    "the cross term needs a factor 2: MMD² = E k(x, x') + E k(y, y') - 2 E k(x, y) "
                    "(expand ||mean φ(x) - mean φ(y)||²); without it identical sets do not give 0."),
            Mistake(_mmd2_kernel_without_half,
                    "your kernel is exp(-||a - b||² / h²); the Gaussian kernel with bandwidth h is "
                    "exp(-||a - b||² / (2 h²)) — the 2 makes h the standard deviation of the bump."),
            Mistake(_mmd2_distance_not_squared,
                    "the kernel uses the squared distance ||a - b||² = Σ_k (a_k - b_k)², not the "
                    "distance ||a - b||: k(a, b) = exp(-||a - b||² / (2 h²))."),
        ],
        rtol=1e-6,
        atol=1e-9,
    )


# --------------------------------------------------------------------------------------------
# The R1 gradient penalty
# --------------------------------------------------------------------------------------------


def _r1(discriminator, w):
    import tensorflow as tf
    from keras import ops

    w = ops.convert_to_tensor(w, "float32")
    with tf.GradientTape() as tape:
        tape.watch(w)
        total = ops.sum(discriminator(w))  # Σ_i D(w_i): its gradient with respect to w_i is ∇D(w_i)
    grad = tape.gradient(total, w)
    return ops.mean(ops.sum(ops.square(grad), axis=-1))


def _r1_of_mean(discriminator, w):
    import tensorflow as tf
    from keras import ops

    w = ops.convert_to_tensor(w, "float32")
    with tf.GradientTape() as tape:
        tape.watch(w)
        total = ops.mean(discriminator(w))
    grad = tape.gradient(total, w)
    return ops.mean(ops.sum(ops.square(grad), axis=-1))


def _r1_not_squared(discriminator, w):
    import tensorflow as tf
    from keras import ops

    w = ops.convert_to_tensor(w, "float32")
    with tf.GradientTape() as tape:
        tape.watch(w)
        total = ops.sum(discriminator(w))
    grad = tape.gradient(total, w)
    return ops.mean(ops.sqrt(ops.sum(ops.square(grad), axis=-1)))


def _r1_summed(discriminator, w):
    import tensorflow as tf
    from keras import ops

    w = ops.convert_to_tensor(w, "float32")
    with tf.GradientTape() as tape:
        tape.watch(w)
        total = ops.sum(discriminator(w))
    grad = tape.gradient(total, w)
    return ops.sum(ops.square(grad))


def _r1_cases() -> list[Case]:
    import keras

    rng = np.random.default_rng(3)
    linear = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    linear.set_weights([np.array([[3.0], [-4.0]], np.float32), np.array([0.5], np.float32)])
    keras.utils.set_random_seed(11)
    mlp = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    return [
        Case("a linear D(w) = 3 w₁ - 4 w₂ + 0.5 (the answer is 3² + 4² = 25)",
             (linear, rng.normal(size=(5, 2)).astype("float32"))),
        Case("a small tanh MLP on 3-D points", (mlp, rng.normal(size=(6, 3)).astype("float32"))),
        Case("the same MLP, a batch of 1", (mlp, rng.normal(size=(1, 3)).astype("float32"))),
    ]


def r1_penalty(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(discriminator, w)``: ``mean_i ||∇_w D(w_i)||²`` over the prior samples ``w`` (n, d).

    The gradient is taken with respect to the *inputs* (``tape.watch(w)``), not the weights.
    Differentiate the **sum** of the logits: the logit of sample i depends only on w_i, so the
    gradient of the sum at w_i is ∇D(w_i). Then square, sum over the d coordinates, and average
    over the samples. For a linear ``D(w) = a·w + b`` the penalty is ``||a||²`` everywhere.
    """
    return check_function(
        fn,
        exercise="r1_penalty",
        reference=_r1,
        cases=_r1_cases(),
        mistakes=[
            Mistake(_r1_of_mean,
                    "you differentiated the *mean* of the logits, which divides every sample's gradient "
                    "by the batch size n (and the penalty by n²). Differentiate their sum: the logit of "
                    "sample i depends only on w_i, so ∂(Σ_j D(w_j))/∂w_i = ∇D(w_i)."),
            Mistake(_r1_not_squared,
                    "you averaged the gradient's norm ||∇D(w)||; R1 averages its *squared* norm "
                    "||∇D(w)||² = Σ_k (∂D/∂w_k)² (for a linear D(w) = a·w + b that is ||a||², 25 here)."),
            Mistake(_r1_summed,
                    "you summed the squared gradients over the samples too; R1 is a mean over the "
                    "samples of ||∇D(w_i)||² (sum over the coordinates, then average over the batch)."),
        ],
        rtol=1e-4,
        atol=1e-6,
    )
