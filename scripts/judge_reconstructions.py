"""How often does the fixed judge recognise the course's *reconstructions* of real test images?

A generated sample can hardly be recognised more often than the same model's reconstruction
of a real image (right code, right label): the reconstruction is the best case. This script
loads every model that ``make course`` saved (``build/models/*.keras``), reconstructs the
first ``--n`` test images with it and prints, per model, the test MSE and the judge's
accuracy -- overall and for the sandal class, the one blur hurts most -- next to the judge's
accuracy on the real images themselves. It puts the CVAE's class-accuracy target in context:
judge v1 recognises 91.5 % of real test images, and it is very sensitive to blur. Notebook 10's
VQ-VAE from its full profile (filters 16/128, 10 epochs): test MSE 0.00473, and the judge
recognises 88.0 % of its reconstructions of the 10,000 test images -- the ceiling for its samples.

Reconstruction protocol, as in the notebooks: models with a ``reconstruct`` method use it
(with the true labels for conditional models; binarised test images, seed 1234, for a VAE
trained on binarised data); any other model is called on the images directly. Models whose
input or output is not a 28x28 image are skipped (and said so). Run from the repository root::

    python scripts/judge_reconstructions.py [--models-dir build/models] [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TEST_BINARIZE_SEED = 1234
SANDAL = 5


def reconstruct(model, x, y) -> tuple[str, object]:
    """``(protocol, images)``: a model's reconstructions of ``x``, or ``(reason, None)`` if it has none."""
    import numpy as np

    from course_lib import data

    if hasattr(model, "reconstruct"):
        binarised = bool(getattr(model, "binarize", False))
        xin = data.dynamic_binarize(x, rng=TEST_BINARIZE_SEED) if binarised else x
        encoder = getattr(model, "encoder", None)
        if encoder is not None and tuple(encoder.inputs[0].shape[1:]) == (28, 28, 1):
            xin = xin.reshape((-1, 28, 28, 1))
        conditional = getattr(model, "n_classes", 0) or len(getattr(getattr(model, "encoder", None), "inputs", ())) == 2
        out = model.reconstruct(xin, y) if conditional else model.reconstruct(xin)
        return ("reconstruct(binarised x" if binarised else "reconstruct(x") + (", y)" if conditional else ")"), out
    inputs = getattr(model, "inputs", None)  # None for a subclassed model without a reconstruct method
    if not inputs:
        return f"skipped: a {type(model).__name__} has no reconstruct method and no fixed input", None
    shape = tuple(inputs[0].shape[1:]) if len(inputs) == 1 else None
    if shape not in ((28, 28), (28, 28, 1)):
        return f"skipped: input {shape if shape else len(inputs)} is not one 28x28 image", None
    out = np.asarray(model.predict(x.reshape((-1, *shape)), batch_size=1000, verbose=0))
    if out.size != x.size:
        return f"skipped: output shape {out.shape[1:]} is not a 28x28 image", None
    return "model(x)", out


def main(argv: list[str] | None = None) -> int:
    from course_lib import paths

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", type=Path, default=paths.build_dir() / "models")
    p.add_argument("--n", type=int, default=10000, help="test images to reconstruct (the first n)")
    args = p.parse_args(argv)
    files = sorted(args.models_dir.glob("*.keras"))
    if not files:
        p.error(f"no .keras files in {args.models_dir}: run the notebooks first (make course), or pass --models-dir.")
    if args.n < 10:
        p.error(f"--n must be at least 10, got {args.n}.")

    import numpy as np

    from course_lib import data, judge, saved_models

    splits = data.prepare_splits(data.load_fashion_mnist(verbose=False))
    x, y = splits.x_test[: args.n], splits.y_test[: args.n]
    j = judge.load_judge()

    def scores(images) -> tuple[float, float]:
        images = np.clip(images.reshape(x.shape), 0.0, 1.0)
        return judge.class_accuracy(j, images, y), float(judge.per_class_accuracy(j, images, y)[SANDAL])

    acc, sandal = scores(x)
    print(f"judge v{j.version} on the first {len(x)} test images; accuracy overall and on sandals")
    print(f"{'model':28s} {'protocol':34s} {'test MSE':>9s} {'all':>7s} {'sandal':>7s}")
    print(f"{'(real test images)':28s} {'':34s} {'':>9s} {acc:7.3f} {sandal:7.3f}")
    for f in files:
        model = saved_models.load_file(f, compile=False)  # every course class registered
        protocol, out = reconstruct(model, x, y)
        if out is None:
            print(f"{f.stem:28s} {protocol}")
            continue
        out = np.asarray(out, np.float32).reshape(x.shape)
        acc, sandal = scores(out)
        print(f"{f.stem:28s} {protocol:34s} {float(np.mean((out - x) ** 2)):9.5f} {acc:7.3f} {sandal:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
