"""Prefect tasks: thin, one batch each; they call db/, integrations/ and referral/."""
