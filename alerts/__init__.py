"""Live alerts: detect a sudden rise of negative mentions per brand × phase, and tell people.

Scheduled entry point: alerts.detect.run_alerts; alerts.notify sends e-mail and webhooks."""
