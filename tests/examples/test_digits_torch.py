from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import hyperdial

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "digits_torch.py"


def _module():
    spec = importlib.util.spec_from_file_location("digits_torch_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_tunes_the_preset_network_and_stores_the_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'digits.db'}"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--trials", "6", "--epochs", "4", "--storage", url],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "Best configuration (trial" in result.stdout
    trials = hyperdial.load_study("digits-mlp", storage=url).trials
    assert len(trials) == 6
    for t in trials:
        assert t.params["lr_schedule"] in ("constant", "step", "cosine", "one-cycle")
        widths = [t.params[f"units_{i}"] for i in range(1, t.params["n_layers"] + 1)]
        assert widths == sorted(widths, reverse=True)  # narrowing toward the output
        if t.state is hyperdial.TrialState.COMPLETE:
            assert 0.0 < t.user_attrs["val_accuracy"] <= 1.0
            assert sorted(t.intermediate) == [1, 2, 3, 4]


def test_every_learning_rate_schedule_is_a_real_option():
    example = _module()
    curves = {}
    for name in ("constant", "step", "cosine", "one-cycle"):
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        schedule = example.lr_scheduler(name, optimizer, 0.1, epochs=3, steps_per_epoch=10)
        rates = []
        for _ in range(30):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        curves[name] = rates
    assert curves["constant"] == [0.1] * 30
    assert curves["step"][0] == 0.1 and curves["step"][-1] == pytest.approx(0.001)
    assert all(a >= b for a, b in zip(curves["cosine"], curves["cosine"][1:]))
    peak = max(curves["one-cycle"])
    assert curves["one-cycle"][0] < peak and curves["one-cycle"][-1] < peak
    assert peak == pytest.approx(0.1)


def test_dropout_is_set_per_layer_and_acts_in_training():
    example = _module()
    params = {"n_layers": 2, "units_1": 16, "units_2": 8, "dropout_1": 0.0, "dropout_2": 0.5}
    model = example.build_mlp(params, 4, 3)
    dropouts = [m.p for m in model if isinstance(m, torch.nn.Dropout)]
    assert dropouts == [0.0, 0.5]
    x = torch.ones(64, 4)
    model.train()
    assert not torch.equal(model(x), model(x))  # dropout 0.5 makes training passes differ
