"""Linear probe: separable and random data, scaling, reproducibility, argument checks."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import probe  # noqa: E402

FAST = {"epochs": 4, "batch_size": 32, "learning_rate": 0.1}


def _blobs(n_per_class=150, n_classes=3, dim=6, spread=0.6, seed=0):
    """Gaussian blobs around well-separated centres: linearly separable with high accuracy."""
    rng = np.random.default_rng(seed)
    centres = 3.0 * np.eye(n_classes, dim)
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + spread * rng.normal(size=(len(y), dim))
    order = rng.permutation(len(y))
    return x[order].astype("float32"), y[order]


def _split(x, y, n_train):
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def test_separable_blobs_are_classified_almost_perfectly():
    x, y = _blobs()
    result = probe.linear_probe(*_split(x, y, 300), **FAST)
    assert isinstance(result, probe.ProbeResult)
    assert result.test_accuracy > 0.95 and result.train_accuracy > 0.95
    assert result.epochs == FAST["epochs"] and result.n_features == 6


def test_imbalanced_classes_need_and_get_an_intercept():
    """One feature, threshold far from the mean: only a probe with a bias term gets this."""
    rng = np.random.default_rng(6)
    y = (rng.random(600) < 0.1).astype(int)  # 10 % positives
    x = (4.0 * y + rng.normal(size=600)).astype("float32")[:, None]
    result = probe.linear_probe(*_split(x, y, 300), **FAST)
    assert result.test_accuracy > 0.95 and result.n_features == 1


def test_random_labels_give_chance_accuracy():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1400, 8)).astype("float32")
    y = rng.integers(0, 4, size=1400)
    result = probe.linear_probe(*_split(x, y, 400), **FAST)
    assert abs(result.test_accuracy - 0.25) < 0.06


def test_standardization_rescues_a_badly_scaled_feature():
    """One noise feature scaled by 1e4: unstandardized, it swamps the informative ones."""
    x, y = _blobs(n_per_class=100, n_classes=2, dim=4, seed=2)
    x[:, 3] = 1e4 * np.random.default_rng(3).normal(size=len(x))
    split = _split(x, y, 120)
    good = probe.linear_probe(*split, **FAST)
    bad = probe.linear_probe(*split, standardize=False, **FAST)
    assert good.test_accuracy > 0.95
    assert bad.test_accuracy < good.test_accuracy - 0.15


def test_standardization_uses_training_statistics_only():
    """A shifted test set must stay shifted: re-centring it on its own mean would leak."""
    x, y = _blobs(n_per_class=100, n_classes=2, dim=2, seed=4)
    x_train, y_train, x_test, y_test = _split(x, y, 120)
    x_test = x_test + np.array([6.0, -6.0], dtype="float32")  # everything looks like class 0
    result = probe.linear_probe(x_train, y_train, x_test, y_test, **FAST)
    assert result.train_accuracy > 0.95
    assert result.test_accuracy == pytest.approx((y_test == 0).mean())


def test_same_seed_same_result_and_images_are_flattened():
    x, y = _blobs(n_per_class=40, n_classes=3, dim=16, spread=2.0, seed=5)
    images = x.reshape(-1, 4, 4)
    split = _split(images, y, 80)
    a = probe.linear_probe(*split, epochs=3, batch_size=16, seed=7)
    b = probe.linear_probe(*split, epochs=3, batch_size=16, seed=7)
    assert a == b
    assert a.n_features == 16


def test_bad_inputs_raise_clear_errors():
    x, y = _blobs(n_per_class=5, n_classes=2, dim=3)
    with pytest.raises(ValueError, match="9 labels for 10 feature rows"):
        probe.linear_probe(x, y[:9], x, y)
    with pytest.raises(ValueError, match="labels must be integers"):
        probe.linear_probe(x, y.astype(float), x, y)
    with pytest.raises(ValueError, match="not one-hot"):
        probe.linear_probe(x, np.eye(2)[y], x, y)
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\), got values from 0 to 2"):
        probe.linear_probe(x, y, x, y + 1, num_classes=2)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\), got values from -1"):
        probe.linear_probe(x, y - 1, x, y, num_classes=3)
    with pytest.raises(ValueError, match="single class"):
        probe.linear_probe(x, np.zeros_like(y), x, y)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2"):
        probe.linear_probe(x, y, x, y, num_classes=1)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        probe.linear_probe(x, y, x, y, epochs=0)
    with pytest.raises(ValueError, match="different sizes, 3 vs 2"):
        probe.linear_probe(x, y, x[:, :2], y)
    with pytest.raises(ValueError, match="NaN"):
        probe.linear_probe(np.full_like(x, np.nan), y, x, y)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        probe.linear_probe(x, y, x, y, learning_rate=0)


def test_extract_features_batches_and_flattens_what_the_model_gives():
    inputs = keras.Input((3, 2))
    model = keras.Model(inputs, keras.layers.Dropout(0.9)(inputs * 2.0))  # dropout: must run in inference mode
    x = np.arange(7 * 3 * 2, dtype="float32").reshape(7, 3, 2)
    feats = probe.extract_features(model, x, batch_size=3)
    assert feats.shape == (7, 6)
    assert np.allclose(feats, 2.0 * x.reshape(7, 6))
    with pytest.raises(ValueError, match="batch_size"):
        probe.extract_features(model, x, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        probe.extract_features(model, x[:0])
