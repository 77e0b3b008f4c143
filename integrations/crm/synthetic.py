"""Deterministic, streaming synthetic CRM data and referral activity.

Used by ``referral seed``, the demo, the benchmarks (1,000,000 customers) and fraud evaluation.
Stdlib only, so it can run anywhere the engine's heavier dependencies are not installed.

Determinism
-----------
Everything depends only on the arguments: no wall clock (``now`` is passed in), no ``hash()``
of strings (hash randomization), no iteration over sets. Sub-seeds are derived with BLAKE2b.

Customers are generated in blocks of ``BLOCK_SIZE`` rows. Each block has its own
``random.Random`` seeded from ``(seed, block number)``, because seeding a Mersenne Twister costs
about 4 microseconds, far too much per row, while one block seed per 1,024 rows is free. So
customer ``i`` depends only on ``(seed, i, now)``: ``generate_customers(10, start=5, ...)``
yields exactly rows 5..14 of ``generate_customers(15, ...)``. A ``start`` in the middle of a
block costs generating (and dropping) at most ``BLOCK_SIZE - 1`` rows.

Uniqueness by construction
--------------------------
Customer emails carry the 1-based customer number as their only digit run, and referee emails
carry the referee number (``100_000_000`` and up), so two records never share an email, not even
after Gmail-style normalization (dots and ``+tags`` removed): a legitimate customer can never look
like someone else's alias by accident. Only the labelled patterns produce look-alikes. (This holds
while customer numbers stay below 100,000,000.)
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, make_dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

__all__ = [
    "BLOCK_SIZE",
    "CHANNELS",
    "COUPON_LEAK",
    "DISPOSABLE",
    "DISPOSABLE_DOMAINS",
    "FRAUD_LABELS",
    "LEGIT_FAMILY",
    "LEGIT_LOOKALIKE_LABELS",
    "LEGIT_OFFICE",
    "LEGIT_SIMILAR_NAME",
    "MIN_ADVOCATES_FOR_ALL_PATTERNS",
    "RING",
    "SEGMENTS",
    "SELF_REFERRAL_ALIAS",
    "SHARED_DEVICE",
    "SHARED_PAYMENT",
    "VELOCITY_FARM",
    "ActivityEvent",
    "Advocate",
    "Click",
    "CustomerRecord",
    "Purchase",
    "Refund",
    "Signup",
    "generate_activity",
    "generate_customers",
    "read_customers_csv",
    "write_customers_csv",
]

SELF_REFERRAL_ALIAS = "self_referral_alias"
DISPOSABLE = "disposable"
VELOCITY_FARM = "velocity_farm"
RING = "ring"
SHARED_DEVICE = "shared_device"
SHARED_PAYMENT = "shared_payment"
COUPON_LEAK = "coupon_leak"
FRAUD_LABELS: tuple[str, ...] = (
    SELF_REFERRAL_ALIAS,
    DISPOSABLE,
    VELOCITY_FARM,
    RING,
    SHARED_DEVICE,
    SHARED_PAYMENT,
    COUPON_LEAK,
)

LEGIT_FAMILY = "legit_family"
LEGIT_OFFICE = "legit_office"
LEGIT_SIMILAR_NAME = "legit_similar_name"
LEGIT_LOOKALIKE_LABELS: tuple[str, ...] = (LEGIT_FAMILY, LEGIT_OFFICE, LEGIT_SIMILAR_NAME)

SEGMENTS: tuple[str, ...] = ("vip", "loyal", "regular", "new", "at_risk", "churned", "b2b")
CHANNELS: tuple[str, ...] = ("email", "sms", "whatsapp", "x", "facebook", "linkedin", "copy")

# All of these are on the `disposable-email-domains` blocklist the engine ships with, so a
# disposable-domain rule has something real to match.
DISPOSABLE_DOMAINS: tuple[str, ...] = (
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "trashmail.com",
    "sharklasers.com",
    "getnada.com",
    "maildrop.cc",
    "dispostable.com",
    "temp-mail.org",
)

BLOCK_SIZE = 1024
# Below this many advocates, patterns appear at their natural (small) rates and may be absent;
# from here on every pattern and look-alike appears at least once, so evaluations can rely on it.
MIN_ADVOCATES_FOR_ALL_PATTERNS = 500

_T = TypeVar("_T")

_DAY = 86_400
_YEAR = 365 * _DAY
_FIRST_REFEREE_NUMBER = 100_000_000
_REFEREE_NUMBER_SPAN = 900_000_000


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    external_id: str
    email: str
    phone: str | None
    name: str
    segment: str
    country: str
    timezone: str
    customer_since: datetime
    nps_score: int | None
    nps_at: datetime | None
    orders_count: int
    total_spend_minor: int
    currency: str
    first_order_at: datetime | None
    last_order_at: datetime | None
    support_positive: int
    support_negative: int
    email_opens_90d: int
    email_clicks_90d: int
    reviews_count: int
    consent_email: bool
    consent_sms: bool
    consent_whatsapp: bool
    preferred_channel: str
    address_line1: str
    postcode: str
    label: str | None = None


# A mutable twin with the same slot layout. Frozen dataclasses set each field through
# object.__setattr__, which cost 2.5 us of a ~6 us row budget; building the twin and then
# re-labelling its class (allowed by CPython for identical slot layouts) costs 0.4 us and yields
# a genuine, frozen CustomerRecord.
_CustomerDraft: type = make_dataclass(
    "_CustomerDraft",
    [(f.name, f.type, field(default=None)) if f.name == "label" else (f.name, f.type)
     for f in fields(CustomerRecord)],
    slots=True,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Advocate:
    """An enrolled advocate, as the engine hands it to :func:`generate_activity`.

    ``name`` and ``country`` are optional extras: with them, look-alikes (family, similar name,
    self-referral) use the advocate's real surname and country; without them they are inferred
    from the email and the address format.
    """

    external_id: str
    code: str
    email: str
    address_line1: str
    postcode: str
    name: str | None = None
    country: str | None = None

    @classmethod
    def from_customer(cls, customer: CustomerRecord, code: str) -> Advocate:
        return cls(
            external_id=customer.external_id,
            code=code,
            email=customer.email,
            address_line1=customer.address_line1,
            postcode=customer.postcode,
            name=customer.name,
            country=customer.country,
        )


@dataclass(frozen=True, slots=True)
class Click:
    code: str
    channel: str
    visitor_id: str
    ip: str
    user_agent: str
    device_id: str | None
    occurred_at: datetime
    label: str | None


@dataclass(frozen=True, slots=True)
class Signup:
    customer: CustomerRecord
    code: str | None
    visitor_id: str | None
    device_id: str | None
    ip: str
    user_agent: str
    occurred_at: datetime
    label: str | None
    event_id: str


@dataclass(frozen=True, slots=True)
class Purchase:
    event_id: str
    order_id: str
    customer_external_id: str
    amount_minor: int
    currency: str
    payment_fingerprint: str
    promo_code: str | None
    occurred_at: datetime
    label: str | None


@dataclass(frozen=True, slots=True)
class Refund:
    event_id: str
    order_id: str
    customer_external_id: str
    amount_minor: int
    currency: str
    occurred_at: datetime
    label: str | None


ActivityEvent = Click | Signup | Purchase | Refund


# ---------------------------------------------------------------------------------------------
# Pools

_FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
        "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul",
        "Andrew", "Joshua", "Kevin", "Brian", "George", "Timothy", "Ryan", "Jacob", "Jason",
        "Eric", "Jonathan", "Justin", "Brandon", "Samuel", "Benjamin", "Patrick", "Jack",
        "Oliver", "Harry", "Noah", "Liam", "Ethan", "Lucas", "Mason", "Logan", "Aiden",
        "Connor", "Declan", "Sean", "Mohammed", "Aaron", "Nathan", "Tyler", "Jon", "Stephen",
        "Philip", "Bryan", "Jeffrey", "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth",
        "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra",
        "Ashley", "Emily", "Michelle", "Amanda", "Melissa", "Stephanie", "Rebecca", "Laura",
        "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
        "Grace", "Chloe", "Ella", "Lily", "Hannah", "Zoë", "Aoife", "Siobhan", "Niamh", "Priya",
        "Aisha", "Renée", "Catherine", "Katherine", "Ann", "Anne", "Sara",
    ),
    "de": (
        "Lukas", "Leon", "Finn", "Jonas", "Felix", "Maximilian", "Elias", "Ben", "Jürgen",
        "Klaus", "Wolfgang", "Stefan", "Andreas", "Sebastian", "Tobias", "Matthias", "Björn",
        "Sören", "Jörg", "Uwe", "Dieter", "Florian", "Moritz", "Niklas", "Jan", "Anna", "Lena",
        "Leonie", "Marie", "Sophie", "Lea", "Lara", "Katharina", "Julia", "Sabine", "Petra",
        "Ursula", "Claudia", "Birgit", "Jana", "Mareike", "Anke", "Jutta", "Käthe", "Greta",
    ),
    "fr": (
        "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Théo", "Raphaël", "Nicolas", "Pierre",
        "François", "Jean", "Olivier", "Julien", "Mathieu", "Antoine", "Sébastien", "Benoît",
        "Jérôme", "Rémi", "Léa", "Manon", "Camille", "Chloé", "Inès", "Louise", "Juliette",
        "Hélène", "Isabelle", "Nathalie", "Céline", "Émilie", "Agnès", "Margaux", "Élodie",
        "Aurélie", "Sandrine", "Valérie", "Mathilde", "Amélie",
    ),
    "es": (
        "Alejandro", "Pablo", "Javier", "Carlos", "Sergio", "Jorge", "Álvaro", "Diego", "Adrián",
        "José", "Manuel", "Miguel", "Ángel", "Raúl", "Iván", "Rubén", "Íñigo", "María", "Lucía",
        "Paula", "Sofía", "Marta", "Carmen", "Elena", "Ana", "Cristina", "Nuria", "Mónica",
        "Begoña", "Pilar", "Rocío", "Beatriz", "Irene",
    ),
    "nl": (
        "Daan", "Sem", "Bram", "Lars", "Jesse", "Thijs", "Ruben", "Sander", "Joost", "Pieter",
        "Bas", "Wouter", "Maarten", "Sanne", "Fleur", "Lotte", "Anouk", "Femke", "Eva", "Iris",
        "Noor", "Marieke", "Ilse",
    ),
    "it": (
        "Francesco", "Alessandro", "Lorenzo", "Matteo", "Leonardo", "Andrea", "Marco",
        "Giuseppe", "Luca", "Giovanni", "Davide", "Simone", "Niccolò", "Giulia", "Chiara",
        "Francesca", "Martina", "Alessia", "Federica", "Valentina", "Elisa", "Giorgia",
        "Beatrice", "Ilaria",
    ),
}  # fmt: skip

_LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
        "Anderson", "Taylor", "Moore", "Jackson", "Lee", "Thompson", "Thomson", "White",
        "Harris", "Clark", "Clarke", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
        "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell",
        "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards",
        "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Reed", "Reid",
        "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson",
        "Brooks", "Bennett", "Gray", "Hughes", "Price", "Patel", "Singh", "Khan", "Nguyen",
        "Kim", "Chen", "O'Brien", "O'Connor", "McCarthy", "MacDonald", "Byrne", "Walsh", "Ryan",
        "Doyle", "Fitzgerald", "Davies", "Jenkins", "Smyth", "Palmer", "Fletcher", "Hunt",
    ),
    "de": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Meier", "Maier", "Mayer",
        "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein",
        "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
        "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Lehmann", "Köhler", "Weiß",
        "Günther", "Vogel", "Jäger", "Fuchs", "Groß",
    ),
    "fr": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
        "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garnier", "Faure", "Rousseau",
        "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Mercier", "Dupont", "Lambert",
        "Bonnet", "François", "Girard", "Fontaine", "Chevalier", "Gauthier", "Perrin",
    ),
    "es": (
        "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez",
        "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz", "Álvarez",
        "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
        "Gil", "Ramírez", "Serrano", "Núñez", "Iglesias",
    ),
    "nl": (
        "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
        "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters",
        "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits",
        "de Graaf", "van der Meer",
    ),
    "it": (
        "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
        "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano",
        "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani", "Rinaldi",
        "Caruso", "Ferrara", "Galli", "Martini", "Leone",
    ),
}  # fmt: skip

# Spelling variants a human would call "the same name": what naive fuzzy matching trips on.
_NAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "John": ("Jon", "Jonathan"), "Jon": ("John",), "Jonathan": ("John", "Jon"),
    "Catherine": ("Katherine", "Kathryn"), "Katherine": ("Catherine", "Kathryn"),
    "Ann": ("Anne", "Anna"), "Anne": ("Ann", "Anna"), "Anna": ("Ann", "Anne"),
    "Stephen": ("Steven",), "Steven": ("Stephen",), "Philip": ("Phillip",),
    "Brian": ("Bryan",), "Bryan": ("Brian",), "Sara": ("Sarah",), "Sarah": ("Sara",),
    "Jeffrey": ("Geoffrey",), "Eric": ("Erik",), "Mark": ("Marc",), "Lucas": ("Lukas",),
    "Lukas": ("Lucas",), "Mohammed": ("Muhammad", "Mohamed"), "Zoë": ("Zoe",),
    "Hannah": ("Hanna",), "Sophie": ("Sophia",), "Sophia": ("Sophie",), "Julia": ("Giulia",),
    "Giulia": ("Julia",), "Emily": ("Emilie",), "Émilie": ("Emily", "Emilie"),
    "Isabelle": ("Isabel",), "Mathieu": ("Matthieu",), "Matthew": ("Matt",),
    "Smith": ("Smyth",), "Smyth": ("Smith",), "Thompson": ("Thomson",),
    "Thomson": ("Thompson",), "Clark": ("Clarke",), "Clarke": ("Clark",), "Reed": ("Reid",),
    "Reid": ("Reed",), "Meyer": ("Meier", "Maier", "Mayer"), "Meier": ("Meyer", "Maier"),
    "Maier": ("Meyer", "Mayer"), "Mayer": ("Meyer", "Maier"), "Müller": ("Mueller", "Muller"),
    "Muller": ("Müller",), "Schmidt": ("Schmitt",), "Schmitt": ("Schmidt",),
    "Hoffmann": ("Hofmann",), "Hofmann": ("Hoffmann",), "Martin": ("Martín",),
    "Davies": ("Davis",), "Davis": ("Davies",), "Janssen": ("Jansen",), "Jansen": ("Janssen",),
}  # fmt: skip

_COMPANY_DOMAINS: tuple[str, ...] = (
    "brightpath.io", "bluefin-analytics.com", "cedarworks.co", "harborline.com",
    "ironleaf.io", "kitestring.com", "lumenlabs.co", "meadowsoft.com", "northwind-traders.com",
    "oakridge-consulting.com", "pinecrest.io", "quillhouse.com", "riverbend.co",
    "silverline-tech.com", "tidewater.io", "umberstone.com", "vantagepoint.co",
    "willowgrove.com", "yellowfield.io", "zenith-partners.com", "mueller-technik.de",
    "schmidt-logistik.de", "atelier-dupont.fr", "groupe-lambert.fr", "vanderberg-bv.nl",
    "ingenieria-garcia.es", "studio-rossi.it", "copperbeam.com", "graniteworks.co.uk",
    "bayside-health.com.au", "mapleleaf-systems.ca", "shamrock-data.ie",
)  # fmt: skip

_STREETS_EN = (
    "Oak Street", "Maple Avenue", "High Street", "Church Road", "Station Road", "Park Lane",
    "Elm Street", "Main Street", "Cedar Avenue", "Pine Street", "Victoria Road", "King Street",
    "Queen Street", "Mill Lane", "Green Lane", "Washington Avenue", "Lake Drive",
    "Hillside Road", "Sunset Boulevard", "Riverside Drive", "Chestnut Close", "Willow Way",
    "Birch Grove", "Kingsway", "Albert Road", "George Street", "Bridge Street", "Manor Road",
    "Spring Street", "Broadway",
)  # fmt: skip

_PUBLIC_FIRST_OCTETS = (
    24, 31, 37, 45, 50, 62, 66, 68, 71, 73, 76, 77, 78, 79, 81, 82, 84, 86, 88, 90, 92, 94, 98,
    99, 108, 109, 151, 173, 174, 176, 178, 185, 188, 193, 194, 212, 213, 217,
)  # fmt: skip

_USER_AGENTS: tuple[str, ...] = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.38.109]",
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36 Instagram 334.0.0.42.95",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
)

# (code, weight, currency, culture, whatsapp consent rate, timezones with weights,
#  phone prefixes with subscriber digit count, domains with weights, streets, address style)
# Address style: 0 = "12 Oak Street", 1 = "Hauptstraße 12", 2 = "Calle Mayor, 12".
# Phone prefixes were checked with the `phonenumbers` library: every number is valid for its
# country, so the engine's E.164 validation accepts them.
_COMMON_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 32.0), ("yahoo.com", 5.0), ("outlook.com", 7.0), ("hotmail.com", 5.0),
    ("icloud.com", 6.0), ("googlemail.com", 0.7), ("protonmail.com", 1.0),
)  # fmt: skip
_COMPANY_WEIGHT = 7.0

_COUNTRIES: tuple[
    tuple[
        str,
        float,
        str,
        str,
        float,
        tuple[tuple[str, float], ...],
        tuple[tuple[str, int], ...],
        tuple[tuple[str, float], ...],
        tuple[str, ...],
        int,
    ],
    ...,
] = (
    (
        "US", 38.0, "USD", "en", 0.12,
        (("America/New_York", 35), ("America/Chicago", 25), ("America/Denver", 7),
         ("America/Phoenix", 3), ("America/Los_Angeles", 26), ("America/Anchorage", 1),
         ("Pacific/Honolulu", 1)),
        tuple(("+1" + a, 7) for a in (
            "212", "213", "312", "415", "510", "617", "646", "702", "713", "718",
            "305", "404", "503", "206", "303", "512", "602", "619", "720", "773",
            "818", "917", "929", "347", "201", "214", "469", "480", "571", "703",
        )),
        (("yahoo.com", 5.0), ("aol.com", 3.0), ("comcast.net", 3.0), ("att.net", 1.5),
         ("verizon.net", 1.0)),
        _STREETS_EN, 0,
    ),
    (
        "GB", 14.0, "GBP", "en", 0.3,
        (("Europe/London", 1),),
        tuple((p, 13 - len(p)) for p in (
            "+44710", "+44711", "+44712", "+44738", "+44739", "+44740", "+44741",
            "+44742", "+44743", "+44744", "+44746", "+44747", "+44748", "+44749",
            "+44751", "+44753", "+44754", "+44755", "+44756", "+44757", "+44758",
            "+44759", "+44771", "+44772", "+44773", "+44774", "+44775", "+44776",
            "+44777", "+44780", "+44784", "+44785", "+44786", "+44787", "+44788",
            "+44789", "+44790", "+44792", "+44794", "+44795", "+44796", "+44798",
            "+44799",
        )),
        (("btinternet.com", 3.0), ("sky.com", 2.0), ("yahoo.co.uk", 4.0),
         ("hotmail.co.uk", 4.0), ("googlemail.com", 1.5)),
        _STREETS_EN, 0,
    ),
    (
        "DE", 12.0, "EUR", "de", 0.4,
        (("Europe/Berlin", 1),),
        (("+49151", 8), ("+49152", 8), ("+49157", 8), ("+49160", 7), ("+49162", 7),
         ("+49170", 7), ("+49171", 7), ("+49172", 7), ("+49173", 7), ("+49175", 7),
         ("+49176", 8), ("+49179", 7)),
        (("gmx.de", 12.0), ("web.de", 12.0), ("t-online.de", 6.0), ("gmx.net", 3.0),
         ("googlemail.com", 2.0), ("bücher.de", 0.15), ("müller.de", 0.15)),
        ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße", "Dorfstraße",
         "Lindenstraße", "Bergstraße", "Kirchstraße", "Waldstraße", "Ringstraße",
         "Goethestraße", "Schillerstraße", "Am Markt", "Mühlenweg", "Birkenweg", "Rosenweg",
         "Friedrichstraße", "Mozartstraße", "Beethovenstraße", "Wiesenweg"), 1,
    ),
    (
        "FR", 8.0, "EUR", "fr", 0.3,
        (("Europe/Paris", 1),),
        (("+3360", 7), ("+3361", 7), ("+3362", 7), ("+3364", 7), ("+3365", 7), ("+3366", 7),
         ("+3367", 7), ("+3368", 7), ("+3375", 7), ("+3376", 7), ("+3377", 7), ("+3378", 7)),
        (("orange.fr", 10.0), ("free.fr", 6.0), ("laposte.net", 4.0), ("sfr.fr", 4.0),
         ("hotmail.fr", 5.0), ("yahoo.fr", 3.0), ("café.fr", 0.15)),
        ("rue de la Paix", "rue Victor Hugo", "avenue Jean Jaurès", "boulevard Voltaire",
         "rue de la République", "rue Pasteur", "place de l'Église", "rue du Moulin",
         "chemin des Vignes", "rue Gambetta", "avenue de la Gare", "rue des Écoles",
         "rue Nationale", "allée des Tilleuls", "rue Émile Zola"), 0,
    ),
    (
        "CA", 7.0, "CAD", "en", 0.12,
        (("America/Toronto", 45), ("America/Vancouver", 20), ("America/Edmonton", 15),
         ("America/Winnipeg", 5), ("America/Halifax", 8), ("America/St_Johns", 2)),
        tuple(("+1" + a, 7) for a in
              (
                  "416", "647", "437", "604", "778", "403", "587", "514", "438", "613",
                  "905", "289", "780", "902",
              )),
        (("shaw.ca", 3.0), ("rogers.com", 3.0), ("sympatico.ca", 2.0), ("yahoo.ca", 3.0)),
        _STREETS_EN, 0,
    ),
    (
        "AU", 6.0, "AUD", "en", 0.18,
        (("Australia/Sydney", 35), ("Australia/Melbourne", 30), ("Australia/Brisbane", 20),
         ("Australia/Perth", 10), ("Australia/Adelaide", 5)),
        (("+6140", 7), ("+6141", 7), ("+6142", 7), ("+6143", 7), ("+6146", 7)),
        (("bigpond.com", 6.0), ("optusnet.com.au", 3.0), ("yahoo.com.au", 3.0)),
        _STREETS_EN, 0,
    ),
    (
        "NL", 5.0, "EUR", "nl", 0.45,
        (("Europe/Amsterdam", 1),),
        (("+3161", 7), ("+3162", 7), ("+3163", 7), ("+3164", 7), ("+3165", 7)),
        (("ziggo.nl", 6.0), ("kpnmail.nl", 5.0), ("live.nl", 3.0)),
        ("Kerkstraat", "Dorpsstraat", "Schoolstraat", "Molenweg", "Stationsweg",
         "Julianastraat", "Beatrixlaan", "Wilhelminastraat", "Nieuwstraat", "Hoofdstraat",
         "Prinsengracht", "Kastanjelaan", "Eikenlaan", "Parallelweg"), 1,
    ),
    (
        "ES", 5.0, "EUR", "es", 0.5,
        (("Europe/Madrid", 95), ("Atlantic/Canary", 5)),
        (("+346", 8), ("+3471", 7), ("+3472", 7), ("+3473", 7), ("+3474", 7)),
        (("telefonica.net", 4.0), ("yahoo.es", 4.0), ("hotmail.es", 5.0)),
        ("Calle Mayor", "Calle Real", "Avenida de la Constitución", "Plaza de España",
         "Calle del Carmen", "Calle Nueva", "Paseo de Gracia", "Calle San Juan",
         "Avenida de Andalucía", "Calle de Alcalá", "Calle Iglesia", "Gran Vía"), 2,
    ),
    (
        "IT", 3.0, "EUR", "it", 0.5,
        (("Europe/Rome", 1),),
        tuple(("+39" + p, 7) for p in
              (
                  "320", "328", "329", "333", "334", "338", "339", "340", "345", "347",
                  "348", "349", "366", "380", "388", "392",
              )),
        (("libero.it", 10.0), ("alice.it", 4.0), ("virgilio.it", 4.0), ("tiscali.it", 2.0)),
        ("Via Roma", "Via Garibaldi", "Via Mazzini", "Corso Italia", "Via Dante", "Via Verdi",
         "Via Cavour", "Viale Europa", "Via Marconi", "Via XX Settembre",
         "Corso Vittorio Emanuele", "Via del Corso"), 2,
    ),
    (
        "IE", 2.0, "EUR", "en", 0.3,
        (("Europe/Dublin", 1),),
        (("+35383", 7), ("+35385", 7), ("+35386", 7), ("+35387", 7), ("+35389", 7)),
        (("eircom.net", 4.0), ("yahoo.ie", 2.0)),
        _STREETS_EN, 0,
    ),
)  # fmt: skip

# (name, weight, tenure min/max days, orders per year, P(no order yet), last order min/max days
#  ago, P(answered NPS), NPS weights 0..10, max positive / negative support tickets, max email
#  opens in 90 days, max reviews, average order value min/max in minor units)
_SEGMENT_SPECS: tuple[
    tuple[
        str, float, int, int, float, float, int, int, float, tuple[int, ...], int, int, int, int,
        int, int,
    ],
    ...,
] = (
    ("vip", 3.0, 365, 8 * 365, 14.0, 0.0, 1, 45, 0.65,
     (0, 0, 0, 0, 1, 1, 2, 5, 10, 30, 51), 6, 1, 45, 12, 6000, 20000),
    ("loyal", 12.0, 365, 8 * 365, 6.0, 0.0, 1, 90, 0.6,
     (0, 0, 0, 1, 1, 2, 3, 8, 15, 30, 40), 4, 1, 35, 8, 3000, 15000),
    ("regular", 35.0, 90, 8 * 365, 2.5, 0.04, 7, 200, 0.45,
     (1, 1, 1, 2, 3, 6, 9, 16, 22, 21, 18), 2, 2, 25, 4, 2000, 12000),
    ("new", 18.0, 1, 120, 4.0, 0.3, 1, 120, 0.35,
     (1, 1, 1, 2, 3, 5, 8, 15, 20, 22, 22), 1, 1, 20, 1, 2000, 10000),
    ("at_risk", 12.0, 180, 8 * 365, 1.5, 0.02, 120, 365, 0.45,
     (6, 5, 6, 8, 10, 14, 14, 14, 10, 7, 6), 1, 4, 12, 2, 2000, 9000),
    ("churned", 15.0, 180, 8 * 365, 1.0, 0.05, 365, 1500, 0.35,
     (10, 8, 9, 10, 10, 12, 10, 10, 8, 7, 6), 1, 5, 4, 2, 2000, 8000),
    ("b2b", 5.0, 90, 8 * 365, 8.0, 0.02, 1, 60, 0.5,
     (1, 1, 1, 2, 3, 5, 9, 18, 25, 20, 15), 3, 2, 30, 2, 5000, 20000),
)  # fmt: skip

_CHANNEL_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("whatsapp", 25.0), ("email", 20.0), ("copy", 20.0), ("facebook", 12.0), ("sms", 10.0),
    ("linkedin", 7.0), ("x", 6.0),
)  # fmt: skip


def _lottery(items: Sequence[tuple[_T, float]], size: int) -> tuple[_T, ...]:
    """A table of ``size`` slots where each item fills a share proportional to its weight.

    Indexing it with ``getrandbits(log2(size))`` is a weighted choice at the cost of one C call,
    which is what keeps the per-row budget of a few microseconds. Largest-remainder rounding
    keeps every item with a non-zero weight in at least one slot when the table is big enough.
    """
    total = sum(w for _, w in items)
    exact = [w * size / total for _, w in items]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(items)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: size - sum(counts)]:
        counts[i] += 1
    table: list[_T] = []
    for (item, _), n in zip(items, counts, strict=True):
        table.extend([item] * n)
    return tuple(table)


def _ascii_token(text: str) -> str:
    """Lower-case ASCII letters only, the way people spell their name in an email address."""
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in folded.lower() if "a" <= c <= "z")


@dataclass(slots=True)
class _Country:
    code: str
    currency: str
    culture: str
    whatsapp_rate: float
    timezones: tuple[str, ...]  # 64-slot lottery
    first_names: tuple[tuple[str, str], ...]  # 4096-slot lottery of (display, email token)
    last_names: tuple[tuple[str, str], ...]  # 4096-slot lottery
    domains: tuple[str, ...]  # 1024-slot lottery
    phones: tuple[tuple[str, int, int, int], ...]  # 64-slot: prefix, digits, lowest, span
    streets: tuple[str, ...]
    address_style: int
    postcodes: tuple[str, ...]  # 2048 distinct-ish postcodes


@dataclass(slots=True)
class _Tables:
    countries: tuple[_Country, ...]  # 1024-slot lottery
    by_code: dict[str, _Country]
    segments: tuple[int, ...]  # 1024-slot lottery of indexes into _SEGMENT_SPECS
    nps: tuple[tuple[int, ...], ...]  # per segment, 256-slot lottery of scores
    company_domains: tuple[str, ...]
    channels: tuple[str, ...]  # 64-slot lottery


def _postcode_pool(code: str, rng: random.Random, size: int) -> tuple[str, ...]:
    upper = "ABDEFGHJLNPQRSTUWXYZ"
    out: list[str] = []
    for _ in range(size):
        if code == "US":
            pc = f"{rng.randrange(501, 99951):05d}"
        elif code == "GB":
            area = rng.choice(
                ("SW", "SE", "N", "NW", "E", "W", "EC", "WC", "B", "M", "L", "LS", "S", "BS",
                 "G", "EH", "CF", "NE", "NG", "OX", "CB", "BN", "RG", "GU", "KT")
            )  # fmt: skip
            pc = f"{area}{rng.randrange(1, 20)} {rng.randrange(10)}{rng.choice(upper)}"
            pc += rng.choice(upper)
        elif code == "CA":
            first = "ABCEGHJKLMNPRSTVXY"
            other = "ABCEGHJKLMNPRSTVWXYZ"
            pc = (
                f"{rng.choice(first)}{rng.randrange(10)}{rng.choice(other)} "
                f"{rng.randrange(10)}{rng.choice(other)}{rng.randrange(10)}"
            )
        elif code == "AU":
            pc = f"{rng.randrange(2000, 7000):04d}"
        elif code == "NL":
            pc = f"{rng.randrange(1000, 10000)} {rng.choice(upper)}{rng.choice(upper)}"
        elif code == "ES":
            pc = f"{rng.randrange(1, 53):02d}{rng.randrange(1000):03d}"
        elif code == "IT":
            pc = f"{rng.randrange(10, 98):02d}{rng.randrange(1000):03d}"
        elif code == "IE":
            key = rng.choice(("D02", "D04", "D06", "D08", "T12", "H91", "V94", "A94", "K78"))
            chars = "ACDEFHKNPRTVWXY0123456789"
            pc = key + " " + "".join(rng.choice(chars) for _ in range(4))
        elif code == "FR":
            pc = f"{rng.randrange(1000, 96000):05d}"
        else:  # DE
            pc = f"{rng.randrange(1067, 99999):05d}"
        out.append(pc)
    return tuple(out)


@cache
def _tables() -> _Tables:
    # Built on first use, not at import, so importing the module stays instant for the CLI.
    # The pools are the same for every seed: they are vocabulary, not data.
    pool_rng = random.Random(20_240_601)
    name_pairs = {
        culture: (
            [(n, _ascii_token(n)) for n in _FIRST_NAMES[culture]],
            [(n, _ascii_token(n)) for n in _LAST_NAMES[culture]],
        )
        for culture in _FIRST_NAMES
    }
    all_first = [p for c in _FIRST_NAMES for p in name_pairs[c][0]]
    all_last = [p for c in _LAST_NAMES for p in name_pairs[c][1]]
    company_weight = _COMPANY_WEIGHT / len(_COMPANY_DOMAINS)
    countries: list[tuple[_Country, float]] = []
    for code, weight, currency, culture, wa, tzs, phones, domains, streets, style in _COUNTRIES:
        local_first, local_last = name_pairs[culture]
        # Three in four customers carry a name from the country's own culture; the rest come
        # from everywhere, as in any real customer base.
        first = [(p, 3.0 / len(local_first)) for p in local_first]
        first += [(p, 1.0 / len(all_first)) for p in all_first]
        last = [(p, 3.0 / len(local_last)) for p in local_last]
        last += [(p, 1.0 / len(all_last)) for p in all_last]
        domain_weights: dict[str, float] = {}
        for d, w in (*_COMMON_DOMAINS, *domains):
            domain_weights[d] = domain_weights.get(d, 0.0) + w
        for d in _COMPANY_DOMAINS:
            domain_weights[d] = domain_weights.get(d, 0.0) + company_weight
        phone_rows = [
            ((p, k, 2 * 10 ** (k - 1) if p.startswith("+1") else 0), 1.0) for p, k in phones
        ]
        countries.append(
            (
                _Country(
                    code=code,
                    currency=currency,
                    culture=culture,
                    whatsapp_rate=wa,
                    timezones=_lottery(tzs, 64),
                    first_names=_lottery(first, 4096),
                    last_names=_lottery(last, 4096),
                    domains=_lottery(list(domain_weights.items()), 1024),
                    phones=tuple((p, k, lo, 10**k - lo) for p, k, lo in _lottery(phone_rows, 64)),
                    streets=streets,
                    address_style=style,
                    postcodes=_postcode_pool(code, pool_rng, 2048),
                ),
                weight,
            )
        )
    segments = _lottery([(i, s[1]) for i, s in enumerate(_SEGMENT_SPECS)], 1024)
    nps = tuple(
        _lottery([(score, float(w)) for score, w in enumerate(s[9])], 256) for s in _SEGMENT_SPECS
    )
    return _Tables(
        countries=_lottery(countries, 1024),
        by_code={c.code: c for c, _ in countries},
        segments=segments,
        nps=nps,
        company_domains=_COMPANY_DOMAINS,
        channels=_lottery(_CHANNEL_WEIGHTS, 64),
    )


def _derive_seed(*parts: object) -> int:
    """A sub-seed from parts, stable across processes and Python versions (unlike ``hash``)."""
    key = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big")


def _hex_id(*parts: object) -> str:
    key = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return hashlib.blake2b(key, digest_size=8).hexdigest()


def _as_utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


# ---------------------------------------------------------------------------------------------
# Customers

# Multiplying by a number coprime to 10 permutes subscriber numbers: phones look random yet
# never repeat within one prefix for the first eight million customers (the North American
# subscriber range is the smallest, 8,000,000 numbers).
_PHONE_STRIDE = 7_654_321


def generate_customers(
    count: int, *, seed: int, now: datetime, start: int = 0
) -> Iterator[CustomerRecord]:
    """Yield ``count`` customers, numbers ``start`` .. ``start + count - 1``, one at a time.

    Customer ``i`` depends only on ``(seed, i, now)``; see the module docstring. Memory stays
    flat whatever ``count`` is: nothing is kept between rows but one ``random.Random`` a block.
    """
    if count < 0 or start < 0:
        raise ValueError("count and start must be >= 0")
    now = _as_utc(now)
    return _customers(count, seed, now, start)


def _customers(count: int, seed: int, now: datetime, start: int) -> Iterator[CustomerRecord]:
    tables = _tables()
    # Everything the loop touches is a local: attribute and global lookups are a measurable share
    # of a row that must cost about 6 us.
    countries = [
        (
            c.code, c.currency, c.whatsapp_rate, c.timezones, c.first_names, c.last_names,
            c.domains, c.phones, c.streets, len(c.streets), c.address_style, c.postcodes,
        )
        for c in tables.countries
    ]  # fmt: skip
    specs = [
        (
            name, lo * _DAY, (hi - lo) * _DAY, per_year / _YEAR, p_zero, rec_lo * _DAY,
            (rec_hi - rec_lo) * _DAY, p_nps, tables.nps[i], max_pos + 1, max_neg + 1,
            max_opens + 1, max_reviews + 1, aov_lo, aov_hi - aov_lo,
        )
        for i, (
            name, _, lo, hi, per_year, p_zero, rec_lo, rec_hi, p_nps, _, max_pos, max_neg,
            max_opens, max_reviews, aov_lo, aov_hi,
        ) in enumerate(_SEGMENT_SPECS)
    ]  # fmt: skip
    seg_lottery = tables.segments
    companies = tables.company_domains
    n_companies = len(companies)
    second = timedelta(seconds=1)
    month = 30 * _DAY
    two_years = 2 * _YEAR
    stride = _PHONE_STRIDE
    # Shifts the phone permutation per seed so customer 1 does not always get the stride itself.
    phone_offset = _derive_seed("phones", seed) % 100_000_000
    draft_cls = _CustomerDraft
    record_cls = CustomerRecord
    stop = start + count
    block = start // BLOCK_SIZE
    idx = block * BLOCK_SIZE
    while idx < stop:
        rng = random.Random(_derive_seed("customers", seed, block))
        rnd = rng.random
        bits = rng.getrandbits
        block_end = min(idx + BLOCK_SIZE, stop)
        while idx < block_end:
            n = idx + 1
            (
                code, currency, wa_rate, timezones, first_names, last_names, domains, phones,
                streets, n_streets, style, postcodes,
            ) = countries[bits(10)]  # fmt: skip
            (
                segment, ten_lo, ten_span, orders_per_s, p_zero, rec_lo, rec_span, p_nps,
                nps_table, max_pos, max_neg, max_opens, max_reviews, aov_lo, aov_span,
            ) = specs[seg_lottery[bits(10)]]  # fmt: skip
            first, ftok = first_names[bits(12)]
            last, ltok = last_names[bits(12)]
            if segment == "b2b" and rnd() < 0.85:
                domain = companies[int(rnd() * n_companies)]
                pattern = 0 if rnd() < 0.7 else 3
            else:
                domain = domains[bits(10)]
                pattern = bits(3)
            if pattern < 2:
                local = f"{ftok}.{ltok}{n}"
            elif pattern == 2:
                local = f"{ftok}{ltok}{n}"
            elif pattern == 3:
                local = f"{ftok[0]}{ltok}{n}"
            elif pattern == 4:
                local = f"{ftok}_{ltok}{n}"
            elif pattern == 5:
                local = f"{ltok}.{ftok}{n}"
            elif pattern == 6:
                local = f"{ftok}{n}"
            else:
                local = f"{ftok}.{ltok[0]}{n}"
            if bits(6) == 0:
                # CRMs hold whatever case people typed; the engine must normalize.
                local = local.capitalize()

            tenure = ten_lo + int(rnd() * ten_span) + 60
            if rnd() < p_zero:
                orders = spend = 0
                first_at = last_at = None
            else:
                orders = 1 + int(tenure * orders_per_s * (0.3 + 1.4 * rnd()))
                spend = orders * (aov_lo + int(rnd() * aov_span))
                # The first order falls in the first month of tenure, never before sign-up.
                first_ago = tenure - int(rnd() * (tenure - 1 if tenure <= month else month))
                first_at = now - second * first_ago
                if orders == 1:
                    last_at = first_at
                else:
                    last_ago = rec_lo + int(rnd() * rec_span) + 1
                    last_at = first_at if last_ago >= first_ago else now - second * last_ago

            if rnd() < p_nps:
                nps: int | None = nps_table[bits(8)]
                nps_ago = 1 + int(rnd() * (tenure - 1 if tenure <= two_years else two_years))
                nps_at: datetime | None = now - second * nps_ago
            else:
                nps = nps_at = None

            consent_email = rnd() < 0.85
            if rnd() < 0.7:
                prefix, digits, lowest, span = phones[bits(6)]
                subscriber = lowest + (n * stride + phone_offset) % span
                phone: str | None = prefix + str(10**digits + subscriber)[1:]
                consent_sms = rnd() < 0.4
                consent_wa = rnd() < wa_rate
            else:
                phone = None
                consent_sms = consent_wa = False
            if consent_wa and rnd() < 0.5:
                channel = "whatsapp"
            elif consent_sms and rnd() < 0.4:
                channel = "sms"
            elif consent_email:
                channel = "email"
            elif consent_wa:
                channel = "whatsapp"
            elif consent_sms:
                channel = "sms"
            else:
                channel = "email"

            if consent_email:
                # Marketing email only reaches people who agreed to it.
                opens = int(rnd() * max_opens)
                clicks = int(opens * rnd() * 0.35)
            else:
                opens = clicks = 0
            u = rnd()
            house = 1 + int(u * u * 240)
            street = streets[int(rnd() * n_streets)]
            if style == 0:
                address = f"{house} {street}"
            elif style == 1:
                address = f"{street} {house}"
            else:
                address = f"{street}, {house}"
            u = rnd()
            v = rnd()
            timezone = timezones[bits(6)]
            postcode = postcodes[bits(11)]
            if idx >= start:
                draft = draft_cls(
                    f"C{n:07d}",
                    f"{local}@{domain}",
                    phone,
                    f"{first} {last}",
                    segment,
                    code,
                    timezone,
                    now - second * tenure,
                    nps,
                    nps_at,
                    orders,
                    spend,
                    currency,
                    first_at,
                    last_at,
                    int(u * u * max_pos),
                    int(v * v * max_neg),
                    opens,
                    clicks,
                    int(u * v * max_reviews) if orders else 0,
                    consent_email,
                    consent_sms,
                    consent_wa,
                    channel,
                    address,
                    postcode,
                )
                draft.__class__ = record_cls
                yield draft
            idx += 1
        block += 1


# ---------------------------------------------------------------------------------------------
# Referral activity

# Expected pattern instances per advocate. With about 0.5 organic sign-ups per advocate (at the
# default share rate) the fraud patterns make roughly 5% of sign-ups from 10,000 advocates up;
# below that the at-least-once floor (MIN_ADVOCATES_FOR_ALL_PATTERNS) pushes the share higher.
_PATTERN_RATES: tuple[tuple[str, float], ...] = (
    (RING, 0.0005),
    (VELOCITY_FARM, 0.0002),
    (COUPON_LEAK, 0.0004),
    (SHARED_DEVICE, 0.0008),
    (SHARED_PAYMENT, 0.001),
    (SELF_REFERRAL_ALIAS, 0.003),
    (DISPOSABLE, 0.003),
    (LEGIT_FAMILY, 0.003),
    (LEGIT_OFFICE, 0.0015),
    (LEGIT_SIMILAR_NAME, 0.003),
)

_POSTCODE_COUNTRY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^[A-Z]\d[A-Z] \d[A-Z]\d$"), "CA"),
    (re.compile(r"^\d{4} [A-Z]{2}$"), "NL"),
    (re.compile(r"^[A-Z]\d{2} [A-Z0-9]{4}$"), "IE"),
    (re.compile(r"^[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}$"), "GB"),
    (re.compile(r"^\d{4}$"), "AU"),
)
_ADDRESS_COUNTRY: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(straße|strasse|weg\b|^am )"), "DE"),
    (re.compile(r"^\d+ (rue|avenue|boulevard|place|chemin|allée)\b"), "FR"),
    (re.compile(r"^(calle|avenida|plaza|paseo|gran vía)\b"), "ES"),
    (re.compile(r"^(via|viale|corso|piazza)\b"), "IT"),
)
_FARM_WORDS = ("deal", "promo", "bonus", "cash", "gift", "free", "save", "lucky")
_FARM_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.com")
_ALIAS_TAGS = ("promo", "ref", "deals", "2", "shop", "new", "x", "friend")


def _infer_country(address: str, postcode: str) -> str:
    """Guess the country of an address in the formats this module writes; US when unsure."""
    for pattern, code in _POSTCODE_COUNTRY:
        if pattern.match(postcode):
            return code
    lowered = address.lower()
    for pattern, code in _ADDRESS_COUNTRY:
        if pattern.search(lowered):
            return code
    return "US"


def _random_ip(rng: random.Random, *, v6: float = 0.1) -> str:
    if rng.random() < v6:
        return (
            f"2a02:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}:{rng.getrandbits(16):x}"
            f"::{rng.getrandbits(16):x}"
        )
    return (
        f"{rng.choice(_PUBLIC_FIRST_OCTETS)}.{rng.randrange(256)}.{rng.randrange(256)}"
        f".{rng.randrange(1, 255)}"
    )


def _legit_amount(rng: random.Random) -> int:
    if rng.random() < 0.15:
        # Small baskets below a typical 20.00 minimum purchase, so qualification rules bite.
        units = 5 + rng.randrange(15)
    else:
        units = 20 + min(int(rng.lognormvariate(3.4, 0.7)), 380)
    return units * 100 + rng.choice((0, 0, 0, 50, 95, 99))


def _farm_amount(rng: random.Random) -> int:
    # Farms buy just enough to clear the minimum purchase and unlock the reward.
    return 2000 + rng.randrange(0, 600, 5)


def _alias_email(rng: random.Random, email: str) -> str:
    """Another spelling of the same mailbox: what normalization must see through."""
    local, _, domain = email.rpartition("@")
    base = local.split("+", 1)[0]
    tag = rng.choice(_ALIAS_TAGS)
    if domain.lower() in ("gmail.com", "googlemail.com"):
        bare = base.replace(".", "")
        trick = rng.randrange(3)
        if trick == 0:
            other = "googlemail.com" if domain.lower() == "gmail.com" else "gmail.com"
            return f"{base}@{other}"
        if trick == 1 and len(bare) >= 3:
            for _ in range(8):
                cuts = sorted(rng.sample(range(1, len(bare)), min(2, len(bare) - 1)))
                moved = bare[: cuts[0]] + "." + bare[cuts[0] :]
                if len(cuts) > 1 and rng.random() < 0.5:
                    at = cuts[1] + 1
                    moved = moved[:at] + "." + moved[at:]
                if moved != base:
                    return f"{moved}@{domain}"
    return f"{base}+{tag}@{domain}"


def _similar_name(rng: random.Random, first: str, last: str) -> tuple[str, str]:
    options = [(v, last) for v in _NAME_VARIANTS.get(first, ())]
    options += [(first, v) for v in _NAME_VARIANTS.get(last, ())]
    if options:
        return rng.choice(options)
    # dict.fromkeys, not a set: set order varies between processes and would break determinism.
    same_initial = list(
        dict.fromkeys(
            n for pool in _FIRST_NAMES.values() for n in pool if n[:1] == first[:1] and n != first
        )
    )
    if same_initial:
        return rng.choice(same_initial), last
    return first, last + "s"


@dataclass(slots=True)
class _Traits:
    """What the engine would have seen of an advocate: their own device, home IP, card."""

    country: str
    first: str
    last: str
    device_id: str
    visitor_id: str
    ip: str
    user_agent: str
    payment_fingerprint: str


class _Activity:
    """Collects one run's events; the referee numbers in use keep ids and emails unique."""

    def __init__(self, seed: int, now: datetime, days: int) -> None:
        self.seed = seed
        self.tables = _tables()
        # Whole seconds, strictly before `now` even when `now` carries microseconds.
        self.last = int(now.timestamp()) - 1
        self.first = self.last - days * _DAY
        self.events: list[tuple[int, int, ActivityEvent]] = []
        self.referee_numbers: set[int] = set()
        self.farm_bases: set[str] = set()
        self.traits: dict[str, _Traits] = {}

    # -- plumbing ------------------------------------------------------------------------------

    def emit(self, ts: int, event: ActivityEvent) -> None:
        self.events.append((ts, len(self.events), event))

    def start(self, rng: random.Random, duration: int) -> int:
        """A start time leaving ``duration`` seconds before the end of the window."""
        room = max(0, self.last - duration - self.first)
        return self.first + int(rng.random() * room)

    def later(self, rng: random.Random, ts: int, lo: int, hi: int) -> int | None:
        """``ts`` plus lo..hi seconds, squeezed to stay before `now`; None if no room at all."""
        if ts + lo > self.last:
            return None
        return ts + lo + int(rng.random() * (min(hi, self.last - ts) - lo))

    def referee_number(self, *key: object) -> int:
        n = _FIRST_REFEREE_NUMBER + _derive_seed("referee", self.seed, *key) % _REFEREE_NUMBER_SPAN
        while n in self.referee_numbers:
            n = _FIRST_REFEREE_NUMBER + (n - _FIRST_REFEREE_NUMBER + 1) % _REFEREE_NUMBER_SPAN
        self.referee_numbers.add(n)
        return n

    def country(self, code: str) -> _Country:
        return self.tables.by_code.get(code) or self.tables.by_code["US"]

    def random_country(self, rng: random.Random) -> _Country:
        return self.tables.countries[rng.getrandbits(10)]

    def visitor(self, rng: random.Random) -> str:
        return f"v_{rng.getrandbits(64):016x}"

    def device(self, rng: random.Random) -> str:
        return f"d_{rng.getrandbits(64):016x}"

    def user_agent(self, rng: random.Random) -> str:
        return rng.choice(_USER_AGENTS)

    def channel(self, rng: random.Random) -> str:
        return self.tables.channels[rng.getrandbits(6)]

    def of(self, adv: Advocate) -> _Traits:
        known = self.traits.get(adv.external_id)
        if known is not None:
            return known
        rng = random.Random(_derive_seed("advocate-traits", self.seed, adv.external_id))
        code = adv.country if adv.country in self.tables.by_code else None
        code = code or _infer_country(adv.address_line1, adv.postcode)
        if adv.name and " " in adv.name.strip():
            first, last = adv.name.strip().split(" ", 1)
        else:
            tokens = [
                t
                for t in re.split(r"[._\-]", re.sub(r"\d+", "", adv.email.split("@")[0]))
                if t.isalpha()
            ]
            c = self.country(code)
            first = tokens[0].capitalize() if tokens else c.first_names[rng.getrandbits(12)][0]
            last = (
                tokens[1].capitalize() if len(tokens) > 1 else c.last_names[rng.getrandbits(12)][0]
            )
        traits = _Traits(
            country=code,
            first=first,
            last=last,
            device_id=self.device(rng),
            visitor_id=self.visitor(rng),
            ip=_random_ip(rng, v6=0.0),
            user_agent=self.user_agent(rng),
            payment_fingerprint="pf_" + _hex_id(self.seed, "payment", adv.external_id),
        )
        self.traits[adv.external_id] = traits
        return traits

    # -- building blocks -----------------------------------------------------------------------

    def referee(
        self,
        rng: random.Random,
        key: tuple[object, ...],
        at: int,
        *,
        country: _Country,
        label: str | None,
        name: tuple[str, str] | None = None,
        email: str | None = None,
        domain: str | None = None,
        address: tuple[str, str] | None = None,
    ) -> CustomerRecord:
        """A new customer who signs up at ``at``; fields not given are drawn like customers'."""
        number = self.referee_number(*key)
        if name is None:
            first, ftok = country.first_names[rng.getrandbits(12)]
            last, ltok = country.last_names[rng.getrandbits(12)]
        else:
            first, last = name
            ftok, ltok = _ascii_token(first) or "x", _ascii_token(last) or "x"
        if email is None:
            # The referee number is the only digit run, so referee emails never collide with
            # each other or with customers' (whose digit runs stay below 100,000,000).
            dom = domain or country.domains[rng.getrandbits(10)]
            sep = rng.choice((".", "", "_", "."))
            email = f"{ftok}{sep}{ltok}{number}@{dom}"
        if address is None:
            house = 1 + int(rng.random() ** 2 * 240)
            street = rng.choice(country.streets)
            line = (
                f"{house} {street}",
                f"{street} {house}",
                f"{street}, {house}",
            )[country.address_style]
            address = (line, country.postcodes[rng.getrandbits(11)])
        phone: str | None = None
        consent_sms = consent_wa = False
        if rng.random() < 0.6:
            prefix, digits, lowest, span = country.phones[rng.getrandbits(6)]
            phone = prefix + str(10**digits + lowest + rng.randrange(span))[1:]
            consent_sms = rng.random() < 0.4
            consent_wa = rng.random() < country.whatsapp_rate
        consent_email = rng.random() < 0.85
        if consent_wa and rng.random() < 0.5:
            channel = "whatsapp"
        elif consent_sms and rng.random() < 0.4:
            channel = "sms"
        elif consent_email or not (consent_wa or consent_sms):
            channel = "email"
        else:
            channel = "whatsapp" if consent_wa else "sms"
        return CustomerRecord(
            external_id=f"R{number}",
            email=email,
            phone=phone,
            name=f"{first} {last}",
            segment="new",
            country=country.code,
            timezone=country.timezones[rng.getrandbits(6)],
            customer_since=datetime.fromtimestamp(at, UTC),
            nps_score=None,
            nps_at=None,
            orders_count=0,
            total_spend_minor=0,
            currency=country.currency,
            first_order_at=None,
            last_order_at=None,
            support_positive=0,
            support_negative=0,
            email_opens_90d=0,
            email_clicks_90d=0,
            reviews_count=0,
            consent_email=consent_email,
            consent_sms=consent_sms,
            consent_whatsapp=consent_wa,
            preferred_channel=channel,
            address_line1=address[0],
            postcode=address[1],
            label=label,
        )

    def click(
        self,
        ts: int,
        code: str,
        channel: str,
        *,
        visitor_id: str,
        ip: str,
        user_agent: str,
        device_id: str | None,
        label: str | None,
    ) -> None:
        self.emit(
            ts,
            Click(
                code=code,
                channel=channel,
                visitor_id=visitor_id,
                ip=ip,
                user_agent=user_agent,
                device_id=device_id,
                occurred_at=datetime.fromtimestamp(ts, UTC),
                label=label,
            ),
        )

    def signup(
        self,
        customer: CustomerRecord,
        code: str | None,
        *,
        visitor_id: str | None,
        device_id: str | None,
        ip: str,
        user_agent: str,
        label: str | None,
    ) -> None:
        self.emit(
            int(customer.customer_since.timestamp()),
            Signup(
                customer=customer,
                code=code,
                visitor_id=visitor_id,
                device_id=device_id,
                ip=ip,
                user_agent=user_agent,
                occurred_at=customer.customer_since,
                label=label,
                event_id=f"evt_sig_{customer.external_id}",
            ),
        )

    def purchases(
        self,
        rng: random.Random,
        customer_id: str,
        currency: str,
        after: int,
        *,
        label: str | None,
        fingerprint: str,
        promo_code: str | None = None,
        p_buy: float = 0.6,
        p_repeat: float = 0.2,
        first_delay: float = 1.5 * _DAY,
        amount: Callable[[random.Random], int] = _legit_amount,
    ) -> None:
        """Zero, one or two orders after ``after``; ~5% of them refunded in full later."""
        if rng.random() >= p_buy:
            return
        ts = after
        mean_delay = first_delay
        for k in (1, 2):
            room = self.last - ts - 60
            if room <= 0:
                return
            delay = int(rng.expovariate(1.0 / mean_delay))
            if delay > room:
                # Squeeze rather than drop, so the purchase share holds for late sign-ups too.
                delay = int(rng.random() * room)
            ts += 60 + delay
            order_id = f"O-{customer_id}-{k}"
            value = amount(rng)
            self.emit(
                ts,
                Purchase(
                    event_id=f"evt_pur_{order_id}",
                    order_id=order_id,
                    customer_external_id=customer_id,
                    amount_minor=value,
                    currency=currency,
                    payment_fingerprint=fingerprint,
                    promo_code=promo_code if k == 1 else None,
                    occurred_at=datetime.fromtimestamp(ts, UTC),
                    label=label,
                ),
            )
            if rng.random() < 0.05:
                refund_at = self.later(rng, ts, 3600, 14 * _DAY)
                if refund_at is not None:
                    self.emit(
                        refund_at,
                        Refund(
                            event_id=f"evt_ref_{order_id}",
                            order_id=order_id,
                            customer_external_id=customer_id,
                            amount_minor=value,
                            currency=currency,
                            occurred_at=datetime.fromtimestamp(refund_at, UTC),
                            label=label,
                        ),
                    )
            if rng.random() >= p_repeat:
                return
            mean_delay = 7 * _DAY

    def referral(
        self,
        rng: random.Random,
        adv: Advocate,
        key: tuple[object, ...],
        click_at: int,
        *,
        label: str | None,
        channel: str | None = None,
        visitor_id: str | None = None,
        device_id: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        country: _Country | None = None,
        name: tuple[str, str] | None = None,
        email: str | None = None,
        domain: str | None = None,
        address: tuple[str, str] | None = None,
        fingerprint: str | None = None,
        p_buy: float = 0.6,
        amount: Callable[[random.Random], int] = _legit_amount,
        signup_within: int = 2 * 3600,
    ) -> CustomerRecord | None:
        """A click on the advocate's link followed minutes later by a sign-up, then orders."""
        signup_at = self.later(rng, click_at, 20, signup_within)
        if signup_at is None:
            return None
        visitor_id = visitor_id or self.visitor(rng)
        ip = ip or _random_ip(rng)
        user_agent = user_agent or self.user_agent(rng)
        self.click(
            click_at,
            adv.code,
            channel or self.channel(rng),
            visitor_id=visitor_id,
            ip=ip,
            user_agent=user_agent,
            device_id=device_id,
            label=label,
        )
        country = country or self.country(self.of(adv).country)
        customer = self.referee(
            rng,
            key,
            signup_at,
            country=country,
            label=label,
            name=name,
            email=email,
            domain=domain,
            address=address,
        )
        self.signup(
            customer,
            adv.code,
            visitor_id=visitor_id,
            # A device id shows up at sign-up even when the click carried none (app login).
            device_id=device_id or self.device(rng),
            ip=ip,
            user_agent=user_agent,
            label=label,
        )
        self.purchases(
            rng,
            customer.external_id,
            customer.currency,
            signup_at,
            label=label,
            fingerprint=fingerprint or "pf_" + _hex_id(self.seed, "payment", customer.external_id),
            p_buy=p_buy,
            amount=amount,
        )
        return customer

    def promo_signup(
        self, rng: random.Random, adv: Advocate, key: tuple[object, ...], at: int, *,
        label: str | None, country: _Country,
    ) -> None:  # fmt: skip
        """A buyer types the code at checkout: a sign-up with the code but no click, no visitor."""
        customer = self.referee(rng, key, at, country=country, label=label)
        self.signup(
            customer,
            adv.code,
            visitor_id=None,
            device_id=self.device(rng),
            ip=_random_ip(rng),
            user_agent=self.user_agent(rng),
            label=label,
        )
        self.purchases(
            rng,
            customer.external_id,
            customer.currency,
            at,
            label=label,
            fingerprint="pf_" + _hex_id(self.seed, "payment", customer.external_id),
            promo_code=adv.code,
            p_buy=0.95,
            first_delay=600,
        )

    # -- ordinary behaviour --------------------------------------------------------------------

    def organic(self, adv: Advocate, share_rate: float) -> None:
        rng = random.Random(_derive_seed("organic", self.seed, adv.external_id))
        me = self.of(adv)
        home = self.country(me.country)
        if rng.random() < 0.08:
            # Advocates are customers too: some order again during the window.
            self.purchases(
                rng,
                adv.external_id,
                home.currency,
                self.first + int(rng.random() * (self.last - self.first)),
                label=None,
                fingerprint=me.payment_fingerprint,
                p_buy=1.0,
            )
        if rng.random() >= share_rate:
            return
        shared_at = self.first + int(rng.random() * (self.last - self.first) * 0.8)
        primary = self.channel(rng)
        if rng.random() < 0.1:
            # Checking one's own link: harmless, and it shows the engine the advocate's device.
            own_at = self.later(rng, shared_at, 30, 600)
            if own_at is not None:
                self.click(
                    own_at, adv.code, "copy", visitor_id=me.visitor_id, ip=me.ip,
                    user_agent=me.user_agent, device_id=me.device_id, label=None,
                )  # fmt: skip
        for j in range(1 + min(int(rng.expovariate(1 / 2.5)), 25)):
            ts = shared_at + int(rng.expovariate(1 / (1.5 * _DAY)))
            if ts > self.last - 600:
                continue
            channel = primary if rng.random() < 0.7 else self.channel(rng)
            device = self.device(rng) if rng.random() < 0.8 else None
            if rng.random() < 0.3:
                self.referral(
                    rng, adv, ("organic", adv.external_id, j), ts, label=None,
                    channel=channel, device_id=device,
                    country=home if rng.random() < 0.85 else self.random_country(rng),
                )  # fmt: skip
            else:
                self.click(
                    ts, adv.code, channel, visitor_id=self.visitor(rng), ip=_random_ip(rng),
                    user_agent=self.user_agent(rng), device_id=device, label=None,
                )  # fmt: skip
        if rng.random() < 0.3:
            for j in range(2 if rng.random() < 0.3 else 1):
                ts = shared_at + int(rng.expovariate(1 / (3 * _DAY)))
                if ts <= self.last - 600:
                    self.promo_signup(
                        rng, adv, ("promo", adv.external_id, j), ts, label=None, country=home
                    )

    # -- labelled patterns ---------------------------------------------------------------------

    def self_referral_alias(self, rng: random.Random, adv: Advocate) -> None:
        me = self.of(adv)
        t0 = self.start(rng, 2 * 3600)
        if rng.random() < 0.7:
            email = _alias_email(rng, adv.email)
            address = (adv.address_line1, adv.postcode) if rng.random() < 0.5 else None
            domain = None
        else:
            # A fresh mailbox, but the parcel still goes to the same door.
            email = None
            address = (adv.address_line1, adv.postcode)
            domain = rng.choice(("gmail.com", "outlook.com", "icloud.com", "yahoo.com"))
        self.referral(
            rng, adv, (SELF_REFERRAL_ALIAS, adv.external_id), t0, label=SELF_REFERRAL_ALIAS,
            channel="copy", visitor_id=me.visitor_id, device_id=me.device_id, ip=me.ip,
            user_agent=me.user_agent, name=(me.first, me.last), email=email, domain=domain,
            address=address, fingerprint=me.payment_fingerprint, p_buy=0.8,
        )  # fmt: skip

    def disposable(self, rng: random.Random, adv: Advocate) -> None:
        for j in range(2 if rng.random() < 0.3 else 1):
            self.referral(
                rng, adv, (DISPOSABLE, adv.external_id, j), self.start(rng, 3 * 3600),
                label=DISPOSABLE, device_id=self.device(rng), domain=rng.choice(DISPOSABLE_DOMAINS),
                p_buy=0.4,
            )  # fmt: skip

    def velocity_farm(self, rng: random.Random, adv: Advocate) -> None:
        t0 = self.start(rng, 2 * 3600)
        devices = [self.device(rng) for _ in range(rng.randint(2, 3))]
        subnet = _random_ip(rng, v6=0.0).rsplit(".", 1)[0]
        ips = [f"{subnet}.{rng.randrange(1, 255)}" for _ in range(rng.randint(1, 3))]
        agents = [self.user_agent(rng) for _ in range(2)]
        fingerprints = [f"pf_{rng.getrandbits(64):016x}" for _ in range(rng.randint(1, 2))]
        base = ""
        while not base or base in self.farm_bases:
            letters = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz") for _ in range(4))
            base = f"{rng.choice(_FARM_WORDS)}{letters}"
        self.farm_bases.add(base)
        domain = rng.choice(_FARM_DOMAINS)
        country = self.country(self.of(adv).country)
        size = rng.randint(15, 40)
        for j, offset in enumerate(sorted(int(rng.random() * 3300) for _ in range(size))):
            self.referral(
                rng, adv, (VELOCITY_FARM, adv.external_id, j), t0 + offset, label=VELOCITY_FARM,
                channel=rng.choice(("copy", "x")), device_id=rng.choice(devices),
                ip=rng.choice(ips), user_agent=rng.choice(agents), country=country,
                email=f"{base}{j + 1:02d}@{domain}", fingerprint=rng.choice(fingerprints),
                p_buy=0.25, amount=_farm_amount, signup_within=180,
            )  # fmt: skip

    def ring(self, rng: random.Random, members: Sequence[Advocate]) -> None:
        # Each member's link is used by the next member under an alias: A refers B', B refers
        # C', ..., the last refers A'. The alias carries the next member's address, device and
        # card, so the cycle is visible once referees are resolved to known customers.
        t0 = self.start(rng, len(members) * 6 * 3600 + 3600)
        for i, adv in enumerate(members):
            nxt = members[(i + 1) % len(members)]
            them = self.of(nxt)
            self.referral(
                rng, adv, (RING, adv.external_id, nxt.external_id),
                t0 + i * rng.randint(1800, 6 * 3600), label=RING,
                channel=rng.choice(("whatsapp", "copy")), visitor_id=them.visitor_id,
                device_id=them.device_id, ip=them.ip, user_agent=them.user_agent,
                country=self.country(them.country), name=(them.first, them.last),
                email=_alias_email(rng, nxt.email), address=(nxt.address_line1, nxt.postcode),
                fingerprint=them.payment_fingerprint, p_buy=0.7,
            )  # fmt: skip

    def shared_device(self, rng: random.Random, adv: Advocate) -> None:
        device = self.device(rng)
        agent = self.user_agent(rng)
        t0 = self.start(rng, 3 * _DAY)
        for j in range(rng.randint(3, 6)):
            self.referral(
                rng, adv, (SHARED_DEVICE, adv.external_id, j),
                t0 + int(rng.random() * 2 * _DAY), label=SHARED_DEVICE, device_id=device,
                user_agent=agent, p_buy=0.5,
            )  # fmt: skip

    def shared_payment(self, rng: random.Random, adv: Advocate) -> None:
        card = f"pf_{rng.getrandbits(64):016x}"
        t0 = self.start(rng, 4 * _DAY)
        for j in range(rng.randint(3, 5)):
            self.referral(
                rng, adv, (SHARED_PAYMENT, adv.external_id, j),
                t0 + int(rng.random() * 3 * _DAY), label=SHARED_PAYMENT,
                device_id=self.device(rng), fingerprint=card, p_buy=1.0,
            )  # fmt: skip

    def coupon_leak(self, rng: random.Random, adv: Advocate) -> None:
        # The code got posted on a deals site: strangers from anywhere use it within a day or two.
        t0 = self.start(rng, 2 * _DAY + 3600)
        for j in range(rng.randint(6, 15)):
            self.promo_signup(
                rng, adv, (COUPON_LEAK, adv.external_id, j), t0 + int(rng.random() * 2 * _DAY),
                label=COUPON_LEAK, country=self.random_country(rng),
            )  # fmt: skip

    def legit_family(self, rng: random.Random, adv: Advocate) -> None:
        me = self.of(adv)
        home = self.country(me.country)
        t0 = self.start(rng, 5 * _DAY)
        for j in range(2 if rng.random() < 0.3 else 1):
            first = me.first
            while first == me.first:
                first = home.first_names[rng.getrandbits(12)][0]
            self.referral(
                rng, adv, (LEGIT_FAMILY, adv.external_id, j), t0 + int(rng.random() * 4 * _DAY),
                label=LEGIT_FAMILY, channel=rng.choice(("whatsapp", "sms", "email")),
                device_id=self.device(rng), ip=me.ip if rng.random() < 0.7 else None,
                country=home, name=(first, me.last), address=(adv.address_line1, adv.postcode),
            )  # fmt: skip

    def legit_office(self, rng: random.Random, adv: Advocate) -> None:
        office_ip = _random_ip(rng, v6=0.0)
        company = rng.choice(_COMPANY_DOMAINS)
        t0 = self.start(rng, 12 * 3600)
        for j in range(rng.randint(2, 5)):
            self.referral(
                rng, adv, (LEGIT_OFFICE, adv.external_id, j),
                t0 + int(rng.random() * 10 * 3600), label=LEGIT_OFFICE,
                channel=rng.choice(("email", "linkedin", "copy")), device_id=self.device(rng),
                ip=office_ip, domain=company if rng.random() < 0.6 else None,
            )  # fmt: skip

    def legit_similar_name(self, rng: random.Random, adv: Advocate) -> None:
        me = self.of(adv)
        self.referral(
            rng, adv, (LEGIT_SIMILAR_NAME, adv.external_id), self.start(rng, 3 * 3600),
            label=LEGIT_SIMILAR_NAME, device_id=self.device(rng),
            name=_similar_name(rng, me.first, me.last),
        )  # fmt: skip


_PATTERNS: dict[str, Callable[[_Activity, random.Random, Advocate], None]] = {
    SELF_REFERRAL_ALIAS: _Activity.self_referral_alias,
    DISPOSABLE: _Activity.disposable,
    VELOCITY_FARM: _Activity.velocity_farm,
    SHARED_DEVICE: _Activity.shared_device,
    SHARED_PAYMENT: _Activity.shared_payment,
    COUPON_LEAK: _Activity.coupon_leak,
    LEGIT_FAMILY: _Activity.legit_family,
    LEGIT_OFFICE: _Activity.legit_office,
    LEGIT_SIMILAR_NAME: _Activity.legit_similar_name,
}


def _plan(count: int, seed: int) -> tuple[dict[int, str], list[list[int]]]:
    """Which advocates (by position) carry which pattern; each advocate at most one."""
    rng = random.Random(_derive_seed("plan", seed, count))
    wanted: list[tuple[str, int]] = []
    for label, rate in _PATTERN_RATES:
        instances = int(count * rate + rng.random())
        if count >= MIN_ADVOCATES_FOR_ALL_PATTERNS:
            instances = max(instances, 1)
        wanted.append((label, instances))
    ring_sizes = [rng.randint(3, 5) for _ in range(dict(wanted)[RING])]
    needed = sum(n for label, n in wanted if label != RING) + sum(ring_sizes)
    chosen = rng.sample(range(count), min(count, needed))
    singles: dict[int, str] = {}
    rings: list[list[int]] = []
    pos = 0
    for label, instances in wanted:
        if label == RING:
            for size in ring_sizes:
                if pos + size <= len(chosen):
                    rings.append(chosen[pos : pos + size])
                    pos += size
            continue
        for _ in range(instances):
            if pos < len(chosen):
                singles[chosen[pos]] = label
                pos += 1
    return singles, rings


def generate_activity(
    advocates: Sequence[Advocate],
    *,
    seed: int,
    now: datetime,
    days: int = 30,
    share_rate: float = 0.35,
) -> Iterator[ActivityEvent]:
    """Yield clicks, sign-ups, purchases and refunds for these advocates in time order.

    Same arguments, same events. Each advocate's ordinary behaviour depends only on
    ``(seed, external_id, now, days, share_rate)``; which advocates carry a labelled pattern
    depends on their positions in ``advocates``. All events are built, then sorted, so memory
    is O(events): about 2-3 events per advocate at the default share rate, i.e. a few MB for
    10,000 advocates. Fine for the demo and fraud evaluation; not meant for millions.
    """
    if days < 1:
        raise ValueError("days must be >= 1")
    if not 0.0 <= share_rate <= 1.0:
        raise ValueError("share_rate must be between 0 and 1")
    now = _as_utc(now)
    seen: set[str] = set()
    for adv in advocates:
        if adv.external_id in seen:
            raise ValueError(f"duplicate advocate external_id {adv.external_id!r}")
        seen.add(adv.external_id)
    return _activity(list(advocates), seed, now, days, share_rate)


def _activity(
    advocates: list[Advocate], seed: int, now: datetime, days: int, share_rate: float
) -> Iterator[ActivityEvent]:
    run = _Activity(seed, now, days)
    singles, rings = _plan(len(advocates), seed)
    for position, adv in enumerate(advocates):
        run.organic(adv, share_rate)
        label = singles.get(position)
        if label is not None:
            rng = random.Random(_derive_seed(label, seed, adv.external_id))
            _PATTERNS[label](run, rng, adv)
    for members in rings:
        rng = random.Random(_derive_seed(RING, seed, *(advocates[i].external_id for i in members)))
        run.ring(rng, [advocates[i] for i in members])
    # The sequence number breaks ties, so events are never compared and order is stable.
    run.events.sort(key=lambda item: (item[0], item[1]))
    for _, _, event in run.events:
        yield event


# ---------------------------------------------------------------------------------------------
# CSV


_CSV_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(CustomerRecord))
_DATETIME_FIELDS = frozenset(("customer_since", "nps_at", "first_order_at", "last_order_at"))
_INT_FIELDS = frozenset(
    (
        "nps_score", "orders_count", "total_spend_minor", "support_positive", "support_negative",
        "email_opens_90d", "email_clicks_90d", "reviews_count",
    )
)  # fmt: skip
_BOOL_FIELDS = frozenset(("consent_email", "consent_sms", "consent_whatsapp"))


def write_customers_csv(path: Path, records: Iterable[CustomerRecord]) -> int:
    """Stream records to a UTF-8 CSV with a header of field names; return the row count.

    Datetimes are ISO 8601 with ``+00:00``, booleans ``true``/``false``, ``None`` is empty.
    """
    row_of = attrgetter(*_CSV_FIELDS)
    # Only these cells need converting: the csv module already writes None as "" and ints and
    # strings as they are, and a per-cell call would triple the cost of a row.
    datetime_cells = [i for i, name in enumerate(_CSV_FIELDS) if name in _DATETIME_FIELDS]
    bool_cells = [i for i, name in enumerate(_CSV_FIELDS) if name in _BOOL_FIELDS]
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writerow = writer.writerow
        writerow(_CSV_FIELDS)
        for rec in records:
            row = list(row_of(rec))
            for i in datetime_cells:
                value = row[i]
                if value is not None:
                    row[i] = value.isoformat()
            for i in bool_cells:
                row[i] = "true" if row[i] else "false"
            writerow(row)
            written += 1
    return written


def _optional_time(cell: str) -> datetime | None:
    return datetime.fromisoformat(cell) if cell else None


def _optional_int(cell: str) -> int | None:
    return int(cell) if cell else None


def _flag(cell: str) -> bool:
    return cell == "true"


def _optional_text(cell: str) -> str | None:
    return cell or None


def _cell_reader(name: str) -> Callable[[str], object]:
    if name in _DATETIME_FIELDS:
        return _optional_time
    if name in _INT_FIELDS:
        return _optional_int
    if name in _BOOL_FIELDS:
        return _flag
    if name in ("phone", "label"):
        return _optional_text
    return str


# One converter per column, chosen once: the loader reads a million rows through this.
_CELL_READERS = tuple(_cell_reader(name) for name in _CSV_FIELDS)


def read_customers_csv(path: Path) -> Iterator[CustomerRecord]:
    """Read back what :func:`write_customers_csv` wrote, one record at a time."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if tuple(header) != _CSV_FIELDS:
            raise ValueError("not a customers CSV written by write_customers_csv")
        readers = _CELL_READERS
        for row in reader:
            if len(row) != len(readers):
                raise ValueError(f"line {reader.line_num}: expected {len(readers)} cells")
            cells = [read(cell) for read, cell in zip(readers, row, strict=True)]
            yield CustomerRecord(*cells)  # type: ignore[arg-type]
