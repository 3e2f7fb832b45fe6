"""The Dash app: pages under dashboard/pages, shared pieces under dashboard/components.

Callbacks read through storage query functions only; engine and settings live on the Flask app."""
