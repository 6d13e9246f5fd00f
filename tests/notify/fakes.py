"""Loopback stand-ins for the WeCom/DingTalk robots and an SMTP server, plus a fake clock.

Each server runs in a thread started by the test on 127.0.0.1 with a free port, records what it
received, and follows a script of answers (HTTP 500, an errcode, ...) before answering normally.
The DingTalk fake checks the 加签 signature exactly as DingTalk documents it and refuses a bad one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socketserver
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.sleeps.append(seconds)
        self.t += seconds


@dataclass
class RobotRequest:
    path: str
    query: dict[str, list[str]]
    raw_query: str
    payload: Any
    content_type: str


@dataclass
class FakeRobot:
    """A group robot. ``plan`` holds the answers for the next requests as (HTTP status, JSON)."""

    kind: str  # "wecom" or "dingtalk"
    secret: str | None = None
    plan: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[RobotRequest] = field(default_factory=list)
    accepted: list[Any] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, n: int, status: int = 500, body: dict[str, Any] | None = None) -> None:
        self.plan.extend([(status, body or {"errcode": -1, "errmsg": "internal error"})] * n)

    def errcode_next(self, n: int, errcode: int, errmsg: str = "error") -> None:
        self.plan.extend([(200, {"errcode": errcode, "errmsg": errmsg})] * n)

    def answer(self, req: RobotRequest) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.requests.append(req)
            if self.plan:
                return self.plan.pop(0)
            if self.kind == "dingtalk" and self.secret is not None:
                problem = self.check_signature(req)
                if problem:
                    return 200, {"errcode": 310000, "errmsg": f"sign not match: {problem}"}
            self.accepted.append(req.payload)
            return 200, {"errcode": 0, "errmsg": "ok"}

    def check_signature(self, req: RobotRequest) -> str | None:
        """DingTalk's check: timestamp within an hour; sign = b64(HMAC-SHA256(ts\\nsecret))."""
        assert self.secret is not None
        ts = req.query.get("timestamp", [""])[0]
        sign = req.query.get("sign", [""])[0]  # parse_qs has already URL-decoded it
        if not ts.isdigit() or not sign:
            return "timestamp or sign missing"
        if abs(int(ts) - time.time() * 1000) > 3600 * 1000:
            return "timestamp too far from now"
        mac = hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(), hashlib.sha256)
        if not hmac.compare_digest(base64.b64encode(mac.digest()).decode(), sign):
            return "bad signature"
        return None


@contextmanager
def robot_server(robot: FakeRobot) -> Iterator[FakeRobot]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            try:
                payload = json.loads(raw.decode("utf-8"))
            except ValueError:
                payload = None
            req = RobotRequest(parts.path, urllib.parse.parse_qs(parts.query), parts.query,
                               payload, self.headers.get("Content-Type", ""))
            status, body = robot.answer(req)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    if robot.kind == "wecom":
        robot.url = f"http://{host}:{port}/cgi-bin/webhook/send?key=test-key"
    else:
        robot.url = f"http://{host}:{port}/robot/send?access_token=test-token"
    try:
        yield robot
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class FakeSmtp:
    """A minimal ESMTP server (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT)."""

    fail_next: int = 0  # answer MAIL FROM with 451 this many times
    reject: set[str] = field(default_factory=set)  # RCPT TO addresses answered 550
    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    security: str = "none"  # "ssl": TLS from the start; "starttls": offers STARTTLS
    tls: ssl.SSLContext | None = None  # server-side context for ssl/starttls
    tls_used: list[bool] = field(default_factory=list)  # per mail: was the session encrypted
    host: str = "127.0.0.1"
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def smtp_server(smtp: FakeSmtp) -> Iterator[FakeSmtp]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write(line.encode() + b"\r\n")

        def start_tls(self) -> None:
            assert smtp.tls is not None
            self.request = smtp.tls.wrap_socket(self.request, server_side=True)
            self.rfile = self.request.makefile("rb")
            self.wfile = self.request.makefile("wb", buffering=0)
            self.encrypted = True

        def handle(self) -> None:
            self.encrypted = False
            if smtp.security == "ssl":
                self.start_tls()
            self.reply("220 fake.local ESMTP")
            sender: str | None = None
            rcpts: list[str] = []
            while True:
                raw = self.rfile.readline()
                if not raw:
                    return
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb = line.split(" ", 1)[0].upper()
                arg = line[len(verb):].strip()
                if verb == "EHLO":
                    self.reply("250-fake.local")
                    if smtp.security == "starttls" and not self.encrypted:
                        self.reply("250-STARTTLS")
                    self.reply("250-AUTH PLAIN")
                    self.reply("250 8BITMIME")
                elif verb == "STARTTLS" and smtp.security == "starttls":
                    self.reply("220 ready to start TLS")
                    self.start_tls()
                elif verb == "HELO":
                    self.reply("250 fake.local")
                elif verb == "AUTH":
                    mech, _, initial = arg.partition(" ")
                    _, user, password = base64.b64decode(initial).decode().split("\0")
                    with smtp.lock:
                        smtp.logins.append((user, password))
                    self.reply("235 2.7.0 Authentication successful")
                elif verb == "MAIL":
                    with smtp.lock:
                        failing = smtp.fail_next > 0
                        if failing:
                            smtp.fail_next -= 1
                    if failing:
                        self.reply("451 4.3.0 try again later")
                    else:
                        sender = arg.split(":", 1)[1].split()[0].strip("<>")
                        rcpts = []
                        self.reply("250 OK")
                elif verb == "RCPT":
                    addr = arg.split(":", 1)[1].split()[0].strip("<>")
                    if addr in smtp.reject:
                        self.reply("550 5.1.1 no such user")
                    else:
                        rcpts.append(addr)
                        self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with .")
                    lines: list[bytes] = []
                    while True:
                        d = self.rfile.readline()
                        if d in (b".\r\n", b""):
                            break
                        lines.append(d[1:] if d.startswith(b"..") else d)
                    with smtp.lock:
                        smtp.mails.append(Mail(sender or "", rcpts, b"".join(lines)))
                        smtp.tls_used.append(self.encrypted)
                    self.reply("250 OK queued")
                elif verb in ("RSET", "NOOP"):
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                              daemon=True)
    thread.start()
    smtp.host, smtp.port = server.server_address[:2]
    try:
        yield smtp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
