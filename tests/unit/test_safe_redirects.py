import pytest

from jesip_learn.web.safety import safe_next_url


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/path", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example", "evil.example", "/path\nSet-Cookie: x", " //evil.example", "",
    None, "\\\\evil.example",
])
def test_next_never_leaves_the_site(target):
    assert safe_next_url(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/admin/users", "/admin/users?q=smith&page=2", "/"])
def test_next_keeps_local_paths(target):
    assert safe_next_url(target, "/home") == target
