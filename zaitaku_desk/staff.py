"""Staff accounts: explicit mapping to chat-tool identities, API tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.roles import Role
from db.models import ConsoleSession, Staff, utcnow
from db.session import Database
from knowledge.store import audit

ROLES = tuple(Role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_by_token(session: Session, token: str) -> Staff | None:
    """The active staff member whose API token this is (compared by hash only)."""
    return session.scalars(select(Staff).where(Staff.token_hash == hash_token(token), Staff.active)).first()


def new_token() -> str:
    """A fresh API token (shown once; only its hash is stored)."""
    return "zd_" + secrets.token_urlsafe(32)


def add_staff(session: Session, name: str, role: str, slack_user: str | None, actor: str) -> tuple[Staff, str]:
    """A new staff account with its first token, audited. IntegrityError: the Slack user is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = new_token()
    staff = Staff(name=name, role=str(role), slack_user_id=slack_user or None, token_hash=hash_token(token))
    session.add(staff)
    session.flush()
    audit(session, actor, "staff.create", "staff", str(staff.id), {"role": str(role), "slack_user": slack_user})
    return staff, token


class StaffError(ValueError):
    """An account change refused (Japanese message): an admin may not lock themself out."""


def _not_self(staff: Staff, actor: str, what: str) -> None:
    if actor == f"staff:{staff.id}":
        raise StaffError(f"自分自身の{what}はできません（ほかの管理者に依頼してください）。")


def issue_token(session: Session, staff: Staff, actor: str) -> str:
    """A new token for `staff`, replacing the old one and ending their console sessions; shown once."""
    token = new_token()
    staff.token_hash = hash_token(token)
    end_console_sessions(session, staff.id)
    audit(session, actor, "staff.token_issue", "staff", str(staff.id))
    return token


def revoke_token(session: Session, staff: Staff, actor: str) -> None:
    _not_self(staff, actor, "トークンの無効化")
    staff.token_hash = None
    end_console_sessions(session, staff.id)
    audit(session, actor, "staff.token_revoke", "staff", str(staff.id))


def update_staff(session: Session, staff: Staff, changes: dict[str, Any], actor: str) -> None:
    """Change name, role, Slack user or active, audited; a deactivated account is logged out at once.
    IntegrityError: the Slack user is taken."""
    if changes.get("active") is False or changes.get("role", Role.ADMIN) != Role.ADMIN:
        _not_self(staff, actor, "管理者の役割を外すこと・無効化")
    before = {key: getattr(staff, key) for key in changes}
    for key, value in changes.items():
        setattr(staff, key, value)
    session.flush()
    if changes.get("active") is False:
        end_console_sessions(session, staff.id)
    audit(session, actor, "staff.update", "staff", str(staff.id), {"before": before, "after": changes})


def create_staff(db: Database, name: str, role: str, slack_user: str | None = None,
                 actor: str = "cli") -> tuple[int, str]:
    with db.session() as session:
        staff, token = add_staff(session, name, role, slack_user, actor)
        return staff.id, token


# -- console sessions: the browser holds a random secret, the database its hash ----------------------

def open_console_session(session: Session, staff: Staff, hours: float) -> str:
    """A new login for `staff`; returns the cookie's secret (expired sessions are swept on the way)."""
    now = utcnow()
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    secret = secrets.token_urlsafe(32)
    session.add(ConsoleSession(id_hash=hash_token(secret), staff_id=staff.id, created_at=now,
                               expires_at=now + timedelta(hours=hours)))
    return secret


def console_staff(session: Session, secret: str | None) -> Staff | None:
    """The active staff member behind a console cookie, while the session lasts."""
    if not secret:
        return None
    return session.scalars(select(Staff).join(ConsoleSession, ConsoleSession.staff_id == Staff.id).where(
        ConsoleSession.id_hash == hash_token(secret), ConsoleSession.expires_at > utcnow(), Staff.active)).first()


def close_console_session(session: Session, secret: str | None) -> None:
    if secret:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == hash_token(secret)))


def end_console_sessions(session: Session, staff_id: int) -> None:
    """Log the staff member out everywhere (their token changed or was revoked, or they left)."""
    session.execute(delete(ConsoleSession).where(ConsoleSession.staff_id == staff_id))
