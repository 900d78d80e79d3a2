"""chainrule.autograd.why: one test per common reason for a None (or zero) gradient."""

import inspect

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import why


def here() -> str:
    """file:line of the caller's line."""
    return f"test_why.py:{inspect.currentframe().f_back.f_lineno}"


def test_detached():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    y = x.detach(); site = here()
    loss = (y * w).sum()
    loss.backward()
    assert x.grad is None
    d = why(x, loss)
    assert d.kind == "detached" and d.where == site
    assert str(d).startswith(f"x is not on any path to loss: it was detached at {site}")
    d = why(y, loss)  # and the detached tensor itself
    assert d.kind == "detached" and d.where == site and "y does not require grad" in str(d)


def test_created_under_no_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([0.5, 0.5], requires_grad=True)
    site = f"test_why.py:{inspect.currentframe().f_lineno + 1}"
    with cr.no_grad():
        h = x * 2
    loss = (h * w).sum()
    d = why(x, loss)  # the graph still holds h: the break is found walking back from loss
    assert d.kind == "no_grad" and d.where == site and d.ops == ["mul"]
    assert str(d) == ("x is not on any path to loss: walking back from loss, the graph stops at "
                      "input 0 of MulBackward0, a tensor that went through mul under no_grad "
                      f"(grad mode was turned off at {site})")
    loss.backward()
    d = why(h, loss)
    assert d.kind == "no_grad" and d.where == site and d.ops == ["mul"]
    assert "h does not require grad: it went through mul under no_grad" in str(d)
    d = why(x, loss)  # after backward the graph no longer holds h: a hint remains
    assert d.kind == "not_on_path" and f"grad mode was last turned off at {site}" in str(d)


def test_set_grad_enabled_false_and_whole_loss_under_no_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    site = here(); cr.set_grad_enabled(False)
    try:
        loss = (x * x).sum()
    finally:
        cr.set_grad_enabled(True)
    assert not loss.requires_grad
    d = why(x, loss)
    assert d.kind == "loss_no_grad"
    assert str(d).startswith("loss does not require grad: only tensors that do not require grad "
                             "went into it")
    assert str(d).endswith(f"If it went through no_grad: grad mode was last turned off at {site}, "
                           "and results computed there carry no gradient")
    with cr.no_grad():  # the first op under no_grad marks its result
        y = x * x
    d = why(x, y)
    assert d.kind == "no_grad" and d.ops == ["mul"]


def test_integer_tensor():
    i = cr.tensor([1, 2, 3])
    loss = (cr.tensor([1.0, 1.0, 1.0], requires_grad=True) * i).sum()
    d = why(i, loss)
    assert d.kind == "integer" and "i is an integer tensor (chainrule.int64)" in str(d)
    with pytest.raises(RuntimeError, match="only Tensors of floating point"):
        i.requires_grad_()


def test_does_not_require_grad():
    a = cr.tensor([1.0, 2.0])
    w = cr.tensor([1.0, 1.0], requires_grad=True)
    d = why(a, (a * w).sum())
    assert d.kind == "no_requires_grad" and "requires_grad=True" in str(d)


def test_non_leaf_without_retain_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    loss = (h * h).sum()
    loss.backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert h.grad is None
    d = why(h, loss)
    assert d.kind == "non_leaf" and "grad_fn=MulBackward0" in str(d)
    assert "h.retain_grad()" in str(d)
    h2 = x * 3
    h2.retain_grad()
    loss2 = (h2 * h2).sum()
    assert why(h2, loss2).kind == "ok"
    loss2.backward()
    np.testing.assert_allclose(h2.grad._array, [6.0, 12.0])


def test_non_leaf_pitfalls_cast_and_parameter_update():
    w = cr.tensor([1.0, 2.0], requires_grad=True).double()  # a cast makes a non-leaf
    loss = (w * w).sum()
    d = why(w, loss)
    assert d.kind == "non_leaf" and "grad_fn=ToCopyBackward0" in str(d)
    assert "create w with dtype= and requires_grad=True instead" in str(d)
    p = cr.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    p = p - 0.1 * p.grad  # the classic mistake: p is no longer a leaf
    loss = (p * p).sum()
    loss.backward()
    d = why(p, loss)
    assert d.kind == "non_leaf" and "update it in place under no_grad (p -= lr * p.grad)" in str(d)


def test_not_on_any_path():
    x = cr.tensor([1.0, 2.0], requires_grad=True, name="x")
    other = cr.tensor([3.0], requires_grad=True, name="other")
    loss = (x * 2).sum()
    d = why(other, loss)
    assert d.kind == "not_on_path"
    assert str(d).startswith("other is not on any path to loss: loss was computed from the "
                             "leaves x, not from other")


def test_only_non_differentiable_ops():
    x = cr.tensor([0.5, -1.0, 2.0], requires_grad=True)
    mask = x > 0; site = here()
    loss = mask.float().sum()
    assert not loss.requires_grad
    d = why(x, loss)
    assert d.kind == "non_differentiable" and d.where == site and d.ops == ["gt"]
    assert "which is not differentiable" in str(d)
    idx = cr.argmax(x); site = here()
    d = why(idx, cr.tensor([1.0], requires_grad=True).sum())
    assert d.kind == "integer"  # an index is an integer tensor: the first break
    assert x._extra_state["cut_use"][1] == "argmax" and x._extra_state["cut_use"][2] == site


def test_loss_from_nothing_that_requires_grad():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (cr.ones(2) * 3).sum()
    d = why(x, loss)
    assert d.kind == "loss_no_grad" and "only tensors that do not require grad went into it" in \
        str(d) and "Check that loss is computed from x" in str(d)


def test_zero_because_of_a_clamp_mask():
    x = cr.tensor([-1.0, -2.0, -0.5], requires_grad=True)
    loss = (cr.clamp(x * 2, min=0) * 3).sum()  # a relu: every entry is negative
    d = why(x, loss)  # before backward: the exact op is found
    assert d.kind == "zero" and d.ops == ["ClampBackward0"]
    assert "ClampBackward0 (clamp) masks it" in str(d)
    loss.backward()
    np.testing.assert_array_equal(x.grad._array, 0.0)
    d = why(x, loss)  # after backward (graph freed): the masking ops on the path are named
    assert d.kind == "zero" and d.ops == ["ClampBackward0"]


def test_zero_because_of_a_relu():
    relu = cr.nn.functional.relu
    x = cr.tensor([[-1.0, -3.0]], requires_grad=True)
    w = cr.tensor([[1.0], [2.0]], requires_grad=True)
    loss = relu(x @ w).sum()  # x @ w = -7: a dead relu
    d = why(x, loss)
    assert d.kind == "zero" and "masks it" in str(d)
    assert d.ops == [relu(cr.ones(1, requires_grad=True)).grad_fn.name()]
    y = cr.tensor([[1.0, 3.0]], requires_grad=True)
    assert why(y, relu(y @ w).sum()).kind == "ok"


def test_zero_because_of_where():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = cr.where(x > 5, x * x, cr.zeros(2)).sum()
    d = why(x, loss)
    assert d.kind == "zero" and d.ops == ["WhereBackward0"]
    assert "d where(c,u,v)/du = [c]" in str(d)


def test_ok_and_partial_zero():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    d = why(x, cr.clamp(x, min=0).sum())
    assert d.kind == "ok" and "1 of 2 entries" in str(d)
    assert why(x, x).kind == "ok"


def test_no_marks_on_the_ordinary_paths():
    a = cr.tensor([1.0, 2.0])
    with cr.no_grad():
        b = a * 2  # nothing requires grad: nothing to remember
    c = a + 1
    x = cr.tensor([1.0], requires_grad=True)
    y = x * 2  # recorded: no mark either
    assert b._extra_state is None and c._extra_state is None and y._extra_state is None and x._extra_state is None
    with pytest.raises(TypeError):
        why([1.0], y)


def test_detached_intermediate_is_named_with_its_line():
    a = cr.tensor([0.5], requires_grad=True)
    b = (a * 2).detach() * 3; site = here()  # the detached tensor is a temporary, gone now
    loss = b.sum()
    d = why(a, loss)
    assert d.kind == "detached" and d.where == site and d.ops == ["detach"]
    assert str(d) == (
        "loss does not require grad, so a gets no gradient from it: every path from a to loss "
        f"is cut: a tensor computed from a was detached at {site}: .detach() returns a copy cut "
        "from the graph, so what is computed from that copy sends no gradient back. To let the "
        "gradient through: remove the .detach() (or compute from the tensor before it)")


def test_every_cut_on_every_path_with_its_line():
    a = cr.tensor([0.5, 1.0], requires_grad=True)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    _stale = (a * 7).detach(); stale = here()  # a cut that does not lead to loss
    c = (a * 2).detach() * w; s1 = here()
    s2 = f"test_why.py:{inspect.currentframe().f_lineno + 1}"  # where grad mode goes off
    with cr.no_grad():
        e = a * 5
    f = (a * 3).long().float(); s3 = here()
    loss = (c + e * w + f * w).sum()
    d = why(a, loss)
    assert d.kind == "detached" and d.ops == ["detach", "mul", "to_dtype"]
    text = str(d)
    assert text.startswith("a is not on any path to loss, cut in 3 places: (1) ")
    assert f"was detached at {s1}" in text
    assert f"came out of mul under no_grad (grad mode was turned off at {s2})" in text
    assert f"was cast to an integer or bool dtype at {s3}: whole numbers have no derivative" in text
    assert stale not in text
    assert "keep it floating point" in text and "outside the no_grad block" in text
    loss.backward()
    assert a.grad is None and w.grad is not None


def test_integer_cast_and_comparison_of_an_intermediate():
    a = cr.tensor([0.5, -1.0], requires_grad=True)
    loss = (a * 2).long().float().sum(); site = here()
    d = why(a, loss)
    assert d.kind == "integer_cast" and d.where == site
    assert f"a tensor computed from a was cast to an integer or bool dtype at {site}" in str(d)
    loss = (a > 0).float().sum(); site = here()
    d = why(a, loss)
    assert d.kind == "non_differentiable" and d.where == site
    assert f"a went through gt at {site}, which is not differentiable" in str(d)
