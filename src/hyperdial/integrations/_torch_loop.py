"""The pieces of ``MLPTrainer.fit``: data, schedules, penalties, evaluation, progress (private)."""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from hyperdial.exceptions import InvalidValueError, missing
from hyperdial.integrations._torch_mlp import TrainingConfig

try:
    import torch
    import torch.nn.functional as F  # noqa: N812 - the name PyTorch's documentation uses
    from torch import nn
except ImportError as exc:  # pragma: no cover - tested with torch hidden from the import system
    raise missing("torch", "hyperdial.integrations.torch", "PyTorch") from exc

_FORMAT = "hyperdial.integrations.torch.MLPTrainer/1"
_EVAL_CHUNK = 8192  # rows per forward pass when evaluating a whole set


@dataclass(frozen=True)
class Data:
    """Training and validation tensors on one device, with the network's sizes."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_val: torch.Tensor
    y_val: torch.Tensor
    n_inputs: int
    n_outputs: int


def _tensor(owner: str, name: str, value: object) -> torch.Tensor:
    try:
        return torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{owner}: {name} must be a tensor or an array; got {type(value).__name__}."
        ) from None


def prepare_data(owner: str, task: str, arrays: Sequence[object]) -> Data:
    """Return ``(X_train, y_train, X_val, y_val)`` as checked tensors on X_train's device."""
    names = ("X_train", "y_train", "X_val", "y_val")
    t = [_tensor(owner, n, a) for n, a in zip(names, arrays)]
    device = t[0].device
    X_train, y_train, X_val, y_val = (x.to(device) for x in t)
    for part, X, y in (("train", X_train, y_train), ("val", X_val, y_val)):
        x_name, y_name = f"X_{part}", f"y_{part}"
        if X.ndim != 2 or len(X) == 0:
            raise InvalidValueError(
                f"{owner}: {x_name} must be a non-empty 2-D array (samples x features); "
                f"got shape {tuple(X.shape)!r}."
            )
        if len(y) != len(X):
            raise InvalidValueError(
                f"{owner}: {y_name} must have one row per row of {x_name} ({len(X)}); "
                f"got {len(y)}."
            )
    if X_val.shape[1] != X_train.shape[1]:
        raise InvalidValueError(
            f"{owner}: X_val must have the {X_train.shape[1]} columns of X_train; "
            f"got {X_val.shape[1]}."
        )
    X_train, X_val = X_train.float(), X_val.float()
    if task == "classification":
        for name, y in (("y_train", y_train), ("y_val", y_val)):
            integral = not y.is_floating_point() or bool(torch.all(y == y.round()))
            if y.ndim != 1 or not integral or bool(torch.any(y < 0)):
                raise InvalidValueError(
                    f"{owner}: {name} must be a 1-D array of class labels 0, 1, ...; "
                    f"got dtype {y.dtype} and shape {tuple(y.shape)!r}."
                )
        y_train, y_val = y_train.long(), y_val.long()
        n_outputs = int(max(int(y_train.max()), int(y_val.max()))) + 1
    else:
        if y_train.ndim not in (1, 2) or y_train.shape[1:] != y_val.shape[1:]:
            raise InvalidValueError(
                f"{owner}: y_train and y_val must both be 1-D, or 2-D with the same columns; "
                f"got shapes {tuple(y_train.shape)!r} and {tuple(y_val.shape)!r}."
            )
        y_train, y_val = y_train.float(), y_val.float()
        n_outputs = 1 if y_train.ndim == 1 else int(y_train.shape[1])
    return Data(X_train, y_train, X_val, y_val, int(X_train.shape[1]), n_outputs)


def make_loader(
    data: Data, batch_size: int, generator: torch.Generator | None
) -> torch.utils.data.DataLoader[Any]:
    """Return shuffled training batches, each fetched with one indexing operation."""
    dataset = torch.utils.data.TensorDataset(data.X_train, data.y_train)
    order = torch.utils.data.RandomSampler(dataset, generator=generator)
    batches = torch.utils.data.BatchSampler(order, batch_size, drop_last=False)
    # batch_size=None: the dataset is indexed by a whole batch of indices at once, rather
    # than row by row and stacked, which costs more than the forward pass of a small MLP.
    return torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None)


def loss(task: str, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Return the mean cross-entropy (classification) or squared error (regression)."""
    if task == "classification":
        return F.cross_entropy(output, y)
    return F.mse_loss(output.squeeze(-1) if y.ndim == 1 else output, y)


def evaluate(model: nn.Module, task: str, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return the loss and the score (accuracy, or R^2) of ``model`` in evaluation mode."""
    model.eval()
    with torch.no_grad():
        output = torch.cat([model(X[i : i + _EVAL_CHUNK]) for i in range(0, len(X), _EVAL_CHUNK)])
        value = float(loss(task, output, y))
        if task == "classification":
            score = float((output.argmax(dim=1) == y).float().mean())
        else:
            pred = output.squeeze(-1) if y.ndim == 1 else output
            total = float(((y - y.mean(dim=0)) ** 2).sum())
            score = 1.0 - float(((y - pred) ** 2).sum()) / total if total > 0 else math.nan
    return value, score


def weight_penalty(weights: Sequence[torch.Tensor], l1: float, l2: float) -> torch.Tensor | float:
    """Return ``l1 * sum|w| + l2 * sum(w^2)`` over the weight matrices (0 if both are 0)."""
    penalty: torch.Tensor | float = 0.0
    for w in weights:
        if l1:
            penalty = penalty + l1 * w.abs().sum()
        if l2:
            penalty = penalty + l2 * w.pow(2).sum()
    return penalty


def train_epoch(
    task: str,
    model: nn.Module,
    loader: torch.utils.data.DataLoader[Any],
    optimizer: torch.optim.Optimizer,
    batch_schedule: torch.optim.lr_scheduler.LRScheduler | None,
    config: TrainingConfig,
) -> float:
    """Take one optimizer step per batch; return the mean loss of the batches (no penalty).

    ``batch_schedule``, if any, is stepped after every batch (one-cycle).
    """
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    model.train()
    total, count = 0.0, 0
    for X, y in loader:
        batch_loss = loss(task, model(X), y)
        optimizer.zero_grad(set_to_none=True)
        (batch_loss + weight_penalty(weights, config.l1, config.l2)).backward()
        optimizer.step()
        if batch_schedule is not None:
            batch_schedule.step()
        total += float(batch_loss.detach()) * len(X)
        count += len(X)
    return total / count


def epochs_for_budget(owner: str, budget: float | None, max_epochs: int) -> int:
    """Return the epochs to train up to: ``budget`` rounded up, or ``max_epochs``."""
    if budget is None:
        return max_epochs
    n_epochs = math.ceil(budget - 1e-9)  # a budget of 2.9999999 means 3 epochs
    if not 1 <= n_epochs <= max_epochs:
        raise InvalidValueError(
            f"{owner}: trial.budget must be a number of epochs in (0, max_epochs={max_epochs}]; "
            f"got {budget!r}. Raise max_epochs to the scheduler's largest budget."
        )
    return n_epochs


def make_optimizer(name: str, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Return Adam, or SGD with momentum 0.9, over every parameter of ``model``."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return torch.optim.Adam(model.parameters(), lr=lr)


def make_schedule(
    config: TrainingConfig,
    optimizer: torch.optim.Optimizer,
    n_epochs: int,
    steps_per_epoch: int,
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Return the learning-rate schedule (None for constant) over ``n_epochs`` epochs.

    ``step`` divides the rate by 10 after a third and two thirds of the epochs; ``cosine``
    anneals it to 0 over the epochs (Loshchilov & Hutter, 2016, arXiv:1608.03983); both are
    stepped once per epoch. ``one-cycle`` warms up to the rate for 30% of the batches and
    anneals it far below for the rest, stepped per batch (Smith, 2018, arXiv:1803.09820).
    """
    schedules = torch.optim.lr_scheduler
    if config.lr_schedule == "step":
        milestones = sorted({max(1, round(n_epochs * k / 3)) for k in (1, 2)})
        return schedules.MultiStepLR(optimizer, milestones=milestones, gamma=0.1)
    if config.lr_schedule == "cosine":
        return schedules.CosineAnnealingLR(optimizer, T_max=n_epochs)
    if config.lr_schedule == "one-cycle":
        total = n_epochs * steps_per_epoch
        return schedules.OneCycleLR(optimizer, max_lr=config.learning_rate, total_steps=total)
    return None


def fast_forward(schedule: torch.optim.lr_scheduler.LRScheduler | None, n_steps: int) -> None:
    """Advance a new schedule by ``n_steps`` steps, to where a resumed run left it."""
    if schedule is None or n_steps <= 0:
        return
    with warnings.catch_warnings():  # no optimizer step is due: we replay the schedule only
        warnings.filterwarnings("ignore", message="Detected call of", category=UserWarning)
        for _ in range(n_steps):
            schedule.step()


@contextlib.contextmanager
def scoped(seed: int | None, n_threads: int | None) -> Iterator[torch.Generator | None]:
    """Seed torch and set its thread count for the block, restoring both after it.

    Yields the generator that shuffles the batches (``None`` without a seed: torch's global
    one).
    """
    previous = torch.get_num_threads()
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    try:
        if seed is None:
            yield None
            return
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield torch.Generator().manual_seed(seed)
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


@dataclass
class Progress:
    """Where a training run is: epochs done, history and early-stopping state.

    ``history`` holds one dict per epoch (the fields of ``EpochRecord``); ``best_state`` the
    weights of ``best_epoch`` when early stopping keeps them.
    """

    epoch: int = 0
    n_steps: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    wait: int = 0
    stopped: bool = False

    def add_epoch(
        self,
        model: nn.Module,
        train_loss: float,
        val_loss: float,
        val_score: float,
        lr: float,
        stopping: Any,
    ) -> None:
        """Record the next epoch and update the early-stopping state.

        ``stopping`` is the trainer's ``EarlyStopping`` or ``None`` (then only the best epoch
        is tracked). A non-finite validation loss stops the run.
        """
        self.epoch += 1
        self.history.append(
            {
                "epoch": self.epoch,
                "train_loss": train_loss,
                "val_loss": val_loss,
                "val_score": val_score,
                "lr": lr,
            }
        )
        min_delta = 0.0 if stopping is None else stopping.min_delta
        if math.isfinite(val_loss) and val_loss < self.best_loss - min_delta:
            self.best_loss, self.best_epoch, self.wait = val_loss, self.epoch, 0
            if stopping is not None and stopping.restore_best:
                self.best_state = _clone(model.state_dict())
        else:
            self.wait += 1
        if not math.isfinite(val_loss) or (
            stopping is not None and self.wait >= stopping.patience
        ):
            self.stopped = True

    def to_checkpoint(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        optimizer_name: str,
        generator: torch.Generator | None,
    ) -> dict[str, Any]:
        """Return everything a later trial needs to continue this run, as one dict."""
        return {
            "format": _FORMAT,
            "epoch": self.epoch,
            "n_steps": self.n_steps,
            "history": [dict(r) for r in self.history],
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
            "wait": self.wait,
            "stopped": self.stopped,
            "model": _clone(model.state_dict()),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "optimizer_name": optimizer_name,
            "rng": torch.get_rng_state() if generator is not None else None,
            "shuffle_rng": generator.get_state() if generator is not None else None,
        }

    @classmethod
    def resume(
        cls,
        owner: str,
        state: object,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        optimizer_name: str,
        generator: torch.Generator | None,
    ) -> Progress:
        """Load a checkpoint of :meth:`to_checkpoint` into ``model`` and ``optimizer``.

        The optimizer keeps its own hyperparameters (a perturbed learning rate applies) and
        takes the moments of the checkpoint when it is of the same kind.
        """
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise InvalidValueError(
                f"{owner}: the trial's checkpoint must come from MLPTrainer; "
                f"got {type(state).__name__}."
            )
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise InvalidValueError(
                f"{owner}: the checkpoint's weights must fit this network (same layers and "
                f"widths as the trial it continues); got {exc}"
            ) from None
        if state["optimizer_name"] == optimizer_name:
            groups = optimizer.state_dict()["param_groups"]
            optimizer.load_state_dict(
                {"state": state["optimizer"]["state"], "param_groups": groups}
            )
        if generator is not None and state["shuffle_rng"] is not None:
            torch.set_rng_state(state["rng"])
            generator.set_state(state["shuffle_rng"])
        return cls(
            epoch=state["epoch"],
            n_steps=state["n_steps"],
            history=[dict(r) for r in state["history"]],
            best_loss=state["best_loss"],
            best_epoch=state["best_epoch"],
            best_state=state["best_state"],
            wait=state["wait"],
            stopped=state["stopped"],
        )


def _clone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}
