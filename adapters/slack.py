"""Slack, with slack-bolt (AsyncApp behind its FastAPI handler) and slack_sdk's AsyncWebClient.

Care managers search resources and ask questions (slash command, @mentions, DMs); hub staff see each
hand-off as one thread in the staff channel, with buttons to take over, resolve or return it to the
bot. Bolt checks the v0 signature (5-minute window) and answers url_verification; events are stored
once by event_id and processed after the acknowledgement, like LINE's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.base import (
    ConversationSummary,
    DeskIngress,
    Envelope,
    OutboxRow,
    SendResult,
    StaffAct,
    StaffDirectory,
    StaffMessage,
)
from bot.messages import Inbound, Reply, ResourceCard, postback_fields
from bot.replies import card_rows
from bot.roles import label as role_label

log = logging.getLogger(__name__)

NAME = "slack"
STAFF_TARGET = "staff:"
MAX_SECTION = 2900
ACTIONS = {"conv_take": "claim", "conv_resolve": "resolve", "conv_return": "return_to_bot"}  # button → staff act
_MENTION = re.compile(r"<@[A-Z0-9]+>\s*")
# Bolt logs a refused request's whole body at INFO (a stale timestamp is enough): it may hold what a
# resident wrote. Its warnings and errors still reach the log.
QUIET_BOLT = logging.getLogger("adapters.slack.bolt")
QUIET_BOLT.setLevel(logging.WARNING)


class SlackChannel:
    name = NAME

    def __init__(self, token: str, base_url: str, staff_channel: str | None, emergency_mention: str,
                 directory: StaffDirectory) -> None:
        self.client = AsyncWebClient(token=token, base_url=base_url, timeout=10)  # within the outbox's lease
        self.staff_channel = staff_channel
        self.emergency_mention = emergency_mention
        self.directory = directory

    # -- inbound (stored Events API envelopes) ----------------------------------------------------
    def parse(self, raw: dict[str, Any]) -> Envelope | StaffMessage | StaffAct | None:
        if raw.get("type") == "block_actions":
            return _button_press(raw)
        event = raw.get("event") or {}
        if event.get("bot_id") or event.get("subtype") or not event.get("user"):
            return None  # other bots, edits, joins…: never answer them (no bot-to-bot loops)
        text = _MENTION.sub("", event.get("text") or "").strip()
        channel = event.get("channel") or ""
        if self.staff_channel and channel == self.staff_channel:
            if event.get("thread_ts") and event.get("thread_ts") != event.get("ts"):
                return StaffMessage(channel, event["thread_ts"], event["user"], text, event.get("ts", ""))
            if event.get("type") != "app_mention":
                return None  # staff chatting in the channel itself, not to the desk
        if event.get("type") == "message" and event.get("channel_type") != "im":
            return None
        thread = event.get("thread_ts") or (event.get("ts") if event.get("type") == "app_mention" else None)
        target = f"{channel}|{thread}" if thread else channel
        return Envelope(contact_id=event["user"], reply_target=target, inbound=Inbound("text", text=text, professional=True))

    # -- outbound ---------------------------------------------------------------------------------
    def render(self, replies: list[Reply]) -> list[dict[str, Any]]:
        blocks: list[dict[str, Any]] = []
        for reply in replies:
            blocks.extend(reply_blocks(reply))
        fallback = "\n".join(r.text for r in replies)[:3000]
        return [{"kind": "post", "text": fallback, "blocks": blocks[i:i + 45]} for i in range(0, len(blocks), 45)]

    async def send(self, row: OutboxRow) -> SendResult:
        try:
            if row.target.startswith(STAFF_TARGET):
                await self._send_staff(int(row.target.removeprefix(STAFF_TARGET)), row.payload)
            elif row.payload.get("kind") == "reaction":
                p = row.payload
                try:
                    await self.client.reactions_add(channel=p["channel"], timestamp=p["timestamp"], name=p["name"])
                except SlackApiError as exc:
                    if exc.response.get("error") != "already_reacted":
                        raise
            elif row.payload.get("kind") == "ephemeral":
                await self.client.chat_postEphemeral(channel=row.target, user=row.payload["user"],
                                                     text=row.payload["text"])
            else:
                channel, _, thread = row.target.partition("|")
                await self.client.chat_postMessage(channel=channel, thread_ts=thread or None,
                                                   text=row.payload["text"], blocks=row.payload.get("blocks"))
            return SendResult("sent", via="push")
        except SlackApiError as exc:
            return _classify(exc)
        except (TimeoutError, OSError) as exc:
            return SendResult("retry", error=f"slack: {type(exc).__name__}")

    async def aclose(self) -> None:
        return None

    async def _send_staff(self, conversation_id: int, payload: dict[str, Any]) -> None:
        summary = await asyncio.to_thread(self.directory.summary, conversation_id)
        kind = payload.get("event")
        if kind == "page":  # the duty rota calls one person, by DM (the text is their Slack user id)
            await self.client.chat_postMessage(channel=payload.get("text") or "", text=page_text(summary))
            return
        if not self.staff_channel:
            raise SlackApiError("no staff channel", {"ok": False, "error": "staff_channel_not_set"})
        thread = await asyncio.to_thread(self.directory.thread, conversation_id)
        if kind == "refresh":  # show the conversation's current state on its thread's first message
            if thread:
                await self.client.chat_update(channel=thread[0], ts=thread[1], text=staff_fallback(summary),
                                              blocks=staff_blocks(summary, None))
            return
        if thread is None:
            await self._open_thread(summary, alert=kind == "emergency")
            return  # the parent message carries the transcript, the new message included
        text = payload.get("text") or ""
        line = {"emergency": f"{self.emergency_mention} 🚨 緊急の可能性: {text}",
                "handoff": f"📩 引き継ぎ依頼（{role_label(summary.needed_role)}）: {text}",
                "relay": f"💬 相談者: {text}",
                "wake": f"⏰ 保留の期限になりました（担当: {summary.assignee or 'なし'}）。"
                + (f"保留の理由: {text}" if text else ""),
                "reminder": (f"{self.emergency_mention} " if summary.urgency == "emergency" else "")
                + f"⏰ まだ誰も対応していません（引き継ぎから{text}）。「対応する」を押してください。"}.get(kind, text)
        try:
            await self.client.chat_postMessage(channel=thread[0], thread_ts=thread[1], text=line[:3000])
        except SlackApiError as exc:
            if exc.response.get("error") not in ("thread_not_found", "message_not_found", "channel_not_found"):
                raise
            log.warning("staff thread of conversation %s is gone; starting a new one", conversation_id)
            await self._open_thread(summary, alert=kind == "emergency", note="（前のスレッドが見つからないため新しく作りました）")

    async def _open_thread(self, summary: ConversationSummary, alert: bool, note: str = "") -> None:
        blocks = staff_blocks(summary, self.emergency_mention if alert else None)
        if note:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
        response = await self.client.chat_postMessage(channel=self.staff_channel, text=staff_fallback(summary),
                                                      blocks=blocks)
        await asyncio.to_thread(self.directory.link_thread, summary.id, response["channel"], response["ts"])


def page_text(summary: ConversationSummary) -> str:
    """The duty rota's DM to the person on duty."""
    what = "🚨 緊急の可能性がある相談" if summary.urgency == "emergency" else "📩 引き継ぎの相談"
    owner = f"担当の{summary.assignee}さんがまだ返信していません" if summary.assignee else "まだ誰も対応していません"
    return (f"【当番のお知らせ】{what}（相談 #{summary.id}、{role_label(summary.needed_role)}、{summary.contact_name}）: "
            f"{owner}。管理画面か相談スレッドで「対応する」を押すと、あなたが引き継ぎます。")


def _button_press(raw: dict[str, Any]) -> Envelope | StaffAct | None:
    """A press of a conversation's button in the staff channel (a staff act), or of a button the desk
    offered in a DM (the red-flag check: the person's answer, as a postback to their conversation).
    In a channel anyone could press the check's buttons, so there they answer nothing (the question
    itself says to call 119)."""
    action = (raw.get("actions") or [{}])[0]
    user = (raw.get("user") or {}).get("id")
    channel = (raw.get("channel") or {}).get("id") or (raw.get("container") or {}).get("channel_id")
    data = action.get("value")
    act = ACTIONS.get(action_id) if isinstance(action_id := action.get("action_id"), str) else None
    if act is not None:
        number = data if isinstance(data, str) else ""
        usable = isinstance(user, str) and number.isdecimal() and number.isascii() and len(number) < 12
        return StaffAct(act, int(number), user, channel or "") if usable else None
    if not (user and channel and channel.startswith("D") and isinstance(data, str)
            and postback_fields(data).get("action") == "redflag"):
        return None
    thread = (raw.get("message") or {}).get("thread_ts")
    label = (action.get("text") or {}).get("text")
    return Envelope(contact_id=user, reply_target=f"{channel}|{thread}" if thread else channel,
                    inbound=Inbound("postback", postback=data, text=label, professional=True))


# -- Block Kit ------------------------------------------------------------------------------------

def reply_blocks(reply: Reply) -> list[dict[str, Any]]:
    text = reply.text
    if reply.cards:
        text = (reply.summary or text).split("\n", 1)[0]  # the heading; the cards follow as their own blocks
    blocks: list[dict[str, Any]] = [_section(text)]
    blocks.extend(card_block(card) for card in reply.cards)
    if any(card.sample for card in reply.cards):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "⚠️ サンプルデータ（架空の事業所）です。実在しません。"}]})
    if reply.more is not None:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "action_id": "resources_more", "text": {"type": "plain_text", "text": "もっと見る"},
            "value": json.dumps({"text": reply.more.text[:1500], "offset": reply.more.offset}, ensure_ascii=False)}]})
    answers = [q for q in reply.quick_replies if postback_fields(q.data).get("action") == "redflag"]
    if answers:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": f"redflag_{i}", "text": {"type": "plain_text", "text": q.label[:75]},
             "value": q.data, **({"style": "danger"} if postback_fields(q.data).get("answer") != "none" else {})}
            for i, q in enumerate(answers[:25])]})
    picks = [q for q in reply.quick_replies if postback_fields(q.data).get("action") == "faq"]
    if picks:
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "action_id": f"faq_pick_{i}", "text": {"type": "plain_text", "text": q.label[:75]},
             "value": postback_fields(q.data).get("faq", "")} for i, q in enumerate(picks[:5])]})
    return blocks


def card_block(card: ResourceCard) -> dict[str, Any]:
    lines = [f"*{card.name}*　{card.type_label}・{card.municipality or ''}"]
    if card.phone:
        lines.append(f"☎ {card.phone}" + ("（サンプル・架空）" if card.sample else ""))
    lines += [f"{label}: {value}" for label, value in card_rows(card)]
    return _section("\n".join(lines))


def staff_fallback(summary: ConversationSummary) -> str:
    return f"相談 #{summary.id}（{role_label(summary.needed_role)}）: {summary.status_label}"


def staff_blocks(summary: ConversationSummary, alert_mention: str | None) -> list[dict[str, Any]]:
    emergency = summary.urgency == "emergency"
    head = ("🚨 緊急の可能性（119案内済み）" if emergency else "📩 引き継ぎ") + f"　相談 #{summary.id}"
    owner = f"担当: {summary.assignee}" if summary.assignee else "担当: なし（未対応）"
    lines = [f"*{head}*", f"必要な職種: {role_label(summary.needed_role)}　緊急度: {'緊急' if emergency else '通常'}",
             f"チャネル: {summary.channel}　相談者: {summary.contact_name}", f"状態: {summary.status_label}　{owner}"]
    if alert_mention:
        lines.insert(0, alert_mention)
    transcript = "\n".join(f"> *{who}*: {text[:300]}" for who, text in summary.recent) or "（メッセージなし）"
    blocks: list[dict[str, Any]] = [_section("\n".join(lines)), _section(transcript)]
    if summary.status != "resolved":
        buttons = [("conv_take", "対応する", "primary"), ("conv_resolve", "解決", None), ("conv_return", "ボットに戻す", None)]
        blocks.append({"type": "actions", "block_id": f"conversation-{summary.id}", "elements": [
            {"type": "button", "action_id": action, "value": str(summary.id),
             "text": {"type": "plain_text", "text": label}, **({"style": style} if style else {})}
            for action, label, style in buttons]})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   "このスレッドへの返信は内部メモです。「対応する」を押した担当者の返信だけが相談者に届きます"
                   "（「メモ:」で始めると担当者でも内部メモ）。"}]})
    return blocks


def help_blocks(command: str) -> list[dict[str, Any]]:
    return [_section(
        f"*{command} の使い方*\n"
        f"• 事業所をさがす: `{command} 須坂 訪看 人工呼吸器`、`{command} 小布施町 ショート 空き`、`{command} 在支診 看取り 高山村`\n"
        f"• 制度や実務の質問: `{command} 退院前カンファレンスの進め方は？`\n"
        f"• 空床の更新（登録スタッフのみ）: `{command} 空き <事業所ID> <空床数>`\n"
        f"• 事業所情報の更新（登録スタッフのみ）: `{command} 更新 <事業所ID> <電話|時間|備考|受入> <値>`\n"
        "相談の引き継ぎは、このアプリへのDMか @メンションでどうぞ。")]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:MAX_SECTION] or " "}}


def _classify(exc: SlackApiError) -> SendResult:
    status = getattr(exc.response, "status_code", 200)
    error = exc.response.get("error") if exc.response is not None else None
    if status == 429 or error == "ratelimited":
        retry_after = exc.response.headers.get("Retry-After") if exc.response is not None else None
        return SendResult("retry", error="slack: ratelimited", retry_after=float(retry_after) if retry_after else None)
    if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
        return SendResult("retry", error=f"slack: HTTP {status} {error}")
    return SendResult("failed", error=f"slack: {error}")


# -- Bolt: the request side -----------------------------------------------------------------------

def build_bolt(channel: SlackChannel, signing_secret: str, command: str, desk: DeskIngress) -> AsyncApp:
    """Bolt checks the signature and routes; every listener stores or asks and then acknowledges.

    The response waits for the listener, so what staff or a care manager did is stored before Slack
    hears 200 (nothing acknowledged can be lost). A message is stored once by its channel and `ts`:
    Slack sends `message` and `app_mention` for one message that mentions the app, under different
    event ids, and redelivers either under its own. Pages and FAQ picks, which change nothing, are
    answered straight after the acknowledgement.
    """
    app = AsyncApp(client=channel.client, signing_secret=signing_secret, process_before_response=True,
                   logger=QUIET_BOLT)
    background: set[asyncio.Task[None]] = set()

    def after_ack(work: Any) -> None:
        task = asyncio.create_task(work)
        background.add(task)
        task.add_done_callback(background.discard)

    async def store_message(body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if channel.parse(body) is not None:  # what the desk never answers is not kept
            await desk.store(NAME, [(f"message:{event.get('channel')}:{event.get('ts')}"[:128], body)])

    async def store_press(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        key = f"action:{action.get('action_ts') or body.get('trigger_id')}"[:128]
        if channel.parse(body) is not None:
            await desk.store(NAME, [(key, body)])
        await ack()

    app.event("app_mention")(store_message)
    app.event("message")(store_message)
    for action_id in ACTIONS:
        app.action(action_id)(store_press)
    app.action(re.compile(r"^redflag_\d+$"))(store_press)

    @app.command(command)
    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        text = (body.get("text") or "").strip()
        if not text or text in ("help", "ヘルプ", "使い方"):
            await ack(blocks=help_blocks(command), text="使い方")
            return
        if text.startswith(("空き ", "空き　", "更新 ", "更新　")):
            await ack(text=await desk.staff_command(body.get("user_id", ""), text))
            return
        payload = channel.render(await desk.ask(text))[0]
        await ack(text=payload["text"], blocks=payload["blocks"])

    async def ephemeral(body: dict[str, Any], replies: Awaitable[list[Reply]]) -> None:
        payload = channel.render(await replies)[0]
        await channel.client.chat_postEphemeral(channel=body.get("channel", {}).get("id", ""),
                                                user=body.get("user", {}).get("id", ""),
                                                text=payload["text"], blocks=payload["blocks"])

    @app.action("resources_more")
    async def on_more(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        try:
            page = json.loads(action.get("value") or "{}")
            text, offset = str(page.get("text", "")), int(page.get("offset", 0))
        except (ValueError, TypeError, AttributeError):
            return
        after_ack(ephemeral(body, desk.ask(text, offset)))

    @app.action(re.compile(r"^faq_pick_\d+$"))
    async def on_faq_pick(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        after_ack(ephemeral(body, desk.faq(str(action.get("value", "")))))

    return app
