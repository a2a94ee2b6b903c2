"""The detector's shared vocabularies and weights: every word list and number lives here.

Cues describe how news language reports a breach or a rollback in general; nothing here
names a company, product or story. Terms are matched after folding (case, hyphens,
possessives) and accept simple inflections (s, ed, ing, doubling, y->ied), so list
base forms.
"""

from __future__ import annotations

from dataclasses import dataclass

# Acting against a commitment: allegations, findings, admissions, contradiction.
BREACH_STRONG = (
    "violate", "violation", "breach", "breaching", "broke its promise", "broken promise",
    "broke its pledge", "broke its vow", "contradict", "contradiction", "in defiance",
    "flout", "circumvent", "loophole", "went back on", "go back on", "goes back on",
    "back in", "despite", "in spite of", "even though", "whistleblower", "whistle blower",
    "allege", "allegation", "allegedly", "accuse", "accusation", "investigation found",
    "investigation", "investigators", "documents show", "documents obtained",
    "internal documents", "emails show", "emails obtained", "records show",
    "records obtained", "records reviewed", "documents reviewed", "obtained by",
    "according to documents", "according to emails", "leaked", "leak", "admit",
    "admission", "acknowledged", "conceded", "continued to sell", "continue to sell",
    "kept selling", "still sell", "secretly", "covertly", "undisclosed", "despite its",
    "raise questions", "raises questions", "calls into question", "at odds with",
    "inconsistent with", "undermine", "does not amount to", "self imposed",
    "not legally binding", "not a legal obligation", "tribunal", "lawsuit claims",
    "complaint alleges", "exposed", "revealed", "reveal", "sped up", "expand access",
    "expanded access", "pressed ahead", "went ahead", "ignored warnings", "warned",
)

# Conduct that matters when it touches the pledge's scope (selling, supplying, using).
CONDUCT = (
    "sold", "sell", "supply", "supplied", "provide", "provided", "pitch", "pitched",
    "market", "marketed", "court", "courted", "contract", "deal", "signed", "agreement",
    "use", "used", "using", "deploy", "deployed", "access", "pilot", "trial", "tested",
    "demo", "demos", "offer", "offered", "build", "built", "customer", "client",
    "partnership", "partner", "license", "licensed", "work with", "worked with",
)

# Withdrawing, weakening, delaying or letting a commitment lapse; or reversing an exit.
ROLLBACK = (
    "scrap", "scale back", "scaled back", "scaling back", "pare back", "pared back",
    "pares back", "water down", "watered down", "weaken", "dilute", "drop", "abandon",
    "abandonment", "retreat", "reverse", "reversal", "reverses course", "shelve", "ditch",
    "retire", "lower", "trim", "cut back", "delay", "push back", "pushed back",
    "postpone", "miss", "missed", "fall short", "fell short", "falls short", "omit",
    "remove", "no longer", "rewrite", "rewrote", "reset", "u turn", "backtrack",
    "backpedal", "backpedalling", "soften", "relax", "lift", "lifted", "let lapse",
    "lapse", "withdraw", "withdrew", "withdrawn", "rescind", "revoke", "roll back",
    "rolled back", "rollback", "sunset", "step back", "stepped back", "walk back",
    "walked back", "bring back", "brings back", "brought back", "return", "returns",
    "reintroduce", "reintroduction", "revive", "resume", "restore", "relaunch",
    "reinstate", "quietly", "replace", "replaced", "revised", "revise", "updated",
    "new goals", "new targets", "smaller", "slow", "slowed", "less ambitious",
    "greenwashing", "backslide", "backsliding", "renege", "reneged", "wind down",
    "instead of", "rather than", "was due", "overdue", "behind schedule", "off track",
    "not on track", "shrink", "pulled back", "pulls back", "retreats", "move away",
    "moving away", "reverse course", "reversed course", "end", "ended", "ending",
)

# Making, extending, strengthening or praising a commitment: not a flag by itself.
AFFIRM = (
    "announce", "announced", "unveil", "pledge to", "pledged to", "pledges to",
    "commit to", "commits to", "committed to", "will stop", "will not sell",
    "won t sell", "will no longer", "set a goal", "sets a goal", "set a target",
    "sets a target", "aims to", "plans to", "extend", "extended", "extension",
    "until further notice", "indefinitely", "make permanent", "made permanent",
    "welcome", "welcomed", "praise", "praised", "applaud", "hail", "hailed", "first major",
    "on track", "reaffirm", "reaffirmed", "strengthen", "strengthened", "expand its",
    "adds goal", "added goal", "new goal", "raises", "tighten", "tightened",
)

# Words that refer to a commitment itself.
COMMITMENT = (
    "pledge", "promise", "commitment", "commit", "moratorium", "vow", "vowed", "pause",
    "paused", "ban", "target", "goal", "ambition", "principles", "policy", "policies",
    "restriction", "prohibition", "self imposed", "exit", "halt", "halted", "freeze",
    "walk away", "walked away", "walking away", "stopped", "stop", "quit", "shut down",
    "shutdown", "switched off", "terms", "rules", "guidelines",
)

# The company's answer to an allegation (noted in reasons, never a reason to drop a flag).
DENIAL = (
    "deny", "denial", "reject", "rejected", "dispute", "disputed", "refute",
    "declined to comment", "did not respond", "no comment", "said it did not",
    "not used for", "does not break", "doesn t break", "is false", "false",
)


@dataclass(frozen=True)
class Weights:
    """Every weight and threshold of the detector."""

    # Sentences on either side that still count as "near".
    window: int = 1
    tie_sentence: float = 1.0
    tie_window: float = 0.6
    tie_article: float = 0.25
    title_company: float = 0.3
    title_subject: float = 0.3
    scope_near: float = 0.5
    scope_far: float = 0.2
    commitment_near: float = 0.6
    breach_strong: float = 1.0
    breach_cap: int = 2
    conduct_scoped: float = 0.6
    rollback: float = 0.8
    rollback_cap: int = 3
    cue_in_title: float = 0.5
    affirm_only: float = -1.2
    affirm_each: float = -0.3
    early_days: int = 7
    early: float = -1.0
    denial: float = 0.2
    bias: float = 3.0
    # A finding is flagged at or above this score (0..1).
    threshold: float = 0.5
    evidence_sentences: int = 3


DEFAULT_WEIGHTS = Weights()
