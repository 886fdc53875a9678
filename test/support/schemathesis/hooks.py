"""Schemathesis hooks of test/api/schemathesis.test.ts: test data that an OpenAPI 3.0 document cannot describe.

- A cursor is taken from a next or prev link; one made up is refused (400). A generated non-empty cursor
  is left out (an empty one stays, for the server to refuse).
- minDuration above maxDuration, and a datetime interval that ends before it starts, are refused (400);
  OpenAPI 3.0 cannot relate two values, so generated ones are put in order.
- A link input is fetched, and a callback URI is called: a generated URL that the document allows is
  replaced by one the test serves (a text file, a callback receiver), as an id must name a thing that
  exists.

Schemathesis revalidates a case that a hook changed, so what it expects of the answer follows the change.
"""

import os
import re

import schemathesis

FILE_URL = os.environ["OGC_SCHEMATHESIS_FILE_URL"]
CALLBACK_URL = os.environ["OGC_SCHEMATHESIS_CALLBACK_URL"]
HREF = re.compile(os.environ["OGC_SCHEMATHESIS_HREF_PATTERN"])
SUBSCRIBER = re.compile(os.environ["OGC_SCHEMATHESIS_SUBSCRIBER_PATTERN"])

INSTANT = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:[Zz]|([+-])(\d\d):(\d\d))"
)


@schemathesis.hook
def map_case(context, case):
    if isinstance(case.query, dict) and case.method.upper() == "GET":
        query = dict(case.query)
        if query.get("cursor") not in (None, ""):
            del query["cursor"]
        if case.operation.path == "/jobs":
            _order_durations(query)
            _order_interval(query)
        if query != case.query:
            case.query = query
    if isinstance(case.body, dict) and case.operation.path.endswith("/execution"):
        body = _with_served_urls(case.body)
        if body != case.body:
            case.body = body
    return case


def _order_durations(query):
    low, high = _integer(query.get("minDuration")), _integer(query.get("maxDuration"))
    if low is not None and high is not None and low > high:
        query["minDuration"], query["maxDuration"] = query["maxDuration"], query["minDuration"]


def _integer(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _order_interval(query):
    value = query.get("datetime")
    if not isinstance(value, str) or value.count("/") != 1:
        return
    start, end = value.split("/")
    if _epoch_ms(start) is not None and _epoch_ms(end) is not None and _epoch_ms(start) > _epoch_ms(end):
        query["datetime"] = f"{end}/{start}"


def _epoch_ms(text):
    """Milliseconds since 1970 as JavaScript's Date.parse reads an RFC 3339 date-time (a day past the month's end rolls over)."""
    match = INSTANT.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, sign, offset_hours, offset_minutes = match.groups()[6:]
    days = _days_from_civil(year, month, 1) + day - 1
    ms = ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + int((fraction or "0")[:3].ljust(3, "0"))
    if sign:
        offset = (int(offset_hours) * 60 + int(offset_minutes)) * 60_000
        ms -= offset if sign == "+" else -offset
    return ms


def _days_from_civil(year, month, day):
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _with_served_urls(body):
    body = dict(body)
    inputs = body.get("inputs")
    if isinstance(inputs, dict):
        body["inputs"] = {name: _served_link(value) for name, value in inputs.items()}
    subscriber = body.get("subscriber")
    if isinstance(subscriber, dict):
        body["subscriber"] = {
            member: f"{CALLBACK_URL}/{member}" if isinstance(uri, str) and SUBSCRIBER.fullmatch(uri) else uri
            for member, uri in subscriber.items()
        }
    return body


def _served_link(value):
    if isinstance(value, dict) and isinstance(value.get("href"), str) and HREF.fullmatch(value["href"]):
        return {**value, "href": FILE_URL}
    return value
