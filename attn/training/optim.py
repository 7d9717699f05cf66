"""Adam with an optional linear learning-rate decay, one fused kernel call per step.

    m_t = b1 m_{t-1} + (1 - b1) g_t          v_t = b2 v_{t-1} + (1 - b2) g_t^2
    p_t = p_{t-1} - lr_t (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)     (Kingma & Ba 2015)
    lr_t = lr                                 "constant"
    lr_t = lr (1 - 0.9 min(t, total) / total) "linear": large steps early, a tenth of lr at the end

Why not torch.optim.Adam(fused=True) with a LambdaLR? This calls the same kernel with the same
arguments, so the weights are bitwise the same (tests/test_optim.py checks it), but the first use of
torch.optim imports torch._dynamo -- about 1.5 s of CPU in every fresh training process, which the
lecture demo paid before its first step. Where the fused kernel is missing (another torch version),
torch.optim.Adam does the update instead.
"""
from __future__ import annotations

from typing import Iterable

import torch

BETAS = (0.9, 0.999)
EPS = 1e-8


class Adam:
    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float, schedule: str = "constant",
                 total_steps: int = 1):
        self.params = [p for p in params if p.requires_grad]
        self.base_lr, self.schedule, self.total_steps = lr, schedule, max(total_steps, 1)
        self.steps_done = 0
        self._fallback = None
        if not hasattr(torch, "_fused_adam_"):
            self._fallback = torch.optim.Adam(self.params, lr=lr, betas=BETAS, eps=EPS)
        else:
            self.exp_avg = [torch.zeros_like(p) for p in self.params]
            self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
            self.state_steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    @property
    def lr(self) -> float:
        """The learning rate of the next step."""
        if self.schedule == "linear":
            return self.base_lr * (1.0 - 0.9 * min(self.steps_done, self.total_steps) / self.total_steps)
        return self.base_lr

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        lr = self.lr
        if self._fallback is not None:
            self._fallback.param_groups[0]["lr"] = lr
            self._fallback.step()
        else:
            # Parameters without a gradient are skipped, as torch.optim.Adam skips them.
            live = [i for i, p in enumerate(self.params) if p.grad is not None]
            if live:
                pick = lambda xs: [xs[i] for i in live]
                steps = pick(self.state_steps)
                torch._foreach_add_(steps, 1)
                torch._fused_adam_(pick(self.params), [self.params[i].grad for i in live], pick(self.exp_avg),
                                   pick(self.exp_avg_sq), [], steps, lr=lr, beta1=BETAS[0], beta2=BETAS[1],
                                   weight_decay=0.0, eps=EPS, amsgrad=False, maximize=False,
                                   grad_scale=None, found_inf=None)
        self.steps_done += 1
