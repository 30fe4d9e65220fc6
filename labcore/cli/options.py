"""Pieces the ``labcore`` commands share: the plugin manager of the command line, the error exit,
``--set``, ``--out`` and the options that start a command as several processes, here or on
several machines."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from labcore import distributed
from labcore.plugins import PluginManager, get_manager


def manager_of(ctx: click.Context) -> PluginManager:
    """The plugin manager for ``--plugins-dir`` of the command line, its problems said on stderr."""
    root = ctx.find_root()
    manager = get_manager(root.params.get("plugins_dir"))
    for problem in manager.problems():
        click.echo(f"labcore: warning: {problem}", err=True)
    return manager


def fail(message: str, code: int = 1) -> None:
    """Say ``message`` on stderr as labcore's one-line error and exit with ``code``."""
    click.echo(f"labcore: error: {message}", err=True)
    sys.exit(code)


def set_option(help: str) -> Callable:
    """``--set KEY=VALUE`` (repeatable), passed as ``overrides``."""
    return click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help=help)


def out_option(help: str) -> Callable:
    """``--out FOLDER`` (``outputs`` by default), passed as ``out``."""
    return click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("outputs"),
        show_default=True,
        help=help,
    )


NPROC_HELP = "Run as N processes on this machine (gloo on CPU, NCCL on CUDA)."


def launch_options(nproc_help: str = NPROC_HELP) -> Callable:
    """``--nproc``, ``--nnodes``, ``--node-rank``, ``--master-addr`` and ``--master-port``,
    passed to the command as one ``launch`` (a :class:`labcore.distributed.Launch`)."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def with_launch(
            *args: Any,
            nproc: int,
            nnodes: int,
            node_rank: int,
            master_addr: str | None,
            master_port: int | None,
            **kwargs: Any,
        ) -> Any:
            launch = distributed.Launch(nproc, nnodes, node_rank, master_addr, master_port)
            return command(*args, launch=launch, **kwargs)

        options = [
            click.option(
                "--nproc", type=click.IntRange(1), default=1, show_default=True, help=nproc_help
            ),
            click.option(
                "--nnodes",
                type=click.IntRange(1),
                default=1,
                show_default=True,
                help="Machines of the run: the same command on each, with its --node-rank.",
            ),
            click.option(
                "--node-rank",
                type=click.IntRange(0),
                default=0,
                show_default=True,
                help="This machine's place among --nnodes (node 0 writes the files).",
            ),
            click.option(
                "--master-addr",
                metavar="ADDRESS",
                default=None,
                help="Address of node 0 that every machine reaches (needed with --nnodes).",
            ),
            click.option(
                "--master-port",
                type=click.IntRange(1, 65535),
                default=None,
                help=f"Free port on node 0 (default {distributed.DEFAULT_MASTER_PORT} with "
                "--nnodes, else any free port).",
            ),
        ]
        for option in reversed(options):
            with_launch = option(with_launch)
        return with_launch

    return decorate
