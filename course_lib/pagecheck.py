"""Build, check, import: compare a model written on the page with course_lib's tested version.

The chapter that introduces a model writes its core in plain Keras 3 on the page (cells
tagged ``page-model``), then checks it against the library in a cell tagged ``page-check``:
the same weights (:func:`copy_weights`) or the same inputs must give the same outputs and the
same loss (:func:`assert_same`). Tagged cells are self-contained — they import what they use
and make their own small random inputs — so ``tests/test_page_models.py`` can run every
notebook's page models and checks on their own, in seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["assert_same", "copy_weights"]


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    else:
        import keras

        if keras.ops.is_tensor(value):
            value = keras.ops.convert_to_numpy(value)
    return np.asarray(value, dtype=np.float64)


def copy_weights(source: Any, target: Any) -> None:
    """Give ``target`` the weights of ``source`` (two Keras layers/models of the same architecture).

    Weights are matched by position (``get_weights()`` order). A different number of weight
    arrays, or a shape that differs, raises ``ValueError`` naming the first mismatch, instead
    of Keras's bare shape error.
    """
    src, dst = source.get_weights(), target.get_weights()
    if len(src) != len(dst):
        raise ValueError(
            f"the two models have different numbers of weight arrays ({len(src)} vs {len(dst)}): "
            "they are not the same architecture (a missing bias, batch norm or layer?)"
        )
    for i, (a, b) in enumerate(zip(src, dst, strict=True)):
        if a.shape != b.shape:
            raise ValueError(
                f"weight array {i} has shape {a.shape} in the source but {b.shape} in the target: "
                "the layers differ (units, filters, kernel size or order)"
            )
    target.set_weights(src)


def assert_same(what: str, page: Any, library: Any, *, atol: float = 1e-5, rtol: float = 1e-5) -> float:
    """Assert that the page version and the library version agree; print the largest difference.

    Returns the maximum absolute difference (also printed, so the check is visible in the
    notebook). Shapes must be equal; ``AssertionError`` says which value differs and by how much.
    """
    a, b = _as_numpy(page), _as_numpy(library)
    if a.shape != b.shape:
        raise AssertionError(f"{what}: the page gives shape {a.shape}, course_lib {b.shape}")
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    if not np.allclose(a, b, atol=atol, rtol=rtol):
        raise AssertionError(f"{what}: the page and course_lib differ (max |difference| = {diff:.3g})")
    print(f"✓ {what}: the page and course_lib agree (max |difference| = {diff:.1e})")
    return diff
