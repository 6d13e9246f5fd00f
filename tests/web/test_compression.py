"""Pages are sent compressed, and the CSRF token they carry is masked afresh on every response
(a compressed page must not repeat a secret's bytes: BREACH); a masked token is accepted."""

from __future__ import annotations

import re

from tests.web.conftest import DemoWeb
from zhuizong.web import security


def _token(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def test_pages_are_compressed_and_the_token_masked(demo_web: DemoWeb) -> None:
    c = demo_web.client("admin")
    first = c.get("/tracking", headers={"Accept-Encoding": "gzip"})
    second = c.get("/tracking", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == second.status_code == 200
    assert first.headers.get("content-encoding") == "gzip"
    assert int(first.headers["content-length"]) < len(first.content) * 0.6
    t1, t2 = _token(first.text), _token(second.text)
    assert t1 != t2  # a fresh mask per response
    plain = security.unmask_token(t1)
    assert plain and plain == security.unmask_token(t2) and plain not in first.text
    # the masked token of a page is what its forms send back: accepted
    assert c.post("/logout", data={"csrf_token": t1[:-3] + "xyz"},
                  follow_redirects=False).status_code == 403
    r = c.post("/logout", data={"csrf_token": t1}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login", r.text[:300]


def test_a_small_answer_is_not_compressed(demo_web: DemoWeb) -> None:
    r = demo_web.client("admin").get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "content-encoding" not in r.headers
