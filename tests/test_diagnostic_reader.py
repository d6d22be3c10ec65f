"""The codebook-driven diagnostic reader, codebook validation and pseudonymisation."""

import polars as pl
import pytest
from conftest import CODEBOOK_DIR, FREE_TEXT_SAMPLE, RESPONDENT_ID_SAMPLE, SAMPLE_ODS, write_tiny_export

from ingest.codebook import CodebookError, load_codebook, load_codebooks
from ingest.diagnostic import combine_exports, read_diagnostic_export
from ingest.files import InputFileError
from ingest.pseudonymise import DEMO_KEY, PseudonymisationKeyError, pseudonymisation_key, pseudonymise
from ingest.quarantine import IngestResult

pytestmark = pytest.mark.unit

KEY = b"test-key"


@pytest.fixture(scope="module")
def codebooks():
    return load_codebooks(CODEBOOK_DIR)


def read_and_combine(path, codebooks, key=KEY, organisations=None, collaborations=None) -> IngestResult:
    """One export as the pipeline loads it: read, then checked and de-duplicated by combine_exports."""
    result = read_diagnostic_export(path, codebooks, key, organisations)
    tables, quarantine = combine_exports([result], collaborations)
    return IngestResult(result.source_file, result.sha256, result.rows_read, tables, quarantine, result.ignored_columns)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_tiny_export_in_every_encoding(tmp_path, codebooks, encoding):
    path = tmp_path / "tiny_wave1.csv"
    write_tiny_export(path, encoding=encoding)
    result = read_and_combine(path, codebooks)
    respondents = result.tables["diagnostic_respondents"]
    assert result.rows_read == 9
    assert respondents.height == 5
    assert result.rows_quarantined == 4
    assert respondents["organisation_code"].to_list() == ["R1H", "R1H", "R1H", "RF4", "RF4"]
    reasons = dict(result.quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").iter_rows())
    assert reasons == {
        5: "blank row",
        # Repeats are resolved after the reader, by combine_exports (issue 13: scoring
        # order), which names the kept row's file.
        7: "superseded by a later submission from the same respondent (tiny_wave1.csv row 8)",
        9: "organisation is neither an ODS code nor the name of exactly one organisation in the reference",
        10: "submission time is not a UK date (dd/mm/yyyy hh:mm)",
    }
    assert "Any other comments" in result.ignored_columns


def test_a_row_of_spaces_is_blank_and_a_spaces_answer_is_no_answer(tmp_path, codebooks):
    path = tmp_path / "tiny_wave1.csv"
    write_tiny_export(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    width = len(lines[0].split(","))
    # Row 11: nothing but spaces in every answer; row 12: p8 with a spaces-only SP1 and an SP2.
    spaces = ",".join(["", "", "", "", "", ""] + ["   "] * (width - 7) + [""])
    answered = lines[2].replace("p2", "p8").replace(",4,", ",  ,", 1)
    path.write_text("\n".join([*lines, spaces, answered]) + "\n", encoding="utf-8")
    result = read_and_combine(path, codebooks)
    reasons = dict(result.quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").iter_rows())
    assert reasons[11] == "blank row"
    assert 12 not in reasons
    answers = result.tables["diagnostic_answers"].filter(pl.col("source_row") == 12)
    assert answers["item_id"].to_list() == ["AH2"]  # SP1 spaces: no answer; SP2 "Don't know": missing


def test_answers_mapped_missing_dropped_and_reverse_keyed(tmp_path, codebooks):
    path = tmp_path / "tiny_wave1.csv"
    write_tiny_export(path)
    answers = read_and_combine(path, codebooks).tables["diagnostic_answers"]
    by_row = {(r["source_row"], r["item_id"]): (r["answer_value"], r["score_value"]) for r in answers.to_dicts()}
    assert by_row[(2, "SP1")] == (5, 5.0)  # "Strongly agree"
    assert by_row[(2, "SP2")] == (4, 4.0)  # "agree " (case and space)
    assert by_row[(2, "AH2")] == (2, 4.0)  # "Disagree" on a reverse-keyed item
    assert by_row[(3, "SP1")] == (4, 4.0)  # a number
    assert (3, "SP2") not in by_row  # "Don't know" is missing, not zero
    assert (4, "AH2") not in by_row  # "N/A"
    assert by_row[(8, "SP1")] == (1, 1.0)  # the later p5 submission won
    assert answers.height == 12  # 3 + 2 + 2 + 3 + 2 answered items


def test_free_text_and_raw_ids_never_leave_the_reader(tmp_path, codebooks):
    path = tmp_path / "tiny_wave1.csv"
    write_tiny_export(path)
    result = read_diagnostic_export(path, codebooks, KEY)
    text = "".join(frame.write_csv() for frame in [*result.tables.values(), result.quarantine])
    assert RESPONDENT_ID_SAMPLE not in text
    assert FREE_TEXT_SAMPLE not in text
    assert pseudonymise(RESPONDENT_ID_SAMPLE.lower(), KEY) in text


def test_unknown_instrument_rejected_naming_file_and_columns(tmp_path, codebooks):
    path = tmp_path / "other_survey.csv"
    path.write_text("Respondent ID,Submitted,Organisation,Collaboration,Wave,Q1\nx,01/01/2024,R1H,tiny,1,Agree\n")
    with pytest.raises(InputFileError, match=r"other_survey.csv.*collab_health_core.*item SP1"):
        read_diagnostic_export(path, codebooks, KEY)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("characteristic: use_of_data", "characteristic: use_of_dta"), r"undeclared characteristics: use_of_dta"),
        (("    Agree: 4", "    Agree: 4\n    'agree ': 5"), r"same once case and spacing are ignored: \['agree'\]"),
        (
            ('missing: ["Don\'t know"', 'missing: ["Agree", "Don\'t know"'),
            r"both as answers and as missing: \['agree'\]",
        ),
        (("  max: 5", "  max: 3"), r"labels outside the scale 1..3"),
        (("    pattern: '^SP1\\b'", "    pattern: '^SP1('"), r"not a valid regular expression"),
    ],
)
def test_invalid_codebook_error_names_file_and_problem(tmp_path, change, message):
    document = (CODEBOOK_DIR / "collab_health_core.yaml").read_text()
    assert change[0] in document
    path = tmp_path / "broken.yaml"
    path.write_text(document.replace(*change, 1))
    with pytest.raises(CodebookError, match=rf"broken.yaml: invalid codebook: .*{message}"):
        load_codebook(path)


def test_the_demo_key_is_only_for_the_bundled_sample_outside_production():
    with pytest.raises(PseudonymisationKeyError, match=r"COLLAB_HEALTH_PSEUDONYM_KEY.*production"):
        pseudonymisation_key("", production=True, sample_data=True)
    with pytest.raises(PseudonymisationKeyError, match="other than the bundled sample"):
        pseudonymisation_key("", production=False)
    assert pseudonymisation_key("", production=False, sample_data=True) == DEMO_KEY.encode()
    assert pseudonymisation_key("s3cret", production=False) == b"s3cret"
    assert pseudonymise("p1", b"a") != pseudonymise("p1", b"b")


def test_organisation_names_mapped_through_the_reference_never_guessed(tmp_path, codebooks):
    from ingest.organisations import OrganisationMatcher, read_organisations

    matcher = OrganisationMatcher(read_organisations(SAMPLE_ODS))
    assert matcher.code_for("Barts Health NHS Trust") == "R1H"
    assert matcher.code_for("  barking, havering & redbridge university hospitals nhs trust") == "RF4"
    assert matcher.code_for("rke") == "RKE"
    assert matcher.code_for("Barts Health") is None  # close is not good enough
    assert matcher.code_for("BARTS") is None  # looks like a code, is not one

    path = tmp_path / "named.csv"
    write_tiny_export(path)
    text = path.read_text(encoding="utf-8-sig").replace(",R1H,", ",Barts Health NHS Trust,", 1)
    path.write_text(text.replace(",Not a code,", ",Barts Hospital,"), encoding="utf-8")
    result = read_diagnostic_export(path, codebooks, KEY, matcher)
    assert result.tables["diagnostic_respondents"]["organisation_code"].to_list()[0] == "R1H"
    unmatched = result.quarantine.filter(pl.col("source_row") == 9).row(0, named=True)
    assert (unmatched["column_name"], unmatched["value"]) == ("organisation", None)  # located, not copied


def test_a_respondent_in_two_files_keeps_only_the_latest_submission(tmp_path, codebooks):
    from ingest.diagnostic import combine_exports

    first, second = tmp_path / "export_a.csv", tmp_path / "export_b_reexport.csv"
    write_tiny_export(first)
    lines = first.read_text(encoding="utf-8-sig").splitlines()
    # The re-export repeats p4 (row 6 of the first file) with a later submission time.
    second.write_text("\n".join([lines[0], lines[5].replace("09/08/2024 12:00", "20/08/2024 12:00")]) + "\n")
    results = [read_diagnostic_export(p, codebooks, KEY) for p in (first, second)]
    tables, quarantine = combine_exports(results)
    respondents = tables["diagnostic_respondents"]
    assert respondents.height == 5  # p1, p2, p3, p5 from the first file, p4 from the second
    assert respondents.filter(pl.col("source_file") == "export_b_reexport.csv").height == 1
    superseded = quarantine.filter(pl.col("reason").str.contains("export_b_reexport.csv row 2"))
    assert superseded.select("source_file", "source_row").rows() == [("export_a.csv", 6)]
    assert (
        tables["diagnostic_answers"]
        .filter((pl.col("source_file") == "export_a.csv") & (pl.col("source_row") == 6))
        .height
        == 0
    )


def test_rows_outside_the_declared_collaborations_are_quarantined(tmp_path, codebooks):
    from conftest import TINY_COLLABORATIONS

    from ingest.collaborations import load_collaborations
    from ingest.diagnostic import combine_exports

    config = tmp_path / "collaborations.yaml"
    config.write_text(TINY_COLLABORATIONS)
    path = tmp_path / "export.csv"
    write_tiny_export(path)
    text = path.read_text(encoding="utf-8-sig").splitlines()
    text[1] = text[1].replace(",tiny,1,", ",tiny,3,")  # p1: wave 3 is not declared
    text[2] = text[2].replace(",r1h,", ",RQX,")  # p2: RQX is not a member of tiny
    path.write_text("\n".join(text) + "\n")
    tables, quarantine = combine_exports([read_diagnostic_export(path, codebooks, KEY)], load_collaborations(config))
    assert tables["diagnostic_respondents"]["source_row"].to_list() == [4, 6, 8]
    reasons = dict(quarantine.filter(pl.col("source_row").is_in([2, 3])).select("source_row", "reason").iter_rows())
    assert reasons == {
        # Issue 21: the respondent-typed wave is no longer copied into the reason.
        2: "wave is not declared for collaboration 'tiny' in the collaborations file",
        3: "organisation is not a member of 'tiny' during wave 1 fieldwork",
    }
    assert set(tables["diagnostic_answers"]["source_row"].unique().to_list()) == {4, 6, 8}


def test_a_late_invalid_resubmission_never_displaces_a_valid_answer(tmp_path, codebooks):
    """Issue 13, scoring order: p4 answered as a member (RF4, row 6); a day later the same
    person resubmitted naming RQX, which is not a member of 'tiny'. The invalid row is
    quarantined first, so p4's valid answers stand (before, the later row won the duplicate
    check and was then quarantined, losing p4 altogether)."""
    from conftest import TINY_COLLABORATIONS

    from ingest.collaborations import load_collaborations

    config = tmp_path / "collaborations.yaml"
    config.write_text(TINY_COLLABORATIONS)
    path = tmp_path / "export.csv"
    write_tiny_export(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    late = lines[5].replace("09/08/2024 12:00", "10/08/2024 12:00").replace(",RF4,", ",RQX,")
    path.write_text("\n".join([*lines, late]) + "\n")  # row 11
    result = read_and_combine(path, codebooks, collaborations=load_collaborations(config))
    respondents = result.tables["diagnostic_respondents"]
    assert respondents["source_row"].to_list() == [2, 3, 4, 6, 8]  # p4's row 6 kept
    reasons = dict(result.quarantine.filter(pl.col("scope") == "row").select("source_row", "reason").iter_rows())
    assert reasons[11] == "organisation is not a member of 'tiny' during wave 1 fieldwork"
    assert reasons[7] == "superseded by a later submission from the same respondent (export.csv row 8)"
    assert 6 not in reasons
    assert result.rows_read == 10 == respondents.height + result.rows_quarantined  # nothing lost
    assert set(result.tables["diagnostic_answers"]["source_row"].unique().to_list()) == {2, 3, 4, 6, 8}


def test_identical_submission_times_go_to_the_file_sorting_last_then_the_later_row(tmp_path, codebooks):
    """The tie-break README states: the same respondent at the same minute in two files keeps
    the row of the file whose name sorts last; twice in one file, the later row."""
    first, second = tmp_path / "a_export.csv", tmp_path / "b_export.csv"
    write_tiny_export(first)
    lines = first.read_text(encoding="utf-8-sig").splitlines()
    # p4 (row 6) again, at the same time, in b_export.csv (row 2) and twice more in a_export (rows 11, 12).
    first.write_text("\n".join([*lines, lines[5], lines[5]]) + "\n")
    second.write_text("\n".join([lines[0], lines[5]]) + "\n")
    results = [read_diagnostic_export(p, codebooks, KEY) for p in (first, second)]
    tables, quarantine = combine_exports(results)
    p4 = tables["diagnostic_respondents"].filter(pl.col("organisation_code") == "RF4")
    assert sorted(p4.select("source_file", "source_row").rows()) == [("a_export.csv", 8), ("b_export.csv", 2)]
    superseded = quarantine.filter(pl.col("reason").str.contains("b_export.csv row 2"))
    assert sorted(superseded["source_row"].to_list()) == [6, 11, 12]

    # Within one file: the later of two identical rows is kept.
    only, _ = combine_exports([read_diagnostic_export(first, codebooks, KEY)])
    rf4_rows = only["diagnostic_respondents"].filter(pl.col("organisation_code") == "RF4")["source_row"].to_list()
    assert rf4_rows == [8, 12]


def test_production_needs_a_long_key_and_a_known_mode():
    from orchestration.settings import Settings, SettingsError

    long_key = "k" * 32
    assert pseudonymisation_key(long_key, production=True) == long_key.encode()
    for short in ("x", "tiny-project-secret-key-3f9a", "k" * 31):
        with pytest.raises(PseudonymisationKeyError, match="shorter than 32 bytes"):
            pseudonymisation_key(short, production=True)
    with pytest.raises(PseudonymisationKeyError, match="not set"):  # blank is not a key
        pseudonymisation_key("   ", production=True)
    # The mode is the settings module's: a mistyped one is refused, never taken to mean demo.
    for mistyped in ("prod", "Production ", "producton", "live"):
        environ = {"COLLAB_HEALTH_MODE": mistyped, "COLLAB_HEALTH_PSEUDONYM_KEY": long_key}
        if mistyped.strip().lower() == "production":
            assert Settings.from_environ(environ).production
            continue
        with pytest.raises(
            SettingsError, match=f"COLLAB_HEALTH_MODE is {mistyped!r}; it must be one of: demo, production"
        ):
            Settings.from_environ(environ)
    assert not Settings.from_environ({"COLLAB_HEALTH_MODE": "demo"}).production
    assert pseudonymisation_key("", production=False, sample_data=True) == DEMO_KEY.encode()


def test_identifiers_are_normalised_before_hashing():
    from ingest.pseudonymise import normalise_identifier

    nfc, nfd = "zo\u00eb.brown@example.org", "zoe\u0308.brown@example.org"
    assert nfc != nfd and normalise_identifier(nfc) == normalise_identifier(nfd) == nfc
    assert normalise_identifier("  Alice.Smith@Example.ORG \t") == "alice.smith@example.org"
    assert {normalise_identifier(n) for n in ("943 476 5919", "9434765919", "943-476-5919", " 943  476 5919 ")} == {
        "9434765919"
    }
    assert normalise_identifier("team a  lead") == "team a lead"  # not an NHS number: spaces kept (one)
