"""Markdown to HTML for reports: CommonMark and pipe tables through markdown-it-py, raw HTML
escaped, headings shifted, tables wrapped, images linked to their files."""

import html.parser
import re
import struct
import zlib

from labcore.report import markup


def squeezed(fragment: str) -> str:
    """``fragment`` without the line breaks markdown-it-py puts between block tags."""
    return re.sub(r">\s+<", "><", fragment)


class Elements(html.parser.HTMLParser):
    """The tags of an HTML fragment in order, and its text, to check it is well formed."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in ("img", "br", "hr"):
            self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def elements(fragment: str) -> Elements:
    parser = Elements()
    parser.feed(fragment)
    parser.close()
    assert parser.open == [], f"unclosed tags: {parser.open}"
    return parser


def test_tables_code_lists_and_inline():
    text = (
        "# Title\n\nSome **bold**, *it*, `a<b`, snake_case_name and [a link](x.html).\n\n"
        "| a | b |\n| --- | ---: |\n| 1 | `x\\|y` |\n\n"
        "- one\n- two\n  continued\n\n1. first\n2. second\n\n"
        "````text\n```\ninner fence\n```\n````\n"
    )
    out = markup.to_html(text, heading_offset=2)
    assert "<h3>Title</h3>" in out
    assert "<strong>bold</strong>" in out and "<em>it</em>" in out
    assert "<code>a&lt;b</code>" in out and "snake_case_name" in out
    assert '<a href="x.html">a link</a>' in out
    assert '<th style="text-align:right">b</th>' in out and "<td>1</td>" in out
    assert '<td style="text-align:right"><code>x|y</code></td>' in out
    assert "<ul><li>one</li><li>two\ncontinued</li></ul>" in squeezed(out)
    assert "<ol><li>first</li><li>second</li></ol>" in squeezed(out)
    assert '<pre><code class="language-text">```\ninner fence\n```\n</code></pre>' in out
    elements(out)


def test_inline_images_go_through_the_mapping_and_link_to_their_file():
    out = markup.to_html("See ![plot](p.png).", lambda src: f"data:{src}")
    assert (
        '<a class="image-link" href="p.png" title="open at full size">'
        '<img src="data:p.png" alt="plot"></a>'
    ) in out


def test_image_sources_reach_the_mapping_as_the_file_names_they_are():
    seen = []
    out = markup.to_html("![café](café%20menu.png)", lambda src: seen.append(src) or "x")
    assert seen == ["café menu.png"]
    assert 'href="caf%C3%A9%20menu.png"' in out and 'alt="café"' in out


def test_raw_html_is_shown_as_text_not_run():
    text = "<script>alert(1)</script>\n\nA <b>tag</b> & an *em*.\n\n<div onclick=x>block</div>\n"
    out = markup.to_html(text)
    assert "<script" not in out and "<b>" not in out and "<div" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "A &lt;b&gt;tag&lt;/b&gt; &amp; an <em>em</em>." in out
    assert "&lt;div onclick=x&gt;block&lt;/div&gt;" in out
    assert markup.inline("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"


def test_links_with_unsafe_schemes_stay_text():
    out = markup.to_html("[run](javascript:alert(1)) and [ok](https://example.org/a?b=1&c=2)")
    assert "href=\"javascript" not in out and "[run](javascript:alert(1))" in out
    assert '<a href="https://example.org/a?b=1&amp;c=2">ok</a>' in out


def test_tables_render_wrapped_with_alignment_and_inline_markup():
    text = (
        "| metric | value | note |\n|:---|--:|:-:|\n"
        "| **FID** | 12.5 | `a\\|b` |\n| KID | 0.01 | |\n"
    )
    out = markup.to_html(text)
    assert squeezed(out).startswith('<div class="table-wrap"><table><thead><tr>')
    assert squeezed(out).rstrip().endswith("</tbody></table></div>")
    assert '<td style="text-align:center"><code>a|b</code></td>' in out
    assert '<th style="text-align:left">metric</th>' in out
    assert '<th style="text-align:center">note</th>' in out
    assert '<td style="text-align:left"><strong>FID</strong></td>' in out
    assert '<td style="text-align:right">0.01</td>' in out
    assert squeezed(out).count("<tr>") == 3
    elements(out)


def test_code_blocks_keep_their_text_exactly():
    code = 'if a < b && c > "d":\n\n    print(**kwargs)  # *not* emphasis, `not` code\n<tag>\n'
    out = markup.to_html(f"Before.\n\n```python\n{code}```\n\nAfter.")
    parsed = elements(out)
    assert parsed.tags == ["p", "pre", "code", "p"]
    shown = "".join(parsed.text).split("Before.", 1)[1].split("After.")[0]
    assert shown.strip("\n") == code.rstrip("\n")
    assert '<code class="language-python">' in out


def test_indented_code_keeps_its_text_too():
    out = markup.to_html("Text.\n\n    x = 1 < 2\n    **y**\n")
    assert "<pre><code>x = 1 &lt; 2\n**y**\n</code></pre>" in out


def test_headings_shift_and_stop_at_h6():
    out = markup.to_html("# One\n\n### Three\n\n###### Six", heading_offset=2)
    assert "<h3>One</h3>" in out and "<h5>Three</h5>" in out and "<h6>Six</h6>" in out
    assert "<h1>One</h1>" in markup.to_html("# One")


def test_inline_has_no_paragraph():
    assert markup.inline("Status: **finished** with `x<y`") == (
        "Status: <strong>finished</strong> with <code>x&lt;y</code>"
    )


def test_linked_image_escapes_and_sizes():
    out = markup.linked_image('a"b.png', "dir/a b.png", "<alt>", (20, 10), "pixel")
    assert out == (
        '<a class="image-link" href="dir/a b.png" title="open at full size">'
        '<img src="a&quot;b.png" alt="&lt;alt&gt;" class="pixel" width="20" height="10"></a>'
    )


def test_png_size_reads_the_header(tmp_path):
    header = struct.pack(">IIBBBBB", 7, 3, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    crc = struct.pack(">I", zlib.crc32(chunk))
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + crc
    (tmp_path / "a.png").write_bytes(png)
    (tmp_path / "b.png").write_bytes(b"not a png")
    assert markup.png_size(tmp_path / "a.png") == (7, 3)
    assert markup.png_size(tmp_path / "b.png") is None
    assert markup.png_size(tmp_path / "missing.png") is None


def test_file_href_is_relative_inside_the_folder_and_a_uri_outside(tmp_path):
    inside = tmp_path / "report" / "samples" / "step 10.png"
    outside = tmp_path / "elsewhere.png"
    assert markup.file_href(inside, tmp_path / "report") == "samples/step%2010.png"
    assert markup.file_href(outside, tmp_path / "report") == outside.resolve().as_uri()
