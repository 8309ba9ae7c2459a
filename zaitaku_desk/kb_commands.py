"""`zaitaku-desk kb …`: what hub staff run to keep the knowledge right."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from sqlalchemy import select

from bot.desk import Desk
from bot.faq import FaqItem
from db.migrate import upgrade
from db.models import FaqEntry, Resource
from db.session import Database
from knowledge.faq import dump_faq, validate
from knowledge.opendata import read_opendata, read_resources_csv, read_vacancies_csv
from knowledge.store import RESOURCES_CSV, VACANCIES_CSV, audit, load_bundled, upsert_resources
from zaitaku_desk.settings import get_settings

RESOURCE_COLUMNS = ["id", "name", "type", "municipality", "address", "latitude", "longitude", "phone", "hours",
                    "around_the_clock", "capabilities", "accepting_new", "notes", "source", "sample", "updated_at"]


def run(args: argparse.Namespace) -> int:
    return {"validate": _validate, "load": _load, "export": _export, "import-opendata": _import}[args.action](args)


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
    if topics is None:
        print(f"note: {args.topics} not found; topics were not checked", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems else "knowledge is valid", file=sys.stderr)
    return 1 if problems else 0


def offline_desk() -> Desk:
    """The desk over the bundled knowledge files and model, with no database, search or clock: enough
    to check what its buttons mean."""
    import types

    from bot.faq_match import FaqMatcher
    from bot.route_model import model
    from bot.router import Router
    from knowledge.faq import load_faq, load_synonyms

    items = load_faq()
    return Desk(Router(FaqMatcher(items, load_synonyms()), model()), items, lambda *a, **k: ("", []),
                types.SimpleNamespace(describe=lambda: ""), {"hub_name": "", "hub_phone": ""})


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
            text = dump_faq(FaqItem.from_mapping({
                "id": f.id, "audience": f.audience, "question": f.question, "answer": f.answer, "source": f.source,
                "paraphrases": f.paraphrases, "next_step": f.next_step, "quick_replies": f.quick_replies,
                "tags": f.tags}) for f in faq)
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
