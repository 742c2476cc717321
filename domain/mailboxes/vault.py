"""Encryption of mailbox secrets under ENCRYPTION_KEYS (MultiFernet: the first key encrypts,
all decrypt). Rotation is lazy: a secret read under an old key is re-encrypted and saved by
the caller (see `reveal`)."""

from __future__ import annotations

from functools import lru_cache

from domain.core.config import settings
from domain.core.security import Encryptor
from domain.mailboxes.models import Mailbox


@lru_cache(maxsize=4)
def _encryptor(keys: tuple[str, ...]) -> Encryptor:
    return Encryptor(keys)


def encryptor() -> Encryptor:
    return _encryptor(settings().encryption_keys)


def seal(plaintext: str) -> str:
    return encryptor().encrypt(plaintext)


def unseal(ciphertext: str) -> str:
    return encryptor().decrypt(ciphertext)


SECRET_COLUMNS = ("access_token_enc", "refresh_token_enc", "smtp_password_enc")


def reveal(mailbox: Mailbox, column: str) -> str | None:
    """The clear value of one secret column; re-encrypts it in place under the current key
    when it was written under an older one (returns the column in `rotated(mailbox)`)."""
    value = getattr(mailbox, column)
    if value is None:
        return None
    enc = encryptor()
    clear = enc.decrypt(value)
    if enc.needs_rotation(value):
        setattr(mailbox, column, enc.rotate(value))
        pending = mailbox.__dict__.setdefault("_rotated", set())
        pending.add(column)
    return clear


def rotated(mailbox: Mailbox) -> list[str]:
    return sorted(mailbox.__dict__.pop("_rotated", set()))
