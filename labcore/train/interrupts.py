"""SIGINT and SIGTERM during a whole ``labcore run`` or ``labcore resume``, not only in the loop.

Inside the training loop the trainer only notes the signal and stops at the end of the step, after
saving a checkpoint (:meth:`labcore.train.trainer.Trainer.fit`). Everywhere else (start-up, data
loading, the final evaluation, the report) there is no step to finish: the signal raises
:class:`labcore.train.trainer.Interrupted` at once. Either way the run's status ends
``interrupted``, the ``labcore resume`` command is printed and the process exits with 128 + the
signal's number.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from labcore.runfolder import Run


def _status_step(run: Run) -> int:
    try:
        return int(run.status().get("step", 0))
    except (ValueError, TypeError):
        return 0


@contextlib.contextmanager
def handled(run: Run, is_main: bool, step_of: Callable[[], int] | None = None) -> Iterator[None]:
    """Turn SIGINT and SIGTERM inside the block into an interruption of ``run``.

    ``step_of`` gives the step reached (default: the step ``status.json`` records). Only the main
    process writes the status and prints the resume command.
    """
    from labcore.train.trainer import Interrupted

    def current_step() -> int:
        return step_of() if step_of is not None else _status_step(run)

    def interrupt(signum: int, _frame: Any) -> None:
        raise Interrupted(signum, current_step())

    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, interrupt) for s in signals}
    try:
        yield
    except Interrupted as exc:
        for s in signals:  # a second signal while reporting this one changes nothing
            signal.signal(s, signal.SIG_IGN)
        if is_main:
            run.set_status("interrupted", step=exc.step)
            click.echo(
                f"labcore: interrupted by {exc} at step {exc.step}. "
                f"Resume with: labcore resume {run.dir}",
                err=True,
            )
        sys.exit(128 + exc.signum)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
