"""Few-label study: stratified seeded label subsets, the same optimiser steps for every method,
pretrained features that help, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import fewlabel


def _data(n_per_class=60, seed=0):
    """Three classes of 4x4 'images': each class lights one of three pixels, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per_class)
    x = 0.3 * rng.standard_normal((len(y), 4, 4, 1)).astype(np.float32)
    x[np.arange(len(y)), 0, y, 0] += 1.0
    order = rng.permutation(len(y))
    return x[order], y[order]


def test_label_subset_is_stratified_seeded_and_sorted():
    y = np.repeat(np.arange(10), 50)
    idx = fewlabel.label_subset(y, 100, seed=0)
    assert len(idx) == 100 and len(set(idx)) == 100
    np.testing.assert_array_equal(np.bincount(y[idx]), np.full(10, 10))
    np.testing.assert_array_equal(idx, np.sort(idx))
    np.testing.assert_array_equal(fewlabel.label_subset(y, 100, seed=0), idx)
    other = fewlabel.label_subset(y, 100, seed=1)
    assert not np.array_equal(other, idx)
    np.testing.assert_array_equal(np.bincount(y[other]), np.full(10, 10))


def test_label_subset_errors_are_explained():
    y = np.repeat(np.arange(10), 50)
    with pytest.raises(ValueError, match="n_labels 105 is not divisible by the 10 classes"):
        fewlabel.label_subset(y, 105)
    with pytest.raises(ValueError, match="class 3 has only 5 examples"):
        fewlabel.label_subset(np.concatenate([y[y != 3], np.full(5, 3)]), 100)
    with pytest.raises(ValueError, match="need 51 per class"):
        fewlabel.label_subset(y, 510)
    with pytest.raises(ValueError, match="integer class indices"):
        fewlabel.label_subset(y.astype(float), 100)


def test_train_steps_takes_exactly_the_requested_optimizer_steps():
    x, y = _data()
    for n, batch in ((30, 64), (180, 16)):  # batch larger than the set, and several passes
        model = fewlabel.classifier(keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()]), 3)
        fewlabel.train_steps(model, x[:n], y[:n], steps=25, batch_size=batch, learning_rate=1e-2)
        assert int(model.optimizer.iterations.numpy()) == 25


def _builder(pretrained: bool) -> keras.Model:
    """A fixed 'pretrained' feature map that reads the three informative pixels, or a random one."""
    inputs = keras.Input((4, 4, 1))
    h = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(3, use_bias=False, name="features")
    out = dense(h)
    model = keras.Model(inputs, out)
    if pretrained:
        w = np.zeros((16, 3), np.float32)
        w[[0, 1, 2], [0, 1, 2]] = 1.0
        dense.set_weights([w])
    return model


def test_study_reports_every_method_and_pretrained_features_help():
    x, y = _data(80)
    xt, yt = _data(100, seed=1)
    res = fewlabel.few_label_study(_builder, x, y, xt, yt, n_labels=(3, 30), seeds=(0, 1, 2), steps=40,
                                   batch_size=16, num_classes=3,
                                   learning_rates={"scratch": 3e-2, "probe": 3e-2, "finetune": 3e-2})
    assert res["settings"]["steps"] == 40 and res["settings"]["seeds"] == [0, 1, 2]
    for m in fewlabel.METHODS:
        for n in (3, 30):
            r = res[m][n]
            assert len(r["accuracies"]) == 3 and 0 <= r["mean"] <= 1
            assert r["std"] == pytest.approx(np.std(r["accuracies"]))
    # with one label per class, the pretrained features beat random ones clearly
    assert res["probe"][3]["mean"] > res["scratch"][3]["mean"] + 0.1
    assert res["finetune"][3]["mean"] > res["scratch"][3]["mean"] + 0.1
    # seeded, and a run on the re-used compiled model (seed 1 above) equals a fresh one
    again = fewlabel.few_label_study(_builder, x, y, xt, yt, n_labels=(3,), methods=("finetune", "probe"),
                                     seeds=(1,), steps=40, batch_size=16, num_classes=3,
                                     learning_rates={"finetune": 3e-2, "probe": 3e-2})
    for m in ("finetune", "probe"):
        assert again[m][3]["accuracies"][0] == res[m][3]["accuracies"][1]


def test_study_errors_are_explained():
    x, y = _data()
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['distill'\]"):
        fewlabel.few_label_study(_builder, x, y, x, y, methods=("probe", "distill"))
    with pytest.raises(ValueError, match="n_labels 10 is not divisible by the 3 classes"):
        fewlabel.few_label_study(_builder, x, y, x, y, n_labels=(10,), num_classes=3)
    with pytest.raises(ValueError, match="class 0 has only 60 examples"):
        fewlabel.few_label_study(_builder, x, y, x, y, n_labels=(300,), num_classes=3)
    with pytest.raises(ValueError, match="learning_rates has unknown method"):
        fewlabel.few_label_study(_builder, x, y, x, y, learning_rates={"linear": 0.1})
    with pytest.raises(ValueError, match="at least one seed"):
        fewlabel.few_label_study(_builder, x, y, x, y, seeds=())


def test_classifier_keeps_batch_norm_in_inference_mode():
    """Fine-tuning trains batch norm's scale and shift but leaves its stored statistics alone."""
    x, y = _data()
    inputs = keras.Input((4, 4, 1))
    h = keras.layers.BatchNormalization(name="bn")(keras.layers.Flatten()(inputs))
    features = keras.Model(inputs, h)
    model = fewlabel.classifier(features, 3)
    fewlabel.train_steps(model, x, y + 0, steps=5, batch_size=16, learning_rate=1e-2)
    gamma, beta, mean, var = features.get_layer("bn").get_weights()
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(var, 1.0)
    assert np.abs(gamma - 1).max() > 0 and np.abs(beta).max() > 0  # trained
    frozen = fewlabel.classifier(features, 3, trainable=False)
    assert len(frozen.trainable_weights) == 2  # the linear layer only
