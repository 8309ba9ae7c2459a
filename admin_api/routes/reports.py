"""Activity figures for a date range, for the annual report (JSON, or CSV in UTF-8 with BOM for Excel).

Consultations are conversations opened in [from, to] (dates in the hub's timezone, both inclusive).
Times are in seconds: first staff response = first_staff_response_at − handed_off_at; resolution =
resolved_at − opened_at. Percentiles use the nearest-rank method.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import func, select

from admin_api.deps import ReportStaff, RuntimeDep, SessionDep
from bot.messages import postback_fields
from db.models import Conversation, Message, UnansweredQuestion

router = APIRouter(tags=["reports"])


class Durations(BaseModel):
    count: int
    median_seconds: float | None
    p90_seconds: float | None


class Report(BaseModel):
    date_from: date
    date_to: date
    consultations: int
    by_month: dict[str, int]  # YYYY-MM in the hub's timezone: consultations opened that month
    by_channel: dict[str, int]
    by_route: dict[str, int]  # the route of each inbound message (faq, resource, handoff, emergency, ...)
    by_topic: dict[str, int]  # the first FAQ answered in the consultation ("none" when no FAQ)
    by_role: dict[str, int]  # the role a hand-off needed (nurse, msw, any)
    handed_off: int
    handoff_rate: float | None
    first_staff_response: Durations
    resolution: Durations
    unanswered: int
    satisfaction: dict[str, int]  # yes / no answers to 「ご相談は役に立ちましたか」
    # The red-flag check: asked (a message got it as its first reply), answered with a sign (→ 119) or
    # with 「どれもない」 (→ the nurse), and asked but not answered.
    red_flag_checks: dict[str, int]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _durations(values: list[float]) -> Durations:
    return Durations(count=len(values), median_seconds=statistics.median(values) if values else None,
                     p90_seconds=percentile(values, 90))


def _local(moment: datetime, zone: Any) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def build_report(session: Any, start: datetime, end: datetime, date_from: date, date_to: date) -> Report:
    conversations = session.scalars(select(Conversation).where(Conversation.opened_at >= start,
                                                               Conversation.opened_at < end)).all()
    ids = [c.id for c in conversations]
    routes: Counter[str] = Counter()
    satisfaction: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    messages = session.execute(select(Message.route, Message.payload, Message.direction).where(
        Message.created_at >= start, Message.created_at < end, Message.direction == "in")).all()
    for route, payload, _direction in messages:
        data = (payload or {}).get("data") if isinstance(payload, dict) else None
        fields = postback_fields(data) if isinstance(data, str) else {}
        if fields.get("action") == "satisfaction":
            satisfaction[fields.get("value") or "unknown"] += 1
        elif fields.get("action") == "redflag":
            checks["none" if fields.get("answer") == "none" else "sign"] += 1
        elif route:
            routes[route] += 1
    handed = [c for c in conversations if c.handed_off_at is not None]
    first = [(c.first_staff_response_at - c.handed_off_at).total_seconds() for c in handed
             if c.first_staff_response_at is not None]
    resolution = [(c.resolved_at - c.opened_at).total_seconds() for c in conversations if c.resolved_at]
    unanswered = session.scalar(select(func.count()).select_from(UnansweredQuestion).where(
        UnansweredQuestion.created_at >= start, UnansweredQuestion.created_at < end)) or 0
    return Report(
        date_from=date_from, date_to=date_to, consultations=len(ids),
        by_month=dict(sorted(Counter(_local(c.opened_at, start.tzinfo).strftime("%Y-%m")
                                     for c in conversations).items())),
        by_channel=dict(sorted(Counter(c.channel for c in conversations).items())),
        by_route=dict(sorted(routes.items())),
        by_topic=dict(sorted(Counter(c.topic or "none" for c in conversations).items())),
        by_role=dict(sorted(Counter(c.needed_role or "none" for c in handed).items())),
        handed_off=len(handed), handoff_rate=round(len(handed) / len(ids), 4) if ids else None,
        first_staff_response=_durations(first), resolution=_durations(resolution), unanswered=unanswered,
        satisfaction={"yes": satisfaction.get("yes", 0), "no": satisfaction.get("no", 0)},
        red_flag_checks={"asked": routes.get("check", 0), "sign": checks["sign"], "none": checks["none"],
                         "unanswered": max(0, routes.get("check", 0) - checks["sign"] - checks["none"])})


def report_csv(report: Report) -> str:
    """One row per figure: section, key, value; the BOM lets Excel read the Japanese as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["区分", "項目", "値"])
    writer.writerow(["期間", "開始", report.date_from.isoformat()])
    writer.writerow(["期間", "終了", report.date_to.isoformat()])
    writer.writerow(["相談件数", "合計", report.consultations])
    for month, value in report.by_month.items():
        writer.writerow(["月別相談件数", month, value])
    for section, label in (("by_channel", "チャネル別"), ("by_route", "経路別"), ("by_topic", "話題別"),
                           ("by_role", "職種別")):
        for key, value in getattr(report, section).items():
            writer.writerow([label, key, value])
    writer.writerow(["引き継ぎ", "件数", report.handed_off])
    writer.writerow(["引き継ぎ", "率", "" if report.handoff_rate is None else report.handoff_rate])
    for name, label in (("first_staff_response", "初回応答時間(秒)"), ("resolution", "解決までの時間(秒)")):
        durations: Durations = getattr(report, name)
        writer.writerow([label, "件数", durations.count])
        writer.writerow([label, "中央値", "" if durations.median_seconds is None else durations.median_seconds])
        writer.writerow([label, "90パーセンタイル", "" if durations.p90_seconds is None else durations.p90_seconds])
    writer.writerow(["未回答の質問", "件数", report.unanswered])
    writer.writerow(["満足度", "役に立った", report.satisfaction["yes"]])
    writer.writerow(["満足度", "役に立たなかった", report.satisfaction["no"]])
    for key, label in (("asked", "確認した"), ("sign", "当てはまる（119番へ）"), ("none", "どれもない（看護師へ）"),
                       ("unanswered", "回答なし")):
        writer.writerow(["緊急度の確認", label, report.red_flag_checks[key]])
    return "\ufeff" + out.getvalue()


REPORT_YEARS = (2000, 2100)


def report_for(session: Any, timezone: str, date_from: date, date_to: date) -> Report:
    """The report for whole days in the hub's timezone, both ends included."""
    for name, day in (("from", date_from), ("to", date_to)):
        if not REPORT_YEARS[0] <= day.year <= REPORT_YEARS[1]:
            raise HTTPException(422, [{"loc": ["query", name], "type": "value_error",
                                       "msg": f"{REPORT_YEARS[0]}年から{REPORT_YEARS[1]}年までの日付にしてください"}])
    if date_to < date_from:
        raise HTTPException(422,
                            [{"loc": ["query", "to"], "msg": "終了日が開始日より前です", "type": "value_error"}])
    zone = ZoneInfo(timezone)
    start = datetime.combine(date_from, time.min, zone)
    end = datetime.combine(date_to + timedelta(days=1), time.min, zone)
    return build_report(session, start, end, date_from, date_to)


def csv_response(report: Report) -> Response:
    name = f"report_{report.date_from.isoformat()}_{report.date_to.isoformat()}.csv"
    return Response(report_csv(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/reports", response_model=Report, summary="Activity figures for a date range (JSON or CSV)",
            responses={200: {"content": {"text/csv": {}}}})
def get_report(session: SessionDep, runtime: RuntimeDep, _: ReportStaff,
               date_from: Annotated[date, Query(alias="from")], date_to: Annotated[date, Query(alias="to")],
               format: Literal["json", "csv"] = "json") -> Any:
    report = report_for(session, runtime.settings.timezone, date_from, date_to)
    return csv_response(report) if format == "csv" else report
