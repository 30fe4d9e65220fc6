"""Recipes: TOML loading with ``extends``, ``--set`` overrides, paths made absolute, validation
against the host's section schemas (``[run]``, ``[train]``, ``[schedule]``, ``[evaluate]``) and
each component's ``Config``, optimizers and schedules by name, and the recipe reference.

May import: the top-level modules of :mod:`labcore` (the contract and the host). Nothing of
training, evaluation, reports or the command line.
"""
