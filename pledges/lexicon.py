"""The detector's shared vocabularies and weights: every word list and number lives here.

Cues describe how news language reports a breach or a rollback in general; nothing here
names a company, product or story. Terms are matched after folding (case, hyphens,
possessives) and accept simple inflections (s, ed, ing, doubling, y->ied), so list
base forms.
"""

from __future__ import annotations

from dataclasses import dataclass

# Reporting that a company acted against a commitment: allegations, findings, admissions.
BREACH = (
    "violate",
    "violation",
    "breach",
    "breaching",
    "broke its promise",
    "broken promise",
    "broke its pledge",
    "broke its vow",
    "broken pledge",
    "contradict",
    "contradiction",
    "in defiance",
    "flout",
    "circumvent",
    "loophole",
    "went back on",
    "go back on",
    "goes back on",
    "back in",
    "despite",
    "in spite of",
    "even though",
    "whistleblower",
    "whistle blower",
    "allege",
    "allegation",
    "allegedly",
    "accuse",
    "accusation",
    "investigation found",
    "investigation finds",
    "an investigation",
    "investigators",
    "documents show",
    "documents obtained",
    "internal documents",
    "emails show",
    "emails obtained",
    "records show",
    "records obtained",
    "records reviewed",
    "documents reviewed",
    "obtained by",
    "according to documents",
    "according to emails",
    "leaked",
    "admit",
    "admission",
    "acknowledged",
    "conceded",
    "continued to sell",
    "continue to sell",
    "kept selling",
    "still selling",
    "secretly",
    "covertly",
    "raise questions",
    "raises questions",
    "calls into question",
    "at odds with",
    "inconsistent with",
    "undermine",
    "does not amount to",
    "self imposed",
    "not legally binding",
    "not a legal obligation",
    "tribunal",
    "lawsuit alleges",
    "complaint alleges",
    "exposed",
    "revealed",
    "reveal",
    "sped up",
    "expand access",
    "expanded access",
    "pressed ahead",
    "went ahead",
    "ignored warnings",
    "had warned",
    "tried to sell",
    "courted",
    "pitched",
    "marketed",
    "not fully adopted",
    "does not apply",
    "exemption",
    "carve out",
    "fail to",
    "failed to",
    "failure to",
    "contrary to",
    "against its own",
    "breaking",
    "broke",
    "in breach of",
    "non compliance",
    "through a third party",
    "via a subsidiary",
    "intermediary",
    "reseller",
    "continues to",
    "continued to",
    "still sells",
    "still selling",
    "still supplies",
    "still supplying",
    "report finds",
    "report found",
    "analysis found",
    "audit found",
    "found that",
)

# Conduct that matters when it touches the pledge's scope (selling, supplying, using).
CONDUCT = (
    "sold",
    "sell",
    "supply",
    "supplied",
    "provide",
    "provided",
    "pitch",
    "market",
    "contract",
    "deal",
    "signed",
    "agreement",
    "use",
    "used",
    "using",
    "deploy",
    "deployed",
    "access",
    "pilot",
    "trial",
    "tested",
    "testing",
    "demo",
    "demos",
    "offer",
    "offered",
    "build",
    "built",
    "partnership",
    "license",
    "licensed",
    "work with",
    "worked with",
    "platform",
    "service",
)

# Weakening a commitment: strongest when a commitment word is in the same sentence.
WEAKEN = (
    "scrap",
    "scale back",
    "scaled back",
    "scaling back",
    "pare back",
    "pared back",
    "pares back",
    "water down",
    "watered down",
    "weaken",
    "dilute",
    "drop",
    "abandon",
    "abandonment",
    "retreat",
    "shelve",
    "ditch",
    "retire",
    "lower",
    "trim",
    "cut back",
    "delay",
    "push back",
    "pushed back",
    "postpone",
    "miss",
    "missed",
    "omit",
    "remove",
    "no longer",
    "rewrite",
    "rewrote",
    "reset",
    "soften",
    "relax",
    "loosen",
    "ease",
    "lift",
    "lifted",
    "let lapse",
    "lapse",
    "withdraw",
    "withdrew",
    "withdrawn",
    "rescind",
    "revoke",
    "roll back",
    "rolled back",
    "rollback",
    "sunset",
    "step back",
    "stepped back",
    "walk back",
    "walked back",
    "backtrack",
    "backpedal",
    "backpedalling",
    "renege",
    "reneged",
    "quietly",
    "replace",
    "replaced",
    "revised",
    "revise",
    "smaller",
    "slow",
    "slowed",
    "less ambitious",
    "greenwashing",
    "backslide",
    "backsliding",
    "wind down",
    "instead of",
    "rather than",
    "overdue",
    "behind schedule",
    "off track",
    "not on track",
    "pull back",
    "hit the brakes",
    "brakes on",
    "move away",
    "moving away",
    "end",
    "ended",
    "ending",
    "kill",
    "killed",
    "u turn",
    "reversal",
    "reverse",
    "reverses course",
    "reverse course",
    "reversed course",
    "grow production",
    "increase production",
    "discontinue",
    "terminate",
    "suspend",
    "phase out",
    "back away",
    "backs away",
    "backed away",
    "back off",
    "give up",
    "gives up",
    "gave up",
    "rethink",
    "reconsider",
    "revise down",
    "revised down",
    "deleted",
    "fails to meet",
    "failed to meet",
    "will not meet",
    "unlikely to meet",
    "not meet",
    "dropped",
    "scrapped",
    "abandoned",
    "put back",
    "puts back",
    "taken out",
    "take out",
    "deletion",
    "delete",
    "strip",
    "stripped",
    "opens the door",
    "open the door",
    "opened the door",
    "drops",
    "pushes back",
    "vanish",
    "vanishes",
    "vanished",
    "disappear",
    "disappeared",
    "quietly removed",
    "removed from its website",
    "scrubbed",
    "sunsetting",
    "walks back",
    "horizon back",
    "pushing back",
    "broke faith",
    "cannot meet",
    "can t meet",
    "won t meet",
    "more time",
    "swap",
    "narrower",
    "take down",
    "taken down",
)

# Undoing an exit, shutdown, ban or pause: the thing given up comes back.
REVERSE = (
    "bring back",
    "brings back",
    "brought back",
    "return",
    "returns",
    "returning",
    "back to",
    "back into",
    "reintroduce",
    "reintroduction",
    "revive",
    "resume",
    "restore",
    "relaunch",
    "reinstate",
    "reenter",
    "re enter",
    "comeback",
    "again",
    "weighs adding",
    "plans to introduce",
    "plan to introduce",
    "reverse",
    "reversal",
    "u turn",
    "years after",
    "after removal",
    "after shutting",
    "after ending",
    "expand",
    "expands",
    "expanded",
    "rollout",
    "roll out",
    "rolls out",
    "test",
    "testing",
    "trial",
)

# The thing given up never stopped (outlets still trading after an exit): for a pledge to
# give something up, a breach rather than a reversal; scored like resumption.
PERSIST = (
    "remain",
    "remains",
    "remained",
    "stayed",
    "still operating",
    "still operates",
    "kept operating",
    "continues operating",
    "continue operating",
    "stay open",
    "stays open",
    "stayed open",
    "still open",
    "still trading",
    "kept trading",
    "keep trading",
    "keeps trading",
    "still serving",
    "keep serving",
    "kept serving",
    "continue trading",
    "continued trading",
)

# Making, extending, strengthening or honouring a commitment: not a flag by itself.
AFFIRM = (
    "unveil",
    "pledge to",
    "pledged to",
    "pledges to",
    "commit to",
    "commits to",
    "committed to",
    "will stop",
    "will not sell",
    "won t sell",
    "will no longer",
    "set a goal",
    "sets a goal",
    "set a target",
    "sets a target",
    "extend",
    "extended",
    "extension",
    "until further notice",
    "indefinitely",
    "make permanent",
    "made permanent",
    "welcome",
    "welcomed",
    "praise",
    "praised",
    "applaud",
    "hail",
    "hailed",
    "first major",
    "on track",
    "reaffirm",
    "reaffirmed",
    "strengthen",
    "strengthened",
    "adds goal",
    "added goal",
    "raises",
    "tighten",
    "tightened",
    "will not",
    "won t",
    "declined to bid",
    "refused",
    "refuse",
    "turned down",
    "prohibit",
    "prohibits",
    "bars",
    "barred",
    "clarifies",
    "clarified",
    "in line with",
    "consistent with",
    "keeps",
    "kept in place",
    "remains in place",
)

# Reporting a company as not living up to its promise: read as a breach, not a rollback.
SHORTFALL = (
    "fall short",
    "fell short",
    "falls short",
    "fail to live up",
    "fails to live up",
    "failed to live up",
    "failing to live up",
    "not living up",
    "not lived up",
    "has not lived up",
    "short of its",
    "short of the",
)

# The commitment reported as still in force: a chief executive saying a plan stands, a
# court leaving a policy in place. Evidence against a flag, weighed by the model.
STANDING = (
    "still stands",
    "plan stands",
    "stands by",
    "stood by",
    "stand by",
    "remains committed",
    "remain committed",
    "remained committed",
    "still committed",
    "fully committed",
    "remains on track",
    "still on track",
    "remains in force",
    "remain in force",
    "stays in force",
    "left in place",
    "leaves in place",
    "leaving in place",
    "left intact",
    "leaves intact",
    "upheld",
    "uphold",
    "upholds",
    "unchanged",
    "no change to",
    "not changing",
    "is not backing away",
    "not retreating",
)

# A company asking a court or regulator to lift or relax an order it is under: coverage
# of the request, not of a breach.
RELIEF = (
    "asked a court",
    "asked the court",
    "asks a court",
    "asks the court",
    "asking a court",
    "asking the court",
    "asked a judge",
    "asks a judge",
    "asked regulators",
    "asks regulators",
    "asked the regulator",
    "asks the regulator",
    "petitioned",
    "seeks to lift",
    "sought to lift",
    "seeking to lift",
    "lift the order",
    "lift an order",
    "lift the injunction",
    "modify the order",
    "end the consent",
    "terminate the consent",
    "appeal",
    "appealed",
)

# Words just before a cue that negate it ("did not admit", "no evidence of").
NEGATION = frozenset("not no never without nor t".split())

# A target's measured quantity going the wrong way (for targets only, near the subject).
RISING = (
    "rise",
    "rose",
    "risen",
    "rising",
    "grew",
    "grown",
    "growing",
    "higher",
    "increase",
    "up by",
    "jump",
    "jumped",
    "soar",
    "soared",
    "climb",
    "climbed",
    "surge",
    "surged",
    "balloon",
    "ballooned",
    "above",
    "doubled",
    "tripled",
)

# Findings reported by researchers, auditors or reporters (weaker than an allegation).
INVESTIGATION = (
    "report says",
    "a report",
    "new report",
    "report shows",
    "findings",
    "researchers",
    "study found",
    "survey found",
    "interviews",
    "analysis shows",
    "data show",
    "figures show",
    "according to a report",
    "according to research",
    "researchers found",
    "campaigners found",
    "watchdog",
    "auditors",
)

# A regulator, court or prosecutor acting on conduct: fines, settlements of charges,
# probes, orders and findings of unlawful conduct. Reports of enforcement are how many
# breaches reach the news, often without any word of the pledge's own.
ENFORCEMENT = (
    "fine",
    "fined",
    "fines",
    "fining",
    "penalty",
    "penalties",
    "penalise",
    "penalised",
    "penalize",
    "penalized",
    "settle charges",
    "settled charges",
    "settles charges",
    "settle claims",
    "settled claims",
    "settlement",
    "agreed to pay",
    "agrees to pay",
    "ordered to pay",
    "liable",
    "probe",
    "probes",
    "probing",
    "investigate",
    "investigates",
    "investigated",
    "investigating",
    "inquiry",
    "charged",
    "consent decree",
    "consent order",
    "banned from",
    "barred from",
    "bars it from",
    "banning it from",
    "illegally",
    "unlawfully",
    "unlawful",
    "illegal",
    "without consent",
    "without their consent",
    "without informed consent",
    "without permission",
    "without a legal basis",
    "wrongly",
    "broke the law",
    "broke federal law",
    "violated federal law",
    "regulator",
    "regulators",
    "enforcement action",
    "jury",
)

# An exit being carried out: selling up, handing over, leaving (for exit pledges).
FULFIL = (
    "sell its",
    "sells its",
    "sold its",
    "to sell",
    "sale of its",
    "agreed to sell",
    "leave the country",
    "leaves the country",
    "left the country",
    "completed its exit",
    "completes its exit",
    "complete its exit",
    "completed the sale",
    "completes the sale",
    "hand over",
    "handed over",
    "hands over",
    "divest",
    "divests",
    "divested",
    "divestment",
    "take control",
    "takes control",
    "took control",
    "seized",
    "seize",
    "seizure",
    "nationalised",
    "nationalized",
    "temporary control",
    "exit",
)

# Leaving or walking away from something: a rollback of most pledges, but for an exit
# pledge it is the pledge being kept.
WITHDRAW = (
    "walked away from",
    "walk away from",
    "walks away from",
    "walking away from",
    "departure from",
    "pulled out of",
    "pull out of",
    "pulls out of",
    "left the",
    "leaves the",
    "quit the",
    "quits the",
    "quits",
    "was leaving",
    "is leaving",
    "exits",
    "exited",
    "withdrew from",
    "withdraws from",
    "withdrawal from",
    "leave the",
    "leaving the",
)

# A promise reported as not kept (unfulfilled, not delivered): for a goal with a date, a
# missed deadline rather than conduct against the promise.
UNKEPT = (
    "unfulfilled",
    "unmet",
    "not delivered",
    "never delivered",
    "not followed through",
    "not follow through",
    "fail to deliver",
    "fails to deliver",
    "failed to deliver",
    "failing to deliver",
    "fail to honour",
    "fails to honour",
    "failed to honour",
    "failing to honour",
    "fail to honor",
    "failed to honor",
    "failing to honor",
    "fail to keep",
    "failed to keep",
    "failing to keep",
    "not kept",
)

# Something still going on after the pledge: conduct carrying on, not a change of policy.
STILL = ("still",)

# Legal action and findings against a company's claims: allegations of a breach.
LEGAL = (
    "sue",
    "sued",
    "suing",
    "lawsuit",
    "class action",
    "complaint",
    "court ruled",
    "court ruling",
    "court found",
    "judge ruled",
    "misleading",
    "misleads",
    "mislead",
    "deceptive",
    "false advertising",
    "false claims",
    "greenwashing",
    "plaintiffs",
    "plaintiff",
    "duping",
    "duped",
)

# Words in a pledge's title that make it a promise not to do something.
PROHIBITION_WORDS = frozenset(
    "no not never without stop stops halt halts pause pauses ban bans refrain refuse".split()
)

# Legal endings and industry words a company's name often sheds in news text.
CORPORATE_SUFFIXES = frozenset(
    "inc incorporated corp corporation co company plc ltd limited llc ag sa nv se "
    "group holdings".split()
)
INDUSTRY_TAILS = frozenset(
    [
        "air lines",
        "airlines",
        "airways",
        "motor company",
        "motor",
        "motors",
        "bancorp",
        "financial",
        "enterprise",
        "enterprises",
        "platforms",
        "brands",
        "industries",
        "technologies",
        "pharmaceuticals",
    ]
)

# Campaigners asking a company to act: a call for action is not a report of a breach.
ADVOCACY = (
    "urge",
    "urged",
    "urging",
    "calls on",
    "called on",
    "call on",
    "petition",
    "demand",
    "demanding",
    "demands",
    "mobilize",
    "mobilise",
    "mobilizing",
    "mobilising",
    "presses",
    "pressing",
)

# Words that refer to a commitment itself.
COMMITMENT = (
    "pledge",
    "promise",
    "commitment",
    "commit",
    "moratorium",
    "vow",
    "vowed",
    "pause",
    "paused",
    "ban",
    "target",
    "goal",
    "ambition",
    "principles",
    "policy",
    "policies",
    "restriction",
    "prohibition",
    "self imposed",
    "exit",
    "halt",
    "halted",
    "freeze",
    "walk away",
    "walked away",
    "walking away",
    "stopped",
    "quit",
    "shut down",
    "shutdown",
    "switched off",
    "terms",
    "rules",
    "guidelines",
    "plan",
    "strategy",
    "aim",
    "roadmap",
)

# The company's answer to an allegation (noted in reasons, never a reason to drop a flag).
DENIAL = (
    "deny",
    "denial",
    "reject",
    "rejected",
    "dispute",
    "disputed",
    "refute",
    "declined to comment",
    "did not respond",
    "no comment",
    "said it did not",
    "does not break",
    "doesn t break",
    "is false",
    "not used for",
)

# Words too common to tie a subject by themselves when matching subject phrases loosely.
STOPWORDS = frozenset(
    "a an and as at by for from in into its of on or the to with per than over under "
    "use uses using based general purpose new all any other".split()
)

# Token equivalences used when subject phrases are matched loosely (general English).
EQUIVALENT = {
    "facial": ("face", "faces"),
    "face": ("facial",),
    "production": ("output",),
    "output": ("production",),
    "recognition": ("recognise", "identification", "identify", "scanning", "matching"),
    "emissions": ("carbon",),
    "packaging": ("packs", "bottles"),
    "reduction": ("cut", "reduce"),
    "recycled": ("recycling",),
    "military": ("defense", "army", "armed forces"),
    "weapons": ("arms",),
}


@dataclass(frozen=True)
class Weights:
    """Every weight and threshold of the detector."""

    # Sentences on either side that still count as "near".
    window: int = 1
    tie_sentence: float = 1.0
    tie_window: float = 0.6
    tie_article: float = 0.3
    # A subject phrase matched word by word (not as a phrase) counts this much of a hit.
    loose_subject: float = 0.7
    # Tied only by words of the pledge's own title and statement: weaker than its subject.
    own_words_only: float = -0.6
    title_company: float = 0.3
    title_subject: float = 0.4
    scope_near: float = 0.5
    scope_far: float = 0.2
    scope_missing: float = -0.2
    commitment_near: float = 0.5
    breach: float = 0.9
    breach_cap: int = 2
    conduct_scoped: float = 0.6
    weaken_with_commitment: float = 1.0
    weaken_alone: float = 0.4
    weaken_cap: int = 3
    reverse: float = 0.9
    reverse_cap: int = 2
    cue_in_title: float = 0.6
    headline_pattern: float = 0.6
    affirm_each: float = -0.45
    affirm_cap: int = 3
    affirm_only: float = -0.8
    # Coverage published this close to the pledge (days) is about it being made.
    early_days: int = 3
    early: float = -4.0
    # Coverage of a catalogued history event within this many days.
    event_days: int = 4
    event_affirm: float = -1.5
    event_weaken: float = 1.0
    denial: float = 0.3
    advocacy: float = -0.6
    fulfil: float = -1.2
    rising: float = 0.8
    investigation: float = 0.6
    # Reported as falling short of the pledge: as good as breach language.
    shortfall: float = 0.9
    # The pledge reported as still standing (a plan that "still stands", a policy a court
    # leaves in force), a request to a court or regulator to lift an order, and a new
    # later date reported with no other weakening: evidence against a flag. Starting
    # points the fitted model moves where labelled data shows them.
    standing: float = -0.8
    relief: float = -0.8
    later_date_only: float = -0.6
    # A deadline brought forward, and rollback words that are the pledge's own verbs
    # ("to remove", "phase out"): the pledge made or strengthened, not undone.
    earlier_date: float = -1.5
    own_verb: float = -0.6
    # Named only in a list with other catalogued companies, not in the headline.
    company_listed: float = -0.6
    # Another pledge of the same company tied more closely in the article: its story.
    sibling_closer: float = -1.0
    bias: float = 2.8
    # A finding is flagged at or above this score (0..1).
    threshold: float = 0.5
    evidence_sentences: int = 3


DEFAULT_WEIGHTS = Weights()
