"""The HTTP service: referral links, event ingest, signed CRM webhooks, health."""
