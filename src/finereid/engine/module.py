"""The ReID training system: a finereid model + identity, metric and center losses, as a LightningModule."""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from finereid.engine.schedule import WarmupMultiStepLR
from finereid.engine.scoring import gather_ranks, score_features
from finereid.errors import ConfigError, FinereidError
from finereid.losses import METRIC_LOSSES, build_loss
from finereid.models import build_model

log = logging.getLogger(__name__)

VAL_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP")


class NonFiniteLossError(FinereidError):
    """The training loss became NaN or infinite; training stops instead of learning from garbage."""


class ReIDModule(pl.LightningModule):
    """Model + losses + optimizers of the strong-baseline recipe; every part chosen by name and number.

    Training: identity loss (label-smoothed cross-entropy on every logits entry), metric loss chosen by
    name (on every feature entry), optional center loss whose centers have their own SGD optimizer.
    Validation: embeddings of query + gallery (sharded over ranks, gathered), scored with
    finereid.metrics and logged as val/rank1, val/rank5, val/rank10, val/mAP, val/mINP.
    """

    def __init__(
        self,
        model_name: str = "bot_resnet50",
        num_classes: int = 751,
        pretrained: str = "imagenet",
        pretrained_path: str | None = None,
        model_options: dict[str, Any] | None = None,
        metric_loss: str = "fdp",
        metric_loss_kwargs: dict[str, Any] | None = None,
        metric_loss_weight: float = 1.0,
        id_loss_weight: float = 1.0,
        label_smoothing: float = 0.1,
        center_loss_weight: float = 0.0005,
        center_lr: float = 0.5,
        optimizer: str = "adam",
        lr: float = 3.5e-4,
        weight_decay: float = 5e-4,
        momentum: float = 0.9,
        warmup_epochs: int = 10,
        warmup_factor: float = 0.1,
        milestones: tuple[int, ...] | list[int] = (40, 70),
        gamma: float = 0.1,
        eval_metric: str = "cosine",
        image_height: int = 256,
        image_width: int = 128,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False  # two optimizers (model, centers): stepped in training_step
        if metric_loss not in METRIC_LOSSES or metric_loss == "center":
            valid = sorted(METRIC_LOSSES - {"center"})
            raise ConfigError(f"unknown metric loss {metric_loss!r}; valid: {', '.join(valid)}")
        self.model = build_model(
            model_name,
            num_classes,
            pretrained=pretrained,
            pretrained_path=pretrained_path,
            **(model_options or {}),
        )
        self.id_loss = build_loss("cross_entropy", num_classes=num_classes, epsilon=label_smoothing)
        self.metric_loss = build_loss(metric_loss, **(metric_loss_kwargs or {}))
        self.center_losses = nn.ModuleList()
        if center_loss_weight > 0:
            dims = _feature_dims(self.model, image_height, image_width)
            self.center_losses.extend(build_loss("center", num_classes=num_classes, feat_dim=d) for d in dims)
        self._val_outputs: list[dict[str, Tensor]] = []
        self.last_val_metrics: dict[str, Any] | None = None
        self.last_val_epoch: int | None = None

    def forward(self, images: Tensor) -> Tensor:
        """Inference embeddings [B, feature_dim] (the model in eval mode)."""
        return self.model(images)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        """One P x K batch: losses, NaN guard, backward, a step of each optimizer."""
        images, pids = batch["images"], batch["pids"]
        if images.shape[0] < 2:  # every image of the batch was unreadable
            return None
        terms = self._loss_terms(self.model(images), pids)
        loss = sum(terms.values())
        self._stop_if_not_finite(loss, terms, batch_idx)
        optimizers = self._optimizer_list()
        for optimizer in optimizers:
            optimizer.zero_grad()
        self.manual_backward(loss)
        if len(optimizers) > 1:  # centers learn from the unweighted center loss (strong baseline)
            for param in self.center_losses.parameters():
                if param.grad is not None:
                    param.grad.mul_(1.0 / self.hparams.center_loss_weight)
        for optimizer in optimizers:
            optimizer.step()
        size = images.shape[0]
        self.log(
            "train/loss",
            loss.detach(),
            on_step=True,
            on_epoch=True,
            prog_bar=True,
            batch_size=size,
            sync_dist=True,
        )
        for name, value in terms.items():
            self.log(
                f"train/{name}", value.detach(), on_step=False, on_epoch=True, batch_size=size, sync_dist=True
            )
        return loss.detach()

    def on_train_epoch_start(self) -> None:
        """Log the learning rate this epoch trains with."""
        lr = self._optimizer_list()[0].param_groups[0]["lr"]
        self.log("train/lr", lr, on_step=False, on_epoch=True, sync_dist=True)

    def on_train_epoch_end(self) -> None:
        """Step the per-epoch learning-rate schedule."""
        scheduler = self.lr_schedulers()
        if scheduler is not None:
            scheduler.step()

    def on_validation_epoch_start(self) -> None:
        """Give every rank rank 0's BatchNorm statistics, so all ranks embed with the checkpointed model."""
        self._val_outputs.clear()
        if self.trainer.world_size > 1 and torch.distributed.is_initialized():
            for buffer in self.model.buffers():
                torch.distributed.broadcast(buffer, src=0)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Embed one batch of query/gallery images and keep (features, pids, camids, global indices)."""
        if batch["images"].shape[0] == 0:
            return
        self._val_outputs.append(
            {
                "feats": self.model(batch["images"]).float(),
                "pids": batch["pids"],
                "camids": batch["camids"],
                "indices": batch["indices"],
            }
        )

    def on_validation_epoch_end(self) -> None:
        """Gather every rank's embeddings, score query vs gallery, log the metrics, free the features."""
        num_query = getattr(self.trainer.datamodule, "num_query", None)
        if num_query is None:
            raise ConfigError("ReIDModule validation needs a ReIDDataModule (query + gallery, num_query)")
        outputs, self._val_outputs = self._val_outputs, []
        feat_dim = self.model.feature_dim
        local = {
            "feats": torch.cat([o["feats"] for o in outputs]) if outputs else self._empty(0, feat_dim),
            **{
                key: torch.cat([o[key] for o in outputs]) if outputs else self._empty_long()
                for key in ("pids", "camids", "indices")
            },
        }
        merged = gather_ranks(local, self.all_gather, self.trainer.world_size)
        order = torch.argsort(merged["indices"])
        merged = {key: value[order] for key, value in merged.items()}
        is_query = merged["indices"] < num_query
        result = score_features(
            merged["feats"][is_query],
            merged["feats"][~is_query],
            merged["pids"][is_query],
            merged["pids"][~is_query],
            merged["camids"][is_query],
            merged["camids"][~is_query],
            metric=self.hparams.eval_metric,
        )
        # after fit, trainer.validate sees current_epoch = epochs done; name the last trained epoch instead
        fitting = self.trainer.state.fn == "fit"
        self.last_val_metrics = result
        self.last_val_epoch = self.current_epoch if fitting else max(self.current_epoch - 1, 0)
        self.log_dict({f"val/{key}": float(result[key]) for key in VAL_KEYS}, sync_dist=True)

    def configure_optimizers(self) -> tuple[list[torch.optim.Optimizer], list[dict[str, Any]]]:
        """Main optimizer (model + metric-loss parameters) with the warm-up/step schedule; SGD for centers."""
        hp = self.hparams
        params = [p for m in (self.model, self.metric_loss) for p in m.parameters() if p.requires_grad]
        if hp.optimizer == "adam":
            main = torch.optim.Adam(params, lr=hp.lr, weight_decay=hp.weight_decay)
        elif hp.optimizer == "adamw":
            main = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
        elif hp.optimizer == "sgd":
            main = torch.optim.SGD(params, lr=hp.lr, weight_decay=hp.weight_decay, momentum=hp.momentum)
        else:
            raise ConfigError(f"unknown optimizer {hp.optimizer!r}; valid: adam, adamw, sgd")
        optimizers = [main]
        if len(self.center_losses) > 0:
            optimizers.append(torch.optim.SGD(self.center_losses.parameters(), lr=hp.center_lr))
        schedule = WarmupMultiStepLR(main, hp.warmup_epochs, hp.warmup_factor, hp.milestones, hp.gamma)
        return optimizers, [{"scheduler": schedule, "interval": "epoch"}]

    def _loss_terms(self, output: Any, pids: Tensor) -> dict[str, Tensor]:
        """Weighted loss terms, summed over the model's branches (one entry for the strong baseline)."""
        hp = self.hparams
        terms = {"id_loss": hp.id_loss_weight * sum(self.id_loss(logits, pids) for logits in output.logits)}
        if hp.metric_loss_weight > 0:
            metric = sum(self.metric_loss(feats.float(), pids) for feats in output.features)
            terms["metric_loss"] = hp.metric_loss_weight * metric
        if len(self.center_losses) > 0:
            center = sum(c(f.float(), pids) for c, f in zip(self.center_losses, output.features, strict=True))
            terms["center_loss"] = hp.center_loss_weight * center
        return terms

    def _stop_if_not_finite(self, loss: Tensor, terms: dict[str, Tensor], batch_idx: int) -> None:
        """Raise NonFiniteLossError (on every rank at once) when the loss is NaN or infinite."""
        bad = not bool(torch.isfinite(loss.detach()))
        if self.trainer.world_size > 1:
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if bad:
            values = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
            step = self.current_epoch * self.trainer.num_training_batches + batch_idx
            raise NonFiniteLossError(
                f"non-finite loss at epoch {self.current_epoch}, batch {batch_idx} "
                f"(training step {step}): {values}"
            )

    def _optimizer_list(self) -> list[Any]:
        """The (Lightning-wrapped) optimizers as a list."""
        optimizers = self.optimizers()
        return list(optimizers) if isinstance(optimizers, (list, tuple)) else [optimizers]

    def _empty(self, rows: int, cols: int) -> Tensor:
        """An empty float feature block on this module's device."""
        return torch.zeros(rows, cols, device=self.device)

    def _empty_long(self) -> Tensor:
        """An empty id vector on this module's device."""
        return torch.zeros(0, dtype=torch.long, device=self.device)


def _feature_dims(model: nn.Module, height: int, width: int) -> list[int]:
    """Widths of the model's metric features (one per branch), probed by a 2-image train-mode forward.

    BatchNorm statistics are restored afterwards, so the probe leaves the model as it found it.
    """
    buffers = {name: buf.clone() for name, buf in model.named_buffers()}
    was_training = model.training
    model.train()
    with torch.no_grad():
        output = model(torch.zeros(2, 3, height, width))
    model.train(was_training)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            buf.copy_(buffers[name])
    return [int(f.shape[1]) for f in output.features]
