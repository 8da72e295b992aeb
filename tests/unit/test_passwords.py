import pytest

from jesip_learn.passwords import hash_password, password_problem, verify_password


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
