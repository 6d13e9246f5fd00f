"""Nothing found in the workspace is ever executed or unpickled (issue 14): arbitrary bytes and
malicious pickles planted in every analytic folder — where kept page views and stored request
files used to live — are never loaded by the web app or the CLI, and no module of the package
can load such a thing (no ``pickle``, ``marshal``, ``shelve``, ``eval`` or ``exec`` in ``src``)."""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import zhuizong
from tests.kpi_cli.builders import run_cli
from tests.web.conftest import DEMO_PERIOD, login, small_demo
from zhuizong.demo.service import DEMO_PASSWORD
from zhuizong.web.app import create_app
from zhuizong.workspace import Workspace


class _Trap:
    """Unpickling this creates the directory ``path`` (proof that a file was unpickled)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (str(self.path),))


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    yield from small_demo(tmp_path_factory, "planted")


def _plant(ws: Workspace, marker: Path) -> list[Path]:
    payload = pickle.dumps(_Trap(marker))
    junk = os.urandom(4096)
    base = ws.analytics_dir
    folders = [base, base / "views", base / "kpi_results", base / "views" / "kpi" / ("0" * 20),
               base / "views" / "basic_law" / ("1" * 20), base / "views" / "campaign_live" / ("2" * 20)]
    planted = []
    for d in folders:
        d.mkdir(parents=True, exist_ok=True)
        for name, data in (("a" * 32 + ".pickle", payload), ("b" * 32 + ".parquet", payload),
                           ("c" * 32 + ".pickle", junk), ("state.pickle", payload)):
            (d / name).write_bytes(data)
            planted.append(d / name)
    return planted


def test_planted_files_are_never_loaded(ws: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "UNPICKLED"
    planted = _plant(ws, marker)
    client = login(create_app(ws), "executive", DEMO_PASSWORD)
    for url in ("/dashboard", f"/dashboard?period={DEMO_PERIOD}", f"/report?period={DEMO_PERIOD}",
                "/agents", "/team", "/tracking", "/basic-law", "/campaigns",
                f"/api/v1/kpi?period={DEMO_PERIOD}&metrics=fyp"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    env = {"ZHUIZONG_HOME": str(ws.home)}
    for k, v in env.items():
        os.environ[k] = v
    try:
        code, out, err = run_cli("kpi", "--period", DEMO_PERIOD, "--metrics", "fyp")
        assert code == 0, err
        code, out, err = run_cli("analytics", "build", "--date", "2026-05-31")
        assert code == 0, err
    finally:
        for k in env:
            os.environ.pop(k, None)
    assert not marker.exists(), "a planted pickle was unpickled"
    assert all(p.exists() for p in planted)  # untouched: not read, not "repaired"


def test_the_package_cannot_load_code_or_objects_from_files() -> None:
    src = Path(zhuizong.__file__).parent
    banned = re.compile(r"^\s*(import|from)\s+(pickle|cPickle|marshal|shelve|dill|joblib)\b"
                        r"|\bpickle\.loads?\(|\beval\(|\bexec\(", re.M)
    found = [f"{p.relative_to(src)}: {m.group(0).strip()}" for p in src.rglob("*.py")
             for m in banned.finditer(p.read_text(encoding="utf-8"))]
    assert found == []
