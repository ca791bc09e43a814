import numpy as np
import pytest

from course_lib import metrics


def test_mse_known_value():
    x = np.zeros((2, 2, 2))
    y = np.ones((2, 2, 2))
    y[1] = 0.5
    assert metrics.mse(x, y) == pytest.approx((1.0 + 0.25) / 2)
    assert np.allclose(metrics.per_example_mse(x, y), [1.0, 0.25])


def test_mse_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shapes differ"):
        metrics.mse(np.zeros((2, 28, 28)), np.zeros((2, 784)))
    with pytest.raises(ValueError, match="non-empty batch"):
        metrics.mse(np.zeros((0, 4)), np.zeros((0, 4)))


# --- PSNR -----------------------------------------------------------------------------------


def _images(n=4, shape=(28, 28), seed=0):
    return np.random.default_rng(seed).random((n, *shape))


def test_psnr_identical_images_is_capped():
    x = _images()
    assert metrics.psnr(x, x) == metrics.PSNR_CAP_DB == 100.0
    assert np.all(metrics.per_example_psnr(x, x) == 100.0)


def test_psnr_known_value():
    x = np.zeros((3, 28, 28))
    assert metrics.psnr(x, x + 0.1) == pytest.approx(20.0)  # 10 log10(1 / 0.01)
    assert metrics.psnr(x, x + 0.5) == pytest.approx(10 * np.log10(4))
    assert metrics.psnr(x * 255, x * 255 + 25.5, data_range=255.0) == pytest.approx(20.0)


def test_psnr_is_the_mean_of_per_example_values_and_accepts_a_channel_axis():
    x = np.zeros((2, 28, 28, 1))
    y = x.copy()
    y[0] += 0.1  # 20 dB
    y[1] += 0.01  # 40 dB
    assert np.allclose(metrics.per_example_psnr(x, y), [20.0, 40.0])
    assert metrics.psnr(x, y) == pytest.approx(30.0)


# --- SSIM -----------------------------------------------------------------------------------


def _noisy(x, sigma, seed=1):
    return np.clip(x + sigma * np.random.default_rng(seed).normal(size=x.shape), 0, 1)


def test_ssim_identical_images_is_one():
    x = _images()
    assert metrics.ssim(x, x) == pytest.approx(1.0, abs=1e-12)
    assert metrics.per_example_ssim(x[..., None], x[..., None]).shape == (4,)


def test_ssim_decreases_as_noise_grows():
    x = np.clip(_images(n=6) * 0.5 + 0.25, 0, 1)
    values = [metrics.ssim(x, _noisy(x, s)) for s in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)]
    assert values[0] == pytest.approx(1.0)
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values


def test_ssim_is_symmetric():
    x = _images(n=3)
    y = _noisy(x, 0.2)
    assert np.allclose(metrics.per_example_ssim(x, y), metrics.per_example_ssim(y, x))


def test_ssim_penalises_blur_more_than_a_small_brightness_shift():
    x = _images(n=3)
    shifted = np.clip(x + 0.02, 0, 1)
    blurred = (x + np.roll(x, 1, axis=1) + np.roll(x, 1, axis=2) + np.roll(x, 1, axis=(1, 2))) / 4
    assert metrics.mse(x, shifted) < metrics.mse(x, blurred)
    assert metrics.ssim(x, shifted) > metrics.ssim(x, blurred)


def test_ssim_matches_tf_image_ssim():
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(3)
    x = rng.random((5, 28, 28, 1))
    # A mix of noise levels and a smooth image, so agreement is checked across the SSIM range.
    y = np.clip(
        x + rng.normal(size=x.shape) * np.array([0.02, 0.1, 0.3, 0.6, 1.0])[:, None, None, None],
        0,
        1,
    )
    y[4] = np.linspace(0, 1, 28)[None, :, None] * np.ones((28, 1, 1))
    ours = metrics.per_example_ssim(x, y)
    theirs = tf.image.ssim(
        tf.constant(x, tf.float32), tf.constant(y, tf.float32), max_val=1.0
    ).numpy()
    assert ours.shape == theirs.shape == (5,)
    assert np.abs(ours - theirs).max() < 1e-3, (ours, theirs)
    assert ours.max() - ours.min() > 0.3  # the cases really do span a range


# --- image-metric argument checks ------------------------------------------------------------


@pytest.mark.parametrize(
    "fn", [metrics.psnr, metrics.ssim, metrics.per_example_psnr, metrics.per_example_ssim]
)
def test_image_metrics_reject_bad_inputs(fn):
    x = _images(n=2)
    with pytest.raises(ValueError, match="shapes differ"):
        fn(x, x[:, :27])
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 1\)"):
        fn(x[0], x[0])  # a single image without batch axis
    with pytest.raises(ValueError, match=r"\(N, H, W\) or \(N, H, W, 1\)"):
        fn(np.zeros((2, 28, 28, 3)), np.zeros((2, 28, 28, 3)))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*x / 255"):
        fn(x * 255, x * 255)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*np.clip"):
        fn(x, x - 0.5)
    with pytest.raises(ValueError, match="NaN"):
        fn(x, np.full_like(x, np.nan))
    with pytest.raises(ValueError, match="data_range must be a positive number"):
        fn(x, x, data_range=0)
    with pytest.raises(ValueError, match="non-empty"):
        fn(np.zeros((0, 28, 28)), np.zeros((0, 28, 28)))


def test_ssim_rejects_images_smaller_than_the_window():
    x = np.zeros((2, 10, 10))
    with pytest.raises(ValueError, match="at least 11x11"):
        metrics.ssim(x, x)
    assert metrics.psnr(x, x) == 100.0  # PSNR has no size limit
