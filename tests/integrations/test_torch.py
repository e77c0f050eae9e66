from __future__ import annotations

import importlib
import math
import sys

import numpy as np
import pytest

import hyperdial
from hyperdial import FixedTrial, TrialPruned, TrialState
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.presets import neural_net
from hyperdial.samplers import RandomSampler
from hyperdial.schedulers import ASHA, MedianPruner

torch = pytest.importorskip("torch")

from hyperdial.integrations.torch import (  # noqa: E402 - after the skip when torch is missing
    EarlyStopping,
    MLPTrainer,
    build_mlp,
    report_and_prune,
)

BASE = {"learning_rate": 0.01, "batch_size": 32, "n_layers": 2, "units_1": 32, "units_2": 16}


def make_data(n=200, seed=0, task="classification", noise=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype("float32")
    if task == "regression":
        y = (X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=n)).astype("float32")
    elif noise:  # labels unrelated to the inputs: the network can only overfit
        y = rng.integers(0, 2, size=n)
    else:
        y = ((X[:, 0] + X[:, 1] * X[:, 2]) > 0).astype("int64")
    cut = n * 3 // 4
    return X[:cut], y[:cut], X[cut:], y[cut:]


def make_trainer(max_epochs=5, seed=0, **config):
    options = {k: config.pop(k) for k in ("task", "early_stopping", "optimizer") if k in config}
    return MLPTrainer({**BASE, **config}, max_epochs=max_epochs, seed=seed, **options)


def weights_of(model):
    return torch.cat([p.detach().flatten() for n, p in model.named_parameters() if "weight" in n])


# ---------------------------------------------------------------- the network


def test_build_mlp_has_the_requested_layers_widths_and_dropout():
    config = {"n_layers": 3, "units_1": 64, "units_2": 32, "units_3": 16}
    config |= {"dropout_1": 0.2, "dropout_2": 0.3, "dropout_3": 0.5, "units_4": 99}
    model = build_mlp(config, n_inputs=10, n_outputs=4, activation="tanh")
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (10, 64),
        (64, 32),
        (32, 16),
        (16, 4),
    ]
    assert [m.p for m in model if isinstance(m, torch.nn.Dropout)] == [0.2, 0.3, 0.5]
    assert sum(isinstance(m, torch.nn.Tanh) for m in model) == 3
    assert model(torch.zeros(5, 10)).shape == (5, 4)


def test_build_mlp_takes_every_preset_configuration():
    space = neural_net(max_layers=4, min_layers=1)
    study = hyperdial.create_study(sampler=RandomSampler(), seed=3)
    for _ in range(5):
        params = study.ask().suggest_space(space)
        model = build_mlp(params, 8, 3)
        widths = [m.out_features for m in model if isinstance(m, torch.nn.Linear)][:-1]
        assert widths == [params[f"units_{k}"] for k in range(1, params["n_layers"] + 1)]
        rates = [m.p for m in model if isinstance(m, torch.nn.Dropout)]
        assert rates == [params[f"dropout_{k}"] for k in range(1, params["n_layers"] + 1)]


@pytest.mark.parametrize(
    "config, message",
    [
        pytest.param({"units_1": 8}, "config must have 'n_layers'", id="no-n_layers"),
        pytest.param({"n_layers": 2, "units_1": 8}, "'units_2' (n_layers is 2)", id="no-units"),
        pytest.param({"n_layers": 1, "units_1": 0}, "'units_1'] must be an int >= 1", id="units"),
        pytest.param({"n_layers": 1, "units_1": 8, "dropout_1": 1.0}, "in [0, 1)", id="drop"),
        pytest.param({"n_layers": True, "units_1": 8}, "'n_layers'] must be an int", id="bool"),
    ],
)
def test_build_mlp_names_the_bad_key(config, message):
    with pytest.raises(InvalidValueError, match="^build_mlp: ") as info:
        build_mlp(config, 4, 2)
    assert message in str(info.value)


def test_build_mlp_checks_sizes_activation_and_type():
    with pytest.raises(InvalidValueError, match="n_outputs must be an int >= 1; got 0"):
        build_mlp({"n_layers": 0}, 4, 0)
    with pytest.raises(InvalidValueError, match="activation must be one of"):
        build_mlp({"n_layers": 0}, 4, 2, activation="swish")
    with pytest.raises(TypeError, match="config must be a mapping; got list"):
        build_mlp([("n_layers", 1)], 4, 2)


# ---------------------------------------------------------------- options act


def test_the_preset_defaults_train_and_give_a_full_result():
    params = FixedTrial({}).suggest_space(neural_net())
    result = MLPTrainer(params, max_epochs=2, seed=0).fit(*make_data())
    assert [r.epoch for r in result.history] == [1, 2]
    assert result.model_epoch == 2 and not result.stopped_early
    assert 0.0 <= result.val_score <= 1.0 and 0.0 <= result.train_score <= 1.0
    assert result.val_loss == pytest.approx(result.history[-1].val_loss)
    assert not result.model.training


def test_dropout_changes_training_and_raises_the_train_loss():
    data = make_data()
    runs = {
        rate: make_trainer(8, dropout_1=rate, dropout_2=rate).fit(*data) for rate in (0.0, 0.5)
    }
    curves = {rate: [r.train_loss for r in runs[rate].history] for rate in runs}
    assert curves[0.0] != curves[0.5]
    assert np.mean(curves[0.5]) > np.mean(curves[0.0])
    assert curves[0.5][-1] > curves[0.0][-1]


def test_a_strong_l1_penalty_drives_weights_to_zero():
    data = make_data()
    near_zero = {}
    for l1 in (0.0, 0.01):
        w = weights_of(make_trainer(10, l1=l1).fit(*data).model)
        near_zero[l1] = float((w.abs() < 1e-2).float().mean())
    assert near_zero[0.0] < 0.1
    assert near_zero[0.01] > 0.7


def test_l2_shrinks_the_weight_norm():
    data = make_data()
    norms = [
        float(weights_of(make_trainer(10, l2=l2).fit(*data).model).norm()) for l2 in (0, 1e-2)
    ]
    assert norms[1] < 0.75 * norms[0]


def test_each_schedule_moves_the_learning_rate_as_it_should():
    data = make_data(n=64)
    rates = {
        name: [r.lr for r in make_trainer(9, lr_schedule=name, batch_size=16).fit(*data).history]
        for name in ("constant", "step", "cosine", "one-cycle")
    }
    assert rates["constant"] == [0.01] * 9
    assert rates["step"] == pytest.approx([0.01] * 3 + [0.001] * 3 + [0.0001] * 3)
    cosine = rates["cosine"]
    assert cosine[0] == 0.01 and all(a > b for a, b in zip(cosine, cosine[1:]))
    cycle = rates["one-cycle"]
    peak = int(np.argmax(cycle))
    assert 0 < peak < 8
    assert all(a < b for a, b in zip(cycle[: peak + 1], cycle[1 : peak + 1]))
    assert all(a > b for a, b in zip(cycle[peak:], cycle[peak + 1 :]))
    assert max(cycle) <= 0.01 and cycle[0] < 0.001


def test_batch_size_sets_the_number_of_optimizer_steps():
    data = make_data()  # 150 training rows
    steps = {bs: make_trainer(3, batch_size=bs).fit(*data).n_steps for bs in (16, 64, 150)}
    assert steps == {16: 3 * 10, 64: 3 * 3, 150: 3}


def test_sgd_trains_too():
    result = make_trainer(6, optimizer="sgd").fit(*make_data())
    assert result.history[-1].train_loss < result.history[0].train_loss


def test_early_stopping_stops_and_restores_the_best_weights():
    data = make_data(noise=True)
    stopping = EarlyStopping(patience=2, min_delta=0.0)
    result = make_trainer(40, learning_rate=0.03, early_stopping=stopping).fit(*data)
    val = [r.val_loss for r in result.history]
    assert result.stopped_early and len(val) < 40
    assert result.best_epoch == int(np.argmin(val)) + 1 == result.model_epoch
    assert len(val) == result.best_epoch + 2  # patience epochs after the best
    assert result.val_loss == pytest.approx(min(val), rel=1e-6)

    last = EarlyStopping(patience=2, restore_best=False)
    kept = make_trainer(40, learning_rate=0.03, early_stopping=last).fit(*data)
    assert kept.model_epoch == len(kept.history) > kept.best_epoch
    assert kept.val_loss == pytest.approx(kept.history[-1].val_loss, rel=1e-6)


def test_a_min_delta_ignores_small_improvements():
    data = make_data()
    small = make_trainer(30, early_stopping=EarlyStopping(patience=2, min_delta=0.0)).fit(*data)
    large = make_trainer(30, early_stopping=EarlyStopping(patience=2, min_delta=0.5)).fit(*data)
    assert len(large.history) == 3 < len(small.history)  # epoch 1, then 2 without a 0.5 gain


def test_the_same_seed_gives_the_same_run_and_leaves_torch_as_it_was():
    data = make_data()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    threads = torch.get_num_threads()
    first = make_trainer(4, seed=7, dropout_1=0.3).fit(*data)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is untouched
    second = make_trainer(4, seed=7, dropout_1=0.3).fit(*data)
    other = make_trainer(4, seed=8, dropout_1=0.3).fit(*data)
    assert first.history == second.history
    assert torch.equal(weights_of(first.model), weights_of(second.model))
    assert first.history != other.history
    MLPTrainer(BASE, max_epochs=1, n_threads=threads + 1).fit(*data)
    assert torch.get_num_threads() == threads


def test_regression_minimises_the_squared_error_and_scores_r2():
    X, y, Xv, yv = make_data(task="regression")
    result = make_trainer(15, task="regression").fit(X, y, Xv, yv)
    assert result.history[-1].val_loss < 0.5 * result.history[0].val_loss
    assert 0.5 < result.val_score <= 1.0
    two = make_trainer(2, task="regression").fit(X, np.c_[y, -y], Xv, np.c_[yv, -yv])
    assert two.model[-1].out_features == 2


def test_tensors_are_accepted_as_well_as_arrays():
    arrays = make_data()
    tensors = [torch.as_tensor(a) for a in arrays]
    assert make_trainer(2).fit(*arrays).history == make_trainer(2).fit(*tensors).history


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param({"task": "ranking"}, "task must be one of", id="task"),
        pytest.param({"optimizer": "rmsprop"}, "optimizer must be one of", id="optimizer"),
        pytest.param({"max_epochs": 0}, "max_epochs must be an int >= 1; got 0", id="epochs"),
        pytest.param({"seed": -1}, "seed must be an int >= 0; got -1", id="seed"),
        pytest.param({"n_threads": 0}, "n_threads must be an int >= 1", id="threads"),
        pytest.param({"early_stopping": 3}, "early_stopping must be an EarlyStopping", id="es"),
        pytest.param({"activation": "swish"}, "activation must be one of", id="activation"),
    ],
)
def test_the_trainer_checks_its_options(options, message):
    with pytest.raises(InvalidValueError, match="^MLPTrainer: ") as info:
        MLPTrainer(BASE, **options)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "change, message",
    [
        pytest.param({"learning_rate": 0.0}, "'learning_rate'] must be a number > 0", id="lr"),
        pytest.param({"batch_size": 0}, "'batch_size'] must be an int >= 1", id="batch"),
        pytest.param({"l1": -1.0}, "'l1'] must be a number >= 0; got -1.0", id="l1"),
        pytest.param({"l2": math.inf}, "'l2'] must be a number >= 0", id="l2"),
        pytest.param({"lr_schedule": "linear"}, "'lr_schedule'] must be one of", id="schedule"),
    ],
)
def test_the_trainer_checks_the_configuration(change, message):
    with pytest.raises(InvalidValueError, match="^MLPTrainer: ") as info:
        MLPTrainer({**BASE, **change})
    assert message in str(info.value)


def test_early_stopping_checks_its_arguments():
    with pytest.raises(InvalidValueError, match="patience must be an int >= 1; got 0"):
        EarlyStopping(patience=0)
    with pytest.raises(InvalidValueError, match="min_delta must be a finite number >= 0"):
        EarlyStopping(min_delta=-0.1)


def test_bad_data_is_named():
    X, y, Xv, yv = make_data()
    trainer = make_trainer(1)
    with pytest.raises(InvalidValueError, match="y_train must have one row per row of X_train"):
        trainer.fit(X, y[:-1], Xv, yv)
    with pytest.raises(InvalidValueError, match="y_val must be a 1-D array of class labels"):
        trainer.fit(X, y, Xv, yv + 0.5)
    with pytest.raises(InvalidValueError, match="X_val must have the 6 columns of X_train"):
        trainer.fit(X, y, Xv[:, :3], yv)


# ---------------------------------------------------------------- with a trial


def test_a_trial_gets_every_epoch_and_the_train_validation_attributes():
    data = make_data()
    study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
    results = {}

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)
        results[trial.number] = make_trainer(4, learning_rate=lr).fit(*data, trial=trial)
        return results[trial.number].val_loss

    study.optimize(objective, n_trials=2)
    for t in study.trials:
        result = results[t.number]
        assert t.intermediate == {r.epoch: pytest.approx(r.val_loss) for r in result.history}
        assert t.user_attrs["train_loss"] == pytest.approx(result.train_loss)
        assert t.user_attrs["validation_loss"] == pytest.approx(result.val_loss)
        assert t.user_attrs["train_score"] == pytest.approx(result.train_score)
        assert t.user_attrs["validation_score"] == pytest.approx(result.val_score)
        assert t.user_attrs["best_epoch"] == result.best_epoch
    fingerprint = study.user_attrs["data_fingerprint"]  # for the reproducibility record
    assert fingerprint["source"] == "MLPTrainer.fit"
    assert fingerprint["shapes"] == [list(np.shape(a)) for a in data]
    assert study.artifacts is not None and not any(
        study.artifacts.exists(f"{study.study_name}/{t.number}/checkpoint") for t in study.trials
    )  # no budget, no lineage: nothing worth keeping


def test_a_median_pruner_stops_a_learning_rate_too_small_to_learn():
    data = make_data()
    study = hyperdial.create_study(
        sampler=RandomSampler(), scheduler=MedianPruner(n_startup_trials=2), seed=0
    )
    for lr in (1e-2, 1e-2, 1e-5, 1e-2):
        study.enqueue({"learning_rate": lr})

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-5, 1e-1, log=True)
        return make_trainer(5, learning_rate=lr, seed=0).fit(*data, trial=trial).val_loss

    study.optimize(objective, n_trials=4)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED, TrialState.COMPLETE]
    pruned = study.trials[2]
    assert sorted(pruned.intermediate) == [1] and "median" in pruned.error
    assert "train_loss" not in pruned.user_attrs


def test_report_and_prune_raises_when_the_study_says_stop():
    class Stopping(FixedTrial):
        def should_prune(self):
            return True

    trial = Stopping({})
    with pytest.raises(TrialPruned, match="pruned at step 4"):
        report_and_prune(trial, 0.5, 4)
    assert trial.intermediate == {4: 0.5}


def test_a_budget_limits_the_epochs_and_a_child_resumes_exactly():
    data = make_data()
    config = {"dropout_1": 0.3, "lr_schedule": "one-cycle"}
    whole = make_trainer(6, **config).fit(*data, trial=FixedTrial({}, budget=6))

    parent = FixedTrial({}, budget=2)
    first = make_trainer(6, **config).fit(*data, trial=parent)
    assert [r.epoch for r in first.history] == [1, 2]
    child = FixedTrial({}, budget=6, checkpoint=parent.checkpoint)
    resumed = make_trainer(6, **config).fit(*data, trial=child)
    assert sorted(child.intermediate) == [3, 4, 5, 6]  # only the new epochs are reported
    assert resumed.history == whole.history  # same weights, moments, batches, dropout, rates
    assert resumed.n_steps == whole.n_steps
    assert torch.equal(weights_of(resumed.model), weights_of(whole.model))
    assert child.checkpoint["epoch"] == 6


def test_a_perturbed_learning_rate_applies_after_resuming():
    data = make_data()
    parent = FixedTrial({}, budget=2)
    make_trainer(4, learning_rate=0.01).fit(*data, trial=parent)
    child = FixedTrial({}, budget=4, checkpoint=parent.checkpoint)
    result = make_trainer(4, learning_rate=0.002).fit(*data, trial=child)
    assert [r.lr for r in result.history] == [0.01, 0.01, 0.002, 0.002]


def test_a_run_stopped_early_is_not_trained_further_by_its_child():
    data = make_data(noise=True)
    stopping = EarlyStopping(patience=1)
    parent = FixedTrial({}, budget=30)
    first = make_trainer(40, learning_rate=0.05, early_stopping=stopping).fit(*data, trial=parent)
    assert first.stopped_early
    child = FixedTrial({}, budget=40, checkpoint=parent.checkpoint)
    again = make_trainer(40, learning_rate=0.05, early_stopping=stopping).fit(*data, trial=child)
    assert again.history == first.history and child.intermediate == {}
    assert torch.equal(weights_of(again.model), weights_of(first.model))


def test_a_promoted_trial_continues_its_parent_in_a_study():
    data = make_data()
    scheduler = ASHA(min_resource=1, max_resource=3, reduction_factor=3, promote=True)
    study = hyperdial.create_study(sampler=RandomSampler(), scheduler=scheduler, seed=0)
    histories = {}

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-3, 1e-1, log=True)
        result = make_trainer(3, learning_rate=lr).fit(*data, trial=trial)
        histories[trial.number] = result.history
        return result.val_loss

    study.optimize(objective, n_trials=4)
    child = study.trials[3]
    assert child.parent is not None and child.budget == 3
    assert sorted(child.intermediate) == [2, 3]
    assert histories[3][:1] == histories[child.parent]
    assert all(len(histories[n]) == 1 for n in range(3))


def test_a_budget_beyond_max_epochs_or_a_foreign_checkpoint_is_refused():
    data = make_data()
    with pytest.raises(InvalidValueError, match=r"trial.budget must be .* max_epochs=3\]; got 5"):
        make_trainer(3).fit(*data, trial=FixedTrial({}, budget=5))
    with pytest.raises(InvalidValueError, match="checkpoint must come from MLPTrainer; got dict"):
        make_trainer(3).fit(*data, trial=FixedTrial({}, checkpoint={"epoch": 2}))


def test_a_diverging_run_stops_and_stores_null_attributes():
    data = make_data()
    trial = FixedTrial({})
    result = make_trainer(5, learning_rate=1e30, optimizer="sgd").fit(*data, trial=trial)
    assert result.stopped_early and not math.isfinite(result.history[-1].val_loss)
    assert trial.user_attrs["validation_loss"] is None


def test_a_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # what an absent package looks like
    for name in [m for m in sys.modules if m.startswith("hyperdial.integrations.")]:
        if "torch" in name:
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperdial\[torch\]'"):
        importlib.import_module("hyperdial.integrations.torch")
