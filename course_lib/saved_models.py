"""Models saved by one notebook and reused by a later one, keyed by the profile that trained them.

A later chapter that needs a model an earlier one trained (say notebook 04 starting from
notebook 03's conv autoencoder) loads it from ``build/models/<profile>/<name>.keras`` instead of
training it again, which keeps every notebook within its time. A model saved by another
profile is never used (a smoke model is not a workshop model); a missing one is retrained by
the caller, with a notice saying so::

    model = saved_models.load("03_conv_ae", profile=cfg.name)
    if model is None:
        model = train_conv_ae(...)              # the same recipe as notebook 03
        saved_models.save(model, "03_conv_ae", profile=cfg.name)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from course_lib import paths

__all__ = ["load", "load_file", "path_for", "save"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def path_for(name: str, *, profile: str) -> Path:
    """``<build>/models/<profile>/<name>.keras``; names are plain file stems (no folders)."""
    for kind, value in (("name", name), ("profile", profile)):
        if not isinstance(value, str) or not _NAME.match(value):
            raise ValueError(f"saved model {kind} must be a plain name like '03_conv_ae', got {value!r}")
    return paths.build_dir() / "models" / profile / f"{name}.keras"


def save(model: Any, name: str, *, profile: str) -> Path:
    """Save a Keras model for later notebooks; prints where (relative to the repository)."""
    target = path_for(name, profile=profile)
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    print(f"saved {name} ({profile} profile) to {paths.display(target)}")
    return target


def load_file(path: str | Path, *, compile: bool = True) -> Any:
    """Load any ``.keras`` file the course writes, wherever it lies (scripts reading other runs' models).

    Imports course_lib's model modules first, so that every registered course class (VAE,
    VQ-VAE, PixelCNN prior, adversarial models, ...) can be rebuilt; ``compile=False`` skips
    restoring the optimiser state, for models that are only evaluated.
    """
    import keras

    from course_lib import adversarial, attention, autoregressive, mae, models, seqvae, vae, vq  # noqa: F401

    return keras.saving.load_model(Path(path), compile=compile)


def load(
    name: str, *, profile: str, made_by: str | None = None, if_missing: str = "training it here instead"
) -> Any | None:
    """The model saved under ``name`` by ``profile``, or ``None`` with a notice to retrain it.

    ``made_by`` names the notebook that saves it, for the notice; ``if_missing`` says what the
    caller does without it (a chapter that only compares with an earlier model skips that
    comparison instead of retraining: ``if_missing="skipping the comparison with it"``).
    Importing course_lib's model modules first registers their classes, so ``.keras`` files
    with course classes load.
    """
    target = path_for(name, profile=profile)
    source = f" (saved by notebook {made_by})" if made_by else ""
    if not target.is_file():
        print(f"notice: no saved {name}{source} for the {profile} profile at "
              f"{paths.display(target)}; {if_missing} (run that notebook first to skip this)")
        return None
    try:
        model = load_file(target)
    except Exception as exc:  # a half-written or incompatible file: retrain rather than fail
        print(f"notice: could not load {paths.display(target)} ({type(exc).__name__}: {exc}); "
              f"{if_missing}")
        return None
    print(f"loaded {name}{source}, {profile} profile, from {paths.display(target)}")
    return model
