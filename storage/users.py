"""Manager-view users: adding, disabling and resetting them, and checking a login.

Passwords are stored only as Argon2id hashes (argon2-cffi, RFC 9106 low-memory profile)."""

from __future__ import annotations

from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from storage.db import session_scope
from storage.models import User

Role = Literal["viewer", "manager", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "manager", "admin")
MIN_PASSWORD_LENGTH = 10

_HASHER = PasswordHasher()
# Verified when the username does not exist, so a wrong name costs as long as a wrong password
# and response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("not a real password, only here to spend the same time")


class UserError(ValueError):
    """A user command that cannot be carried out; the message says what to do instead."""


def _normal(username: str) -> str:
    # Usernames compare case-insensitively: "Anna" and "anna" are one person.
    return username.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def _find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == _normal(username)))


def add_user(engine: Engine, username: str, password: str, role: str = "viewer") -> User:
    """A new, active user; refuses an existing username, an unknown role or a short password."""
    name = _normal(username)
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise UserError("a username is 1-100 characters without spaces")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    _check_password(password)
    with session_scope(engine) as session:
        if _find(session, name) is not None:
            raise UserError(f"user {name!r} exists already; use `cxpulse users reset` instead")
        user = User(username=name, password_hash=_HASHER.hash(password), role=role, active=True)
        session.add(user)
        session.flush()
        return user


def disable_user(engine: Engine, username: str) -> None:
    """The user can no longer log in; a session already open ends at its next request."""
    with session_scope(engine) as session:
        user = _find(session, username)
        if user is None:
            raise UserError(f"no user {_normal(username)!r}")
        user.active = False


def reset_password(engine: Engine, username: str, password: str, role: str | None = None) -> None:
    """A new password (and optionally a new role); also re-enables a disabled user."""
    _check_password(password)
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    with session_scope(engine) as session:
        user = _find(session, username)
        if user is None:
            raise UserError(f"no user {_normal(username)!r}; use `cxpulse users add` instead")
        user.password_hash = _HASHER.hash(password)
        user.active = True
        if role is not None:
            user.role = role


def list_users(engine: Engine) -> list[User]:
    with session_scope(engine) as session:
        return list(session.scalars(select(User).order_by(User.username)))  # type: ignore[arg-type]


def active_user(engine: Engine, user_id: int) -> User | None:
    """The user behind a session, or None when they were disabled or removed since logging in."""
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        return user if user is not None and user.active else None


def verify_login(engine: Engine, username: str, password: str) -> User | None:
    """The active user with this username and password, else None (same cost either way)."""
    with session_scope(engine) as session:
        user = _find(session, username)
        stored = user.password_hash if user is not None else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or not user.active:
            return None
        if _HASHER.check_needs_rehash(stored):
            # Hashing parameters were raised since this hash was made: upgrade it now that the
            # plain password is at hand.
            user.password_hash = _HASHER.hash(password)
        return user
