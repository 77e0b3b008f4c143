"""Salesforce outbound messages: parsing the SOAP notifications, checking the sending org
(15 and 18 character ids), refusing anything that is not plain XML, and acknowledging."""

import xml.etree.ElementTree as ET

import pytest

from integrations.webhooks.errors import MalformedPayload, SignatureError
from integrations.webhooks.salesforce import (
    Notification,
    ack,
    check_organization,
    id18,
    parse_outbound_message,
)

ORG_15 = "00D000000000062"
ORG_18 = "00D000000000062EAA"
SESSION = "00D000000000062!AQ0AQH0dMHZfz972Szmpkb58urFRkgeBGsxL_QJWwYMfAbUeeG7c1E6LYUfiDUkWe6H"

ENVELOPE = f"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>{ORG_18}</OrganizationId>
   <ActionId>04k5A000000KzLbQAK</ActionId>
   <SessionId>{SESSION}</SessionId>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/61.0/00D000000000062</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/61.0/00D000000000062</PartnerUrl>
   <Notification>
    <Id>04l5A00000Gq1dRQAR</Id>
    <sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0035A00003MuvfAQAR</sf:Id>
     <sf:Email>ada@example.com</sf:Email>
     <sf:FirstName>Ada</sf:FirstName>
     <sf:NPS_Score__c>9</sf:NPS_Score__c>
     <sf:MobilePhone xsi:nil="true"/>
    </sObject>
   </Notification>
   <Notification>
    <Id>04l5A00000Gq1dSQAR</Id>
    <sObject xsi:type="sf:Contact" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>0035A00003MuvfBQAR</sf:Id>
     <sf:Email>grace@example.com</sf:Email>
     <sf:NPS_Score__c>3</sf:NPS_Score__c>
    </sObject>
   </Notification>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
""".encode()


def test_a_notifications_envelope_parses_into_org_action_and_records():
    message = parse_outbound_message(ENVELOPE)
    assert message.organization_id == ORG_18
    assert message.action_id == "04k5A000000KzLbQAK"
    assert message.notifications == [
        Notification(
            id="04l5A00000Gq1dRQAR",
            sobject_type="Contact",
            record_id="0035A00003MuvfAQAR",
            fields={
                "Id": "0035A00003MuvfAQAR",
                "Email": "ada@example.com",
                "FirstName": "Ada",
                "NPS_Score__c": "9",
            },
        ),
        Notification(
            id="04l5A00000Gq1dSQAR",
            sobject_type="Contact",
            record_id="0035A00003MuvfBQAR",
            fields={
                "Id": "0035A00003MuvfBQAR",
                "Email": "grace@example.com",
                "NPS_Score__c": "3",
            },
        ),
    ]


def test_null_fields_are_left_out_rather_than_read_as_empty_text():
    fields = parse_outbound_message(ENVELOPE).notifications[0].fields
    assert "MobilePhone" not in fields


def test_the_session_id_is_kept_for_the_re_read_but_never_shown_in_repr():
    message = parse_outbound_message(ENVELOPE)
    assert message.session_id == SESSION
    assert SESSION not in repr(message)
    assert message.forget_session().session_id is None
    assert message.forget_session().notifications == message.notifications


def test_a_message_sent_without_a_session_id_has_none():
    nil = ENVELOPE.replace(
        f"<SessionId>{SESSION}</SessionId>".encode(), b'<SessionId xsi:nil="true"/>'
    )
    assert parse_outbound_message(nil).session_id is None
    absent = ENVELOPE.replace(f"<SessionId>{SESSION}</SessionId>".encode(), b"")
    assert parse_outbound_message(absent).session_id is None


def test_the_callback_urls_in_the_message_are_not_exposed():
    # They are unsigned: calling them with our credentials would follow a forger's lead.
    message = parse_outbound_message(ENVELOPE)
    assert not hasattr(message, "enterprise_url")
    assert not hasattr(message, "partner_url")


@pytest.mark.parametrize("allowed", [[ORG_15], [ORG_18], ["00D000000000099", ORG_15]])
def test_the_org_may_be_allowed_in_its_15_or_18_character_form(allowed):
    check_organization(ORG_18, allowed)
    check_organization(ORG_15, allowed)


def test_a_message_from_another_org_is_refused():
    with pytest.raises(SignatureError) as excinfo:
        check_organization("00D000000000099", [ORG_15])
    assert excinfo.value.reason == "organization not allowed"


def test_15_character_ids_are_case_sensitive():
    with pytest.raises(SignatureError):
        check_organization("00d000000000062", [ORG_15])


def test_an_18_character_id_with_a_wrong_checksum_matches_nothing():
    with pytest.raises(SignatureError):
        check_organization(ORG_15 + "AAA", [ORG_15])


@pytest.mark.parametrize("org_id", ["", "00D", "00D000000000062E", "00D00000000006!EAA", " " * 15])
def test_malformed_org_ids_in_a_message_are_refused(org_id):
    with pytest.raises(SignatureError):
        check_organization(org_id, [ORG_15])


@pytest.mark.parametrize("allowed", [["00D0000"], ["0035A00003MuvfA"], [ORG_15 + "ZZZ"]])
def test_a_malformed_allowed_org_is_a_configuration_error(allowed):
    with pytest.raises(ValueError) as excinfo:
        check_organization(ORG_18, allowed)
    assert not isinstance(excinfo.value, SignatureError)


def test_one_allowed_org_passed_as_a_bare_string_is_refused():
    with pytest.raises(TypeError):
        check_organization(ORG_18, ORG_15)


def test_id18_adds_the_case_checksum_salesforce_documents():
    assert id18(ORG_15) == ORG_18
    assert id18("001D000000IqhSL") == "001D000000IqhSLIAZ"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<soapenv:Envelope>",  # unbound prefix
        ENVELOPE[:-40],  # truncated
        b"\xff\xfe<x/>",
    ],
)
def test_bad_xml_is_a_malformed_payload(body):
    with pytest.raises(MalformedPayload):
        parse_outbound_message(body)


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (b"<x/>", "envelope"),
        (
            b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>',
            "notifications",
        ),
        (ENVELOPE.replace(f"<OrganizationId>{ORG_18}</OrganizationId>".encode(), b""), "org"),
        (ENVELOPE.replace(b"<sf:Id>0035A00003MuvfAQAR</sf:Id>", b""), "record id"),
        (ENVELOPE.replace(b"<Id>04l5A00000Gq1dRQAR</Id>", b""), "notification id"),
    ],
)
def test_a_well_formed_document_that_is_not_an_outbound_message_is_malformed(body, missing):
    with pytest.raises(MalformedPayload):
        parse_outbound_message(body)


def test_an_external_entity_is_refused_not_expanded():
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE soapenv:Envelope [<!ENTITY leak SYSTEM "file:///etc/passwd">]>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>&leak;</OrganizationId>
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>"""
    with pytest.raises(MalformedPayload) as excinfo:
        parse_outbound_message(xxe)
    assert "root:" not in str(excinfo.value)


def test_an_entity_expansion_bomb_is_refused():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<lolz>&lol3;</lolz>"""
    with pytest.raises(MalformedPayload):
        parse_outbound_message(bomb)


def test_any_dtd_is_refused_even_a_harmless_one():
    doctype = ENVELOPE.replace(
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE soapenv:Envelope>\n',
    )
    with pytest.raises(MalformedPayload):
        parse_outbound_message(doctype)


def test_the_ack_is_the_documented_notifications_response():
    root = ET.fromstring(ack())
    soap = "{http://schemas.xmlsoap.org/soap/envelope/}"
    outbound = "{http://soap.sforce.com/2005/09/outbound}"
    assert root.tag == f"{soap}Envelope"
    response = root.find(f"{soap}Body/{outbound}notificationsResponse")
    assert response is not None
    assert response.findtext(f"{outbound}Ack") == "true"


def test_a_negative_ack_asks_salesforce_to_send_again():
    root = ET.fromstring(ack(False))
    assert root.findtext(".//{http://soap.sforce.com/2005/09/outbound}Ack") == "false"
