"""The `referral` command."""
