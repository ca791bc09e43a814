"""Masked autoencoder: seeded masks that split the patches, a loss on hidden patches only,
per-patch normalised targets, training, saving, feature extraction and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import attention, mae


def _np(t):
    return np.asarray(keras.ops.convert_to_numpy(t))


def _tiny(**kwargs) -> mae.MaskedAutoencoder:
    settings = {"image_shape": (8, 8, 1), "patch_size": 2, "dim": 16, "depth": 1, "num_heads": 2,
                "decoder_dim": 8, "decoder_depth": 1, "decoder_heads": 2, "seed": 0}
    return mae.MaskedAutoencoder(**{**settings, **kwargs})


@pytest.fixture(scope="module")
def images():
    """128 8x8 images: a bright square at one of four places on a dark background, plus noise."""
    rng = np.random.default_rng(0)
    x = np.full((128, 8, 8, 1), 0.1, np.float32)
    for i, (r, c) in enumerate(rng.integers(0, 2, (128, 2)) * 4):
        x[i, r : r + 4, c : c + 4] = 0.9
    return np.clip(x + 0.02 * rng.standard_normal(x.shape), 0, 1).astype(np.float32)


def test_masking_splits_every_image_into_kept_and_hidden_patches():
    keep, masked, restore = (_np(t) for t in mae.random_masking(6, 16, 0.75, seed=3))
    assert keep.shape == (6, 4) and masked.shape == (6, 12) and restore.shape == (6, 16)
    order = np.concatenate([keep, masked], axis=1)
    for row, back in zip(order, restore, strict=True):
        np.testing.assert_array_equal(np.sort(row), np.arange(16))  # kept ∪ hidden = a permutation
        np.testing.assert_array_equal(row[back], np.arange(16))  # restore undoes it
    assert len({tuple(k) for k in keep}) > 1  # each image its own mask
    again = _np(mae.random_masking(6, 16, 0.75, seed=3)[0])
    np.testing.assert_array_equal(again, keep)  # same seed, same masks
    assert not np.array_equal(_np(mae.random_masking(6, 16, 0.75, seed=4)[0]), keep)
    assert mae.num_kept(49, 0.75) == 12 and mae.num_kept(16, 0.5) == 8


def test_masking_is_uniform_over_patches():
    keep = _np(mae.random_masking(4000, 8, 0.5, seed=0)[0])
    freq = np.bincount(keep.ravel(), minlength=8) / keep.size
    np.testing.assert_allclose(freq, 1 / 8, atol=0.01)


@pytest.mark.parametrize("ratio", [0, 1, 1.5, -0.2, True, "0.75"])
def test_masking_ratio_outside_zero_one_is_explained(ratio):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        mae.random_masking(2, 16, ratio)


def test_a_ratio_that_hides_everything_in_practice_is_explained():
    with pytest.raises(ValueError, match="at least one patch must be visible"):
        mae.num_kept(4, 0.9)  # round(0.4) = 0 visible
    with pytest.raises(ValueError, match="patch_size 3 does not divide"):
        _tiny(patch_size=3)


def test_the_loss_counts_hidden_patches_only(images):
    model = _tiny()
    x = images[:4]
    keep, _, restore = mae.random_masking(4, 16, 0.75, seed=1)
    pred = model.forward(x, keep, restore)
    targets = _np(attention.patchify(x, 2))
    hidden = np.ones((4, 16), bool)
    np.put_along_axis(hidden, _np(keep), False, axis=1)
    expected = ((_np(pred) - targets) ** 2).mean(-1)[hidden].mean()
    assert float(_np(model.masked_loss(x, pred, keep))) == pytest.approx(expected, rel=1e-5)
    # a perfect prediction on the hidden patches and garbage on the visible ones: loss 0
    perfect = np.where(hidden[..., None], targets, 100.0).astype(np.float32)
    assert float(_np(model.masked_loss(x, perfect, keep))) == pytest.approx(0.0, abs=1e-10)


def test_the_encoder_sees_only_the_kept_patches_and_the_decoder_puts_them_back(images):
    model = _tiny()
    keep, _, restore = mae.random_masking(3, 16, 0.75, seed=2)
    assert _np(model.encoder(images[:3], keep=keep)).shape == (3, 4, 16)
    assert _np(model.forward(images[:3], keep, restore)).shape == (3, 16, 4)
    # changing a hidden patch's pixels cannot change the prediction (the encoder never sees it)
    x = images[:1].copy()
    k1, _, r1 = mae.random_masking(1, 16, 0.75, seed=5)
    hidden = sorted(set(range(16)) - set(_np(k1)[0].tolist()))[0]
    row, col = divmod(hidden, 4)
    y = x.copy()
    y[0, 2 * row : 2 * row + 2, 2 * col : 2 * col + 2] = 0.5
    np.testing.assert_allclose(_np(model.forward(x, k1, r1)), _np(model.forward(y, k1, r1)), atol=1e-6)


def test_norm_pix_targets_have_zero_mean_and_unit_spread_per_patch(images):
    model = _tiny(norm_pix_loss=True)
    t = _np(model.targets(images[:4]))
    np.testing.assert_allclose(t.mean(-1), 0.0, atol=1e-4)
    # the 1e-6 under the square root shrinks the spread of almost flat (noise-only) patches a little
    np.testing.assert_allclose(t.std(-1), 1.0, atol=0.05)
    with pytest.raises(ValueError, match="normalised pixels"):
        model.masked_patch_mse(images[:4])


def test_training_lowers_the_hidden_patch_error(images):
    model = _tiny()
    before = model.masked_patch_mse(images, 0.5, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    hist = model.fit(images, batch_size=32, epochs=30, verbose=0)
    after = model.masked_patch_mse(images, 0.5, seed=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    assert after < 0.5 * before
    out = model.reconstruct(images[:8], 0.5, seed=0)
    np.testing.assert_array_equal(out["pasted"][~out["mask"]], images[:8][~out["mask"]])  # visible kept
    assert out["mask"].mean() == pytest.approx(0.5)
    # the same seed hides the same patches
    np.testing.assert_array_equal(model.reconstruct(images[:8], 0.5, seed=0)["mask"], out["mask"])


def test_pixel_mask_matches_the_patches():
    hidden = np.zeros((1, 16), bool)
    hidden[0, 5] = True  # row 1, column 1 of a 4x4 grid of 2x2 patches
    m = mae.patch_mask_to_pixels(hidden, 2, (8, 8, 1))
    assert m.shape == (1, 8, 8, 1) and m.sum() == 4 and m[0, 2:4, 2:4].all()


def test_saving_round_trip_and_independent_feature_extractor(images, tmp_path):
    model = _tiny(norm_pix_loss=True, position="learned")
    model.compile(optimizer="adam")
    model.fit(images[:64], batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "mae.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, mae.MaskedAutoencoder) and loaded.norm_pix_loss
    np.testing.assert_allclose(loaded.features(images), model.features(images), atol=1e-6)
    a = model.reconstruct(images[:8], seed=1)["prediction"]
    np.testing.assert_allclose(loaded.reconstruct(images[:8], seed=1)["prediction"], a, atol=1e-5)

    feats = mae.feature_extractor(model)
    np.testing.assert_allclose(_np(feats(images)), model.features(images), atol=1e-5)
    fresh = mae.feature_extractor(model, pretrained=False)
    assert np.abs(_np(fresh(images)) - model.features(images)).max() > 1e-3
    w = feats.get_weights()
    feats.set_weights([v + 1.0 for v in w])  # fine-tuning the copy leaves the MAE alone
    np.testing.assert_allclose(loaded.features(images), model.features(images), atol=1e-6)
    with pytest.raises(TypeError, match="MaskedAutoencoder or ViTEncoder"):
        mae.feature_extractor(keras.Sequential())
