"""Credentials kept in Prefect Secret blocks instead of the environment.

Any secret setting may name a block: `REFERRAL_CRM__HUBSPOT_ACCESS_TOKEN=prefect-secret:hubspot`
reads the Secret block `hubspot` from the Prefect API when a flow starts. The value never
passes through the environment or the deployment's parameters, and rotating it in the UI
takes effect at the next run. The web service reads only the environment (it runs without
Prefect), so webhook signing secrets stay there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from pydantic import BaseModel, SecretStr

from config.settings import SettingsError

PREFIX: Final = "prefect-secret:"
_Model = TypeVar("_Model", bound=BaseModel)


def load_secret_block(name: str) -> str:
    from prefect.blocks.system import Secret

    try:
        # _sync: the flows are sync, but the CLI may call this from inside an event loop.
        block: Any = Secret.load(name, _sync=True)  # type: ignore[call-arg]
        value = block.get()
    except ValueError as exc:  # Prefect's "Unable to find block document named ..."
        raise LookupError(name) from exc
    return value if isinstance(value, str) else str(value)


def with_secret_blocks(
    settings: _Model, load: Callable[[str], str] = load_secret_block, *, path: str = "REFERRAL"
) -> _Model:
    """`settings` with every `prefect-secret:<block>` secret replaced by the block's value;
    a block that does not exist is a SettingsError naming the variable and the block."""
    changes: dict[str, Any] = {}
    for name, value in settings:
        variable = f"{path}_{name.upper()}" if path == "REFERRAL" else f"{path}__{name.upper()}"
        if isinstance(value, BaseModel):
            resolved = with_secret_blocks(value, load, path=variable)
            if resolved is not value:
                changes[name] = resolved
        elif isinstance(value, SecretStr) and value.get_secret_value().startswith(PREFIX):
            block = value.get_secret_value().removeprefix(PREFIX)
            try:
                changes[name] = SecretStr(load(block))
            except LookupError:
                raise SettingsError(
                    f"{variable}: no Prefect Secret block named {block!r}"
                ) from None
    return settings.model_copy(update=changes) if changes else settings
