"""Environment report, GPU set-up and seeding: the first cell of every notebook.

``report = doctor.setup(seed=42)`` does, in this order:

1. :func:`configure_gpu`: turn on memory growth, so TensorFlow does not grab all GPU
   memory at start-up (this must happen before any GPU is used);
2. :func:`set_mixed_precision`: float32 unless asked otherwise;
3. :func:`seed_everything`: the same random numbers on every run;
4. :func:`environment_report`: what the notebook is running on, printed for the learner.

Run ``python -m course_lib.doctor`` (or ``make doctor``) to check an installation, for
example that TensorFlow sees your GPU.

TensorFlow and Keras are imported inside the functions, so ``import course_lib.doctor``
stays cheap.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import numbers
import os
import platform
import sys
import textwrap
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Environment variable that overrides the XLA recommendation of :func:`use_xla`.
XLA_ENV_VAR = "COURSE_XLA"
_TRUE_VALUES = ("1", "true")
_FALSE_VALUES = ("0", "false")

CPU_ADVICE = (
    "No GPU found: running on the CPU. The workshop profile is sized for a 2-core laptop "
    "CPU; the full profile is meant for a GPU (on a CPU some notebooks take over an hour)."
)
GPU_ADVICE = (
    "GPU found: you can run the full profile (PROFILE='full' or COURSE_PROFILE=full) "
    "for reference-quality results."
)
APPLE_NO_METAL_ADVICE = (
    "Apple Silicon without tensorflow-metal: TensorFlow cannot use the Mac's GPU and runs "
    "on the CPU. `pip install tensorflow-metal` to use it; until then, the workshop "
    "profile is sized for a laptop CPU and the full profile can take over an hour per notebook."
)


@dataclass(frozen=True)
class EnvironmentReport:
    """What a notebook runs on: versions, hardware and the settings that matter for speed."""

    python: str
    tensorflow: str
    keras: str
    keras_backend: str
    numpy: str
    matplotlib: str
    platform: str
    cpu_count: int
    gpus: tuple[str, ...]
    gpu_memory_growth: bool | None
    mixed_precision_policy: str
    xla: bool
    advice: str

    def format(self) -> str:
        """A readable multi-line block for the top of a notebook."""
        growth = {None: "n/a", True: "on", False: "off"}[self.gpu_memory_growth]
        rows = [
            ("Python", self.python),
            ("TensorFlow", self.tensorflow),
            ("Keras", f"{self.keras} (backend: {self.keras_backend})"),
            ("NumPy", self.numpy),
            ("Matplotlib", self.matplotlib),
            ("Platform", self.platform),
            ("CPU cores", str(self.cpu_count)),
            ("GPUs", ", ".join(self.gpus) if self.gpus else "none"),
            ("GPU memory growth", growth),
            ("Mixed precision", self.mixed_precision_policy),
            ("XLA (jit_compile)", "on" if self.xla else "off"),
        ]
        width = max(len(label) for label, _ in rows)
        lines = ["Environment", *(f"  {label:<{width}}  {value}" for label, value in rows)]
        lines.append(
            textwrap.fill(self.advice, width=88, initial_indent="  ", subsequent_indent="  ")
        )
        return "\n".join(lines)


def _physical_gpus() -> list[Any]:
    """The physical GPU devices TensorFlow can see (listing them does not initialise them)."""
    import tensorflow as tf

    return list(tf.config.list_physical_devices("GPU"))


def _gpu_name(device: Any) -> str:
    """``/physical_device:GPU:0 (NVIDIA T4)`` when TensorFlow knows the model, else the id."""
    import tensorflow as tf

    try:
        model = tf.config.experimental.get_device_details(device).get("device_name")
    except Exception:  # details are best effort (fake devices in tests, odd plugins)
        model = None
    return f"{device.name} ({model})" if model else device.name


def _memory_growth(gpus: Sequence[Any]) -> bool | None:
    """``None`` without GPUs, else whether memory growth is on for every GPU."""
    import tensorflow as tf

    if not gpus:
        return None
    return all(bool(tf.config.experimental.get_memory_growth(gpu)) for gpu in gpus)


def _version(module_name: str) -> str:
    """A module's ``__version__``, or ``"not installed"``."""
    try:
        return str(importlib.import_module(module_name).__version__)
    except ImportError:
        return "not installed"


def _has_tensorflow_metal() -> bool:
    from importlib import metadata

    try:
        metadata.version("tensorflow-metal")
    except metadata.PackageNotFoundError:
        return False
    return True


def _cpu_count() -> int:
    """CPU cores this process may use (respects affinity/container limits where possible)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def advice_for(gpus: Sequence[str], system: str, machine: str, has_metal: bool) -> str:
    """What the hardware means for the learner's choice of profile."""
    if gpus:
        return GPU_ADVICE
    if system == "Darwin" and machine == "arm64" and not has_metal:
        return APPLE_NO_METAL_ADVICE
    return CPU_ADVICE


def environment_report() -> EnvironmentReport:
    """Collect versions, hardware and the current Keras/XLA settings."""
    import keras

    devices = _physical_gpus()
    gpus = tuple(_gpu_name(device) for device in devices)
    return EnvironmentReport(
        python=platform.python_version(),
        tensorflow=_version("tensorflow"),
        keras=keras.__version__,
        keras_backend=keras.backend.backend(),
        numpy=_version("numpy"),
        matplotlib=_version("matplotlib"),
        platform=platform.platform(),
        cpu_count=_cpu_count(),
        gpus=gpus,
        gpu_memory_growth=_memory_growth(devices),
        mixed_precision_policy=keras.mixed_precision.global_policy().name,
        xla=use_xla(),
        advice=advice_for(gpus, platform.system(), platform.machine(), _has_tensorflow_metal()),
    )


def configure_gpu(memory_growth: bool = True) -> tuple[str, ...]:
    """Turn GPU memory growth on (or off) for every GPU; return the GPU names.

    By default TensorFlow reserves almost all GPU memory as soon as it touches a GPU,
    which starves other notebooks and processes on the same card. Memory growth makes it
    allocate as needed. It can only be changed before the GPUs are initialised (before
    the first tensor op); if that has already happened, TensorFlow raises
    ``RuntimeError`` and this function warns instead of crashing. On a CPU it does
    nothing and returns ``()``.
    """
    import tensorflow as tf

    devices = _physical_gpus()
    for device in devices:
        try:
            tf.config.experimental.set_memory_growth(device, memory_growth)
        except RuntimeError as err:
            warnings.warn(
                f"could not set GPU memory growth to {memory_growth}: the GPUs were already "
                f"initialised (TensorFlow ran before doctor.setup()). Restart the kernel and "
                f"run the set-up cell first. TensorFlow said: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
            break
    return tuple(_gpu_name(device) for device in devices)


def set_mixed_precision(enabled: bool, *, allow_on_cpu: bool = False) -> str:
    """Set the Keras global dtype policy; return the active policy name.

    ``enabled`` selects ``"mixed_float16"``: layers compute in float16 but keep float32
    variables, which is faster on GPUs with tensor cores. On a CPU it only slows things
    down, so it stays ``"float32"`` with a warning, unless ``allow_on_cpu`` (used by tests
    and exercises to check the logic without a GPU). ``enabled=False`` restores
    ``"float32"``, so re-running a set-up cell undoes an earlier choice.
    """
    import keras

    policy = "float32"
    if enabled:
        if _physical_gpus() or allow_on_cpu:
            policy = "mixed_float16"
        else:
            warnings.warn(
                "mixed precision only helps on GPUs with tensor cores; no GPU found, "
                "so the policy stays float32",
                UserWarning,
                stacklevel=2,
            )
    keras.mixed_precision.set_global_policy(policy)
    return keras.mixed_precision.global_policy().name


def use_xla(requested: bool | None = None) -> bool:
    """The recommended ``jit_compile`` value for ``model.compile``.

    ``requested`` wins if given; otherwise ``$COURSE_XLA`` (``"1"``/``"0"``, also
    ``"true"``/``"false"``) if set and not blank; otherwise on for a GPU and off on a CPU,
    where XLA compilation was measured to make this course's models slower.
    """
    if requested is not None:
        return bool(requested)
    raw = os.environ.get(XLA_ENV_VAR, "").strip().lower()
    if raw in _TRUE_VALUES:
        return True
    if raw in _FALSE_VALUES:
        return False
    if raw:
        raise ValueError(
            f"${XLA_ENV_VAR} must be '1' (XLA on) or '0' (XLA off), got {os.environ[XLA_ENV_VAR]!r}"
        )
    return bool(_physical_gpus())


def seed_everything(seed: int = 42, *, deterministic: bool = True) -> None:
    """Make runs repeatable: seed Python, NumPy, TensorFlow and Keras.

    ``keras.utils.set_random_seed`` seeds ``random``, NumPy and TensorFlow and resets the
    Keras global seed generator (used by ``keras.random`` and layer initialisers).
    ``PYTHONHASHSEED`` is set for subprocesses (it cannot change this process's hashing).

    ``deterministic=True`` also calls ``tf.config.experimental.enable_op_determinism()``:
    GPU kernels then use deterministic algorithms, which is slower (sometimes markedly),
    and ops without a deterministic GPU implementation raise an error instead of giving
    run-to-run noise; ``tf.data`` may also run some stages serially. It is process-global
    and TensorFlow offers no public way to turn it off again, so ``deterministic=False``
    leaves an earlier choice in place (restart the kernel to undo it).
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if seed >= 2**32:
        raise ValueError(f"seed must be below 2**32 (NumPy's limit), got {seed}")
    import keras
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(int(seed))
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def setup(
    seed: int = 42,
    *,
    mixed_precision: bool = False,
    memory_growth: bool = True,
    deterministic: bool = True,
    verbose: bool = True,
) -> EnvironmentReport:
    """Prepare a notebook: GPU memory growth, dtype policy, seeds; print and return a report."""
    configure_gpu(memory_growth)
    set_mixed_precision(mixed_precision)
    seed_everything(seed, deterministic=deterministic)
    report = environment_report()
    if verbose:
        print(report.format())
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course_lib.doctor [--json]``: print the environment report."""
    parser = argparse.ArgumentParser(
        prog="python -m course_lib.doctor",
        description="Check the course environment: versions, CPU/GPU, settings.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    configure_gpu()
    try:
        report = environment_report()
    except ValueError as err:  # e.g. an invalid $COURSE_XLA: say so without a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dataclasses.asdict(report), indent=2))
    else:
        print(report.format())
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
