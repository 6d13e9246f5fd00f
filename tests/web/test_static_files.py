"""Light pages (issue 16, item 7): static files gzip-compressed and cached under hashed URLs,
the chart library only on pages with charts, ``/favicon.ico`` served, and the first visit of the
login page and of a first page within 150 KB on the wire."""

from __future__ import annotations

import gzip
import hashlib
import re

from fastapi.testclient import TestClient

from tests.web.conftest import BASE_URL, DemoWeb
from zhuizong.web.static_files import ASSETS, STATIC, static_url

BUDGET = 150 * 1024


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+|/favicon\.ico)"', html)


def _wire_size(client: TestClient, path: str) -> int:
    """Bytes on the wire of the page ``path`` and every script/stylesheet/icon it links (gzip)."""
    page = client.get(path, headers={"accept-encoding": "gzip"})
    assert page.status_code == 200, path
    total = len(page.content)  # pages themselves: counted uncompressed (the worst case)
    for url in _assets(page.text):
        r = client.get(url, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200, url
        total += int(r.headers["content-length"])
    return total


def test_hashed_urls_gzip_and_cache_headers(demo_web: DemoWeb) -> None:
    c = TestClient(demo_web.app, base_url=BASE_URL)  # type: ignore[arg-type]
    url = static_url("vendor/echarts.min.js")
    body = (STATIC / "vendor" / "echarts.min.js").read_bytes()
    assert url.endswith("?h=" + hashlib.sha256(body).hexdigest()[:12])
    r = c.get(url, headers={"accept-encoding": "gzip, br"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "immutable" in r.headers["cache-control"] and "max-age=31536000" in r.headers["cache-control"]
    assert int(r.headers["content-length"]) < len(body) / 2
    assert r.content == body  # the client decodes: the same file
    assert r.headers["x-content-type-options"] == "nosniff"
    # without the hash (or a stale one): revalidate with the ETag; a 304 on a match
    plain = c.get("/static/app.css", headers={"accept-encoding": "identity"})
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    assert "immutable" not in plain.headers["cache-control"]
    assert c.get("/static/app.css?h=000000000000").headers["cache-control"] == plain.headers["cache-control"]
    again = c.get("/static/app.css", headers={"if-none-match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert c.get("/static/no-such.js").status_code == 404
    assert c.get("/static/../app.py").status_code == 404


def test_favicon(demo_web: DemoWeb) -> None:
    c = TestClient(demo_web.app, base_url=BASE_URL)  # type: ignore[arg-type]
    r = c.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO header


def test_chart_library_only_on_chart_pages(demo_web: DemoWeb) -> None:
    anon = TestClient(demo_web.app, base_url=BASE_URL)  # type: ignore[arg-type]
    assert "echarts" not in anon.get("/login").text
    c = demo_web.client("executive")
    assert "echarts" in c.get("/dashboard").text
    for path in ("/account", "/report", "/campaigns", "/tools"):
        assert "echarts" not in c.get(path).text, path
    assert all(u.startswith("/static/") and "?h=" in u for u in _assets(c.get("/report").text)
               if u != "/favicon.ico")


def test_first_visit_within_budget(demo_web: DemoWeb) -> None:
    """Login page and a supervisor's first page after login: ≤ 150 KB each on a first visit."""
    anon = TestClient(demo_web.app, base_url=BASE_URL)  # type: ignore[arg-type]
    assert _wire_size(anon, "/login") <= BUDGET
    sup = demo_web.client("supervisor")
    home = sup.get("/", follow_redirects=False).headers["location"]
    assert _wire_size(sup, home) <= BUDGET
    # every compressible asset is stored compressed and decompresses to itself
    for name, a in ASSETS.items():
        if a.gz is not None:
            assert gzip.decompress(a.gz) == a.body, name
