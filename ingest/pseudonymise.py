"""Respondent pseudonymisation: a keyed hash (HMAC-SHA256) of the respondent id.

The key is ``COLLAB_HEALTH_PSEUDONYM_KEY`` (read, with the run mode, by the settings module
and handed in here). Without it, only the bundled synthetic sample may be hashed, with a
fixed, documented demo key; any other export folder, or production mode, makes a missing key
an error, so real exports are never hashed with a public key (whose hashes anyone could
reverse by guessing). In production mode the key must be at least
`MIN_PRODUCTION_KEY_BYTES` long.

Identifiers are normalised before hashing (`normalise_identifier`), so that one person
typing their id twice in different ways is one respondent.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import polars as pl

KEY_VARIABLE = "COLLAB_HEALTH_PSEUDONYM_KEY"
#: Public and fixed: for the synthetic sample data only. Never use it on real exports.
DEMO_KEY = "collab-health-demo-key--sample-data-only"
#: A production key shorter than this is refused (HMAC-SHA256: 32 bytes of key material).
MIN_PRODUCTION_KEY_BYTES = 32


class PseudonymisationKeyError(RuntimeError):
    pass


def pseudonymisation_key(key: str, *, production: bool, sample_data: bool = False) -> bytes:
    """The secret key; the demo key only for the bundled sample (`sample_data`) outside production.
    In production the key must be at least `MIN_PRODUCTION_KEY_BYTES` bytes."""
    if key.strip() and production and len(key.encode("utf-8")) < MIN_PRODUCTION_KEY_BYTES:
        raise PseudonymisationKeyError(
            f"{KEY_VARIABLE} is shorter than {MIN_PRODUCTION_KEY_BYTES} bytes: in production mode the key must be "
            f"at least {MIN_PRODUCTION_KEY_BYTES} random bytes (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)."
        )
    if key.strip():
        return key.encode("utf-8")
    if sample_data and not production:
        return DEMO_KEY.encode("utf-8")
    why = "in production mode" if production else "for exports other than the bundled sample data"
    raise PseudonymisationKeyError(
        f"{KEY_VARIABLE} is not set. Respondent ids must be hashed with a secret key {why}: "
        "set it (for example from your secrets store) and run again."
    )


def using_demo_key(key: str) -> bool:
    return not key.strip()


#: An NHS number as people type it: 10 digits, perhaps grouped 3-3-4 with spaces or hyphens.
_NHS_NUMBER = re.compile(r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}")


def normalise_identifier(raw_id: str) -> str:
    """One spelling per person: Unicode NFC, outer spaces trimmed, inner runs of spaces one
    space, lower case; an NHS number without its spaces or hyphens."""
    return pl.select(normalised_identifier(pl.lit(raw_id, dtype=pl.String))).item()


def normalised_identifier(raw_ids: pl.Expr) -> pl.Expr:
    """`normalise_identifier` as a polars expression, for a whole column at once."""
    text = raw_ids.str.normalize("NFC").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase()
    nhs_number = text.str.contains(f"^{_NHS_NUMBER.pattern}$")
    return pl.when(nhs_number).then(text.str.replace_all("[ -]", "")).otherwise(text)


def pseudonymise(raw_id: str, key: bytes) -> str:
    """A stable 32-hex-digit pseudonym; the same id and key always give the same value."""
    return hmac.new(key, raw_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:32]
