"""Leave-one-pledge-out validation, and refitting the model from corpora and reviews."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from monitor.cli import cli
from monitor.config import DetectSettings
from monitor.evaluation.corpus import Counts
from monitor.evaluation.learning import (
    CUT_TOLERANCE,
    CUTS,
    MIN_SCORES,
    Figures,
    LabelledSet,
    Row,
    Scored,
    apply,
    best_cut,
    common_names_fit,
    corpus_rows,
    cross_validate,
    cut_flags,
    dropped,
    fit_model,
    flags_at,
    kind_words_fit,
    model_version,
    report_words_fit,
    with_word_readings,
)
from monitor.flags.detection import active_model, load_detector
from monitor.store.db import Database
from monitor.store.models import DetectorModel, Flag
from pledges.fitted import shipped_model
from pledges.kindwords import FEATURE as WORDS_FEATURE
from pledges.kindwords import REPORT_FEATURE, REPORT_READING, KindWords, article_terms
from pledges.vocabulary import load_common_names

REPO = Path(__file__).resolve().parents[3]
HOLDOUT_2 = REPO / "eval" / "holdout-2"
HOLDOUT_3 = REPO / "eval" / "holdout-3"


def _row(pledge: str, n: int, label: int, **features: float) -> Row:
    return Row("c", f"{pledge}-{n}", pledge, dict(features), {}, "breach", label, "breach")


def test_each_pledge_is_scored_by_a_model_that_never_saw_it() -> None:
    # Only pledge "solo" shows the feature "relief", always labelled a flag: a model that
    # saw solo's rows learns that; one fitted without them cannot.
    rows = [_row("solo", n, 1, relief=1.0) for n in range(6)]
    for pledge in ("a", "b", "c", "d"):
        rows += [_row(pledge, n, 1, breach=2.0, tie_sentence=1.0) for n in range(4)]
        rows += [_row(pledge, n + 4, 0, breach=1.0) for n in range(4)]
    data = LabelledSet(rows, {("c", r.link, r.pledge_id): "breach" for r in rows if r.label})
    in_sample = apply(fit_model(rows, "all", l2=0.1), data)
    cross = cross_validate(data, l2=0.1)
    assert in_sample.counts.tp >= 6 + 16 - 2
    solo_found = {r.link for r in rows if r.pledge_id == "solo"}
    assert cross.counts.fn >= len(solo_found)
    assert cross.counts.f1 < in_sample.counts.f1


def test_flags_start_from_the_score_asked_for_and_from_even_odds_by_default() -> None:
    scored = [Scored(("c", f"l{n}", "p"), raw, "breach") for n, raw in enumerate((-1, 0, 1))]
    assert set(flags_at(scored)) == {("c", "l1", "p"), ("c", "l2", "p")}  # from 0.5
    assert set(flags_at(scored, 0.7)) == {("c", "l2", "p")}  # log-odds 0.85
    assert len(flags_at(scored, 0.25)) == 3  # log-odds -1.10


def _scored(pledge: str, *probabilities: float) -> list[Scored]:
    return [
        Scored(("c", f"{pledge}-{n}", pledge), math.log(p / (1 - p)), "breach")
        for n, p in enumerate(probabilities)
    ]


def test_flags_start_from_the_cut_of_best_left_out_f1_nearest_even_odds_on_a_tie() -> None:
    # Right flags at 0.42 and 0.8, a wrong one at 0.33: every cut from 0.35 to 0.4 finds
    # all four right ones and no wrong one; 0.4 is the one nearest the likelihood's 0.5.
    scored = _scored("p", 0.42, 0.42, 0.8, 0.8, 0.33)
    data = LabelledSet([], {("c", f"p-{n}", "p"): "breach" for n in range(4)})
    assert best_cut(data, scored) == 0.4
    # With nothing to learn from, flags start from even odds.
    assert best_cut(LabelledSet(), _scored("p", 0.42, 0.8)) == 0.5


def test_a_cut_nearer_even_odds_wins_when_its_f1_is_within_noise_of_the_best() -> None:
    # 200 right flags at 0.8 and one at 0.34: only cuts up to 0.325 find all 201 (F1 1.0);
    # from 0.35 on, one is missed (F1 0.9975). That one flag is noise, not a reason to flag
    # from 0.325: the cut is the one nearest 0.5 of those within the tolerance.
    scored = _scored("p", *[0.8] * 200, 0.34)
    data = LabelledSet([], {("c", f"p-{n}", "p"): "breach" for n in range(201)})
    assert best_cut(data, scored) == 0.5
    # A cut whose F1 is further below the best than the tolerance is not chosen.
    scored = _scored("p", *[0.8] * 20, *[0.34] * 2)
    data = LabelledSet([], {("c", f"p-{n}", "p"): "breach" for n in range(22)})
    assert best_cut(data, scored) == 0.325
    assert CUT_TOLERANCE < 1 - Counts(20, 0, 2).f1


def test_the_min_score_setting_states_the_tolerance_the_cut_is_learned_with() -> None:
    # The setting's description (and docs/config.md, made from it) states the tolerance in
    # words, since the config does not import the learning code: they must agree.
    description = DetectSettings.model_fields["min_score"].description or ""
    assert f"within {CUT_TOLERANCE:g} of the best" in description


def test_each_pledge_is_flagged_from_a_cut_learned_without_it() -> None:
    # Pledge "low" is right five times at 0.32; the others right at 0.6, wrong at 0.34.
    # Low's rows pull the cut under 0.32 for every other pledge (whose wrong flags come
    # in with it), but low's own rows are flagged from the cut the others give: above 0.34.
    scored = _scored("low", *[0.32] * 5)
    expected = {("c", f"low-{n}", "low"): "breach" for n in range(5)}
    for pledge in ("a", "b", "c"):
        scored += _scored(pledge, 0.6, 0.34)
        expected[("c", f"{pledge}-0", pledge)] = "breach"
    data = LabelledSet([], expected)
    assert best_cut(data, scored) < 0.32
    flags = cut_flags(data, scored)
    assert set(flags) == {("c", f"{p}-{n}", p) for p in ("a", "b", "c") for n in (0, 1)}


def test_eval_cv_shows_what_each_min_score_would_trade() -> None:
    args = ["eval", "--cv", str(HOLDOUT_2), str(HOLDOUT_3), "--format", "json"]
    data = json.loads(CliRunner().invoke(cli, args).output)
    trade = data["leave_one_pledge_out_by_min_score"]
    assert list(trade) == [f"{m:g}" for m in MIN_SCORES]
    assert data["cut"] in CUTS
    # A higher score flags a subset: never more right flags, never more wrong ones.
    flagged = [(t["tp"], t["fp"]) for t in trade.values()]
    assert all(a[0] >= b[0] and a[1] >= b[1] for a, b in zip(flagged, flagged[1:], strict=False))
    assert flagged[0] != flagged[-1]
    shown = CliRunner().invoke(cli, args[:-2]).output
    assert "[detect] min_score" in shown and "from 0.3 " in shown


def test_eval_cv_reports_leave_one_pledge_out_figures_over_several_corpora() -> None:
    args = ["eval", "--cv", str(HOLDOUT_2), str(HOLDOUT_3), "--format", "json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {
        "hand_in_sample",
        "shipped_in_sample",
        "leave_one_pledge_out",
        "leave_one_pledge_out_by_min_score",
        "cut",
    }
    cv = data["leave_one_pledge_out"]
    assert set(cv) >= {"precision", "recall", "f1", "kind_accuracy", "per_source"}
    assert set(cv["per_source"]) == {"holdout-2", "holdout-3"}
    assert cv["tp"] + cv["fn"] == 23 + 16  # every expected flag of both corpora counted
    assert cv["f1"] >= 0.75


def test_eval_cv_in_sample_figures_are_what_eval_gives_corpus_by_corpus() -> None:
    # In-sample means the shipped model as the detector runs it, its own words readings
    # included; the left-out readings the folds use would make it a third, unnamed figure.
    corpora = [str(HOLDOUT_2), str(HOLDOUT_3)]
    cv = CliRunner().invoke(cli, ["eval", "--cv", *corpora, "--format", "json"])
    assert cv.exit_code == 0, cv.output
    in_sample = json.loads(cv.output)["shipped_in_sample"]
    plain = CliRunner().invoke(cli, ["eval", *corpora, "--format", "json"])
    assert plain.exit_code == 0, plain.output
    per_corpus = json.loads(plain.output).values()
    for count in ("tp", "fp", "fn"):
        assert in_sample[count] == sum(r[count] for r in per_corpus)


def test_eval_of_a_missing_corpus_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["eval", "--cv", str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope: no such folder" in result.output


def test_detector_fit_learns_from_reviews_and_switches_only_when_figures_hold(
    reviewed_db: Database,
) -> None:
    url = reviewed_db.url
    result = CliRunner().invoke(cli, ["--db", url, "detector", "fit", str(HOLDOUT_2)])
    assert result.exit_code == 0, result.output
    assert "corpora only:" in result.output and "corpora and reviews:" in result.output
    assert "confirmed and" in result.output
    with reviewed_db.session() as session:
        stored = session.exec(select(DetectorModel)).all()
        model = active_model(session)
    if "switched" in result.output:
        assert len(stored) == 1 and model.version == stored[0].version
        assert model.version.startswith("fitted-") and model.meta["reviews"] > 0
        assert "pledgewatch rescan" in result.output
        # `rescan` applies it: flags it rescores carry the new model's version.
        rescanned = CliRunner().invoke(cli, ["--db", url, "rescan"])
        assert rescanned.exit_code == 0, rescanned.output
        with reviewed_db.session() as session:
            versions = {f.detector_version for f in session.exec(select(Flag)).all()}
        assert model.version in versions
    else:
        assert "kept" in result.output and not stored and model == shipped_model()
    shown = CliRunner().invoke(cli, ["--db", url, "detector", "show"])
    assert shown.exit_code == 0 and model.version in shown.output
    # Either model reads the article's words for the kind, and says how many it learned.
    assert "kind model reads the article's words:" in shown.output


def test_detector_fit_from_corpora_alone_writes_a_model_a_user_can_eval_with(
    tmp_path: Path,
) -> None:
    out = tmp_path / "model.json"
    args = ["detector", "fit", "--no-reviews", str(HOLDOUT_2), str(HOLDOUT_3), "--output", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    # Without reviews the two recipes are one: a single leave-one-pledge-out run is reported.
    assert "corpora only:" in result.output
    assert "corpora and reviews: the same (no reviews to add)" in result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert (
        written["version"].startswith("fitted-") and f"wrote {written['version']}" in result.output
    )
    assert written["meta"]["reviews"] == 0
    assert written["meta"]["corpora"] == ["holdout-2", "holdout-3"]
    scored = CliRunner().invoke(
        cli, ["eval", "--model", str(out), str(HOLDOUT_3), "--format", "json"]
    )
    assert scored.exit_code == 0, scored.output
    assert json.loads(scored.output)["model"] == written["version"]


def test_a_model_is_switched_only_when_f1_and_kind_accuracy_hold() -> None:
    def fig(tp: int, fp: int, fn: int, kind_agree: int) -> Figures:
        return Figures(Counts(tp, fp, fn), kind_agree, tp)

    base = fig(8, 2, 2, 8)
    assert not dropped(base, fig(8, 2, 2, 8))  # equal figures: switch
    assert not dropped(base, fig(9, 1, 1, 9))
    assert dropped(base, fig(7, 2, 3, 7))  # F1 drops
    assert dropped(base, fig(8, 2, 2, 7))  # kind accuracy drops


def test_a_damaged_stored_model_falls_back_to_the_shipped_one(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    with sqlite_db.write() as session:
        session.add(
            DetectorModel(version="fitted-bad", model="{not json", created_at=datetime.now(UTC))
        )
    with sqlite_db.session() as session:
        assert load_detector(session).version == shipped_model().version
    assert any("fitted-bad" in r.getMessage() for r in caplog.records)


def test_eval_of_several_corpora_reports_each() -> None:
    result = CliRunner().invoke(cli, ["eval", str(HOLDOUT_2), str(HOLDOUT_3), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {str(HOLDOUT_2), str(HOLDOUT_3)}
    assert all(report["f1"] > 0.8 for report in data.values())


def test_eval_scores_with_the_model_asked_for(tmp_path: Path) -> None:
    def run(*extra: str) -> dict[str, object]:
        result = CliRunner().invoke(cli, ["eval", *extra, str(HOLDOUT_3), "--format", "json"])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    assert run()["model"] == shipped_model().version
    assert run("--model", "hand")["model"] == "lexical-5"
    fitted = tmp_path / "model.json"
    fitted.write_text(shipped_model().to_json())
    assert run("--model", str(fitted))["model"] == shipped_model().version


def test_eval_with_a_model_file_that_is_not_a_model_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.json"
    bad.write_text('{"weights": {}}')
    result = CliRunner().invoke(cli, ["eval", "--model", str(bad), str(HOLDOUT_3)])
    assert result.exit_code == 2
    assert "model.json: field 'version': missing or not a string" in result.output
    missing = CliRunner().invoke(cli, ["eval", "--model", str(tmp_path / "no.json"), "x"])
    assert "no.json: no such file" in missing.output


def _words_set() -> LabelledSet:
    """Four corpora, each with a rollback report ("scraps") and a breach report ("fined");
    "axes" is said in rollback reports of three corpora only."""
    data = LabelledSet()
    for i, source in enumerate("abcd"):
        for kind, headline in (("rollback", "Firm scraps its goal"), ("breach", "Firm fined")):
            link = f"{source}-{kind}"
            extra = " and axes it" if kind == "rollback" and i < 3 else ""
            data.articles[(source, link)] = article_terms(headline + extra, "")
            data.expected[(source, link, "p")] = kind
            data.rows.append(Row(source, link, "p", {"breach": 1.0}, {"legal": 1.0}, kind, 1, kind))
    return data


def test_each_row_reads_its_words_with_a_vocabulary_fitted_without_its_corpus() -> None:
    data = _words_set()
    stacked = with_word_readings(data)
    reading = {r.link: r.kind_features[WORDS_FEATURE] for r in stacked.rows}
    assert reading["a-rollback"] > 0 > reading["a-breach"]
    # a's reports are read by a vocabulary fitted without them: there "axes" is left in
    # two corpora and is not learned; with every corpus it is.
    without_a = kind_words_fit(data, exclude="a")
    assert "axes" not in without_a.weights and "axes" in kind_words_fit(data).weights
    assert reading["a-rollback"] == without_a.reading(data.articles[("a", "a-rollback")])
    assert data.rows[0].kind_features == {"legal": 1.0}  # the input set is left as it was


def test_an_article_reads_as_a_report_when_the_labels_expect_a_flag_on_it() -> None:
    data = _words_set()
    for source in "abcd":  # coverage: no flag expected on it
        data.articles[(source, f"{source}-coverage")] = article_terms("Firm welcomed plan", "")
    words = report_words_fit(data)
    assert words.weights["welcomed"] < 0 < words.weights["firm fined"]
    stacked = with_word_readings(data)
    without_a = report_words_fit(data, exclude="a")
    [row] = [r for r in stacked.rows if r.link == "a-breach"]
    assert row.features[REPORT_FEATURE] == without_a.reading(data.articles[("a", "a-breach")])


def test_the_report_reading_learns_nothing_from_the_pledges_own_words() -> None:
    data = _words_set()
    for source in "abcd":
        data.articles[(source, f"{source}-coverage")] = article_terms("Firm welcomed goal", "")
    for key in data.articles:
        data.topics[key] = frozenset({"firm", "goal"})
    words = report_words_fit(data)
    assert words.weights["fined"] > 0 > words.weights["welcomed"]
    assert not {t for t in words.weights if set(t.split()) <= {"firm", "goal"}}
    assert {"its", "scraps its"} <= set(words.weights)  # function words weigh too
    [row] = [r for r in with_word_readings(data).rows if r.link == "a-breach"]
    without_a = report_words_fit(data, exclude="a")
    assert row.features[REPORT_FEATURE] == without_a.reading(data.report_terms(("a", "a-breach")))


def test_a_corpus_article_is_read_without_the_topic_of_the_pledges_it_ties(
    tmp_path: Path,
) -> None:
    corpus = _corpus(
        tmp_path,
        "c",
        ("Leeds police used Amazon Rekognition", "Officers ran facial recognition on footage."),
        ("Bakery opens in Leeds", "A new bakery opened on Monday."),
    )
    catalogue = corpus / "catalogue"
    catalogue.mkdir()
    for name in ("amazon-rekognition-police-moratorium", "carlsberg-russia-exit"):
        path = REPO / "pledges" / "catalogue" / f"{name}.yaml"
        catalogue.joinpath(path.name).write_bytes(path.read_bytes())
    (corpus / "labels.json").write_text('{"as_of": "2026-12-06", "items": []}', encoding="utf-8")
    data = corpus_rows(corpus)
    tied = data.topics[("c", "https://example.org/c/0")]
    untied = data.topics[("c", "https://example.org/c/1")]
    assert {"amazon", "rekognition", "facial", "recognition"} <= tied < untied
    assert "facial recognition" not in data.report_terms(("c", "https://example.org/c/0"))
    assert "facial recognition" in data.articles[("c", "https://example.org/c/0")]


def test_a_fitted_model_carries_its_vocabulary_and_is_named_by_it() -> None:
    data = with_word_readings(_words_set())
    with_words = fit_model(data.rows, "x", kind_words=kind_words_fit(data))
    without = fit_model(data.rows, "x")
    assert KindWords.from_dict(with_words.meta["kind_words"]).weights["scraps"] > 0
    assert "kind_words" not in without.meta
    assert model_version(with_words) != model_version(without)
    reporting = fit_model(data.rows, "x", report_words=report_words_fit(data))
    assert "report_words" in reporting.meta
    assert reporting.meta["report_reading"] == REPORT_READING
    assert model_version(reporting) != model_version(without)


def _corpus(root: Path, name: str, *items: tuple[str, str]) -> Path:
    feeds = root / name / "feeds"
    feeds.mkdir(parents=True)
    body = "".join(
        f"<item><title>{t}</title><link>https://example.org/{name}/{n}</link>"
        f"<description>{d}</description></item>"
        for n, (t, d) in enumerate(items)
    )
    (feeds / "a.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>{body}</channel></rss>',
        encoding="utf-8",
    )
    return root / name


def test_common_names_are_those_reports_of_several_corpora_use(tmp_path: Path) -> None:
    a = _corpus(
        tmp_path, "a", ("Works at Kelmarsh halted", "The European Union said the plant shut.")
    )
    b = _corpus(
        tmp_path, "b", ("Port of Arbroath fined", "The European Union said the port broke rules.")
    )
    c = _corpus(tmp_path, "c", ("Bank fined", "Regulators in the European Union fined it."))
    names = set(common_names_fit([a, b, c], min_corpora=3))
    assert {"european union", "european", "union", "the"} <= names
    # Written in lower case in two corpora: an everyday word, whatever min_corpora says.
    assert "said" in names
    assert not {"kelmarsh", "arbroath", "plant", "port"} & names


def test_fit_names_writes_the_list_the_detector_reads(tmp_path: Path) -> None:
    out = tmp_path / "names.json"
    args = ["detector", "fit-names", str(HOLDOUT_2), str(HOLDOUT_3), "--output", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    body = json.loads(out.read_text(encoding="utf-8"))
    assert body["corpora"] == ["holdout-2", "holdout-3"]
    assert load_common_names(out) == frozenset(body["names"]) >= {"the", "said"}


def test_fit_names_of_a_folder_without_feeds_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    out = tmp_path / "names.json"
    result = CliRunner().invoke(cli, ["detector", "fit-names", str(tmp_path), "--output", str(out)])
    assert result.exit_code != 0
    assert "no feed files" in result.output
    assert not out.exists()
