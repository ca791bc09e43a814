"""Vector quantiser and VQ-VAE: nearest codes, straight-through gradients, EMA updates,
dead-code restarts, usage metrics, training, saving, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import vq


def _np(t):
    return np.asarray(t.numpy() if isinstance(t, keras.Variable) else keras.ops.convert_to_numpy(t))


def _quantizer(codebook, **kwargs) -> vq.VectorQuantizer:
    codebook = np.asarray(codebook, np.float32)
    q = vq.VectorQuantizer(len(codebook), codebook.shape[1], seed=0, **kwargs)
    q.codebook.assign(codebook)
    q.ema_code_sum.assign(codebook)
    return q


CODEBOOK = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]


def _tiny_vqvae(**kwargs) -> vq.VQVAE:
    keras.utils.set_random_seed(0)
    return vq.conv_vqvae((8, 8, 1), num_codes=8, code_dim=3, filters=(4, 6), seed=0, **kwargs)


@pytest.fixture(scope="module")
def images():
    """96 noisy copies of 8 images whose 4x4 quadrants are dark or bright (one quadrant per code)."""
    rng = np.random.default_rng(0)
    base = np.kron(rng.choice([0.1, 0.9], (8, 2, 2)), np.ones((4, 4)))[..., None]
    return np.clip(base[rng.integers(0, 8, 96)] + 0.05 * rng.standard_normal((96, 8, 8, 1)), 0, 1).astype(np.float32)


def test_quantizer_picks_the_nearest_code_and_computes_both_losses():
    q = _quantizer(CODEBOOK, beta=0.5)
    z = np.array([[[[0.1, 0.2], [0.9, -0.1], [0.2, 0.8], [4.0, 4.0], [10.0, 10.0], [0.45, 0.0]]]], np.float32)
    out = q(z)
    np.testing.assert_array_equal(_np(out["codes"]), [[[0, 1, 2, 3, 3, 0]]])  # (1, 1, 6): grid kept
    expected_q = np.asarray(CODEBOOK, np.float32)[[0, 1, 2, 3, 3, 0]]
    np.testing.assert_allclose(_np(out["quantized"])[0, 0], expected_q, atol=1e-6)
    mse = float(((z[0, 0] - expected_q) ** 2).mean())
    assert float(_np(out["commitment_loss"])) == pytest.approx(mse, rel=1e-5)
    assert float(_np(out["codebook_loss"])) == pytest.approx(mse, rel=1e-5)  # same value, other gradient
    assert float(_np(out["vq_loss"])) == pytest.approx(1.5 * mse, rel=1e-5)
    np.testing.assert_allclose(_np(q.lookup(np.array([3, 1]))), [[5, 5], [1, 0]])


def test_perplexity_and_usage_known_cases():
    p, u = vq.perplexity_and_usage(np.array([0, 0, 1, 1]), 4)
    assert float(_np(p)) == pytest.approx(2.0) and float(_np(u)) == pytest.approx(0.5)
    p, u = vq.perplexity_and_usage(np.array([[3, 3], [3, 3]]), 4)
    assert float(_np(p)) == pytest.approx(1.0) and float(_np(u)) == pytest.approx(0.25)
    p, u = vq.perplexity_and_usage(np.arange(8), 8)
    assert float(_np(p)) == pytest.approx(8.0, rel=1e-5) and float(_np(u)) == pytest.approx(1.0)
    stats = vq.code_statistics(np.array([[0, 0], [1, 1]]), 4)  # the NumPy twin agrees
    assert stats["usage"] == 0.5 and stats["perplexity"] == pytest.approx(2.0)
    np.testing.assert_array_equal(stats["counts"], [2, 2, 0, 0])
    with pytest.raises(ValueError, match=r"integer codes in 0..3"):
        vq.code_statistics(np.array([0, 4]), 4)


def test_gradients_pass_straight_through_to_the_encoder():
    import tensorflow as tf

    q = _quantizer(CODEBOOK)
    z = tf.Variable(np.array([[0.1, 0.2], [0.9, -0.1], [4.0, 4.0]], np.float32))
    w = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]], np.float32)
    with tf.GradientTape(persistent=True) as tape:
        out = q(z)
        downstream = tf.reduce_sum(out["quantized"] * w)  # stands in for the decoder's loss
        codebook_loss = out["codebook_loss"]
    np.testing.assert_allclose(tape.gradient(downstream, z).numpy(), w)  # identity Jacobian
    assert tape.gradient(downstream, q.codebook) is None  # the argmin: no path to the codes
    g_code = tape.gradient(codebook_loss, q.codebook)
    g_code = g_code.numpy() if not isinstance(g_code, tf.IndexedSlices) else tf.convert_to_tensor(g_code).numpy()
    assert np.abs(g_code[[0, 1, 3]]).sum() > 0 and np.abs(g_code[2]).sum() == 0  # unused code 2: none
    assert tape.gradient(codebook_loss, z) is None  # encoder side frozen in the codebook loss
    del tape


def test_vqvae_gradients_reach_encoder_weights_from_the_reconstruction(images):
    import tensorflow as tf

    model = _tiny_vqvae()
    x = images[:16]
    with tf.GradientTape() as tape:
        out = model(x, training=True)
        mse = tf.reduce_mean((x - out["reconstruction"]) ** 2)
    grads = tape.gradient(mse, model.encoder.trainable_variables)
    assert all(g is not None for g in grads)
    assert all(float(np.abs(g.numpy()).sum()) > 0 for g in grads)


def test_ema_moves_codes_toward_their_assigned_vectors():
    q = _quantizer([[0.0, 0.0], [10.0, 10.0]], ema=True, decay=0.5)
    assert q.codebook.trainable is False
    target = np.array([1.0, 2.0], np.float32)
    z = target + 0.01 * np.random.default_rng(0).standard_normal((32, 2)).astype(np.float32)
    assert float(_np(q(z)["codebook_loss"])) == 0.0  # EMA replaces the codebook loss
    centre = z.mean(0)  # where code 0 should end: the mean of the vectors assigned to it
    dist = [np.linalg.norm(_np(q.codebook)[0] - centre)]
    for _ in range(8):
        q.ema_update(z, q.nearest(z))
        dist.append(np.linalg.norm(_np(q.codebook)[0] - centre))
    # first step by hand: size 0.5 * 1 + 0.5 * 32, sum 0.5 * 0 + 0.5 * sum(z)
    assert dist[1] == pytest.approx(np.linalg.norm(0.5 * z.sum(0) / 16.5 - centre), rel=1e-3)
    assert all(b < a for a, b in zip(dist, dist[1:], strict=False))
    assert dist[-1] < 0.01 * dist[0]
    np.testing.assert_allclose(_np(q.codebook)[1], [10.0, 10.0], rtol=0.02)  # unused: stays put
    with pytest.raises(ValueError, match="ema=False"):
        _quantizer(CODEBOOK).ema_update(z, np.zeros(32, np.int32))


def test_a_dead_code_is_restarted_on_an_encoder_vector():
    q = _quantizer([[0.0, 0.0], [100.0, 100.0], [1.0, 1.0]])
    z = np.random.default_rng(1).uniform(-0.5, 1.5, (40, 2)).astype(np.float32)
    q.count(q.nearest(z))
    counts = _np(q.usage_counts)
    assert counts[1] == 0 and counts.sum() == 40
    assert float(_np(q.restart_dead_codes(z, due=False))) == 0  # not due: nothing changes
    np.testing.assert_allclose(_np(q.codebook)[1], [100.0, 100.0])
    assert float(_np(q.restart_dead_codes(z, min_count=1))) == 1
    book = _np(q.codebook)
    assert np.isclose(z, book[1]).all(axis=1).any()  # now one of the encoder's vectors
    np.testing.assert_allclose(book[[0, 2]], [[0, 0], [1, 1]])  # live codes untouched
    np.testing.assert_array_equal(_np(q.usage_counts), 0)  # counting starts again


def test_training_restarts_dead_codes_and_reports_metrics(images):
    model = _tiny_vqvae(restart_every=2)
    far = _np(model.quantizer.codebook).copy()
    far[:4] = 50.0  # four codes no encoder output can reach
    model.quantizer.codebook.assign(far)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    hist = model.fit(images, batch_size=32, epochs=2, verbose=0, validation_data=(images[:32],)).history
    for key in ("loss", "reconstruction", "codebook", "commitment", "perplexity", "usage", "restarted",
                "val_reconstruction", "val_perplexity"):
        assert key in hist, sorted(hist)
    assert hist["restarted"][0] > 0
    assert (_np(model.quantizer.codebook)[:4] < 50.0).all()
    np.testing.assert_allclose(
        hist["loss"][-1], hist["reconstruction"][-1] + hist["codebook"][-1] + 0.25 * hist["commitment"][-1], rtol=0.05
    )


def test_fit_learns_with_ema_codebook_and_kmeans_start(images):
    model = _tiny_vqvae(ema=True, restart_every=2)
    model.quantizer.kmeans_init(model.encoder(images), seed=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = model.evaluate(images, batch_size=48, verbose=0, return_dict=True)["reconstruction"]
    book = _np(model.quantizer.codebook).copy()
    model.fit(images, batch_size=32, epochs=8, verbose=0)
    after = model.evaluate(images, batch_size=48, verbose=0, return_dict=True)["reconstruction"]
    assert after < 0.7 * before
    assert not np.allclose(_np(model.quantizer.codebook), book)  # the EMA moved the codes


def test_kmeans_init_finds_cluster_centres():
    rng = np.random.default_rng(0)
    centres = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]], np.float32)
    z = (centres[rng.integers(0, 3, 300)] + 0.1 * rng.standard_normal((300, 2))).astype(np.float32)
    q = vq.VectorQuantizer(3, 2)
    q.kmeans_init(z, iterations=10, seed=0)
    book = _np(q.codebook)
    nearest = np.linalg.norm(centres[:, None] - book[None], axis=-1).min(1)
    assert nearest.max() < 0.05  # one code on every cluster centre


def test_save_and_load_round_trip(tmp_path, images):
    model = _tiny_vqvae(ema=True, decay=0.9, beta=0.5, restart_every=3, restart_min_count=2.0)
    model.compile(optimizer="adam")
    model.fit(images, batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "vqvae.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, vq.VQVAE) and isinstance(loaded.quantizer, vq.VectorQuantizer)
    assert loaded.quantizer.get_config() == model.quantizer.get_config()
    assert (loaded.restart_every, loaded.restart_min_count) == (3, 2.0)
    for name in ("codebook", "ema_cluster_size", "ema_code_sum", "usage_counts"):
        np.testing.assert_allclose(_np(getattr(loaded.quantizer, name)), _np(getattr(model.quantizer, name)))
    codes = model.encode(images[:10], batch_size=4)
    assert codes.shape == (10, 2, 2) and codes.dtype == np.int32
    np.testing.assert_array_equal(loaded.encode(images[:10]), codes)
    np.testing.assert_allclose(loaded.reconstruct(images[:10]), model.reconstruct(images[:10]), atol=1e-6)
    rec = model.decode(codes)
    assert rec.shape == (10, 8, 8, 1) and rec.min() >= 0 and rec.max() <= 1


def test_bad_input_gets_a_clear_message(images):
    for bad in (1, 0, True, 2.5):
        with pytest.raises(ValueError, match="integer >= 2"):
            vq.VectorQuantizer(bad, 4)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        vq.VectorQuantizer(4, 2, ema=True, decay=1.0)
    with pytest.raises(ValueError, match="beta"):
        vq.VectorQuantizer(4, 2, beta=-1)
    model = _tiny_vqvae()
    with pytest.raises(ValueError, match=r"shape \(N, 2, 2\)"):
        model.decode(np.zeros((3, 7, 7), np.int32))
    with pytest.raises(ValueError, match=r"shape \(N, 2, 2\)"):
        model.decode(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"codes must be in 0..7"):
        model.decode(np.full((1, 2, 2), 8))
    with pytest.raises(ValueError, match="expected a batch of shape"):
        model.encode(images[:2, :, :, 0])
    enc = vq.conv_vq_encoder((8, 8, 1), 5, (4, 6))
    with pytest.raises(ValueError, match="code_dim = 3"):
        vq.VQVAE(enc, model.decoder, vq.VectorQuantizer(8, 3))
    with pytest.raises(ValueError, match="restart_every"):
        vq.VQVAE(model.encoder, model.decoder, vq.VectorQuantizer(8, 3), restart_every=-1)


def test_usage_tracker_measures_held_out_codes_at_the_start_and_every_n_steps(images):
    model = _tiny_vqvae()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    tracker = vq.CodebookUsageTracker(images[:16], every=2)
    model.fit(images, batch_size=16, epochs=1, verbose=0, callbacks=[tracker])  # 6 steps
    assert [step for step, _, _ in tracker.history] == [0, 2, 4, 6]
    for _, usage, perplexity in tracker.history:
        assert 0 < usage <= 1 and 1 <= perplexity <= 8
    stats = vq.code_statistics(model.encode(images[:16]), 8)
    assert tracker.history[-1][1:] == pytest.approx((stats["usage"], stats["perplexity"]))


def test_usage_tracker_rejects_bad_input(images):
    with pytest.raises(ValueError, match="empty"):
        vq.CodebookUsageTracker(images[:0])
    with pytest.raises(ValueError, match="every"):
        vq.CodebookUsageTracker(images, every=0)
    plain = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    plain.compile(optimizer="adam", loss="mse")
    with pytest.raises(TypeError, match="needs a VQVAE"):
        plain.fit(images, np.zeros(len(images)), epochs=1, verbose=0, callbacks=[vq.CodebookUsageTracker(images)])
