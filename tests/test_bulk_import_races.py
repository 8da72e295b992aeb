"""Bulk imports applied at the same moment, against a database of the kind the suite runs on
that commits for real (SQLite in a file, or a sibling of the configured PostgreSQL test
database): the same check applied twice, and a second upload of the same file alongside,
import every person and completion exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.courses import catalogue as courses
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports.csv_files import ImportKind
from jesip_learn.imports.models import ImportBatch
from jesip_learn.learning.models import Completion
from tests.support.bulk_import import COMPLETIONS_HEADER, TODAY, USERS_HEADER, dry_run
from tests.support.database import configured_url, drop_sibling_database, migrate, sibling_database
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"


@pytest.fixture
def real_database(tmp_path):
    """A database of the kind the suite runs on, committed to for real (no rollback)."""
    url = configured_url()
    url = sibling_database(url, "imports") if url else f"sqlite:///{tmp_path / 'imports.db'}"
    migrate(url)
    database = Database(url)
    yield database
    database.engine.dispose()
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


def test_applies_at_the_same_moment_never_import_twice(real_database):
    """The same check applied twice at once (a double click), and a second upload of the
    same files applied alongside: every person and completion exists exactly once."""
    people = "".join(f"Person {n},p{n}@example.org,Concurrent Police,staff\n" for n in range(20))
    done = "".join(f"p{n}@example.org,JESIP-AWARE,2025-01-{n + 1:02d}\n" for n in range(20))
    with real_database.write_session() as session:
        organisation = make_organisation(session, name="Concurrent Police")
        courses.import_parsed(session, courses.parse_folders(VALID))
        admin = make_user(session, organisation=organisation, permissions={"admin"})
        admin_id = admin.id
    for kind, text in ((ImportKind.USERS, USERS_HEADER + people),
                       (ImportKind.COMPLETIONS, COMPLETIONS_HEADER + done)):
        with real_database.write_session() as session:
            admin = session.get(User, admin_id)
            checks = [dry_run(session, admin, text, kind) for _ in range(2)]
            assert all(plan.change_count == 20 for _, plan in checks)
            round_jobs = [(batch.id, plan.digest) for batch, plan in checks] * 2
        barrier = threading.Barrier(len(round_jobs))
        results: list[str] = []

        def apply(batch_id, digest, barrier=barrier, results=results):
            barrier.wait()
            try:
                with real_database.write_session() as session:
                    batch = session.get(ImportBatch, batch_id)
                    importer = session.get(User, admin_id)
                    bulk_import.apply_import(session, batch, importer, digest, today=TODAY)
                results.append("applied")
            except bulk_import.AlreadyApplied:
                results.append("already applied")
            except (bulk_import.PlanChanged, IntegrityError):
                results.append("changed")

        threads = [threading.Thread(target=apply, args=job) for job in round_jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # One check is applied, and its twin finds it done; the other upload, whichever of
        # its twins gets there, finds that the records changed under it.
        assert sorted(results) == ["already applied", "applied", "changed", "changed"]

    with real_database.session() as session:
        assert session.scalar(select(func.count()).select_from(User).where(
            User.id != admin_id)) == 20
        assert session.scalar(select(func.count()).select_from(Completion)) == 20
        assert session.scalar(select(func.count()).select_from(ImportBatch).where(
            ImportBatch.applied_at.is_not(None))) == 2
