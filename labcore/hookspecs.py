"""Every hook a labcore plugin may implement: the plugin author's whole contract.

A plugin is a module (or any object) with functions marked ``@labcore.hookimpl`` whose names and
argument names match the specifications below. A hook implementation may accept fewer arguments
than its specification, never others: unknown hook names and unknown argument names are rejected
when the plugin loads.

Plugins are found through the entry-point group ``labcore`` (built-in and third-party alike)::

    [project.entry-points.labcore]
    my_plugin = "my_package.plugin"

and in a local folder of plugin modules (``--plugins-dir DIR`` or ``LABCORE_PLUGINS_DIR``).

Registration hooks are called once per plugin when the host builds its registry; a failure in one
plugin is reported with the plugin's name and the others still load. Event hooks are called by the
trainer on the main process (rank 0) while a run goes on; they are for logging and side effects,
and their return values are ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from labcore.run import Run

hookspec = pluggy.HookspecMarker("labcore")


# -- registration -----------------------------------------------------------------------------


@hookspec
def labcore_models() -> list[type]:
    """Return model component classes (subclasses of :class:`labcore.Model`).

    Each class has a ``name`` unique among all models and a ``Config`` dataclass of
    hyperparameters; the recipe's ``[model]`` section picks one by ``name`` and is validated
    against its ``Config``. Two plugins returning the same name is an error naming both.

    Example::

        @hookimpl
        def labcore_models():
            return [MyGAN]
    """


@hookspec
def labcore_datasets() -> list[type]:
    """Return dataset component classes (subclasses of :class:`labcore.Dataset`).

    ``DatasetClass(config).load()`` returns a :class:`labcore.DataBundle`. Datasets never
    download: they read local files (a ``root`` hyperparameter) or data that ships in a package.
    """


@hookspec
def labcore_metrics() -> list[type]:
    """Return metric component classes (subclasses of :class:`labcore.metrics.Metric`).

    A metric accumulates state through ``update`` and reports through ``compute``; the recipe's
    ``[evaluate] metrics = [...]`` list names them.
    """


@hookspec
def labcore_feature_extractors() -> list[type]:
    """Return feature extractor component classes (:class:`labcore.features.FeatureExtractor`).

    Feature extractors map images to the features and logits the metrics work on; the recipe's
    ``[evaluate] extractor`` section picks one by ``name``.
    """


@hookspec
def labcore_recipes() -> list[Path]:
    """Return paths of recipe files (TOML) that the plugin ships.

    They are listed by ``labcore recipes`` and can be run by file name (``labcore run
    my-recipe``) as well as by path. Ship them as package data, e.g.
    ``[Path(__file__).parent / "recipes" / "my-recipe.toml"]``.
    """


@hookspec
def labcore_cli_commands() -> list[click.Command]:
    """Return click commands to add to the ``labcore`` command line.

    A command whose name is already taken is reported and skipped.
    """


@hookspec
def labcore_report_sections(run: Run) -> list[Any]:
    """Return extra sections (:class:`labcore.report.document.Section`) for a run's report.

    Called for every run being reported; return an empty list for runs that are not yours (check
    ``run.recipe["model"]["name"]``). A model family uses it to add its own figures: a confusion
    matrix, an embedding projection, generated text, a filter response.
    """


# -- events -----------------------------------------------------------------------------------


@hookspec
def labcore_run_start(run: Run) -> None:
    """A run starts (or resumes): the run folder exists, the model and data are built."""


@hookspec
def labcore_step_end(run: Run, step: int, logs: dict[str, float]) -> None:
    """A logged training step ended; ``logs`` holds the values written to ``log.jsonl``."""


@hookspec
def labcore_checkpoint_saved(run: Run, path: Path, step: int) -> None:
    """A checkpoint was written atomically to ``path`` after ``step`` steps."""


@hookspec
def labcore_evaluation_done(run: Run, step: int, metrics: dict[str, float]) -> None:
    """An evaluation finished at ``step``; ``metrics`` maps metric names to values."""


@hookspec
def labcore_run_end(run: Run, status: str) -> None:
    """A run ended with ``status``: ``finished``, ``interrupted`` or ``failed``."""
