"""Ctrl-C (SIGINT) during ``zhuizong import`` (issue 19, item 4: long imports cancellable).

A real SIGINT is sent by the import process to itself at a chosen step (a wrapper replaces one
function of the pipeline by "do the step, then ``os.kill(getpid(), SIGINT)``", so the signal
arrives exactly there, not after a sleep). On SQLite and PostgreSQL: exit code 130, the bilingual
message, no traceback, and every table row for row as before — or, for a signal that comes after
the commit, a message that says the file *was* imported, with its batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.importing.hostile.cases import AGENT, PREM, Case
from tests.importing.hostile.test_corpus import counts, load_base, snapshot
from zhuizong.workspace import Workspace

#: the wrapper: patch ``target`` (module:attribute) to send SIGINT after its ``nth`` call
WRAPPER = r"""
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even when the
# test runner was started with SIGINT ignored
import importlib
from zhuizong.cli.main import main
from zhuizong.importing import service
service.import_file.__kwdefaults__["chunk_chars"] = int(os.environ["ZZ_TEST_CHUNK"])
mod_name, attr = os.environ["ZZ_TEST_TARGET"].split(":")
mod = importlib.import_module(mod_name)
real = getattr(mod, attr)
nth = int(os.environ["ZZ_TEST_NTH"])
calls = [0]
def step(*a, **kw):
    out = real(*a, **kw)
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGINT)
    return out
setattr(mod, attr, step)
main(sys.argv[1:])
"""

SVC = "zhuizong.importing.service"
#: name → (kind, rows, chunk characters, function that signals, on its nth call, committed?)
POINTS = {
    # streamed (chunks of 2,000 characters): while staging the second chunk
    "streamed_staging": ("premiums", 300, 2000, f"{SVC}:load_stage", 2, False),
    # streamed: after the merge into premiums, before the batch is completed
    "streamed_merged": ("premiums", 300, 2000, f"{SVC}:merge_stage", 1, False),
    # whole file: after the upsert into premiums
    "whole_upserted": ("premiums", 300, 10_000_000, f"{SVC}:upsert", 1, False),
    # agents: after the rows and the rebuilt history, inside the transaction
    "agents_history": ("agents", 50, 10_000_000, f"{SVC}:rebuild_history", 1, False),
    # after the commit: the file is imported, and the message says so
    "after_commit": ("premiums", 300, 10_000_000, f"{SVC}:_transaction", 1, True),
}


def _file(kind: str, n: int) -> str:
    if kind == "agents":
        return AGENT + "".join(f"Q{i:04d},新人{i},2026-01-05,T011,AG,A002\n" for i in range(n))
    return PREM + "".join(f"S{i:06d},SP{i:06d},A002,P01,2026-05-06,new,{100 + i},10\n"
                          for i in range(n))


@pytest.mark.parametrize("point", sorted(POINTS))
def test_sigint_leaves_nothing_and_says_so(home: Path, tmp_path: Path, point: str) -> None:
    kind, n, chunk, target, nth, committed = POINTS[point]
    load_base(tmp_path, Case(point, "codes", kind, ""))
    path = tmp_path / f"{kind}.csv"
    path.write_text(_file(kind, n), encoding="utf-8")
    ws = Workspace.open(home)
    try:
        before, sizes = snapshot(ws), counts(ws)
        env = {"ZZ_TEST_TARGET": target, "ZZ_TEST_NTH": str(nth), "ZZ_TEST_CHUNK": str(chunk)}
        p = subprocess.run([sys.executable, "-c", WRAPPER, "import", kind, str(path)],
                           capture_output=True, text=True, timeout=300,
                           env={**os.environ, **env})
        assert "Traceback" not in p.stdout + p.stderr, p.stderr
        assert p.returncode == 130, (p.returncode, p.stdout, p.stderr)
        after = counts(ws)
        if committed:
            assert "after it committed: the file was imported (batch" in p.stderr, p.stderr
            assert "提交之后" in p.stderr
            assert after[kind] == sizes[kind] + n
            assert after["import_batches"] == sizes["import_batches"] + 1
        else:
            assert "the import was interrupted (Ctrl-C); nothing was imported" in p.stderr, p.stderr
            assert "导入已中断 (Ctrl-C), 未导入任何行" in p.stderr
            assert after == sizes and snapshot(ws) == before
            # the workspace works afterwards: the same file imports whole
            ok = subprocess.run([sys.executable, "-m", "zhuizong.cli.main", "import", kind,
                                 str(path), "--format", "json"],
                                capture_output=True, text=True, timeout=300)
            assert ok.returncode == 0, ok.stderr
            assert json.loads(ok.stdout)["inserted"] == n
    finally:
        ws.engine.dispose()
