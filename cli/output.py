"""Printing for people (Rich) or for programs (--json)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console

console = Console()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def print_json(data: Any) -> None:
    print(json.dumps(data, default=_default, indent=2))
