"""The weekly e-mail summary: numbers from storage (summary), the e-mail (render), SMTP (send).

Entry points for the CLI: report.render.preview and report.send.send_now."""
