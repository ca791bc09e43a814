"""Judge class-conditional samples of saved models from *different* runs on the same footing.

Notebook 10 compares its VQ-VAE's samples with the CVAE of 06 and the VAE-GAN of 07 saved by
the same profile. When the rivals were saved by another profile (here: a VQ-VAE trained in the
full profile, and the CVAE and VAE-GAN of the committed workshop runs), this script puts them
side by side the same way: ``--n`` samples per model, classes ``arange(n) % 10`` requested,
judge v1's class accuracy (where the model takes a class) and the Fréchet distance in the
judge's feature space against the first ``--n`` real test images -- the protocol of notebook
10, section 7, with the same seeds.

Run from the repository root, after notebook 10 in one build folder and notebooks 06 and 07 in
another::

    python scripts/compare_samples.py --vq-build /tmp/full-10 --vq-profile full \\
        --rivals-build build --rivals-profile workshop --n 10000

Measured here (judge v1, 10,000 samples each; real test images: class accuracy 0.915):

- VQ-VAE, full profile (filters 16/128, 10 epochs; PixelCNN prior 64 filters, 13x13 first
  kernel, 15 epochs, 3.231 bits per code; ``--prior pixelcnn``, before notebook 10 had the
  transformer prior), from notebook 10's own full run (the same protocol
  and seeds): T = 1: class accuracy 0.7938, Fréchet 8.75; T = 0.5: 0.8561, 18.96; T = 1.5:
  0.5962, 29.61 (10,000 samples per temperature took 324 s);
- CVAE 06, workshop: class accuracy 0.6070, Fréchet 65.11; VAE-GAN 07, workshop: Fréchet 85.81
  (``--temperatures ''``: 21 s).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _load(build: Path, profile: str, name: str):
    from course_lib import saved_models

    path = build / "models" / profile / f"{name}.keras"
    if not path.is_file():
        print(f"{name}: no file {path}; skipped")
        return None
    return saved_models.load_file(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vq-build", type=Path, default=Path("build"), help="build folder notebook 10 saved to")
    p.add_argument("--vq-profile", default="workshop")
    p.add_argument("--rivals-build", type=Path, default=Path("build"), help="build folder of notebooks 06 and 07")
    p.add_argument("--rivals-profile", default="workshop")
    p.add_argument("--n", type=int, default=10000, help="samples per model (and real test images)")
    p.add_argument("--prior", choices=("transformer", "pixelcnn"), default="transformer",
                   help="which of notebook 10's saved priors samples the VQ-VAE's code grids")
    p.add_argument("--temperatures", default="1",
                   help="comma-separated temperatures for the VQ-VAE ('' skips it: 10,000 samples take minutes on a CPU)")
    args = p.parse_args(argv)
    if not 10 <= args.n <= 10000:
        p.error("--n must be between 10 and 10,000 (the size of the test set)")

    import numpy as np

    from course_lib import data, frechet, judge

    ds = data.load_fashion_mnist()
    x_test = data.to_float(ds.x_test)[: args.n]
    wanted = np.arange(args.n) % 10
    judge_model = judge.load_judge()
    real_features, real_predicted = judge_model.features_and_predictions(x_test)
    print(f"judge v{judge_model.version}; {args.n:,} samples per model; real test images: class accuracy "
          f"{np.mean(real_predicted == ds.y_test[: args.n]):.3f}")

    rows = []
    temperatures = [float(v) for v in args.temperatures.split(",") if v.strip()]
    vqvae = _load(args.vq_build, args.vq_profile, "10_vqvae") if temperatures else None
    prior = _load(args.vq_build, args.vq_profile, f"10_{args.prior}_prior") if temperatures else None
    if vqvae is not None and prior is not None:
        for t in temperatures:
            images = vqvae.decode(prior.sample(args.n, wanted, temperature=t, seed=1))
            rows.append((f"VQ-VAE + {args.prior} ({args.vq_profile}), T = {t:g}", images, True))
    cvae = _load(args.rivals_build, args.rivals_profile, "06_cvae")
    if cvae is not None:
        rows.append((f"CVAE 06 ({args.rivals_profile})", cvae.sample(wanted, seed=1), True))
    vaegan = _load(args.rivals_build, args.rivals_profile, "07_vaegan")
    if vaegan is not None:
        rows.append((f"VAE-GAN 07 ({args.rivals_profile})", vaegan.sample(args.n, seed=1), False))

    for label, images, conditional in rows:
        features, predicted = judge_model.features_and_predictions(images)
        accuracy = f"{np.mean(predicted == wanted):.4f}" if conditional else "  —   "
        print(f"{label:32s} class accuracy {accuracy}   Fréchet {frechet.frechet_distance(real_features, features):7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
