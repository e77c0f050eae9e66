"""Prune a Lightning training run from its validation metric.

Needs Lightning (``lightning.pytorch``, or the older ``pytorch_lightning`` package):
``pip install 'hyperdial[lightning]'``.

A typical objective::

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        model = MyModule(lr)                   # logs "val_loss" in validation_step
        trainer = lightning.pytorch.Trainer(
            max_epochs=20,
            callbacks=[PruningCallback(trial, monitor="val_loss")],
            enable_progress_bar=False,
            logger=False,
        )
        trainer.fit(model, train_loader, val_loader)   # raises TrialPruned when pruned
        return trainer.callback_metrics["val_loss"].item()
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

from hyperdial.exceptions import InvalidValueError, TrialPruned, missing
from hyperdial.trial import FixedTrial, Trial

try:
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - the older package name, when it is the one installed
    try:
        import pytorch_lightning as pl  # type: ignore[no-redef]  # same API, older name
    except ImportError as exc:  # pragma: no cover - tested with both hidden
        raise missing("lightning", "hyperdial.integrations.lightning", "Lightning") from exc

__all__ = ["PruningCallback"]

_OWNER = "PruningCallback"


class PruningCallback(pl.Callback):  # type: ignore[misc]  # Lightning's base is untyped here
    """Report a validation metric to the trial after each validation run; stop when pruned.

    At the end of every validation run (not the sanity check), the callback reports the
    logged metric ``monitor`` at step ``current_epoch + 1`` (epochs completed, as
    :class:`~hyperdial.integrations.torch.MLPTrainer` counts) and asks the study whether to
    go on. When the trial should be pruned it raises :class:`~hyperdial.TrialPruned` from
    the hook: Lightning stops training, calls the callbacks' ``on_exception``, tears down and
    re-raises it from ``trainer.fit``, so the objective needs no extra code and the trial is
    recorded PRUNED. That is meant for one process; under a multi-process strategy every
    rank asks the study, which must then be one storage all ranks reach.

    When training ends normally the last values of the metrics in ``record`` are stored as
    user attributes (for the train/validation gap of the study's diagnostics); metrics that
    were not logged are left out.

    Log the metric per epoch (``self.log("val_loss", loss)`` in ``validation_step`` does, by
    default), and with several validations per epoch (``val_check_interval < 1``) the last
    one of each epoch counts.

    Args:
        trial: The trial the objective received.
        monitor: The logged validation metric to report; the study minimises or maximises
            it as its direction says.
        record: User attribute -> logged metric, stored when training ends. Default:
            ``{"train_loss": "train_loss", "validation_loss": monitor}``.

    Raises:
        InvalidValueError: ``monitor`` is empty, or a ``record`` entry is not two strings.

    Example:
        >>> from hyperdial import FixedTrial
        >>> callback = PruningCallback(FixedTrial({}), monitor="val_loss")
        >>> callback.monitor, sorted(callback.record)
        ('val_loss', ['train_loss', 'validation_loss'])
    """

    def __init__(
        self,
        trial: Trial | FixedTrial,
        monitor: str = "val_loss",
        *,
        record: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise InvalidValueError(
                f"{_OWNER}: monitor must be the name of a logged metric; got {monitor!r}."
            )
        if record is None:
            record = {"train_loss": "train_loss", "validation_loss": monitor}
        if not isinstance(record, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in record.items()
        ):
            raise InvalidValueError(
                f"{_OWNER}: record must map attribute names to metric names; got {record!r}."
            )
        self.trial = trial
        self.monitor = monitor
        self.record = dict(record)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Report the monitored metric; raise ``TrialPruned`` if the study says stop.

        Raises:
            TrialPruned: the study's scheduler wants the trial stopped.
            InvalidValueError: ``monitor`` was not logged.
        """
        if trainer.sanity_checking:
            return
        value = _metric(trainer, self.monitor)
        if value is None:
            logged = sorted(trainer.callback_metrics)
            raise InvalidValueError(
                f"{_OWNER}: monitor must name a metric logged during validation; "
                f"got {self.monitor!r}, logged: {logged!r}."
            )
        epoch = int(trainer.current_epoch) + 1
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise TrialPruned(f"pruned at epoch {epoch}: {self.monitor} = {value:.6g}")

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Store the last values of the ``record`` metrics as user attributes."""
        for attr, name in self.record.items():
            value = _metric(trainer, name)
            if value is not None:  # JSON has no NaN: a diverged run stores null
                self.trial.set_user_attr(attr, value if math.isfinite(value) else None)


def _metric(trainer: pl.Trainer, name: str) -> float | None:
    """Return the logged scalar ``name`` as a float, or ``None`` if it was not logged."""
    value = trainer.callback_metrics.get(name)
    if value is None:
        return None
    if hasattr(value, "item"):  # a tensor (Lightning logs tensors) or a NumPy scalar
        value = value.item()
    return float(value) if isinstance(value, numbers.Real) else None
