"""Op database: fused neural-network functions and the ``nn.functional`` compositions built on rows."""

import numpy as np
from op_db import OpInfo, S, randn


def F(m):
    return m.nn.functional


def _seeded(name):
    def fn(m, *a, **k):
        m.manual_seed(0)  # the same noise at every evaluation, so finite differences see one function
        return getattr(F(m), name)(*a, **k)

    return fn


def _dropout(m, x, p, **k):
    m.manual_seed(0)  # the same mask at every evaluation, so finite differences see one function
    return F(m).dropout(x, p, **k)


OPS = [
    OpInfo("softmax", lambda m, x, d: m.softmax(x, d),
           lambda r: [S(randn(r, 3, 4), 1), S(randn(r, 3, 4), 0), S(randn(r, 2, 3, 4) * 5, -1)],
           error_inputs=[
               (lambda m: m.softmax(m.tensor([1, 2]), 0),
                NotImplementedError, "not implemented for 'Long'"),
               (lambda m: m.softmax(m.tensor(1.0), 1), IndexError, "Dimension out of range")]),
    OpInfo("log_softmax", lambda m, x, d: m.log_softmax(x, d),
           lambda r: [S(randn(r, 3, 4), 1), S(randn(r, 3, 4), 0), S(randn(r, 2, 3, 4) * 5, -1)]),
    OpInfo("softmin", lambda m, x, d: F(m).softmin(x, d), lambda r: [S(randn(r, 3, 4), 1)], covers=("softmax",)),
    OpInfo("linear", lambda m, *a: F(m).linear(*a),
           lambda r: [S(randn(r, 4, 3), randn(r, 5, 3), randn(r, 5)), S(randn(r, 2, 4, 3), randn(r, 2, 3)),
                      S(randn(r, 3), randn(r, 2, 3), randn(r, 2))],
           covers=("matmul",)),
    OpInfo("bilinear", lambda m, *a: F(m).bilinear(*a),
           lambda r: [S(randn(r, 4, 3), randn(r, 4, 2), randn(r, 5, 3, 2), randn(r, 5)),
                      S(randn(r, 2, 3), randn(r, 2, 2), randn(r, 2, 3, 2))],
           covers=("matmul",)),
    OpInfo("embedding", lambda m, i, w, **k: F(m).embedding(i, w, **k),
           lambda r: [S(np.array([[0, 2, 4], [3, 2, 2]]), randn(r, 5, 3)),
                      S(np.array([1, 0, 1, 3]), randn(r, 4, 2), padding_idx=2),  # padding rows: test_nn_functional
                      S(np.array(2), randn(r, 3, 2), padding_idx=-2)],  # scale_grad_by_freq: test_nn_functional
           covers=("embedding", "embedding_backward")),
    OpInfo("dropout", _dropout, lambda r: [S(randn(r, 4, 5), 0.4), S(randn(r, 3, 3), 0.2, training=False)],
           covers=("mul",), torch="random draws: chainrule and torch generators differ"),
    OpInfo("normalize", lambda m, x, **k: F(m).normalize(x, **k),
           lambda r: [S(randn(r, 3, 4)), S(randn(r, 3, 4), p=1.0, dim=0), S(randn(r, 2, 3, 2), dim=-1)],
           covers=("norm",)),
    OpInfo("cosine_similarity", lambda m, *a, **k: F(m).cosine_similarity(*a, **k),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 2, 3, 4), randn(r, 3, 4), dim=-1)],
           covers=("norm",)),
    OpInfo("pairwise_distance", lambda m, *a, **k: F(m).pairwise_distance(*a, **k),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 3, 4), randn(r, 4), p=1.0, keepdim=True),
                      S(randn(r, 3, 4), randn(r, 3, 4), p=3.0)],
           covers=("norm",)),
    OpInfo("cdist", lambda m, *a, **k: m.cdist(*a, **k),
           lambda r: [S(randn(r, 3, 4), randn(r, 2, 4)), S(randn(r, 2, 3, 2), randn(r, 2, 4, 2), p=1.0)],
           covers=("norm",)),
    OpInfo("scaled_dot_product_attention", lambda m, *a, **k: F(m).scaled_dot_product_attention(*a, **k),
           lambda r: [S(randn(r, 2, 3, 4), randn(r, 2, 5, 4), randn(r, 2, 5, 3)),
                      S(randn(r, 1, 2, 3, 4), randn(r, 1, 2, 3, 4), randn(r, 1, 2, 3, 2), is_causal=True),
                      S(randn(r, 2, 3, 4), randn(r, 2, 5, 4), randn(r, 2, 5, 3),
                        np.array([[1, 0, 1, 1, 0], [1, 1, 1, 0, 0], [0, 0, 0, 1, 1]], bool), scale=0.7),
                      S(randn(r, 2, 3, 4), randn(r, 1, 5, 4), randn(r, 2, 5, 3), randn(r, 3, 5), nograd=(3,)),
                      S(randn(r, 2, 2, 3, 4), randn(r, 2, 1, 3, 4), randn(r, 2, 1, 3, 2), enable_gqa=True)],
           covers=("sdpa",)),
    OpInfo("scaled_dot_product_attention_grad_mask",
           lambda m, *a, **k: F(m).scaled_dot_product_attention(*a, **k),
           lambda r: [S(randn(r, 2, 3, 4), randn(r, 2, 5, 4), randn(r, 2, 5, 3), randn(r, 3, 5))],
           covers=("softmax",)),
    OpInfo("pixel_shuffle", lambda m, x, f: F(m).pixel_shuffle(x, f),
           lambda r: [S(randn(r, 2, 8, 2, 3), 2), S(randn(r, 9, 1, 2), 3)], covers=("permute",)),
    OpInfo("pixel_unshuffle", lambda m, x, f: F(m).pixel_unshuffle(x, f),
           lambda r: [S(randn(r, 2, 2, 4, 6), 2)], covers=("permute",)),
    OpInfo("interpolate", lambda m, x, **k: F(m).interpolate(x, **k),
           lambda r: [S(randn(r, 1, 2, 3, 4), size=(5, 3), mode="bilinear", align_corners=False),
                      S(randn(r, 1, 2, 3, 4), scale_factor=1.5, mode="bilinear", align_corners=True),
                      S(randn(r, 2, 2, 5), size=7, mode="linear"),
                      S(randn(r, 1, 2, 3, 4), scale_factor=2, mode="nearest"),
                      S(randn(r, 1, 1, 5, 4), size=(3, 6), mode="nearest-exact"),
                      S(randn(r, 1, 2, 5, 4), size=(2, 3), mode="area"),
                      S(randn(r, 1, 2, 4, 5), size=(6, 3), mode="bicubic", align_corners=False),
                      S(randn(r, 1, 1, 3, 4), scale_factor=1.5, mode="bicubic", align_corners=True)],
           covers=("matmul",)),
    OpInfo("local_response_norm", lambda m, x, *a, **k: F(m).local_response_norm(x, *a, **k),
           lambda r: [S(randn(r, 2, 5, 3), 3), S(randn(r, 1, 4, 2, 3), 2, alpha=0.3, beta=0.6, k=2.0),
                      S(randn(r, 2, 3, 2, 2, 2), 5, alpha=0.5)],
           covers=("matmul",)),
    OpInfo("alpha_dropout", _seeded("alpha_dropout"),
           lambda r: [S(randn(r, 4, 5), 0.3, training=True), S(randn(r, 2, 3, 2), 0.5, training=False)],
           covers=("mul",), torch="random draws: chainrule and torch generators differ"),
    OpInfo("feature_alpha_dropout", _seeded("feature_alpha_dropout"),
           lambda r: [S(randn(r, 3, 4, 2), 0.4, training=True)], covers=("mul",),
           torch="random draws: chainrule and torch generators differ"),
    OpInfo("gumbel_softmax", _seeded("gumbel_softmax"),
           lambda r: [S(randn(r, 3, 4)), S(randn(r, 2, 3, 2), tau=0.7, dim=1)],  # hard: test_nn_functional
           covers=("softmax",), torch="random draws: chainrule and torch generators differ"),
]
