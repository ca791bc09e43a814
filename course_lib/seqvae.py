"""Sequence autoencoders for sentences: a GRU encoder, an autoregressive GRU decoder, and three models.

The models of notebook 11's text half (Bowman et al. 2016, *Generating sentences from a
continuous space*), on the padded id arrays of :mod:`course_lib.text`
(``BOS w1 .. wn EOS PAD ..``):

- :class:`SentenceVAE`: encoder ``ids -> (mean, log_var)`` (a GRU reading the whole sentence),
  a code ``z ~ q(z|x)``, and a decoder that predicts each token from the tokens before it
  *and* ``z``::

      log p(x|z) = sum_t log p(x_t | x_<t, z)        -ELBO = -log p(x|z) + KL(q(z|x) || N(0, I))

- :class:`SentenceAE`: the same with ``z = mean`` and no KL (a plain sequence autoencoder):
  its codes need not fill any region of code space, so codes drawn from ``N(0, I)`` decode
  to worse sentences than a VAE's.
- :class:`LanguageModel`: the same decoder with no code, ``p(x) = prod_t p(x_t | x_<t)``, the
  baseline a VAE's per-token NLL is compared with.

**Teacher forcing.** In training the decoder reads the *true* previous tokens
(``ids[:, :-1]``) and predicts ``ids[:, 1:]``. That makes training one parallel pass, but it
also means that the previous words alone already predict the next one well, and a strong
autoregressive decoder can model the sentences with ``z`` ignored: the KL term then pushes
``q(z|x)`` onto the prior (KL -> 0, no active units): **posterior collapse**. Three remedies,
each an option of :class:`SentenceVAE`:

- ``kl_warmup_steps``: the KL weight rises linearly from 0 to ``beta`` over that many steps
  (*KL annealing*), so the decoder learns to use ``z`` before the KL term pulls it to the prior;
- ``token_dropout``: that fraction of the decoder's input tokens (never ``BOS`` or padding)
  is replaced by ``UNK`` in training (*word dropout*), so the previous words alone predict
  less and the decoder must ask ``z`` (:class:`TokenDropout`);
- ``free_bits``: nats per latent dimension that are not penalised: each dimension's
  batch-average KL enters the loss as ``max(KL_d, free_bits)`` (Kingma et al. 2016).

**Per-token NLL.** Losses are summed over the real tokens of a sentence (``EOS`` included,
padding masked out: :func:`token_nll`) and averaged over sentences; the reported
``nll_per_token`` divides the summed NLL by the number of real tokens, and
``perplexity = exp(nll_per_token)``. For a VAE the NLL is the bound ``-ELBO`` (or the tighter
importance-weighted estimate of :meth:`SentenceVAE.log_likelihood_iw`).

Everything is ``keras.ops`` and registered for ``.keras`` saving. Sampling
(:meth:`SentenceDecoderMixin.generate`) runs the decoder once per generated position on the
prefix so far (the GRU is causal, so padding after the prefix cannot change it); draws come
from a seeded NumPy generator.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from . import likelihoods
from .models import _check_positive_int
from .text import BOS, EOS, PAD, UNK
from .vae import Sampling, _check_nonneg

# ---------------------------------------------------------------------- layers and builders


@keras.saving.register_keras_serializable(package="course_lib")
class TokenDropout(keras.layers.Layer):
    """Word dropout (Bowman et al. 2016): in training, replace each token id by ``UNK`` with
    probability ``rate``; ``BOS`` and padding are never replaced. Identity at inference."""

    def __init__(self, rate: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        rate = _check_nonneg("token_dropout", rate)
        if rate >= 1:
            raise ValueError(f"token_dropout must be in [0, 1), got {rate!r}.")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or self.rate == 0:
            return ids
        u = keras.random.uniform(ops.shape(ids), seed=self.seed_generator)
        droppable = ops.logical_and(ops.not_equal(ids, PAD), ops.not_equal(ids, BOS))
        drop = ops.logical_and(droppable, u < self.rate)
        return ops.where(drop, ops.cast(UNK, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="course_lib")
class ConcatCode(keras.layers.Layer):
    """``(x (B, T, e), z (B, d)) -> (B, T, e + d)``: the code appended to every time step."""

    def call(self, inputs):
        x, z = inputs
        zt = ops.broadcast_to(ops.expand_dims(z, 1), (ops.shape(x)[0], ops.shape(x)[1], ops.shape(z)[-1]))
        return ops.concatenate([x, ops.cast(zt, x.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        (b, t, e), (_, d) = input_shape
        return (b, t, None if e is None or d is None else e + d)


def sentence_encoder(
    vocab_size: int, latent_dim: int = 16, *, embed_dim: int = 64, units: int = 128, name: str = "encoder"
) -> keras.Model:
    """``ids (B, T) -> (mean, log_var)``, each ``(B, latent_dim)``.

    Embedding with ``mask_zero=True`` (padding skipped), a GRU whose final state summarises the
    sentence, and two linear heads. Any ``T``: padding does not change the result.
    """
    vocab_size = _check_positive_int("vocab_size", vocab_size)
    latent_dim = _check_positive_int("latent_dim", latent_dim)
    ids = keras.Input(shape=(None,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(vocab_size, _check_positive_int("embed_dim", embed_dim), mask_zero=True,
                               name="embedding")(ids)  # (B, T, e), padding masked
    h = keras.layers.GRU(_check_positive_int("units", units), name="gru")(h)  # (B, units)
    mean = keras.layers.Dense(latent_dim, name="z_mean")(h)
    log_var = keras.layers.Dense(latent_dim, name="z_log_var")(h)
    return keras.Model(ids, [mean, log_var], name=name)


def sentence_decoder(
    vocab_size: int,
    latent_dim: int | None = 16,
    *,
    embed_dim: int = 64,
    units: int = 128,
    condition: str = "both",
    name: str = "decoder",
) -> keras.Model:
    """``(ids (B, T), z (B, latent_dim)) -> logits (B, T, vocab_size)``: the next token at each step.

    ``condition`` says how ``z`` reaches the GRU: ``"state"`` (``tanh(Dense(z))`` is the initial
    state), ``"input"`` (``z`` concatenated to every input embedding) or ``"both"``.
    ``latent_dim=None`` builds the same decoder with no code and one input (a language model).
    No masking: the GRU is causal, so the padding after a sentence cannot change its logits.
    """
    vocab_size = _check_positive_int("vocab_size", vocab_size)
    units = _check_positive_int("units", units)
    if condition not in ("state", "input", "both"):
        raise ValueError(f"condition must be 'state', 'input' or 'both', got {condition!r}.")
    ids = keras.Input(shape=(None,), dtype="int32", name="tokens")
    h = keras.layers.Embedding(vocab_size, _check_positive_int("embed_dim", embed_dim),
                               name="embedding")(ids)  # (B, T, e)
    if latent_dim is None:
        h = keras.layers.GRU(units, return_sequences=True, name="gru")(h)  # (B, T, units)
        inputs = ids
    else:
        z = keras.Input(shape=(_check_positive_int("latent_dim", latent_dim),), name="z")
        if condition in ("input", "both"):
            h = ConcatCode(name="concat_code")([h, z])  # (B, T, e + d)
        state = None
        if condition in ("state", "both"):
            state = keras.layers.Dense(units, activation="tanh", name="initial_state")(z)  # (B, units)
        h = keras.layers.GRU(units, return_sequences=True, name="gru")(h, initial_state=state)
        inputs = [ids, z]
    logits = keras.layers.Dense(vocab_size, name="logits")(h)  # (B, T, V)
    return keras.Model(inputs, logits, name=name)


# ---------------------------------------------------------------------- the loss


def token_nll(targets, logits):
    """``(nll per sentence (B,), real tokens per sentence (B,))``: cross-entropy summed over the
    non-padding targets. Padding positions contribute exactly 0, so extra padding changes nothing."""
    targets = ops.cast(targets, "int32")
    ce = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)  # (B, T)
    mask = ops.cast(ops.not_equal(targets, PAD), ce.dtype)
    return ops.sum(ce * mask, axis=-1), ops.sum(mask, axis=-1)


def _check_ids(ids, what: str, vocab_size: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 2 or ids.shape[1] < 2 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(
            f"{what}: expected integer token ids of shape (N, T >= 2) from text.Vocabulary.encode, "
            f"got {ids.shape} {ids.dtype}."
        )
    if len(ids) == 0:
        raise ValueError(f"{what}: no sentences (0 rows).")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{what}: ids must be in 0..{vocab_size - 1} (the vocabulary), got "
                         f"{ids.min()}..{ids.max()}.")
    if not np.all(ids[:, 0] == BOS):
        raise ValueError(f"{what}: every row must start with BOS ({BOS}); encode sentences with "
                         "text.Vocabulary.encode.")
    return ids.astype(np.int32)


# ---------------------------------------------------------------------- models


class SentenceDecoderMixin:
    """What every sentence model shares: the decoder's vocabulary, generation and NLL helpers."""

    decoder: keras.Model

    @property
    def vocab_size(self) -> int:
        return int(self.decoder.outputs[0].shape[-1])

    def _decoder_logits(self, inputs, z):
        # predict_on_batch runs a compiled function (one trace per shape): eager GRU calls are slow
        return self.decoder.predict_on_batch(inputs if z is None else [inputs, z])

    def generate(
        self,
        z=None,
        *,
        n: int | None = None,
        max_len: int = 13,
        temperature: float = 1.0,
        greedy: bool = False,
        allow_unk: bool = True,
        seed: int | None = None,
    ) -> np.ndarray:
        """Sentences as id arrays ``(N, max_len + 1)``: ``BOS w1 .. EOS PAD ..``.

        Token by token from ``softmax(logits / temperature)`` drawn with
        ``np.random.default_rng(seed)`` (``greedy=True``: the most likely token). ``z``: codes
        ``(N, latent_dim)`` for a model with a code (``None``: ``n`` codes from ``N(0, I)``
        drawn with the same generator); a language model takes ``n`` only. Rows stop at
        ``EOS`` (then padding); a row with no ``EOS`` after ``max_len`` tokens is cut there.
        ``allow_unk=False`` never emits ``UNK``: on a small vocabulary ``UNK`` is the most frequent
        token and greedy decoding otherwise writes little else.
        """
        if not greedy and (isinstance(temperature, bool) or not temperature > 0):
            raise ValueError(f"generate: temperature must be > 0, got {temperature!r}.")
        max_len = _check_positive_int("max_len", max_len)
        rng = np.random.default_rng(seed)
        latent = getattr(self, "latent_dim", None)
        if latent is None:
            if z is not None:
                raise ValueError("generate: a language model has no code; pass n, not z.")
            n = _check_positive_int("n", n)
        else:
            if z is None:
                n = _check_positive_int("n", n)
                z = rng.standard_normal((n, latent)).astype(np.float32)
            z = np.asarray(z, np.float32)
            if z.ndim != 2 or z.shape[1] != latent or len(z) == 0:
                raise ValueError(f"generate: z must be (N >= 1, {latent}) codes, got {z.shape}.")
            n = len(z)
        ids = np.zeros((n, max_len + 1), np.int32)
        ids[:, 0] = BOS
        done = np.zeros(n, bool)
        for t in range(max_len):
            logits = np.asarray(self._decoder_logits(ids[:, :-1], z))[:, t]
            logits = logits.astype(np.float64)
            logits[:, (PAD, BOS)] = -np.inf  # never padding or a second BOS mid-sentence
            if not allow_unk:
                logits[:, UNK] = -np.inf
            if greedy:
                nxt = logits.argmax(-1)
            else:
                p = np.exp((logits - logits.max(-1, keepdims=True)) / temperature)
                p /= p.sum(-1, keepdims=True)
                nxt = (p.cumsum(-1) > rng.random((n, 1))).argmax(-1)
            ids[:, t + 1] = np.where(done, PAD, nxt)
            done |= nxt == EOS
            if done.all():
                break
        return ids


def _nll_metrics():
    return (keras.metrics.Mean(name="nll"), keras.metrics.Mean(name="nll_per_token"))


@keras.saving.register_keras_serializable(package="course_lib")
class LanguageModel(SentenceDecoderMixin, keras.Model):
    """``p(x) = prod_t p(x_t | x_<t)``: the sentence decoder with no code, the baseline.

    The decoder is either one built with ``latent_dim=None`` (tokens only) or -- the fair
    baseline for a VAE, what :func:`build_sentence_model` builds -- the VAE's own decoder with
    its code fixed at zero: the layers that read ``z`` then add only a learned constant (the
    initial state ``tanh(bias)``), so the language model and the VAE differ in nothing but
    what ``z`` carries. ``model(ids)`` returns ``{"logits"}`` for the targets ``ids[:, 1:]``.
    Metrics in ``fit``: ``nll`` (per sentence, nats) and ``nll_per_token``. ``token_dropout``
    is available (off by default: the baseline is the plain model).
    """

    latent_dim = None

    def __init__(self, decoder: keras.Model, *, token_dropout: float = 0.0, seed: int | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if len(decoder.inputs) not in (1, 2):
            raise ValueError("A LanguageModel needs a sentence decoder, with inputs (tokens) or "
                             "(tokens, z); build it with seqvae.sentence_decoder.")
        self.decoder = decoder
        self.zero_code_dim = int(decoder.inputs[1].shape[-1]) if len(decoder.inputs) == 2 else 0
        self.seed = seed
        self.token_dropout = TokenDropout(token_dropout, seed=seed, name="token_dropout")
        self.nll_tracker, self.nll_per_token_tracker = _nll_metrics()
        self.token_dropout.built = True
        self.built = True  # the decoder is built; the dropout layer has no weights

    def _with_zero_code(self, inputs):
        if not self.zero_code_dim:
            return inputs
        z = ops.zeros((ops.shape(inputs)[0], self.zero_code_dim))
        return [inputs, z]

    def _decoder_logits(self, inputs, z):
        inputs = np.asarray(inputs)
        if self.zero_code_dim:
            return self.decoder.predict_on_batch([inputs, np.zeros((len(inputs), self.zero_code_dim), np.float32)])
        return self.decoder.predict_on_batch(inputs)

    def call(self, ids, training=None):
        inputs = self.token_dropout(ids[:, :-1], training=training)
        return {"logits": self.decoder(self._with_zero_code(inputs), training=training)}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        nll, tokens = token_nll(x[:, 1:], y_pred["logits"])
        self.nll_tracker.update_state(nll)
        self.nll_per_token_tracker.update_state(ops.sum(nll) / ops.sum(tokens), sample_weight=ops.sum(tokens))
        return ops.mean(nll)

    def evaluate_nll(self, ids, *, seed: int = 0, batch_size: int = 512) -> dict[str, float]:
        """``nll_per_token``, ``perplexity`` and ``nll`` per sentence on ``ids`` (exact for an LM;
        ``seed`` is unused, there for the same call as :meth:`SentenceVAE.evaluate_nll`)."""
        ids = _check_ids(ids, "evaluate_nll", self.vocab_size)
        nll, tokens = [], []
        for i in range(0, len(ids), batch_size):
            b = ids[i : i + batch_size]
            n, t = token_nll(b[:, 1:], self._decoder_logits(b[:, :-1], None))
            nll.append(ops.convert_to_numpy(n))
            tokens.append(ops.convert_to_numpy(t))
        nll_a, tok = np.concatenate(nll).astype(np.float64), np.concatenate(tokens)
        per_token = float(nll_a.sum() / tok.sum())
        return {"nll_per_token": per_token, "perplexity": float(np.exp(per_token)), "nll": float(nll_a.mean())}

    def get_config(self) -> dict:
        return {**super().get_config(), "decoder": keras.saving.serialize_keras_object(self.decoder),
                "token_dropout": self.token_dropout.rate, "seed": self.seed}

    @classmethod
    def from_config(cls, config: dict) -> LanguageModel:
        config = dict(config)
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(decoder, **config)


@keras.saving.register_keras_serializable(package="course_lib")
class SentenceVAE(SentenceDecoderMixin, keras.Model):
    """Encoder ``ids -> (mean, log_var)``, :class:`~course_lib.vae.Sampling`, decoder ``(ids, z) -> logits``.

    Options (see the module docstring): ``beta`` (KL weight; 1 = the ELBO), ``kl_warmup_steps``,
    ``free_bits`` (nats per dimension), ``token_dropout`` (rate). ``model(ids)`` returns a dict
    with ``"mean"``, ``"log_var"``, ``"z"`` and ``"logits"`` (for the targets ``ids[:, 1:]``).
    Metrics in ``fit``: ``loss``, ``nll`` (``-log p(x|z)`` per sentence), ``kl`` (per sentence),
    ``neg_elbo`` (their sum) and ``nll_per_token`` (``-log p(x|z)`` per real token), nats.
    """

    variational = True

    def __init__(
        self,
        encoder: keras.Model,
        decoder: keras.Model,
        *,
        beta: float = 1.0,
        kl_warmup_steps: int = 0,
        free_bits: float = 0.0,
        token_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if len(encoder.outputs) != 2:
            raise ValueError("The encoder must output (mean, log_var); build it with seqvae.sentence_encoder.")
        if len(decoder.inputs) != 2:
            raise ValueError("The decoder must take (tokens, z); build it with seqvae.sentence_decoder "
                             "and a latent_dim (latent_dim=None is the language model's decoder).")
        latent, dec_latent = int(encoder.outputs[0].shape[-1]), int(decoder.inputs[1].shape[-1])
        if latent != dec_latent:
            raise ValueError(f"The encoder's codes have {latent} dimensions but the decoder expects "
                             f"{dec_latent}: build both with the same latent_dim.")
        if isinstance(kl_warmup_steps, bool) or not isinstance(kl_warmup_steps, int) or kl_warmup_steps < 0:
            raise ValueError(f"kl_warmup_steps must be an integer >= 0, got {kl_warmup_steps!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.beta = _check_nonneg("beta", beta)
        self.kl_warmup_steps = kl_warmup_steps
        self.free_bits = _check_nonneg("free_bits", free_bits)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self.token_dropout = TokenDropout(token_dropout, seed=None if seed is None else seed + 1,
                                          name="token_dropout")
        self.nll_tracker, self.nll_per_token_tracker = _nll_metrics()
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.neg_elbo_tracker = keras.metrics.Mean(name="neg_elbo")
        self.sampling.built = self.token_dropout.built = True
        self.built = True  # encoder and decoder are built; the other layers have no weights

    @property
    def latent_dim(self) -> int:
        return int(self.decoder.inputs[1].shape[-1])

    def _code(self, mean, log_var):
        return self.sampling([mean, log_var]) if self.variational else mean

    def call(self, ids, training=None):
        mean, log_var = self.encoder(ids, training=training)
        z = self._code(mean, log_var)
        inputs = self.token_dropout(ids[:, :-1], training=training)
        logits = self.decoder([inputs, z], training=training)
        return {"mean": mean, "log_var": log_var, "z": z, "logits": logits}

    def kl_weight(self):
        """The KL weight at the current optimiser step: ``beta``, ramped up during warm-up."""
        if not self.kl_warmup_steps or self.optimizer is None:
            return ops.convert_to_tensor(self.beta)
        step = ops.cast(self.optimizer.iterations, "float32")
        return self.beta * ops.minimum(1.0, step / float(self.kl_warmup_steps))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        nll, tokens = token_nll(x[:, 1:], y_pred["logits"])
        nll_mean = ops.mean(nll)
        self.nll_tracker.update_state(nll_mean)
        self.nll_per_token_tracker.update_state(ops.sum(nll) / ops.sum(tokens), sample_weight=ops.sum(tokens))
        if not self.variational:  # log_var unused: a zero term gives its head zero gradients, not none
            return nll_mean + 0.0 * ops.mean(y_pred["log_var"])
        kl_dims = ops.mean(likelihoods.kl_per_dimension(y_pred["mean"], y_pred["log_var"]), 0)
        kl = ops.sum(kl_dims)
        kl_term = ops.sum(ops.maximum(kl_dims, self.free_bits)) if self.free_bits else kl
        self.kl_tracker.update_state(kl)
        self.neg_elbo_tracker.update_state(nll_mean + kl)
        return nll_mean + self.kl_weight() * kl_term

    # ------------------------------------------------------------------ NumPy helpers
    def encode(self, ids, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, log_var)`` of ``q(z|x)`` for id arrays, as NumPy."""
        ids = _check_ids(ids, "encode", self.vocab_size)
        parts = [self.encoder(ops.convert_to_tensor(ids[i : i + batch_size]), training=False)
                 for i in range(0, len(ids), batch_size)]
        return (np.concatenate([ops.convert_to_numpy(m) for m, _ in parts]),
                np.concatenate([ops.convert_to_numpy(v) for _, v in parts]))

    def reconstruct(self, ids, *, greedy: bool = True, **kwargs) -> np.ndarray:
        """Decode the posterior mean of each sentence (greedy by default): ids ``(N, T)``."""
        return self.generate(self.encode(ids)[0], greedy=greedy, max_len=np.asarray(ids).shape[1] - 1, **kwargs)

    def _log_px_given_z(self, ids, z) -> np.ndarray:
        ids = np.asarray(ids).astype(np.int32)
        nll, _ = token_nll(ids[:, 1:], self._decoder_logits(ids[:, :-1], np.asarray(z, np.float32)))
        return -ops.convert_to_numpy(nll)

    def evaluate_nll(self, ids, *, seed: int = 0, batch_size: int = 512) -> dict[str, float]:
        """The bound on held-out sentences: ``nll_per_token`` (``-ELBO`` per real token),
        ``perplexity``, ``reconstruction_per_token`` (``-log p(x|z)``, one z per sentence),
        ``kl`` per sentence and ``nll`` (``-ELBO``) per sentence, nats. A plain autoencoder has
        no KL: its numbers are reconstruction only (no bound on ``log p(x)``)."""
        ids = _check_ids(ids, "evaluate_nll", self.vocab_size)
        rng = np.random.default_rng(seed)
        rec, kl = [], []
        for i in range(0, len(ids), batch_size):
            b = ids[i : i + batch_size]
            mean, log_var = (ops.convert_to_numpy(t) for t in self.encoder(ops.convert_to_tensor(b), training=False))
            z = mean + (np.exp(0.5 * log_var) * rng.standard_normal(mean.shape) if self.variational else 0)
            rec.append(-self._log_px_given_z(b, z.astype(np.float32)))
            kl.append(ops.convert_to_numpy(likelihoods.kl_standard_normal(mean, log_var)) if self.variational
                      else np.zeros(len(b)))
        rec_a, kl_a = np.concatenate(rec).astype(np.float64), np.concatenate(kl).astype(np.float64)
        tokens = float(np.sum(ids[:, 1:] != PAD))
        per_token = float((rec_a.sum() + kl_a.sum()) / tokens)
        return {"nll_per_token": per_token, "perplexity": float(np.exp(per_token)),
                "reconstruction_per_token": float(rec_a.sum() / tokens), "kl": float(kl_a.mean()),
                "nll": float((rec_a + kl_a).mean())}

    def log_likelihood_iw(self, ids, k: int = 50, *, seed: int = 0, batch_size: int | None = None) -> np.ndarray:
        """Importance-weighted estimate of ``log p(x)`` per sentence (nats), ``k`` samples of ``q(z|x)``.

        Tighter than the ELBO (``k = 1``) and approaching ``log p(x)`` as ``k`` grows. Per token:
        ``-sum(result) / text.lengths(ids).sum()``.
        """
        if not self.variational:
            raise ValueError("log_likelihood_iw: a plain autoencoder defines no p(x); use a SentenceVAE.")
        ids = _check_ids(ids, "log_likelihood_iw", self.vocab_size)
        if batch_size is None:
            batch_size = max(1, 8192 // max(int(k), 1))
        return likelihoods.importance_weighted_log_likelihood(
            ids, lambda b: self.encoder(ops.convert_to_tensor(np.asarray(b).astype(np.int32)), training=False),
            self._log_px_given_z, k, batch_size=batch_size, seed=seed)

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            decoder=keras.saving.serialize_keras_object(self.decoder),
            beta=self.beta, kl_warmup_steps=self.kl_warmup_steps, free_bits=self.free_bits,
            token_dropout=self.token_dropout.rate, seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config: dict):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


@keras.saving.register_keras_serializable(package="course_lib")
class SentenceAE(SentenceVAE):
    """A plain (non-variational) sequence autoencoder: ``z = mean`` (``log_var`` unused), no KL.

    Same encoder, decoder and options as :class:`SentenceVAE` (``beta``, ``kl_warmup_steps`` and
    ``free_bits`` have no effect). Its codes are free to sit anywhere, so ``N(0, I)`` draws
    (:meth:`generate` with ``z=None``) land where it never put a sentence.
    """

    variational = False


def build_sentence_model(
    kind: str, vocab_size: int, *, latent_dim: int = 16, embed_dim: int = 64, units: int = 128,
    condition: str = "both", seed: int | None = None, **options,
):
    """``kind`` one of ``"lm"``, ``"ae"``, ``"vae"``: encoder and decoder of the given sizes and the
    model (the language model gets the same decoder with its code fixed at zero); ``options`` go to the model (``token_dropout``, ``kl_warmup_steps``, ``free_bits``, ``beta``)."""
    if kind == "lm":  # the VAE's decoder, its code fixed at zero
        return LanguageModel(sentence_decoder(vocab_size, latent_dim, embed_dim=embed_dim, units=units,
                                              condition=condition), seed=seed, **options)
    if kind not in ("ae", "vae"):
        raise ValueError(f"kind must be 'lm', 'ae' or 'vae', got {kind!r}.")
    encoder = sentence_encoder(vocab_size, latent_dim, embed_dim=embed_dim, units=units)
    decoder = sentence_decoder(vocab_size, latent_dim, embed_dim=embed_dim, units=units, condition=condition)
    cls = SentenceVAE if kind == "vae" else SentenceAE
    return cls(encoder, decoder, seed=seed, **options)


def fit_sentence_model(
    model: keras.Model,
    ids,
    *,
    epochs: int,
    batch_size: int = 128,
    peak_lr: float = 2e-3,
    warmup_epochs: float = 0.0,
    validation_ids=None,
    callbacks=None,
    verbose: int | str = "auto",
):
    """Compile with Adam on a warm-up + cosine schedule and fit to the id arrays (no ``y``:
    the targets are the inputs shifted by one). Returns the Keras ``History``."""
    from .training import _positive_int, warmup_cosine

    what = "fit_sentence_model"
    if not isinstance(model, LanguageModel | SentenceVAE):
        raise TypeError(f"{what}: model must be a LanguageModel, SentenceVAE or SentenceAE, "
                        f"got {type(model).__name__}.")
    ids = _check_ids(ids, what, model.vocab_size)
    epochs = _positive_int("epochs", epochs, what)
    batch_size = _positive_int("batch_size", batch_size, what)
    val = None if validation_ids is None else (_check_ids(validation_ids, f"{what} validation_ids",
                                                          model.vocab_size),)
    steps = -(-len(ids) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(warmup_cosine(steps, epochs, peak_lr, warmup_epochs)))
    return model.fit(ids, batch_size=batch_size, epochs=epochs, shuffle=True, validation_data=val,
                     callbacks=callbacks, verbose=verbose)
