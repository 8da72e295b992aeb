import pytest

from jesip_learn.accounts.passwords import (
    hash_password,
    password_problem,
    use_hash_method,
    verify_password,
)
from jesip_learn.factory import create_app
from tests.support.web import TEST_PASSWORD_HASH


@pytest.mark.parametrize("password", ["short", "eleven char"])
def test_passwords_under_twelve_characters_are_refused(password):
    assert password_problem(password) == "Password must be 12 characters or more"


def test_passwords_over_128_characters_are_refused():
    assert "128 characters or fewer" in password_problem("x" * 129)


@pytest.mark.parametrize("password", [
    "123qweasdzxc",          # on the list as it is
    "Password1234",          # a listed word with digits added
    "!!qwertyuiop99",        # decorated at both ends
    "abcabcabcabc",          # one chunk repeated
    "aaaaaaaaaaaaaaaa",
])
def test_common_and_repetitive_passwords_are_refused(password):
    assert "too common" in password_problem(password)


def test_guessable_passwords_are_refused_even_when_long():
    assert password_problem("jesiplearn2024") is not None


def test_the_persons_own_details_count_against_the_password():
    assert password_problem("samantha.jones.1", user_words=("samantha", "jones")) is not None


@pytest.mark.parametrize("password", ["correct horse battery staple", "Kettle-Orbit-Lantern-42"])
def test_strong_passwords_pass_without_composition_rules(password):
    assert password_problem(password) is None


def test_hashes_verify_only_the_right_password():
    hashed = hash_password("correct horse battery staple")
    assert hashed != "correct horse battery staple"
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "correct horse battery stapler")
    assert not verify_password("", "anything")


def test_the_site_hashes_with_scrypt_unless_a_test_chooses_otherwise(tmp_path):
    """The suite hashes cheaply (PASSWORD_HASH_METHOD); a site made as production makes it
    uses scrypt, and both kinds of stored hash verify."""
    cheap = hash_password("correct horse battery staple")
    assert cheap.startswith(TEST_PASSWORD_HASH + "$")
    try:
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}", "SECRET_KEY": "key",
                    "SITE_URL": "https://learn.jesip.example", "INSTANCE_PATH": tmp_path})
        real = hash_password("correct horse battery staple")
        assert real.startswith("scrypt:")
        assert verify_password(real, "correct horse battery staple")
        assert verify_password(cheap, "correct horse battery staple")
    finally:
        use_hash_method(TEST_PASSWORD_HASH)
