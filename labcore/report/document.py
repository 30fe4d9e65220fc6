"""Run reports: ``report.md`` and a self-contained ``report.html``, and the sections plugins add.

A report is a :class:`Document`: a title, a one-paragraph summary and a list of
:class:`Section` s, each some Markdown and a few images. The same document is written twice:

- ``report.md``, Markdown whose images are links to PNG files in the run folder;
- ``report.html``, one file that needs nothing else to be viewed (no network, no other file): the
  CSS is inline and every image is embedded as a ``data:`` URI.

The host writes the sections every run has (:mod:`labcore.report.run_sections`: recipe, metrics with
what they were measured with, training curves, samples, environment); each model family adds its
own through the ``labcore_report_sections`` hook, so this module knows no family.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

from labcore.report import markup

HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"
#: Sections with at least this many images show them as a strip of thumbnails.
STRIP_IMAGES = 3


def fmt(value: Any, digits: int = 6) -> str:
    """A table cell: floats to ``digits`` significant digits, lists comma-separated."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v, digits) for v in value) or "(none)"
    return str(value)


def cell(text: str) -> str:
    """``text`` made safe for one cell of a Markdown table."""
    return text.replace("|", "\\|").replace("\n", " ")


@dataclasses.dataclass
class Section:
    """A part of a report, contributed by the host or by a plugin.

    ``markdown`` is Markdown text (paragraphs, pipe tables, lists, fenced code, inline code,
    emphasis and links: see :mod:`labcore.report.markup`). ``images`` are ``(caption, path)`` pairs
    of PNG files, paths relative to the run folder or absolute, shown under the text; two share the
    width side by side, three or more are shown as a strip of thumbnails. ``collapsed`` sections are
    folded under their title in the HTML report (for long, rarely read content such as the full
    recipe).

    Example (in a plugin)::

        @labcore.hookimpl
        def labcore_report_sections(run):
            if run.recipe["model"]["name"] != "my-model":
                return []
            path = draw_figure(run.dir / "report" / "figure.png")
            return [Section("My figure", "What it shows.", [("my figure", path)])]
    """

    title: str
    markdown: str = ""
    images: list[tuple[str, Path]] = dataclasses.field(default_factory=list)
    collapsed: bool = False


@dataclasses.dataclass
class Document:
    """A whole report: ``summary`` is Markdown shown under the title; ``status`` (a run's
    status, if any) is shown as a badge; relative image paths are relative to ``base``; ``kind``
    is the HTML body's class (``report`` or ``comparison``)."""

    title: str
    summary: str
    sections: list[Section]
    base: Path
    status: str | None = None
    kind: str = "report"


# -- Markdown ---------------------------------------------------------------------------------


def _image_target(path: Path, folder: Path) -> str:
    """``path`` as a link from a file in ``folder``: relative when inside it, else absolute."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    return (path.relative_to(folder) if path.is_relative_to(folder) else path).as_posix()


def to_markdown(document: Document) -> str:
    """The document as Markdown, to be written in ``base`` (image links relative to it)."""
    lines = [f"# {document.title}", ""]
    if document.status:
        lines += [f"Status: **{document.status}**", ""]
    if document.summary:
        lines += [document.summary, ""]
    for section in document.sections:
        lines += [f"## {section.title}", ""]
        if section.markdown:
            lines += [section.markdown.rstrip(), ""]
        links = [
            f"![{caption}]({_image_target(_resolve(document.base, p), document.base)})"
            for caption, p in section.images
        ]
        if len(links) >= STRIP_IMAGES:
            lines += [" ".join(links), ""]
        else:
            for link in links:
                lines += [link, ""]
    return "\n".join(lines)


# -- HTML -------------------------------------------------------------------------------------

CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da;
  --diff: #fff1c2; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;
  font: 15px/1.5 -apple-system, "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
header { background: var(--soft); border-bottom: 1px solid var(--line); }
header .inner, main { max-width: 1160px; margin: 0 auto; padding: 18px 28px; }
h1 { font-size: 26px; margin: 0 0 6px; display: flex; align-items: center; gap: 12px;
  flex-wrap: wrap; }
h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3, h4, h5, h6 { font-size: 15px; margin: 16px 0 6px; }
header p { margin: 0; color: var(--muted); }
nav { margin-top: 10px; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { margin: 26px 0 34px; }
p { margin: 8px 0; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--soft); padding: 1px 4px; border-radius: 4px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
pre code { background: none; padding: 0; }
td code { white-space: nowrap; }
.table-wrap { overflow-x: auto; margin: 8px 0; }
table { border-collapse: collapse; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; vertical-align: top; }
th { background: var(--soft); text-align: left; font-weight: 600; white-space: nowrap; }
td { font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
body.comparison td:not(:first-child) strong { background: var(--diff); font-weight: 600;
  padding: 0 3px; border-radius: 3px; }
.badge { font-size: 12px; font-weight: 600; padding: 2px 10px; border-radius: 999px;
  color: #fff; background: #6e7781; text-transform: uppercase; letter-spacing: .04em; }
.badge.finished { background: #1a7f37; }
.badge.running { background: #0969da; }
.badge.failed { background: #cf222e; }
.badge.interrupted { background: #9a6700; }
.figures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; margin-top: 10px; }
figure { margin: 0; max-width: 100%; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
  border-radius: 4px; background: #fff; }
figcaption { font-size: 12.5px; color: var(--muted); margin-top: 4px; text-align: center; }
.figures.strip { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
.figures.pair { display: grid; grid-template-columns: repeat(2, minmax(0, max-content)); }
a.image-link { cursor: zoom-in; }
figure a.image-link { display: block; }
.strip figure img { width: 100%; }
img.pixel { image-rendering: pixelated; }
.missing { color: #cf222e; }
details > summary { cursor: pointer; font-size: 19px; font-weight: 600; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); margin-bottom: 12px; }
footer { max-width: 1160px; margin: 0 auto; padding: 14px 28px 30px; color: var(--muted);
  font-size: 12px; border-top: 1px solid var(--line); }
"""


def _resolve(base: Path, path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else base / path


def data_uri(path: Path) -> str:
    """The file at ``path`` as a ``data:`` URI (its MIME type guessed from the suffix)."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _slug(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


def _figure(document: Document, caption: str, path: str | Path) -> str:
    full = _resolve(document.base, path)
    if not full.is_file():
        return f'<p class="missing">image not found: {html.escape(str(full))}</p>'
    pixel = "pixel" if full.parent == document.base / "samples" else ""
    image = markup.linked_image(
        data_uri(full), markup.file_href(full, document.base), caption, markup.png_size(full), pixel
    )
    return f"<figure>{image}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _inline_image(document: Document, src: str) -> str:
    if re.match(r"^[a-z]+:", src):
        return src
    full = _resolve(document.base, src)
    return data_uri(full) if full.is_file() else src


def _section_html(document: Document, section: Section, slug: str) -> str:
    body = markup.to_html(
        section.markdown, lambda src: _inline_image(document, src), heading_offset=2
    )
    figures = "".join(_figure(document, c, p) for c, p in section.images)
    if figures:
        count = len(section.images)
        layout = " strip" if count >= STRIP_IMAGES else " pair" if count == 2 else ""
        body += f'<div class="figures{layout}">{figures}</div>'
    title = html.escape(section.title)
    if section.collapsed:
        return f'<section id="{slug}"><details><summary>{title}</summary>{body}</details></section>'
    return f'<section id="{slug}"><h2>{title}</h2>{body}</section>'


def to_html(document: Document) -> str:
    """The document as one self-contained HTML page (inline CSS, images as ``data:`` URIs)."""
    from labcore import __version__

    taken: set[str] = set()
    slugs = [_slug(s.title, taken) for s in document.sections]
    nav = "".join(
        f'<a href="#{slug}">{html.escape(s.title)}</a>' for slug, s in zip(slugs, document.sections)
    )
    badge = (
        f'<span class="badge {html.escape(document.status)}">{html.escape(document.status)}</span>'
        if document.status
        else ""
    )
    summary = markup.inline(document.summary)
    sections = "\n".join(
        _section_html(document, s, slug) for slug, s in zip(slugs, document.sections)
    )
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(document.title)} · labcore report</title>
<style>{CSS}</style>
</head>
<body class="{html.escape(document.kind)}">
<header><div class="inner">
<h1>{html.escape(document.title)} {badge}</h1>
<p>{summary}</p>
<nav>{nav}</nav>
</div></header>
<main>
{sections}
</main>
<footer>Written by labcore {__version__} on {generated}.</footer>
</body>
</html>
"""


# -- files ------------------------------------------------------------------------------------


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` under a temporary name, then rename it, so that a reader never
    sees half a file and an interrupted write leaves the previous one in place."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_document(document: Document, folder: Path) -> tuple[Path, Path]:
    """Write ``document`` as ``report.md`` and, beside it, ``report.html`` in ``folder`` (each
    atomically); return their paths."""
    paths = folder / MARKDOWN_NAME, folder / HTML_NAME
    for path, text in zip(paths, (to_markdown(document), to_html(document)), strict=True):
        write_text_atomically(path, text)
    return paths
