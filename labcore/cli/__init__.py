"""The ``labcore`` command line (click): the commands, the options they share, ``labcore
report``/``runs``, ``labcore sweep``, ``labcore summary`` and ``labcore new-plugin``.

May import anything in labcore; nothing in labcore imports it (``labcore.testing`` starts it as a
user would, in a subprocess). ``main`` (the ``labcore`` command) and ``handle_errors`` (for the
commands plugins add) are importable from here, as before the command line had its own package.
"""

from labcore.cli.main import handle_errors, main

__all__ = ["handle_errors", "main"]
