"""Linear probe: how much class information do fixed features hold? (notebook 02)

"Codes as features": train a logistic-regression (softmax) classifier on *frozen* features
-- the 32-d autoencoder code, raw pixels, PCA-32 -- and report its test accuracy. The
classifier is linear on purpose: a probe that is itself a deep network could learn the
classes from almost any features, so it would measure the probe, not the features. With a
linear probe, higher accuracy means the classes are more linearly separable in that
representation.

The autoencoder never saw the labels; the probe is the only part trained with them.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import keras
import numpy as np


@dataclass(frozen=True)
class ProbeResult:
    """Accuracies of a trained linear probe, in [0, 1].

    ``train_accuracy`` is measured after training on the whole training set (not the
    running average Keras prints), so a large gap to ``test_accuracy`` means overfitting.
    """

    train_accuracy: float
    test_accuracy: float
    epochs: int
    n_features: int


def _features(x, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{what}: expected numeric features, got dtype {arr.dtype}.")
    if arr.ndim < 2 or arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(
            f"{what}: expected a non-empty batch of features with shape (N, d) or (N, ...), "
            f"got shape {arr.shape}."
        )
    arr = arr.reshape(arr.shape[0], -1).astype(np.float32)  # flatten images / feature maps
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: the features contain NaN or infinite values.")
    return arr


def _labels(y, n: int, what: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{what}: expected integer class labels of shape (N,), got shape {arr.shape}. "
            "Pass class indices (e.g. y_train), not one-hot vectors."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{what}: labels must be integers (class indices 0..K-1), got dtype {arr.dtype}; "
            "convert with labels.astype(int) if they are whole numbers."
        )
    if len(arr) != n:
        raise ValueError(
            f"{what}: {len(arr)} labels for {n} feature rows; they must match one to one."
        )
    return arr.astype(np.int64)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"linear_probe: {name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_nonneg(name: str, value: object, *, positive: bool) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"linear_probe: {name} must be a finite number {bound}, got {value!r}.")
    return float(value)


def extract_features(model: keras.Model, x, batch_size: int = 1000) -> np.ndarray:
    """``model(x)`` in batches, in inference mode, flattened to ``(N, features)`` NumPy.

    What a probe reads: the frozen features of a trained encoder (notebooks 02 and 12, and
    :mod:`course_lib.fewlabel`). Batches bound the memory of a large ``x``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"extract_features: batch_size must be a positive integer, got {batch_size!r}.")
    if len(x) == 0:
        raise ValueError("extract_features: x is empty.")
    return np.concatenate([keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False))
                           for i in range(0, len(x), batch_size)]).reshape(len(x), -1)


def _accuracy(kernel: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of the trained softmax layer, in NumPy: argmax of the logits ``x W + b``.

    (The softmax does not change the argmax; NumPy avoids tracing a ``predict`` graph.)
    """
    return float((np.argmax(x @ kernel + bias, axis=1) == y).mean())


def linear_probe(
    train_features,
    train_labels,
    test_features,
    test_labels,
    *,
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 1e-2,
    l2: float = 1e-4,
    standardize: bool = True,
    seed: int = 0,
    num_classes: int | None = None,
) -> ProbeResult:
    """Train softmax regression on fixed features and report train and test accuracy.

    One ``Dense(num_classes, activation="softmax")`` layer with an L2 penalty ``l2`` on its
    weights, trained with Adam on sparse categorical cross-entropy for ``epochs`` passes over
    the training set. The learning rate starts at ``learning_rate`` and decays to zero along
    a cosine: the problem is convex, and a decaying rate lets Adam settle at its optimum
    instead of hovering around it, so the accuracy measures the features, not the optimiser. Features with more than two dimensions (e.g.
    images) are flattened. ``num_classes`` defaults to ``1 + the largest label`` seen.

    ``standardize=True`` (the default) rescales every feature to zero mean and unit
    variance using the mean and standard deviation of the *training* features only (the
    test set is transformed with the same numbers; computing them on the test set would leak
    information from it). Without this, features on very different scales train badly --
    a feature a thousand times larger than the others dominates the gradient, so one
    learning rate is too large for it and too small for the rest -- and the comparison is
    unfair: raw pixels in [0, 1], PCA coordinates with variance 1..30 and autoencoder codes
    of arbitrary scale would each need their own learning rate. Constant features (standard
    deviation 0) are left centred but not scaled.

    Reproducible: ``keras.utils.set_random_seed(seed)`` fixes the initial weights and the
    shuffling, so the same call gives the same result on the same machine. (It also reseeds
    Python's, NumPy's and TensorFlow's global generators, as ``doctor.seed_everything`` does.)
    """
    x_train = _features(train_features, "linear_probe (train_features)")
    x_test = _features(test_features, "linear_probe (test_features)")
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"linear_probe: train and test features have different sizes, {x_train.shape[1]} "
            f"vs {x_test.shape[1]} per example; encode both with the same model."
        )
    y_train = _labels(train_labels, len(x_train), "linear_probe (train_labels)")
    y_test = _labels(test_labels, len(x_test), "linear_probe (test_labels)")
    epochs = _check_int("epochs", epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    seed = _check_int("seed", seed, 0)
    learning_rate = _check_nonneg("learning_rate", learning_rate, positive=True)
    l2 = _check_nonneg("l2", l2, positive=False)

    seen_max = int(max(y_train.max(), y_test.max()))
    if num_classes is None:
        num_classes = seen_max + 1
    num_classes = _check_int("num_classes", num_classes, 2)
    lowest = int(min(y_train.min(), y_test.min()))
    if lowest < 0 or seen_max >= num_classes:
        raise ValueError(
            f"linear_probe: labels must be class indices in [0, {num_classes}), got values "
            f"from {lowest} to {seen_max}. Map class names to 0..K-1 first, or set num_classes."
        )
    if len(np.unique(y_train)) < 2:
        raise ValueError(
            "linear_probe: the training labels contain a single class; a classifier needs at "
            "least 2 classes to learn anything."
        )

    if standardize:
        mean = x_train.mean(axis=0, dtype=np.float64)
        std = x_train.std(axis=0, dtype=np.float64)
        std[std == 0] = 1.0
        mean, std = mean.astype(np.float32), std.astype(np.float32)
        x_train = (x_train - mean) / std
        x_test = (x_test - mean) / std

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(x_train.shape[1],)),
            keras.layers.Dense(
                num_classes,
                activation="softmax",
                kernel_regularizer=keras.regularizers.L2(l2) if l2 > 0 else None,
                name="probe",
            ),
        ],
        name="linear_probe",
    )
    steps = epochs * -(-len(x_train) // batch_size)
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
        ),
        loss="sparse_categorical_crossentropy",
    )
    model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in model.get_layer("probe").get_weights())
    return ProbeResult(
        train_accuracy=_accuracy(kernel, bias, x_train, y_train),
        test_accuracy=_accuracy(kernel, bias, x_test, y_test),
        epochs=epochs,
        n_features=int(x_train.shape[1]),
    )
