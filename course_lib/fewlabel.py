"""Few labels: does pretraining without labels pay off when labels are scarce? (notebook 12)

The protocol of a fair few-label comparison:

- :func:`label_subset` picks ``n`` labelled training images, the same number from every
  class, seeded -- the only labels any method sees;
- :func:`few_label_study` trains, for every number of labels and every seed, three
  classifiers built on the same encoder architecture, and reports the test accuracy's mean
  and spread over the seeds:

  ``scratch``   the architecture freshly initialised, trained end to end on the labels;
  ``probe``     the *pretrained* encoder frozen, a linear softmax layer trained on its
                features (standardised with the labelled images' mean and spread);
  ``finetune``  the pretrained encoder plus the linear layer, all weights trained.

Every method gets the **same number of optimiser steps** and batch size (Adam, cosine decay
to 0), so none wins by training longer; the learning rate may differ per method (a frozen
linear layer wants a larger one than a whole network). With 100 labels a batch of 64 sees
each image many times: the step count, not the epoch count, is the budget.

An encoder is given as a *builder*: ``builder(pretrained: bool) -> keras.Model`` returning a
new image → feature-vector model each call (pretrained weights copied in, or a fresh
initialisation), e.g. ``lambda p: mae.feature_extractor(model, pretrained=p)``.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from .probe import extract_features

__all__ = ["METHODS", "classifier", "few_label_study", "label_subset", "train_steps"]

#: The three ways of using (or not using) a pretrained encoder.
METHODS = ("scratch", "probe", "finetune")

#: Adam learning rates used when a study does not give one for a method.
DEFAULT_LEARNING_RATES = {"scratch": 1e-3, "probe": 1e-2, "finetune": 1e-3}


def _check_int(name: str, value: object, minimum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{what}: {name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _labels(y, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what}: labels must be integer class indices of shape (N,), got {arr.dtype} {arr.shape}.")
    return arr


def label_subset(y, n_labels: int, seed: int = 0, num_classes: int | None = None) -> np.ndarray:
    """Sorted indices of ``n_labels`` examples, ``n_labels / num_classes`` from every class, seeded.

    ``num_classes`` defaults to ``1 + max(y)``. ``n_labels`` must be a multiple of the number
    of classes (an unbalanced subset would mix "fewer labels" with "skewed classes"), and no
    class may have fewer examples than its share; either raises ``ValueError``. The same
    ``seed`` gives the same subset; a different one an (almost surely) different subset.
    """
    what = "label_subset"
    y = _labels(y, what)
    n_labels = _check_int("n_labels", n_labels, 1, what)
    seed = _check_int("seed", seed, 0, what)
    k = int(y.max()) + 1 if num_classes is None else _check_int("num_classes", num_classes, 2, what)
    if y.min() < 0 or y.max() >= k:
        raise ValueError(f"{what}: labels must be in 0..{k - 1}, got {y.min()}..{y.max()}.")
    if n_labels % k:
        raise ValueError(
            f"{what}: n_labels {n_labels} is not divisible by the {k} classes; use a multiple of {k} "
            f"(e.g. {max(k, n_labels // k * k)}) so every class gets the same number."
        )
    per_class = n_labels // k
    counts = np.bincount(y, minlength=k)
    if counts.min() < per_class:
        c = int(np.argmin(counts))
        raise ValueError(
            f"{what}: {n_labels} labels need {per_class} per class, but class {c} has only "
            f"{counts[c]} examples (at most {counts.min() * k} labels are available)."
        )
    rng = np.random.default_rng(seed)
    picked = [rng.permutation(np.flatnonzero(y == c))[:per_class] for c in range(k)]
    return np.sort(np.concatenate(picked))


class _InferenceMode(keras.layers.Layer):
    """Runs a wrapped model with ``training=False`` always.

    (A functional model passes its own ``training`` flag to every layer it calls, overriding
    a ``training=False`` written into the graph; a layer whose ``call`` takes no ``training``
    argument is left out of that.)
    """

    def __init__(self, inner: keras.Model, **kwargs) -> None:
        super().__init__(**kwargs)
        self.inner = inner

    def call(self, x):
        return self.inner(x, training=False)

    def compute_output_shape(self, input_shape):
        return self.inner.compute_output_shape(input_shape)


def classifier(features: keras.Model, num_classes: int, *, trainable: bool = True,
               name: str = "classifier") -> keras.Model:
    """``features`` (image → vector) followed by a linear ``Dense(num_classes)`` (logits).

    ``trainable=False`` freezes the feature model's weights, so only the linear layer learns.
    Either way the feature model runs in *inference mode* (``training=False``): batch norm
    layers normalise with their stored statistics and do not update them, while their scale
    and shift are still trained when ``trainable``. This is Keras's advice for fine-tuning,
    and it matters with few steps: moving averages updated over 200 steps still remember the
    first, very different weights, and a network trained with batch statistics but tested
    with those stale averages can lose most of its accuracy (measured in
    ``scripts/bench_mae.py``). A freshly initialised network's batch norm is then the
    identity (mean 0, variance 1), so "from scratch" trains an un-normalised network.
    """
    num_classes = _check_int("num_classes", num_classes, 2, "classifier")
    features.trainable = bool(trainable)
    inputs = keras.Input(shape=features.input_shape[1:], name="image")
    h = _InferenceMode(features, name="features")(inputs)
    logits = keras.layers.Dense(num_classes, name="logits")(h)
    return keras.Model(inputs, logits, name=name)


def _batches(n: int, steps: int, batch_size: int, seed: int) -> np.ndarray:
    """``steps * batch_size`` indices into ``0..n-1``: seeded shuffled passes, one after another."""
    rng = np.random.default_rng(seed)
    passes = -(-steps * batch_size // n)
    return np.concatenate([rng.permutation(n) for _ in range(passes)])[: steps * batch_size]


def _compile(model: keras.Model, steps: int, learning_rate: float) -> None:
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _fit(model: keras.Model, x, y, steps: int, batch: int, seed: int) -> float:
    order = _batches(len(x), steps, batch, seed)
    hist = model.fit(x[order], y[order], batch_size=batch, epochs=1, shuffle=False, verbose=0)
    return float(hist.history["loss"][-1])


def train_steps(model: keras.Model, x, y, *, steps: int, batch_size: int, learning_rate: float,
                seed: int = 0) -> float:
    """Train ``model`` (logits out) for exactly ``steps`` Adam steps of ``batch_size`` examples.

    The batch is ``min(batch_size, len(x))``; the examples are drawn in seeded shuffled
    passes; the rate decays from ``learning_rate`` to 0 along a cosine. Returns the last
    training loss (sparse categorical cross-entropy).
    """
    what = "train_steps"
    steps = _check_int("steps", steps, 1, what)
    batch = min(_check_int("batch_size", batch_size, 1, what), len(x))
    _compile(model, steps, learning_rate)
    return _fit(model, x, y, steps, batch, seed)


class _Trainer:
    """One compiled model re-used for every run with the same architecture and learning rate.

    Each run copies a freshly built (seeded) model's weights into it and zeroes the
    optimiser's state (step counter, moments), which is the same as training the fresh model
    from the start -- but TensorFlow traces the training step once instead of once per run (a
    few seconds each for a small transformer). ``scratch`` and ``finetune`` build the same
    network and differ only in the weights copied in, so with equal learning rates they share
    one trainer.
    """

    def __init__(self, steps: int, learning_rate: float) -> None:
        self.steps, self.learning_rate = steps, learning_rate
        self.model: keras.Model | None = None

    def run(self, fresh: keras.Model, x, y, batch: int, seed: int) -> keras.Model:
        if self.model is None:
            self.model = fresh
            _compile(fresh, self.steps, self.learning_rate)
        else:
            self.model.set_weights(fresh.get_weights())
            for v in self.model.optimizer.variables:
                v.assign(keras.ops.zeros_like(v))
        _fit(self.model, x, y, self.steps, batch, seed)
        return self.model


def _accuracy(model: keras.Model, x, y, batch_size: int = 1000) -> float:
    logits = np.concatenate([keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False))
                             for i in range(0, len(x), batch_size)])
    return float((logits.argmax(axis=1) == y).mean())


def _linear_head(dim: int, num_classes: int) -> keras.Model:
    inputs = keras.Input(shape=(dim,), name="features")
    return keras.Model(inputs, keras.layers.Dense(num_classes, name="logits")(inputs), name="probe")


def few_label_study(
    builder: Callable[[bool], keras.Model],
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    n_labels: Sequence[int] = (100, 1000),
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1, 2),
    steps: int = 200,
    batch_size: int = 64,
    learning_rates: Mapping[str, float] | None = None,
    num_classes: int = 10,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Test accuracy of each method for each number of labels, over ``seeds``.

    For every ``n`` in ``n_labels`` and every seed: :func:`label_subset` (seeded) picks the
    labelled images; each method trains a new classifier from ``builder`` for ``steps``
    optimiser steps (as :func:`train_steps`; the seed also fixes the initial weights and the
    batch order) and is scored on all of ``x_test``. Each method's training step is traced
    once and re-used (see ``_Trainer``). The probe trains its linear layer on the
    frozen features of the labelled images (computed once per subset), which is the same
    as training a frozen-encoder classifier, only faster.

    Returns ``{method: {n: {"mean", "std", "accuracies", "seconds"}}}`` (std over seeds,
    ``ddof=0``; seconds for all seeds) and ``"settings"`` with the budget used.
    """
    what = "few_label_study"
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"{what}: unknown method(s) {unknown or methods!r}; the methods are {METHODS}.")
    seeds = [int(_check_int("seed", s, 0, what)) for s in seeds]
    if not seeds:
        raise ValueError(f"{what}: give at least one seed (three or more to report a spread).")
    steps = _check_int("steps", steps, 1, what)
    batch_size = _check_int("batch_size", batch_size, 1, what)
    rates = {**DEFAULT_LEARNING_RATES, **(learning_rates or {})}
    bad = [m for m in rates if m not in METHODS]
    if bad:
        raise ValueError(f"{what}: learning_rates has unknown method(s) {bad}; the methods are {METHODS}.")
    y_train, y_test = _labels(y_train, what), _labels(y_test, what)
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"{what}: images and labels differ in number ({len(x_train)} vs {len(y_train)}, "
                         f"{len(x_test)} vs {len(y_test)}).")
    subsets = {n: {s: label_subset(y_train, n, s, num_classes) for s in seeds} for n in n_labels}
    say = progress or (lambda _msg: None)

    results: dict = {m: {} for m in methods}
    test_features = None
    trainers: dict[tuple[bool, float], _Trainer] = {}
    for method in methods:
        trainer = trainers.setdefault((method == "probe", rates[method]), _Trainer(steps, rates[method]))
        for n in n_labels:
            t0 = time.perf_counter()
            accs = []
            for seed in seeds:
                idx = subsets[n][seed]
                x_l, y_l = x_train[idx], y_train[idx]
                keras.utils.set_random_seed(seed)
                if method == "probe":
                    frozen = builder(True)
                    if test_features is None:
                        test_features = extract_features(frozen, x_test)
                    f_l = extract_features(frozen, x_l)
                    mean, std = f_l.mean(0), f_l.std(0)
                    std[std == 0] = 1.0
                    head = trainer.run(_linear_head(f_l.shape[1], num_classes), (f_l - mean) / std, y_l,
                                       min(batch_size, n), seed)
                    acc = _accuracy(head, ((test_features - mean) / std).astype(np.float32), y_test)
                else:
                    fresh = classifier(builder(method == "finetune"), num_classes)
                    model = trainer.run(fresh, x_l, y_l, min(batch_size, n), seed)
                    acc = _accuracy(model, x_test, y_test)
                accs.append(acc)
                say(f"{method} n={n} seed={seed}: {acc:.4f}")
            results[method][n] = {"mean": float(np.mean(accs)), "std": float(np.std(accs)),
                                  "accuracies": accs, "seconds": time.perf_counter() - t0}
    results["settings"] = {"steps": steps, "batch_size": batch_size, "seeds": seeds,
                           "learning_rates": {m: rates[m] for m in methods}, "n_labels": list(n_labels)}
    return results
