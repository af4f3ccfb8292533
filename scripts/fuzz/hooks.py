"""schemathesis hooks for `make fuzz` (scripts/fuzz.sh loads them through SCHEMATHESIS_HOOKS).

Each hook narrows one thing the generator cannot know from the schema; every check stays on.
"""

import re
import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation

# The `Idempotency-Key` schema: 1 to 255 visible ASCII characters.
_IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")


def _header(headers, name):
    for key in headers:
        if key.lower() == name.lower():
            return key
    return None


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # `Idempotency-Key`: a key is reused only to retry the same request; the same key with another
    # request is 422 `idempotency_key_reused`. The generator draws keys independently of bodies,
    # so it reuses simple keys ("0", "A"…) across different requests. Each request gets a fresh
    # key here: only a valid key is replaced, by another valid one, so a case made invalid through
    # its key stays invalid.
    if case.headers:
        key = _header(case.headers, "Idempotency-Key")
        value = case.headers.get(key) if key else None
        if isinstance(value, str) and _IDEMPOTENCY_KEY.match(value):
            case.headers[key] = str(uuid.uuid4())

    # `cursor`: a page cursor is opaque, and only a `next_cursor` Guild made is valid (any other
    # string is 422 `invalid_cursor`); no JSON Schema keyword can state that. A generated cursor
    # is dropped from requests meant to be valid, so the rest of their query is still tested and
    # the 422 of a forged cursor stays covered by the tests of the lists. Requests whose query was
    # made invalid on purpose keep it (they are refused with 422 either way).
    if isinstance(case.query, dict) and "cursor" in case.query and not _negative_query(case):
        del case.query["cursor"]


def _negative_query(case):
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    return meta.is_negative_at(ParameterLocation.QUERY)
