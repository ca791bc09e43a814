"""course_lib.anomaly and course_lib.ood: AUROC and ROC, the protocol, scores, OOD sets."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import anomaly, ood


def _pairs_auroc(s, y):
    """Brute force: the fraction of (anomaly, normal) pairs won by the anomaly, ties one half."""
    s, y = np.asarray(s, float), np.asarray(y).astype(bool)
    a, n = s[y][:, None], s[~y][None, :]
    return float(np.mean((a > n) + 0.5 * (a == n)))


# ------------------------------------------------------------------ AUROC and ROC


def test_auroc_hand_computed_cases():
    assert anomaly.auroc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert anomaly.auroc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    # pairs (anomaly 0.5 vs normal 0.1, 0.6): won 1 of 2; anomaly 0.7: won 2 of 2 -> 3/4
    assert anomaly.auroc([0.1, 0.6, 0.5, 0.7], [0, 0, 1, 1]) == pytest.approx(0.75)


def test_auroc_ties_count_one_half():
    assert anomaly.auroc(np.ones(4), [0, 1, 0, 1]) == 0.5
    # anomaly 2 ties normal 2 (1/2) and beats normal 1 (1); anomaly 3 wins both -> 3.5 / 4
    assert anomaly.auroc([1.0, 2.0, 2.0, 3.0], [0, 0, 1, 1]) == pytest.approx(0.875)


def test_auroc_equals_pair_count_and_trapezoid_area_of_the_roc_curve():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=300), 1)  # many ties
    y = (rng.random(300) < 0.3).astype(int)
    s = s + 0.5 * y
    value = anomaly.auroc(s, y)
    assert value == pytest.approx(_pairs_auroc(s, y), abs=1e-12)
    fpr, tpr, thresholds = anomaly.roc_curve(s, y)
    assert value == pytest.approx(float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2)), abs=1e-12)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.isinf(thresholds[0]) and np.all(np.diff(thresholds[1:]) < 0)
    assert len(thresholds) == len(np.unique(s)) + 1


def test_auroc_accepts_boolean_labels_and_is_invariant_to_monotone_transforms():
    rng = np.random.default_rng(1)
    s, y = rng.normal(size=50), rng.random(50) < 0.5
    assert anomaly.auroc(s, y) == pytest.approx(anomaly.auroc(np.exp(3 * s), y.astype(int)))


@pytest.mark.parametrize(("scores", "labels", "message"), [
    ([0.1, np.nan, 0.3], [0, 1, 1], "NaN or infinite"),
    ([0.1, 0.2, 0.3], [1, 1, 1], "only anomalies"),
    ([0.1, 0.2, 0.3], [0, 0, 0], "only normal images"),
    ([0.1, 0.2], [0, 1, 1], "2 scores but 3 labels"),
    ([0.1, 0.2, 0.3], [0, 2, 1], "0 \\(normal\\) or 1"),
    (np.ones((2, 2)), [0, 1], "1-D"),
])
def test_auroc_bad_input_gets_a_clear_message(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        anomaly.auroc(scores, labels)
    with pytest.raises(ValueError, match=message):
        anomaly.roc_curve(scores, labels)


# ------------------------------------------------------------------ thresholds and scores


def test_threshold_at_false_alarm_rate_lets_at_most_that_fraction_above():
    s = np.arange(1.0, 11.0)
    assert anomaly.threshold_at_false_alarm_rate(s, 0.2) == 8.0  # 9 and 10 lie above
    assert anomaly.threshold_at_false_alarm_rate(s, 0.0) == 10.0
    rng = np.random.default_rng(2)
    normal = rng.normal(size=1001)
    t = anomaly.threshold_at_false_alarm_rate(normal, 0.05)
    assert np.sum(normal > t) == 50
    # rates whose product with n falls just short of an integer in floating point still allow it
    for rate, n in ((0.29, 100), (0.57, 600), (0.58, 100)):
        assert rate * n < round(rate * n)  # the case this guards against
        scores = rng.permutation(np.arange(float(n)))
        t = anomaly.threshold_at_false_alarm_rate(scores, rate)
        assert np.sum(scores > t) == round(rate * n)
    with pytest.raises(ValueError, match="rate must be in"):
        anomaly.threshold_at_false_alarm_rate(s, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        anomaly.threshold_at_false_alarm_rate([1.0, np.nan], 0.1)


def test_precision_recall_counts():
    out = anomaly.precision_recall([0.1, 0.6, 0.4, 0.9, 0.8], [0, 0, 1, 1, 1], threshold=0.5)
    assert out == {"precision": 2 / 3, "recall": 2 / 3, "false_alarm_rate": 0.5, "flagged": 3}


def test_standardize_and_combine_use_the_reference_scale():
    ref = np.array([1.0, 3.0])
    assert np.allclose(anomaly.standardize([2.0, 4.0], ref), [0.0, 2.0])
    both = anomaly.combine({"a": np.array([2.0]), "b": np.array([10.0])},
                           {"a": ref, "b": np.array([0.0, 10.0])}, ["a", "b"])
    assert np.allclose(both, [0.0 + 1.0])
    with pytest.raises(ValueError, match="zero"):
        anomaly.standardize([1.0], [2.0, 2.0])
    with pytest.raises(KeyError, match="no scores for"):
        anomaly.combine({"a": ref}, {"a": ref}, ["a", "c"])


def test_gaussian_density_is_the_squared_mahalanobis_distance():
    rng = np.random.default_rng(3)
    cov = np.array([[4.0, 1.0], [1.0, 1.0]])
    codes = rng.multivariate_normal([1.0, -1.0], cov, size=20000)
    density = anomaly.GaussianDensity.fit(codes)
    test = np.array([[1.0, -1.0], [3.0, -1.0], [1.0, 1.0]])
    want = np.einsum("ij,jk,ik->i", test - [1.0, -1.0], np.linalg.inv(cov), test - [1.0, -1.0])
    assert np.allclose(density.score(test), want, rtol=0.05, atol=0.01)
    assert density.score(test)[0] < 1e-3
    with pytest.raises(ValueError, match="more rows than dimensions"):
        anomaly.GaussianDensity.fit(codes[:2])
    with pytest.raises(ValueError, match="shape \\(N, 2\\)"):
        density.score(np.zeros((3, 3)))


def test_knn_density_is_the_mean_distance_to_the_nearest_codes():
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    density = anomaly.KNNDensity.fit(train, k=2)
    assert np.allclose(density.score(np.array([[0.0, 0.0], [5.0, 6.0]]), chunk=1),
                       [0.5, (1.0 + np.hypot(5.0, 4.0)) / 2])
    with pytest.raises(ValueError, match="more than k"):
        anomaly.KNNDensity.fit(train, k=4)


def test_knn_density_of_the_training_codes_leaves_each_code_out():
    train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    one = anomaly.KNNDensity.fit(train, k=1)
    assert np.allclose(one.score_training(chunk=3), [1.0, 1.0, 2.0, np.hypot(5.0, 3.0)])
    assert np.allclose(one.score(train), 0.0)  # score() counts each code as its own neighbour
    two = anomaly.KNNDensity.fit(train, k=2)
    assert np.allclose(two.score_training(chunk=1)[0], 1.5)
    duplicated = anomaly.KNNDensity.fit(np.array([[0.0], [0.0], [3.0]]), k=1)
    assert np.allclose(duplicated.score_training(), [0.0, 0.0, 3.0])  # a twin is a neighbour at 0


def test_binary_entropy():
    x = np.zeros((3, 2, 2))
    x[1] = 0.5
    x[2, 0, 0] = 1.0
    assert np.allclose(anomaly.binary_entropy(x), [0.0, 4 * np.log(2), 0.0])


def test_vae_scores_match_their_definitions():
    import keras

    from course_lib import vae

    encoder = vae.gaussian_mlp_encoder((28, 28), 4, (16,))
    decoder = vae.logit_mlp_decoder(4, (28, 28), (16,))
    model = vae.VAE(encoder, decoder, seed=0)
    rng = np.random.default_rng(4)
    x = rng.random((5, 28, 28)).astype("float32")
    out = anomaly.vae_scores(model, x, batch_size=2)
    mean, log_var = (keras.ops.convert_to_numpy(t) for t in encoder(x))
    p = keras.ops.convert_to_numpy(keras.ops.sigmoid(decoder(mean))).reshape(5, -1).astype(float)
    xf = x.reshape(5, -1).astype(float)
    ce = -(xf * np.log(p) + (1 - xf) * np.log(1 - p)).sum(1)
    kl = 0.5 * (np.exp(log_var) + mean**2 - 1 - log_var).sum(1)
    assert np.allclose(out["neg_elbo"], ce + kl, rtol=1e-5)
    assert np.allclose(out["neg_elbo_minus_entropy"], ce + kl - anomaly.binary_entropy(x), rtol=1e-5)
    assert np.allclose(out["mse"], ((p - xf) ** 2).mean(1), rtol=1e-5)
    assert np.allclose(out["codes"], mean, rtol=1e-5)
    # a binary image has zero entropy: both scores coincide
    xb = (x > 0.5).astype("float32")
    outb = anomaly.vae_scores(model, xb)
    assert np.allclose(outb["neg_elbo"], outb["neg_elbo_minus_entropy"])
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        anomaly.vae_scores(model, x * 2)


# ------------------------------------------------------------------ the protocol


def _toy_data():
    rng = np.random.default_rng(5)
    y_train = np.repeat(np.arange(3), 40)
    x_train = rng.normal(size=(120, 2)) + y_train[:, None] * 3.0
    y_test = np.repeat(np.arange(3), 20)
    x_test = rng.normal(size=(60, 2)) + y_test[:, None] * 3.0
    return x_train, y_train, x_test, y_test


def test_one_class_split_keeps_only_the_normal_class_for_training():
    x_train, y_train, x_test, y_test = _toy_data()
    data = anomaly.one_class_split(x_train, y_train, x_test, y_test, 1, held_out=10, seed=0)
    assert len(data.x_train) == 30 and len(data.x_held_out) == 10
    normal = x_train[y_train == 1]
    assert all(any(np.array_equal(r, n) for n in normal) for r in np.r_[data.x_train, data.x_held_out])
    assert np.array_equal(data.is_anomaly, (y_test != 1).astype(int))
    again = anomaly.one_class_split(x_train, y_train, x_test, y_test, 1, held_out=10, seed=0)
    assert np.array_equal(data.x_held_out, again.x_held_out)


@pytest.mark.parametrize(("cls", "held", "message"), [
    (7, 10, "not a class"),
    (True, 10, "not a class"),
    (1, 0, "held_out must be between 1 and 39"),
    (1, 40, "held_out must be between"),
])
def test_one_class_split_bad_input(cls, held, message):
    x_train, y_train, x_test, y_test = _toy_data()
    with pytest.raises(ValueError, match=message):
        anomaly.one_class_split(x_train, y_train, x_test, y_test, cls, held_out=held)


def test_run_one_class_with_a_distance_detector():
    x_train, y_train, x_test, y_test = _toy_data()
    seen = []

    def distance(data, seed):
        seen.append((data.normal_class, seed, len(data.x_train)))
        centre = data.x_train.mean(axis=0)
        score = lambda x: np.linalg.norm(x - centre, axis=1)  # noqa: E731
        return {"distance": (score(data.x_test), score(data.x_held_out)),
                "negated": (-score(data.x_test), -score(data.x_held_out))}

    results = anomaly.run_one_class(distance, x_train, y_train, x_test, y_test, held_out=10, seed=100,
                                    verbose=False)
    assert seen == [(0, 100, 30), (1, 101, 30), (2, 102, 30)]
    means = results.mean_auroc()
    assert means["distance"] > 0.9
    assert means["distance"] + means["negated"] == pytest.approx(1.0)
    assert set(results.held_out_scores["distance"]) == {0, 1, 2}
    assert "mean" in results.table(["a", "b", "c"])
    with pytest.raises(ValueError, match="not classes"):
        anomaly.run_one_class(distance, x_train, y_train, x_test, y_test, classes=[5], verbose=False)


# ------------------------------------------------------------------ OOD sets and complexity


def test_ood_sets_shapes_ranges_and_complexity_order():
    rng = np.random.default_rng(6)
    clothes = rng.random((12, 28, 28)).astype("float32")
    sets = ood.ood_sets(12, clothes=clothes, seed=0)
    assert list(sets) == list(ood.OOD_SETS)
    for name, images in sets.items():
        assert images.shape == (12, 28, 28), name
        assert images.dtype == np.float32 and images.min() >= 0 and images.max() <= 1, name
    assert np.allclose(sets["inverted"], 1 - clothes)
    assert np.all(np.ptp(sets["constant"], axis=(1, 2)) == 0)
    glyph_ink = sets["glyphs"].mean(axis=(1, 2))
    assert np.all(glyph_ink > 0.02) and np.all(glyph_ink < 0.5)  # white strokes on black
    bits = {name: ood.compressed_bits(images).mean() for name, images in sets.items()}
    assert bits["constant"] < bits["glyphs"] < bits["noise"]
    assert "inverted" not in ood.ood_sets(3)


def test_ood_bad_input():
    with pytest.raises(ValueError, match="positive integer"):
        ood.ood_sets(0)
    with pytest.raises(ValueError, match="at least 5 images"):
        ood.ood_sets(5, clothes=np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        ood.compressed_bits(np.full((1, 28, 28), 2.0))
