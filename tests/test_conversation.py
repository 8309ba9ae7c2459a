"""The hand-off state machine, table-driven: who may speak, and what each act sets off."""

from __future__ import annotations

import pytest

from bot.conversation import STATUSES, TRANSITIONS, Effect, InvalidTransition, bot_may_speak, transition

CASES = [
    ("bot", "handoff", "waiting", {Effect.RECORD_HANDOFF, Effect.NOTIFY_STAFF}),
    ("bot", "emergency", "waiting", {Effect.ALERT_ON_CALL, Effect.NOTIFY_STAFF}),
    ("waiting", "handoff", "waiting", set()),
    ("waiting", "claim", "human", {Effect.SET_ASSIGNEE}),
    ("human", "emergency", "human", {Effect.ALERT_ON_CALL}),
    ("human", "resolve", "resolved", {Effect.RECORD_RESOLVED, Effect.ASK_SATISFACTION}),
    ("human", "return_to_bot", "bot", {Effect.CLEAR_ASSIGNEE}),
    ("snoozed", "contact_message", "waiting", {Effect.RESUME, Effect.NOTIFY_STAFF}),
    ("snoozed", "wake", "waiting", {Effect.RESUME, Effect.NOTIFY_STAFF}),
]


@pytest.mark.parametrize(("status", "event", "new_status", "must_include"), CASES)
def test_transition_table(status: str, event: str, new_status: str, must_include: set[Effect]) -> None:
    got, effects = transition(status, event)
    assert got == new_status
    assert must_include <= set(effects)


@pytest.mark.parametrize(("status", "event"), [("resolved", "claim"), ("bot", "return_to_bot"), ("resolved", "resolve")])
def test_illegal_transitions_are_refused(status: str, event: str) -> None:
    with pytest.raises(InvalidTransition):
        transition(status, event)


def test_every_status_in_the_table_is_known() -> None:
    for (status, _event), (new_status, _effects) in TRANSITIONS.items():
        assert status in STATUSES and new_status in STATUSES


def test_only_a_human_owner_silences_the_bot() -> None:
    assert [s for s in STATUSES if not bot_may_speak(s)] == ["human"]


def test_an_emergency_alerts_whatever_the_status() -> None:
    for status in ("bot", "waiting", "human", "snoozed"):
        assert Effect.ALERT_ON_CALL in transition(status, "emergency")[1]
