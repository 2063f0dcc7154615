"""Writes a Notion "Markdown & CSV" export zip: pages as ``Title <32hex>.md`` with child pages
in same-named folders, and the task database as ``Tasks <32hex>.csv`` plus one row page each."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote

from threadline.sample.clock import LONDON
from threadline.sample.model import NotionPage, NotionTask
from threadline.sample.zipout import StableZip

TASK_COLUMNS = ["Name", "Status", "Assignee", "Client", "Due", "Last edited time"]


def notion_date(day: date | None) -> str:
    return f"{day:%B} {day.day}, {day.year}" if day else ""


def notion_time(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    hour = local.hour % 12 or 12
    return f"{notion_date(local.date())} {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def file_stem(title: str, hex_id: str) -> str:
    return f"{title} {hex_id}"


def relative_link(*stems: str, ext: str = ".md") -> str:
    return "/".join(quote(s) for s in stems) + ext


class NotionWriter:
    def __init__(self, path: Path, export_id: str, tasks_hex: str) -> None:
        self.path = path
        self.zip = StableZip(path)
        self.top = f"Export-{export_id}"
        self.tasks_stem = file_stem("Tasks", tasks_hex)
        self.pages = 0
        self.rows = 0
        # Rows are spooled to disk: the zip can only stream one member at a time.
        self._rows = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        # Notion writes the CSV with a UTF-8 BOM so spreadsheet apps read the encoding right.
        self._rows.write(b"\xef\xbb\xbf")
        self._text = io.TextIOWrapper(self._rows, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text)
        self._csv.writerow(TASK_COLUMNS)

    def write_page(self, page: NotionPage) -> None:
        folders = [file_stem(title, hex_id) for title, hex_id in page.parents]
        name = "/".join([self.top, *folders, file_stem(page.title, page.hex)]) + ".md"
        props = "".join(f"{key}: {value}\n" for key, value in page.properties)
        text = f"# {page.title}\n\n" + (props + "\n" if props else "") + page.body.rstrip() + "\n"
        self.zip.put(name, text.encode())
        self.pages += 1

    def write_task(self, task: NotionTask) -> None:
        values = [task.title, task.status, task.assignee, task.client, notion_date(task.due),
                  notion_time(task.last_edited)]
        props = "".join(f"{key}: {value}\n" for key, value in zip(TASK_COLUMNS[1:], values[1:],
                                                                   strict=True))
        back = "../" + relative_link(self.tasks_stem, ext=".csv")
        text = (f"# {task.title}\n\n{props}\n{task.body.rstrip()}\n\n"
                f"Back to [Tasks]({back})\n")
        self.zip.put(f"{self.top}/{self.tasks_stem}/{file_stem(task.title, task.hex)}.md",
                     text.encode())
        self._csv.writerow(values)
        self.rows += 1

    def close(self) -> None:
        self._text.flush()
        self._rows.seek(0)
        self.zip.put_stream(f"{self.top}/{self.tasks_stem}.csv", self._rows)
        self._text.close()
        self.zip.close()

