"""Op database: loss functions (``nn.functional``); each is a composition of rule-table rows."""

import numpy as np
from op_db import OpInfo, S, away, pos, randn


def F(m):
    return m.nn.functional


def _f(name):
    return lambda m, *a, **k: getattr(F(m), name)(*a, **k)


def _probs(r, *shape):
    p = r.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=1, keepdims=True)


def _unit(r, *shape):
    return r.uniform(0.05, 0.95, shape)


def _pm1(r, *shape):
    return np.where(r.random(shape) < 0.5, -1.0, 1.0)


OPS = [
    OpInfo("mse_loss", _f("mse_loss"),
           lambda r: [S(randn(r, 3, 4), randn(r, 3, 4)), S(randn(r, 5), randn(r, 5), reduction="sum"),
                      S(randn(r, 2, 3), randn(r, 2, 3), reduction="none")], covers=("mul",)),
    OpInfo("l1_loss", _f("l1_loss"),
           lambda r: [S(away(r, 3, 4), np.zeros((3, 4))), S(away(r, 5), np.zeros(5), reduction="none")],
           covers=("abs",)),
    OpInfo("smooth_l1_loss", _f("smooth_l1_loss"),
           lambda r: [S(away(r, 3, 4) * 2, np.zeros((3, 4)), beta=0.5),
                      S(away(r, 5), np.zeros(5), reduction="sum"),
                      S(away(r, 5), np.zeros(5), reduction="none", beta=0.0)],
           covers=("where",)),
    OpInfo("huber_loss", _f("huber_loss"),
           lambda r: [S(away(r, 3, 4) * 2, np.zeros((3, 4)), delta=0.5),
                      S(away(r, 5) * 2, np.zeros(5), reduction="none")],
           covers=("where",)),
    OpInfo("nll_loss", _f("nll_loss"),
           lambda r: [S(randn(r, 4, 3), np.array([0, 2, 1, 2])),
                      S(randn(r, 4, 3), np.array([0, -100, 1, 2]), reduction="sum"),
                      S(randn(r, 4, 3), np.array([0, 2, 1, 1]), pos(r, 3), nograd=(2,)),
                      S(randn(r, 2, 3, 2), np.array([[0, 1], [2, 2]]), ignore_index=1, reduction="none"),
                      S(randn(r, 3), np.array(1))],
           covers=("take_along_dim",)),
    OpInfo("cross_entropy", _f("cross_entropy"),
           lambda r: [S(randn(r, 4, 3), np.array([0, 2, 1, 2])),
                      S(randn(r, 4, 3), np.array([0, -100, 1, 2]), pos(r, 3), nograd=(2,), label_smoothing=0.2),
                      S(randn(r, 2, 3, 2), np.array([[0, 1], [2, 2]]), ignore_index=1, reduction="sum",
                        label_smoothing=0.1),
                      S(randn(r, 4, 3), _probs(r, 4, 3)),
                      S(randn(r, 2, 3, 2), _probs(r, 2, 3, 2), pos(r, 3), nograd=(2,), label_smoothing=0.3,
                        reduction="none"),
                      S(randn(r, 3), np.array(2))],
           covers=("cross_entropy_idx", "log_softmax"),
           error_inputs=[
               (lambda m: m.nn.functional.cross_entropy(m.ones(2, 3), m.ones(2, 3) / 3, ignore_index=0),
                RuntimeError, "ignore_index is not supported for floating point target"),
               (lambda m: m.nn.functional.cross_entropy(m.ones(2, 3, dtype=m.int64), m.tensor([0, 1])),
                NotImplementedError, "not implemented for 'Long'")]),
    OpInfo("binary_cross_entropy", _f("binary_cross_entropy"),
           lambda r: [S(_unit(r, 3, 4), _unit(r, 3, 4)),
                      S(_unit(r, 5), _unit(r, 5), pos(r, 5), nograd=(2,), reduction="none")],
           covers=("log",)),
    OpInfo("binary_cross_entropy_with_logits", _f("binary_cross_entropy_with_logits"),
           lambda r: [S(randn(r, 3, 4) * 3, _unit(r, 3, 4)),
                      S(randn(r, 2, 3), _unit(r, 2, 3), pos(r, 2, 3), nograd=(2,), pos_weight=None,
                        reduction="sum"),
                      S(away(r, 2, 3) * 3, _unit(r, 2, 3), None, nograd=(), reduction="none")],
           covers=("exp",)),
    OpInfo("binary_cross_entropy_with_logits_pw",
           lambda m, x, t, pw, **k: F(m).binary_cross_entropy_with_logits(x, t, pos_weight=pw, **k),
           lambda r: [S(randn(r, 3, 4) * 3, _unit(r, 3, 4), pos(r, 4), nograd=(2,))], covers=("exp",)),
    OpInfo("kl_div", _f("kl_div"),
           lambda r: [S(randn(r, 3, 4), _unit(r, 3, 4), reduction="batchmean"),
                      S(randn(r, 3, 4), randn(r, 3, 4), reduction="sum", log_target=True),
                      S(randn(r, 3, 4), _unit(r, 3, 4) * (r.random((3, 4)) < 0.6), nograd=(1,), reduction="none")],
           covers=("log",)),
    OpInfo("poisson_nll_loss", _f("poisson_nll_loss"),
           lambda r: [S(randn(r, 3, 4), pos(r, 3, 4, low=0.2, high=3.0)),
                      S(pos(r, 3, 4), pos(r, 3, 4, low=0.2, high=3.0), log_input=False, full=True)],
           covers=("exp",)),
    OpInfo("cosine_embedding_loss", _f("cosine_embedding_loss"),
           lambda r: [S(randn(r, 4, 3), randn(r, 4, 3), np.array([1.0, -1.0, 1.0, -1.0]), nograd=(2,), margin=-0.5),
                      S(randn(r, 4, 3), randn(r, 4, 3), np.array([1.0, -1.0, -1.0, -1.0]), nograd=(2,),
                        reduction="none", margin=-0.9)],
           covers=("sqrt",)),
    OpInfo("margin_ranking_loss", _f("margin_ranking_loss"),
           lambda r: [S(randn(r, 5), randn(r, 5) + 3, _pm1(r, 5), margin=0.1),
                      S(randn(r, 5) + 3, randn(r, 5), _pm1(r, 5), reduction="none")],
           covers=("clamp",)),
    OpInfo("triplet_margin_loss", _f("triplet_margin_loss"),
           lambda r: [S(randn(r, 4, 3), randn(r, 4, 3), randn(r, 4, 3), margin=5.0),
                      S(randn(r, 4, 3), randn(r, 4, 3), randn(r, 4, 3), margin=5.0, swap=True, p=1.0, reduction="none")],
           covers=("norm",)),
    OpInfo("hinge_embedding_loss", _f("hinge_embedding_loss"),
           lambda r: [S(randn(r, 4, 3) * 0.3, _pm1(r, 4, 3), nograd=(1,), margin=2.0)],
           covers=("where",)),
    OpInfo("soft_margin_loss", _f("soft_margin_loss"),
           lambda r: [S(randn(r, 4, 3), _pm1(r, 4, 3), nograd=(1,))], covers=("exp",)),
    OpInfo("gaussian_nll_loss", _f("gaussian_nll_loss"),
           lambda r: [S(randn(r, 4, 3), randn(r, 4, 3), pos(r, 4, 3)),
                      S(randn(r, 4, 3), randn(r, 4, 3), pos(r, 4), full=True, reduction="none"),
                      S(randn(r, 4, 3), randn(r, 4, 3), pos(r, 4, 1), reduction="sum")],
           covers=("log",)),
    OpInfo("multi_margin_loss", _f("multi_margin_loss"),
           lambda r: [S(randn(r, 5, 4), np.array([0, 3, 2, 1, 1])),
                      S(randn(r, 5, 4), np.array([0, 3, 2, 1, 1]), p=2, margin=0.7, reduction="none"),
                      S(randn(r, 4), np.array([2]), weight=None)],
           covers=("take_along_dim",)),
    OpInfo("multilabel_margin_loss", _f("multilabel_margin_loss"),
           lambda r: [S(randn(r, 3, 4), np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0]])),
                      S(randn(r, 4), np.array([0, 3, -1, 1]), reduction="none")],
           covers=("clamp",)),
    OpInfo("multilabel_soft_margin_loss", _f("multilabel_soft_margin_loss"),
           lambda r: [S(randn(r, 3, 4), (r.random((3, 4)) > 0.5) * 1.0, nograd=(1,)),
                      S(randn(r, 3, 4), (r.random((3, 4)) > 0.5) * 1.0, pos(r, 4), nograd=(1, 2), reduction="none")],
           covers=("exp",)),
]
