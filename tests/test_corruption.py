"""Corruptions: statistics, reproducibility, no side effects, argument checks, Keras layer."""

import numpy as np
import pytest

from course_lib import corruption  # noqa: E402

NUMPY_CORRUPTIONS = [
    lambda x, rng: corruption.gaussian_noise(x, 0.3, rng),
    lambda x, rng: corruption.salt_and_pepper(x, 0.2, rng),
    lambda x, rng: corruption.masking_noise(x, 0.3, rng),
    lambda x, rng: corruption.occlude(x, corruption.block_mask(x.shape, 5, rng)),
    lambda x, rng: corruption.corrupt(x, "gaussian", 0.2, rng),
]
IDS = ["gaussian", "salt_and_pepper", "masking", "occlude", "corrupt"]


def _images(shape=(8, 28, 28), seed=0, dtype=np.float64):
    return np.random.default_rng(seed).random(shape).astype(dtype)


# --- statistics -----------------------------------------------------------------------------


def test_gaussian_noise_has_std_sigma_on_mid_grey():
    x = np.full((50, 28, 28), 0.5)
    for sigma in (0.05, 0.1, 0.2):
        noise = corruption.gaussian_noise(x, sigma, rng=0, clip=False) - x
        assert noise.std() == pytest.approx(sigma, rel=0.02)
        assert abs(noise.mean()) < 0.01 * sigma + 1e-3
    assert np.array_equal(corruption.gaussian_noise(x, 0.0, rng=0), x)


def test_gaussian_noise_clips_to_unit_range_by_default():
    x = np.full((20, 28, 28), 0.5)
    clipped = corruption.gaussian_noise(x, 1.0, rng=0)
    assert clipped.min() == 0.0 and clipped.max() == 1.0
    unclipped = corruption.gaussian_noise(x, 1.0, rng=0, clip=False)
    assert unclipped.min() < -1.0 and unclipped.max() > 2.0
    assert np.array_equal(np.clip(unclipped, 0, 1), clipped)


def test_salt_and_pepper_fraction_and_ratio():
    x = np.full((50, 28, 28), 0.5)
    out = corruption.salt_and_pepper(x, 0.2, rng=0, salt_ratio=0.25)
    salt, pepper = (out == 1.0).mean(), (out == 0.0).mean()
    assert salt + pepper == pytest.approx(0.2, abs=0.005)
    assert salt / (salt + pepper) == pytest.approx(0.25, abs=0.02)
    assert np.all((out == 0) | (out == 1) | (out == 0.5))  # other pixels untouched
    assert (corruption.salt_and_pepper(x, 0.3, rng=1, salt_ratio=1.0) == 0).sum() == 0


def test_masking_noise_fraction():
    x = np.full((50, 28, 28), 0.7)
    out = corruption.masking_noise(x, 0.3, rng=0)
    assert (out == 0).mean() == pytest.approx(0.3, abs=0.005)
    assert np.allclose(out[out != 0], 0.7)  # survivors are not rescaled
    assert np.array_equal(corruption.masking_noise(x, 1.0, rng=0), np.zeros_like(x))
    assert np.allclose(corruption.masking_noise(x, 0.0, rng=0), x)


def test_corrupt_dispatches_to_the_named_function():
    x = _images()
    assert np.array_equal(
        corruption.corrupt(x, "gaussian", 0.2, rng=3), corruption.gaussian_noise(x, 0.2, rng=3)
    )
    assert np.array_equal(
        corruption.corrupt(x, "salt_and_pepper", 0.1, rng=3),
        corruption.salt_and_pepper(x, 0.1, rng=3),
    )
    assert np.array_equal(
        corruption.corrupt(x, "masking", 0.4, rng=3), corruption.masking_noise(x, 0.4, rng=3)
    )


# --- block masks ----------------------------------------------------------------------------


def test_block_mask_makes_one_full_square_per_image_inside_the_image():
    mask = corruption.block_mask((200, 28, 28), block=12, rng=0)
    assert mask.dtype == np.bool_ and mask.shape == (200, 28, 28)
    assert np.all(mask.sum(axis=(1, 2)) == 144)
    for m in mask:
        rows, cols = np.nonzero(m)
        # One contiguous 12x12 square: its bounding box is 12x12 and it is full.
        assert rows.max() - rows.min() == 11 and cols.max() - cols.min() == 11
    # Positions vary and reach both edges (uniform over all 17x17 valid positions).
    tops = np.array([np.nonzero(m)[0].min() for m in mask])
    assert tops.min() == 0 and tops.max() == 28 - 12


def test_block_mask_shapes_and_several_blocks():
    mask = corruption.block_mask((5, 28, 28, 1), block=4, rng=0, n_blocks=3)
    assert mask.shape == (5, 28, 28, 1)
    counts = mask.sum(axis=(1, 2, 3))
    assert np.all((counts > 16) & (counts <= 48))  # 3 blocks of 16, overlaps allowed
    full = corruption.block_mask((2, 6, 9), block=6, rng=0)
    assert np.all(full[:, :, :].sum(axis=(1, 2)) == 36)


def test_occlude_sets_masked_pixels_only():
    x = _images((4, 28, 28, 1))
    mask = corruption.block_mask(x.shape, 7, rng=0)
    out = corruption.occlude(x, mask, fill=0.25)
    assert np.all(out[mask] == 0.25)
    assert np.allclose(out[~mask], x[~mask])
    # An (N, H, W) mask works for (N, H, W, 1) images.
    assert np.array_equal(corruption.occlude(x, mask[..., 0], fill=0.25), out)


# --- common contract ------------------------------------------------------------------------


@pytest.mark.parametrize("fn", NUMPY_CORRUPTIONS, ids=IDS)
def test_same_seed_same_output_and_different_seed_different_output(fn):
    x = _images()
    assert np.array_equal(fn(x, 7), fn(x, 7))
    assert np.array_equal(fn(x, np.random.default_rng(7)), fn(x, 7))
    assert not np.array_equal(fn(x, 7), fn(x, 8))


@pytest.mark.parametrize("fn", NUMPY_CORRUPTIONS, ids=IDS)
@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 28, 28, 1)])
def test_shape_and_dtype_preserved_and_input_not_modified(fn, shape):
    x = _images(shape)
    x.flags.writeable = False  # any in-place write would raise
    before = x.copy()
    out = fn(x, 0)
    assert out.shape == shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.array_equal(x, before)
    assert not np.shares_memory(out, x)
    # float32 input: the output must still be a new array.
    x32 = _images(shape, dtype=np.float32)
    out32 = fn(x32, 0)
    assert out32.dtype == np.float32 and not np.shares_memory(out32, x32)


# --- argument checks ------------------------------------------------------------------------


def test_bad_arguments_raise_helpful_errors():
    x = _images((2, 28, 28))
    with pytest.raises(ValueError, match="sigma is a standard deviation and must be >= 0"):
        corruption.gaussian_noise(x, -0.1)
    with pytest.raises(ValueError, match=r"amount is a fraction of pixels and must be in \[0, 1\]"):
        corruption.salt_and_pepper(x, 1.5)
    with pytest.raises(ValueError, match=r"salt_ratio .* must be in \[0, 1\]"):
        corruption.salt_and_pepper(x, 0.1, salt_ratio=-0.1)
    with pytest.raises(ValueError, match=r"fraction .* must be in \[0, 1\]"):
        corruption.masking_noise(x, 2)
    with pytest.raises(
        ValueError, match=r"12x12 block does not fit inside 10x10 images; use block <= 10"
    ):
        corruption.block_mask((2, 10, 10), block=12)
    with pytest.raises(ValueError, match="block must be a positive integer"):
        corruption.block_mask((2, 28, 28), block=0)
    with pytest.raises(ValueError, match="n_blocks must be a positive integer"):
        corruption.block_mask((2, 28, 28), n_blocks=0)
    with pytest.raises(ValueError, match=r"shape must be \(N, H, W\)"):
        corruption.block_mask((28, 28))
    with pytest.raises(ValueError, match="mask must be a boolean array"):
        corruption.occlude(x, np.zeros(x.shape))
    with pytest.raises(ValueError, match="does not match"):
        corruption.occlude(x, np.zeros((2, 14, 14), bool))
    with pytest.raises(ValueError, match=r"fill is a grey level"):
        corruption.occlude(x, np.zeros(x.shape, bool), fill=2.0)
    with pytest.raises(ValueError, match="rng must be"):
        corruption.gaussian_noise(x, 0.1, rng=-1)
    with pytest.raises(
        ValueError, match=r"unknown kind 'speckle'.*'gaussian'.*'salt_and_pepper'.*'masking'"
    ):
        corruption.corrupt(x, "speckle", 0.1)


def test_images_outside_unit_range_are_rejected():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*x / 255"):
        corruption.gaussian_noise(np.full((2, 28, 28), 255.0), 0.1)
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 1\)"):
        corruption.masking_noise(np.zeros((28, 28)), 0.1)


# --- Keras layer ----------------------------------------------------------------------------


# --- random_corruption (the blind restorer of notebook 04) ---------------

def test_random_corruption_applies_each_kind_as_specified():
    x = np.full((50, 10, 10), 0.5, "float32")
    assert np.array_equal(corruption.random_corruption(x, {"gaussian": (0, 0)}, 0), x)
    assert np.all(corruption.random_corruption(x, {"masking": (1, 1)}, 0) == 0)
    sp = corruption.random_corruption(x, {"salt_and_pepper": (1, 1)}, 0)
    assert set(np.unique(sp)) == {0.0, 1.0}
    blocks = corruption.random_corruption(np.ones((20, 10, 10, 1), "float32"), {"blocks": (3, 3)}, 0)
    assert blocks.shape == (20, 10, 10, 1)
    assert np.all((blocks == 0).sum(axis=(1, 2, 3)) == 9)  # one 3x3 hole per image


def test_random_corruption_draws_a_level_per_image_and_mixes_kinds():
    x = np.full((400, 8, 8), 0.5, "float32")
    out = corruption.random_corruption(x, {"masking": (0.0, 1.0)}, rng=3)
    dropped = (out == 0).mean(axis=(1, 2))  # one masking level per image, uniform on [0, 1]
    assert dropped.std() > 0.2 and dropped.min() < 0.1 and dropped.max() > 0.9
    mixed = corruption.random_corruption(x, {"masking": (1, 1), "salt_and_pepper": (1, 1)}, 4)
    all_zero = np.all(mixed == 0, axis=(1, 2))
    assert 0.35 < all_zero.mean() < 0.65  # about half the images got each kind
    assert np.all(np.isin(mixed[~all_zero], (0.0, 1.0)))


def test_random_corruption_is_reproducible_and_leaves_the_input_alone():
    x = np.random.default_rng(0).random((30, 8, 8)).astype("float32")
    before = x.copy()
    recipe = {"gaussian": (0.1, 0.5), "blocks": (2, 4), "masking": (0.1, 0.5)}
    a = corruption.random_corruption(x, recipe, 7)
    assert np.array_equal(a, corruption.random_corruption(x, recipe, 7))
    assert not np.array_equal(a, corruption.random_corruption(x, recipe, 8))
    assert np.array_equal(x, before)
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1


@pytest.mark.parametrize(
    "recipe, match",
    [
        ({}, "non-empty dict"),
        ({"speckle": (0, 1)}, "unknown kind 'speckle'"),
        ({"gaussian": 0.2}, "pair of numbers"),
        ({"gaussian": (0.5, 0.1)}, "low <= high"),
        ({"masking": (0.1, 1.5)}, "fractions"),
        ({"blocks": (2.5, 4)}, "whole block sizes"),
    ],
)
def test_random_corruption_rejects_bad_recipes(recipe, match):
    with pytest.raises(ValueError, match=match):
        corruption.random_corruption(np.zeros((2, 8, 8), "float32"), recipe, 0)
