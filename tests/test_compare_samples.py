"""scripts/compare_samples.py: arguments are checked, missing models are named and skipped."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from course_lib import data

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "compare_samples.py"
_spec = importlib.util.spec_from_file_location("compare_samples", _PATH)
cs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cs)


def test_sample_count_outside_the_test_set_is_refused(capsys):
    with pytest.raises(SystemExit):
        cs.main(["--n", "5"])
    assert "--n must be between 10 and 10,000" in capsys.readouterr().err


def test_missing_models_are_named_and_skipped(tmp_path, monkeypatch, capsys):
    rng = np.random.default_rng(0)
    fake = SimpleNamespace(x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), y_test=np.arange(30) % 10)
    monkeypatch.setattr(data, "load_fashion_mnist", lambda *a, **k: fake)
    assert cs.main(["--vq-build", str(tmp_path), "--rivals-build", str(tmp_path), "--n", "20"]) == 0
    out = capsys.readouterr().out
    assert "20 samples per model" in out
    for name in ("10_vqvae", "06_cvae", "07_vaegan"):
        assert f"{name}: no file {tmp_path / 'models' / 'workshop' / name}.keras; skipped" in out
    assert "Fréchet" not in out.split("\n", 1)[1]  # nothing was compared


@pytest.mark.parametrize(("prior", "name"), [([], "10_transformer_prior"), (["--prior", "pixelcnn"], "10_pixelcnn_prior")])
def test_the_prior_option_picks_the_saved_prior(tmp_path, monkeypatch, capsys, prior, name):
    rng = np.random.default_rng(0)
    fake = SimpleNamespace(x_test=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8), y_test=np.arange(30) % 10)
    monkeypatch.setattr(data, "load_fashion_mnist", lambda *a, **k: fake)
    assert cs.main(["--vq-build", str(tmp_path), "--rivals-build", str(tmp_path), "--n", "20", *prior]) == 0
    assert f"{name}: no file {tmp_path / 'models' / 'workshop' / name}.keras; skipped" in capsys.readouterr().out
