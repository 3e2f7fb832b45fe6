"""Fixtures for the alert tests.

The SMTP server on loopback is the one the weekly e-mail tests use (tests/report/support.py)."""

from tests.report.support import smtp_inbox  # noqa: F401  (a fixture, used by name)
