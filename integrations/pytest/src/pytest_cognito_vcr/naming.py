"""Scope names from pytest node ids: what the proxy accepts (1 to 128 of A-Za-z0-9._-), readable,
and one per node id."""

import hashlib
import re

MAX_LEN = 128
HASH_LEN = 12
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def scope_name(nodeid: str) -> str:
    """The node id itself when it is already a scope name; else the node id with every other
    character replaced by `_`, cut to leave room for `-` and 12 hex digits of its SHA-256, so
    that two node ids made alike by the replacement (or the cut) still get different scopes."""
    safe = _UNSAFE.sub("_", nodeid)
    if safe == nodeid and 0 < len(safe) <= MAX_LEN:
        return safe
    digest = hashlib.sha256(nodeid.encode("utf-8")).hexdigest()[:HASH_LEN]
    return f"{safe[: MAX_LEN - HASH_LEN - 1]}-{digest}"
