"""Organisation names for readers: ODS stores them in capitals, the reports print proper case.

The rule, applied to a name only when it has no lower-case letter (a name already in mixed
case is kept as its source wrote it):
- each word is capitalised: first letter upper, the rest lower ("LONDON" -> "London"); a word
  with an apostrophe keeps the letters after it lower ("KING'S" -> "King's", "THOMAS'");
- a word kept in capitals as an acronym: one of ACRONYMS (NHS, ICB, UCLH, ...), or a word of
  two or more letters with no vowel (A, E, I, O, U, Y), which no English word of a name has
  ("MSK", "DHC", "LLP"), except the abbreviations in ABBREVIATIONS ("ST" -> "St", "LTD" -> "Ltd");
- a word with a digit is kept as written ("N2S", "QJ2"), except ordinals ("4TH" -> "4th");
- the joining words in SMALL_WORDS are lower case except as the first word ("Isle of Wight",
  "Guy's and St Thomas'"); so are those inside a hyphenated word ("Stoke-on-Trent");
- punctuation around a word (brackets, hyphens, "&") is kept where it was.
"""

from __future__ import annotations

import re

#: Acronyms with a vowel, kept in capitals (those without a vowel are kept by the rule).
ACRONYMS = frozenset(
    {
        "NHS",
        "ICB",
        "ICS",
        "UCLH",
        "UCL",
        "UK",
        "CIC",
        "BMI",
        "ENT",
        "AQP",
        "NEL",
        "NCL",
        "SEL",
        "SWL",
        "NWL",
        "GOSH",
        "IAPT",
    }
)
#: Vowel-less words that are abbreviations, not acronyms.
ABBREVIATIONS = {"ST": "St", "LTD": "Ltd", "DR": "Dr", "MR": "Mr", "MRS": "Mrs"}
SMALL_WORDS = frozenset({"and", "of", "the", "for", "in", "on", "at", "upon", "with", "to", "by", "under", "a", "an"})
_WORD = re.compile(r"[A-Za-z0-9']+")
_VOWELS = set("AEIOUY")


def _word(word: str, first: bool) -> str:
    upper = word.upper()
    letters = upper.replace("'", "")
    if upper in ACRONYMS:
        return upper
    if upper in ABBREVIATIONS:
        return ABBREVIATIONS[upper]
    if any(c.isdigit() for c in letters):
        return re.sub(r"^(\d+)(ST|ND|RD|TH)$", lambda m: m[1] + m[2].lower(), upper)
    if len(letters) >= 2 and not _VOWELS & set(letters):
        return upper
    lower = word.lower()
    if not first and lower in SMALL_WORDS:
        return lower
    return lower[:1].upper() + lower[1:]


def proper_case(name: str | None) -> str | None:
    """`name` in proper case by the rule above (None and mixed-case names unchanged)."""
    if not name or any(c.islower() for c in name):
        return name
    out, first = [], True
    for token in name.split(" "):
        # A hyphenated word: its first part starts the word, the rest are joined words.
        parts = token.split("-")
        cased = []
        for i, part in enumerate(parts):
            cased.append(_WORD.sub(lambda m, f=(first and i == 0): _word(m[0], f), part))
            if _WORD.search(part):
                first = False
        out.append("-".join(cased))
    return " ".join(out)
