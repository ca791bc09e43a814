import numpy as np
import pytest

from course_lib import metrics


def test_mse_known_value():
    x = np.zeros((2, 2, 2))
    y = np.ones((2, 2, 2))
    y[1] = 0.5
    assert metrics.mse(x, y) == pytest.approx((1.0 + 0.25) / 2)
    assert np.allclose(metrics.per_example_mse(x, y), [1.0, 0.25])


def test_mse_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"shapes differ"):
        metrics.mse(np.zeros((2, 28, 28)), np.zeros((2, 784)))
    with pytest.raises(ValueError, match="non-empty batch"):
        metrics.mse(np.zeros((0, 4)), np.zeros((0, 4)))
