"""The hub's own facts (knowledge/data/hub.yaml or HUB_FACTS_FILE): what differs from hub to hub and
fills the FAQ answers' placeholders, so no answer states one hub's arrangements as every hub's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

BUNDLED = Path(__file__).parent / "data" / "hub.yaml"
# Each fact a hub sets, and what it is (for `kb review` and the console).
FACTS = {
    "emergency_consult": "救急安心センター（#7119）の案内（都道府県で受付時間・対象年齢が異なる）",
    "hub_staff": "この窓口で相談に応じる職種",
    "hub_services": "この窓口が住民のために実際に行っていること",
    "retention_period": "相談記録の保存期間",
    "backup_beds": "急変時の受け入れ病床の仕組み",
}
# Where a value still shows the sample's blank (a real hub writes its own fact there).
TO_FILL = "【拠点で記入"


@dataclass(frozen=True)
class HubFacts:
    values: dict[str, str]
    sample: bool  # the bundled sample hub: not a real hub's facts
    path: Path

    def unfilled(self) -> list[str]:
        """Facts that still show the sample's blank."""
        return [key for key, value in self.values.items() if TO_FILL in value]


def load_hub_facts(path: Path | None = None) -> HubFacts:
    """The facts, every one of FACTS present and non-empty; a clear error naming the file otherwise."""
    path = path or BUNDLED
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: 拠点の設定ファイルを読めません: {exc}") from exc
    facts = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(facts, dict):
        raise ValueError(f"{path}: facts: がありません")
    missing = [key for key in FACTS if not str(facts.get(key) or "").strip()]
    if missing:
        raise ValueError(f"{path}: 次の項目が空です: {', '.join(missing)}")
    if "救急安心センター" not in str(facts["emergency_consult"]):
        raise ValueError(f"{path}: emergency_consult には「救急安心センター」の名前を入れてください（#7119 だけでは"
                         "何の番号か伝わりません）")
    unknown = sorted(set(facts) - set(FACTS))
    if unknown:
        raise ValueError(f"{path}: 未知の項目です: {', '.join(unknown)}（使えるのは {', '.join(FACTS)}）")
    return HubFacts({key: str(facts[key]).strip() for key in FACTS}, bool(data.get("sample", False)), path)
