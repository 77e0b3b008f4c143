"""The `referral` command."""

import os

# Prefect gives its embedded (ephemeral) API server 20 s to start. A small machine under
# load takes longer, and the command then fails before it has done anything; a user who
# wants a different bound still sets the variable themselves.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
