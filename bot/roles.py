"""Roles, in one place: who staff are, whom a hand-off needs, and what each is called where.

Staff roles (`Role`) are those of accounts; a hand-off needs a nurse, an MSW, or either (`NEEDED`).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    NURSE = "nurse"
    MSW = "msw"
    COORDINATOR = "coordinator"
    ADMIN = "admin"

    @property
    def title(self) -> str:  # type: ignore[override]
        """How a staff member signs a message to a resident: 【拠点名 看護師 佐藤】."""
        return TITLES[self]


NEEDED = ("nurse", "msw", "any")  # whom a hand-off needs
OVERRIDE_ROLES = (Role.COORDINATOR, Role.ADMIN)  # may close, return, snooze or reassign what another owns
KNOWLEDGE_ROLES = (Role.COORDINATOR, Role.ADMIN)  # change FAQ and resources
REPORT_ROLES = (Role.COORDINATOR, Role.ADMIN)  # see the annual report
TEAM_ROLES = (Role.COORDINATOR, Role.ADMIN)  # set the duty rota and the canned replies (定型文)

# Short names for staff screens (console, Slack), for staff roles and needed roles alike.
LABELS = {"nurse": "看護師", "msw": "MSW", "any": "看護師またはMSW", "coordinator": "コーディネーター",
          "admin": "管理者"}
# Words for residents: whom they are being handed to.
RESIDENT_NAMES = {"nurse": "看護師", "msw": "医療ソーシャルワーカー（MSW）",
                  "any": "看護師または医療ソーシャルワーカー（MSW）"}
TITLES = {Role.NURSE: "看護師", Role.MSW: "医療ソーシャルワーカー", Role.COORDINATOR: "コーディネーター",
          Role.ADMIN: "スタッフ"}


def label(role: str | None) -> str:
    return LABELS.get(role or "", "未判定")
