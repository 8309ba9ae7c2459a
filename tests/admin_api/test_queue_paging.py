"""A long queue: the console shows the first hundred (emergencies always first) and more on request,
keeping its filters; the API's own limit is separate."""

from __future__ import annotations

import re
from datetime import timedelta

from db.models import Contact, Conversation, Message, utcnow
from db.session import Database
from tests.admin_api.conftest import Member, console_login
from tests.support import DeskServer


def test_the_queue_shows_a_hundred_then_more_with_emergencies_first(
        desk: DeskServer, database: Database, staff: dict[str, Member]) -> None:
    now = utcnow()
    with database.session() as session:
        for n in range(130):
            contact = Contact(channel="line", external_id=f"Upaging{n:025d}", display_name=f"サンプル {n}")
            session.add(contact)
            session.flush()
            # The emergency waited least: without the queue's order it would be last.
            conversation = Conversation(contact_id=contact.id, channel="line", status="waiting", needed_role="nurse",
                                        urgency="emergency" if n == 129 else "normal",
                                        handed_off_at=now - timedelta(minutes=200 - n))
            session.add(conversation)
            session.flush()
            session.add(Message(conversation_id=conversation.id, direction="in", sender_kind="contact",
                                text=f"（サンプル）相談 {n}"))
    client = console_login(desk, staff["nurse"])
    page = client.get("/admin/", params={"role": "nurse"}).text
    ids = re.findall(r'<tr class="[^"]*" data-id="(\d+)"', page)
    assert len(ids) == 100 and 'class="emergency" data-id' in page.split("<tbody", 1)[1][:600]
    more = re.search(r'href="(/admin/\?[^"]+)" class="show-more"', page).group(1).replace("&amp;", "&")
    assert "role=nurse" in more and "shown=200" in more
    everything = client.get(more).text
    assert len(re.findall(r'<tr class="[^"]*" data-id="(\d+)"', everything)) == 130 and "show-more" not in everything
    assert 'data-src="/admin/queue/rows?tab=waiting&amp;role=nurse&amp;shown=200"' in everything
    client.close()
