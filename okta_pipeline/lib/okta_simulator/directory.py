"""The simulated Okta org: its people, admins, apps, groups and the places they sign in from."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

_BASE62 = string.digits + string.ascii_letters


@dataclass(frozen=True)
class Place:
    city: str
    state: str
    country: str
    postal_code: str
    lat: float
    lon: float
    as_number: int
    as_org: str
    isp: str
    domain: str | None
    ip_prefix: str
    is_proxy: bool = False

    def ip(self, rng: random.Random) -> str:
        return f"{self.ip_prefix}.{rng.randint(1, 254)}"

    def geographical_context(self) -> dict[str, object]:
        return {
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "postalCode": self.postal_code,
            "geolocation": {"lat": self.lat, "lon": self.lon},
        }


# Offices and home broadband where ordinary users sign in. Addresses are made up.
HOME_PLACES = (
    Place(
        "San Francisco",
        "California",
        "United States",
        "94105",
        37.7898,
        -122.3942,
        7922,
        "comcast cable communications, llc",
        "comcast cable",
        "comcast.net",
        "73.93.12",
    ),
    Place(
        "New York",
        "New York",
        "United States",
        "10013",
        40.7201,
        -74.0049,
        701,
        "verizon business",
        "verizon",
        "verizon.net",
        "108.29.40",
    ),
    Place(
        "Austin",
        "Texas",
        "United States",
        "78701",
        30.2711,
        -97.7437,
        11427,
        "charter communications inc",
        "spectrum",
        "rr.com",
        "70.112.31",
    ),
    Place(
        "Chicago",
        "Illinois",
        "United States",
        "60601",
        41.8853,
        -87.6216,
        7018,
        "at&t services, inc.",
        "at&t",
        "att.net",
        "99.61.18",
    ),
    Place(
        "Dublin",
        "Leinster",
        "Ireland",
        "D02",
        53.3498,
        -6.2603,
        5466,
        "eircom limited",
        "eir",
        "eircom.net",
        "86.44.23",
    ),
    Place(
        "London",
        "England",
        "United Kingdom",
        "EC2A",
        51.5223,
        -0.0834,
        2856,
        "british telecommunications plc",
        "bt",
        "bt.com",
        "81.129.77",
    ),
    Place(
        "Berlin",
        "Land Berlin",
        "Germany",
        "10115",
        52.5323,
        13.3846,
        3320,
        "deutsche telekom ag",
        "deutsche telekom",
        "telekom.de",
        "91.64.10",
    ),
    Place(
        "Toronto",
        "Ontario",
        "Canada",
        "M5H",
        43.6503,
        -79.3841,
        812,
        "rogers communications canada inc.",
        "rogers",
        "rogers.com",
        "99.237.52",
    ),
)
# Where attackers come from in the injected scenarios.
HOSTILE_PLACES = (
    Place(
        "Lagos",
        "Lagos",
        "Nigeria",
        "100001",
        6.4541,
        3.3947,
        37148,
        "globacom limited",
        "globacom",
        None,
        "105.112.44",
    ),
    Place(
        "Moscow",
        "Moscow",
        "Russia",
        "101000",
        55.7522,
        37.6156,
        12389,
        "rostelecom",
        "rostelecom",
        "rt.ru",
        "95.165.131",
    ),
    Place(
        "Sao Paulo",
        "Sao Paulo",
        "Brazil",
        "01000",
        -23.5475,
        -46.6361,
        28573,
        "claro nxt telecomunicacoes ltda",
        "claro",
        "claro.com.br",
        "177.37.80",
    ),
    Place(
        "Frankfurt am Main",
        "Hesse",
        "Germany",
        "60313",
        50.1155,
        8.6842,
        60729,
        "zwiebelfreunde e.v.",
        "tor exit",
        None,
        "185.220.101",
        is_proxy=True,
    ),
    Place(
        "Singapore",
        "Central Singapore",
        "Singapore",
        "018989",
        1.2897,
        103.8501,
        14061,
        "digitalocean, llc",
        "digitalocean",
        "digitalocean.com",
        "159.89.194",
        is_proxy=True,
    ),
    Place(
        "Tokyo",
        "Tokyo",
        "Japan",
        "100-0001",
        35.6895,
        139.6917,
        2516,
        "kddi corporation",
        "kddi",
        "kddi.com",
        "106.72.131",
    ),
)

_FIRST = (
    "Ada",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fatima",
    "Gus",
    "Hana",
    "Ivan",
    "Jo",
    "Kofi",
    "Lena",
    "Mateo",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
_LAST = (
    "Abara",
    "Berg",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Murphy",
    "Nakamura",
    "Okafor",
    "Patel",
    "Quist",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Wong",
    "Xu",
    "Young",
    "Zhang",
)

APPS = (
    ("Salesforce", "salesforce"),
    ("Slack", "slack"),
    ("Google Workspace", "google"),
    ("GitHub Enterprise", "github_enterprise"),
    ("Zoom", "zoomus"),
    ("Workday", "workday"),
    ("AWS IAM Identity Center", "amazon_aws_sso"),
    ("Jira Cloud", "atlassian_jira_cloud"),
    # Okta's "AWS Account Federation" app (SAML into IAM roles). Last, so that adding it left
    # the people of every seed as they were.
    ("Amazon Web Services", "amazon_aws"),
)
AWS_APP_NAME = "amazon_aws"
"""The app name of the AWS SAML app: SSO events into it carry `/app/amazon_aws/...` URIs."""
ORDINARY_GROUPS = ("Engineering", "Sales", "Support", "Finance", "Everyone-EU", "Contractors")
ADMIN_GROUPS = ("Okta Administrators", "Super Admins", "AWS Production Admins")
ADMIN_ROLES = ("SUPER_ADMIN", "ORG_ADMIN", "APP_ADMIN", "USER_ADMIN", "HELP_DESK_ADMIN")

USER_AGENTS = (
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        "Mac OS X",
        "CHROME",
        "Computer",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
        "Windows 10",
        "EDGE",
        "Computer",
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
        "Mac OS X",
        "FIREFOX",
        "Computer",
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "iOS",
        "MOBILE_SAFARI",
        "Mobile",
    ),
)
ATTACKER_AGENTS = (
    ("python-requests/2.31.0", "Unknown", "UNKNOWN", "Unknown"),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "Linux",
        "CHROME",
        "Computer",
    ),
)


def okta_id(rng: random.Random, prefix: str) -> str:
    """An id shaped like Okta's: a three-letter type prefix and 17 base62 characters."""
    return prefix + "".join(rng.choice(_BASE62) for _ in range(17))


@dataclass(frozen=True)
class Person:
    id: str
    login: str
    display_name: str
    home: Place
    user_agent: tuple[str, str, str, str]
    is_admin: bool


@dataclass(frozen=True)
class Directory:
    org_domain: str
    people: tuple[Person, ...]
    apps: tuple[tuple[str, str, str], ...]  # (id, display name, app name)
    groups: dict[str, str]  # display name -> id
    admin_console_id: str
    system_principal_id: str

    @property
    def admins(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if p.is_admin)

    @property
    def staff(self) -> tuple[Person, ...]:
        return tuple(p for p in self.people if not p.is_admin)


MIXED_CASE_EVERY = 5


def build_directory(seed: int, size: int = 250) -> Directory:
    """The same org for the same seed: people, a few admins, apps and groups."""
    rng = random.Random(f"directory:{seed}")
    people = []
    taken: set[str] = set()
    for index in range(size):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        # Okta keeps a login's case as it was entered and compares logins without it: one
        # person in MIXED_CASE_EVERY signs in as `Ana.Lopez@example.com`.
        login = f"{first}.{last}" if index % MIXED_CASE_EVERY == 1 else f"{first}.{last}".lower()
        if login.lower() in taken:
            login = f"{login}{index}"
        taken.add(login.lower())
        people.append(
            Person(
                id=okta_id(rng, "00u"),
                login=f"{login}@example.com",
                display_name=f"{first} {last}",
                home=rng.choice(HOME_PLACES),
                user_agent=rng.choice(USER_AGENTS),
                is_admin=index < max(3, size // 50),
            )
        )
    return Directory(
        org_domain="example.okta.com",
        people=tuple(people),
        apps=tuple((okta_id(rng, "0oa"), display, name) for display, name in APPS),
        groups={name: okta_id(rng, "00g") for name in (*ORDINARY_GROUPS, *ADMIN_GROUPS)},
        admin_console_id=okta_id(rng, "0oa"),
        system_principal_id=okta_id(rng, "spr"),
    )
