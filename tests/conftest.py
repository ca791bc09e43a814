"""Every test starts from the same random state, so a test's result does not depend on which
tests ran before it (Keras initialisers and NumPy's global generator are seeded per test)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _same_random_state_for_every_test():
    import keras

    keras.utils.set_random_seed(0)
    yield
