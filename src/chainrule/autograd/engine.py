"""The reverse-mode engine: iterative, dependency-counted, pruned to the gradients asked for.

No recursion anywhere: the graph is discovered with an explicit stack, run in dependency order,
and freed node by node (``Node.release``), so graphs of 10^6 nodes work.
"""

from __future__ import annotations

import threading

import numpy as np

from .. import _ns
from .._context import ctx as _state
from .._context import proc as _proc
from .._tensor import Tensor, _make
from ..ops._table import A, broadcastable_to, sum_to_shape
from .node import AccumulateGrad, Node

# Observers of the backward pass, ``obs(node, grads_in, grads_out)`` after each node ran (for a
# leaf's AccumulateGrad after ``.grad`` was updated, grads_out None): this thread's
# (``_ctx.observers``: explain) and every thread's (``_proc.observers``: anomaly mode).
# ``_proc.on_error``: ``h(exc, node)`` when backward raises while running ``node``.

#: held while a gradient is added into a leaf's ``.grad``: backward passes in several threads
#: into one leaf lose no update (torch locks each leaf's accumulation too)
_ACCUMULATE = threading.Lock()
#: what ``step`` returns for a leaf (nothing flows on from it) and for a node that did not run
_LEAF = object()
_SKIP = object()


def add_observer(fn) -> None:
    """Observe the backward passes this thread runs (``fn(node, grads_in, grads_out)``)."""
    _state.observers = (*_state.observers, fn)


def remove_observer(fn) -> None:
    _state.observers = tuple(o for o in _state.observers if o != fn)  # == : bound methods


def run_backward(roots, grads, *, retain_graph: bool, create_graph: bool,
                 targets=None, accumulate: bool = True, passed=None):
    """Backpropagate ``grads`` (one per ``(node, nr)`` in ``roots``).

    ``targets``: None → accumulate into every leaf reached. Otherwise a list of ``(node, nr)``
    keys: the run is pruned to them; their gradients are returned in order (None where none
    arrived) and, with ``accumulate``, also added to the tensors' ``.grad``.
    """
    passed = set() if passed is None else passed  # ids of arrays also held elsewhere (copy on store)
    root_nodes = []
    for node, _ in roots:
        if node not in root_nodes:
            root_nodes.append(node)

    # ---- discover the graph and count dependencies (explicit stack) -----------------------
    deps: dict = {}
    if targets is None:
        stack = list(root_nodes)
        for n in root_nodes:
            deps[n] = 0
        while stack:
            for e in stack.pop().next:
                if e is not None:
                    c = e[0]
                    d = deps.get(c)
                    if d is None:
                        deps[c] = 1
                        stack.append(c)
                    else:
                        deps[c] = d + 1
        needed = None
        capture = None
    else:
        parents: dict = {}
        seen = set(root_nodes)
        stack = list(root_nodes)
        while stack:
            n = stack.pop()
            for e in n.next:
                if e is not None:
                    c = e[0]
                    parents.setdefault(c, []).append(n)
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)
        capture = {}
        for i, (node, nr) in enumerate(targets):
            capture.setdefault(node, []).append((nr, i))
        needed = set(n for n in capture if n in seen)
        stack = list(needed)
        while stack:
            n = stack.pop()
            for p in parents.get(n, ()):
                if p not in needed:
                    needed.add(p)
                    stack.append(p)
        for n in needed:
            for e in n.next:
                if e is not None and e[0] in needed:
                    deps[e[0]] = deps.get(e[0], 0) + 1
    results = [None] * (len(targets) if targets is not None else 0)

    # ---- run ---------------------------------------------------------------------------
    buf: dict = {}
    for (node, nr), g in zip(roots, grads):
        b = buf.get(node)
        if b is None:
            b = buf[node] = [None] * node.n_out
        b[nr] = g if b[nr] is None else b[nr] + g
    ready = [n for n in root_nodes if deps.get(n, 0) == 0 and (needed is None or n in needed)]
    prev_mode = _state.enabled
    _state.enabled = create_graph
    # backward rules may meet inf/nan (log at 0, sqrt at 0 …) silently, as torch's do
    prev_err = np.seterr(all="ignore")
    node = None
    # the common case, taken per node: a built-in node without hooks, no capture, no graph of the
    # backward, no observers; it runs the rules on raw arrays and passes gradients on directly
    observers = _proc.observers + _state.observers
    plain = capture is None and not create_graph and not observers
    # read by CompiledNode.run_backward: in a plain backward() it may add a gradient into a
    # hook-free leaf's .grad itself when this edge is the leaf's only one (what step would do)
    prev_direct = getattr(_state, "leaf_direct", None)
    _state.leaf_direct = (deps, buf) if plain and targets is None else None
    def step(node, gs):
        """One node off the common case: tensor and node hooks, capture, a leaf's accumulation,
        custom Function nodes, graph of the backward. Returns the gradients for the node's
        inputs, _SKIP when the node did not run, or _LEAF once a leaf is done; the gradients it
        ran on are left in ``ran[0]`` for the observers (called from run_backward's own frame,
        which explain uses to tell backward passes apart)."""
        if type(node) is AccumulateGrad:
            vx = node.variable._extra_state
            if gs is not None and gs[0] is not None and vx is not None and vx.get("hooks"):
                gs = [_run_tensor_hooks(vx["hooks"], gs[0], create_graph)]  # before capture
        elif node.x is not None and gs is not None:
            gs = _pre_hooks(node, gs, create_graph)  # tensor hooks, retain_grad
        if capture is not None and node in capture:
            for nr, i in capture[node]:
                g = gs[nr] if gs is not None else None
                if g is not None and not create_graph and (id(g) in passed or g.base is not None):
                    g = g.copy()
                results[i] = g
            if not (accumulate and type(node) is AccumulateGrad) and \
                    not any(e is not None and e[0] in needed for e in node.next):
                gs = None  # only captured: as torch, the node itself does not run
        if node.x is not None and gs is not None and "pre" in node.x:
            gs = _node_pre_hooks(node, gs, create_graph)
        if type(node) is AccumulateGrad:
            ran[0] = None
            if gs is not None and gs[0] is not None and (capture is None or accumulate):
                _accumulate(node, gs[0], create_graph, passed)
                if node.x is not None and "post" in node.x:
                    _post_hooks(node, (), gs)
                ran[0] = gs
            return _LEAF
        if gs is None or (gs[0] is None and all(g is None for g in gs)):
            return _SKIP
        if type(node) is not Node:
            outs = node.run_backward(gs, create_graph, passed)
        elif create_graph:
            outs = _call_rules(node, gs, True, passed)
        else:
            outs = _raw_rules(node, gs, passed)
        if node.x is not None and "post" in node.x:
            outs = _post_hooks(node, outs, gs)
        ran[0] = gs
        return outs

    ran: list = [None]

    try:
        while ready:
            node = ready.pop()
            gs = buf.pop(node, None)
            if plain and type(node) is Node and node.x is None:
                outs = None if gs is None or (gs[0] is None and all(g is None for g in gs)) \
                    else _raw_rules(node, gs, passed)
            else:
                outs = step(node, gs)
                if outs is _LEAF:
                    if ran[0] is not None:
                        for obs in observers:
                            obs(node, ran[0], None)
                    continue
                if outs is _SKIP:
                    outs = None
                else:
                    for obs in observers:
                        obs(node, ran[0], outs)
            if not retain_graph:
                node.release()
            # the one edge loop: pass each input's gradient on, release nodes that are ready
            i = -1
            for e in node.next:
                i += 1
                if e is None:
                    continue
                c, nr = e
                if needed is not None and c not in needed:
                    continue
                if outs is not None:
                    r = outs[i]
                    if r is not None:
                        b = buf.get(c)
                        if b is None:
                            b = buf[c] = [None] * c.n_out
                            b[nr] = r
                        else:
                            b[nr] = r if b[nr] is None else b[nr] + r
                d = deps[c] - 1
                deps[c] = d
                if d == 0:
                    ready.append(c)
    except Exception as e:
        for h in _proc.on_error:
            h(e, node)
        raise
    finally:
        _state.enabled = prev_mode
        _state.leaf_direct = prev_direct
        np.seterr(**prev_err)
    return results


def _raw_rules(node, gs, passed: set) -> list:
    """``_call_rules`` without ``create_graph`` (the hot path): the rules run on raw arrays."""
    op = node.op
    saved = node.saved
    if saved is None:
        saved = node.inputs_for_backward()
    node.check_versions()
    kw = node.kw
    out = node.out
    nxt = node.next
    ins = []
    for x in saved:
        ins.append(x._array if isinstance(x, Tensor) else x)
    g = gs[0] if op.nout == 1 else tuple(
        gi if gi is not None else np.zeros_like(o) for gi, o in zip(gs, out))
    if op.vjp_all is not None:
        needs = [e is not None for e in nxt]
        res = list(op.vjp_all(A, g, out, tuple(ins), needs=needs, **kw) if op.nin < 0 else
                   op.vjp_all(A, g, out, *ins, needs=needs, **kw))
    elif len(nxt) == 1:
        res = [op.vjp[0](A, g, out, *ins, **kw) if nxt[0] is not None else None]
    else:
        res = [None if e is None else rule(A, g, out, *ins, **kw) for rule, e in zip(op.vjp, nxt)]
    g0 = gs[0]
    for i, r in enumerate(res):
        if r is None:
            continue
        if nxt[i] is None:
            res[i] = None
            continue
        xd = ins[i]
        if type(r) is not np.ndarray:
            r = np.asarray(r, dtype=xd.dtype)
        elif r is g0:
            passed.add(id(r))
        if r.shape != xd.shape:
            if not broadcastable_to(xd.shape, r.shape):
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(r.shape)} but expected shape compatible with {list(xd.shape)}"
                )
            r = sum_to_shape(r, xd.shape)
        if r.dtype is not xd.dtype and r.dtype != xd.dtype:
            r = r.astype(xd.dtype)
        res[i] = r
    return res


def _call_rules(node, gs, create: bool, passed: set) -> list:
    """Apply the node's backward rules; sum each gradient to its input's shape and dtype."""
    op = node.op
    saved = node.saved
    if saved is None:
        saved = node.inputs_for_backward()
    node.check_versions()
    kw = node.kw
    if create:
        m = _ns
        ins = saved
        if op.nout == 1:
            out = _make(node.out, node, 0)
        else:
            nd = op.nondiff_out
            out = tuple(
                _make(o) if (i in nd or o.dtype.kind != "f") else _make(o, node, i)
                for i, o in enumerate(node.out)
            )
        if node.x is not None and "fw_out" in node.x:  # forward over reverse: outputs' tangents
            from .forward_ad import _attach_out_tangents

            out = _attach_out_tangents(node, out)
        gs = [g if g is None or isinstance(g, Tensor) else _make(g) for g in gs]
    else:
        m = A
        ins = tuple(x._array if isinstance(x, Tensor) else x for x in saved)
        out = node.out
    if op.nout == 1:
        g = gs[0]
    else:
        g = tuple(
            gi if gi is not None else (m.zeros_like(o) if create else np.zeros_like(o))
            for gi, o in zip(gs, node.out if not create else out)
        )
    needs = [e is not None for e in node.next]
    if op.vjp_all is not None:
        if op.nin < 0:
            res = list(op.vjp_all(m, g, out, ins, needs=needs, **kw))
        else:
            res = list(op.vjp_all(m, g, out, *ins, needs=needs, **kw))
    else:
        res = [rule(m, g, out, *ins, **kw) if need else None for rule, need in zip(op.vjp, needs)]
    g0 = gs[0]
    for i, r in enumerate(res):
        if r is None or not needs[i]:
            res[i] = None
            continue
        x = saved[i]
        xd = x._array
        if create:
            if not isinstance(r, Tensor):
                r = _make(np.asarray(r, dtype=xd.dtype))
            shape = r._array.shape
        else:
            if type(r) is not np.ndarray:
                r = np.asarray(r, dtype=xd.dtype)
            elif r is g0:
                passed.add(id(r))
            shape = r.shape
        if shape != xd.shape:
            if not broadcastable_to(xd.shape, shape):
                raise RuntimeError(
                    f"Function {node.name()} returned an invalid gradient at index {i} - got "
                    f"{list(shape)} but expected shape compatible with {list(xd.shape)}"
                )
            r = _ns.sum_to_size(r, xd.shape) if create else sum_to_shape(r, xd.shape)
        dt = r._array.dtype if create else r.dtype
        if dt != xd.dtype:
            r = _ns.to_dtype(r, xd.dtype) if create else r.astype(xd.dtype)
        res[i] = r
    return res


def _accumulate(node: AccumulateGrad, g, create: bool, passed: set) -> None:
    var = node.variable
    vx = var._extra_state
    with _ACCUMULATE:
        old = var._grad
        if create:
            gt = g if isinstance(g, Tensor) else _make(g)
            var._grad = gt if old is None else old + gt
        else:
            if old is None:
                if id(g) in passed or g.base is not None or not g.flags.writeable:
                    g = g.copy()
                var._grad = _make(g)
            elif old.grad_fn is None and not old._requires_grad and old._array.flags.writeable \
                    and old._array.shape == g.shape:
                np.add(old._array, g, out=old._array, casting="unsafe")
            else:
                var._grad = _make(old._array + g)
    if vx is not None and vx.get("post_hooks"):
        for h in list(vx["post_hooks"].values()):
            h(var)


def _run_tensor_hooks(hooks: dict, g, create: bool):
    for h in list(hooks.values()):
        gt = g if isinstance(g, Tensor) else _make(g)
        r = h(gt)
        if r is not None:
            if not isinstance(r, Tensor):
                raise TypeError(f"a tensor hook must return a Tensor or None, got {type(r).__name__}")
            if r._array.shape != gt._array.shape:
                raise RuntimeError(
                    f"hook {getattr(h, '__name__', h)!r} changed the gradient's shape from "
                    f"{list(gt._array.shape)} to {list(r._array.shape)}"
                )
            g = r if create else r._array
    return g


def _pre_hooks(node, gs: list, create: bool) -> list:
    x = node.x
    th = x.get("tensor_hooks")
    if th:
        gs = list(gs)
        for nr, hooks in th.items():
            if hooks and gs[nr] is not None:
                gs[nr] = _run_tensor_hooks(hooks, gs[nr], create)
    ret = x.get("retain")
    if ret:
        for nr, ref in ret.items():
            t = ref()
            if t is not None and gs[nr] is not None:
                g = gs[nr]
                gt = g if isinstance(g, Tensor) else _make(g.copy())
                t._grad = gt if t._grad is None else t._grad + gt
    return gs


def _node_pre_hooks(node, gs: list, create: bool) -> list:
    pre = node.x.get("pre")
    if pre:
        for h in list(pre.values()):
            wrapped = tuple(None if g is None else (g if isinstance(g, Tensor) else _make(g)) for g in gs)
            r = h(wrapped)
            if r is not None:
                gs = [None if t is None else (t if create else t._array) for t in r]
    return gs


def _post_hooks(node, outs: list, gs: list) -> list:
    for h in list(node.x["post"].values()):
        gi = tuple(None if g is None else (g if isinstance(g, Tensor) else _make(g)) for g in outs)
        go = tuple(None if g is None else (g if isinstance(g, Tensor) else _make(g)) for g in gs)
        r = h(gi, go)
        if r is not None:
            outs = [None if t is None else (t if _state.enabled else t._array) for t in r]
    return outs
