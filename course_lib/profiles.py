"""Compute budgets: the ``smoke``, ``workshop`` and ``full`` profiles.

Every notebook trains models, and how long that takes depends on where it runs. A profile
fixes the budget in one place so that the same notebook serves three purposes:

- ``smoke``: continuous integration. Tiny data and an epoch or two, so that each notebook
  runs in well under a minute on 2 CPU cores. The results are not meant to be good, only to
  show that every cell runs.
- ``workshop`` (the default): the full data set, with enough epochs for good results in
  at most about 5 minutes per notebook on a 2-core laptop CPU.
- ``full``: reference quality: longer training, bigger models or samples where they help.
  Meant for a GPU; on a CPU some notebooks take over an hour.

The profile itself fixes only the data sizes (``train_size``, ``test_size``). Everything
else, epochs and batch size included, is a notebook's own setting, so the table that
:meth:`Profile.describe` prints at the top of a notebook lists only what that notebook uses.

How a profile is chosen (see :func:`resolve_profile_name`):

1. the ``PROFILE`` argument, which papermill injects into each notebook's ``parameters``
   cell (``papermill -p PROFILE smoke ...``);
2. otherwise the ``$COURSE_PROFILE`` environment variable (nbval cannot inject
   parameters, so ``COURSE_PROFILE=smoke pytest --nbval ...`` selects it this way);
3. otherwise ``workshop``.

A notebook adds its own settings, per profile where they differ::

    profile = profiles.select_profile(
        PROFILE,
        epochs={"smoke": 2, "workshop": 20, "full": 100},
        batch_size=128,
        latent_dim=32,
    )
    print(profile.describe())
    model.fit(x, x, epochs=profile.epochs, batch_size=profile.batch_size)
    profile.latent_dim  # 32, read-only
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

PROFILE_NAMES: tuple[str, ...] = ("smoke", "workshop", "full")
DEFAULT_PROFILE = "workshop"
ENV_VAR = "COURSE_PROFILE"

#: Values of the base fields for each profile. ``None`` sizes mean "the whole split".
_BASE: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "smoke": MappingProxyType(
            {
                "train_size": 2000,
                "test_size": 1000,
                "description": "CI check: tiny data, well under a minute per notebook on 2 CPU cores",
            }
        ),
        "workshop": MappingProxyType(
            {
                "train_size": None,
                "test_size": None,
                "description": "full data, good results in at most ~5 minutes per notebook "
                "on a 2-core laptop CPU",
            }
        ),
        "full": MappingProxyType(
            {
                "train_size": None,
                "test_size": None,
                "description": "reference quality, meant for a GPU "
                "(on a CPU some notebooks take over an hour)",
            }
        ),
    }
)

#: Base fields a notebook may override through ``select_profile(**settings)``.
_OVERRIDABLE = ("train_size", "test_size", "description")
#: Notebook settings checked like base sizes (positive integers), kept with the extras: a
#: notebook that never sets them has none, and reading one then says so.
_COUNTS = ("epochs", "batch_size")
#: Fields that may be ``None`` (meaning: use the whole split).
_OPTIONAL_SIZES = ("train_size", "test_size")
#: A tuple of consecutive integers longer than this is printed as its ends and length.
_SHORT_RANGE = 8
#: Names a setting cannot take, because the profile itself or its methods use them.
_RESERVED = ("name", "source", "extra", "as_dict", "describe")


class ReadOnlyMapping(Mapping[str, Any]):
    """A read-only mapping for a profile's extras.

    Unlike :class:`types.MappingProxyType` it can be pickled and deep-copied, so a
    :class:`Profile` survives ``copy.deepcopy`` and ``dataclasses.asdict``.
    """

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"ReadOnlyMapping({self._data!r})"


class UnknownProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILE_NAMES`.

    The message names the bad value, the valid names and where the value came from (the
    ``PROFILE`` argument or ``$COURSE_PROFILE``), because a typo in an environment
    variable is otherwise hard to track down.
    """

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        valid = ", ".join(repr(n) for n in PROFILE_NAMES)
        where = f"${ENV_VAR}" if source == f"${ENV_VAR}" else "the PROFILE argument"
        super().__init__(f"unknown profile {name!r} (from {where}); valid profiles: {valid}")


@dataclass(frozen=True)
class Profile:
    """A compute budget: data sizes and the notebook's own settings (its extras).

    Frozen, so that a notebook cannot change its budget half-way through by accident.
    Extra settings, ``epochs`` and ``batch_size`` among them, are read with attribute or
    item access (``profile.latent_dim`` or ``profile["latent_dim"]``).
    """

    name: str
    train_size: int | None
    test_size: int | None
    description: str
    source: str
    extra: Mapping[str, Any] = field(default_factory=ReadOnlyMapping)

    def __getattr__(self, key: str) -> Any:
        """Look up a notebook-specific setting (only called when normal lookup fails)."""
        if key.startswith("_") or key == "extra":
            # Dunder lookups (copy, pickle) and a half-built instance must not recurse.
            raise AttributeError(key)
        extra = object.__getattribute__(self, "extra")
        if key in extra:
            return extra[key]
        raise AttributeError(
            f"profile {self.name!r} has no setting {key!r}; available: {self._keys_text()}"
        )

    def __getitem__(self, key: str) -> Any:
        """Look up a base field or an extra setting by name."""
        values = self.as_dict()
        if key not in values:
            raise KeyError(
                f"profile {self.name!r} has no setting {key!r}; available: {self._keys_text()}"
            )
        return values[key]

    def as_dict(self) -> dict[str, Any]:
        """All fields with the extras flattened in: what a results file records."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        values.update(self.extra)
        return values

    def describe(self) -> str:
        """A short table for the top of a notebook: what budget this run uses and why."""
        rows = [(key, _format_value(key, value)) for key, value in self.as_dict().items()]
        rows = [(k, v) for k, v in rows if k not in ("name", "source", "description")]
        width = max(len(k) for k, _ in rows)
        lines = [
            f"Profile {self.name!r} (chosen by: {self.source}): {self.description}",
            *(f"  {k:<{width}}  {v}" for k, v in rows),
            f"  (choose with the PROFILE parameter or ${ENV_VAR}: {', '.join(PROFILE_NAMES)})",
        ]
        return "\n".join(lines)

    def _keys_text(self) -> str:
        return ", ".join(self.as_dict())


def _format_value(key: str, value: Any) -> str:
    if value is None and key in _OPTIONAL_SIZES:
        return "all"
    if _is_long_integer_sequence(value):
        return _shorten_progressions(list(value))
    return str(value)


def _is_long_integer_sequence(value: Any) -> bool:
    """A tuple or list of more than ``_SHORT_RANGE`` plain integers (quality settings 1..100)."""
    if not isinstance(value, (tuple, list)) or len(value) <= _SHORT_RANGE:
        return False
    return all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)


def _shorten_progressions(values: list[int]) -> str:
    """``0, 1, ..., 30, 35, 40, ..., 100 (45 values)``: runs of five or more evenly spaced
    integers are shown by their first two and last values; everything else is kept."""
    parts: list[str] = []
    i = 0
    while i < len(values):
        end = i + 1  # one past the last value of the evenly spaced run that starts at i
        if end < len(values):
            step = values[end] - values[i]
            while end < len(values) and values[end] - values[end - 1] == step:
                end += 1
        if end - i >= 5:
            parts += [str(values[i]), str(values[i + 1]), "...", str(values[end - 1])]
            i = end
        else:
            parts.append(str(values[i]))
            i += 1
    return f"{', '.join(parts)} ({len(values)} values)"


def resolve_profile_name(name: str | None = None) -> tuple[str, str]:
    """Decide which profile to use and say why: ``(name, source)``.

    ``name`` wins if it is neither ``None`` nor blank (source ``"argument"``); otherwise a
    non-blank ``$COURSE_PROFILE`` (source ``"$COURSE_PROFILE"``); otherwise
    :data:`DEFAULT_PROFILE` (source ``"default"``). Case and surrounding whitespace are
    ignored. An unknown name raises :class:`UnknownProfileError`.
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"profile name must be a string or None, not {type(name).__name__}")
    env_value = os.environ.get(ENV_VAR, "")
    if name is not None and name.strip():
        raw, source = name, "argument"
    elif env_value.strip():
        raw, source = env_value, f"${ENV_VAR}"
    else:
        return DEFAULT_PROFILE, "default"
    normalised = raw.strip().lower()
    if normalised not in PROFILE_NAMES:
        raise UnknownProfileError(raw.strip(), source)
    return normalised, source


def _per_profile_keys(key: str, value: Any) -> bool:
    """Whether ``value`` is a per-profile mapping; raise if it is an incomplete one."""
    if not isinstance(value, Mapping):
        return False
    keys = set(value)
    named = keys & set(PROFILE_NAMES)
    if not named:
        return False
    unknown = keys - set(PROFILE_NAMES)
    if unknown:
        bad = ", ".join(sorted(repr(k) for k in unknown))
        raise ValueError(
            f"setting {key!r}: unknown profile key(s) {bad} next to profile names; "
            f"valid profiles: {', '.join(PROFILE_NAMES)}"
        )
    missing = [n for n in PROFILE_NAMES if n not in keys]
    if missing:
        raise ValueError(
            f"setting {key!r}: give a value for every profile: missing "
            + ", ".join(repr(n) for n in missing)
        )
    return True


def _pick(key: str, value: Any, profile_name: str) -> Any:
    """The value of one setting for ``profile_name``."""
    return value[profile_name] if _per_profile_keys(key, value) else value


def _validate(key: str, value: Any) -> Any:
    """Check a base field: positive ints (``None`` allowed for train/test size)."""
    if key == "description":
        if not isinstance(value, str):
            raise ValueError(f"description must be a string, got {value!r}")
        return value
    if value is None and key in _OPTIONAL_SIZES:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        allowed = "a positive integer or None" if key in _OPTIONAL_SIZES else "a positive integer"
        raise ValueError(f"{key} must be {allowed}, got {value!r}")
    return int(value)


def select_profile(name: str | None = None, **settings: Any) -> Profile:
    """Build the :class:`Profile` for this run.

    ``name`` is usually the notebook's ``PROFILE`` parameter (see
    :func:`resolve_profile_name`). Each setting is either a mapping with a value for
    every profile (``epochs={"smoke": 2, "workshop": 20, "full": 100}``) or a single value
    used for all profiles. ``train_size``, ``test_size`` and ``description`` override the
    profile's base values; the others become extras (``profile.latent_dim``), and
    ``epochs`` and ``batch_size`` are checked to be positive integers.
    """
    profile_name, source = resolve_profile_name(name)
    values = dict(_BASE[profile_name])
    extra: dict[str, Any] = {}
    for key, value in settings.items():
        if key in _RESERVED:
            raise ValueError(f"{key!r} is reserved and cannot be used as a profile setting")
        chosen = _pick(key, value, profile_name)
        if key in _OVERRIDABLE:
            values[key] = chosen
        elif key in _COUNTS:
            extra[key] = _validate(key, chosen)
        else:
            extra[key] = chosen
    values = {key: _validate(key, value) for key, value in values.items()}
    return Profile(name=profile_name, source=source, extra=ReadOnlyMapping(extra), **values)


def apply_size(n_available: int, size: int | None) -> int:
    """How many of ``n_available`` examples to use for a profile size.

    ``None`` means all of them; a size larger than what is available is not an error (the
    smoke profile's sizes are upper bounds), it just uses everything there is.
    """
    if isinstance(n_available, bool) or not isinstance(n_available, numbers.Integral):
        raise ValueError(f"n_available must be a non-negative integer, got {n_available!r}")
    if n_available < 0:
        raise ValueError(f"n_available must be a non-negative integer, got {n_available!r}")
    if size is None:
        return int(n_available)
    return min(int(n_available), _validate("size", size))
