"""Generated pledge catalogues of any size for the detection benchmarks (deterministic)."""

from __future__ import annotations

import random

from bench.feedgen import COMPANIES
from pledges.models import PledgeIn

SYLLABLES = [
    "vel",
    "an",
    "tor",
    "ix",
    "mar",
    "co",
    "lu",
    "dra",
    "pen",
    "quo",
    "ser",
    "ta",
    "bri",
    "on",
    "gal",
    "ve",
    "rho",
    "dex",
    "sa",
    "nor",
    "kel",
    "zu",
    "fi",
    "mo",
]
SUFFIXES = ["Group", "Holdings", "Industries", "Foods", "Energy", "Systems", "Labs", "Retail"]
TOPICS = [
    "facial recognition",
    "face recognition",
    "virgin plastic",
    "recycled packaging",
    "net zero",
    "carbon emissions",
    "deforestation",
    "child labour",
    "living wage",
    "forced labour",
    "renewable electricity",
    "coal financing",
    "palm oil",
    "cage-free eggs",
    "animal testing",
    "water use",
    "methane emissions",
    "supplier diversity",
    "racial equity",
    "gender pay gap",
    "data retention",
    "location data",
    "spyware exports",
    "predictive policing",
    "oil and gas production",
    "arctic drilling",
    "tar sands",
    "single-use plastic",
    "antibiotics in livestock",
    "conflict minerals",
]
SCOPES = [
    "police",
    "Russia",
    "China",
    "suppliers",
    "Europe",
    "US operations",
    "military",
    "children",
    "farmers",
    "contractors",
]


def company_name(rng: random.Random) -> str:
    word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word} {rng.choice(SUFFIXES)}"


def _pledge(
    pid: str, company: str, aliases: list[str], subject: list[str], scope: list[str]
) -> PledgeIn:
    return PledgeIn.model_validate(
        {
            "id": pid,
            "company": {"name": company, "aliases": aliases},
            "title": f"{company} commitment on {subject[0]}",
            "kind": "target",
            "statement": f"{company} committed to act on {subject[0]}.",
            "made_on": "2019-01-01",
            "subject": subject,
            "scope": scope,
            "sources": ["https://example.org/pledge"],
        }
    )


def catalogue(size: int, seed: int = 11) -> list[PledgeIn]:
    """`size` pledges: the companies the generated feeds mention, then generated ones."""
    rng = random.Random(seed)
    out: list[PledgeIn] = []
    for i, (company, subject, scope) in enumerate(COMPANIES[:size]):
        out.append(_pledge(f"base-{i}", company, [], [subject], [scope]))
    used = {c for c, _, _ in COMPANIES}
    # The feeds' companies get a few more pledges each, as big companies do; the rest
    # are other companies with one to four pledges, on the same topics.
    extra = [c for c, _, _ in COMPANIES[:size] for _ in range(4)]
    company = ""
    left = 0
    while len(out) < size:
        n = len(out)
        if extra:
            company = extra.pop()
        elif left == 0:
            company = company_name(rng)
            while company in used:
                company = company_name(rng) + f" {n}"
            used.add(company)
            left = rng.randint(1, 4)
        left = max(left - 1, 0)
        subject = rng.sample(TOPICS, 2)
        out.append(_pledge(f"gen-{n}", company, [], subject, rng.sample(SCOPES, 2)))
    return out
