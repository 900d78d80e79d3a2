"""Op database: shape ops."""

from op_db import OpInfo, S, randn

OPS = [
    OpInfo("reshape", lambda m, x, *s: x.reshape(*s) * 1.0,
           lambda r: [S(randn(r, 3, 4), 2, 6), S(randn(r, 3, 4), -1), S(randn(r, 2, 3, 4), 4, -1, 3)]),
    OpInfo("view", lambda m, x, *s: x.view(*s) * 1.0, lambda r: [S(randn(r, 3, 4), 12), S(randn(r, 6), 2, 3)]),
    OpInfo("transpose", lambda m, x, a, b: m.transpose(x, a, b) * 1.0,
           lambda r: [S(randn(r, 3, 4), 0, 1), S(randn(r, 2, 3, 4), -1, 0)]),
    OpInfo("permute", lambda m, x, *d: x.permute(*d) * 1.0, lambda r: [S(randn(r, 2, 3, 4), 2, 0, 1)]),
    OpInfo("squeeze", lambda m, x, *d: x.squeeze(*d) * 1.0,
           lambda r: [S(randn(r, 3, 1, 4)), S(randn(r, 1, 3, 1), 0), S(randn(r, 3, 4), 1)]),
    OpInfo("unsqueeze", lambda m, x, d: x.unsqueeze(d) * 1.0,
           lambda r: [S(randn(r, 3, 4), 0), S(randn(r, 3, 4), -1), S(randn(r), 0)]),
    OpInfo("expand", lambda m, x, *s: x.expand(*s) * 1.0,
           lambda r: [S(randn(r, 3, 1), 3, 4), S(randn(r, 4), 2, 3, 4), S(randn(r, 1, 4), -1, 4)]),
    OpInfo("flatten", lambda m, x, *a: m.flatten(x, *a) * 1.0,
           lambda r: [S(randn(r, 2, 3, 4)), S(randn(r, 2, 3, 4), 1)], covers=("reshape",)),
    OpInfo("cat", lambda m, *xs, dim=0: m.cat(list(xs), dim=dim),
           lambda r: [S(randn(r, 2, 3), randn(r, 4, 3)), S(randn(r, 2, 3), randn(r, 2, 1), randn(r, 2, 2), dim=1),
                      S(randn(r, 2, 3), randn(r, 2, 3), nograd=(1,))]),
    OpInfo("stack", lambda m, *xs, dim=0: m.stack(list(xs), dim=dim),
           lambda r: [S(randn(r, 2, 3), randn(r, 2, 3)), S(randn(r, 4), randn(r, 4), randn(r, 4), dim=1)]),
]
