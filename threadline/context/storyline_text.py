"""What an item's words say, for storylines: salient terms, a title, status cues, a date.

Everything here is a pure function of one item (its title, text and the people on it), so
an edge between two items depends on those two items alone. Term rarity is decided by fixed
rules, never by counting the store: a document frequency would change with every import and
make the graph depend on the order items arrived in.

- Salient terms: lower-case words after a fixed stopword list, the names of the item's own
  people and clients, and calendar boilerplate; a light suffix strip so "fixes" meets "fix".
  Identifier-like tokens (``form_submit``, ``INV-4821``, ``502s``, ``dataLayer``, anything in
  backticks) are *strong*: two items quoting the same identifier are very likely one matter.
- A title: an email subject without Re:/Fwd:, a calendar or Notion title, else the first
  sentence of a Slack message with mentions stripped.
- Status cues: words that say a matter is finished, and requests that wait for an answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import lru_cache

TITLE_LIMIT = 80

_URL = re.compile(r"(?:https?://|mailto:|www\.)\S+|\S+@\S+\.\w+")
_CODE = re.compile(r"`([^`\s][^`]*)`")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]|[A-Za-z]")
_CAMEL = re.compile(r"[a-z][A-Z]")
_DIGIT = re.compile(r"[0-9]")
_ALPHA = re.compile(r"[A-Za-z]")
# Calendar item text starts with a header the importer writes: not what the event is about.
_BOILERPLATE = re.compile(r"^(when|where|organizer|attendees|status|recurrence):", re.I)
# Notion properties render as "Name: value" lines: the names are the database's, not the
# page's words.
_PROPERTY = re.compile(r"^[A-Z][\w ]{0,30}:\s", re.M)
_MENTION = re.compile(r"(^|\s)@[\w.\-]+(\s[A-Z][\w\-]+)?")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s|\n")

_STOPWORDS = frozenset(re.findall(r"\S+", """
a about above after again against all almost also am an and any anyone are as at back be
because been before being below between both but by can cannot could did do does doing don
done down during each either else even ever every few for from further get gets getting go
going got had has have having he her here hers herself him himself his how however i if in
into is isn it its itself just let lets like ll made make many may me might more most much
must my myself need needs neither no nor not now of off on once one only or other our ours
ourselves out over own per please quite rather re really s same see seems shall she should
since so some still such sure t than that the their theirs them themselves then there these
they this those though through thus to too under until up upon us ve very via was we well
were what when where whether which while who whom whose why will with within without would
yes yet you your yours yourself yourselves
hi hello hey dear thanks thank cheers best regards kind br ok okay great good nice cool
sounds yeah yep sorry fyi asap quick note update updates today tomorrow yesterday tonight
morning afternoon evening week weeks weekly day days daily month months year years time
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs
fri sat sun january february march april june july august september october november
december jan feb mar apr jun jul aug sep sept oct nov dec eod cob am pm
team everyone all folks guys let know think want wanted looks look looking new next last
first second two three four five six seven eight nine ten lot bit thing things something
able around already another anything etc e g ie via will shall get got put take taken
"""))

_RESOLVED = re.compile(
    r"\b(fixed|resolved|shipped|deployed|done|closed|completed?|merged|went live|is live|"
    r"rolled back|signed off|approved|sorted)\b",
    re.I,
)
_NOT_RESOLVED = re.compile(r"\b(not|never|isn't|wasn't|hasn't|haven't|no longer)\s+\w*\s*"
                           r"(fixed|resolved|done|shipped|deployed)\b", re.I)
_REQUEST = re.compile(
    r"\b(can you|could you|would you|will you|please (confirm|send|check|review|let us know|"
    r"advise|approve)|let (me|us) know|waiting (on|for)|awaiting|any update|confirm by)\b",
    re.I,
)
_DONE_STATUS = re.compile(r"^status:\s*(done|complete|completed|closed|shipped)\s*$", re.I | re.M)
_OPEN_STATUS = re.compile(r"^status:\s*(not started|in progress|blocked|to do|todo)\s*$",
                          re.I | re.M)

_MONTHS = {m: n for n, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_WEEKDAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_DAY_MONTH = re.compile(
    r"\b(?:(mon|tue|wed|thu|fri|sat|sun)[a-z]*,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:,?\s+(\d{4}))?\b",
    re.I,
)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_NAME_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+")


def _stem(word: str) -> str:
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 5 and word.endswith("ed"):
        word = word[:-2]
    # "move", "moved", "moving" all end as "mov".
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def _is_identifier(raw: str) -> bool:
    # Tokens are ASCII (see _TOKEN), so the regexes say what isdigit/isalpha would.
    return ("_" in raw or (bool(_DIGIT.search(raw)) and bool(_ALPHA.search(raw)))
            or bool(_CAMEL.search(raw)))


def name_words(names: Iterable[str]) -> frozenset[str]:
    """Words of people's and clients' names, which say who, never what."""
    return _name_words(tuple(names))


# Most items of a place share their author and client, so the same names come again and
# again: a rebuild of 100k items asked for 195k sets, of 1,641 different names.
@lru_cache(maxsize=1 << 12)
def _name_words(names: tuple[str, ...]) -> frozenset[str]:
    found: set[str] = set()
    for name in names:
        for word in _NAME_WORD.findall(name):
            found.add(word.lower().removesuffix("'s"))
    return frozenset(found)


def strip_boilerplate(text: str) -> str:
    kept = (line for line in text.splitlines() if not _BOILERPLATE.match(line.strip()))
    return _PROPERTY.sub(" ", "\n".join(kept))


# A pure function of its arguments, asked again for the same item by every fold whose
# neighbourhood reaches it (and by chatter, without names): worth remembering.
@lru_cache(maxsize=1 << 15)
def salient_terms(
    title: str | None, text: str, ignore: frozenset[str] = frozenset()
) -> tuple[frozenset[str], frozenset[str]]:
    """(terms, strong terms) of an item; ``ignore`` holds the names of its people."""
    body = _URL.sub(" ", f"{title or ''}\n{strip_boilerplate(text)}")
    terms: set[str] = set()
    strong: set[str] = set()
    for code in _CODE.findall(body):
        for raw in _TOKEN.findall(code):
            if len(raw) >= 3 and any(ch.isalpha() for ch in raw):
                key = raw.lower().replace("-", "_")
                terms.add(key)
                strong.add(key)
    for raw in _TOKEN.findall(_CODE.sub(" ", body)):
        lower = raw.lower()
        if lower in _STOPWORDS or lower in ignore or lower.removesuffix("s") in ignore:
            continue
        if raw.isdigit():
            # Short numbers are counts and dates; long ones (amounts, ids) can identify.
            if len(raw) >= 3 and not (len(raw) == 4 and raw[:2] in ("19", "20")):
                terms.add(raw)
            continue
        if _is_identifier(raw):
            key = lower.replace("-", "_")
            terms.add(key)
            strong.add(key)
            continue
        if len(lower) < 3:
            continue
        for part in lower.split("-"):
            if len(part) >= 3 and part not in _STOPWORDS and part not in ignore:
                terms.add(_stem(part))
    return frozenset(terms), frozenset(strong)


def clean_subject(subject: str) -> str:
    return _SUBJECT_PREFIX.sub("", subject).strip()


def shorten(text: str, limit: int = TITLE_LIMIT) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return (cut or flat[: limit - 1]).rstrip(" ,;:-") + "…"


def first_sentence(text: str) -> str:
    plain = _MENTION.sub(" ", _URL.sub(" ", text)).strip()
    for piece in _SENTENCE.split(plain):
        if len(piece.strip()) > 3:
            return piece.strip()
    return plain


def item_title(platform: str, title: str | None, text: str) -> str | None:
    """The title an item offers a storyline, or None (a Slack message offers its first
    sentence only as a last resort, decided by the caller)."""
    if title and title.strip():
        return clean_subject(title) if platform == "email" else title.strip()
    return None


_TITLE_RANK = {"email": 0, "calendar": 1, "notion": 2}


def choose_title(items: list[tuple[str, str | None, str]]) -> str:
    """From (platform, title, text) in time order: the earliest email subject, else the
    earliest calendar title, else Notion title, else the first sentence of the first
    message that has one."""
    best: tuple[int, str] | None = None
    for platform, title, text in items:
        offered = item_title(platform, title, text) if platform in _TITLE_RANK else None
        if offered and (best is None or _TITLE_RANK[platform] < best[0]):
            best = (_TITLE_RANK[platform], offered)
    if best is not None:
        return shorten(best[1])
    for _platform, _title, text in items:
        sentence = first_sentence(text)
        if sentence:
            return shorten(sentence)
    return "(untitled)"


def cue_sentence(text: str, cue: str) -> str:
    """The sentence of ``text`` that holds ``cue``, to quote it."""
    for sentence in _SENTENCE.split(_URL.sub(" ", text)):
        if cue.lower() in sentence.lower():
            return sentence.strip()
    return first_sentence(text)


def resolved_cue(text: str) -> str | None:
    """The phrase that says the matter is finished, if the text says so."""
    if _OPEN_STATUS.search(text):
        return None
    status = _DONE_STATUS.search(text)
    if status:
        return status.group(0).strip()
    if _NOT_RESOLVED.search(text):
        return None
    found = _RESOLVED.search(text)
    return found.group(0) if found else None


def request_cue(text: str) -> str | None:
    """The sentence that asks someone for something, if the text asks."""
    for sentence in _SENTENCE.split(_URL.sub(" ", text)):
        piece = sentence.strip()
        if piece and (piece.endswith("?") or _REQUEST.search(piece)):
            return piece
    return None


def mentioned_date(title: str | None, text: str, near: datetime | None) -> datetime | None:
    """A day written in an undated page ("Decision — CMS (Thu 29 Oct)", "Date: 3 Nov"),
    placed in the year that fits its weekday (else the one nearest ``near``)."""
    for source in (title or "", text[:2000]):
        iso = _ISO_DATE.search(source)
        if iso:
            try:
                return datetime(int(iso[1]), int(iso[2]), int(iso[3]), 12, tzinfo=UTC)
            except ValueError:
                pass
        found = _DAY_MONTH.search(source)
        if not found:
            continue
        weekday, day, month, year = found.groups()
        month_n = _MONTHS[month.lower()[:3]]
        if year:
            years = [int(year)]
        else:
            base = (near or datetime.now(UTC)).year
            years = [base, base - 1, base + 1, base - 2]
        options = []
        for candidate in years:
            try:
                options.append(date(candidate, month_n, int(day)))
            except ValueError:
                continue
        if weekday:
            fitting = [d for d in options if d.weekday() == _WEEKDAY[weekday.lower()[:3]]]
            options = fitting or options
        if options:
            chosen = options[0]
            return datetime(chosen.year, chosen.month, chosen.day, 12, tzinfo=UTC)
    return None
