"""Anomaly detection measured the way its research field does: one class normal, AUROC.

The *one-class protocol* (Ruff et al. 2018, Golan & El-Yaniv 2018): for each class of a
labelled data set, train a detector on that class's training images only, score every test
image, and compute the area under the ROC curve with that class as normal and the nine
others as anomalies. The headline is the mean over the classes. Nothing here looks at
another class's training images or at any label beyond "is this the normal class".

- :func:`auroc` and :func:`roc_curve`: the ROC curve and its area in plain NumPy, with ties
  handled the standard way (a tie between a normal and an anomalous score counts one half);
- :func:`one_class_split`: the training images of one class, a held-out part of them (for
  thresholds and for standardising scores: normal data only) and the test set with its
  anomaly labels;
- :func:`run_one_class`: the per-class loop, seeded, for any detector function;
- :class:`GaussianDensity` and :class:`KNNDensity`: code-density scorers (a full-covariance
  Gaussian fitted to the training codes, score = squared Mahalanobis distance; or the mean
  distance to the nearest training codes);
- :func:`standardize`, :func:`combine`: scores put on a common scale with held-out *normal*
  data only, then summed;
- :func:`threshold_at_false_alarm_rate`, :func:`precision_recall`: using a detector.

The out-of-distribution sets and the input-complexity correction live in
:mod:`course_lib.ood`. Notebook 08 writes the VAE's anomaly scores and the code density on
the page and checks them against :func:`vae_scores` and :class:`GaussianDensity`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "GaussianDensity",
    "KNNDensity",
    "OneClassData",
    "OneClassResults",
    "auroc",
    "binary_entropy",
    "combine",
    "one_class_split",
    "precision_recall",
    "roc_curve",
    "run_one_class",
    "standardize",
    "threshold_at_false_alarm_rate",
    "vae_scores",
]


# --------------------------------------------------------------------------- ROC and AUROC


def _scores_and_labels(scores, is_anomaly, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a score vector and its 0/1 (normal/anomaly) labels; both become 1-D arrays."""
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(is_anomaly)
    if s.ndim != 1 or y.ndim != 1:
        raise ValueError(f"{what}: scores and labels must be 1-D, got shapes {s.shape} and {y.shape}.")
    if len(s) != len(y):
        raise ValueError(f"{what}: {len(s)} scores but {len(y)} labels; they must pair up one to one.")
    if not np.all(np.isfinite(s)):
        bad = int(np.sum(~np.isfinite(s)))
        raise ValueError(
            f"{what}: {bad} score(s) are NaN or infinite; a detector must give every image a finite "
            "score (look for a log of 0 or a division by a zero variance)."
        )
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"{what}: labels must be 0 (normal) or 1 (anomaly), got values {np.unique(y)[:5]}.")
    n_anomalies = int(y.sum())
    if n_anomalies == 0 or n_anomalies == len(y):
        only = "anomalies" if n_anomalies else "normal images"
        raise ValueError(
            f"{what}: the labels contain only {only}; the ROC curve needs both normal images "
            "(label 0) and anomalies (label 1)."
        )
    return s, y.astype(np.int64)


def auroc(scores, is_anomaly) -> float:
    """Area under the ROC curve: the probability that a random anomaly scores above a random normal image.

    Computed with the rank formula (the Mann-Whitney U statistic divided by ``n0 * n1``): rank
    all scores (tied scores share their mean rank), sum the anomalies' ranks ``R1``; then
    ``AUROC = (R1 - n1 (n1 + 1) / 2) / (n0 n1)``. A tie between a normal image and an anomaly
    counts one half. Higher scores must mean "more anomalous"; 0.5 is chance, 1 perfect.
    """
    s, y = _scores_and_labels(scores, is_anomaly, "auroc")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each distinct value
    ranks = mid_ranks[inverse]
    n1 = float(y.sum())
    n0 = float(len(y) - n1)
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n0 * n1))


def roc_curve(scores, is_anomaly) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: ``(false_positive_rate, true_positive_rate, thresholds)``.

    Flagging every image with ``score >= threshold`` gives one point: the fraction of normal
    images flagged (false alarms) and of anomalies flagged (recall). Thresholds run from
    ``+inf`` (nothing flagged: the point (0, 0)) down through every distinct score (the last
    flags everything: (1, 1)). Tied scores move both rates at once, a diagonal step, so the
    trapezoidal area under these points equals :func:`auroc` exactly.
    """
    s, y = _scores_and_labels(scores, is_anomaly, "roc_curve")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last_of_value = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]  # the last index of each distinct score
    tp = np.cumsum(y)[last_of_value]
    fp = (last_of_value + 1) - tp
    tpr = np.r_[0.0, tp / y.sum()]
    fpr = np.r_[0.0, fp / (len(y) - y.sum())]
    thresholds = np.r_[np.inf, s[last_of_value]]
    return fpr, tpr, thresholds


# --------------------------------------------------------------------------- using a detector


def threshold_at_false_alarm_rate(normal_scores, rate: float) -> float:
    """The lowest threshold that flags at most ``rate`` of these *normal* scores (``score > t``).

    Chosen on held-out normal images only, so no anomaly is needed to set it: the expected
    false-alarm rate on new normal images is then about ``rate``. The threshold is the
    ``(1 - rate)`` empirical quantile: ``floor(rate * n)`` scores lie strictly above it.
    """
    s = np.asarray(normal_scores, dtype=np.float64)
    if s.ndim != 1 or len(s) == 0:
        raise ValueError(f"threshold_at_false_alarm_rate: expected a non-empty 1-D array, got shape {s.shape}.")
    if not np.all(np.isfinite(s)):
        raise ValueError("threshold_at_false_alarm_rate: the scores contain NaN or infinite values.")
    if isinstance(rate, bool) or not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"threshold_at_false_alarm_rate: rate must be in [0, 1), got {rate!r}.")
    ordered = np.sort(s)
    # how many normal images may lie above; 1e-9 because rate * n can fall just short of an
    # integer in floating point (0.29 * 100 = 28.999999999999996, which must allow 29)
    allowed = int(np.floor(float(rate) * len(s) + 1e-9))
    return float(ordered[len(s) - 1 - allowed])


def precision_recall(scores, is_anomaly, threshold: float) -> dict[str, float]:
    """Flag ``score > threshold``: precision, recall (of anomalies) and false-alarm rate (of normal images)."""
    s, y = _scores_and_labels(scores, is_anomaly, "precision_recall")
    flagged = s > float(threshold)
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    return {
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / int(y.sum()),
        "false_alarm_rate": fp / int(np.sum(y == 0)),
        "flagged": int(flagged.sum()),
    }


def standardize(scores, reference) -> np.ndarray:
    """``(scores - mean) / std`` with the mean and standard deviation of ``reference``.

    ``reference`` is a detector's scores on held-out *normal* images: after this, 0 is a
    typical normal image and 3 is three normal standard deviations above it, whatever the
    detector's units (nats, squared pixels, a Mahalanobis distance), so scores can be added.
    """
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim != 1 or len(ref) < 2:
        raise ValueError(f"standardize: the reference must be at least 2 scores, got shape {ref.shape}.")
    sd = ref.std()
    if not np.isfinite(sd) or sd == 0:
        raise ValueError("standardize: the reference scores have zero (or undefined) spread.")
    return (np.asarray(scores, dtype=np.float64) - ref.mean()) / sd


def combine(scores: Mapping[str, np.ndarray], reference: Mapping[str, np.ndarray],
            names: Sequence[str]) -> np.ndarray:
    """The sum of the detectors ``names``, each standardised on its held-out normal scores.

    The rule (which detectors, standardise then add) is fixed in advance; the only thing
    learned is each detector's scale, from normal data. No anomaly and no test label is used.
    """
    if not names:
        raise ValueError("combine: name at least one detector.")
    missing = [n for n in names if n not in scores or n not in reference]
    if missing:
        raise KeyError(f"combine: no scores for {missing}; available: {sorted(scores)}.")
    return np.sum([standardize(scores[n], reference[n]) for n in names], axis=0)


# --------------------------------------------------------------------------- code density


@dataclass(frozen=True)
class GaussianDensity:
    """A full-covariance Gaussian fitted to codes; the score is the squared Mahalanobis distance.

    ``score(c) = (c - mean)^T  Sigma^{-1}  (c - mean)``: up to a constant and a factor -1/2 this
    is the Gaussian's log density, so a high score means a code where training codes are rare.
    ``ridge`` (added to the diagonal, relative to the mean variance) keeps Sigma invertible
    when some code dimensions are (nearly) constant, as collapsed VAE dimensions are.
    """

    mean: np.ndarray
    precision: np.ndarray

    @classmethod
    def fit(cls, codes, ridge: float = 1e-6) -> GaussianDensity:
        c = np.asarray(codes, dtype=np.float64)
        if c.ndim != 2 or len(c) <= c.shape[1]:
            raise ValueError(
                f"GaussianDensity.fit: need a 2-D array of codes with more rows than dimensions, got {c.shape}."
            )
        if not np.all(np.isfinite(c)):
            raise ValueError("GaussianDensity.fit: the codes contain NaN or infinite values.")
        cov = np.cov(c, rowvar=False)
        cov = cov + ridge * max(float(np.trace(cov)) / c.shape[1], 1e-12) * np.eye(c.shape[1])
        return cls(mean=c.mean(axis=0), precision=np.linalg.inv(cov))

    def score(self, codes) -> np.ndarray:
        c = np.asarray(codes, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.mean.shape[0]:
            raise ValueError(f"GaussianDensity.score: expected codes of shape (N, {self.mean.shape[0]}), got {c.shape}.")
        d = c - self.mean
        return np.einsum("ij,jk,ik->i", d, self.precision, d)


@dataclass(frozen=True)
class KNNDensity:
    """A non-parametric code density: the score is the mean distance to the ``k`` nearest training codes.

    No shape is assumed (a class's codes may form several clusters, which one Gaussian
    cannot follow); a code far from every training code scores high. Distances are computed
    in chunks of ``chunk`` rows to bound memory.
    """

    codes: np.ndarray
    k: int = 5

    @classmethod
    def fit(cls, codes, k: int = 5) -> KNNDensity:
        c = np.asarray(codes, dtype=np.float64)
        if c.ndim != 2 or len(c) <= k:
            raise ValueError(f"KNNDensity.fit: need a 2-D array with more than k = {k} codes, got {c.shape}.")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"KNNDensity.fit: k must be a positive integer, got {k!r}.")
        return cls(codes=c, k=k)

    def score(self, codes, chunk: int = 1000) -> np.ndarray:
        c = np.asarray(codes, dtype=np.float64)
        if c.ndim != 2 or c.shape[1] != self.codes.shape[1]:
            raise ValueError(f"KNNDensity.score: expected codes of shape (N, {self.codes.shape[1]}), got {c.shape}.")
        return self._mean_nearest(c, chunk, leave_out_self=False)

    def score_training(self, chunk: int = 1000) -> np.ndarray:
        """Each training code's mean distance to its ``k`` nearest *other* training codes.

        ``score`` on the training codes themselves would count each code as its own nearest
        neighbour (distance 0); this leaves it out, so the result is comparable with the score
        of new codes (notebook 11 compares the two).
        """
        return self._mean_nearest(self.codes, chunk, leave_out_self=True)

    def _mean_nearest(self, c: np.ndarray, chunk: int, *, leave_out_self: bool) -> np.ndarray:
        """Mean distance of each row of ``c`` to its ``k`` nearest training codes, in chunks of rows.

        ``leave_out_self``: ``c`` is the training codes themselves; row i is not its own neighbour.
        """
        ref_sq = (self.codes**2).sum(axis=1)
        out = np.empty(len(c))
        for start in range(0, len(c), chunk):
            part = c[start : start + chunk]
            sq = (part**2).sum(axis=1)[:, None] + ref_sq[None, :] - 2.0 * part @ self.codes.T
            if leave_out_self:
                rows = np.arange(len(part))
                sq[rows, start + rows] = np.inf
            nearest = np.partition(sq, self.k - 1, axis=1)[:, : self.k]
            out[start : start + chunk] = np.sqrt(np.maximum(nearest, 0.0)).mean(axis=1)
        return out


# --------------------------------------------------------------------------- VAE scores


def binary_entropy(x) -> np.ndarray:
    """Per image: the entropy (nats) of drawing a binary image with pixel probabilities ``x``.

    ``H(x) = -sum_i [x_i log x_i + (1 - x_i) log(1 - x_i)]``: 0 for a black-and-white image,
    ``log 2`` per pixel for a pixel at 0.5. It is the part of a Bernoulli cross-entropy that
    depends on the image alone, not on the model.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x.reshape(len(x), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)
              + np.where(x < 1, (1 - x) * np.log(np.where(x < 1, 1 - x, 1.0)), 0.0))
    return h.sum(axis=1)


def vae_scores(model, x, batch_size: int = 2048) -> dict[str, np.ndarray]:
    """Anomaly scores of a Bernoulli VAE (:class:`course_lib.vae.VAE`) for grey images ``x``.

    The code is the posterior mean ``mu(x)`` (deterministic), ``p = sigmoid(decoder(mu))``:

    - ``"neg_elbo"``: ``CE(x, p) + KL(q(z|x) || N(0, I))`` in nats, where
      ``CE = -sum_i [x_i log p_i + (1 - x_i) log(1 - p_i)]`` is the expected Bernoulli
      negative log-likelihood of a binary image drawn with pixel probabilities ``x`` (the
      model was trained on such draws): the negative ELBO, with z at the posterior mean;
    - ``"neg_elbo_minus_entropy"``: the same minus :func:`binary_entropy` of ``x``, i.e.
      ``KL(Bern(x) || Bern(p)) + KL(q || prior)``: what is left when the part that depends on
      the image alone (how grey it is) is removed;
    - ``"mse"``: the mean squared error of the reconstruction ``p``;
    - ``"codes"``: ``mu(x)``, for a density fitted to the training codes.

    Built on the page in notebook 08 (``page_vae_scores``) and checked there against this function.
    """
    import keras

    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3 or len(x) == 0:
        raise ValueError(f"vae_scores: expected a non-empty (N, H, W) array of images, got shape {x.shape}.")
    if x.min() < 0 or x.max() > 1:
        raise ValueError(f"vae_scores: pixels must be in [0, 1], got {x.min():g}..{x.max():g}.")
    parts: dict[str, list[np.ndarray]] = {"neg_elbo": [], "mse": [], "codes": [], "kl": []}
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size]
        mean, log_var = model.encoder(xb, training=False)
        logits = keras.ops.convert_to_numpy(model.decoder(mean, training=False)).astype(np.float64)
        mean = keras.ops.convert_to_numpy(mean).astype(np.float64)
        log_var = keras.ops.convert_to_numpy(log_var).astype(np.float64)
        xf = xb.astype(np.float64).reshape(len(xb), -1)
        lf = logits.reshape(len(xb), -1)
        ce = (np.logaddexp(0.0, lf) - xf * lf).sum(axis=1)  # -[x log p + (1-x) log(1-p)], p = sigmoid(l)
        kl = 0.5 * (np.exp(log_var) + mean**2 - 1.0 - log_var).sum(axis=1)
        p = 1.0 / (1.0 + np.exp(-lf))
        parts["neg_elbo"].append(ce + kl)
        parts["kl"].append(kl)
        parts["mse"].append(((p - xf) ** 2).mean(axis=1))
        parts["codes"].append(mean)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["neg_elbo_minus_entropy"] = out["neg_elbo"] - binary_entropy(x)
    return out


# --------------------------------------------------------------------------- the protocol


@dataclass(frozen=True)
class OneClassData:
    """One class's share of the protocol: its training images split in two, and the test set.

    ``x_train``: the normal class's training images a detector may fit; ``x_held_out``: more
    images of the same class, kept for thresholds and score scales; ``x_test`` with
    ``is_anomaly`` (1 for every test image of another class).
    """

    normal_class: int
    x_train: np.ndarray
    x_held_out: np.ndarray
    x_test: np.ndarray
    is_anomaly: np.ndarray


def one_class_split(x_train, y_train, x_test, y_test, normal_class: int, *,
                    held_out: int = 600, seed: int = 0) -> OneClassData:
    """The data of one run of the protocol: ``normal_class``'s training images only, and all test images."""
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    classes = np.unique(y_train)
    if isinstance(normal_class, bool) or not isinstance(normal_class, int | np.integer) or normal_class not in classes:
        raise ValueError(
            f"one_class_split: normal_class {normal_class!r} is not a class of the training labels "
            f"(classes: {classes.tolist()})."
        )
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError("one_class_split: images and labels must have the same length.")
    x_normal = np.asarray(x_train)[y_train == normal_class]
    if not 0 < held_out < len(x_normal):
        raise ValueError(
            f"one_class_split: held_out must be between 1 and {len(x_normal) - 1} "
            f"(class {normal_class} has {len(x_normal)} training images), got {held_out}."
        )
    order = np.random.default_rng([seed, int(normal_class)]).permutation(len(x_normal))
    is_anomaly = (y_test != normal_class).astype(np.int64)
    if is_anomaly.all() or not is_anomaly.any():
        raise ValueError("one_class_split: the test set needs images of the normal class and of others.")
    return OneClassData(int(normal_class), x_normal[order[held_out:]], x_normal[order[:held_out]],
                        np.asarray(x_test), is_anomaly)


#: A detector: ``(data, seed) -> {name: (test_scores, held_out_scores)}``, higher = more anomalous.
Detector = Callable[[OneClassData, int], Mapping[str, tuple[np.ndarray, np.ndarray]]]


@dataclass
class OneClassResults:
    """AUROC per detector and class, the scores themselves and the seconds each class took."""

    classes: list[int]
    auroc: dict[str, dict[int, float]] = field(default_factory=dict)
    test_scores: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    held_out_scores: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    seconds: dict[int, float] = field(default_factory=dict)

    def mean_auroc(self) -> dict[str, float]:
        """The headline: each detector's AUROC averaged over the classes."""
        return {name: float(np.mean(list(by_class.values()))) for name, by_class in self.auroc.items()}

    def table(self, class_names: Sequence[str] | None = None) -> str:
        """A text table: one row per class, one column per detector, the mean last."""
        names = list(self.auroc)
        width = max(8, *(len(n) for n in names))
        label = (lambda c: class_names[c]) if class_names else str
        rows = [f"{'normal class':14s}" + "".join(f"{n:>{width + 2}s}" for n in names)]
        for c in self.classes:
            rows.append(f"{label(c)[:14]:14s}" + "".join(f"{self.auroc[n][c]:>{width + 2}.4f}" for n in names))
        means = self.mean_auroc()
        rows.append(f"{'mean':14s}" + "".join(f"{means[n]:>{width + 2}.4f}" for n in names))
        return "\n".join(rows)


def run_one_class(detector: Detector, x_train, y_train, x_test, y_test, *,
                  classes: Sequence[int] | None = None, held_out: int = 600, seed: int = 0,
                  verbose: bool = True) -> OneClassResults:
    """Run the one-class protocol: for each class, split, seed, call ``detector``, compute AUROCs.

    Before each class, Keras, NumPy and Python are seeded with ``seed + class`` so that every
    class's run can be repeated alone. ``detector`` sees only :class:`OneClassData` (never a
    label of the training set) and returns test and held-out scores per detector name.
    """
    import keras

    all_classes = np.unique(np.asarray(y_train)).tolist()
    classes = all_classes if classes is None else list(classes)
    bad = [c for c in classes if c not in all_classes]
    if bad:
        raise ValueError(f"run_one_class: {bad} are not classes of the training labels ({all_classes}).")
    results = OneClassResults(classes=[int(c) for c in classes])
    for c in classes:
        data = one_class_split(x_train, y_train, x_test, y_test, int(c), held_out=held_out, seed=seed)
        keras.utils.set_random_seed(seed + int(c))
        start = time.perf_counter()
        scored = detector(data, seed + int(c))
        results.seconds[int(c)] = time.perf_counter() - start
        for name, (test, held) in scored.items():
            results.auroc.setdefault(name, {})[int(c)] = auroc(test, data.is_anomaly)
            results.test_scores.setdefault(name, {})[int(c)] = np.asarray(test, dtype=np.float64)
            results.held_out_scores.setdefault(name, {})[int(c)] = np.asarray(held, dtype=np.float64)
        if verbose:
            text = "  ".join(f"{n} {results.auroc[n][int(c)]:.3f}" for n in scored)
            print(f"class {int(c)}: {text}   ({results.seconds[int(c)]:.1f} s)", flush=True)
    return results
