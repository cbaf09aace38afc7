"""Re-introduce the regressions issue #22 named, one at a time, and check that a test catches each.

Each mutation is applied to a scratch copy of the committed tree (plus the working tree's tests), the
test file that guards it is run, and the copy is restored. Prints KILLED (a test failed, as it must)
or SURVIVED per mutation; exits 1 if any survived. A slow job (a few minutes), not part of the suite:

    python benchmarks/named_regressions.py [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (what regresses, file, original text, mutated text, the test file that must catch it)
MUTATIONS = [
    ("Lite0: TF input conversion removed", "src/finereid/models/backbones/efficientnet.py",
     "return self.body.forward_features(x * self.in_scale + self.in_shift)",
     "return self.body.forward_features(x)", "tests/models/test_models_pretrained.py"),
    ("Lite0: bn_eps=1e-3 and pad_type='same' dropped", "src/finereid/models/backbones/efficientnet.py",
     '            bn_eps=1e-3,\n            pad_type="same",\n', "",
     "tests/models/test_models_pretrained.py"),
    ("center loss: 1/weight gradient rescale removed", "src/finereid/engine/module.py",
     "param.grad.mul_(1.0 / self.config.loss.center_weight)", "param.grad.mul_(1.0)",
     "tests/engine/test_engine_recipe.py"),
    ("center loss: centers in the main optimizer", "src/finereid/engine/module.py",
     "params = [p for m in (self.model, self.metric_loss) for p",
     "params = [p for m in (self.model, self.metric_loss, self.center_losses) for p",
     "tests/engine/test_engine_recipe.py"),
    ("metric loss weight ignored", "src/finereid/engine/module.py",
     'terms["metric_loss"] = loss.metric_loss_weight * metric', 'terms["metric_loss"] = metric',
     "tests/engine/test_engine_recipe.py"),
    ("identity loss weight ignored", "src/finereid/engine/module.py",
     'terms = {"id_loss": loss.id_weight * sum(', 'terms = {"id_loss": 1.0 * sum(',
     "tests/engine/test_engine_recipe.py"),
    ("warm-up stepped per batch instead of per epoch", "src/finereid/engine/module.py",
     '[{"scheduler": schedule, "interval": "epoch"}]', '[{"scheduler": schedule, "interval": "step"}]',
     "tests/engine/test_engine_recipe.py"),
    ("flip: mirror taken along the height", "src/finereid/evaluation/extract.py",
     "feats = (feats + model(images.flip(3)).float()) / 2",
     "feats = (feats + model(images.flip(2)).float()) / 2",
     "tests/deploy/test_evaluation_flip.py"),
    ("flip: mirror not averaged", "src/finereid/evaluation/extract.py",
     "feats = (feats + model(images.flip(3)).float()) / 2", "feats = model(images.flip(3)).float()",
     "tests/deploy/test_evaluation_flip.py"),
    ("the optimizer never steps", "src/finereid/engine/module.py",
     "        for optimizer in optimizers:\n            optimizer.step()",
     "        for optimizer in optimizers:\n            pass", "tests/engine/test_engine_learns.py"),
]  # fmt: skip


def scratch_copy() -> Path:
    """The committed source plus the working tree's tests, in a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="finereid-regressions-"))
    archive = subprocess.run(
        ["git", "archive", "HEAD", "src", "pyproject.toml"], cwd=REPO, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
    shutil.copytree(REPO / "tests", root / "tests")
    return root


def main() -> int:
    """Apply each mutation, run its test file, report; 1 if a regression went unnoticed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the mutations whose name contains this text")
    args = parser.parse_args()
    root = scratch_copy()
    env = dict(os.environ, PYTHONPATH=str(root / "src"), OMP_NUM_THREADS="1")
    survived = 0
    try:
        for name, path, old, new, test in MUTATIONS:
            if args.only not in name:
                continue
            file = root / path
            text = file.read_text(encoding="utf-8")
            if old not in text:
                print(f"{name}: the original text is gone from {path}; update this script")
                survived += 1
                continue
            file.write_text(text.replace(old, new, 1), encoding="utf-8")
            command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test]
            done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
            file.write_text(text, encoding="utf-8")
            failed = [line.split(" ")[1] for line in done.stdout.splitlines() if line.startswith("FAILED")]
            killed = done.returncode != 0 and failed
            survived += not killed
            print(f"{'KILLED  ' if killed else 'SURVIVED'} {name}: {', '.join(failed) or 'no test failed'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
