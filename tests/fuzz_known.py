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
    Known("advanced-index-checked-under-empty-slice", SEMINDEX, ("wrong:crash",),
          Call("getitem", (_t(True, True, dtype="bool", shape=(1, 2, 1)),
                           ([1], slice(2, 2, 2)))), "wrong:crash",
          ops=_GETITEM, cr_msg=r"out of bounds", in_issue=False,
          note="x[[1], 2:2:2] on shape (1,2,1): torch returns an empty (0,0,1) result (the "
               "empty slice means nothing is read), ours raises IndexError for index 1"),
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
    Known("bool-input-refused", SEMDTYPE, ("silent",),
          Call("argmax", (_t(False, dtype="bool"),)), "silent",
          torch_msg=r"does not support bool|not supported for bool|bool.*not supported",
          in_issue=False, note="argmax/argmin of a bool tensor: torch refuses, ours returns"),
    Known("repeated-ellipsis", SEMINDEX, ("wrong:crash",),
          Call("getitem", (_t(4, dtype="int64", shape=(1, 1)), (Ellipsis, Ellipsis))),
          "wrong:crash", ops=_GETITEM, cr_msg=r"single ellipsis", in_issue=False,
          note="x[..., ...]: torch accepts (as one ellipsis), ours raises NumPy's IndexError"),
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
    Known("single-minus-inf-softmax", SEMDTYPE, ("wrong:value", "wrong:grad"),
          Call("log_softmax", (_t(-np.inf, dtype="float32"), 0)), "wrong:value",
          ops=("softmax", "log_softmax", "softmin"), extreme=True,
          note="softmax/log_softmax/softmin over a slice of only -inf (softmin: +inf): torch "
               "NaN, ours 1/0"),
    Known("gather-backward-zero-d", SEMINDEX, ("wrong:grad-crash",),
          Call("gather", (_t(0.96, grad=True), -1, _t(0, dtype="int64"))), "wrong:grad-crash",
          ops=("gather", "take_along_dim", "scatter", "scatter_add"), in_issue=False,
          note="gather of a 0-d input: forward fine, backward raises IndexError (list "
               "assignment index out of range)"),
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
    Known("creation-results-differ", SEMDTYPE, ("wrong:shape", "wrong:value"),
          Call("arange", (4.997,), {"dtype": Dt("int64")}), "wrong:shape", ops=_CREATION,
          in_issue=False, note="arange(4.997, dtype=int64) has 5 elements (torch 4: the end "
          "is cast to the dtype first); arange(1.27, 2, inf) 1 (torch 0); linspace(3, inf, 3) "
          "[nan, inf, inf] (torch all NaN)"),
    Known("conv-dtype-checked-on-empty-batch", SEMDTYPE, ("wrong:crash",),
          Call("conv1d", (_t(dtype="int64", shape=(0, 1, 0)), _t(1.5, -1.0, shape=(2, 1, 1))),
               {"padding": 1}),
          "wrong:crash", ops=("conv1d", "conv2d"), cr_msg=r"should be the same", empty=True,
          in_issue=False,
          note="conv1d(int64 input with an empty batch, float64 weight): torch skips its "
               "input/weight dtype check when the batch is empty and returns an empty float64 "
               "result; ours refuses the mismatch whatever the sizes (deliberate: the same call "
               "with one sample raises in torch too)"),
    Known("pow-grad-at-minus-inf", SEMDTYPE, ("wrong:grad",),
          Call("pow", (_t(-np.inf, 4.0, dtype="float32", grad=True), 0.5)), "wrong:grad",
          ops=("pow",), extreme=True, in_issue=False,
          note="d/dx x**0.5 at x = -inf: torch NaN (its x**-0.5 goes through rsqrt(-inf) = NaN), "
               "ours -0.0 (NumPy's IEEE pow(-inf, -0.5) = +0); the forward is NaN on both; "
               "torch's answer depends on the exponent's kernel (x**1.5 gives inf), not worth "
               "copying"),
]
