"""Templates' url_for is memoized (app.py): the memo must give exactly what url_for gives."""

from __future__ import annotations

from flask import render_template_string, url_for


def _render(app, source: str, path: str = "/", **environ) -> str:
    with app.test_request_context(path, environ_overrides=environ):
        return render_template_string(source)


def test_memoized_links_equal_url_for(app):
    source = "{{ url_for('companies.home', code='00010') }}|{{ url_for('static', filename='css/app.css') }}"
    with app.test_request_context("/"):
        expected = f"{url_for('companies.home', code='00010')}|{url_for('static', filename='css/app.css')}"
    assert _render(app, source) == expected
    assert _render(app, source) == expected  # second call: from the memo
    # Another company, another URL.
    assert _render(app, "{{ url_for('companies.home', code='00020') }}") == "/entreprises/00020/"


def test_the_script_root_is_part_of_the_key(app):
    source = "{{ url_for('companies.home', code='00010') }}"
    assert _render(app, source) == "/entreprises/00010/"
    assert _render(app, source, SCRIPT_NAME="/portail") == "/portail/entreprises/00010/"
    assert _render(app, source) == "/entreprises/00010/"


def test_external_urls_are_not_memoized(app):
    source = "{{ url_for('public.home', _external=True) }}"
    assert _render(app, source, HTTP_HOST="a.example") == "http://a.example/"
    assert _render(app, source, HTTP_HOST="b.example") == "http://b.example/"


def test_link_still_skips_missing_endpoints(app):
    assert _render(app, "{{ link('nowhere.page') is none }}") == "True"
    assert _render(app, "{{ link('public.home') }}") == "/"


def test_query_arguments_keep_their_order(app):
    source = "{{ url_for('public.home', sujet='acces', objet='identite') }}"
    assert _render(app, source) == "/?sujet=acces&amp;objet=identite"
    assert _render(app, "{{ url_for('public.home', objet='identite', sujet='acces') }}") == (
        "/?objet=identite&amp;sujet=acces"
    )
