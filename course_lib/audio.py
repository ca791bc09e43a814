"""Spoken digits for the course: the bundled clips, spectrograms and Griffin-Lim.

The data
--------
``data/spoken-digits-8k.npz`` holds the words "zero" .. "nine" spoken by the speech
synthesiser eSpeak NG (``espeak-ng``; several English voices and voice variants, three speeds,
three pitches), made by ``scripts/make_spoken_digits.py``: every clip is resampled to 8 kHz
mono, trimmed of leading and trailing silence, scaled to a peak of 0.9 and placed 30 ms into
a 0.8 s window (6,400 samples). The clips are synthesiser output, not recordings of people.
Train and test clips come from *different voice settings* (a seeded split of the
``(voice, speed, pitch)`` combinations, each combination with all ten digits), so the test
set asks whether a model generalises to a way of speaking it has not heard.

Waveforms are stored as 8-bit mu-law codes (:func:`mu_law_encode`, the telephone standard:
fine steps for quiet samples, coarse ones for loud samples), so the file stays small; the
loader checks every array against :data:`DATA_SHA256` and decodes the clips to float32 in
[-1, 1]. A missing or damaged file raises an :class:`AudioDataError` that says how to fix it.

The representations
-------------------
- :func:`stft` / :func:`stft_magnitude`: the short-time Fourier transform with
  :data:`FRAME_LENGTH` = 256-sample (32 ms) Hann windows every :data:`FRAME_STEP` = 100
  samples (12.5 ms): a clip becomes 64 frames x 129 frequency bins (0 .. 4 kHz, 31.25 Hz apart).
- :func:`mel_spectrogram`: the magnitudes summed by :data:`N_MELS` = 64 triangular filters on
  the mel scale (narrow at low frequencies, wide at high ones, roughly like the ear).
- :func:`log_mel`: the course's *log-mel image* of a clip, shape ``(64, 64)`` = (frames, mel
  bands), in decibels mapped linearly from [:data:`DB_MIN`, :data:`DB_MAX`] to [0, 1] (and
  clipped): what the conv VAE and the audio judge see.

And back to sound
-----------------
A spectrogram has no phase, so it does not say which waveform made it.
:func:`log_mel_to_mel` undoes the decibel mapping, :func:`mel_to_linear` spreads the mel bands
back over the 129 frequency bins with the pseudo-inverse of the filter bank (it cannot restore
the detail the filters averaged away), and :func:`griffin_lim` finds a waveform whose STFT
magnitude is close to a given one (Griffin & Lim 1984, with the momentum of Perraudin et al.
2013). :func:`spectral_convergence` measures how close. :func:`log_mel_to_waveform` chains
the three.

The spectrogram functions use ``tf.signal`` (TensorFlow's STFT, inverse STFT and mel filter
bank) and accept NumPy arrays of one clip or a batch; they return NumPy arrays.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib import paths

# --------------------------------------------------------------------------- constants

SAMPLE_RATE = 8000  # Hz
CLIP_SECONDS = 0.8
CLIP_SAMPLES = 6400  # SAMPLE_RATE * CLIP_SECONDS
DIGIT_NAMES: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
)
NUM_CLASSES = len(DIGIT_NAMES)

FRAME_LENGTH = 256  # samples per STFT window (32 ms)
FRAME_STEP = 100  # samples between windows (12.5 ms)
FFT_LENGTH = 256
N_FRAMES = -(-CLIP_SAMPLES // FRAME_STEP)  # 64: the last window is padded with zeros
N_BINS = FFT_LENGTH // 2 + 1  # 129 frequency bins, 0 .. SAMPLE_RATE / 2
N_MELS = 64
MEL_LOW_HZ = 60.0
MEL_HIGH_HZ = 4000.0
DB_MIN = -50.0  # decibels mapped to 0 in the log-mel image (and everything quieter)
DB_MAX = 30.0  # decibels mapped to 1 (and everything louder)
IMAGE_SHAPE: tuple[int, int] = (N_FRAMES, N_MELS)

MU = 127  # mu-law with 255 levels (codes -127 .. 127), so that silence is exactly 0

DATA_FILE = "spoken-digits-8k.npz"
#: SHA-256 of every array in the bundled file (written by scripts/make_spoken_digits.py).
DATA_SHA256: dict[str, str] = {
    "train_audio": "45899d1efe808b174e770b8e31ca1847537993068a459b5429270e8ca88c3c5c",
    "train_labels": "49b142bbe94f4a9f6ddc9faa5c974052c5794543458522b8cd114f314879e803",
    "train_voice": "b1952707126ef1f880c422fb8b77530579401bbff5f8a119b5fef264a7192b9b",
    "train_speed": "9b550cff181ebf013cb0439f113af603195047e33186b176b6f39ba5b8c6dc79",
    "train_pitch": "70abb36a613fc100e9d466a4c8170a5694f25ce47952be5a52294ed28af00c5c",
    "test_audio": "170b603b2d21aea31674c00bce5f31f1dcaea6f0a724174d3abe67794178bfb8",
    "test_labels": "0a80eccbae9ab3fef1ba60b550d2c3b8557ee725fcbfc01a9f806954bbd619f9",
    "test_voice": "571f2be95a58e25bfcf8ff3d0fae48975b3f0527115e8b73c33c353a79fbb5bf",
    "test_speed": "360aab8e5dbcf27e937eca49d25d4d9ef1fc5b9f388cd0c710c418e368113d5e",
    "test_pitch": "9c47bdfa28c55e3238fff344eba8e986afe2175566d5e0b71398df13ee2d81c1",
    "voices": "057febc811b85b604eeecc4a76a5d835cd4ab577983a63a915061bbbd08ebb3b",
}

_FIX = (
    "Fix: restore the bundled file with `git checkout -- data/{file}`, or rebuild it with "
    "`python scripts/make_spoken_digits.py` (needs the speech synthesiser: "
    "`sudo apt-get install espeak-ng`)."
)


# --------------------------------------------------------------------------- errors


class AudioDataError(RuntimeError):
    """Base class: the spoken-digit clips cannot be loaded."""


class AudioDataNotFoundError(AudioDataError):
    """The bundled file is not where it should be."""


class AudioDataIntegrityError(AudioDataError):
    """The file exists but is unreadable or differs from the recorded clips."""


# --------------------------------------------------------------------------- mu-law


def mu_law_encode(wave: Any) -> np.ndarray:
    """Float samples in [-1, 1] -> int8 codes -127 .. 127 (mu-law: a logarithmic quantiser).

    ``y = sign(x) log(1 + mu |x|) / log(1 + mu)`` then ``round(127 y)``: quiet samples get
    fine steps and loud ones coarse steps, so 8 bits sound like about 12 linear ones.
    Samples outside [-1, 1] are clipped.
    """
    x = np.clip(np.asarray(wave, dtype=np.float64), -1.0, 1.0)
    mu = 255.0
    y = np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu)
    return np.round(y * MU).astype(np.int8)


def mu_law_decode(codes: Any) -> np.ndarray:
    """int8 codes from :func:`mu_law_encode` -> float32 samples in [-1, 1]."""
    y = np.asarray(codes, dtype=np.float64) / MU
    mu = 255.0
    return (np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu).astype(np.float32)


# --------------------------------------------------------------------------- the data


@dataclass(frozen=True, eq=False)
class SpokenDigits:
    """The loaded clips: waveforms float32 ``(N, 6400)`` in [-1, 1] at 8 kHz, labels 0..9.

    ``voice_*`` index :attr:`voices` (e.g. ``"en-gb-scotland+f2"``); ``speed_*`` is the
    synthesiser's speed in words per minute and ``pitch_*`` its pitch setting (0..99).
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    voice_train: np.ndarray = field(repr=False)
    voice_test: np.ndarray = field(repr=False)
    speed_train: np.ndarray = field(repr=False)
    speed_test: np.ndarray = field(repr=False)
    pitch_train: np.ndarray = field(repr=False)
    pitch_test: np.ndarray = field(repr=False)
    voices: tuple[str, ...]
    source: str

    def summary(self) -> str:
        """One line: how many clips, from where."""
        return (
            f"Spoken digits: {len(self.y_train)} training and {len(self.y_test)} test clips "
            f"({CLIP_SECONDS} s at {SAMPLE_RATE} Hz; {len(self.voices)} voices, speeds "
            f"{sorted(set(self.speed_train.tolist()))} wpm, pitches "
            f"{sorted(set(self.pitch_train.tolist()))}) from {self.source}"
        )


#: Name, dtype and number of dimensions of every array in the file.
ARRAYS: dict[str, tuple[str, int]] = {
    **{f"{s}_audio": ("int8", 2) for s in ("train", "test")},
    **{f"{s}_{k}": ("uint8", 1) for s in ("train", "test") for k in ("labels", "voice", "speed", "pitch")},
    "voices": ("<U", 1),
}


def _sha256(arr: np.ndarray) -> str:
    """SHA-256 of an array's raw bytes in C order."""
    return hashlib.sha256(np.ascontiguousarray(arr).reshape(-1).data).hexdigest()


def default_path() -> Path:
    """``data/spoken-digits-8k.npz`` in the repository (``$COURSE_AUDIO_FILE`` overrides it)."""
    env = os.environ.get("COURSE_AUDIO_FILE")
    return Path(env).expanduser() if env else paths.data_dir() / DATA_FILE


def check_arrays(arrays: dict[str, np.ndarray], what: str, expected: dict[str, str] | None = None) -> None:
    """Check names, dtypes, shapes, labels and (if ``expected`` is given) SHA-256 of every array.

    Raises :class:`AudioDataIntegrityError` naming the first problem.
    """
    fix = _FIX.format(file=DATA_FILE)
    for name, (dtype, ndim) in ARRAYS.items():
        if name not in arrays:
            raise AudioDataIntegrityError(f"{what} has no array {name!r}: not the course's clips. {fix}")
        arr = arrays[name]
        ok_dtype = arr.dtype.kind == "U" if dtype == "<U" else arr.dtype == np.dtype(dtype)
        if not ok_dtype or arr.ndim != ndim:
            raise AudioDataIntegrityError(
                f"{what}: array {name!r} is {arr.dtype} with {arr.ndim} dimensions, expected "
                f"{dtype} with {ndim}. {fix}"
            )
    for split in ("train", "test"):
        n = len(arrays[f"{split}_labels"])
        audio = arrays[f"{split}_audio"]
        if audio.shape != (n, CLIP_SAMPLES) or any(len(arrays[f"{split}_{k}"]) != n for k in ("voice", "speed", "pitch")):
            raise AudioDataIntegrityError(
                f"{what}: the {split} arrays disagree in length or the clips are not "
                f"{CLIP_SAMPLES} samples long (audio shape {audio.shape}, {n} labels). {fix}"
            )
        if n and int(arrays[f"{split}_labels"].max()) >= NUM_CLASSES:
            raise AudioDataIntegrityError(f"{what}: {split} labels outside 0..9. {fix}")
    if expected is not None:
        for name, digest in expected.items():
            if _sha256(arrays[name]) != digest:
                raise AudioDataIntegrityError(
                    f"{what}: array {name!r} differs from the course's clips (SHA-256 "
                    f"{_sha256(arrays[name])[:16]}..., expected {digest[:16]}...). {fix}"
                )


def load_spoken_digits(path: str | os.PathLike | None = None, *, verify: bool = True) -> SpokenDigits:
    """Load and verify the spoken-digit clips (default: the bundled file, see :func:`default_path`).

    ``verify=True`` compares every array with :data:`DATA_SHA256`; only a freshly rebuilt
    file that is not yet recorded needs ``verify=False``. Raises
    :class:`AudioDataNotFoundError` if the file is missing and :class:`AudioDataIntegrityError`
    if it cannot be read or is not the recorded one; both messages say how to fix it.
    """
    file = Path(path).expanduser() if path is not None else default_path()
    shown = paths.display(file)
    if not file.is_file():
        raise AudioDataNotFoundError(
            f"The spoken-digit clips are not at {shown}. " + _FIX.format(file=DATA_FILE)
        )
    try:
        with np.load(file, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as exc:  # a truncated zip, a foreign file ...: numpy raises many kinds
        raise AudioDataIntegrityError(
            f"{shown} cannot be read as a NumPy .npz file ({type(exc).__name__}: {exc}). "
            + _FIX.format(file=DATA_FILE)
        ) from exc
    check_arrays(arrays, shown, DATA_SHA256 if verify else None)
    return SpokenDigits(
        x_train=mu_law_decode(arrays["train_audio"]),
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=mu_law_decode(arrays["test_audio"]),
        y_test=arrays["test_labels"].astype(np.int64),
        voice_train=arrays["train_voice"].astype(np.int64),
        voice_test=arrays["test_voice"].astype(np.int64),
        speed_train=arrays["train_speed"].astype(np.int64),
        speed_test=arrays["test_speed"].astype(np.int64),
        pitch_train=arrays["train_pitch"].astype(np.int64),
        pitch_test=arrays["test_pitch"].astype(np.int64),
        voices=tuple(str(v) for v in arrays["voices"]),
        source=shown,
    )


# --------------------------------------------------------------------------- spectrograms


def _tf():
    import tensorflow as tf

    return tf


def _waves(x: Any, what: str) -> np.ndarray:
    """Float32 waveforms as a batch ``(N, samples)``; a single clip ``(samples,)`` is allowed."""
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)) or arr.dtype == np.bool_:
        raise TypeError(f"{what}: expected an array of float samples, got dtype {arr.dtype}.")
    if np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{what}: expected float samples in [-1, 1], got integers ({arr.dtype}). int8 mu-law "
            "codes need mu_law_decode; 16-bit PCM needs x.astype('float32') / 32768."
        )
    if arr.ndim not in (1, 2) or arr.shape[-1] < FRAME_LENGTH:
        raise ValueError(
            f"{what}: expected one waveform (samples,) or a batch (N, samples) with at least "
            f"{FRAME_LENGTH} samples, got shape {arr.shape}."
        )
    return arr.astype(np.float32, copy=False)


def stft(waves: Any) -> np.ndarray:
    """Complex STFT, ``(..., frames, 129)``: Hann windows of 256 samples every 100 samples.

    The end of the clip is padded with zeros so that a 6,400-sample clip gives 64 frames.
    """
    tf = _tf()
    x = _waves(waves, "stft")
    s = tf.signal.stft(x, FRAME_LENGTH, FRAME_STEP, FFT_LENGTH, pad_end=True)
    return s.numpy()


def istft(spectrum: Any, length: int = CLIP_SAMPLES) -> np.ndarray:
    """The inverse of :func:`stft` (overlap-add with the dual window), cut to ``length`` samples.

    Exact except near the first and last samples of the clip, which fewer windows overlap;
    the course's clips are silent there.
    """
    tf = _tf()
    s = tf.convert_to_tensor(np.asarray(spectrum, dtype=np.complex64))
    window = tf.signal.inverse_stft_window_fn(FRAME_STEP)
    x = tf.signal.inverse_stft(s, FRAME_LENGTH, FRAME_STEP, FFT_LENGTH, window_fn=window)
    return x.numpy()[..., :length]


def stft_magnitude(waves: Any) -> np.ndarray:
    """``|STFT|``: float32 ``(..., frames, 129)`` linear magnitudes (what Griffin-Lim inverts)."""
    return np.abs(stft(waves)).astype(np.float32)


def mel_matrix() -> np.ndarray:
    """The mel filter bank, float32 ``(129, 64)``: ``mel = linear_magnitude @ mel_matrix()``.

    64 triangular filters with centres evenly spaced on the mel scale between 60 Hz and
    4 kHz (``tf.signal.linear_to_mel_weight_matrix``).
    """
    tf = _tf()
    return tf.signal.linear_to_mel_weight_matrix(
        N_MELS, N_BINS, SAMPLE_RATE, MEL_LOW_HZ, MEL_HIGH_HZ
    ).numpy()


def mel_spectrogram(waves: Any) -> np.ndarray:
    """Mel-band magnitudes, float32 ``(..., frames, 64)``."""
    return stft_magnitude(waves) @ mel_matrix()


def mel_to_log_mel(mel: Any) -> np.ndarray:
    """Mel magnitudes -> the log-mel image: decibels mapped from [DB_MIN, DB_MAX] to [0, 1]."""
    db = 20.0 * np.log10(np.maximum(np.asarray(mel, dtype=np.float32), 1e-6))
    return np.clip((db - DB_MIN) / (DB_MAX - DB_MIN), 0.0, 1.0).astype(np.float32)


def log_mel(waves: Any) -> np.ndarray:
    """The course's log-mel image of each clip: float32 ``(..., 64, 64)`` in [0, 1].

    Axis -2 is time (64 frames of 12.5 ms), axis -1 the 64 mel bands from low to high.
    """
    return mel_to_log_mel(mel_spectrogram(waves))


def log_mel_to_mel(image: Any) -> np.ndarray:
    """The inverse of :func:`mel_to_log_mel` (a clipped value comes back as DB_MIN or DB_MAX)."""
    img = np.asarray(image, dtype=np.float32)
    db = DB_MIN + img * (DB_MAX - DB_MIN)
    return np.power(10.0, db / 20.0).astype(np.float32)


def mel_to_linear(mel: Any) -> np.ndarray:
    """Mel magnitudes ``(..., 64)`` -> linear magnitudes ``(..., 129)`` (least squares, >= 0).

    The 64 filters cannot be undone exactly (129 unknowns, 64 equations); the Moore-Penrose
    pseudo-inverse gives the smallest-norm linear spectrum with those mel values, and negative
    values are set to 0 because magnitudes are never negative.
    """
    inverse = np.linalg.pinv(mel_matrix())  # (64, 129)
    return np.maximum(np.asarray(mel, dtype=np.float32) @ inverse, 0.0).astype(np.float32)


def spectral_convergence(magnitude: Any, waves: Any) -> np.ndarray:
    """How far the STFT magnitude of ``waves`` is from ``magnitude``: one value per clip.

    ``|| S - |STFT(x)| ||_F / || S ||_F`` (Frobenius norms over frames and bins): 0 means
    ``x`` has exactly the magnitudes ``S``; 1 is as large as ``S`` itself.
    """
    target = np.asarray(magnitude, dtype=np.float32)
    got = stft_magnitude(waves)
    if got.shape != target.shape:
        raise ValueError(
            f"spectral_convergence: magnitude has shape {target.shape} but the waves give "
            f"{got.shape}: pass the waves the magnitudes were made for."
        )
    axes = (-2, -1)
    return np.linalg.norm(target - got, axis=axes) / np.maximum(np.linalg.norm(target, axis=axes), 1e-12)


def griffin_lim(
    magnitude: Any, n_iter: int = 32, *, momentum: float = 0.99, seed: int = 0,
    length: int = CLIP_SAMPLES,
) -> np.ndarray:
    """A waveform whose STFT magnitude is close to ``magnitude`` ``(..., frames, 129)``.

    Start from random phases; then repeat: give the spectrum the wanted magnitudes, go to a
    waveform (inverse STFT) and back (STFT) -- the round trip makes the spectrum *consistent*
    (one that a real signal has) -- and keep only its phases. ``momentum`` (0 = the original
    algorithm) pushes each update further in the direction of the last one, which converges
    much faster (Perraudin, Balazs & Sondergaard 2013; librosa uses the same 0.99).
    """
    if isinstance(n_iter, bool) or not isinstance(n_iter, int) or n_iter < 0:
        raise ValueError(f"griffin_lim: n_iter must be an integer >= 0, got {n_iter!r}.")
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"griffin_lim: momentum must be in [0, 1), got {momentum!r}.")
    mag = np.asarray(magnitude, dtype=np.float32)
    if mag.ndim < 2 or mag.shape[-1] != N_BINS:
        raise ValueError(
            f"griffin_lim: expected STFT magnitudes (..., frames, {N_BINS}), got shape {mag.shape}; "
            "mel magnitudes need mel_to_linear first."
        )
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(mag.shape)).astype(np.complex64)  # unit complex numbers
    previous = np.zeros_like(phase)
    for _ in range(n_iter):
        rebuilt = stft(istft(mag * phase, length))  # the nearest consistent spectrum
        step = rebuilt - (momentum / (1.0 + momentum)) * previous  # fast Griffin-Lim
        phase = step / np.maximum(np.abs(step), 1e-8)  # keep the phase, drop the magnitude
        previous = rebuilt
    return istft(mag * phase, length)


def log_mel_to_waveform(image: Any, n_iter: int = 32, *, seed: int = 0) -> np.ndarray:
    """Log-mel image(s) ``(..., 64, 64)`` -> waveform(s) ``(..., 6400)``: undo the decibels,
    spread the mel bands over the frequency bins, and find phases with Griffin-Lim."""
    img = np.asarray(image, dtype=np.float32)
    if img.shape[-2:] != IMAGE_SHAPE:
        raise ValueError(
            f"log_mel_to_waveform: expected log-mel images (..., {N_FRAMES}, {N_MELS}), got shape {img.shape}."
        )
    return griffin_lim(mel_to_linear(log_mel_to_mel(img)), n_iter, seed=seed)
