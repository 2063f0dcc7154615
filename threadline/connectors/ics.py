"""The ``ics`` importer: an iCalendar file, or a folder of them, to one record per instance.

Each file is indexed in one streaming pass (``ics_scan``), then read one UID at a time:
its VEVENTs (the series and its RECURRENCE-ID overrides) are parsed on their own and
expanded by recurring-ical-events (``ics_expand``), and every instance becomes an
ItemRecord (``ics_record``). A broken VEVENT, VTIMEZONE or truncated tail is quarantined
and the rest of the file is still read; a file that holds no event at all yields one
QuarantineRecord for the file, so a folder import always goes on. ImportFailed is raised
only when no file could be opened.

Open-ended series are expanded over a window, by default two years back and one year
ahead of ``now``; one-off events and series that end (UNTIL, COUNT, RDATE only) are read
whole. Either way a series stops at ``max_instances`` instances, with a quarantine note.
VTODO, VJOURNAL and other non-event components are skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Component

from threadline.connectors.ics_expand import Expansion, ParsedEvent, expand, parse_event
from threadline.connectors.ics_record import CalendarFile, build_item, people_of
from threadline.connectors.ics_scan import (
    MAX_QUARANTINE_BYTES,
    Block,
    FileIndex,
    count_events,
    decode,
    read_bytes,
    read_header,
    scan,
)
from threadline.connectors.import_units import (
    fingerprint,
    finish_unit,
    known_count,
    skipped,
    unit_name,
)
from threadline.errors import ConfigError, ImportFailed
from threadline.records import (
    IdentityRecord,
    IdentityRef,
    KnownUnits,
    QuarantineRecord,
    Record,
    SourceInfo,
)

DEFAULT_MAX_INSTANCES = 5000
_WINDOW_BACK = timedelta(days=730)
_WINDOW_AHEAD = timedelta(days=365)
# In every UID's fingerprint: bump it when a change here alters the records of a UID.
IMPORTER_VERSION = "ics/1"
_FOLDED = re.compile(r"\r?\n[ \t]")
_BOUNDED_RULE = re.compile(r"(?:^|;)\s*(?:UNTIL|COUNT)\s*=", re.IGNORECASE)


class IcsImporter:
    """Reads .ics files.

    Options: ``now``, ``window_start``, ``window_end`` (datetimes or ISO strings; naive
    means UTC) bound open-ended series; ``default_tz`` (an IANA name, default UTC) is the
    zone of floating times when the calendar has no X-WR-TIMEZONE; ``max_instances`` caps
    the instances of one series.
    """

    name = "ics"
    known_units: KnownUnits | None = None
    """Set by the runner: UIDs imported before with the same fingerprint are not parsed."""

    def __init__(self, path: Path, **options: object) -> None:
        self.path = Path(path)
        now = _moment(options.get("now"), "now") or datetime.now(UTC)
        self.window_start = _moment(options.get("window_start"), "window_start") or (
            now - _WINDOW_BACK
        )
        self.window_end = _moment(options.get("window_end"), "window_end") or now + _WINDOW_AHEAD
        if self.window_end <= self.window_start:
            raise ConfigError(
                f"window_end {self.window_end.isoformat()} is not after window_start "
                f"{self.window_start.isoformat()}: give a window_end later than window_start"
            )
        default_tz = options.get("default_tz") or "UTC"
        zone = _zone(str(default_tz))
        if zone is None:
            raise ConfigError(
                f"default_tz {default_tz!r} is not a known time zone: use an IANA name"
                " such as 'Europe/Berlin' or 'UTC'"
            )
        self.default_tz = zone
        max_instances = options.get("max_instances", DEFAULT_MAX_INSTANCES)
        if not isinstance(max_instances, int) or max_instances < 1:
            raise ConfigError(f"max_instances must be a positive integer, not {max_instances!r}")
        self.max_instances = max_instances

    def source(self) -> SourceInfo:
        if self.path.is_dir():
            account = self.path.name
        else:
            try:
                header = read_header(self.path)
            except OSError as exc:
                raise ImportFailed(_unopenable(self.path, exc)) from exc
            account = header.get("X-WR-CALNAME") or header.get("NAME") or self.path.name
        return SourceInfo(
            platform="calendar", kind=self.name, account=account, label=str(self.path)
        )

    def estimate(self) -> int | None:
        try:
            return sum(count_events(file) for file in self._files())
        except (OSError, ImportFailed):
            return None

    def read(self) -> Iterator[Record]:
        files = self._files()
        people: dict[str, str | None] = {}
        opened = 0
        for file in files:
            try:
                index = scan(file)
                with file.open("rb") as handle:
                    opened += 1
                    yield from _FileReader(self, file, index, handle, people).read()
            except OSError as exc:
                if len(files) == 1:
                    raise ImportFailed(_unopenable(file, exc)) from exc
                yield QuarantineRecord(
                    platform="calendar",
                    file=str(file),
                    position="file",
                    reason=_unopenable(file, exc),
                )
        if opened == 0:
            raise ImportFailed(
                f"none of the {len(files)} .ics files in {self.path} could be opened:"
                " check the folder's permissions"
            )

    def _files(self) -> list[Path]:
        if not self.path.is_dir():
            return [self.path]
        files = sorted(
            file
            for file in self.path.rglob("*")
            if file.is_file() and file.suffix.lower() == ".ics"
        )
        if not files:
            raise ImportFailed(
                f"{self.path} holds no .ics files: give an .ics file or a folder of them"
            )
        return files


class _FileReader:
    """Reads one indexed .ics file."""

    def __init__(
        self,
        importer: IcsImporter,
        file: Path,
        index: FileIndex,
        handle: BinaryIO,
        people: dict[str, str | None],
    ) -> None:
        self.importer = importer
        self.file = file
        self.unit_prefix = (
            file.relative_to(importer.path).as_posix() if file != importer.path else file.name
        )
        self.context = ""
        """What every UID of the file depends on besides its own VEVENTs; set on reading."""
        self.index = index
        self.handle = handle
        self.people = people
        x_wr = index.header.get("X-WR-TIMEZONE")
        x_wr_zone = _zone(x_wr) if x_wr else None
        self.settings = Expansion(
            calendar_tz=x_wr_zone or importer.default_tz,
            x_wr_timezone=x_wr_zone,
            window_start=importer.window_start,
            window_end=importer.window_end,
            max_instances=importer.max_instances,
        )
        name = index.header.get("X-WR-CALNAME") or index.header.get("NAME") or file.stem
        self.calendar = CalendarFile(name=name, calendar_tz=self.settings.calendar_tz)
        self.yielded = 0

    def read(self) -> Iterator[Record]:
        for problem in self.index.problems:
            raw = read_bytes(self.handle, problem.offset, problem.end, MAX_QUARANTINE_BYTES)
            yield self._quarantine(f"line {problem.line}", problem.reason, raw)
        zones = hashlib.sha1()
        yield from self._load_timezones(zones)
        settings = self.settings
        self.context = fingerprint(
            IMPORTER_VERSION,
            self.index.header.get("X-WR-TIMEZONE"),
            self.calendar.name,
            _zone_name(settings.calendar_tz),
            settings.max_instances,
            zones.hexdigest(),
        )
        for blocks in self.index.events.values():
            yield from self._unit(blocks)
        if self.yielded == 0:
            yield self._nothing_found()

    def _load_timezones(self, zones: hashlib._Hash) -> Iterator[Record]:
        # Parsing a VTIMEZONE registers it in icalendar's zone cache, which is what resolves
        # the TZIDs of the events parsed after it (forward references included).
        for block in self.index.timezones:
            data = read_bytes(self.handle, block.offset, block.end)
            zones.update(data)
            zones.update(b"\0")
            try:
                Component.from_ical(decode(data))
            except Exception as exc:  # icalendar raises many types on fuzzed zone data
                standard = _zone(block.key) if block.key else None
                fallback = (
                    f"the standard {_zone_name(standard)} rules"
                    if standard
                    else _zone_name(self.settings.calendar_tz)
                )
                yield self._quarantine(
                    block.position(),
                    f"{block.position()} could not be read ({_describe(exc)}); events using this"
                    f" TZID are read in {fallback} instead",
                    data,
                )

    def _unit(self, blocks: list[Block]) -> Iterator[Record]:
        """One UID: skipped when its VEVENTs, the file's zones and the options are as
        they were at its last import."""
        datas = [read_bytes(self.handle, block.offset, block.end) for block in blocks]
        unit = unit_name(f"{self.unit_prefix}#{blocks[0].key}")
        # Only open-ended series are expanded over the window, which moves with ``now``.
        window = None
        if _open_ended(datas):
            window = (self.settings.window_start.isoformat(), self.settings.window_end.isoformat())
        stamp = fingerprint(IMPORTER_VERSION, self.context, window, *datas)
        count = known_count(self.importer.known_units, unit, stamp)
        if count is not None:
            self.yielded += count
            yield skipped(unit, stamp, count)
            return
        yield from finish_unit(unit, stamp, self._read_uid(blocks, datas))

    def _read_uid(self, blocks: list[Block], datas: list[bytes]) -> Iterator[Record]:
        parsed: list[ParsedEvent] = []
        for block, data in zip(blocks, datas, strict=True):
            try:
                parsed.append(parse_event(block, decode(data), self.settings))
            except Exception as exc:  # one bad VEVENT must not stop the others
                yield self._quarantine(
                    block.position(),
                    f"{block.position()} could not be read: {_describe(exc)}",
                    data,
                )
        if not parsed:
            return
        first = parsed[0].block
        try:
            result = expand(parsed, self.settings)
        except Exception as exc:  # recurring-ical-events rejects bad rules with many types
            raw = "\n".join(event.text for event in parsed).encode("utf-8")
            yield self._quarantine(
                first.position(),
                f"the recurrence of {first.position()} could not be computed ({_describe(exc)}):"
                " check its RRULE, RDATE and EXDATE in the calendar app and export again",
                raw,
            )
            return
        for instance in result.instances:
            for ref in people_of(instance.component):
                identity = self._identity(ref)
                if identity is not None:
                    yield identity
            try:
                item = build_item(instance, self.calendar)
            except Exception as exc:  # keep the series going when one instance has odd values
                yield self._quarantine(
                    first.position(),
                    f"an instance of {first.position()} starting {instance.start} could not be"
                    f" converted: {_describe(exc)}",
                    instance.source.text.encode("utf-8"),
                )
                continue
            self.yielded += 1
            yield item
        if result.capped:
            yield self._quarantine(
                first.position(),
                f"{first.position()} repeats more than {self.settings.max_instances} times; only"
                f" the first {self.settings.max_instances} instances were imported. Narrow"
                " window_start/window_end or raise max_instances to import more",
                parsed[0].text.encode("utf-8"),
            )

    def _identity(self, ref: IdentityRef) -> IdentityRecord | None:
        known = ref.key in self.people
        if known and (self.people[ref.key] or not ref.display_name):
            return None
        self.people[ref.key] = ref.display_name
        profile = {"email": ref.value}
        if ref.display_name:
            profile["real_name"] = ref.display_name
        return IdentityRecord(identity=ref, platform="calendar", profile=profile)

    def _nothing_found(self) -> QuarantineRecord:
        counts: dict[str, int] = {}
        for block in self.index.others:
            counts[block.name] = counts.get(block.name, 0) + 1
        if not self.index.saw_calendar and not counts and not self.index.timezones:
            reason = f"{self.file.name} is not an iCalendar file (no BEGIN:VCALENDAR)"
        else:
            held = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
            reason = f"{self.file.name} holds no event (VEVENT)" + (
                f"; it holds {held}, which are not imported" if held else ""
            )
        self.handle.seek(0)
        raw = self.handle.read(MAX_QUARANTINE_BYTES)
        return self._quarantine("file", reason + ": export the calendar's events as .ics", raw)

    def _quarantine(self, position: str, reason: str, raw: bytes) -> QuarantineRecord:
        self.yielded += 1
        return QuarantineRecord(
            platform="calendar", file=str(self.file), position=position, reason=reason, raw=raw
        )


def _open_ended(datas: list[bytes]) -> bool:
    """Whether any RRULE lacks both UNTIL and COUNT, read from the text before parsing.

    Errs towards yes (an RRULE in a VALARM counts too): that only costs a parse."""
    for data in datas:
        for line in _FOLDED.sub("", decode(data)).splitlines():
            name, _, value = line.partition(":")
            is_rule = name.split(";", 1)[0].strip().upper() == "RRULE"
            if is_rule and not _BOUNDED_RULE.search(value):
                return True
    return False


def _moment(value: object, option: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(
                f"{option} {value!r} is not an ISO date or datetime, e.g. 2024-01-31T09:00+01:00"
            ) from exc
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise ConfigError(f"{option} must be a datetime or an ISO string, not {type(value).__name__}")


def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _describe(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"


def _unopenable(file: Path, exc: OSError) -> str:
    return (
        f"{file} could not be opened ({exc.strerror or exc}): check that it exists and is readable"
    )
