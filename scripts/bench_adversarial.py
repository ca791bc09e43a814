"""Benchmark notebook 07's generative models on full Fashion-MNIST: sample quality and speed.

Trains one model family (a VAE, an adversarial autoencoder or a VAE-GAN) with the given
budget and prints one JSON line: training seconds, seconds per epoch, test reconstruction
MSE, the Fréchet distance between 10,000 samples and the 10,000 test images in the fixed
judge's features (not Inception-FID), and for AAEs the MMD prior match of the test codes
(at n = 2000, the mean over five disjoint sets of codes, and with all 10,000 codes at once).
Run from the repository root::

    python scripts/bench_adversarial.py --model vaegan --epochs 20
    python scripts/bench_adversarial.py --model aae --prior mixture --latent 2 --epochs 10
    python scripts/bench_adversarial.py --model aae --latent 2 --batch-size 256 --lr 5e-4 --adv-lr 1e-3 --r1 10
    python scripts/bench_adversarial.py --model vae --epochs 20 --latent 16

Tuning notes (the history behind notebook 07's settings; measured on the 2-core CPU, full data)
------------------------------------------------------------------------------------------------
- Learning rates of the 2-D AAEs: with the adversarial rate 5x *below* the reconstruction rate
  the reconstruction wins, the codes spread far beyond the prior and the discriminator wins the
  game (accuracy 0.98); the notebook uses ``--lr 5e-4 --adv-lr 1e-3`` (adversarial 2x above).
- Cosine decay of every rate (``fit_aae(decay=True)``): without it the median-bandwidth MMD
  ratio for the mixture prior was 20x worse.
- R1 gradient penalty (``--r1 10``), 2-D codes, 10 epochs, median-bandwidth MMD ratio at
  n = 2000 averaged over five disjoint sets of test codes: Gaussian prior 11.8 without the
  penalty (and a spectrally normalised D), 1.1 / 1.8 / 1.9 / 3.3 over four seeds with it;
  mixture 1.2, swiss roll 1.2. With all 10,000 test codes at once the Gaussian ratios were
  2.5-14 (the codes fill a disc with a sharp edge near radius 2.3: N(0, I)'s tails are missing).
  Spectral normalisation instead of R1 helped the mixture but left the Gaussian at 1.6-6.0;
  gamma = 100 made it worse again (4.0).
- Seed to seed, where the game ends varied more than any setting changed it (rates; gamma from
  1 to 100; 20 epochs; larger batches or discriminators; packs of 2 or 4 codes; weight
  averaging). The notebook used to train two Gaussian-prior runs and keep the better one on
  validation codes (test ratios 3.32 and 1.53); it now trains one run per prior, to fit the
  workshop time, and reports the match honestly at several kernel scales.
- The median-bandwidth MMD cannot see shape: in the published run of the earlier version the
  swiss-roll codes filled a disc with no spiral and still scored a ratio of 1.00; the notebook
  now uses ``two_sample.prior_match_by_scale`` (1, 1/2, 1/4, 1/8 of the median bandwidth).
- The 16-d AAE of the comparison used to run without R1 and with the adversarial rate 5x below
  the reconstruction rate (``--lr 1e-3 --adv-lr 2e-4``): median-bandwidth ratio 58, Fréchet
  distance 95.7 (VAE 59.9, VAE-GAN 38.7) after 12 epochs. It now uses the 2-D recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(t) for t in text.split(",") if t.strip())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("vae", "aae", "vaegan"), required=True)
    p.add_argument("--prior", default="gaussian", help="AAE prior: gaussian, mixture, ring, swiss_roll")
    p.add_argument("--latent", type=int, default=16)
    p.add_argument("--enc-hidden", type=_ints, default=(512, 256))
    p.add_argument("--dec-hidden", type=_ints, default=(256, 512))
    p.add_argument("--disc-hidden", type=_ints, default=(256, 256), help="AAE code discriminator")
    p.add_argument("--disc-filters", type=_ints, default=(32, 64), help="VAE-GAN image discriminator")
    p.add_argument("--disc-features", type=int, default=128)
    p.add_argument("--disc-kernel", type=int, default=4)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--adv-lr", type=float, default=2e-4, help="AAE adversarial / VAE-GAN discriminator lr")
    p.add_argument("--gen-lr", type=float, help="AAE encoder-as-generator lr (default: --adv-lr)")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--pixel-weight", type=float, default=1.0)
    p.add_argument("--feature-weight", type=float, default=1.0)
    p.add_argument("--adversarial-weight", type=float, default=1.0)
    p.add_argument("--supervised", action="store_true", help="AAE: give the decoder the label")
    p.add_argument("--no-decay", action="store_true", help="AAE: constant learning rates")
    p.add_argument("--stochastic", action="store_true", help="AAE: Gaussian-posterior encoder")
    p.add_argument("--spectral-norm", action="store_true", help="AAE: spectral normalisation in D")
    p.add_argument("--r1", type=float, default=0.0, help="AAE: R1 gradient penalty weight on D")
    p.add_argument("--train-size", type=int)
    p.add_argument("--n-samples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--save", help="save the trained model to this .keras path")
    p.add_argument("--verbose", type=int, default=0)
    args = p.parse_args(argv)

    import numpy as np

    from course_lib import (
        adversarial,
        data,
        doctor,
        frechet,
        judge,
        metrics,
        models,
        priors,
        two_sample,
        vae,
    )
    from course_lib.training import EpochTimer

    doctor.setup(seed=args.seed)
    splits = data.prepare_splits(data.load_fashion_mnist(), train_size=args.train_size)
    x_tr, y_tr, x_test = splits.x_train, splits.y_train, splits.x_test
    timer = EpochTimer()
    t0 = time.perf_counter()
    out: dict = {"model": args.model, "args": {k: v for k, v in vars(args).items() if k not in ("save", "verbose")}}
    prior = None
    if args.model == "vae":
        model = vae.VAE(vae.gaussian_mlp_encoder((28, 28), args.latent, args.enc_hidden),
                        vae.logit_mlp_decoder(args.latent, (28, 28), args.dec_hidden), beta=args.beta, seed=args.seed)
        vae.fit_vae(model, x_tr, epochs=args.epochs, batch_size=args.batch_size, peak_lr=args.lr,
                    callbacks=[timer], verbose=args.verbose)
        samples = model.sample(args.n_samples, seed=1)
        rec = model.reconstruct(x_test)
    elif args.model == "aae":
        prior = priors.make_prior(args.prior, dim=args.latent)
        n_classes = 10 if args.supervised else 0
        dec = (vae.conditional_logit_decoder(args.latent, 10, (28, 28), args.dec_hidden) if n_classes
               else vae.logit_mlp_decoder(args.latent, (28, 28), args.dec_hidden))
        model = adversarial.AdversarialAutoencoder(
            (vae.gaussian_mlp_encoder if args.stochastic else models.mlp_encoder)((28, 28), args.latent, args.enc_hidden),
            dec,
            adversarial.mlp_discriminator(args.latent, args.disc_hidden, spectral_norm=args.spectral_norm),
            n_classes=n_classes, gradient_penalty=args.r1)
        adversarial.fit_aae(model, x_tr, prior, y_tr if n_classes else None, epochs=args.epochs,
                            batch_size=args.batch_size, ae_lr=args.lr, adversarial_lr=args.adv_lr,
                            generator_lr=args.gen_lr, decay=not args.no_decay, seed=args.seed, callbacks=[timer], verbose=args.verbose)
        labels = np.arange(args.n_samples) % 10 if n_classes else None
        samples = model.sample(prior, args.n_samples, y=labels, seed=1)
        rec = model.reconstruct(x_test, splits.y_test if n_classes else None)
        codes = model.encode(x_test, sample=True)
        for n in (2000, 10000):
            t = time.perf_counter()
            out[f"prior_match_{n}"] = two_sample.prior_match(codes, prior.sample, n=n, seed=0)
            out[f"prior_match_{n}"]["seconds"] = round(time.perf_counter() - t, 1)
    else:
        model = adversarial.VAEGAN(
            vae.gaussian_mlp_encoder((28, 28), args.latent, args.enc_hidden),
            vae.logit_mlp_decoder(args.latent, (28, 28), args.dec_hidden),
            adversarial.conv_image_discriminator((28, 28), args.disc_filters, args.disc_features,
                                                 kernel_size=args.disc_kernel),
            beta=args.beta, pixel_weight=args.pixel_weight, feature_weight=args.feature_weight,
            adversarial_weight=args.adversarial_weight, seed=args.seed)
        adversarial.fit_vaegan(model, x_tr, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                               d_lr=args.adv_lr, callbacks=[timer], verbose=args.verbose)
        samples = model.sample(args.n_samples, seed=1)
        rec = model.reconstruct(x_test)
    train_seconds = time.perf_counter() - t0
    j = judge.load_judge()
    out.update(
        train_seconds=round(train_seconds, 1),
        seconds_per_epoch=round(timer.seconds_per_epoch, 2),
        test_mse=round(float(metrics.mse(x_test, rec)), 5),
        frechet=round(frechet.frechet_distance_images(j, x_test[: args.n_samples], samples), 2),
        history_last={k: round(float(v[-1]), 4) for k, v in model.history.history.items()},
    )
    if args.model == "aae" and args.supervised:
        out["class_accuracy"] = round(judge.class_accuracy(j, samples, labels), 4)
    if args.save:
        model.save(args.save)
    print(json.dumps(out, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
