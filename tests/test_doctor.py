"""Tests for course_lib.doctor: environment report, GPU set-up, mixed precision, seeding.

This machine has no GPU, so the GPU paths run against fakes: ``tf.config`` functions are
monkeypatched to report ``tf.config.PhysicalDevice`` objects of type GPU and to record
(or refuse) memory-growth changes. Mixed precision and seeding run for real on the CPU.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import FrozenInstanceError
from typing import Any

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

# Private TF module: the only way to read (and undo) op determinism, used here so that the
# tests do not leave determinism switched on for other test files.
from tensorflow.python.framework import config as tf_framework_config

from course_lib import doctor

REAL_GPUS = bool(tf.config.list_physical_devices("GPU"))
cpu_only = pytest.mark.skipif(REAL_GPUS, reason="checks the CPU behaviour; a GPU is present")


@pytest.fixture(autouse=True)
def clean_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No $COURSE_XLA; restore PYTHONHASHSEED, the dtype policy and op determinism after."""
    monkeypatch.delenv(doctor.XLA_ENV_VAR, raising=False)
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)  # records the original for teardown
    policy = keras.mixed_precision.global_policy().name
    determinism = tf_framework_config.is_op_determinism_enabled()
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(policy)
        if not determinism:
            tf_framework_config.disable_op_determinism()


@pytest.fixture
def fake_gpus(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Pretend two GPUs exist; record memory-growth settings in ``state["growth"]``."""
    devices = [
        tf.config.PhysicalDevice(name=f"/physical_device:GPU:{i}", device_type="GPU")
        for i in range(2)
    ]
    state: dict[str, Any] = {"devices": devices, "growth": {}, "too_late": False}
    real_list = tf.config.list_physical_devices

    def list_physical_devices(device_type: str | None = None) -> list[Any]:
        return list(devices) if device_type == "GPU" else real_list(device_type)

    def set_memory_growth(device: Any, enable: bool) -> None:
        if state["too_late"]:
            raise RuntimeError("Physical devices cannot be modified after being initialized")
        state["growth"][device.name] = enable

    def get_memory_growth(device: Any) -> bool:
        return state["growth"].get(device.name, False)

    def get_device_details(device: Any) -> dict[str, Any]:
        return {"device_name": "Fake T4", "compute_capability": (7, 5)}

    monkeypatch.setattr(tf.config, "list_physical_devices", list_physical_devices)
    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", set_memory_growth)
    monkeypatch.setattr(tf.config.experimental, "get_memory_growth", get_memory_growth)
    monkeypatch.setattr(tf.config.experimental, "get_device_details", get_device_details)
    return state


FAKE_NAMES = ("/physical_device:GPU:0 (Fake T4)", "/physical_device:GPU:1 (Fake T4)")


# --- import cost ----------------------------------------------------------------------


def test_importing_doctor_does_not_import_tensorflow() -> None:
    code = (
        "import sys, course_lib.doctor; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]


# --- environment report ---------------------------------------------------------------


def test_report_has_the_real_versions() -> None:
    report = doctor.environment_report()
    assert report.python == platform.python_version()
    assert report.tensorflow == tf.__version__
    assert report.keras == keras.__version__
    assert report.keras_backend == keras.backend.backend() == "tensorflow"
    assert report.numpy == np.__version__
    assert report.matplotlib == matplotlib.__version__
    assert report.platform == platform.platform()
    assert report.cpu_count >= 1
    if hasattr(os, "sched_getaffinity"):
        assert report.cpu_count == len(os.sched_getaffinity(0))
    assert report.mixed_precision_policy == keras.mixed_precision.global_policy().name


def test_report_is_frozen() -> None:
    report = doctor.environment_report()
    with pytest.raises(FrozenInstanceError):
        report.xla = True  # type: ignore[misc]


def test_format_contains_the_versions_and_advice() -> None:
    report = doctor.environment_report()
    text = report.format()
    for value in (
        report.python,
        report.tensorflow,
        report.keras,
        report.numpy,
        report.matplotlib,
        report.keras_backend,
        report.mixed_precision_policy,
    ):
        assert value in text
    assert str(report.cpu_count) in text
    assert " ".join(report.advice.split()) in " ".join(text.split())  # advice may be wrapped
    assert max(len(line) for line in text.splitlines()) <= 100


@cpu_only
def test_report_on_this_cpu_machine() -> None:
    report = doctor.environment_report()
    assert report.gpus == ()
    assert report.gpu_memory_growth is None
    assert report.xla is False
    assert report.advice == doctor.CPU_ADVICE
    assert "workshop" in report.advice and "2-core" in report.advice
    assert "full profile is meant for a GPU" in report.advice
    assert re.search(r"^  GPUs +none$", report.format(), flags=re.MULTILINE)


def test_report_with_fake_gpus(fake_gpus: dict[str, Any]) -> None:
    doctor.configure_gpu()
    report = doctor.environment_report()
    assert report.gpus == FAKE_NAMES
    assert report.gpu_memory_growth is True
    assert report.xla is True
    assert report.advice == doctor.GPU_ADVICE and "full profile" in report.advice
    assert "Fake T4" in report.format()


def test_report_memory_growth_false_when_off(fake_gpus: dict[str, Any]) -> None:
    assert doctor.environment_report().gpu_memory_growth is False


@pytest.mark.parametrize(
    ("gpus", "system", "machine", "metal", "expected"),
    [
        ((), "Linux", "x86_64", False, doctor.CPU_ADVICE),
        (("GPU:0",), "Linux", "x86_64", False, doctor.GPU_ADVICE),
        ((), "Darwin", "arm64", False, doctor.APPLE_NO_METAL_ADVICE),
        ((), "Darwin", "arm64", True, doctor.CPU_ADVICE),  # metal installed but no GPU seen
        (("GPU:0",), "Darwin", "arm64", True, doctor.GPU_ADVICE),
        ((), "Darwin", "x86_64", False, doctor.CPU_ADVICE),  # Intel Mac: no Metal GPU path
    ],
)
def test_advice_table(
    gpus: tuple[str, ...], system: str, machine: str, metal: bool, expected: str
) -> None:
    assert doctor.advice_for(gpus, system, machine, metal) == expected


def test_apple_advice_names_tensorflow_metal() -> None:
    assert "tensorflow-metal" in doctor.APPLE_NO_METAL_ADVICE


# --- GPU configuration ----------------------------------------------------------------


@cpu_only
def test_configure_gpu_is_a_no_op_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_be_called(*args: Any) -> None:
        raise AssertionError("set_memory_growth called without a GPU")

    monkeypatch.setattr(tf.config.experimental, "set_memory_growth", must_not_be_called)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert doctor.configure_gpu() == ()


def test_configure_gpu_enables_growth_on_every_gpu(fake_gpus: dict[str, Any]) -> None:
    assert doctor.configure_gpu() == FAKE_NAMES
    assert fake_gpus["growth"] == {"/physical_device:GPU:0": True, "/physical_device:GPU:1": True}


def test_configure_gpu_can_disable_growth(fake_gpus: dict[str, Any]) -> None:
    doctor.configure_gpu(memory_growth=False)
    assert set(fake_gpus["growth"].values()) == {False}
    assert len(fake_gpus["growth"]) == 2


def test_configure_gpu_too_late_warns_and_does_not_crash(fake_gpus: dict[str, Any]) -> None:
    fake_gpus["too_late"] = True
    with pytest.warns(RuntimeWarning, match="already initialised") as record:
        names = doctor.configure_gpu()
    assert names == FAKE_NAMES
    assert len(record) == 1  # one warning, not one per GPU
    message = str(record[0].message)
    assert "Restart the kernel" in message and "cannot be modified" in message


def test_gpu_name_falls_back_to_device_id_without_details(
    fake_gpus: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_details(device: Any) -> dict[str, Any]:
        raise ValueError("Unrecognized device")

    monkeypatch.setattr(tf.config.experimental, "get_device_details", no_details)
    assert doctor.configure_gpu() == ("/physical_device:GPU:0", "/physical_device:GPU:1")


# --- XLA ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "env", "gpu", "expected"),
    [
        (True, None, False, True),
        (False, None, True, False),
        (True, "0", False, True),  # the argument beats the environment
        (False, "1", True, False),
        (None, "1", False, True),  # the environment beats the hardware
        (None, "0", True, False),
        (None, " TRUE ", False, True),
        (None, "false", True, False),
        (None, "", True, True),  # blank means unset
        (None, None, True, True),  # GPU: on
        (None, None, False, False),  # CPU: off (measured slower)
    ],
)
def test_use_xla_decision_table(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    requested: bool | None,
    env: str | None,
    gpu: bool,
    expected: bool,
) -> None:
    if gpu:
        request.getfixturevalue("fake_gpus")
    else:
        monkeypatch.setattr(doctor, "_physical_gpus", lambda: [])
    if env is not None:
        monkeypatch.setenv(doctor.XLA_ENV_VAR, env)
    assert doctor.use_xla(requested) is expected


def test_use_xla_invalid_env_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(doctor.XLA_ENV_VAR, "maybe")
    with pytest.raises(ValueError, match=r"\$COURSE_XLA must be '1'.*'0'.*'maybe'"):
        doctor.use_xla()
    assert doctor.use_xla(True) is True  # an explicit choice does not read the variable


def test_report_reflects_xla_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(doctor.XLA_ENV_VAR, "1")
    assert doctor.environment_report().xla is True
    monkeypatch.setenv(doctor.XLA_ENV_VAR, "0")
    assert doctor.environment_report().xla is False


# --- mixed precision ------------------------------------------------------------------


@cpu_only
def test_mixed_precision_on_cpu_warns_and_stays_float32() -> None:
    with pytest.warns(UserWarning, match="tensor cores"):
        assert doctor.set_mixed_precision(True) == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_mixed_precision_allowed_on_cpu_really_computes_in_float16() -> None:
    assert doctor.set_mixed_precision(True, allow_on_cpu=True) == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "mixed_float16"
    layer = keras.layers.Dense(4)
    outputs = layer(np.ones((2, 3), dtype="float32"))
    assert layer.compute_dtype == "float16"
    assert layer.variable_dtype == "float32"
    assert layer.kernel.dtype == "float32"
    assert keras.backend.standardize_dtype(outputs.dtype) == "float16"
    assert doctor.environment_report().mixed_precision_policy == "mixed_float16"


def test_mixed_precision_disabled_restores_float32() -> None:
    doctor.set_mixed_precision(True, allow_on_cpu=True)
    assert doctor.set_mixed_precision(False) == "float32"
    layer = keras.layers.Dense(2)
    outputs = layer(np.ones((1, 3), dtype="float32"))
    assert layer.compute_dtype == "float32"
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"


def test_mixed_precision_on_fake_gpu_needs_no_permission(fake_gpus: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert doctor.set_mixed_precision(True) == "mixed_float16"


def test_policy_fixture_starts_from_float32() -> None:
    # Guards the clean_state fixture: an earlier test's mixed policy must not leak here.
    assert keras.mixed_precision.global_policy().name == "float32"


# --- seeding --------------------------------------------------------------------------


def _draws() -> dict[str, np.ndarray]:
    """One draw from every random source the course uses, plus fresh Dense weights."""
    layer = keras.layers.Dense(4)
    layer.build((None, 3))
    return {
        "keras.random": keras.ops.convert_to_numpy(keras.random.normal((5,))),
        "tf.random": tf.random.uniform((5,)).numpy(),
        # The legacy global NumPy state is what set_random_seed seeds (and what np.random.*
        # calls in learners' code use), so that is what is checked here.
        "numpy": np.random.rand(5),  # noqa: NPY002
        "random": np.array([random.random() for _ in range(5)]),
        "dense_kernel": layer.kernel.numpy(),
    }


def test_same_seed_gives_identical_draws() -> None:
    doctor.seed_everything(0, deterministic=False)
    first = _draws()
    doctor.seed_everything(0, deterministic=False)
    second = _draws()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_different_seeds_give_different_draws() -> None:
    doctor.seed_everything(0, deterministic=False)
    first = _draws()
    doctor.seed_everything(1, deterministic=False)
    second = _draws()
    for key in first:
        assert not np.array_equal(first[key], second[key]), key


def test_seed_sets_pythonhashseed_for_subprocesses() -> None:
    doctor.seed_everything(123, deterministic=False)
    assert os.environ["PYTHONHASHSEED"] == "123"


def test_deterministic_enables_op_determinism() -> None:
    tf_framework_config.disable_op_determinism()
    doctor.seed_everything(0, deterministic=False)
    assert not tf_framework_config.is_op_determinism_enabled()
    doctor.seed_everything(0, deterministic=True)
    assert tf_framework_config.is_op_determinism_enabled()


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None, 2**32])
def test_invalid_seed_is_rejected(seed: Any) -> None:
    with pytest.raises(ValueError, match="seed must be"):
        doctor.seed_everything(seed, deterministic=False)


def test_numpy_integer_seed_is_accepted() -> None:
    doctor.seed_everything(np.int64(7), deterministic=False)
    assert os.environ["PYTHONHASHSEED"] == "7"


# --- setup and main -------------------------------------------------------------------


def test_setup_runs_the_steps_in_order_and_prints_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, Any]] = []
    for step in ("configure_gpu", "set_mixed_precision", "seed_everything"):
        real = getattr(doctor, step)

        def spy(*args: Any, _step: str = step, _real: Any = real, **kwargs: Any) -> Any:
            calls.append((_step, args, kwargs))
            return _real(*args, **kwargs)

        monkeypatch.setattr(doctor, step, spy)
    report = doctor.setup(seed=5, memory_growth=False, deterministic=False)
    assert calls == [
        ("configure_gpu", (False,), {}),
        ("set_mixed_precision", (False,), {}),
        ("seed_everything", (5,), {"deterministic": False}),
    ]
    assert isinstance(report, doctor.EnvironmentReport)
    assert capsys.readouterr().out.strip() == report.format()
    assert os.environ["PYTHONHASHSEED"] == "5"


def test_setup_quiet_prints_nothing_and_seeds(capsys: pytest.CaptureFixture[str]) -> None:
    doctor.setup(seed=3, deterministic=False, verbose=False)
    first = np.random.rand(3)  # noqa: NPY002 (the legacy global state is what is seeded)
    doctor.setup(seed=3, deterministic=False, verbose=False)
    np.testing.assert_array_equal(first, np.random.rand(3))  # noqa: NPY002
    assert capsys.readouterr().out == ""


def test_setup_default_is_deterministic_float32() -> None:
    tf_framework_config.disable_op_determinism()
    report = doctor.setup(verbose=False)
    assert tf_framework_config.is_op_determinism_enabled()
    assert report.mixed_precision_policy == "float32"


def test_setup_mixed_precision_with_fake_gpu(fake_gpus: dict[str, Any]) -> None:
    report = doctor.setup(mixed_precision=True, deterministic=False, verbose=False)
    assert report.mixed_precision_policy == "mixed_float16"
    assert report.gpu_memory_growth is True


def test_main_prints_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    for version in (tf.__version__, keras.__version__, np.__version__, platform.python_version()):
        assert version in out


def test_main_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tensorflow"] == tf.__version__
    assert data["keras"] == keras.__version__
    assert isinstance(data["gpus"], list)


def test_main_reports_invalid_env_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(doctor.XLA_ENV_VAR, "yes please")
    assert doctor.main([]) == 2
    captured = capsys.readouterr()
    assert "COURSE_XLA" in captured.err and "yes please" in captured.err
    assert captured.out == ""
