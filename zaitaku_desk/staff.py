"""Staff accounts: explicit mapping to chat-tool identities, API tokens stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

from db.models import Staff
from db.session import Database
from knowledge.store import audit

ROLES = ("nurse", "msw", "coordinator", "admin")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_staff(db: Database, name: str, role: str, slack_user: str | None = None,
                 actor: str = "cli") -> tuple[int, str]:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    token = "zd_" + secrets.token_urlsafe(32)
    with db.session() as session:
        staff = Staff(name=name, role=role, slack_user_id=slack_user or None, token_hash=hash_token(token))
        session.add(staff)
        session.flush()
        audit(session, actor, "staff.create", "staff", str(staff.id), {"role": role, "slack_user": slack_user})
        return staff.id, token
