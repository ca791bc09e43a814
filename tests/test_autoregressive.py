"""Masked convolutions and the PixelCNN prior: causal masks (by perturbation), class
conditioning, likelihood in bits, the seeded sampler and its temperature, saving, clear errors."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from course_lib import autoregressive as ar

GRID = (4, 4)
K = 6


def _np(t):
    return np.asarray(t.numpy() if isinstance(t, keras.Variable) else keras.ops.convert_to_numpy(t))


def _prior(num_classes: int = 3, **kwargs) -> ar.PixelCNNPrior:
    keras.utils.set_random_seed(0)
    kwargs = {"filters": 8, "n_blocks": 2, "first_kernel": 5, **kwargs}
    prior = ar.PixelCNNPrior(K, GRID, num_classes, **kwargs)
    if num_classes:  # the class biases start at zero; give them values so the class matters
        prior.class_bias.embeddings.assign(
            np.random.default_rng(1).normal(0, 0.5, prior.class_bias.embeddings.shape).astype(np.float32)
        )
    return prior


def _codes(n: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, K, (n, *GRID)).astype(np.int32)


def test_causal_masks_known_values():
    np.testing.assert_array_equal(ar.causal_mask(3, "A"), [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(ar.causal_mask(3, "B"), [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    assert ar.causal_mask(5, "A").sum() == 12  # two full rows + two to the left


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_output_never_depends_on_later_positions(mask_type):
    layer = ar.MaskedConv2D(3, 3, mask_type)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 5, 5, 2)).astype(np.float32)
    base = _np(layer(x))[0]
    for j in range(25):
        r, c = divmod(j, 5)
        x2 = x.copy()
        x2[0, r, c] += 10.0
        changed = np.abs(_np(layer(x2))[0] - base).max(-1) > 1e-5  # (5, 5): which outputs moved
        order = np.arange(25).reshape(5, 5)
        assert not changed[order < j].any(), (mask_type, j)  # earlier outputs never see position j
        assert changed[r, c] == (mask_type == "B")  # A hides a position from itself, B shows it


def test_prior_logits_depend_only_on_earlier_codes():
    prior = _prior()
    codes, labels = _codes(1), np.array([2])
    base = _np(prior((codes, labels)))[0]
    order = np.arange(16).reshape(GRID)
    for j in range(16):
        r, c = divmod(j, GRID[1])
        moved = codes.copy()
        moved[0, r, c] = (moved[0, r, c] + 1) % K
        changed = np.abs(_np(prior((moved, labels)))[0] - base).max(-1) > 1e-5
        assert not changed[order <= j].any(), j  # the logits at and before j ignore code j
        if j < 15:
            assert changed[order > j].any(), j  # and some later position does use it


def test_rows_below_never_matter_so_the_sampler_may_crop_them():
    prior = _prior()
    codes, labels = _codes(3), np.array([0, 1, 2])
    full = prior.logits(codes, labels)
    for rows in (1, 2, 3):
        np.testing.assert_allclose(prior._logits(codes[:, :rows], labels, 1024), full[:, :rows], atol=1e-5)


def test_class_changes_the_logits_everywhere():
    prior = _prior()
    codes = _codes(1)
    a, b = (_np(prior((codes, np.array([y]))))[0] for y in (0, 1))
    assert (np.abs(a - b).max(-1) > 1e-4).all()  # including the first position (no codes before it)


def test_nll_in_bits_matches_the_logits_and_learning_lowers_it():
    prior = _prior()
    codes, labels = _codes(64), np.repeat(np.arange(3), 22)[:64]
    logits = prior.logits(codes, labels)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    by_hand = -np.take_along_axis(log_p, codes[..., None], -1)[..., 0].sum((1, 2)) / math.log(2)
    np.testing.assert_allclose(prior.log_prob_bits(codes, labels), by_hand, rtol=1e-5)
    assert prior.nll_bits_per_code(codes, labels) == pytest.approx(by_hand.mean() / 16, rel=1e-5)
    # a grid that is a deterministic function of the class is learnable far below log2 K
    patterns = _codes(3, seed=5)
    train = patterns[labels]
    start = prior.nll_bits_per_code(train, labels)
    hist = ar.fit_prior(prior, train, labels, epochs=30, batch_size=32, lr=1e-2, verbose=0)
    assert "bits_per_code" in hist.history
    assert start > 0.8 * math.log2(K)
    assert prior.nll_bits_per_code(train, labels) < 0.3 * start


def test_sampling_is_reproducible_and_follows_the_model():
    prior = _prior()
    a = prior.sample(6, 1, temperature=1.0, seed=3)
    assert a.shape == (6, *GRID) and a.dtype == np.int32 and a.min() >= 0 and a.max() < K
    np.testing.assert_array_equal(prior.sample(6, 1, temperature=1.0, seed=3), a)
    assert not np.array_equal(prior.sample(6, 1, temperature=1.0, seed=4), a)
    # near-zero temperature: every seed takes the likeliest code at every step
    np.testing.assert_array_equal(
        prior.sample(3, 2, temperature=1e-4, seed=0), prior.sample(3, 2, temperature=1e-4, seed=9)
    )


def test_first_code_frequencies_match_softmax_at_temperature():
    prior = ar.PixelCNNPrior(K, (1, 2), 2, filters=8, n_blocks=1, first_kernel=3)
    first = prior.logits(np.zeros((1, 1, 2), np.int32), np.array([1]))[0, 0, 0]  # sees no codes
    for t in (0.5, 2.0):
        p = np.exp(first / t) / np.exp(first / t).sum()
        freq = np.bincount(prior.sample(4000, 1, temperature=t, seed=0)[:, 0, 0], minlength=K) / 4000
        np.testing.assert_allclose(freq, p, atol=0.03)


def test_save_and_load_round_trip(tmp_path):
    prior = _prior()
    codes, labels = _codes(32), np.arange(32) % 3
    ar.fit_prior(prior, codes, labels, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "prior.keras"
    prior.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ar.PixelCNNPrior)
    assert (loaded.num_codes, loaded.grid_shape, loaded.num_classes, loaded.n_blocks) == (K, GRID, 3, 2)
    np.testing.assert_allclose(loaded.logits(codes, labels), prior.logits(codes, labels), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.sample(4, 0, seed=1), prior.sample(4, 0, seed=1))


def test_unconditional_prior_takes_no_labels():
    prior = _prior(num_classes=0)
    codes = _codes(4)
    assert prior.logits(codes).shape == (4, *GRID, K)
    assert prior.sample(2, seed=0).shape == (2, *GRID)
    with pytest.raises(ValueError, match="unconditional"):
        prior.sample(2, labels=1)


def test_bad_input_gets_a_clear_message():
    prior = _prior()
    for t in (0, -1.0, True):
        with pytest.raises(ValueError, match="temperature must be a number > 0"):
            prior.sample(2, 0, temperature=t)
    with pytest.raises(ValueError, match=r"labels must be in 0..2"):
        prior.sample(2, 3)
    with pytest.raises(ValueError, match=r"labels must be in 0..2"):
        prior.log_prob_bits(_codes(2), np.array([0, -1]))
    with pytest.raises(ValueError, match="class-conditional"):
        prior.sample(2)
    with pytest.raises(ValueError, match=r"shape \(N, 4, 4\)"):
        prior.log_prob_bits(np.zeros((2, 4, 5), np.int32), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"shape \(N, 4, 4\)"):
        prior.nll_bits_per_code(np.zeros((4, 4), np.int32), np.array([0]))
    with pytest.raises(ValueError, match=r"codes must be in 0..5"):
        prior.logits(np.full((1, 4, 4), K), np.array([0]))
    with pytest.raises(ValueError, match="integer >= 2"):
        ar.PixelCNNPrior(1, GRID, 3)
    with pytest.raises(ValueError, match="grid_shape"):
        ar.PixelCNNPrior(K, (4, 4, 1), 3)
    with pytest.raises(ValueError, match="odd"):
        ar.MaskedConv2D(4, 4)
    with pytest.raises(ValueError, match="'A'"):
        ar.causal_mask(3, "C")


def test_log_prob_bits_is_the_same_in_small_batches():
    prior, codes, labels = _prior(), _codes(7), np.arange(7) % 3
    np.testing.assert_allclose(prior.log_prob_bits(codes, labels, batch_size=3),
                               prior.log_prob_bits(codes, labels), rtol=1e-6)


def test_dependency_matrix_is_causal_and_finds_the_blind_spot():
    earlier = np.tri(16, k=-1, dtype=bool)  # earlier[i, j]: j comes before i in raster order (4 x 4 grid)
    # a first kernel of 2 * 4 - 1 = 7 sees every earlier position of a 4 x 4 grid directly
    full = ar.dependency_matrix(_prior(first_kernel=7, n_blocks=1), _codes(4), np.arange(4) % 3)
    np.testing.assert_array_equal(full, earlier)
    # a 3 x 3 first kernel and one 3 x 3 block: position (1, 0) cannot see (0, 2) or (0, 3)
    small = ar.dependency_matrix(_prior(first_kernel=3, n_blocks=1), _codes(4), np.arange(4) % 3)
    assert not (small & ~earlier).any()
    assert not small[4, 2] and not small[4, 3] and small[4, 0] and small[4, 1]


# ---------------------------------------------------------------------- the transformer prior


def _tprior(num_classes: int = 3, **kwargs) -> ar.TransformerPrior:
    keras.utils.set_random_seed(0)
    kwargs = {"dim": 16, "depth": 2, "num_heads": 2, "mlp_ratio": 2.0, **kwargs}
    return ar.TransformerPrior(K, GRID, num_classes, **kwargs)


def test_transformer_prior_sees_every_earlier_code_and_no_later_one():
    earlier = np.tri(16, k=-1, dtype=bool)  # earlier[i, j]: j comes before i in raster order
    sees = ar.dependency_matrix(_tprior(), _codes(4), np.arange(4) % 3)
    np.testing.assert_array_equal(sees, earlier)  # causal, and no blind spot
    sees = ar.dependency_matrix(_tprior(num_classes=0), _codes(4))
    np.testing.assert_array_equal(sees, earlier)


def test_transformer_prior_rows_below_never_matter_and_the_class_matters_everywhere():
    prior = _tprior()
    codes, labels = _codes(3), np.array([0, 1, 2])
    full = prior.logits(codes, labels)
    assert full.shape == (3, *GRID, K)
    for rows in (1, 2, 3):
        np.testing.assert_allclose(prior._logits(codes[:, :rows], labels, 1024), full[:, :rows], atol=1e-5)
    a, b = (prior.logits(codes[:1], np.array([y]))[0] for y in (0, 1))
    assert (np.abs(a - b).max(-1) > 1e-4).all()  # including the first position (only the start token)


def test_transformer_prior_learns_and_samples_what_it_learned():
    prior = _tprior()
    labels = np.repeat(np.arange(3), 22)[:64]
    patterns = _codes(3, seed=5)
    train = patterns[labels]  # each class always has the same grid
    start = prior.nll_bits_per_code(train, labels)
    hist = ar.fit_prior(prior, train, labels, epochs=30, batch_size=32, lr=1e-2, verbose=0)
    assert "bits_per_code" in hist.history
    assert start > 0.8 * math.log2(K)
    assert prior.nll_bits_per_code(train, labels) < 0.1 * start
    # near-zero temperature: every draw is the likeliest grid, i.e. the class's pattern
    np.testing.assert_array_equal(prior.sample(3, np.arange(3), temperature=1e-4, seed=0), patterns)


def test_transformer_prior_sampling_is_seeded():
    prior = _tprior()
    a = prior.sample(6, 1, seed=3)
    assert a.shape == (6, *GRID) and a.dtype == np.int32 and a.min() >= 0 and a.max() < K
    np.testing.assert_array_equal(prior.sample(6, 1, seed=3), a)
    assert not np.array_equal(prior.sample(6, 1, seed=4), a)


def test_transformer_prior_save_and_load_round_trip(tmp_path):
    prior = _tprior(dropout=0.1)
    codes, labels = _codes(32), np.arange(32) % 3
    ar.fit_prior(prior, codes, labels, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "tprior.keras"
    prior.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, ar.TransformerPrior)
    assert (loaded.num_codes, loaded.grid_shape, loaded.num_classes, loaded.depth, loaded.dropout) == (
        K, GRID, 3, 2, 0.1)
    # dropout is off outside training: the same logits every call, and the same as before saving
    np.testing.assert_allclose(loaded.logits(codes, labels), prior.logits(codes, labels), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(loaded.sample(4, 0, seed=1), prior.sample(4, 0, seed=1))


def test_transformer_prior_bad_input_gets_a_clear_message():
    prior = _tprior()
    with pytest.raises(ValueError, match="temperature must be a number > 0"):
        prior.sample(2, 0, temperature=0)
    with pytest.raises(ValueError, match=r"shape \(N, 4, 4\)"):
        prior.log_prob_bits(np.zeros((2, 7, 7), np.int32), np.array([0, 1]))
    with pytest.raises(ValueError, match="class-conditional"):
        prior.sample(2)
    with pytest.raises(ValueError, match="dropout"):
        ar.TransformerPrior(K, GRID, 3, dim=16, num_heads=2, dropout=1.0)
    with pytest.raises(ValueError, match="not divisible by num_heads"):
        ar.TransformerPrior(K, GRID, 3, dim=10, num_heads=4)
    with pytest.raises(ValueError, match="integer >= 2"):
        ar.TransformerPrior(1, GRID, 3, dim=16, num_heads=2)
    with pytest.raises(TypeError, match="PixelCNNPrior or a TransformerPrior"):
        ar.fit_prior(keras.Sequential([keras.layers.Dense(1)]), _codes(2), epochs=1)


def _randomised(prior: ar.TransformerPrior) -> ar.TransformerPrior:
    """Every weight random (biases and LayerNorm offsets included), so no term of the cached
    step can be wrong without the logits showing it."""
    rng = np.random.default_rng(2)
    prior.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in prior.get_weights()])
    return prior


@pytest.mark.parametrize("num_classes", [3, 0])
def test_transformer_cached_sampling_steps_equal_the_full_forward_pass(num_classes):
    prior = _randomised(_tprior(num_classes=num_classes))
    codes = _codes(5)
    labels = np.array([0, 1, 2, 0, 1]) if num_classes else None
    full = prior.logits(codes, labels)
    # teacher forcing: the grid is filled already, so each step reads the true earlier codes;
    # batch_size 2 < 5 grids exercises the batching of the cache
    step = prior._logit_stepper(codes.copy(), labels, 2)
    for r in range(GRID[0]):
        for c in range(GRID[1]):
            np.testing.assert_allclose(step(r, c), full[:, r, c], rtol=1e-4, atol=1e-4)
    with pytest.raises(RuntimeError, match="raster order"):
        prior._logit_stepper(codes.copy(), labels, 2)(0, 1)


def test_transformer_cached_sampler_draws_the_grids_of_the_uncached_one():
    prior = _randomised(_tprior())
    cached = prior.sample(40, np.arange(40) % 3, temperature=1.3, seed=7, batch_size=16)
    np.testing.assert_array_equal(prior.sample(40, np.arange(40) % 3, temperature=1.3, seed=7, cache=False), cached)
    # the PixelCNN has no cache: the option changes nothing
    pixelcnn = _prior()
    np.testing.assert_array_equal(pixelcnn.sample(6, 1, seed=3, cache=False), pixelcnn.sample(6, 1, seed=3))


# ---------------------------------------------------------------------- label dropout and guidance
def _guided(kind: str, **kwargs):
    """A prior trained with label dropout (so it has a "no class" row), every trainable weight random."""
    prior = (_tprior(label_dropout=0.1, **kwargs) if kind == "transformer"
             else _prior(label_dropout=0.1, **kwargs))
    rng = np.random.default_rng(5)
    for w in prior.trainable_weights:
        w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    return prior


@pytest.mark.parametrize("kind", ["transformer", "pixelcnn"])
def test_label_dropout_hides_the_class_in_training_only(kind):
    prior = _guided(kind)
    assert prior.label_slots == 4  # 3 classes + "no class"
    labels = np.arange(20000) % 3
    dropped = _np(prior._drop_labels(labels, training=True))
    hidden = dropped == 3
    assert abs(hidden.mean() - 0.1) < 0.01
    np.testing.assert_array_equal(dropped[~hidden], labels[~hidden])
    np.testing.assert_array_equal(_np(prior._drop_labels(labels, training=False)), labels)
    # a plain prior keeps one row per class and never drops
    assert _prior().label_slots == 3
    np.testing.assert_array_equal(_np(_prior()._drop_labels(labels, training=True)), labels)


@pytest.mark.parametrize("kind", ["transformer", "pixelcnn"])
def test_guided_first_code_follows_u_plus_s_times_l_minus_u(kind):
    prior = _guided(kind)
    zeros = np.zeros((2, *GRID), np.int32)
    # the first position sees no codes: its logits given class 1 and given "no class"
    both = prior._logits(zeros, np.array([1, 3], np.int32), 2)[:, 0, 0]
    cond, uncond = both[0], both[1]
    for s in (0.0, 2.5):
        g = uncond + s * (cond - uncond)
        p = np.exp(g - g.max()) / np.exp(g - g.max()).sum()
        freq = np.bincount(prior.sample(6000, 1, guidance=s, seed=0)[:, 0, 0], minlength=K) / 6000
        np.testing.assert_allclose(freq, p, atol=0.025)
    # guidance 1 is the conditional model itself: the same grids as without the argument
    np.testing.assert_array_equal(prior.sample(8, 2, guidance=1.0, seed=4), prior.sample(8, 2, seed=4))


def test_guided_sampling_with_and_without_the_cache_gives_the_same_grids():
    prior = _guided("transformer")
    labels = np.arange(30) % 3
    cached = prior.sample(30, labels, guidance=2.0, temperature=0.9, seed=7, batch_size=16)
    assert cached.shape == (30, *GRID) and cached.dtype == np.int32
    np.testing.assert_array_equal(prior.sample(30, labels, guidance=2.0, temperature=0.9, seed=7, cache=False),
                                  cached)
    assert not np.array_equal(prior.sample(30, labels, guidance=3.0, temperature=0.9, seed=7), cached)


def test_guidance_makes_the_requested_class_easier_to_read():
    """Trained on grids whose first code is the class 60 % of the time: guidance 2 draws it more
    often than the conditional model, guidance 0 as often as the classes' mixture does."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 600)
    codes = rng.integers(0, 4, (600, 2, 2)).astype(np.int32)
    tie = rng.random(600) < 0.6
    codes[tie, 0, 0] = labels[tie]
    keras.utils.set_random_seed(0)
    prior = ar.TransformerPrior(4, (2, 2), 3, dim=16, depth=1, num_heads=2, label_dropout=0.2)
    ar.fit_prior(prior, codes, labels, epochs=40, batch_size=100, lr=1e-2, verbose=0)
    share = {s: np.mean(prior.sample(3000, 0, guidance=s, seed=1)[:, 0, 0] == 0) for s in (0.0, 1.0, 2.0)}
    # the data: 0.6 + 0.4 / 4 = 0.70 given the class, 0.6 / 3 + 0.1 = 0.30 without it
    assert abs(share[1.0] - 0.70) < 0.08 and abs(share[0.0] - 0.30) < 0.08
    assert share[2.0] > share[1.0] + 0.1


def test_guided_prior_save_and_load_round_trip(tmp_path):
    prior = _guided("transformer")
    path = tmp_path / "guided.keras"
    prior.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.label_dropout == 0.1 and loaded.label_slots == 4
    np.testing.assert_array_equal(loaded.sample(5, 1, guidance=2.0, seed=2), prior.sample(5, 1, guidance=2.0, seed=2))


def test_guidance_and_label_dropout_bad_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="label_dropout > 0"):
        _tprior().sample(2, 0, guidance=2.0)
    with pytest.raises(ValueError, match="label_dropout > 0"):
        _prior().sample(2, 0, guidance=0.0)
    for s in (-0.5, True, "2"):
        with pytest.raises(ValueError, match="guidance must be a number >= 0"):
            _guided("transformer").sample(2, 0, guidance=s)
    for bad in (1.0, -0.1, True):
        with pytest.raises(ValueError, match=r"label_dropout must be a number in \[0, 1\)"):
            ar.TransformerPrior(K, GRID, 3, dim=16, num_heads=2, label_dropout=bad)
    with pytest.raises(ValueError, match="class-conditional prior"):
        ar.PixelCNNPrior(K, GRID, 0, filters=8, label_dropout=0.1)


def test_no_labels_means_the_no_class_label_for_a_prior_trained_with_label_dropout():
    prior, codes = _guided("pixelcnn"), _codes(5)
    np.testing.assert_array_equal(prior.logits(codes), prior._logits(codes, np.full(5, 3, np.int32), 5))
    assert not np.allclose(prior.logits(codes), prior.logits(codes, np.zeros(5, int)))
    assert prior.nll_bits_per_code(codes) > 0
    with pytest.raises(ValueError, match="class-conditional; pass labels"):
        _prior().logits(codes)
    with pytest.raises(ValueError, match=r"labels must be in 0..2"):  # the "no class" id is not a class
        prior.logits(codes, np.full(5, 3))
