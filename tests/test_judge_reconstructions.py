"""scripts/judge_reconstructions.py: which reconstruction protocol each kind of model gets."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "judge_reconstructions.py"
_spec = importlib.util.spec_from_file_location("judge_reconstructions", _PATH)
jr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(jr)


def _images(n=6, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, 28, 28)).astype("float32")


def test_plain_model_is_called_on_images_of_its_input_shape():
    inp = keras.Input((28, 28, 1))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: 1.0 - t)(inp))
    x = _images()
    protocol, out = jr.reconstruct(model, x, np.zeros(6, int))
    assert protocol == "model(x)"
    np.testing.assert_allclose(np.asarray(out).reshape(x.shape), 1.0 - x, atol=1e-6)


def test_models_that_do_not_map_images_to_images_are_skipped():
    inp = keras.Input((10,))
    protocol, out = jr.reconstruct(keras.Model(inp, keras.layers.Dense(3)(inp)), _images(), np.zeros(6, int))
    assert out is None and protocol.startswith("skipped: input (10,)")
    inp = keras.Input((28, 28))
    protocol, out = jr.reconstruct(keras.Model(inp, keras.layers.Flatten()(inp)[:, :10]), _images(), np.zeros(6, int))
    assert out is None and "output shape" in protocol


def test_subclassed_models_without_reconstruct_are_skipped():
    class Prior(keras.Model):  # like the PixelCNN prior: no inputs attribute, no reconstruct method
        def call(self, x):
            return x

    protocol, out = jr.reconstruct(Prior(), _images(), np.zeros(6, int))
    assert out is None and protocol == "skipped: a Prior has no reconstruct method and no fixed input"


class _FakeVAE:
    """Records what reconstruct() was given."""

    def __init__(self, binarize, n_encoder_inputs, channel_axis=False):
        shape = (None, 28, 28, 1) if channel_axis else (None, 28, 28)
        self.binarize = binarize
        self.encoder = SimpleNamespace(inputs=[SimpleNamespace(shape=shape)] * n_encoder_inputs)
        self.calls = []

    def reconstruct(self, x, y=None):
        self.calls.append((x, y))
        return x


@pytest.mark.parametrize(
    "binarize, n_inputs, channel_axis, expected",
    [
        (True, 2, False, "reconstruct(binarised x, y)"),  # the CVAE of notebook 06
        (True, 1, False, "reconstruct(binarised x)"),  # the VAEs of notebooks 05 and 06
        (False, 1, True, "reconstruct(x)"),  # a conv autoencoder
    ],
)
def test_models_with_reconstruct_get_the_notebooks_protocol(binarize, n_inputs, channel_axis, expected):
    model, x, y = _FakeVAE(binarize, n_inputs, channel_axis), _images(), np.arange(6)
    protocol, _ = jr.reconstruct(model, x, y)
    assert protocol == expected
    (given_x, given_y), = model.calls
    assert given_x.shape == ((6, 28, 28, 1) if channel_axis else (6, 28, 28))
    assert set(np.unique(given_x)) <= {0.0, 1.0} if binarize else np.array_equal(given_x.reshape(x.shape), x)
    assert (given_y is y) == (n_inputs == 2)


def test_an_empty_models_directory_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit):
        jr.main(["--models-dir", str(tmp_path)])
    assert "no .keras files" in capsys.readouterr().err
