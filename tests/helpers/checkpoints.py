"""The one writer of a real finereid training checkpoint for tests that load, evaluate or explain one."""

from __future__ import annotations

from pathlib import Path


def save_random_checkpoint(path: Path, model_name: str = "bot_resnet18", num_classes: int = 4,
                           height: int = 64, width: int = 32):  # fmt: skip
    """Write a Lightning checkpoint of a ReIDModule: random weights, BatchNorm statistics from two batches.

    Returns the module, whose `.model` (in eval mode) is the reference a loaded model must equal.
    """
    import lightning.pytorch as pl
    import torch

    from finereid.config import config_from_dict
    from finereid.engine.module import ReIDModule

    config = config_from_dict({
        "data": {"height": height, "width": width},
        "model": {"name": model_name, "pretrained": "none"},
        "loss": {"center_weight": 0.0},
        "trainer": {"eval_distance": "euclidean"},
    })  # fmt: skip
    module = ReIDModule(config, num_classes)
    module.model.train()
    with torch.no_grad():  # non-trivial BatchNorm running statistics
        for seed in range(2):
            module.model(torch.randn(4, 3, height, width, generator=torch.Generator().manual_seed(seed)))
    module.model.eval()
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, accelerator="cpu",
                         enable_progress_bar=False, enable_model_summary=False)  # fmt: skip
    trainer.strategy.connect(module)
    trainer.save_checkpoint(path)
    return module
