"""The admin API against its own OpenAPI schema: schemathesis generates requests for every operation
(a bounded number each) and checks that none answers 5xx and that every answer is one the schema
documents, in the shape it documents."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from db.session import Database
from tests.support import DeskServer
from zaitaku_desk.staff import create_staff

SCHEMATHESIS = Path(sys.executable).with_name("st")
# Webhooks are signed (a generated body is refused before anything else); the staff account routes
# would let the run revoke or deactivate its own token halfway.
LEFT_OUT = r"^/webhooks/|^/admin/api/staff/\{staff_id\}"


def test_the_admin_api_answers_as_its_schema_says(desk: DeskServer, database: Database) -> None:
    _, token = create_staff(database, "スキーマ 検査", "admin")
    run = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{desk.url}/openapi.json", "-H", f"Authorization: Bearer {token}",
         "--max-examples", "10", "--seed", "20261206", "--workers", "1", "--no-color",
         "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                     "response_schema_conformance",
         "--exclude-path-regex", LEFT_OUT],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested:" in run.stdout and "Server error" not in run.stdout


def test_every_path_names_all_its_methods(desk: DeskServer) -> None:
    """OPTIONS answers 204 with the methods the schema documents for the path; a method the path does not
    take answers 405 with the same list (Starlette's own answer names only one route's methods)."""
    paths = httpx.get(f"{desk.url}/openapi.json", timeout=10).json()["paths"]
    templates = {path: re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$") for path in paths}
    for path in paths:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        # /faq/export is also /faq/{faq_id}: a path takes the methods of every template it fits
        documented = {m.upper() for other, ops in paths.items() if templates[other].match(concrete) for m in ops}
        documented.add("OPTIONS")
        url = desk.url + concrete
        options = httpx.options(url, timeout=10)
        assert options.status_code == 204, (path, options.status_code)
        assert set(options.headers["allow"].split(", ")) == documented, path
        refused = next(m for m in ("PUT", "DELETE", "PATCH", "POST") if m not in documented)
        answer = httpx.request(refused, url, timeout=10)
        assert answer.status_code == 405 and set(answer.headers["allow"].split(", ")) == documented, (path, refused)
