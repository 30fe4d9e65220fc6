"""Sweeps: grids and search spaces on Optuna, trials as run folders, the sweep report.

May import: the top-level modules of :mod:`labcore`, :mod:`labcore.recipes`, :mod:`labcore.train`
and :mod:`labcore.report`. Nothing of the command line.
"""
