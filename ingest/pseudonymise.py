"""Respondent pseudonymisation: a keyed hash (HMAC-SHA256) of the respondent id.

The key comes from the environment variable ``COLLAB_HEALTH_PSEUDONYM_KEY``. Without it the
bundled sample data uses a fixed, documented demo key; with ``COLLAB_HEALTH_MODE=production``
a missing key is an error, so real exports are never hashed with a public key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

import polars as pl

KEY_VARIABLE = "COLLAB_HEALTH_PSEUDONYM_KEY"
MODE_VARIABLE = "COLLAB_HEALTH_MODE"
#: Public and fixed: for the synthetic sample data only. Never use it on real exports.
DEMO_KEY = "collab-health-demo-key--sample-data-only"


class PseudonymisationKeyError(RuntimeError):
    pass


def pseudonymisation_key(environ: Mapping[str, str] = os.environ) -> bytes:
    key = environ.get(KEY_VARIABLE, "")
    if key:
        return key.encode("utf-8")
    if environ.get(MODE_VARIABLE, "demo").strip().lower() == "production":
        raise PseudonymisationKeyError(
            f"{KEY_VARIABLE} is not set. In production mode respondent ids must be hashed "
            "with a secret key: set it (for example from your secrets store) and run again."
        )
    return DEMO_KEY.encode("utf-8")


def using_demo_key(environ: Mapping[str, str] = os.environ) -> bool:
    return not environ.get(KEY_VARIABLE, "")


def pseudonymise(raw_id: str, key: bytes) -> str:
    """A stable 32-hex-digit pseudonym; the same id and key always give the same value."""
    return hmac.new(key, raw_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def pseudonymise_column(column: pl.Expr, key: bytes) -> pl.Expr:
    return column.map_elements(lambda raw: pseudonymise(raw, key), return_dtype=pl.String)
