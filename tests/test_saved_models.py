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
