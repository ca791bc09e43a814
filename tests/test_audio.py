"""course_lib.audio (spoken digits, spectrograms, Griffin-Lim) and course_lib.audio_judge.

None of these tests needs the speech synthesiser: they use the bundled clips.
"""

from __future__ import annotations

import json
import shutil
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from course_lib import audio, audio_judge


@lru_cache(maxsize=1)
def _data() -> audio.SpokenDigits:
    return audio.load_spoken_digits()


def _tone(seconds: float = audio.CLIP_SECONDS) -> np.ndarray:
    """A known signal: a rising chirp plus a steady tone, faded in and out."""
    t = np.arange(int(seconds * audio.SAMPLE_RATE)) / audio.SAMPLE_RATE
    x = 0.4 * np.sin(2 * np.pi * (300 * t + 600 * t**2)) + 0.2 * np.sin(2 * np.pi * 1200 * t)
    return (x * np.hanning(len(t))).astype(np.float32)


# --------------------------------------------------------------------------- data


def test_bundled_clips_load_with_their_shapes_labels_and_split():
    d = _data()
    assert d.x_train.shape == (860, audio.CLIP_SAMPLES) and d.x_test.shape == (220, audio.CLIP_SAMPLES)
    assert d.x_train.dtype == np.float32 and np.abs(d.x_train).max() <= 1.0
    assert np.bincount(d.y_train, minlength=10).tolist() == [86] * 10
    assert np.bincount(d.y_test, minlength=10).tolist() == [22] * 10
    assert len(d.voices) == 12 and "en-gb-scotland+f2" in d.voices
    train_settings = set(zip(d.voice_train.tolist(), d.speed_train.tolist(), d.pitch_train.tolist(), strict=True))
    test_settings = set(zip(d.voice_test.tolist(), d.speed_test.tolist(), d.pitch_test.tolist(), strict=True))
    assert not train_settings & test_settings  # split by voice setting
    assert "860 training and 220 test clips" in d.summary() and "data/spoken-digits-8k.npz" in d.summary()
    # every clip holds a word: loud in the middle, silent in its first 30 ms
    assert np.all(np.abs(d.x_test).max(axis=1) > 0.5) and np.all(d.x_test[:, :200] == 0.0)


def test_mu_law_keeps_silence_and_loud_samples_with_small_error():
    x = np.array([0.0, 1e-4, -0.01, 0.3, -0.9, 1.0, 2.0], dtype=np.float32)
    codes = audio.mu_law_encode(x)
    assert codes.dtype == np.int8 and codes[0] == 0 and codes[-1] == 127
    back = audio.mu_law_decode(codes)
    assert back[0] == 0.0 and back[-1] == pytest.approx(1.0)
    assert np.all(np.abs(back[1:-1] - x[1:-1]) <= 0.03 * np.abs(x[1:-1]) + 1e-3)


def test_missing_file_says_how_to_restore_it(tmp_path):
    with pytest.raises(audio.AudioDataNotFoundError, match="git checkout -- data/spoken-digits-8k.npz"):
        audio.load_spoken_digits(tmp_path / "nothing.npz")


def test_corrupt_file_is_refused(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(audio.AudioDataIntegrityError, match="cannot be read.*make_spoken_digits.py"):
        audio.load_spoken_digits(bad)


def test_changed_or_missing_array_is_refused(tmp_path):
    with np.load(audio.default_path()) as npz:
        arrays = {k: npz[k] for k in npz.files}
    changed = dict(arrays, test_labels=arrays["test_labels"][::-1].copy())
    np.savez(tmp_path / "changed.npz", **changed)
    with pytest.raises(audio.AudioDataIntegrityError, match="'test_labels' differs"):
        audio.load_spoken_digits(tmp_path / "changed.npz")
    audio.load_spoken_digits(tmp_path / "changed.npz", verify=False)  # a rebuilt file can be inspected
    del arrays["voices"]
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(audio.AudioDataIntegrityError, match="no array 'voices'"):
        audio.load_spoken_digits(tmp_path / "short.npz", verify=False)


def test_make_script_without_synthesiser_explains_that_the_course_does_not_need_it(monkeypatch, capsys):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import make_spoken_digits
    finally:
        sys.path.pop(0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert make_spoken_digits.main(["--out", "/nonexistent/never.npz"]) == 1
    err = capsys.readouterr().err
    assert "apt-get install espeak-ng" in err and "bundled" in err


# --------------------------------------------------------------------------- spectrograms


def test_spectrogram_shapes_for_one_clip_and_a_batch():
    x = _data().x_test[:3]
    assert audio.stft(x).shape == (3, audio.N_FRAMES, audio.N_BINS) == (3, 64, 129)
    assert audio.stft_magnitude(x[0]).shape == (64, 129)
    assert audio.mel_matrix().shape == (129, 64)
    assert audio.mel_spectrogram(x).shape == (3, 64, 64)
    img = audio.log_mel(x)
    assert img.shape == (3, *audio.IMAGE_SHAPE) and img.dtype == np.float32
    assert img.min() >= 0.0 and img.max() <= 1.0 and img.max() > 0.6


def test_stft_then_istft_gives_the_signal_back():
    x = _tone()
    back = audio.istft(audio.stft(x))
    assert back.shape == x.shape
    inner = slice(audio.FRAME_LENGTH, -audio.FRAME_LENGTH)  # the edges lack overlapping windows
    np.testing.assert_allclose(back[inner], x[inner], atol=1e-5)
    assert np.abs(back - x).max() < 1e-3


def test_integer_samples_and_mel_magnitudes_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="mu_law_decode"):
        audio.log_mel(np.zeros((2, audio.CLIP_SAMPLES), dtype=np.int8))
    with pytest.raises(ValueError, match="mel_to_linear first"):
        audio.griffin_lim(np.ones((64, 64), dtype=np.float32))
    with pytest.raises(ValueError, match="n_iter"):
        audio.griffin_lim(np.ones((64, 129), dtype=np.float32), n_iter=-1)
    with pytest.raises(ValueError, match="log-mel images"):
        audio.log_mel_to_waveform(np.ones((64, 129), dtype=np.float32))


def test_griffin_lim_on_a_known_signal_converges_with_iterations():
    magnitude = audio.stft_magnitude(_tone())
    sc = [float(audio.spectral_convergence(magnitude, audio.griffin_lim(magnitude, n, seed=1)))
          for n in (0, 4, 16, 48)]
    assert sc[0] > sc[1] > sc[2] > sc[3]
    assert sc[0] > 0.3 and sc[3] < 0.1
    # the same seed gives the same waveform
    np.testing.assert_array_equal(audio.griffin_lim(magnitude, 4, seed=3), audio.griffin_lim(magnitude, 4, seed=3))
    # the exact signal has spectral convergence 0
    assert float(audio.spectral_convergence(magnitude, _tone())) == pytest.approx(0.0, abs=1e-6)


def test_mel_round_trip_is_sensible():
    x = _data().x_test[::22]  # one clip of every digit
    mel = audio.mel_spectrogram(x)
    linear = audio.mel_to_linear(mel)
    assert linear.shape == (10, 64, 129) and linear.min() >= 0.0
    # the pseudo-inverse keeps the mel values (up to the clipping of negative magnitudes) ...
    rel = np.linalg.norm(linear @ audio.mel_matrix() - mel) / np.linalg.norm(mel)
    assert rel < 0.1
    # ... but not the linear detail the filters averaged away
    true = audio.stft_magnitude(x)
    assert 0.05 < np.linalg.norm(linear - true) / np.linalg.norm(true) < 0.5
    # decibels there and back; then all the way to sound and back to a log-mel image
    inside = np.clip(mel, 10 ** (audio.DB_MIN / 20) * 1.01, 10 ** (audio.DB_MAX / 20) * 0.99)
    np.testing.assert_allclose(audio.log_mel_to_mel(audio.mel_to_log_mel(inside)), inside, rtol=1e-4)
    img = audio.log_mel(x)
    again = audio.log_mel(audio.log_mel_to_waveform(img, 16))
    assert again.shape == img.shape and np.abs(again - img).mean() < 0.03


def test_spectral_convergence_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        audio.spectral_convergence(np.ones((3, 64, 129)), _data().x_test[:2])


# --------------------------------------------------------------------------- the audio judge


def test_committed_audio_judge_loads_and_hears_the_test_digits():
    judge = audio_judge.load_audio_judge()
    assert judge.version == audio_judge.CURRENT_VERSION and judge.test_accuracy >= 0.95
    d = _data()
    some = np.arange(0, 220, 4)  # 55 test clips, every digit
    assert audio_judge.class_accuracy(judge, audio.log_mel(d.x_test[some]), d.y_test[some]) >= 0.95
    assert np.mean(judge.predict_waveforms(d.x_test[some]) == d.y_test[some]) >= 0.95
    p = judge.predict_proba(audio.log_mel(d.x_test[:5])[..., None])
    assert p.shape == (5, 10) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_audio_judge_refuses_wrong_inputs_with_the_fix():
    judge = audio_judge.load_audio_judge()
    with pytest.raises(ValueError, match="predict_waveforms"):
        judge.predict(_data().x_test[:2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        judge.predict(np.full((2, 64, 64), 30.0, dtype=np.float32))
    with pytest.raises(ValueError, match="one label per image"):
        audio_judge.class_accuracy(judge, audio.log_mel(_data().x_test[:3]), np.array([1, 2]))


def test_audio_judge_files_are_verified(tmp_path):
    with pytest.raises(audio_judge.JudgeNotFoundError, match="train_audio_judge.py"):
        audio_judge.load_audio_judge(7, directory=tmp_path)
    model_file, json_file = audio_judge.artefact_paths(1)
    shutil.copy(model_file, tmp_path)
    record = json.loads(json_file.read_text())
    record["weights_sha256"] = "0" * 64
    (tmp_path / json_file.name).write_text(json.dumps(record))
    with pytest.raises(audio_judge.JudgeIntegrityError, match="weights changed"):
        audio_judge.load_audio_judge(1, directory=tmp_path)
    with pytest.raises(FileExistsError, match="must not change"):
        audio_judge.save_audio_judge(audio_judge.build_audio_classifier(), 1, {}, tmp_path)
