"""The API documentation page loads only the site's own files, with no inline script."""

from __future__ import annotations

from urllib.parse import urlsplit

from bs4 import BeautifulSoup


def test_api_docs_page_uses_only_local_assets_and_no_inline_script(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find(id="swagger-ui")["data-openapi-url"] == "/api/v1/openapi.json"
    scripts = page.find_all("script")
    assert scripts and all(script.get("src") and not script.string for script in scripts)
    urls = [script["src"] for script in scripts] + [link["href"] for link in page.find_all("link", href=True)]
    assert all(not urlsplit(url).netloc for url in urls), urls  # nothing from a CDN
    assert any("swagger-ui-bundle" in url for url in urls) and any("swagger-ui" in url and url.endswith(".css")
                                                                    for url in urls)
    assert not [attr for tag in page.find_all(True) for attr in tag.attrs if attr.startswith("on")]
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_api_description_lists_the_api_operations_only(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/requests" in spec["paths"] and "post" in spec["paths"]["/api/v1/requests"]
    assert all(path.startswith("/api/v1/") for path in spec["paths"])
    assert "/api/v1/openapi.json" not in spec["paths"] and "/signup" not in spec["paths"]
    assert "ErrorResponse" in spec["components"]["schemas"]


def test_vendored_swagger_ui_notes_its_licence_and_version():
    from web.app import STATIC_DIR

    folder = STATIC_DIR / "vendor" / "swagger-ui"
    assert (folder / "LICENSE").read_text().lstrip().startswith("Apache License")
    note = (folder / "README.md").read_text()
    assert "swagger-ui-dist" in note and "5.35.0" in note
    assert (folder / "swagger-ui-bundle-5.35.0.js").stat().st_size > 1_000_000
