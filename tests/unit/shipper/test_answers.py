"""The shipper's status → action decision (shipper/answers.py), without a server."""

from __future__ import annotations

import pytest

from shipper.answers import Action, action_for, fails_over, gives_up, retry_delay


@pytest.mark.parametrize(("status", "action"), [
    (200, Action.DELIVERED), (202, Action.DELIVERED), (299, Action.DELIVERED),
    (413, Action.SPLIT),
    (408, Action.RETRY), (429, Action.RETRY), (500, Action.RETRY), (503, Action.RETRY), (None, Action.RETRY),
    (400, Action.POISON),
    (401, Action.REFUSED), (403, Action.REFUSED), (404, Action.REFUSED), (415, Action.REFUSED),
    (422, Action.REFUSED),
])
def test_every_status_has_one_action(status, action) -> None:
    assert action_for(status) is action


def test_a_400_is_poison_never_retried() -> None:
    assert action_for(400) is Action.POISON
    assert action_for(400) is not Action.RETRY and not fails_over(400)


def test_fail_over_on_no_answer_and_server_errors_only() -> None:
    assert fails_over(None) and fails_over(500) and fails_over(503)
    assert not fails_over(202) and not fails_over(429) and not fails_over(413) and not fails_over(400)


def test_gives_up_after_the_schedule_or_when_stopping() -> None:
    assert not gives_up(1, 5, False) and not gives_up(5, 5, False)
    assert gives_up(6, 5, False)
    assert gives_up(1, 5, True)
    assert gives_up(1, 0, False)  # an empty schedule: one try, then the spool


def test_retry_delay_follows_schedule_with_jitter_and_obeys_retry_after() -> None:
    delays = [1.0, 2.0, 4.0]
    assert retry_delay(1, None, delays, 0.2, 300, 0.0) == 1.0
    assert retry_delay(2, None, delays, 0.2, 300, 1.0) == pytest.approx(2.4)
    assert retry_delay(3, None, delays, 0.2, 300, -1.0) == pytest.approx(3.2)
    assert retry_delay(9, None, delays, 0.0, 300, 0.5) == 4.0  # the last delay repeats
    assert retry_delay(1, 7.5, delays, 0.2, 300, 1.0) == 7.5  # Retry-After wins, no jitter
    assert retry_delay(1, 900.0, delays, 0.2, 300, 0.0) == 300  # capped
    assert retry_delay(1, None, [], 0.0, 300, 0.0) == 1.0
