"""Train and tune PyTorch networks: the ``presets.neural_net`` MLP, and pruning for own loops.

* :func:`build_mlp` builds the network a :func:`~hyperdial.presets.neural_net` configuration
  describes.
* :class:`MLPTrainer` trains it with every option of that space (batch size, learning rate,
  L1 and L2 penalties, schedule), with early stopping, and, given a trial, reports each
  epoch's validation loss, stops when the study prunes, honours ``trial.budget`` and resumes
  from a parent's checkpoint.
* :func:`report_and_prune` is the two lines a hand-written training loop needs.

Needs PyTorch: ``pip install 'hyperdial[torch]'``.

Example:
    >>> import hyperdial, numpy as np
    >>> from hyperdial.integrations.torch import MLPTrainer
    >>> from hyperdial.presets import neural_net
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 4)).astype("float32")
    >>> y = (X[:, 0] > 0).astype("int64")
    >>> def objective(trial):
    ...     config = trial.suggest_space(neural_net(max_layers=2, min_layers=1))
    ...     trainer = MLPTrainer(config, max_epochs=3, seed=trial.number)
    ...     return trainer.fit(X[:70], y[:70], X[70:], y[70:], trial=trial).val_loss
    >>> study = hyperdial.create_study(seed=0)
    >>> study.optimize(objective, n_trials=2)
    >>> sorted(study.trials[0].intermediate)
    [1, 2, 3]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError, TrialPruned
from hyperdial.integrations._torch_loop import (
    Data,
    Progress,
    epochs_for_budget,
    evaluate,
    fast_forward,
    make_loader,
    make_optimizer,
    make_schedule,
    prepare_data,
    scoped,
    train_epoch,
)
from hyperdial.integrations._torch_mlp import (
    build_mlp,
    check_activation,
    parse_layers,
    parse_training,
)
from hyperdial.trial import FixedTrial, Trial

if TYPE_CHECKING:  # imported at run time by the private modules, which name the extra
    import torch

__all__ = [
    "EarlyStopping",
    "EpochRecord",
    "MLPTrainer",
    "TrainingResult",
    "build_mlp",
    "report_and_prune",
]

_OWNER = "MLPTrainer"
_FIT_SOURCE = "MLPTrainer.fit"
_TASKS = ("classification", "regression")
_OPTIMIZERS = ("adam", "sgd")


def report_and_prune(trial: Trial | FixedTrial, value: float, step: int) -> None:
    """Report ``value`` at ``step`` and raise :class:`~hyperdial.TrialPruned` if told to stop.

    The two lines every hand-written training loop repeats after its validation pass.

    Args:
        trial: The trial the objective received.
        value: The value the study optimises, measured now (e.g. the validation loss).
        step: The resource used so far (e.g. the epoch, counted from 1).

    Raises:
        TrialPruned: the study's scheduler wants the trial stopped.

    Example:
        >>> from hyperdial import FixedTrial
        >>> trial = FixedTrial({})
        >>> for epoch in range(1, 4):
        ...     report_and_prune(trial, 1.0 / epoch, epoch)
        >>> trial.intermediate[3]
        0.3333333333333333
    """
    trial.report(value, step)
    if trial.should_prune():
        raise TrialPruned(f"pruned at step {step}")


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    An epoch improves when its validation loss is below the best so far by more than
    ``min_delta``. A non-finite validation loss always stops training.

    Args:
        patience: Epochs without improvement before stopping (>= 1).
        min_delta: The smallest decrease that counts as an improvement (>= 0).
        restore_best: Return the weights of the best epoch rather than the last.

    Example:
        >>> EarlyStopping(patience=3).min_delta
        0.0
    """

    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self) -> None:
        p = self.patience
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < 1:
            raise InvalidValueError(f"EarlyStopping: patience must be an int >= 1; got {p!r}.")
        d = self.min_delta
        if isinstance(d, bool) or not isinstance(d, numbers.Real) or not 0 <= d < math.inf:
            raise InvalidValueError(
                f"EarlyStopping: min_delta must be a finite number >= 0; got {d!r}."
            )
        if not isinstance(self.restore_best, bool):
            raise InvalidValueError(
                f"EarlyStopping: restore_best must be a bool; got {self.restore_best!r}."
            )


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch of :class:`MLPTrainer` did.

    Attributes:
        epoch: The epoch, counted from 1 (across a resumed lineage).
        train_loss: Mean loss of the epoch's batches, without the penalties, measured while
            training (dropout on, weights moving).
        val_loss: Validation loss after the epoch, in evaluation mode.
        val_score: Validation accuracy (classification) or R^2 (regression) after the epoch.
        lr: The learning rate at the start of the epoch.
    """

    epoch: int
    train_loss: float
    val_loss: float
    val_score: float
    lr: float


@dataclass(frozen=True)
class TrainingResult:
    """What :meth:`MLPTrainer.fit` returns.

    Attributes:
        model: The trained network, in evaluation mode, holding the weights of
            ``model_epoch``.
        history: One record per epoch, from epoch 1 (a resumed run includes its ancestors').
        best_epoch: The epoch of the lowest validation loss (improving by more than
            ``min_delta``); 0 if none was finite.
        model_epoch: The epoch whose weights ``model`` holds: ``best_epoch`` when early
            stopping restores the best weights, else the last epoch.
        stopped_early: Early stopping, or a non-finite validation loss, ended the run.
        n_steps: Optimizer steps taken (batches), across the lineage.
        train_loss: Loss of ``model`` on the whole training set in evaluation mode, comparable
            with ``val_loss`` (the gap between them measures overfitting).
        train_score: Accuracy (classification) or R^2 (regression) on the training set.
        val_loss: Loss of ``model`` on the validation set: the value to minimise.
        val_score: Accuracy or R^2 on the validation set.
    """

    model: torch.nn.Module
    history: tuple[EpochRecord, ...]
    best_epoch: int
    model_epoch: int
    stopped_early: bool
    n_steps: int
    train_loss: float
    train_score: float
    val_loss: float
    val_score: float


class MLPTrainer:
    """Train the :func:`build_mlp` network of a ``presets.neural_net`` configuration.

    Every option of the space acts: ``batch_size``; ``learning_rate`` for Adam (or SGD with
    momentum 0.9); ``l1`` and ``l2`` penalties; ``lr_schedule`` (``"constant"``; ``"step"``,
    divided by 10 after a third and two thirds of ``max_epochs``; ``"cosine"``, annealed to 0
    over ``max_epochs``; both stepped per epoch; ``"one-cycle"``, stepped per batch);
    ``n_layers``, ``units_k`` and ``dropout_k`` through :func:`build_mlp`.

    The penalties are added to each batch's loss, on the weight matrices (not the biases):
    ``l1 * sum|w| + l2 * sum(w^2)``. L2 is a penalty rather than the optimizer's
    ``weight_decay`` so that ``l1`` and ``l2`` are two terms of one objective whose meaning
    does not change with the optimizer: Adam's ``weight_decay`` is this L2 term rescaled
    per weight by the adaptive step, and AdamW's decoupled decay is a different regulariser
    (Loshchilov & Hutter, 2019, arXiv:1711.05101).

    With ``trial=`` :meth:`fit` reports the validation loss after every epoch (step = epoch,
    from 1) and raises :class:`~hyperdial.TrialPruned` when the study prunes; trains up to
    ``trial.budget`` epochs when the trial has one (the schedule still spans
    ``max_epochs``, so a lineage trained 3 + 6 epochs follows the schedule of one 9-epoch
    run); resumes from ``trial.load_checkpoint()`` (a parent's, or its own on a retry) and
    saves its own checkpoint at the end when it has a budget (only such trials are
    continued); and records the user attributes ``train_loss``, ``validation_loss``,
    ``train_score``, ``validation_score`` (of the returned weights, see
    :class:`TrainingResult`) and ``best_epoch``.

    With a ``seed`` the weights, dropout masks and batch order are reproducible; torch's
    global generator is seeded inside :meth:`fit` only and restored after it, as is the
    thread count when ``n_threads`` is given. The network trains on the device of
    ``X_train``.

    Args:
        config: A configuration of ``presets.neural_net``: ``learning_rate``, ``batch_size``,
            ``n_layers`` and ``units_1 .. units_{n_layers}`` are required; missing
            ``dropout_k``, ``l1`` and ``l2`` mean 0 and a missing ``lr_schedule`` means
            ``"constant"``. Other keys are ignored.
        task: ``"classification"`` (cross-entropy; labels 0, 1, ...; score: accuracy) or
            ``"regression"`` (mean squared error; score: R^2).
        max_epochs: Epochs of a full run, and the length of the schedule.
        optimizer: ``"adam"`` or ``"sgd"``.
        activation: The hidden layers' activation (see :func:`build_mlp`).
        early_stopping: Stop on a stalled validation loss; ``None`` trains every epoch.
        seed: Seed of the weights, the dropout and the batch order.
        n_threads: Threads torch uses while training (``None``: unchanged).

    Raises:
        InvalidValueError: an option or a configuration value is invalid.
        TypeError: ``config`` is not a mapping.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(120, 4)).astype("float32")
        >>> y = (X[:, 0] > 0).astype("int64")
        >>> config = {"learning_rate": 0.01, "batch_size": 32, "n_layers": 1, "units_1": 16}
        >>> result = MLPTrainer(config, max_epochs=5, seed=0).fit(X[:80], y[:80], X[80:], y[80:])
        >>> len(result.history), result.val_score > 0.7
        (5, True)
    """

    def __init__(
        self,
        config: Mapping[str, object],
        *,
        task: str = "classification",
        max_epochs: int = 20,
        optimizer: str = "adam",
        activation: str = "relu",
        early_stopping: EarlyStopping | None = None,
        seed: int | None = None,
        n_threads: int | None = None,
    ) -> None:
        parse_layers(_OWNER, config)
        self._training = parse_training(_OWNER, config)
        self.config = dict(config)
        for name, value, choices in (
            ("task", task, _TASKS),
            ("optimizer", optimizer, _OPTIMIZERS),
        ):
            if value not in choices:
                raise InvalidValueError(
                    f"{_OWNER}: {name} must be one of {list(choices)!r}; got {value!r}."
                )
        self.task, self.optimizer = task, optimizer
        self.activation = check_activation(_OWNER, activation)
        self.max_epochs = _check_int("max_epochs", max_epochs, 1)
        if early_stopping is not None and not isinstance(early_stopping, EarlyStopping):
            raise InvalidValueError(
                f"{_OWNER}: early_stopping must be an EarlyStopping or None; "
                f"got {early_stopping!r}."
            )
        self.early_stopping = early_stopping
        self.seed = None if seed is None else _check_int("seed", seed, 0)
        self.n_threads = None if n_threads is None else _check_int("n_threads", n_threads, 1)

    def __repr__(self) -> str:
        return f"MLPTrainer({self.config!r}, task={self.task!r}, max_epochs={self.max_epochs})"

    def fit(
        self,
        X_train: object,
        y_train: object,
        X_val: object,
        y_val: object,
        *,
        trial: Trial | FixedTrial | None = None,
    ) -> TrainingResult:
        """Train a new network on the training set, validating after every epoch.

        Args:
            X_train: Training inputs, samples x features (a tensor or an array).
            y_train: Training targets: class labels, or values (1-D or 2-D).
            X_val: Validation inputs.
            y_val: Validation targets.
            trial: The trial to report to, prune by, and continue (see the class).

        Returns:
            The network, its history and its final losses and scores.

        Raises:
            TrialPruned: the study pruned the trial.
            InvalidValueError: the data's shapes or labels are wrong, ``trial.budget``
                exceeds ``max_epochs``, or the trial's checkpoint cannot be continued.
        """
        data = prepare_data(_OWNER, self.task, (X_train, y_train, X_val, y_val))
        if trial is not None:
            tensors = (data.X_train, data.y_train, data.X_val, data.y_val)
            trial.record_data(*(t.detach().cpu().numpy() for t in tensors), source=_FIT_SOURCE)
        budget = None if trial is None else trial.budget
        n_epochs = epochs_for_budget(_OWNER, budget, self.max_epochs)
        with scoped(self.seed, self.n_threads) as generator:
            return self._fit(data, n_epochs, trial, generator)

    def _fit(
        self,
        data: Data,
        n_epochs: int,
        trial: Trial | FixedTrial | None,
        generator: torch.Generator | None,
    ) -> TrainingResult:
        config = self._training
        model = build_mlp(self.config, data.n_inputs, data.n_outputs, activation=self.activation)
        model = model.to(data.X_train.device)
        optimizer = make_optimizer(self.optimizer, model, config.learning_rate)
        loader = make_loader(data, config.batch_size, generator)
        steps_per_epoch = len(loader)
        schedule = make_schedule(config, optimizer, self.max_epochs, steps_per_epoch)
        per_batch = config.lr_schedule == "one-cycle"
        checkpoint = None if trial is None else trial.load_checkpoint()
        if checkpoint is None:
            progress = Progress()
        else:
            progress = Progress.resume(
                _OWNER, checkpoint, model, optimizer, self.optimizer, generator
            )
            fast_forward(schedule, progress.epoch * (steps_per_epoch if per_batch else 1))
        while progress.epoch < n_epochs and not progress.stopped:
            lr = float(optimizer.param_groups[0]["lr"])
            train_loss = train_epoch(
                self.task, model, loader, optimizer, schedule if per_batch else None, config
            )
            if schedule is not None and not per_batch:
                schedule.step()
            val_loss, val_score = evaluate(model, self.task, data.X_val, data.y_val)
            progress.add_epoch(model, train_loss, val_loss, val_score, lr, self.early_stopping)
            progress.n_steps += steps_per_epoch
            if trial is not None:
                report_and_prune(trial, val_loss, progress.epoch)
        if trial is not None and trial.budget is not None:
            trial.save_checkpoint(
                progress.to_checkpoint(model, optimizer, self.optimizer, generator)
            )
        return self._result(model, data, progress, trial)

    def _result(
        self,
        model: torch.nn.Module,
        data: Data,
        progress: Progress,
        trial: Trial | FixedTrial | None,
    ) -> TrainingResult:
        model_epoch = progress.epoch
        stopping = self.early_stopping
        if stopping is not None and stopping.restore_best and progress.best_state is not None:
            model.load_state_dict(progress.best_state)
            model_epoch = progress.best_epoch
        train_loss, train_score = evaluate(model, self.task, data.X_train, data.y_train)
        val_loss, val_score = evaluate(model, self.task, data.X_val, data.y_val)
        if trial is not None:
            names = ("train_loss", "validation_loss", "train_score", "validation_score")
            values = (train_loss, val_loss, train_score, val_score)
            for key, value in zip(names, values):  # JSON has no NaN: a diverged run stores null
                trial.set_user_attr(key, value if math.isfinite(value) else None)
            trial.set_user_attr("best_epoch", progress.best_epoch)
        return TrainingResult(
            model=model,
            history=tuple(EpochRecord(**r) for r in progress.history),  # type: ignore[arg-type]
            best_epoch=progress.best_epoch,
            model_epoch=model_epoch,
            stopped_early=progress.stopped,
            n_steps=progress.n_steps,
            train_loss=train_loss,
            train_score=train_score,
            val_loss=val_loss,
            val_score=val_score,
        )


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidValueError(f"{_OWNER}: {name} must be an int >= {low}; got {value!r}.")
    return int(value)
