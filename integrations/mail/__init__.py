"""Email delivery: one `Sender` per way out, the parts every email carries, provider events.

- `smtp.SmtpSender`: any SMTP relay (none | starttls | tls), one connection per batch.
- `sendgrid.SendGridSender`: SendGrid v3 `/v3/mail/send`.
- `postmark.PostmarkSender`: Postmark `/email`.
- `content`: the HTML part with its CSS inlined, a plain-text part made from the HTML when
  none was given, the header checks all three share.
- `events`: SendGrid and Postmark delivery webhooks parsed into one `DeliveryEvent`, and the
  SendGrid signed event webhook check.

Every sender raises the typed errors of `integrations.senders` and names reasons, never an
address, a body or a key. Nothing here imports the database, Prefect or settings: the
caller builds a sender from values it read at the edge.
"""
