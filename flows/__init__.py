"""Prefect flows: orchestration only, one file per flow."""
