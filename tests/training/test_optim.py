"""attn.optim.Adam against torch.optim.Adam(fused=True) with the LambdaLR schedule it replaced."""
import pytest
import torch

from attn.training import optim


def _train(make_optimizer, steps=6):
    """A small net trained `steps` steps; its weights, and the Adam moments, after them."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    net[2].bias.requires_grad_(False)                       # a frozen parameter is left alone
    unused = torch.nn.Parameter(torch.ones(2))              # a parameter that never gets a gradient
    step = make_optimizer(list(net.parameters()) + [unused])
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    for _ in range(steps):
        loss = (net(x) - y).square().mean()
        for p in list(net.parameters()) + [unused]:
            p.grad = None
        loss.backward()
        step()
    return [p.detach().clone() for p in net.parameters()] + [unused.detach().clone()]


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_weights_are_bitwise_those_of_torch_adam_fused(schedule):
    total = 4   # fewer than the steps taken: the linear schedule must hold at a tenth after the end

    def torch_adam(params):
        opt = torch.optim.Adam([p for p in params if p.requires_grad], lr=1e-2, fused=True)
        lam = (lambda t: 1.0 - 0.9 * min(t, total) / total) if schedule == "linear" else (lambda t: 1.0)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        return lambda: (opt.step(), sched.step())

    def ours(params):
        return optim.Adam(params, lr=1e-2, schedule=schedule, total_steps=total).step

    want, got = _train(torch_adam), _train(ours)
    assert all(torch.equal(a, b) for a, b in zip(got, want))
    assert not torch.equal(got[0], _train(lambda params: (lambda: None))[0])   # it did train


def test_the_learning_rate_decays_linearly_to_a_tenth():
    opt = optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.5, schedule="linear", total_steps=10)
    rates = []
    for _ in range(12):
        rates.append(opt.lr)
        opt.step()
    assert rates[0] == 0.5 and rates[5] == pytest.approx(0.5 * (1 - 0.45))
    assert rates[10] == rates[11] == pytest.approx(0.05)


def test_without_the_fused_kernel_torch_adam_does_the_update(monkeypatch):
    want = _train(lambda params: optim.Adam(params, lr=1e-2).step)
    monkeypatch.delattr(torch, "_fused_adam_")
    got = _train(lambda params: optim.Adam(params, lr=1e-2).step)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want))
