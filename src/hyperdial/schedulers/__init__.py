"""Early stopping and multi-fidelity schedulers (pure functions of a study's history)."""

from hyperdial.schedulers.base import Decision, Launch, NoScheduler, Scheduler, sign, value_at

__all__ = ["Decision", "Launch", "NoScheduler", "Scheduler", "sign", "value_at"]
