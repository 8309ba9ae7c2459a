"""`zaitaku-desk line rich-menu --dry-run`: the image and JSON against LINE's limits and the SDK's model,
and every area's postback answered by the desk at the fake platform as what it says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from linebot.v3.messaging import RichMenuRequest
from PIL import Image

from tests.fakes.line_platform import FakeLinePlatform
from tests.support import REPO, DeskServer, new_user


def test_the_dry_run_writes_an_image_and_json_within_lines_limits(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "server.cli", "line", "rich-menu", "--dry-run", "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    picture, spec = tmp_path / "rich-menu.png", tmp_path / "rich-menu.json"
    assert picture.stat().st_size <= 1_000_000  # LINE: at most 1 MB
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size == (2500, 1686)
        width, height = image.size
    assert 800 <= width <= 2500 and height >= 250 and width / height >= 1.45  # LINE's size rules
    menu = json.loads(spec.read_text(encoding="utf-8"))
    assert RichMenuRequest.from_dict(menu) is not None  # the SDK's own validation
    assert len(menu["chatBarText"]) <= 14 and 1 <= len(menu["areas"]) <= 20
    for area in menu["areas"]:
        b = area["bounds"]
        assert b["x"] + b["width"] <= width and b["y"] + b["height"] <= height
        assert area["action"]["type"] == "postback" and len(area["action"]["data"]) <= 300


def test_every_menu_button_is_answered_as_what_it_says(desk: DeskServer, line: FakeLinePlatform) -> None:
    from adapters.line_menu import ITEMS

    expected = {"相談する": "在宅医療・介護の相談窓口", "近くの事業所": "市町村を送ってください", "費用のこと": "自己負担",
                "担当者と話す": "おつなぎします", "緊急のとき": "119番"}
    for n, item in enumerate(ITEMS):
        desk.press(new_user(), item.data)
        said = "\n".join(m.get("text", "") for m in line.wait_for_deliveries(n + 1)[n].answer)
        assert expected[item.label] in said, (item.label, said)
    emergency = json.dumps(line.delivered[-1].messages, ensure_ascii=False)
    assert "tel:119" in emergency
