"""FileSender, the embedded demo's delivery: one JSON line per message, per channel file."""

import json
import stat
import threading

import pytest

from integrations.senders import FileSender, OutboundMessage, PermanentSendError
from referral.unsubscribe import unsubscribe_headers

URL = "https://refer.example.com/u/7.email.Zm9vYmFyYmF6cXV4cXV1eA"


def email(key="notify:1", **fields):
    return OutboundMessage(
        **{
            "idempotency_key": key,
            "channel": "email",
            "to": "ada@example.com",
            "subject": "Hello",
            "text": "Hi Ada",
            "html": "<p>Hi Ada</p>",
            "headers": unsubscribe_headers(URL),
            **fields,
        }
    )


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_message_is_one_json_line_with_the_one_click_unsubscribe_headers(tmp_path):
    sender = FileSender(tmp_path / "outbox")
    first = sender.send(email("notify:1"))
    sender.send(email("notify:2"))
    written = lines(tmp_path / "outbox" / "email.jsonl")
    assert [w["idempotency_key"] for w in written] == ["notify:1", "notify:2"]
    assert written[0]["headers"] == {
        "List-Unsubscribe": f"<{URL}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert written[0]["provider_message_id"] == first.provider_message_id
    assert {"to", "subject", "text", "html", "channel"} <= written[0].keys()


def test_the_provider_id_is_the_same_for_the_same_message(tmp_path):
    sender = FileSender(tmp_path)
    assert (
        sender.send(email("k")).provider_message_id == sender.send(email("k")).provider_message_id
    )
    assert (
        sender.send(email("k")).provider_message_id != sender.send(email("j")).provider_message_id
    )


def test_channels_go_to_their_own_files_readable_by_the_owner_only(tmp_path):
    sms = OutboundMessage("notify:3", "sms", "+14155550123", None, "Hi. Reply STOP", None)
    FileSender(tmp_path).send(sms)
    path = tmp_path / "sms.jsonl"
    assert lines(path)[0]["to"] == "+14155550123"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "email.jsonl").exists()


def test_an_email_without_unsubscribe_headers_is_refused(tmp_path):
    bare = OutboundMessage("notify:4", "email", "ada@example.com", "s", "t", None, {})
    with pytest.raises(PermanentSendError, match="List-Unsubscribe"):
        FileSender(tmp_path).send(bare)


def test_a_channel_cannot_name_a_path(tmp_path):
    odd = OutboundMessage("k", "../../etc/x", "to", None, "t", None)
    with pytest.raises(PermanentSendError):
        FileSender(tmp_path).send(odd)


def test_senders_in_many_threads_write_whole_lines(tmp_path):
    sender = FileSender(tmp_path)
    long_text = "x" * 20_000  # lines far beyond a pipe's atomic size still arrive whole

    def work(n):
        for i in range(50):
            sender.send(email(f"notify:{n}:{i}", text=long_text if i % 2 else "short"))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    written = lines(tmp_path / "email.jsonl")
    assert len({w["idempotency_key"] for w in written}) == len(written) == 200
