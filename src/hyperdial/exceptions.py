"""Errors and warnings raised by hyperdial.

The tree::

    HyperdialError
    ├── InvalidDistributionError (also ValueError)  a distribution or space is ill-defined
    ├── InvalidValueError (also ValueError)         a value does not fit its distribution
    ├── SpecError (also ValueError)                 a YAML/dict study specification is wrong
    ├── MissingDependencyError (also ImportError)   an optional extra is not installed
    ├── StudyNotFoundError (also KeyError)          no study of that name in the storage
    ├── DuplicatedStudyError                        a study of that name already exists
    ├── TrialNotFoundError (also KeyError)          no trial with that id
    ├── TrialFinishedError                          a write to a finished trial
    ├── NoCompletedTrialsError (also ValueError)    a best trial was asked of an empty study
    ├── StorageError                                the database cannot be reached or used
    │   └── SchemaVersionError                      the database schema is newer than the code
    └── StudyFinished                               a sampler has no configuration left

    TrialPruned (Exception)   raised by an objective to stop a trial early; not an error

    HyperdialWarning (UserWarning)
"""

from __future__ import annotations


class HyperdialError(Exception):
    """Base class of every error hyperdial raises on purpose."""


class InvalidDistributionError(HyperdialError, ValueError):
    """A distribution or search space definition is invalid."""


class InvalidValueError(HyperdialError, ValueError):
    """A parameter or objective value does not fit what was expected."""


class SpecError(HyperdialError, ValueError):
    """A study specification (YAML or dict) is invalid."""


class MissingDependencyError(HyperdialError, ImportError):
    """An optional dependency is needed; the message names the extra to install."""


class StudyNotFoundError(HyperdialError, KeyError):
    """No study of the given name exists in the storage."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicatedStudyError(HyperdialError):
    """A study of the given name already exists."""


class TrialNotFoundError(HyperdialError, KeyError):
    """No trial with the given id exists."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrialFinishedError(HyperdialError):
    """A finished trial was written to; finished trials never change."""


class NoCompletedTrialsError(HyperdialError, ValueError):
    """The study has no completed trial to answer the question."""


class StorageError(HyperdialError):
    """The storage cannot be reached or used."""


class SchemaVersionError(StorageError):
    """The database schema was written by a newer hyperdial than this one."""


class StudyFinished(HyperdialError):  # noqa: N818 - a signal, named like StopIteration
    """The sampler has no configuration left to try (e.g. an exhausted grid)."""


class TrialPruned(Exception):  # noqa: N818 - a signal, named like StopIteration
    """Raise from an objective to stop the current trial early; it is recorded PRUNED."""


class HyperdialWarning(UserWarning):
    """Warnings issued by hyperdial; silence with ``warnings.filterwarnings``."""


def missing(extra: str, owner: str, package: str) -> MissingDependencyError:
    """Return the error raised when ``owner`` needs ``package`` from ``extra``."""
    return MissingDependencyError(
        f"{owner} needs {package}; install with: pip install 'hyperdial[{extra}]'."
    )
