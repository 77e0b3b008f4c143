"""Reading campaign files (YAML) into validated campaigns."""

from __future__ import annotations

from pathlib import Path

import yaml

from referral.campaigns import CampaignConfig, CampaignFileError, parse_campaign

BUNDLED = Path(__file__).parent / "campaigns"


def load_campaign_files(paths: list[Path]) -> list[CampaignConfig]:
    """All or nothing: every file is checked before any is applied."""
    configs = []
    for path in paths:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CampaignFileError(f"{path}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError:
            raise CampaignFileError(f"{path}: not valid YAML") from None
        if not isinstance(data, dict):
            raise CampaignFileError(f"{path}: the file must hold one campaign as a mapping")
        configs.append(parse_campaign(data, source=str(path)))
    return configs
