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
    "customer",
    "client",
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
    "fall short",
    "fell short",
    "falls short",
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
    "pulled back",
    "pulls back",
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

# Words just before a cue that negate it ("did not admit", "no evidence of").
NEGATION = frozenset("not no never without nor t".split())

# Campaigners asking a company to act: a call for action is not a report of a breach.
ADVOCACY = (
    "urge",
    "urged",
    "urging",
    "calls on",
    "called on",
    "call on",
    "campaign",
    "campaigners",
    "petition",
    "demand",
    "demanding",
    "press",
    "presses",
    "pressing",
    "push",
    "pushes",
    "pushing",
    "mobilize",
    "mobilise",
    "lobby",
    "asks",
    "asked",
    "appeal",
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
    "recognition": ("recognise", "recognize", "identification", "identify", "scanning", "matching"),
    "emissions": ("emission", "carbon"),
    "plastic": ("plastics",),
    "packaging": ("packs", "bottles"),
    "reduction": ("cut", "reduce"),
    "recycled": ("recycling",),
    "military": ("defense", "defence", "army", "armed forces"),
    "weapons": ("weapon", "arms"),
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
    bias: float = 3.0
    # A finding is flagged at or above this score (0..1).
    threshold: float = 0.5
    evidence_sentences: int = 3


DEFAULT_WEIGHTS = Weights()
