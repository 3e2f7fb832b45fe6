"""Fixtures for the weekly e-mail tests.

The SMTP server on loopback lives in tests/report/support.py, shared with the alert tests."""

from tests.report.support import smtp_inbox  # noqa: F401  (a fixture, used by name)
