"""Tests for course_lib.results: recording, saving, loading and the course summary."""

import importlib.metadata
import json
import subprocess
import sys
import time
import types
from datetime import datetime, timedelta

import numpy as np
import pytest

from course_lib import results
from course_lib.results import ResultsRecorder, format_summary, load_results, write_summary

PAYLOAD_KEYS = {
    "notebook",
    "profile",
    "data_source",
    "data_kind",
    "metrics",
    "claims",
    "wall_time_seconds",
    "started_at",
    "finished_at",
    "environment",
}


def recorder(tmp_path, notebook="01_mlp_autoencoder", **kw) -> ResultsRecorder:
    kw.setdefault("profile", "smoke")
    kw.setdefault("data_source", "bundled subset")
    return ResultsRecorder(notebook, results_dir=tmp_path, **kw)


def saved(tmp_path, notebook, metrics, **kw) -> None:
    rec = recorder(tmp_path, notebook, **kw)
    for name, value in metrics.items():
        rec.record(name, value)
    rec.save()


# --------------------------------------------------------------------------- recording


def test_record_save_load_round_trip(tmp_path):
    rec = recorder(tmp_path, data_kind="subset")
    rec.record("test_mse", 0.0123, unit="per pixel", note="mean over the test set")
    rec.record("epochs", 5)
    rec.record("converged", True)
    rec.record("optimizer", "adam")
    rec.record("mse_by_latent", {"2": 0.03, "4": 0.02})
    path = rec.save()
    assert path == tmp_path / "01_mlp_autoencoder.json"

    (loaded,) = load_results(tmp_path)
    assert set(loaded) == PAYLOAD_KEYS
    assert loaded["notebook"] == "01_mlp_autoencoder"
    assert (loaded["profile"], loaded["data_source"], loaded["data_kind"]) == (
        "smoke",
        "bundled subset",
        "subset",
    )
    assert loaded["metrics"] == {
        "test_mse": {"value": 0.0123, "unit": "per pixel", "note": "mean over the test set"},
        "epochs": {"value": 5, "unit": None, "note": None},
        "converged": {"value": True, "unit": None, "note": None},
        "optimizer": {"value": "adam", "unit": None, "note": None},
        "mse_by_latent": {"value": {"2": 0.03, "4": 0.02}, "unit": None, "note": None},
    }
    assert loaded["metrics"] == rec.metrics


def test_record_returns_nothing_so_a_cell_ending_in_it_prints_nothing(tmp_path):
    rec = recorder(tmp_path)
    assert rec.record("mse", np.float32(0.25)) is None
    value = rec.metrics["mse"]["value"]
    assert value == 0.25 and type(value) is float


def test_claims_print_a_mark_and_are_saved(tmp_path, capsys):
    rec = ResultsRecorder("01_x", profile="workshop", data_source="t", results_dir=tmp_path)
    rec.claim("The conv model is better", np.float32(0.1) < 0.2, conv=np.float32(0.1), mlp=0.2)
    with pytest.warns(UserWarning, match="does not hold"):
        rec.claim("The conv model is worse", 0.1 > 0.2, conv=0.1)
    out = capsys.readouterr().out
    assert "✓ The conv model is better (conv = 0.1, mlp = 0.2)" in out
    assert "✗ The conv model is worse (conv = 0.1)" in out
    rec.claim("The conv model is better", False)  # a re-run cell replaces the claim
    saved = json.loads(rec.save().read_text())
    assert [c["holds"] for c in saved["claims"]] == [False, False]
    assert saved["claims"][1] == {"text": "The conv model is worse", "holds": False,
                                  "values": {"conv": 0.1}}


def test_claims_reject_non_bool_conditions_and_bad_values(tmp_path):
    rec = recorder(tmp_path)
    with pytest.raises(TypeError, match=r"\.all\(\) or \.any\(\)"):
        rec.claim("arrays are ambiguous", np.array([True, False]))
    with pytest.raises(ValueError, match="not a number"):
        rec.claim("nan is not evidence", True, x=float("nan"))
    with pytest.raises(ValueError, match="non-empty sentence"):
        rec.claim("  ", True)


def test_smoke_profile_claims_do_not_warn(tmp_path, recwarn):
    rec = ResultsRecorder("01_x", profile="smoke", data_source="t", results_dir=tmp_path)
    rec.claim("does not hold on two thousand images", False)
    assert not [w for w in recwarn if "does not hold" in str(w.message)]


def test_numpy_and_tensor_like_values_become_python_types(tmp_path):
    class FakeTensor:  # what keras.ops / tf return: has .numpy()
        def numpy(self):
            return np.float32(1.5)

    rec = recorder(tmp_path)
    rec.record("f32", np.float32(0.5))
    rec.record("i64", np.int64(7))
    rec.record("zero_d", np.array(0.125))
    rec.record("flag", np.bool_(True))
    rec.record("vector", np.array([1.0, 2.0]))
    rec.record("nested", {2: [np.float64(0.1), (np.int32(3), "x")], np.int64(4): {"y": 1}})
    rec.record("tensor", FakeTensor())
    m = {k: v["value"] for k, v in rec.metrics.items()}
    assert m == {
        "f32": 0.5,
        "i64": 7,
        "zero_d": 0.125,
        "flag": True,
        "vector": [1.0, 2.0],
        "nested": {"2": [0.1, [3, "x"]], "4": {"y": 1}},
        "tensor": 1.5,
    }
    assert type(m["f32"]) is float and type(m["i64"]) is int and type(m["flag"]) is bool
    text = rec.save().read_text()
    assert json.loads(text)["metrics"]["nested"]["value"] == m["nested"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), r"metric 'bad' is nan"),
        (np.float32("inf"), r"metric 'bad' is inf"),
        ({"k": [1.0, float("-inf")]}, r"metric 'bad'\['k'\]\[1\] is -inf"),
        (object(), r"metric 'bad' has type object"),
        (None, r"metric 'bad' has type NoneType"),
        ({(1, 2): 0.1}, r"metric 'bad'.*dict key"),
        (np.zeros(5000), r"metric 'bad'.*too large"),
    ],
)
def test_bad_values_rejected_with_the_metric_name(tmp_path, value, message):
    rec = recorder(tmp_path)
    with pytest.raises(ValueError, match=message):
        rec.record("bad", value)
    assert "bad" not in rec.metrics


def test_recording_again_overwrites(tmp_path):
    rec = recorder(tmp_path)
    rec.record("mse", 0.5, unit="a")
    rec.record("other", 1)
    rec.record("mse", 0.25)
    assert list(rec.metrics) == ["mse", "other"]
    assert rec.metrics["mse"] == {"value": 0.25, "unit": None, "note": None}


def test_metrics_property_is_a_copy(tmp_path):
    rec = recorder(tmp_path)
    rec.record("d", {"a": 1})
    rec.metrics["d"]["value"]["a"] = 99
    assert rec.metrics["d"]["value"] == {"a": 1}


@pytest.mark.parametrize("name", ["", "   ", "a/b", "..", "nb\\x", ".ipynb"])
def test_notebook_name_must_be_bare(tmp_path, name):
    with pytest.raises(ValueError, match="notebook"):
        recorder(tmp_path, name)


def test_notebook_suffix_is_dropped_and_profile_required(tmp_path):
    assert recorder(tmp_path, "03_conv.ipynb").path.name == "03_conv.json"
    with pytest.raises(ValueError, match="profile"):
        recorder(tmp_path, profile="")


def test_default_results_dir_follows_paths_module(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path / "b"))
    rec = ResultsRecorder("nb", profile="smoke", data_source="x")
    assert rec.save() == tmp_path / "b" / "results" / "nb.json"


# --------------------------------------------------------------------------- saving


def test_wall_time_is_measured_and_rounded(tmp_path):
    rec = recorder(tmp_path)
    time.sleep(0.2)
    wall = json.loads(rec.save().read_text())["wall_time_seconds"]
    assert 0.2 <= wall < 5.0
    assert wall == round(wall, 1)


def test_timestamps_are_utc_iso(tmp_path):
    data = json.loads(recorder(tmp_path).save().read_text())
    started = datetime.fromisoformat(data["started_at"])
    finished = datetime.fromisoformat(data["finished_at"])
    assert started.utcoffset() == timedelta(0)
    assert timedelta(0) <= finished - started < timedelta(minutes=1)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    rec = recorder(tmp_path)
    rec.record("mse", 1.0)
    rec.save()
    rec.record("mse", 2.0)
    rec.save()  # last save wins
    assert [p.name for p in tmp_path.iterdir()] == ["01_mlp_autoencoder.json"]
    assert json.loads(rec.path.read_text())["metrics"]["mse"]["value"] == 2.0


def test_failed_save_keeps_the_old_file_and_cleans_up(tmp_path, monkeypatch):
    rec = recorder(tmp_path)
    rec.record("mse", 1.0)
    rec.save()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results.os, "replace", broken_replace)
    rec.record("mse", 2.0)
    with pytest.raises(OSError, match="disk full"):
        rec.save()
    assert [p.name for p in tmp_path.iterdir()] == ["01_mlp_autoencoder.json"]
    assert json.loads(rec.path.read_text())["metrics"]["mse"]["value"] == 1.0


def test_environment_reports_versions(tmp_path):
    env = json.loads(recorder(tmp_path).save().read_text())["environment"]
    assert set(env) == {"python", "numpy", "keras", "tensorflow", "device"}
    assert env["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert env["numpy"] == np.__version__


def test_missing_package_reported_as_not_installed(monkeypatch):
    def no_such_dist(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.delitem(sys.modules, "keras", raising=False)
    monkeypatch.setattr(results.importlib.metadata, "version", no_such_dist)
    assert results._environment()["keras"] == "not installed"


def test_device_not_looked_up_unless_tensorflow_is_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    assert results._environment()["device"] == "unknown (TensorFlow not imported)"
    assert "tensorflow" not in sys.modules  # and it was not imported by the lookup


def fake_tensorflow(gpus: list) -> types.SimpleNamespace:
    config = types.SimpleNamespace(
        list_physical_devices=lambda kind: gpus if kind == "GPU" else [],
        experimental=types.SimpleNamespace(
            get_device_details=lambda dev: {"device_name": f"Fake {dev.name}"}
        ),
    )
    return types.SimpleNamespace(config=config, __version__="9.9.9")


def test_device_reported_from_an_imported_tensorflow(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([]))
    env = results._environment()
    assert env["device"] == "CPU"
    assert env["tensorflow"] == "9.9.9"
    gpu = types.SimpleNamespace(name="A100")
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow([gpu]))
    assert results._environment()["device"] == "GPU: Fake A100"


def test_importing_results_does_not_import_tensorflow():
    code = "import sys, course_lib.results; sys.exit('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# --------------------------------------------------------------------------- loading


def test_load_results_sorted_by_notebook_ignoring_other_files(tmp_path):
    saved(tmp_path, "02_conv", {"mse": 0.2})
    saved(tmp_path, "01_mlp", {"mse": 0.1})
    (tmp_path / "summary.md").write_text("old")
    assert [r["notebook"] for r in load_results(tmp_path)] == ["01_mlp", "02_conv"]


def test_load_results_sorts_by_notebook_field_not_file_name(tmp_path):
    saved(tmp_path, "02_conv", {"mse": 0.2})
    saved(tmp_path, "01_mlp", {"mse": 0.1})
    (tmp_path / "01_mlp.json").rename(tmp_path / "z_renamed.json")
    assert [r["notebook"] for r in load_results(tmp_path)] == ["01_mlp", "02_conv"]


def test_load_results_missing_folder_is_empty(tmp_path):
    assert load_results(tmp_path / "nope") == []


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"notebook": "x"}', '{"notebook": "x", "profile": "p", "metrics": 3}'],
)
def test_malformed_file_error_names_the_file(tmp_path, content):
    saved(tmp_path, "01_ok", {"mse": 0.1})
    (tmp_path / "02_broken.json").write_text(content)
    with pytest.raises(ValueError, match="02_broken.json"):
        load_results(tmp_path)


# --------------------------------------------------------------------------- summary


def test_summary_table_lists_every_notebook_and_metric(tmp_path):
    rec = recorder(tmp_path, "01_mlp", profile="full", data_source="keras cache")
    rec.record("test_mse", 0.012345678, unit="per pixel")
    rec.record("params", 123456)
    rec.record("mse_by_k", {"2": 0.03, "4": 0.02})
    rec.save()
    saved(
        tmp_path,
        "02_conv",
        {"ssim": 0.9, "curve": list(np.linspace(0, 1, 10))},
        profile="full",
        data_source="keras cache",
    )
    text = format_summary(load_results(tmp_path))
    lines = text.splitlines()
    assert lines[0].startswith("# ")
    assert "| notebook | profile | data | wall time | claims held | metrics |" in lines
    row1 = next(ln for ln in lines if ln.startswith("| 01_mlp"))
    assert "full" in row1 and "keras cache" in row1
    assert "test_mse = 0.01235 per pixel" in row1  # 4 significant digits + unit
    assert "params = 123456" in row1
    assert "mse_by_k = {2: 0.03, 4: 0.02}" in row1
    row2 = next(ln for ln in lines if ln.startswith("| 02_conv"))
    assert "ssim = 0.9" in row2
    assert "..." in row2 and "(10 items)" in row2 and "0.1111" in row2
    assert row1.count("|") == row2.count("|") == 7
    assert "Note" not in text  # all full data, one profile


def test_summary_notes_subset_and_mixed_profiles(tmp_path):
    saved(tmp_path, "01_mlp", {"mse": 0.1}, profile="smoke", data_kind="subset")
    saved(tmp_path, "02_conv", {"mse": 0.2}, profile="full", data_kind="full")
    text = format_summary(load_results(tmp_path))
    notes = [ln for ln in text.splitlines() if "Note" in ln]
    assert len(notes) == 2
    assert "01_mlp (subset)" in notes[0] and "subset" in notes[0] and "02_conv" not in notes[0]
    assert "smoke: 01_mlp" in notes[1] and "full: 02_conv" in notes[1]


def test_summary_escapes_pipes_and_formats_wall_time():
    row = {
        "notebook": "nb",
        "profile": "p",
        "data_source": "a|b",
        "data_kind": "full",
        "wall_time_seconds": 125.0,
        "metrics": {"x|y": {"value": 1, "unit": None, "note": None}},
    }
    text = format_summary([row])
    line = next(ln for ln in text.splitlines() if ln.startswith("| nb"))
    assert "a\\|b" in line and "x\\|y = 1" in line and "2 min 05 s" in line
    assert line.replace("\\|", "").count("|") == 7


def test_summary_without_results_says_so(tmp_path):
    assert "No results recorded yet" in format_summary([])
    out = write_summary(tmp_path / "empty")
    assert out == tmp_path / "empty" / "summary.md"
    assert "No results recorded yet" in out.read_text()


def test_write_summary_default_and_custom_paths(tmp_path):
    saved(tmp_path, "01_mlp", {"mse": 0.5})
    out = write_summary(tmp_path)
    assert out == tmp_path / "summary.md"
    assert "01_mlp" in out.read_text() and "mse = 0.5" in out.read_text()
    custom = write_summary(tmp_path, tmp_path / "elsewhere" / "s.md")
    assert custom.read_text() == out.read_text()
    assert load_results(tmp_path)[0]["notebook"] == "01_mlp"  # summary.md is not a result


# --------------------------------------------------------------------------- command line


def test_cli_summary_writes_and_prints(tmp_path, capsys):
    saved(tmp_path, "01_mlp", {"mse": 0.5})
    assert results.main(["summary", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "summary.md") in out
    assert "| 01_mlp" in out
    assert (tmp_path / "summary.md").is_file()


def test_cli_reports_malformed_file_and_fails(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{")
    assert results.main(["summary", "--dir", str(tmp_path)]) == 1
    assert "bad.json" in capsys.readouterr().err


def test_cli_runs_as_module(tmp_path):
    saved(tmp_path, "01_mlp", {"mse": 0.5})
    proc = subprocess.run(
        [sys.executable, "-m", "course_lib.results", "summary", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "mse = 0.5" in proc.stdout


def test_record_run_time_is_shown_in_the_summary(tmp_path):
    rec = results.ResultsRecorder("01_x", profile="smoke", data_source="s", results_dir=tmp_path)
    rec.record("m", 1.0)
    rec.save()
    path = results.record_run_time("01_x", 83.4, tmp_path)
    assert json.loads(path.read_text())["run_seconds"] == 83.4
    assert "1 min 23 s" in results.format_summary(results.load_results(tmp_path))
    with pytest.raises(FileNotFoundError, match="did not save its results"):
        results.record_run_time("02_missing", 1.0, tmp_path)


def test_update_readme_replaces_only_the_marked_block(tmp_path):
    rec = results.ResultsRecorder("01_x", profile="workshop", data_source="s", results_dir=tmp_path)
    rec.record("pca_k32_test_mse", 0.0151)
    rec.save()
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{results.README_START}\nold table\n{results.README_END}\noutro\n")
    results.update_readme(readme, tmp_path)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert "old table" not in text and "pca_k32_test_mse = 0.0151" in text
    assert "# Course results" not in text
    results.update_readme(readme, tmp_path)  # idempotent
    assert readme.read_text() == text
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match="results:start"):
        results.update_readme(readme, tmp_path)


def test_timings_block_is_generated_from_the_results(tmp_path):
    saved(tmp_path, "01_a", {"train_seconds": 100.0})
    data = json.loads((tmp_path / "01_a.json").read_text())
    data["run_seconds"] = 150.0
    data["claims"] = [{"text": "t", "holds": True, "values": {}}]
    (tmp_path / "01_a.json").write_text(json.dumps(data))
    saved(tmp_path, "02_b", {})
    doc = tmp_path / "guide.md"
    doc.write_text("intro\n<!-- timings:start -->\nold\n<!-- timings:end -->\nrest\n")
    results.update_timings(doc, tmp_path)
    text = doc.read_text()
    assert "old" not in text and text.startswith("intro") and text.endswith("rest\n")
    assert "| 01_a | smoke | 2 min 30 s | 1 min 40 s | 1 / 1 |" in text
    assert "| 02_b | smoke |" in text and "| all |" in text
    doc.write_text("no markers")
    with pytest.raises(ValueError, match="timings:start"):
        results.update_timings(doc, tmp_path)
