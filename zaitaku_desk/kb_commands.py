"""`zaitaku-desk kb …`: what hub staff run to keep the knowledge right."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from bot.desk import Desk
from db.migrate import upgrade
from db.models import FaqEntry, Resource
from db.session import Database
from knowledge.faq import dump_faq, load_faq, validate
from knowledge.hub import FACTS as HUB_FACTS
from knowledge.hub import load_hub_facts
from knowledge.opendata import read_opendata, read_resources_csv, read_vacancies_csv
from knowledge.review import EntryReview, load_glossary, review_entry
from knowledge.store import (
    RESOURCES_CSV,
    VACANCIES_CSV,
    audit,
    ensure_knowledge,
    item_of,
    load_bundled,
    review_stored,
    upsert_resources,
)
from zaitaku_desk.settings import get_settings

RESOURCE_COLUMNS = ["id", "name", "type", "municipality", "address", "latitude", "longitude", "phone", "hours",
                    "around_the_clock", "capabilities", "accepting_new", "notes", "source", "sample", "updated_at"]


def run(args: argparse.Namespace) -> int:
    return {"validate": _validate, "review": _review, "load": _load, "export": _export,
            "import-opendata": _import}[args.action](args)


def _database() -> Database:
    db = Database(get_settings().database_url)
    upgrade(db.engine)
    return db


def _validate(args: argparse.Namespace) -> int:
    topics = args.topics if args.topics and args.topics.exists() else None
    problems = [str(p) for p in validate(topics=topics)]
    for path, reader in ((RESOURCES_CSV, read_resources_csv), (VACANCIES_CSV, read_vacancies_csv)):
        problems += [f"{path.name}:{p.row}: {p.reason}" for p in reader(path).problems]
    if not problems:
        problems += _buttons_without_meaning()
    for line in problems:
        print(line)
    glossary = load_glossary()
    print("longest first bubbles (resident): " + ", ".join(
        f"{r.item.id} {r.first_bubble}" for r in _longest(review_entry(i, glossary) for i in load_faq())),
        file=sys.stderr)
    if topics is None:
        print(f"note: {args.topics} not found; topics were not checked", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems else "knowledge is valid", file=sys.stderr)
    return 1 if problems else 0


def _longest(reviews: Iterable[EntryReview], n: int = 5) -> list[EntryReview]:
    resident = [r for r in reviews if r.item.audience == "resident"]
    return sorted(resident, key=lambda r: -r.first_bubble)[:n]


def _review(_args: argparse.Namespace) -> int:
    """The entries in use (in the database, with the hub's confirmations), resident entries first."""
    db = _database()
    ensure_knowledge(db)
    facts = load_hub_facts(get_settings().hub_facts_file)
    with db.session() as session:
        reviews = review_stored(session, facts)
    print(f"hub facts: {facts.path}" + ("  (the bundled SAMPLE hub: write your own and set HUB_FACTS_FILE)"
                                        if facts.sample else ""))
    for key in facts.unfilled():
        print(f"  blank: {key} — {HUB_FACTS[key]}")
    for r in reviews:
        # (a resident entry's unexplained terms are already among its problems)
        flags = [*r.problems, *([f"confirm: {r.confirm}"] if r.confirm else []),
                 *(f"blank hub fact: {n}" for n in r.unfilled_facts)]
        print(f"{'ok ' if r.ready else '!! '}{r.item.id}  [{r.item.audience}] first bubble {r.first_bubble}, "
              f"longest line {r.longest_line}, next step {r.next_step}; {r.item.source_label()}; "
              f"reviewed {r.item.reviewed or 'never'}")
        for flag in flags:
            print(f"     {flag}")
    ready = sum(r.ready for r in reviews)
    print(f"{ready} of {len(reviews)} entries ready; {sum(bool(r.confirm) for r in reviews)} claim(s) to confirm; "
          f"{len(facts.unfilled())} hub fact(s) blank", file=sys.stderr)
    return 0


def offline_desk() -> Desk:
    """The desk over the bundled knowledge files and model, with no database, search or clock: enough
    to check what its buttons mean."""
    import types

    from bot.faq_match import FaqMatcher
    from bot.route_model import model
    from bot.router import Router
    from knowledge.faq import load_synonyms

    items = load_faq()
    return Desk(Router(FaqMatcher(items, load_synonyms()), model()), items, lambda *a, **k: ("", []),
                types.SimpleNamespace(describe=lambda: ""),
                {"hub_name": "", "hub_phone": "", **load_hub_facts(get_settings().hub_facts_file).values})


def _buttons_without_meaning() -> list[str]:
    """Follow-up buttons the desk cannot give a meaning (an FAQ entry, a search, a hand-off): pressed,
    they would only say their text."""
    desk = offline_desk()
    return [f"{item.file}:{item.line}: {item.id}: the button 「{text}」 names no FAQ entry, search or person"
            for item in desk.faq.values() for text in item.quick_replies if desk.buttons[text].data is None]


def _load(_args: argparse.Namespace) -> int:
    summary = load_bundled(_database())
    print(f"FAQ: {summary.faq_created} created, {summary.faq_updated} updated; "
          f"resources: {summary.resources_created} created, {summary.resources_updated} updated; "
          f"vacancies: {summary.vacancies}")
    for problem in summary.problems:
        print(problem, file=sys.stderr)
    return 1 if summary.problems else 0


def _export(args: argparse.Namespace) -> int:
    db = _database()
    with db.session() as session:
        faq = session.scalars(select(FaqEntry).order_by(FaqEntry.id)).all()
        resources = session.scalars(select(Resource).order_by(Resource.id)).all()
        if args.format == "json":
            text = json.dumps([{"id": f.id, "question": f.question, "audience": f.audience, "active": f.active}
                               for f in faq], ensure_ascii=False, indent=1)
        elif args.format == "yaml":
            text = dump_faq(item_of(f) for f in faq)
        else:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(RESOURCE_COLUMNS)
            for r in resources:
                writer.writerow([r.id, r.name, r.type, r.municipality, r.address, r.latitude, r.longitude, r.phone,
                                 r.hours, str(r.around_the_clock).lower(), " ".join(r.capabilities or []),
                                 "" if r.accepting_new is None else str(r.accepting_new).lower(), r.notes,
                                 r.source, str(r.sample).lower(), r.updated_at.date().isoformat()])
            text = buffer.getvalue()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.exists():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    try:
        result = read_opendata(path, kind=args.kind, source=path.name)
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    db = _database()
    with db.session() as session:
        created, updated = upsert_resources(session, result.resources)
        audit(session, "cli", "kb.import_opendata", "resources", path.name,
              {"kind": result.kind, "encoding": result.encoding, "created": created, "updated": updated,
               "problems": len(result.problems)})
    print(f"{path.name} ({result.kind}, {result.encoding}): {created} created, {updated} updated, "
          f"{len(result.problems)} row(s) not used")
    for problem in result.problems:
        print(f"{path.name}:{problem.row}: {problem.reason}")
    return 0
