"""Japanese fiscal years (年度): 1 April to 31 March, named after the year they start in.

令和N年度 = FY(2018+N), 平成N年度 = FY(1988+N); 平成31年度 and 令和元年度 are both FY2019.
Internally a fiscal year is its Gregorian start year as an int (2023); labels are for people.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from budget.errors import UnknownFiscalYear

_ERAS = {"R": 2018, "令和": 2018, "H": 1988, "平成": 1988}
_PATTERN = re.compile(r"^(?:(?P<era>R|H|令和|平成)(?P<n>\d+|元)|(?:FY)?(?P<g>\d{4}))(?:年度?)?$")

#: The care-staff part of the fund began in FY2015 (平成27年度); no plan year is earlier.
FIRST_FUND_YEAR = 2015


def parse_fiscal_year(text: str | int) -> int:
    """``"R5"``, ``"令和5年度"``, ``"2023"``, ``"FY2023"``, ``2023`` → 2023."""
    if isinstance(text, int):
        year = text
    else:
        norm = unicodedata.normalize("NFKC", str(text)).strip().upper().replace(" ", "")
        m = _PATTERN.match(norm)
        if not m:
            raise UnknownFiscalYear(
                f"年度「{text}」を読み取れません。R5、令和5年度、2023 のように指定してください。"
            )
        if m.group("g"):
            year = int(m.group("g"))
        else:
            n = 1 if m.group("n") == "元" else int(m.group("n"))
            year = _ERAS[m.group("era")] + n
    if not 1989 <= year <= 2200:
        raise UnknownFiscalYear(f"年度「{text}」は範囲外です。")
    return year


def era_code(year: int) -> str:
    """2023 → ``"R5"``; 2015 → ``"H27"`` (the short form used in menus and file names)."""
    return f"R{year - 2018}" if year >= 2019 else f"H{year - 1988}"


def era_label(year: int) -> str:
    """2023 → ``"令和5年度"``; 2019 → ``"令和元年度"``."""
    if year >= 2019:
        n = year - 2018
        return f"令和{'元' if n == 1 else n}年度"
    return f"平成{year - 1988}年度"


def full_label(year: int) -> str:
    """2023 → ``"令和5年度（2023年度）"``."""
    return f"{era_label(year)}（{year}年度）"


def period(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of the fiscal year."""
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def fiscal_year_of(day: dt.date) -> int:
    """The fiscal year a date falls in (January–March belong to the previous year)."""
    return day.year if day.month >= 4 else day.year - 1


def local_time(iso: object) -> str:
    """A stored UTC timestamp in local time, ISO 8601 to the second with its offset ("" for
    none: None, NaN, pandas NA); text that is not a timestamp is returned as it is. A
    timestamp without an offset is taken as UTC (the store writes UTC)."""
    if not isinstance(iso, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone().isoformat(timespec="seconds")


def short_time(moment: "str | dt.datetime | None") -> str:
    """A time for people, in local time with its offset: ``2024-05-01T01:11:12+00:00`` →
    ``2024-05-01 10:11:12 (+09:00)`` in Japan ("" for none). Takes an ISO 8601 text (as
    ``local_time`` gives, or as stored: shown in local time) or a datetime (shown in its own
    zone; one without a zone is taken as local time); text that is not a timestamp is
    returned as it is."""
    if isinstance(moment, dt.datetime):
        when = moment if moment.tzinfo is not None else moment.astimezone()
    elif isinstance(moment, str) and moment:
        try:
            when = dt.datetime.fromisoformat(local_time(moment))
        except ValueError:
            return moment
    else:
        return ""
    offset = when.strftime("%z")  # "+0900"
    return f"{when:%Y-%m-%d %H:%M:%S} ({offset[:3]}:{offset[3:]})"
