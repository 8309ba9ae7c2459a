"""Reports on a data set with known answers: counts, rates, median and p90, CSV with BOM."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from db.models import Contact, Conversation, Message, UnansweredQuestion
from db.session import Database
from tests.admin_api.conftest import Api, Member, field_errors

RANGE = {"from": "2020-04-01", "to": "2020-04-30"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def known_data(database: Database) -> None:
    """April 2020 in Japan time: five consultations in range (one at 4/1 00:00 JST), one just after it."""
    s = timedelta(seconds=1)
    with database.session() as session:
        contact = Contact(channel="line", external_id="U-report", display_name="報告 用")
        pro = Contact(channel="slack", external_id="U-report-slack")
        session.add_all([contact, pro])
        session.flush()

        def conv(channel: str, opened: str, **kw: object) -> Conversation:
            c = Conversation(contact_id=(pro if channel == "slack" else contact).id, channel=channel,
                             opened_at=at(opened), last_message_at=at(opened), **kw)
            session.add(c)
            session.flush()
            return c

        o1, o2, o4 = at("2020-04-01T01:00:00"), at("2020-04-02T01:00:00"), at("2020-04-04T01:00:00")
        c1 = conv("line", "2020-04-01T01:00:00", status="resolved", needed_role="nurse", topic="faq-a",
                  handed_off_at=o1, first_staff_response_at=o1 + 60 * s, resolved_at=o1 + 600 * s)
        c2 = conv("line", "2020-04-02T01:00:00", status="resolved", needed_role="msw",
                  handed_off_at=o2, first_staff_response_at=o2 + 180 * s, resolved_at=o2 + 1200 * s)
        c3 = conv("slack", "2020-04-03T01:00:00", topic="faq-a")
        conv("line", "2020-04-04T01:00:00", status="human", needed_role="nurse",
             handed_off_at=o4 + 30 * s, first_staff_response_at=o4 + 330 * s)
        conv("line", "2020-03-31T15:00:00")  # 2020-04-01 00:00 JST: in range
        conv("line", "2020-04-30T15:00:00", handed_off_at=at("2020-04-30T15:00:00"))  # 5/1 JST: out
        inbound = [(c1, "faq", None, "2020-04-01T01:00:00"), (c2, "handoff", None, "2020-04-02T01:00:00"),
                   (c3, "faq", None, "2020-04-03T01:00:00"),
                   (c1, "other", {"data": f"action=satisfaction&conversation={c1.id}&value=yes"}, "2020-04-01T02:00:00"),
                   (c2, "other", {"data": f"action=satisfaction&conversation={c2.id}&value=no"}, "2020-04-02T02:00:00")]
        for c, route, payload, when in inbound:
            session.add(Message(conversation_id=c.id, direction="in", sender_kind="contact", text="…",
                                kind="postback" if payload else "text", route=route, payload=payload,
                                created_at=at(when)))
        for when in ("2020-04-05T00:00:00", "2020-04-06T00:00:00", "2020-05-06T00:00:00"):
            session.add(UnansweredQuestion(text="?", reason="no_match", created_at=at(when)))


def test_reports_need_a_coordinator_or_admin(api: Api, staff: dict[str, Member]) -> None:
    assert api.get("/reports", params=RANGE).status_code == 401
    assert api.get("/reports", staff["nurse"], params=RANGE).status_code == 403
    assert api.get("/reports", staff["msw"], params=RANGE).status_code == 403
    assert api.get("/reports", staff["coordinator"], params=RANGE).status_code == 200


def test_a_bad_range_names_the_field(api: Api, staff: dict[str, Member]) -> None:
    admin = staff["admin"]
    assert field_errors(api.get("/reports", admin, params={"from": "2020-13-01", "to": "2020-04-30"})) == ["from"]
    assert field_errors(api.get("/reports", admin, params={"from": "2020-04-01"})) == ["to"]
    assert field_errors(api.get("/reports", admin, params={"from": "2020-04-30", "to": "2020-04-01"})) == ["to"]
    assert field_errors(api.get("/reports", admin, params={**RANGE, "format": "xlsx"})) == ["format"]


def test_the_report_has_the_known_figures(api: Api, staff: dict[str, Member], known_data: None) -> None:
    report = api.get("/reports", staff["admin"], params=RANGE).json()
    assert report["consultations"] == 5
    assert report["by_month"] == {"2020-04": 5}
    assert report["by_channel"] == {"line": 4, "slack": 1}
    assert report["by_route"] == {"faq": 2, "handoff": 1}
    assert report["by_topic"] == {"faq-a": 2, "none": 3}
    assert report["by_role"] == {"msw": 1, "nurse": 2}
    assert (report["handed_off"], report["handoff_rate"]) == (3, 0.6)
    assert report["first_staff_response"] == {"count": 3, "median_seconds": 180.0, "p90_seconds": 300.0}
    assert report["resolution"] == {"count": 2, "median_seconds": 900.0, "p90_seconds": 1200.0}
    assert report["unanswered"] == 2
    assert report["satisfaction"] == {"yes": 1, "no": 1}
    two_months = api.get("/reports", staff["admin"], params={"from": "2020-04-01", "to": "2020-05-31"}).json()
    assert two_months["by_month"] == {"2020-04": 5, "2020-05": 1}  # months in Japan time, not UTC
    empty = api.get("/reports", staff["admin"], params={"from": "2019-01-01", "to": "2019-01-31"}).json()
    assert (empty["consultations"], empty["handoff_rate"], empty["resolution"]["median_seconds"]) == (0, None, None)


def test_the_csv_is_utf8_with_a_bom_and_the_same_figures(api: Api, staff: dict[str, Member], known_data: None) -> None:
    response = api.get("/reports", staff["admin"], params={**RANGE, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["区分", "項目", "値"]
    figures = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert figures[("相談件数", "合計")] == "5"
    assert figures[("月別相談件数", "2020-04")] == "5"
    assert figures[("チャネル別", "line")] == "4"
    assert figures[("職種別", "nurse")] == "2"
    assert figures[("引き継ぎ", "率")] == "0.6"
    assert figures[("初回応答時間(秒)", "中央値")] == "180.0"
    assert figures[("解決までの時間(秒)", "90パーセンタイル")] == "1200.0"
    assert figures[("満足度", "役に立った")] == "1"
