"""What surrounds a tie of company and subject, as named features with reasons (pure).

`candidate` reads one pledge's mentions in an article and returns its features (the
numbers a `LinearModel` weighs), the kind it would be flagged as, and the reasons in
words; `evidence` picks the sentences shown with a flag. Nothing here decides a score:
the model does, so hand weights and fitted ones see exactly the same candidates.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date

from pledges.article import (
    Article,
    deadline_moved_earlier,
    deadline_moved_later,
    due_year_passed,
)
from pledges.lexicon import COMPANY_NOUNS, Weights
from pledges.model import LinearModel
from pledges.models import PledgeKind
from pledges.textmatch import Hit
from pledges.vocabulary import Compiled, Term, in_own_words, kind_feature

# Kinds of pledge that a resumption of the activity undoes.
GIVING_UP = frozenset({"moratorium", "ban", "exit"})
EVIDENCE_ROLES = (
    "company",
    "subject",
    "scope",
    "breach",
    "weaken",
    "reverse",
    "denial",
    "commitment",
)
# Every feature a candidate can carry. Those named like a `Weights` field take that
# field's hand weight; the rest weigh nothing by hand and only a fitted model uses them.
FEATURES = (
    "tie_sentence",
    "tie_window",
    "tie_article",
    "loose_only",
    "own_words_only",
    "title_company",
    "title_subject",
    "scope_near",
    "scope_far",
    "scope_missing",
    "commitment_near",
    "breach",
    "weaken_with_commitment",
    "weaken_alone",
    "reverse",
    "rising",
    "investigation",
    "conduct_scoped",
    "cue_in_title",
    "headline_pattern",
    "affirm_each",
    "affirm_only",
    "denial",
    "early",
    "event_affirm",
    "event_weaken",
    "advocacy",
    "fulfil",
    "legal",
    "shortfall",
    "standing",
    "relief",
    "later_date",
    "later_date_only",
    "after_deadline",
    "own_verb",
    "earlier_date",
    "company_listed",
    "plan_headline",
    "sibling_closer",
    "wide_window",
    "core_word_only",
    "enforcement",
    "cue_on_subject",
    "pooled_only",
    "company_described",
    "breach_said",
    "company_by_name",
    "no_signal",
    # Cutting what the pledge promised to create or keep ("lays off 220", "closing the
    # plant"), told without any word of the promise; and that cut as the only signal.
    "promise_cut",
    "cut_only",
    # How much the article's own words read like a report of a breach or rollback
    # (`pledges.kindwords`), when the model has learned a vocabulary for it.
    "words_report",
)
# Features that tell a breach from a rollback once a candidate is flagged.
KIND_FEATURES = (
    # How the article's own words read, rollback or breach (`pledges.kindwords`), when the
    # model has learned a vocabulary for it.
    "words_kind",
    "breach",
    "shortfall",
    "legal",
    "investigation",
    "rising",
    "persisting",
    "resumed",
    "own_act",
    "resumed_by_others",
    "other_act",
    "weaken_with_commitment",
    "weaken_alone",
    "withdraw",
    "later_date",
    "after_deadline",
    "missed",
    "conduct_scoped",
    "unkept",
    "still",
    "denial",
    "enforcement",
    "promise_cut",
    # What kind of pledge it is: a target is mostly reported missed or delayed (rollback),
    # a ban or moratorium mostly broken (breach). Learned, not set by hand.
    *(kind_feature(k) for k in PledgeKind),
)
# A headline announcing what a company will do ("X to remove", "X says it will", "X vows"):
# coverage of a plan, which a rollback headline also can be, so only the model weighs it.
PLAN_HEADLINE = re.compile(
    r"\b(?:will|to (?!be\b)[a-z]+|vows?|pledges?|plans? to|aims? to|sets? out|targets?|unveils?"
    r"|reveals?|starts?|begins?|launch(?:es)?)\b",
    re.IGNORECASE,
)
# Loose (word by word) subject matches count this much of a phrase match in a tie, and
# matches on words of the pledge's title and statement this much.
LOOSE_STRENGTH = 0.7
DERIVED_STRENGTH = 0.5


# The hand weights never flag a tie without a breach or rollback word.
HAND_NO_SIGNAL = -50.0


def hand_model(w: Weights, version: str) -> LinearModel:
    """The hand-set weights of `Weights` as a model over `FEATURES`."""
    names = {f.name for f in fields(Weights)}
    weights = {f: float(getattr(w, f)) for f in FEATURES if f in names}
    weights["no_signal"] = weights["cut_only"] = HAND_NO_SIGNAL
    return LinearModel(version, weights, -w.bias, w.threshold, {"made_by": "hand"})


@dataclass(frozen=True)
class Span:
    """A matched phrase inside an evidence sentence (offsets relative to the sentence)."""

    start: int
    end: int
    text: str
    role: str


@dataclass(frozen=True)
class Evidence:
    """A sentence that supports a finding, with what matched in it."""

    sentence: str
    spans: tuple[Span, ...]
    in_title: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "in_title": self.in_title,
            "spans": [
                {"start": s.start, "end": s.end, "text": s.text, "role": s.role} for s in self.spans
            ],
        }


@dataclass(frozen=True)
class Candidate:
    """An article tied to a pledge with some breach or rollback signal, not yet scored."""

    pledge: int
    features: dict[str, float]
    kind_features: dict[str, float]
    kind: str  # by the rule: breach | rollback
    reasons: tuple[str, ...]
    response: str | None
    window: frozenset[int]


def core_sentences(cat: Compiled, art: Article, pi: int) -> set[int]:
    """Sentences naming a word that several of the pledge's subject phrases share."""
    k = cat.pledges[pi].core_phrase
    return set(art.words.get((pi, k), {})) if k >= 0 else set()


def pooled_sentences(cat: Compiled, art: Article, pi: int) -> dict[int, set[int]]:
    """Sentences naming two words of the pledge's subject phrases (any phrases)."""
    k = cat.pledges[pi].pooled_phrase
    if k < 0:
        return {}
    return {si: found for si, found in art.words.get((pi, k), {}).items() if len(found) >= 2}


def subject_sentences(
    cat: Compiled, art: Article, pi: int
) -> tuple[set[int], set[int], dict[int, set[int]]]:
    """Sentences naming the pledge's subject: exact phrase (or product), loose, and by
    the pledge's own words (sentence -> indexes of those words found in it)."""
    p = cat.pledges[pi]
    exact = set(art.subject.get(pi, set()))
    for (c, term), sents in art.product.items():
        if c == p.company and cat.matcher.terms[term] in p.products:
            exact |= sents
    loose: set[int] = set()
    derived: dict[int, set[int]] = {}
    for k, n in enumerate(p.phrase_words):
        if n < 2 or k in (p.core_phrase, p.pooled_phrase):
            continue
        need = p.phrase_need[k]
        for si, found in art.words.get((pi, k), {}).items():
            if len(found) >= need:
                if k == p.derived_phrase:
                    derived[si] = found
                else:
                    loose.add(si)
    return exact, loose - exact, derived


# What follows a company that speaks (in folded text): "X said", "X's owner says".
SPEAKS = re.compile(
    r"^ (?:s )?(?:(\w+) )?(?:says?|said|told|tells|wrote|writes|argued|added|stated)\b"
)
# People and bodies named after the company who speak about it, not for it: "a former
# Amazon employee told a tribunal" is an allegation, not the company's own account.
OUTSIDE_VOICES = frozenset(
    """employee employees worker workers staff staffer staffers whistleblower whistleblowers
    engineer engineers contractor contractors driver drivers customer customers user users
    critic critics campaigner campaigners activist activists union unions shareholder
    shareholders investor investors analyst analysts researcher researchers investigator
    investigators insider insiders source sources report reports watchdog regulator
    regulators supplier suppliers rival rivals victim victims plaintiff plaintiffs""".split()
)


def company_speaks(cat: Compiled, art: Article, ci: int, window: set[int]) -> set[int]:
    """Sentences of the window in which the company speaks: its words, not a report on it."""
    out: set[int] = set()
    for si, h in art.located:
        if si in window and si not in out:
            term = cat.terms[h.term]
            if term.names_company(ci):
                m = SPEAKS.match(art.folded[h.fend : h.fend + 60])
                if m and m.group(1) not in OUTSIDE_VOICES:
                    out.add(si)
    return out


# How far after the company's name a verb it is the subject of is looked for ("X has
# resumed", "X scraps", "X opens its wallet again"), in folded characters.
AGENT_REACH = 30
# How far after a resumption word the company's name may follow as the maker of what
# resumes ("a trial of X's cameras").
MAKER_REACH = 12
# Words that start another clause or name another actor between the company and the verb.
CLAUSE_BREAK = frozenset("and but while whereas he she they who which that after".split())


def company_acts(
    cat: Compiled,
    art: Article,
    ci: int,
    window: set[int],
    cues: list[tuple[int, Hit]],
    maker: bool = False,
) -> int:
    """Cues (weakening, withdrawing, resuming) the company is the subject of, in sentences
    without an allegation: the company's own announced change (a rollback), not conduct
    that others found going on against the pledge (a breach). With `maker`, also cues
    whose object is the company's own product ("police begin a test of Axon cameras")."""
    accused = {s for k in ("breach", "investigation", "legal") for s, _ in art.cue_hits(k, window)}
    names = [
        (si, h)
        for si, h in art.located
        if si in window and si not in accused and ci in cat.terms[h.term].companies
    ]
    n = 0
    for si, cue in cues:
        if any(
            sj == si
            and (
                0 <= cue.fpos - h.fend <= AGENT_REACH
                and not CLAUSE_BREAK & set(art.folded[h.fend : cue.fpos].split())
                or maker
                and 0 <= h.fpos - cue.fend <= MAKER_REACH
            )
            for sj, h in names
        ):
            n += 1
    return n


def other_acts(
    cat: Compiled, art: Article, ci: int, window: set[int], cues: list[tuple[int, Hit]]
) -> bool:
    """Whether another company of the catalogue is the subject of a rollback word ("Mozilla
    pulls Avast's add-ons"): a step someone else took against the company, not the company
    taking back its own pledge."""
    others = {c for c, sents in art.company.items() if c != ci and sents & window}
    return any(company_acts(cat, art, c, window, cues) for c in sorted(others))


# How far after the start of a word of selling up ("to sell", "sell its") a conduct word is
# taken as part of it (original characters).
SELLING_REACH = 30
# How far after a rollback word its object is looked for (folded characters).
OBJECT_REACH = 40


def cue_on_subject(cat: Compiled, art: Article, pi: int, hits: list[tuple[int, Hit]]) -> int:
    """Rollback words whose object is the pledge's subject ("phase out artificial colours",
    "stop selling location data"): for a pledge to give something up, the promised action
    described, not the promise undone."""
    n = 0
    for si, cue in hits:
        for h in art.hits_near(si, cue.fend, cue.fend + OBJECT_REACH):
            term = cat.terms[h.term]
            if "commitment" in term.cues:
                break  # "drops its pledge to ...": the promise is the object
            if pi in term.subjects or pi in term.scopes or pi in term.words:
                n += 1
                break
    return n


# Words that end the object of a cut word: what follows is where or why, not what is cut.
CUT_BREAK = frozenset("at in on to for with after as while and but because by".split())
# How long (folded characters) a mention ending just before a cut word may be, and how
# many cut words of each kind one candidate reads: bounded work on any article.
NAME_REACH = 120
CUT_HITS = 16


def promise_cuts(cat: Compiled, art: Article, pi: int, window: set[int]) -> list[str]:
    """Words of cutting whose object is what the pledge promised: jobs gone when the pledge
    promises jobs ("layoffs", "lays off 220 workers"), or a closing whose object is the
    pledge's own subject, place or name ("closing its Belleville facility"). Words the
    pledge itself uses ("close its coal plants") describe the promise, not its undoing."""
    p = cat.pledges[pi]
    jobs = p.promises_jobs
    kinds = ("closure", "layoffs", "staff_cut") if jobs else ("closure",)
    hits = [(si, h, k) for k in kinds for si, h in art.cue_hits(k, window)[:CUT_HITS]]
    out: list[tuple[int, Hit]] = []
    for si, cue, kind in hits:
        if in_own_words(p.own_stems, cat.matcher.terms[cue.term]):
            continue
        if kind == "layoffs" or any(
            _promised(cat.terms[h.term], pi, kind, jobs) for h in _objects(art, si, cue)
        ):
            out.append((si, cue))
    return art.text_of(out)


def _promised(term: Term, pi: int, cut: str, jobs: bool) -> bool:
    """Whether a term names what the pledge promised, as the object of a cut word."""
    if jobs and "workforce" in term.cues:
        return True
    return cut == "closure" and (
        pi in term.subjects or pi in term.scopes or pi in term.words or pi in term.names
    )


def _objects(art: Article, si: int, cue: Hit) -> Iterable[Hit]:
    """Mentions that can be the object of a cut word: after it, in its own clause ("shuts
    the plant", not "cuts prices at the plant"), or right before it ("the plant's closure",
    "220 job cuts")."""
    # Only mentions starting this close can end just before the cut word or follow it.
    for h in art.hits_near(si, cue.fpos - MAKER_REACH - NAME_REACH, cue.fend + OBJECT_REACH):
        if h is cue:
            continue
        if cue.fend <= h.fpos <= cue.fend + OBJECT_REACH:
            if not CUT_BREAK & set(art.folded[cue.fend : h.fpos].split()):
                yield h
        elif cue.fpos - MAKER_REACH <= h.fend <= cue.fpos and set(
            art.folded[h.fend : cue.fpos].split()
        ) <= {"s"}:
            yield h


# Conduct words that are also nouns of another sense: after an article or a possessive,
# "the shares of", "its markets", they name stock or a marketplace, not an act ("the
# sharing of data", "its marketing" are still acts).
NOUN_SENSE = frozenset({"share", "shares", "market", "markets"})
DETERMINERS = frozenset("a an the its their his her our whose s this that".split())
# Conduct the company must do itself (selling, supplying, signing, giving away): told in
# the passive with someone else as the doer ("a decree signed by the president"), it is
# that party's act. Using, testing or reaching a product is what customers do with it
# ("used by police"), so those count whoever does them.
OWN_ACTS = frozenset(
    """sold sell supply supplied provide provided offer offered build built license licensed
    share shared gave give disclose disclosed signed""".split()
)
# Words that may stand before the doer's name after "by" ("by the company", "by its unit").
_DOER_ARTICLES = frozenset("the a an its".split())


def company_conduct(
    cat: Compiled, art: Article, ci: int, hits: list[tuple[int, Hit]]
) -> list[tuple[int, Hit]]:
    """Conduct hits that can be the company's own acts: not a noun of another sense ("the
    shares of"), and not an act told in the passive with another doer ("signed by the
    president")."""
    out = []
    for si, h in hits:
        if art.folded[h.fpos : h.fend] in NOUN_SENSE:
            before = art.folded[max(h.fpos - 20, 0) : h.fpos].split()
            if before and before[-1] in DETERMINERS:
                continue
        if cat.matcher.terms[h.term] in OWN_ACTS and art.folded.startswith(" by ", h.fend):
            doer = h.fend + 4
            words = art.folded[doer : doer + 40].split()[:2]
            if words and words[0] in _DOER_ARTICLES:
                doer += len(words[0]) + 1
                words = words[1:]
            # "by the company", "by BrewCo": the company acts; anyone else, it does not.
            if words and words[0] in COMPANY_NOUNS:
                out.append((si, h))
                continue
            if not any(cat.terms[g.term].names_company(ci) for g in art.hits_near(si, doer, doer)):
                continue
        out.append((si, h))
    return out


def candidate(
    cat: Compiled, art: Article, pi: int, pub: date | None, w: Weights, wide: bool = False
) -> Candidate | None:
    """The pledge's features in this article, or None when nothing could make it a flag.

    An article with the company in its headline is about the company throughout: when
    nothing near the closest tie signals a breach or rollback, the signal is looked for
    near every mention of the company or the pledge's words (`wide`), and the candidate
    says so (`wide_window`) so the model can weigh how far the signal is from the tie.
    """
    p = cat.pledges[pi]
    ci = p.company
    spec = p.spec
    if pub is not None and pub < spec.made_on:
        return None  # a pledge binds from the day it was made
    exact, loose, derived = subject_sentences(cat, art, pi)
    subject = exact | loose
    own_words = not subject and bool(derived)
    if own_words:
        subject = set(derived)
    core_only = False
    if not subject:
        subject = core_sentences(cat, art, pi)
        core_only = bool(subject)
    pooled: dict[int, set[int]] = {}
    if not subject:
        pooled = pooled_sentences(cat, art, pi)
        subject = set(pooled)
    if not subject:
        return None
    company = set(art.company.get(ci, set()))
    for (c, _), sents in art.product.items():
        if c == ci:
            company |= sents

    x: dict[str, float] = {}
    reasons: list[str] = []
    if not company and pi in art.names and not art.company and not art.product:
        # Not named, but a name the pledge itself uses is: the site, brand or person
        # stands in for the company ("Whyalla's furnace slips" for the steelworks' owner).
        company = set(art.names[pi])
        x["company_by_name"] = 1.0
        reasons.append("the company is not named; the report names " + _names_said(cat, art, pi))
    if not company:
        return None
    strength = (
        1.0 if exact else (DERIVED_STRENGTH if own_words or core_only or pooled else LOOSE_STRENGTH)
    )
    same = company & subject
    if same:
        x["tie_sentence"] = strength
        near = set(same)
        reasons.append("company and subject in one sentence")
    else:
        pairs = [(a, b) for a in company for b in subject if abs(a - b) <= w.window]
        if pairs:
            x["tie_window"] = strength
            near = {n for pair in pairs for n in pair}
            reasons.append("company and subject in adjacent sentences")
        elif art.has_title and 0 in company:
            x["tie_article"] = strength
            near = set(subject)
            reasons.append("company in the headline, subject in the text")
        elif art.has_title and 0 in subject:
            x["tie_article"] = strength
            near = {0, min(company)}
            reasons.append("subject in the headline, company in the text")
        else:
            return None
    if ci in art.described:
        x["company_described"] = 1.0
        reasons.append(
            "the headline describes a company without naming it; the pledge's subject is named"
        )
    # Named in a list with other companies of the catalogue (a sector-wide report, an
    # inquiry into several firms): the story is seldom this company's pledge.
    tie = same or near
    if any(c != ci and sents & tie for c, sents in art.company.items()) and 0 not in company:
        x["company_listed"] = 1.0
        reasons.append("named alongside other companies")
    if loose and not exact:
        x["loose_only"] = 1.0
        reasons.append("subject matched word by word")
    if own_words:
        x["own_words_only"] = 1.0
        found = sorted({j for si in subject for j in derived[si]})
        said = ", ".join(f"{p.derived[j][0]} ({p.derived[j][1]})" for j in found[:4])
        reasons.append("subject matched by the pledge's own words: " + said)
    if core_only:
        x["core_word_only"] = 1.0
        said = ", ".join(p.core[:3])
        reasons.append("subject matched by a word its phrases share: " + said)
    if pooled:
        x["pooled_only"] = 1.0
        found = sorted({j for si in pooled.values() for j in si})
        reasons.append(
            "subject matched by words of several of its phrases: "
            + ", ".join(p.pooled[j] for j in found[:4])
        )
    window = {s + d for s in near for d in range(-w.window, w.window + 1)}
    if wide:
        spread = company | subject | exact | loose | set(derived)
        window |= {s + d for s in spread for d in range(-w.window, w.window + 1)}
        x["wide_window"] = 1.0
        reasons.append("the headline names the company; signal away from the closest tie")
    if art.has_title:
        window.add(0)
        if 0 in company:
            x["title_company"] = 1.0
        if 0 in subject:
            x["title_subject"] = 1.0
            reasons.append("subject in the headline")

    scope = art.scope.get(pi, set())
    if scope & window:
        x["scope_near"] = 1.0
        reasons.append("scope term near the tie")
    elif scope:
        x["scope_far"] = 1.0
        reasons.append("scope term in the article")
    elif spec.scope:
        x["scope_missing"] = 1.0

    commitment = art.cue_hits("commitment", window)
    if commitment:
        x["commitment_near"] = 1.0
        reasons.append("refers to a commitment")
    # Breach words in the company's own statement ("the war made owning the business
    # inconsistent with its values") are its account of a decision, not an allegation.
    speaks = company_speaks(cat, art, ci, window)
    breach_hits = art.cue_hits("breach", window)
    breach = art.text_of((s, h) for s, h in breach_hits if s not in speaks)
    own_account = art.text_of((s, h) for s, h in breach_hits if s in speaks)
    if own_account:
        x["breach_said"] = 1.0
        reasons.append("breach words in the company's own statement: " + ", ".join(own_account[:3]))
    # Rollback words the pledge itself uses describe the promised action being taken.
    weaken_hits = art.cue_hits("weaken", window)
    rollback_hits = weaken_hits + art.cue_hits("withdraw", window)
    own_verb = [
        (s, h) for s, h in rollback_hits if in_own_words(p.own_stems, cat.matcher.terms[h.term])
    ]
    commit_sents = {s for s, _ in commitment} | subject
    weaken_strong = art.text_of((s, h) for s, h in weaken_hits if s in commit_sents)
    weaken = art.text_of(weaken_hits)
    resumed: list[str] = []
    persisting: list[str] = []
    if spec.kind.value in GIVING_UP or (p.prohibitive and scope & window):
        resumed = art.text_of(h for h in art.cue_hits("reverse", window) if h[0] in subject)
        persisting = art.text_of(h for h in art.cue_hits("persist", window) if h[0] in subject)
    # Both undo giving something up and score alike; only the kind tells them apart.
    reverse = sorted({*resumed, *persisting})
    # Leaving or walking away from something: a rollback, unless leaving is the pledge.
    withdraw = art.text_of(art.cue_hits("withdraw", window))
    if withdraw and spec.kind.value != "exit":
        weaken = sorted({*weaken, *withdraw})
        weaken_strong = sorted({*weaken_strong, *withdraw})
    else:
        withdraw = []
    legal = art.text_of(art.cue_hits("legal", window))
    if legal:
        breach = sorted({*breach, *legal})
        x["legal"] = 1.0
    shortfall = art.text_of(art.cue_hits("shortfall", window))
    if shortfall:
        x["shortfall"] = 1.0
        reasons.append("reported as falling short of the pledge: " + ", ".join(shortfall[:3]))
    affirm = art.text_of(art.cue_hits("affirm", window))
    conduct = company_conduct(cat, art, ci, art.cue_hits("conduct", window))
    if spec.kind.value == "exit":
        # Selling up is how an exit is carried out: "sell its restaurants" is no conduct
        # against a pledge to leave.
        selling = {h.start for _, h in art.cue_hits("fulfil", window)}
        conduct = [
            (s, h) for s, h in conduct if not any(a <= h.start < a + SELLING_REACH for a in selling)
        ]
    # A target's measured quantity rising (emissions up 30%) reports it off track.
    rising = (
        art.text_of((s, h) for s, h in art.cue_hits("rising", window) if s in subject)
        if spec.kind.value == "target"
        else []
    )
    tight = bool(same) or (art.has_title and 0 in company)
    investigation = art.text_of(art.cue_hits("investigation", window)) if tight else []
    # Enforcement near the company (a fine, a settlement, a probe, an order): a breach
    # reported through what a regulator or court did, in the regulator's words.
    enforcement_hits = art.cue_hits("enforcement", window) if tight else []
    enforcement = art.text_of(enforcement_hits)
    later = deadline_moved_later(art, window) or due_year_passed(art, window, p.deadline_year)
    if later:
        x["later_date"] = 1.0
        if not weaken:
            x["later_date_only"] = 1.0
        weaken = sorted({*weaken, later})
        weaken_strong = sorted({*weaken_strong, later})

    sooner = deadline_moved_earlier(art, window)
    if sooner:
        x["earlier_date"] = 1.0
        reasons.append("a deadline brought forward: " + sooner)

    breach_n = min(len(breach), w.breach_cap)
    weaken_n = min(len(weaken), w.weaken_cap)
    weaken_strong_n = min(len(weaken_strong), w.weaken_cap)
    reverse_n = min(len(reverse), w.reverse_cap)
    for name, value in (
        ("breach", breach_n),
        ("weaken_with_commitment", weaken_strong_n),
        ("weaken_alone", weaken_n - weaken_strong_n),
        ("reverse", reverse_n),
    ):
        if value:
            x[name] = float(value)
    if breach:
        reasons.append("breach language: " + ", ".join(breach[:4]))
    # The only rollback words are the pledge's own verbs: likely the pledge restated.
    own_verb_text = art.text_of(own_verb)
    if own_verb_text and set(weaken) <= set(own_verb_text) and not (breach or reverse or later):
        x["own_verb"] = 1.0
        reasons.append("rollback words are the pledge's own: " + ", ".join(own_verb_text[:3]))
    if weaken:
        reasons.append("rollback language: " + ", ".join(weaken[:4]))
    if resumed:
        reasons.append("resumption language: " + ", ".join(resumed[:4]))
    if persisting:
        reasons.append("still going on despite the pledge: " + ", ".join(persisting[:4]))
    if rising:
        x["rising"] = 1.0
        reasons.append("target's measure reported rising: " + ", ".join(rising[:3]))
    if investigation:
        x["investigation"] = 1.0
        reasons.append("findings reported: " + ", ".join(investigation[:3]))
    if enforcement:
        x["enforcement"] = 1.0
        reasons.append("enforcement reported: " + ", ".join(enforcement[:3]))
    if conduct and scope & window:
        x["conduct_scoped"] = 1.0
        reasons.append("conduct within the pledge's scope: " + ", ".join(art.text_of(conduct)[:3]))
    title_cues = {
        "reverse" if k == "persist" else k
        for k in ("breach", "weaken", "reverse", "persist")
        for s, _ in art.cue_hits(k, {0})
        if s == 0
    }
    title_topic = 0 in subject or any(s == 0 for s, _ in commitment)
    counted = {"breach"} | ({"weaken"} if title_topic or 0 in company else set())
    if reverse:
        counted.add("reverse")
    if art.has_title and title_cues & counted:
        x["cue_in_title"] = 1.0
        reasons.append("breach or rollback language in the headline")
        # "Company scraps goal", "Company breaks promise": the story is the pledge.
        if 0 in company and title_topic:
            x["headline_pattern"] = 1.0
            reasons.append("headline names the company, the pledge and what happened")
    if affirm:
        x["affirm_each"] = float(min(len(affirm), w.affirm_cap))
        if not breach and not weaken_strong and not reverse:
            x["affirm_only"] = 1.0
        reasons.append("language of making or keeping the pledge: " + ", ".join(affirm[:3]))
    standing = art.text_of(art.cue_hits("standing", window))
    if standing:
        x["standing"] = 1.0
        reasons.append("reported as still standing: " + ", ".join(standing[:3]))
    relief = art.text_of(art.cue_hits("relief", window))
    if relief:
        x["relief"] = 1.0
        reasons.append("a request to a court or regulator: " + ", ".join(relief[:3]))
    if art.has_title and 0 in company and PLAN_HEADLINE.search(art.doc[: art.sentences[0][1]]):
        x["plan_headline"] = 1.0
        reasons.append("the headline announces a plan")
    response = None
    denial = art.text_of(art.cue_hits("denial", window))
    if denial:
        x["denial"] = 1.0
        response = "denied"
        reasons.append("company response reported: " + ", ".join(denial[:3]))
    if pub is not None:
        if (pub - spec.made_on).days <= w.early_days:
            x["early"] = 1.0
            reasons.append("published within days of the pledge being made")
        if any(abs((pub - d).days) <= w.event_days for d in p.affirm_dates):
            x["event_affirm"] = 1.0
            reasons.append("coincides with a recorded extension or reaffirmation")
        if any(0 <= (pub - d).days <= w.event_days for d in p.weaken_dates):
            x["event_weaken"] = 1.0
            reasons.append("coincides with a recorded rollback")

    advocacy = art.text_of(art.cue_hits("advocacy", window))
    if advocacy and not breach:
        x["advocacy"] = 1.0
        reasons.append("advocacy asking the company to act: " + ", ".join(advocacy[:3]))
    if spec.kind.value == "exit" and not reverse:
        # Selling up and leaving is the exit being carried out, not broken.
        fulfil = art.text_of(art.cue_hits("fulfil", window))
        if fulfil:
            x["fulfil"] = 1.0
            reasons.append("reports the exit being carried out: " + ", ".join(fulfil[:3]))
    on_subject = cue_on_subject(cat, art, pi, rollback_hits)
    giving_up = spec.kind.value in GIVING_UP or p.prohibitive
    if giving_up and rollback_hits and on_subject == len(rollback_hits):
        x["cue_on_subject"] = 1.0
        reasons.append("the rollback words act on the pledge's subject")
    cuts = [] if giving_up else promise_cuts(cat, art, pi, window)
    if cuts:
        x["promise_cut"] = 1.0
        reasons.append("cuts what the pledge promised: " + ", ".join(cuts[:3]))
    if (
        x.get("event_affirm")
        and x.get("affirm_each", 0.0) >= 2
        and not (breach or investigation or shortfall or enforcement or reverse or rising or cuts)
    ):
        # Told in words of making or keeping the pledge (two or more) within days of an
        # extension or reaffirmation the catalogue records, with nothing found against the
        # pledge: coverage of that event, never a flag (docs/catalogue.md). Over 75 corpora
        # 6 candidates were such: 1 expected flag (missed anyway), 5 not (1 was flagged).
        return None
    signal = (
        breach
        or own_account
        or weaken
        or reverse
        or rising
        or investigation
        or shortfall
        or enforcement
    )
    if not (signal or (conduct and scope & window)):
        if wide:
            return None
        if art.has_title and 0 in company:
            away = candidate(cat, art, pi, pub, w, wide=True)
            if away is not None:
                return away
        if cuts:
            # Only the promised jobs or site cut: a rollback told without a word of the
            # promise, which the hand weights (made before this was read) never flag.
            x["cut_only"] = 1.0
        else:
            # A tie with no breach or rollback word: only a model that reads the article's
            # words (`words_report`) can tell a report told in other words from coverage.
            x["no_signal"] = 1.0
            reasons.append("no breach or rollback word near the tie")

    resumed_n = min(len(resumed), w.reverse_cap)
    persisting_n = min(len(persisting), w.reverse_cap)
    rollback_weight = weaken_strong_n * 2 + weaken_n + resumed_n * 2
    breach_weight = (
        breach_n + bool(rising) + persisting_n + bool(shortfall) + bool(enforcement)
    ) * 2
    kind = "rollback" if rollback_weight > breach_weight else "breach"
    after = spec.effective_until is not None and pub is not None and pub > spec.effective_until
    if after:
        x["after_deadline"] = 1.0
        if weaken:
            kind = "rollback"
            reasons.append("reported after the pledge's deadline")
    # A deadline missed ("missed", "fails to meet"), not something gone missing.
    missed = any(word in ("miss", "missed", "misses") or "meet" in word for word in weaken)
    # A promise reported as not kept tells a missed goal (a rollback) from conduct against
    # it; "still" beside the subject tells conduct carrying on, and a company's denial
    # answers an allegation (both breaches).
    # After the deadline, a promise reported unkept is a missed deadline too.
    unkept = bool(art.cue_hits("unkept", window))
    still = any(s in subject for s, _ in art.cue_hits("still", window))
    # Breach words in the company's own statement ("X said membership exposed it to
    # lawsuits") are its account of a decision, not an allegation against it.
    breach_hits = breach_hits + art.cue_hits("legal", window)
    reported = art.text_of((s, h) for s, h in breach_hits if s not in speaks)
    own_cues = rollback_hits + (art.cue_hits("reverse", window) if giving_up else [])
    own_act = company_acts(cat, art, ci, window, own_cues)
    # Resumption not told of the company as its subject ("its PAC resumed giving, a report
    # says", "data resold through brokers"): found going on by others, like a breach.
    own_resumed = company_acts(cat, art, ci, window, art.cue_hits("reverse", window), maker=True)
    kx = {
        "own_act": float(min(own_act, w.weaken_cap)),
        "unkept": float(unkept),
        "still": float(still),
        "denial": float(bool(denial)),
        "breach": float(min(len(reported), w.breach_cap)),
        "shortfall": float(bool(shortfall)),
        "legal": float(bool(legal)),
        "investigation": float(bool(investigation)),
        "enforcement": float(any(s not in speaks for s, _ in enforcement_hits)),
        "rising": float(bool(rising)),
        "persisting": float(persisting_n),
        "resumed": float(resumed_n),
        "resumed_by_others": float(bool(resumed_n) and not own_resumed),
        "weaken_with_commitment": float(weaken_strong_n),
        "weaken_alone": float(weaken_n - weaken_strong_n),
        "withdraw": float(bool(withdraw)),
        "later_date": float(bool(later)),
        "after_deadline": float(after and (bool(weaken) or unkept)),
        "missed": float(missed),
        "conduct_scoped": float(bool(conduct and scope & window)),
        "promise_cut": float(bool(cuts)),
    }
    if rollback_hits and not own_act:
        kx["other_act"] = float(other_acts(cat, art, ci, window, rollback_hits))
    kx[p.kind_feature] = 1.0
    kind_features = {k: v for k, v in kx.items() if v}
    return Candidate(pi, x, kind_features, kind, tuple(reasons), response, frozenset(window))


def _names_said(cat: Compiled, art: Article, pi: int) -> str:
    """The pledge's own names found in the article, with where the pledge uses them."""
    origin = dict(cat.pledges[pi].names)
    found = sorted(
        {cat.matcher.terms[h.term] for _, h in art.located if pi in cat.terms[h.term].names}
    )
    return ", ".join(f"{n} (from its {origin.get(n, 'text')})" for n in found[:3])


def evidence(
    cat: Compiled, art: Article, pi: int, window: frozenset[int], limit: int
) -> tuple[Evidence, ...]:
    """Up to `limit` sentences of the window, those with the most kinds of match first."""
    p = cat.pledges[pi]
    ci = p.company
    by_sentence: dict[int, list[Span]] = defaultdict(list)
    for si, h in art.located:
        if si not in window:
            continue
        term = cat.terms[h.term]
        role = None
        if term.names_company(ci) or pi in term.names:
            role = "company"
        elif pi in term.subjects:
            role = "subject"
        elif pi in term.scopes:
            role = "scope"
        elif pi in term.words:
            role = "subject"
        else:
            for kind in EVIDENCE_ROLES[3:]:
                cues = term.cues
                if kind == "reverse" and "persist" in cues:
                    cues = {*cues, "reverse"}  # shown like resumption
                if kind in cues and (kind != "reverse" or p.spec.kind.value in GIVING_UP):
                    role = kind
                    break
        if role is None:
            continue
        s0 = art.sentences[si][0]
        by_sentence[si].append(Span(h.start - s0, h.end - s0, art.doc[h.start : h.end], role))

    def weight(si: int) -> tuple[int, int]:
        return (len({s.role for s in by_sentence[si]}), -si)

    best = sorted(by_sentence, key=weight, reverse=True)[:limit]
    out = []
    for si in sorted(best):
        a, b = art.sentences[si]
        spans = tuple(sorted(by_sentence[si], key=lambda s: s.start))
        out.append(Evidence(art.doc[a:b], spans, in_title=art.has_title and si == 0))
    return tuple(out)
