"""jobgate's cron arithmetic (the hidden `jobgate cron-next` command) against croniter.

croniter decides which wall-clock times an expression matches. Turning a wall-clock time into an
instant follows jobgate's documented DST rules (CronExpression.next(after:in:)):
- a time skipped when clocks spring forward fires at the first instant after the gap;
- a time shown twice when clocks fall back fires once, at its first occurrence.
croniter's own time-zone handling differs on purpose in two places, pinned down by
test_where_croniter_differs_by_design:
- in the repeated hour croniter fires every matching time again (`*/15 * * * *`: 02:00 CEST, 02:15
  CEST, ... then 02:00 CET, 02:15 CET, ...; `30 2 * * *`: 02:30 CEST and 02:30 CET), and from an
  instant inside the second run it fires the rest of that run;
- in the skipped hour, when the hour field is `*`, croniter drops the skipped times instead of
  firing at the end of the gap (`30 * * * *` gives 01:30 then 03:30, jobgate 01:30, 03:00, 03:30).
So every comparison asserts jobgate's rule exactly, and asserts that jobgate and croniter's own
answer agree everywhere except within three hours of a change of UTC offset.
"""
import random
import subprocess
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import CroniterBadDateError, croniter

from jobgate_harness import jobgate_binary

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Sao_Paulo",
         "Pacific/Auckland", "Europe/Dublin"]
COUNT = 8

# Offset changes to start near: spring forward and fall back in both zones, this year and after 2037,
# where the zone files' tables end and their POSIX TZ footers take over.
TRANSITIONS = [
    ("Europe/Berlin", datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)),
    ("Europe/Berlin", datetime(2026, 10, 25, 1, 0, tzinfo=timezone.utc)),
    ("Europe/Berlin", datetime(2041, 10, 27, 1, 0, tzinfo=timezone.utc)),
    ("America/New_York", datetime(2026, 3, 8, 7, 0, tzinfo=timezone.utc)),
    ("America/New_York", datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)),
    ("America/New_York", datetime(2040, 3, 11, 7, 0, tzinfo=timezone.utc)),
]

TRICKY = [
    "* * * * *", "*/15 * * * *", "0 * * * *", "30 * * * *", "0 2 * * *", "30 2 * * *", "59 1 * * *", "0 3 * * *",
    "*/20 1-3 * * *", "5 1-3 * * *", "15,45 2 * * *", "0 2,3 * * *", "*/7 0-4 * * *", "0 1 * * *", "45 0 * * *",
    "0 0 29 2 *", "0 0 29 2 1", "0 12 31 * *", "0 0 1 */3 *", "0 0 13 * fri", "0 9 1,15 * mon-fri", "30 4 * jan,JUL sun",
    "@yearly", "@monthly", "@weekly", "@daily", "@hourly", "3-59/10 */6 * * 0,7", "0 0 * * 7", "0 0 31 * *",
]


def jobgate_next(expr, zone, after, count=COUNT):
    run = subprocess.run([jobgate_binary(), "cron-next", expr, "--tz", zone, "--after", str(after), "--count", str(count)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode in (0, 1), run.stderr
    return [int(line) for line in run.stdout.split()]


def croniter_next(expr, zone, after, count=COUNT):
    """croniter's own answer, time zone handling included."""
    it = croniter(expr, datetime.fromtimestamp(after, ZoneInfo(zone)))
    out = []
    try:
        while len(out) < count:
            out.append(int(it.get_next(float)))
    except CroniterBadDateError:
        pass
    return out


def instant_of_wall_time(wall, zone):
    """jobgate's rule for a naive wall-clock time: its first occurrence, or the end of the gap it falls in."""
    first = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    if datetime.fromtimestamp(first, zone).replace(tzinfo=None) == wall:
        return first
    # Skipped: fold=0 read it with the offset from before the gap (an instant after the change),
    # fold=1 with the offset after (an instant before it); the change lies between.
    low, high = int(wall.replace(tzinfo=zone, fold=1).timestamp()), first
    after_gap = datetime.fromtimestamp(high, zone).utcoffset()
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if datetime.fromtimestamp(mid, zone).utcoffset() == after_gap else (mid, high)
    return high


def expected_next(expr, zone, after, count=COUNT):
    """croniter's wall-clock matches (naive datetimes: no DST handling) placed by jobgate's DST rules."""
    tz = ZoneInfo(zone)
    walls = croniter(expr, datetime.fromtimestamp(after, tz).replace(tzinfo=None))
    out = []
    try:
        while len(out) < count:
            instant = instant_of_wall_time(walls.get_next(datetime), tz)
            if instant > after and (not out or instant != out[-1]):
                out.append(instant)
    except CroniterBadDateError:
        pass
    return out


def near_offset_change(instant, zone):
    tz = ZoneInfo(zone)
    return datetime.fromtimestamp(instant - 10800, tz).utcoffset() != datetime.fromtimestamp(instant + 10800, tz).utcoffset()


def compare(expr, zone, after):
    got = jobgate_next(expr, zone, after)
    assert got == expected_next(expr, zone, after), (expr, zone, after)
    theirs = croniter_next(expr, zone, after)
    horizon = min(got[-1] if got else 0, theirs[-1] if theirs else 0)
    disagreements = {t for t in set(got) ^ set(theirs) if t <= horizon}
    assert all(near_offset_change(t, zone) for t in disagreements), (expr, zone, after, sorted(disagreements))
    return bool(disagreements)


def random_field(rng, low, high, names=()):
    def value(lo=low, hi=high):
        v = rng.randint(lo, hi)
        if names and rng.random() < 0.3 and v - low < len(names):
            name = names[v - low]
            return rng.choice([name, name.upper(), name.capitalize()])
        return str(v)

    def item():
        kind = rng.randrange(6)
        if kind == 0:
            return value()
        if kind == 1:
            a = rng.randint(low, high - 1)
            return f"{value(a, a)}-{value(a + 1, high)}"
        if kind == 2:
            return f"*/{rng.randint(2, max(2, (high - low) // 2))}"
        if kind == 3:
            a = rng.randint(low, high - 1)
            return f"{a}-{rng.randint(a + 1, high)}/{rng.randint(2, 5)}"
        if kind == 4:
            return f"{rng.randint(low, high - 1)}/{rng.randint(2, 9)}"
        return ",".join(value() for _ in range(rng.randint(2, 4)))

    return ",".join(item() for _ in range(rng.choice([1, 1, 1, 2])))


def random_expression(rng):
    while True:
        minute = rng.choice(["*", random_field(rng, 0, 59)]) if rng.random() < 0.2 else random_field(rng, 0, 59)
        hour = "*" if rng.random() < 0.4 else random_field(rng, 0, 23)
        dom = "*" if rng.random() < 0.6 else random_field(rng, 1, 31)
        month = "*" if rng.random() < 0.6 else random_field(rng, 1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul",
                                                                           "aug", "sep", "oct", "nov", "dec"])
        # Day-of-week ranges do not start at 7: croniter reads `7-7` as every day.
        dow = "*" if rng.random() < 0.6 else random_field(rng, 0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
        expr = f"{minute} {hour} {dom} {month} {dow}"
        # A day field other than `*` that lists every day is read differently (see
        # CronTests.fullDayFieldStillCombinesWithOr); the generator leaves those out.
        # (croniter's expansion shows such a field as "*" itself when the other day field holds a "*".)
        expanded = croniter.expand(expr)[0]
        full_dom = dom != "*" and (expanded[2] == ["*"] or len(set(expanded[2])) == 31)
        full_dow = dow != "*" and (expanded[4] == ["*"] or len({d % 7 for d in expanded[4]}) == 7)
        if not (full_dom or full_dow):
            return expr


def random_cases():
    rng = random.Random(20260522)
    cases = []
    for _ in range(200):
        expr = random_expression(rng)
        zone = rng.choice(ZONES)
        after = rng.randint(946684800, 2840140800)  # 2000 to 2060
        cases.append((expr, zone, after))
    return cases


@pytest.mark.parametrize("start", range(0, 200, 25))
def test_random_expressions_match_croniter(start):
    for expr, zone, after in random_cases()[start:start + 25]:
        compare(expr, zone, after)


@pytest.mark.parametrize("zone,change", TRANSITIONS, ids=lambda v: str(v))
def test_around_dst_changes(zone, change):
    change = int(change.timestamp())
    disagreed = 0
    exprs = TRICKY + [random_expression(random.Random(change + i)) for i in range(6)]
    for expr in exprs:
        # From before the change, just before it, at it, and inside a repeated hour's second run.
        for delta in (-3 * 3600 - 17, -1800, 0, 600, 3599):
            disagreed += compare(expr, zone, change + delta)
    # Both kinds of change are near: croniter must disagree somewhere (or this test checks nothing DST-specific).
    assert disagreed > 0


def local(zone, *fields, fold=0):
    return int(datetime(*fields, tzinfo=zone, fold=fold).timestamp())


def test_where_croniter_differs_by_design():
    # Fall back in Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET.
    before = local(BERLIN, 2026, 10, 25, 1, 50)
    in_second_run = local(BERLIN, 2026, 10, 25, 2, 10, fold=1)
    cest = [local(BERLIN, 2026, 10, 25, 2, m) for m in (0, 15, 30, 45)]
    cet_three = [local(BERLIN, 2026, 10, 25, 3, m) for m in (0, 15, 30, 45)]
    assert jobgate_next("*/15 * * * *", "Europe/Berlin", before, 8) == cest + cet_three
    assert croniter_next("*/15 * * * *", "Europe/Berlin", before, 8) == cest + [
        local(BERLIN, 2026, 10, 25, 2, m, fold=1) for m in (0, 15, 30, 45)]
    assert jobgate_next("*/15 * * * *", "Europe/Berlin", in_second_run, 2) == cet_three[:2]
    assert croniter_next("*/15 * * * *", "Europe/Berlin", in_second_run, 1) == [local(BERLIN, 2026, 10, 25, 2, 15, fold=1)]
    # croniter runs a daily job in the repeated hour twice as well; jobgate once.
    assert jobgate_next("30 2 * * *", "Europe/Berlin", before, 2) == [
        local(BERLIN, 2026, 10, 25, 2, 30), local(BERLIN, 2026, 10, 26, 2, 30)]
    assert croniter_next("30 2 * * *", "Europe/Berlin", before, 2) == [
        local(BERLIN, 2026, 10, 25, 2, 30), local(BERLIN, 2026, 10, 25, 2, 30, fold=1)]

    # Spring forward in New York, 2026-03-08: 02:00 EST becomes 03:00 EDT.
    spring = local(NEW_YORK, 2026, 3, 8, 1, 20)
    gap_end = local(NEW_YORK, 2026, 3, 8, 3, 0)
    assert jobgate_next("30 * * * *", "America/New_York", spring, 3) == [
        local(NEW_YORK, 2026, 3, 8, 1, 30), gap_end, local(NEW_YORK, 2026, 3, 8, 3, 30)]
    assert croniter_next("30 * * * *", "America/New_York", spring, 2) == [
        local(NEW_YORK, 2026, 3, 8, 1, 30), local(NEW_YORK, 2026, 3, 8, 3, 30)]
    # With a fixed hour both fire the skipped time at the end of the gap.
    assert jobgate_next("30 2 * * *", "America/New_York", spring, 1) == [gap_end]
    assert croniter_next("30 2 * * *", "America/New_York", spring, 1) == [gap_end]


def test_expression_that_never_fires():
    run = subprocess.run([jobgate_binary(), "cron-next", "0 0 30 2 *", "--after", "0"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and run.stdout == ""
    with pytest.raises(CroniterBadDateError):
        croniter("0 0 30 2 *", datetime(1970, 1, 1, tzinfo=timezone.utc)).get_next(float)


@pytest.mark.parametrize("expr,message", [
    ("0 0 * * 8", "cron: day-of-week: 8 is out of range 0-7"),
    ("61 * * * *", "cron: minute: 61 is out of range 0-59"),
    ("0 0 * foo *", 'cron: month: "foo" is not a number or month name'),
    ("0 0 *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 3"),
])
def test_bad_expressions_are_rejected_like_croniter(expr, message):
    run = subprocess.run([jobgate_binary(), "cron-next", expr, "--after", "0"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and run.stderr == f"jobgate: BAD_REQUEST: {message}\n"
    assert not croniter.is_valid(expr)
