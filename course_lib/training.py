"""Training helpers shared by the notebooks: a learning-rate schedule, a fit call, a timer.

Notebooks 03 and 04 train conv networks under a strict CPU budget (5 minutes per notebook
on a 2-core laptop). Two things make that possible and are worth reusing:

- :func:`warmup_cosine` -- a short linear warm-up to a high peak learning rate, then a cosine
  decay to zero. The high rate makes fast progress early (BatchNorm makes it safe once its
  statistics have settled, which is what the warm-up waits for); the cosine tail anneals,
  which is where much of the final error drop happens.
- :class:`EpochTimer` -- wall-clock seconds per epoch, measured by a callback so a notebook
  can *report* its speed instead of quoting a number.

:func:`fit_autoencoder` compiles with MSE and Adam under that schedule and calls ``fit``.
It takes arrays (``x`` and, for a different output, ``target``) and optionally a ``corrupt``
function that makes a *fresh* corrupted copy of ``x`` every epoch (denoising, notebook 04).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable

import keras
import numpy as np


def _positive_int(name: str, value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what}: {name} must be a positive integer, got {value!r}.")
    return int(value)


def _positive_float(name: str, value: object, what: str, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{what}: {name} must be a finite number {bound}, got {value!r}.")
    return float(value)


def warmup_cosine(
    steps_per_epoch: int, epochs: int, peak_lr: float, warmup_epochs: float = 1.0
) -> keras.optimizers.schedules.LearningRateSchedule:
    """Learning rate rising linearly from ``peak_lr / 10`` to ``peak_lr`` over
    ``warmup_epochs``, then falling along a cosine to 0 at the last step of ``epochs``.

    ``warmup_epochs=0`` gives a plain cosine decay from ``peak_lr``. The warm-up is capped
    so that at least one step of decay remains.
    """
    what = "warmup_cosine"
    steps_per_epoch = _positive_int("steps_per_epoch", steps_per_epoch, what)
    epochs = _positive_int("epochs", epochs, what)
    peak_lr = _positive_float("peak_lr", peak_lr, what)
    warmup_epochs = _positive_float("warmup_epochs", warmup_epochs, what, allow_zero=True)
    total = steps_per_epoch * epochs
    warmup = min(int(round(warmup_epochs * steps_per_epoch)), total - 1)
    if warmup == 0:
        return keras.optimizers.schedules.CosineDecay(peak_lr, decay_steps=total, alpha=0.0)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak_lr / 10,
        decay_steps=total - warmup,
        alpha=0.0,
        warmup_target=peak_lr,
        warmup_steps=warmup,
    )


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every training epoch (validation included).

    ``seconds_per_epoch`` is the median over epochs *after the first*: the first epoch also
    pays for tracing the training graph, which is a one-off cost, not a speed. Times
    accumulate over several ``fit`` calls; use a new timer for a new measurement.
    """

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.times.append(time.perf_counter() - self._start)

    @property
    def total_seconds(self) -> float:
        return float(sum(self.times))

    @property
    def seconds_per_epoch(self) -> float:
        if not self.times:
            raise ValueError("EpochTimer: no epoch has finished yet; pass it to fit() first.")
        steady = self.times[1:] or self.times
        return float(np.median(steady))


@keras.saving.register_keras_serializable(package="course_lib")
class FreshGaussianNoise(keras.layers.Layer):
    """Clipped Gaussian noise, drawn afresh for every batch, in training only.

    Built on the page in notebook 04, section 3. Put it in front of a restorer
    (:func:`with_fresh_noise`) and ``fit(x, x)`` trains a denoising autoencoder: every batch
    is corrupted in the graph as ``clip(x + eps, 0, 1)`` with ``eps ~ N(0, sigma^2)`` and the
    clean ``x`` is the target, so the model never sees the same noisy image twice. At
    inference (``training=False``) it passes its input through: feed it noisy images.
    ``seed`` makes the sequence of noise draws reproducible (two layers with the same seed
    draw the same noise).
    """

    def __init__(self, sigma: float, *, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sigma = _positive_float("sigma", sigma, "FreshGaussianNoise", allow_zero=True)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training:
            return x
        noise = keras.random.normal(keras.ops.shape(x), stddev=self.sigma, seed=self.seed_generator)
        return keras.ops.clip(x + noise, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "sigma": self.sigma, "seed": self.seed}


def with_fresh_noise(network: keras.Model, sigma: float, *, seed: int | None = None) -> keras.Model:
    """``network`` behind a :class:`FreshGaussianNoise` layer: ``fit(x, x)`` then denoises.

    The returned model shares its weights with ``network``; after training, call either on
    noisy images (the noise layer is inactive at inference).
    """
    if not isinstance(network, keras.Model) or not network.inputs:
        raise ValueError("with_fresh_noise: network must be a built Keras model with an input shape "
                         f"(e.g. models.conv_denoiser(...)), got {network!r}.")
    shape = tuple(network.inputs[0].shape[1:])
    return keras.Sequential(
        [keras.Input(shape), FreshGaussianNoise(sigma, seed=seed, name="fresh_noise"), network],
        name=f"{network.name}_with_fresh_noise",
    )


def fit_autoencoder(
    model: keras.Model,
    x,
    target=None,
    *,
    epochs: int,
    batch_size: int = 128,
    peak_lr: float = 1e-3,
    warmup_epochs: float = 0.0,
    validation_data=None,
    corrupt: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    seed: int = 0,
    loss: str | keras.losses.Loss = "mse",
    callbacks: list[keras.callbacks.Callback] | None = None,
    verbose: int = 0,
) -> keras.callbacks.History:
    """Compile ``model`` (Adam under :func:`warmup_cosine`, ``loss``) and fit it.

    ``x`` is the input array and ``target`` what the model should output (default: ``x``
    itself, a plain autoencoder). ``validation_data`` is an array
    (reconstruct it), an ``(input, target)`` pair, or None. Returns the Keras ``History``.

    ``corrupt(x, rng)`` (e.g. ``lambda b, rng: corruption.gaussian_noise(b, 0.2, rng)``)
    turns training into denoising: before every epoch the whole input array is corrupted
    afresh, in one vectorised NumPy call (``rng`` is seeded from ``seed`` and the epoch, so
    runs are reproducible), and the model learns to output ``target`` (default: the clean
    ``x``). The model never sees the same corrupted image twice, so it cannot memorise the
    noise. (Corrupting whole epochs at once is faster than corrupting batch by batch in Python
    while TensorFlow trains: measured in a notebook kernel on 2 cores, a per-batch
    ``keras.utils.PyDataset`` took about 1.5x the time per epoch.) The returned History holds
    all epochs.
    """
    what = "fit_autoencoder"
    epochs = _positive_int("epochs", epochs, what)
    batch_size = _positive_int("batch_size", batch_size, what)
    x = np.asarray(x)
    target = x if target is None else np.asarray(target)
    if x.shape[0] == 0:
        raise ValueError(f"{what}: x is empty (0 examples).")
    if target.shape[0] != x.shape[0]:
        raise ValueError(
            f"{what}: x has {x.shape[0]} examples but target has {target.shape[0]}; "
            "they must pair up one to one."
        )
    steps = -(-len(x) // batch_size)
    fit_args = {"x": x, "y": target, "batch_size": batch_size, "shuffle": True}
    if validation_data is not None and not isinstance(validation_data, tuple):
        validation_data = (validation_data, validation_data)
    schedule = warmup_cosine(steps, epochs, peak_lr, warmup_epochs)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=loss)
    if corrupt is None:
        return model.fit(
            **fit_args,
            epochs=epochs,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=verbose,
        )
    if not callable(corrupt):
        raise ValueError(f"{what}: corrupt must be a function (x, rng) -> corrupted x, got {corrupt!r}.")
    history: dict[str, list] = {}
    for epoch in range(epochs):  # one fit call per epoch; the optimizer's schedule carries on
        noisy = np.asarray(corrupt(x, np.random.default_rng((seed, epoch))), dtype=np.float32)
        if noisy.shape != x.shape:
            raise ValueError(
                f"{what}: corrupt returned shape {noisy.shape} for input of shape {x.shape}; "
                "it must return the corrupted images with the same shape."
            )
        step = model.fit(
            **(fit_args | {"x": noisy}),
            initial_epoch=epoch,
            epochs=epoch + 1,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=verbose,
        )
        for key, values in step.history.items():
            history.setdefault(key, []).extend(values)
    step.history = history
    step.epoch = list(range(epochs))
    return step
