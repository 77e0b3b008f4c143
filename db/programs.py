"""Programs and their versions: `Programs(session).create(...)` is the Python API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Program, ProgramVersion
from db.types import utcnow
from referral.programs import ProgramConfig, parse_program


class ApplyOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class LoadedProgram:
    id: int
    slug: str
    version: int
    version_id: int
    config: ProgramConfig


@dataclass(frozen=True)
class ApplyResult:
    program: LoadedProgram
    outcome: ApplyOutcome


@dataclass(frozen=True)
class ProgramSummary:
    id: int
    slug: str
    name: str
    type: str
    version: int
    starts_at: datetime | None
    ends_at: datetime | None
    updated_at: datetime


class ProgramNotFound(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no program with slug {slug!r}")


class ProgramExists(ValueError):
    def __init__(self, slug: str) -> None:
        super().__init__(
            f"a program with slug {slug!r} exists already; apply a new version instead"
        )


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63] or "program"


class Programs:
    """Reads and versions programs inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, **fields: Any) -> LoadedProgram:
        """Create a program from the same fields as a program file; `slug` defaults from name."""
        fields.setdefault("slug", slugify(str(fields.get("name", ""))))
        config = parse_program(fields, source="create")
        if self._row(config.slug) is not None:
            raise ProgramExists(config.slug)
        return self.apply(config).program

    def apply(self, config: ProgramConfig) -> ApplyResult:
        """Create the program, add a version if its rules changed, or do nothing."""
        program = self._row(config.slug, for_update=True)
        fingerprint = config.fingerprint()
        if program is None:
            program = Program(slug=config.slug, current_version=1)
            outcome = ApplyOutcome.CREATED
            version_number = 1
        else:
            current = self._version(program.id, program.current_version)
            if current.fingerprint == fingerprint:
                return ApplyResult(self._loaded(program, current), ApplyOutcome.UNCHANGED)
            outcome = ApplyOutcome.UPDATED
            version_number = program.current_version + 1
        program.name = config.name
        program.type = config.type.value
        program.starts_at = config.starts_at
        program.ends_at = config.ends_at
        program.current_version = version_number
        program.updated_at = self.session.scalar(select(utcnow()))  # type: ignore[assignment]
        self.session.add(program)
        self.session.flush()
        version = ProgramVersion(
            program_id=program.id,
            version=version_number,
            config=config.model_dump(mode="json"),
            fingerprint=fingerprint,
        )
        self.session.add(version)
        self.session.flush()
        return ApplyResult(self._loaded(program, version), outcome)

    def get(self, slug: str) -> LoadedProgram:
        program = self._row(slug)
        if program is None:
            raise ProgramNotFound(slug)
        return self._loaded(program, self._version(program.id, program.current_version))

    def by_id(self, program_id: int) -> LoadedProgram:
        """The program's current rules, by its id."""
        program = self.session.get_one(Program, program_id)
        return self._loaded(program, self._version(program.id, program.current_version))

    def by_version_id(self, version_id: int) -> LoadedProgram:
        """The rules a referral was made under, even after the program has moved on."""
        version = self.session.get_one(ProgramVersion, version_id)
        program = self.session.get_one(Program, version.program_id)
        return self._loaded(program, version)

    def list(self) -> list[ProgramSummary]:
        rows = self.session.scalars(select(Program).order_by(Program.slug))
        return [
            ProgramSummary(
                id=p.id,
                slug=p.slug,
                name=p.name,
                type=p.type,
                version=p.current_version,
                starts_at=p.starts_at,
                ends_at=p.ends_at,
                updated_at=p.updated_at,
            )
            for p in rows
        ]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(Program)) or 0

    def _row(self, slug: str, *, for_update: bool = False) -> Program | None:
        query = select(Program).where(Program.slug == slug)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def _version(self, program_id: int, version: int) -> ProgramVersion:
        return self.session.execute(
            select(ProgramVersion).where(
                ProgramVersion.program_id == program_id, ProgramVersion.version == version
            )
        ).scalar_one()

    @staticmethod
    def _loaded(program: Program, version: ProgramVersion) -> LoadedProgram:
        return LoadedProgram(
            id=program.id,
            slug=program.slug,
            version=version.version,
            version_id=version.id,
            config=ProgramConfig.model_validate(version.config),
        )
