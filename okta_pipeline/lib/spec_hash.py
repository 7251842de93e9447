"""A short, stable hash of a JSON body as the project writes it.

The cluster normalises what it stores (templates, monitors), so a stored body cannot be
compared with the desired one; the hash of the desired body is kept beside it instead.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def spec_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
