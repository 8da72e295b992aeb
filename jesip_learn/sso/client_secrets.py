"""Providers' client secrets, kept encrypted in the database.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) with a key derived by HKDF from
`SSO_SECRET_KEY`, or from `SECRET_KEY` when that is not set. A database copy alone reveals
no secret. Changing the key makes stored secrets unreadable: the administration page then
says so, and the secret is entered again. A secret can also stay out of the database
altogether, in an environment variable the provider names.
"""

from __future__ import annotations

import base64
import os
import re

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Distinguishes this key from anything else ever derived from the same SECRET_KEY.
KEY_PURPOSE = b"jesip-learn single sign-on client secrets"
ENVIRONMENT_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,99}$")


class SecretUnavailable(RuntimeError):
    """The client secret cannot be had; the message says why and what to do."""


def _fernet(key_material: str) -> Fernet:
    if not key_material:
        raise SecretUnavailable("No key to encrypt client secrets with: set SECRET_KEY.")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=KEY_PURPOSE).derive(key_material.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(secret: str, key_material: str) -> str:
    return _fernet(key_material).encrypt(secret.encode()).decode()


def unseal(sealed: str, key_material: str) -> str:
    try:
        return _fernet(key_material).decrypt(sealed.encode()).decode()
    except InvalidToken as error:
        raise SecretUnavailable(
            "The stored client secret cannot be read: the key it was encrypted with "
            "(SSO_SECRET_KEY, or SECRET_KEY) has changed. Enter the secret again on the "
            "provider's page.") from error


def from_environment(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise SecretUnavailable(f"The environment variable {name}, named as holding the "
                                "client secret, is not set on this server.")
    return value
