"""Train the course's fixed spoken-digit classifier (the *audio judge*) and write a new version.

The audio judge (:mod:`course_lib.audio_judge`) scores generated sounds in notebook 11. It is
trained once per version and committed; this script is how a version is made::

    python scripts/train_audio_judge.py                    # version 1 into course_lib/assets/
    python scripts/train_audio_judge.py --version 2        # a new version (never edit an old one)
    python scripts/train_audio_judge.py --epochs 2 --out-dir /tmp/audio_judge   # a quick check

It trains :func:`course_lib.audio_judge.build_audio_classifier` on the log-mel images of the 860
bundled training clips (:func:`course_lib.audio.load_spoken_digits`) with Adam under a warm-up +
cosine-decay schedule, reproducibly (``keras.utils.set_random_seed``, deterministic ops), with
fresh augmentation every epoch: each clip shifted in time by up to 4 frames (50 ms) and made
up to 6 dB louder or quieter, so that the judge does not depend on where in the window a word
starts or how loud it is. Then it measures the accuracy

- on the 220 test clips (voice settings the judge never heard), and
- on the same clips after a round trip through what a generator's output goes through:
  log-mel image -> mel pseudo-inverse -> Griffin-Lim (32 iterations) -> waveform -> log-mel.

It writes ``spoken_digit_judge_v<N>.keras`` and ``.json`` (weights' SHA-256, the measured
accuracies, configuration, seed, versions, date), reloads them to check that they verify and
reproduce the accuracy, and prints one JSON line. An existing version is never overwritten
unless ``--force`` is given. Takes well under a minute on a 2-core CPU; run it under the
course's CPU lock on a shared machine.

Measured (version 1, committed; 2-core CPU, alone under the course's CPU lock): test accuracy
1.000 on the 220 test clips, 1.000 after the Griffin-Lim round trip, 1.000 on the training
clips; 286,154 parameters (1.19 MB file); 30 epochs in 40.0 s (about 1.3 s per epoch), 2.5 s
for the round trip of 220 clips, 48.1 s in all. The committed files were written by
``--out-dir /tmp/aj1 --verbose 2`` (as their JSON records) and copied into course_lib/assets/.
The task is easy for the judge -- synthetic speech is regular -- so a perfect score on real clips
says little about how demanding it is on generated ones: bench_audio_vae.py finds that even the
class-average spectrogram of each digit is heard right.
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
    "epochs": 30,
    "batch_size": 32,
    "optimizer": "adam",
    "peak_lr": 2e-3,
    "warmup_epochs": 1.0,
    "schedule": "course_lib.training.warmup_cosine",
    "loss": "sparse_categorical_crossentropy",
    "augmentation": "time shift of -4..4 frames (zeros shifted in) and gain of -6..6 dB, fresh every epoch",
    "dropout": 0.3,
    "griffin_lim_iterations": 32,
}
MAX_SHIFT = 4
MAX_GAIN_DB = 6.0


def augment(images, rng):
    """Shift every log-mel image in time by -MAX_SHIFT..MAX_SHIFT frames and change its gain."""
    import numpy as np

    from course_lib import audio

    out = np.zeros_like(images)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, len(images))
    gains = rng.uniform(-MAX_GAIN_DB, MAX_GAIN_DB, len(images)) / (audio.DB_MAX - audio.DB_MIN)
    for i, (img, s) in enumerate(zip(images, shifts, strict=True)):
        out[i] = np.roll(img, s, axis=0)
        if s > 0:
            out[i, :s] = 0.0
        elif s < 0:
            out[i, s:] = 0.0
    silent = out == 0.0
    out = np.clip(out + gains[:, None, None], 0.0, 1.0)
    out[silent] = 0.0  # silence stays silent
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--epochs", type=int, default=CONFIG["epochs"])
    p.add_argument("--out-dir", type=Path, help="where to write (default: course_lib/assets)")
    p.add_argument("--force", action="store_true", help="overwrite an existing version")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0, help="Keras fit verbosity (0, 1 or 2)")
    args = p.parse_args(argv)
    if args.version < 1 or args.epochs < 1:
        p.error("--version and --epochs must be positive integers.")
    wall_start = time.perf_counter()

    import keras
    import numpy as np
    import tensorflow as tf

    from course_lib import audio, audio_judge, training

    model_file, json_file = audio_judge.artefact_paths(args.version, args.out_dir)
    if (model_file.exists() or json_file.exists()) and not args.force:
        print(f"error: audio judge version {args.version} already exists: pick a new --version, "
              "or pass --force.", file=sys.stderr)
        return 1

    data = audio.load_spoken_digits()
    x_train, x_test = audio.log_mel(data.x_train), audio.log_mel(data.x_test)
    cfg = {**CONFIG, "epochs": args.epochs}
    keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(args.seed)

    model = audio_judge.build_audio_classifier(dropout=cfg["dropout"])
    steps = int(np.ceil(len(x_train) / cfg["batch_size"]))
    schedule = training.warmup_cosine(steps, cfg["epochs"], cfg["peak_lr"], cfg["warmup_epochs"])
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss=cfg["loss"], metrics=["accuracy"])
    train_start = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        model.fit(augment(x_train, rng)[..., None], data.y_train, batch_size=cfg["batch_size"],
                  epochs=epoch + 1, initial_epoch=epoch, verbose=args.verbose)
    train_seconds = time.perf_counter() - train_start

    trained = audio_judge.AudioJudge(model=model, version=args.version, test_accuracy=float("nan"), info={})
    test_acc = audio_judge.class_accuracy(trained, x_test, data.y_test)
    train_acc = audio_judge.class_accuracy(trained, x_train, data.y_train)
    gl_start = time.perf_counter()
    round_trip = audio.log_mel(audio.log_mel_to_waveform(x_test, cfg["griffin_lim_iterations"]))
    gl_seconds = time.perf_counter() - gl_start
    round_trip_acc = audio_judge.class_accuracy(trained, round_trip, data.y_test)

    info = {
        "test_accuracy": round(test_acc, 6),
        "test_accuracy_after_griffin_lim": round(round_trip_acc, 6),
        "train_accuracy": round(train_acc, 6),
        "test_examples": len(data.y_test),
        "train_examples": len(data.y_train),
        "data": f"{audio.DATA_FILE} (train_audio sha256 {audio.DATA_SHA256['train_audio'][:16]}...)",
        "input": "course_lib.audio.log_mel images (64 frames x 64 mel bands, [0, 1])",
        "architecture": "3x[conv3x3(16/32/64,same,relu)-maxpool]-dense64('features',relu)-dropout-dense10(softmax)",
        "params": int(model.count_params()),
        "seed": args.seed,
        "training": cfg,
        "train_seconds": round(train_seconds, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs visible",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python scripts/train_audio_judge.py", *(argv if argv is not None else sys.argv[1:])]),
    }
    audio_judge.save_audio_judge(model, args.version, info, args.out_dir, force=args.force)
    reloaded = audio_judge.load_audio_judge(args.version, directory=model_file.parent)
    reloaded_acc = audio_judge.class_accuracy(reloaded, x_test, data.y_test)
    if abs(reloaded_acc - test_acc) > 1e-6:
        print(f"error: the saved judge gives {reloaded_acc:.4f}, the trained one {test_acc:.4f}. "
              "Do not commit these files.", file=sys.stderr)
        return 1
    print(json.dumps({
        "version": args.version, "test_accuracy": info["test_accuracy"],
        "test_accuracy_after_griffin_lim": info["test_accuracy_after_griffin_lim"],
        "train_accuracy": info["train_accuracy"], "train_seconds": info["train_seconds"],
        "griffin_lim_seconds_220_clips": round(gl_seconds, 1),
        "wall_seconds": round(time.perf_counter() - wall_start, 1), "params": info["params"],
        "model_file": str(model_file), "model_bytes": model_file.stat().st_size,
        "weights_sha256": reloaded.info["weights_sha256"], "seed": args.seed,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
