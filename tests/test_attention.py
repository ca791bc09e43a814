"""Attention, patches and positions: known cases, agreement with keras.layers.MultiHeadAttention,
round trips, saving, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import attention, pagecheck


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def _tokens(b=2, t=5, d=8, seed=0):
    return np.random.default_rng(seed).normal(size=(b, t, d)).astype(np.float32)


def test_attention_weights_are_a_softmax_of_scaled_scores():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out, w = attention.scaled_dot_product_attention(q.astype("float32"), k.astype("float32"), v.astype("float32"))
    scores = q @ k.T / 2.0  # sqrt(d) = 2
    expected_w = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    np.testing.assert_allclose(_np(w), expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(out), expected_w @ v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(w).sum(-1), 1.0, rtol=1e-6)


def test_a_query_matching_one_key_copies_its_value_and_the_mask_hides_keys():
    k = np.eye(3, dtype=np.float32) * 30.0  # one very large match per query
    v = np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], np.float32)
    out, _ = attention.scaled_dot_product_attention(k, k, v)
    np.testing.assert_allclose(_np(out), v, atol=1e-4)
    mask = np.array([[True, False, False], [True, True, False], [True, True, True]])  # causal
    _, w = attention.scaled_dot_product_attention(k, k, v, mask)
    w = _np(w)
    assert np.all(w[~mask] < 1e-6)  # masked keys get no weight
    np.testing.assert_allclose(w[0], [1, 0, 0], atol=1e-6)  # the first query sees only key 0


def test_our_multi_head_attention_matches_keras_with_the_same_weights():
    x = _tokens()
    ours = attention.MultiHeadSelfAttention(num_heads=2, key_dim=3)
    out, w = ours(x, return_attention=True)
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    theirs(x, x)
    pagecheck.copy_weights(ours, theirs)
    ref, ref_w = theirs(x, x, return_attention_scores=True)
    assert np.abs(_np(out) - _np(ref)).max() < 1e-5
    assert np.abs(_np(w) - _np(ref_w)).max() < 1e-5
    mask = np.tril(np.ones((2, 5, 5), bool))
    masked = np.abs(_np(ours(x, attention_mask=mask)) - _np(theirs(x, x, attention_mask=mask))).max()
    assert masked < 1e-5
    assert np.abs(_np(ours(x, attention_mask=mask)) - _np(out)).max() > 1e-3  # the mask matters


def test_self_attention_is_permutation_equivariant_without_positions():
    """Attention ignores order: permuting the tokens permutes the outputs the same way."""
    x = _tokens()
    block = attention.TransformerBlock(8, 2)
    perm = np.array([3, 0, 4, 1, 2])
    np.testing.assert_allclose(_np(block(x[:, perm])), _np(block(x))[:, perm], atol=1e-5)


def test_patchify_order_and_round_trip():
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
    p = _np(attention.patchify(x, 2))
    assert p.shape == (2, 6, 12)  # (4/2)*(6/2) patches of 2*2*3 values
    np.testing.assert_array_equal(p[0, 1], x[0, 0:2, 2:4].reshape(-1))  # second patch: top row, columns 2-3
    np.testing.assert_array_equal(p[1, 3], x[1, 2:4, 0:2].reshape(-1))  # fourth: second row of patches
    np.testing.assert_array_equal(_np(attention.unpatchify(p, 2, (4, 6, 3))), x)
    grey = np.random.default_rng(1).random((3, 28, 28)).astype(np.float32)
    for size in (1, 4, 7, 14, 28):
        back = attention.unpatchify(attention.patchify(grey, size), size, (28, 28))
        np.testing.assert_array_equal(_np(back), grey)
    assert attention.num_patches((28, 28, 1), 4) == 49 and attention.num_patches((28, 28), 7) == 16


def test_bad_patch_sizes_and_shapes_are_explained():
    x = np.zeros((2, 28, 28, 1), np.float32)
    with pytest.raises(ValueError, match=r"patch_size 5 does not divide the 28x28 images.*\[1, 2, 4, 7, 14, 28\]"):
        attention.patchify(x, 5)
    with pytest.raises(ValueError, match="patch_size must be a positive integer"):
        attention.patchify(x, 0)
    with pytest.raises(ValueError, match=r"expected patches of shape \(N, 16, 49\)"):
        attention.unpatchify(np.zeros((2, 49, 16), np.float32), 7, (28, 28, 1))
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, C\)"):
        attention.patchify(np.zeros((28, 28), np.float32), 4)


def test_sincos_positions_are_distinct_bounded_and_relative():
    pe = attention.sincos_position_embedding(7, 7, 16)
    assert pe.shape == (49, 16) and pe.dtype == np.float32
    assert np.abs(pe).max() <= 1.0
    d = ((pe[:, None] - pe[None]) ** 2).sum(-1)
    assert np.all(d[~np.eye(49, dtype=bool)] > 1e-3)  # every position has its own code
    # sin a sin b + cos a cos b = cos(a - b): the dot product depends on the offset only
    dot = pe @ pe.T
    assert dot[0, 1] == pytest.approx(dot[8, 9], abs=1e-5)  # (0,0)-(0,1) and (1,1)-(1,2)
    assert dot[0, 9] == pytest.approx(dot[30, 39], abs=1e-5)  # offset (1, 1) twice
    assert dot[0, 0] == pytest.approx(8.0, abs=1e-5)  # dim / 2 pairs of sin^2 + cos^2
    # row code in the first half, column code in the second: same row -> same first half
    np.testing.assert_array_equal(pe[0, :8], pe[6, :8])
    with pytest.raises(ValueError, match="multiple of 4"):
        attention.sincos_position_embedding(7, 7, 10)


def test_position_embedding_fixed_or_learned():
    fixed = attention.PositionEmbedding(2, 3, 8)
    assert not fixed.trainable_weights
    tokens = np.zeros((1, 6, 8), np.float32)
    np.testing.assert_allclose(_np(fixed(tokens))[0], attention.sincos_position_embedding(2, 3, 8))
    learned = attention.PositionEmbedding(2, 3, 8, kind="learned")
    assert len(learned.trainable_weights) == 1
    with pytest.raises(ValueError, match="Unknown position embedding 'rope'"):
        attention.PositionEmbedding(2, 3, 8, kind="rope")


def test_transformer_block_is_residual_config_round_trips_and_saves(tmp_path):
    x = _tokens()
    block = attention.TransformerBlock(8, 2, mlp_ratio=2.0, name="block")
    y, w = block(x, return_attention=True)
    assert _np(y).shape == x.shape and _np(w).shape == (2, 2, 5, 5)
    # zero output projections: both branches add 0, so the block is the identity
    zeroed = [np.zeros_like(a) if i in (8, 9, 14, 15) else a for i, a in enumerate(block.get_weights())]
    names = [v.path for v in block.weights]
    assert "output_kernel" in names[8] and "mlp_out" in names[14]
    clone = attention.TransformerBlock.from_config(block.get_config())
    clone.build(x.shape)
    clone.set_weights(zeroed)
    np.testing.assert_allclose(_np(clone(x)), x, atol=1e-6)
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, attention.TransformerBlock(8, 2)(inputs))
    model.save(tmp_path / "block.keras")
    loaded = keras.saving.load_model(tmp_path / "block.keras")
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="dim 10 is not divisible by num_heads 4"):
        attention.TransformerBlock(10, 4)
    with pytest.raises(ValueError, match=r"TransformerBlock\(dim=8\) got tokens of size 6"):
        attention.TransformerBlock(8, 2)(np.zeros((1, 3, 6), np.float32))
