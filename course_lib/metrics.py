"""Reconstruction metrics, computed the same way in every notebook.

Mean squared error is averaged over every pixel of every example (images in [0, 1]), so a
number here can be compared with any other notebook's number and with PCA's.
"""

from __future__ import annotations

import numpy as np


def _pair(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{what}: shapes differ, {a.shape} vs {b.shape}.")
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(f"{what}: expected a non-empty batch (N, ...), got shape {a.shape}.")
    return a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)


def per_example_mse(x: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
    """MSE of each example, shape (N,)."""
    a, b = _pair(x, x_hat, "per_example_mse")
    return ((a - b) ** 2).mean(axis=1)


def mse(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Mean squared error over all pixels of all examples."""
    return float(per_example_mse(x, x_hat).mean())
