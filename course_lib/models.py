"""Encoder/decoder builders and the :class:`Autoencoder` model.

An autoencoder is two networks composed: an *encoder* ``f`` that maps an image ``x`` to a
code ``z = f(x)`` and a *decoder* ``g`` that maps the code back, ``x_hat = g(z)``. Keeping
them as two separate Keras models (instead of one long stack) lets a notebook encode,
decode and inspect codes without slicing layers, and lets later notebooks reuse a trained
encoder or decoder on its own.

All builders take and return images of shape ``input_shape`` (default ``(28, 28)``): the
encoder flattens, the decoder reshapes back, so plotting code never has to.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _check_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(
            f"input_shape must be a tuple of positive integers such as (28, 28), got {input_shape!r}."
        )
    return shape


def _check_hidden(hidden: Sequence[int]) -> tuple[int, ...]:
    units = tuple(hidden)
    for i, u in enumerate(units):
        _check_positive_int(f"hidden[{i}]", u)
    return units


def mlp_encoder(
    input_shape: Sequence[int] = (28, 28),
    latent_dim: int = 32,
    hidden: Sequence[int] = (256,),
    *,
    activation: str | None = "relu",
    code_activation: str | None = None,
    name: str = "encoder",
) -> keras.Model:
    """Dense encoder: flatten, ``hidden`` Dense layers, then a Dense code of ``latent_dim``.

    ``hidden=()`` with ``activation=None`` gives a purely linear encoder (the PCA link in
    notebook 01). The code layer is linear by default so codes can take any real value.
    """
    shape = _check_shape(input_shape)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    units = _check_hidden(hidden)
    inputs = keras.Input(shape=shape, name="image")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    code = keras.layers.Dense(latent_dim, activation=code_activation, name="code")(h)
    return keras.Model(inputs, code, name=name)


def mlp_decoder(
    latent_dim: int = 32,
    output_shape: Sequence[int] = (28, 28),
    hidden: Sequence[int] = (256,),
    *,
    activation: str | None = "relu",
    output_activation: str | None = "sigmoid",
    name: str = "decoder",
) -> keras.Model:
    """Dense decoder: ``hidden`` Dense layers, a Dense layer with one unit per pixel, reshape.

    The sigmoid output keeps pixels in [0, 1], matching the data and making binary
    cross-entropy a valid loss; ``output_activation=None`` gives a linear decoder.
    """
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    shape = _check_shape(output_shape)
    units = _check_hidden(hidden)
    inputs = keras.Input(shape=(latent_dim,), name="code")
    h = inputs
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    h = keras.layers.Dense(math.prod(shape), activation=output_activation, name="pixels")(h)
    outputs = keras.layers.Reshape(shape, name="image")(h)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="course_lib")
class Autoencoder(keras.Model):
    """``x_hat = decoder(encoder(x))``, trained with any Keras reconstruction loss.

    Use it like any Keras model: ``ae.compile(optimizer="adam", loss="mse")`` and
    ``ae.fit(x, x, ...)``. ``encode`` and ``decode`` run the two halves on NumPy arrays.
    Saves to and loads from ``.keras`` files (the class is registered with Keras).
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, **kwargs) -> None:
        super().__init__(**kwargs)
        enc_out = encoder.output_shape[-1]
        dec_in = decoder.input_shape[-1]
        if enc_out != dec_in:
            raise ValueError(
                f"The encoder outputs codes of size {enc_out} but the decoder expects {dec_in}: "
                "build both with the same latent_dim."
            )
        self.encoder = encoder
        self.decoder = decoder

    @property
    def latent_dim(self) -> int:
        return int(self.encoder.output_shape[-1])

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def encode(self, x, batch_size: int = 512):
        """Codes for ``x`` as a NumPy array (checks the image shape first)."""
        _check_input(x, self.encoder.input_shape[1:], "encode")
        return run_batched(self.encoder, x, batch_size)

    def decode(self, z, batch_size: int = 512):
        """Images for codes ``z`` as a NumPy array."""
        _check_input(z, self.decoder.input_shape[1:], "decode")
        return run_batched(self.decoder, z, batch_size)

    def reconstruct(self, x, batch_size: int = 512):
        """``decode(encode(x))`` in one pass, as a NumPy array."""
        _check_input(x, self.encoder.input_shape[1:], "reconstruct")
        return run_batched(self, x, batch_size)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> Autoencoder:
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


def run_batched(model: keras.Model, x, batch_size: int = 512):
    """Run ``model`` in inference mode and return NumPy.

    Small inputs (one batch) are run with a direct call: ``predict`` compiles a graph per new
    input shape, and notebooks call it on many small slices (10 images to plot, 100 to check),
    which makes TensorFlow warn about retracing. Large inputs go through ``predict`` in batches.
    """
    if len(x) <= batch_size:
        return keras.ops.convert_to_numpy(model(x, training=False))
    return model.predict(x, batch_size=batch_size, verbose=0)


def _check_input(x, expected: Sequence[int | None], what: str) -> None:
    shape = getattr(x, "shape", None)
    if shape is None:
        raise TypeError(f"{what}: expected an array, got {type(x).__name__}.")
    if tuple(shape[1:]) != tuple(expected):
        raise ValueError(
            f"{what}: expected a batch of shape (N, {', '.join(map(str, expected))}), "
            f"got {tuple(shape)}. Reshape the input (e.g. x.reshape(-1, 28, 28)) first."
        )


def mlp_autoencoder(
    input_shape: Sequence[int] = (28, 28),
    latent_dim: int = 32,
    hidden: Sequence[int] = (256,),
    *,
    activation: str | None = "relu",
    output_activation: str | None = "sigmoid",
    name: str = "mlp_autoencoder",
) -> Autoencoder:
    """A symmetric dense autoencoder: encoder ``hidden`` → code → reversed ``hidden`` → image."""
    units = _check_hidden(hidden)
    encoder = mlp_encoder(input_shape, latent_dim, units, activation=activation)
    decoder = mlp_decoder(
        latent_dim,
        input_shape,
        tuple(reversed(units)),
        activation=activation,
        output_activation=output_activation,
    )
    model = Autoencoder(encoder, decoder, name=name)
    model.build((None, *tuple(input_shape)))
    return model


def linear_autoencoder(
    input_shape: Sequence[int] = (28, 28), latent_dim: int = 32, *, name: str = "linear_autoencoder"
) -> Autoencoder:
    """No hidden layers and no non-linearity anywhere: ``x_hat = W_d (W_e x + b_e) + b_d``.

    Trained with MSE, its decoder's columns span the same subspace as the top
    ``latent_dim`` principal components (Baldi & Hornik, 1989).
    """
    return mlp_autoencoder(
        input_shape, latent_dim, (), activation=None, output_activation=None, name=name
    )
