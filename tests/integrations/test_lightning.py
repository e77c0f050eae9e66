from __future__ import annotations

import importlib
import logging
import sys

import pytest

import hyperdial
from hyperdial import FixedTrial, TrialPruned, TrialState
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.samplers import RandomSampler
from hyperdial.schedulers import MedianPruner

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")

from hyperdial.integrations.lightning import PruningCallback  # noqa: E402 - after the skips

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*does not have many workers:UserWarning",
    "ignore:.*has `shuffle=True`:UserWarning",
    "ignore:.*number of training batches.*:UserWarning",
    "ignore:.*isinstance\\(treespec, LeafSpec\\)` is deprecated",  # Lightning's own code
)


@pytest.fixture(autouse=True)
def _quiet_lightning():
    # Lightning reports the accelerators it found on every Trainer; the tests need none of it
    logger = logging.getLogger("lightning.pytorch")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


class Regression(pl.LightningModule):
    """A linear model of random data, logging ``train_loss``, ``val_loss`` and ``val_mae``."""

    def __init__(self, lr):
        super().__init__()
        self.lr = lr
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch, batch_idx):
        X, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(X).squeeze(-1), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, batch_idx):
        X, y = batch
        pred = self.layer(X).squeeze(-1)
        self.log("val_loss", torch.nn.functional.mse_loss(pred, y))
        self.log("val_mae", (pred - y).abs().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr)


def make_loaders(n=200):
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=generator)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(n, generator=generator)
    cut = n * 3 // 4
    train = torch.utils.data.TensorDataset(X[:cut], y[:cut])
    val = torch.utils.data.TensorDataset(X[cut:], y[cut:])
    return (
        torch.utils.data.DataLoader(train, batch_size=50),
        torch.utils.data.DataLoader(val, batch_size=50),
    )


def fit(trial, lr, max_epochs=4, **options):
    torch.manual_seed(0)
    model = Regression(lr)
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        callbacks=[PruningCallback(trial, **options)],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        accelerator="cpu",
        num_sanity_val_steps=1,
    )
    trainer.fit(model, *make_loaders())
    return trainer


def test_a_bad_trial_is_pruned_and_a_good_one_completes():
    study = hyperdial.create_study(
        sampler=RandomSampler(), scheduler=MedianPruner(n_startup_trials=1), seed=0
    )
    for lr in (0.1, 1e-6, 0.1):
        study.enqueue({"lr": lr})

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
        trainer = fit(trial, lr)
        return trainer.callback_metrics["val_loss"].item()

    study.optimize(objective, n_trials=3)
    good, bad, again = study.trials
    assert [good.state, bad.state, again.state] == [
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.COMPLETE,
    ]
    assert sorted(good.intermediate) == [1, 2, 3, 4]  # each epoch; not the sanity check
    assert sorted(bad.intermediate) == [1] and "median" in bad.error
    assert good.value == pytest.approx(good.intermediate[4])
    assert good.user_attrs["validation_loss"] == pytest.approx(good.value)
    assert good.user_attrs["train_loss"] > 0
    assert "validation_loss" not in bad.user_attrs


def test_the_callback_reports_each_epoch_and_records_the_chosen_metrics():
    trial = FixedTrial({})
    record = {"validation_score": "val_mae", "train_loss": "train_loss", "missing": "nope"}
    trainer = fit(trial, 0.05, max_epochs=3, monitor="val_mae", record=record)
    assert sorted(trial.intermediate) == [1, 2, 3]
    mae = trainer.callback_metrics["val_mae"].item()
    assert trial.intermediate[3] == pytest.approx(mae)
    assert trial.user_attrs == {
        "validation_score": pytest.approx(mae),
        "train_loss": pytest.approx(trainer.callback_metrics["train_loss"].item()),
    }


def test_a_pruning_decision_stops_fit_with_trial_pruned():
    class Stopping(FixedTrial):
        def should_prune(self):
            return len(self.intermediate) >= 2

    trial = Stopping({})
    with pytest.raises(TrialPruned, match="pruned at epoch 2: val_loss = "):
        fit(trial, 0.05, max_epochs=5)
    assert sorted(trial.intermediate) == [1, 2]
    assert trial.user_attrs == {}  # training did not end normally


def test_an_unlogged_monitor_is_named_with_what_was_logged():
    with pytest.raises(InvalidValueError, match=r"got 'val_acc', logged: \[.*'val_loss'"):
        fit(FixedTrial({}), 0.05, max_epochs=1, monitor="val_acc")


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param({"monitor": ""}, "monitor must be the name of a logged metric", id="mon"),
        pytest.param({"record": {"a": 1}}, "record must map attribute names", id="record"),
    ],
)
def test_the_callback_checks_its_arguments(options, message):
    with pytest.raises(InvalidValueError, match=f"^PruningCallback: {message}"):
        PruningCallback(FixedTrial({}), **options)


def test_a_missing_lightning_names_the_extra(monkeypatch):
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        monkeypatch.setitem(sys.modules, name, None)  # what an absent package looks like
    monkeypatch.delitem(sys.modules, "hyperdial.integrations.lightning")
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperdial\[lightning\]'"):
        importlib.import_module("hyperdial.integrations.lightning")
