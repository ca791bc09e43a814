"""The context entropy model of notebook 09 and its position-by-position coder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import bitstream, compression


def context_model(channels=4, seed=1, lmbda=50.0, radius=15, scale=0.2):
    """A small ContextCompressionAutoencoder whose context weights are random (not zero), so that
    every position's distribution really depends on the earlier codes."""
    keras.utils.set_random_seed(seed)
    model = compression.ContextCompressionAutoencoder(
        compression.analysis_transform(channels, (8,)),
        compression.synthesis_transform(channels, (8,)),
        context_filters=8,
        code_radius=radius,
        lmbda=lmbda,
        seed=seed,
    )
    rng = np.random.default_rng(seed)
    for weight in model.entropy_model.weights:
        weight.assign(rng.normal(0.0, scale, weight.shape).astype("float32"))
    return model


def images(n=6, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28)).astype("float32")


def random_codes(n, shape=(7, 7, 4), radius=6, seed=0):
    return np.random.default_rng(seed).integers(-radius, radius + 1, size=(n, *shape))


# --- the shared likelihood ----------------------------------------------------------------------


def test_logistic_likelihood_is_the_bin_mass_of_logistic_bits():
    values = np.array([-7.0, -1.0, 0.0, 0.4, 3.0, 40.0], "float32")
    loc, scale = np.float32(0.3), np.float32(1.7)
    got = keras.ops.convert_to_numpy(compression.logistic_likelihood(values, loc, scale))
    expected = np.maximum(2.0 ** -compression.logistic_bits(values, 0.3, 1.7), compression.LIKELIHOOD_FLOOR)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert got[-1] == pytest.approx(compression.LIKELIHOOD_FLOOR)  # far tail: floored, not 0


# --- the context entropy model ------------------------------------------------------------------


def test_a_position_never_depends_on_itself_or_a_later_one():
    layer = context_model().entropy_model
    codes = random_codes(2).astype("float32")
    loc, scale = (keras.ops.convert_to_numpy(t) for t in layer.parameters(codes))
    for i, j in [(0, 0), (3, 3), (6, 2), (6, 6)]:
        changed = codes.copy()
        changed[:, i, j, :] += 5.0
        loc2, scale2 = (keras.ops.convert_to_numpy(t) for t in layer.parameters(changed))
        moved = (np.abs(loc2 - loc) + np.abs(scale2 - scale)).max(axis=(0, 3)) > 0
        order = np.arange(49).reshape(7, 7)
        assert not moved[order <= order[i, j]].any(), f"perturbing {(i, j)} moved an earlier position"
        if (i, j) == (3, 3):  # the 5x5 mask-A neighbourhood after it: right two, and two rows below
            expected = np.zeros((7, 7), bool)
            expected[3, 4:6] = True
            expected[4:6, 1:6] = True
            np.testing.assert_array_equal(moved, expected)


def test_the_first_position_sees_only_its_bias():
    layer = context_model().entropy_model
    a, b = random_codes(1, seed=1).astype("float32"), random_codes(1, seed=2).astype("float32")
    loc_a, scale_a = (keras.ops.convert_to_numpy(t)[0, 0, 0] for t in layer.parameters(a))
    loc_b, scale_b = (keras.ops.convert_to_numpy(t)[0, 0, 0] for t in layer.parameters(b))
    np.testing.assert_array_equal(loc_a, loc_b)
    np.testing.assert_array_equal(scale_a, scale_b)


def test_the_coders_fixed_point_parameters_match_the_keras_ones():
    layer = context_model().entropy_model
    codes = random_codes(5)
    loc, scale = (keras.ops.convert_to_numpy(t) for t in layer.parameters(codes.astype("float32")))
    loc_q, scale_q = layer.numpy_parameters(codes)
    np.testing.assert_allclose(loc_q, loc, atol=2e-3)
    np.testing.assert_allclose(scale_q, scale, rtol=2e-3)
    keras_bits = keras.ops.convert_to_numpy(layer.bits(codes.astype("float32")))
    np.testing.assert_allclose(layer.numpy_bits(codes), keras_bits, rtol=1e-3)


def test_fixed_point_parameters_do_not_depend_on_the_batch():
    layer = context_model().entropy_model
    weights = layer.coder_weights()
    codes = random_codes(37, seed=3)
    for name, q in weights.items():
        np.testing.assert_array_equal(q, np.round(q), err_msg=name)  # integers held in float64
    everything = layer.numpy_parameters(codes)
    for i, j in [(0, 0), (2, 5), (6, 6)]:
        context = layer.context_at(codes, i, j)
        batch = layer.coder_parameters(weights, context, weights["position_bias"][i, j])
        for n in (0, 17, 36):
            one = layer.coder_parameters(weights, context[n : n + 1], weights["position_bias"][i, j])
            for whole, alone, all_positions in zip(batch, one, everything, strict=True):
                assert np.array_equal(whole[n], alone[0]) and np.array_equal(all_positions[n, i, j], alone[0])


def test_context_at_reads_only_earlier_positions():
    layer = context_model().entropy_model
    codes = random_codes(1, radius=9, seed=4)
    partial = codes.copy()
    partial[0, 4, 2:] = 0
    partial[0, 5:] = 0  # what a decoder holds before decoding position (4, 2)
    np.testing.assert_array_equal(layer.context_at(codes, 4, 2), layer.context_at(partial, 4, 2))
    assert np.abs(layer.context_at(codes, 4, 2)).sum() > 0


def test_weights_too_large_for_exact_arithmetic_are_refused():
    layer = context_model().entropy_model
    layer.hidden.kernel.assign(np.full(layer.hidden.kernel.shape, 1e9, "float32"))
    with pytest.raises(ValueError, match="fixed-point"):
        layer.coder_weights()


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="code_shape"):
        compression.ContextEntropyModel((7, 7))
    with pytest.raises(ValueError, match="code_radius"):
        compression.ContextEntropyModel((7, 7, 4), code_radius=0)
    with pytest.raises(ValueError, match="filters"):
        compression.ContextEntropyModel((7, 7, 4), filters=0)
    with pytest.raises(ValueError, match="context_filters"):
        compression.ContextCompressionAutoencoder(
            compression.analysis_transform(4, (8,)), compression.synthesis_transform(4, (8,)), context_filters=0
        )
    with pytest.raises(ValueError, match="shape"):
        context_model().estimated_bits(random_codes(2, shape=(7, 7, 3)))


# --- the model ----------------------------------------------------------------------------------


def test_model_loss_is_rate_plus_lambda_sse_and_training_lowers_it():
    model = context_model(lmbda=20.0, scale=0.05)
    x = images(3)
    out = model(x, training=False)
    sse = ((x - keras.ops.convert_to_numpy(out["x_hat"])) ** 2).reshape(3, -1).sum(1)
    expected = keras.ops.convert_to_numpy(out["bits"]).mean() + 20.0 * sse.mean()
    assert float(model.compute_loss(x, x, out)) == pytest.approx(expected, rel=1e-4)
    history = compression.fit_compressor(model, images(256), epochs=3, batch_size=64, peak_lr=3e-3)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_codes_are_clipped_to_the_radius():
    model = context_model(radius=2)
    model.analysis.layers[-1].bias.assign(np.full(4, 40.0, "float32"))  # every code far out
    codes = model.codes(images(2))
    assert codes.max() == 2 and codes.min() >= -2


def test_saving_keeps_the_model_and_its_files(tmp_path):
    model = context_model()
    x = images(5)
    files = bitstream.compress(model, x)
    path = tmp_path / "context_codec.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, compression.ContextCompressionAutoencoder)
    assert loaded.entropy_model.code_radius == 15 and loaded.context_filters == 8
    np.testing.assert_array_equal(bitstream.decompress(loaded, files), model.reconstruct(x))
    assert bitstream.compress(loaded, x) == files


# --- real bitstreams ----------------------------------------------------------------------------


def test_files_decode_bit_for_bit_singly_or_in_batches():
    model = context_model()
    x = images(12)
    files = bitstream.compress(model, x, batch_size=5)  # batches of 5, 5 and 2
    codes = model.codes(x)
    np.testing.assert_array_equal(bitstream.decompress(model, files, batch_size=7), model.reconstruct(x))
    for data, one in zip(files, codes, strict=True):
        assert bitstream.encode_to_bytes(model, one) == data
        np.testing.assert_array_equal(bitstream.decode_from_bytes(model, data), one)


def test_written_bytes_are_close_to_the_estimated_rate():
    model = context_model(channels=8)
    x = images(20)
    files = bitstream.compress(model, x)
    payload_bits = 8 * np.array([len(f) - bitstream.HEADER_BYTES for f in files])
    estimated = model.estimated_bits(model.codes(x))
    # the coder's ending, rounded to whole bytes: about a byte more than -log2 P, at most three;
    # a few bits fewer when the stream happens to end in zero bytes, which the file leaves out
    assert np.all(payload_bits >= estimated - 16)
    assert np.all(payload_bits <= estimated + 24)


def test_a_context_file_and_a_factorised_file_are_told_apart():
    context = context_model()
    factorised = compression.CompressionAutoencoder(
        compression.analysis_transform(4, (8,)), compression.synthesis_transform(4, (8,))
    )
    data = bitstream.compress(context, images(1))[0]
    assert data[0] == 0xA0 | bitstream.CONTEXT_VERSION
    with pytest.raises(bitstream.BitstreamError, match="context entropy model"):
        bitstream.decode_from_bytes(factorised, data)
    with pytest.raises(bitstream.BitstreamError, match="factorised entropy model"):
        bitstream.decode_from_bytes(context, bitstream.compress(factorised, images(1))[0])


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: d[:3], "truncated file"),
        (lambda d: d[:-1], "corrupted or truncated payload"),
        (lambda d: d[:6] + bytes([d[6] ^ 0x10]) + d[7:], "corrupted or truncated payload"),
        (lambda d: d[:1] + bytes([d[1] ^ 0x01]) + d[2:], "another model"),
    ],
)
def test_damaged_files_raise_a_clear_error_naming_the_file(damage, message):
    model = context_model()
    files = bitstream.compress(model, images(3))
    with pytest.raises(bitstream.BitstreamError, match=message):
        bitstream.decode_from_bytes(model, damage(files[0]))
    with pytest.raises(bitstream.BitstreamError, match=f"file 1: .*{message}"):
        bitstream.decompress(model, [files[0], damage(files[1]), files[2]])


def test_encoder_rejects_codes_outside_the_alphabet():
    model = context_model(radius=3)
    codes = model.codes(images(1))[0]
    far = codes.copy()
    far[2, 2, 1] = 4
    with pytest.raises(ValueError, match="support"):
        bitstream.encode_to_bytes(model, far)


def test_a_distribution_far_outside_the_alphabet_still_codes_the_clipped_value():
    model = context_model(radius=3)
    bias = np.zeros(model.entropy_model.position_bias.shape, "float32")
    bias[..., :4] = 70.0  # every location far above the alphabet -3 ... 3
    bias[..., 4:] = -5.0  # and the smallest scale: all the logistic's mass beyond the last edge
    model.entropy_model.position_bias.assign(bias)
    for weight in (model.entropy_model.head.kernel, model.entropy_model.head.bias):
        weight.assign(np.zeros(weight.shape, "float32"))
    x = images(3)
    files = bitstream.compress(model, x)
    np.testing.assert_array_equal(bitstream.decompress(model, files), model.reconstruct(x))


def test_an_error_names_the_file_by_its_place_in_the_whole_list():
    model = context_model()
    files = bitstream.compress(model, images(7))
    files[5] = files[5][:-1]
    with pytest.raises(bitstream.BitstreamError, match="^file 5: corrupted or truncated"):
        bitstream.decompress(model, files, batch_size=3)  # batches 0-2, 3-5, 6
    factorised = compression.CompressionAutoencoder(
        compression.analysis_transform(4, (8,)), compression.synthesis_transform(4, (8,))
    )
    files = bitstream.compress(factorised, images(7))
    files[4] = b"PK" + files[4][2:]
    with pytest.raises(bitstream.BitstreamError, match="^file 4: not a file of this codec"):
        bitstream.decompress(factorised, files, batch_size=3)


def test_empty_batches_and_the_radius_in_the_tag():
    model = context_model()
    coder = bitstream.coder_for(model)
    assert coder.encode_many(np.zeros((0, 7, 7, 4), np.int64)) == []
    assert coder.decode_many([]).shape == (0, 7, 7, 4)
    other = context_model(radius=7)
    other.set_weights(model.get_weights())
    assert bitstream.model_tag(other) != bitstream.model_tag(model)  # same weights, another alphabet
    with pytest.raises(bitstream.BitstreamError, match="another model"):
        bitstream.decode_from_bytes(other, bitstream.compress(model, images(1))[0])


def test_weights_that_are_not_finite_are_refused():
    layer = context_model().entropy_model
    kernel = np.asarray(layer.head.kernel).copy()
    kernel[0, 0] = np.nan
    layer.head.kernel.assign(kernel)
    with pytest.raises(ValueError, match="NaN"):
        layer.coder_weights()
