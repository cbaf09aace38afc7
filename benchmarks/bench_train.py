"""Training throughput: `finereid train`'s step against a bare PyTorch loop over the same parts.

    finereid data synth --out data/synth     # once: the demo's synthetic set
    flock /tmp/finereid-cpu.lock python benchmarks/bench_train.py [--data data/synth]

For the demo setting (configs/demo_cpu.yaml: bot_efficientnet_lite0, last stride 1, 96x48,
P x K = 8 x 4, cross-entropy + triplet (margin 0.3) + center loss, Adam) and for bot_resnet18 at
64x32, images/s of
  (a) a bare loop: the model, losses and optimizers of `ReIDModule` stepped on one fixed batch;
  (b) the same loop fed by finereid's own train DataLoader (`ReIDDataModule.train_dataloader`),
      (a) and (b) measured in alternating chunks of one loop (medians);
  (c) `run_training` (what `finereid train` calls), over its steady-state epochs (the first is skipped);
then the ratios c/a, c/b, b/a, the share of (c)'s step spent waiting for data, in forward (with the
losses), backward, the optimizers and logging + loop bookkeeping (timers around Lightning's hooks),
and the decode + augment throughput of one loader worker (one process, one thread).
Targets (issue #21): c/b >= 0.95 and b/a >= 0.9.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import platform
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader
from torch.utils.data import dataloader as torch_dataloader

from finereid.config import Config, load_config
from finereid.data import build_train_loader
from finereid.engine import ReIDModule, run_training
from finereid.engine.datamodule import ReIDDataModule

log = logging.getLogger("bench_train")
DEMO_CONFIG = Path(__file__).parents[1] / "configs" / "demo_cpu.yaml"
TRIPLET = ["loss.metric_loss=triplet", "loss.metric_loss_kwargs={margin: 0.3}"]  # the demo's baseline run
SETTINGS: dict[str, list[str]] = {
    "demo (efficientnet_lite0 96x48)": [*TRIPLET],
    "bot_resnet18 64x32": [
        *TRIPLET,
        "model.name=bot_resnet18",
        "model.pretrained=none",
        "model.options={last_stride: 1}",
        "data.height=64",
        "data.width=32",
    ],
}
PHASES = ("data", "forward", "backward", "optimizer", "logging")
TARGETS = {"c/b": 0.95, "b/a": 0.9}


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/synth", help="a `finereid data synth` folder")
    parser.add_argument("--steps", type=int, default=60, help="timed steps of (a) and of (b)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating chunks of (a) and (b) steps")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps before (a) and (b)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs of (c); the first is not counted")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--set", nargs="*", default=[], help="extra config overrides for all settings")
    return parser.parse_args()


def setting_config(name: str, args: argparse.Namespace) -> Config:
    """The demo config with the setting's overrides, the data folder and a quiet trainer."""
    overrides = [
        *SETTINGS[name],
        f"data.root={args.data}",
        f"trainer.max_epochs={args.epochs}",
        f"trainer.eval_every={args.epochs + 1}",
        "trainer.progress_bar=false",
        *args.set,
    ]
    return load_config(DEMO_CONFIG, overrides)


def fixed_batch(config: Config, num_classes: int) -> dict[str, torch.Tensor]:
    """A P x K batch of random images and identities, as the loader would give."""
    data = config.data
    pids = torch.arange(data.batch_size // data.num_instances).repeat_interleave(data.num_instances)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(len(pids), 3, data.height, data.width, generator=generator)
    return {"images": images, "pids": pids % num_classes}


class BareLoop:
    """The training step without Lightning: zero grads, forward, losses, backward, optimizer steps."""

    def __init__(self, config: Config, num_classes: int) -> None:
        pl.seed_everything(config.trainer.seed, verbose=False)
        self.module = ReIDModule(config, num_classes).train()
        self.center_weight = config.loss.center_weight
        optimizers, _ = self.module.configure_optimizers()
        self.optimizers = optimizers

    def step(self, batch: dict[str, torch.Tensor]) -> float:
        """One step on `batch`; returns the loss."""
        module = self.module
        output = module.model(batch["images"])
        loss = sum(module._loss_terms(output, batch["pids"]).values())
        for optimizer in self.optimizers:
            optimizer.zero_grad()
        loss.backward()
        if len(self.optimizers) > 1:
            for param in module.center_losses.parameters():
                param.grad.mul_(1.0 / self.center_weight)
        for optimizer in self.optimizers:
            optimizer.step()
        return float(loss.detach())


def batches(loader: DataLoader) -> Iterator[dict[str, Any]]:
    """The loader's batches, epoch after epoch (the sampler's epoch set as Lightning would)."""
    for epoch in itertools.count():
        loader.sampler.set_epoch(epoch)
        yield from loader


def bare_loops(config: Config, datamodule: ReIDDataModule, args: argparse.Namespace) -> tuple[float, float]:
    """(a) and (b): images/s of the bare loop on a fixed batch and fed by the train loader, interleaved.

    One loop alternates `--rounds` chunks of (a) and (b) steps, so load that comes and goes hits both
    alike; each is the median over its chunks. Entering a (b) chunk, the batches the workers queued
    during the (a) chunk are used up first (untimed), so (b) waits for data as it would throughout.
    """
    loop = BareLoop(config, datamodule.num_classes)
    fixed = fixed_batch(config, datamodule.num_classes)
    loader = datamodule.train_dataloader()
    queued = max(loader.num_workers, 1) * (loader.prefetch_factor or 1)
    stream = batches(loader)
    for _ in range(args.warmup):
        loop.step(fixed)
        loop.step(next(stream))
    chunk = max(args.steps // args.rounds, 1)
    rates: dict[str, list[float]] = {"a": [], "b": []}
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(chunk):
            loop.step(fixed)
        rates["a"].append(chunk * len(fixed["pids"]) / (time.perf_counter() - start))
        for _ in range(queued):
            loop.step(next(stream))
        images, start = 0, time.perf_counter()
        for _ in range(chunk):
            batch = next(stream)
            images += len(batch["pids"])
            loop.step(batch)
        rates["b"].append(images / (time.perf_counter() - start))
    return statistics.median(rates["a"]), statistics.median(rates["b"])


class StepTimer(pl.Callback):
    """Per-epoch training time and its split into phases, from Lightning's hooks and the loader's next()."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []
        self._phase: dict[str, float] = defaultdict(float)
        self._mark = 0.0
        self._start = 0.0
        self._images = 0
        self.in_epoch = False

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self._phase[phase] += now - self._mark
        self._mark = now

    def data_wait(self, seconds: float) -> None:
        """Time spent in the train loader's next() (the rest of that gap is loop bookkeeping)."""
        if self.in_epoch:
            self._phase["data"] += seconds
            self._phase["logging"] -= seconds

    def logging_call(self, seconds: float) -> None:
        """Time spent in LightningModule.log inside training_step (counted in the optimizer lap)."""
        if self.in_epoch:
            self._phase["logging"] += seconds
            self._phase["optimizer"] -= seconds

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._phase, self._images, self.in_epoch = defaultdict(float), 0, True
        self._start = self._mark = time.perf_counter()

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._lap("logging")  # bookkeeping after the last step + the data wait (moved by data_wait)
        self._images += int(batch["images"].shape[0])

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        self._lap("forward")

    def on_after_backward(self, trainer, pl_module) -> None:
        self._lap("backward")

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._lap("optimizer")

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.in_epoch = False
        seconds = self._mark - self._start
        self.epochs.append({"seconds": seconds, "images": self._images, **self._phase})


def timed_next(timer: StepTimer) -> Any:
    """Wrap DataLoader iterators' __next__ so the timer sees the data wait; returns the original."""
    original = torch_dataloader._BaseDataLoaderIter.__next__

    def __next__(self):  # noqa: N807
        start = time.perf_counter()
        try:
            return original(self)
        finally:
            timer.data_wait(time.perf_counter() - start)

    torch_dataloader._BaseDataLoaderIter.__next__ = __next__
    return original


def finereid_train(config: Config) -> tuple[float, dict[str, float]]:
    """(c): images/s of run_training's steady-state epochs, and the share of each phase in them."""
    timer = StepTimer()
    original_next = timed_next(timer)
    original_log = pl.LightningModule.log

    def timed_log(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return original_log(self, *args, **kwargs)
        finally:
            timer.logging_call(time.perf_counter() - start)

    pl.LightningModule.log = timed_log
    try:
        with tempfile.TemporaryDirectory() as run_dir:
            run_training(config, Path(run_dir) / "run", callbacks=[timer])
    finally:
        torch_dataloader._BaseDataLoaderIter.__next__ = original_next
        pl.LightningModule.log = original_log
    steady = timer.epochs[1:] or timer.epochs
    seconds = sum(e["seconds"] for e in steady)
    shares = {phase: sum(e.get(phase, 0.0) for e in steady) / seconds for phase in PHASES}
    return sum(e["images"] for e in steady) / seconds, shares


def worker_throughput(config: Config, datamodule: ReIDDataModule, count: int = 400) -> float:
    """Decode + augment images/s of one loader worker: the train dataset's __getitem__, one thread.

    With data.cache_images the images come from the loader's cache (built here, not timed): augment only.
    """
    data = config.data
    dataset = build_train_loader(
        datamodule.train_records, data.height, data.width, batch_size=data.batch_size,
        num_instances=data.num_instances, num_workers=0, cache_images=data.cache_images,
        **datamodule.transform_kwargs,
    ).dataset  # fmt: skip
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        keys = [(i % len(dataset), 1000 + i) for i in range(count)]
        for key in keys[:20]:
            dataset[key]
        start = time.perf_counter()
        for key in keys:
            dataset[key]
        return count / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def bench_setting(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement of one setting."""
    config = setting_config(name, args)
    datamodule = ReIDDataModule(config.data, config.trainer.seed)
    datamodule.setup("fit")
    worker = worker_throughput(config, datamodule)
    a, b = bare_loops(config, datamodule, args)
    c, shares = finereid_train(config)
    a_after, _ = bare_loops(config, datamodule, argparse.Namespace(**{**vars(args), "rounds": 1}))
    return {"a": a, "a_after": a_after, "b": b, "c": c, "shares": shares, "worker": worker}


def report(name: str, r: dict[str, Any]) -> list[str]:
    """Markdown rows of one setting."""
    ratios = {"c/a": r["c"] / r["a"], "c/b": r["c"] / r["b"], "b/a": r["b"] / r["a"]}
    verdicts = [f"{k} {'met' if ratios[k] >= v else 'NOT met'} (>= {v})" for k, v in TARGETS.items()]
    shares = ", ".join(f"{p} {100 * r['shares'][p]:.1f}%" for p in PHASES)
    return [
        f"## {name}",
        "",
        "| (a) bare, fixed batch | (b) bare + loader | (c) finereid train | c/a | c/b | b/a |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {r['a']:.1f} img/s | {r['b']:.1f} img/s | {r['c']:.1f} img/s | {ratios['c/a']:.3f} "
        f"| {ratios['c/b']:.3f} | {ratios['b/a']:.3f} |",
        "",
        f"(a) again after (c), one chunk: {r['a_after']:.1f} img/s (drift check)",
        f"step of (c): {shares}",
        f"one loader worker (decode + augment, 1 thread): {r['worker']:.0f} img/s",
        f"targets: {'; '.join(verdicts)}",
        "",
    ]


def main() -> int:
    """Run every setting and print one section each."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = parse_args()
    log.warning(
        "torch %s, %d threads, %d CPUs, %s, load average %s",
        torch.__version__,
        torch.get_num_threads(),
        os.cpu_count(),
        platform.processor() or platform.machine(),
        " ".join(f"{x:.2f}" for x in os.getloadavg()),
    )
    lines = []
    for name in args.settings:
        lines += report(name, bench_setting(name, args))
    print("\n".join(lines))
    log.warning("load average at the end %s", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
