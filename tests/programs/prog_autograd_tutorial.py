"""The PyTorch "Learning PyTorch with Examples" tutorials (pytorch/tutorials, BSD-3-Clause), written
for these tests (not copies): fitting y = sin(x) with a third-order polynomial (1) with tensors and
a hand-written backward pass, (2) with autograd, (3) with a custom ``torch.autograd.Function``,
P3(x) = (5x³ − 3x)/2, the Legendre polynomial. Initial values come from the harness (the same for
both frameworks; the tutorials draw them with ``torch.randn``, whose stream differs)."""

import math

import torch


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        (input,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


def build(kind="manual"):
    dtype = torch.float
    device = torch.device("cpu")
    grad = kind != "manual"
    if kind == "legendre":
        return {"a": torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True),
                "b": torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True),
                "c": torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True),
                "d": torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True),
                "kind": torch.tensor(2)}
    names = "abcd"
    params = {n: torch.randn((), device=device, dtype=dtype, requires_grad=grad) for n in names}
    params["kind"] = torch.tensor(0 if kind == "manual" else 1)
    return params


def run(p):
    dtype = torch.float
    x = torch.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = torch.sin(x)
    a, b, c, d = p["a"], p["b"], p["c"], p["d"]
    kind = int(p["kind"])
    losses = []
    if kind == 0:
        learning_rate = 1e-6
        for t in range(300):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum().item()
            if t % 50 == 49:
                losses.append(loss)
            grad_y_pred = 2.0 * (y_pred - y)
            grad_a = grad_y_pred.sum()
            grad_b = (grad_y_pred * x).sum()
            grad_c = (grad_y_pred * x ** 2).sum()
            grad_d = (grad_y_pred * x ** 3).sum()
            a -= learning_rate * grad_a
            b -= learning_rate * grad_b
            c -= learning_rate * grad_c
            d -= learning_rate * grad_d
    elif kind == 1:
        learning_rate = 1e-6
        for t in range(300):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            if t % 50 == 49:
                losses.append(loss.item())
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
    else:
        learning_rate = 5e-6
        for t in range(300):
            P3 = LegendrePolynomial3.apply
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            if t % 50 == 49:
                losses.append(loss.item())
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
    return {"losses": losses, "coefficients": [a.item(), b.item(), c.item(), d.item()]}
