"""Respondent pseudonymisation: a keyed hash (HMAC-SHA256) of the respondent id.

The key comes from the environment variable ``COLLAB_HEALTH_PSEUDONYM_KEY``. Without it, only
the bundled synthetic sample may be hashed, with a fixed, documented demo key; any other
export folder, or ``COLLAB_HEALTH_MODE=production``, makes a missing key an error, so real
exports are never hashed with a public key (whose hashes anyone could reverse by guessing).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

KEY_VARIABLE = "COLLAB_HEALTH_PSEUDONYM_KEY"
MODE_VARIABLE = "COLLAB_HEALTH_MODE"
#: Public and fixed: for the synthetic sample data only. Never use it on real exports.
DEMO_KEY = "collab-health-demo-key--sample-data-only"


class PseudonymisationKeyError(RuntimeError):
    pass


def pseudonymisation_key(environ: Mapping[str, str] = os.environ, *, sample_data: bool = False) -> bytes:
    """The secret key; the demo key only for the bundled sample (`sample_data`) outside production."""
    key = environ.get(KEY_VARIABLE, "")
    if key:
        return key.encode("utf-8")
    production = environ.get(MODE_VARIABLE, "demo").strip().lower() == "production"
    if sample_data and not production:
        return DEMO_KEY.encode("utf-8")
    why = "in production mode" if production else "for exports other than the bundled sample data"
    raise PseudonymisationKeyError(
        f"{KEY_VARIABLE} is not set. Respondent ids must be hashed with a secret key {why}: "
        "set it (for example from your secrets store) and run again."
    )


def using_demo_key(environ: Mapping[str, str] = os.environ) -> bool:
    return not environ.get(KEY_VARIABLE, "")


def pseudonymise(raw_id: str, key: bytes) -> str:
    """A stable 32-hex-digit pseudonym; the same id and key always give the same value."""
    return hmac.new(key, raw_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:32]
