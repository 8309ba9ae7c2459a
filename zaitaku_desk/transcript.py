"""One conversation as plain text for the care record (介護・看護記録への転記): who, where, when, each
message with its time, private notes marked. Exporting it is audited."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.conversation import HELPDESK_LABELS
from bot.roles import label as role_label
from db.models import Staff
from knowledge.store import audit
from zaitaku_desk.handoff import CHANNEL_LABELS, SENDER_LABELS, labels_on, record


def transcript_text(session: Session, conversation_id: int, zone: ZoneInfo, hub_name: str, exported_by: Staff) -> str:
    seen = record(session, conversation_id)
    conversation = seen.conversation
    staff_names = {s.id: s.name for s in session.scalars(select(Staff))}

    def at(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "—"

    lines = [f"{hub_name} 相談記録", f"相談番号: #{conversation.id}", f"相談者: {seen.contact_name}",
             f"チャネル: {CHANNEL_LABELS.get(conversation.channel, conversation.channel)}",
             f"状態: {HELPDESK_LABELS[conversation.status][0]}" + ("（緊急）" if conversation.urgency == "emergency" else ""),
             f"必要な職種: {role_label(conversation.needed_role)}",
             f"担当: {seen.assignee.name if seen.assignee else '—'}",
             f"開始: {at(conversation.opened_at)}　引き継ぎ: {at(conversation.handed_off_at)}　解決: {at(conversation.resolved_at)}",
             f"ラベル: {'、'.join(labels_on(session, conversation.id)) or '—'}",
             f"出力: {at(datetime.now(zone))}（{exported_by.name}）", "※【メモ】はスタッフ内部の記録で、相談者には送っていません。", ""]
    for message in seen.messages:
        name = staff_names.get(message.staff_id or 0, "スタッフ") if message.sender_kind == "staff" \
            else SENDER_LABELS.get(message.sender_kind, message.sender_kind)
        text = message.text if message.text is not None else f"（{message.kind}）"
        said = f"【記録】{text}" if message.kind == "event" else f"{'【メモ】' if message.kind == 'note' else ''}{name}: {text}"
        lines.append(f"{at(message.created_at)} {said}")
    audit(session, f"staff:{exported_by.id}", "conversation.export", "conversation", str(conversation_id))
    return "\n".join(lines) + "\n"
