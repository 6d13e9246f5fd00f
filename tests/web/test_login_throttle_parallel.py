"""The login throttle holds under 100 parallel wrong passwords (issue 19, bounded cost): the check
and the recording of an attempt are one locked step, so at most ``web.login_max_failures``
passwords are checked (Argon2, the expensive work) and every other attempt is refused as locked
before any check — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from zhuizong.access import users
from zhuizong.store.db import atomic
from zhuizong.web import security
from zhuizong.web.security import LoginResult
from zhuizong.workspace import Workspace

PARALLEL = 100


def test_one_hundred_parallel_wrong_passwords(workspace: Workspace,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with atomic(workspace.engine) as conn:
        users.create_user(conn, "target", "目标", roles=["supervisor"], password="right-pw-123456")
    checked = 0
    lock = threading.Lock()
    real = security.verify_password

    def counting(password: str, password_hash: str) -> Any:
        nonlocal checked
        with lock:
            checked += 1
        return real(password, password_hash)

    monkeypatch.setattr(security, "verify_password", counting)
    start = threading.Barrier(PARALLEL)

    def attempt(i: int) -> str:
        start.wait()
        result, token = security.login(workspace, "target", f"wrong-{i}", "10.0.0.1")
        assert token is None
        return str(result)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(attempt, range(PARALLEL)))
    limit = workspace.settings.web.login_max_failures
    assert checked == limit, f"{checked} passwords checked, the throttle allows {limit}"
    assert results.count(str(LoginResult.BAD)) == checked
    assert results.count(str(LoginResult.LOCKED)) == PARALLEL - checked
    # and the right password is refused too while the lock lasts (nothing to guess with)
    assert security.login(workspace, "target", "right-pw-123456", "10.0.0.1")[0] == LoginResult.LOCKED
