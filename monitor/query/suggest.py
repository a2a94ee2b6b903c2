"""News-search feeds for a pledge: its company's names with its subject phrases."""

from __future__ import annotations

from sqlmodel import Session

from feeds.suggest import SuggestedFeed, news_search_feeds
from pledges.models import Company, Pledge


class UnknownPledgeError(LookupError):
    """No pledge with that id is in the database."""


def suggest_feeds(session: Session, pledge_id: str) -> list[SuggestedFeed]:
    """Google News and Bing News RSS searches that watch one pledge."""
    pledge = session.get(Pledge, pledge_id)
    if pledge is None:
        raise UnknownPledgeError(
            f"no pledge with id {pledge_id!r} (see `pledgewatch pledges list`)"
        )
    company = session.get(Company, pledge.company_id)
    assert company is not None
    # Products imply the company ("Rekognition" names Amazon on its own).
    names = [company.name, *company.aliases, *company.products]
    return news_search_feeds(names, list(pledge.subject), label=f"{company.name} / {pledge.id}")
