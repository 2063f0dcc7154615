"""A deterministic sample workspace: Slack, Gmail, Calendar and Notion exports of a small
consultancy (Northwind Digital, user Jane Doe) and its clients Acme Corp, Alpha Partners and
Globex, plus gold.json saying what each client's weekly update must and must not mention.
Used by ``threadline demo``, tests and benchmarks.

``generate_workspace(out, seed=7, weeks=4, scale=1, end_week="2026-W47")`` writes
``slack-export.zip``, ``mail.mbox``, ``calendar.ics``, ``notion-export.zip`` and ``gold.json``;
the same arguments give byte-identical files.

Volume: ``scale=1, weeks=4`` is about 1,800 items in well under a second. ``scale`` adds
3 generated clients and 2 staff per step and multiplies internal chatter and newsletters;
``scale=200, weeks=12`` passes 1,000,000 items (the benchmark size). Writing streams week by
week; memory grows only with the number of zip members (one per Slack day file and Notion
page), not with items. gold.json covers the three base clients at every scale.
"""

from threadline.sample.workspace import FILES, WorkspaceManifest, generate_workspace

__all__ = ["FILES", "WorkspaceManifest", "generate_workspace"]
