"""Training: the one loop (:mod:`.trainer`), its evaluation of the model and the sample-based
metrics (:mod:`.evaluation`), best weights and early stopping, the resumable data order,
checkpoints, checks before step 1, signals, one writer per run folder, ``run --dry-run``.

May import: the top-level modules of :mod:`labcore`, :mod:`labcore.recipes`,
:mod:`labcore.features` and :mod:`labcore.metrics`. Nothing of reports, sweeps or the command line.
"""
