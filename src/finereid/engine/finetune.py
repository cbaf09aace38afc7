"""Fine-tuning: start from a finereid checkpoint (`model.init_from`), train only the head at first
(`model.freeze_epochs`)."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn

from finereid.errors import CheckpointError
from finereid.evaluation.checkpoint import MODEL_PREFIX, checkpoint_config, read_checkpoint
from finereid.models import backbone_modules, backbone_parameters, is_classifier_key

log = logging.getLogger(__name__)


def load_init_weights(model: nn.Module, path: str | Path, model_name: str) -> int:
    """Load every tensor of checkpoint `path` into `model` except the identity classifiers, which keep
    their fresh initialisation (sized for the new identities). Returns the number of tensors loaded.

    The checkpoint must hold the same model (name, and every non-classifier tensor in the same shape).
    """
    checkpoint = read_checkpoint(path)
    config, old_classes = checkpoint_config(checkpoint, path)
    if config.model.name != model_name:
        raise CheckpointError(
            f"model.init_from {path} holds a {config.model.name!r} model, not {model_name!r}"
        )
    source = {
        k[len(MODEL_PREFIX) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(MODEL_PREFIX)
    }
    target = model.state_dict()
    keep = [k for k in target if not is_classifier_key(k)]
    missing = [k for k in keep if k not in source]
    unexpected = [k for k in source if k not in target]
    wrong = [k for k in keep if k in source and source[k].shape != target[k].shape]
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
                 if keys]  # fmt: skip
        raise CheckpointError(f"model.init_from {path} does not fit {model_name} ({'; '.join(parts)})")
    model.load_state_dict({k: source[k] for k in keep}, strict=False)
    fresh = [k for k in target if is_classifier_key(k)]
    new_classes = getattr(model, "num_classes", "?")
    log.info(
        "model.init_from %s: loaded %d tensors; identity classifier re-initialised for %s identities "
        "(the checkpoint's had %d): %s",
        path, len(keep), new_classes, old_classes, ", ".join(fresh),
    )  # fmt: skip
    return len(keep)


def hold_backbone(model: nn.Module) -> None:
    """Keep the backbone as it is for one step: eval mode (BatchNorm statistics frozen)."""
    for module in backbone_modules(model):
        module.eval()


def drop_backbone_grads(model: nn.Module) -> None:
    """Forget the backbone's gradients, so the optimizers step (and decay) only the head's parameters.

    Gradients are still computed (and all-reduced under DDP, which needs every parameter's), then dropped:
    optimizers skip parameters whose grad is None.
    """
    for param in backbone_parameters(model):
        param.grad = None
