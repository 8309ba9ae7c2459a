"""`zaitaku-desk`: serve, chat, db, route, eval and kb."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.roles import Role
from zaitaku_desk import logs
from zaitaku_desk.settings import get_settings

if TYPE_CHECKING:
    from adapters.base import Envelope
    from zaitaku_desk.runtime import Runtime

SHARED_TOPICS = Path("../shared/topics.yaml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zaitaku-desk", description="在宅医療・介護 相談デスク")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the desk (webhooks, health, console)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--workers", type=int, default=1,
                       help="web processes sharing the port (PostgreSQL; with BACKGROUND_WORK=false and a "
                            "`zaitaku-desk worker` beside them, or each works events and the outbox too)")

    commands.add_parser("worker", help="work stored events, the outbox and timers, beside `serve` with "
                                       "BACKGROUND_WORK=false (several may run on one PostgreSQL)")

    commands.add_parser("chat", help="talk to the desk in the terminal, as a resident would on LINE")

    db = commands.add_parser("db", help="database: upgrade (migrations), backup FILE, restore FILE (into an "
                                        "empty database, then upgraded)")
    db.add_argument("action", choices=["upgrade", "backup", "restore"])
    db.add_argument("file", nargs="?", type=Path, help="the backup file (backup, restore)")

    line = commands.add_parser("line", help="LINE set-up: rich-menu (draw the menu, create it at LINE and make it "
                                            "the default; --dry-run only writes the image and JSON)")
    line.add_argument("action", choices=["rich-menu"])
    line.add_argument("--dry-run", action="store_true", help="write the image and the JSON, call nothing")
    line.add_argument("--out", type=Path, default=Path("var/rich-menu"), help="where to write them")

    route = commands.add_parser("route", help="the routing decision for one message")
    route.add_argument("text")
    route.add_argument("--json", action="store_true", help="print the decision as JSON (eval prediction shape)")

    evaluate = commands.add_parser("eval", help="routing figures on an evaluation file, beside baselines")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--ablation", action="store_true",
                          help="also: the rules alone, the model alone, and both without readings or without "
                               "the dialect and typo spellings (retrains two models on corpus/; needs scikit-learn)")
    evaluate.add_argument("--predictions", type=Path, help="write one prediction per input line here")

    trainer = commands.add_parser("train", help="train the routing model on corpus/ (and the dev set)")
    trainer.add_argument("--out", type=Path, help="where to write the model (default: the bundled one)")
    trainer.add_argument("--cross-validate", type=int, metavar="FOLDS", default=0,
                         help="first print the router's figures out of fold (each fold routed by a model "
                              "trained on the others): how the router's thresholds were chosen")

    kb = commands.add_parser("kb", help="the knowledge base: validate, load, export, import open data")
    kb_actions = kb.add_subparsers(dest="action", required=True)
    validate = kb_actions.add_parser("validate", help="every problem in the knowledge files, with file and line")
    validate.add_argument("--topics", type=Path, default=SHARED_TOPICS,
                          help="topics.yaml whose ids must all have an entry (default ../shared/topics.yaml)")
    kb_actions.add_parser("review", help="what a hub reads before going live: each entry in use with its length, "
                                         "unexplained terms, claims to confirm, blank hub facts, source, review date")
    kb_actions.add_parser("load", help="load the bundled knowledge files into the database (idempotent)")
    export = kb_actions.add_parser("export", help="the knowledge in the database as YAML/CSV or JSON")
    export.add_argument("--format", choices=["yaml", "csv", "json"], default="yaml",
                        help="yaml: FAQ entries; csv: resources; json: every FAQ id with its question")
    export.add_argument("--output", type=Path, help="write here instead of standard output")
    opendata = kb_actions.add_parser("import-opendata", help="import a municipality's 推奨データセット CSV")
    opendata.add_argument("file", type=Path)
    opendata.add_argument("--kind", choices=["care", "medical"], help="default: detected from the header")

    staff = commands.add_parser("staff", help="staff accounts")
    staff_actions = staff.add_subparsers(dest="action", required=True)
    create = staff_actions.add_parser("create", help="create a staff account and print its API token once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=list(Role))
    create.add_argument("--slack-user", help="the member's Slack user id (U…), to act on hand-offs in Slack")

    args = parser.parse_args(argv)
    _logging(serving=args.command in ("serve", "worker"))
    handler = {"serve": _serve, "worker": _worker, "chat": _chat, "db": _db, "line": _line, "route": _route, "eval": _eval, "train": _train,
               "kb": _kb, "staff": _staff}[args.command]
    return handler(args)


def _logging(serving: bool) -> None:
    logs.configure(logging.INFO if serving else logging.WARNING, json_lines=serving and get_settings().log_json)


def served_app() -> Any:
    """The app as each process of `serve --workers N` builds it (uvicorn starts them fresh): its logging
    first, as `serve` sets it up in a single process."""
    from server.app import create_app

    _logging(serving=True)
    return create_app()


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    settings = get_settings()
    # log_config=None: uvicorn's own lines go through the JSON handler configured above.
    options = {"host": args.host, "port": args.port, "log_level": args.log_level, "log_config": None,
               "access_log": settings.access_log,
               # The console's event streams never end by themselves: a stop closes them after this.
               "timeout_graceful_shutdown": 5}
    if args.workers > 1:  # each process builds its own app (and runtime) from the same settings
        uvicorn.run("server.cli:served_app", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


def _worker(_args: argparse.Namespace) -> int:
    import asyncio
    import contextlib
    import signal

    from zaitaku_desk.runtime import Runtime

    async def run() -> None:
        work = asyncio.ensure_future(Runtime(get_settings().model_copy(update={"background_work": True})).work())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, work.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await work

    asyncio.run(run())
    return 0


def _db(args: argparse.Namespace) -> int:
    from db.backup import BackupError, backup, restore
    from db.migrate import upgrade
    from db.session import Database

    url = get_settings().database_url
    if args.action in ("backup", "restore"):
        if args.file is None:
            print(f"zaitaku-desk db {args.action}: name the backup file", file=sys.stderr)
            return 2
        try:
            (backup if args.action == "backup" else restore)(url, args.file)
        except BackupError as exc:
            print(f"zaitaku-desk db {args.action}: {exc}", file=sys.stderr)
            return 1
        if args.action == "backup":
            print(f"backed up to {args.file} ({args.file.stat().st_size:,} bytes)")
            return 0
        print(f"restored from {args.file}")
    database = Database(url)
    upgrade(database.engine)
    print(f"database is at the latest migration ({database.engine.url.render_as_string(hide_password=True)})")
    return 0


def _line(args: argparse.Namespace) -> int:
    from adapters import line_menu

    picture, spec = line_menu.write(args.out)
    print(f"rich menu: {picture} ({picture.stat().st_size:,} bytes), {spec}")
    if args.dry_run:
        return 0
    token = get_settings().line_channel_access_token
    if not token:
        print("zaitaku-desk line rich-menu: set LINE_CHANNEL_ACCESS_TOKEN (or use --dry-run)", file=sys.stderr)
        return 2
    print(f"created and set as the default rich menu: {line_menu.publish(token)}")
    return 0


def _offline_router() -> Any:
    """The router on the bundled knowledge files and model, no database needed."""
    from bot.faq_match import FaqMatcher
    from bot.route_model import model
    from bot.router import Router
    from knowledge.faq import load_faq, load_synonyms

    return Router(FaqMatcher(load_faq(), load_synonyms()), model())


def _train(args: argparse.Namespace) -> int:
    from bot.route_model import MODEL_FILE, corpus_files, read_corpus, train

    files = corpus_files()
    texts, labels = read_corpus(files)
    if args.cross_validate:
        _cross_validate(files, args.cross_validate)
    out = args.out or MODEL_FILE
    train(texts, labels).save(out)
    print(f"trained on {len(texts)} messages from {len(files)} files → {out}")
    return 0


def _route(args: argparse.Namespace) -> int:
    decision = _offline_router().decide(args.text)
    prediction = decision.prediction(args.text)
    if args.json:
        print(json.dumps(prediction, ensure_ascii=False))
    else:
        scores = ", ".join(f"{m.faq_id} {m.score:.2f}" for m in decision.matches[:3])
        print(f"route: {decision.route}  faq: {decision.faq_id}  role: {decision.role}  "
              f"resource: {prediction['resource']}\ntop: {scores}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import time

    from bot.evaluation import (
        BigramBm25Baseline,
        RapidfuzzBaseline,
        missed_targets,
        predict_all,
        read_cases,
        score,
        table,
    )
    from knowledge.faq import load_faq

    cases = read_cases(args.file)
    router = _offline_router()
    started = time.perf_counter()
    predictions = predict_all(lambda text: router.decide(text).prediction(text), cases)
    per_message_ms = (time.perf_counter() - started) * 1000 / max(len(cases), 1)
    if args.predictions:
        args.predictions.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions),
                                    encoding="utf-8")
    columns = {"zaitaku-desk": score(cases, predictions)}
    if args.ablation:
        for name, predict in _ablations(router):
            columns[name] = score(cases, predict_all(predict, cases))
    items = load_faq()
    for baseline in (RapidfuzzBaseline(items), BigramBm25Baseline(items)):
        columns[baseline.name] = score(cases, predict_all(baseline.predict, cases))
    print(f"{args.file} ({len(cases)} messages; zaitaku-desk {per_message_ms:.2f} ms per message)\n")
    print(table(columns))
    missed = missed_targets(columns["zaitaku-desk"])
    print("\nbaselines route every message to the FAQ (their emergency, hand-off and resource figures follow)")
    print("zaitaku-desk: all targets met" if not missed else f"zaitaku-desk: targets missed: {', '.join(missed)}")
    return 0


def _cross_validate(files: list[Path], folds: int) -> None:
    import random

    from bot.evaluation import read_cases, score, table
    from bot.route_model import label_of, train

    router = _offline_router()
    cases = [case for path in files for case in read_cases(path)]
    order = list(range(len(cases)))
    random.Random(0).shuffle(order)
    predictions: list[Any] = [None] * len(cases)
    for fold in range(folds):
        held = [i for k, i in enumerate(order) if k % folds == fold]
        kept = [i for k, i in enumerate(order) if k % folds != fold]
        router.model = train([cases[i].text for i in kept], [label_of(cases[i].expect) for i in kept])
        for i in held:
            predictions[i] = router.decide(cases[i].text).prediction(cases[i].text)
    print(f"{len(cases)} messages of {len(files)} files, {folds} folds\n")
    print(table({"out of fold": score(cases, predictions)}) + "\n")


def _ablations(router: Any) -> list[tuple[str, Any]]:
    """The desk's router with a part taken away, as (column name, predict)."""
    from bot.evaluation import ModelAlone
    from bot.red_flags import RedFlags
    from bot.route_model import corpus_files, read_corpus, train
    from bot.router import Router

    texts, labels = read_corpus(corpus_files())
    variants: list[tuple[str, Any]] = [
        ("rules alone", Router(router.matcher, None)),
        ("model alone", ModelAlone(router.matcher, router.model)),
    ]
    for name, flags, readings in (("no readings", RedFlags.load(readings=False), False),
                                  ("no spellings", RedFlags.load(spellings=False), True)):
        model = train(texts, labels, flags=flags, readings=readings)
        variants.append((name, Router(router.matcher, model, flags)))
    return [(name, v.predict if isinstance(v, ModelAlone) else (lambda t, r=v: r.decide(t).prediction(t)))
            for name, v in variants]


def _kb(args: argparse.Namespace) -> int:
    from zaitaku_desk import kb_commands

    return kb_commands.run(args)


def _staff(args: argparse.Namespace) -> int:
    from db.migrate import upgrade
    from db.session import Database
    from zaitaku_desk.staff import create_staff

    database = Database(get_settings().database_url)
    upgrade(database.engine)
    staff_id, token = create_staff(database, args.name, args.role, args.slack_user)
    print(f"staff #{staff_id} {args.name} ({args.role}) created.")
    print(f"API token (shown once, keep it safe): {token}")
    return 0


def _chat(args: argparse.Namespace) -> int:
    from adapters.base import Envelope
    from adapters.terminal import TerminalChannel
    from bot.messages import Inbound
    from zaitaku_desk.runtime import Runtime

    terminal = TerminalChannel()
    runtime = Runtime(get_settings(), extra_channels=[terminal])
    runtime.prepare()
    print("在宅医療・介護 相談デスク（ターミナル）。LINE と同じ中身と話せます。終了は Ctrl-D か「exit」。")
    print("番号を入れると、直前の選択肢を選べます。")
    send = lambda inbound: _chat_turn(runtime, Envelope("terminal-user", "terminal-user", inbound))  # noqa: E731
    send(Inbound("follow"))
    while True:
        try:
            typed = input("\nあなた> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if typed in ("exit", "quit"):
            break
        option = terminal.choice(typed)
        if option and option.get("data"):
            send(Inbound("postback", postback=option["data"], text=option["text"]))
        else:
            send(Inbound("text", text=option["text"] if option else typed))
    runtime.db.dispose()
    return 0


def _chat_turn(runtime: Runtime, envelope: Envelope) -> None:
    with runtime.db.session() as session:
        runtime.pipeline.handle(session, "terminal", envelope)
    asyncio.run(runtime.outbox.deliver_due())


if __name__ == "__main__":
    sys.exit(main())
