"""Priors for an adversarial autoencoder: the distributions its codes are pushed towards.

An adversarial autoencoder (AAE; Makhzani et al., 2015, "Adversarial Autoencoders") is an
ordinary autoencoder with one extra player: a small discriminator that sees codes ``z`` and
must tell "real" samples drawn from a chosen **prior** ``p(z)`` from "fake" ones produced by
the encoder. The encoder is trained to fool it, so the distribution of its codes -- the
*aggregated posterior* -- is driven towards the prior. Unlike a VAE, which needs the prior's
density in closed form (for its KL term), an AAE only needs to **draw samples** from the
prior, so any shape will do: a Gaussian, a mixture, a ring, a swiss roll. Once the codes fill
the prior, drawing ``z`` from the prior and decoding it generates new data.

This module provides those priors, all with the same small interface (:class:`Prior`):

- ``prior.sample(n, seed)`` -> ``(n, dim)`` float32 array of codes;
- ``prior.sample_with_labels(n, seed)`` -> ``(z, component)``, where ``component`` is an
  int64 array saying which part of the prior each sample came from (the mixture component,
  or the position along the swiss roll binned into 10 bins). It colours plots, and the
  *supervised* AAE uses it to tie each class to its own part of the prior. Priors without
  parts (Gaussian, ring) return all zeros.

The priors (:func:`make_prior` builds one by name):

- :class:`StandardGaussian` (``"gaussian"``): N(0, I) in any dimension;
- :class:`GaussianMixture2D` (``"mixture"``): 10 elongated Gaussians on a circle, the prior
  of the AAE paper's Fig. 4;
- :class:`Ring2D` (``"ring"``): a thin ring around the origin;
- :class:`SwissRoll2D` (``"swiss_roll"``): a 2-D spiral, labelled by the position along it.

The 2-D priors are scaled so that their overall spread is comparable to N(0, I) (each
coordinate has a root-mean-square value between 1 and 1.5), so the same encoder and learning
rate work for all of them.

Sampling is reproducible: the same ``seed`` gives the same array (``np.random.default_rng``),
and ``sample(n, seed)`` returns exactly the codes of ``sample_with_labels(n, seed)``.
Plain NumPy; it does not import TensorFlow. To check that a set of codes actually matches a
prior, see :func:`course_lib.two_sample.prior_match`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "PRIOR_NAMES",
    "GaussianMixture2D",
    "Prior",
    "Ring2D",
    "StandardGaussian",
    "SwissRoll2D",
    "make_prior",
]


@runtime_checkable
class Prior(Protocol):
    """What every prior offers: a name, a dimension, and seeded sampling.

    ``sample(n, seed)`` returns ``n`` codes as a float32 array of shape ``(n, dim)``.
    ``sample_with_labels(n, seed)`` returns the same codes together with an int64 array of
    shape ``(n,)`` saying which part ("component") of the prior each code came from; priors
    without parts return zeros. Same ``seed`` -> same result; ``seed=None`` draws fresh
    randomness each call.

    ``name`` (e.g. ``"mixture"``, the key :func:`make_prior` knows it by) and ``dim`` (the code
    dimension) are read-only: the priors are frozen dataclasses.
    """

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def sample(self, n: int, seed: int | None = None) -> np.ndarray: ...

    def sample_with_labels(
        self, n: int, seed: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


# --------------------------------------------------------------------------- validation


def _check_int(value: object, what: str, owner: str, minimum: int, hint: str) -> int:
    """``value`` as an int >= ``minimum``, or a ValueError saying what is wrong and how to fix it."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(
            f"{owner}: {what} must be an integer, got {value!r} ({type(value).__name__}). {hint}"
        )
    if value < minimum:
        raise ValueError(f"{owner}: {what} must be >= {minimum}, got {value}. {hint}")
    return int(value)


def _check_real(
    value: object, what: str, owner: str, *, strictly_positive: bool, hint: str
) -> float:
    """``value`` as a finite float that is > 0 (or >= 0), or a ValueError saying how to fix it."""
    bound = "> 0" if strictly_positive else ">= 0"
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(
            f"{owner}: {what} must be a finite number {bound}, got {value!r} "
            f"({type(value).__name__}). {hint}"
        )
    v = float(value)
    if not math.isfinite(v) or v < 0 or (strictly_positive and v == 0):
        raise ValueError(f"{owner}: {what} must be a finite number {bound}, got {value!r}. {hint}")
    return v


def _rng(seed: int | None, owner: str) -> np.random.Generator:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
        raise ValueError(
            f"{owner}.sample: seed must be None or a non-negative integer, got {seed!r}. "
            "Use e.g. seed=0 for a reproducible draw, or seed=None for fresh randomness."
        )
    return np.random.default_rng(seed)


class _SamplingMixin:
    """Shared ``sample`` / ``sample_with_labels``; subclasses implement ``_draw(n, rng)``."""

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def sample_with_labels(self, n: int, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` codes, float32 ``(n, dim)``, and their component index, int64 ``(n,)``.

        What "component" means depends on the prior (see its class docstring); priors
        without parts return zeros. Same ``seed`` -> same arrays.
        """
        owner = type(self).__name__
        n = _check_int(
            n,
            "n (the number of samples)",
            f"{owner}.sample",
            1,
            "Pass a whole number, e.g. n=1000.",
        )
        z, component = self._draw(n, _rng(seed, owner))
        return z.astype(np.float32), component.astype(np.int64)

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        """``n`` codes drawn from the prior, float32 array of shape ``(n, dim)``.

        Exactly the codes of ``sample_with_labels(n, seed)``; same ``seed`` -> same array.
        """
        return self.sample_with_labels(n, seed)[0]


# --------------------------------------------------------------------------- the priors


@dataclass(frozen=True)
class StandardGaussian(_SamplingMixin):
    """N(0, I) in ``dim`` dimensions: the VAE's prior, and the default AAE prior.

    Every coordinate is an independent standard normal. It has no parts, so
    ``sample_with_labels`` returns all-zero components.
    """

    dim: int = 2
    name: str = field(default="gaussian", init=False, repr=False)

    def __post_init__(self) -> None:
        _check_int(self.dim, "dim", "StandardGaussian", 1, "Use the code dimension, e.g. dim=2.")

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        return rng.standard_normal((n, self.dim)), np.zeros(n, dtype=np.int64)


@dataclass(frozen=True)
class GaussianMixture2D(_SamplingMixin):
    """Ten (``n_components``) elongated Gaussians evenly spaced on a circle: the AAE figure prior.

    Component ``c`` sits at angle ``theta_c = 2 pi c / n_components`` with mean
    ``radius * (cos theta_c, sin theta_c)`` (:meth:`component_means`). Its long axis points
    along the radius (standard deviation ``radial_std``) and it is thin across
    (``tangential_std``), so the prior looks like the spokes of a wheel -- the shape of
    Makhzani et al.'s Fig. 4. Each sample picks a component uniformly at random; that index is
    what ``sample_with_labels`` returns. In the *supervised* AAE each class is tied to one
    component, which is why the parts must be clearly separated: with the defaults, the gap
    between neighbouring means (``2 radius sin(pi / n_components)`` = 1.24) is over 12
    tangential standard deviations.

    Defaults (``radius=2``, ``radial_std=0.5``, ``tangential_std=0.1``) give each coordinate a
    root-mean-square value of about 1.46 -- the same order as N(0, I) -- so an encoder that
    fits one fits the other.
    """

    n_components: int = 10
    radius: float = 2.0
    radial_std: float = 0.5
    tangential_std: float = 0.1
    name: str = field(default="mixture", init=False, repr=False)
    dim: int = field(default=2, init=False, repr=False)

    def __post_init__(self) -> None:
        owner = "GaussianMixture2D"
        _check_int(
            self.n_components,
            "n_components",
            owner,
            1,
            "It is the number of Gaussians on the circle (10 in the AAE paper, one per class).",
        )
        _check_real(
            self.radius,
            "radius",
            owner,
            strictly_positive=True,
            hint="It is the distance of the component means from the origin (default 2.0).",
        )
        _check_real(
            self.radial_std,
            "radial_std",
            owner,
            strictly_positive=False,
            hint="It is the standard deviation along each component's radius (default 0.5).",
        )
        _check_real(
            self.tangential_std,
            "tangential_std",
            owner,
            strictly_positive=False,
            hint="It is the standard deviation across each component (default 0.1).",
        )

    def _angles(self) -> np.ndarray:
        return 2.0 * np.pi * np.arange(self.n_components) / self.n_components

    def component_means(self) -> np.ndarray:
        """The ``(n_components, 2)`` float32 array of component means, on the circle of ``radius``.

        Row ``c`` is the mean of component ``c``: ``radius * (cos theta_c, sin theta_c)`` with
        ``theta_c = 2 pi c / n_components`` (component 0 on the positive x-axis, then
        counter-clockwise).
        """
        t = self._angles()
        return (self.radius * np.stack([np.cos(t), np.sin(t)], axis=1)).astype(np.float32)

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        component = rng.integers(0, self.n_components, size=n)
        theta = self._angles()[component]
        along = self.radius + self.radial_std * rng.standard_normal(n)  # distance along the spoke
        across = self.tangential_std * rng.standard_normal(n)  # offset across it
        radial = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # unit vector along the spoke
        tangent = np.stack([-np.sin(theta), np.cos(theta)], axis=1)  # unit vector across it
        return along[:, None] * radial + across[:, None] * tangent, component


@dataclass(frozen=True)
class Ring2D(_SamplingMixin):
    """A thin ring (annulus) around the origin: a prior with a hole in the middle.

    The angle is uniform in ``[0, 2 pi)`` and the distance from the origin is
    ``radius + width * N(0, 1)``: ``width`` is the standard deviation of the distance (0 gives
    points exactly on the circle). Useful to see that an AAE can match a distribution that a
    Gaussian-prior model cannot: codes must avoid the centre. It has no parts, so
    ``sample_with_labels`` returns all-zero components. With the defaults (``radius=2``,
    ``width=0.1``) each coordinate has a root-mean-square value of about 1.42, comparable to
    N(0, I).
    """

    radius: float = 2.0
    width: float = 0.1
    name: str = field(default="ring", init=False, repr=False)
    dim: int = field(default=2, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_real(
            self.radius,
            "radius",
            "Ring2D",
            strictly_positive=True,
            hint="It is the radius of the ring (default 2.0).",
        )
        _check_real(
            self.width,
            "width",
            "Ring2D",
            strictly_positive=False,
            hint="It is the standard deviation of the distance from the origin (default 0.1).",
        )

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        theta = rng.uniform(0.0, 2.0 * np.pi, size=n)
        r = self.radius + self.width * rng.standard_normal(n)
        return r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1), np.zeros(
            n, dtype=np.int64
        )


# The classic swiss roll (as in scikit-learn's make_swiss_roll): t ~ U(1.5 pi, 4.5 pi),
# point = t (cos t, sin t), i.e. one and a half turns of a spiral whose distance from the
# origin grows with t.
_ROLL_T_MIN = 1.5 * np.pi
_ROLL_T_MAX = 4.5 * np.pi
# E[t^2] for t uniform on [a, b] is (b^3 - a^3) / (3 (b - a)); each coordinate of t (cos t,
# sin t) then has mean square ~ E[t^2] / 2. Dividing by its square root gives each coordinate
# a root-mean-square value of ~1, the same overall spread as N(0, I).
_ROLL_SCALE = 1.0 / math.sqrt(
    (_ROLL_T_MAX**3 - _ROLL_T_MIN**3) / (3.0 * (_ROLL_T_MAX - _ROLL_T_MIN)) / 2.0
)


@dataclass(frozen=True)
class SwissRoll2D(_SamplingMixin):
    """A 2-D swiss roll: one and a half turns of a spiral, scaled to the spread of N(0, I).

    A position ``t`` along the roll is drawn uniformly from ``[1.5 pi, 4.5 pi]`` and mapped to
    ``s * t * (cos t, sin t)``, then isotropic Gaussian noise of standard deviation ``noise``
    is added. The scale ``s`` (about 0.144) makes each coordinate's root-mean-square value about
    1, so the roll is about as wide as N(0, I). Because ``t`` is uniform, every stretch of
    ``t`` holds the same number of samples; the outer turns are therefore sparser per unit of
    length than the inner ones.

    ``sample_with_labels`` returns as "component" the position along the roll cut into
    ``n_bins`` equal bins of ``t``: 0 at the inner end, ``n_bins - 1`` at the outer end, each
    bin holding about ``n / n_bins`` samples. It colours plots (neighbouring colours are
    neighbouring stretches of the roll), and the supervised AAE uses it to send each of the
    10 classes to its own stretch.
    """

    noise: float = 0.05
    n_bins: int = 10
    name: str = field(default="swiss_roll", init=False, repr=False)
    dim: int = field(default=2, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_real(
            self.noise,
            "noise",
            "SwissRoll2D",
            strictly_positive=False,
            hint="It is the standard deviation of the Gaussian noise around the roll (default 0.05).",
        )
        _check_int(
            self.n_bins,
            "n_bins",
            "SwissRoll2D",
            1,
            "It is the number of stretches the roll is cut into for the labels (default 10).",
        )

    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        t = rng.uniform(_ROLL_T_MIN, _ROLL_T_MAX, size=n)
        z = _ROLL_SCALE * t[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
        z += self.noise * rng.standard_normal((n, 2))
        position = (t - _ROLL_T_MIN) / (_ROLL_T_MAX - _ROLL_T_MIN)  # 0 inner end ... 1 outer
        component = np.minimum((position * self.n_bins).astype(np.int64), self.n_bins - 1)
        return z, component


# --------------------------------------------------------------------------- by name

_PRIORS: dict[str, type] = {
    "gaussian": StandardGaussian,
    "mixture": GaussianMixture2D,
    "ring": Ring2D,
    "swiss_roll": SwissRoll2D,
}
#: The names :func:`make_prior` accepts.
PRIOR_NAMES: tuple[str, ...] = tuple(_PRIORS)


def make_prior(name: str, dim: int = 2, **kwargs: object) -> Prior:
    """Build a prior by name: ``"gaussian"``, ``"mixture"``, ``"ring"`` or ``"swiss_roll"``.

    ``dim`` is the code dimension. ``"gaussian"`` works in any dimension; the other three are
    2-D pictures (they exist to be looked at) and require ``dim=2``. Extra keyword arguments
    go to the prior's class, e.g. ``make_prior("mixture", radial_std=0.3)``. The name is
    case-insensitive and ``-`` counts as ``_`` (``"Swiss-Roll"`` works).

    Raises ValueError for an unknown name (listing the valid ones), for ``dim != 2`` with a
    2-D-only prior, and for invalid parameters; TypeError for keyword arguments the prior
    does not have.
    """
    if not isinstance(name, str):
        raise ValueError(
            f"make_prior: name must be a string, one of {list(PRIOR_NAMES)}; got {name!r}."
        )
    key = name.strip().lower().replace("-", "_")
    if key not in _PRIORS:
        raise ValueError(
            f"make_prior: unknown prior {name!r}. Valid names: {', '.join(PRIOR_NAMES)}."
        )
    cls = _PRIORS[key]
    allowed = [f.name for f in fields(cls) if f.init and f.name != "dim"]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"make_prior: the {key!r} prior has no parameter(s) {unknown}. "
            f"Its parameters are: {allowed if allowed else 'none (only dim)'}."
        )
    if cls is StandardGaussian:
        return StandardGaussian(dim=dim)
    if isinstance(dim, bool) or not isinstance(dim, Integral) or dim != 2:
        raise ValueError(
            f"make_prior: the {key!r} prior is 2-D only, got dim={dim!r}. Use dim=2, or the "
            "'gaussian' prior for codes of another dimension."
        )
    return cls(**kwargs)
