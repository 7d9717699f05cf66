"""dates: a date as people write it, in seven languages -> ISO 8601 "YYYY-MM-DD", character by character.

    "mercredi 25 novembre 2026"     -> "2026-11-25"
    "the meeting is on Nov 25 2026" -> "2026-11-25"
    "11/25/26"                      -> "2026-11-25"

Why: the output is short and fixed while the input varies in length, language and order (day first,
month first, year first), so the attention must jump around the source to find each field; prefixes
and weekday names are distractors it should learn to ignore. Month and day names come from Babel's
CLDR data, not typed tables. Each source is assembled from pieces, so the span of every field is known
and the gold alignment is exact:

    year digits  <-> source year digits, char by char (2-digit year: its last two target digits
                     char by char, the first two to both source digits)
    month, day   <-> char by char when written with 2 digits; otherwise every character of the
                     month name or the single digit
    '-'          <-> nothing

Two ambiguities are removed so that every source has exactly one right answer: month-first numeric
formats (US "11/25/26") are used only when the day is above 12 or equals the month, and two-digit
years stand for 1950..2049 (so 2050 is always written with four digits).
"""
from __future__ import annotations

import datetime
import functools
import random
import re
import unicodedata

from attn.data.pairs import Pair

LOCALES = ("en", "fr", "de", "es", "it", "pt", "nl")
FIRST_YEAR, LAST_YEAR = 1950, 2050
_FIRST_DAY = datetime.date(FIRST_YEAR, 1, 1).toordinal()
_LAST_DAY = datetime.date(LAST_YEAR, 12, 31).toordinal()

# Field codes (after CLDR/LDML): D day, DD day 2 digits, Do English ordinal day, M / MM month number,
# MMM / MMMM abbreviated / wide month name, YY / YYYY year, EEE / EEEE abbreviated / wide weekday.
_TEMPLATES = {
    "en": ("{MMMM} {D}, {YYYY}", "{EEEE}, {MMMM} {D}, {YYYY}", "{MMM} {D} {YYYY}", "{MMM} {D}, {YYYY}",
           "{D} {MMMM} {YYYY}", "{EEE}, {D} {MMM} {YYYY}", "the {Do} of {MMMM}, {YYYY}",
           "{EEEE}, the {Do} of {MMMM}, {YYYY}", "{MMMM} {Do}, {YYYY}", "{MM}/{DD}/{YYYY}", "{M}/{D}/{YY}"),
    "fr": ("{D} {MMMM} {YYYY}", "{EEEE} {D} {MMMM} {YYYY}", "{D} {MMM} {YYYY}", "{EEE} {D} {MMM} {YYYY}",
           "{DD}/{MM}/{YYYY}", "{D}/{M}/{YY}", "{DD}/{MM}/{YY}"),
    "de": ("{D}. {MMMM} {YYYY}", "{EEEE}, {D}. {MMMM} {YYYY}", "{D}. {MMM} {YYYY}", "{DD}.{MM}.{YYYY}",
           "{D}.{M}.{YY}", "{EEE}, {DD}.{MM}.{YYYY}"),
    "es": ("{D} de {MMMM} de {YYYY}", "{EEEE}, {D} de {MMMM} de {YYYY}", "{D} {MMM} {YYYY}",
           "{DD}/{MM}/{YYYY}", "{D}/{M}/{YY}"),
    "it": ("{D} {MMMM} {YYYY}", "{EEEE} {D} {MMMM} {YYYY}", "{D} {MMM} {YYYY}", "{DD}/{MM}/{YYYY}",
           "{D}/{M}/{YY}", "{DD}-{MM}-{YYYY}"),
    "pt": ("{D} de {MMMM} de {YYYY}", "{EEEE}, {D} de {MMMM} de {YYYY}", "{D} {MMM} {YYYY}",
           "{DD}/{MM}/{YYYY}", "{D}/{M}/{YY}"),
    "nl": ("{D} {MMMM} {YYYY}", "{EEEE} {D} {MMMM} {YYYY}", "{D} {MMM} {YYYY}", "{DD}-{MM}-{YYYY}",
           "{D}-{M}-{YY}"),
}
_EVERYWHERE = ("{YYYY}-{MM}-{DD}", "{YYYY}/{MM}/{DD}", "{YYYY}.{MM}.{DD}")

# Words people put before a date; they lengthen the source and are not aligned to anything.
_PREFIXES = {
    "en": ("on ", "date: ", "due ", "born on ", "deadline: ", "delivered on ", "date of birth: ",
           "the meeting is on ", "the contract expires on ", "please reply no later than "),
    "fr": ("le ", "date : ", "né le ", "échéance : ", "livré le ", "date de naissance : ",
           "la réunion aura lieu le ", "le contrat expire le ", "merci de répondre avant le "),
    "de": ("am ", "Datum: ", "fällig am ", "geboren am ", "geliefert am ", "Geburtsdatum: ",
           "die Besprechung ist am ", "der Vertrag endet am ", "bitte antworten Sie bis zum "),
    "es": ("el ", "fecha: ", "nacido el ", "vence el ", "entregado el ", "fecha de nacimiento: ",
           "la reunión es el ", "el contrato vence el ", "por favor responda antes del "),
    "it": ("il ", "data: ", "nato il ", "scadenza: ", "consegnato il ", "data di nascita: ",
           "la riunione è il ", "il contratto scade il ", "si prega di rispondere entro il "),
    "pt": ("em ", "data: ", "nascido em ", "vencimento: ", "entregue em ", "data de nascimento: ",
           "a reunião é em ", "o contrato expira em ", "por favor responda até "),
    "nl": ("op ", "datum: ", "geboren op ", "vervaldatum: ", "geleverd op ", "geboortedatum: ",
           "de vergadering is op ", "het contract verloopt op ", "graag antwoorden vóór "),
}
_PREFIXES = {k: tuple(unicodedata.normalize("NFC", p) for p in v) for k, v in _PREFIXES.items()}
_CASINGS = (str, str, str.lower, str.upper, str.capitalize)  # applied to month and weekday names
_FIELD = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=None)
def names(locale: str) -> dict[str, tuple[str, ...]]:
    """Babel's month names (index 0 = January) and weekday names (index 0 = Monday) for a locale."""
    from babel.dates import get_day_names, get_month_names

    nfc = functools.partial(unicodedata.normalize, "NFC")
    out = {}
    for code, width in (("MMMM", "wide"), ("MMM", "abbreviated")):
        months = get_month_names(width, "format", locale)
        out[code] = tuple(nfc(months[m]) for m in range(1, 13))
    for code, width in (("EEEE", "wide"), ("EEE", "abbreviated")):
        days = get_day_names(width, "format", locale)
        out[code] = tuple(nfc(days[d]) for d in range(7))
    return out


@functools.lru_cache(maxsize=None)
def _compile(template: str) -> tuple[tuple[str, ...], tuple[str, ...], bool, bool]:
    """Split a template into literals and fields; note whether it writes the month first in numbers
    (ambiguous unless day > 12) and whether it uses a two-digit year."""
    parts = _FIELD.split(template)
    literals, fields = tuple(parts[0::2]), tuple(parts[1::2])
    numeric = [f for f in fields if f in ("D", "DD", "M", "MM")]
    month_first = bool(numeric) and numeric[0] in ("M", "MM") and fields[0] not in ("YYYY", "YY")
    return literals, fields, month_first, "YY" in fields


def _ordinal(day: int) -> str:
    return "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _render(template: str, date: datetime.date, locale: str, casing) -> tuple[str, dict] | None:
    """The source string and each field's (start, end, kind); None when the template is not allowed
    for this date (see the module docstring)."""
    literals, fields, month_first, short_year = _compile(template)
    if (month_first and date.day <= 12 and date.day != date.month) or (short_year and date.year > 2049):
        return None
    table = names(locale)
    out, spans, pos = [], {}, 0
    for literal, code in zip(literals, fields + ("",)):
        out.append(literal)
        pos += len(literal)
        if not code:
            break
        if code in ("MMMM", "MMM"):
            text, field, kind = casing(table[code][date.month - 1]), "month", "name"
        elif code in ("EEEE", "EEE"):
            text, field, kind = casing(table[code][date.weekday()]), None, None
        elif code in ("M", "MM"):
            text, field, kind = (f"{date.month:02d}" if code == "MM" else str(date.month)), "month", "num"
        elif code in ("D", "DD", "Do"):
            text, field, kind = (f"{date.day:02d}" if code == "DD" else str(date.day)), "day", "num"
        else:
            text = str(date.year) if code == "YYYY" else f"{date.year % 100:02d}"
            field, kind = "year", "num"
        if field:
            spans[field] = (pos, pos + len(text), kind)
        if code == "Do":
            text += _ordinal(date.day)
        out.append(text)
        pos += len(text)
    return "".join(out), spans


def _alignment(spans: dict) -> frozenset[tuple[int, int]]:
    """Target "YYYY-MM-DD": positions 0-3 year, 5-6 month, 8-9 day; the dashes stay unaligned."""
    links = set()
    start, end, _ = spans["year"]
    if end - start == 4:
        links.update((t, start + t) for t in range(4))
    else:  # "26": target "20" comes from the two digits together, "26" from each digit
        links.update({(0, start), (0, start + 1), (1, start), (1, start + 1), (2, start), (3, start + 1)})
    for field, first in (("month", 5), ("day", 8)):
        start, end, kind = spans[field]
        if kind == "num" and end - start == 2:
            links.update({(first, start), (first + 1, start + 1)})
        else:
            links.update((t, s) for t in (first, first + 1) for s in range(start, end))
    return frozenset(links)


def generate(rng: random.Random, min_len: int, max_len: int) -> Pair:
    """A date written some way whose character length is drawn uniformly from [min_len, max_len].

    The wanted length is reached by trying a few dates and languages and, for each, every template
    and prefix; when no combination is exact, the closest one is returned (inside the range if any
    was found, so only unreachable ranges such as 60..60 make the loader reject anything).
    """
    want = rng.randint(min_len, max_len)
    best, best_gap = None, None
    for attempt in range(20):  # usually the first date already has an exact fit
        date = datetime.date.fromordinal(rng.randint(_FIRST_DAY, _LAST_DAY))
        locale = rng.choice(LOCALES)
        casing = rng.choice(_CASINGS)
        exact = []
        for template in _TEMPLATES[locale] + _EVERYWHERE:
            rendered = _render(template, date, locale, casing)
            if rendered is None:
                continue
            for prefix in ("",) + _PREFIXES[locale]:
                length = len(prefix) + len(rendered[0])
                if length == want:
                    exact.append((prefix, rendered))
                    continue
                # outside the range counts as farther than any length inside it
                gap = abs(length - want) + (0 if min_len <= length <= max_len else 1000)
                if best is None or gap < best_gap:
                    best, best_gap = (prefix, rendered[0], rendered[1], date), gap
        if exact:
            prefix, (text, spans) = rng.choice(exact)
            return _pair(prefix, text, spans, date)
        if attempt >= 5 and best_gap < 1000:  # tried enough; something in range will do
            break
    return _pair(*best)  # the closest; the loader rejects it if it is outside the range


def _pair(prefix: str, text: str, spans: dict, date: datetime.date) -> Pair:
    shift = len(prefix)
    spans = {k: (a + shift, b + shift, kind) for k, (a, b, kind) in spans.items()}
    return Pair(tuple(prefix + text), tuple(date.isoformat()), _alignment(spans))
