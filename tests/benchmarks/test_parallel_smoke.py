"""The parallel benchmark runs its quick mode and writes every table.

It runs as a subprocess only: ``parallel.py`` imports ``samplers.py`` and ``storage.py`` by
name, which in a test session resolve to the ``tests/samplers`` and ``tests/storage`` packages.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.slow
def test_quick_mode_writes_the_tables(tmp_path):
    out, raw = tmp_path / "parallel.md", tmp_path / "raw.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    cmd = [sys.executable, str(BENCHMARKS / "parallel.py"), "--quick", "--output", str(out)]
    proc = subprocess.run(
        [*cmd, "--raw", str(raw)], capture_output=True, text=True, env=env, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = out.read_text()
    assert report.count("<!-- parallel:start -->") == 1 and "<!-- parallel:end -->" in report
    assert "SQLite" in report  # --quick never needs a server
    for heading in (
        "### Throughput: 0.1 s sleeping objective",
        "### Throughput: zero-cost objective (storage-bound)",
        "### Parallel BO: 4 workers against 1",
        "### Targets",
    ):
        assert heading in report, heading
    section = report.split("### Throughput: 0.1 s")[1].split("###")[0]
    assert "| 1 | " in section and "| 2 | " in section and "failed" not in section
    assert "failed" not in report.split("### Throughput: zero-cost")[1].split("###")[0]
    assert "met" in report.split("### Targets")[1]
    # Every case ran all its trials; every BO run has a regret.
    payload = json.loads(raw.read_text())
    cases = payload["throughput"]
    assert {(c["tool"], c["objective"], c["workers"]) for c in cases} == {
        (tool, objective, k)
        for tool in ("hyperdial", "optuna")
        for objective in ("sleep", "zero")
        for k in (1, 2)
    }
    for c in cases:
        assert c["error"] is None, c
        assert c["completed"] == c["n_trials"] and c["rate"] > 0, c
    bo = payload["bo"]
    assert bo and {r["workers"] for r in bo} == {1, 4}
    for r in bo:
        assert r["error"] is None and r["regret"] is not None, r
        assert len(r["values"]) == r["n_trials"]
    # The simulated workers: every model-based suggestion of a 4-worker run is made with
    # three trials running (Branin's design is 5 trials of the 10, Hartmann-6's all of them).
    modelled = {(r["problem"], r["workers"]): r["running"] for r in bo if r["running"] is not None}
    assert modelled == {("branin", 1): 0.0, ("branin", 4): 3.0}
