"""The ReID training system: a finereid model + identity, metric and center losses, as a LightningModule."""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from finereid.config import Config, config_from_dict
from finereid.engine.finetune import drop_backbone_grads, hold_backbone, load_init_weights
from finereid.engine.schedule import WarmupMultiStepLR
from finereid.engine.scoring import gather_ranks
from finereid.errors import ConfigError, FinereidError
from finereid.evaluation import score
from finereid.evaluation.checkpoint import CLASSES_KEY, CONFIG_KEY, checkpoint_config, read_checkpoint
from finereid.losses import METRIC_LOSSES, build_loss
from finereid.metrics import SCORE_KEYS
from finereid.models import build_model
from finereid.optimizers import OPTIMIZERS

log = logging.getLogger(__name__)


class NonFiniteLossError(FinereidError):
    """The training loss became NaN or infinite; training stops instead of learning from garbage."""


class ReIDModule(pl.LightningModule):
    """Model + losses + optimizers of the strong-baseline recipe, built from a finereid config.

    Training: identity loss (label-smoothed cross-entropy on every logits entry), the metric loss
    chosen by name (on every feature entry), optional center loss whose centers have their own SGD
    optimizer. Validation: embeddings of query + gallery (sharded over ranks, gathered), scored with
    `finereid.evaluation.score` and logged as val/rank1, val/rank5, val/rank10, val/mAP, val/mINP; with
    several validation targets (one loader each) every target is scored and logged as val/<label>/<key>
    too, and val/<key> holds the data module's `best_index` target (the one best.ckpt follows).

    The hyper-parameters saved in checkpoints are exactly the two arguments: the config as a dict (its
    sections and keys, with their config names) and the number of identity classes.
    """

    def __init__(self, config: Config | dict[str, Any], num_classes: int) -> None:
        super().__init__()
        config = config if isinstance(config, Config) else config_from_dict(config)
        self.save_hyperparameters({CONFIG_KEY: config.to_dict(), CLASSES_KEY: num_classes})
        self.config = config
        self.automatic_optimization = False  # two optimizers (model, centers): stepped in training_step
        model, loss = config.model, config.loss
        if loss.metric_loss not in METRIC_LOSSES or loss.metric_loss == "center":
            valid = sorted(METRIC_LOSSES - {"center"})
            raise ConfigError(f"unknown loss.metric_loss {loss.metric_loss!r}; valid: {', '.join(valid)}")
        fine_tune = model.init_from is not None  # its weights replace ImageNet's: do not read those
        self.model = build_model(
            model.name, num_classes, pretrained="none" if fine_tune else model.pretrained,
            pretrained_path=None if fine_tune else model.pretrained_path, **model.options,
        )  # fmt: skip
        if fine_tune:
            load_init_weights(self.model, model.init_from, model.name)
        if config.trainer.channels_last:  # NHWC weights: faster convolutions on GPUs with tensor cores
            self.model.to(memory_format=torch.channels_last)
        if config.trainer.compile:  # compiles forward in place: parameter names (checkpoints) stay the same
            self.model.compile()
        self.id_loss = build_loss("cross_entropy", num_classes=num_classes, epsilon=loss.label_smoothing)
        self.metric_loss = build_loss(loss.metric_loss, **loss.metric_loss_kwargs)
        self.center_losses = nn.ModuleList()
        if loss.center_weight > 0:
            self.center_losses.extend(
                build_loss("center", num_classes=num_classes, feat_dim=d) for d in self.model.feature_dims
            )
        self._val_outputs: dict[int, list[dict[str, Tensor]]] = {}  # per validation loader
        self.last_val_metrics: dict[str, Any] | None = None
        self.last_val_targets: dict[str, dict[str, Any]] = {}  # label -> metrics, with named targets
        self.last_val_epoch: int | None = None

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls, checkpoint_path: Any, map_location: Any = "cpu", weights_only: bool | None = None
    ) -> ReIDModule:
        """Rebuild from a checkpoint of any finereid release (0.1's flat hyper-parameters included).

        Lightning's own loader calls `cls(**hyper_parameters)`, which only fits this release's format;
        this one reads the config through `finereid.evaluation.checkpoint_config` and loads strictly.
        Loading is always `weights_only` (finereid checkpoints never carry code).
        """
        checkpoint = read_checkpoint(checkpoint_path)
        config, num_classes = checkpoint_config(checkpoint, checkpoint_path)
        # the state dict holds every weight: read no ImageNet file and no init_from checkpoint
        no_initial_weights = {"pretrained": "none", "pretrained_path": None, "init_from": None}
        module = cls(config.replace(model=no_initial_weights), num_classes)
        module.load_state_dict(checkpoint["state_dict"], strict=True)
        return module.to(map_location) if map_location is not None else module

    def forward(self, images: Tensor) -> Tensor:
        """Inference embeddings [B, feature_dim] (the model in eval mode)."""
        return self.model(images)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor | None:
        """One P x K batch: losses, NaN guard, backward, a step of each optimizer."""
        images, pids = batch["images"], batch["pids"]
        if images.shape[0] < 2:  # every image of the batch was unreadable
            return None
        head_only = self.current_epoch < self.config.model.freeze_epochs
        if head_only:
            hold_backbone(self.model)
        # camera ids only reach models that declare they use them (TransReID's SIE); inference is images only
        uses_camids = getattr(self.model, "uses_camids", False)
        images = self._model_input(images)
        output = self.model(images, camids=batch["camids"]) if uses_camids else self.model(images)
        terms = self._loss_terms(output, pids)
        loss = sum(terms.values())
        self._stop_if_not_finite(loss, terms, batch_idx)
        optimizers = self._optimizer_list()
        for optimizer in optimizers:
            optimizer.zero_grad()
        self.manual_backward(loss)
        if head_only:
            drop_backbone_grads(self.model)
        if len(optimizers) > 1:  # centers learn from the unweighted center loss (strong baseline)
            for param in self.center_losses.parameters():
                if param.grad is not None:
                    param.grad.mul_(1.0 / self.config.loss.center_weight)
        for optimizer in optimizers:
            optimizer.step()
        size = images.shape[0]
        # the step value is this rank's (no collective per step); epoch means are synced once, at epoch end
        self.log(
            "train/loss_step", loss.detach(), on_step=True, on_epoch=False, prog_bar=True, batch_size=size
        )
        self.log(
            "train/loss_epoch", loss.detach(), on_step=False, on_epoch=True, batch_size=size, sync_dist=True
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
        freeze = self.config.model.freeze_epochs
        if freeze and self.current_epoch in (0, freeze) and self.trainer.is_global_zero:
            state = "only the head trains" if self.current_epoch == 0 else "the backbone trains again"
            log.info("epoch %d: %s (model.freeze_epochs=%d)", self.current_epoch + 1, state, freeze)

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

    def validation_step(self, batch: dict[str, Any], batch_idx: int, dataloader_idx: int = 0) -> None:
        """Embed one batch of a target's query/gallery images; keep (features, pids, camids, indices)."""
        if batch["images"].shape[0] == 0:
            return
        self._val_outputs.setdefault(dataloader_idx, []).append(
            {
                "feats": self.model(self._model_input(batch["images"])).float(),
                "pids": batch["pids"],
                "camids": batch["camids"],
                "indices": batch["indices"],
            }
        )

    def on_validation_epoch_end(self) -> None:
        """Gather every rank's embeddings, score each target's query vs gallery, log, free the features."""
        datamodule = self.trainer.datamodule
        counts = getattr(datamodule, "val_num_query", None)
        if counts is None:
            raise ConfigError("ReIDModule validation needs a ReIDDataModule (query + gallery, val_num_query)")
        outputs, self._val_outputs = self._val_outputs, {}
        results = [self._score_target(outputs.get(i, []), num_query) for i, num_query in enumerate(counts)]
        result = results[datamodule.best_index]
        # after fit, trainer.validate sees current_epoch = epochs done; name the last trained epoch instead
        fitting = self.trainer.state.fn == "fit"
        self.last_val_metrics = result
        self.last_val_epoch = self.current_epoch if fitting else max(self.current_epoch - 1, 0)
        logged = {f"val/{key}": float(result[key]) for key in SCORE_KEYS}
        if datamodule.named_targets:
            self.last_val_targets = dict(zip(datamodule.val_labels, results, strict=True))
            for label, target in self.last_val_targets.items():
                logged.update({f"val/{label}/{key}": float(target[key]) for key in SCORE_KEYS})
        self.log_dict(logged, sync_dist=True)

    def _score_target(self, outputs: list[dict[str, Tensor]], num_query: int) -> dict[str, Any]:
        """One target's metrics from this rank's kept batches (ranks gathered, put back in record order)."""
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
        return score(
            merged["feats"][is_query],
            merged["feats"][~is_query],
            merged["pids"][is_query],
            merged["pids"][~is_query],
            merged["camids"][is_query],
            merged["camids"][~is_query],
            distance=self.config.trainer.eval_distance,
        ).to_dict()

    def configure_optimizers(self) -> tuple[list[torch.optim.Optimizer], list[dict[str, Any]]]:
        """Main optimizer (model + metric-loss parameters) with the warm-up/step schedule; SGD for centers."""
        optim = self.config.optim
        params = [p for m in (self.model, self.metric_loss) for p in m.parameters() if p.requires_grad]
        main = OPTIMIZERS[optim.name](
            params, lr=optim.lr, weight_decay=optim.weight_decay, momentum=optim.momentum
        )
        optimizers = [main]
        if len(self.center_losses) > 0:
            optimizers.append(torch.optim.SGD(self.center_losses.parameters(), lr=self.config.loss.center_lr))
        schedule = WarmupMultiStepLR(
            main, optim.warmup_epochs, optim.warmup_factor, optim.milestones, optim.gamma
        )
        return optimizers, [{"scheduler": schedule, "interval": "epoch"}]

    def _loss_terms(self, output: Any, pids: Tensor) -> dict[str, Tensor]:
        """Weighted loss terms, summed over the model's branches (one entry for the strong baseline)."""
        loss = self.config.loss
        terms = {"id_loss": loss.id_weight * sum(self.id_loss(logits, pids) for logits in output.logits)}
        if loss.metric_loss_weight > 0:
            metric = sum(self.metric_loss(feats.float(), pids) for feats in output.features)
            terms["metric_loss"] = loss.metric_loss_weight * metric
        if len(self.center_losses) > 0:
            center = sum(c(f.float(), pids) for c, f in zip(self.center_losses, output.features, strict=True))
            terms["center_loss"] = loss.center_weight * center
        return terms

    def _model_input(self, images: Tensor) -> Tensor:
        """The batch in the model's memory format (channels-last when trainer.channels_last)."""
        if self.config.trainer.channels_last and images.ndim == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images

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
