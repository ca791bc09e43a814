"""Make the course's spoken-digit clips with the speech synthesiser eSpeak NG.

Speaks "zero" .. "nine" with every combination of :data:`VOICES` (English accents x voice
variants), :data:`SPEEDS` (words per minute) and :data:`PITCHES` (0..99), and for each clip:

1. reads the synthesiser's 22,050 Hz 16-bit WAV file;
2. resamples it to 8 kHz (band-limited: the spectrum is cut at 4 kHz and transformed back);
3. trims silence before and after the word (samples below 2 % of the clip's peak);
4. scales it to a peak of 0.9 and puts it 30 ms into a 0.8 s window (6,400 samples), padding
   with zeros; a word longer than the window is cut with a 20 ms fade-out (the script counts them);
5. stores it as 8-bit mu-law codes (``course_lib.audio.mu_law_encode``).

Train and test sets are split by voice setting: the ``(voice, speed, pitch)`` combinations are
shuffled with ``np.random.default_rng(SEED)`` and :data:`TEST_FRACTION` of them, with all ten
digits each, become the test set. The file is written with ``np.savez_compressed`` to
``data/spoken-digits-8k.npz``; the script prints the SHA-256 of every array for
``course_lib.audio.DATA_SHA256`` and checks the file against those recorded there.

    sudo apt-get install espeak-ng        # Debian / Ubuntu: eSpeak NG, GPL-3.0-or-later
    python scripts/make_spoken_digits.py  # rebuilds data/spoken-digits-8k.npz
    python scripts/make_spoken_digits.py --out /tmp/digits.npz

eSpeak NG 1.51 (Debian 12) made the committed file; another version of the synthesiser may
speak slightly differently, and then the checksums differ (the script says so).
The course itself never needs the synthesiser: it loads the bundled file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_lib import audio  # noqa: E402

#: English accents of eSpeak NG x voice variants (``-v accent+variant``).
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
VARIANTS = ("m3", "f2")
VOICES = tuple(f"{a}+{v}" for a, v in itertools.product(ACCENTS, VARIANTS))
SPEEDS = (140, 170, 200)  # words per minute (eSpeak's default is 175)
PITCHES = (30, 50, 70)  # 0..99 (default 50)
TEST_FRACTION = 0.2
SEED = 0
LEAD_SECONDS = 0.03
PEAK = 0.9
SILENCE = 0.02  # fraction of the peak below which leading / trailing samples count as silence


def synthesise(word: str, voice: str, speed: int, pitch: int, tmp: Path) -> tuple[np.ndarray, int]:
    """Float samples in [-1, 1] and the sample rate of ``word`` spoken by espeak-ng."""
    target = tmp / "word.wav"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(target), word],
        check=True, capture_output=True,
    )
    with wave.open(str(target)) as f:
        if f.getnchannels() != 1 or f.getsampwidth() != 2:
            raise RuntimeError(f"espeak-ng wrote {f.getnchannels()} channels of {8 * f.getsampwidth()} bits")
        rate = f.getframerate()
        x = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return x, rate


def resample(x: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling by the FFT: keep the frequencies below ``new_rate / 2``."""
    n_new = int(round(len(x) * new_rate / rate))
    spectrum = np.fft.rfft(x)[: n_new // 2 + 1]
    return np.fft.irfft(spectrum, n=n_new) * (n_new / len(x))


def fit_to_clip(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Trim silence, scale to the peak, place LEAD_SECONDS into a CLIP_SAMPLES window."""
    loud = np.nonzero(np.abs(x) > SILENCE * np.abs(x).max())[0]
    x = x[loud[0] : loud[-1] + 1]
    x = x * (PEAK / np.abs(x).max())
    lead = int(LEAD_SECONDS * audio.SAMPLE_RATE)
    room = audio.CLIP_SAMPLES - lead
    cut = len(x) > room
    if cut:
        fade = int(0.02 * audio.SAMPLE_RATE)
        x = x[:room].copy()
        x[-fade:] *= np.linspace(1.0, 0.0, fade)
    clip = np.zeros(audio.CLIP_SAMPLES)
    clip[lead : lead + len(x)] = x
    return clip, cut


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=None, help="output file (default: data/spoken-digits-8k.npz)")
    args = p.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        print(
            "error: espeak-ng is not installed (Debian/Ubuntu: `sudo apt-get install espeak-ng`). "
            "The course does not need it: it uses the bundled data/spoken-digits-8k.npz.",
            file=sys.stderr,
        )
        return 1
    out = args.out or audio.paths.data_dir() / audio.DATA_FILE
    version = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout.strip()

    settings = list(itertools.product(range(len(VOICES)), SPEEDS, PITCHES))
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(settings))
    n_test = int(round(TEST_FRACTION * len(settings)))
    test_settings = set(order[:n_test].tolist())

    start = time.perf_counter()
    rows: dict[str, dict[str, list]] = {s: {k: [] for k in ("audio", "labels", "voice", "speed", "pitch")}
                                        for s in ("train", "test")}
    cut_count, lengths = 0, []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (voice, speed, pitch) in enumerate(settings):
            split = "test" if i in test_settings else "train"
            for label, word in enumerate(audio.DIGIT_NAMES):
                x, rate = synthesise(word, VOICES[voice], speed, pitch, Path(tmp))
                x = resample(x, rate, audio.SAMPLE_RATE)
                clip, cut = fit_to_clip(x)
                cut_count += cut
                lengths.append(int(np.nonzero(clip)[0][-1]) + 1)
                for key, value in zip(("audio", "labels", "voice", "speed", "pitch"),
                                      (audio.mu_law_encode(clip), label, voice, speed, pitch), strict=True):
                    rows[split][key].append(value)
    arrays: dict[str, np.ndarray] = {}
    for split, cols in rows.items():
        arrays[f"{split}_audio"] = np.stack(cols["audio"]).astype(np.int8)
        for key in ("labels", "voice", "speed", "pitch"):
            arrays[f"{split}_{key}"] = np.asarray(cols[key], dtype=np.uint8)
    arrays["voices"] = np.asarray(VOICES)
    audio.check_arrays(arrays, "the new clips")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)

    digests = {name: audio._sha256(arr) for name, arr in arrays.items()}
    print("DATA_SHA256 = {")
    for name, digest in digests.items():
        print(f'    "{name}": "{digest}",')
    print("}")
    same = digests == audio.DATA_SHA256
    if not same:
        print(
            "note: these differ from course_lib.audio.DATA_SHA256 (a new file, or another espeak-ng "
            "version): paste the lines above into course_lib/audio.py if this file is to be committed.",
            file=sys.stderr,
        )
    print(json.dumps({
        "file": audio.paths.display(out), "bytes": out.stat().st_size,
        "train_clips": len(arrays["train_labels"]), "test_clips": len(arrays["test_labels"]),
        "settings": len(settings), "test_settings": n_test, "cut_to_fit": cut_count,
        "longest_samples": max(lengths), "mean_samples": round(float(np.mean(lengths)), 1),
        "espeak_ng": version, "matches_recorded": same,
        "seconds": round(time.perf_counter() - start, 1),
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
