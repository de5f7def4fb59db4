"""The console's start-a-run form becomes the API's request body; its timeout takes ASCII
digits only (issue 11: non-ASCII digits passed numeric validation)."""

from __future__ import annotations

import pytest

from mission_control.core.errors import InvalidInput
from mission_control.web.formdata import Form
from mission_control.web.pages_runs import run_request


def test_timeout_in_ascii_digits_is_taken() -> None:
    body = run_request(
        Form({"mode": ["session"], "label": [" nightly "], "timeout_seconds": ["90"]})
    )
    assert (body.mode, body.label, body.timeout_seconds) == ("session", "nightly", 90)


@pytest.mark.parametrize("raw", ["\u0665", "1.5", "-3", "9e2", "\uff11\uff10"])
def test_other_timeouts_are_refused_in_words(raw: str) -> None:
    with pytest.raises(InvalidInput, match="whole number of seconds"):
        run_request(Form({"timeout_seconds": [raw]}))


def test_empty_timeout_means_the_default() -> None:
    assert run_request(Form({"timeout_seconds": ["  "]})).timeout_seconds is None
