"""Anomaly detection: NaN/Inf in backward named with the op and the user's line that created it."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import _context
from chainrule.autograd import Function, detect_anomaly, set_detect_anomaly


def _line(marker: str) -> int:
    src, start = inspect.getsourcelines(inspect.currentframe().f_back.f_code)
    for i, text in enumerate(src):
        if marker in text and "_line(" not in text:
            return start + i
    raise AssertionError(marker)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Anomaly Detection has been enabled")
        yield
    assert not cr.autograd.is_anomaly_enabled()
    assert _context.proc.node_hooks == () and _context.current() == (), "a test left a node hook installed"


def test_nan_from_log_of_zero_names_op_and_user_line():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = cr.log(x)  # MARK-log
        z = y * 0  # forward: -inf * 0 = nan
        loss = (z * z).sum()  # MARK-square
        assert np.isnan(loss.item())
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    # the backward that first returns NaN, and where its node was made
    assert msg.startswith("Function 'MulBackward0' returned nan values in its 0th output.")
    assert f'File "{__file__}", line {_line("MARK-square")}' in msg
    # and where the NaN came from in the forward: log(0), with the user's line and source
    assert "The forward pass first produced inf (from finite inputs) in LogBackward0." in msg
    assert f'File "{__file__}", line {_line("MARK-log")}' in msg
    assert "y = cr.log(x)" in msg


def test_nan_in_a_backward_rule_itself():
    """log's backward at 0 with a nonzero incoming gradient: 1/0 = inf, named with the line."""
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = cr.log(x).sum()  # MARK-log2
        with pytest.raises(RuntimeError, match="Function 'LogBackward0' returned inf") as info:
            y.backward()
    assert f"line {_line('MARK-log2')}" in str(info.value)


def test_inf_is_reported_too():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with detect_anomaly():
        y = cr.sqrt(x).sum()  # MARK-sqrt
        with pytest.raises(RuntimeError, match=r"'SqrtBackward0' returned inf values") as info:
            y.backward()
    assert f"line {_line('MARK-sqrt')}" in str(info.value)


def test_outside_anomaly_mode_nan_passes_and_nothing_is_recorded():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    y = cr.log(x)
    assert y.grad_fn.x is None  # no creation site bookkeeping when off
    z = y * 0
    (z * z).sum().backward()
    assert np.isnan(x.grad._array[0])


def test_check_nan_false_only_records_sites():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly(check_nan=False):
        y = cr.log(x)
        assert y.grad_fn.x["site"][0][0] == __file__
        z = y * 0
        (z * z).sum().backward()
    assert np.isnan(x.grad._array[0])


def test_set_detect_anomaly_function_and_context_restore():
    assert not cr.autograd.is_anomaly_enabled()
    set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled() and cr.autograd.is_anomaly_check_nan_enabled()
        with set_detect_anomaly(False):
            assert not cr.autograd.is_anomaly_enabled()
        assert cr.autograd.is_anomaly_enabled()
    finally:
        set_detect_anomaly(False)
    assert _context.proc.node_hooks == () and _context.current() == ()  # the hot path is back to no hook at all


def test_decorator_form():
    @detect_anomaly()
    def run():
        x = cr.tensor([0.0], requires_grad=True)
        cr.log(x).sum().backward()

    with pytest.raises(RuntimeError, match="LogBackward0"):
        run()


def test_custom_function_site_and_errors_get_notes():
    class Boom(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            raise ValueError("boom in backward")

    x = cr.tensor([1.0], requires_grad=True)
    y = Boom.apply(x).sum()
    with pytest.raises(ValueError, match="boom") as info:
        y.backward()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "BoomBackward" in notes and "detect_anomaly" in notes
    with detect_anomaly():
        y = Boom.apply(x).sum()  # MARK-boom
        with pytest.raises(ValueError) as info:
            y.backward()
    notes = "\n".join(info.value.__notes__)
    assert "BoomBackward was created at" in notes and f"line {_line('MARK-boom')}" in notes


def test_custom_function_nan_is_caught():
    class BadGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = cr.tensor([1.0], requires_grad=True)
    with detect_anomaly():
        y = BadGrad.apply(x)  # MARK-bad
        with pytest.raises(RuntimeError, match="Function 'BadGradBackward' returned nan") as info:
            y.sum().backward()
    assert f"line {_line('MARK-bad')}" in str(info.value)


def test_chains_with_an_existing_on_node_observer():
    seen = []

    class Observe(_context.Mode):
        def on_node(self, node):
            seen.append(node.name())

    with _context.active(Observe()):
        x = cr.tensor([1.0], requires_grad=True)
        with detect_anomaly():
            y = x.exp()
            assert "site" in y.grad_fn.x
        assert seen == ["ExpBackward0"]
        assert _context.proc.node_hooks == () and len(_context.current()) == 1
        x.sin()
        assert seen == ["ExpBackward0", "SinBackward0"]  # the observer survives anomaly mode


def test_inplace_error_names_op():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    y = a.exp()
    y.mul_(2)
    with pytest.raises(RuntimeError, match=r"output 0 of ExpBackward0"):
        y.sum().backward()


def test_origin_found_under_saved_tensor_hooks_too():
    x = cr.tensor([0.0, 1.0], requires_grad=True)
    with cr.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        with detect_anomaly():
            z = cr.log(x) * 0
            loss = (z * z).sum()
            with pytest.raises(RuntimeError, match="first produced inf .* in LogBackward0"):
                loss.backward()
