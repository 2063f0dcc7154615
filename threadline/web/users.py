"""Web users, API tokens and login attempts: argon2 hashes only, never the secret itself."""

from __future__ import annotations

import secrets
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, func, or_, select, update

from threadline.errors import ThreadlineError
from threadline.store.autonomy_schema import api_token, login_attempt, web_user

_hasher = PasswordHasher()
TOKEN_PREFIX = "tlk"
MIN_PASSWORD = 10


@cache
def dummy_hash() -> str:
    """A hash to verify against when the username is unknown, so both cases cost the same
    time. Made on first use, as the web app starts: an argon2 hash takes a tenth of a
    second, and every CLI command imports this module."""
    return _hasher.hash("threadline-no-such-user")


class WebAuthError(ThreadlineError):
    """A password, user or token the web app cannot accept; the message says what to do."""


def has_user(conn: Connection) -> bool:
    return conn.execute(select(func.count()).select_from(web_user)).scalar_one() > 0


def set_password(conn: Connection, username: str, password: str, now: datetime) -> int:
    """Create the user or change their password; changing it ends their sessions."""
    username = username.strip()
    if not username:
        raise WebAuthError("the username is empty: pass --username NAME")
    if len(password) < MIN_PASSWORD:
        raise WebAuthError(f"the password is shorter than {MIN_PASSWORD} characters: "
                           "choose a longer one")
    hashed = _hasher.hash(password)
    row = conn.execute(select(web_user.c.id).where(web_user.c.username == username)).first()
    if row is not None:
        conn.execute(update(web_user).where(web_user.c.id == row.id)
                     .values(password_hash=hashed, updated_at=now))
        return int(row.id)
    result = conn.execute(web_user.insert().values(
        username=username, password_hash=hashed, created_at=now, updated_at=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def check_password(conn: Connection, username: str, password: str) -> int | None:
    """The user id when the password is right, else None."""
    row = conn.execute(select(web_user.c.id, web_user.c.password_hash)
                       .where(web_user.c.username == username.strip())).first()
    try:
        _hasher.verify(row.password_hash if row else dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    return int(row.id) if row else None


def user_stamp(conn: Connection, user_id: int) -> str | None:
    """A fingerprint of the user's password hash: sessions carry it, so a new password (or a
    deleted user) invalidates every session made before."""
    row = conn.execute(select(web_user.c.password_hash).where(web_user.c.id == user_id)).first()
    return row.password_hash[-16:] if row else None


def username_of(conn: Connection, user_id: int) -> str | None:
    return conn.execute(select(web_user.c.username).where(web_user.c.id == user_id)).scalar()


def recent_failures(conn: Connection, remote: str, username: str, since: datetime) -> int:
    """Failed logins since then from this address or for this username (whichever is more)."""
    base = select(func.count()).select_from(login_attempt).where(
        login_attempt.c.success.is_(False), login_attempt.c.at >= since)
    by_remote = conn.execute(base.where(login_attempt.c.remote == remote)).scalar_one()
    by_user = conn.execute(base.where(login_attempt.c.username == username[:128])).scalar_one()
    return int(max(by_remote, by_user))


def record_attempt(conn: Connection, remote: str, username: str, success: bool,
                   now: datetime) -> None:
    conn.execute(login_attempt.insert().values(
        username=username[:128], remote=remote[:64], success=success, at=now))


def prune_attempts(conn: Connection, before: datetime) -> None:
    conn.execute(login_attempt.delete().where(or_(login_attempt.c.at < before)))


def create_token(conn: Connection, name: str, now: datetime) -> str:
    """A new API token; only its hash is stored, so this is the one time it can be shown."""
    secret = secrets.token_urlsafe(32)
    result = conn.execute(api_token.insert().values(
        name=name, token_hash=_hasher.hash(secret), created_at=now))
    key = result.inserted_primary_key
    assert key is not None
    # The id rides in the token so checking it is one hash, not one per stored token.
    return f"{TOKEN_PREFIX}_{int(key[0])}_{secret}"


def check_token(conn: Connection, token: str, now: datetime) -> int | None:
    """The token's id when it is valid, else None."""
    prefix, _, rest = token.strip().partition("_")
    ident, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not ident.isdigit() or not secret:
        return None
    row = conn.execute(select(api_token.c.token_hash).where(api_token.c.id == int(ident))).first()
    if row is None:
        return None
    try:
        _hasher.verify(row.token_hash, secret)
    except (VerificationError, InvalidHashError):
        return None
    conn.execute(update(api_token).where(api_token.c.id == int(ident)).values(last_used_at=now))
    return int(ident)
