"""An importer over a list of records, for tests that build a store from a few items."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from threadline.records import Platform, Record, SourceInfo


class ListImporter:
    name = "test-list"

    def __init__(
        self, records: Sequence[Record], platform: Platform = "slack", account: str = "T1"
    ) -> None:
        self.records = list(records)
        self.platform = platform
        self.account = account

    def source(self) -> SourceInfo:
        return SourceInfo(platform=self.platform, kind="test-list", account=self.account)

    def estimate(self) -> int | None:
        return len(self.records)

    def read(self) -> Iterator[Record]:
        yield from self.records
