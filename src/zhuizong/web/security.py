"""Sessions, login throttling and CSRF — the web app's security mechanisms, in one place.

* **Sessions** are server-side (table ``web_sessions``): the cookie ``zz_session`` carries a random
  256-bit token, the database only its SHA-256, so a leaked database does not leak sessions. The
  cookie is ``HttpOnly``, ``SameSite=Lax`` and ``Secure`` (setting ``web.cookie_secure``: ``auto``
  = on for HTTPS and for localhost, where browsers accept it over plain HTTP).
* **Throttling**: after ``web.login_max_failures`` wrong passwords in a row for a username (within
  ``web.login_lock_minutes``), further attempts answer HTTP 429 without checking the password.
* **CSRF**: every state-changing request (POST/PUT/PATCH/DELETE) must carry the session's CSRF
  token (form field ``csrf_token`` or header ``X-CSRF-Token``), and a cross-origin ``Origin`` (or
  ``Referer``) is refused. The login form, before any session, uses a double-submit cookie.
* Passwords are Argon2 (pwdlib), re-hashed transparently when the parameters change.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import Connection, and_, delete, desc, select, text, update

from zhuizong.access.users import verify_password
from zhuizong.store import audit
from zhuizong.store.db import atomic
from zhuizong.store.models import table
from zhuizong.workspace import Workspace

COOKIE = "zz_session"
LOGIN_CSRF_COOKIE = "zz_login_csrf"
LANG_COOKIE = "zz_lang"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    token_hash: str
    username: str
    csrf_token: str
    lang: str
    expires_at: dt.datetime


class LoginResult:
    OK = "ok"
    BAD = "bad"
    LOCKED = "locked"


def _recent_failures(conn: Connection, ws: Workspace, username: str) -> bool:
    cfg = ws.settings.web
    la = table("login_attempts")
    since = audit.now() - dt.timedelta(minutes=cfg.login_lock_minutes)
    recent: list[bool] = list(conn.execute(
        select(la.c.ok).where(la.c.username == username, la.c.at >= since)
        .order_by(desc(la.c.at), desc(la.c.id))
        .limit(cfg.login_max_failures)).scalars())
    return len(recent) >= cfg.login_max_failures and not any(recent)


def throttled(ws: Workspace, username: str) -> bool:
    """True when ``username`` had too many wrong passwords in a row, recently."""
    with ws.engine.connect() as conn:
        return _recent_failures(conn, ws, username)


def _lock_username(conn: Connection, username: str) -> None:
    """Serialise the check-and-reserve of one username's attempts. SQLite: the write transaction
    (``BEGIN IMMEDIATE``) already excludes every other writer; PostgreSQL: an advisory lock for
    the transaction, keyed by the username."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                     {"k": f"zz-login:{username}"})


def login(ws: Workspace, username: str, password: str, ip: str | None) -> tuple[str, str | None]:
    """(result, session token). Records the attempt; re-hashes the password when needed.

    The throttle check and the recording of the attempt are one locked step: the attempt is
    recorded as a failure *before* the password is checked (outside the lock, Argon2 is slow) and
    turned into a success when it is right, so 100 parallel wrong passwords get at most
    ``web.login_max_failures`` passwords checked."""
    username = username.strip()
    users, la = table("users"), table("login_attempts")
    with atomic(ws.engine) as conn:
        _lock_username(conn, username)
        if _recent_failures(conn, ws, username):
            audit.record(conn, actor=username or "?", action="login.throttled", object_type="user",
                         object_id=username, detail={"ip": ip})
            return LoginResult.LOCKED, None
        pk = conn.execute(la.insert().values(username=username, ip=ip, at=audit.now(), ok=False)
                          ).inserted_primary_key
        assert pk is not None
        attempt_id = pk[0]
        row = conn.execute(select(users.c.password_hash, users.c.is_active)
                           .where(users.c.username == username)).first()
    ok, new_hash = False, None
    if row is not None and row.password_hash and row.is_active:
        ok, new_hash = verify_password(password, row.password_hash)
    with atomic(ws.engine) as conn:
        audit.record(conn, actor=username or "?", action="login" if ok else "login.failed",
                     object_type="user", object_id=username, detail={"ip": ip})
        if not ok:
            return LoginResult.BAD, None
        conn.execute(update(la).where(la.c.id == attempt_id).values(ok=True))
        if new_hash:
            conn.execute(update(users).where(users.c.username == username).values(password_hash=new_hash))
        token = secrets.token_urlsafe(32)
        now = audit.now()
        conn.execute(table("web_sessions").insert().values(
            token_hash=_hash(token), username=username, csrf_token=secrets.token_urlsafe(32),
            lang=ws.settings.web.default_lang, created_at=now, last_seen_at=now,
            expires_at=now + dt.timedelta(hours=ws.settings.web.session_hours), ip=ip))
        # housekeeping: expired sessions and old attempts
        conn.execute(delete(table("web_sessions")).where(table("web_sessions").c.expires_at < now))
        conn.execute(delete(la).where(la.c.at < now - dt.timedelta(days=90)))
    return LoginResult.OK, token


def session_for(ws: Workspace, token: str | None) -> Session | None:
    if not token:
        return None
    s, users = table("web_sessions"), table("users")
    with ws.engine.connect() as conn:
        row = conn.execute(
            select(s.c.token_hash, s.c.username, s.c.csrf_token, s.c.lang, s.c.expires_at)
            .join(users, users.c.username == s.c.username)
            .where(and_(s.c.token_hash == _hash(token), s.c.expires_at > audit.now(),
                        users.c.is_active.is_(True)))
        ).first()
    if row is None:
        return None
    return Session(row.token_hash, row.username, row.csrf_token, row.lang, row.expires_at)


def logout(ws: Workspace, token: str | None) -> None:
    if not token:
        return
    s = table("web_sessions")
    with atomic(ws.engine) as conn:
        username = conn.execute(select(s.c.username).where(s.c.token_hash == _hash(token))).scalar()
        conn.execute(delete(s).where(s.c.token_hash == _hash(token)))
        if username:
            audit.record(conn, actor=username, action="logout", object_type="user", object_id=username)


def set_lang(ws: Workspace, session: Session, lang: str) -> None:
    s = table("web_sessions")
    with atomic(ws.engine) as conn:
        conn.execute(update(s).where(s.c.token_hash == session.token_hash).values(lang=lang))


def end_sessions(ws: Workspace, username: str, keep: str | None = None) -> None:
    """Log ``username`` out everywhere (after a password change), except the session ``keep``."""
    s = table("web_sessions")
    with atomic(ws.engine) as conn:
        q = delete(s).where(s.c.username == username)
        if keep:
            q = q.where(s.c.token_hash != keep)
        conn.execute(q)


def mask_token(token: str) -> str:
    """``token`` as one response carries it: a fresh random pad, then the token XOR the pad
    (base64url). Pages are sent compressed; a secret that changes its bytes on every response
    cannot be guessed through the compressed size (BREACH)."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))
                                    ).decode().rstrip("=")


def unmask_token(value: str) -> str | None:
    """The token a :func:`mask_token` value carries, or None when it is not one."""
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, binascii.Error):
        return None
    n = len(data) // 2
    if not n or len(data) % 2:
        return None
    try:
        return bytes(a ^ b for a, b in zip(data[:n], data[n:], strict=True)).decode()
    except UnicodeDecodeError:
        return None


def tokens_match(sent: str | None, secret: str | None) -> bool:
    """Whether ``sent`` (a page's masked token, or the plain token API clients get from
    ``/api/v1/me``) stands for ``secret``."""
    if not sent or not secret:
        return False
    if hmac.compare_digest(str(sent), str(secret)):
        return True
    plain = unmask_token(str(sent))
    return plain is not None and hmac.compare_digest(plain, str(secret))


def same_origin(origin: str | None, referer: str | None, host: str | None, scheme: str) -> bool:
    """False when the request names another origin (Origin header, else Referer)."""
    src = origin or referer
    if not src or src == "null":
        return origin is None  # "null" origin (sandboxed/opaque) is refused; no header is allowed
    parts = urlsplit(src)
    return bool(host) and parts.netloc == host


def cookie_secure(ws: Workspace, scheme: str, host: str | None) -> bool:
    mode = ws.settings.web.cookie_secure
    if mode == "always":
        return True
    if mode == "never":
        return False
    hostname = (host or "").split(":")[0]
    return scheme == "https" or hostname in ("localhost", "127.0.0.1", "::1", "[::1]")
