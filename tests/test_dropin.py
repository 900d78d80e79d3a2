"""What nearly every published script touches first: devices, ``cuda``/``backends``, ``.to``,
``.data``, keyword factories, ``multinomial`` and the in-place random fills, each against torch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


# ---- devices ------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["cpu", "cuda", "cuda:0", "cuda:3", "mps", "meta", "cpu:0"])
def test_device_parses_as_torch(spec):
    d, t = cr.device(spec), torch.device(spec)
    assert (d.type, d.index, str(d), repr(d)) == (t.type, t.index, str(t), repr(t))
    assert cr.device(d) == d and hash(cr.device(spec)) == hash(d)


def test_device_two_arguments_and_equality():
    assert cr.device("cuda", 1) == cr.device("cuda:1")
    assert repr(cr.device("cuda", 1)) == repr(torch.device("cuda", 1))
    # as torch: a device never equals a string, and cpu:0 is not cpu
    assert (cr.device("cpu") == "cpu") is (torch.device("cpu") == "cpu") is False
    assert (cr.device("cpu:0") == cr.device("cpu")) is \
        (torch.device("cpu:0") == torch.device("cpu"))
    assert cr.device("cpu") != cr.device("cuda")


@pytest.mark.parametrize("bad", ["foo", "cuda:x", "cpu:-1", "cuda:0:1", "CPU", " cpu"])
def test_device_rejects_what_torch_rejects(bad):
    with pytest.raises(RuntimeError) as et:
        torch.device(bad)
    with pytest.raises(RuntimeError) as ec:
        cr.device(bad)
    assert str(et.value).split(":")[0] == str(ec.value).split(":")[0]


def test_standard_first_line():
    device = cr.device("cuda" if cr.cuda.is_available() else "cpu")
    x = cr.randn(2, 3, device=device)
    assert x.device == device == cr.device("cpu")
    assert x.device.type == "cpu" and x.get_device() == torch.zeros(1).get_device()
    assert cr.cuda.is_available() is False and cr.cuda.device_count() == 0
    cr.cuda.manual_seed_all(0)  # a no-op without CUDA, as torch


def test_backends_flags():
    cr.backends.cudnn.deterministic = True
    cr.backends.cudnn.benchmark = False
    assert cr.backends.cudnn.deterministic is True
    cr.backends.cudnn.deterministic = False
    assert cr.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert cr.backends.cudnn.is_available() is False


CUDA_USES = {
    "factory": lambda L: L.zeros(2, device="cuda"),
    "tensor": lambda L: L.tensor([1.0], device="cuda:0"),
    "randn": lambda L: L.randn(2, device=L.device("cuda")),
    "arange": lambda L: L.arange(3, device="cuda"),
    "like": lambda L: L.zeros_like(L.ones(2), device="cuda"),
    "to": lambda L: L.zeros(2).to("cuda"),
    "to_kw": lambda L: L.zeros(2).to(device="cuda"),
    "cuda": lambda L: L.zeros(2).cuda(),
    "module_to": lambda L: L.nn.Linear(2, 2).to("cuda"),
    "module_cuda": lambda L: L.nn.Linear(2, 2).cuda(),
    "linear_ctor": lambda L: L.nn.Linear(2, 2, device="cuda"),
    "conv_ctor": lambda L: L.nn.Conv2d(1, 2, 3, device=L.device("cuda")),
    "lstm_ctor": lambda L: L.nn.LSTM(2, 3, device="cuda"),
    "embedding_ctor": lambda L: L.nn.Embedding(4, 2, device="cuda:0"),
    "layernorm_ctor": lambda L: L.nn.LayerNorm(4, device="cuda"),
    "mha_ctor": lambda L: L.nn.MultiheadAttention(4, 2, device="cuda"),
}


@pytest.mark.parametrize("use", sorted(CUDA_USES))
def test_cuda_tensors_fail_as_torch(use):
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        CUDA_USES[use](torch)
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled") as e:
        CUDA_USES[use](cr)
    assert "chainrule" in str(e.value)


def test_modules_built_on_the_cpu_device():
    for make in (lambda: cr.nn.Linear(2, 2, device="cpu"), lambda: cr.nn.GRU(2, 3, device="cpu"),
                 lambda: cr.nn.BatchNorm1d(3, device=cr.device("cpu"))):
        m = make()
        assert all(p.device == cr.device("cpu") for p in m.parameters())


def test_other_devices_fail():
    with pytest.raises(RuntimeError, match="mps"):
        cr.zeros(2).to("mps")
    with pytest.raises(RuntimeError, match="meta"):
        cr.zeros(2, device="meta")


def test_to_forms_match_torch():
    for L in (torch, cr):
        x = L.zeros(2)
        assert x.to("cpu") is x and x.cpu() is x and x.to(L.device("cpu")) is x
        assert x.to(L.float64).dtype == L.float64
        assert x.to("cpu", L.float64).dtype == L.float64
        assert x.to(device="cpu", dtype=L.int64).dtype == L.int64
        assert x.to(L.zeros(1, dtype=L.int32)).dtype == L.int32
        assert x.to(L.float32, copy=True) is not x
        m = L.nn.Linear(2, 2).to(L.device("cpu"))
        assert m.to("cpu", L.float64).weight.dtype == L.float64


def test_legacy_tensor_constructor_with_sizes():
    for L in (torch, cr):
        w = L.nn.Parameter(L.Tensor(3, 4))
        assert tuple(w.shape) == (3, 4) and w.dtype == L.float32 and w.requires_grad
        L.nn.init.kaiming_uniform_(w)
    with pytest.raises(TypeError):
        cr.Tensor(2, 3.5)


def test_memory_placement_methods_are_identities():
    for L in (torch, cr):
        x = L.ones(2, 3)
        assert x.share_memory_() is x and x.nbytes == 24 and x.itemsize == 4
        assert x.is_pinned() is False
    x = cr.ones(2)
    assert x.pin_memory() is x and x.is_shared() is False


def test_requires_grad_survives_to_cpu():
    w = cr.ones(2, requires_grad=True)
    y = w.to("cpu", cr.float64)
    y.sum().backward()
    assert w.grad.tolist() == [1.0, 1.0]


# ---- .data ---------------------------------------------------------------------------------
def test_data_is_a_tensor_sharing_storage_without_version_bump():
    for L in (torch, cr):
        p = L.nn.Parameter(L.zeros(3, 4))
        v = p._version
        p.data.normal_(0, 0.02)
        assert p._version == v and float(p.detach().abs().sum()) > 0
        p.data.copy_(L.ones(3, 4))
        assert p._version == v and p.detach().sum().item() == 12
        (p * p).sum().backward()
        p.grad.data.zero_()
        assert p.grad.abs().sum().item() == 0
        arr = p.data.numpy()
        arr[0, 0] = 5.0
        assert p[0, 0].item() == 5.0
        assert not p.data.requires_grad and p.data.grad_fn is None


def test_data_fill_and_assignment_match_torch():
    res = {}
    for L in (torch, cr):
        net = L.nn.Linear(3, 2)
        net.weight.data.fill_(0.5)
        net.bias.data.zero_()
        net.weight.data[0] = 2.0
        res[L.__name__] = net(L.ones(1, 3)).detach().numpy()
    np.testing.assert_array_equal(res["chainrule"], res["torch"])


# ---- keyword factories ---------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda L: L.zeros(size=(2, 3)), lambda L: L.ones(size=[4]), lambda L: L.empty(size=(0, 2)),
    lambda L: L.randn(size=()), lambda L: L.rand(size=(2, 3)), lambda L: L.zeros((2, 3)),
    lambda L: L.ones(L.Size([2, 1])), lambda L: L.randint(5, (3,)),
    lambda L: L.randint(0, 5, size=(2, 2)), lambda L: L.randn(2, 3, dtype=L.float64),
    lambda L: L.full((2,), 3, device="cpu"), lambda L: L.rand(2, 3, generator=L.Generator()),
    lambda L: L.randn_like(L.ones(2, 2)), lambda L: L.rand_like(L.ones(3), dtype=L.float64),
])
def test_factory_keyword_forms(call):
    t, c = call(torch), call(cr)
    assert tuple(c.shape) == tuple(t.shape) and str(c.dtype).split(".")[-1] == \
        str(t.dtype).split(".")[-1]


def test_generator_keyword_is_reproducible():
    a = cr.rand(2, 3, generator=cr.Generator().manual_seed(7))
    b = cr.rand(2, 3, generator=cr.Generator().manual_seed(7))
    assert a.tolist() == b.tolist()
    with pytest.raises(TypeError):
        cr.zeros(2, size=(2,))


# ---- multinomial ---------------------------------------------------------------------------
def test_multinomial_shapes_and_dtype():
    p = cr.tensor([0.1, 0.0, 0.9])
    assert cr.multinomial(p, 5, True).dtype == cr.int64
    assert p.multinomial(1).shape == (1,)
    assert cr.multinomial(cr.ones(2, 4), 3).shape == (2, 3)
    assert cr.multinomial(cr.ones(0, 3), 2).shape == (0, 2)


def test_multinomial_without_replacement_is_a_permutation():
    g = cr.Generator().manual_seed(0)
    for _ in range(20):
        s = cr.multinomial(cr.tensor([0.2, 0.3, 0.5, 0.0]), 4, generator=g).tolist()
        assert sorted(s) == [0, 1, 2, 3] and s[-1] == 3  # the zero-weight category comes last
    s = cr.multinomial(cr.tensor([[0.0, 1.0], [1.0, 0.0]]), 1, generator=g)
    assert s.tolist() == [[1], [0]]


def test_multinomial_frequencies():
    g = cr.Generator().manual_seed(1)
    w = cr.tensor([1.0, 2.0, 7.0])  # weights need not sum to 1
    s = cr.multinomial(w, 20000, replacement=True, generator=g).numpy()
    np.testing.assert_allclose(np.bincount(s, minlength=3) / 20000, [0.1, 0.2, 0.7], atol=0.015)
    first = [cr.multinomial(w, 2, generator=g)[0].item() for _ in range(3000)]
    np.testing.assert_allclose(np.bincount(first, minlength=3) / 3000, [0.1, 0.2, 0.7], atol=0.03)


def test_multinomial_generator_reproducible():
    p = cr.softmax(cr.randn(3, 10), dim=-1)
    a = cr.multinomial(p, 4, generator=cr.Generator().manual_seed(3))
    b = cr.multinomial(p, 4, generator=cr.Generator().manual_seed(3))
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("args", [
    lambda L: (L.tensor([0.1, 0.0, 0.9]), 4), lambda L: (L.tensor([1, 2]), 1),
    lambda L: (L.tensor([-1.0, 2.0]), 1), lambda L: (L.tensor([0.0, 0.0]), 1),
    lambda L: (L.tensor([float("inf"), 1.0]), 1), lambda L: (L.tensor([float("nan"), 1.0]), 1),
    lambda L: (L.ones(2, 2, 2), 1), lambda L: (L.tensor([0.5, 0.5]), 0),
    lambda L: (L.tensor([0.5, 0.5]), -1), lambda L: (L.tensor(1.0), 1),
    lambda L: (L.ones(2, 0), 1), lambda L: (L.tensor([0.5, 0.5]), 2.0),
])
def test_multinomial_errors_match_torch(args):
    with pytest.raises((RuntimeError, TypeError)) as et:
        torch.multinomial(*args(torch))
    with pytest.raises(type(et.value)) as ec:
        cr.multinomial(*args(cr))
    assert str(et.value).split(" (")[0].split(",")[0] in str(ec.value)


# ---- in-place random fills -----------------------------------------------------------------
@pytest.mark.parametrize("fill, check", [
    (lambda t: t.normal_(2.0, 0.5), lambda a: abs(a.mean() - 2) < .05 and abs(a.std() - .5) < .05),
    (lambda t: t.uniform_(-1, 3),
     lambda a: a.min() >= -1 and a.max() < 3 and abs(a.mean() - 1) < .1),
    (lambda t: t.bernoulli_(0.3),
     lambda a: set(np.unique(a)) <= {0, 1} and abs(a.mean() - .3) < .03),
    (lambda t: t.exponential_(2.0), lambda a: a.min() >= 0 and abs(a.mean() - 0.5) < 0.03),
    (lambda t: t.random_(0, 4), lambda a: set(np.unique(a)) == {0, 1, 2, 3}),
])
def test_random_fills(fill, check):
    cr.manual_seed(0)
    t = cr.empty(4000)
    out = fill(t)
    assert out is t and out.dtype == cr.float32 and check(t.numpy())


def test_random_fill_on_leaf_needs_no_grad():
    for L in (torch, cr):
        w = L.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w.normal_()
        with L.no_grad():
            w.uniform_(-0.1, 0.1)
        assert w.requires_grad and w.grad_fn is None


def test_normal_and_bernoulli_functions():
    g = cr.Generator().manual_seed(0)
    assert cr.normal(0.0, 1.0, size=(2, 3), generator=g).shape == (2, 3)
    m = cr.normal(cr.zeros(1000), cr.full((1000,), 0.1), generator=g)
    assert abs(m.std().item() - 0.1) < 0.01
    b = cr.bernoulli(cr.full((1000,), 0.25), generator=g)
    assert b.dtype == cr.float32 and abs(b.mean().item() - 0.25) < 0.05
    with pytest.raises(RuntimeError):
        cr.multinomial(cr.tensor([1, 2]), 1)


def test_argmax_axis_alias():  # d2l's accuracy() calls it
    assert cr.tensor([[1.0, 3.0], [4.0, 2.0]]).argmax(axis=1).tolist() == [1, 0]


# ---- mixed precision, compile, samplers ----------------------------------------------------
def _scaler_run(L, inf_at):
    w = L.tensor([1.0, -2.0], requires_grad=True)
    opt = L.optim.SGD([w], lr=0.1)
    scaler = L.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    out = []
    for i in range(6):
        opt.zero_grad()
        loss = (w * w).sum() * (float("inf") if i in inf_at else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        out.append((scaler.get_scale(), w.detach().tolist()))
    return out, scaler.state_dict()


def test_grad_scaler_cpu_matches_torch():
    assert _scaler_run(cr, {2}) == _scaler_run(torch, {2})
    with pytest.raises(RuntimeError, match="already been called"):
        s = cr.amp.GradScaler("cpu")
        w = cr.ones(1, requires_grad=True)
        opt = cr.optim.SGD([w], lr=0.1)
        s.scale(w.sum()).backward()
        s.unscale_(opt)
        s.unscale_(opt)


def test_cuda_grad_scaler_and_autocast_disable_themselves():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = cr.cuda.amp.GradScaler(enabled=True)
    msgs = [(w.category, str(w.message)) for w in rec]
    assert (UserWarning, "torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  "
                         "Disabling.") in msgs
    assert any(c is FutureWarning and "deprecated" in m for c, m in msgs)
    assert not s.is_enabled() and s.get_scale() == 1.0
    loss = cr.ones(2, requires_grad=True).sum()
    assert s.scale(loss) is loss
    with pytest.warns(UserWarning, match="Disabling autocast"):
        with cr.autocast(device_type="cuda", dtype=cr.float16):
            assert not cr.is_autocast_enabled()
    with cr.amp.autocast(device_type="cpu", enabled=False):
        pass
    with pytest.raises(NotImplementedError, match="float32"):
        cr.autocast(device_type="cpu")


def test_compile_keeps_torch_calling_convention():
    m = cr.nn.Linear(2, 2)
    cm = cr.compile(m)
    assert list(cm.parameters()) == list(m.parameters())  # the same Parameter objects
    x = cr.randn(3, 2)
    np.testing.assert_allclose(cm(x).detach().numpy(), m(x).detach().numpy())
    f = cr.compile(mode="reduce-overhead")(lambda t: t * 2)
    np.testing.assert_allclose(f(x).numpy(), (x * 2).numpy())


def test_process_switches_are_kept():
    cr.set_float32_matmul_precision("high")
    assert cr.get_float32_matmul_precision() == "high"
    with pytest.warns(UserWarning, match="no effect"):
        cr.set_float32_matmul_precision("fast")  # as torch: a warning, the setting stays
    assert cr.get_float32_matmul_precision() == "high"
    cr.set_float32_matmul_precision("highest")
    cr.use_deterministic_algorithms(True)
    assert cr.are_deterministic_algorithms_enabled()
    cr.use_deterministic_algorithms(False)
    n = cr.get_num_threads()
    cr.set_num_threads(1)
    assert cr.get_num_threads() == 1
    cr.set_num_threads(n)


def test_weighted_random_sampler():
    from chainrule.utils.data import WeightedRandomSampler, get_worker_info
    from chainrule.utils.data.sampler import WeightedRandomSampler as W2

    assert W2 is WeightedRandomSampler and get_worker_info() is None
    s = WeightedRandomSampler([1.0, 3.0, 0.0], 8000, generator=cr.Generator().manual_seed(0))
    counts = np.bincount(list(s), minlength=3) / 8000
    np.testing.assert_allclose(counts, [0.25, 0.75, 0.0], atol=0.02)
    assert len(s) == 8000
    assert sorted(WeightedRandomSampler([1.0] * 4, 4, replacement=False)) == [0, 1, 2, 3]
    for args, kw in [(([1.0], 0), {}), (([[1.0]], 1), {}), (([1.0], 1), {"replacement": 1})]:
        with pytest.raises(ValueError) as et:
            torch.utils.data.WeightedRandomSampler(*args, **kw)
        with pytest.raises(ValueError) as ec:
            WeightedRandomSampler(*args, **kw)
        assert str(ec.value) == str(et.value)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(n, 3)).astype(np.float32) for n in (2, 4, 1)]
    outs = {}
    for L in (torch, cr):
        from importlib import import_module

        rnn = import_module(f"{L.__name__}.nn.utils.rnn")
        seqs = [L.tensor(a, requires_grad=True) for a in arrays]
        out = rnn.pad_sequence(seqs, batch_first=batch_first, padding_value=-1.0,
                               padding_side=side)
        (out * L.arange(out.numel()).reshape(out.shape)).sum().backward()
        lens = [len(a) for a in arrays]
        first = out.detach().numpy().copy()
        # (torch's unpad_sequence transposes its argument in place; chainrule's leaves it be)
        back = rnn.unpad_sequence(out, L.tensor(lens), batch_first=batch_first)
        outs[L.__name__] = (first, [s.grad.numpy() for s in seqs],
                            [b.detach().numpy() for b in back])
    t, c = outs["torch"], outs["chainrule"]
    np.testing.assert_array_equal(c[0], t[0])
    for a, b in zip(c[1] + c[2], t[1] + t[2]):
        np.testing.assert_array_equal(a, b)


# ---- differences documented in the README ---------------------------------------------------
def test_masked_zero_times_inf_is_not_an_anomaly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt = torch.tensor([-1.0, 0.0, 4.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="SqrtBackward0' returned nan"):
            with torch.autograd.detect_anomaly():
                torch.where(xt > 0, torch.sqrt(xt), torch.zeros(3)).sum().backward()
        x = cr.tensor([-1.0, 0.0, 4.0], requires_grad=True)
        with cr.autograd.detect_anomaly():
            cr.where(x > 0, cr.sqrt(x), cr.zeros(3)).sum().backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.25]
        y = cr.tensor([0.0, 4.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="SqrtBackward0' returned inf"):
            with cr.autograd.detect_anomaly():
                cr.sqrt(y).sum().backward()  # a genuinely infinite gradient is still reported


def test_random_streams_differ_from_torch_but_repeat():
    torch.manual_seed(0)
    cr.manual_seed(0)
    a, b = torch.rand(4).tolist(), cr.rand(4).tolist()
    assert a != b
    cr.manual_seed(0)
    assert cr.rand(4).tolist() == b


@pytest.mark.parametrize("op, xs", [
    (lambda L, x: L.sqrt(x), [-1.0, 0.0]), (lambda L, x: L.rsqrt(x), [-1.0, 0.0]),
    (lambda L, x: L.log(x), [-1.0, 0.0]), (lambda L, x: L.log1p(x), [-2.0, -1.0]),
    (lambda L, x: x ** 0.5, [-1.0, 0.0]), (lambda L, x: L.asin(x), [2.0, 1.0]),
    (lambda L, x: L.acos(x), [2.0, 1.0]), (lambda L, x: L.xlogy(x, x), [0.0, -1.0]),
])
def test_zero_gradient_masks_the_undefined_derivative(op, xs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        xt = torch.tensor(xs, requires_grad=True)
        (op(torch, xt) * torch.zeros(2)).sum().backward()
        assert torch.isnan(xt.grad).any()  # torch: 0 times an undefined derivative is NaN
        x = cr.tensor(xs, requires_grad=True)
        (op(cr, x) * cr.zeros(2)).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
