"""The committed judge: it loads, verifies, is accurate, refuses bad input and tampering."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import data, judge  # noqa: E402
from course_lib.frechet import frechet_distance, frechet_distance_images  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _train_script():
    spec = importlib.util.spec_from_file_location(
        "train_judge", ROOT / "scripts" / "train_judge.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def the_judge():
    return judge.load_judge(1)


@pytest.fixture(scope="module")
def test_set():
    """All 10,000 test images as float32 in [0, 1] and their labels (full data only)."""
    try:
        ds = data.load_fashion_mnist(verbose=False, allow_subset=False)
    except data.DataNotFoundError as exc:
        pytest.skip(f"needs the full Fashion-MNIST test set (run `make data`): {exc}")
    return data.to_float(ds.x_test), ds.y_test


def test_committed_files_exist_and_record_what_they_are():
    model_file, json_file = judge.artefact_paths(1)
    assert model_file.parent == judge.default_directory()
    assert model_file.is_file() and json_file.is_file()
    assert model_file.stat().st_size < 1.5e6
    info = json.loads(json_file.read_text())
    for key in ("version", "weights_sha256", "test_accuracy", "training", "seed", "tensorflow"):
        assert key in info, key
    assert info["version"] == 1 and info["file"] == model_file.name
    assert 1 in judge.available_versions()


def test_loads_and_hash_matches(the_judge):
    assert the_judge.version == 1
    assert judge.weights_sha256(the_judge.model) == the_judge.info["weights_sha256"]
    assert 0.91 <= the_judge.test_accuracy <= 1.0
    assert "Judge(" in repr(the_judge)


def test_classifies_the_first_2000_test_images(the_judge, test_set):
    x, y = test_set
    assert np.mean(the_judge.predict(x[:2000]) == y[:2000]) >= 0.90


def test_outputs_shapes_and_consistency(the_judge, test_set):
    x = test_set[0][:300]
    probs = the_judge.predict_proba(x)
    assert probs.shape == (300, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(the_judge.predict(x), probs.argmax(axis=1))
    feats = the_judge.features(x)
    assert feats.shape == (300, judge.FEATURE_DIM) == (300, 128)
    assert feats.min() >= 0.0  # ReLU activations
    # (N, 28, 28) and (N, 28, 28, 1) give the same answers; batching does not matter.
    np.testing.assert_allclose(the_judge.features(x[..., None]), feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(the_judge.features(x[:7]), feats[:7], rtol=1e-5, atol=1e-6)


def test_features_and_predictions_in_one_pass_equal_the_separate_calls(the_judge, test_set):
    x, _ = test_set
    feats, predicted = the_judge.features_and_predictions(x[:300])
    np.testing.assert_allclose(feats, the_judge.features(x[:300]), atol=1e-6)
    np.testing.assert_array_equal(predicted, the_judge.predict(x[:300]))
    assert feats.shape == (300, 128) and predicted.shape == (300,)


def test_class_accuracy_on_true_labels_is_the_accuracy(the_judge, test_set):
    x, y = test_set[0][:1000], test_set[1][:1000]
    acc = judge.class_accuracy(the_judge, x, y)
    assert acc == pytest.approx(np.mean(the_judge.predict(x) == y))
    # One requested class for all images: the fraction predicted as that class.
    trousers = x[y == 1]
    assert judge.class_accuracy(the_judge, trousers, 1) > 0.9
    assert judge.class_accuracy(the_judge, trousers, 0) < 0.1


def test_per_class_accuracy_splits_the_overall_accuracy(the_judge, test_set):
    x, y = test_set[0][:1000], test_set[1][:1000]
    per = judge.per_class_accuracy(the_judge, x, y)
    assert per.shape == (10,)
    hit = the_judge.predict(x) == y
    for c in range(10):
        assert per[c] == pytest.approx(hit[y == c].mean())
    # weighted by the class counts, the per-class values give back the overall accuracy
    assert np.average(per, weights=np.bincount(y, minlength=10)) == pytest.approx(judge.class_accuracy(the_judge, x, y))
    # classes nobody asked for are NaN, not 0
    only_trousers = judge.per_class_accuracy(the_judge, x[y == 1], 1)
    assert only_trousers[1] > 0.9 and np.isnan(np.delete(only_trousers, 1)).all()


def test_recorded_accuracy_matches_a_recomputation(the_judge, test_set):
    x, y = test_set
    assert judge.class_accuracy(the_judge, x, y) == pytest.approx(
        the_judge.test_accuracy, abs=0.002
    )


def test_frechet_distance_in_judge_space(the_judge, test_set):
    x = test_set[0]
    a, b = x[:1000], x[1000:2000]
    same = frechet_distance_images(the_judge, a, b)
    noisy = np.clip(b + np.random.default_rng(0).normal(0, 0.2, b.shape), 0, 1).astype("float32")
    worse = frechet_distance_images(the_judge, a, noisy)
    assert 0 < same < worse
    assert frechet_distance(the_judge.features(a), the_judge.features(a)) == pytest.approx(
        0.0, abs=1e-6
    )


@pytest.mark.parametrize(
    "images, match",
    [
        (np.zeros((2, 28, 28), np.uint8), r"astype\('float32'\) / 255"),
        (np.full((2, 28, 28), 255.0, np.float32), "divide by 255"),
        (np.full((2, 28, 28), -0.1, np.float32), r"np.clip\(x, 0, 1\)"),
        (np.full((2, 28, 28), np.nan, np.float32), "NaN"),
        (np.zeros((28, 28), np.float32), r"x\[None\]"),
        (np.zeros((2, 784), np.float32), r"reshape\(-1, 28, 28\)"),
        (np.zeros((2, 32, 32, 1), np.float32), r"\(N, 28, 28\)"),
        (np.zeros((2, 28, 28, 3), np.float32), r"\(N, 28, 28, 1\)"),
        (np.zeros((0, 28, 28), np.float32), "empty"),
    ],
)
def test_bad_images_raise_clear_errors(the_judge, images, match):
    with pytest.raises(ValueError, match=match):
        the_judge.predict(images)


def test_bad_labels_raise_clear_errors(the_judge):
    x = np.zeros((4, 28, 28), np.float32)
    with pytest.raises(ValueError, match="one label per image"):
        judge.class_accuracy(the_judge, x, [0, 1, 2])
    with pytest.raises(ValueError, match="class ids 0..9"):
        judge.class_accuracy(the_judge, x, [0, 1, 2, 10])
    with pytest.raises(ValueError, match="argmax"):
        judge.class_accuracy(the_judge, x, np.eye(10)[:4])
    with pytest.raises(ValueError, match="per_class_accuracy: requested_labels has shape"):
        judge.per_class_accuracy(the_judge, x, [0, 1, 2])


def test_missing_version_says_how_to_get_it(tmp_path):
    with pytest.raises(judge.JudgeNotFoundError, match=r"train_judge.py --version 7"):
        judge.load_judge(7)
    with pytest.raises(judge.JudgeNotFoundError, match="versions present there: none"):
        judge.load_judge(1, directory=tmp_path)
    with pytest.raises(ValueError, match="positive integer"):
        judge.load_judge(0)


def _copy_of_v1(tmp_path):
    model_file, json_file = judge.artefact_paths(1)
    shutil.copy(model_file, tmp_path)
    shutil.copy(json_file, tmp_path)
    return judge.artefact_paths(1, tmp_path)


def test_an_untouched_copy_loads_from_another_directory(tmp_path):
    _copy_of_v1(tmp_path)
    assert judge.load_judge(1, directory=tmp_path).version == 1


def test_tampered_weights_raise_the_hash_error(tmp_path, the_judge):
    model_file, _ = _copy_of_v1(tmp_path)
    weights = the_judge.model.get_weights()
    weights[-1] = weights[-1].copy()
    weights[-1][0] += 1e-3  # one output bias, slightly
    tampered = judge.build_classifier()
    tampered.set_weights(weights)
    tampered.save(model_file)
    with pytest.raises(judge.JudgeIntegrityError, match="weights changed") as err:
        judge.load_judge(1, directory=tmp_path)
    message = str(err.value)
    assert "not be comparable" in message and "restore the file from git" in message
    assert "train_judge.py --version N" in message


def test_corrupt_files_raise_integrity_errors(tmp_path):
    model_file, json_file = _copy_of_v1(tmp_path)
    json_file.write_text("{not json")
    with pytest.raises(judge.JudgeIntegrityError, match="not a valid judge record"):
        judge.load_judge(1, directory=tmp_path)
    model_file, json_file = _copy_of_v1(tmp_path)
    model_file.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(judge.JudgeIntegrityError, match="cannot be loaded"):
        judge.load_judge(1, directory=tmp_path)


def test_save_judge_refuses_to_overwrite(tmp_path, the_judge):
    info = {"test_accuracy": the_judge.test_accuracy}
    model_file, json_file = judge.save_judge(the_judge.model, 3, info, tmp_path)
    assert (
        judge.load_judge(3, directory=tmp_path).info["weights_sha256"]
        == (the_judge.info["weights_sha256"])
    )
    with pytest.raises(FileExistsError, match="--version 4"):
        judge.save_judge(the_judge.model, 3, info, tmp_path)
    judge.save_judge(the_judge.model, 3, info, tmp_path, force=True)


def test_weights_hash_ignores_the_zip_but_not_the_numbers(the_judge):
    model = judge.build_classifier()
    model.set_weights(the_judge.model.get_weights())
    assert judge.weights_sha256(model) == the_judge.info["weights_sha256"]
    weights = model.get_weights()
    weights[0] = -weights[0]
    model.set_weights(weights)
    assert judge.weights_sha256(model) != the_judge.info["weights_sha256"]


def test_train_script_refuses_to_overwrite_before_training(tmp_path, capsys):
    model_file, json_file = _copy_of_v1(tmp_path)
    before = model_file.read_bytes(), json_file.read_bytes()
    assert _train_script().main(["--out-dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert (model_file.read_bytes(), json_file.read_bytes()) == before


def test_train_script_keeps_quick_checks_out_of_the_assets(capsys):
    with pytest.raises(SystemExit):
        _train_script().main(["--train-size", "100"])
    assert "--out-dir" in capsys.readouterr().err
