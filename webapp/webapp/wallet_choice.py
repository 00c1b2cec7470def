"""The wallets a browser announced (EIP-6963), as the page may show them to choose from.

The list comes from the page, which got it from whatever extensions are installed: each entry is kept only as plain,
bounded strings, and an icon only as an image data URI (EIP-6963 requires one), so nothing announced can make the
page fetch elsewhere or run script. Pure: no Reflex, no network.
"""

from __future__ import annotations

import re
from typing import Any

MAX_WALLETS = 16
MAX_ICON_CHARS = 100_000
ICON = re.compile(r"data:image/(svg\+xml|png|webp|jpeg|gif)[;,]", re.IGNORECASE)
# Where a user without a wallet learns which to install (a list kept by ethereum.org, not an endorsement of one).
FIND_A_WALLET = "https://ethereum.org/en/wallets/find-wallet/"


def wallet_choices(announced: Any) -> list[dict[str, str]]:
    """uuid, name, icon ("" when unusable) and rdns of each well-formed entry, the first MAX_WALLETS, uuids unique."""
    if not isinstance(announced, list):
        return []
    choices: list[dict[str, str]] = []
    seen: set[str] = set()
    for entry in announced:
        if not isinstance(entry, dict) or len(choices) == MAX_WALLETS:
            continue
        uuid, name, icon, rdns = (entry.get(key) for key in ("uuid", "name", "icon", "rdns"))
        if not isinstance(uuid, str) or not 0 < len(uuid) <= 64 or uuid in seen:
            continue
        seen.add(uuid)
        icon = icon if isinstance(icon, str) and len(icon) <= MAX_ICON_CHARS and ICON.match(icon) else ""
        choices.append(
            {
                "uuid": uuid,
                "name": (name if isinstance(name, str) and name.strip() else "Unnamed wallet")[:60],
                "icon": icon,
                "rdns": rdns[:100] if isinstance(rdns, str) else "",
            }
        )
    return choices
