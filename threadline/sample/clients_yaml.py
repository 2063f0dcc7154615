"""The client rules a user of the sample workspace would write: its ``clients.yaml``."""

from __future__ import annotations

from threadline.context.clients_config import ClientRule, ClientsConfig
from threadline.sample.cast import build_cast


def sample_clients_config(seed: int = 7, scale: int = 1) -> ClientsConfig:
    cast = build_cast(seed, scale)
    rules = []
    for client in cast.clients:
        short = client.name.split()[0]
        rules.append(
            ClientRule(
                name=client.name,
                aliases=[short] if short != client.name else [],
                domains=[client.domain],
                channels=[f"#{client.channel}"],
                notion=[client.project],
            )
        )
    return ClientsConfig(clients=rules)
