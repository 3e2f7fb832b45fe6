"""Scored messages for the explorer's tests: reviews, posts and chats about the demo brands,
stored and scored through the real storage functions (so rollups grow as the worker's do)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from sentiment.labels import label_for
from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message, MessagePhase, UnitScore
from storage.scores import ScoredMessage, save_scores

# (phase, polarity, language, sentence). "te laat" / "too late" is the planted delivery theme.
SENTENCES: tuple[tuple[str, int, str, str], ...] = (
    ("delivery", -1, "nl", "Het pakket kwam twee dagen te laat."),
    ("delivery", -1, "nl", "De bezorger kwam weer te laat en belde niet aan."),
    ("delivery", -1, "nl", "Bezorging te laat, geen track en trace."),
    ("delivery", -1, "en", "The parcel arrived too late."),
    ("delivery", 1, "nl", "Het pakket werd keurig op tijd bezorgd."),
    ("delivery", 1, "en", "Fast delivery, it arrived the next morning."),
    ("service", -1, "nl", "De klantenservice reageerde pas na een week."),
    ("service", -1, "nl", "Lange wachttijd aan de telefoon bij de klantenservice."),
    ("service", -1, "en", "Customer service never answered my email."),
    ("service", 1, "nl", "De medewerker in de chat was erg behulpzaam."),
    ("use", 1, "nl", "De laptop werkt prima en de batterij houdt lang."),
    ("use", 1, "en", "Great sound quality on these headphones."),
    ("use", -1, "nl", "Het scherm was na een week kapot."),
    ("payment", -1, "nl", "Ik ben twee keer afgeschreven voor dezelfde bestelling."),
    ("payment", 1, "en", "Paying with iDEAL was quick."),
    ("purchase", 1, "nl", "Bestellen ging snel en makkelijk."),
    ("returns", -1, "nl", "Retour sturen is een drama, nog steeds geen geld terug."),
    ("loyalty", 1, "nl", "Ik raad deze winkel iedereen aan."),
    ("loyalty", -1, "en", "Never again at this shop."),
)
BRANDS = (("voltera", 0.6), ("stroomz", 0.25), ("kabelhuis", 0.15))
CHAT_TURNS = (
    (
        "customer",
        "service",
        -1,
        "Mijn bestelling is nog steeds niet bezorgd, wat is er aan de hand?",
    ),
    ("agent", None, 0, "Wat vervelend! Ik kijk het direct voor u na."),
    ("customer", "service", -1, "Dit is al de derde keer dat ik contact opneem."),
    ("agent", None, 0, "Het pakket wordt morgen alsnog bezorgd, excuses."),
    ("customer", "service", 1, "Fijn, bedankt voor de snelle hulp!"),
)


@dataclass(frozen=True)
class Seeded:
    start: datetime  # the first message's time
    end: datetime  # just after the last message's time
    messages: int
    conversations: list[str]


def _brand(rng: random.Random) -> str:
    pick = rng.random()
    for key, share in BRANDS:
        if pick < share:
            return key
        pick -= share
    return BRANDS[0][0]


def seed(engine: Engine, count: int = 240, seed: int = 3, now: datetime | None = None) -> Seeded:
    """`count` single messages over the last five days, plus a chat every 40 messages."""
    rng = random.Random(seed)
    end = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=5)
    rows: list[Message] = []
    plans: dict[str, list[tuple[int, str, str | None, float]]] = {}
    brands: dict[str, list[str]] = {}
    conversations: list[str] = []
    for i in range(count):
        created = start + timedelta(minutes=rng.randrange(5 * 24 * 60 - 60))
        brand = _brand(rng)
        channel = rng.choice(("review", "review", "social", "social"))
        picked = rng.sample(SENTENCES, k=rng.choice((1, 2, 2, 3)))
        language = picked[0][2]
        plan = []
        for position, (phase, polarity, _lang, sentence) in enumerate(picked):
            score = round(polarity * rng.uniform(0.35, 0.9), 3)
            plan.append((position, sentence, phase, score))
        rating = None
        if channel == "review":
            # Stars follow delivery and service most, as the drivers test expects.
            by_phase = {p: s for _, _, p, s in plan}
            value = 3.2 + 1.6 * by_phase.get("delivery", 0) + 1.0 * by_phase.get("service", 0)
            value += 0.3 * by_phase.get("use", 0) + rng.gauss(0, 0.35)
            rating = float(min(5, max(1, round(value))))
        external = f"m{i}"
        rows.append(
            Message(
                source="demo",
                external_id=external,
                channel=channel,
                language=language,
                text=" ".join(sentence for _, sentence, _, _ in plan),
                created_at=created,
                rating=rating,
            )
        )
        brands[external] = [brand]
        plans[external] = [(pos, sentence, phase, score) for pos, sentence, phase, score in plan]
        if i % 40 == 0:
            conversation = f"chat-{i}"
            conversations.append(conversation)
            for k, (role, phase, polarity, text) in enumerate(CHAT_TURNS):
                external_turn = f"{conversation}-t{k}"
                rows.append(
                    Message(
                        source="demo",
                        external_id=external_turn,
                        channel="chat",
                        language="nl",
                        text=text,
                        created_at=created + timedelta(seconds=30 * k),
                        conversation_id=conversation,
                        turn_role=role,
                    )
                )
                brands[external_turn] = ["voltera"]
                score = round(polarity * 0.7, 3)
                plans[external_turn] = [(0, text, phase, score)] if phase else []
    with session_scope(engine) as session:
        store_batch(session, "demo", rows, brands)
    with session_scope(engine) as session:
        stored = {
            m.external_id: m
            for m in session.scalars(select(Message).where(Message.source == "demo"))
        }
        results = []
        for external, plan in plans.items():
            message = stored[external]
            assert message.id is not None
            units = [
                UnitScore(
                    message_id=message.id,
                    position=pos,
                    text=sentence,
                    phase=phase,
                    score=score,
                    label=label_for(score),
                    confidence=0.9,
                    model="seed",
                    model_revision="1",
                )
                for pos, sentence, phase, score in plan
            ]
            per_phase: dict[str, list[float]] = {}
            for _, _, phase, score in plan:
                per_phase.setdefault(phase, []).append(score)
            phases = [
                MessagePhase(
                    message_id=message.id,
                    phase=phase,
                    score=sum(s) / len(s),
                    label=label_for(sum(s) / len(s)),
                    units=len(s),
                )
                for phase, s in per_phase.items()
            ]
            mean = sum(u.score for u in units) / len(units) if units else None
            results.append(
                ScoredMessage(
                    message_id=message.id,
                    language=message.language,
                    sentiment=mean,
                    label=label_for(mean) if mean is not None else None,
                    model="seed@1",
                    units=units,
                    phases=phases,
                )
            )
        # Several batches, as the worker stores them, so the rollups are built incrementally.
        for chunk in range(0, len(results), 64):
            save_scores(session, results[chunk : chunk + 64])
    return Seeded(start=start, end=end, messages=len(rows), conversations=conversations)
