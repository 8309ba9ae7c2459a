"""The hand-off state machine: one table, a pure function, effects as data.

Statuses and the help-desk words staff know from other tools:
    bot      – the bot answers (no ticket yet)
    waiting  – handed off, nobody has taken it (open, unassigned / pending)
    human    – a staff member owns it; the bot is silent except for emergencies (open, assigned)
    snoozed  – set aside until a time, then back in the queue (snoozed)
    resolved – closed (resolved); the contact's next message starts a new conversation

zaitaku_desk.lifecycle.apply is the one interpreter of this table: every change of a conversation's
status, by the bot, staff or a timer, goes through it.
"""

from __future__ import annotations

from enum import Enum

STATUSES = ("bot", "waiting", "human", "snoozed", "resolved")
HELPDESK_LABELS = {
    "bot": ("ボット対応中", "bot"),
    "waiting": ("対応待ち", "pending"),
    "human": ("担当者対応中", "open"),
    "snoozed": ("保留中", "snoozed"),
    "resolved": ("解決済み", "resolved"),
}


class Effect(str, Enum):
    NOTIFY_STAFF = "notify_staff"  # post / re-post the hand-off to the staff queue
    ALERT_ON_CALL = "alert_on_call"  # emergency: alert the nurse on duty at once
    RECORD_HANDOFF = "record_handoff"  # stamp handed_off_at
    SET_ASSIGNEE = "set_assignee"
    CLEAR_ASSIGNEE = "clear_assignee"
    RECORD_RESOLVED = "record_resolved"  # stamp resolved_at
    ASK_SATISFACTION = "ask_satisfaction"  # 「ご相談は役に立ちましたか」
    RESUME = "resume"  # back from 保留: to its owner when it has one, else to the queue


class InvalidTransition(ValueError):
    def __init__(self, status: str, event: str) -> None:
        super().__init__(f"event {event!r} is not allowed in status {status!r}")
        self.status, self.event = status, event


E = Effect
# (status, event) → (new status, effects). Anything missing is not allowed.
TRANSITIONS: dict[tuple[str, str], tuple[str, tuple[Effect, ...]]] = {
    ("bot", "handoff"): ("waiting", (E.RECORD_HANDOFF, E.NOTIFY_STAFF)),
    ("bot", "emergency"): ("waiting", (E.RECORD_HANDOFF, E.ALERT_ON_CALL, E.NOTIFY_STAFF)),
    ("bot", "claim"): ("human", (E.RECORD_HANDOFF, E.SET_ASSIGNEE)),
    ("bot", "resolve"): ("resolved", (E.RECORD_RESOLVED,)),
    ("waiting", "handoff"): ("waiting", ()),  # already in the queue: nothing new to announce
    ("waiting", "emergency"): ("waiting", (E.ALERT_ON_CALL, E.NOTIFY_STAFF)),
    ("waiting", "claim"): ("human", (E.SET_ASSIGNEE,)),
    ("waiting", "resolve"): ("resolved", (E.RECORD_RESOLVED, E.ASK_SATISFACTION)),
    ("waiting", "return_to_bot"): ("bot", (E.CLEAR_ASSIGNEE,)),
    ("waiting", "snooze"): ("snoozed", ()),
    ("human", "handoff"): ("human", ()),
    ("human", "emergency"): ("human", (E.ALERT_ON_CALL,)),
    ("human", "claim"): ("human", (E.SET_ASSIGNEE,)),  # reassignment; the race is settled in storage
    ("human", "resolve"): ("resolved", (E.RECORD_RESOLVED, E.ASK_SATISFACTION)),
    ("human", "return_to_bot"): ("bot", (E.CLEAR_ASSIGNEE,)),
    ("human", "snooze"): ("snoozed", ()),
    ("snoozed", "wake"): ("waiting", (E.RESUME, E.NOTIFY_STAFF)),
    ("snoozed", "contact_message"): ("waiting", (E.RESUME, E.NOTIFY_STAFF)),
    ("snoozed", "handoff"): ("waiting", (E.RESUME, E.NOTIFY_STAFF)),
    ("snoozed", "emergency"): ("waiting", (E.RESUME, E.ALERT_ON_CALL, E.NOTIFY_STAFF)),
    ("snoozed", "claim"): ("human", (E.SET_ASSIGNEE,)),
    ("snoozed", "resolve"): ("resolved", (E.RECORD_RESOLVED, E.ASK_SATISFACTION)),
    ("snoozed", "return_to_bot"): ("bot", (E.CLEAR_ASSIGNEE,)),
}


def transition(status: str, event: str) -> tuple[str, tuple[Effect, ...]]:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None


def allowed_from(event: str) -> tuple[str, ...]:
    """The statuses in which `event` may happen."""
    return tuple(status for status in STATUSES if (status, event) in TRANSITIONS)


def bot_may_speak(status: str) -> bool:
    """The one rule against bot and human talking over each other (checked again at send time)."""
    return status != "human"
