"""Rule-table rows: matrix products and linear algebra (``chainrule.linalg``).

Every rule is written with ``m`` ops (matmul, transpose, solve, …), so that double backward works.
Batched inputs (…, n, n) throughout. Where a derivative does not exist (repeated eigenvalues or
singular values with a gradient on the vectors, singular matrices), backward raises, as torch's
documentation asks, rather than returning infinities.
"""

from __future__ import annotations

import numpy as np

from .._tensor import _make
from .._dispatch import LinAlgError
from ._public import NAMESPACES, public
from ._table import TABLE, A, defop

_LA = "linalg"


def _apply(name, *a, **k):
    from .._dispatch import apply

    return apply(TABLE[name], *a, **k)


def _c(m, arr):
    """A constant array inside a rule: itself on arrays, a Tensor (no grad) under a graph."""
    return arr if m is A else _make(arr)


def _T(m, x):
    return m.transpose(x, -1, -2)


def _eye(m, n, like):
    return _c(m, np.eye(n, dtype=np.asarray(like._array if hasattr(like, "_array") else like).dtype))


def _diag_embed(m, v, like):
    return m.unsqueeze(v, -1) * _eye(m, v.shape[-1], like)


def _diagonal(m, x):
    return m.sum(x * _eye(m, x.shape[-1], x), -1)


def _raw(x):
    return x._array if hasattr(x, "_array") and not isinstance(x, np.ndarray) else x


def _square(x, name):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        dims = "x".join(map(str, x.shape[-2:])) if x.ndim >= 2 else f"{x.ndim}-D"
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are "
                           f"{dims.replace('x', ' by ')} matrices")


NAMESPACES["linalg"]["LinAlgError"] = LinAlgError


def _lapack(name, f, *a):
    try:
        with np.errstate(all="ignore"):
            return f(*a)
    except np.linalg.LinAlgError as e:
        text = str(e)
        if "positive definite" in text:
            raise LinAlgError(f"linalg.{name}: The factorization could not be completed because "
                               "the input is not positive-definite.") from None
        raise LinAlgError(f"linalg.{name}: The solver failed because the input matrix is singular "
                           f"({text}).") from None


# ---- matrix products ---------------------------------------------------------------------------
def _matmul(x, y):
    if x.ndim == 0 or y.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {x.ndim}D and {y.ndim}D"
        )
    try:
        return np.matmul(x, y)
    except ValueError:
        a = "x".join(map(str, x.shape if x.ndim > 1 else (1,) + x.shape))
        b = "x".join(map(str, y.shape if y.ndim > 1 else y.shape + (1,)))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a} and {b})") from None


def _mm_dx(m, g, out, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * y
    if y.ndim == 1:  # out (..., n): outer product with y
        return m.unsqueeze(g, -1) * y
    if x.ndim == 1:  # out (..., p); the engine sums the batch dims away
        return m.squeeze(m.matmul(m.unsqueeze(g, -2), m.transpose(y, -1, -2)), -2)
    return m.matmul(g, m.transpose(y, -1, -2))


def _mm_dy(m, g, out, x, y):
    if x.ndim == 1 and y.ndim == 1:
        return g * x
    if x.ndim == 1:
        return m.unsqueeze(x, -1) * m.unsqueeze(g, -2)
    if y.ndim == 1:
        return m.squeeze(m.matmul(m.unsqueeze(g, -2), x), -2)
    return m.matmul(m.transpose(x, -1, -2), g)


defop("matmul", _matmul, (_mm_dx, _mm_dy),
      (lambda m, t, out, x, y: m.matmul(t, y), lambda m, t, out, x, y: m.matmul(x, t)),
      nin=2, cls="Matmul", variant=lambda a, kw: 0,
      formula=("d(UV)/dU: G·Vᵀ", "d(UV)/dV: Uᵀ·G"), dtype="match")


def _need(x, nd, name, what):
    if x.ndim != nd:
        raise RuntimeError(f"{name}: {what} must be a {nd}D tensor, but got a {x.ndim}D tensor "
                           f"of shape {list(x.shape)}")


@public("mm", ns=())
def mm(input, mat2):
    """Matrix product of two 2-D tensors."""
    _need(input, 2, "mm", "self")
    _need(mat2, 2, "mm", "mat2")
    return _apply("matmul", input, mat2)


@public("bmm")
def bmm(input, mat2):
    """Batched matrix product of two 3-D tensors (b, n, m) @ (b, m, p)."""
    _need(input, 3, "bmm", "batch1")
    _need(mat2, 3, "bmm", "batch2")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch1 and batch2 must have same number of batches, got "
                           f"{input.shape[0]} and {mat2.shape[0]}")
    return _apply("matmul", input, mat2)


@public("mv")
def mv(input, vec):
    """Matrix-vector product (n, m) @ (m,)."""
    _need(input, 2, "mv", "self")
    _need(vec, 1, "mv", "vec")
    return _apply("matmul", input, vec)


@public("dot")
def dot(input, other):
    """Inner product of two 1-D tensors of the same size."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        a, b = input.shape[0], other.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a}] and src [{b}] to "
                           f"have the same number of elements, but got {a} and {b} elements "
                           "respectively")
    return _apply("matmul", input, other)


public("vdot")(dot)  # real tensors: no conjugation


@public("outer")
def outer(input, vec2):
    """Outer product of two 1-D tensors."""
    for name, v in (("self", input), ("vec2", vec2)):
        if v.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {v.ndim}-D")
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


public("ger")(outer)


@public("inner")
def inner(input, other):
    """Sum over the last dimension of both (a product when either is 0-D)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, dims=([-1], [-1]))


@public("addmm")
def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta · input + alpha · (mat1 @ mat2)`` (input ignored when beta = 0, as torch)."""
    prod = mm(mat1, mat2)
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return prod
    return prod + (input if beta == 1 else input * beta)


@public("baddbmm")
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta · input + alpha · (batch1 @ batch2)`` for 3-D batches."""
    prod = bmm(batch1, batch2)
    prod = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return prod
    return prod + (input if beta == 1 else input * beta)


@public("addmv")
def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta · input + alpha · (mat @ vec)``."""
    prod = mv(mat, vec)
    prod = prod if alpha == 1 else prod * alpha
    return prod if beta == 0 else prod + (input if beta == 1 else input * beta)


# ---- einsum ------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(equation: str, ndims: tuple) -> tuple[list[str], str]:
    """Explicit subscripts per operand and for the output, with ``...`` spelled out in letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise RuntimeError(f"einsum(): {len(ins)} operands in the equation but {len(ndims)} given")
    used = {c for c in eq if c.isalpha()}
    free = [c for c in _LETTERS if c not in used]
    nell = max([nd - (len(s) - 3) for s, nd in zip(ins, ndims) if "..." in s] or [0])
    ell = "".join(free[:nell])
    subs = []
    for s, nd in zip(ins, ndims):
        if "..." in s:
            k = nd - (len(s) - 3)
            s = s.replace("...", ell[nell - k:] if k else "")
        elif len(s) != nd:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(s)}) "
                               f"does not match the number of dimensions ({nd}) for an operand")
        subs.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out


def _einsum(operands, equation):
    subs, out = _parse(equation, tuple(o.ndim for o in operands))
    return np.einsum(",".join(subs) + "->" + out, *operands, optimize=len(operands) > 2)


def _einsum_grad(m, g, ops, subs, out, i):
    """d⟨g, einsum⟩/d(operand i): einsum of g with the other operands onto operand i's letters."""
    target = subs[i]
    others = [(s, o) for j, (s, o) in enumerate(zip(subs, ops)) if j != i]
    avail = set(out).union(*[set(s) for s, _ in others])
    # letters summed only inside operand i are broadcast back; repeated letters (diagonals) are
    # rebuilt by multiplying with an identity over a fresh letter
    shape = tuple(ops[i].shape)
    size = {c: shape[k] for k, c in enumerate(target)}
    uniq = list(dict.fromkeys(target))
    present = "".join(c for c in uniq if c in avail)
    spec = ",".join([out] + [s for s, _ in others]) + "->" + present
    res = m.einsum([g] + [o for _, o in others], spec)
    if len(present) < len(uniq):
        res = m.expand(m.reshape(res, tuple(size[c] if c in avail else 1 for c in uniq)),
                       tuple(size[c] for c in uniq))
    if len(uniq) < len(target):
        fresh = iter(c for c in _LETTERS if c not in set(target) | avail | set(out))
        full, eyes, seen = [], [], set()
        dt = np.asarray(_raw(ops[i])).dtype
        for c in target:
            if c in seen:
                d = next(fresh)
                eyes.append((c + d, np.eye(size[c], dtype=dt)))
                full.append(d)
            else:
                seen.add(c)
                full.append(c)
        res = m.einsum([res] + [_c(m, e) for _, e in eyes],
                       ",".join(["".join(uniq)] + [s for s, _ in eyes]) + "->" + "".join(full))
    return res


def _einsum_back(m, g, out, ops, needs, equation):
    subs, o = _parse(equation, tuple(x.ndim for x in ops))
    return [_einsum_grad(m, g, ops, subs, o, i) if need else None for i, need in enumerate(needs)]


def _einsum_tangent(m, ts, out, ops, equation):
    total = None
    for i, t in enumerate(ts):
        if t is None:
            continue
        args = list(ops)
        args[i] = t
        c = m.einsum(args, equation)
        total = c if total is None else total + c
    return total


defop("einsum", _einsum, vjp_all=_einsum_back, jvp_all=_einsum_tangent, nin=-1, public=False,
      method=False, formula="d einsum/d operand i: einsum of G with the other operands",
      dtype="match")


@public("einsum", method=False)
def einsum(equation: str, *operands):
    """Einstein summation, as ``torch.einsum`` (operands as arguments or one list; ``...`` allowed).

    Example:
        >>> a, b = chainrule.ones(2, 3), chainrule.ones(3, 4)
        >>> chainrule.einsum("ij,jk->ik", a, b).shape
        chainrule.Size([2, 4])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _apply("einsum", list(operands), equation)


@public("tensordot")
def tensordot(a, b, dims=2):
    """Sum over the last ``dims`` axes of ``a`` and the first of ``b`` (or the listed axes)."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot(): dims={dims} is more than the dimensions of the "
                               f"inputs ({a.ndim}-D and {b.ndim}-D)")
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    from .._tensor import _wrap_dim

    for t, ds in ((a, da), (b, db)):
        if ds and t.ndim == 0:
            raise IndexError(f"tensordot(): Dimension specified as {ds[0]} but tensor has no "
                             "dimensions")
    da = [_wrap_dim(d, a.ndim, "tensordot") for d in da]
    db = [_wrap_dim(d, b.ndim, "tensordot") for d in db]
    for x, y in zip(da, db):
        if a.shape[x] != b.shape[y]:
            raise RuntimeError(f"tensordot(): contracted dimensions need to match, but first has "
                               f"size {a.shape[x]} in dim {x} and second has size {b.shape[y]} "
                               f"in dim {y}")
    la = list(_LETTERS[: a.ndim])
    lb = list(_LETTERS[a.ndim: a.ndim + b.ndim])
    for x, y in zip(da, db):
        lb[y] = la[x]
    out = [c for k, c in enumerate(la) if k not in da]
    out += [c for k, c in enumerate(lb) if k not in db]
    return _apply("einsum", [a, b], "".join(la) + "," + "".join(lb) + "->" + "".join(out))


@public("kron")
def kron(input, other):
    """Kronecker product."""
    nd = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (nd - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (nd - other.ndim) + tuple(other.shape))
    sa = [s for d in a.shape for s in (d, 1)]
    sb = [s for d in b.shape for s in (1, d)]
    return (a.reshape(sa) * b.reshape(sb)).reshape(tuple(x * y for x, y in zip(a.shape, b.shape)))


# ---- cross product -------------------------------------------------------------------------------
def _cross(x, y, dim=-1):
    if x.ndim != y.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions (got "
                           f"{list(x.shape)} and {list(y.shape)})")
    if x.shape[dim] != 3 or y.shape[dim] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{x.shape[dim]} and {y.shape[dim]}")
    return np.cross(x, y, axis=dim)


defop("cross", _cross,
      (lambda m, g, out, x, y, dim=-1: m.cross(y, g, dim),
       lambda m, g, out, x, y, dim=-1: m.cross(g, x, dim)),
      (lambda m, t, out, x, y, dim=-1: m.cross(t, y, dim),
       lambda m, t, out, x, y, dim=-1: m.cross(x, t, dim)),
      nin=2, public=False, method=False, formula=("d(u×v)/du: v×G", "d(u×v)/dv: G×u"),
      dtype="match")


@public("cross")
def cross(input, other, dim=None):
    """Cross product along ``dim`` (default: the first dimension of size 3, as torch.cross)."""
    if dim is None:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((d for d, s in enumerate(shape) if s == 3), -1)
    return _apply("cross", input, other, dim)


@public("cross", function=False, method=False, ns=_LA)
def linalg_cross(input, other, *, dim=-1):
    """Cross product along ``dim`` (default -1)."""
    return _apply("cross", input, other, dim)


@public("multi_dot", function=False, method=False, ns=_LA)
def multi_dot(tensors):
    """Product of a chain of matrices (the first and last may be 1-D), left to right."""
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for k, t in enumerate(tensors):
        if t.ndim not in (1, 2) or (t.ndim == 1 and 0 < k < len(tensors) - 1):
            raise RuntimeError(f"multi_dot(): tensor {k} must be 2D (1D allowed first or last), "
                               f"got {t.ndim}D")
    out = tensors[0]
    for t in tensors[1:]:
        out = _apply("matmul", out, t)
    return out


@public("vecdot", function=False, method=False, ns=_LA)
def vecdot(x, y, *, dim: int = -1):
    """Dot product of vectors along ``dim`` (broadcasting the other dimensions)."""
    from ._dtype_checks import floating, same_dtype

    floating("linalg.vecdot", x, y, exc=RuntimeError,
             msg="linalg.vecdot: Expected a floating point or complex tensor as input")
    same_dtype("linalg.vecdot", x, y)
    return (x * y).sum(dim)


@public("matrix_rank", function=False, method=False, ns=_LA)
def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False):
    """Number of singular values above max(atol, rtol·σ_max) (int64, not differentiable)."""
    from .._creation import tensor

    s = np.linalg.svd(A._array, compute_uv=False)
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else max(A.shape[-2:]) * np.finfo(s.dtype).eps
    cut = np.maximum(atol or 0.0, rtol * (s[..., :1] if s.shape[-1] else 0))
    return tensor(np.sum(s > cut, axis=-1).astype(np.int64))
