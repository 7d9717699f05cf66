"""Shared fixtures: tiny data sets built in the test itself, never read from disk."""
import random

import pytest
import torch

torch.set_num_threads(1)  # tests are small; one thread keeps them deterministic and quick

from attn.data.pairs import Pair, ParallelData  # noqa: E402

SYMBOLS = "abcdefghij"


def make_reverse(n: int, seed: int, lo: int = 2, hi: int = 8) -> tuple:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        length = rng.randint(lo, hi)
        src = tuple(rng.choice(SYMBOLS) for _ in range(length))
        pairs.append(Pair(src, src[::-1], frozenset((i, length - 1 - i) for i in range(length))))
    return tuple(pairs)


@pytest.fixture
def reverse_data() -> ParallelData:
    return ParallelData("reverse-test", make_reverse(200, 1), make_reverse(20, 2), make_reverse(30, 3))


@pytest.fixture
def model_grads():
    """A function: ModelConfig -> (loss, attention weights | None, gradients) of a tiny model on one
    padded batch, from seed 0; tests call it twice, with and without a fused kernel, and compare."""
    from attn.nn.model import Seq2Seq
    src, src_len = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[1, 5, 6, 7, 8], [1, 9, 4, 0, 0]])

    def loss_weights_grads(cfg):
        torch.manual_seed(0)
        model = Seq2Seq(cfg, 10, 11)
        logits, weights = model(src, src_len, tgt_in)
        loss = logits.logsumexp(-1).mean()
        loss.backward()
        return (loss.item(), None if weights is None else weights.detach(),
                [p.grad.clone() for p in model.parameters()])

    return loss_weights_grads
