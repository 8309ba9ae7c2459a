"""The LINE rich menu: five large, high-contrast buttons for older eyes, each a postback that says what it
does (the same grammar as every other button the bot offers), drawn here with Pillow and a Japanese
font from Debian's packages (fonts-ipafont-gothic), and set as the default menu through the SDK.

`zaitaku-desk line rich-menu --dry-run --out DIR` writes the image and the JSON without calling LINE.
"""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.replies import ASK_PERSON, MENU_SAID

WIDTH, HEIGHT = 2500, 1686  # LINE's large rich menu
BACKGROUND, INK, LINE_COLOUR = "#FFFFFF", "#12263F", "#12263F"
URGENT, URGENT_INK = "#C62828", "#FFFFFF"


@dataclass(frozen=True)
class Item:
    label: str  # on the image, large
    hint: str  # under it, smaller
    data: str  # the postback
    said: str  # the resident's bubble (displayText)
    urgent: bool = False


ITEMS = (
    Item("相談する", "在宅医療・介護のこと", "action=menu&item=consult", MENU_SAID["consult"]),
    Item("近くの事業所", "訪問看護・ショートなど", "action=menu&item=nearby", MENU_SAID["nearby"]),
    Item("費用のこと", "医療・介護の自己負担", "action=faq&faq=resident.costs", "費用のこと"),
    Item("担当者と話す", "看護師・相談員へ", "action=handoff", ASK_PERSON.text),
    Item("緊急のとき", "119番・#7119", "action=menu&item=emergency", MENU_SAID["emergency"], urgent=True),
)


def _areas() -> list[tuple[Item, tuple[int, int, int, int]]]:
    """Three across the top, two (wider) across the bottom: (item, (x, y, width, height))."""
    top, bottom = ITEMS[:3], ITEMS[3:]
    half = HEIGHT // 2
    placed = [(item, (i * WIDTH // 3, 0, WIDTH // 3, half)) for i, item in enumerate(top)]
    placed += [(item, (i * WIDTH // 2, half, WIDTH // 2, HEIGHT - half)) for i, item in enumerate(bottom)]
    return placed


def definition() -> dict[str, Any]:
    """The rich menu object of the Messaging API."""
    return {"size": {"width": WIDTH, "height": HEIGHT}, "selected": True, "name": "zaitaku-desk",
            "chatBarText": "メニュー",
            "areas": [{"bounds": {"x": x, "y": y, "width": w, "height": h},
                       "action": {"type": "postback", "label": item.label, "data": item.data,
                                  "displayText": item.said}}
                      for item, (x, y, w, h) in _areas()]}


def japanese_font() -> str:
    """A Japanese font file from the system (Debian: fonts-ipafont-gothic)."""
    found = subprocess.run(["fc-list", ":lang=ja", "file"], capture_output=True, text=True)
    files = sorted(line.split(":")[0] for line in found.stdout.splitlines() if line.strip())
    gothic = [f for f in files if "gothic" in f.lower() or "ipag" in f.lower()]
    if not files:  # fc-match would answer with a font that has no Japanese: boxes on the menu
        raise RuntimeError("no Japanese font found (Debian: apt install fonts-ipafont-gothic)")
    return (gothic or files)[0]


def image() -> bytes:
    """The menu as a PNG: large dark text on white, the emergency button red, thick separators."""
    from PIL import Image, ImageDraw, ImageFont

    path = japanese_font()
    canvas = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(canvas)

    def fitting(text: str, size: int, width: int) -> Any:
        """The largest font up to `size` in which `text` fits `width`."""
        while size > 20 and draw.textlength(text, font=ImageFont.truetype(path, size)) > width:
            size -= 4
        return ImageFont.truetype(path, size)

    for item, (x, y, w, h) in _areas():
        fill, ink = (URGENT, URGENT_INK) if item.urgent else (BACKGROUND, INK)
        draw.rectangle((x, y, x + w, y + h), fill=fill, outline=LINE_COLOUR, width=12)
        centre, room = x + w // 2, int(w * 0.86)
        draw.text((centre, y + h // 2 - 50), item.label, font=fitting(item.label, 150, room), fill=ink, anchor="mm")
        draw.text((centre, y + h // 2 + 110), item.hint, font=fitting(item.hint, 72, room), fill=ink, anchor="mm")
    out = io.BytesIO()
    canvas.save(out, "PNG", optimize=True)
    return out.getvalue()


def write(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    picture, spec = directory / "rich-menu.png", directory / "rich-menu.json"
    picture.write_bytes(image())
    spec.write_text(json.dumps(definition(), ensure_ascii=False, indent=2), encoding="utf-8")
    return picture, spec


def publish(access_token: str) -> str:
    """Create the menu at LINE, upload its image and make it every user's default; returns its id."""
    from linebot.v3.messaging import (
        ApiClient,
        Configuration,
        MessagingApi,
        MessagingApiBlob,
        RichMenuRequest,
    )

    picture = image()
    with ApiClient(Configuration(access_token=access_token)) as client:  # LINE's own hosts (api, api-data)
        menu_id = MessagingApi(client).create_rich_menu(RichMenuRequest.from_dict(definition())).rich_menu_id
        MessagingApiBlob(client).set_rich_menu_image(menu_id, body=bytearray(picture),
                                                     _headers={"Content-Type": "image/png"})
        MessagingApi(client).set_default_rich_menu(menu_id)
    return menu_id
