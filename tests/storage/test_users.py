"""Manager-view users: Argon2 hashes, logins, disabling and resets, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from storage.db import session_scope
from storage.models import User
from storage.users import (
    UserError,
    active_user,
    add_user,
    disable_user,
    list_users,
    reset_password,
    verify_login,
)

PASSWORD = "correct horse battery"


def test_password_is_stored_only_as_an_argon2id_hash(engine: Engine) -> None:
    add_user(engine, "anna", PASSWORD, "manager")
    with session_scope(engine) as session:
        stored = session.scalar(select(User).where(User.username == "anna"))
    assert stored is not None and stored.role == "manager" and stored.active
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_login_needs_the_right_password_and_ignores_username_case(engine: Engine) -> None:
    add_user(engine, "Anna", PASSWORD, "viewer")
    assert verify_login(engine, "anna", PASSWORD) is not None
    assert verify_login(engine, " ANNA ", PASSWORD) is not None
    assert verify_login(engine, "anna", PASSWORD + "!") is None
    assert verify_login(engine, "nobody", PASSWORD) is None


def test_disabled_user_cannot_log_in_and_loses_an_open_session(engine: Engine) -> None:
    user = add_user(engine, "bram", PASSWORD, "manager")
    assert user.id is not None and active_user(engine, user.id) is not None
    disable_user(engine, "bram")
    assert verify_login(engine, "bram", PASSWORD) is None
    assert active_user(engine, user.id) is None


def test_reset_sets_a_new_password_and_role_and_enables_again(engine: Engine) -> None:
    add_user(engine, "carla", PASSWORD, "viewer")
    disable_user(engine, "carla")
    reset_password(engine, "carla", "another long password", role="admin")
    assert verify_login(engine, "carla", PASSWORD) is None
    user = verify_login(engine, "carla", "another long password")
    assert user is not None and user.role == "admin"


def test_user_commands_refuse_what_they_cannot_do(engine: Engine) -> None:
    add_user(engine, "dirk", PASSWORD)
    with pytest.raises(UserError, match="exists already"):
        add_user(engine, "DIRK", PASSWORD)
    with pytest.raises(UserError, match="unknown role"):
        add_user(engine, "eva", PASSWORD, "superuser")
    with pytest.raises(UserError, match="at least"):
        add_user(engine, "eva", "short")
    with pytest.raises(UserError, match="no user"):
        disable_user(engine, "nobody")
    with pytest.raises(UserError, match="no user"):
        reset_password(engine, "nobody", PASSWORD)
    assert [u.username for u in list_users(engine)] == ["dirk"]
