"""Checks on the seed list of UK emergency-service organisations.

The CSV is reference data: these tests keep it well formed and guard the rule that an
email domain is only listed when it belongs to one organisation alone.
"""

import csv
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

CSV_PATH = Path(__file__).resolve().parents[1] / "jesip_learn" / "data" / "organisations.csv"

HEADER = ["name", "service", "country", "areas", "email_domains"]
SERVICES = {"police", "fire", "ambulance"}
COUNTRIES = {"England", "Wales", "Scotland", "Northern Ireland", "Great Britain"}
BTP = "British Transport Police"

SCOTTISH_AREAS = {
    "North of Scotland Regional Resilience Partnership",
    "East of Scotland Regional Resilience Partnership",
    "West of Scotland Regional Resilience Partnership",
}
NI_AREA = "Northern Ireland"

# (service, country) -> number of organisations.
EXPECTED_COUNTS = {
    ("police", "England"): 39,
    ("police", "Wales"): 4,
    ("police", "Scotland"): 1,
    ("police", "Northern Ireland"): 1,
    ("police", "Great Britain"): 1,
    ("fire", "England"): 44,
    ("fire", "Wales"): 3,
    ("fire", "Scotland"): 1,
    ("fire", "Northern Ireland"): 1,
    ("ambulance", "England"): 11,
    ("ambulance", "Wales"): 1,
    ("ambulance", "Scotland"): 1,
    ("ambulance", "Northern Ireland"): 1,
}
EXPECTED_SERVICE_TOTALS = {"police": 46, "fire": 49, "ambulance": 14}
# 38 Local Resilience Forums in England and 4 in Wales.
EXPECTED_ENGLAND_WALES_AREAS = 42

# Domains used by many organisations at once: listing one would let anyone holding such an
# address self-register into the organisation it is attached to.
SHARED_DOMAINS = {
    "nhs.net",
    "nhs.uk",
    "nhs.scot",
    "scot.nhs.uk",
    "wales.nhs.uk",
    "hscni.net",
    "gov.uk",
    "gsi.gov.uk",
    "gcsx.gov.uk",
    "gov.scot",
    "gov.wales",
    "llyw.cymru",
    "police.uk",
    "pnn.police.uk",
    "pnn.gov.uk",
    "mod.uk",
    "mod.gov.uk",
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.co.uk",
    "yahoo.com",
    "yahoo.co.uk",
    "icloud.com",
    "aol.com",
    "btinternet.com",
    "protonmail.com",
}

DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _split(cell):
    return cell.split(";") if cell else []


@pytest.fixture(scope="module")
def raw_rows():
    with CSV_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def rows(raw_rows):
    header, *body = raw_rows
    return [dict(zip(header, record, strict=True)) for record in body]


def test_header(raw_rows):
    assert raw_rows, "file is empty"
    assert raw_rows[0] == HEADER


def test_every_row_has_five_cells(raw_rows):
    bad = [i for i, record in enumerate(raw_rows, start=1) if len(record) != len(HEADER)]
    assert not bad, f"lines with the wrong number of cells: {bad}"


def test_service_values(rows):
    bad = sorted({r["service"] for r in rows} - SERVICES)
    assert not bad, f"unknown service values: {bad}"


def test_country_values(rows):
    bad = sorted({r["country"] for r in rows} - COUNTRIES)
    assert not bad, f"unknown country values: {bad}"


def test_only_btp_is_great_britain(rows):
    gb = [r["name"] for r in rows if r["country"] == "Great Britain"]
    assert gb == [BTP]
    btp = next(r for r in rows if r["name"] == BTP)
    assert btp["service"] == "police"


def test_names_present_trimmed_and_unique(rows):
    names = [r["name"] for r in rows]
    assert all(n and n == n.strip() and "  " not in n for n in names), "blank or untrimmed name"
    dupes = [n for n, c in Counter(n.casefold() for n in names).items() if c > 1]
    assert not dupes, f"duplicate names: {dupes}"


def test_counts_per_service(rows):
    assert dict(Counter(r["service"] for r in rows)) == EXPECTED_SERVICE_TOTALS


def test_counts_per_service_and_country(rows):
    assert dict(Counter((r["service"], r["country"]) for r in rows)) == EXPECTED_COUNTS


def test_domains_are_valid_lowercase_domains(rows):
    bad = []
    for r in rows:
        for domain in _split(r["email_domains"]):
            if not DOMAIN_RE.match(domain):
                bad.append((r["name"], domain))
    assert not bad, f"malformed domains: {bad}"


def test_domains_unique_across_organisations(rows):
    owners = defaultdict(list)
    for r in rows:
        for domain in _split(r["email_domains"]):
            owners[domain].append(r["name"])
    shared = {d: names for d, names in owners.items() if len(names) > 1}
    assert not shared, f"domains listed more than once: {shared}"


def test_no_shared_domains(rows):
    bad = [(r["name"], d) for r in rows for d in _split(r["email_domains"]) if d in SHARED_DOMAINS]
    assert not bad, f"shared domains must never be listed: {bad}"


def test_england_and_wales_organisations_have_areas(rows):
    missing = [
        r["name"] for r in rows if r["country"] in {"England", "Wales"} and not _split(r["areas"])
    ]
    assert not missing, f"organisations without an area: {missing}"


def test_btp_has_no_area(rows):
    btp = next(r for r in rows if r["name"] == BTP)
    assert btp["areas"] == ""


def test_area_cells_well_formed(rows):
    bad = []
    for r in rows:
        parts = _split(r["areas"])
        if any(not p or p != p.strip() for p in parts) or len(parts) != len(set(parts)):
            bad.append(r["name"])
    assert not bad, f"empty, untrimmed or repeated areas in: {bad}"


def test_scotland_and_northern_ireland_areas(rows):
    for r in rows:
        areas = set(_split(r["areas"]))
        if r["country"] == "Scotland":
            assert areas == SCOTTISH_AREAS, r["name"]
        elif r["country"] == "Northern Ireland":
            assert areas == {NI_AREA}, r["name"]
        else:
            assert not areas & (SCOTTISH_AREAS | {NI_AREA}), r["name"]


def _area_key(area):
    key = area.casefold().replace("&", " and ")
    key = re.sub(r"\b(local resilience forum|resilience forum|lrf)\b", " ", key)
    key = re.sub(r"\bthe\b", " ", key)
    return re.sub(r"[^a-z0-9]+", "", key)


def test_each_area_has_one_spelling(rows):
    spellings = defaultdict(set)
    for r in rows:
        for area in _split(r["areas"]):
            spellings[_area_key(area)].add(area)
    clashes = {k: sorted(v) for k, v in spellings.items() if len(v) > 1}
    assert not clashes, f"one area written several ways: {clashes}"


def test_england_and_wales_area_count(rows):
    areas = {a for r in rows if r["country"] in {"England", "Wales"} for a in _split(r["areas"])}
    assert len(areas) == EXPECTED_ENGLAND_WALES_AREAS


def test_every_area_has_police_fire_and_ambulance(rows):
    services_by_area = defaultdict(set)
    for r in rows:
        for area in _split(r["areas"]):
            services_by_area[area].add(r["service"])
    gaps = {a: sorted(SERVICES - s) for a, s in services_by_area.items() if s != SERVICES}
    assert not gaps, f"areas missing a service: {gaps}"


def test_each_england_and_wales_area_has_exactly_one_territorial_force_except_london(rows):
    forces = defaultdict(list)
    for r in rows:
        if r["service"] == "police" and r["country"] in {"England", "Wales"}:
            assert len(_split(r["areas"])) == 1, f"{r['name']} should cover a single LRF"
            forces[_split(r["areas"])[0]].append(r["name"])
    multi = {a: sorted(names) for a, names in forces.items() if len(names) > 1}
    assert multi == {
        "London Resilience Forum": ["City of London Police", "Metropolitan Police Service"]
    }
