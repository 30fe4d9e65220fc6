"""Writing a report: report.md with report.html beside it, each file whole or not at all."""

import pytest

from labcore.report.document import (
    Document,
    Section,
    to_markdown,
    write_document,
    write_text_atomically,
)


def test_write_document_writes_the_markdown_and_the_html_beside_it(tmp_path):
    document = Document("a study", "What it *found*.", [Section("Numbers", "| a |\n|---|\n| 1 |")],
                        tmp_path, kind="comparison")
    (tmp_path / "report.md").write_text("an older report")
    markdown, page = write_document(document, tmp_path)
    assert (markdown, page) == (tmp_path / "report.md", tmp_path / "report.html")
    assert markdown.read_text() == to_markdown(document)
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and '<body class="comparison">' in html
    assert "<em>found</em>" in html and "<td>1</td>" in html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.md"]


def test_a_write_that_fails_leaves_the_previous_file_and_no_temporary_one(tmp_path):
    path = tmp_path / "results.json"
    write_text_atomically(path, '{"a": 1}')
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(path, "half \udc80 written")
    assert path.read_text() == '{"a": 1}' and [p.name for p in tmp_path.iterdir()] == [path.name]
