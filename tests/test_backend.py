"""The custom training steps ask for TensorFlow through one helper with one clear message."""

import keras
import pytest

from course_lib import adversarial, backend, vq


def test_tensorflow_is_returned_on_the_tensorflow_backend():
    tf = backend.tensorflow_for("course_lib.vq")
    assert tf.__name__ == "tensorflow" and hasattr(tf, "GradientTape")


@pytest.mark.parametrize("module", [adversarial, vq])
def test_another_backend_gets_a_clear_message(module, monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match=rf"{module.__name__} trains with tf.GradientTape.*KERAS_BACKEND is 'jax'"):
        module._tf()
