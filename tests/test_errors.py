"""The scrubber: the last line of defence between a secret and a user's terminal."""

from migrator.errors import ApiError, register_secret, scrub


def test_registered_secrets_are_masked_everywhere():
    register_secret("canary-key-1234567890")
    err = ApiError("v2", "GET", "/x", 400, "echo canary-key-1234567890 back")
    assert "canary" not in str(err) and "canary" not in repr(err)
    assert scrub("a canary-key-1234567890 b") == "a *** b"


def test_credential_shaped_text_is_masked():
    assert scrub("Authorization: Basic eHl6OmFiYw==") == "Authorization: Basic ***"
    assert scrub("Authorization: Bearer abc.def") == "Authorization: Bearer ***"
    assert scrub('{"token": "p-tok"}') == '{"token": "***"}'
    assert scrub("api_key=abc123&x=1") == "api_key=***&x=1"


def test_short_values_are_not_registered():
    register_secret("ab")
    assert scrub("about a cab") == "about a cab"
