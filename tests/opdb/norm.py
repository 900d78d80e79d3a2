"""Op database: normalization functions (``nn.functional``); compositions of rule-table rows."""

from op_db import OpInfo, S, pos, randn


def F(m):
    return m.nn.functional


OPS = [
    OpInfo("layer_norm", lambda m, x, s, *a, **k: F(m).layer_norm(x, s, *a, **k),
           lambda r: [S(randn(r, 2, 3, 4), (4,)), S(randn(r, 2, 3, 4), (3, 4), randn(r, 3, 4), randn(r, 3, 4)),
                      S(randn(r, 3, 5), (5,), randn(r, 5), None, eps=1e-3)],
           covers=("standardize",)),
    OpInfo("rms_norm", lambda m, x, s, *a, **k: F(m).rms_norm(x, s, *a, **k),
           lambda r: [S(randn(r, 2, 3, 4), (4,)), S(randn(r, 2, 3, 4), (3, 4), randn(r, 3, 4), eps=1e-4)],
           covers=("mean",)),
    OpInfo("batch_norm", lambda m, *a, **k: F(m).batch_norm(*a, **k),
           lambda r: [S(randn(r, 4, 3), randn(r, 3), pos(r, 3), randn(r, 3), randn(r, 3), nograd=(1, 2),
                        training=True),
                      S(randn(r, 3, 2, 4), randn(r, 2), pos(r, 2), None, None, nograd=(1, 2), training=True,
                        momentum=0.3),
                      S(randn(r, 2, 3, 2, 2), randn(r, 3), pos(r, 3), randn(r, 3), randn(r, 3), nograd=(1, 2)),
                      S(randn(r, 3, 2, 2), None, None, pos(r, 2), None, training=True)],
           covers=("standardize",)),
    OpInfo("group_norm", lambda m, *a, **k: F(m).group_norm(*a, **k),
           lambda r: [S(randn(r, 2, 4, 3), 2, randn(r, 4), randn(r, 4)), S(randn(r, 3, 6, 2, 2), 3, eps=1e-3)],
           covers=("standardize",)),
    OpInfo("instance_norm", lambda m, *a, **k: F(m).instance_norm(*a, **k),
           lambda r: [S(randn(r, 2, 3, 4), randn(r, 3), pos(r, 3), randn(r, 3), randn(r, 3), nograd=(1, 2)),
                      S(randn(r, 2, 2, 3, 2)),
                      S(randn(r, 2, 3, 4), randn(r, 3), pos(r, 3), None, None, nograd=(1, 2),
                        use_input_stats=False)],
           covers=("standardize",)),
]
