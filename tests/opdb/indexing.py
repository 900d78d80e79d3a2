"""Op database: indexing, gather/scatter, index_*, masks, take, triangles, diagonals, pad."""

import numpy as np
from op_db import OpInfo, S, distinct, randn

_I = np.array


def _pad(mode):
    return lambda m, x, p: m.nn.functional.pad(x, p, mode=mode)


def _x(m):
    return m.arange(6.0).reshape(2, 3)


def _oob(call, exc=RuntimeError, words=r"index -1 is out of bounds for dimension 1 with size 3"):
    """An error input: ``call(m, x, index)`` with a negative index, refused as torch does."""
    return (lambda m: call(m, _x(m), m.tensor([[-1, 0, 1]])), exc, words)


OPS = [
    OpInfo(
        "getitem_basic",
        lambda m, x: x[1:, ::2] * 1.0 + x[0, None, 1:2],
        lambda r: [S(randn(r, 3, 4))],
        covers=("basic_index", "index_backward"),
    ),
    OpInfo(
        "getitem_ellipsis",
        lambda m, x: x[..., 1] * 1.0 + x[1, ..., None, 2:3].sum(),
        lambda r: [S(randn(r, 2, 3, 4))],
        covers=("basic_index",),
    ),
    OpInfo(
        "getitem_int_array",
        lambda m, x, i: x[i] * 1.0,
        lambda r: [S(randn(r, 5, 3), _I([0, 2, 2, 4, 0]))],
        covers=("index",),
        error_inputs=(
            (lambda m: _x(m)[m.tensor([1], dtype=m.int16)], IndexError,
             r"tensors used as indices must be long, int, byte or bool tensors"),
            (lambda m: _x(m)[m.tensor([1.0])], IndexError,
             r"tensors used as indices must be long, int, byte or bool tensors"),
        ),
    ),
    OpInfo(
        "getitem_mixed",
        lambda m, x, i: x[:, i] * 1.0,
        lambda r: [S(randn(r, 3, 5), _I([[1, 1], [4, 0]]))],
        covers=("index",),
    ),
    OpInfo(
        # torch applies integers before tensor indices: x[1, :, i] is x[1][:, i], not NumPy's order
        "getitem_int_then_tensor",
        lambda m, x, i: (x[1, :, i] * 1.0, x[:, 0, :, i] * 1.0, x[0, 1, :, i], x[:, i, 1, :] * 1.0),
        lambda r: [S(randn(r, 2, 3, 4, 5), _I([0, 2])), S(randn(r, 2, 3, 4, 5), _I([[1], [0]]))],
        covers=("index", "index_backward"),
        error_inputs=(
            (lambda m: _x(m)[::-1], ValueError, r"step must be greater than zero"),
            (lambda m: _x(m)[::0], ValueError, r"slice step cannot be zero"),
            (lambda m: _x(m)[2**63], ValueError, r"Overflow when unpacking long long"),
            (lambda m: _x(m)[[2**63]], ValueError, r"Overflow when unpacking long long"),
            (lambda m: _x(m)[m.tensor([True, False, True])], IndexError,
             r"The shape of the mask \[3\] at index 0 does not match the shape of the indexed "
             r"tensor \[2, 3\] at index 0"),
            (lambda m: _x(m)[0, m.tensor([True, False])], IndexError,
             r"shape of the mask \[2\] at index 0 does not match .* tensor \[3\] at index 0"),
            (lambda m: _x(m)[:, m.tensor([3])], IndexError,
             r"index 3 is out of bounds for dimension"),
            (lambda m: _x(m)[0, 0, 0], IndexError, r"too many indices for tensor of dimension 2"),
        ),
    ),
    OpInfo(
        # a 0-d integer tensor indexes as an int (a select: a view, its strides the base's)
        "getitem_0d_tensor",
        lambda m, x, i: (x[:, i] * 1.0, x[i, :, i], m.tensor(x[:, i, :, i].stride())),
        lambda r: [S(randn(r, 3, 4, 3, 5), _I(1))],
        covers=("basic_index",),
    ),
    OpInfo(
        # fresh results are C-contiguous (size-1 dims included), so view() works as in torch
        "getitem_fresh_strides",
        lambda m, x, i: (
            x[:, i, i].view(-1), x[i, None, i].view(-1), m.tensor(x[i, None, i].stride())
        ),
        lambda r: [S(randn(r, 2, 3, 4), _I([0, 1]))],
        covers=("index",),
    ),
    OpInfo(
        "getitem_bool",
        lambda m, x: x[x > 0] * 1.0,
        lambda r: [S(randn(r, 4, 3))],
        covers=("index",),
    ),
    OpInfo(
        "index_put",
        lambda m, x, v, i: x.index_put((i,), v),
        lambda r: [
            S(randn(r, 5, 3), randn(r, 2, 3), _I([4, 1])),
            S(randn(r, 5, 3), randn(r, 3), _I([0, 3])),
        ],
        error_inputs=(
            (lambda m: _x(m).index_put((m.tensor([0]),), m.tensor(1.0, dtype=m.float64)),
             RuntimeError, r"Index put requires the source and destination dtypes match, got "
             r"Float for the destination and Double for the source"),
        ),
    ),
    OpInfo(
        "index_put_accumulate",
        lambda m, x, v, i: x.index_put((i,), v, accumulate=True),
        lambda r: [S(randn(r, 5, 3), randn(r, 3, 3), _I([4, 1, 4]))],
        covers=("index_backward",),
    ),
    OpInfo(
        "where",
        lambda m, c, x, y: m.where(c > 0, x, y),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 3, 4), nograd=(0,)),
            S(randn(r, 3, 4), randn(r, 4), 0.5, nograd=(0,)),
        ],
    ),
    OpInfo(
        "take_along_dim",
        lambda m, x, i, *a: m.take_along_dim(x, i, *a),
        lambda r: [
            S(randn(r, 3, 4), _I([[0, 3, 3], [1, 1, 2], [2, 0, 0]]), 1),
            S(randn(r, 3, 4), _I([[-1, 0], [-4, 3], [2, -2]]), 1),  # torch wraps negatives here
            S(randn(r, 3, 4), _I([[1, 0]]), 1),  # broadcast apart from dim
            S(randn(r, 1, 4), _I([[1, 0], [3, 3]]), -1),
            S(randn(r, 3, 4), _I([11, 0, 3])),  # no dim: the flattened input
        ],
        covers=("take_along_dim", "put_along_dim"),
        error_inputs=(
            (lambda m: m.take_along_dim(_x(m), m.tensor([1]), 1), RuntimeError,
             r"input and indices should have the same number of dimensions"),
            (lambda m: m.take_along_dim(_x(m), m.tensor([-1])), RuntimeError,
             r"index -1 is out of bounds for dimension 0 with size 6"),
        ),
    ),
    OpInfo(
        "gather",
        lambda m, x, d, i: m.gather(x, d, i),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 2]])),
            S(randn(r, 3, 4), 0, _I([[2, 0, 1, 2]])),
            S(randn(r, 2, 3, 2), -1, _I([[[1], [0], [1]]])),
        ],
        covers=("gather", "scatter_add"),
        error_inputs=(
            _oob(lambda m, x, i: m.gather(x, 1, i)),
            (lambda m: m.gather(_x(m), 0, m.tensor([[-1, 0, 0]])), RuntimeError,
             r"index -1 is out of bounds for dimension 0 with size 2"),
            (lambda m: m.gather(_x(m), 1, m.tensor([[3, 0]])), RuntimeError,
             r"index 3 is out of bounds for dimension 1 with size 3"),
            (lambda m: m.gather(_x(m), 0, m.zeros(3, 4, dtype=m.long)), RuntimeError,
             r"Size does not match at dimension 1 expected index \[3, 4\] to be no larger than "
             r"self \[2, 3\] apart from dimension 0"),
        ),
    ),
    OpInfo(
        "scatter",
        lambda m, x, d, i, s: m.scatter(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3], [1, 2], [2, 0]]), randn(r, 3, 2)),
            S(randn(r, 3, 4), 0, _I([[2, 0, 1, 1]]), randn(r, 1, 4)),
        ],
        covers=("scatter", "gather"),
        error_inputs=(
            _oob(lambda m, x, i: m.scatter(x, 1, i, m.ones(1, 3))),
            _oob(lambda m, x, i: m.scatter(x, 1, i, value=2.0)),
            (lambda m: m.scatter(_x(m), 0, m.zeros(1, 3, dtype=m.long), m.ones(1, 3).double()),
             RuntimeError, r"scatter\(\): Expected self.dtype to be equal to src.dtype"),
            (lambda m: m.scatter(_x(m), 0, m.zeros(2, 3, dtype=m.long), m.ones(1, 3)), RuntimeError,
             r"to be no larger size than src \[1, 3\]"),
            (lambda m: m.scatter(_x(m), 0, m.zeros(1, 3, dtype=m.long), m.ones(1, 3, 1)),
             RuntimeError, r"Index tensor must have the same number of dimensions as src tensor"),
            (lambda m: m.scatter(_x(m), 0, m.zeros(1, 3, dtype=m.long), m.ones(3)), IndexError,
             r"Dimension out of range \(expected to be in range of \[-1, 0\], but got 1\)"),
            (lambda m: m.scatter(_x(m), 0, m.zeros(1, 3, dtype=m.long), m.ones(1, 3),
                                 reduce="sum"), RuntimeError,
             r"reduce argument must be either add or multiply"),
        ),
    ),
    OpInfo(
        "scatter_value",
        lambda m, x, d, i: x.scatter(d, i, 2.5),
        lambda r: [S(randn(r, 3, 4), 1, _I([[0, 3], [1, 2], [2, 0]]))],
        covers=("scatter",),
    ),
    OpInfo(
        "scatter_add",
        lambda m, x, d, i, s: m.scatter_add(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3)),
            S(randn(r, 3, 4), 0, _I([[2, 0, 2, 2], [2, 1, 0, 2]]), randn(r, 2, 4)),
        ],
        covers=("scatter_add", "gather"),
        error_inputs=(_oob(lambda m, x, i: m.scatter_add(x, 1, i, m.ones(1, 3))),),
    ),
    OpInfo(
        "scatter_reduce",
        lambda m, x, d, i, s, red, **k: m.scatter_reduce(x, d, i, s, red, **k),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3), "sum"),
            S(
                randn(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                randn(r, 3, 3),
                "sum",
                include_self=False,
            ),
            S(randn(r, 3, 4), 0, _I([[2, 0, 2, 2], [2, 1, 0, 2]]), randn(r, 2, 4), "mean"),
            S(
                randn(r, 3, 4),
                0,
                _I([[2, 0, 2, 2], [2, 1, 0, 2]]),
                randn(r, 2, 4),
                "mean",
                include_self=False,
            ),
            S(randn(r, 3, 4), 1, _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]), randn(r, 3, 3), "prod"),
            S(
                randn(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                randn(r, 3, 3),
                "prod",
                include_self=False,
            ),
            S(
                distinct(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                distinct(r, 3, 3),
                "amax",
            ),
            S(
                distinct(r, 3, 4),
                1,
                _I([[0, 3, 3], [1, 1, 1], [2, 0, 2]]),
                distinct(r, 3, 3),
                "amin",
                include_self=False,
            ),
        ],
        covers=("scatter_reduce",),
        error_inputs=(
            _oob(lambda m, x, i: m.scatter_reduce(x, 1, i, m.ones(1, 3), "amax")),
            (lambda m: m.scatter_reduce(_x(m), 0, m.zeros(1, 3, dtype=m.long), m.ones(1, 3), "add"),
             RuntimeError, r"reduce argument must be either sum, prod, mean, amax or amin, got"),
        ),
    ),
    OpInfo(
        "index_select",
        lambda m, x, d, i: m.index_select(x, d, i),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3, 3])),
            S(randn(r, 3, 4), 0, _I([2, 0])),
            S(randn(r, 5), 0, _I([4])),
        ],
        covers=("index_select", "index_add"),
        error_inputs=(
            (lambda m: m.index_select(_x(m), 0, m.tensor([-1])), IndexError,
             r"index out of range in self"),
            (lambda m: m.index_select(m.zeros(2, 3, 4), 2, m.tensor([4])), IndexError,
             r"index out of range in self"),
            (lambda m: m.index_select(_x(m), 1, m.tensor([-1])), RuntimeError,
             r"INDICES element is out of DATA bounds, id=-1 axis_dim=3"),
            (lambda m: m.index_select(_x(m), 0, m.tensor([[0]])), IndexError,
             r"Index is supposed to be a vector"),
        ),
    ),
    OpInfo(
        "index_add",
        lambda m, x, d, i, s, **k: m.index_add(x, d, i, s, **k),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3, 3]), randn(r, 3, 3)),
            S(randn(r, 3, 4), 0, _I([2, 0]), randn(r, 2, 4), alpha=-2.0),
        ],
        covers=("index_add", "index_select"),
        error_inputs=(
            (lambda m: m.index_add(_x(m), 1, m.tensor([-1, 0]), m.ones(2, 2)), RuntimeError,
             r"index -1 is out of bounds for dimension 1 with size 3"),
            (lambda m: m.index_add(_x(m), 0, m.tensor([0, 1]), m.ones(1, 3)), RuntimeError,
             r"Number of indices \(2\) should be equal to source.size\(dim\): \(1\), for dim: 0"),
            (lambda m: m.index_add(_x(m), 0, m.tensor([0]), m.ones(1, 2)), RuntimeError,
             r"source tensor shape must match self tensor shape, excluding the specified dim"),
            (lambda m: m.index_add(_x(m), 0, m.tensor([0]), m.ones(1, 3).double()), RuntimeError,
             r"index_add_\(\): self \(.*\) and source \(.*\) must have the same scalar type"),
        ),
    ),
    OpInfo(
        "index_copy",
        lambda m, x, d, i, s: m.index_copy(x, d, i, s),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3]), randn(r, 3, 2)),
            S(randn(r, 3, 4), 0, _I([2, 0]), randn(r, 2, 4)),
        ],
        covers=("index_copy", "index_select", "index_fill"),
        error_inputs=(
            (lambda m: m.index_copy(_x(m), 1, m.tensor([-1, 0]), m.ones(2, 2)), IndexError,
             r"index_copy_\(\): index -1 is out of bounds for dimension 1 with size 3"),
            (lambda m: m.index_copy(_x(m), 0, m.tensor([0]), m.ones(2, 3)), IndexError,
             r"index_copy_\(\): Number of indices \(1\) should be equal to source.size\(dim\) "
             r"\(2\)"),
            (lambda m: m.index_copy(_x(m), 0, m.tensor([0]), m.ones(1, 2)), RuntimeError,
             r"Source/destination tensor must have same slice shapes"),
        ),
    ),
    OpInfo(
        "index_fill",
        lambda m, x, d, i, v: m.index_fill(x, d, i, v),
        lambda r: [
            S(randn(r, 3, 4), 1, _I([0, 3]), -1.5),
            S(randn(r, 3, 4), 0, _I([2]), randn(r)),
            S(randn(r, 3, 4), 1, _I([-1, -4]), 0.5),  # torch wraps negatives here
        ],
        covers=("index_fill", "index_select"),
        error_inputs=(
            (lambda m: m.index_fill(_x(m), 1, m.tensor([-4]), 5.0), IndexError,
             r"index -4 is out of bounds for dimension 1 with size 3"),
            (lambda m: m.index_fill(_x(m), 0, m.tensor([[1]]), 2.0), RuntimeError,
             r"Index has to be a vector/scalar"),
            (lambda m: m.index_fill(_x(m), 0, m.tensor([1]), m.tensor([2.0])), RuntimeError,
             r"index_fill_ only supports a 0-dimensional value tensor"),
        ),
    ),
    OpInfo(
        "masked_fill",
        lambda m, x, c, v: m.masked_fill(x, c > 0, v),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), 2.0, nograd=(1,)),
            S(randn(r, 3, 4), randn(r, 4), randn(r), nograd=(1,)),
            S(randn(r, 4), randn(r, 3, 4), randn(r), nograd=(1,)),
        ],
    ),
    OpInfo(
        "masked_select",
        lambda m, x, c: m.masked_select(x, c > 0),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), nograd=(1,)),
            S(randn(r, 4), randn(r, 3, 4), nograd=(1,)),
        ],
        covers=("masked_select", "index_put"),
    ),
    OpInfo(
        "masked_scatter",
        lambda m, x, c, s: x.masked_scatter(c > 0, s),
        lambda r: [
            S(randn(r, 3, 4), randn(r, 3, 4), randn(r, 4, 4), nograd=(1,)),
            S(randn(r, 3, 4), randn(r, 4), randn(r, 12), nograd=(1,)),
        ],
        covers=("masked_scatter", "masked_select", "constant_pad"),
    ),
    OpInfo(
        "take",
        lambda m, x, i: m.take(x, i),
        lambda r: [S(randn(r, 3, 4), _I([0, 11, 5, 5])), S(randn(r, 3, 4), _I([[1, 2], [-1, 1]]))],
        covers=("take", "index_add"),
        error_inputs=(
            (lambda m: m.take(_x(m), m.tensor([-7])), IndexError,
             r"out of range: tried to access index -7 on a tensor of 6 elements"),
        ),
    ),
    OpInfo(
        "put",
        lambda m, x, i, s, **k: (x.put(i, s, **k), x.put(i, s, accumulate=True)),
        lambda r: [
            S(randn(r, 3, 4), _I([0, 10, -1, 5]), randn(r, 2, 2)),
            S(randn(r, 5), _I([-5]), randn(r, 1)),
        ],
        covers=("index_put", "index_backward"),
        error_inputs=(
            (lambda m: _x(m).put_(m.tensor([6]), m.tensor([1.0])), IndexError,
             r"out of range: tried to access index 6 on a tensor of 6 elements"),
            (lambda m: _x(m).put_(m.tensor([-7]), m.tensor([1.0])), IndexError,
             r"out of range: tried to access index -7 on a tensor of 6 elements"),
        ),
    ),
    OpInfo(
        "nonzero",
        lambda m, x: (m.nonzero(x > 0), m.nonzero(x > 0, as_tuple=True), m.argwhere(x > 1)),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 5))],
        grad="integer index outputs",
    ),
    OpInfo(
        "tril_triu",
        lambda m, x, *a: (m.tril(x, *a), m.triu(x, *a)),
        lambda r: [S(randn(r, 4, 4)), S(randn(r, 3, 5), 1), S(randn(r, 2, 4, 3), -1)],
        covers=("tril", "triu"),
    ),
    OpInfo(
        "diagonal",
        lambda m, x, *a: m.diagonal(x, *a) * 1.0,
        lambda r: [
            S(randn(r, 4, 4)),
            S(randn(r, 3, 5), 1),
            S(randn(r, 2, 4, 3), -1, 1, 2),
            S(randn(r, 2, 3, 4), 0, -1, 0),
        ],
        covers=("diagonal", "diagonal_backward"),
    ),
    OpInfo(
        "diag_embed",
        lambda m, x, *a: m.diag_embed(x, *a),
        lambda r: [S(randn(r, 3)), S(randn(r, 2, 3), 1), S(randn(r, 2, 3), -1, 0, 2)],
        covers=("diag_embed", "diagonal"),
    ),
    OpInfo(
        "diag",
        lambda m, x, *a: m.diag(x, *a),
        lambda r: [S(randn(r, 3)), S(randn(r, 3), -1), S(randn(r, 3, 4)), S(randn(r, 4, 3), 1)],
        covers=("diagonal",),
    ),
    OpInfo(
        "diagflat",
        lambda m, x, *a: m.diagflat(x, *a),
        lambda r: [S(randn(r, 2, 2)), S(randn(r, 3), -2)],
        covers=("diag_embed",),
    ),
    OpInfo(
        "trace",
        lambda m, x: m.trace(x),
        lambda r: [S(randn(r, 3, 3)), S(randn(r, 2, 4))],
        covers=("diagonal",),
    ),
    OpInfo(
        "meshgrid",
        lambda m, x, y, **k: m.meshgrid(x, y, **k),
        lambda r: [
            S(randn(r, 3), randn(r, 2), indexing="ij"),
            S(randn(r, 3), randn(r, 4), indexing="xy"),
        ],
        covers=("expand",),
    ),
    OpInfo(
        "pad_constant",
        lambda m, x, p, v=0.0: m.nn.functional.pad(x, p, value=v),
        lambda r: [
            S(randn(r, 2, 3), (1, 2)),
            S(randn(r, 2, 3, 4), (1, 0, 0, 2), 1.5),
            S(randn(r, 3, 4), (-1, 1, 1, -1)),
        ],
        covers=("constant_pad",),
    ),
    OpInfo(
        "pad_reflect",
        _pad("reflect"),
        lambda r: [
            S(randn(r, 2, 4), (2, 1)),
            S(randn(r, 1, 3, 4), (1, 2, 2, 0)),
            S(randn(r, 1, 2, 6), (-1, 2)),  # negative padding crops (after padding, as torch)
            S(randn(r, 1, 4, 6), (1, -2, -1, 2)),
            S(randn(r, 1, 2, 6), (-6, 1)),
        ],
        covers=("take",),
        error_inputs=(
            (lambda m: m.nn.functional.pad(m.zeros(1, 2, 6), (-3, -3), mode="reflect"),
             RuntimeError, r"input \(W: 6\) is too small. Calculated output W: 0"),
        ),
    ),
    OpInfo(
        "pad_replicate",
        _pad("replicate"),
        lambda r: [
            S(randn(r, 2, 3), (2, 3)),
            S(randn(r, 1, 2, 3, 2), (1, 0, 2, 1)),
            S(randn(r, 1, 2, 6), (2, -1)),
            S(randn(r, 1, 4, 6), (-2, 5, 1, -3)),
        ],
        covers=("take",),
    ),
    OpInfo(
        "pad_circular",
        _pad("circular"),
        lambda r: [
            S(randn(r, 2, 4), (2, 1)),
            S(randn(r, 1, 2, 3, 3), (1, 3, 0, 2)),
            S(randn(r, 1, 2, 6), (2, -1)),  # circular crops before wrapping (torch)
        ],
        covers=("take",),
        error_inputs=(
            (lambda m: m.nn.functional.pad(m.zeros(1, 2, 6), (-4, -3), mode="circular"),
             RuntimeError, r"Negative padding value is resulting in an empty dimension"),
        ),
    ),
]
