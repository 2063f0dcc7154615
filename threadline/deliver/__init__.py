"""Delivery: approved drafts to email (SMTP or Gmail), Slack, Notion and files, exactly once
per destination where the target allows it, at least once where it cannot be asked.

``enqueue`` queues a draft for destinations; ``process_due`` sends what is due (called by
``threadline run`` and ``threadline deliver send``). Targets implement the ``Deliverer``
protocol in ``base`` and are registered like plugins (entry point group
``threadline.deliverers``).
"""

from __future__ import annotations

from threadline.deliver.base import (
    Deliverer,
    DeliveryError,
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
    load_deliverer,
)
from threadline.deliver.destinations import Destination, DestinationError, parse_destination
from threadline.deliver.queue import (
    DeliveryRow,
    ProcessReport,
    enqueue,
    idempotency_key,
    list_deliveries,
    process_due,
    retry_delivery,
)

__all__ = [
    "Deliverer",
    "DeliveryError",
    "DeliveryResult",
    "DeliveryRow",
    "DeliverySettings",
    "Destination",
    "DestinationError",
    "PermanentDeliveryError",
    "ProcessReport",
    "TransientDeliveryError",
    "enqueue",
    "idempotency_key",
    "list_deliveries",
    "load_deliverer",
    "parse_destination",
    "process_due",
    "retry_delivery",
]
