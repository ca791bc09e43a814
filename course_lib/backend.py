"""The TensorFlow module for the few custom training steps that need ``tf.GradientTape``.

The course's models use ``keras.ops`` and run on any Keras backend; the adversarial
(notebook 07) and vector-quantised (notebook 10) training steps differentiate several losses
with respect to different networks in one step, which the course writes with
``tf.GradientTape``. Those modules ask for TensorFlow here, so that another backend gets one
clear message instead of an import error from deep inside a training step.
"""

from __future__ import annotations

import types

import keras


def tensorflow_for(module: str) -> types.ModuleType:
    """Return the ``tensorflow`` module, or raise a clear error naming ``module`` if Keras runs
    on another backend (``KERAS_BACKEND``)."""
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"{module} trains with tf.GradientTape and needs the TensorFlow backend; "
            f"KERAS_BACKEND is {keras.backend.backend()!r}. Set KERAS_BACKEND=tensorflow "
            "before importing keras."
        )
    import tensorflow as tf

    return tf
