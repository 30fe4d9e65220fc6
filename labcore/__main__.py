"""``python -m labcore``: the same command line as the ``labcore`` console script."""

from labcore.cli.main import main

main()
