"""Salesforce Outbound Messages: a SOAP `notifications` call with up to 100 records.

Outbound messages carry no signature. What can be checked here is the OrganizationId
(`check_organization`), and an org id is not a secret: anyone who has seen one can put it
in a forged message. So a message is a hint that records changed, never the truth about
them: the caller re-reads each record through the API with its own credentials and its own
configured instance URL. The message's EnterpriseUrl and PartnerUrl are not even parsed:
an integration that called them would send its credentials wherever a forger pointed.

The body is parsed with defusedxml and any DTD is refused: SOAP never has one, and a DTD is
how entity expansion ("billion laughs") and external entities (XXE, reading local files or
internal URLs) get in.

Salesforce retries a message until it receives `ack(True)` (for up to 24 hours), may
deliver one more than once, and may deliver out of order: deduplicate on the notification
ids and acknowledge only once the message is stored.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_xml

from integrations.webhooks.errors import MalformedPayload, SignatureError

SOAP_ENVELOPE_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS: Final = "http://soap.sforce.com/2005/09/outbound"
_XSI_TYPE: Final = "{http://www.w3.org/2001/XMLSchema-instance}type"
_XSI_NIL: Final = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_ID: Final = re.compile(r"[A-Za-z0-9]{15}(?:[A-Z0-5]{3})?")
_SUFFIX_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ORGANIZATION_PREFIX: Final = "00D"


@dataclass(frozen=True, slots=True)
class Notification:
    """One changed record: `id` is the notification's (deduplicate on it), `record_id` the
    record's, `fields` the selected fields by API name (`Email`, `NPS__c`); null fields are
    left out."""

    id: str
    sobject_type: str
    record_id: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A parsed outbound message.

    `session_id` is an API session of the user the outbound message runs as, present when
    "Send Session ID" is ticked. It is a live credential: it is left out of repr so it
    cannot reach a log through one, and should be dropped (`forget_session`) as soon as the
    records are re-read, never stored.
    """

    organization_id: str
    action_id: str
    session_id: str | None = field(repr=False)
    notifications: list[Notification]

    def forget_session(self) -> OutboundMessage:
        return dataclasses.replace(self, session_id=None)


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """The notifications in a SOAP envelope; MalformedPayload for anything else.

    The caller caps the body size before reading it.
    """
    try:
        root = safe_xml.fromstring(body, forbid_dtd=True)
    except defusedxml.DefusedXmlException:
        raise MalformedPayload("XML with a DTD or entities is refused") from None
    except ParseError:
        raise MalformedPayload("body is not well-formed XML") from None
    if root.tag != f"{{{SOAP_ENVELOPE_NS}}}Envelope":
        raise MalformedPayload("not a SOAP envelope")
    notifications = root.find(f"{{{SOAP_ENVELOPE_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedPayload("no outbound messaging notifications element")
    items = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise MalformedPayload("no Notification element")
    return OutboundMessage(
        organization_id=_required(notifications, "OrganizationId"),
        action_id=_required(notifications, "ActionId"),
        session_id=_text(notifications.find(f"{{{OUTBOUND_NS}}}SessionId")) or None,
        notifications=[_notification(item) for item in items],
    )


def check_organization(org_id: str, allowed: Collection[str]) -> None:
    """SignatureError unless `org_id` is one of the `allowed` organizations.

    Salesforce ids come in a case-sensitive 15-character form and an 18-character form
    that adds a 3-character checksum of the letters' case. Both forms of the same org match
    each other; an 18-character id whose checksum is wrong matches nothing. `allowed` is a
    collection of ids in either form; a malformed entry is a configuration error
    (ValueError).
    """
    if isinstance(allowed, str):
        raise TypeError("allowed must be a collection of organization ids, not one string")
    wanted = set()
    for entry in allowed:
        short = _short_id(entry)
        if short is None or not short.startswith(ORGANIZATION_PREFIX):
            raise ValueError("allowed organization ids are 15 or 18 character 00D... ids")
        wanted.add(short)
    if _short_id(org_id) not in wanted:
        raise SignatureError("organization not allowed")


def ack(ok: bool = True) -> bytes:
    """The `notificationsResponse` Salesforce waits for. `<Ack>true</Ack>` ends delivery;
    false (or any error status) makes Salesforce send the message again later."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENVELOPE_NS}">'
        "<soapenv:Body>"
        f'<notificationsResponse xmlns="{OUTBOUND_NS}">'
        f"<Ack>{'true' if ok else 'false'}</Ack>"
        "</notificationsResponse>"
        "</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def id18(sf_id: str) -> str:
    """The 18-character form of a 15-character Salesforce id: for each 5-character chunk,
    a letter of `_SUFFIX_ALPHABET` whose index has bit i set when character i is upper
    case."""
    if len(sf_id) != 15:
        raise ValueError("id18 takes a 15 character id")
    suffix = ""
    for start in (0, 5, 10):
        chunk = sf_id[start : start + 5]
        index = sum(1 << i for i, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[index]
    return sf_id + suffix


def _short_id(sf_id: str) -> str | None:
    """The 15-character form, or None for something that is not a well-formed id."""
    if not _ID.fullmatch(sf_id):
        return None
    if len(sf_id) == 18 and id18(sf_id[:15]) != sf_id:
        return None
    return sf_id[:15]


def _notification(item: Element) -> Notification:
    sobject = item.find(f"{{{OUTBOUND_NS}}}sObject")
    if sobject is None:
        raise MalformedPayload("Notification without sObject")
    fields = {}
    for child in sobject:
        value = _text(child)
        if len(child) == 0 and value is not None:
            fields[_local(child.tag)] = value
    record_id = fields.get("Id")
    if not record_id:
        raise MalformedPayload("sObject without Id")
    sobject_type = sobject.get(_XSI_TYPE, "")
    return Notification(
        id=_required(item, "Id"),
        sobject_type=sobject_type.rpartition(":")[2],
        record_id=record_id,
        fields=fields,
    )


def _required(parent: Element, name: str) -> str:
    value = _text(parent.find(f"{{{OUTBOUND_NS}}}{name}"))
    if not value:
        raise MalformedPayload(f"{name} missing")
    return value


def _text(element: Element | None) -> str | None:
    if element is None or element.get(_XSI_NIL) in ("true", "1"):
        return None
    return (element.text or "").strip()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]
