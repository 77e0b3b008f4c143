"""Run the `referral` command the way a user does: a subprocess with environment settings."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import postgres_url

REFERRAL = shutil.which("referral", path=str(Path(sys.executable).parent)) or "referral"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@pytest.fixture(scope="session")
def migrated_prefect_home(tmp_path_factory) -> Path:
    """A Prefect home whose database is migrated: the first flow a command runs in a new
    home waits seconds for Prefect to create its tables, which each test would pay again."""
    home = tmp_path_factory.mktemp("prefect-home")
    subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        env={**os.environ, "PREFECT_HOME": str(home)},
        check=True,
        capture_output=True,
        timeout=240,
    )
    return home


@pytest.fixture(params=["sqlite", "postgresql"])
def cli(request, tmp_path, migrated_prefect_home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRAL_")}
    env["REFERRAL_DATA_DIR"] = str(tmp_path / "data")
    # A copy per test: the runs one test makes are not another's.
    env["PREFECT_HOME"] = str(shutil.copytree(migrated_prefect_home, tmp_path / "prefect"))
    env["COLUMNS"] = "200"
    if request.param == "postgresql":
        engine_url = postgres_url()
        from sqlalchemy import text

        from db.engine import make_engine
        from db.models import Base

        engine = make_engine(engine_url)
        with engine.begin() as connection:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            connection.execute(text(f"DROP TABLE IF EXISTS {tables}, alembic_version CASCADE"))
        engine.dispose()
        env["REFERRAL_DATABASE_URL"] = engine_url

    def run(*args: str, extra_env: dict[str, str] | None = None, timeout: float = 240) -> Result:
        done = subprocess.run(
            [REFERRAL, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**env, **(extra_env or {})},
            cwd=tmp_path,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    run.backend = request.param
    run.tmp_path = tmp_path
    # Where the commands' database lives, for tests that set a scene the CLI cannot.
    run.database_url = env.get("REFERRAL_DATABASE_URL") or (
        f"sqlite:///{tmp_path / 'data' / 'referral.db'}"
    )
    yield run
    if request.param == "postgresql":
        # The shared test database is the other tiers' too: leave its schema as found,
        # whatever this test did to it (some start from no tables at all).
        from db.engine import make_engine
        from db.migrate import upgrade

        engine = make_engine(postgres_url())
        upgrade(engine)
        engine.dispose()
