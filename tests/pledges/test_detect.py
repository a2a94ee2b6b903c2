"""Detection earns its flags: tied to a pledge, explained, and quiet on near misses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pledges.detect import Detector
from pledges.lexicon import DEFAULT_WEIGHTS
from pledges.models import PledgeIn
from tests.steps import steps


def pledge(**over: object) -> PledgeIn:
    data: dict[str, object] = {
        "id": "amazon-rekognition-police-moratorium",
        "company": {
            "name": "Amazon",
            "aliases": ["AWS", "Amazon Web Services"],
            "products": ["Rekognition"],
        },
        "title": "Moratorium on police use of Rekognition facial recognition",
        "kind": "moratorium",
        "statement": "Amazon paused police use of Rekognition, its facial recognition service.",
        "made_on": "2020-06-10",
        "status": "active",
        "subject": ["facial recognition", "face recognition"],
        "scope": ["police", "law enforcement"],
        "sources": ["https://example.org/a"],
        "history": [{"date": "2021-05-18", "event": "moratorium extended until further notice"}],
    }
    data.update(over)
    return PledgeIn.model_validate(data)


CLIMATE = pledge(
    id="amazon-climate-pledge",
    title="Net zero carbon by 2040",
    kind="target",
    statement="Amazon committed to net zero carbon emissions across its business by 2040.",
    made_on="2019-09-19",
    subject=["net zero", "carbon emissions"],
    scope=["operations"],
    history=[],
)
BP = pledge(
    id="bp-output-cut",
    company={"name": "BP", "aliases": ["BP plc"]},
    title="Cut oil and gas production 40% by 2030",
    kind="target",
    statement="BP said it would reduce its oil and gas production by 40% by 2030.",
    made_on="2020-08-04",
    subject=["oil and gas production"],
    scope=[],
    history=[],
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector.compile([pledge(), CLIMATE, BP])


def day(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


FOUNDING = (
    "Ex-AWS employee alleges UK police used Amazon facial recognition despite its pause",
    "A former Amazon Web Services employee told a London employment tribunal that Amazon let "
    "British police forces use its facial recognition technology despite the 2020 moratorium. "
    "Amazon denied the claims about a Russian company. In a filing it said a self-imposed "
    "moratorium does not amount to a legal obligation.",
)


def test_the_founding_case_is_flagged_as_a_breach_with_evidence(detector: Detector) -> None:
    [f] = detector.scan(*FOUNDING, day("2024-06-06"))
    assert f.pledge_id == "amazon-rekognition-police-moratorium"
    assert f.kind == "breach"
    assert 0.5 <= f.score <= 1
    assert any("breach language" in r for r in f.reasons)
    assert f.response == "denied"
    sentences = [e.sentence for e in f.evidence]
    assert any("tribunal" in s for s in sentences)
    for ev in f.evidence:
        for span in ev.spans:
            assert ev.sentence[span.start : span.end] == span.text
    roles = {s.role for ev in f.evidence for s in ev.spans}
    assert {"company", "subject", "scope", "breach"} <= roles


def test_a_product_name_stands_for_the_company(detector: Detector) -> None:
    title = "Records show sheriff kept running Rekognition face matches despite the pause"
    text = "Records obtained by the ACLU show a sheriff's office used Rekognition in 2023."
    [f] = detector.scan(title, text, day("2023-09-01"))
    assert f.pledge_id == "amazon-rekognition-police-moratorium"


def test_the_same_company_on_another_topic_is_not_flagged(detector: Detector) -> None:
    title = "FTC alleges Amazon broke antitrust law"
    text = "Regulators allege Amazon violated competition law despite earlier warnings."
    assert detector.scan(title, text, day("2023-09-26")) == []


def test_the_same_topic_at_another_company_is_not_flagged(detector: Detector) -> None:
    title = "Clearview AI fined for facial recognition database used by police"
    text = "A regulator said Clearview violated privacy law with its face recognition tool."
    assert detector.scan(title, text, day("2024-09-03")) == []


def test_coverage_of_the_pledge_being_made_is_not_flagged(detector: Detector) -> None:
    title = "Amazon pauses police use of its facial recognition for a year"
    text = (
        "Amazon said police will not be allowed to use Rekognition, its facial recognition "
        "service, for twelve months. Campaigners welcomed the move."
    )
    assert detector.scan(title, text, day("2020-06-10")) == []


def test_an_extension_recorded_in_history_is_not_flagged(detector: Detector) -> None:
    title = "Amazon extends its police ban on facial recognition until further notice"
    text = "The pause on police use of Rekognition, due to lapse in June, was extended."
    assert detector.scan(title, text, day("2021-05-18")) == []


def test_a_breach_reported_beside_a_recorded_extension_is_still_flagged(
    detector: Detector,
) -> None:
    title = "Amazon extends its police ban on facial recognition as records show police broke it"
    text = (
        "The pause on police use of Rekognition was extended until further notice. Records "
        "obtained by the ACLU show a sheriff's office ran Rekognition matches in violation "
        "of the moratorium."
    )
    [f] = detector.scan(title, text, day("2021-05-18"))
    assert f.kind == "breach"
    assert "coincides with a recorded extension or reaffirmation" in f.reasons


def test_events_before_the_pledge_are_not_breaches(detector: Detector) -> None:
    title = "Emails show Oregon police running Amazon facial recognition matches"
    text = "Records obtained by the ACLU show deputies used Rekognition despite objections."
    assert detector.scan(title, text, day("2018-05-22")) == []
    assert detector.scan(title, text, None) != []


def test_a_weakened_target_is_a_rollback(detector: Detector) -> None:
    title = "BP scales back its plan to cut oil and gas output"
    text = (
        "BP now aims to reduce oil and gas production by 25% by 2030 instead of 40%, "
        "watering down its climate goal."
    )
    [f] = detector.scan(title, text, day("2023-02-07"))
    assert f.pledge_id == "bp-output-cut" and f.kind == "rollback"
    assert any("rollback language" in r for r in f.reasons)


def test_the_word_pledge_in_another_sense_is_not_flagged(detector: Detector) -> None:
    title = "Amazon founder's former wife signs the Giving Pledge"
    text = "She pledged to give away most of her wealth to charity."
    assert detector.scan(title, text, day("2019-05-28")) == []


def test_negated_cues_do_not_count(detector: Detector) -> None:
    title = "Amazon facial recognition report finds no police use"
    text = "Auditors did not allege any breach and found no violation by Amazon's police clients."
    [c] = detector.candidates(title, text, day("2023-01-01"))
    assert c.features["no_signal"] == 1.0
    assert not {"breach", "legal", "investigation", "enforcement"} & set(c.features)
    assert not any("breach language" in r for r in c.reasons)
    # Only the words reading of a fitted model can still flag it ("found", "report"); the
    # hand weights, which read cues only, never do.
    hand = Detector.compile([pledge(), CLIMATE, BP], weights=DEFAULT_WEIGHTS)
    assert hand.scan(title, text, day("2023-01-01")) == []


@pytest.mark.parametrize("text", ["", " ", "<p></p>", "ä" * 1000])
def test_empty_or_odd_text_gives_nothing(detector: Detector, text: str) -> None:
    assert detector.scan("", text, None) == []


def test_html_remnants_and_other_scripts_do_not_break_a_scan(detector: Detector) -> None:
    text = "<p>&nbsp;亚马逊</p> " + FOUNDING[1].replace(". ", ".<br/> ")
    findings = detector.scan(FOUNDING[0], text, day("2024-06-06"))
    assert [f.pledge_id for f in findings] == ["amazon-rekognition-police-moratorium"]


def test_a_huge_article_is_scanned_in_bounded_linear_time(detector: Detector) -> None:
    chunk = FOUNDING[1] + " "
    small = steps(lambda: detector.scan(FOUNDING[0], chunk * 20, day("2024-06-06")))
    big = steps(lambda: detector.scan(FOUNDING[0], chunk * 200, day("2024-06-06")))
    assert big < small * 10 * 2  # 10x the text: linear, nowhere near quadratic (100x)
    [f] = detector.scan(FOUNDING[0], chunk * 2000, day("2024-06-06"))  # ~0.9 MB
    assert len(f.evidence) <= 3
    detector.scan(FOUNDING[0], chunk * 12_000, day("2024-06-06"))  # 5 MB: capped, no crash


def test_thousands_of_pledges_sharing_a_company_still_explain_findings() -> None:
    many = [pledge()] + [
        pledge(
            id=f"amazon-other-{i}",
            title=f"Other promise {i}",
            statement=f"Amazon promised thing number {i}.",
            subject=[f"widget line {i}"],
            scope=[],
            history=[],
        )
        for i in range(3000)
    ]
    det = Detector.compile(many)
    findings = det.scan(*FOUNDING, day("2024-06-06"))
    assert [f.pledge_id for f in findings] == ["amazon-rekognition-police-moratorium"]
    assert findings[0].evidence


def test_results_do_not_depend_on_unrelated_pledges(detector: Detector) -> None:
    others = [
        pledge(
            id=f"firm{i}-promise",
            company={"name": f"Firm {i}"},
            title="x",
            statement="y",
            subject=["facial recognition"],
            history=[],
        )
        for i in range(500)
    ]
    big = Detector.compile([pledge(), CLIMATE, BP, *others])
    assert big.scan(*FOUNDING, day("2024-06-06")) == detector.scan(*FOUNDING, day("2024-06-06"))


def test_dates_may_be_plain_dates(detector: Detector) -> None:
    assert detector.scan(*FOUNDING, date(2024, 6, 6))


RUSSIA_EXIT = pledge(
    id="burgerco-russia-exit",
    company={"name": "BurgerCo", "aliases": []},
    title="Close every restaurant in Russia",
    kind="exit",
    statement="BurgerCo said it would close its restaurants in Russia and leave the market.",
    made_on="2022-03-08",
    subject=["restaurants in Russia", "Russian restaurants"],
    scope=[],
    history=[],
)


@pytest.mark.parametrize(
    ("title", "text", "kind", "reason"),
    [
        (
            "BurgerCo restaurants in Russia still open weeks after exit pledge",
            "Dozens of BurgerCo restaurants in Russia are still open and serving customers, "
            "despite the company's promise to close them.",
            "breach",
            "still going on despite the pledge",
        ),
        (
            "BurgerCo reopens restaurants in Russia despite exit pledge",
            "BurgerCo has resumed trading in Russia and reopened its restaurants there, "
            "reversing the promise it made to leave the country.",
            "rollback",
            "resumption language",
        ),
    ],
)
def test_after_an_exit_carrying_on_is_a_breach_and_coming_back_a_rollback(
    title: str, text: str, kind: str, reason: str
) -> None:
    [f] = Detector.compile([RUSSIA_EXIT]).scan(title, text, day("2022-05-01"))
    assert (f.pledge_id, f.kind) == ("burgerco-russia-exit", kind)
    assert any(r.startswith(reason) for r in f.reasons), f.reasons


def test_a_deadline_brought_forward_counts_against_a_flag(detector: Detector) -> None:
    text = (
        "BP drops its 2030 date for cutting oil and gas production",
        "BP brought forward its plan to reduce oil and gas production, moving the 40% cut "
        "from 2030 to 2027.",
    )
    [c] = detector.candidates(*text, day("2021-03-01"))
    assert c.features["earlier_date"] == 1.0
    assert detector.model.weights["earlier_date"] < 0


def test_rollback_words_the_pledge_itself_uses_read_as_the_pledge_restated() -> None:
    colours = pledge(
        id="mars-colours",
        company={"name": "Mars", "aliases": ["Mars Incorporated"]},
        title="Remove artificial colours from food",
        kind="target",
        statement="Mars will remove artificial colours from its human food products.",
        made_on="2016-02-05",
        subject=["artificial colours"],
        scope=[],
        history=[],
    )
    text = (
        "Mars to remove artificial colours over five years",
        "Mars said it would remove artificial colours from all its food.",
    )
    [c] = Detector.compile([colours]).candidates(*text, day("2016-03-01"))
    assert c.features["own_verb"] == 1.0


def test_a_company_named_among_others_in_a_report_is_marked_as_listed() -> None:
    shein = pledge(
        id="shein-forced-labour",
        company={"name": "Shein"},
        title="Zero tolerance for forced labour",
        kind="policy",
        statement="Shein has zero tolerance for forced labour in its supply chain.",
        made_on="2021-01-01",
        subject=["forced labour"],
        scope=[],
        history=[],
    )
    nike = pledge(
        id="nike-forced-labour",
        company={"name": "Nike"},
        title="No forced labour in sourcing",
        kind="policy",
        statement="Nike does not tolerate forced labour.",
        made_on="2021-01-01",
        subject=["forced labour"],
        scope=[],
        history=[],
    )
    text = (
        "Lawmakers warn of forced labour violations in online retail",
        "A congressional report found likely forced labour violations, based on answers from "
        "Shein and Nike to an inquiry.",
    )
    found = Detector.compile([shein, nike]).candidates(*text, day("2023-06-01"))
    assert {c.features.get("company_listed") for c in found} == {1.0}


def test_a_headline_announcing_a_plan_is_marked_for_the_model(detector: Detector) -> None:
    text = (
        "BP to drop its oil and gas production in half by 2030",
        "BP said it would drop oil and gas production much faster than before.",
    )
    [c] = detector.candidates(*text, day("2021-03-01"))
    assert c.features["plan_headline"] == 1.0


def test_a_companys_pledge_tied_less_closely_than_its_other_pledge_is_marked(
    detector: Detector,
) -> None:
    text = (
        "Amazon scraps police ban on facial recognition",
        "Amazon dropped its moratorium on police use of facial recognition. Critics were "
        "alarmed. A net zero goal was also dropped, analysts said.",
    )
    found = {detector.pledge_id(c.pledge): c for c in detector.candidates(*text, day("2022-06-01"))}
    moratorium = found["amazon-rekognition-police-moratorium"]
    assert "sibling_closer" not in moratorium.features
    assert found["amazon-climate-pledge"].features["sibling_closer"] == 1.0


WAGES = pledge(
    id="clothco-living-wage",
    company={"name": "ClothCo", "aliases": []},
    title="Fair living wage for garment workers by 2018",
    kind="target",
    statement="ClothCo promised that its strategic suppliers would pay a fair living wage by 2018.",
    made_on="2013-11-25",
    subject=["living wage"],
    scope=[],
    history=[],
)


COAL = pledge(
    id="fund-coal-exit",
    company={"name": "Fundhouse", "aliases": ["Fundhouse Inc."]},
    title="Divest thermal coal producers",
    kind="policy",
    statement="Fundhouse will sell holdings in thermal coal producers from active portfolios.",
    made_on="2020-01-14",
    subject=["thermal coal", "coal producers"],
    scope=[],
    history=[],
)


def test_a_promise_reported_as_unfulfilled_reads_as_a_missed_goal() -> None:
    title = "ClothCo living wage promise left unfulfilled, campaigners say"
    text = (
        "Campaigners say ClothCo has failed to deliver the living wage it promised garment "
        "workers, and its roadmap was taken down from its website."
    )
    [c] = Detector.compile([WAGES]).candidates(title, text, day("2019-02-01"))
    assert c.kind_features["unkept"] == 1.0
    [f] = Detector.compile([WAGES]).scan(title, text, day("2019-02-01"))
    assert f.kind == "rollback"


def test_conduct_still_going_on_reads_as_a_breach() -> None:
    title = "BurgerCo restaurants in Russia still serving burgers"
    text = (
        "Several BurgerCo restaurants in Russia were still serving customers this week, "
        "according to reports, after the company said service would be suspended."
    )
    [c] = Detector.compile([RUSSIA_EXIT]).candidates(title, text, day("2022-03-15"))
    assert c.kind_features["still"] == 1.0
    [f] = Detector.compile([RUSSIA_EXIT]).scan(title, text, day("2022-03-15"))
    assert f.kind == "breach"


def test_a_company_denying_the_claims_marks_an_allegation(detector: Detector) -> None:
    title = "Amazon rejects claims police use Rekognition facial recognition"
    text = (
        "Campaigners say police still ran Amazon facial recognition searches. Amazon "
        "rejected the claims and said the restriction on police use was relaxed only on paper."
    )
    [c] = detector.candidates(title, text, day("2023-09-01"))
    assert c.kind_features["denial"] == 1.0
    assert detector.model.meta["kind"]["weights"]["denial"] < 0


def test_saying_a_deadline_cannot_be_met_is_a_rollback() -> None:
    title = "ClothCo says it cannot meet its living wage deadline"
    text = "ClothCo said it needs more time to bring a living wage to its suppliers' workers."
    [f] = Detector.compile([WAGES]).scan(title, text, day("2018-07-01"))
    assert f.kind == "rollback"


def test_leaving_an_alliance_is_a_rollback() -> None:
    alliance = pledge(
        id="bankco-net-zero-alliance",
        company={"name": "BankCo", "aliases": []},
        title="Member of the Net Zero Banking Alliance",
        kind="policy",
        statement="BankCo joined the Net Zero Banking Alliance and its 2050 net zero goal.",
        made_on="2021-04-21",
        subject=["Net Zero Banking Alliance", "net zero"],
        scope=[],
        history=[],
    )
    title = "BankCo leaving the Net Zero Banking Alliance"
    text = "BankCo said on Tuesday it was leaving the Net Zero Banking Alliance."
    [c] = Detector.compile([alliance]).candidates(title, text, day("2025-01-07"))
    assert c.kind_features["withdraw"] == 1.0
    [f] = Detector.compile([alliance]).scan(title, text, day("2025-01-07"))
    assert f.kind == "rollback"


def test_breach_words_in_the_company_own_statement_are_not_an_allegation() -> None:
    alliance = pledge(
        id="fundco-net-zero-managers",
        company={"name": "FundCo", "aliases": []},
        title="Member of the Net Zero Asset Managers initiative",
        kind="policy",
        statement="FundCo joined the Net Zero Asset Managers initiative.",
        made_on="2021-03-29",
        subject=["Net Zero Asset Managers"],
        scope=[],
        history=[],
    )
    said = "FundCo said membership of Net Zero Asset Managers exposed it to legal inquiries."
    reported = "Net Zero Asset Managers membership exposed FundCo to legal inquiries."
    detector = Detector.compile([alliance])
    [own] = detector.candidates("FundCo to leave the Net Zero Asset Managers", said, None)
    [other] = detector.candidates("FundCo to leave the Net Zero Asset Managers", reported, None)
    assert "breach" not in own.kind_features
    assert other.kind_features["breach"] == 1.0


def test_a_word_the_subject_phrases_share_ties_a_report_using_other_words() -> None:
    text = (
        "Fundhouse accused of greenwashing over coal stakes",
        "Campaigners say Fundhouse still holds billions in coal companies.",
    )
    [c] = Detector.compile([COAL]).candidates(*text, day("2021-01-13"))
    assert c.features["core_word_only"] == 1.0
    assert any("coal" in r for r in c.reasons)


def test_a_report_naming_a_subject_phrase_is_not_marked_as_tied_by_a_shared_word() -> None:
    text = (
        "Fundhouse accused of greenwashing over thermal coal",
        "Campaigners say Fundhouse still holds billions in thermal coal.",
    )
    [c] = Detector.compile([COAL]).candidates(*text, day("2021-01-13"))
    assert "core_word_only" not in c.features


def test_a_shared_word_does_not_tie_a_report_on_another_companys_topic() -> None:
    text = (
        "Miners accused of breaking promises on coal",
        "Campaigners say miners still dig coal despite their pledges.",
    )
    assert Detector.compile([COAL]).candidates(*text, day("2021-01-13")) == []


def test_a_signal_away_from_the_tie_counts_when_the_headline_names_the_company(
    detector: Detector,
) -> None:
    text = (
        "Amazon ponders facial recognition for its doorbells",
        "Amazon is weighing facial recognition for its cameras. Engineers met last week. "
        "Staff asked for more time. Amazon critics said it broke its promise on privacy.",
    )
    [c] = detector.candidates(*text, day("2024-06-01"))
    assert c.features["wide_window"] == 1.0
    assert "tie_sentence" in c.features


def test_a_signal_near_the_tie_is_not_marked_as_found_away_from_it(detector: Detector) -> None:
    text = (
        "Amazon ponders facial recognition for its doorbells",
        "Amazon broke its promise on facial recognition, critics said.",
    )
    [c] = detector.candidates(*text, day("2024-06-01"))
    assert "wide_window" not in c.features


def test_a_signal_away_from_the_tie_does_not_count_without_the_company_in_the_headline(
    detector: Detector,
) -> None:
    text = (
        "Doorbell cameras spread",
        "Amazon is weighing facial recognition for its cameras. Engineers met last week. "
        "Staff asked for more time. Amazon critics said it broke its promise on privacy.",
    )
    [c] = detector.candidates(*text, day("2024-06-01"))
    assert "breach" not in c.features and c.features["no_signal"] == 1.0


def test_a_company_quitting_a_pledged_membership_is_a_rollback_signal() -> None:
    alliance = pledge(
        id="bank-alliance",
        company={"name": "Megabank"},
        title="Net-Zero Banking Alliance membership",
        kind="policy",
        statement="Megabank joined the Net-Zero Banking Alliance.",
        made_on="2021-10-08",
        subject=["Net-Zero Banking Alliance"],
        scope=[],
        history=[],
    )
    text = ("Megabank quits Net-Zero Banking Alliance", "The bank gave no reason.")
    [c] = Detector.compile([alliance]).candidates(*text, day("2025-01-07"))
    assert "quits" in " ".join(c.reasons)


LOCATION = pledge(
    id="carrier-location-data",
    company={"name": "Carrierco", "aliases": []},
    title="Stop selling customer location data to aggregators",
    kind="exit",
    statement="Carrierco said it would end its location data sharing with aggregators.",
    made_on="2018-06-19",
    subject=["location data"],
    scope=["aggregators"],
    history=[],
)


def test_a_regulator_fining_the_company_is_a_breach_signal_in_its_own_words() -> None:
    found = Detector.compile([LOCATION]).candidates(
        "Regulator fines Carrierco $57 million over location data",
        "The commission said the carrier kept passing customers' location data to third "
        "parties without their consent.",
        day("2024-04-29"),
    )
    assert len(found) == 1
    c = found[0]
    assert c.features["enforcement"] == 1.0
    assert c.kind == "breach"
    assert any(r.startswith("enforcement reported: ") and "fines" in r for r in c.reasons)


def test_enforcement_words_the_company_says_itself_do_not_tell_the_kind() -> None:
    (c,) = Detector.compile([LOCATION]).candidates(
        "Carrierco fined over location data",
        "Carrierco said the penalty concerned location data sales it ended years ago.",
        day("2024-04-29"),
    )
    assert "enforcement" in c.features
    # The company's own account of the penalty is not an allegation for the kind model.
    assert "enforcement" in c.kind_features  # the headline is not the company speaking
    (quiet,) = Detector.compile([LOCATION]).candidates(
        "Carrierco on its location data",
        "Carrierco said a regulator had looked at location data sales it ended years ago.",
        day("2024-04-29"),
    )
    assert "enforcement" not in quiet.kind_features


def test_a_topical_story_without_any_signal_is_only_a_tie_the_hand_weights_never_flag() -> None:
    story = (
        "Carrierco explains how location data powers its maps",
        "Carrierco said location data helps it plan the network.",
    )
    [c] = Detector.compile([LOCATION]).candidates(*story, day("2024-04-29"))
    assert c.features["no_signal"] == 1.0 and "enforcement" not in c.features
    assert "no breach or rollback word near the tie" in c.reasons
    hand = Detector.compile([LOCATION], weights=DEFAULT_WEIGHTS)
    assert hand.scan(*story, day("2024-04-29")) == []


def test_giving_up_the_pledges_subject_reads_as_the_pledge_described(detector: Detector) -> None:
    title = "Amazon suspends sales of facial recognition to police"
    text = "Amazon will suspend sales of its facial recognition software to police for a year."
    [c] = detector.candidates(title, text, day("2020-06-12"))
    assert c.features["cue_on_subject"] == 1.0


def test_giving_up_the_promise_itself_is_not_read_as_the_pledge_described(
    detector: Detector,
) -> None:
    title = "Amazon ends its moratorium on police use of facial recognition"
    text = "Amazon ended its moratorium on facial recognition sales to police on Monday."
    [c] = detector.candidates(title, text, day("2023-06-12"))
    assert "cue_on_subject" not in c.features


def test_leaving_what_a_membership_pledge_names_is_not_read_as_the_pledge_described() -> None:
    alliance = pledge(
        id="bankco-net-zero-alliance",
        company={"name": "BankCo", "aliases": []},
        title="Member of the Net Zero Banking Alliance",
        kind="policy",
        statement="BankCo joined the Net Zero Banking Alliance and its 2050 net zero goal.",
        made_on="2021-04-21",
        subject=["Net Zero Banking Alliance", "net zero"],
        scope=[],
        history=[],
    )
    title = "BankCo leaving the Net Zero Banking Alliance"
    text = "BankCo said on Tuesday it was leaving the Net Zero Banking Alliance."
    [c] = Detector.compile([alliance]).candidates(title, text, day("2025-01-07"))
    assert "cue_on_subject" not in c.features


ATT = pledge(
    id="att-pac-suspension",
    company={"name": "AT&T"},
    title="Suspend PAC donations to election objectors",
    kind="moratorium",
    statement="AT&T suspended its PAC's donations to lawmakers who objected to certification.",
    made_on="2021-01-08",
    subject=["election objectors", "sedition caucus"],
    scope=[],
    history=[],
)


def test_a_company_name_folding_to_a_t_is_no_negation() -> None:
    # "AT&T" folds to "at t", which must not read like the "t" of a folded "don't".
    text = ("Report: AT&T broke its promise to shun the sedition caucus", "")
    [c] = Detector.compile([ATT]).candidates(*text, day("2022-05-18"))
    assert c.kind_features["breach"] >= 1.0


def test_a_contraction_still_negates_a_cue() -> None:
    text = ("AT&T resumed giving but didn't break its vow to shun the sedition caucus", "")
    [c] = Detector.compile([ATT]).candidates(*text, day("2022-05-18"))
    assert "breach" not in c.kind_features


def test_a_company_resuming_what_it_paused_is_its_own_act() -> None:
    text = ("AT&T resumes donations to election objectors", "")
    [c] = Detector.compile([ATT]).candidates(*text, day("2022-05-18"))
    assert c.kind_features["own_act"] == 1.0
    assert "resumed_by_others" not in c.kind_features


def test_a_resumption_others_found_is_not_the_companys_own_act() -> None:
    text = (
        "Donations to election objectors resumed, filings show",
        "AT&T's PAC gave to election objectors again, a watchdog found.",
    )
    [c] = Detector.compile([ATT]).candidates(*text, day("2022-05-18"))
    assert c.kind_features["resumed_by_others"] == 1.0
    assert "own_act" not in c.kind_features


def test_a_verb_of_another_clause_is_not_the_companys() -> None:
    text = ("Election objectors met AT&T staff, but they returned to Congress", "")
    [c] = Detector.compile([ATT]).candidates(*text, day("2022-05-18"))
    assert "own_act" not in c.kind_features


def test_a_resumption_of_the_companys_own_product_is_not_found_by_others() -> None:
    axon = pledge(
        id="axon-face-recognition",
        company={"name": "Axon"},
        title="No face recognition on body cameras",
        kind="moratorium",
        statement="Axon will not put face recognition on its body cameras.",
        made_on="2019-06-27",
        subject=["face recognition"],
        scope=["body cameras"],
        history=[],
    )
    text = ("Police begin a trial of Axon body cameras with face recognition", "")
    [c] = Detector.compile([axon]).candidates(*text, day("2025-12-03"))
    assert c.kind_features["resumed"] == 1.0
    assert "resumed_by_others" not in c.kind_features


PAC = pledge(
    id="carco-objector-pac-pause",
    company={"name": "CarCo", "aliases": [], "products": ["CarCo PAC"]},
    title="Pause donations to election objectors",
    kind="moratorium",
    statement="CarCo paused giving to members of Congress who contested the certification.",
    made_on="2021-07-08",
    subject=["election objectors", "PAC contributions", "lawmakers who voted against certifying"],
    scope=[],
    history=[],
)
BROWSER = pledge(
    id="browserco-no-data-sale",
    company={"name": "BrowserCo"},
    title="Never sell browsing data",
    kind="policy",
    statement="BrowserCo will never sell its users' browsing data.",
    made_on="2019-01-10",
    subject=["browsing data"],
    scope=[],
    history=[],
)
SHOP = pledge(
    id="shopco-add-on-store",
    company={"name": "ShopCo"},
    title="Review every add-on in its store",
    kind="policy",
    statement="ShopCo reviews every add-on it lists.",
    made_on="2018-01-10",
    subject=["add-on store"],
    scope=[],
    history=[],
)


def test_words_of_several_subject_phrases_tie_a_report_that_words_none_closely() -> None:
    text = (
        "CarCo restarts PAC gifts to lawmakers who fought certification",
        "The company said its committee had resumed giving after six months.",
    )
    [c] = Detector.compile([PAC]).candidates(*text, day("2022-04-26"))
    assert c.features["pooled_only"] == 1.0
    assert any("pac" in r and "lawmaker" in r for r in c.reasons)


def test_one_word_of_the_subject_phrases_does_not_tie_a_report() -> None:
    text = (
        "CarCo restarts gifts to lawmakers",
        "The company said it had resumed giving after six months.",
    )
    assert Detector.compile([PAC]).candidates(*text, day("2022-04-26")) == []


def test_restarting_what_a_pledge_paused_is_resumption() -> None:
    text = (
        "CarCo restarts PAC contributions",
        "CarCo restarted PAC contributions to election objectors in March.",
    )
    [c] = Detector.compile([PAC]).candidates(*text, day("2022-04-26"))
    assert c.features["reverse"] >= 1.0


def test_a_rollback_word_another_catalogue_company_acts_on_is_not_the_companys() -> None:
    text = ("ShopCo drops BrowserCo add-ons that sent browsing data to its servers", "")
    cands = Detector.compile([BROWSER, SHOP]).candidates(*text, day("2019-12-03"))
    [c] = [c for c in cands if c.pledge == 0]
    assert c.kind_features["other_act"] == 1.0
    assert "own_act" not in c.kind_features


def test_a_company_dropping_its_own_step_is_no_other_companys_act() -> None:
    text = ("BrowserCo drops its promise on browsing data, ShopCo says", "")
    cands = Detector.compile([BROWSER, SHOP]).candidates(*text, day("2025-03-03"))
    [c] = [c for c in cands if c.pledge == 0]
    assert c.kind_features["own_act"] >= 1.0
    assert "other_act" not in c.kind_features


def test_a_promise_reported_unkept_after_its_deadline_is_after_the_deadline() -> None:
    eggs = pledge(
        id="burgerco-cage-free-2020",
        company={"name": "BurgerCo"},
        title="Cage-free eggs by 2020",
        kind="target",
        statement="BurgerCo will source only cage-free eggs by 2020.",
        made_on="2016-02-01",
        effective_until="2020-12-31",
        subject=["cage-free eggs"],
        scope=[],
        history=[],
    )
    text = ("BurgerCo cage-free eggs pledge unfulfilled, despite its goal", "")
    [before] = Detector.compile([eggs]).candidates(*text, day("2019-02-07"))
    [after] = Detector.compile([eggs]).candidates(*text, day("2023-02-07"))
    assert before.kind_features["unkept"] == after.kind_features["unkept"] == 1.0
    assert "after_deadline" not in before.kind_features
    assert after.kind_features["after_deadline"] == 1.0


EV = pledge(
    id="volvo-all-electric-2030",
    company={"name": "Volvo Cars", "aliases": ["Volvo"]},
    title="Only fully electric cars by 2030",
    kind="target",
    statement="Volvo Cars said it would sell only fully electric cars by 2030.",
    made_on="2021-03-02",
    subject=["fully electric cars", "all-electric"],
    scope=[],
    history=[],
)


def test_a_headline_describing_the_company_ties_when_only_its_pledge_names_the_subject() -> None:
    text = (
        "Swedish carmaker rows back on its all-electric promise",
        "The Gothenburg-based manufacturer will scrap its plan to sell only fully electric "
        "cars by 2030.",
    )
    [c] = Detector.compile([EV]).candidates(*text, day("2024-09-04"))
    assert c.features["company_described"] == 1.0
    assert any("describes a company" in r for r in c.reasons)


def test_a_headline_naming_another_company_or_several_is_no_description() -> None:
    detector = Detector.compile([EV])
    for title in (
        "Carmaker Stellantis scraps its all-electric promise",
        "European carmakers scrap their all-electric promises",
    ):
        assert detector.candidates(title, "The all-electric goal is dropped.", None) == []


def test_a_description_matching_the_subject_of_many_pledges_ties_none() -> None:
    others = [
        pledge(
            id=f"maker-{n}-all-electric",
            company={"name": f"Maker{n}"},
            title="All-electric by 2030",
            kind="target",
            statement="All-electric by 2030.",
            made_on="2021-03-02",
            subject=["all-electric"],
            scope=[],
            history=[],
        )
        for n in range(3)
    ]
    text = ("German carmaker scraps its all-electric promise", "")
    assert Detector.compile([EV, *others]).candidates(*text, None) == []


def test_slashing_what_a_pledge_promised_to_keep_is_rollback_language() -> None:
    jobs = pledge(
        id="netco-french-jobs",
        company={"name": "NetCo"},
        title="Keep 4,200 research jobs in France",
        kind="target",
        statement="NetCo promised to keep 4,200 research jobs in France.",
        made_on="2016-01-10",
        subject=["research jobs"],
        scope=["France"],
        history=[],
    )
    text = ("NetCo to slash a third of research jobs in France", "")
    [c] = Detector.compile([jobs]).candidates(*text, day("2020-06-22"))
    assert "slash" in " ".join(c.reasons)


def test_a_sanction_against_the_company_is_enforcement() -> None:
    text = (
        "EU blacklists Amazon over police facial recognition sales",
        "Brussels sanctioned Amazon after Rekognition was sold to police.",
    )
    [c] = Detector.compile([pledge()]).candidates(*text, day("2021-06-22"))
    assert c.features["enforcement"] == 1.0


def test_critics_saying_it_and_the_company_conceding_it_are_breach_language() -> None:
    for text in (
        ("Amazon defends Rekognition as critics say police still use it", ""),
        ("Amazon concedes police used Rekognition facial recognition", ""),
    ):
        [c] = Detector.compile([pledge()]).candidates(*text, day("2021-06-22"))
        assert c.features["breach"] >= 1.0, text


def test_breach_words_the_company_says_itself_are_weighed_apart_from_allegations() -> None:
    said = (
        "BurgerCo to sell its restaurants in Russia and leave the country",
        "BurgerCo said owning restaurants in Russia was inconsistent with its values.",
    )
    [c] = Detector.compile([RUSSIA_EXIT]).candidates(*said, day("2022-05-16"))
    assert c.features["breach_said"] == 1.0
    assert "breach" not in c.features


def test_someone_of_the_company_who_does_not_speak_for_it_makes_an_allegation() -> None:
    for speaker in ("employee", "whistleblower", "workers"):
        told = (
            "Tribunal hears claim over police use of Rekognition",
            f"An Amazon {speaker} told a tribunal that police used Rekognition despite"
            " the moratorium.",
        )
        [c] = Detector.compile([pledge()]).candidates(*told, day("2024-06-22"))
        assert "breach_said" not in c.features, speaker
        assert c.features["breach"] >= 1.0, speaker
    owner = (
        "BurgerCo to sell its restaurants in Russia and leave the country",
        "BurgerCo's owner said owning restaurants in Russia was inconsistent with its values.",
    )
    [c] = Detector.compile([RUSSIA_EXIT]).candidates(*owner, day("2022-05-16"))
    assert c.features["breach_said"] == 1.0


# An exit scoped to a country: conduct there counts against it.
LEAVE_RUSSIA = pledge(
    id="burgerco-russia-exit",
    company={"name": "BurgerCo", "aliases": []},
    title="Leave Russia",
    kind="exit",
    statement="BurgerCo said it would leave Russia.",
    made_on="2022-03-08",
    subject=["Russian restaurants"],
    scope=["Russia"],
    history=[],
)


def test_selling_up_is_no_conduct_against_a_pledge_to_leave() -> None:
    text = ("BurgerCo to sell its Russian restaurants and leave Russia despite losses", "")
    [c] = Detector.compile([LEAVE_RUSSIA]).candidates(*text, day("2022-05-16"))
    assert c.features["fulfil"] == 1.0
    assert "conduct_scoped" not in c.features


def test_conduct_a_company_forbids_is_not_conduct() -> None:
    for title in (
        "Amazon bars police from using Rekognition facial recognition",
        "Amazon terms forbid police use of Rekognition facial recognition",
    ):
        found = Detector.compile([pledge()]).candidates(title, "", day("2021-06-22"))
        assert all("conduct_scoped" not in c.features for c in found), title


def test_stock_and_acts_done_by_someone_else_are_not_the_company_s_conduct() -> None:
    seized = (
        "State agency takes over BurgerCo's Russian restaurants",
        "A decree signed by the president placed the shares of BurgerCo's Russian restaurants"
        " under state management in Russia.",
    )
    [c] = Detector.compile([LEAVE_RUSSIA]).candidates(*seized, day("2023-07-17"))
    assert "conduct_scoped" not in c.features
    # Told with the company as the doer, the same words are its conduct.
    own = (
        "BurgerCo's Russian restaurants keep trading",
        "A supply deal signed by BurgerCo keeps its Russian restaurants selling in Russia.",
    )
    [c] = Detector.compile([LEAVE_RUSSIA]).candidates(*own, day("2023-07-17"))
    assert c.features["conduct_scoped"] == 1.0
    assert any(r.startswith("conduct within the pledge's scope: ") for r in c.reasons)
    # What customers do with a product counts whoever does it, and an act named as a noun
    # is still an act.
    for title in (
        "Rekognition facial recognition used by police despite moratorium",
        "Amazon criticised over the marketing of Rekognition face recognition to police",
    ):
        [c] = Detector.compile([pledge()]).candidates(title, "", day("2021-06-22"))
        assert c.features["conduct_scoped"] == 1.0, title


def test_a_criminal_finding_against_the_company_is_enforcement() -> None:
    for text in (
        ("Amazon convicted over Rekognition facial recognition sales to police", ""),
        ("Amazon pleads guilty to facial recognition fraud", "Police had used Rekognition."),
    ):
        [c] = Detector.compile([pledge()]).candidates(*text, day("2021-06-22"))
        assert c.features["enforcement"] == 1.0, text


def test_a_headline_may_say_where_the_described_company_is() -> None:
    text = (
        "Gothenburg carmaker rows back on its all-electric promise",
        "The manufacturer will scrap its plan to sell only fully electric cars by 2030.",
    )
    [c] = Detector.compile([EV]).candidates(*text, day("2024-09-04"))
    assert c.features["company_described"] == 1.0
    # A name after the noun is a named company, not a place.
    named = ("Carmaker Stellantis rows back on its all-electric promise", "")
    assert Detector.compile([EV]).candidates(*named, day("2024-09-04")) == []


def test_a_compound_maker_describes_a_company() -> None:
    text = ("Swedish truckmaker scraps its all-electric promise", "")
    [c] = Detector.compile([EV]).candidates(*text, day("2024-09-04"))
    assert c.features["company_described"] == 1.0


def test_a_year_past_the_pledges_own_due_year_told_as_a_slip_is_a_later_date() -> None:
    rocket = pledge(
        id="launchco-first-flight-2020",
        company={"name": "LaunchCo"},
        title="First flight of the new rocket in 2020",
        kind="target",
        statement="LaunchCo promised the first flight of its new rocket in 2020.",
        made_on="2016-05-01",
        subject=["first flight", "maiden flight"],
        scope=[],
        history=[],
    )
    detector = Detector.compile([rocket])
    [c] = detector.candidates("LaunchCo maiden flight now expected in 2022", "", day("2020-10-01"))
    assert c.features["later_date"] == 1.0
    # A later year without any word of a slip is no moved date ("a 2022 test campaign").
    [done] = detector.candidates("LaunchCo maiden flight done; 2022 tests next", "", None)
    assert "later_date" not in done.features


def test_a_name_split_by_punctuation_and_lines_still_reaches_the_detector() -> None:
    # Articles are turned away before their text is folded completely, on one word of
    # each name; the name's other words and what stands between them must not matter.
    detector = Detector.compile([pledge(company={"name": "Johnson & Johnson Holdings"})])
    for name in ("Johnson & Johnson Holdings", "JOHNSON  &\n  JOHNSON   HOLDINGS"):
        title = f"{name} breaks its facial recognition moratorium"
        text = f"Police used {name}'s facial recognition despite the moratorium, a tribunal heard."
        [c] = detector.candidates(title, text, day("2024-06-06"))
        assert detector.pledge_id(c.pledge) == "amazon-rekognition-police-moratorium"
        assert c.features.get("tie_sentence")


def test_every_article_naming_a_catalogue_company_passes_the_first_cheap_check() -> None:
    import tempfile
    from pathlib import Path

    from bench.catalogue_gen import catalogue
    from bench.feedgen import write_feeds
    from feeds.parse import parse
    from pledges.textmatch import fold, fold_spaced

    cat = Detector.compile(catalogue(2_000))._cat
    with tempfile.TemporaryDirectory() as tmp:
        files = write_feeds(Path(tmp), 20, 50)
        docs = [f"{e.title}\n{e.text}" for p in files for e in parse(p.read_bytes()).entries]
    named = [d for d in docs if cat.gate.any(fold(d)[0])]
    assert named, "the generated feeds name catalogue companies"
    assert all(cat.pregate.any(fold_spaced(d)) for d in named)
    # ... and it turns most of the others away.
    others = [d for d in docs if not cat.gate.any(fold(d)[0])]
    assert sum(cat.pregate.any(fold_spaced(d)) for d in others) < len(others) / 2


PLANT = pledge(
    id="growco-riverton-plant-jobs",
    company={"name": "Growco", "aliases": ["Growco Inc."]},
    title="Riverton processing plant with 200 jobs",
    kind="target",
    statement="Growco said it would build a processing plant in Riverton and create 200 jobs.",
    made_on="2019-03-01",
    subject=["Riverton plant", "processing plant"],
    scope=["Riverton"],
    history=[],
)


def test_staff_cut_at_a_pledge_of_jobs_undoes_it_without_naming_the_promise() -> None:
    title = "Growco lays off 120 workers at Riverton processing plant"
    text = "Growco will lay off 120 workers at its Riverton processing plant, the company said."
    [c] = Detector.compile([PLANT]).candidates(title, text, day("2021-05-03"))
    assert c.features["promise_cut"] == 1.0 and "no_signal" not in c.features
    assert c.features["cut_only"] == 1.0  # no word of breach or rollback besides the cut
    assert c.kind_features["promise_cut"] == 1.0
    assert any(r.startswith("cuts what the pledge promised: lay") for r in c.reasons)


def test_the_hand_weights_never_flag_a_tie_whose_only_signal_is_a_cut() -> None:
    story = (
        "Growco closing Riverton processing plant",
        "Growco is closing its Riverton processing plant, the company said on Monday.",
    )
    [c] = Detector.compile([PLANT]).candidates(*story, day("2022-01-10"))
    assert c.features["cut_only"] == 1.0
    assert Detector.compile([PLANT], weights=DEFAULT_WEIGHTS).scan(*story, day("2022-01-10")) == []


def test_closing_the_promised_site_undoes_the_pledge() -> None:
    title = "Growco closing Riverton processing plant"
    text = "Growco is closing its Riverton processing plant by the end of the year."
    [c] = Detector.compile([PLANT]).candidates(title, text, day("2022-01-10"))
    assert c.features["promise_cut"] == 1.0


def test_a_cut_of_something_the_pledge_did_not_promise_is_no_promise_cut() -> None:
    title = "Growco cuts prices at Riverton processing plant shop"
    text = "Growco cut prices of its dried products sold at the Riverton processing plant shop."
    [c] = Detector.compile([PLANT]).candidates(title, text, day("2022-01-10"))
    assert "promise_cut" not in c.features


def test_closing_what_a_pledge_promised_to_close_is_the_pledge_kept() -> None:
    coal = pledge(
        id="powerco-coal-closure",
        company={"name": "Powerco", "aliases": []},
        title="Close its coal plants by 2030",
        kind="target",
        statement="Powerco said it would close all of its coal plants by 2030.",
        made_on="2020-02-01",
        subject=["coal plants"],
        scope=[],
        history=[],
    )
    title = "Powerco to close two coal plants early, cutting 300 jobs"
    text = "Powerco will close two coal plants in 2026, and 300 jobs will go, it said."
    [c] = Detector.compile([coal]).candidates(title, text, day("2024-03-01"))
    assert "promise_cut" not in c.features  # "close" is the pledge's own word


def test_closing_what_a_moratorium_gave_up_is_no_promise_cut(detector: Detector) -> None:
    title = "Amazon shuts down its facial recognition unit for police"
    text = "Amazon shut down the facial recognition service it sold to police, it said."
    [c] = detector.candidates(title, text, day("2021-06-01"))
    assert "promise_cut" not in c.features


def test_an_article_full_of_cut_words_is_scanned_in_bounded_linear_time() -> None:
    detector = Detector.compile([PLANT])
    chunk = "Growco is closing the Riverton processing plant and laying off 120 workers. "
    small = steps(lambda: detector.candidates("Growco cuts", chunk * 20, day("2022-01-10")))
    big = steps(lambda: detector.candidates("Growco cuts", chunk * 200, day("2022-01-10")))
    [c] = detector.candidates("Growco cuts", chunk * 2000, day("2022-01-10"))
    assert c.features["promise_cut"] == 1.0
    assert big < small * 10 * 2  # 10x the text: linear, nowhere near quadratic (100x)
