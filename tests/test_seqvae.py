"""Sentence VAE, plain sequence autoencoder and language model: shapes, the padding mask, token
dropout, the KL remedies, seeded sampling, saving, and clear errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_lib import seqvae, text

SENTENCES = [
    "the cat sat on the mat", "a dog ran home", "the dog sat", "she sang a song",
    "he ran to the park", "a cat sang", "we walked home", "they sat on the grass",
]
V = text.Vocabulary.from_sentences(SENTENCES)
SMALL = dict(latent_dim=4, embed_dim=8, units=12)


def _ids(max_tokens: int = 8) -> np.ndarray:
    return V.encode(SENTENCES, max_tokens=max_tokens)


def _three_inputs() -> keras.Model:
    a, b, c = keras.Input((3,)), keras.Input((2,)), keras.Input((1,))
    return keras.Model([a, b, c], keras.layers.Concatenate()([a, b, c]))


def _model(kind: str, **options):
    keras.utils.set_random_seed(0)
    return seqvae.build_sentence_model(kind, V.size, seed=0, **SMALL, **options)


def test_shapes_of_encoder_decoder_and_models():
    ids = _ids()
    enc = seqvae.sentence_encoder(V.size, 4, embed_dim=8, units=12)
    mean, log_var = (keras.ops.convert_to_numpy(t) for t in enc(ids))
    assert tuple(mean.shape) == (8, 4) and tuple(log_var.shape) == (8, 4)
    for condition in ("state", "input", "both"):
        dec = seqvae.sentence_decoder(V.size, 4, embed_dim=8, units=12, condition=condition)
        assert tuple(dec([ids[:, :-1], mean]).shape) == (8, 9, V.size)
    out = _model("vae")(ids)
    assert tuple(out["logits"].shape) == (8, 9, V.size) and tuple(out["z"].shape) == (8, 4)
    lm = _model("lm")  # the VAE's decoder with its code fixed at zero
    assert lm.zero_code_dim == 4 and tuple(lm(ids)["logits"].shape) == (8, 9, V.size)
    zero = keras.ops.convert_to_numpy(lm.decoder([ids[:, :-1], np.zeros((8, 4), np.float32)]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lm(ids)["logits"]), zero, atol=1e-6)
    plain = seqvae.LanguageModel(seqvae.sentence_decoder(V.size, None, embed_dim=8, units=12))
    assert plain.zero_code_dim == 0 and tuple(plain(ids)["logits"].shape) == (8, 9, V.size)
    assert plain.generate(n=2, seed=0, max_len=5).shape == (2, 6) and plain.evaluate_nll(ids)["nll"] > 0
    ae = _model("ae")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ae(ids)["z"]), ae.encode(ids)[0], atol=1e-6)


def test_padding_changes_nothing():
    """The same sentences padded to 10 and to 20 ids give the same per-token NLL."""
    short, long = _ids(8), _ids(18)
    assert short.shape[1] == 10 and long.shape[1] == 20
    logits = _model("lm")(short)["logits"]
    nll, tokens = seqvae.token_nll(short[:, 1:], logits)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(tokens), text.lengths(short))
    for kind in ("lm", "vae", "ae"):
        model = _model(kind)
        a, b = model.evaluate_nll(short), model.evaluate_nll(long)
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-5), (kind, key)
    vae = _model("vae")
    np.testing.assert_allclose(vae.encode(short)[0], vae.encode(long)[0], atol=1e-5)
    np.testing.assert_allclose(vae.log_likelihood_iw(short, k=5), vae.log_likelihood_iw(long, k=5), rtol=1e-5)


def test_token_nll_is_the_cross_entropy_of_the_real_tokens_only():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.2, 0.6, 0.2], [0.1, 0.1, 0.8]]], np.float32))
    nll, tokens = seqvae.token_nll(np.array([[1, 2, 0]]), logits)  # last target is padding
    assert float(keras.ops.convert_to_numpy(nll)[0]) == pytest.approx(-np.log(0.25) - np.log(0.2), rel=1e-5)
    assert float(keras.ops.convert_to_numpy(tokens)[0]) == 2


def test_token_dropout_rate_and_what_it_never_touches():
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 50, (2000, 30)).astype(np.int32)
    ids[:, 0] = text.BOS
    ids[:, 20:] = text.PAD
    layer = seqvae.TokenDropout(0.3, seed=1)
    out = keras.ops.convert_to_numpy(layer(ids, training=True))
    dropped = out != ids
    assert np.all(out[dropped] == text.UNK)
    assert not dropped[:, 0].any() and not dropped[:, 20:].any()
    assert dropped[:, 1:20].mean() == pytest.approx(0.3, abs=0.01)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(ids, training=False)), ids)
    with pytest.raises(ValueError, match=r"token_dropout must be in \[0, 1\)"):
        seqvae.TokenDropout(1.0)


def test_kl_warmup_and_free_bits_enter_the_loss():
    ids = _ids()
    model = _model("vae", free_bits=0.5, kl_warmup_steps=10)
    logits = model.decoder([ids[:, :-1], np.zeros((8, 4), np.float32)])
    zeros = np.zeros((8, 4), np.float32)  # q(z|x) = prior: KL = 0
    y_pred = {"mean": zeros, "log_var": zeros, "z": zeros, "logits": logits}
    nll = float(np.mean(keras.ops.convert_to_numpy(seqvae.token_nll(ids[:, 1:], logits)[0])))
    model.compile(optimizer=keras.optimizers.Adam())
    model.optimizer.iterations.assign(5)  # half-way through the warm-up: weight 0.5
    loss = float(keras.ops.convert_to_numpy(model.compute_loss(ids, y_pred=y_pred)))
    assert loss == pytest.approx(nll + 0.5 * 4 * 0.5, rel=1e-5)  # 4 dimensions x 0.5 free nats
    model.optimizer.iterations.assign(100)
    assert float(keras.ops.convert_to_numpy(model.kl_weight())) == 1.0
    ae = _model("ae", free_bits=0.5)
    ae.compile(optimizer=keras.optimizers.Adam())
    assert float(keras.ops.convert_to_numpy(ae.compute_loss(ids, y_pred=y_pred))) == pytest.approx(nll, rel=1e-5)


def test_seeded_sampling_is_reproducible_and_well_formed():
    vae, lm = _model("vae"), _model("lm")
    a, b = vae.generate(n=6, seed=3, max_len=8), vae.generate(n=6, seed=3, max_len=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, vae.generate(n=6, seed=4, max_len=8))
    assert a.shape == (6, 9) and np.all(a[:, 0] == text.BOS)
    for row in a:  # nothing but padding after the first EOS
        eos = np.flatnonzero(row == text.EOS)
        if len(eos):
            assert np.all(row[eos[0] + 1 :] == text.PAD)
    np.testing.assert_array_equal(lm.generate(n=4, seed=1, temperature=0.5), lm.generate(n=4, seed=1, temperature=0.5))
    z = np.zeros((3, 4), np.float32)
    greedy = vae.generate(z, greedy=True, max_len=8)
    assert np.all(greedy == greedy[0])  # same code, same argmax path
    assert len(V.decode(vae.reconstruct(_ids()))) == 8
    no_unk = vae.generate(n=50, seed=0, temperature=5.0, allow_unk=False, max_len=8)
    assert not np.any(no_unk == text.UNK) and np.any(vae.generate(n=50, seed=0, temperature=5.0, max_len=8) == text.UNK)


def test_training_lowers_the_loss_and_reports_kl():
    ids = np.concatenate([_ids()] * 8)
    model = _model("vae", token_dropout=0.2, free_bits=0.1)
    history = seqvae.fit_sentence_model(model, ids, epochs=4, batch_size=16, peak_lr=1e-2,
                                        validation_ids=_ids(), verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < loss[0]
    assert {"kl", "nll", "nll_per_token", "neg_elbo", "val_nll_per_token"} <= set(history.history)
    ev = model.evaluate_nll(_ids())
    assert ev["perplexity"] == pytest.approx(np.exp(ev["nll_per_token"]))
    iw = model.log_likelihood_iw(_ids(), k=20)
    assert iw.shape == (8,) and np.mean(iw) >= -ev["nll"] - 0.5  # IW bound is not looser than the ELBO


@pytest.mark.parametrize("kind", ["vae", "ae", "lm"])
def test_keras_round_trip(kind, tmp_path):
    model = _model(kind, token_dropout=0.25)
    ids = _ids()
    before = model.evaluate_nll(ids)
    path = tmp_path / f"{kind}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model) and loaded.token_dropout.rate == 0.25
    after = loaded.evaluate_nll(ids)
    for key in before:
        assert after[key] == pytest.approx(before[key], rel=1e-6)


def test_clear_errors_for_bad_input():
    vae, lm = _model("vae"), _model("lm")
    with pytest.raises(ValueError, match="integer token ids of shape"):
        vae.encode(np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="must start with BOS"):
        vae.encode(_ids()[:, 1:])
    with pytest.raises(ValueError, match=r"ids must be in 0..\d+ \(the vocabulary\)"):
        lm.evaluate_nll(_ids() + 1000)
    with pytest.raises(ValueError, match="no code; pass n"):
        lm.generate(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"z must be \(N >= 1, 4\)"):
        vae.generate(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        vae.generate(n=2, temperature=0)
    with pytest.raises(ValueError, match="same latent_dim"):
        seqvae.SentenceVAE(seqvae.sentence_encoder(V.size, 4), seqvae.sentence_decoder(V.size, 5))
    with pytest.raises(ValueError, match=r"inputs \(tokens\) or \(tokens, z\)"):
        seqvae.LanguageModel(_three_inputs())
    with pytest.raises(ValueError, match="condition must be"):
        seqvae.sentence_decoder(V.size, 4, condition="everywhere")
    with pytest.raises(ValueError, match="kind must be"):
        seqvae.build_sentence_model("gan", V.size)
    with pytest.raises(TypeError, match="must be a LanguageModel, SentenceVAE or SentenceAE"):
        seqvae.fit_sentence_model(keras.Sequential([keras.layers.Dense(1)]), _ids(), epochs=1)
    with pytest.raises(ValueError, match="plain autoencoder defines no p"):
        _model("ae").log_likelihood_iw(_ids())
