"""Train the course's fixed Fashion-MNIST classifier (the *judge*) and write a new version.

The judge (:mod:`course_lib.judge`) scores generated images in later notebooks. It is
trained once per version and committed; this script is how a version is made::

    python scripts/train_judge.py                     # version 1 into course_lib/assets/
    python scripts/train_judge.py --version 2         # a new version (never edit an old one)
    python scripts/train_judge.py --epochs 1 --train-size 2000 --out-dir /tmp/judge  # a quick check

It trains :func:`course_lib.judge.build_classifier` on the 55,000 training images (the
course's fixed 5,000-image validation split is held out and used for monitoring) with
Adam under a warm-up + cosine-decay schedule and random horizontal flips, reproducibly
(``keras.utils.set_random_seed``, deterministic ops), then measures its accuracy on all
10,000 test images through the same code path that :func:`course_lib.judge.load_judge` uses.
It writes ``fmnist_judge_v<N>.keras`` and ``fmnist_judge_v<N>.json`` (weights' SHA-256,
measured accuracies, configuration, seed, versions, date), reloads them to check that they
verify and reproduce the accuracy, and prints one JSON line with the results.

An existing version is never overwritten unless ``--force`` is given. Run it on one core
of a shared machine with ``taskset -c 1`` and ``OMP_NUM_THREADS=1``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The training configuration of the committed judge (recorded in its JSON).
CONFIG: dict = {
    "epochs": 12,
    "batch_size": 128,
    "optimizer": "adam",
    "peak_lr": 3e-3,
    "warmup_epochs": 0.5,
    "schedule": "course_lib.training.warmup_cosine",
    "loss": "sparse_categorical_crossentropy",
    "augmentation": "random horizontal flip (p=0.5), fresh every epoch",
    "dropout": 0.3,
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", type=int, default=1, help="judge version to write (default 1)")
    p.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    p.add_argument("--out-dir", type=Path, help="where to write (default: course_lib/assets)")
    p.add_argument("--force", action="store_true", help="overwrite an existing version")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--train-size", type=int, help="train on a stratified subset (quick checks only)"
    )
    p.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity (0, 1 or 2)")
    args = p.parse_args(argv)
    if args.version < 1:
        p.error(f"--version must be a positive integer, got {args.version}.")
    if args.epochs < 1:
        p.error(f"--epochs must be a positive integer, got {args.epochs}.")
    if args.train_size is not None and args.out_dir is None:
        p.error(
            "--train-size is for quick checks: also pass --out-dir (e.g. /tmp/judge) so that a "
            "weak judge never lands in course_lib/assets."
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    wall_start = time.perf_counter()

    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib import data, judge, training

    model_file, json_file = judge.artefact_paths(args.version, args.out_dir)
    existing = [str(p) for p in (model_file, json_file) if p.exists()]
    if existing and not args.force:  # fail before training, not after
        print(
            f"error: judge version {args.version} already exists ({', '.join(existing)}). "
            "A published version must not change: pick a new --version, or pass --force.",
            file=sys.stderr,
        )
        return 1

    try:
        ds = data.load_fashion_mnist(verbose=False, allow_subset=False)
    except data.DataError as exc:
        print(f"error: the judge is trained on the full Fashion-MNIST. {exc}", file=sys.stderr)
        return 1
    splits = data.prepare_splits(ds, train_size=args.train_size, channel_axis=True)

    cfg = {**CONFIG, "epochs": args.epochs}
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(args.seed)

    model = judge.build_classifier(dropout=cfg["dropout"])
    steps = int(np.ceil(len(splits.x_train) / cfg["batch_size"]))
    schedule = training.warmup_cosine(steps, cfg["epochs"], cfg["peak_lr"], cfg["warmup_epochs"])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=cfg["loss"], metrics=["accuracy"])

    timer = training.EpochTimer()
    train_start = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        x = splits.x_train.copy()
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip, :, ::-1]
        model.fit(
            x,
            splits.y_train,
            batch_size=cfg["batch_size"],
            epochs=epoch + 1,
            initial_epoch=epoch,
            validation_data=(splits.x_val, splits.y_val),
            callbacks=[timer],
            verbose=args.verbose,
        )
    train_seconds = time.perf_counter() - train_start

    # Measure through the code path that load_judge() users get (batched, inference mode).
    trained = judge.Judge(model=model, version=args.version, test_accuracy=float("nan"), info={})
    test_acc = judge.class_accuracy(trained, splits.x_test, splits.y_test)
    val_acc = judge.class_accuracy(trained, splits.x_val, splits.y_val)

    info = {
        "test_accuracy": round(test_acc, 6),
        "val_accuracy": round(val_acc, 6),
        "test_examples": len(splits.y_test),
        "train_examples": len(splits.y_train),
        "val_examples": len(splits.y_val),
        "data": f"{ds.kind}: {ds.location}",
        "architecture": "conv32(3x3,valid)-maxpool-conv64(3x3,valid)-maxpool-dense128"
        "('features',relu)-dropout-dense10(softmax)",
        "params": int(model.count_params()),
        "seed": args.seed,
        "training": cfg,
        "train_seconds": round(train_seconds, 1),
        "seconds_per_epoch": round(timer.seconds_per_epoch, 2),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs visible",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(
            ["python scripts/train_judge.py", *(argv if argv is not None else sys.argv[1:])]
        ),
    }
    judge.save_judge(model, args.version, info, args.out_dir, force=args.force)

    # The written files must verify and reproduce the measured accuracy.
    reloaded = judge.load_judge(args.version, directory=model_file.parent)
    reloaded_acc = judge.class_accuracy(reloaded, splits.x_test, splits.y_test)
    if abs(reloaded_acc - test_acc) > 1e-4:
        print(
            f"error: the saved judge gives test accuracy {reloaded_acc:.4f}, the trained model "
            f"{test_acc:.4f}: saving lost something. Do not commit these files.",
            file=sys.stderr,
        )
        return 1

    print(
        json.dumps(
            {
                "version": args.version,
                "test_accuracy": info["test_accuracy"],
                "val_accuracy": info["val_accuracy"],
                "train_seconds": info["train_seconds"],
                "seconds_per_epoch": info["seconds_per_epoch"],
                "wall_seconds": round(time.perf_counter() - wall_start, 1),
                "params": info["params"],
                "model_file": str(model_file),
                "model_bytes": model_file.stat().st_size,
                "weights_sha256": reloaded.info["weights_sha256"],
                "training": cfg,
                "seed": args.seed,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
