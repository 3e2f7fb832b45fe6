"""The settings model (pydantic) and the loader that turns a TOML file into it.

Validation problems are reported per key path with a hint a user can act on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_CONFIG = Path(__file__).with_name("demo.toml")
DEFAULT_DATABASE_URL = "sqlite:///var/cxpulse.db"

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Lang = Literal["nl", "en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BrandConfig(_Strict):
    key: Key
    name: str
    own: bool = False
    aliases: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    source_ids: dict[str, str] = Field(default_factory=dict)  # source key -> id at that source


class PhaseConfig(_Strict):
    key: Key
    name: dict[Lang, str]
    description: dict[Lang, str] = Field(default_factory=dict)
    keywords: dict[Lang, tuple[str, ...]] = Field(default_factory=dict)
    # Example phrases customers write about the phase: similarity prototypes, not keywords.
    examples: dict[Lang, tuple[str, ...]] = Field(default_factory=dict)
    target: float = Field(ge=-1, le=1, description="the promise: minimum average sentiment")

    def label(self, language: str) -> str:
        return self.name.get(language) or next(iter(self.name.values()))  # type: ignore[call-overload]


def _valid_cron(line: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(line)
    except ValueError as exc:
        raise ValueError(f"not a valid crontab line ({exc})") from None
    return line


class SourceConfig(_Strict):
    key: Key
    type: Literal[
        "demo", "x", "appstore", "googleplay", "trustpilot", "zendesk", "folder", "replay", "push"
    ]
    interval_seconds: float = Field(default=60, gt=0)
    cron: str | None = None  # crontab line ("0 * * * *"); overrides interval_seconds
    enabled: bool = True
    channel: Literal["review", "social", "chat"] | None = None
    brand: str | None = None  # for sources whose every message is about one brand
    secret_env: str | None = None  # name of the environment variable holding its token
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _cron_parses(self) -> SourceConfig:
        if self.cron is not None:
            _valid_cron(self.cron)
        return self


class ModelRouteConfig(_Strict):
    """`[[sentiment.routes]]`: messages in this language and/or channel get this model."""

    model: str = Field(description='"builtin", "builtin-head", own-vN, a hub id or a folder')
    language: Literal["nl", "en", "other"] | None = None  # the detected language
    channel: Literal["review", "social", "chat"] | None = None

    @model_validator(mode="after")
    def _names_what_it_routes(self) -> ModelRouteConfig:
        if self.language is None and self.channel is None:
            raise ValueError(f"a route to {self.model!r} needs a language, a channel or both")
        return self


class SentimentConfig(_Strict):
    model: str = Field(default="builtin", description='"builtin", a hub id or a local path')
    # Per language and/or channel, first match wins; the rest get `model` (or `models use`).
    routes: list[ModelRouteConfig] = Field(default_factory=list)
    batch_size: int = Field(default=32, ge=1, le=1024)  # units per encoder forward pass
    # Messages the scoring worker claims and analyses per call: their units are length-sorted
    # together into encoder batches, so a larger call pads less (docs/benchmarks.md).
    worker_batch: int = Field(default=256, ge=1, le=10_000)
    max_length: int = Field(default=128, ge=16, le=512)
    threads: int | None = Field(default=None, ge=1)
    phase_threshold: float = Field(default=0.35, ge=0, le=1)
    # Own model versions (own-v1, …) and the `active` choice of `cxpulse models use`; local only.
    models_dir: str = Field(default="var/models", description="folder of the local models")
    device: Literal["cpu", "cuda"] = "cpu"
    # "int8": dynamic int8 Linear layers on the CPU; "fp16": half precision on CUDA.
    quantize: Literal["none", "int8", "fp16"] = "none"
    # A message of several units is also read whole for its score (labels.message_score): more
    # accurate, one more encoder pass for such a message (docs/quality.md, docs/benchmarks.md).
    read_whole: bool = True

    @model_validator(mode="after")
    def _quantize_fits_device(self) -> SentimentConfig:
        if self.quantize == "int8" and self.device != "cpu":
            raise ValueError(
                'quantize = "int8" runs on the CPU only; with device = "cuda" use "fp16" or "none"'
            )
        if self.quantize == "fp16" and self.device != "cuda":
            raise ValueError(
                'quantize = "fp16" needs device = "cuda"; on the CPU use "int8" or "none"'
            )
        return self


WallView = Literal["journey", "feed", "brands", "trend", "moments"]
WALL_VIEWS: tuple[WallView, ...] = ("journey", "feed", "brands", "trend", "moments")


class WallScreenConfig(_Strict):
    """One physical wall screen's profile, shown at /wall/<name>; URL parameters override it."""

    views: tuple[WallView, ...] = Field(default=WALL_VIEWS, min_length=1)
    rotate_seconds: float = Field(default=20, ge=0, le=3600)  # 0: stay on the first view
    brand: Key | None = None  # the brand the screen is about; default the own brand
    language: Lang | None = None  # default dashboard.language
    theme: Literal["dark", "light"] = "dark"


class DashboardConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    refresh_seconds: float = Field(default=5, gt=0, le=60)
    ticker_size: int = Field(default=12, ge=1, le=100)
    window_hours: int = Field(default=24, ge=1, le=24 * 31)
    stale_after_minutes: float = Field(default=10, gt=0)
    language: Lang = "nl"
    timezone: str = "Europe/Amsterdam"  # times on screen; storage is UTC
    screens: dict[Key, WallScreenConfig] = Field(default_factory=dict)
    # Name of an environment variable holding a read-only token; when set, /wall needs ?token=.
    wall_token_env: str | None = None


class Recipient(_Strict):
    """One person who gets e-mail from CX Pulse, in the language they read."""

    address: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+$", description="plain address")
    language: Lang = "nl"


class RecipientList(_Strict):
    """Who gets the weekly summary of one own brand, or of every own brand when brand is unset."""

    brand: str | None = None
    recipients: tuple[Recipient, ...] = Field(min_length=1)


def _valid_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone (e.g. 'Europe/Amsterdam')") from None
    return name


class EmailConfig(_Strict):
    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str = "cxpulse@localhost"
    recipients: tuple[str, ...] = ()  # every own brand, in organisation.default_language
    ssl: bool = False  # implicit TLS from the first byte (SMTPS, usually port 465)
    timeout_seconds: float = Field(default=30, gt=0, le=600)
    send_attempts: int = Field(default=3, ge=1, le=10)
    retry_wait_seconds: float = Field(default=5, ge=0, le=600)  # doubles after each failure
    # The weekly summary: a crontab line read in report_timezone (Monday 08:00 by default).
    report_cron: str = "0 8 * * 1"
    report_timezone: str = "Europe/Amsterdam"
    report_lists: tuple[RecipientList, ...] = ()
    explorer_base_url: str = "http://127.0.0.1:8050"  # links in e-mails open the explorer here

    @model_validator(mode="after")
    def _report_settings_parse(self) -> EmailConfig:
        _valid_cron(self.report_cron)
        _valid_timezone(self.report_timezone)
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other: SMTPS is TLS from the start")
        return self


class RedactionConfig(_Strict):
    """Extra personal data to remove, e.g. order or customer numbers: kind → regular expression."""

    patterns: dict[str, str] = Field(default_factory=dict)
    # Keep the unredacted text for the manager view only, deleted after retention_days.
    keep_original: bool = False
    retention_days: int = Field(default=30, ge=1, le=3650)

    @model_validator(mode="after")
    def _patterns_compile(self) -> RedactionConfig:
        for kind, pattern in self.patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"redaction.patterns.{kind}: not a valid regular expression ({exc})"
                ) from None
        return self


class AlertsConfig(_Strict):
    """When a rise of negative mentions in one brand × phase becomes an alert, and who hears it."""

    enabled: bool = True
    window_minutes: int = Field(default=15, ge=1, le=24 * 60)  # the recent stretch compared
    baseline: Literal["ewma", "hour_of_week"] = "ewma"
    baseline_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)  # EWMA look-back
    ewma_halflife_hours: float = Field(default=24, gt=0)
    baseline_weeks: int = Field(default=4, ge=1, le=52)  # hour_of_week: weeks to average
    min_baseline_mentions: int = Field(default=50, ge=1)  # less history: no verdict yet
    min_negatives: int = Field(default=8, ge=1)  # fewer negatives in the window never alert
    share_rise: float = Field(default=0.15, gt=0, le=1)  # negative share above the baseline's
    volume_ratio: float = Field(default=2.0, gt=1)  # negatives vs the expected number
    significance: float = Field(default=1e-6, gt=0, lt=1)  # chance of the rise under baseline
    cooldown_minutes: int = Field(default=60, ge=0)  # after an alert ends, before a new one
    own_brands_only: bool = True
    webhook_url_env: str | None = None  # variable holding a Slack/Teams incoming-webhook URL
    recipients: tuple[Recipient, ...] = ()
    webhook_attempts: int = Field(default=3, ge=1, le=10)
    webhook_wait_seconds: float = Field(default=2, ge=0, le=600)  # doubles after each failure


class OrganisationConfig(_Strict):
    name: str = "CX Pulse"
    default_language: Lang = "nl"


class Settings(_Strict):
    """Everything CX Pulse is told: the TOML file, plus the database URL from the environment."""

    organisation: OrganisationConfig = OrganisationConfig()
    brands: tuple[BrandConfig, ...] = Field(min_length=1)
    phases: tuple[PhaseConfig, ...] = Field(min_length=1)
    sources: tuple[SourceConfig, ...] = ()
    sentiment: SentimentConfig = SentimentConfig()
    dashboard: DashboardConfig = DashboardConfig()
    email: EmailConfig = EmailConfig()
    redaction: RedactionConfig = RedactionConfig()
    database_url: str = DEFAULT_DATABASE_URL
    config_path: str = str(DEMO_CONFIG)
    alerts: AlertsConfig = AlertsConfig()

    @model_validator(mode="after")
    def _keys_are_unique_and_refer(self) -> Settings:
        for kind, items in (
            ("brands", self.brands),
            ("phases", self.phases),
            ("sources", self.sources),
        ):
            seen: set[str] = set()
            for item in items:
                if item.key in seen:
                    raise ValueError(f"{kind}: key {item.key!r} is used twice; keys must be unique")
                seen.add(item.key)
        if not any(b.own for b in self.brands):
            raise ValueError("brands: no brand has own = true; mark the organisation's own brand")
        brand_keys = {b.key for b in self.brands}
        for source in self.sources:
            if source.brand is not None and source.brand not in brand_keys:
                raise ValueError(
                    f"sources.{source.key}.brand: {source.brand!r} is not a brand key "
                    f"(known: {', '.join(sorted(brand_keys))})"
                )
        return self

    @model_validator(mode="after")
    def _report_lists_name_own_brands(self) -> Settings:
        own = {b.key for b in self.brands if b.own}
        for i, recipients in enumerate(self.email.report_lists):
            if recipients.brand is not None and recipients.brand not in own:
                raise ValueError(
                    f"email.report_lists[{i}].brand: {recipients.brand!r} is not an own brand "
                    f"(own: {', '.join(sorted(own))}); leave it out to report every own brand"
                )
        return self

    @property
    def own_brand(self) -> BrandConfig:
        return next(b for b in self.brands if b.own)

    def phase(self, key: str) -> PhaseConfig:
        return next(p for p in self.phases if p.key == key)


class Environment(BaseSettings):
    """The few settings that come from the environment, not the TOML file."""

    model_config = SettingsConfigDict(env_prefix="CXPULSE_", extra="ignore")
    database_url: str = DEFAULT_DATABASE_URL
    config: str | None = None


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists each with its key path and a hint."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the configuration:\n{lines}")


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _field_bounds(loc: tuple[int | str, ...]) -> dict[str, Any]:
    """The ge/le bounds declared on the field at `loc`, so a parse error can name the range."""
    model: Any = Settings
    bounds: dict[str, Any] = {}
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if isinstance(part, int) or fields is None or part not in fields:
            continue
        info = fields[part]
        bounds = {k: getattr(m, k) for m in info.metadata for k in ("ge", "le") if hasattr(m, k)}
        annotation = info.annotation
        model = next(
            (a for a in getattr(annotation, "__args__", ()) if hasattr(a, "model_fields")),
            annotation,
        )
    return bounds


def _hint(error: Any) -> str:
    kind, got = error["type"], error.get("input")
    ctx = {**_field_bounds(error["loc"]), **(error.get("ctx") or {})}
    if kind in ("greater_than_equal", "less_than_equal", "float_parsing", "float_type"):
        return f"expected a number{_range(ctx)}, got {got!r}"
    if kind == "int_parsing":
        return f"expected a whole number, got {got!r}"
    if kind == "missing":
        return "required but missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against cxpulse.example.toml)"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {got!r}"
    if kind == "string_pattern_mismatch":
        return f"expected a lowercase key like 'delivery' or 'own_brand', got {got!r}"
    return str(error["msg"]).removeprefix("Value error, ")


def _range(ctx: dict[str, Any]) -> str:
    ge, le = (f"{ctx[k]:g}" if k in ctx else None for k in ("ge", "le"))
    if ge and le:
        return f" between {ge} and {le}"
    if ge:
        return f" of at least {ge}"
    if le:
        return f" of at most {le}"
    return ""


def check_config(raw: dict[str, Any], path: str = "<config>") -> Settings:
    """Validate a parsed TOML document; raise ConfigError listing every problem."""
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_key_path(e['loc'])}: {_hint(e)}" for e in exc.errors()]
        raise ConfigError(path, problems) from None


def load_settings(
    config_path: str | Path | None = None, database_url: str | None = None
) -> Settings:
    """Read the TOML file (default: $CXPULSE_CONFIG, else the built-in demo) and the environment."""
    env = Environment()
    path = Path(config_path or env.config or DEMO_CONFIG)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "file not found; pass --config PATH or set CXPULSE_CONFIG"
        raise ConfigError(str(path), [problem]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from None
    raw.setdefault("database_url", database_url or env.database_url)
    raw["config_path"] = str(path)
    return check_config(raw, str(path))
