"""All configuration, from the environment (and an optional `.env`), in one place."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_VAR = Path("var")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{REPO_VAR / 'zaitaku-desk.db'}")

    # LINE (residents and families). Both values missing: the channel is off.
    line_channel_secret: str | None = None
    line_channel_access_token: str | None = None
    line_api_base_url: str = "https://api.line.me"
    # A reply token is used only while younger than this; after that the reply goes out as a push.
    line_reply_token_ttl_seconds: float = 50.0
    line_request_timeout_seconds: float = 5.0

    # Slack (care managers and hub staff).
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_staff_channel: str | None = None
    slack_command: str = "/zaitaku"
    # Prepended to emergency posts in the staff channel, e.g. "<!channel>" or "<!subteam^S0123>".
    slack_emergency_mention: str = "<!channel>"

    # The hub, as residents see it in replies.
    hub_name: str = "須高地域 在宅医療・介護連携相談窓口（サンプル）"
    hub_phone: str = "000-0000-0000"
    # The hub's own facts that fill the answers (who answers, its services, #7119 in its prefecture, the
    # record retention period): a YAML file like knowledge/data/hub.yaml. Unset: the bundled sample hub.
    hub_facts_file: Path | None = None
    timezone: str = "Asia/Tokyo"
    # Weekly hours: "mon-fri 08:30-17:15; sat 09:00-12:00". Days not listed are closed.
    business_hours: str = "mon-fri 08:30-17:15"
    # Dated closures on top of Japanese public holidays: "12-29..01-03" (every year) or ISO dates.
    closed_dates: str = "12-29..01-03"
    observe_public_holidays: bool = True

    # Limits and behaviour.
    max_body_bytes: int = 1_000_000
    max_import_bytes: int = 20_000_000  # an uploaded FAQ file or open-data CSV
    outbox_max_attempts: int = 8
    outbox_backoff_base_seconds: float = 1.0
    outbox_backoff_max_seconds: float = 300.0
    outbox_claim_lease_seconds: float = 30.0  # a worker that died mid-send: its rows are taken again after this
    worker_poll_seconds: float = 1.0
    # Work the stored events, the outbox and the timers in the serving process. Off: this process only
    # takes webhooks (stored before 200) and serves the console; `zaitaku-desk worker` does the rest.
    background_work: bool = True
    log_json: bool = True  # serve / worker log JSON lines with request ids; false: plain text lines
    metrics_token: str | None = None  # when set, /metrics asks for it as a Bearer token (Prometheus authorization)
    access_log: bool = False  # a line per HTTP request (costs throughput; the metrics count requests)
    # Remove what people wrote (webhook bodies, message texts, sent payloads) after this many days;
    # counts and times stay for the report. 0: keep (set it to the hub's own rule).
    retention_days: float = 0
    try_page_enabled: bool = True
    try_messages_per_minute: int = 20  # per browser on /try (three times that per client address)
    # Console cookies carry the Secure flag (set this when the console is served over HTTPS).
    admin_cookie_secure: bool = False
    admin_session_hours: float = 12.0  # a console login lasts this long
    # An unclaimed hand-off is announced again after this long; an emergency every so often until taken.
    handoff_reminder_minutes: float = 15.0
    emergency_reminder_minutes: float = 2.0
    # The duty rota (当番, set in the console): a duty day starts at this time and runs to the same time
    # the next morning. Outside hours an emergency is paged to the person on duty at once, another
    # hand-off when nobody has taken it after `duty_page_after_minutes`; the next person on the day's
    # rota is paged when nobody takes it within `duty_escalate_minutes`.
    duty_day_starts: time = time(8, 30)
    duty_page_after_minutes: float = 30.0
    duty_escalate_minutes: float = 10.0

    @property
    def line_enabled(self) -> bool:
        return bool(self.line_channel_secret and self.line_channel_access_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)


@lru_cache
def get_settings() -> Settings:
    return Settings()
