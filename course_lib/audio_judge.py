"""The course's fixed spoken-digit classifier: a *judge* for generated sounds.

Notebook 11 asks of a digit-conditioned sound generator: does a clip generated for "seven"
sound like "seven"? As for images (:mod:`course_lib.judge`), the answer needs a classifier that
is the **same for everybody**, so it is trained once (``scripts/train_audio_judge.py``) and
ships with the package as a versioned artefact in ``course_lib/assets/``:

- ``spoken_digit_judge_v<N>.keras`` -- the model (architecture and weights, no optimizer state);
- ``spoken_digit_judge_v<N>.json`` -- what it is: the SHA-256 of its weights, its measured
  accuracy on the test clips (voice settings it never heard) and on the same clips after a
  round trip through the mel pseudo-inverse and Griffin-Lim, the training configuration and
  seed, the TensorFlow / Keras versions, the date.

:func:`load_audio_judge` checks the weights against the recorded hash and refuses to run if they
differ. A new judge gets a new version number; an existing version is never changed.

The judge reads the course's log-mel images (:func:`course_lib.audio.log_mel`): float arrays
``(N, 64, 64)`` or ``(N, 64, 64, 1)`` in [0, 1]. :meth:`AudioJudge.predict_waveforms` takes
8 kHz waveforms and makes the images itself -- the way to judge generated *sound*, whatever
representation produced it.
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from course_lib import audio
from course_lib.judge import JudgeIntegrityError, JudgeNotFoundError, weights_sha256

#: The audio judge version notebooks should use. A retrained judge gets a new number.
CURRENT_VERSION = 1
INPUT_SHAPE: tuple[int, int, int] = (*audio.IMAGE_SHAPE, 1)
FEATURES_LAYER = "features"
BATCH_SIZE = 500
STEM = "spoken_digit_judge_v"

_ASSETS = Path(__file__).resolve().parent / "assets"

__all__ = [
    "AudioJudge", "JudgeIntegrityError", "JudgeNotFoundError", "build_audio_classifier",
    "check_log_mel", "class_accuracy", "load_audio_judge", "save_audio_judge",
]


def build_audio_classifier(*, dropout: float = 0.3) -> keras.Model:
    """The audio judge's architecture (untrained): a small CNN for 64x64 log-mel images.

    Three stages of conv 3x3 ('same', ReLU) + 2x2 max-pool with 16, 32 and 64 channels
    (64x64 -> 32x32 -> 16x16 -> 8x8), flatten, dense 64 ("features", ReLU), dropout,
    dense 10 (softmax): about 290,000 parameters, trained in well under a minute on a CPU.
    """
    if not isinstance(dropout, numbers.Real) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"build_audio_classifier: dropout must be in [0, 1), got {dropout!r}.")
    layers = keras.layers
    inputs = keras.Input(shape=INPUT_SHAPE, name="log_mel")
    h = inputs
    for i, f in enumerate((16, 32, 64), start=1):
        h = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"conv{i}")(h)
        h = layers.MaxPooling2D(name=f"pool{i}")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(64, activation="relu", name=FEATURES_LAYER)(h)
    h = layers.Dropout(float(dropout), name="dropout")(h)
    outputs = layers.Dense(audio.NUM_CLASSES, activation="softmax", name="probabilities")(h)
    return keras.Model(inputs, outputs, name="spoken_digit_judge")


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise ValueError(f"The audio judge version must be a positive integer such as 1, got {version!r}.")
    return int(version)


def artefact_paths(version: int, directory: str | Path | None = None) -> tuple[Path, Path]:
    """``(model_file, json_file)`` of audio judge ``version`` in ``directory`` (default: the assets)."""
    version = _check_version(version)
    folder = Path(directory).expanduser() if directory is not None else _ASSETS
    return folder / f"{STEM}{version}.keras", folder / f"{STEM}{version}.json"


def save_audio_judge(
    model: keras.Model, version: int, info: dict[str, Any], directory: str | Path | None = None,
    *, force: bool = False,
) -> tuple[Path, Path]:
    """Write ``model`` as audio judge ``version`` (weights copied into a fresh, uncompiled model)
    and its JSON record (``info`` + version, file name, weights' SHA-256). Never overwrites an
    existing version unless ``force=True``."""
    model_file, json_file = artefact_paths(version, directory)
    existing = [str(p) for p in (model_file, json_file) if p.exists()]
    if existing and not force:
        raise FileExistsError(
            f"Audio judge version {version} already exists ({', '.join(existing)}). A published "
            "version must not change: train a new one with a higher --version, or pass --force."
        )
    clean = build_audio_classifier()
    clean.set_weights(model.get_weights())
    model_file.parent.mkdir(parents=True, exist_ok=True)
    clean.save(model_file)
    record = {"version": int(version), "file": model_file.name, "weights_sha256": weights_sha256(clean), **info}
    json_file.write_text(json.dumps(record, indent=2) + "\n")
    return model_file, json_file


def check_log_mel(x: Any, what: str = "log-mel images") -> np.ndarray:
    """Validate log-mel images for the judge; return float32 ``(N, 64, 64, 1)``.

    Waveforms, linear spectrograms or decibels are refused with a message saying how to make
    the images (:func:`course_lib.audio.log_mel`).
    """
    arr = np.asarray(x)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what}: expected float log-mel images in [0, 1], got dtype {arr.dtype}.")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[1:] != INPUT_SHAPE:
        hint = (
            " These look like waveforms: use judge.predict_waveforms(waves) or audio.log_mel(waves)."
            if arr.ndim == 2 and arr.shape[-1] == audio.CLIP_SAMPLES
            else " A single image needs a batch axis (x[None])."
        )
        raise ValueError(
            f"{what}: expected a batch of log-mel images (N, {audio.N_FRAMES}, {audio.N_MELS}) or "
            f"(N, {audio.N_FRAMES}, {audio.N_MELS}, 1), got shape {np.shape(x)}.{hint}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{what}: the batch is empty.")
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"{what}: the images contain NaN or infinite values.")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{what}: values must lie in [0, 1] (audio.log_mel's scale), got [{lo:.4g}, {hi:.4g}]. "
            "Decibels need audio.mel_to_log_mel; an unbounded decoder's output needs np.clip(x, 0, 1)."
        )
    return arr.astype(np.float32, copy=False)


@dataclass(frozen=True, eq=False)
class AudioJudge:
    """A loaded, verified audio judge. Build it with :func:`load_audio_judge`.

    ``test_accuracy`` is its accuracy on the 220 bundled test clips when the version was trained;
    ``info`` is its whole JSON record.
    """

    model: keras.Model = field(repr=False)
    version: int
    test_accuracy: float
    info: dict[str, Any] = field(repr=False)

    def predict_proba(self, images: Any) -> np.ndarray:
        """Class probabilities ``(N, 10)`` of log-mel images (inference mode, in batches)."""
        arr = check_log_mel(images, "AudioJudge.predict_proba")
        out = [keras.ops.convert_to_numpy(self.model(arr[i : i + BATCH_SIZE], training=False))
               for i in range(0, len(arr), BATCH_SIZE)]
        return np.concatenate(out)

    def predict(self, images: Any) -> np.ndarray:
        """Predicted digits 0..9 of log-mel images, shape ``(N,)``."""
        return self.predict_proba(images).argmax(axis=1)

    def predict_waveforms(self, waves: Any) -> np.ndarray:
        """Predicted digits of 8 kHz waveforms ``(N, 6400)``: ``predict(audio.log_mel(waves))``."""
        return self.predict(audio.log_mel(waves))


def class_accuracy(judge: AudioJudge, images: Any, requested_labels: Any) -> float:
    """Fraction of log-mel ``images`` that ``judge`` hears as ``requested_labels`` (ids 0..9)."""
    labels = np.asarray(requested_labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        raise ValueError(f"class_accuracy: labels must be integer digits 0..9, got dtype {labels.dtype}.")
    predicted = judge.predict(images)
    if labels.ndim == 0:
        labels = np.full(len(predicted), labels)
    if labels.shape != predicted.shape:
        raise ValueError(
            f"class_accuracy: {labels.shape} labels for {len(predicted)} images: pass one label per image."
        )
    return float(np.mean(predicted == labels))


def load_audio_judge(version: int = CURRENT_VERSION, *, directory: str | Path | None = None) -> AudioJudge:
    """Load audio judge ``version`` (default from ``course_lib/assets/``) and verify its weights.

    Raises :class:`~course_lib.judge.JudgeNotFoundError` if a file is missing and
    :class:`~course_lib.judge.JudgeIntegrityError` if it cannot be read or its weights' SHA-256
    differs from the recorded one.
    """
    version = _check_version(version)
    model_file, json_file = artefact_paths(version, directory)
    restore = (
        "Fix: restore the files from git (`git checkout -- course_lib/assets/`) or train a new "
        "version with `python scripts/train_audio_judge.py --version N`."
    )
    missing = [str(p) for p in (model_file, json_file) if not p.is_file()]
    if missing:
        raise JudgeNotFoundError(f"Audio judge version {version} not found: {', '.join(missing)} does not exist. {restore}")
    try:
        info = json.loads(json_file.read_text())
        expected = str(info["weights_sha256"])
        test_accuracy = float(info["test_accuracy"])
        if int(info["version"]) != version:
            raise ValueError(f"it describes version {info['version']}, not {version}")
    except (ValueError, KeyError, TypeError) as exc:
        raise JudgeIntegrityError(f"{json_file} is not a valid audio judge record ({exc}). {restore}") from exc
    try:
        model = keras.saving.load_model(model_file, compile=False)
    except Exception as exc:  # a truncated zip, a foreign file ...: keras raises many kinds
        raise JudgeIntegrityError(
            f"{model_file} cannot be loaded as a Keras model ({type(exc).__name__}: {exc}). {restore}"
        ) from exc
    actual = weights_sha256(model)
    if actual != expected:
        raise JudgeIntegrityError(
            f"The audio judge's weights changed: {model_file.name} has SHA-256 {actual[:16]}..., its "
            f"record says {expected[:16]}...; its numbers would not be comparable. {restore}"
        )
    if tuple(model.input_shape[1:]) != INPUT_SHAPE:
        raise JudgeIntegrityError(f"{model_file} is not an audio judge (input {model.input_shape}). {restore}")
    return AudioJudge(model=model, version=version, test_accuracy=test_accuracy, info=info)
