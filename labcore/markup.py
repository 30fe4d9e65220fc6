"""The Markdown that report sections are written in, turned into HTML.

Reports are written once as Markdown (``report.md``) and shown as HTML (``report.html``); this
module converts the subset of Markdown that labcore and its plugins write, with no dependency:

- paragraphs (blank-line separated) and headings ``#`` to ``######`` (shifted down by
  ``heading_offset`` so that they nest under a section's own title);
- fenced code blocks, three or more backticks, closed by a fence at least as long;
- pipe tables (a header row, a ``| --- | :-: |`` row, body rows; ``\\|`` is a ``|`` in a cell);
- bullet (``-``, ``*``) and numbered (``1.``) lists, one level;
- inline ``code``, ``**bold**``, ``*italic*`` / ``_italic_``, ``[links](url)`` and
  ``![images](path)``, the images' sources mapped through ``image_src`` and each image a link to
  its file (``path``), to be opened at full size.

All text is HTML-escaped: a section can show program output or generated text containing ``<``
and ``&`` without breaking the page. Raw HTML in Markdown is therefore shown, not interpreted.
"""

from __future__ import annotations

import html
import re
import struct
import urllib.parse
from collections.abc import Callable
from pathlib import Path

_FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])[*_](?![\s*_])(.+?)(?<![\s*_])[*_](?![\w*])")


def _identity(src: str) -> str:
    return src


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` in pixels of the PNG file at ``path`` (from its header), or None when
    it is not a readable PNG."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def file_href(path: Path, folder: Path) -> str:
    """A link to the file ``path`` from a page in ``folder``: relative when the file is inside
    ``folder`` (the page and its files move together), else a ``file:`` URI; URL-quoted."""
    path, folder = Path(path).resolve(), Path(folder).resolve()
    if path.is_relative_to(folder):
        return urllib.parse.quote(path.relative_to(folder).as_posix())
    return path.as_uri()


def linked_image(
    src: str,
    href: str,
    alt: str,
    size: tuple[int, int] | None = None,
    css_class: str = "",
) -> str:
    """An ``<img>`` inside a link to ``href``, its full-size file: clicking the image opens it.
    ``size`` (pixels) is given as ``width`` and ``height``, so the page reserves the space and
    stylesheets scale it by its own aspect ratio."""
    attributes = f' class="{html.escape(css_class)}"' if css_class else ""
    if size is not None:
        attributes += f' width="{size[0]}" height="{size[1]}"'
    return (
        f'<a class="image-link" href="{html.escape(href)}" title="open at full size">'
        f'<img src="{html.escape(src)}" alt="{html.escape(alt)}"{attributes}></a>'
    )


def inline(text: str, image_src: Callable[[str], str] = _identity) -> str:
    """One line (or paragraph) of Markdown to HTML: escaping, code spans, emphasis, links."""
    spans: list[str] = []

    def keep(fragment: str) -> str:
        spans.append(fragment)
        return f"\x00{len(spans) - 1}\x00"

    text = _CODE_SPAN.sub(lambda m: keep(f"<code>{html.escape(m.group(2).strip())}</code>"), text)
    text = _IMAGE.sub(
        lambda m: keep(linked_image(image_src(m.group(2)), m.group(2), m.group(1))), text
    )
    text = _LINK.sub(
        lambda m: keep(f'<a href="{html.escape(m.group(2))}">{html.escape(m.group(1))}</a>'), text
    )
    text = html.escape(text, quote=False)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    text = _ITALIC.sub(r"<em>\1</em>", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], text)


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row.removeprefix("|").removesuffix("|")
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", row)]


def _alignments(rule: str) -> list[str]:
    out = []
    for cell in _cells(rule):
        left, right = cell.startswith(":"), cell.endswith(":")
        out.append("center" if left and right else "right" if right else "left")
    return out


def _table(lines: list[str], image_src: Callable[[str], str]) -> str:
    header, aligns = _cells(lines[0]), _alignments(lines[1])

    def row(cells: list[str], tag: str) -> str:
        parts = []
        for i, cell in enumerate(cells):
            align = aligns[i] if i < len(aligns) else "left"
            style = f' style="text-align:{align}"' if align != "left" else ""
            parts.append(f"<{tag}{style}>{inline(cell, image_src)}</{tag}>")
        return "<tr>" + "".join(parts) + "</tr>"

    body = "".join(row(_cells(line), "td") for line in lines[2:])
    return (
        f'<div class="table-wrap"><table><thead>{row(header, "th")}</thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def to_html(
    markdown: str, image_src: Callable[[str], str] = _identity, heading_offset: int = 0
) -> str:
    """Convert ``markdown`` (the subset in this module's docstring) to an HTML fragment."""
    lines = markdown.splitlines()
    out: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{inline(' '.join(s.strip() for s in paragraph), image_src)}</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line.strip())
        if fence:
            flush()
            ticks, language = fence.groups()
            closing = re.compile(rf"^`{{{len(ticks)},}}\s*$")
            body = []
            i += 1
            while i < len(lines) and not closing.match(lines[i].strip()):
                body.append(lines[i])
                i += 1
            cls = f' class="language-{language}"' if language else ""
            out.append(f"<pre><code{cls}>{html.escape(chr(10).join(body))}</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = min(6, len(heading.group(1)) + heading_offset)
            out.append(f"<h{level}>{inline(heading.group(2), image_src)}</h{level}>")
            i += 1
            continue
        if (
            line.lstrip().startswith("|")
            and i + 1 < len(lines)
            and _TABLE_RULE.match(lines[i + 1].strip())
        ):
            flush()
            block = [line, lines[i + 1]]
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_table(block, image_src))
            continue
        item = _BULLET.match(line) or _NUMBERED.match(line)
        if item and not paragraph:
            tag = "ul" if _BULLET.match(line) else "ol"
            pattern = _BULLET if tag == "ul" else _NUMBERED
            items: list[list[str]] = []
            while i < len(lines) and lines[i].strip():
                match = pattern.match(lines[i])
                if match:
                    items.append([match.group(1)])
                elif lines[i].startswith((" ", "\t")) and items:
                    items[-1].append(lines[i].strip())
                else:
                    break
                i += 1
            body = "".join(f"<li>{inline(' '.join(parts), image_src)}</li>" for parts in items)
            out.append(f"<{tag}>{body}</{tag}>")
            continue
        if not line.strip():
            flush()
        else:
            paragraph.append(line)
        i += 1
    flush()
    return "\n".join(out)
