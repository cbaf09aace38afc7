"""Which parts of a model are its head (pooling, necks, classifiers) and which its backbone.

Fine-tuning needs both: `model.init_from` re-initialises the identity classifiers (the keys of
`is_classifier_key`), `model.freeze_epochs` trains only the head. Every model names its head's child
modules in `head_modules`; everything else (child modules and parameters held directly, such as a ViT's
position embedding) is backbone.
"""

from __future__ import annotations

from torch import nn


def is_classifier_key(key: str) -> bool:
    """True for state-dict keys of identity classifiers (`neck.classifier.weight`, `part_classifiers.0.*`)."""
    return any(part.endswith(("classifier", "classifiers")) for part in key.split(".")[:-1])


def head_module_names(model: nn.Module) -> tuple[str, ...]:
    """The model's head children; a model without `head_modules` is all backbone."""
    return tuple(getattr(model, "head_modules", ()))


def backbone_modules(model: nn.Module) -> list[nn.Module]:
    """The child modules outside the head."""
    head = set(head_module_names(model))
    return [module for name, module in model.named_children() if name not in head]


def backbone_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every parameter outside the head (those of backbone children and those the model holds directly)."""
    head = head_module_names(model)
    return [p for name, p in model.named_parameters() if name.split(".")[0] not in head]
