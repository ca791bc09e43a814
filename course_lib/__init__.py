"""course_lib: tested helpers for the executable autoencoder course.

Each module has one job:

- :mod:`course_lib.paths`     where the repository, ``data/`` and ``build/`` are
- :mod:`course_lib.profiles`  compute budgets (``smoke`` / ``workshop`` / ``full``)
- :mod:`course_lib.data`      Fashion-MNIST: offline-first loading, integrity checks, helpers
- :mod:`course_lib.doctor`    environment report, GPU set-up, seeding
- :mod:`course_lib.plotting`  one consistent figure style for the whole course
- :mod:`course_lib.results`   metrics recorder (``build/results/<notebook>.json``)
- :mod:`course_lib.models`    encoder/decoder builders (dense and convolutional), the autoencoder model
- :mod:`course_lib.linear`    PCA baseline and subspace comparisons
- :mod:`course_lib.metrics`   MSE, PSNR, SSIM
- :mod:`course_lib.probe`     linear probe: logistic regression on frozen codes
- :mod:`course_lib.corruption` noise, masks and occlusions for denoising and inpainting
- :mod:`course_lib.baselines` classical denoisers (median, Gaussian filter) tuned on validation data
- :mod:`course_lib.training`  learning-rate schedule, epoch timer, fit with fresh corruption per epoch
- :mod:`course_lib.likelihoods` log-densities, the Gaussian KL, the importance-weighted log-likelihood
- :mod:`course_lib.vae`       sampling layer, VAE and conditional VAE models, active units
- :mod:`course_lib.judge`     the fixed, versioned Fashion-MNIST classifier that judges generated images
- :mod:`course_lib.frechet`   Fréchet distance in the judge's feature space (not Inception-FID)
- :mod:`course_lib.priors`    priors an adversarial autoencoder can match (Gaussian, mixture, ring, swiss roll)
- :mod:`course_lib.two_sample` maximum mean discrepancy: do codes match the prior?
- :mod:`course_lib.adversarial` adversarial autoencoder and VAE-GAN models with their training steps
- :mod:`course_lib.pagecheck` the page model against the library: copy weights, assert the same outputs
- :mod:`course_lib.saved_models` models a notebook saves for later notebooks, one folder per profile
- :mod:`course_lib.anomaly`, :mod:`course_lib.ood` one-class anomaly detection and out-of-distribution sets (08)
- :mod:`course_lib.compression`, :mod:`course_lib.bitstream`, :mod:`course_lib.classic_codecs`
  the learned codec, its files, and JPEG / WebP / PNG for comparison (09)
- :mod:`course_lib.vq`, :mod:`course_lib.autoregressive` the VQ-VAE, its PixelCNN prior (10) and a causal
  transformer prior (`scripts/bench_vqvae.py`)
- :mod:`course_lib.text`, :mod:`course_lib.seqvae` WordNet example sentences and the sentence VAE (11)
- :mod:`course_lib.audio`, :mod:`course_lib.audio_judge` spoken digits, spectrograms, Griffin–Lim,
  and the fixed audio classifier (11)
- :mod:`course_lib.attention`, :mod:`course_lib.mae`, :mod:`course_lib.fewlabel` attention, the
  masked autoencoder and the few-label study (12)
- :mod:`course_lib.runner`    runs, publishes and exports the notebooks (``make course``)

Modules are imported lazily by the notebooks (``from course_lib import data``) so that
importing the package itself does not import TensorFlow.
"""

__version__ = "0.1.0"
