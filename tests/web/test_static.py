"""Static files: fingerprinted URLs, long cache, gzip, and no third-party request."""

import re


def test_static_urls_are_fingerprinted_and_cached_for_a_year(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', html)
    js = re.search(r'src="(/static/vendor/htmx/htmx\.min\.[0-9a-f]{12}\.js)"', html)
    assert css and js
    response = client.get(css.group(1))
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]


def test_static_files_are_served_compressed(client):
    html = client.get("/").get_data(as_text=True)
    js = re.search(r'src="(/static/vendor/htmx/htmx\.min\.[0-9a-f]{12}\.js)"', html).group(1)
    response = client.get(js, headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"


def test_no_third_party_reference_on_the_home_page(client):
    html = client.get("/").get_data(as_text=True)
    assert not re.search(r'(src|href)="(https?:)?//', html)
