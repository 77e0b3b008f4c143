"""Webhook signature checks and payload mapping: pure functions over bytes and dicts.

No I/O, no web framework, no database: `web/` reads the capped raw body and the headers,
calls a verifier here (which raises `SignatureError` or returns), writes the inbox row, and
maps the payload to `referral.events.Event` dicts with `mapping`.
"""
