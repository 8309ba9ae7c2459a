"""The desk: one inbound message in, replies and a conversation event out. No I/O of its own.

Resource search, the clock and business hours come in from outside, so the same core runs
behind LINE, Slack, the try-out page, the terminal and the tests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from bot import replies, triage
from bot.faq import FaqItem, render
from bot.hours import BusinessHours, format_opening
from bot.messages import Inbound, Outcome, ResourceCard, postback_fields
from bot.normalize import canonical
from bot.resource_query import ResourceQuery, parse_resource_query
from bot.roles import NEEDED
from bot.router import ALTERNATIVES, Decision, Router

_DELETION = re.compile(r"(記録|履歴|データ|トーク).{0,8}(削除|消して|消去)")
_SEARCH = re.compile(r"探|空き|近くの")  # a button that names a search (「訪問看護ステーションを探す」)

log = logging.getLogger(__name__)


def _escape(text: str) -> str:
    """A value for the button grammar (bot.messages.postback_fields): only what would break it is escaped,
    so Japanese text keeps its length (LINE allows 300 characters of data)."""
    return text.replace("%", "%25").replace("&", "%26").replace("=", "%3D")
# Where a conversation may begin (the greeting's buttons): an FAQ entry each, then a person.
STARTERS = (("訪問看護とは", "resident.visiting_nurse"), ("費用について", "resident.costs"),
            ("受付時間と窓口", "resident.consultation_desk"))
# Programme entries (how a hub is run) are offered to staff and care managers, not to residents.
RESIDENT_AUDIENCES = ("resident", "professional")
_KIND_LABELS = {"sticker": "スタンプ", "image": "画像", "video": "動画", "audio": "音声", "file": "ファイル",
                "unsupported": "この種類のメッセージ"}


class ResourceSearch(Protocol):
    def __call__(self, query: ResourceQuery, near: tuple[float, float] | None = None,
                 limit: int = 5, offset: int = 0) -> tuple[str, list[ResourceCard]]:
        """(heading, cards): at most `limit` cards, best first, after skipping `offset`."""


@dataclass(frozen=True)
class MorePage:
    """Where the next page of a resource search starts."""

    text: str
    offset: int


@dataclass(frozen=True)
class ConversationView:
    status: str  # bot | waiting | human | snoozed | resolved
    consent_notice_sent: bool


class Desk:
    def __init__(self, router: Router, faq: Sequence[FaqItem], search: ResourceSearch, hours: BusinessHours,
                 hub: Mapping[str, str], clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 on_duty: Callable[[datetime], str | None] = lambda now: None):
        self.router = router
        self.faq = {item.id: item for item in faq}
        self.search = search
        self.hours = hours
        self.hub = {**hub, "desk_hours": hours.describe()}
        self.consult = self.hub.get("emergency_consult") or replies.CONSULT  # the prefecture's #7119 line
        self.clock = clock
        self.on_duty = on_duty  # outside hours: what the first person on the duty rota is (「看護師」), or None
        # What each follow-up button means, decided once here: pressed, it never goes back through
        # the router as text.
        self._asked = {canonical(q): item.id for item in faq for q in (item.question, *item.paraphrases)}
        self.buttons = {text: self._button(text, item.audience) for item in faq for text in item.quick_replies}
        self.starters = tuple(replies.button(label, f"action=faq&faq={faq_id}")
                              for label, faq_id in STARTERS if faq_id in self.faq) + (replies.ASK_PERSON,)

    def respond(self, inbound: Inbound, view: ConversationView) -> Outcome:
        outcome = self._respond(inbound, view)
        if outcome.replies and not view.consent_notice_sent and inbound.kind != "follow":
            # First contact: say once what is recorded and why, in a bubble of its own before the answer;
            # after it when the answer is urgent (the 119 reply is read first).
            notice = replies.Reply(replies.privacy_notice(self.hub["hub_name"]))
            first = outcome.replies[0]
            if first.urgent and len(outcome.replies) == 1:
                # Its buttons move to the last bubble, where LINE shows them.
                outcome.replies[0] = replace(first, quick_replies=())
                outcome.replies.append(replace(notice, quick_replies=first.quick_replies))
            elif first.urgent:
                outcome.replies.insert(1, notice)
            else:
                outcome.replies.insert(0, notice)
            outcome.consent_notice = True
        return outcome

    def decide(self, text: str) -> Decision:
        return self.router.decide(text)

    def answer_professional(self, text: str, offset: int = 0, page: int = 5) -> list[replies.Reply]:
        """A one-shot answer for a search box (Slack's slash command): no conversation, no hand-off.

        Resource results come `page` at a time; `offset` skips the ones already shown.
        """
        decision = self.router.decide(text)
        if decision.route == "emergency":
            return [self._emergency_reply(recorded=False)]
        if decision.check:
            # A search box has no conversation to answer in: the question, with 119 first, no buttons.
            return [replace(self._check(), quick_replies=())]
        if decision.route == "resource" and decision.resource:
            heading, cards = self.search(decision.resource, limit=page + 1, offset=offset)
            more = MorePage(text, offset + page) if len(cards) > page else None
            return [replies.resources(heading, cards[:page], decision.resource.wants_vacancy, more=more)]
        if decision.route == "faq" and decision.faq_id:
            if decision.band == "answer":
                return self.answer_faq(decision.faq_id)
            return [self._alternatives(decision.top[:3])]
        if decision.route == "handoff":
            return [replies.handoff_by_message()]
        return [replies.not_found()]

    def answer_faq(self, faq_id: str) -> list[replies.Reply]:
        if faq_id not in self.faq:
            return [replies.not_found()]
        return self._answer(faq_id, [], ConversationView("bot", True)).replies

    def _button(self, text: str, audience: str) -> replies.QuickReply:
        """A follow-up button's meaning: a hand-off (「担当者と話したい」), the resource search it names
        (「訪問看護ステーションを探す」), or the FAQ entry it asks about — one whose question or paraphrase
        it is, else the best entry of the same audience that the matcher is fairly sure of. Plain text
        when none fits: `kb validate` reports it, and the entry's paraphrases should say it."""
        if triage.wants_person(text):
            return replies.button(text, f"action=handoff&role={triage.handoff_role(text)}")
        if _SEARCH.search(text) and parse_resource_query(text).type:
            return replies.button(text, f"action=search&q={_escape(text)}")
        faq = self._asked.get(canonical(text))
        if faq is None:
            fitting = [m for m in self.router.matcher.search(text) if self.faq[m.faq_id].audience == audience]
            faq = fitting[0].faq_id if fitting and fitting[0].score >= ALTERNATIVES else None
        return replies.button(text, f"action=faq&faq={faq}" if faq else None)

    def _for(self, inbound_professional: bool, faq_ids: Sequence[str]) -> list[str]:
        """The entries a person may be offered: a resident gets resident entries first and no programme
        entries; staff and care managers get them all, in order."""
        if inbound_professional:
            return list(faq_ids)
        fitting = [i for i in faq_ids if i in self.faq and self.faq[i].audience in RESIDENT_AUDIENCES]
        return sorted(fitting, key=lambda i: self.faq[i].audience != "resident")

    # -- by kind ---------------------------------------------------------------------------------
    def _respond(self, inbound: Inbound, view: ConversationView) -> Outcome:
        owned = view.status == "human"
        if inbound.kind == "follow":
            return Outcome([replies.greeting(self.hub["hub_name"], self.hub["desk_hours"], self.starters),
                            replies.Reply(replies.privacy_notice(self.hub["hub_name"]))],
                           route="other", consent_notice=True)
        if inbound.kind in ("unfollow", "leave"):
            return Outcome(route="other")
        if inbound.kind == "join":
            return Outcome([replies.group_notice()], route="other")
        if inbound.kind == "text":
            return self._text(inbound, view)
        if inbound.kind == "postback":
            outcome = self._postback(inbound.postback or "", view, inbound.professional)
            if owned and not outcome.event and not any(reply.urgent for reply in outcome.replies):
                # A person owns the conversation: they see the press (the bot's answer would be held back).
                return Outcome(route=outcome.route, relay_to_staff=True, said=outcome.said)
            return outcome
        if owned:
            return Outcome(route="other", relay_to_staff=True)
        if inbound.kind == "location" and inbound.latitude is not None and inbound.longitude is not None:
            heading, cards = self.search(ResourceQuery(None, None, (), False),
                                         near=(inbound.latitude, inbound.longitude))
            return Outcome([replies.resources(heading, cards, False)], route="resource")
        label = _KIND_LABELS.get(inbound.kind, _KIND_LABELS["unsupported"])
        return Outcome([replies.unsupported(label)], route="other",
                       relay_to_staff=view.status == "waiting")

    def _text(self, inbound: Inbound, view: ConversationView) -> Outcome:
        text = (inbound.text or "").strip()
        if not text:
            return Outcome([replies.empty_message()], route="other")
        decision = self.router.decide(text)
        if decision.route == "emergency":
            # Always, whoever owns the conversation and whether or not the bot was addressed.
            return self._emergency()
        if decision.check:
            # Like the 119 reply: first, whoever owns the conversation. The nurse is told at once, so an
            # unanswered check still reaches a person; an answer with a sign makes it an emergency.
            return Outcome([self._check()], route="check", event="handoff", role="nurse", urgency="normal",
                           relay_to_staff=True)
        if inbound.in_group and not inbound.addressed:
            return Outcome(route=decision.route)
        if view.status == "human":
            return Outcome(route=decision.route, faq_id=decision.faq_id, relay_to_staff=True)
        if inbound.in_group:
            return Outcome([replies.group_notice()], route=decision.route)
        if _DELETION.search(text):
            return self._handoff("any", view, route="handoff", first=replies.deletion_requested())
        if decision.route == "handoff" and decision.offer and view.status in ("bot", "resolved"):
            return self._unmatched(decision, Outcome([replies.handoff_offer(decision.role or "any", self.consult)], route="offer"))
        if decision.route == "handoff":
            return self._unmatched(decision, self._handoff(decision.role or "any", view))
        if decision.route == "resource" and decision.resource:
            heading, cards = self.search(decision.resource)
            return Outcome([replies.resources(heading, cards, decision.resource.wants_vacancy)],
                           route="resource", relay_to_staff=view.status == "waiting")
        if decision.route == "faq" and decision.faq_id:
            others = self._for(inbound.professional, [m.faq_id for m in decision.matches[1:]])[:2]
            if decision.band == "answer":
                return self._answer(decision.faq_id, others, view, decision.role if decision.offer else None)
            offered = self._for(inbound.professional, decision.top)[:3]
            if not offered:  # only programme entries came near: a person answers a resident
                return self._unmatched(decision, self._handoff("any", view))
            return self._unmatched(decision, Outcome([self._alternatives(offered)], route="faq",
                                                     faq_id=decision.faq_id, relay_to_staff=view.status == "waiting"))
        kind = triage.small_talk_kind(text)
        return self._unmatched(decision, Outcome(
            [replies.small_talk(kind, self.consult, self.starters if kind in ("greeting", "other") else ())],
            route="other",
            relay_to_staff=view.status == "waiting"))

    @staticmethod
    def _unmatched(decision: Decision, outcome: Outcome) -> Outcome:
        """Nothing in the knowledge fitted: staff may turn the question into a FAQ entry."""
        if decision.unmatched:
            outcome.unanswered = True
            outcome.candidates = [(m.faq_id, m.score) for m in decision.matches[:3]]
        return outcome

    def _postback(self, data: str, view: ConversationView, professional: bool = False) -> Outcome:
        params = postback_fields(data)
        action = params.get("action")
        if action == "menu":  # the LINE rich menu (adapters/line_menu.py)
            item = params.get("item", "consult")
            said = replies.MENU_SAID.get(item, replies.MENU_SAID["consult"])
            if item == "emergency":
                return Outcome([replies.emergency_guide(self.consult)], route="other", said=said)
            if item == "nearby":
                return Outcome([replies.ask_where()], route="other", said=said)
            return Outcome([replies.small_talk("greeting", self.consult, self.starters)], route="other", said=said)
        if action == "sample":
            return Outcome([replies.sample_notice()], route="other", said="電話する")
        if action == "search" and params.get("q"):
            query = parse_resource_query(params["q"])
            heading, cards = self.search(query)
            return Outcome([replies.resources(heading, cards, query.wants_vacancy)], route="resource",
                           relay_to_staff=view.status == "waiting", said=params["q"])
        if action == "handoff":
            role = params.get("role", "any")
            outcome = self._handoff(role if role in NEEDED else "any", view)
            outcome.said = replies.ASK_PERSON.text
            return outcome
        if action == "offer_declined":
            return Outcome([replies.offer_declined()], route="other", said=replies.OFFER_DECLINED)
        if action == "faq" and params.get("faq") in self.faq:
            faq_id = params["faq"]
            near = [m.faq_id for m in self.router.matcher.search(self.faq[faq_id].question) if m.faq_id != faq_id]
            outcome = self._answer(faq_id, self._for(professional, near)[:2], view)
            outcome.said = self.faq[faq_id].question  # LINE sends only the data: the transcript shows the question
            return outcome
        if action == "feedback":
            if params.get("value") == "yes":
                return Outcome([replies.feedback_thanks()], route="other", faq_id=params.get("faq"))
            alternatives = self._for(professional, [a for a in params.get("alt", "").split(",") if a in self.faq])
            # Scores are filled in where the message is at hand (the pipeline matches it again).
            candidates = [(params.get("faq", ""), 0.0)] + [(a, 0.0) for a in alternatives]
            if alternatives:
                reply = self._alternatives(alternatives)
                reply = replies.Reply(f"{replies.feedback_sorry()}{reply.text}", reply.quick_replies)
                return Outcome([reply], route="faq", faq_id=params.get("faq"), unanswered=True,
                               candidates=candidates)
            outcome = self._handoff("any", view)
            outcome.unanswered, outcome.candidates = True, candidates
            return outcome
        if action == "redflag":
            said = self._check_labels().get(params.get("answer", ""))
            if params.get("answer") == "none":
                outcome = self._handoff("nurse", view, first=replies.Reply(replies.red_flag_none(self.consult)), hours=True)
            else:
                outcome = self._emergency()
            outcome.said = said
            return outcome
        if action == "satisfaction":
            return Outcome([replies.satisfaction_thanks(params.get("value") == "yes")], route="other")
        return Outcome(route="other")

    # -- building blocks -------------------------------------------------------------------------
    def _emergency(self) -> Outcome:
        return Outcome([self._emergency_reply()], route="emergency", event="emergency", role="nurse",
                       urgency="emergency", relay_to_staff=True)

    def _emergency_reply(self, recorded: bool = True) -> replies.Reply:
        """The 119 reply; `recorded`: the message is a conversation staff are told of (not a search box's)."""
        if not recorded:
            return replies.emergency(self.consult, "")
        now = self.clock()
        desk_open = self.hours.is_open(now)
        try:
            on_duty = None if desk_open else self.on_duty(now)
        except Exception:  # whom to name is not worth delaying or losing the 119 reply for
            log.exception("could not read the duty rota; the 119 reply names no one")
            return replies.emergency(self.consult, "")
        return replies.emergency(self.consult, replies.emergency_told(desk_open, on_duty))

    def _check(self) -> replies.Reply:
        return replies.red_flag_check(self.router.flags.check["question"], list(self._check_labels().items()))

    def _check_labels(self) -> dict[str, str]:
        """The check's answers, id → label, in the file's order."""
        return {option["id"]: option["label"] for option in self.router.flags.check["options"]}

    def _answer(self, faq_id: str, alternatives: list[str], view: ConversationView,
                offer_role: str | None = None) -> Outcome:
        item = self.faq[faq_id]
        bubbles = replies.faq_answer(
            render(item.answer, self.hub), render(item.next_step, self.hub) if item.next_step else None,
            item.source_label(short=True), [self.buttons[text] for text in item.quick_replies], faq_id, alternatives,
            offer_role,
        )
        return Outcome(bubbles, route="faq", faq_id=faq_id, relay_to_staff=view.status == "waiting")

    def _alternatives(self, faq_ids: Sequence[str]) -> replies.Reply:
        return replies.alternatives([(i, self.faq[i].question) for i in faq_ids if i in self.faq])

    def _handoff(self, role: str, view: ConversationView, route: str = "handoff",
                 first: replies.Reply | None = None, hours: bool = False) -> Outcome:
        """The hand-off reply; `hours` says who answers and when even if the conversation already
        waits (after the red-flag check, which put it in the queue)."""
        lead = [first] if first else []
        if view.status in ("waiting", "human") and not hours:
            return Outcome(lead + [replies.already_waiting(self.consult)], route=route, event="handoff", role=role,
                           relay_to_staff=True)
        now = self.clock()
        is_open = self.hours.is_open(now)
        opening = None if is_open else self.hours.next_opening(now)
        next_text = format_opening(opening, now, self.hours.tz) if opening else None
        reply = replies.handoff(role, is_open, self.hub["desk_hours"], next_text, self.consult)
        return Outcome(lead + [reply], route=route, event="handoff", role=role, urgency="normal",
                       relay_to_staff=True)
