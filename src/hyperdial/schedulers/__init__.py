"""Early stopping and multi-fidelity schedulers (pure functions of a study's history)."""

from hyperdial.schedulers.auto import AutoScheduler
from hyperdial.schedulers.base import Decision, Launch, NoScheduler, Scheduler, sign, value_at
from hyperdial.schedulers.bohb import BOHB
from hyperdial.schedulers.hyperband import Bracket, Hyperband, brackets
from hyperdial.schedulers.median import MedianPruner, PercentilePruner
from hyperdial.schedulers.pbt import PBT, best_schedule, schedule
from hyperdial.schedulers.successive_halving import ASHA, SuccessiveHalving

__all__ = [
    "ASHA",
    "AutoScheduler",
    "BOHB",
    "Bracket",
    "Decision",
    "Hyperband",
    "Launch",
    "MedianPruner",
    "NoScheduler",
    "PBT",
    "PercentilePruner",
    "Scheduler",
    "SuccessiveHalving",
    "best_schedule",
    "brackets",
    "schedule",
    "sign",
    "value_at",
]
