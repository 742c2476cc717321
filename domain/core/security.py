"""Secrets: password hashes, signed access tokens, opaque tokens, encryption at rest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_hasher = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def set_password_work_factor(*, time_cost: int, memory_cost: int, parallelism: int) -> None:
    """Cheaper argon2 parameters for test suites (as Django's test settings do); existing hashes
    keep verifying, since argon2 hashes carry their own parameters."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str, nbytes: int = 32) -> str:
    """An opaque secret with a fixed prefix so that secret scanners can recognise it."""
    return f"{prefix}{secrets.token_urlsafe(nbytes)}"


def digest(secret: str) -> str:
    """High-entropy tokens need a fast hash, not a password hash."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


@lru_cache(maxsize=4)
def _signing_key(secret_key: str) -> OctKey:
    return OctKey.import_key(hashlib.sha256(b"access-token:" + secret_key.encode()).digest())


class TokenInvalid(Exception):
    pass


def sign_access_token(secret_key: str, claims: dict[str, Any]) -> str:
    return jwt.encode({"alg": "HS256"}, claims, _signing_key(secret_key))


def read_access_token(secret_key: str, token: str, now: datetime) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, _signing_key(secret_key), algorithms=["HS256"]).claims
    except (JoseError, ValueError) as exc:
        raise TokenInvalid("malformed or badly signed token") from exc
    if claims.get("typ") != "access":
        raise TokenInvalid("not an access token")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= int(now.timestamp()):
        raise TokenInvalid("expired token")
    return claims


class Encryptor:
    """Fernet under several keys: the first encrypts, all decrypt, so keys can rotate."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._primary = Fernet(keys[0].encode())

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("cannot decrypt with any configured key") from exc

    def needs_rotation(self, ciphertext: str) -> bool:
        try:
            self._primary.decrypt(ciphertext.encode())
            return False
        except InvalidToken:
            return True

    def rotate(self, ciphertext: str) -> str:
        return self._fernet.rotate(ciphertext.encode()).decode()
