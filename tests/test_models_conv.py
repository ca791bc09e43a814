"""Convolutional autoencoder builders: shapes, modes, weight sharing, equivariance, saving."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import models  # noqa: E402

CONV_TYPES = (keras.layers.Conv2D, keras.layers.Conv2DTranspose)


def _images(n, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).random((n, *shape)).astype("float32")


@pytest.mark.parametrize("downsample", ["strided", "pool"])
@pytest.mark.parametrize("upsample", ["transpose", "upsample"])
def test_shapes_and_sigmoid_range(downsample, upsample):
    ae = models.conv_autoencoder(
        (16, 12, 1), latent_dim=5, filters=(4, 8), downsample=downsample, upsample=upsample
    )
    x = _images(3, (16, 12, 1))
    assert ae.encoder.get_layer("flatten").output.shape[1:] == (4 * 3 * 8,)  # 16x12 / 4
    assert ae.encode(x).shape == (3, 5)
    assert ae.decode(np.zeros((2, 5), "float32")).shape == (2, 16, 12, 1)
    out = ae.reconstruct(100.0 * x - 50.0)  # extreme inputs: the sigmoid still bounds them
    assert out.shape == (3, 16, 12, 1)
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert ae.latent_dim == 5


def test_default_shapes_on_fashion_mnist_sized_images():
    ae = models.conv_autoencoder()
    assert ae.encoder.input_shape == (None, 28, 28, 1)
    assert ae.encoder.output_shape == (None, 64)
    assert ae.decoder.output_shape == (None, 28, 28, 1)
    # Channels grow as resolution shrinks: 14x14x32 then 7x7x64 (and back in the decoder).
    assert ae.encoder.get_layer("stage1_conv1").output.shape[1:] == (14, 14, 32)
    assert ae.encoder.get_layer("stage2_conv1").output.shape[1:] == (7, 7, 64)
    assert ae.decoder.get_layer("to_feature_map").output.shape[1:] == (7, 7, 64)
    assert ae.decoder.get_layer("stage2_conv1").output.shape[1:] == (28, 28, 32)


def test_modes_use_the_layers_they_name():
    def kinds(model):
        return {type(layer).__name__ for layer in model.layers}

    strided = models.conv_encoder((8, 8, 1), 3, (4,), downsample="strided")
    pooled = models.conv_encoder((8, 8, 1), 3, (4,), downsample="pool")
    assert "MaxPooling2D" not in kinds(strided) and strided.get_layer("stage1_conv1").strides == (
        2,
        2,
    )
    assert "MaxPooling2D" in kinds(pooled) and pooled.get_layer("stage1_conv1").strides == (1, 1)
    transposed = models.conv_decoder(3, (8, 8, 1), (4,), upsample="transpose")
    upsampled = models.conv_decoder(3, (8, 8, 1), (4,), upsample="upsample")
    assert "Conv2DTranspose" in kinds(transposed) and "UpSampling2D" not in kinds(transposed)
    assert "UpSampling2D" in kinds(upsampled) and "Conv2DTranspose" not in kinds(upsampled)
    no_bn = models.conv_encoder((8, 8, 1), 3, (4,), batch_norm=False)
    assert "BatchNormalization" not in kinds(no_bn)
    assert "BatchNormalization" in kinds(strided)


def test_blocks_per_stage_and_stem_add_stride_1_convs():
    enc = models.conv_encoder((8, 8, 1), 3, (4, 6), blocks_per_stage=3, stem_filters=2)
    convs = [layer for layer in enc.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.name for c in convs][:2] == ["stem_conv", "stage1_conv1"]
    assert len(convs) == 1 + 2 * 3
    assert enc.get_layer("stem_conv").output.shape[1:] == (8, 8, 2)
    assert enc.get_layer("stage2_conv3").output.shape[1:] == (2, 2, 6)
    dec = models.conv_decoder(3, (8, 8, 1), (6, 4), blocks_per_stage=2)
    assert dec.get_layer("stage2_conv2").output.shape[1:] == (8, 8, 4)


def test_conv_weights_are_shared_across_positions():
    """Why convolutions: a conv layer's weights do not depend on the image size.

    The MLP needs one weight per pixel per unit; the conv layers of the default model have
    far fewer weights than the MLP with the same code size, and the same count for images
    four times larger. (The two Dense layers around the code do grow with the image: with
    the default filters they hold most of the conv model's parameters, see the notebook.)
    """

    def conv_params(model):
        layers = [*model.encoder.layers, *model.decoder.layers]
        return sum(layer.count_params() for layer in layers if isinstance(layer, CONV_TYPES))

    conv = models.conv_autoencoder((28, 28, 1), latent_dim=64)
    mlp = models.mlp_autoencoder((28, 28), latent_dim=64)
    assert conv_params(conv) < mlp.count_params() / 5
    big_conv = models.conv_autoencoder((56, 56, 1), latent_dim=64)
    big_mlp = models.mlp_autoencoder((56, 56), latent_dim=64)
    assert conv_params(big_conv) == conv_params(conv)
    assert big_mlp.count_params() > 3.5 * mlp.count_params()


def test_smaller_conv_model_has_fewer_parameters_than_the_mlp():
    conv = models.conv_autoencoder((28, 28, 1), latent_dim=64, filters=(16, 32))
    mlp = models.mlp_autoencoder((28, 28), latent_dim=64)
    assert conv.count_params() < 0.6 * mlp.count_params()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"downsample": "avg"},
            r"Unknown downsample mode 'avg'; valid modes are 'strided', 'pool'",
        ),
        (
            {"upsample": "deconv"},
            r"Unknown upsample mode 'deconv'; valid modes are 'transpose', 'upsample'",
        ),
        ({"input_shape": (30, 30, 1)}, r"not divisible by 2\*\*len\(filters\) = 4"),
        ({"filters": (8, 16, 32)}, r"not divisible by 2\*\*len\(filters\) = 8"),
        ({"filters": ()}, "filters must list at least one stage"),
        ({"filters": (32, 0)}, r"filters\[1\] must be a positive integer"),
        ({"filters": 32}, "filters must be a sequence"),
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"kernel_size": -3}, "kernel_size must be a positive integer"),
        ({"blocks_per_stage": 0}, "blocks_per_stage must be a positive integer"),
        ({"stem_filters": 1.5}, "stem_filters must be a positive integer"),
        ({"input_shape": (28, 28)}, r"must be \(height, width, channels\)"),
    ],
)
def test_bad_arguments_raise_helpful_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.conv_autoencoder(**kwargs)


def test_decoder_and_encoder_validate_too():
    with pytest.raises(ValueError, match="valid modes are 'strided', 'pool'"):
        models.conv_encoder(downsample="transpose")
    with pytest.raises(ValueError, match="valid modes are 'transpose', 'upsample'"):
        models.conv_decoder(upsample="strided")
    with pytest.raises(ValueError, match="output_shape .* not divisible"):
        models.conv_decoder(output_shape=(28, 28, 1), filters=(8, 16, 32))


def test_save_and_load_round_trip(tmp_path):
    keras.utils.set_random_seed(0)
    ae = models.conv_autoencoder((16, 16, 1), latent_dim=4, filters=(4, 8), upsample="upsample")
    x = _images(8)
    ae.compile(optimizer="adam", loss="mse")
    ae.fit(x, x, epochs=2, batch_size=8, verbose=0)  # moves the BatchNorm statistics
    path = tmp_path / "conv_ae.keras"
    ae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, models.Autoencoder)
    np.testing.assert_allclose(loaded.reconstruct(x), ae.reconstruct(x), rtol=0, atol=1e-6)
    np.testing.assert_allclose(loaded.encode(x), ae.encode(x), rtol=0, atol=1e-6)
    assert loaded.encoder.get_layer("stage1_conv1_bn").moving_mean.numpy().any()


def _first_conv_features(encoder, x):
    layer = next(la for la in encoder.layers if isinstance(la, keras.layers.Conv2D))
    probe = keras.Model(encoder.input, layer.output)
    return keras.ops.convert_to_numpy(probe(x)), layer.strides[0]


@pytest.mark.parametrize("downsample", ["pool", "strided"])
def test_first_conv_stage_is_translation_equivariant(downsample):
    """Shift the image by 2 pixels: the first conv's feature map shifts by 2 / stride."""
    keras.utils.set_random_seed(1)
    enc = models.conv_encoder((24, 24, 1), 4, (6,), downsample=downsample)
    x = np.zeros((1, 24, 24, 1), "float32")
    x[:, 4:18, 4:18] = _images(1, (14, 14, 1))  # zero border so the shift loses nothing
    shifted = np.roll(x, (2, 2), axis=(1, 2))
    f, stride = _first_conv_features(enc, x)
    g, _ = _first_conv_features(enc, shifted)
    s = 2 // stride
    inner = slice(2, f.shape[1] - 2 - s)
    np.testing.assert_allclose(
        g[0, inner.start + s : inner.stop + s, inner.start + s : inner.stop + s],
        f[0, inner, inner],
        atol=1e-5,
    )
    assert not np.allclose(g, f, atol=1e-3)  # it did move: the check above is not trivial


def _constant_decoder(upsample):
    dec = models.conv_decoder(
        2,
        (16, 16, 1),
        (3,),
        upsample=upsample,
        batch_norm=False,
        activation="linear",
        output_activation=None,
    )
    for layer in dec.layers:
        if layer.weights:
            layer.set_weights(
                [np.ones_like(w) if w.ndim > 1 else np.zeros_like(w) for w in layer.get_weights()]
            )
    return dec


def test_transposed_conv_makes_checkerboards_upsampling_does_not():
    """A constant feature map through stride-2, kernel-3 Conv2DTranspose is uneven."""
    code = np.ones((1, 2), "float32")
    inner = (slice(0, 1), slice(3, 12), slice(3, 12))
    checker = _constant_decoder("transpose")(code).numpy()[inner]
    smooth = _constant_decoder("upsample")(code).numpy()[inner]
    assert checker.max() > 1.5 * checker.min()  # uneven overlap: a 1-2-4 pattern
    np.testing.assert_allclose(smooth, smooth.max(), rtol=1e-6)  # flat away from borders


def test_a_few_steps_reduce_the_loss():
    keras.utils.set_random_seed(0)
    ae = models.conv_autoencoder((16, 16, 1), latent_dim=8, filters=(8, 16))
    x = _images(16, seed=3)
    ae.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    history = ae.fit(x, x, epochs=25, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]


# --- conv_denoiser: the fully convolutional restorer of notebook 04 -------------------------

def test_conv_denoiser_maps_images_to_images_with_unet_skips():
    m = models.conv_denoiser((16, 12, 1), filters=(4, 8), top_filters=2)
    x = _images(3, (16, 12, 1))
    out = models.run_batched(m, 50.0 * x - 25.0)
    assert out.shape == (3, 16, 12, 1) and out.min() >= 0 and out.max() <= 1
    assert m.get_layer("down2_conv2").output.shape[1:] == (4, 3, 8)  # the spatial bottleneck
    assert not any(isinstance(layer, keras.layers.Dense) for layer in m.layers)
    adds = [layer for layer in m.layers if isinstance(layer, keras.layers.Add)]
    assert [a.output.shape[1:] for a in adds] == [(8, 6, 4)]  # the 8x6 encoder map joins back
    # The output conv sees the decoder's 2 channels and the corrupted input itself.
    assert m.get_layer("input_skip").output.shape[1:] == (16, 12, 3)
    plain = models.conv_denoiser((16, 12, 1), filters=(4, 8), top_filters=2, skip=False)
    assert not any(isinstance(layer, keras.layers.Add | keras.layers.Concatenate) for layer in plain.layers)
    assert plain.count_params() < m.count_params()
    # Three stages also work (32x32 -> 4x4), with two additive skips.
    deep = models.conv_denoiser((32, 32, 1), filters=(4, 8, 16), top_filters=2)
    assert sum(isinstance(layer, keras.layers.Add) for layer in deep.layers) == 2
    assert models.run_batched(deep, _images(1, (32, 32, 1))).shape == (1, 32, 32, 1)


def test_conv_denoiser_bad_shapes_and_saving(tmp_path):
    with pytest.raises(ValueError, match="not divisible by"):
        models.conv_denoiser((30, 30, 1), filters=(4, 8))
    with pytest.raises(ValueError, match="height, width, channels"):
        models.conv_denoiser((28, 28))
    m = models.conv_denoiser((8, 8, 1), filters=(4,), top_filters=2)
    path = tmp_path / "denoiser.keras"
    m.save(path)
    x = _images(2, (8, 8, 1))
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(models.run_batched(again, x), models.run_batched(m, x), atol=1e-6)


def test_multiply_adds_counts_dense_conv_and_transposed_conv_layers():
    ae = models.conv_autoencoder((8, 8, 1), latent_dim=3, filters=(4,))
    macs = models.multiply_adds(ae)
    assert macs == {
        "conv_encoder/stage1_conv1": 4 * 4 * 9 * 1 * 4,  # stride 2: a 4x4 output
        "conv_encoder/code": 4 * 4 * 4 * 3,
        "conv_decoder/project": 3 * 4 * 4 * 4,
        "conv_decoder/stage1_conv1": 4 * 4 * 9 * 4 * 4,  # transposed: per *input* position
        "conv_decoder/image": 8 * 8 * 9 * 4 * 1,
    }
    mlp = models.mlp_autoencoder((6, 6), latent_dim=2, hidden=(5,))
    assert sum(models.multiply_adds(mlp).values()) == 36 * 5 + 5 * 2 + 2 * 5 + 5 * 36
    # Pooling evaluates the encoder conv at every position: 4x the strided version's cost.
    pooled = models.multiply_adds(models.conv_autoencoder((8, 8, 1), 3, (4,), downsample="pool"))
    assert pooled["conv_encoder/stage1_conv1"] == 4 * macs["conv_encoder/stage1_conv1"]
    with pytest.raises(ValueError, match="built Keras model"):
        models.multiply_adds("not a model")


def test_conv_denoiser_top_convs_add_full_resolution_layers():
    m = models.conv_denoiser((8, 8, 1), filters=(4,), top_filters=2, top_convs=2)
    assert m.get_layer("top_conv2").output.shape[1:] == (8, 8, 2)
    with pytest.raises(ValueError, match="top_convs"):
        models.conv_denoiser((8, 8, 1), filters=(4,), top_convs=-1)
