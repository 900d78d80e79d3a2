"""Known silent/wrong families the differential fuzzer finds on the current code, each with a
minimal reproducer, its class, and who is expected to fix it.

A fuzzed call in a family is counted as "known" instead of failing the run. Each family's
reproducer is asserted to STILL fail in that class (strict, like ``xfail(strict=True)``): when a
fix lands, its reproducer turns equal/both-raise and the test says to delete the row, and then any
remaining member of the family fails the fuzzer loudly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from fuzz_core import Call, Dt, Outcome, T

SEMINDEX = "semindex (index bounds, advanced indexing, shape ops)"
SEMDTYPE = "semdtype (dtype policy, NaN/inf rules, error types)"


@dataclass
class Known:
    name: str
    owner: str
    classes: tuple  # class prefixes this family covers
    repro: Call
    repro_class: str  # what the reproducer classifies as today
    ops: tuple = ()  # empty: any op
    torch_msg: str | None = None  # regex on torch's exception (forward or backward)
    cr_msg: str | None = None  # regex on chainrule's exception
    empty: bool = False  # only calls with an empty tensor argument
    int_input: bool = False  # only calls whose first tensor is bool/integer
    extreme: bool = False  # only calls with a NaN, ±inf or near-overflow float input
    mixed: bool = False  # only calls whose tensors have more than one dtype
    in_issue: bool = True  # listed in issue 11's text (False: a new finding)
    note: str = ""
    hits: int = field(default=0, compare=False)

    def matches(self, op: str, call: Call, cls: str, c: Outcome, t: Outcome) -> bool:
        if not cls.startswith(self.classes) or (self.ops and op not in self.ops):
            return False
        if self.torch_msg is not None:
            e = t.exc or t.grad_exc
            if e is None or not re.search(self.torch_msg, str(e)):
                return False
        if self.cr_msg is not None:
            e = c.exc or c.grad_exc
            if e is None or not re.search(self.cr_msg, f"{type(e).__name__}: {e}"):
                return False
        ts = call.tensors()
        if self.empty and not any(x.a.size == 0 for x in ts):
            return False
        if self.int_input and not (ts and ts[0].a.dtype.kind in "biu"):
            return False
        if self.extreme and not any(_extreme(x.a) for x in ts):
            return False
        if self.mixed and len({x.a.dtype for x in ts}) < 2:
            return False
        return True


def _extreme(a: np.ndarray) -> bool:
    if not a.size or a.dtype.kind == "b":
        return False
    if a.dtype.kind in "iu":  # the dtype's extremes overflow float16 when promoted
        info = np.iinfo(a.dtype)
        return bool(a.dtype.itemsize >= 2 and ((a == info.max) | (a == info.min)).any())
    with np.errstate(all="ignore"):
        return bool((~np.isfinite(a)).any() or (np.abs(a) > np.finfo(a.dtype).max / 4).any())


def _t(*vals, dtype="float64", shape=None, **kw) -> T:
    a = np.array(vals if len(vals) != 1 else vals[0], dtype=dtype)
    return T(a.reshape(shape) if shape is not None else a, **kw)


_INT = r"not implemented for '(Bool|Byte|Char|Short|Int|Long)'"
_MIX = (r"same dtype|same scalar type|expected scalar type|Found dtype|Expected self.dtype|"
        r"can't be cast to the desired output type|Boolean alpha|Expected a floating point|"
        r"with a bool tensor is not supported|For integral input tensors|"
        r"Autograd not support dtype")
_IDX_DTYPE = r"for index|dtype of indices|expected target dtype"
_GETITEM = ("getitem", "getitem_view")
_CREATION = ("arange", "linspace", "zeros", "full", "eye")

KNOWN = [
    Known("int-input-to-float-op", SEMDTYPE, ("silent", "wrong:dtype"),
          Call("silu", (_t(4, 1, dtype="int64"),)), "silent",
          torch_msg=_INT, note="silu/elu/leaky_relu/softmax/log_softmax/losses/pools/linspace "
          "of bool/integer tensors compute (truncating) where torch refuses the dtype"),
    Known("int-empty-softmax-dtype", SEMDTYPE, ("wrong:dtype",),
          Call("log_softmax", (_t(dtype="int32", shape=(0, 1)), 1)), "wrong:dtype",
          ops=("softmax", "log_softmax", "softmin"), empty=True, int_input=True, in_issue=False,
          note="softmax of an EMPTY int tensor: torch returns int32 (no kernel runs), ours "
               "float32; goes away with the int refusal above only if that also covers empty"),
    Known("mixed-dtypes-accepted", SEMDTYPE, ("silent",),
          Call("mm", (_t(1.0, 2.0, shape=(1, 2), dtype="float32"),
                      _t(1.0, 2.0, shape=(2, 1)))), "silent",
          torch_msg=_MIX, note="matmul/mm/dot/scatter/index_add/bce/add(alpha) of mixed dtypes, "
          "int matrix_norm, bool subtraction"),
    Known("index-dtype-accepted", SEMINDEX, ("silent",),
          Call("index_select", (_t(3, 1, dtype="int64"), 0, _t(0, dtype="int16", shape=(1,)))),
          "silent", torch_msg=_IDX_DTYPE,
          note="index_select/index_add/scatter_add/take_along_dim/nll_loss take int16/int32/"
               "int8 indices or targets torch refuses"),
    Known("index-out-of-bounds-wraps", SEMINDEX, ("silent",),
          Call("gather", (_t(4, dtype="int64"), 0, _t(-1, dtype="int64"))), "silent",
          torch_msg=r"out of bounds|out of range|out of DATA bounds",
          note="also on EMPTY inputs, where torch still checks (index_select, index_add's "
               "backward)"),
    Known("bool-mask-wrong-shape", SEMINDEX, ("silent",),
          Call("getitem", (_t(1.0, 2.0, 3.0, 4.0, shape=(2, 2)), _t(dtype="bool", shape=(0, 2)))),
          "silent",
          ops=_GETITEM, torch_msg=r"shape of the mask"),
    Known("advanced-index-checked-under-empty-slice", SEMINDEX, ("wrong:crash",),
          Call("getitem", (_t(True, True, dtype="bool", shape=(1, 2, 1)),
                           ([1], slice(2, 2, 2)))), "wrong:crash",
          ops=_GETITEM, cr_msg=r"out of bounds", in_issue=False,
          note="x[[1], 2:2:2] on shape (1,2,1): torch returns an empty (0,0,1) result (the "
               "empty slice means nothing is read), ours raises IndexError for index 1"),
    Known("exception-type-differs", SEMDTYPE, ("wrong:exc-type",),
          Call("eye", (-1,)), "wrong:exc-type",
          note="ValueError/IndexError/TypeError/ZeroDivisionError/OverflowError where torch "
               "raises RuntimeError/NotImplementedError (or the reverse); NumPy words leak"),
    Known("empty-input-crash", SEMINDEX, ("wrong:crash",),
          Call("log_softmax", (_t(dtype="float32", shape=(0,)), -1)), "wrong:crash",
          empty=True, note="softmax/log_softmax/cross_entropy over an empty dim, max_pool of an "
          "empty batch, median/argmax/matrix_norm of empty inputs raise where torch returns"),
    Known("index-checked-on-empty-input", SEMINDEX, ("wrong:crash",),
          Call("gather", (_t(dtype="int16", shape=(0, 0)), 1, _t(dtype="float32", shape=(0, 3)))),
          "wrong:crash", ops=("gather", "take_along_dim", "scatter_add", "index_add", "scatter"),
          in_issue=False,
          note="ours checks index dtype/bounds even when torch's kernel has nothing to do (empty "
               "self/index) and returns; arguably stricter-than-torch, decide and list it"),
    Known("take-along-dim-unchecked-in-torch", SEMINDEX, ("wrong:crash",),
          Call("take_along_dim", (_t(5, dtype="uint8", shape=(1,)), _t(1, dtype="int64",
                                                                       shape=(1,))),
               {"dim": 0}), "wrong:crash", ops=("take_along_dim",), in_issue=False,
          note="take_along_dim([5], [1], dim=0): torch returns [5] (index 1 of a size-1 dim "
               "is not checked where it broadcasts), ours raises IndexError: ours is the "
               "safer answer; keep and list it as a deliberate difference"),
    Known("loss-one-element-target", SEMINDEX, ("wrong:crash",),
          Call("nll_loss", (_t(0.3, dtype="float32", shape=(1,)), _t(0, dtype="int64",
                                                                    shape=(1,)))),
          "wrong:crash", ops=("nll_loss", "cross_entropy"), cr_msg=r"expected target of size",
          in_issue=False, note="a 1-d input with a 1-element 1-d target: torch accepts it "
                               "(as a batch of one), ours refuses"),
    Known("int-avg-pool-refused", SEMDTYPE, ("wrong:crash",),
          Call("avg_pool2d", (_t(3, 0, -4, 2, dtype="int64", shape=(1, 1, 2, 2)), 2)),
          "wrong:crash", ops=("avg_pool2d",), in_issue=False,
          note="avg_pool2d of int64 works in torch (integer mean), ours raises"),
    Known("conv-pool-arguments-unchecked", SEMDTYPE, ("silent",),
          Call("conv1d", (_t(1.0, shape=(1, 1, 1)), _t(0.5, shape=(1, 1, 1))), {"dilation": 0}),
          "silent", ops=("conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool2d"),
          in_issue=False, note="dilation=0, empty spatial input with padding, pool input of "
                               "the wrong rank are accepted where torch refuses"),
    Known("empty-matmul-mixed-dtypes", SEMDTYPE, ("wrong:dtype",),
          Call("matmul", (_t(dtype="float32", shape=(0, 0, 0)),
                          _t(dtype="int64", shape=(0, 0, 0)))),
          "wrong:dtype", ops=("matmul", "mm"), empty=True, in_issue=False,
          note="matmul of EMPTY float32 and int64 batches: torch skips its dtype check and "
               "returns int64, ours float32 (torch raises for non-empty ones)"),
    Known("bool-input-refused", SEMDTYPE, ("silent",),
          Call("argmax", (_t(False, dtype="bool"),)), "silent",
          torch_msg=r"does not support bool|not supported for bool|bool.*not supported",
          in_issue=False, note="argmax/argmin of a bool tensor: torch refuses, ours returns"),
    Known("ndarray-accepted-as-tensor", SEMDTYPE, ("silent",),
          Call("ndarray_args", (_t(1.0, dtype="float32"), "sin", np.array([1.0], np.float32))),
          "silent", ops=("ndarray_args",), torch_msg=r"ndarray|must be Tensor|expected Tensor",
          note="sin(ndarray), matmul/cat/add/mul/where with an ndarray operand"),
    Known("negative-slice-step", SEMINDEX, ("silent",),
          Call("getitem", (_t(1.0, 2.0), slice(None, None, -1))), "silent", ops=_GETITEM,
          torch_msg=r"step must be greater than zero"),
    Known("repeated-ellipsis", SEMINDEX, ("wrong:crash",),
          Call("getitem", (_t(4, dtype="int64", shape=(1, 1)), (Ellipsis, Ellipsis))),
          "wrong:crash", ops=_GETITEM, cr_msg=r"single ellipsis", in_issue=False,
          note="x[..., ...]: torch accepts (as one ellipsis), ours raises NumPy's IndexError"),
    Known("ignore-index-with-probability-targets", SEMDTYPE, ("silent",),
          Call("cross_entropy", (_t(0.25, 0.5, dtype="float32", shape=(1, 2)),
                                 _t(0.25, 0.75, dtype="float32", shape=(1, 2))),
               {"ignore_index": 0}), "silent", ops=("cross_entropy",),
          torch_msg=r"ignore_index is not supported"),
    Known("avg-pool-inf-spreads", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("avg_pool2d", (_t(1.0, 2.0, -np.inf, 3.0, dtype="float32", shape=(1, 1, 2, 2)),
                              1)), "wrong:value", ops=("avg_pool2d",), in_issue=False,
          note="avg_pool2d(kernel 1) of an input holding one -inf: every output is NaN in ours "
               "(a running-sum window spreads inf - inf), torch returns the input"),
    Known("python-int-out-of-dtype-range", SEMDTYPE, ("wrong:crash", "wrong:exc-type"),
          Call("full", ((), -1), {"dtype": Dt("uint8")}), "wrong:crash",
          cr_msg=r"OverflowError", in_issue=False,
          note="full((), -1, dtype=uint8): torch wraps to 255, ours raises NumPy's "
               "OverflowError; same for other fills/alphas out of the dtype's range"),
    Known("python-scalar-where-tensor-required", SEMDTYPE, ("silent",),
          Call("atan2", (_t(2, dtype="int64"), 0.0)), "silent", ops=("atan2", "maximum"),
          torch_msg=r"must be Tensor, not", in_issue=False,
          note="atan2/maximum(tensor, Python number): torch requires a Tensor for `other`"),
    Known("where-scalar-result-dtype", SEMDTYPE, ("wrong:dtype",),
          Call("where", (_t(True, dtype="bool"), 2, -1.5)), "wrong:dtype", ops=("where",),
          note="where(cond, 2, -1.5): torch float32 (the default dtype), ours float64"),
    Known("single-minus-inf-softmax", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("log_softmax", (_t(-np.inf, dtype="float32"), 0)), "wrong:value",
          ops=("softmax", "log_softmax", "softmin"), extreme=True,
          note="softmax/log_softmax/softmin over a slice of only -inf (softmin: +inf): torch "
               "NaN, ours 1/0"),
    Known("logit-gradient-outside-unit-interval", SEMDTYPE, ("wrong:grad",),
          Call("logit", (_t(-2.13, grad=True),)), "wrong:grad", ops=("logit",)),
    Known("atan2-gradient-at-origin", SEMDTYPE, ("wrong:grad",),
          Call("atan2", (_t(0.0, grad=True), _t(0.0))), "wrong:grad", ops=("atan2",)),
    Known("int-pow-negative-exponent", SEMDTYPE, ("wrong:crash", "silent"),
          Call("pow", (_t(5, 2, dtype="int64"), _t(-1, -1, dtype="int64"))), "wrong:crash",
          ops=("pow",), in_issue=False,
          note="integer ** negative integer: torch returns 0 (1 for base 1, ±1 for -1), ours "
               "raises NumPy's error; with an EMPTY base and a Python-int exponent torch "
               "raises and ours returns"),
    Known("gather-backward-zero-d", SEMINDEX, ("wrong:grad-crash",),
          Call("gather", (_t(0.96, grad=True), -1, _t(0, dtype="int64"))), "wrong:grad-crash",
          ops=("gather", "take_along_dim", "scatter", "scatter_add"), in_issue=False,
          note="gather of a 0-d input: forward fine, backward raises IndexError (list "
               "assignment index out of range)"),
    Known("view-after-advanced-indexing", SEMINDEX, ("wrong:crash",),
          Call("getitem_view", (_t(*range(8), shape=(2, 4, 1)), (Ellipsis, [0, 0]))),
          "wrong:crash", ops=("getitem_view", "permute_view"), cr_msg=r"view size"),
    Known("movedim-zero-d", SEMINDEX, ("wrong:crash",),
          Call("movedim", (_t(4, dtype="int8"), 0, 0)), "wrong:crash", ops=("movedim",)),
    Known("loss-non-finite-values", SEMDTYPE, ("wrong:value",),
          Call("bce_with_logits", (_t(np.inf, -3e38, dtype="float32"), _t(-3.3, 0.9,
                                                                          dtype="float32"))),
          "wrong:value", ops=("bce_with_logits", "binary_cross_entropy", "cross_entropy"),
          extreme=True, in_issue=False,
          note="binary_cross_entropy_with_logits at +inf/-3e38 logits: ours NaN, torch inf"),
    Known("remainder-near-overflow", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("remainder", (_t(*[-3e38] * 16, dtype="float32"), 0.5)), "wrong:value",
          ops=("remainder",), extreme=True, in_issue=False,
          note="remainder(-3e38, 0.5) in float32: torch's vectorised kernel (16 elements) "
               "gives NaN (a - floor(a/b)·b overflows; its scalar path gives -0), ours 0: ours "
               "is better; keep and list it"),
    Known("mixed-dtype-results", SEMDTYPE, ("wrong:dtype", "wrong:value", "wrong:grad"),
          Call("bce_with_logits", (_t(-np.inf), _t(-np.inf, dtype="float32"))), "wrong:dtype",
          ops=("bce_with_logits", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss",
               "pow"), mixed=True, in_issue=False,
          note="binary_cross_entropy_with_logits(float64, float32 target): torch's result "
               "dtype is float32, ours float64; cross_entropy(float16 logits, float64 "
               "probabilities) differs by 6e-4 (ours computes log_softmax in float16); "
               "mse_loss(float16, 0-d float32 target): torch float32, ours float16; pow(int8, "
               "float32) gradient differs by 3e-4"),
    Known("python-int-overflows-int64", SEMDTYPE, ("silent",),
          Call("add", (_t(True, dtype="bool"), 2**63), {"alpha": 0}), "silent",
          torch_msg=r"Promotion for uint|overflow|out of range for"),
    Known("norm-of-empty-without-identity", SEMDTYPE, ("silent",),
          Call("vector_norm", (_t(dtype="float32", shape=(0,)),), {"ord": -1}), "silent",
          ops=("vector_norm", "matrix_norm"), torch_msg=r"does not have an identity",
          in_issue=False, note="vector_norm(empty, ord=-1 or -inf): torch refuses (no "
                               "identity), ours returns inf"),
    Known("float32-overflow-in-reductions", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("vector_norm", (_t(-3e38, dtype="float32"),)), "wrong:value",
          ops=("vector_norm", "matrix_norm", "std", "var"), extreme=True,
          note="vector_norm/std of float32 values near 3e38 overflow to inf in ours (squares "
               "in float32), torch scales first (std: NEW)"),
    Known("norm-gradient-at-zero", SEMDTYPE, ("wrong:grad",),
          Call("vector_norm", (_t(0.0, grad=True),), {"ord": -1}), "wrong:grad",
          ops=("vector_norm", "matrix_norm")),
    Known("all-targets-ignored-gradient", SEMDTYPE, ("wrong:grad",),
          Call("cross_entropy", (_t(1.2, 2.1, dtype="float32", shape=(1, 2), grad=True),
                                 _t(1, dtype="int64", shape=(1,))), {"ignore_index": 1}),
          "wrong:grad", ops=("cross_entropy", "nll_loss"),
          note="every target == ignore_index: torch's gradient is 0, ours NaN"),
    Known("std-var-gradient-of-zero-spread", SEMDTYPE, ("wrong:grad",),
          Call("std", (_t(0.6, grad=True),), {"correction": 0}), "wrong:grad",
          ops=("std", "var"), note="std(constant input, correction=0): ours NaN gradient, "
          "torch 0 (the issue's `h.std()` on a constant row)"),
    Known("std-var-backward-zero-division", SEMDTYPE, ("wrong:grad-crash",),
          Call("var", (_t(0.9, grad=True),)), "wrong:grad-crash", ops=("std", "var"),
          cr_msg=r"ZeroDivisionError"),
    Known("nan-inf-gradient-rules", SEMDTYPE, ("wrong:grad",),
          Call("l1_loss", (_t(1.0, np.nan, grad=True), _t(0.5, 0.0)), {"reduction": "sum"}),
          "wrong:grad", extreme=True, in_issue=False,
          note="gradients at NaN/±inf/near-overflow inputs: l1_loss at NaN/±inf (torch: sign "
          "→ 0 or ±1; ours NaN; same root as abs at NaN in the issue), smooth_l1_loss at -inf, "
          "min/max of a tensor holding NaN (torch: the gradient goes to the NaN, ours NaN "
          "everywhere), cross_entropy with ±1e308 logits"),
    Known("conv-non-finite-values", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("conv1d", (_t(-1.066, 0.963, 0.2336, dtype="float16", shape=(1, 3)),
                          _t(0.6914, np.nan, dtype="float16", shape=(1, 1, 2))),
               {"padding": 1}), "wrong:value", ops=("conv1d", "conv2d"), extreme=True,
          in_issue=False, note="conv with padding and a NaN/±inf weight: ours multiplies the "
          "padding zeros (0·NaN = NaN), torch's float16 kernel skips them (its float32 kernel "
          "agrees with ours here); a float32 conv2d with ±inf/3e38 entries also differs"),
    Known("float-alpha-on-int-index-add", SEMDTYPE, ("wrong:value",),
          Call("index_add", (_t(-5, 5, dtype="int64"), 0, _t(0, dtype="int64", shape=(1,)),
                             _t(3, dtype="int64", shape=(1,))), {"alpha": 0.5}), "wrong:value",
          ops=("index_add",), in_issue=False,
          note="index_add(int64, ..., alpha=0.5): torch truncates alpha to 0 (no change), "
               "ours adds 1.5 → 1 (torch should arguably refuse, as add does)"),
    Known("creation-values-unchecked", SEMDTYPE, ("silent",),
          Call("arange", (-2,)), "silent", ops=_CREATION,
          note="arange with inconsistent step (in the issue), zeros() without a size, full/"
               "arange/linspace values that overflow the dtype, autograd below"),
    Known("creation-results-differ", SEMDTYPE, ("wrong:shape", "wrong:value"),
          Call("arange", (4.997,), {"dtype": Dt("int64")}), "wrong:shape", ops=_CREATION,
          in_issue=False, note="arange(4.997, dtype=int64) has 5 elements (torch 4: the end "
          "is cast to the dtype first); arange(1.27, 2, inf) 1 (torch 0); linspace(3, inf, 3) "
          "[nan, inf, inf] (torch all NaN)"),
    Known("grad-empty-inputs", SEMDTYPE, ("silent",),
          Call("autograd", (_t(1.0), "empty", None)), "silent", ops=("autograd",),
          torch_msg=r"cannot be empty"),
]
