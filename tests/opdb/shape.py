"""Op database: shape ops (views, joins, splits, flips, repeats)."""

import numpy as np
from op_db import OpInfo, S, randn

OPS = [
    OpInfo(
        "reshape",
        lambda m, x, *s: x.reshape(*s) * 1.0,
        lambda r: [S(randn(r, 3, 4), 2, 6), S(randn(r, 3, 4), -1), S(randn(r, 2, 3, 4), 4, -1, 3)],
    ),
    OpInfo(
        "view",
        lambda m, x, *s: x.view(*s) * 1.0,
        lambda r: [S(randn(r, 3, 4), 12), S(randn(r, 6), 2, 3)],
    ),
    OpInfo(
        "view_as",
        lambda m, x, y: x.view_as(y) * y,
        lambda r: [S(randn(r, 3, 4), randn(r, 2, 6))],
        covers=("view",),
    ),
    OpInfo(
        "transpose",
        lambda m, x, a, b: m.transpose(x, a, b) * 1.0,
        lambda r: [S(randn(r, 3, 4), 0, 1), S(randn(r, 2, 3, 4), -1, 0)],
    ),
    OpInfo(
        "swapaxes_t_mT",
        lambda m, x: (m.swapaxes(x, 0, 2) * 1.0, x[0].t() * 1.0, x.mT * 1.0, m.t(x[0, 0]) * 1.0),
        lambda r: [S(randn(r, 2, 3, 4))],
        covers=("transpose",),
    ),
    OpInfo(
        "permute", lambda m, x, *d: x.permute(*d) * 1.0, lambda r: [S(randn(r, 2, 3, 4), 2, 0, 1)]
    ),
    OpInfo(
        "movedim",
        lambda m, x, s, d: m.movedim(x, s, d) * 1.0,
        lambda r: [S(randn(r, 2, 3, 4), 0, -1), S(randn(r, 2, 3, 4, 1), (0, 1), (2, 0))],
        covers=("permute",),
    ),
    OpInfo(
        "squeeze",
        lambda m, x, *d: x.squeeze(*d) * 1.0,
        lambda r: [S(randn(r, 3, 1, 4)), S(randn(r, 1, 3, 1), 0), S(randn(r, 3, 4), 1)],
    ),
    OpInfo(
        "unsqueeze",
        lambda m, x, d: x.unsqueeze(d) * 1.0,
        lambda r: [S(randn(r, 3, 4), 0), S(randn(r, 3, 4), -1), S(randn(r), 0)],
    ),
    OpInfo(
        "expand",
        lambda m, x, *s: x.expand(*s) * 1.0,
        lambda r: [S(randn(r, 3, 1), 3, 4), S(randn(r, 4), 2, 3, 4), S(randn(r, 1, 4), -1, 4)],
    ),
    OpInfo(
        "expand_as_broadcast_to",
        lambda m, x, y: (x.expand_as(y) * y, m.broadcast_to(x, (2, 3, 4)) * 1.0),
        lambda r: [S(randn(r, 3, 1), randn(r, 2, 3, 4))],
        covers=("expand",),
    ),
    OpInfo(
        "broadcast_tensors",
        lambda m, x, y, z: tuple(t * 1.0 for t in m.broadcast_tensors(x, y, z)),
        lambda r: [S(randn(r, 3, 1), randn(r, 4), randn(r, 2, 1, 1))],
        covers=("expand",),
    ),
    OpInfo(
        "flatten",
        lambda m, x, *a: m.flatten(x, *a) * 1.0,
        lambda r: [S(randn(r, 2, 3, 4)), S(randn(r, 2, 3, 4), 1), S(randn(r, 2, 3, 4), 0, 1)],
        covers=("reshape",),
    ),
    OpInfo(
        "unflatten",
        lambda m, x, d, s: m.unflatten(x, d, s) * 1.0,
        lambda r: [S(randn(r, 2, 12), 1, (3, 4)), S(randn(r, 6, 2), 0, (-1, 2))],
        covers=("reshape",),
    ),
    OpInfo(
        "cat",
        lambda m, *xs, dim=0: m.cat(list(xs), dim=dim),
        lambda r: [
            S(randn(r, 2, 3), randn(r, 4, 3)),
            S(randn(r, 2, 3), randn(r, 2, 1), randn(r, 2, 2), dim=1),
            S(randn(r, 2, 3), randn(r, 2, 3), nograd=(1,)),
        ],
    ),
    OpInfo(
        "concat",
        lambda m, x, y: m.concat((x, y), -1),
        lambda r: [S(randn(r, 2, 3), randn(r, 2, 2))],
        covers=("cat",),
    ),
    OpInfo(
        "stack",
        lambda m, *xs, dim=0: m.stack(list(xs), dim=dim),
        lambda r: [
            S(randn(r, 2, 3), randn(r, 2, 3)),
            S(randn(r, 4), randn(r, 4), randn(r, 4), dim=1),
        ],
    ),
    OpInfo(
        "hstack",
        lambda m, x, y: m.hstack([x, y]),
        lambda r: [S(randn(r, 3), randn(r, 2)), S(randn(r, 2, 3), randn(r, 2, 1))],
        covers=("cat",),
    ),
    OpInfo(
        "vstack",
        lambda m, x, y: m.vstack([x, y]),
        lambda r: [S(randn(r, 3), randn(r, 3)), S(randn(r, 2, 3), randn(r, 3))],
        covers=("cat",),
    ),
    OpInfo(
        "dstack",
        lambda m, x, y: m.dstack([x, y]),
        lambda r: [S(randn(r, 3), randn(r, 3)), S(randn(r, 2, 3), randn(r, 2, 3, 2))],
        covers=("cat",),
    ),
    OpInfo(
        "split",
        lambda m, x, s, d=0: x.split(s, d),
        lambda r: [
            S(randn(r, 5, 3), 2),
            S(randn(r, 5, 3), [1, 4]),
            S(randn(r, 2, 6), [3, 0, 3], 1),
        ],
    ),
    OpInfo(
        "split_partial",
        lambda m, x: x.split(2)[1] * 2.0,
        lambda r: [S(randn(r, 5, 3))],
        covers=("split",),
    ),
    OpInfo(
        "chunk",
        lambda m, x, c, d=0: m.chunk(x, c, d),
        lambda r: [S(randn(r, 5, 3), 2), S(randn(r, 2, 6), 4, 1), S(randn(r, 3), 3)],
        covers=("split",),
    ),
    OpInfo(
        "tensor_split",
        lambda m, x, s, d=0: m.tensor_split(x, s, d),
        lambda r: [S(randn(r, 7, 2), 3), S(randn(r, 2, 6), [1, 4], 1), S(randn(r, 5), [2, 2, 9])],
        covers=("split",),
    ),
    OpInfo(
        "unbind",
        lambda m, x, d=0: m.unbind(x, d),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 2, 3, 4), 1), S(randn(r, 3, 2), -1)],
    ),
    OpInfo(
        "iter",
        lambda m, x: [t * float(i + 1) for i, t in enumerate(x)],
        lambda r: [S(randn(r, 3, 2))],
        covers=("unbind",),
    ),
    OpInfo(
        "narrow_select",
        lambda m, x: (
            x.narrow(1, 1, 2) * 1.0,
            m.narrow(x, 0, -2, 1) * 1.0,
            x.select(1, -1) * 1.0,
            m.select(x, 0, 0) * 2.0,
        ),
        lambda r: [S(randn(r, 3, 4))],
        covers=("basic_index",),
    ),
    OpInfo(
        "repeat",
        lambda m, x, *s: x.repeat(*s),
        lambda r: [S(randn(r, 2, 3), 2, 1), S(randn(r, 3), 2, 2), S(randn(r, 2, 1), 1, 3, 2)],
    ),
    OpInfo(
        "tile",
        lambda m, x, d: m.tile(x, d),
        lambda r: [S(randn(r, 2, 3), (2,)), S(randn(r, 3), (2, 1, 2))],
        covers=("repeat",),
    ),
    OpInfo(
        "repeat_interleave",
        lambda m, x, rep, *a: m.repeat_interleave(x, rep, *a),
        lambda r: [
            S(randn(r, 2, 3), 2),
            S(randn(r, 2, 3), 3, 1),
            S(randn(r, 3, 2), np.array([1, 0, 2]), 0),
        ],
        covers=("index_select",),
    ),
    OpInfo(
        "flip",
        lambda m, x, *d: x.flip(*d),
        lambda r: [S(randn(r, 3, 4), 0), S(randn(r, 2, 3, 4), 0, 2), S(randn(r, 3, 4), (-1,))],
    ),
    OpInfo(
        "fliplr_flipud",
        lambda m, x: (m.fliplr(x), m.flipud(x)),
        lambda r: [S(randn(r, 3, 4))],
        covers=("flip",),
    ),
    OpInfo(
        "roll",
        lambda m, x, s, d=None: m.roll(x, s, d),
        lambda r: [
            S(randn(r, 3, 4), 1),
            S(randn(r, 3, 4), -1, 0),
            S(randn(r, 3, 4), (2, 1), (1, 0)),
        ],
    ),
    OpInfo(
        "rot90",
        lambda m, x, *a: m.rot90(x, *a),
        lambda r: [
            S(randn(r, 3, 4)),
            S(randn(r, 3, 4), 2),
            S(randn(r, 3, 4), -1),
            S(randn(r, 2, 3, 4), 1, (2, 0)),
            S(randn(r, 3, 4), 4),
        ],
        covers=("flip", "transpose"),
    ),
    OpInfo(
        # Tensor.unfold: windows of ``size`` every ``step``; overlapping windows add up in backward
        "tensor_unfold",
        lambda m, x, *a: x.unfold(*a),
        lambda r: [
            S(randn(r, 2, 7), 1, 3, 2), S(randn(r, 5, 2), 0, 2, 1), S(randn(r, 4), -1, 4, 3)
        ],
        covers=("unfold", "unfold_backward"),
        error_inputs=(
            (lambda m: m.ones(2, 3).unfold(1, 4, 1), RuntimeError,
             r"maximum size for tensor at dimension 1 is 3 but size is 4"),
            (lambda m: m.ones(2, 3).unfold(1, 2, -1), RuntimeError, r"step is -1 but must be > 0"),
        ),
    ),
    OpInfo(
        "movedim_0d",
        lambda m, x: (m.movedim(x, 0, 0) * 1.0, m.movedim(x, (-1,), (0,)) * 1.0),
        lambda r: [S(randn(r))],
        covers=("permute",),
        error_inputs=(
            (lambda m: m.movedim(m.ones(2, 3), (1, 1), (0, 1)), RuntimeError,
             r"movedim: repeated dim in `source`"),
        ),
    ),
    OpInfo(
        # the same bytes read as another dtype (torch's size rules); a view without gradient
        "view_dtype",
        lambda m, x: (
            x.view(m.int32),
            x.view(m.float16),
            x.view(m.uint8),
            x.t().view(m.int32 if x.dtype == m.float32 else m.int64),  # same size: any strides
        ),
        lambda r: [S(randn(r, 3, 4)), S(randn(r, 2, 1))],
        grad="a reinterpretation of bytes: not differentiable (as torch)",
        error_inputs=(
            (lambda m: m.ones(2, 3).view(m.float64), RuntimeError,
             r"self.size\(-1\) must be divisible by 2 to view Float as Double"),
        ),
    ),
]
