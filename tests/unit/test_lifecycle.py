"""Power transitions follow Linode's statuses."""

import pytest

from cloudapi.domain.lifecycle import TransitionRefused, next_status


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("boot", "offline", "booting"),
        ("reboot", "running", "rebooting"),
        ("shutdown", "running", "shutting_down"),
        ("delete", "provisioning", "deleting"),
        ("delete", "running", "deleting"),
    ],
)
def test_allowed(action, status, expected):
    assert next_status(action, status) == expected


@pytest.mark.parametrize(
    ("action", "status", "reason"),
    [
        ("boot", "running", "Linode is already running."),
        ("shutdown", "offline", "Linode is already offline."),
        ("boot", "provisioning", "Linode busy."),
        ("reboot", "shutting_down", "Linode busy."),
        ("delete", "deleting", "Linode busy."),
    ],
)
def test_refused(action, status, reason):
    with pytest.raises(TransitionRefused) as caught:
        next_status(action, status)
    assert caught.value.reason == reason
