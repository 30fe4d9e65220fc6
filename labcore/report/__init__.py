"""Outputs people read: reports (the document model, its Markdown and HTML), one run's report and
its sections, curves, ``labcore sample`` and the record beside each output, comparisons and run
listings.

May import: the top-level modules of :mod:`labcore`, :mod:`labcore.recipes`,
:mod:`labcore.features`, :mod:`labcore.metrics` and :mod:`labcore.train`. Nothing of sweeps or
the command line.

``Section`` (what a plugin's report hook returns) is importable from here, as before the
reports had their own package.
"""

from labcore.report.document import Section

__all__ = ["Section"]
