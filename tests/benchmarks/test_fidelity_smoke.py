"""The multi-fidelity benchmark runs its quick mode and reports every method that exists."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")
pytest.importorskip("torch")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load():
    """Import ``benchmarks/fidelity.py`` by path (``benchmarks/`` is not a package)."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))  # fidelity.py imports samplers.py by name
    name = "hyperdial_bench_fidelity"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / "fidelity.py")
    module = importlib.util.module_from_spec(spec)
    # fidelity.py imports the benchmarks' samplers.py and problems.py by name, while the test
    # suite has packages of the same names: lend it the names for its import, then give back.
    shadowed = {n: sys.modules.pop(n) for n in ("samplers", "problems") if n in sys.modules}
    try:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    finally:
        for n in ("samplers", "problems"):
            sys.modules.pop(n, None)
        sys.modules.update(shadowed)
    return module


@pytest.fixture(scope="module")
def fidelity():
    """The benchmark module, imported when a test runs: at collection its ``samplers`` import
    would shadow the ``tests/samplers`` package."""
    return _load()


@pytest.mark.slow
def test_quick_mode_writes_a_row_for_every_method(tmp_path, fidelity):
    out, raw = tmp_path / "fidelity.md", tmp_path / "raw.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, str(BENCHMARKS / "fidelity.py"), "--quick", "--output", str(out)]
    proc = subprocess.run(
        [*cmd, "--raw", str(raw)], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text()
    assert report.count("<!-- fidelity:start -->") == 1 and "<!-- fidelity:end -->" in report
    assert "### synthetic" in report and "### Targets" in report
    section = report.split("### synthetic")[1].split("\n\n", 2)[1]  # the regret table
    specs, skipped = fidelity.discover_methods()
    assert {"random-full", "optuna-tpe-hb"} <= set(specs)
    for spec in specs.values():
        assert f"| {spec.label} |" in section, spec.key
    for key in skipped:
        assert f"`{key}`" in report  # listed as not run, with the reason
    assert "failed on" not in report
    # Every run trained exactly its epoch budget, counted trial by trial.
    runs = json.loads(raw.read_text())["runs"]
    assert {r["task"]["method"] for r in runs} == set(specs)
    for r in runs:
        assert r["error"] is None
        assert r["epochs"] == r["task"]["budget"] == sum(r["epochs_by_trial"])
    baseline = [r for r in runs if r["task"]["method"] == "random-full"]
    assert all(len(r["full"]) == r["trials"] == 5 for r in baseline)  # 5% of 100 trials
    # Re-rendering the saved runs gives the same tables (--output: never the docs' default).
    again = fidelity.main(["--from-raw", str(raw), "--output", str(tmp_path / "again.md")])
    assert again.split("### Problems")[1] == report.split("### Problems")[1].split("<!--")[0]
    assert (tmp_path / "again.md").read_text().count("<!-- fidelity:start -->") == 1


def test_synthetic_minimum_is_known_and_rankings_cross(fidelity):
    import numpy as np
    from scipy.stats import spearmanr

    best = {
        "learning_rate": 10**-2.55,
        "batch_size": 32,
        "width": 128,
        "layers": 2,
        "dropout": 0.25,
        "weight_decay": 1e-4,
    }
    assert fidelity.synthetic_final(best) == pytest.approx(fidelity.SYNTH_F_STAR, abs=1e-12)
    rng = np.random.default_rng(0)
    configs = [
        {
            "learning_rate": 10 ** rng.uniform(-4, -1),
            "batch_size": int(rng.choice([16, 32, 64, 128])),
            "width": int(np.clip(round(2 ** rng.uniform(4, 8)), 16, 256)),
            "layers": int(rng.integers(1, 4)),
            "dropout": rng.uniform(0, 0.5),
            "weight_decay": 10 ** rng.uniform(-6, -2),
        }
        for _ in range(400)
    ]
    finals = [fidelity.synthetic_final(c) for c in configs]
    assert min(finals) > fidelity.SYNTH_F_STAR

    def at(epoch):
        values = []
        for c in configs:
            model = fidelity.SyntheticModel(c, 0, epoch - 1, 81)
            model.train_epoch()
            values.append(model.true_value())
        return values

    assert at(81) == pytest.approx(finals)  # the curve ends at the final value
    assert spearmanr(at(1), finals)[0] < 0.2 < spearmanr(at(27), finals)[0]


def test_incumbent_and_epochs_to_reach_follow_the_full_budget_trials(fidelity):
    task = fidelity.Task("synthetic", "random-full", 0, 100)
    result = fidelity.RunResult(task, full=[[30, 0.5, 0.4], [60, 0.3, 0.35], [90, 0.4, 0.1]])
    assert fidelity.incumbent_at(result, 20) is None
    assert fidelity.incumbent_at(result, 60) == (0.3, 0.35)
    assert fidelity.incumbent_at(result, math.inf) == (0.3, 0.35)  # by observed value
    problem = fidelity.get_problem("synthetic")
    assert fidelity.quality(problem, (0.3, 0.35)) == pytest.approx(0.35 - fidelity.SYNTH_F_STAR)
    assert fidelity.epochs_to_reach(problem, result, 0.31) == 60
    assert fidelity.epochs_to_reach(problem, result, 0.2) is None
