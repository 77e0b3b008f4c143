"""Reading program files (YAML or JSON) into validated programs."""

from __future__ import annotations

from pathlib import Path

import yaml

from referral.programs import ProgramConfig, ProgramFileError, parse_program

BUNDLED = Path(__file__).parent / "programs"


def load_program_file(path: Path) -> ProgramConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgramFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ProgramFileError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ProgramFileError(f"{path}: the file must hold one program as a mapping of fields")
    return parse_program(data, source=str(path))


def load_program_files(paths: list[Path]) -> list[ProgramConfig]:
    """All or nothing: every file is checked before any is applied."""
    configs = [load_program_file(path) for path in paths]
    slugs = [config.slug for config in configs]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise ProgramFileError(f"slug {duplicates[0]!r} appears in more than one file")
    return configs


def bundled_program_files() -> list[Path]:
    return sorted(BUNDLED.glob("*.yaml"))
