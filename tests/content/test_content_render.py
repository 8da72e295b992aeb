"""render_markdown and sanitise_html: the allow-list, URL rewriting, determinism."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from jesip_learn.content import render_markdown, sanitise_html
from jesip_learn.content.blocks import Line
from jesip_learn.content.page import PLAIN_LINE, PieceRenderer
from jesip_learn.content.problem_log import ProblemLog


def test_headings_get_prefixed_anchors_and_links_follow():
    html = render_markdown("## Co-locate\n\n[back](#co-locate)")
    assert html == (
        '<h2 id="content-co-locate">Co-locate</h2>\n'
        '<p><a href="#content-co-locate" rel="noopener noreferrer">back</a></p>'
    )


def test_author_ids_cannot_clobber_the_page():
    assert render_markdown("Text\n{: #main-content}") == '<p id="content-main-content">Text</p>'


def test_only_extension_classes_survive():
    html = render_markdown(
        '!!! warning danger-zone "Careful"\n    Text\n\nPara\n{: .govuk-button .note}'
    )
    assert '<div class="admonition warning">' in html
    assert "danger-zone" not in html and "govuk-button" not in html
    assert '<p class="note">' in html  # an admonition type is harmless on its own


def test_table_alignment_becomes_govuk_classes_not_style():
    html = render_markdown("| Step | Time | Count |\n|---|---:|:---:|\n| Arrive | 09:00 | 3 |")
    assert "<th>Step</th>" in html and "<td>Arrive</td>" in html  # no alignment, no class
    assert '<th class="govuk-!-text-align-right">Time</th>' in html
    assert '<td class="govuk-!-text-align-right">09:00</td>' in html
    assert '<th class="govuk-!-text-align-centre">Count</th>' in html
    assert '<td class="govuk-!-text-align-centre">3</td>' in html
    assert "style" not in html and "align=" not in html


def test_table_alignment_joins_a_cells_own_class():
    html = render_markdown("| Name {: .note } |\n|:---|\n| Gold |")
    assert '<th class="note govuk-!-text-align-left">Name</th>' in html


def test_alignment_classes_are_kept_only_on_table_cells():
    html = render_markdown(
        '<table><tr><td class="govuk-button govuk-!-text-align-right app-x" align="right" '
        'style="text-align: right">1</td><td class="govuk-!-text-align-middle">2</td>'
        '</tr></table>\n\n<p class="govuk-!-text-align-centre">Para</p>\n\n'
        "Text\n{: .govuk-!-text-align-right .govuk-body }"
    )
    assert '<td class="govuk-!-text-align-right">1</td>' in html
    assert "<td>2</td>" in html  # not one of the three alignment classes
    assert "<p>Para</p>" in html and "<p>Text</p>" in html
    assert "govuk-button" not in html and "govuk-body" not in html and "app-x" not in html
    assert "style" not in html and "align=" not in html


def test_sanitise_drops_style_and_handlers_keeps_structure():
    dirty = '<p style="color:red" onclick="x()">Hi <b>there</b><script>alert(1)</script></p>'
    assert sanitise_html(dirty) == "<p>Hi <b>there</b></p>"


def test_links_to_other_sites_get_rel():
    assert 'rel="noopener noreferrer"' in render_markdown("[x](https://example.org)")


def test_images_only_from_course_files():
    assert render_markdown("![a](https://x.example/a.png)") == '<p><img alt="a"></p>'
    assert render_markdown("![a](/a.png)") == '<p><img alt="a"></p>'
    assert render_markdown("![a](../a.png)") == '<p><img alt="a"></p>'
    assert render_markdown("![a](images/my%20photo.png)") == (
        '<p><img alt="a" src="images/my%20photo.png"></p>'
    )


def test_resolve_file_gets_clean_course_paths_and_keeps_query_and_fragment():
    seen = []

    def resolve(path: str) -> str:
        seen.append(path)
        return f"/files/{path}"

    html = render_markdown("![a](./images/x.png) [guide](files/../guide.pdf#page=2)", resolve)
    assert seen == ["images/x.png", "guide.pdf"]
    assert 'src="/files/images/x.png"' in html and 'href="/files/guide.pdf#page=2"' in html


def test_a_resolver_cannot_smuggle_a_dangerous_url():
    html = render_markdown("![a](x.png) [b](y.pdf)", lambda path: "javascript:alert(1)")
    assert "javascript" not in html


def test_too_deep_markdown_is_shown_as_text_not_rendered():
    html = render_markdown("> " * 100 + "deep")
    assert html.startswith("<pre>&gt; &gt;")


def test_rendering_is_deterministic():
    text = "# T\n\nText[^1] ![a](i.png)\n\n[^1]: Note"
    assert render_markdown(text) == render_markdown(text)


PLAIN_TEXT = st.from_regex(PLAIN_LINE, fullmatch=True).filter(lambda text: len(text) < 200)


@settings(max_examples=150, deadline=None)
@given(st.lists(PLAIN_TEXT, min_size=1, max_size=3), st.booleans())
def test_plain_text_shortcut_gives_what_markdown_gives(lines, inline):
    """Pieces of plain text skip Python-Markdown; the result must be identical."""
    renderer = PieceRenderer(frozenset())
    problems = ProblemLog().for_file("x.md")
    numbered = [Line(number, text) for number, text in enumerate(lines, start=1)]
    fast = renderer.render(numbered, problems, inline=inline)
    slow = sanitise_html(renderer.markdown.convert("\n".join(lines)))
    if inline and slow.startswith("<p>") and slow.endswith("</p>"):
        slow = slow[3:-4]
    assert fast == slow
