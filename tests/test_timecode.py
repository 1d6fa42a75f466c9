"""Timestamps as notes write them: parsing, ranges, and the two ways clipper prints them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipper.core.timecode import format_timestamp, name_timestamp, parse_duration, parse_range, parse_timestamp

HINT = "is not a timestamp (use M:SS, H:MM:SS or seconds, e.g. 1:20:00.5)"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("38", 38.0),
        ("90", 90.0),
        ("0:38", 38.0),
        ("1:35", 95.0),
        ("10:34", 634.0),
        ("1:2", 62.0),
        ("90:00", 5400.0),
        ("1:02:03", 3723.0),
        ("01:02:03", 3723.0),
        ("100:00:00", 360000.0),
        ("1:20:00.5", 4800.5),
        ("0:00.25", 0.25),
        ("3:59:59.999", 14399.999),
        ("  1:35 ", 95.0),
    ],
)
def test_parse_timestamp(text: str, seconds: float) -> None:
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("1:2:3:4", "'1:2:3:4'"),
        ("1h", "'1h'"),
        ("1m30s", "'1m30s'"),
        ("", "''"),
        ("   ", "''"),
        ("abc", "'abc'"),
        ("1:60", "'1:60'"),
        ("1:99", "'1:99'"),
        ("1:30:60", "'1:30:60'"),
        ("-1", "'-1'"),
        ("1.", "'1.'"),
        (".5", "'.5'"),
        ("1:35:", "'1:35:'"),
        ("1,5", "'1,5'"),
        ("1e3", "'1e3'"),
        ("inf", "'inf'"),
        ("١٢", "'١٢'"),  # Arabic-Indic digits: not what yt-dlp reads, so refused with the same hint
    ],
)
def test_parse_timestamp_refuses(text: str, shown: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_timestamp(text)
    assert str(caught.value) == f"{shown} {HINT}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0:38-1:35", (38.0, 95.0)),
        ("3:34-4:30", (214.0, 270.0)),
        ("10:34-11:35", (634.0, 695.0)),
        (" 1:00 - 2:00 ", (60.0, 120.0)),
        ("1:20:00.5-1:21:02.25", (4800.5, 4862.25)),
        ("59-61", (59.0, 61.0)),
    ],
)
def test_parse_range(text: str, expected: tuple[float, float]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1:35-0:38", "range '1:35-0:38' ends before it starts"),
        ("1:00-1:00", "range '1:00-1:00' is empty (it ends where it starts)"),
        (" 2:00-1:59.5 ", "range '2:00-1:59.5' ends before it starts"),
        ("1:00", "'1:00' is not a range (use START-END, e.g. 3:34-4:30)"),
        ("", "'' is not a range (use START-END, e.g. 3:34-4:30)"),
        ("-1:00", f"'' {HINT}"),
        ("1:00-", f"'' {HINT}"),
        ("1:00-2:00-3:00", f"'2:00-3:00' {HINT}"),
        ("1h-2h", f"'1h' {HINT}"),
    ],
)
def test_parse_range_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_range(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (38, "0:38"),
        (95, "1:35"),
        (59.5, "0:59.5"),
        (60, "1:00"),
        (599, "9:59"),
        (3600, "1:00:00"),
        (3723, "1:02:03"),
        (36000, "10:00:00"),
        (4800.5, "1:20:00.5"),
        (38.25, "0:38.25"),
        (0.001, "0:00.001"),
        (0.1 + 0.2, "0:00.3"),
        (4800.1, "1:20:00.1"),
        # Rounded to the millisecond before splitting: no "0:38." or "0:591." from float noise.
        (38.0004, "0:38"),
        (59.9996, "1:00"),
        (3599.9999, "1:00:00"),
    ],
)
def test_format_timestamp(seconds: float, text: str) -> None:
    assert format_timestamp(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0m00s"),
        (38, "0m38s"),
        (214, "3m34s"),
        (367, "6m07s"),
        (634, "10m34s"),
        (3600, "1h00m00s"),
        (3723, "1h02m03s"),
        (38.5, "0m38.5s"),
        (4800.5, "1h20m00.5s"),
        (62.25, "1m02.25s"),
        (38.0004, "0m38s"),
        (59.9996, "1m00s"),
    ],
)
def test_name_timestamp(seconds: float, text: str) -> None:
    assert name_timestamp(seconds) == text


@pytest.mark.parametrize("text", ["0:38", "1:35", "1:02:03", "1:20:00.5", "0:00.25", "10:00:00"])
def test_format_timestamp_round_trips(text: str) -> None:
    assert format_timestamp(parse_timestamp(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10000:00:01", "'10000:00:01' is too late a time (more than 10000 hours)"),
        ("36000001", "'36000001' is too late a time (more than 10000 hours)"),
        # 400 nines: parse_duration reads float("inf"), which later broke file names (round(inf) in name_timestamp)
        ("9" * 400, "'999999999999999999999...' is too late a time (more than 10000 hours)"),
        ("1" + "0" * 300, "'100000000000000000000...' is too late a time (more than 10000 hours)"),
    ],
)
def test_parse_timestamp_refuses_times_past_any_video(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_timestamp(text)
    assert str(caught.value) == message


def test_parse_timestamp_keeps_long_but_possible_times() -> None:
    assert parse_timestamp("10000:00:00") == 36_000_000.0
    assert parse_range("9999:59:00-10000:00:00") == (35_999_940.0, 36_000_000.0)


DURATION_TEXTS = [
    "0", "38", "0:38", "1:35", "10:34", "1:20:00", "1:20:00.5", "59.9996", "0.1", "0.30000000000000004", "007:05",
    "123456789:59:59.123456789", "9" * 400, "1:" + "9" * 400, " 11:39 ", "11:39\n",
    "38s", "0s", "90s", "1m30s", "1h2m3s", "1h", "2m", "1h0m0s", "007m", "9" * 400 + "s", " 38s ",
    # Forms only yt-dlp reads (the fallback): units, ISO 8601, days, a colon fraction, refusals.
    "11m39s", "38S", "1h30", "1m30.5s", "38 s", "1d", "h", "m", "s", "hms",
    "PT1H2M3S", "1:02:03:04", "1:60", "1:02:03:04.5", "1.5 hours", "5 min", "", "  ", "x", "1:2:3:4:5",
]  # fmt: skip


@pytest.mark.parametrize("text", DURATION_TEXTS)
def test_parse_duration_is_yt_dlps(text: str) -> None:
    """The same value (and type) as yt-dlp's parse_duration, to the last bit; timestamps without loading yt-dlp."""
    from yt_dlp.utils import parse_duration as yt_dlp_parse_duration

    expected = yt_dlp_parse_duration(text)
    found = parse_duration(text)
    assert (type(found), repr(found)) == (type(expected), repr(expected))


@settings(max_examples=400, deadline=None)
@given(
    parts=st.lists(st.from_regex(r"\A[0-9]{1,3}\Z"), min_size=1, max_size=3),
    fraction=st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,12}\Z")),
)
def test_parse_duration_of_any_timestamp_is_yt_dlps(parts: list[str], fraction: str) -> None:
    from yt_dlp.utils import parse_duration as yt_dlp_parse_duration

    text = ":".join(parts) + fraction
    expected = yt_dlp_parse_duration(text)
    assert repr(parse_duration(text)) == repr(expected)


@settings(max_examples=200, deadline=None)
@given(parts=st.tuples(*[st.one_of(st.just(""), st.from_regex(r"\A[0-9]{1,4}\Z"))] * 3))
def test_parse_duration_of_any_link_time_is_yt_dlps(parts: tuple[str, str, str]) -> None:
    from yt_dlp.utils import parse_duration as yt_dlp_parse_duration

    text = "".join(number + unit for number, unit in zip(parts, "hms", strict=True) if number)
    assert repr(parse_duration(text)) == repr(yt_dlp_parse_duration(text))
