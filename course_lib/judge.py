"""The course's fixed Fashion-MNIST classifier: a *judge* for generated images.

Later notebooks ask of a generative model: do its samples look like the class they were
asked for, and is their spread like the data's? Both questions need a classifier that is
the **same for everybody**, on every run and machine -- otherwise numbers are not comparable.
So the judge is trained once (``scripts/train_judge.py``), and its weights ship with the
package as a versioned artefact in ``course_lib/assets/``:

- ``fmnist_judge_v<N>.keras`` -- the model (architecture and weights, no optimizer state);
- ``fmnist_judge_v<N>.json`` -- what it is: the SHA-256 of its weights, its measured test
  accuracy, the training configuration and seed, the TensorFlow / Keras versions, the date.

:func:`load_judge` checks the weights against the recorded hash and refuses to run if they
differ. A *new* judge gets a new version number; an existing version is never changed.

What a :class:`Judge` gives you:

- :meth:`Judge.predict_proba` / :meth:`Judge.predict` -- class probabilities and class ids;
  :func:`class_accuracy` (and :func:`per_class_accuracy`, one value per class) -- the
  fraction of images classified as the class they were meant to show (for conditional
  generators);
- :meth:`Judge.features` -- the 128-d activations of its penultimate ("features") layer, the
  space in which :func:`course_lib.frechet.frechet_distance` compares image sets.

Images are ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` floats in [0, 1], like
``course_lib.data.prepare_splits`` returns them; anything else is refused with a message
that says how to fix it.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from course_lib.data import NUM_CLASSES

#: The judge version notebooks should use. A retrained judge gets a new number.
CURRENT_VERSION = 1
IMAGE_SHAPE: tuple[int, int, int] = (28, 28, 1)
FEATURES_LAYER = "features"
FEATURE_DIM = 128
BATCH_SIZE = 1000

_ASSETS = Path(__file__).resolve().parent / "assets"


# --------------------------------------------------------------------------- errors


class JudgeError(RuntimeError):
    """Base class: the judge's files are missing or not the recorded ones."""


class JudgeNotFoundError(JudgeError):
    """The ``.keras`` or ``.json`` file of the requested judge version does not exist."""


class JudgeIntegrityError(JudgeError):
    """The judge's files exist but are unreadable or differ from the recorded weights."""


# --------------------------------------------------------------------------- the model


def build_classifier(*, dropout: float = 0.3) -> keras.Model:
    """The judge's architecture (untrained): a small CNN for 28x28x1 images in [0, 1].

    conv 32 (3x3) - max-pool - conv 64 (3x3) - max-pool - dense 128 ("features") -
    dropout - dense 10 (softmax). Unpadded ('valid') convolutions shrink 28 -> 26 -> 13 -> 11
    -> 5, so the flattened map is 5x5x64 = 1,600 values and the model has about 225,000
    parameters (under 1 MB on disk). Small on purpose: trained in a few minutes on one CPU
    core, fast to run on thousands of generated images, and still about 91-92 % accurate
    on the test set (the exact figure is recorded with each version).
    """
    if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"build_classifier: dropout must be in [0, 1), got {dropout!r}.")
    layers = keras.layers
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    h = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    h = layers.MaxPooling2D(name="pool1")(h)
    h = layers.Conv2D(64, 3, activation="relu", name="conv2")(h)
    h = layers.MaxPooling2D(name="pool2")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(FEATURE_DIM, activation="relu", name=FEATURES_LAYER)(h)
    h = layers.Dropout(float(dropout), name="dropout")(h)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(h)
    return keras.Model(inputs, outputs, name="fmnist_judge")


def weights_sha256(model: keras.Model) -> str:
    """SHA-256 over the model's weight arrays, in ``get_weights()`` order.

    Each array is cast to little-endian float32 and its bytes are concatenated. This
    identifies the *numbers*, unlike a hash of the ``.keras`` file, which is a zip archive
    with timestamps and so differs between two saves of the same weights.
    """
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w, dtype="<f4").tobytes())
    return digest.hexdigest()


# --------------------------------------------------------------------------- files


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(
            f"The judge version must be a positive integer such as 1, got {version!r}."
        )
    return int(version)


def default_directory() -> Path:
    """Where the committed judges live: ``course_lib/assets/`` inside the package."""
    return _ASSETS


def artefact_paths(version: int, directory: str | Path | None = None) -> tuple[Path, Path]:
    """``(model_file, json_file)`` of judge ``version`` in ``directory`` (default: the assets)."""
    version = _check_version(version)
    folder = Path(directory).expanduser() if directory is not None else _ASSETS
    stem = f"fmnist_judge_v{version}"
    return folder / f"{stem}.keras", folder / f"{stem}.json"


def available_versions(directory: str | Path | None = None) -> list[int]:
    """Judge versions with both files present in ``directory`` (default: the assets)."""
    folder = Path(directory).expanduser() if directory is not None else _ASSETS
    found = []
    for meta in folder.glob("fmnist_judge_v*.json"):
        suffix = meta.stem.removeprefix("fmnist_judge_v")
        if suffix.isdigit() and meta.with_suffix(".keras").is_file():
            found.append(int(suffix))
    return sorted(found)


def save_judge(
    model: keras.Model,
    version: int,
    info: dict[str, Any],
    directory: str | Path | None = None,
    *,
    force: bool = False,
) -> tuple[Path, Path]:
    """Write ``model`` as judge ``version``: the ``.keras`` file and its ``.json`` record.

    The weights are copied into a fresh, uncompiled :func:`build_classifier` model so that
    no optimizer state is saved (smaller file, and nothing that training could change).
    The JSON holds ``info`` plus the version, file name and the weights' SHA-256. An
    existing version is never overwritten unless ``force=True``: a published version must
    stay what it was.
    """
    model_file, json_file = artefact_paths(version, directory)
    existing = [p for p in (model_file, json_file) if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"Judge version {version} already exists ({', '.join(map(str, existing))}). "
            "A published version must not change: train a new one with --version "
            f"{max(available_versions(model_file.parent) + [version]) + 1}, or pass "
            "--force (force=True) if you really mean to replace it."
        )
    clean = build_classifier()
    clean.set_weights(model.get_weights())
    model_file.parent.mkdir(parents=True, exist_ok=True)
    clean.save(model_file)
    record = {
        "version": int(version),
        "file": model_file.name,
        "weights_sha256": weights_sha256(clean),
        **info,
    }
    json_file.write_text(json.dumps(record, indent=2) + "\n")
    return model_file, json_file


# --------------------------------------------------------------------------- inputs


def check_images(x: Any, what: str = "images") -> np.ndarray:
    """Validate a batch of images for the judge; return it as float32 ``(N, 28, 28, 1)``.

    Accepts ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` floating-point arrays with every pixel in
    [0, 1]. Everything else raises a ``ValueError`` (or ``TypeError``) that says how to fix
    it: the judge was trained on that range, and uint8 grey levels or unclipped decoder
    outputs would give confident but meaningless answers.
    """
    arr = np.asarray(x)
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{what}: expected float images in [0, 1], got dtype {arr.dtype} (grey levels "
            "0..255?). Convert them with x.astype('float32') / 255."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what}: expected a float array of images, got dtype {arr.dtype}.")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[1:] != IMAGE_SHAPE:
        raise ValueError(
            f"{what}: expected a batch of 28x28 grey images, shape (N, 28, 28) or "
            f"(N, 28, 28, 1), got shape {np.shape(x)}. A single image needs a batch axis "
            "(x[None]); flat vectors need x.reshape(-1, 28, 28)."
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what}: the batch is empty (0 images).")
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{what}: the images contain NaN or infinite values.")
    if lo < 0.0 or hi > 1.0:
        hint = (
            "They look like grey levels 0..255: divide by 255."
            if hi > 1.5
            else "Clip the outputs of an unbounded decoder with np.clip(x, 0, 1)."
        )
        raise ValueError(
            f"{what}: pixel values must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]. " + hint
        )
    return arr.astype(np.float32, copy=False)


# --------------------------------------------------------------------------- the judge


@dataclass(frozen=True, eq=False)
class Judge:
    """A loaded, verified judge. Build it with :func:`load_judge`, not directly.

    ``version`` and ``test_accuracy`` (measured on the 10,000 Fashion-MNIST test images
    when the version was trained) come from its JSON record; ``info`` is the whole record.
    """

    model: keras.Model = field(repr=False)
    version: int
    test_accuracy: float
    info: dict[str, Any] = field(repr=False)
    _both: keras.Model = field(init=False, repr=False)

    def __post_init__(self) -> None:
        both = keras.Model(
            self.model.input,
            [self.model.get_layer(FEATURES_LAYER).output, self.model.outputs[0]],
            name="judge_features_and_probabilities",
        )
        object.__setattr__(self, "_both", both)

    def _run(self, x: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
        """Features and probabilities of checked images, in inference mode and in batches."""
        arr = check_images(x, what)
        feats, probs = [], []
        for i in range(0, len(arr), BATCH_SIZE):
            f, p = self._both(arr[i : i + BATCH_SIZE], training=False)
            feats.append(keras.ops.convert_to_numpy(f))
            probs.append(keras.ops.convert_to_numpy(p))
        return np.concatenate(feats), np.concatenate(probs)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, shape ``(N, 10)``; rows sum to 1."""
        return self._run(x, "Judge.predict_proba")[1]

    def predict(self, x: Any) -> np.ndarray:
        """Predicted class ids 0..9, shape ``(N,)`` (names in ``course_lib.data.CLASS_NAMES``)."""
        return self._run(x, "Judge.predict")[1].argmax(axis=1)

    def features(self, x: Any) -> np.ndarray:
        """The 128-d penultimate activations (after ReLU), float32 ``(N, 128)``.

        The feature space of :func:`course_lib.frechet.frechet_distance`.
        """
        return self._run(x, "Judge.features")[0]

    def features_and_predictions(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(features, predicted class ids)`` of ``x`` in one pass through the network.

        The same values as :meth:`features` and :meth:`predict`, for a notebook that needs both
        on 10,000 images (a Fréchet distance and a class accuracy) without running twice.
        """
        feats, probs = self._run(x, "Judge.features_and_predictions")
        return feats, probs.argmax(axis=1)


def load_judge(version: int = CURRENT_VERSION, *, directory: str | Path | None = None) -> Judge:
    """Load judge ``version`` from ``directory`` (default ``course_lib/assets/``) and verify it.

    Raises :class:`JudgeNotFoundError` if a file is missing and :class:`JudgeIntegrityError`
    if the file cannot be read or its weights' SHA-256 differs from the one recorded in its
    JSON: then the numbers it gives would not be comparable with anybody else's.
    """
    version = _check_version(version)
    model_file, json_file = artefact_paths(version, directory)
    missing = [p for p in (model_file, json_file) if not p.is_file()]
    if missing:
        others = available_versions(model_file.parent)
        raise JudgeNotFoundError(
            f"Judge version {version} not found: {', '.join(map(str, missing))} "
            f"does not exist (versions present there: {others or 'none'}). Fix: restore the "
            "files from git (git checkout -- course_lib/assets/), or train this version with "
            f"`python scripts/train_judge.py --version {version}`."
        )
    restore = (
        f"Fix: restore the file from git (`git checkout -- {model_file} {json_file}`) or bump "
        "the version by retraining with `python scripts/train_judge.py --version N` (a new "
        "N; never replace a published version)."
    )
    try:
        info = json.loads(json_file.read_text())
        expected = str(info["weights_sha256"])
        test_accuracy = float(info["test_accuracy"])
        recorded_version = int(info["version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise JudgeIntegrityError(
            f"{json_file} is not a valid judge record ({type(exc).__name__}: {exc}). {restore}"
        ) from exc
    if recorded_version != version:
        raise JudgeIntegrityError(
            f"{json_file} describes version {recorded_version}, not {version}. {restore}"
        )
    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as exc:  # a truncated zip, a foreign file ...: keras raises many kinds
        raise JudgeIntegrityError(
            f"{model_file} cannot be loaded as a Keras model ({type(exc).__name__}: {exc}). "
            + restore
        ) from exc
    actual = weights_sha256(model)
    if actual != expected:
        raise JudgeIntegrityError(
            f"The judge's weights changed: {model_file} has weights with SHA-256 "
            f"{actual[:16]}..., but {json_file.name} records {expected[:16]}...; numbers "
            f"would not be comparable with anybody else's. {restore}"
        )
    names = {layer.name for layer in model.layers}
    if tuple(model.input_shape[1:]) != IMAGE_SHAPE or FEATURES_LAYER not in names:
        raise JudgeIntegrityError(
            f"{model_file} is not a judge: it needs input (None, 28, 28, 1) and a layer named "
            f"{FEATURES_LAYER!r}, got input {model.input_shape}. {restore}"
        )
    return Judge(model=model, version=version, test_accuracy=test_accuracy, info=info)


def _hits(judge: Judge, images: Any, requested_labels: Any, caller: str) -> tuple[np.ndarray, np.ndarray]:
    """``(hit, labels)``: whether ``judge`` classifies each image as requested, and the labels."""
    labels = np.asarray(requested_labels)
    if labels.dtype == np.bool_ or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{caller}: requested_labels must be integer class ids 0..9, got dtype "
            f"{labels.dtype}. Convert with labels.astype(int); one-hot labels need "
            "labels.argmax(axis=1)."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(
            f"{caller}: requested_labels must be class ids 0..{NUM_CLASSES - 1}, got "
            f"values in [{labels.min()}, {labels.max()}]."
        )
    predicted = judge.predict(images)
    if labels.ndim == 0:
        labels = np.full(len(predicted), labels)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"{caller}: requested_labels has shape {labels.shape} but there are "
            f"{len(predicted)} images: pass one label per image, or a single label for all."
        )
    labels = labels.astype(np.int64)
    return predicted == labels, labels


def class_accuracy(judge: Judge, images: Any, requested_labels: Any) -> float:
    """Fraction of ``images`` that ``judge`` classifies as ``requested_labels``.

    For a conditional generator: ``requested_labels`` are the classes the images were
    generated for, an ``(N,)`` array of ids 0..9 or a single id for all of them. On real
    test images with their true labels this is the judge's accuracy.
    """
    hit, _ = _hits(judge, images, requested_labels, "class_accuracy")
    return float(np.mean(hit))


def per_class_accuracy(judge: Judge, images: Any, requested_labels: Any) -> np.ndarray:
    """:func:`class_accuracy` for each class separately: an array of 10 fractions.

    Entry ``c`` is the fraction of the images requested as class ``c`` that the judge
    assigns to ``c`` (NaN if no image was requested as ``c``). An overall number hides
    *where* a generator fails -- e.g. one class whose fine details blur away.
    """
    hit, labels = _hits(judge, images, requested_labels, "per_class_accuracy")
    counts = np.bincount(labels, minlength=NUM_CLASSES)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.bincount(labels, weights=hit, minlength=NUM_CLASSES) / counts
