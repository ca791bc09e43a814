"""Training helpers: the warm-up + cosine schedule, the epoch timer, fit_autoencoder."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import training  # noqa: E402


def _lr(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_warmup_cosine_rises_to_the_peak_then_decays_to_zero():
    s = training.warmup_cosine(steps_per_epoch=10, epochs=5, peak_lr=1e-2, warmup_epochs=1)
    assert _lr(s, 0) == pytest.approx(1e-3)  # peak / 10
    assert _lr(s, 5) == pytest.approx(5.5e-3, rel=1e-3)  # halfway up the linear warm-up
    assert _lr(s, 10) == pytest.approx(1e-2)  # the peak, at the end of the warm-up
    assert _lr(s, 30) == pytest.approx(5e-3, rel=1e-3)  # cosine halfway down
    assert _lr(s, 50) == pytest.approx(0.0, abs=1e-9)
    values = [_lr(s, t) for t in range(10, 51)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))  # monotone after the warm-up


def test_warmup_cosine_without_warmup_starts_at_the_peak():
    s = training.warmup_cosine(steps_per_epoch=4, epochs=2, peak_lr=0.1, warmup_epochs=0)
    assert _lr(s, 0) == pytest.approx(0.1)
    assert _lr(s, 4) == pytest.approx(0.05, rel=1e-3)
    # A warm-up longer than the run is capped so one step of decay remains.
    s = training.warmup_cosine(steps_per_epoch=4, epochs=1, peak_lr=0.1, warmup_epochs=5)
    assert _lr(s, 3) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"epochs": 2.5}, "epochs"),
        ({"peak_lr": 0.0}, "peak_lr"),
        ({"peak_lr": float("nan")}, "peak_lr"),
        ({"warmup_epochs": -1}, "warmup_epochs"),
    ],
)
def test_warmup_cosine_rejects_bad_arguments(kwargs, match):
    args = {"steps_per_epoch": 10, "epochs": 2, "peak_lr": 1e-3, "warmup_epochs": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        training.warmup_cosine(**args)


def _tiny_ae(d=8):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((d,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(d)]
    )


def test_fit_autoencoder_reconstructs_and_records_epoch_times():
    x = np.random.default_rng(0).random((256, 8)).astype("float32")
    model, timer = _tiny_ae(), training.EpochTimer()
    hist = training.fit_autoencoder(
        model, x, epochs=6, batch_size=32, peak_lr=1e-2, validation_data=x[:64], callbacks=[timer]
    )
    loss = hist.history["loss"]
    assert loss[-1] < 0.5 * loss[0]
    assert "val_loss" in hist.history  # an array is validated against itself
    assert len(timer.times) == 6 and all(t > 0 for t in timer.times)
    assert timer.seconds_per_epoch == pytest.approx(np.median(timer.times[1:]))
    assert timer.total_seconds == pytest.approx(sum(timer.times))
    # The optimizer follows the schedule: after the last step the rate has decayed to 0.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) < 1e-6


def test_fit_autoencoder_learns_a_different_target():
    rng = np.random.default_rng(1)
    x = rng.random((512, 8)).astype("float32")
    target = x[:, ::-1].copy()  # a permutation: learnable, but not the identity
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
    training.fit_autoencoder(model, x, target, epochs=30, batch_size=32, peak_lr=3e-2)
    pred = keras.ops.convert_to_numpy(model(x))
    assert np.mean((pred - target) ** 2) < 0.1 * np.mean((x - target) ** 2)


def test_fit_autoencoder_rejects_bad_input():
    model = _tiny_ae()
    x = np.zeros((10, 8), "float32")
    with pytest.raises(ValueError, match="10 examples but target has 9"):
        training.fit_autoencoder(model, x, x[:9], epochs=1)
    with pytest.raises(ValueError, match="empty"):
        training.fit_autoencoder(model, x[:0], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        training.fit_autoencoder(model, x, epochs=0)


def test_epoch_timer_before_training_says_so():
    with pytest.raises(ValueError, match="no epoch has finished"):
        _ = training.EpochTimer().seconds_per_epoch


def test_fit_autoencoder_with_corrupt_draws_fresh_noise_every_epoch():
    x = np.random.default_rng(3).random((64, 4, 4)).astype("float32")
    seen = []

    def corrupt(batch, rng):
        seen.append(rng.random())
        return np.clip(batch + 0.1 * rng.standard_normal(batch.shape), 0, 1)

    model = keras.Sequential([keras.Input((4, 4)), keras.layers.Dense(4)])
    timer = training.EpochTimer()
    hist = training.fit_autoencoder(model, x, epochs=3, batch_size=16, peak_lr=1e-2,
                                    corrupt=corrupt, validation_data=x[:8], callbacks=[timer])
    assert len(seen) == 3 and len(set(seen)) == 3  # a new corruption per epoch
    assert len(hist.history["loss"]) == 3 and len(hist.history["val_loss"]) == 3
    assert len(timer.times) == 3  # the timer spans the per-epoch fit calls
    # The schedule runs once over all epochs: after the last step the rate has decayed to 0.
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) < 1e-6
    seen.clear()
    training.fit_autoencoder(model, x, epochs=3, batch_size=16, corrupt=corrupt)
    first = list(seen)
    seen.clear()
    training.fit_autoencoder(model, x, epochs=3, batch_size=16, corrupt=corrupt)
    assert seen == first  # seeded: reproducible


def test_fit_autoencoder_corrupt_must_keep_the_shape():
    x = np.zeros((8, 4, 4), "float32")
    model = keras.Sequential([keras.Input((4, 4)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="same shape"):
        training.fit_autoencoder(model, x, epochs=1, corrupt=lambda b, rng: b[:, :2])
    with pytest.raises(ValueError, match="must be a function"):
        training.fit_autoencoder(model, x, epochs=1, corrupt="gaussian")


def test_fresh_gaussian_noise_corrupts_in_training_only_and_reproducibly(tmp_path):
    x = np.full((64, 8, 8, 1), 0.5, dtype="float32")
    layer = training.FreshGaussianNoise(0.1, seed=3)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)  # inference: passes through
    first, second = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert abs(float((first - x).std()) - 0.1) < 0.01 and abs(float((first - x).mean())) < 0.01
    assert not np.allclose(first, second)  # a fresh draw for every batch
    np.testing.assert_array_equal(first, np.asarray(training.FreshGaussianNoise(0.1, seed=3)(x, training=True)))
    assert np.asarray(training.FreshGaussianNoise(2.0, seed=0)(x, training=True)).min() >= 0.0  # clipped
    with pytest.raises(ValueError, match="sigma"):
        training.FreshGaussianNoise(-0.1)
    net = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(1, 3, padding="same")], name="net")
    model = training.with_fresh_noise(net, 0.2, seed=0)
    training.fit_autoencoder(model, x, epochs=1, batch_size=32)
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(net(x)), atol=1e-6)  # shares weights
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="built Keras model"):
        training.with_fresh_noise("net", 0.2)
