"""Password policy and hashing, after NCSC guidance: length and a deny-list, no
composition rules and no forced expiry."""

from __future__ import annotations

import re
from functools import lru_cache

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's 3 means "safely unguessable" against a throttled online attack and slow hashes.
MIN_STRENGTH = 3
# zxcvbn's cost grows with length; the first 64 characters tell enough.
STRENGTH_PREFIX = 64
# Words anyone would try first against this site in particular.
SITE_WORDS = ("jesip", "jesiplearn", "methane", "ethane", "police", "ambulance", "firefighter")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    # zxcvbn's word lists take tens of MiB: loaded when a password is first chosen, not by
    # every process at start-up (signing in never needs them).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _variants(password: str) -> set[str]:
    """The password with the usual decorations removed: case, digits and symbols at either end."""
    lowered = password.lower()
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lowered)
    return {lowered, core}


def _is_repetition(password: str) -> bool:
    return re.fullmatch(r"(.{1,6}?)\1+", password.lower()) is not None


def _mostly_personal(password: str, user_words: tuple[str, ...]) -> bool:
    """True when little is left of the password once the person's own details are taken out."""
    rest = password.lower()
    for word in sorted({w.lower() for w in user_words if len(w) >= 3}, key=len, reverse=True):
        rest = rest.replace(word, "")
    return rest != password.lower() and len(re.sub(r"[\W_]", "", rest)) < 6


def password_problem(password: str, *, user_words: tuple[str, ...] = ()) -> str | None:
    """What is wrong with a new password, in words for the person choosing it, or None."""
    if len(password) < MIN_LENGTH:
        return f"Password must be {MIN_LENGTH} characters or more"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    if _variants(password) & common_passwords() or _is_repetition(password):
        return ("Password is too common: choose one that is harder to guess, such as three "
                "random words")
    if _mostly_personal(password, user_words):
        return "Password must not be based on your name or email address"
    words = tuple(w for w in user_words if w) + SITE_WORDS
    from zxcvbn import zxcvbn

    if zxcvbn(password[:STRENGTH_PREFIX], user_inputs=list(words))["score"] < MIN_STRENGTH:
        return "Password is too easy to guess: try three or four random words together"
    return None


# The method new hashes are made with: werkzeug's scrypt. Verifying reads the method from
# the stored hash, so a change here never locks anyone out. The test suite chooses a cheap
# method (the PASSWORD_HASH_METHOD setting, which the environment cannot set), because
# hashing would otherwise dominate the cost of every test that makes an account.
DEFAULT_HASH_METHOD = "scrypt"
_hash_method = DEFAULT_HASH_METHOD


def use_hash_method(method: str) -> None:
    global _hash_method
    _hash_method = method


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_hash_method)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    return check_password_hash(password_hash, password)


@lru_cache(maxsize=4)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not a real password, used for timing only", method=method)


def dummy_hash() -> str:
    """Compared against when the account does not exist, so a wrong email costs the same
    time as a wrong password."""
    return _dummy_hash(_hash_method)
