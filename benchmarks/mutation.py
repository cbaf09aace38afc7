"""Mutation testing of the modules whose silent errors change a published number (mutmut), score per module.

Run: python benchmarks/mutation.py [--modules fdp market ...] [--max-children 2] [--show-survivors]
A slow job (hours on this project's 2-core shared CPU), never part of `pytest`. It copies the committed
source (`git archive HEAD`, or --ref) and the working tree's tests/ (so new tests count) into a scratch
folder and, holding the shared CPU lock (/tmp/finereid-cpu.lock, the one `flock` takes), per module:
runs the module's tests once unmutated (tests that fail against the ref, i.e. test uncommitted work,
are left out and listed), then `mutmut run` with only those tests, OMP_NUM_THREADS=1. It reads mutmut's
`mutants/**/*.meta` results and prints a markdown table. Detected = killed + timeout + crashed; the
score is detected / (total - equivalent), where the equivalent mutants (no test can tell them from the
original) are listed with the reason in benchmarks/mutation_equivalents.py (and docs/testing.md). A
listed mutant whose mutated line no longer matches, or that a test kills, is reported as stale.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime
import difflib
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mutation_equivalents import EQUIVALENT

REPO = Path(__file__).resolve().parents[1]
LOCK = "/tmp/finereid-cpu.lock"
TARGET = 0.90
# mutmut's exit-code classes (mutmut.stats.status_by_exit_code): tests failed, ran out of CPU time, crashed
DETECTED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout"}
DETECTED |= {255: "timeout", -11: "crashed", -9: "crashed", 37: "killed"}
LEFT = {0: "survived", 5: "no tests", 33: "no tests", None: "not checked", 2: "interrupted", 34: "skipped"}


@dataclass(frozen=True)
class Module:
    """A source file to mutate, the tests that exercise it, and optionally which functions count."""

    path: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()  # mangled names (mutmut's `xǁClassǁmethod`); empty = every function


MODULES: dict[str, Module] = {
    "fdp": Module("src/finereid/losses/fdp.py", ("tests/losses",)),
    "triplet": Module("src/finereid/losses/triplet.py", ("tests/losses",)),
    "market": Module("src/finereid/metrics/market.py", ("tests/metrics",)),
    "rerank": Module("src/finereid/metrics/rerank.py", ("tests/metrics",)),
    "distance": Module("src/finereid/metrics/distance.py", ("tests/metrics",)),
    "efficientnet": Module("src/finereid/models/backbones/efficientnet.py", ("tests/models",)),
    "heads": Module("src/finereid/models/heads.py", ("tests/models",)),
    "engine": Module(
        "src/finereid/engine/module.py",
        # in-process and fast: the subprocess trainings of test_engine_train.py cannot see mutants
        ("tests/engine/test_engine_recipe.py", "tests/engine/test_engine_mutants.py"),
        functions=tuple(
            f"xǁReIDModuleǁ{name}"
            for name in (
                "training_step",
                "configure_optimizers",
                "_loss_terms",
                "_stop_if_not_finite",
                "_optimizer_list",
            )
        ),
    ),
    "sampler": Module("src/finereid/data/sampler.py", ("tests/data",)),
    "transforms": Module("src/finereid/data/transforms.py", ("tests/data",)),
}
# never copied into the scratch tests: they need ../shared or are unrelated and slow
SKIP_TESTS = ("tests/data/test_real_file_lists.py",)


@dataclass
class Result:
    """Counts of one module's mutants by outcome, and the names of the undetected ones."""

    module: str
    counts: dict[str, int] = field(default_factory=dict)
    equivalent: int = 0
    stale: list[str] = field(default_factory=list)
    undetected: dict[str, str] = field(default_factory=dict)  # name -> status
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def detected(self) -> int:
        return sum(self.counts.get(s, 0) for s in set(DETECTED.values()))

    @property
    def score(self) -> float:
        countable = self.total - self.equivalent
        return self.detected / countable if countable else 1.0


def parse_args() -> argparse.Namespace:
    """Command-line options: which modules, parallel mutants, scratch folder, lock, reporting."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", nargs="+", default=list(MODULES), choices=list(MODULES))
    parser.add_argument("--max-children", type=int, default=1, help="mutants tested in parallel")
    parser.add_argument("--ref", default="HEAD", help="git revision whose src/ is mutated")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (mutmut show there)")
    parser.add_argument("--lock", default=LOCK, help="lock file held for the whole run ('' = none)")
    parser.add_argument("--report-only", action="store_true", help="re-read results already in --workdir")
    parser.add_argument("--show-survivors", action="store_true", help="print each undetected mutant's diff")
    parser.add_argument("--json", type=Path, help="also write the per-module counts here")
    return parser.parse_args()


def prepare(scratch: Path, name: str, module: Module, ref: str) -> Path:
    """scratch/name: the ref's src/ + configs/ + pyproject.toml, the working tree's tests, mutmut config."""
    root = scratch / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "src", "configs", "pyproject.toml"],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as tar_file:
        tar_file.write(archive)
        tar_file.seek(0)
        with tarfile.open(fileobj=tar_file) as tar:
            tar.extractall(root, filter="data")
    shutil.copytree(REPO / "tests", root / "tests", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for skipped in SKIP_TESTS:
        (root / skipped).unlink(missing_ok=True)
    return root


def configure(root: Path, module: Module) -> None:
    """Run the module's tests on the unmutated ref, leave out those that fail there, write mutmut's config.

    The working tree's tests may already test code that is not committed yet (other work in progress):
    against the ref they fail or do not import, and mutmut needs a passing baseline. They are listed.
    """
    command = [sys.executable, "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider"]
    command += ["--continue-on-collection-errors", *module.tests]
    with open(root / "baseline.log", "w", encoding="utf-8") as log:
        subprocess.run(command, cwd=root, env=_env(root), stdout=log, stderr=subprocess.STDOUT)
    dropped = []
    for line in (root / "baseline.log").read_text(encoding="utf-8").splitlines():
        kind, _, rest = line.partition(" ")
        if kind in ("FAILED", "ERROR") and rest.startswith("tests/"):
            dropped.append(rest.split(" - ")[0].strip())
    if dropped:
        print(f"  left out (fail against the ref, see {root / 'baseline.log'}): {', '.join(sorted(dropped))}")
    skip = [f"--ignore={d}" if "::" not in d else f"--deselect={d}" for d in sorted(set(dropped))]
    config = {
        "source_paths": ["src"],
        "only_mutate": [module.path],
        "pytest_add_cli_args_test_selection": list(module.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q", "-x", *skip],
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in config.items()]
    with open(root / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def run_mutmut(root: Path, module: Module, max_children: int) -> float:
    """`mutmut run` in `root`, its output in root/mutmut.log; the seconds it took."""
    mutmut = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or "mutmut"
    command = [mutmut, "run", "--max-children", str(max_children)]
    command += [f"{_dotted(module.path)}.{name}__mutmut_*" for name in module.functions]
    start = time.perf_counter()
    with open(root / "mutmut.log", "w", encoding="utf-8") as log:
        status = subprocess.run(
            command, cwd=root, env=_env(None), stdout=log, stderr=subprocess.STDOUT
        ).returncode
    if status != 0:
        print(f"mutmut failed in {root} (exit {status}); see {root / 'mutmut.log'}", file=sys.stderr)
    return time.perf_counter() - start


@contextlib.contextmanager
def cpu_lock(path: str):
    """Hold the shared CPU lock (the one `flock /tmp/finereid-cpu.lock cmd` takes) for the whole run."""
    if not path:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _env(src_root: Path | None) -> dict[str, str]:
    """One thread per process; with `src_root`, its src/ is imported instead of the installed finereid."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    if src_root is not None:
        env["PYTHONPATH"] = str(src_root / "src")
    return env


def collect(root: Path, name: str, module: Module) -> Result:
    """Counts from mutants/<path>.meta, equivalents checked against the mutants' actual changes."""
    result = Result(name)
    meta_path = root / "mutants" / (module.path + ".meta")
    if not meta_path.exists():
        return result
    exit_codes = json.loads(meta_path.read_text(encoding="utf-8"))["exit_code_by_key"]
    prefix = _dotted(module.path) + "."
    wanted = tuple(f"{prefix}{f}__mutmut_" for f in module.functions)
    changes = mutant_changes(root / "mutants" / module.path)
    equivalent = EQUIVALENT.get(name, {})
    for key, code in exit_codes.items():
        if wanted and not key.startswith(wanted):
            continue
        status = DETECTED.get(code) or LEFT.get(code, "suspicious")
        result.counts[status] = result.counts.get(status, 0) + 1
        listed = equivalent.get(key)
        if listed is not None and listed[0] != changes.get(key[len(prefix) :]):
            result.stale.append(key)
            listed = None
        if listed is not None:
            result.equivalent += 1
            if code in DETECTED:  # a test kills it after all: it was not equivalent
                result.stale.append(key)
        elif code not in DETECTED:
            result.undetected[key] = status
    return result


def mutant_changes(mutated_file: Path) -> dict[str, str]:
    """For each mutant function (`name__mutmut_N`), its changed lines against `name__mutmut_orig`."""
    if not mutated_file.exists():
        return {}
    source = mutated_file.read_text(encoding="utf-8")
    bodies: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name:
            segment = ast.get_source_segment(source, node) or ""
            bodies[node.name] = segment.replace(node.name, "f", 1).splitlines()  # signatures mutate too
    changes = {}
    for mutant, body in bodies.items():
        base, _, number = mutant.rpartition("__mutmut_")
        if number == "orig" or f"{base}__mutmut_orig" not in bodies:
            continue
        diff = list(difflib.unified_diff(bodies[f"{base}__mutmut_orig"], body, lineterm="", n=0))[2:]
        old = " ⏎ ".join(line[1:].strip() for line in diff if line.startswith("-"))
        new = " ⏎ ".join(line[1:].strip() for line in diff if line.startswith("+"))
        changes[mutant] = f"{old} → {new or '(removed)'}"
    return changes


def _dotted(path: str) -> str:
    """src/finereid/metrics/market.py -> finereid.metrics.market"""
    return path.removeprefix("src/").removesuffix(".py").replace("/", ".")


def print_table(results: list[Result]) -> None:
    """The per-module score table (markdown, so it pastes into docs/testing.md)."""
    print("| module | mutants | killed | timeout | survived | no tests | equivalent | score | target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        c = r.counts
        killed = c.get("killed", 0) + c.get("crashed", 0)
        ok = "ok" if r.score >= TARGET else "BELOW"
        print(
            f"| {r.module} | {r.total} | {killed} | {c.get('timeout', 0)} | {c.get('survived', 0)} | "
            f"{c.get('no tests', 0)} | {r.equivalent} | {100 * r.score:.1f}% | {ok} |"
        )


def show_survivors(root: Path, result: Result, module: Module) -> None:
    """Each undetected, non-equivalent mutant with its status and changed lines."""
    changes = mutant_changes(root / "mutants" / module.path)
    prefix = _dotted(module.path) + "."
    for key, status in sorted(result.undetected.items(), key=lambda kv: _natural(kv[0])):
        print(f"  {status:9s} {key[len(prefix) :]}: {changes.get(key[len(prefix) :], '?')}")
    for key in result.stale:
        print(f"  STALE     {key[len(prefix) :]}: {changes.get(key[len(prefix) :], '(no such mutant)')}")


def _natural(key: str) -> tuple[str, int]:
    base, _, number = key.rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else -1


def run_module(args: argparse.Namespace, scratch: Path, name: str) -> Result:
    """Prepare, baseline, mutate and collect one module (or only collect, with --report-only)."""
    module = MODULES[name]
    root, seconds = scratch / name, 0.0
    if not args.report_only:
        root = prepare(scratch, name, module, args.ref)
        configure(root, module)
        seconds = run_mutmut(root, module, args.max_children)
    result = collect(root, name, module)
    result.seconds = seconds
    print(
        f"{name}: {result.total} mutants, score {100 * result.score:.1f}% ({seconds / 60:.1f} min)",
        flush=True,
    )
    if args.show_survivors or result.stale:
        show_survivors(root, result, module)
    return result


def main() -> None:
    """Prepare, run and report every selected module."""
    args = parse_args()
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="finereid-mutation-"))
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", args.ref], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"mutating {args.ref} ({commit}) in {scratch}; {platform.node()}, {os.cpu_count()} CPUs")
    with cpu_lock("" if args.report_only else args.lock):  # one heavy job: held for every module
        results = [run_module(args, scratch, name) for name in args.modules]
    print(f"\n{datetime.date.today()}, {args.ref} ({commit}), --max-children {args.max_children}")
    print_table(results)
    if args.json:
        payload = {r.module: {**r.counts, "equivalent": r.equivalent, "score": r.score} for r in results}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    if not (args.keep or args.workdir):
        shutil.rmtree(scratch, ignore_errors=True)
    if any(r.score < TARGET or r.stale for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
