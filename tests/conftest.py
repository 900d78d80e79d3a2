import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

try:
    from hypothesis import settings

    # always derandomized: a red run means a real defect, reproducible anywhere
    settings.register_profile("chainrule", derandomize=True, deadline=None, max_examples=60)
    settings.load_profile("chainrule")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(autouse=True)
def _restore_state():
    import chainrule as cr

    d = cr.get_default_dtype()
    yield
    cr.set_default_dtype(d)
    assert cr.is_grad_enabled(), "a test left grad mode disabled"


@pytest.fixture
def rng():
    return np.random.default_rng(0)
