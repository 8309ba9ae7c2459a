"""The console's activity report: the same figures as GET /admin/api/reports, with simple bar charts
(server-drawn SVG, no script) and the CSV for the annual report. Coordinators and admins only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select

from admin_api.console import Console, ReportReader
from admin_api.routes.reports import Report, csv_response, report_for
from bot.roles import LABELS as ROLE_LABELS
from db.models import FaqEntry
from zaitaku_desk.handoff import CHANNEL_LABELS

ROUTE_LABELS = {"faq": "FAQで回答", "resource": "事業所の案内", "handoff": "スタッフへ引き継ぎ",
                "emergency": "緊急（119番の案内）", "check": "緊急度の確認", "offer": "担当者への相談をご案内", "other": "あいさつ・その他"}
BAR_LIMIT = 15  # topics beyond this are summed as 「その他」


def fiscal_year_start(today: date) -> date:
    """Japanese fiscal years begin on 1 April."""
    return date(today.year if today.month >= 4 else today.year - 1, 4, 1)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}分" if minutes else f"{round(seconds)}秒"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}時間{minutes}分" if hours < 48 else f"{hours // 24}日{hours % 24}時間"


def bars(counts: dict[str, int], labels: dict[str, str], chronological: bool = False) -> list[dict[str, Any]]:
    """Rows for a horizontal bar chart: largest first with the tail folded into 「その他」, or in key order."""
    ordered = sorted(counts.items()) if chronological else sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if not chronological and len(ordered) > BAR_LIMIT:
        ordered = ordered[:BAR_LIMIT - 1] + [("…", sum(v for _, v in ordered[BAR_LIMIT - 1:]))]
    top = max((v for _, v in ordered), default=0) or 1
    return [{"label": "その他" if key == "…" else labels.get(key, key), "value": value, "share": value / top}
            for key, value in ordered]


def charts(report: Report, topics: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {"title": "月別の相談件数", "rows": bars(report.by_month, {}, chronological=True)},
        {"title": "チャネル別の相談件数", "rows": bars(report.by_channel, CHANNEL_LABELS)},
        {"title": "応答の経路別（受信メッセージ数）", "rows": bars(report.by_route, ROUTE_LABELS)},
        {"title": "話題別（最初に答えたFAQ）", "rows": bars(report.by_topic, {"none": "FAQなし", **topics})},
        {"title": "引き継ぎで必要とした職種", "rows": bars(report.by_role, {**ROLE_LABELS, "none": "未指定"})},
    ]


def build(console: Console) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)
    runtime = console.runtime

    def period(request: Request) -> tuple[date, date]:
        """from/to in the query (YYYY-MM-DD); by default this fiscal year up to today."""
        today = datetime.now(console.zone).date()
        found = []
        for name, default in (("from", fiscal_year_start(today)), ("to", today)):
            value = request.query_params.get(name, "").strip()
            try:
                found.append(date.fromisoformat(value) if value else default)
            except ValueError as exc:
                raise HTTPException(422, f"日付「{value}」が読めません。YYYY-MM-DD の形で入力してください。") from exc
        return found[0], found[1]

    def figures(session: Any, request: Request) -> Report:
        start, end = period(request)
        return report_for(session, runtime.settings.timezone, start, end)

    def topic_questions(session: Any, report: Report) -> dict[str, str]:
        ids = [k for k in report.by_topic if k != "none"]
        return {f.id: f.question for f in session.scalars(select(FaqEntry).where(FaqEntry.id.in_(ids)))} if ids else {}

    def refusal(exc: HTTPException) -> str:
        return exc.detail if isinstance(exc.detail, str) else "終了日が開始日より前です。"

    @router.get("/reports")
    async def report_page(request: Request, staff: ReportReader) -> Response:
        date_from, date_to = request.query_params.get("from", ""), request.query_params.get("to", "")
        try:
            report = await console.act(figures, request)
        except HTTPException as exc:
            return console.render(request, "report.html", 422, staff=staff, report=None, error=refusal(exc),
                                  date_from=date_from, date_to=date_to)
        topics = await console.act(topic_questions, report)
        return console.render(request, "report.html", staff=staff, report=report,
                              date_from=report.date_from.isoformat(), date_to=report.date_to.isoformat(),
                              charts=charts(report, topics), duration=duration)

    @router.get("/reports.csv")
    async def report_csv(request: Request, staff: ReportReader) -> Response:
        try:
            return csv_response(await console.act(figures, request))
        except HTTPException as exc:
            return console.render(request, "error.html", 422, staff=staff, message=refusal(exc))

    return router
