"""One run's report: the host's sections, each plugin's, written as ``report.md`` and
``report.html`` in the run folder (the document model and its rendering are
:mod:`labcore.report.document`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from labcore.report import run_sections
from labcore.report.document import Document, Section, write_document


def build(run: Any, manager: Any) -> Document:
    """The report of ``run``: the host's sections, then each plugin's, then any plugin problem."""
    run = dataclasses.replace(run, dir=Path(run.dir).resolve())
    family, problems = manager.report_sections(run)
    sections = run_sections.leading(run) + family + run_sections.trailing(run)
    if problems:
        text = "\n".join(f"- {p}" for p in problems)
        sections.append(Section("Report problems", "Sections that could not be made:\n\n" + text))
    return Document(
        title=run.name,
        summary=run_sections.summary(run),
        sections=sections,
        base=run.dir,
        status=run.status().get("status"),
    )


def write_reports(run: Any, manager: Any) -> tuple[Path, Path]:
    """Write ``report.md`` and ``report.html`` in the run folder (each atomically); return
    their paths."""
    return write_document(build(run, manager), run.dir)
