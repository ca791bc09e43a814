"""The exercise-checker framework: verdicts for a stub, a correct answer, known and unknown mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import (
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    Case,
    CheckResult,
    Mistake,
    check_function,
    check_parts,
)


def _reference(x):
    return np.sum(np.asarray(x) ** 2, axis=-1)


def _forgot_sum(x):
    return np.asarray(x) ** 2


def _wrong_sign(x):
    return -np.sum(np.asarray(x) ** 2, axis=-1)


CASES = [Case("a single vector", (np.array([1.0, 2.0]),)),
         Case("a batch of two", (np.array([[1.0, 0.0], [3.0, 4.0]]),))]
MISTAKES = [Mistake(_wrong_sign, "the sign is wrong: a sum of squares is never negative."),
            Mistake(_forgot_sum, "you forgot the sum over the last axis.")]


def run(fn):
    return check_function(fn, exercise="sum_of_squares", reference=_reference, cases=CASES,
                          mistakes=MISTAKES, hint="Square, then sum over the last axis.")


def test_reference_passes_and_displays_a_tick():
    result = run(_reference)
    assert result.status == PASSED and result.passed and bool(result)
    assert str(result).startswith("✓ sum_of_squares: correct on all 2 cases")


def test_stub_is_not_attempted_and_does_not_raise():
    def stub(x):
        raise NotImplementedError

    result = run(stub)
    assert result.status == NOT_ATTEMPTED and not result
    assert "not attempted yet" in str(result)


@pytest.mark.parametrize(("wrong", "words"), [(_wrong_sign, "sign is wrong"),
                                               (_forgot_sum, "forgot the sum")])
def test_known_mistakes_get_their_message(wrong, words):
    result = run(wrong)
    assert result.status == FAILED and words in result.message


def test_unknown_mistake_names_the_case_and_the_values():
    result = run(lambda x: _reference(x) + 1.0)
    assert result.status == FAILED
    assert "on a single vector, expected 5 but got 6" in result.message
    assert "Square, then sum" in result.message


def test_errors_none_and_shapes_are_explained():
    assert "raised ZeroDivisionError" in run(lambda x: 1 / 0).message
    assert "forget `return`" in run(lambda x: None).message
    shape = run(lambda x: np.zeros(3)).message
    assert "shape (3,)" in shape and "should have shape ()" in shape
    assert "expected a function" in run(3).message


def test_the_learners_arrays_are_not_shared_with_the_reference():
    def mutating(x):
        x[...] = 0.0
        return _reference(x)

    run(mutating)
    assert CASES[0].args[0].tolist() == [1.0, 2.0]


def test_keras_tensors_are_accepted():
    import keras

    result = run(lambda x: keras.ops.sum(keras.ops.square(keras.ops.convert_to_tensor(x)), axis=-1))
    assert result.passed, result.message


def test_check_result_is_a_plain_value_object():
    r = CheckResult("e", PASSED, "fine")
    assert repr(r) == str(r) == "✓ e: fine"


def test_an_array_answer_says_where_it_first_differs():
    def last_off(x):
        out = np.array(_reference(x), dtype=float)
        if out.size > 1:  # right on the single vector, wrong on the batch's last entry
            out[-1] += 1
        return out

    result = run(last_off)
    assert result.status == FAILED
    assert "on a batch of two" in result.message
    assert "first difference is at index (1,): expected 25, got 26" in result.message


def _sum_and_max(x):
    x = np.asarray(x, dtype=float)
    return x.sum(axis=-1), x.max(axis=-1, keepdims=True)


def run_parts(fn):
    return check_parts(fn, exercise="sum_and_max", reference=_sum_and_max, cases=CASES,
                       parts=("total", "largest"), shapes=("(...,)", "(..., 1)"),
                       why="Both are needed later.",
                       mistakes=[Mistake(lambda x: (-np.sum(x, axis=-1), None), "the sign of the total is wrong.")])


def test_check_parts_judges_each_part_of_a_tuple():
    assert run_parts(_sum_and_max).status == PASSED
    assert run_parts(lambda x: (_ for _ in ()).throw(NotImplementedError())).status == NOT_ATTEMPTED
    single = run_parts(lambda x: np.sum(x, axis=-1))
    assert single.status == FAILED and "only `total` (and it is right)" in single.message
    # a mistake that leaves a part unspecified is recognised from the part it gives
    signed = run_parts(lambda x: (-np.sum(x, axis=-1), np.zeros((*np.shape(x)[:-1], 1))))
    assert signed.message == "the sign of the total is wrong."
    # otherwise the first wrong part is named, with its shape explained in words
    flat = run_parts(lambda x: (np.sum(x, axis=-1), np.max(x, axis=-1)))
    assert "`largest` has shape" in flat.message and "(..., 1)" in flat.message
