"""Validation of sets of vectors, shared by the two-sample statistics.

The Fréchet distance (:mod:`course_lib.frechet`) and the MMD (:mod:`course_lib.two_sample`)
both compare two sets of ``d``-dimensional vectors given as ``(N, d)`` arrays. This module
checks such an array once, in one way, and says what is wrong and how to fix it. NumPy only.
"""

from __future__ import annotations

import numpy as np


def check_vectors(
    x: object,
    what: str,
    caller: str,
    *,
    row: str = "point",
    col: str = "dimension",
    shape_hint: str = "",
    nan_hint: str = "",
) -> np.ndarray:
    """``x`` as a finite float64 ``(N, d)`` array with ``N >= 2`` and ``d >= 1``.

    ``what`` names the argument and ``caller`` the public function in the messages; ``row``
    and ``col`` are the words for a row and a column ("sample" / "feature" for features);
    ``shape_hint`` and ``nan_hint`` end the wrong-shape and NaN messages with advice.
    Raises ``TypeError`` for non-numeric or complex input, ``ValueError`` otherwise.
    """
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{caller}: {what} must be numeric, got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{caller}: {what} must be real, got dtype {arr.dtype}.")
    if arr.ndim != 2:
        raise ValueError(
            f"{caller}: {what} must be a 2-D array (N {row}s, d {col}s), got shape {arr.shape}. "
            f"{shape_hint}".rstrip()
        )
    if arr.shape[0] < 2:
        raise ValueError(
            f"{caller}: {what} has {arr.shape[0]} {row}(s); at least 2 are needed (and "
            "hundreds to thousands for a meaningful value)."
        )
    if arr.shape[1] < 1:
        raise ValueError(f"{caller}: {what} has no {col}s (shape {arr.shape}).")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr).all(axis=1)))
        raise ValueError(
            f"{caller}: {what} contains NaN or infinite values ({bad} of {arr.shape[0]} rows). "
            f"{nan_hint}".rstrip()
        )
    return arr
