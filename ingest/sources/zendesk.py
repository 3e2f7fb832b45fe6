"""Zendesk: ticket conversations (chat, messaging, web, e-mail) as turns with customer/agent/bot
roles, read through the cursor-based incremental ticket export and each ticket's comments."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, model_validator

from config import Settings, SourceConfig
from ingest.base import Batch, Channel, IncomingMessage, Rejected, TurnRole
from ingest.http import MalformedResponse, SourceError, get_json, iso_timestamp, secret
from ingest.sources.options import SourceOptions, parse_options

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/v2/incremental/tickets/cursor.json"
COMMENTS_PATH = re.compile(r"^/api/v2/tickets/(\d+)/comments\.json$")
# Via types of comments no person typed: Zendesk bots (formerly Answer Bot) and triggers or
# automations ("rule"). See Zendesk's "Via types reference".
BOT_VIA_CHANNELS = frozenset(
    {
        "answer_bot",
        "answer_bot_api",
        "answer_bot_for_agents",
        "answer_bot_for_sdk",
        "answer_bot_for_slack",
        "answer_bot_for_web_widget",
        "automatic_solution_suggestions",
        "rule",
    }
)


class ZendeskOptions(SourceOptions):
    subdomain: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    base_url: str | None = None  # instead of subdomain: a proxy, or a test server
    email: str = Field(min_length=3)  # the agent whose API token is in secret_env
    # How far back the very first run reads; later runs continue from the export's cursor.
    start_days_ago: float = Field(default=7, gt=0, le=3650)
    per_page: int = Field(default=100, ge=1, le=1000)
    # Users who answer automatically (a flow-builder bot, an integration's API user).
    bot_author_ids: tuple[int, ...] = ()
    # Only tickets that came in through these via channels, e.g. ["chat", "native_messaging"].
    ticket_channels: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_address(self) -> ZendeskOptions:
        if (self.subdomain is None) == (self.base_url is None):
            raise ValueError("subdomain: set either subdomain (e.g. 'voltera') or base_url")
        return self

    @property
    def url(self) -> str:
        return self.base_url or f"https://{self.subdomain}.zendesk.com"


@dataclass(frozen=True)
class ExportPosition:
    """Where the ticket export continues: its after_cursor, or the first run's start_time."""

    after_cursor: str | None = None
    start_time: int | None = None

    def dump(self) -> str:
        if self.after_cursor is not None:
            return json.dumps({"after_cursor": self.after_cursor})
        return json.dumps({"start_time": self.start_time})

    @classmethod
    def load(cls, value: str | None, source: str) -> ExportPosition:
        if value is None:
            return cls()
        try:
            raw = json.loads(value)
            if isinstance(raw.get("after_cursor"), str):
                return cls(after_cursor=raw["after_cursor"])
            return cls(start_time=int(raw["start_time"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SourceError(
                f"zendesk source {source}: stored cursor {value[:80]!r} is not a Zendesk "
                f"cursor ({exc.__class__.__name__}); delete it to start again"
            ) from None


class _TicketGone(Exception):
    """A ticket was deleted between the export and the request for its comments."""


def _raise_if_ticket_gone(response: httpx.Response) -> None:
    # Without this a deleted ticket's 404 would fail the whole export page on every run.
    if response.status_code == 404 and COMMENTS_PATH.match(response.request.url.path):
        raise _TicketGone


@dataclass(frozen=True)
class Ticket:
    id: int
    requester_id: int


class ZendeskSource:
    """Every public comment of every new or updated ticket, one conversation per ticket."""

    def __init__(
        self,
        key: str,
        brand: str,
        token_env: str,
        options: ZendeskOptions,
        channel: Channel = "chat",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.key = key
        self.brand = brand
        self.token_env = token_env
        self.options = options
        self.channel: Channel = channel
        self.clock = clock

    def fetch(self, cursor: str | None) -> Batch:
        """One page of the ticket export with the public comments of each ticket on it."""
        position = ExportPosition.load(cursor, self.key)
        params: dict[str, Any] = {"per_page": self.options.per_page, "exclude_deleted": "true"}
        if position.after_cursor is not None:
            params["cursor"] = position.after_cursor
        else:
            start = self.clock() - timedelta(days=self.options.start_days_ago)
            # Kept in the cursor so a first run cut short resumes from the same moment.
            position = ExportPosition(start_time=position.start_time or int(start.timestamp()))
            params["start_time"] = position.start_time
        what = f"zendesk source {self.key} (ticket export)"
        batch = Batch()
        with self._client() as http:
            body = get_json(http, EXPORT_PATH, what=what, params=params)
            tickets, after_cursor, end_of_stream = _export_page(body, what)
            for raw in tickets:
                self._read_ticket(http, raw, batch)
        if after_cursor is not None:
            position = ExportPosition(after_cursor=after_cursor)
        batch.next_cursor = position.dump()
        batch.has_more = not end_of_stream
        return batch

    def _client(self) -> httpx.Client:
        token = secret(self.token_env, f"zendesk source {self.key}")
        return httpx.Client(
            base_url=self.options.url,
            auth=httpx.BasicAuth(f"{self.options.email}/token", token),
            headers={"User-Agent": "cxpulse/0.1"},
            timeout=httpx.Timeout(self.options.timeout_seconds),
            follow_redirects=True,
            event_hooks={"response": [_raise_if_ticket_gone]},
        )

    def _read_ticket(self, http: httpx.Client, raw: Any, batch: Batch) -> None:
        try:
            ticket = _ticket(raw)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            ticket_id = raw.get("id") if isinstance(raw, dict) else None
            batch.rejected.append(
                _rejected(self.key, f"zendesk ticket {ticket_id or '?'}", raw, exc)
            )
            return
        if self.options.ticket_channels and _via(raw) not in self.options.ticket_channels:
            return
        try:
            comments, roles = self._comments(http, ticket)
        except _TicketGone:
            log.info("zendesk source %s: ticket %d was deleted; skipped", self.key, ticket.id)
            return
        for comment in comments:
            try:
                message = self._message(ticket, comment, roles)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                comment_id = comment.get("id") if isinstance(comment, dict) else None
                reference = f"zendesk ticket {ticket.id} comment {comment_id or '?'}"
                batch.rejected.append(_rejected(self.key, reference, comment, exc))
                continue
            if message is not None:
                batch.messages.append(message)

    def _comments(self, http: httpx.Client, ticket: Ticket) -> tuple[list[Any], dict[int, str]]:
        """All comments of a ticket (following next_page) and the Zendesk role of each author."""
        what = f"zendesk source {self.key} (comments of ticket {ticket.id})"
        url: str | None = f"/api/v2/tickets/{ticket.id}/comments.json"
        params: dict[str, Any] | None = {"include": "users"}
        comments: list[Any] = []
        roles: dict[int, str] = {}
        while url is not None:
            body = get_json(http, url, what=what, params=params)
            if not isinstance(body, dict) or not isinstance(body.get("comments"), list):
                raise MalformedResponse(f"{what}: expected an object with a 'comments' list")
            comments += body["comments"]
            for user in body.get("users") or ():
                if isinstance(user, dict) and isinstance(user.get("id"), int):
                    roles[user["id"]] = str(user.get("role"))
            url, params = self._next_page(http, body.get("next_page"), what), None
        return comments, roles

    def _next_page(self, http: httpx.Client, next_page: Any, what: str) -> str | None:
        if next_page is None:
            return None
        if not isinstance(next_page, str):
            raise MalformedResponse(f"{what}: next_page {next_page!r} is not a URL")
        # The API token goes with every request: only ever to the configured Zendesk.
        if httpx.URL(next_page).host != http.base_url.host:
            raise MalformedResponse(f"{what}: next_page {next_page!r} leaves {http.base_url}")
        return next_page

    def _message(
        self, ticket: Ticket, comment: Any, roles: dict[int, str]
    ) -> IncomingMessage | None:
        """The comment as a turn, or None for what no customer sees: internal notes, calls."""
        comment_id = comment["id"]
        if not isinstance(comment_id, int) or isinstance(comment_id, bool):
            raise ValueError(f"id {comment_id!r} is not a comment id")
        if comment.get("public") is not True:
            return None
        # A VoiceComment holds call details and a recording link, not what was said.
        if comment.get("type", "Comment") != "Comment":
            return None
        author_id = comment["author_id"]
        if not isinstance(author_id, int):
            raise ValueError(f"author_id {author_id!r} is not a user id")
        text = comment.get("plain_body") or comment.get("body")
        if not isinstance(text, str):
            raise ValueError("neither plain_body nor body is a text")
        if not text.strip():
            return None  # an attachment on its own, e.g. a photo of the damaged parcel
        return IncomingMessage(
            source=self.key,
            external_id=f"{ticket.id}:{comment_id}",
            channel=self.channel,
            text=text.strip(),
            created_at=iso_timestamp(comment["created_at"], "created_at"),
            brands=(self.brand,),
            conversation_id=str(ticket.id),
            turn_role=self._role(ticket, comment, author_id, roles),
            author=str(author_id),
        )

    def _role(
        self, ticket: Ticket, comment: dict[str, Any], author_id: int, roles: dict[int, str]
    ) -> TurnRole:
        if author_id in self.options.bot_author_ids or _via(comment) in BOT_VIA_CHANNELS:
            return "bot"
        # Other end users (CCs, a partner writing for the requester) speak as customers too.
        if author_id == ticket.requester_id or roles.get(author_id) == "end-user":
            return "customer"
        return "agent"


def _export_page(body: Any, what: str) -> tuple[list[Any], str | None, bool]:
    """The tickets, after_cursor and end_of_stream of an export page, or MalformedResponse."""
    if not isinstance(body, dict) or not isinstance(body.get("tickets"), list):
        raise MalformedResponse(f"{what}: expected an object with a 'tickets' list")
    end_of_stream = body.get("end_of_stream")
    if not isinstance(end_of_stream, bool):
        raise MalformedResponse(f"{what}: 'end_of_stream' is {end_of_stream!r}, not true/false")
    after_cursor = body.get("after_cursor")
    if after_cursor is not None and not isinstance(after_cursor, str):
        raise MalformedResponse(f"{what}: 'after_cursor' is {after_cursor!r}, not a string")
    return body["tickets"], after_cursor, end_of_stream


def _ticket(raw: Any) -> Ticket:
    ticket_id, requester_id = raw["id"], raw["requester_id"]
    for name, value in (("id", ticket_id), ("requester_id", requester_id)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} {value!r} is not a Zendesk id")
    return Ticket(ticket_id, requester_id)


def _via(item: Any) -> str | None:
    via = item.get("via") if isinstance(item, dict) else None
    channel = via.get("channel") if isinstance(via, dict) else None
    return channel if isinstance(channel, str) else None


def _rejected(source: str, reference: str, raw: Any, exc: Exception) -> Rejected:
    error = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
    payload = json.dumps(raw, ensure_ascii=False, default=str)
    return Rejected(source=source, reference=reference, payload=payload, error=error)


def build(config: SourceConfig, settings: Settings) -> ZendeskSource:
    """The Zendesk source for a `[[sources]]` entry of type "zendesk"."""
    options = parse_options(ZendeskOptions, config)
    if not config.secret_env:
        raise ValueError(
            f"sources.{config.key}.secret_env: name the environment variable that holds the "
            "Zendesk API token"
        )
    brand = config.brand or settings.own_brand.key
    return ZendeskSource(
        config.key, brand, config.secret_env, options, channel=config.channel or "chat"
    )
