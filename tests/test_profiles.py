"""Tests for course_lib.profiles: how a compute budget is chosen, built and read."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from course_lib import profiles
from course_lib.profiles import (
    DEFAULT_PROFILE,
    ENV_VAR,
    PROFILE_NAMES,
    Profile,
    UnknownProfileError,
    apply_size,
    resolve_profile_name,
    select_profile,
)

PER_PROFILE_EPOCHS = {"smoke": 3, "workshop": 20, "full": 100}


@pytest.fixture(autouse=True)
def no_profile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without $COURSE_PROFILE, whatever the calling shell set."""
    monkeypatch.delenv(ENV_VAR, raising=False)


# --- resolution order -----------------------------------------------------------------


def test_constants() -> None:
    assert PROFILE_NAMES == ("smoke", "workshop", "full")
    assert DEFAULT_PROFILE == "workshop"
    assert ENV_VAR == "COURSE_PROFILE"


def test_default_when_nothing_is_given() -> None:
    assert resolve_profile_name() == ("workshop", "default")
    assert resolve_profile_name(None) == ("workshop", "default")


def test_env_var_is_used_without_argument(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "smoke")
    assert resolve_profile_name(None) == ("smoke", "$COURSE_PROFILE")


def test_argument_beats_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "smoke")
    assert resolve_profile_name("full") == ("full", "argument")


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_argument_falls_through_to_env(monkeypatch: pytest.MonkeyPatch, blank: str) -> None:
    assert resolve_profile_name(blank) == ("workshop", "default")
    monkeypatch.setenv(ENV_VAR, "full")
    assert resolve_profile_name(blank) == ("full", "$COURSE_PROFILE")


def test_blank_env_var_means_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "  ")
    assert resolve_profile_name() == ("workshop", "default")


@pytest.mark.parametrize("raw", ["SMOKE", " Smoke ", "smoke\n"])
def test_names_are_case_and_whitespace_insensitive(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    assert resolve_profile_name(raw) == ("smoke", "argument")
    monkeypatch.setenv(ENV_VAR, raw)
    assert resolve_profile_name() == ("smoke", "$COURSE_PROFILE")


def test_unknown_argument_names_value_valid_names_and_source() -> None:
    with pytest.raises(UnknownProfileError) as info:
        resolve_profile_name("quick")
    message = str(info.value)
    assert "'quick'" in message
    assert all(name in message for name in PROFILE_NAMES)
    assert "argument" in message and ENV_VAR not in message
    assert info.value.source == "argument"


def test_unknown_env_var_names_value_valid_names_and_source(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, "gpu")
    with pytest.raises(UnknownProfileError) as info:
        select_profile()
    message = str(info.value)
    assert "'gpu'" in message
    assert all(name in message for name in PROFILE_NAMES)
    assert "$COURSE_PROFILE" in message
    assert isinstance(info.value, ValueError)


def test_non_string_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="string"):
        resolve_profile_name(2)  # type: ignore[arg-type]


# --- base values ----------------------------------------------------------------------


def test_base_values() -> None:
    smoke, workshop, full = (select_profile(name) for name in PROFILE_NAMES)
    assert (smoke.train_size, smoke.test_size) == (2000, 1000)
    assert (workshop.train_size, workshop.test_size) == (None, None)
    assert (full.train_size, full.test_size) == (None, None)


@pytest.mark.parametrize("key", ["epochs", "batch_size", "eval_size"])
def test_a_setting_the_notebook_did_not_give_is_absent_and_says_so(key: str) -> None:
    # The profile has no default epochs or batch size: a notebook that never sets them does
    # not print them at its top, and reading one it forgot names what it did set.
    profile = select_profile("workshop", latent_dim=8)
    with pytest.raises(AttributeError, match=f"no setting '{key}'.*latent_dim"):
        getattr(profile, key)
    assert key not in profile.describe() and key not in profile.as_dict()


def test_select_profile_records_name_and_source(monkeypatch: pytest.MonkeyPatch) -> None:
    assert (select_profile().name, select_profile().source) == ("workshop", "default")
    monkeypatch.setenv(ENV_VAR, "full")
    assert (select_profile().name, select_profile().source) == ("full", "$COURSE_PROFILE")
    assert (select_profile("Smoke").name, select_profile("Smoke").source) == ("smoke", "argument")


def test_descriptions_differ_and_mention_the_hardware() -> None:
    texts = {select_profile(name).description for name in PROFILE_NAMES}
    assert len(texts) == 3
    assert "GPU" in select_profile("full").description
    assert "CPU" in select_profile("workshop").description


# --- settings -------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_per_profile_mapping_selects_this_profiles_value(name: str) -> None:
    profile = select_profile(
        name, epochs=PER_PROFILE_EPOCHS, latent_dim={"smoke": 2, "workshop": 16, "full": 64}
    )
    assert profile.epochs == PER_PROFILE_EPOCHS[name]
    assert profile.latent_dim == {"smoke": 2, "workshop": 16, "full": 64}[name]


def test_plain_values_apply_to_every_profile() -> None:
    for name in PROFILE_NAMES:
        profile = select_profile(name, batch_size=64, latent_dim=32, layers=(64, 32))
        assert profile.batch_size == 64
        assert profile.latent_dim == 32
        assert profile.layers == (64, 32)


def test_mapping_without_profile_keys_is_used_as_is() -> None:
    loss_weights = {"reconstruction": 1.0, "kl": 0.5}
    profile = select_profile("smoke", loss_weights=loss_weights)
    assert profile.loss_weights == loss_weights


def test_partial_mapping_names_the_missing_profile() -> None:
    with pytest.raises(ValueError, match="give a value for every profile: missing 'full'"):
        select_profile("smoke", epochs={"smoke": 1, "workshop": 5})


def test_partial_mapping_is_an_error_even_for_the_covered_profile() -> None:
    # The error must not depend on which profile happens to run (CI runs smoke only).
    with pytest.raises(ValueError, match="missing 'workshop', 'full'"):
        select_profile("smoke", latent_dim={"smoke": 2})


def test_unknown_profile_key_next_to_profile_names_is_an_error() -> None:
    with pytest.raises(ValueError, match="'ful'") as info:
        select_profile("smoke", epochs={"smoke": 1, "workshop": 5, "ful": 9})
    assert "full" in str(info.value)


def test_overrides_replace_base_fields_and_do_not_become_extras() -> None:
    profile = select_profile("workshop", train_size=5000, test_size=100, description="custom")
    assert (profile.train_size, profile.test_size, profile.description) == (5000, 100, "custom")
    assert dict(profile.extra) == {}


def test_epochs_and_batch_size_are_checked_extras() -> None:
    profile = select_profile("smoke", epochs=3, batch_size=64)
    assert dict(profile.extra) == {"epochs": 3, "batch_size": 64}


def test_extras_via_attribute_and_item_access() -> None:
    profile = select_profile(
        "smoke", latent_dim=8, beta={"smoke": 1.0, "workshop": 2.0, "full": 4.0}, epochs=2
    )
    assert profile.latent_dim == 8 and profile["latent_dim"] == 8
    assert profile.beta == 1.0 and profile["beta"] == 1.0
    assert profile["epochs"] == profile.epochs == 2
    assert dict(profile.extra) == {"latent_dim": 8, "beta": 1.0, "epochs": 2}


def test_unknown_attribute_lists_available_keys() -> None:
    profile = select_profile("smoke", latent_dim=8)
    with pytest.raises(AttributeError) as info:
        _ = profile.latnet_dim
    message = str(info.value)
    assert "latnet_dim" in message
    assert "latent_dim" in message and "train_size" in message
    assert not hasattr(profile, "nothing_here")


def test_unknown_item_lists_available_keys() -> None:
    profile = select_profile("smoke", latent_dim=8)
    with pytest.raises(KeyError, match="latent_dim"):
        profile["missing"]


@pytest.mark.parametrize("reserved", ["source", "extra", "describe", "as_dict"])
def test_reserved_setting_names_are_rejected(reserved: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        select_profile("smoke", **{reserved: 1})


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("epochs", 0),
        ("epochs", -1),
        ("epochs", 2.5),
        ("epochs", None),
        ("epochs", True),
        ("batch_size", "128"),
        ("batch_size", None),
        ("train_size", 0),
        ("test_size", -5),
    ],
)
def test_invalid_base_values_raise_with_the_field_name(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{key} must be a positive integer"):
        select_profile("smoke", **{key: value})


def test_invalid_value_in_another_profiles_mapping_is_not_checked_for_this_one() -> None:
    # Only the selected profile's values are used, so only they are validated.
    profile = select_profile("smoke", epochs={"smoke": 1, "workshop": 5, "full": 10})
    assert profile.epochs == 1
    with pytest.raises(ValueError, match="epochs"):
        select_profile("full", epochs={"smoke": 1, "workshop": 5, "full": 0})


def test_none_is_allowed_for_train_and_test_size() -> None:
    profile = select_profile("smoke", train_size=None, test_size=None)
    assert profile.train_size is None and profile.test_size is None


def test_numpy_integers_are_accepted_as_ints() -> None:
    np = pytest.importorskip("numpy")
    profile = select_profile("smoke", epochs=np.int64(4))
    assert profile.epochs == 4 and type(profile.epochs) is int


def test_bad_description_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="description"):
        select_profile("smoke", description=3)


# --- the Profile object ---------------------------------------------------------------


def test_profile_is_frozen() -> None:
    profile = select_profile("smoke", latent_dim=8, epochs=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.epochs = 100  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.latent_dim = 3
    with pytest.raises(TypeError):
        profile.extra["latent_dim"] = 3  # type: ignore[index]
    assert profile.epochs == 2 and profile.latent_dim == 8


def test_extras_are_a_copy_of_the_settings() -> None:
    settings = {"latent_dim": 8}
    profile = select_profile("smoke", **settings)
    settings["latent_dim"] = 99
    assert profile.latent_dim == 8


def test_as_dict_flattens_fields_and_extras() -> None:
    profile = select_profile("smoke", latent_dim=8, epochs=2)
    assert profile.as_dict() == {
        "name": "smoke",
        "train_size": 2000,
        "test_size": 1000,
        "description": profile.description,
        "source": "argument",
        "latent_dim": 8,
        "epochs": 2,
    }


def test_describe_mentions_name_source_epochs_sizes_and_extras() -> None:
    text = select_profile("workshop", epochs=PER_PROFILE_EPOCHS, latent_dim=16).describe()
    assert "'workshop'" in text
    assert "argument" in text
    assert "epochs" in text and "20" in text
    assert "train_size" in text and "all" in text  # None is shown as "all"
    assert "latent_dim" in text and "16" in text
    assert text.count("\n") < 15  # short: it is printed at the top of every notebook


def test_describe_shortens_long_evenly_spaced_runs_and_keeps_every_other_value() -> None:
    text = select_profile(
        "workshop",
        jpeg=tuple(range(1, 101)),
        webp=tuple(range(0, 31)) + tuple(range(35, 101, 5)),
        powers=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        mixed=(1, 3, 5, 7, 8, 9, 20, 21, 22),
        lambdas=(1, 2, 3),
    ).describe()
    assert "1, 2, ..., 100 (100 values)" in text
    assert "0, 1, ..., 30, 35, 40, ..., 100 (45 values)" in text
    assert "1, 2, 4, 8, 16, 32, 64, 128, 256 (9 values)" in text  # no even run: nothing hidden
    assert "1, 3, 5, 7, 8, 9, 20, 21, 22 (9 values)" in text  # runs under five values are kept
    assert "(1, 2, 3)" in text  # short settings stay as they are


def test_profile_survives_copy_pickle_and_asdict() -> None:
    profile = select_profile("smoke", latent_dim=8)
    assert copy.deepcopy(profile) == profile
    assert pickle.loads(pickle.dumps(profile)) == profile
    assert dataclasses.asdict(profile)["extra"] == {"latent_dim": 8}
    assert dataclasses.replace(profile, train_size=7).latent_dim == 8


def test_profile_can_be_built_directly() -> None:
    profile = Profile("smoke", 1, 1, "d", "argument")
    assert dict(profile.extra) == {}
    with pytest.raises(AttributeError, match="available"):
        _ = profile.latent_dim


def test_module_exports() -> None:
    assert profiles.Profile is Profile
    assert issubclass(UnknownProfileError, ValueError)


# --- apply_size -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "size", "expected"),
    [(60000, None, 60000), (60000, 2000, 2000), (500, 2000, 500), (0, None, 0), (10, 10, 10)],
)
def test_apply_size(available: int, size: int | None, expected: int) -> None:
    assert apply_size(available, size) == expected


@pytest.mark.parametrize(("available", "size"), [(100, 0), (100, -1), (-1, None), (100, 2.5)])
def test_apply_size_rejects_bad_values(available: int, size: int | None) -> None:
    with pytest.raises(ValueError):
        apply_size(available, size)


def test_apply_size_with_profile_sizes() -> None:
    smoke, workshop = select_profile("smoke"), select_profile("workshop")
    assert apply_size(60000, smoke.train_size) == 2000
    assert apply_size(60000, workshop.train_size) == 60000
    assert apply_size(10000, smoke.test_size) == 1000
