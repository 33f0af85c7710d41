#!/usr/bin/env python3
"""Writes the time zone module's crafted TZif cases: NAME.tzif and NAME.ref.

Each case is one feature of RFC 8536/9636 TZif data or one way it can be
broken. A .ref file is either one line "error: TEXT", where TEXT must occur
in hg_tz_parse()'s error, or lines "EPOCH YYYY-MM-DD HH:MM:SS WEEKDAY OFFSET
DST" (weekday 0 = Monday; '#' starts a comment) that hg_tz_local() must
give. The expected local times, offsets and DST flags are written by hand
here from the rules each case encodes, never copied from the parser; the
script only turns the UTC instants into epochs and the local dates into
weekdays. Real zone files are tested from /usr/share/zoneinfo instead.

Run from anywhere: python3 tests/data/tz/generate.py
"""
import calendar
import datetime
import os
import struct

OUT = os.path.dirname(os.path.abspath(__file__))
CASES = []


def be32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def be64(v):
    return struct.pack(">Q", v & 0xFFFFFFFFFFFFFFFF)


def block(size, times=(), idxs=None, types=((0, 0, 0),), chars=b"UTC\0", leaps=(), isstd=b"", isut=b""):
    """A data block with SIZE-byte times; its counts; TYPES are (utoff, isdst, desigidx)."""
    if idxs is None:
        idxs = [0] * len(times)
    pack = be64 if size == 8 else be32
    data = b"".join(pack(t) for t in times) + bytes(idxs)
    data += b"".join(struct.pack(">iBB", off, dst, idx) for off, dst, idx in types)
    data += chars + b"".join(pack(t) + be32(c) for t, c in leaps) + bytes(isstd) + bytes(isut)
    counts = {"isut": len(isut), "isstd": len(isstd), "leap": len(leaps), "time": len(times),
              "type": len(types), "char": len(chars)}
    return counts, data


def header(version, counts, **override):
    c = dict(counts)
    c.update(override)
    return (b"TZif" + version + b"\0" * 15 +
            b"".join(be32(c[k]) for k in ("isut", "isstd", "leap", "time", "type", "char")))


def tzif(version=b"2", footer=b"", v1=None, counts1=None, counts2=None, end=None, magic2=b"TZif", **blk):
    """TZif data: version 1 alone when VERSION is NUL, else a version 1 block (by default
    the minimal one zic -b slim writes), the 64-bit block and the footer. COUNTS1/COUNTS2
    override header counts; END replaces "\\n" FOOTER "\\n"."""
    if version == b"\0":
        counts, data = block(4, **blk)
        return header(version, counts, **(counts1 or {})) + data
    v1counts, v1data = v1 if v1 is not None else block(4)
    counts, data = block(8, **blk)
    second = magic2 + header(version, counts, **(counts2 or {}))[4:]
    tail = end if end is not None else b"\n" + footer + b"\n"
    return header(version, v1counts, **(counts1 or {})) + v1data + second + data + tail


def epoch(utc):
    return calendar.timegm(datetime.datetime.strptime(utc, "%Y-%m-%d %H:%M:%S").timetuple())


def at(utc, local, offset, dst):
    """UTC instant (text or epoch), the local time expected there, its offset and DST flag."""
    t = utc if isinstance(utc, int) else epoch(utc)
    y, m, d = (int(x) for x in local.split(" ")[0].split("-"))
    wday = None
    if y <= 9999:  # a check on the hand-written local time, not a source of it
        wday = datetime.date(y, m, d).weekday()
        clamped = min(max(t, -62135596800), 253402300799)
        shown = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=clamped + offset)
        assert shown.strftime("%Y-%m-%d %H:%M:%S").lstrip("0") == local.lstrip("0"), (utc, local, shown)
    return (t, local, wday, offset, dst, utc if isinstance(utc, str) else "")


def good(name, data, *points):
    CASES.append((name, data, points, None))


def bad(name, data, error):
    CASES.append((name, data, None, error))


STD_DST = dict(types=((3600, 0, 0), (7200, 1, 4)), chars=b"STD\0DST\0")

# ----------------------------------------------------------------------------
# Data that parses.

good("v1-two-transitions",
     tzif(b"\0", times=(1000000000, 1010000000), idxs=(1, 0), **STD_DST),
     at(0, "1970-01-01 01:00:00", 3600, 0),  # before the first transition: type 0
     at(999999999, "2001-09-09 02:46:39", 3600, 0),
     at(1000000000, "2001-09-09 03:46:40", 7200, 1),
     at(1009999999, "2002-01-02 21:33:19", 7200, 1),
     at(1010000000, "2002-01-02 20:33:20", 3600, 0),
     at(2000000000, "2033-05-18 04:33:20", 3600, 0))  # no footer in version 1: the last type

good("pre-first-is-type-0",  # RFC 9636 3.2: type 0, even when it is DST (glibc 2.36 guesses otherwise)
     tzif(b"\0", times=(1000000000,), idxs=(1,), types=((7200, 1, 4), (3600, 0, 0)), chars=b"STD\0DST\0"),
     at(999999999, "2001-09-09 03:46:39", 7200, 1),
     at(1000000000, "2001-09-09 02:46:40", 3600, 0))

good("v2-skips-v1-block",  # the version 1 block says +03:25:45, the 64-bit one is read
     tzif(b"2", v1=block(4, types=((12345, 0, 0),)), times=(1000000000, 1010000000), idxs=(1, 0), **STD_DST),
     at(0, "1970-01-01 01:00:00", 3600, 0),
     at(1000000000, "2001-09-09 03:46:40", 7200, 1),
     at(2000000000, "2033-05-18 04:33:20", 3600, 0))  # empty footer: the last type

good("v2-footer-only",  # no transitions: the footer holds for all times
     tzif(b"2", footer=b"EST5EDT,M3.2.0,M11.1.0", types=((-18000, 0, 0),), chars=b"EST\0"),
     at("2026-03-08 06:59:59", "2026-03-08 01:59:59", -18000, 0),
     at("2026-03-08 07:00:00", "2026-03-08 03:00:00", -14400, 1),
     at("2026-11-01 05:59:59", "2026-11-01 01:59:59", -14400, 1),
     at("2026-11-01 06:00:00", "2026-11-01 01:00:00", -18000, 0),
     at("1950-07-01 12:00:00", "1950-07-01 08:00:00", -14400, 1))

good("v2-footer-after-last",  # type 0 before the only transition, the footer from it on
     tzif(b"2", footer=b"CET-1CEST,M3.5.0,M10.5.0/3", times=(0,), idxs=(1,),
          types=((0, 0, 0), (3600, 0, 4)), chars=b"LMT\0CET\0"),
     at(-1, "1969-12-31 23:59:59", 0, 0),
     at(0, "1970-01-01 01:00:00", 3600, 0),
     at("2026-03-29 00:59:59", "2026-03-29 01:59:59", 3600, 0),
     at("2026-03-29 01:00:00", "2026-03-29 03:00:00", 7200, 1),
     at("2026-10-25 00:59:59", "2026-10-25 02:59:59", 7200, 1),
     at("2026-10-25 01:00:00", "2026-10-25 02:00:00", 3600, 0))

good("v3-negative-rule-time",  # America/Nuuk: DST from Saturday 23:00 to Saturday 24:00
     tzif(b"3", footer=b"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", types=((-7200, 0, 0),), chars=b"-02\0"),
     at("2026-03-29 00:59:59", "2026-03-28 22:59:59", -7200, 0),
     at("2026-03-29 01:00:00", "2026-03-29 00:00:00", -3600, 1),
     at("2026-10-25 00:59:59", "2026-10-24 23:59:59", -3600, 1),
     at("2026-10-25 01:00:00", "2026-10-24 23:00:00", -7200, 0))

good("v3-rule-hour-26",  # Asia/Jerusalem: from 26:00 on the fourth Thursday of March
     tzif(b"3", footer=b"IST-2IDT,M3.4.4/26,M10.5.0", types=((7200, 0, 0),), chars=b"IST\0"),
     at("2026-03-26 23:59:59", "2026-03-27 01:59:59", 7200, 0),
     at("2026-03-27 00:00:00", "2026-03-27 03:00:00", 10800, 1),
     at("2026-10-24 22:59:59", "2026-10-25 01:59:59", 10800, 1),
     at("2026-10-24 23:00:00", "2026-10-25 01:00:00", 7200, 0))

good("v3-permanent-dst",  # RFC 9636 3.3.1: DST all year
     tzif(b"3", footer=b"EST5EDT,0/0,J365/25", types=((-14400, 1, 0),), chars=b"EDT\0"),
     at("2026-01-01 03:59:59", "2025-12-31 23:59:59", -14400, 1),
     at("2026-01-01 04:59:59", "2026-01-01 00:59:59", -14400, 1),
     at("2026-01-01 05:00:00", "2026-01-01 01:00:00", -14400, 1),
     at("2026-07-01 12:00:00", "2026-07-01 08:00:00", -14400, 1),
     at("2028-12-31 23:00:00", "2028-12-31 19:00:00", -14400, 1),
     at("2029-01-01 04:30:00", "2029-01-01 00:30:00", -14400, 1))

good("southern-hemisphere",  # America/Santiago: DST ends in April, starts in September
     tzif(b"2", footer=b"<-04>4<-03>,M9.1.6/24,M4.1.6/24", types=((-14400, 0, 0),), chars=b"-04\0"),
     at("2026-01-15 12:00:00", "2026-01-15 09:00:00", -10800, 1),
     at("2026-04-05 02:59:59", "2026-04-04 23:59:59", -10800, 1),
     at("2026-04-05 03:00:00", "2026-04-04 23:00:00", -14400, 0),
     at("2026-09-06 03:59:59", "2026-09-05 23:59:59", -14400, 0),
     at("2026-09-06 04:00:00", "2026-09-06 01:00:00", -10800, 1),
     at("2026-12-31 23:59:59", "2026-12-31 20:59:59", -10800, 1))

good("negative-dst",  # Europe/Dublin: standard time in summer, "DST" (GMT) in winter
     tzif(b"2", footer=b"IST-1GMT0,M10.5.0,M3.5.0/1", types=((3600, 0, 0),), chars=b"IST\0"),
     at("2026-01-15 12:00:00", "2026-01-15 12:00:00", 0, 1),
     at("2026-03-29 00:59:59", "2026-03-29 00:59:59", 0, 1),
     at("2026-03-29 01:00:00", "2026-03-29 02:00:00", 3600, 0),
     at("2026-07-01 12:00:00", "2026-07-01 13:00:00", 3600, 0),
     at("2026-10-25 00:59:59", "2026-10-25 01:59:59", 3600, 0),
     at("2026-10-25 01:00:00", "2026-10-25 01:00:00", 0, 1))

good("julian-and-zero-based-rules",  # J60 is 1 March even in leap years; day 300 counts 29 February
     tzif(b"2", footer=b"XXX3YYY,J60,300", types=((-10800, 0, 0),), chars=b"XXX\0"),
     at("2028-02-29 12:00:00", "2028-02-29 09:00:00", -10800, 0),
     at("2028-03-01 04:59:59", "2028-03-01 01:59:59", -10800, 0),
     at("2028-03-01 05:00:00", "2028-03-01 03:00:00", -7200, 1),
     at("2027-10-28 03:59:59", "2027-10-28 01:59:59", -7200, 1),
     at("2027-10-28 04:00:00", "2027-10-28 01:00:00", -10800, 0),
     at("2028-10-27 03:59:59", "2028-10-27 01:59:59", -7200, 1),
     at("2028-10-27 04:00:00", "2028-10-27 01:00:00", -10800, 0))

good("dst-starts-in-the-year-before",  # day 0 at -12:00 is 31 December of the year before
     tzif(b"3", footer=b"<+10>-10<+11>,0/-12,J200", types=((36000, 0, 0),), chars=b"+10\0"),
     at("2026-12-31 01:59:59", "2026-12-31 11:59:59", 36000, 0),
     at("2026-12-31 02:00:00", "2026-12-31 13:00:00", 39600, 1),
     at("2027-01-01 00:00:00", "2027-01-01 11:00:00", 39600, 1),
     at("2027-07-18 14:59:59", "2027-07-19 01:59:59", 39600, 1),
     at("2027-07-18 15:00:00", "2027-07-19 01:00:00", 36000, 0))

good("dst-ends-in-the-year-after",  # 31 December 02:00 at -23:00 is 1 January UTC
     tzif(b"2", footer=b"WWW+24:59:59VVV+23,M1.1.1,M12.5.6", types=((-89999, 0, 0),), chars=b"WWW\0"),
     at("1978-01-01 00:59:59", "1977-12-31 01:59:59", -82800, 1),
     at("1978-01-01 01:00:00", "1977-12-31 00:00:01", -89999, 0),
     at("1978-01-03 02:59:58", "1978-01-02 01:59:59", -89999, 0),
     at("1978-01-03 02:59:59", "1978-01-02 03:59:59", -82800, 1))

good("dst-without-rules",  # the US rules glibc and tzcode fall back on
     tzif(b"2", footer=b"EST5EDT", types=((-18000, 0, 0),), chars=b"EST\0"),
     at("2026-01-15 12:00:00", "2026-01-15 07:00:00", -18000, 0),
     at("2026-07-01 12:00:00", "2026-07-01 08:00:00", -14400, 1))

good("explicit-dst-offset",  # Australia/Lord_Howe: DST is 30 minutes ahead
     tzif(b"2", footer=b"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", types=((37800, 0, 0),), chars=b"+1030\0"),
     at("2026-04-04 14:59:59", "2026-04-05 01:59:59", 39600, 1),
     at("2026-04-04 15:00:00", "2026-04-05 01:30:00", 37800, 0),
     at("2026-10-03 15:29:59", "2026-10-04 01:59:59", 37800, 0),
     at("2026-10-03 15:30:00", "2026-10-04 02:30:00", 39600, 1))

good("fixed-offset-footer",
     tzif(b"2", footer=b"<+0545>-5:45", types=((20700, 0, 0),), chars=b"+0545\0"),
     at("2026-01-01 00:00:00", "2026-01-01 05:45:00", 20700, 0))

good("future-version",  # a later version digit and bytes after the footer are for newer readers
     tzif(b"5", footer=b"<+03>-3", types=((10800, 0, 0),), chars=b"+03\0", end=b"\n<+03>-3\nmore data\n"),
     at("2026-01-01 00:00:00", "2026-01-01 03:00:00", 10800, 0))

good("indicators",  # standard/wall and UT/local indicators are read past, not used
     tzif(b"2", times=(0,), idxs=(1,), isstd=b"\1\1", isut=b"\0\1", **STD_DST),
     at(-1, "1970-01-01 00:59:59", 3600, 0),
     at(0, "1970-01-01 02:00:00", 7200, 1))

good("extreme-times",  # the big bang transition and one past year 9999; epochs are clamped
     tzif(b"2", times=(-(2 ** 59), 2 ** 62), idxs=(1, 0), types=((600, 0, 0), (3600, 0, 4)),
          chars=b"LMT\0STD\0"),
     at(-(2 ** 63), "0001-01-01 01:00:00", 3600, 0),
     at(-62135596801, "0001-01-01 01:00:00", 3600, 0),
     at(2 ** 63 - 1, "10000-01-01 00:59:59", 3600, 0),
     at(0, "1970-01-01 01:00:00", 3600, 0))

# ----------------------------------------------------------------------------
# Data that must be refused.

BERLIN_LIKE = dict(footer=b"CET-1CEST,M3.5.0,M10.5.0/3", times=(0,), idxs=(1,), **STD_DST)

bad("bad-magic", b"TZiF" + tzif(**BERLIN_LIKE)[4:], "not TZif data")
bad("bad-version", tzif(b"1", **BERLIN_LIKE), "unknown TZif version byte 0x31")
bad("short-header", tzif(**BERLIN_LIKE)[:30], "fewer than the 44 of a header")
bad("truncated-v1-block", tzif(b"\0", **STD_DST)[:-3], "the version 1 header announces")
bad("missing-v2-header", tzif(**BERLIN_LIKE)[:44 + 4 + 6 + 4], "the version 2+ header at byte 54 needs 44")
bad("v2-header-bad-magic", tzif(magic2=b"TZXX", **BERLIN_LIKE), "where the version 2+ header belongs")
bad("truncated-v2-block", tzif(**BERLIN_LIKE)[:120], "the version 2+ header announces")
bad("huge-timecnt", tzif(counts2={"time": 0xFFFFFFFF}, **BERLIN_LIKE), "4294967295 transitions")
bad("huge-v1-counts", tzif(counts1={"time": 0xFFFFFFFF, "char": 0xFFFFFFFF}, **BERLIN_LIKE),
    "the version 1 header announces")
bad("v1-huge-typecnt", tzif(b"\0", counts1={"type": 0xFFFFFFFF}, **STD_DST), "4294967295 local time types")
bad("zero-types", tzif(counts2={"type": 0, "char": 16}, **BERLIN_LIKE), "no local time types")
bad("too-many-types", tzif(types=[(0, 0, 0)] * 257), "257 local time types")
bad("zero-chars", tzif(types=((0, 0, 0),), chars=b""), "no designation bytes")
bad("too-many-chars", tzif(chars=b"UTC\0" * 257), "1028 designation bytes")
bad("leap-seconds", tzif(leaps=((78796800, 1),)), "leap-second records (a \"right/\" zone)")
bad("isstd-count", tzif(isstd=b"\0", **STD_DST), "1 standard/wall indicators for 2 types")
bad("isut-count", tzif(isstd=b"\0\0\0", isut=b"\0\0", types=((0, 0, 0),) * 3), "2 UT/local indicators")
bad("indicator-not-boolean", tzif(isstd=b"\0\2", **STD_DST), "is not 0 or 1")
bad("ut-but-wall", tzif(isstd=b"\1\0", isut=b"\0\1", **STD_DST), "is UT but not standard time")
bad("not-ascending", tzif(times=(100, 50), idxs=(1, 0), **STD_DST), "transition 1 (50) is not after")
bad("equal-times", tzif(times=(100, 100), idxs=(1, 0), **STD_DST), "transition 1 (100) is not after")
bad("v1-not-ascending", tzif(b"\0", times=(100, -5), idxs=(1, 0), **STD_DST), "transition 1 (-5)")
bad("type-index", tzif(times=(100,), idxs=(2,), **STD_DST), "names local time type 2, but there are 2")
bad("utoff-int-min", tzif(types=((-(2 ** 31), 0, 0),)), "UT offset -2147483648")
bad("utoff-26-hours", tzif(types=((93600, 0, 0),)), "outside -89999..93599")
bad("isdst-2", tzif(types=((0, 2, 0),)), "isdst 2")
bad("desigidx-out", tzif(types=((0, 0, 4),)), "(index 4) is not a NUL-terminated string")
bad("desig-no-nul", tzif(chars=b"UTC"), "is not a NUL-terminated string")
bad("footer-missing", tzif(end=b""), "the footer is missing")
bad("footer-no-newline", tzif(end=b"UTC0\n"), "is not a newline")
bad("footer-unterminated", tzif(end=b"\nUTC0"), "no closing newline")
bad("footer-too-long", tzif(footer=b"<+03>-3" + b" " * 300), "longer than 255 bytes")
for name, footer, error in [
        ("short-name", b"CE-1", "abbreviation of at least 3"),
        ("no-offset", b"CET", "expected hours"),
        ("offset-25", b"CET-25", "offset hours out of range 0-24"),
        ("offset-4-digits", b"CET-0001", "expected hours"),
        ("minutes-60", b"CET-1:60", "minutes 00-59"),
        ("seconds-60", b"CET-1:00:60", "seconds 00-59"),
        ("unclosed-quote", b"<+03-3", "no closing '>'"),
        ("space-in-quote", b"<+0 3>-3", "no closing '>'"),
        ("short-quoted", b"<+3>-3", "abbreviation of at least 3"),
        ("nul-byte", b"CET\0-1", "expected hours"),
        ("one-rule", b"CET-1CEST,M3.5.0", "expected ',' and the end rule"),
        ("semicolon", b"CET-1CEST;M3.5.0,M10.5.0", "expected ',' and the start rule"),
        ("month-13", b"CET-1CEST,M13.5.0,M10.5.0/3", "month 1-12"),
        ("week-6", b"CET-1CEST,M3.6.0,M10.5.0/3", "week 1-5"),
        ("weekday-7", b"CET-1CEST,M3.5.7,M10.5.0/3", "weekday 0-6"),
        ("missing-dot", b"CET-1CEST,M3.5,M10.5.0/3", "expected '.' after the week"),
        ("julian-0", b"CET-1CEST,J0,J300", "day 1-365"),
        ("day-366", b"CET-1CEST,366,300", "day 0-365"),
        ("time-168", b"CET-1CEST,M3.5.0/168,M10.5.0/3", "hours out of range -167..167"),
        ("empty-time", b"CET-1CEST,M3.5.0/,M10.5.0/3", "expected hours"),
        ("no-rule", b"CET-1CEST,X3,M10.5.0", "expected a rule"),
        ("junk-after", b"CET-1CEST,M3.5.0,M10.5.0/3x", "unexpected character after the end rule"),
        ("trailing-space", b"UTC0 ", "expected an abbreviation"),
]:
    bad("footer-" + name, tzif(footer=footer), error)


def main():
    for f in os.listdir(OUT):
        if f.endswith(".tzif") or f.endswith(".ref"):
            os.remove(os.path.join(OUT, f))
    for name, data, points, error in CASES:
        with open(os.path.join(OUT, name + ".tzif"), "wb") as f:
            f.write(data)
        with open(os.path.join(OUT, name + ".ref"), "w") as f:
            if error is not None:
                f.write("error: %s\n" % error)
                continue
            for t, local, wday, offset, dst, utc in points:
                if wday is None:  # past 9999-12-31: 10000-01-01 follows a Friday
                    wday = 5
                comment = "  # %sZ" % utc if utc else ""
                f.write("%d %s %d %d %d%s\n" % (t, local, wday, offset, dst, comment))
    print("wrote %d cases to %s" % (len(CASES), OUT))


main()
