"""PCA, the classical baseline every autoencoder is compared with, and subspace angles.

PCA with ``k`` components is the best *linear* rank-``k`` reconstruction in squared error
(Eckart–Young), so it is the right yardstick for an autoencoder with a ``k``-dimensional
code: a linear autoencoder can at best match it, and a non-linear one should beat it.
Plain NumPy (float64 for the covariance), exact, and fast for 784-pixel images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_matrix(x: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim < 2 or arr.shape[0] < 1:
        raise ValueError(
            f"{what}: expected a batch of examples with shape (N, ...), got {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{what}: expected numbers, got dtype {arr.dtype}.")
    return arr.reshape(arr.shape[0], -1).astype(np.float64, copy=False)


@dataclass(frozen=True)
class PCA:
    """A fitted PCA: ``mean`` (d,), ``components`` (k, d) orthonormal rows, ``explained_variance`` (k,)."""

    mean: np.ndarray
    components: np.ndarray
    explained_variance: np.ndarray
    total_variance: float

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @property
    def explained_variance_ratio(self) -> np.ndarray:
        return self.explained_variance / self.total_variance

    def _check(self, x: np.ndarray, what: str) -> np.ndarray:
        flat = _as_matrix(x, what)
        if flat.shape[1] != self.mean.shape[0]:
            raise ValueError(
                f"{what}: this PCA was fitted on {self.mean.shape[0]} features per example, "
                f"got {flat.shape[1]} (input shape {np.shape(x)})."
            )
        return flat

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Coordinates of ``x`` in the principal basis, shape (N, k)."""
        return (self._check(x, "PCA.encode") - self.mean) @ self.components.T

    def decode(self, codes: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Back from (N, k) codes to (N, d) — or (N, *shape) — float32 images."""
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] != self.n_components:
            raise ValueError(
                f"PCA.decode: expected codes of shape (N, {self.n_components}), got {codes.shape}."
            )
        out = codes @ self.components + self.mean
        out = out.astype(np.float32)
        return out if shape is None else out.reshape((-1, *shape))

    def reconstruct(self, x: np.ndarray, *, clip: bool = False) -> np.ndarray:
        """Project onto the principal subspace and back; same shape as ``x``, float32.

        ``clip=True`` clips the result to [0, 1]: the course's convention whenever PCA is
        compared with an autoencoder whose outputs are in [0, 1] (a sigmoid decoder), since
        clipping can only lower the error on pixels in [0, 1]. The default (no clipping) is
        the exact projection, used when PCA is compared with a *linear* autoencoder.
        """
        out = self.decode(self.encode(x)).reshape(np.shape(x))
        return np.clip(out, 0.0, 1.0) if clip else out


def fit_pca(x: np.ndarray, n_components: int) -> PCA:
    """Fit PCA with ``n_components`` components by eigendecomposition of the covariance."""
    flat = _as_matrix(x, "fit_pca")
    n, d = flat.shape
    if isinstance(n_components, bool) or not isinstance(n_components, int | np.integer):
        raise TypeError(f"n_components must be an integer, got {n_components!r}.")
    if not 1 <= n_components <= min(n, d):
        raise ValueError(
            f"n_components must be between 1 and min(N, d) = {min(n, d)}, got {n_components}."
        )
    mean = flat.mean(axis=0)
    centred = flat - mean
    cov = centred.T @ centred / n
    eigvals, eigvecs = np.linalg.eigh(cov)
    order = np.argsort(eigvals)[::-1][:n_components]
    components = eigvecs[:, order].T
    # A fixed sign convention makes results reproducible across runs and machines.
    signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    return PCA(
        mean=mean,
        components=components,
        explained_variance=np.clip(eigvals[order], 0.0, None),
        total_variance=float(np.clip(eigvals, 0.0, None).sum()),
    )


def principal_angles(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Principal angles (radians, ascending) between the spans of the *columns* of ``a`` and ``b``.

    Both are (d, k) matrices whose columns need not be orthonormal. Angles near 0 mean the
    two subspaces coincide; ``pi/2`` means some direction of one is orthogonal to the other.
    Computed from the singular values of ``Q_a^T Q_b`` (Björck & Golub, 1973).
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ValueError(
            "principal_angles: expected two (d, k) matrices with the same number of rows, "
            f"got {a.shape} and {b.shape}."
        )
    for name, m in (("a", a), ("b", b)):
        if np.linalg.matrix_rank(m) < m.shape[1]:
            raise ValueError(
                f"principal_angles: the columns of {name} are linearly dependent, so they do "
                "not span a subspace of that dimension."
            )
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    cosines = np.linalg.svd(qa.T @ qb, compute_uv=False)
    return np.sort(np.arccos(np.clip(cosines, -1.0, 1.0)))
