"""What every component (model, dataset, metric, feature extractor) has in common.

A component is a class with a unique ``name`` within its kind and a ``Config`` dataclass that
declares its hyperparameters. Plugins hand component classes to the host through the registration
hooks in :mod:`labcore.hookspecs`; the host validates a recipe section against ``Config`` and
instantiates the class with the resulting config object.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import ClassVar

KINDS = ("model", "dataset", "metric", "feature_extractor")


class ContractError(AssertionError):
    """A component, plugin or recipe breaks labcore's contract; the message says how to fix it.

    An ``AssertionError``, so that pytest reports it as a test failure (see
    :mod:`labcore.testing`)."""


@dataclasses.dataclass
class NoConfig:
    """The schema of a component without hyperparameters."""


class Component:
    """Base of every component; subclasses set ``kind``, ``name`` and ``Config``."""

    kind: ClassVar[str] = ""
    name: ClassVar[str] = ""
    Config: ClassVar[type] = NoConfig

    @classmethod
    def summary(cls) -> str:
        """First line of the component's docstring, for listings."""
        doc = inspect.getdoc(cls) or ""
        return doc.strip().splitlines()[0] if doc.strip() else ""
