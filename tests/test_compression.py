"""The learned codec: quantiser, entropy model, model, real bitstreams and the classic codecs."""

from __future__ import annotations

import zlib

import keras
import numpy as np
import pytest

from course_lib import bitstream, classic_codecs, compression


def small_model(channels=4, seed=1, lmbda=50.0):
    return compression.CompressionAutoencoder(
        compression.analysis_transform(channels, (8,)),
        compression.synthesis_transform(channels, (8,)),
        lmbda=lmbda,
        seed=seed,
    )


def images(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28)).astype("float32")


# --- quantiser and entropy model --------------------------------------------------------------


def test_quantize_adds_bounded_noise_in_training_and_rounds_otherwise():
    y = keras.ops.convert_to_tensor(np.linspace(-3, 3, 1000).astype("float32"))
    noisy = keras.ops.convert_to_numpy(compression.quantize(y, training=True, seed=3))
    rounded = keras.ops.convert_to_numpy(compression.quantize(y, training=False))
    diff = noisy - keras.ops.convert_to_numpy(y)
    assert np.all(np.abs(diff) <= 0.5) and diff.std() > 0.2  # ~ U(-1/2, 1/2): std 0.289
    np.testing.assert_array_equal(rounded, np.round(keras.ops.convert_to_numpy(y)))


def test_logistic_bits_is_minus_log2_of_the_bin_mass():
    k, loc, scale = np.array([-2, 0, 1, 7]), 0.3, 1.5
    cdf = lambda t: 1 / (1 + np.exp(-(t - loc) / scale))  # noqa: E731
    expected = -np.log2(cdf(k + 0.5) - cdf(k - 0.5))
    np.testing.assert_allclose(compression.logistic_bits(k, loc, scale), expected, rtol=1e-9)
    # the masses of all integers sum to one
    all_k = np.arange(-200, 201)
    assert np.isclose((2.0 ** -compression.logistic_bits(all_k, loc, scale)).sum(), 1.0)
    with pytest.raises(ValueError, match="scale"):
        compression.logistic_bits(k, loc, 0.0)


def test_entropy_layer_bits_agree_with_numpy_and_pmf_table_is_normalised():
    layer = compression.LogisticEntropyModel(3)
    layer.loc.assign([0.2, -1.0, 0.0])
    layer.log_scale.assign(np.log([0.45, 1.9, 1.0]))
    codes = np.random.default_rng(0).integers(-4, 5, size=(5, 2, 2, 3)).astype("float32")
    bits = keras.ops.convert_to_numpy(layer.bits(codes))
    expected = compression.logistic_bits(codes, [0.2, -1.0, 0.0], [0.45, 1.9, 1.0]).reshape(5, -1).sum(1)
    np.testing.assert_allclose(bits, expected, rtol=1e-4)
    low, table = layer.pmf_table()
    np.testing.assert_allclose(table.sum(1), 1.0)
    high = low + (table > 0).sum(1) - 1
    np.testing.assert_array_equal(low, [-8, -32, -16])  # round(loc) -/+ ceil(16 scale)
    np.testing.assert_array_equal(high, [8, 30, 16])


def test_entropy_layer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="channels"):
        compression.LogisticEntropyModel(0)
    with pytest.raises(ValueError, match="init_scale"):
        compression.LogisticEntropyModel(2, init_scale=0.0)


# --- the model --------------------------------------------------------------------------------


def test_model_outputs_shapes_and_the_loss_is_rate_plus_lambda_sse():
    model = small_model()
    x = images(3)
    out = model(x, training=False)
    assert tuple(out["y"].shape) == (3, 7, 7, 4)
    assert tuple(out["x_hat"].shape) == (3, 28, 28)
    y_hat = keras.ops.convert_to_numpy(out["y_hat"])
    np.testing.assert_array_equal(y_hat, np.round(y_hat))  # rounded at test time
    loss = float(model.compute_loss(x, x, out))
    sse = ((x - keras.ops.convert_to_numpy(out["x_hat"])) ** 2).reshape(3, -1).sum(1)
    expected = keras.ops.convert_to_numpy(out["bits"]).mean() + 50.0 * sse.mean()
    assert loss == pytest.approx(expected, rel=1e-4)
    noisy = keras.ops.convert_to_numpy(model(x, training=True)["y_hat"])
    assert not np.array_equal(noisy, np.round(noisy))


def test_model_rejects_mismatched_transforms_and_bad_lambda():
    with pytest.raises(ValueError, match="code_channels"):
        compression.CompressionAutoencoder(compression.analysis_transform(4), compression.synthesis_transform(5))
    with pytest.raises(ValueError, match="lmbda"):
        compression.CompressionAutoencoder(
            compression.analysis_transform(4), compression.synthesis_transform(4), lmbda=0
        )
    with pytest.raises(ValueError, match="28, 28"):
        small_model().codes(np.zeros((2, 28, 27)))


def test_psnr_distortion_is_each_images_psnr_and_the_loss_weighs_it_per_image():
    from course_lib import metrics

    rng = np.random.default_rng(3)
    x = rng.random((4, 28, 28)).astype("float32")
    x_hat = np.clip(x + rng.normal(0, [[[0.01]], [[0.05]], [[0.1]], [[0.2]]], x.shape), 0, 1).astype("float32")
    psnr = keras.ops.convert_to_numpy(compression.psnr_distortion(x, x_hat))
    np.testing.assert_allclose(psnr, metrics.per_example_psnr(x, x_hat), rtol=1e-4)
    assert np.all(np.diff(psnr) < 0)  # more noise, lower PSNR
    assert float(compression.psnr_distortion(x[:1], x[:1])[0]) == pytest.approx(100.0, abs=1e-3)  # finite when exact

    model = compression.CompressionAutoencoder(compression.analysis_transform(4, (8,)),
                                               compression.synthesis_transform(4, (8,)),
                                               lmbda=30.0, distortion="psnr", seed=1)
    out = model(x, training=False)
    recon = keras.ops.convert_to_numpy(out["x_hat"])
    expected = keras.ops.convert_to_numpy(out["bits"]).mean() - 30.0 * metrics.per_example_psnr(x, recon).mean()
    assert float(model.compute_loss(x, x, out)) == pytest.approx(expected, rel=1e-4)
    # not the SSE loss: an image whose error is already small weighs more than under SSE
    sse_loss = keras.ops.convert_to_numpy(out["bits"]).mean() + 30.0 * ((x - recon) ** 2).reshape(4, -1).sum(1).mean()
    assert float(model.compute_loss(x, x, out)) != pytest.approx(sse_loss, rel=1e-2)


def test_distortion_is_checked_saved_and_passed_to_the_context_model(tmp_path):
    with pytest.raises(ValueError, match="distortion must be one of 'sse', 'psnr'"):
        compression.CompressionAutoencoder(compression.analysis_transform(4), compression.synthesis_transform(4),
                                           distortion="mse")
    model = compression.ContextCompressionAutoencoder(compression.analysis_transform(4, (8,)),
                                                      compression.synthesis_transform(4, (8,)), context_filters=8,
                                                      lmbda=30.0, distortion="psnr", seed=1)
    path = tmp_path / "psnr_codec.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert (loaded.distortion, loaded.lmbda) == ("psnr", 30.0)
    assert isinstance(loaded, compression.ContextCompressionAutoencoder)
    assert small_model().distortion == "sse"  # the default


def test_psnr_training_lowers_its_loss():
    keras.utils.set_random_seed(0)
    model = compression.CompressionAutoencoder(compression.analysis_transform(4, (8,)),
                                               compression.synthesis_transform(4, (8,)),
                                               lmbda=5.0, distortion="psnr", seed=1)
    history = compression.fit_compressor(model, images(256), epochs=3, batch_size=64, peak_lr=3e-3)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_training_lowers_the_loss():
    keras.utils.set_random_seed(0)
    model = small_model(lmbda=20.0)
    x = images(256)
    history = compression.fit_compressor(model, x, epochs=3, batch_size=64, peak_lr=3e-3)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    assert {"bits", "mse"} <= set(history.history)


def test_numpy_helpers_match_the_model_and_saving_keeps_them(tmp_path):
    model = small_model()
    x = images(4)
    codes = model.codes(x)
    assert codes.dtype == np.int64 and codes.shape == (4, 7, 7, 4)
    out = model(x, training=False)
    np.testing.assert_allclose(model.reconstruct(x), keras.ops.convert_to_numpy(out["x_hat"]), atol=1e-6)
    np.testing.assert_allclose(model.estimated_bits(codes), keras.ops.convert_to_numpy(out["bits"]), rtol=1e-4)
    path = tmp_path / "codec.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.codes(x), codes)
    np.testing.assert_allclose(loaded.reconstruct(x), model.reconstruct(x), atol=1e-6)
    assert loaded.lmbda == model.lmbda


# --- real bitstreams --------------------------------------------------------------------------


def test_files_decode_to_the_models_reconstruction_bit_for_bit():
    model = small_model()
    x = images(8)
    files = bitstream.compress(model, x)
    decoded = bitstream.decompress(model, files)
    np.testing.assert_array_equal(decoded, model.reconstruct(x))
    for data, codes in zip(files, model.codes(x), strict=True):
        np.testing.assert_array_equal(bitstream.decode_from_bytes(model, data), codes)
        assert bitstream.encode_to_bytes(model, codes) == data


def test_written_bytes_are_close_to_the_estimated_rate():
    model = small_model(channels=8)
    x = images(20)
    files = bitstream.compress(model, x)
    payload_bits = 8 * np.array([len(f) - bitstream.HEADER_BYTES for f in files])
    estimated = model.estimated_bits(model.codes(x))
    # the coder's ending, rounded to whole bytes: about a byte more than -log2 P, at most three;
    # a few bits fewer when the stream happens to end in zero bytes, which the file leaves out
    assert np.all(payload_bits >= estimated - 16)
    assert np.all(payload_bits <= estimated + 24)


def _random_streams(count, seed=0):
    """Symbol sequences of random lengths and a categorical model, coded by constriction."""
    import constriction

    rng = np.random.default_rng(seed)
    probabilities = np.array([0.6, 0.25, 0.1, 0.04, 0.01])
    model = constriction.stream.model.Categorical(probabilities, perfect=False)
    for _ in range(count):
        symbols = rng.choice(5, size=int(rng.integers(1, 400)), p=probabilities).astype(np.int32)
        encoder = constriction.stream.queue.RangeEncoder()
        encoder.encode(symbols, model)
        yield encoder, symbols, model, float(-np.log2(probabilities[symbols]).sum())


def test_sealed_payload_decodes_and_ends_with_fewer_bytes_than_a_whole_word():
    import constriction

    saved, excess_bits = [], []
    for encoder, symbols, model, information in _random_streams(600):
        payload = bitstream.sealed_payload(encoder)
        words = np.asarray(encoder.get_compressed(), np.uint32).astype(">u4").tobytes()
        whole_word = len(words[: max(len(words) - 3, len(words.rstrip(b"\0")))])
        padded = payload + b"\0" * (-len(payload) % 4)
        decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(padded, ">u4").astype(np.uint32))
        np.testing.assert_array_equal(decoder.decode(model, len(symbols)), symbols)
        # one byte fewer (the last one dropped) points outside the interval, or was a zero
        shorter = payload[:-1] + b"\0" * (-(len(payload) - 1) % 4)
        if payload:
            decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(shorter, ">u4").astype(np.uint32))
            try:
                same = np.array_equal(decoder.decode(model, len(symbols)), symbols)
            except AssertionError:  # constriction refuses a stream that no symbols fit
                same = False
            assert not same
        saved.append(whole_word - len(payload))
        excess_bits.append(8 * len(payload) - information)
    saved = np.array(saved)
    assert saved.min() >= 0 and saved.mean() > 1.2
    # about -log2(range) + 1 bits past the information, rounded up to whole bytes (fewer when the
    # stream happens to end in zero bytes)
    assert np.mean(excess_bits) < 8 and max(excess_bits) < 16


def test_sealed_payload_keeps_the_whole_word_when_the_state_is_not_the_expected_one():
    class Odd:  # an encoder whose state does not contain its own ending: a carry, say
        def pos(self):
            return 1, (5 << 32, 1 << 32)

        def get_compressed(self):
            return np.array([7, 9, 0x12000000], np.uint32)

    assert bitstream.sealed_payload(Odd()) == bytes([0, 0, 0, 7, 0, 0, 0, 9, 0x12])


def test_header_layout():
    model = small_model()
    data = bitstream.compress(model, images(1))[0]
    assert bitstream.HEADER_BYTES == 5
    assert data[0] == 0xA0 | bitstream.VERSION
    assert int.from_bytes(data[1:3], "big") == bitstream.model_tag(model)
    assert int.from_bytes(data[3:5], "big") == zlib.crc32(data[5:]) & 0xFFFF


def test_the_tag_depends_on_the_code_shape_not_only_on_the_weights():
    model = small_model()

    class Reshaped:  # the same weights, another code shape
        code_shape = (7, 14, 2)

        def get_weights(self):
            return model.get_weights()

    assert bitstream.model_tag(Reshaped()) != bitstream.model_tag(model)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[:4], "truncated file"),
        (lambda d: d[:-1], "corrupted or truncated payload"),
        (lambda d: d[:6] + bytes([d[6] ^ 0x10]) + d[7:], "corrupted or truncated payload"),
        (lambda d: d + b"\x01", "corrupted or truncated payload"),
        (lambda d: d[:4] + bytes([d[4] ^ 0x01]) + d[5:], "corrupted or truncated payload"),
        (lambda d: b"P" + d[1:], r"not a file of this codec: its first byte is 0x50, where .* 0xa1 or 0xa2"),
        (lambda d: bytes([0xA7]) + d[1:], "format version 7"),
        (lambda d: d[:1] + bytes([d[1] ^ 0x01]) + d[2:], "another model"),
        (lambda d: b"AE" + bytes(8) + d[5:], "earlier format"),
    ],
)
def test_damaged_files_raise_a_clear_error(damage, message):
    model = small_model()
    data = bitstream.compress(model, images(1))[0]
    assert len(data) > 7
    with pytest.raises(bitstream.BitstreamError, match=message):
        bitstream.decode_from_bytes(model, damage(data))


def test_bytes_from_another_model_are_refused():
    writer, reader = small_model(seed=1), small_model(seed=2)
    reader.set_weights([w + 0.01 for w in writer.get_weights()])
    data = bitstream.compress(writer, images(1))[0]
    with pytest.raises(bitstream.BitstreamError, match="another model"):
        bitstream.decode_from_bytes(reader, data)


def test_encoder_rejects_codes_it_cannot_write():
    model = small_model()
    codes = model.codes(images(1))[0]
    with pytest.raises(ValueError, match="shape"):
        bitstream.encode_to_bytes(model, codes[:3])
    with pytest.raises(ValueError, match="integers"):
        bitstream.encode_to_bytes(model, codes.astype(float))
    far = codes.copy()
    far[0, 0, 0] = 10_000
    with pytest.raises(ValueError, match="support"):
        bitstream.encode_to_bytes(model, far)
    with pytest.raises(TypeError, match="bytes"):
        bitstream.decode_from_bytes(model, "AE")


# --- classic codecs ---------------------------------------------------------------------------


def test_png_is_lossless_and_jpeg_webp_lose_less_at_higher_quality():
    x = np.round(images(5) * 255) / 255
    sizes, decoded = classic_codecs.run_codec(x, "png")
    np.testing.assert_array_equal(classic_codecs.to_uint8(decoded), classic_codecs.to_uint8(x))
    assert np.all(sizes > 0)
    for codec in ("jpeg", "webp"):
        low, high = classic_codecs.rd_curve(x, codec, [5, 90])
        assert high["bytes"] > low["bytes"] and high["psnr"] > low["psnr"]
        assert high["ssim"] > low["ssim"]


def test_codec_arguments_are_checked():
    image = np.zeros((28, 28), np.uint8)
    with pytest.raises(ValueError, match="unknown codec"):
        classic_codecs.encode_image(image, "gif", 5)
    with pytest.raises(ValueError, match="quality"):
        classic_codecs.encode_image(image, "jpeg", 101)
    with pytest.raises(ValueError, match="lossless"):
        classic_codecs.encode_image(image, "png", 50)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        classic_codecs.to_uint8(np.full((1, 28, 28), 1.5))


def test_bytes_at_psnr_interpolates_on_the_best_points_and_refuses_to_extrapolate():
    sizes = [100.0, 120.0, 150.0, 200.0]
    psnr = [24.0, 23.0, 27.0, 30.0]  # the 120-byte point is beaten by a smaller file
    assert classic_codecs.bytes_at_psnr(sizes, psnr, 25.5) == pytest.approx(125.0)
    assert classic_codecs.bytes_at_psnr(sizes[::-1], psnr[::-1], 28.5) == pytest.approx(175.0)
    with pytest.raises(ValueError, match="outside"):
        classic_codecs.bytes_at_psnr(sizes, psnr, 31.0)
    with pytest.raises(ValueError, match="two points"):
        classic_codecs.bytes_at_psnr([1.0], [2.0], 2.0)


def test_size_ratios_judge_between_the_points_and_refuse_a_curve_that_falls_short():
    ours = ([50.0, 100.0], [24.0, 30.0])
    theirs = ([100.0, 110.0, 200.0], [23.0, 28.0, 31.0])  # flat up to 28 dB, steep above
    ratios = classic_codecs.size_ratios(ours, theirs, 24.0, 30.0, step=1.0)
    assert [p for p, _ in ratios] == [24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0]
    at = dict(ratios)
    assert at[24.0] == pytest.approx(50 / 102) and at[30.0] == pytest.approx(100 / 170)
    assert at[28.0] == pytest.approx((50 + 50 * 4 / 6) / 110)  # both curves interpolated
    assert max(at, key=at.get) == 28.0  # the worst ratio lies between our two measured points
    with pytest.raises(ValueError, match="'ours' covers 24.00 to 29.00 dB, not all of 24 to 30 dB"):
        classic_codecs.size_ratios(([50.0, 90.0], [24.0, 29.0]), theirs, 24.0, 30.0)
    with pytest.raises(ValueError, match="low < high"):
        classic_codecs.size_ratios(ours, theirs, 30.0, 24.0)


def test_jpeg_files_use_fitted_huffman_tables_same_pixels_fewer_bytes():
    import io

    from PIL import Image

    image = classic_codecs.to_uint8(images(1))[0]
    ours = classic_codecs.encode_image(image, "jpeg", 10)
    generic = io.BytesIO()
    Image.fromarray(image, mode="L").save(generic, format="JPEG", quality=10)
    assert len(ours) < len(generic.getvalue())
    np.testing.assert_array_equal(classic_codecs.decode_bytes(ours), classic_codecs.decode_bytes(generic.getvalue()))
