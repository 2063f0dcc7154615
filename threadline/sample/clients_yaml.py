"""The client rules a user of the sample workspace would write: its ``clients.yaml``."""

from __future__ import annotations

from collections import Counter

from threadline.context.clients_config import ClientRule, ClientsConfig, DomainList
from threadline.sample.cast import COMPANY_DOMAIN, build_cast


def sample_clients_config(seed: int = 7, scale: int = 1) -> ClientsConfig:
    cast = build_cast(seed, scale)
    firsts = Counter(client.name.split()[0] for client in cast.clients)
    names = {client.name for client in cast.clients}
    rules = []
    for client in cast.clients:
        short = client.name.split()[0]
        # "Blue" cannot stand for both Blue Logistics and Blue Foods.
        unique = firsts[short] == 1 and short not in names
        rules.append(
            ClientRule(
                name=client.name,
                aliases=[short] if unique and short != client.name else [],
                domains=[client.domain],
                channels=[f"#{client.channel}"],
                notion=[client.project],
            )
        )
    # The user works at the sample's own company: its domain is never a client.
    return ClientsConfig(me=DomainList(domains=[COMPANY_DOMAIN]), clients=rules)
