"""The funnel's mode stack (``chainrule._context``): events, order, nesting and thread-locality."""

import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import _context


class Recorder(_context.Mode):
    def __init__(self, log, name="r"):
        self.log, self.name = log, name

    def process(self, op, tensors, kw):
        self.log.append((self.name, "process", op.name))
        return NotImplemented

    def after(self, op, tensors, kw, outs):
        self.log.append((self.name, "after", op.name, tuple(o.shape for o in outs)))

    def on_escape(self, tensor, how):
        self.log.append((self.name, "escape", how))


def test_events_reach_the_active_mode_and_stop_after_it_is_popped():
    log = []
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with _context.active(Recorder(log)):
        y = (x * 2).sum()
        y.item()
    assert log == [("r", "process", "mul"), ("r", "after", "mul", ((2,),)),
                   ("r", "process", "sum"), ("r", "after", "sum", ((),)), ("r", "escape", "item")]
    log.clear()
    (x * 2).sum().item()
    assert log == [] and _context.current() == ()


def test_process_goes_innermost_first_and_after_outermost_first():
    log = []
    with _context.active(Recorder(log, "outer")), _context.active(Recorder(log, "inner")):
        cr.tensor([1.0]).exp()
    assert [e[:2] for e in log] == [("inner", "process"), ("outer", "process"),
                                     ("outer", "after"), ("inner", "after")]


def test_a_mode_may_take_an_op_over_and_suspend_itself_to_reenter_the_funnel():
    class Doubler(_context.Mode):
        def process(self, op, tensors, kw):
            if op.name != "exp":
                return NotImplemented
            with _context.suspended(self):
                return cr.exp(tensors[0]) * 2

    with _context.active(Doubler()):
        r = cr.tensor([0.0]).exp()
    np.testing.assert_allclose(r.numpy(), [2.0])


def test_pop_refuses_a_mode_that_is_not_innermost():
    a, b = _context.Mode(), _context.Mode()
    with _context.active(a), _context.active(b):
        with pytest.raises(RuntimeError, match="not the innermost"):
            _context.pop(a)


def test_the_stack_is_per_thread():
    log, seen = [], []
    started, done = threading.Event(), threading.Event()

    def other():
        started.wait(5)
        cr.tensor([1.0]).sin()
        seen.append(_context.current())
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with _context.active(Recorder(log)):
        started.set()
        done.wait(5)
    t.join(5)
    assert log == [] and seen == [()]


def test_on_node_sees_every_recorded_node_and_only_those():
    names = []

    class Nodes(_context.Mode):
        def on_node(self, node):
            names.append(node.name())

    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with _context.active(Nodes()):
        y = (x.exp() * 2).sum()
        with cr.no_grad():
            x.sin()  # no graph, no node
        cr.tensor([1.0]).cos()  # no input requires grad: no node
    assert names == ["ExpBackward0", "MulBackward0", "SumBackward0"]
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))


def test_forward_ad_and_vmap_are_modes_while_a_level_is_open():
    from chainrule.autograd import forward_ad as fwad

    assert _context.current() == ()
    with fwad.dual_level():
        assert [type(m).__name__ for m in _context.current()] == ["_ForwardAD"]
        inside = []
        cr.func.vmap(lambda r: inside.append([type(m).__name__ for m in _context.current()]) or r)(
            cr.ones(2, 3))
        assert inside == [["_ForwardAD", "_Batching"]]
    assert _context.current() == ()


def test_grad_mode_and_levels_live_in_the_per_thread_context():
    seen = []
    with cr.no_grad():
        assert _context.ctx.enabled is False
        t = threading.Thread(target=lambda: seen.append(_context.ctx.enabled))
        t.start()
        t.join(5)
    assert seen == [True] and _context.ctx.enabled is True
