"""Every registered loss trains: a small embedding net on separable clusters lowers it in 50 steps."""

from __future__ import annotations

import pytest
import torch

from finereid.losses import IDENTITY_LOSSES, LOSSES, build_loss

NUM_IDS, PER_ID, IN_DIM, EMB_DIM = 8, 4, 16, 16
SIZES = {"center": dict(num_classes=NUM_IDS, feat_dim=EMB_DIM), "cross_entropy": dict(num_classes=NUM_IDS)}


class _EmbeddingNet(torch.nn.Module):
    """Two-layer MLP giving features, plus a linear classifier giving logits (for identity losses)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Linear(IN_DIM, 32), torch.nn.ReLU(), torch.nn.Linear(32, EMB_DIM)
        )
        self.classifier = torch.nn.Linear(EMB_DIM, NUM_IDS)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.classifier(features)


def _clusters(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A P x K batch from NUM_IDS separable Gaussian clusters (fixed centers, fresh noise).

    Close enough that a random net does not already satisfy the margins (triplet starts > 0).
    """
    centers = torch.randn(NUM_IDS, IN_DIM, generator=torch.Generator().manual_seed(123))
    labels = torch.arange(NUM_IDS).repeat_interleave(PER_ID)
    return centers[labels] + 0.7 * torch.randn(len(labels), IN_DIM, generator=gen), labels


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_is_finite_and_decreases_in_50_steps(name):
    torch.manual_seed(0)
    net = _EmbeddingNet()
    loss = build_loss(name, **SIZES.get(name, {}))
    optimizer = torch.optim.Adam([*net.parameters(), *loss.parameters()], lr=1e-2)
    eval_x, eval_y = _clusters(torch.Generator().manual_seed(99))

    def evaluate() -> torch.Tensor:
        with torch.no_grad():
            features, logits = net(eval_x)
            return loss(logits if name in IDENTITY_LOSSES else features, eval_y)

    before = evaluate()
    assert before.ndim == 0 and torch.isfinite(before)
    gen = torch.Generator().manual_seed(1)
    for _ in range(50):
        x, y = _clusters(gen)
        features, logits = net(x)
        value = loss(logits if name in IDENTITY_LOSSES else features, y)
        assert torch.isfinite(value)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    after = evaluate()
    assert torch.isfinite(after)
    assert after < 0.9 * before, f"{name}: {before.item():.4f} -> {after.item():.4f}"
