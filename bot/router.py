"""The routing decision for one message, in the order SPEC.md gives.

emergency → the red-flag check → explicit request for a person → resource search → a personal
situation that needs a professional → small talk → FAQ (answer, or alternatives) → hand-off when
nothing fits. (Whether a person owns the conversation is decided by the desk, which knows the
conversation.)

Two opinions, either of which can raise an emergency: the red-flag rules (`bot.red_flags`, findings
as data) and the learned model (`bot.route_model`, over the message corpus). When neither is certain
but the message describes something acute happening now (a live sign, or a model that leans towards
an emergency), the first reply is the red-flag check (「はじめに必ず確認する症状」), never a queue.
After the rules have routed a message that is not an emergency, the model may overrule them when it
is confident (`OVERRULE`) or they are unsure: the rules were written on a few hundred messages, the
model learned from thousands written by others.

Small talk comes before the FAQ because `triage.is_small_talk` only says yes to a message with no
care, health, facility or family content at all (no FAQ question or paraphrase qualifies), while a
short 「よろしくお願いします」 can share a bigram or two with some entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot import triage
from bot.faq_match import FaqMatcher, Match
from bot.red_flags import RedFlags, red_flags
from bot.resource_query import ResourceQuery, looks_like_resource_search, parse_resource_query
from bot.route_model import RouteModel

# Bands of the FAQ matcher's calibrated score (the estimated chance that the best entry is the answer):
# answer at or above ANSWER, offer the top entries as quick replies at or above ALTERNATIVES, hand off
# below. Chosen on dev (FAQ, hand-off and small-talk messages), the calibration refitted on each
# training part of a 5 × 5-fold cross-validation:
# - ANSWER: the lowest score whose direct answers are right at least 95 % of the time (training
#   parts chose 0.55–0.75, mean 0.66; the whole set 0.65). Held out at 0.65: 94.5 % of direct
#   answers right, 93 % of the FAQ questions answered directly.
# - ALTERNATIVES: the score that gets most FAQ-stage decisions right if triage caught nothing (FAQ
#   questions kept in the FAQ plus hand-off and small-talk messages sent below it): 0.25 on the whole
#   set, with the training parts spread over 0.20–0.65 as only 59 messages are negatives. Held out:
#   98.6 % of FAQ questions kept, 77 % of hand-off and small-talk messages below.
ANSWER = 0.65
ALTERNATIVES = 0.25
# The model's probability of "emergency" at which it raises an emergency on its own or together with
# a live acute sign the rules found (not a circumstance such as 「急に」), asks the red-flag check on
# its own or together with a live acute sign; and the probability at which its route overrules a sure
# decision of the rules (an unsure one, the hand-off when nothing fitted or FAQ alternatives, it
# overrules at any probability). Chosen by 5-fold cross-validation on the training corpus
# (`zaitaku-desk train --cross-validate 5`; README, "Routing"), each first-sight round joining the
# corpus only after it had been scored.
EMERGENCY = 0.60
EMERGENCY_WITH_SIGN = 0.40
CHECK = 0.25
CHECK_WITH_SIGN = 0.20
OVERRULE = 0.40
# A hand-off the model finds likely to be chit-chat (its probability of "other" at least OFFER, or
# OFFER_ACUTE when the rules saw a body word live, 「頭痛いわ〜、役員決め」) is offered rather than made:
# the reply asks whether to pass the message to the nurse or MSW, with a button that does it. Staff are
# not told until it is pressed. Never for a message that asks for a person or leans towards an
# emergency (the check comes first). Chosen by 5-fold cross-validation on the corpus after round 21:
# OFFER_ACUTE 0.60 → 0.40 took off-topic hand-offs from 14 to 9 of 9,781 with no more offers on
# hand-off or emergency messages.
OFFER = 0.25
OFFER_ACUTE = 0.40
# A hand-off whose message asks how a service, benefit or procedure works (triage.asks_how_things_work)
# while a resident entry answers it this surely is answered from the FAQ, with the person offered
# beside the answer: the resident need not wait for staff to be told what the knowledge says.
ANSWER_WITH_PERSON = 0.90
# The red flags' sign of the wish to die said live (not past, not in jest): never answered by the FAQ or
# as small talk, whatever else is asked. (Farewells and places alone are too common: 「お世話になりました」.)
_DESPAIR = frozenset({"suicide"})


@dataclass
class Decision:
    route: str  # faq | emergency | handoff | resource | other
    faq_id: str | None = None
    band: str | None = None  # for faq: "answer" or "alternatives"
    matches: list[Match] = field(default_factory=list)
    role: str | None = None
    resource: ResourceQuery | None = None
    check: bool = False  # the first reply is the red-flag check (route "handoff", role "nurse")
    offer: bool = False  # "handoff": the reply offers the hand-off instead of making it; "faq": beside the answer
    unmatched: bool = False  # nothing in the knowledge fitted well (worth a new FAQ entry, whatever the route)

    @property
    def top(self) -> list[str]:
        return [m.faq_id for m in self.matches]

    @property
    def confidence(self) -> float:
        """The calibrated score of the best FAQ entry (0 when nothing matched)."""
        return self.matches[0].score if self.matches else 0.0

    def prediction(self, text: str) -> dict[str, Any]:
        """The shape ../shared/eval/README.md gives for predictions."""
        return {
            "text": text,
            "route": self.route,
            "faq_id": self.faq_id,
            "top": self.top,
            "role": self.role,
            "resource": self.resource.to_dict() if self.route == "resource" and self.resource else None,
            "check": self.check,
            "offer": self.offer,
        }


class Router:
    def __init__(self, matcher: FaqMatcher, model: RouteModel | None = None, flags: RedFlags | None = None) -> None:
        self.matcher = matcher
        self.model = model  # None: the rules alone (an ablation)
        self.flags = flags or red_flags()

    def decide(self, text: str) -> Decision:
        matches = self.matcher.search(text)  # on every route: for the record and the eval's top list
        flags = self.flags.assess(text)
        opinion = self.model.proba(text) if self.model else {}
        leaning = opinion.get("emergency", 0.0)
        # What is said laughing or as a false alarm, with nothing acute live in it, or what the model
        # itself finds likelier to be chit-chat with no acute sign live (「Good Morning!!」), is not the
        # model's to raise.
        if flags.calm or (leaning < opinion.get("other", 0.0) and not flags.acute):
            leaning = 0.0
        if flags.emergency or leaning >= EMERGENCY or (flags.acute and leaning >= EMERGENCY_WITH_SIGN):
            return Decision("emergency", role="nurse", matches=matches)
        if leaning >= CHECK or (flags.acute and leaning >= CHECK_WITH_SIGN):
            return Decision("handoff", role="nurse", matches=matches, check=True)
        asked = triage.wants_person(text)
        decision, sure = self._rules(text, matches, asked)
        if flags.calm and decision.route == "handoff" and not asked:
            # Said laughing or as a false alarm, nothing live in it: small talk, not a staff matter.
            return Decision("other", matches=matches)
        if not opinion or asked:
            return decision  # a person asked for is never the model's to refuse or re-assign
        overruled = self._overrule(decision, sure, opinion, text)
        chat = opinion.get("other", 0.0)
        if overruled.route == "other" and decision.route == "handoff" and flags.signs:
            # Something in the body is live, yet the model reads chit-chat: a person is offered.
            overruled = replace(decision, offer=chat >= OFFER_ACUTE)
        elif overruled.route == "handoff" and (chat >= (OFFER_ACUTE if flags.acute else OFFER)
                                               or (triage.good_news(text) and not flags.acute)):
            overruled.offer = True
        overruled = self._answer_with_person(overruled, text, bool(flags.signs))
        if overruled.route in ("faq", "other") and (flags.signs & _DESPAIR or triage.at_risk(text)):
            # The wish to die or disappear said live, harm, neglect or abuse beside a practical question
            # (「…いなくなりたい ヘルパーさんってすぐきてくれる？」): a person, now, not an answer.
            return Decision("handoff", role="msw", matches=matches)
        if flags.acute and overruled.route == "faq":
            # Something acute is live (「痰がからんで苦しそう。吸引はヘルパーでも…」): the check first,
            # never a general answer that tells no one.
            return Decision("handoff", role="nurse", matches=matches, check=True)
        overruled.unmatched = decision.unmatched and (overruled.route in ("handoff", "other")
                                                      or overruled.band == "alternatives")
        return overruled

    def _answer_with_person(self, decision: Decision, text: str, signs: bool) -> Decision:
        """A nurse or MSW hand-off turned into the FAQ answer with the person offered, when the message
        asks how something works and a resident entry answers it surely; never with a sign in the body
        live, nor for the nurse when the message describes how someone is."""
        top = decision.matches[0] if decision.matches else None
        if (decision.route != "handoff" or decision.check or signs or decision.role not in ("nurse", "msw")
                or top is None or top.score < ANSWER_WITH_PERSON
                or self.matcher.items[top.faq_id].audience != "resident" or not triage.asks_how_things_work(text)
                or (decision.role == "nurse" and triage.describes_someone(text))):
            return decision
        return Decision("faq", faq_id=top.faq_id, band="answer", matches=decision.matches, role=decision.role,
                        offer=True)

    def _rules(self, text: str, matches: list[Match], asked: bool) -> tuple[Decision, bool]:
        """The rules' decision, and whether they are sure of it (not the hand-off for want of a match,
        not FAQ alternatives). `asked`: the message asks for a person."""
        if asked:
            return Decision("handoff", role=triage.handoff_role(text), matches=matches), True
        if looks_like_resource_search(text):
            return Decision("resource", resource=parse_resource_query(text), matches=matches), True
        personal = triage.personal_situation(text)
        if personal:
            return Decision("handoff", role=personal, matches=matches), True
        if triage.is_small_talk(text):
            return Decision("other", matches=matches), True
        confidence = matches[0].score if matches else 0.0
        if confidence >= ANSWER:
            return Decision("faq", faq_id=matches[0].faq_id, band="answer", matches=matches), True
        if confidence >= ALTERNATIVES:
            return Decision("faq", faq_id=matches[0].faq_id, band="alternatives", matches=matches), False
        return Decision("handoff", role=triage.handoff_role(text), matches=matches, unmatched=True), False

    def _overrule(self, decision: Decision, sure: bool, opinion: dict[str, float], text: str) -> Decision:
        """The model's route where the rules disagree: when it is confident, or the rules are unsure."""
        label = max((k for k in opinion if k != "emergency"), key=opinion.__getitem__)
        current = decision.role if decision.route == "handoff" else decision.route
        if (sure and opinion[label] < OVERRULE) or label == current:
            return decision
        if decision.route == "other":
            return decision  # the rules call small talk only what has no care content at all
        if decision.band == "answer" and label == "other":
            return decision  # a question the knowledge answers outright (staff may just have taught it)
        if decision.route == "handoff" and label == "faq" and triage.asks_to_consult(text):
            return decision  # asked to consult on a case: general knowledge is not the answer
        matches = decision.matches
        if label in ("nurse", "msw", "any"):
            return Decision("handoff", role=label, matches=matches)
        if label == "other":
            return Decision("other", matches=matches)
        if label == "faq" and matches:
            band = "answer" if matches[0].score >= ANSWER else "alternatives"
            return Decision("faq", faq_id=matches[0].faq_id, band=band, matches=matches)
        if label == "resource":
            query = parse_resource_query(text)
            if query.type or query.municipality:
                return Decision("resource", resource=query, matches=matches)
        return decision
