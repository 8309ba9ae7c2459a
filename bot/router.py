"""The routing decision for one message, in the order SPEC.md gives.

emergency → explicit request for a person → resource search → a personal situation that needs
a professional → FAQ (answer, or alternatives) → small talk → hand-off when nothing fits.
(Whether a person owns the conversation is decided by the desk, which knows the conversation.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot import triage
from bot.faq_match import FaqMatcher, Match
from bot.resource_query import ResourceQuery, looks_like_resource_search, parse_resource_query

# Score bands of the FAQ matcher: answer at or above ANSWER, offer alternatives at or above
# ALTERNATIVES, hand off below. Chosen from the dev set (see README, "Routing").
ANSWER = 0.86
ALTERNATIVES = 0.70


@dataclass
class Decision:
    route: str  # faq | emergency | handoff | resource | other
    faq_id: str | None = None
    band: str | None = None  # for faq: "answer" or "alternatives"
    matches: list[Match] = field(default_factory=list)
    role: str | None = None
    resource: ResourceQuery | None = None

    @property
    def top(self) -> list[str]:
        return [m.faq_id for m in self.matches]

    def prediction(self, text: str) -> dict[str, Any]:
        """The shape ../shared/eval/README.md gives for predictions."""
        return {
            "text": text,
            "route": self.route,
            "faq_id": self.faq_id,
            "top": self.top,
            "role": self.role,
            "resource": self.resource.to_dict() if self.route == "resource" and self.resource else None,
        }


class Router:
    def __init__(self, matcher: FaqMatcher) -> None:
        self.matcher = matcher

    def decide(self, text: str) -> Decision:
        if triage.is_emergency(text):
            return Decision("emergency", role="nurse", matches=self.matcher.search(text))
        if triage.wants_person(text):
            return Decision("handoff", role=triage.handoff_role(text), matches=self.matcher.search(text))
        matches = self.matcher.search(text)
        if looks_like_resource_search(text):
            return Decision("resource", resource=parse_resource_query(text), matches=matches)
        personal = triage.personal_situation(text)
        if personal:
            return Decision("handoff", role=personal, matches=matches)
        best = matches[0].score if matches else 0.0
        if best >= ANSWER:
            return Decision("faq", faq_id=matches[0].faq_id, band="answer", matches=matches)
        if triage.is_small_talk(text):
            return Decision("other", matches=matches)
        if best >= ALTERNATIVES:
            return Decision("faq", faq_id=matches[0].faq_id, band="alternatives", matches=matches)
        return Decision("handoff", role=triage.handoff_role(text), matches=matches)
