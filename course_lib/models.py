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
import numpy as np


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
    code_l1: float = 0.0,
    name: str = "encoder",
) -> keras.Model:
    """Dense encoder: flatten, ``hidden`` Dense layers, then a Dense code of ``latent_dim``.

    ``hidden=()`` with ``activation=None`` gives a purely linear encoder (the PCA link in
    notebook 01). The code layer is linear by default so codes can take any real value.
    ``code_l1 > 0`` adds an L1 penalty on the code activations (a *sparse* autoencoder,
    notebook 02); pair it with ``code_activation="relu"`` so that units can be exactly zero.
    """
    shape = _check_shape(input_shape)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    units = _check_hidden(hidden)
    inputs = keras.Input(shape=shape, name="image")
    h = keras.layers.Flatten(name="flatten")(inputs)
    for i, u in enumerate(units):
        h = keras.layers.Dense(u, activation=activation, name=f"dense_{i + 1}")(h)
    if isinstance(code_l1, bool) or not isinstance(code_l1, int | float) or code_l1 < 0:
        raise ValueError(f"code_l1 must be a non-negative number, got {code_l1!r}.")
    regularizer = keras.regularizers.L1(code_l1) if code_l1 > 0 else None
    code = keras.layers.Dense(
        latent_dim, activation=code_activation, activity_regularizer=regularizer, name="code"
    )(h)
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

    Its dense version is built on the page in notebook 01, section 2, and checked against
    :func:`mlp_autoencoder` there.

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

    def encode(self, x, batch_size: int = 1024):
        """Codes for ``x`` as a NumPy array (checks the image shape first)."""
        _check_input(x, self.encoder.input_shape[1:], "encode")
        return run_batched(self.encoder, x, batch_size)

    def decode(self, z, batch_size: int = 1024):
        """Images for codes ``z`` as a NumPy array."""
        _check_input(z, self.decoder.input_shape[1:], "decode")
        return run_batched(self.decoder, z, batch_size)

    def reconstruct(self, x, batch_size: int = 1024):
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


def run_batched(model: keras.Model, x, batch_size: int = 1024):
    """Run ``model`` in inference mode on ``x`` in chunks and return one NumPy array.

    Direct calls instead of ``model.predict``: ``predict`` traces a new graph for every new
    model and input shape, and notebooks call it for many models and many small slices,
    which makes TensorFlow print retracing warnings (and spend time tracing).
    """
    chunks = [
        keras.ops.convert_to_numpy(model(x[i : i + batch_size], training=False))
        for i in range(0, len(x), batch_size)
    ]
    if not chunks:
        raise ValueError("run_batched: the input is empty (0 examples).")
    return np.concatenate(chunks)


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
    code_activation: str | None = None,
    code_l1: float = 0.0,
    name: str = "mlp_autoencoder",
) -> Autoencoder:
    """A symmetric dense autoencoder: encoder ``hidden`` → code → reversed ``hidden`` → image.

    Built on the page in notebook 01, section 2 (784 → 256 → 32 → 256 → 784 in plain Keras 3)
    and checked there against this builder: the same weights give the same codes,
    reconstructions and loss. ``code_activation`` and ``code_l1`` are passed to
    :func:`mlp_encoder` (sparse codes).
    """
    units = _check_hidden(hidden)
    encoder = mlp_encoder(
        input_shape, latent_dim, units, activation=activation,
        code_activation=code_activation, code_l1=code_l1,
    )
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


# --------------------------------------------------------------------------------------------
# Convolutional builders (notebook 03)
# --------------------------------------------------------------------------------------------

#: Ways the encoder halves the resolution at each stage.
DOWNSAMPLE_MODES = ("strided", "pool")
#: Ways the decoder doubles the resolution at each stage.
UPSAMPLE_MODES = ("transpose", "upsample")


def _check_filters(filters: Sequence[int]) -> tuple[int, ...]:
    if isinstance(filters, int | str):
        raise ValueError(
            f"filters must be a sequence of positive integers such as (32, 64), got {filters!r}."
        )
    chans = tuple(filters)
    if not chans:
        raise ValueError(
            "filters must list at least one stage, e.g. (32, 64); got an empty sequence. "
            "Each entry is the number of channels of one resolution-halving stage."
        )
    for i, f in enumerate(chans):
        _check_positive_int(f"filters[{i}]", f)
    return chans


def _check_mode(name: str, value: object, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ValueError(
            f"Unknown {name} mode {value!r}; valid modes are {', '.join(map(repr, valid))}."
        )
    return value  # type: ignore[return-value]


def _check_image_shape(what: str, shape: Sequence[int], n_stages: int) -> tuple[int, int, int]:
    dims = _check_shape(shape)
    if len(dims) != 3:
        raise ValueError(
            f"{what} must be (height, width, channels) such as (28, 28, 1) for conv layers, "
            f"got {shape!r}. Use prepare_splits(..., channel_axis=True) for images with a "
            "channel axis."
        )
    h, w, c = dims
    factor = 2**n_stages
    if h % factor or w % factor:
        raise ValueError(
            f"{what} {dims[:2]} is not divisible by 2**len(filters) = {factor}: each of the "
            f"{n_stages} stages halves the resolution. Use fewer stages (28x28 allows at most 2) "
            "or pad the images."
        )
    return h, w, c


def _conv_block(
    h,
    filters: int,
    kernel_size: int,
    strides: int,
    batch_norm: bool,
    activation: str,
    name: str,
    transpose: bool = False,
):
    """Conv (or transposed conv) → optional BatchNorm → activation.

    With batch norm the conv has no bias: BN's own shift makes it redundant.
    """
    layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    h = layer(
        filters, kernel_size, strides=strides, padding="same", use_bias=not batch_norm, name=name
    )(h)
    if batch_norm:
        h = keras.layers.BatchNormalization(name=f"{name}_bn")(h)
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(h)


def conv_encoder(
    input_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 64,
    filters: Sequence[int] = (32, 64),
    *,
    kernel_size: int = 3,
    downsample: str = "strided",
    batch_norm: bool = True,
    activation: str = "relu",
    blocks_per_stage: int = 1,
    stem_filters: int | None = None,
    name: str = "conv_encoder",
) -> keras.Model:
    """Convolutional encoder: stages that each halve the resolution, then a linear Dense code.

    Stage ``i`` outputs ``filters[i]`` channels at half the previous resolution, so with the
    default ``(32, 64)`` a 28x28 image becomes 14x14x32, then 7x7x64, then a ``latent_dim`` code.
    Channels grow as resolution shrinks: the cost of a 3x3 conv is
    ``height * width * 9 * c_in * c_out``, so wide layers are cheap at 7x7 and dear at 28x28.

    ``downsample="strided"`` halves with a stride-2 Conv2D (the network learns how to
    downsample, one layer per stage); ``"pool"`` uses a stride-1 Conv2D followed by
    MaxPooling2D (the classic LeNet/VGG pattern; the conv then runs at full resolution, 4x
    the cost). ``blocks_per_stage`` convolutions run per stage; the extra ones (stride 1) sit
    at the stage's output resolution and add depth where it is cheap. ``stem_filters``, if set,
    adds one stride-1 Conv2D at full resolution before the first stage (few channels keep it
    cheap). Convs are ``Conv2D → BatchNorm → activation`` (``batch_norm=False`` drops the BN).
    The code layer is linear, as in :func:`mlp_encoder`.

    Built on the page in notebook 03, section 3 (``page_conv_encoder``: the defaults of this
    function with ``filters=(16, 64)``), and checked there to give the same codes.
    """
    chans = _check_filters(filters)
    h_in, w_in, c_in = _check_image_shape("input_shape", input_shape, len(chans))
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    blocks_per_stage = _check_positive_int("blocks_per_stage", blocks_per_stage)
    if stem_filters is not None:
        stem_filters = _check_positive_int("stem_filters", stem_filters)
    downsample = _check_mode("downsample", downsample, DOWNSAMPLE_MODES)

    inputs = keras.Input(shape=(h_in, w_in, c_in), name="image")
    h = inputs
    if stem_filters is not None:
        h = _conv_block(h, stem_filters, kernel_size, 1, batch_norm, activation, "stem_conv")
    for i, f in enumerate(chans, start=1):
        if downsample == "strided":
            h = _conv_block(h, f, kernel_size, 2, batch_norm, activation, f"stage{i}_conv1")
        else:
            h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"stage{i}_conv1")
            h = keras.layers.MaxPooling2D(2, name=f"stage{i}_pool")(h)
        for j in range(2, blocks_per_stage + 1):
            h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"stage{i}_conv{j}")
    h = keras.layers.Flatten(name="flatten")(h)
    code = keras.layers.Dense(latent_dim, name="code")(h)
    return keras.Model(inputs, code, name=name)


def conv_decoder(
    latent_dim: int = 64,
    output_shape: Sequence[int] = (28, 28, 1),
    filters: Sequence[int] = (64, 32),
    *,
    kernel_size: int = 3,
    upsample: str = "transpose",
    batch_norm: bool = True,
    activation: str = "relu",
    output_activation: str | None = "sigmoid",
    blocks_per_stage: int = 1,
    name: str = "conv_decoder",
) -> keras.Model:
    """Convolutional decoder: Dense to a small feature map, stages that each double it, a conv out.

    The code goes through a Dense layer to ``(H / 2**n, W / 2**n, filters[0])`` (7x7x64 for
    the defaults); stage ``i`` then doubles the resolution and outputs ``filters[i]`` channels
    (14x14x64, then 28x28x32); a final Conv2D maps to the image's channels with
    ``output_activation`` (sigmoid keeps pixels in [0, 1]; ``None`` is linear).

    ``upsample="transpose"`` uses a stride-2 Conv2DTranspose. With kernel 3 and stride 2 its
    kernel footprints overlap unevenly: some output pixels receive contributions from one
    input pixel, their neighbours from two, which leaves a checkerboard pattern that training
    has to fight (Odena, Dumoulin & Olah, "Deconvolution and checkerboard artifacts", Distill
    2016). ``"upsample"`` uses UpSampling2D (nearest neighbour) followed by a stride-1 Conv2D:
    every output pixel sees the same number of inputs, so there is no checkerboard, at the
    price of running that conv at the doubled resolution (4x the multiply-adds).
    ``blocks_per_stage`` convolutions run per stage, the extra ones (stride 1) at the stage's
    output resolution.

    Built on the page in notebook 03, section 3 (``page_conv_decoder``, with
    ``filters=(64, 16)``), and checked there to give the same reconstructions.
    """
    chans = _check_filters(filters)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    h_out, w_out, c_out = _check_image_shape("output_shape", output_shape, len(chans))
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    blocks_per_stage = _check_positive_int("blocks_per_stage", blocks_per_stage)
    upsample = _check_mode("upsample", upsample, UPSAMPLE_MODES)

    factor = 2 ** len(chans)
    h0, w0 = h_out // factor, w_out // factor
    inputs = keras.Input(shape=(latent_dim,), name="code")
    h = keras.layers.Dense(h0 * w0 * chans[0], use_bias=not batch_norm, name="project")(inputs)
    h = keras.layers.Reshape((h0, w0, chans[0]), name="to_feature_map")(h)
    if batch_norm:
        h = keras.layers.BatchNormalization(name="project_bn")(h)
    h = keras.layers.Activation(activation, name=f"project_{activation}")(h)
    for i, f in enumerate(chans, start=1):
        if upsample == "transpose":
            h = _conv_block(
                h, f, kernel_size, 2, batch_norm, activation, f"stage{i}_conv1", transpose=True
            )
        else:
            h = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"stage{i}_up")(h)
            h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"stage{i}_conv1")
        for j in range(2, blocks_per_stage + 1):
            h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"stage{i}_conv{j}")
    outputs = keras.layers.Conv2D(
        c_out, kernel_size, padding="same", activation=output_activation, name="image"
    )(h)
    return keras.Model(inputs, outputs, name=name)


def conv_autoencoder(
    input_shape: Sequence[int] = (28, 28, 1),
    latent_dim: int = 64,
    filters: Sequence[int] = (32, 64),
    *,
    kernel_size: int = 3,
    downsample: str = "strided",
    upsample: str = "transpose",
    batch_norm: bool = True,
    activation: str = "relu",
    output_activation: str | None = "sigmoid",
    blocks_per_stage: int = 1,
    stem_filters: int | None = None,
    name: str = "conv_autoencoder",
) -> Autoencoder:
    """A symmetric conv autoencoder: :func:`conv_encoder` with ``filters``, then
    :func:`conv_decoder` with ``reversed(filters)``, wrapped in :class:`Autoencoder`.

    ``stem_filters`` only affects the encoder (one extra full-resolution conv); the decoder's
    full-resolution layer has ``filters[0]`` channels.

    Built on the page in notebook 03, section 3, and checked there against this function
    (same weights → same codes, reconstructions and MSE loss); notebook 03 trains this
    version and saves it for notebook 04 (``saved_models`` name ``"03_conv_ae"``).
    """
    chans = _check_filters(filters)
    encoder = conv_encoder(
        input_shape,
        latent_dim,
        chans,
        kernel_size=kernel_size,
        downsample=downsample,
        batch_norm=batch_norm,
        activation=activation,
        blocks_per_stage=blocks_per_stage,
        stem_filters=stem_filters,
    )
    decoder = conv_decoder(
        latent_dim,
        input_shape,
        tuple(reversed(chans)),
        kernel_size=kernel_size,
        upsample=upsample,
        batch_norm=batch_norm,
        activation=activation,
        output_activation=output_activation,
        blocks_per_stage=blocks_per_stage,
    )
    model = Autoencoder(encoder, decoder, name=name)
    model.build((None, *tuple(input_shape)))
    return model


def conv_denoiser(
    input_shape: Sequence[int] = (28, 28, 1),
    filters: Sequence[int] = (32, 64),
    *,
    top_filters: int = 16,
    skip: bool = True,
    top_convs: int = 0,
    kernel_size: int = 3,
    batch_norm: bool = True,
    activation: str = "relu",
    output_activation: str | None = "sigmoid",
    name: str = "conv_denoiser",
) -> keras.Model:
    """A fully convolutional encoder-decoder for restoration: image in, image out.

    Built on the page in notebook 04, section 3 (``page_unet``, checked against this function
    with the same weights), then trained there from this function.

    Encoder: one stage per entry of ``filters``, each a stride-2 conv that halves the
    resolution and a stride-1 conv (28x28 -> 14x14x32 -> 7x7x64 for the defaults). Decoder:
    per stage, a stride-2 Conv2DTranspose back up and a stride-1 conv; the last one brings
    the image back to full resolution with ``top_filters`` channels, and a final conv maps
    to the image's channels.

    Unlike :func:`conv_autoencoder` there is no Dense code: the bottleneck is a *spatial*
    feature map (7x7x64 = 3,136 numbers), because a restorer must keep the details of its
    particular image, not a 64-number summary of it -- a tight code would cap the quality at
    that code's own reconstruction error. With ``skip=True`` the decoder also gets *skip
    connections*, as in a U-Net (Ronneberger et al. 2015): each decoder stage adds the
    encoder's feature map of the same resolution, and the final conv sees the corrupted
    input itself next to the decoder's features, so detail that survived the corruption need
    not squeeze through the bottleneck. What stops the network from learning the identity
    is the training task: the input is corrupted, the target clean.

    ``top_convs`` adds that many stride-1 convs (``top_filters`` channels) at full
    resolution before the output conv: more capacity for fine detail, at full-resolution cost.

    Cost-conscious by design: no conv runs at full resolution except the last
    upsampling and the output conv, and skips are *added* (not concatenated) inside the
    network -- on a CPU both choices about halve the time per epoch.
    """
    chans = _check_filters(filters)
    h_in, w_in, c_in = _check_image_shape("input_shape", input_shape, len(chans))
    top_filters = _check_positive_int("top_filters", top_filters)
    kernel_size = _check_positive_int("kernel_size", kernel_size)
    if isinstance(top_convs, bool) or not isinstance(top_convs, int) or top_convs < 0:
        raise ValueError(f"top_convs must be an integer >= 0, got {top_convs!r}.")

    inputs = keras.Input(shape=(h_in, w_in, c_in), name="corrupted")
    h = inputs
    skips = []
    for i, f in enumerate(chans, start=1):
        h = _conv_block(h, f, kernel_size, 2, batch_norm, activation, f"down{i}_conv1")
        h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"down{i}_conv2")
        skips.append(h)
    skips.pop()  # the deepest map is h itself
    for i in range(len(chans) - 1, 0, -1):  # back up to the resolution of stage i
        f = chans[i - 1]
        h = _conv_block(h, f, kernel_size, 2, batch_norm, activation, f"up{i}_tconv", True)
        if skip:
            h = keras.layers.Add(name=f"up{i}_skip")([h, skips.pop()])
        h = _conv_block(h, f, kernel_size, 1, batch_norm, activation, f"up{i}_conv")
    h = _conv_block(h, top_filters, kernel_size, 2, batch_norm, activation, "top_tconv", True)
    if skip:
        h = keras.layers.Concatenate(name="input_skip")([h, inputs])
    for j in range(1, top_convs + 1):
        h = _conv_block(h, top_filters, kernel_size, 1, batch_norm, activation, f"top_conv{j}")
    outputs = keras.layers.Conv2D(
        c_in, kernel_size, padding="same", activation=output_activation, name="restored"
    )(h)
    return keras.Model(inputs, outputs, name=name)


def multiply_adds(model: keras.Model) -> dict[str, int]:
    """Multiply-adds per example of every Dense, Conv2D and Conv2DTranspose layer, by name.

    The cost of a layer is what decides a CPU budget, and it is not its parameter count: a
    3x3 conv has ``9 * c_in * c_out`` weights but applies them at every output position, so
    it costs ``H_out * W_out * 9 * c_in * c_out`` (a Conv2DTranspose applies its kernel at
    every *input* position: ``H_in * W_in * k * k * c_in * c_out``). Nested models (an
    :class:`Autoencoder`'s encoder and decoder) are walked into; names are prefixed with the
    sub-model's name. Other layers (BatchNorm, activations) are cheap and left out.
    """
    costs: dict[str, int] = {}

    def walk(m: keras.Model, prefix: str) -> None:
        for layer in m.layers:
            if isinstance(layer, keras.Model):
                walk(layer, f"{prefix}{layer.name}/")
                continue
            if isinstance(layer, keras.layers.Dense):
                n_in = int(layer.kernel.shape[0])
                costs[prefix + layer.name] = n_in * int(layer.units)
            elif isinstance(layer, keras.layers.Conv2DTranspose):
                kh, kw, c_out, c_in = (int(d) for d in layer.kernel.shape)
                h, w = (int(d) for d in layer.input.shape[1:3])
                costs[prefix + layer.name] = h * w * kh * kw * c_in * c_out
            elif isinstance(layer, keras.layers.Conv2D):
                kh, kw, c_in, c_out = (int(d) for d in layer.kernel.shape)
                h, w = (int(d) for d in layer.output.shape[1:3])
                costs[prefix + layer.name] = h * w * kh * kw * c_in * c_out

    if not isinstance(model, keras.Model) or not model.built:
        raise ValueError("multiply_adds: pass a built Keras model (build it or call it once).")
    walk(model, "")
    return costs
