"""The Markdown that report sections are written in, turned into HTML.

Reports are written once as Markdown (``report.md``) and shown as HTML (``report.html``); this
module converts it with markdown-it-py: CommonMark (https://spec.commonmark.org) plus GitHub's
pipe tables, with these additions for reports:

- headings are shifted down by ``heading_offset``, so that they nest under a section's title;
- tables are wrapped in a ``<div class="table-wrap">`` that scrolls sideways when too wide;
- images' sources are mapped through ``image_src`` (the report embeds them as ``data:`` URIs)
  and each image is a link to its file, to be opened at full size.

Raw HTML is not interpreted: a section can show program output or generated text containing
``<`` and ``&`` without breaking the page, so ``<script>`` is shown as text. Links with unsafe
schemes (``javascript:``, ``file:``, ...) are left as text, as markdown-it-py does by default.
"""

from __future__ import annotations

import functools
import html
import struct
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererHTML
    from markdown_it.token import Token
    from markdown_it.utils import OptionsDict


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


def _image(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict
) -> str:
    """An image as :func:`linked_image`: its ``src`` through ``env["image_src"]``, its link to
    the file itself. markdown-it-py has already percent-encoded the destination (``é`` is
    ``%C3%A9``); ``image_src`` is given it decoded, the file path the Markdown names."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    return linked_image(env["image_src"](urllib.parse.unquote(src)), src, alt)


def _table_open(*_: Any) -> str:
    return '<div class="table-wrap"><table>\n'


def _table_close(*_: Any) -> str:
    return "</table></div>\n"


@functools.cache
def _parser() -> MarkdownIt:
    """CommonMark with pipe tables, raw HTML escaped rather than passed through; imported on
    first use, so that commands which write no report do not import markdown-it-py."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    parser.add_render_rule("image", _image)
    parser.add_render_rule("table_open", _table_open)
    parser.add_render_rule("table_close", _table_close)
    return parser


def inline(text: str, image_src: Callable[[str], str] = _identity) -> str:
    """One line (or paragraph) of Markdown to HTML, without the enclosing ``<p>``: code spans,
    emphasis, links and images, the rest escaped."""
    return _parser().renderInline(text, {"image_src": image_src})


def to_html(
    markdown: str, image_src: Callable[[str], str] = _identity, heading_offset: int = 0
) -> str:
    """Convert ``markdown`` (CommonMark and pipe tables) to an HTML fragment; headings are
    shifted down ``heading_offset`` levels (at most ``<h6>``), images' sources mapped through
    ``image_src``."""
    parser = _parser()
    env = {"image_src": image_src}
    tokens = parser.parse(markdown, env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + heading_offset)}"
    return parser.renderer.render(tokens, parser.options, env)
