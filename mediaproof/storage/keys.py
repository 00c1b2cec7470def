"""The cluster's signing key: made once into its data dir (mode 0600); its address is registered in StorageTopology."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from eth_account import Account

from mediaproof.errors import InputError

KEY_FILE = "signer.key"


def load_or_create_key(data_dir: Path) -> str:
    """The 0x-hex private key in `data_dir/signer.key`, generated on first use; refuses a key others can read."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    if not path.exists():
        key = "0x" + secrets.token_hex(32)
        try:
            # O_EXCL: two processes starting at once must not each write (and sign with) a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(key + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(f"{path} is readable by others (mode {mode:o}); run `chmod 600 {path}` and start again")
    key = path.read_text().strip()
    try:
        Account.from_key(key)
    except Exception as exc:
        raise InputError(
            f"{path} does not hold a private key (0x + 64 hex digits); move it away to make a new one"
        ) from exc
    return key


def load_or_create_signer(data_dir: Path) -> str:
    """The address a cluster with this data dir signs with (creating its key if needed): register it on chain."""
    return str(Account.from_key(load_or_create_key(data_dir)).address)
