"""Worst cases of hostile input (issue 19): time and peak memory until the refusal.

Each import case runs ``zhuizong import`` in a fresh process under ``/usr/bin/time -v`` (wall
time, maximum resident set); the body cap is measured against a live ``zhuizong serve``: an
anonymous 600 MB body streamed to ``/login`` (time to the answer, the server's peak
memory before and after). Prints a Markdown table for docs/perf.md.

    python bench/bench_hostile.py [--work /tmp/bench-hostile] [--rows N] [--valid-rows N]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
from openpyxl import Workbook

EXE = str(Path(sys.executable).with_name("zhuizong"))
PREM = "txn_id,policy_no,agent_code,product_code,txn_date,txn_type,amount\n"


def _run(home: Path, *args: str) -> tuple[float, float, int, str]:
    """(wall s, max RSS MB, exit code, last line of stderr) of one CLI run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", EXE, "--home", str(home), *args],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env,
                       timeout=600)
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    out = [ln.strip(" │|") for ln in (r.stdout + r.stderr).splitlines()
           if re.search(r"[\u4e00-\u9fff]", ln) and "错误 / errors" not in ln]
    return wall, rss, r.returncode, (out[0].strip() if out else "")[:100]


def _xlsx(change: bytes) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(PREM.strip().split(","))
    ws.append(["T1", "P1", "A1", "MAIN", "2026-05-05", "new", 100])
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", data)
                data = data.replace(b"<sheetData", change + b"<sheetData", 1)
            z.writestr(item, data)
    return out.getvalue()


def _xlsx_rows(rows: bytes) -> bytes:
    """The small workbook with ``rows`` (sheet XML) added after its data, behind the modest
    ``<dimension>`` openpyxl wrote."""
    data = _xlsx(b"")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            d = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                d = d.replace(b"</sheetData>", rows + b"</sheetData>", 1)
            z.writestr(item, d)
    return out.getvalue()


def _cells(col: bytes, first: int, n: int) -> bytes:
    return b"".join(b'<row r="%d"><c r="%s%d" t="n"><v>1</v></c></row>' % (i, col, i)
                    for i in range(first, first + n))


def _big_valid_csv(path: Path, rows: int) -> None:
    """A valid UTF-8 premium file of ``rows`` rows (new keys: a dry run would insert them all)."""
    with path.open("w", encoding="utf-8") as f:
        f.write(PREM)
        chunk = 100_000
        for start in range(0, rows, chunk):
            f.write("".join(f"V{i:010d},Q{i:010d},A1,MAIN,2026-05-05,new,{100 + i % 5000}.00\n"
                            for i in range(start, min(start + chunk, rows))))


def _big_mixed_csv(path: Path, rows: int) -> None:
    """A UTF-8 premium file of ``rows`` rows (its first row has a Chinese policy number) with one
    GBK-encoded row at the very end."""
    with path.open("wb") as f:
        f.write(PREM.encode())
        f.write("T_first,P张伟,A1,MAIN,2026-05-05,new,100\n".encode())
        line = "T{0},P{0},A1,MAIN,2026-05-05,new,100\n"
        chunk = 100_000
        for start in range(0, rows - 1, chunk):
            f.write("".join(line.format(i) for i in range(start, min(start + chunk, rows - 1)))
                    .encode())
        f.write("T9999999,P王芳,A1,MAIN,2026-05-05,new,100\n".encode("gbk"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _vm_hwm(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else float("nan")


def _body(total: int) -> Iterator[bytes]:
    block = b" " * (1 << 20)
    sent = 0
    yield b'{"x": "'
    while sent < total:
        yield block
        sent += len(block)
    yield b'"}'


def _body_cap(home: Path) -> tuple[float, float, float, int]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHUIZONG_")}
    srv = subprocess.Popen([EXE, "--home", str(home), "serve", "--port", str(port)],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        before = _vm_hwm(srv.pid)
        t0 = time.perf_counter()
        try:
            r = httpx.post(f"http://127.0.0.1:{port}/login", content=_body(600 << 20),
                           headers={"content-type": "application/x-www-form-urlencoded"},
                           timeout=120)
            status = r.status_code
        except httpx.HTTPError:
            status = -1  # the server closed the connection after answering
        wall = time.perf_counter() - t0
        return wall, before, _vm_hwm(srv.pid), status
    finally:
        srv.terminate()
        srv.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/bench-hostile")
    ap.add_argument("--rows", type=int, default=5_000_000, help="rows of the mixed-encoding file")
    ap.add_argument("--valid-rows", type=int, default=0,
                    help="rows of a valid premium file dry-run as well (0: skip; 8 M ≈ 440 MB)")
    a = ap.parse_args()
    work = Path(a.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    home = work / "ws"
    subprocess.run([EXE, "--home", str(home), "init"], check=True, capture_output=True)
    # the reference data the premium rows point to: only the encoding is wrong in the big file
    ref = {"org_units": "org_code,org_name,parent_code,level\nB,营业部,,branch\n",
           "ranks": "rank_code,rank_name,category,level\nAG,业务员,formal,1\n",
           "products": "product_code,product_name,is_main,pay_mode,term_years,fyc_rate,std_factor\n"
                       "MAIN,主险,1,regular,10,0.3,1\n",
           "agents": "agent_code,agent_name,hire_date,org_code,rank_code\nA1,张三,2020-01-06,B,AG\n"}
    for kind, text in ref.items():
        f = work / f"{kind}.csv"
        f.write_text(text, encoding="utf-8")
        subprocess.run([EXE, "--home", str(home), "import", kind, str(f)], check=True,
                       capture_output=True)
    bomb = work / "dimension_bomb.xlsx"
    bomb.write_bytes(_xlsx(b'<dimension ref="A1:XFD1048576"/>'))
    broken = work / "broken_xml.xlsx"
    data = _xlsx(b"")
    src = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(broken, "w") as z:
        for item in src.infolist():
            d = src.read(item.filename)
            z.writestr(item, d[: len(d) // 2] if item.filename.endswith("sheet1.xml") else d)
    mixed = work / "mixed_encoding.csv"
    _big_mixed_csv(mixed, a.rows)
    far_row = work / "far_row.xlsx"
    far_row.write_bytes(_xlsx_rows(_cells(b"A", 900_000_000_000, 1)))
    xfd = work / "xfd_rows.xlsx"
    xfd.write_bytes(_xlsx_rows(_cells(b"XFD", 3, 200_000)))
    cases = [
        (f"XLSX declaring A1:XFD1048576 ({bomb.stat().st_size / 1024:.1f} KB)",
         ("import", "premiums", str(bomb))),
        ("XLSX with truncated sheet XML", ("import", "premiums", str(broken))),
        (f"XLSX with one row numbered 900,000,000,000 ({far_row.stat().st_size / 1024:.1f} KB)",
         ("import", "premiums", str(far_row))),
        (f"XLSX with 200,000 rows holding a cell in column XFD ({xfd.stat().st_size / 1e6:.1f} MB)",
         ("import", "premiums", str(xfd))),
        ("`import premiums /dev/zero`", ("import", "premiums", "/dev/zero")),
        ("`import premiums <a folder>`", ("import", "premiums", str(work))),
        (f"UTF-8 premium file, {a.rows:,} rows ({mixed.stat().st_size / 1e6:.0f} MB), one GBK row "
         "at the end, dry run", ("import", "premiums", str(mixed), "--dry-run")),
    ]
    if a.valid_rows:
        valid = work / "valid.csv"
        _big_valid_csv(valid, a.valid_rows)
        cases.append((f"valid premium file, {a.valid_rows:,} rows "
                      f"({valid.stat().st_size / 1e6:.0f} MB), dry run",
                      ("import", "premiums", str(valid), "--dry-run")))
    print(f"load average before: {os.getloadavg()}")
    print("| case | wall | peak memory | exit | first line of the refusal |")
    print("|---|---|---|---|---|")
    for name, args in cases:
        wall, rss, code, msg = _run(home, *args)
        print(f"| {name} | {wall:.2f} s | {rss:.0f} MB | {code} | {msg} |", flush=True)
    wall, before, after, status = _body_cap(home)
    print(f"| anonymous 600 MB form body to /login | {wall:.2f} s to HTTP {status} | server "
          f"{before:.0f} MB → {after:.0f} MB peak | | |")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
