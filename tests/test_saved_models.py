"""Saved models are keyed by profile; a missing or unreadable one means 'retrain', with a notice."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import saved_models


@pytest.fixture(autouse=True)
def _build(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))


def _model():
    import keras

    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_round_trip_within_a_profile_and_not_across(tmp_path, capsys):
    model = _model()
    path = saved_models.save(model, "tiny", profile="workshop")
    assert path == tmp_path / "models" / "workshop" / "tiny.keras"
    loaded = saved_models.load("tiny", profile="workshop", made_by="03")
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert saved_models.load("tiny", profile="smoke") is None
    out = capsys.readouterr().out
    assert "loaded tiny (saved by notebook 03)" in out and "no saved tiny" in out
    assert str(tmp_path) not in out or "models/smoke/tiny.keras" in out


def test_a_corrupt_file_means_retrain(tmp_path, capsys):
    target = saved_models.path_for("broken", profile="workshop")
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not a zip")
    assert saved_models.load("broken", profile="workshop") is None
    assert "could not load" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["../x", "", "a/b", None])
def test_names_are_plain(name):
    with pytest.raises(ValueError, match="plain name"):
        saved_models.path_for(name, profile="workshop")


def test_the_notice_says_what_the_caller_does_without_the_model(tmp_path, capsys):
    assert saved_models.load("absent", profile="workshop") is None
    assert "training it here instead" in capsys.readouterr().out
    assert saved_models.load("absent", profile="workshop", if_missing="skipping the comparison with it") is None
    out = capsys.readouterr().out
    assert "skipping the comparison with it" in out and "training" not in out


def test_load_file_rebuilds_course_classes_in_a_process_that_never_imported_them(tmp_path):
    # the bug this guards against: a script importing only some course modules could not read
    # notebook 10's saved PixelCNN prior ("Could not locate class 'PixelCNNPrior'")
    import subprocess
    import sys
    from pathlib import Path

    from course_lib import autoregressive

    prior = autoregressive.PixelCNNPrior(4, (3, 3), num_classes=2, filters=4, n_blocks=1, first_kernel=3)
    codes, labels = np.zeros((2, 3, 3), "int32"), np.array([0, 1])
    prior.predict([codes, labels], verbose=0)
    path = tmp_path / "prior.keras"
    prior.save(path)
    script = (
        "import sys, numpy as np\n"
        "from course_lib import saved_models\n"
        "assert 'course_lib.autoregressive' not in sys.modules\n"
        f"m = saved_models.load_file({str(path)!r}, compile=False)\n"
        "print(type(m).__name__)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("PixelCNNPrior")
