"""Demo source: a live simulator of Voltera, a fictional Dutch electronics webshop, and two rivals.

Reviews, social posts and chats in Dutch and English, with timed delivery incidents; replayable."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal, TypeVar

from config import Settings, SourceConfig
from ingest.base import Batch, Channel, IncomingMessage, TurnRole

Polarity = Literal["positive", "negative", "neutral"]
PhaseBank = dict[str, dict[str, tuple[str, ...]]]  # language -> polarity -> clauses
_Key = TypeVar("_Key")


@dataclass(frozen=True)
class DemoBrand:
    key: str
    name: str
    own: bool
    aliases: tuple[str, ...]
    handles: tuple[str, ...]


@dataclass(frozen=True)
class GeneratedMessage:
    """A simulated message plus what the generator meant it to say, for testing the scorer."""

    message: IncomingMessage
    truth: dict[str, str]  # phase key -> "positive" / "negative" / "neutral"


class DemoCursorError(ValueError):
    """The stored cursor is not one this source wrote; reset the demo source's cursor."""


DEFAULT_BRANDS: tuple[DemoBrand, ...] = (
    DemoBrand(
        "voltera", "Voltera", True, ("Voltera", "Voltera.nl"), ("@voltera_nl", "@VolteraHelpt")
    ),
    DemoBrand("stroomz", "Stroomz", False, ("Stroomz", "Stroomz.nl"), ("@stroomz",)),
    DemoBrand("kabelhuis", "Kabelhuis", False, ("Kabelhuis", "Het Kabelhuis"), ("@kabelhuis",)),
)

PHASES: tuple[str, ...] = (
    "orientation",
    "purchase",
    "payment",
    "delivery",
    "use",
    "service",
    "returns",
    "loyalty",
)

# --- Phrase banks -------------------------------------------------------------------------------
# Clauses start lower-case and are main clauses, so any of them can follow "maar" / "but".
# Placeholders: {product}, {brand}, {days}, {minutes}. Written for this simulator.

_ORIENTATION: PhaseBank = {
    "nl": {
        "positive": (
            "de website van {brand} is super overzichtelijk",
            "ik vond alle specificaties van de {product} meteen op de site",
            "de keuzehulp bracht me precies bij de juiste {product}",
            "in de winkel kreeg ik eerlijk advies, zonder verkooppraatjes",
            "de vergelijkingstabel op de site hielp echt bij het kiezen",
            "de productinformatie klopte tot in detail",
            "de reviews op de site waren eerlijk en nuttig",
            "de verkoper nam echt de tijd om alles uit te leggen",
            "via de filters had ik binnen vijf minuten de juiste {product} gevonden",
            "het advies in de chat vooraf was top",
            "de productvideo's lieten goed zien wat je krijgt",
            "amai, wat een goede uitleg kreeg ik in de winkel",
        ),
        "negative": (
            "de website is een chaos en zoeken werkt voor geen meter",
            "de specificaties op de site klopten niet met de {product} die ik kreeg",
            "de productinformatie was summier en deels fout",
            "in de winkel wist niemand iets over de {product}",
            "het advies was puur gericht op het duurste model",
            "de vergelijkingsfunctie op de site werkt niet op mijn telefoon",
            "ik kon nergens vinden welke aansluitingen de {product} heeft",
            "de zoekfunctie gaf alleen maar irrelevante resultaten",
            "ik ben helemaal niet tevreden over het advies dat ik kreeg",
            "de folder beloofde een prijs die online nergens te vinden was",
            "de keuzehulp raadde me iets compleet anders aan dan ik zocht",
        ),
        "neutral": (
            "ik heb eerst een paar avonden reviews gelezen en prijzen vergeleken",
            "ik heb de {product} online vergeleken met een paar andere modellen",
            "de site is oké, niks bijzonders",
            "de productinformatie was niet slecht, wel wat beknopt",
            "ik zocht een {product} onder de 500 euro",
            "ik heb eerst in de winkel rondgekeken",
            "de specificaties staan er wel, al moet je er even naar zoeken",
            "de website doet wat hij moet doen",
            "advies had ik niet nodig, ik wist al wat ik wilde",
            "ik twijfelde lang tussen twee modellen",
            "de keuzehulp is handig voor wie niet weet wat hij zoekt",
        ),
    },
    "en": {
        "positive": (
            "the {brand} website is really easy to navigate",
            "all the specs of the {product} were right there on the product page",
            "the comparison tool helped me pick the right {product}",
            "the staff in the store gave honest advice without pushing",
            "the product information was accurate down to the last detail",
            "the filters got me to the right {product} in minutes",
            "the pre-sales chat gave genuinely useful advice",
            "the reviews on the site were honest and helpful",
            "the buying guide explained the differences really well",
            "the product videos showed exactly what you get",
        ),
        "negative": (
            "the website is a mess and search is useless",
            "the specs on the site did not match the {product} I received",
            "the product information was thin and partly wrong",
            "nobody in the store knew anything about the {product}",
            "the advice was all about upselling the most expensive model",
            "the comparison feature doesn't even work on mobile",
            "I couldn't find which ports the {product} has anywhere",
            "search kept showing completely irrelevant results",
            "the buying guide recommended something totally different from what I asked for",
            "the flyer promised a price that was nowhere to be found online",
        ),
        "neutral": (
            "I spent a few evenings reading reviews and comparing prices",
            "I compared the {product} with a couple of other models online",
            "the website is fine, nothing special",
            "the product info was okay, if a bit brief",
            "I was looking for a {product} under 500 euros",
            "I browsed the store before deciding",
            "the specs are there if you look for them",
            "I didn't need any advice, I knew what I wanted",
            "I went back and forth between two models for a while",
            "the buying guide is handy if you don't know what you're after",
        ),
    },
}

_PURCHASE: PhaseBank = {
    "nl": {
        "positive": (
            "bestellen ging supersnel",
            "de {product} was in de aanbieding en nog op voorraad ook",
            "de prijs was scherper dan overal elders",
            "het bestellen was in twee minuten geregeld",
            "ik kreeg zonder gedoe de beloofde korting",
            "de winkelwagen onthield alles, ook na een dag",
            "mooie {product} voor een nette prijs",
            "ze hadden de {product} gewoon op voorraad terwijl hij overal uitverkocht was",
            "de bestelbevestiging kwam meteen binnen",
            "voor deze prijs is het echt een koopje",
            "niks op aan te merken aan het bestelproces",
        ),
        "negative": (
            "de {product} stond op voorraad maar bleek na het bestellen uitverkocht",
            "de korting verdween ineens uit mijn winkelwagen",
            "de prijs ging omhoog terwijl ik aan het bestellen was",
            "de bestelling bleef hangen bij de laatste stap",
            "ik kreeg geen bestelbevestiging",
            "de aanbieding bleek alleen te gelden voor een ander model",
            "bestellen lukte pas na vier pogingen",
            "de winkelwagen gooide steeds mijn producten eruit",
            "de prijs in de winkel was hoger dan online en ze wilden niet matchen",
            "de {product} was twee weken later ineens 100 euro goedkoper",
            "ik ben helemaal niet tevreden over hoe mijn bestelling is verwerkt",
        ),
        "neutral": (
            "ik heb de {product} online besteld",
            "de prijs was niet slecht, ook niet de laagste",
            "bestellen ging zoals je zou verwachten",
            "ik heb nog even gewacht op een aanbieding",
            "uiteindelijk heb ik de {product} gekocht bij {brand}",
            "de bestelling was vrij standaard",
            "ik heb de {product} besteld met een extra garantiepakket",
            "de prijs is vergelijkbaar met andere winkels",
            "de korting was niet enorm, wel meegenomen",
            "ik heb op zondagavond besteld",
        ),
    },
    "en": {
        "positive": (
            "ordering was super quick",
            "the {product} was on sale and actually in stock",
            "the price beat every other shop I checked",
            "checkout took two minutes, tops",
            "the discount was applied without any hassle",
            "the cart remembered everything even a day later",
            "great {product} for a fair price",
            "they had the {product} in stock when it was sold out everywhere else",
            "the order confirmation arrived instantly",
            "at this price it's a real bargain",
        ),
        "negative": (
            "the {product} showed as in stock but turned out to be sold out after I ordered",
            "the discount suddenly disappeared from my cart",
            "the price went up while I was checking out",
            "checkout froze at the final step",
            "I never got an order confirmation",
            "the deal turned out to apply only to a different model",
            "it took four attempts before the order went through",
            "the cart kept dropping my items",
            "the store price was higher than online and they wouldn't match it",
            "two weeks later the {product} was suddenly 100 euros cheaper",
        ),
        "neutral": (
            "I ordered the {product} online",
            "the price was okay, not the lowest though",
            "ordering went as you'd expect",
            "I waited a bit for a sale",
            "I ended up buying the {product} from {brand}",
            "the order itself was pretty standard",
            "I ordered the {product} with an extended warranty",
            "the price is similar to other shops",
            "the discount wasn't huge, but I'll take it",
            "I bought it on a Sunday evening",
        ),
    },
}

_PAYMENT: PhaseBank = {
    "nl": {
        "positive": (
            "betalen met iDEAL ging in een paar seconden",
            "achteraf betalen was handig geregeld",
            "de factuur stond meteen in mijn mail",
            "betalen met creditcard ging vlekkeloos",
            "de terugbetaling stond binnen twee dagen op mijn rekening",
            "het betalen in termijnen was duidelijk uitgelegd",
            "er waren geen verborgen kosten bij het afrekenen",
            "de betaling was in één keer goed",
            "fijn dat je met Klarna kunt betalen",
            "de factuur was helder en klopte precies",
        ),
        "negative": (
            "het bedrag is twee keer afgeschreven",
            "de iDEAL-betaling mislukte, maar het geld was wel weg",
            "ik wacht al {days} weken op mijn terugbetaling",
            "de factuur klopt niet, er staan extra kosten op",
            "mijn creditcard werd geweigerd zonder duidelijke reden",
            "achteraf betalen werd zonder uitleg afgewezen",
            "er werden ineens betaalkosten gerekend",
            "ik kreeg een aanmaning terwijl ik allang betaald had",
            "de betaling bleef dagenlang op 'in behandeling' staan",
            "ik ben helemaal niet tevreden, ze hebben te veel afgeschreven",
            "de afschrijving kwam van een bedrijf dat ik niet ken",
        ),
        "neutral": (
            "ik heb betaald met iDEAL",
            "ik koos voor achteraf betalen",
            "de factuur kwam een dag later per mail",
            "betalen ging zoals altijd",
            "ik heb met mijn creditcard afgerekend",
            "de betaling duurde iets langer dan normaal, maar kwam wel rond",
            "de betaalopties zijn de gebruikelijke",
            "de afschrijving staat er inmiddels op",
            "ik heb de factuur nog niet bekeken",
            "betalen in termijnen was ook mogelijk",
        ),
    },
    "en": {
        "positive": (
            "paying with iDEAL took seconds",
            "pay later was really convenient",
            "the invoice landed in my inbox straight away",
            "credit card payment went through without a hitch",
            "the refund was in my account within two days",
            "there were no hidden fees at checkout",
            "the payment worked first time",
            "the instalment option was clearly explained",
            "it's nice that you can pay with Klarna",
            "the invoice was clear and exactly right",
        ),
        "negative": (
            "I was charged twice",
            "the iDEAL payment failed but the money was gone anyway",
            "I've been waiting {days} weeks for my refund",
            "the invoice is wrong, there are extra charges on it",
            "my credit card was declined for no clear reason",
            "pay later was refused without explanation",
            "they suddenly added a payment fee",
            "I got a payment reminder even though I paid ages ago",
            "the payment was stuck on 'pending' for days",
            "the charge came from a company I've never heard of",
        ),
        "neutral": (
            "I paid with iDEAL",
            "I chose to pay later",
            "the invoice came by e-mail a day later",
            "payment was the usual",
            "I paid by credit card",
            "the payment took a bit longer than usual but went through",
            "the payment options are the standard ones",
            "the charge has shown up on my statement now",
            "I haven't looked at the invoice yet",
            "paying in instalments was also an option",
        ),
    },
}

_DELIVERY: PhaseBank = {
    "nl": {
        "positive": (
            "het pakket werd al de volgende ochtend bezorgd",
            "de bezorger was vriendelijk en belde netjes aan",
            "de track & trace klopte tot op de minuut",
            "de monteur installeerde de {product} keurig en nam de verpakking mee",
            "de {product} was binnen 24 uur in huis",
            "de levering was precies binnen het beloofde tijdvak",
            "het pakket was stevig en goed verpakt",
            "de koerier bracht de {product} netjes tot in de keuken",
            "de verzending ging sneller dan verwacht",
            "over de bezorging heb ik niks te klagen",
            "den bezorger stond hier al om acht uur 's morgens",
        ),
        "negative": (
            "de bezorger was {days} dagen te laat",
            "het pakket is nooit aangekomen",
            "de bezorger heeft niet eens aangebeld",
            "de track & trace staat al {days} dagen stil",
            "het pakket lag gewoon in de regen voor de deur",
            "de doos was helemaal kapot bij aankomst",
            "de monteur kwam niet opdagen en belde ook niet af",
            "volgens de track & trace is het bezorgd, maar er is niks aangekomen",
            "de levertijd was drie keer zo lang als beloofd",
            "de koerier gooide het pakket over het hek",
            "de levering werd zonder overleg {days} keer verzet",
        ),
        "neutral": (
            "het pakket kwam op de dag die was aangegeven",
            "de bezorging was oké",
            "de levering ging via PostNL",
            "het pakket werd bij de buren afgegeven",
            "de bezorging was niet snel, maar ook niet traag",
            "de track & trace werkte, verder niks bijzonders",
            "de {product} werd in de middag geleverd",
            "ik heb het pakket zelf opgehaald bij het afhaalpunt",
            "de installatie was vrij standaard",
            "de verzending duurde {days} werkdagen",
            "de camion van de leverancier kwam ergens in de namiddag",
        ),
    },
    "en": {
        "positive": (
            "the parcel arrived the very next morning",
            "the driver was friendly and rang the bell",
            "tracking was accurate to the minute",
            "the installer set up the {product} neatly and took the packaging away",
            "the {product} was at my door within 24 hours",
            "delivery came right inside the promised time slot",
            "the package was sturdy and well packed",
            "the courier carried the {product} all the way into the kitchen",
            "shipping was faster than expected",
            "I have no complaints at all about the delivery",
        ),
        "negative": (
            "the courier was {days} days late",
            "the package never arrived",
            "the driver didn't even ring the bell",
            "tracking hasn't moved in {days} days",
            "the parcel was left out in the rain on my doorstep",
            "the box was completely crushed on arrival",
            "the installer never showed up and didn't call",
            "tracking says delivered but nothing arrived",
            "delivery took three times as long as promised",
            "the courier threw the package over the fence",
        ),
        "neutral": (
            "the package arrived on the expected day",
            "delivery was fine",
            "it was shipped with PostNL",
            "the parcel was left with the neighbours",
            "delivery wasn't fast, but not slow either",
            "tracking worked, nothing special",
            "the {product} was delivered in the afternoon",
            "I picked the parcel up at the pickup point myself",
            "the installation was pretty standard",
            "shipping took {days} working days",
        ),
    },
}

_USE: PhaseBank = {
    "nl": {
        "positive": (
            "de {product} werkt perfect",
            "de batterij gaat makkelijk twee dagen mee",
            "het geluid is echt geweldig",
            "het beeld is haarscherp",
            "de {product} is supergebruiksvriendelijk",
            "de kwaliteit is veel beter dan ik had verwacht",
            "ik gebruik de {product} elke dag met veel plezier",
            "de {product} is stil, snel en zuinig",
            "na een maand heb ik nog geen enkel probleem gehad",
            "de {product} was binnen vijf minuten ingesteld",
            "ik ben er echt content van",
            "mooie {product}",
        ),
        "negative": (
            "de {product} was na een week al kapot",
            "de batterij is binnen een paar uur leeg",
            "het scherm heeft een dode pixel",
            "de {product} maakt een raar piepend geluid",
            "de {product} valt steeds uit",
            "de kwaliteit valt echt tegen voor die prijs",
            "de {product} was defect uit de doos",
            "de software loopt de hele tijd vast",
            "de {product} wordt bloedheet na tien minuten",
            "ik ben helemaal niet tevreden over de kwaliteit van de {product}",
            "de {product} doet het niet meer sinds de laatste update",
        ),
        "neutral": (
            "de {product} doet wat hij moet doen",
            "de kwaliteit is niet slecht, ook niet bijzonder",
            "de batterij houdt het een dag vol, zoals verwacht",
            "het geluid is prima voor dagelijks gebruik",
            "ik moet nog wennen aan de bediening van de {product}",
            "de {product} is wat zwaarder dan ik dacht",
            "het beeld is oké",
            "na een week gebruik heb ik nog geen uitgesproken mening",
            "de {product} werkt, verder niks bijzonders",
            "het apparaat is gemiddeld in alles",
        ),
    },
    "en": {
        "positive": (
            "the {product} works perfectly",
            "the battery easily lasts two days",
            "the sound is absolutely amazing",
            "the screen is razor sharp",
            "the {product} is super easy to use",
            "the quality is much better than I expected",
            "I use the {product} every day and love it",
            "the {product} is quiet, fast and efficient",
            "a month in I haven't had a single problem",
            "the {product} was set up in five minutes",
            "great {product}",
        ),
        "negative": (
            "the {product} broke after a week",
            "the battery is dead within a few hours",
            "the screen has a dead pixel",
            "the {product} makes a weird high-pitched noise",
            "the {product} keeps shutting down",
            "the quality is really poor for that price",
            "the {product} was defective out of the box",
            "the software freezes all the time",
            "the {product} gets scorching hot after ten minutes",
            "the {product} stopped working after the last update",
        ),
        "neutral": (
            "the {product} does what it should",
            "the quality is okay, nothing special",
            "the battery lasts a day, as expected",
            "the sound is fine for everyday use",
            "I'm still getting used to the controls of the {product}",
            "the {product} is a bit heavier than I thought",
            "the screen is decent",
            "after a week of use I don't have a strong opinion yet",
            "the {product} works, nothing more to say",
            "the device is average at everything",
        ),
    },
}

_SERVICE: PhaseBank = {
    "nl": {
        "positive": (
            "de klantenservice hielp me binnen vijf minuten",
            "de medewerker in de chat was supervriendelijk",
            "ik kreeg binnen een uur antwoord op mijn mail",
            "de klantenservice dacht echt met me mee",
            "de chat loste mijn probleem in één keer op",
            "de medewerker belde zelf terug, zoals beloofd",
            "er was nauwelijks wachttijd aan de telefoon",
            "de klantenservice bleef vriendelijk, ook toen ik boos was",
            "ik ben top geholpen door de klantenservice",
            "de reactie op mijn vraag was snel en duidelijk",
            "de klantendienst heeft mij heel goed geholpen",
        ),
        "negative": (
            "de chat zei alleen maar sorry",
            "ik hing {minutes} minuten in de wacht",
            "de klantenservice reageert al een week niet op mijn mail",
            "de medewerker hing gewoon op",
            "ik kreeg elke keer een ander antwoord van een andere medewerker",
            "de chatbot begrijpt helemaal niks",
            "de klantenservice zou terugbellen, maar dat gebeurde nooit",
            "de medewerker was kortaf en onvriendelijk",
            "ik ben helemaal niet tevreden over het contact met de klantenservice",
            "mijn vraag werd gewoon weggeklikt in de chat",
            "je krijgt alleen standaardantwoorden op je mail",
        ),
        "neutral": (
            "ik heb de klantenservice gebeld met een vraag",
            "de chat gaf een standaardantwoord, maar dat was wel voldoende",
            "de wachttijd was ongeveer {minutes} minuten",
            "de medewerker verwees me door naar de website",
            "de klantenservice was bereikbaar, meer ook niet",
            "ik kreeg na twee dagen een antwoord per mail",
            "de chat was niet slecht, wel wat traag",
            "ik heb contact opgenomen via het contactformulier",
            "de medewerker noteerde mijn vraag en zou het uitzoeken",
            "het antwoord was correct, maar wat afstandelijk",
        ),
    },
    "en": {
        "positive": (
            "customer service sorted it out in five minutes",
            "the agent in the chat was super friendly",
            "I got an answer to my email within the hour",
            "support really went the extra mile",
            "the chat solved my problem in one go",
            "the agent called me back, just as promised",
            "there was barely any waiting time on the phone",
            "the support team stayed friendly even when I was angry",
            "customer service was really helpful",
            "the response to my question was quick and clear",
        ),
        "negative": (
            "the chat only said sorry",
            "I was on hold for {minutes} minutes",
            "customer service hasn't answered my email in a week",
            "the agent just hung up on me",
            "every agent gave me a different answer",
            "the chatbot understands absolutely nothing",
            "support promised to call back but never did",
            "the agent was curt and rude",
            "my question was just brushed off in the chat",
            "you only get canned answers by email",
        ),
        "neutral": (
            "I called customer service with a question",
            "the chat gave a standard answer, which was good enough",
            "the waiting time was about {minutes} minutes",
            "the agent pointed me to the website",
            "customer service was reachable, that's about it",
            "I got an email reply after two days",
            "the chat was okay, a bit slow",
            "I got in touch through the contact form",
            "the agent took down my question and said they'd look into it",
            "the answer was correct, if a bit distant",
        ),
    },
}

_RETURNS: PhaseBank = {
    "nl": {
        "positive": (
            "retourneren was gratis en supermakkelijk",
            "mijn geld was binnen drie dagen terug",
            "omruilen voor een ander model ging zonder gedoe",
            "de garantieclaim was binnen een week afgehandeld",
            "het retourlabel zat gewoon in de doos",
            "annuleren kon met één klik",
            "mijn klacht werd serieus genomen en snel opgelost",
            "ze haalden de kapotte {product} zelf bij me op",
            "de retour werd zonder vragen geaccepteerd",
            "ik kreeg meteen een nieuwe {product} onder garantie",
        ),
        "negative": (
            "ik wacht al {days} weken op mijn geld terug",
            "mijn retour is 'kwijtgeraakt' in het magazijn",
            "ze weigeren de garantie omdat het 'gebruiksschade' zou zijn",
            "annuleren was onmogelijk, ook al was er nog niks verzonden",
            "ik moest de retour zelf betalen terwijl de {product} defect was",
            "mijn klacht ligt al weken op de stapel",
            "omruilen mocht niet, alleen een tegoedbon",
            "het retourformulier geeft steeds een foutmelding",
            "de {product} is al drie keer teruggestuurd en nog steeds niet gemaakt",
            "ik ben helemaal niet tevreden over hoe mijn retour is afgehandeld",
        ),
        "neutral": (
            "ik heb de {product} teruggestuurd",
            "de retour is aangemeld, nu afwachten",
            "ik heb een garantieclaim ingediend",
            "retourneren kon binnen 30 dagen, zoals overal",
            "ik heb mijn bestelling geannuleerd",
            "het retourproces was niet slecht, wel omslachtig",
            "ik heb de {product} omgeruild voor een ander model",
            "ik heb een klacht ingediend via het formulier",
            "het geld terugkrijgen duurde de gebruikelijke twee weken",
            "de retourvoorwaarden staan duidelijk op de site",
        ),
    },
    "en": {
        "positive": (
            "returning it was free and really easy",
            "I had my money back within three days",
            "exchanging it for another model was no hassle",
            "the warranty claim was handled within a week",
            "the return label was right there in the box",
            "cancelling took one click",
            "my complaint was taken seriously and solved quickly",
            "they picked up the broken {product} from my home",
            "the return was accepted, no questions asked",
            "I got a brand new {product} under warranty straight away",
        ),
        "negative": (
            "I've been waiting {days} weeks for my money back",
            "my return got 'lost' in the warehouse",
            "they refuse the warranty claim, calling it 'user damage'",
            "cancelling was impossible even though nothing had shipped yet",
            "I had to pay for the return myself even though the {product} was faulty",
            "my complaint has been sitting in a pile for weeks",
            "no exchange allowed, only store credit",
            "the returns form keeps throwing an error",
            "the {product} has been sent back three times and still isn't fixed",
            "I'm really unhappy with how my return was handled",
        ),
        "neutral": (
            "I sent the {product} back",
            "the return is registered, now we wait",
            "I filed a warranty claim",
            "returns are possible within 30 days, like everywhere",
            "I cancelled my order",
            "the return process was okay, a bit cumbersome",
            "I exchanged the {product} for another model",
            "I filed a complaint through the form",
            "the refund took the usual two weeks",
            "the return conditions are clearly stated on the site",
        ),
    },
}

_LOYALTY: PhaseBank = {
    "nl": {
        "positive": (
            "ik bestel hier zeker weer",
            "ik raad {brand} aan iedereen aan",
            "het is echt een aanrader",
            "ik ben al jaren vaste klant en dat blijf ik",
            "mijn vrienden heb ik al getipt",
            "volgende keer koop ik weer bij {brand}",
            "voor elektronica ga ik voortaan alleen nog naar {brand}",
            "ik heb mijn ouders er ook al heen gestuurd",
            "het is een dikke aanrader voor iedereen die een {product} zoekt",
            "{brand} heeft er een fan bij",
        ),
        "negative": (
            "nooit meer {brand}",
            "ik bestel hier nooit meer",
            "ik raad iedereen af om hier te kopen",
            "na tien jaar als vaste klant ben ik er klaar mee",
            "volgende keer ga ik gewoon naar de concurrent",
            "ik heb al mijn vrienden gewaarschuwd",
            "dit was mijn laatste bestelling bij {brand}",
            "het is echt geen aanrader",
            "nooit meer, echt nooit meer",
            "ik heb mijn account opgezegd",
        ),
        "neutral": (
            "misschien bestel ik hier nog eens",
            "ik weet nog niet of ik hier terugkom",
            "of ik het zou aanraden hangt ervan af",
            "volgende keer vergelijk ik gewoon weer",
            "ik ben geen vaste klant, maar het was prima zo",
            "voor een {product} zou ik hier wel weer kijken",
            "ik blijf gewoon de prijzen vergelijken",
            "vrienden vragen me soms waar ik mijn spullen koop",
            "we zien wel waar ik de volgende keer bestel",
            "of ik terugkom hangt van de prijs af",
        ),
    },
    "en": {
        "positive": (
            "I'll definitely order here again",
            "I recommend {brand} to everyone",
            "it's highly recommended",
            "I've been a loyal customer for years and I'm staying",
            "I've already told my friends",
            "next time I'm buying from {brand} again",
            "from now on {brand} is my go-to for electronics",
            "I've sent my parents there too",
            "it's a must for anyone looking for a {product}",
            "{brand} has won a fan",
        ),
        "negative": (
            "never again {brand}",
            "I'm never ordering here again",
            "I'd advise everyone against buying here",
            "after ten years as a loyal customer I'm done",
            "next time I'm going straight to the competition",
            "I've warned all my friends",
            "this was my last order with {brand}",
            "it's definitely not recommended",
            "never again, seriously never again",
            "I've closed my account",
        ),
        "neutral": (
            "maybe I'll order here again",
            "I'm not sure yet whether I'll come back",
            "whether I'd recommend it depends",
            "next time I'll just compare again",
            "I'm not a regular, but it was fine this time",
            "for a {product} I'd look here again",
            "I'll keep comparing prices",
            "friends sometimes ask me where I buy my stuff",
            "we'll see where I order next time",
            "whether I come back depends on the price",
        ),
    },
}

CLAUSES: dict[str, PhaseBank] = {
    "orientation": _ORIENTATION,
    "purchase": _PURCHASE,
    "payment": _PAYMENT,
    "delivery": _DELIVERY,
    "use": _USE,
    "service": _SERVICE,
    "returns": _RETURNS,
    "loyalty": _LOYALTY,
}

# The wave the wall should catch: short, angry, all about parcels that did not come.
INCIDENT_CLAUSES: dict[str, tuple[str, ...]] = {
    "nl": (
        "pakket niet aangekomen",
        "de bezorger kwam niet, terwijl ik de hele dag thuis was",
        "mijn bestelling staat al sinds vanochtend op 'vertraagd'",
        "geen pakket, geen bericht, niks",
        "de track & trace zegt ineens 'adres niet gevonden'",
        "de bezorging is alweer verplaatst naar morgen",
        "de hele straat wacht op pakketjes van {brand}, wat is er aan de hand",
        "het bezorgmoment is gemist zonder enige melding",
        "mijn pakket ligt ergens in een depot en niemand weet waar",
        "voor de tweede keer vandaag is de bezorging mislukt",
    ),
    "en": (
        "package not delivered",
        "the courier never came even though I was home all day",
        "my order has been stuck on 'delayed' since this morning",
        "no parcel, no message, nothing",
        "tracking suddenly says 'address not found'",
        "delivery got pushed back to tomorrow again",
        "half my street is waiting for {brand} parcels, what is going on",
        "the delivery slot was missed without any notice",
        "my parcel is sitting in some depot and nobody knows where",
        "delivery failed for the second time today",
    ),
}

# Same index = same product, so a translated message talks about the same thing.
PRODUCTS: dict[str, tuple[str, ...]] = {
    "nl": (
        "laptop",
        "koptelefoon",
        "wasmachine",
        "telefoon",
        "tv",
        "stofzuiger",
        "airfryer",
        "monitor",
        "soundbar",
        "smartwatch",
        "printer",
        "vaatwasser",
        "e-reader",
        "router",
        "gsm",
    ),
    "en": (
        "laptop",
        "headset",
        "washing machine",
        "phone",
        "TV",
        "vacuum cleaner",
        "air fryer",
        "monitor",
        "soundbar",
        "smartwatch",
        "printer",
        "dishwasher",
        "e-reader",
        "router",
        "mobile",
    ),
}
_DAYS = {"nl": ("twee", "drie", "vier", "vijf"), "en": ("two", "three", "four", "five")}
_MINUTES = ("25", "35", "40", "45", "55", "70")

# Connectors: a change of polarity reads as contrast, the same polarity as addition.
CONTRAST = {
    "nl": (", maar ", ", alleen ", ". Maar ", " — maar ", ", maar ja, "),
    "en": (", but ", ", although ", ". But ", " — though ", ", even if "),
}
ADDITION = {
    "nl": (" en ", ", en ", ". ", ". Ook ", ", "),
    "en": (" and ", ", and ", ". ", ". Also, ", ", "),
}


ToneBank = dict[str, dict[Polarity, tuple[str, ...]]]

REVIEW_OPENERS: dict[str, tuple[str, ...]] = {
    "nl": (
        "Eerlijke review.",
        "Even mijn ervaring delen.",
        "Kort samengevat:",
        "Update na een maand:",
        "Mijn ervaring met {brand}:",
        "Lang getwijfeld of ik dit zou schrijven.",
    ),
    "en": (
        "Honest review.",
        "Just sharing my experience.",
        "Quick summary:",
        "Update after a month:",
        "My experience with {brand}:",
        "Took me a while to write this.",
    ),
}
REVIEW_CLOSERS: ToneBank = {
    "nl": {
        "positive": ("Top!", "Blij mee.", "Zeer tevreden.", "Prima gedaan!"),
        "negative": ("Jammer.", "Teleurgesteld.", "Zo hoort het niet.", "Erg balen."),
        "neutral": ("Verder niks bijzonders.", "Gemiddeld dus.", "Niet goed, niet slecht."),
    },
    "en": {
        "positive": ("Great!", "Very happy.", "Really pleased.", "Well done!"),
        "negative": ("Disappointing.", "Not how it should be.", "Shame.", "Really annoying."),
        "neutral": ("Nothing special otherwise.", "Average, then.", "Not bad, not great."),
    },
}
SOCIAL_OPENERS: ToneBank = {
    "nl": {
        "positive": ("Even een compliment!", "Eerlijk is eerlijk:", "Wauw.", "Zo blij!", "Amai!"),
        "negative": ("Pff.", "Echt hè.", "Serieus?!", "Nou nou.", "Allez zeg.", "wtf"),
        "neutral": ("Ok dan.", "Update:", "Tja.", "ff een update:"),
    },
    "en": {
        "positive": ("Shoutout!", "Honestly impressed.", "Wow.", "So happy!"),
        "negative": ("Ugh.", "Seriously?!", "Unbelievable.", "tbh"),
        "neutral": ("Update:", "Well.", "So."),
    },
}
SOCIAL_CLOSERS: ToneBank = {
    "nl": {
        "positive": ("Top!", "Blij mee!", "Zo hoort het!", "Dikke duim!", "idd echt top"),
        "negative": (
            "Echt belachelijk.",
            "Wat een drama.",
            "Schiet eens op!",
            "Bah.",
            "Dit kan echt niet.",
            "ff serieus, dit kan nie",
        ),
        "neutral": ("Gewoon prima.", "Meh.", "We zien wel.", "Boeit niet echt."),
    },
    "en": {
        "positive": ("Love it!", "Well done!", "Spot on.", "Brilliant."),
        "negative": ("Ridiculous.", "Sort it out!", "What a joke.", "Not good enough.", "smh"),
        "neutral": ("Meh.", "It's fine.", "We'll see.", "Fair enough."),
    },
}
EMOJI: dict[Polarity, tuple[str, ...]] = {
    "positive": ("😍", "👍", "🙌", "🎉", "❤️", "😊"),
    "negative": ("😡", "🙄", "😤", "👎", "🤬", "😭"),
    "neutral": ("🤷", "🤔", "😐"),
}
HASHTAGS: ToneBank = {
    "nl": {
        "positive": ("#aanrader", "#blij", "#tevreden", "#topservice"),
        "negative": ("#fail", "#nooitmeer", "#boos", "#klantonvriendelijk"),
        "neutral": ("#elektronica", "#review", "#maandag"),
    },
    "en": {
        "positive": ("#recommended", "#happycustomer", "#win"),
        "negative": ("#fail", "#neveragain", "#annoyed"),
        "neutral": ("#tech", "#review", "#monday"),
    },
}
PHASE_HASHTAGS: dict[str, dict[str, str]] = {
    "delivery": {"nl": "#bezorging", "en": "#delivery"},
    "service": {"nl": "#klantenservice", "en": "#customerservice"},
    "returns": {"nl": "#retour", "en": "#returns"},
    "use": {"nl": "#kwaliteit", "en": "#quality"},
}

# Chats: the bot greets, the customer raises one issue, an agent answers, and the
# customer's last turn says how it ended (the "end" in peak-end).
CHAT_BOT: dict[str, tuple[str, ...]] = {
    "nl": (
        "Hoi! Ik ben de digitale assistent van {brand}. Waarmee kan ik je helpen?",
        "Welkom bij de chat van {brand}. Stel je vraag, dan verbind ik je door met een collega.",
        "Goedendag! Je chat met de virtuele assistent van {brand}. Een moment geduld a.u.b.",
    ),
    "en": (
        "Hi! I'm the {brand} digital assistant. How can I help you?",
        "Welcome to {brand} chat. Ask your question and I'll connect you with a colleague.",
        "Hello! You're chatting with the {brand} virtual assistant. One moment please.",
    ),
}
CHAT_GREETINGS: dict[str, tuple[str, ...]] = {
    "nl": ("Hoi, ", "Hallo, ", "Goedemiddag, ", "Goedemorgen, ", "Hey, ", "", "Dag, "),
    "en": ("Hi, ", "Hello, ", "Good afternoon, ", "Hey, ", ""),
}
CHAT_QUESTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "orientation": {
        "nl": (
            "kunnen jullie me adviseren welke {product} het best bij me past?",
            "klopt het dat deze {product} ook bluetooth heeft?",
        ),
        "en": (
            "can you advise me which {product} suits me best?",
            "is it true this {product} has bluetooth too?",
        ),
    },
    "purchase": {
        "nl": (
            "is de {product} binnenkort weer op voorraad?",
            "kan ik mijn bestelling nog aanpassen?",
        ),
        "en": ("will the {product} be back in stock soon?", "can I still change my order?"),
    },
    "payment": {
        "nl": ("kan ik ook achteraf betalen?", "wanneer wordt het bedrag afgeschreven?"),
        "en": ("can I pay later as well?", "when will the amount be charged?"),
    },
    "delivery": {
        "nl": ("wanneer wordt mijn pakket bezorgd?", "kan ik het bezorgmoment nog wijzigen?"),
        "en": ("when will my parcel be delivered?", "can I still change the delivery slot?"),
    },
    "use": {
        "nl": (
            "hoe koppel ik de {product} aan mijn wifi?",
            "hoe zet ik de {product} terug naar de fabrieksinstellingen?",
        ),
        "en": (
            "how do I connect the {product} to my wifi?",
            "how do I reset the {product} to factory settings?",
        ),
    },
    "returns": {
        "nl": ("hoe meld ik een retour aan?", "valt dit nog onder de garantie?"),
        "en": ("how do I register a return?", "is this still covered by the warranty?"),
    },
    "loyalty": {
        "nl": (
            "hebben jullie iets voor vaste klanten?",
            "krijg ik korting als ik iemand aanbreng?",
        ),
        "en": (
            "do you have anything for regular customers?",
            "do I get a discount for a referral?",
        ),
    },
}
AGENT_INTRO: dict[str, str] = {"nl": "Hoi, je spreekt met {agent}. ", "en": "Hi, this is {agent}. "}
AGENT_ACK: dict[str, tuple[str, ...]] = {
    "nl": (
        "Vervelend om te horen! Ik kijk het meteen voor je na.",
        "Dank je voor je bericht. Een moment, ik zoek het even uit.",
        "Dat begrijp ik. Ik ga het direct voor je bekijken.",
        "Sorry voor het ongemak! Ik duik erin.",
    ),
    "en": (
        "Sorry to hear that! Let me look into it right away.",
        "Thanks for your message. One moment while I check.",
        "I understand. I'll take a look for you now.",
        "Apologies for the trouble! Let me dig into it.",
    ),
}
AGENT_ASK: dict[str, tuple[str, ...]] = {
    "nl": ("Mag ik je bestelnummer, dan zoek ik het op.", "Kun je me je gegevens even geven?"),
    "en": (
        "Could I have your order number so I can look it up?",
        "Could you give me your details?",
    ),
}
AGENT_FIX: dict[str, dict[str, tuple[str, ...]]] = {
    "nl": {
        "orientation": (
            "Voor jouw gebruik raad ik het middelste model aan, dat is ruim voldoende.",
        ),
        "purchase": ("Ik heb je bestelling aangepast en de korting alsnog verwerkt.",),
        "payment": (
            "Ik heb het dubbele bedrag teruggestort, binnen twee werkdagen staat het erop.",
        ),
        "delivery": ("Ik heb een nieuwe zending aangemaakt, die komt morgen voor 12 uur.",),
        "use": ("Ik stuur je vandaag nog een vervangend exemplaar.",),
        "returns": (
            "Ik heb een gratis retourlabel naar je gemaild en de terugbetaling klaargezet.",
        ),
        "loyalty": ("Ik heb een kortingscode van 10% op je account gezet.",),
    },
    "en": {
        "orientation": ("For your use I'd go for the mid-range model, that's plenty.",),
        "purchase": ("I've updated your order and applied the discount after all.",),
        "payment": ("I've refunded the double charge, it'll be back within two working days.",),
        "delivery": ("I've created a new shipment, it'll arrive tomorrow before noon.",),
        "use": ("I'll send you a replacement unit today.",),
        "returns": ("I've emailed you a free return label and set up the refund.",),
        "loyalty": ("I've added a 10% discount code to your account.",),
    },
}
AGENT_OTHER: dict[str, dict[Polarity, tuple[str, ...]]] = {
    "nl": {
        "neutral": (
            "Ik heb het genoteerd; je krijgt binnen twee werkdagen bericht.",
            "Ik heb het doorgezet naar de juiste afdeling, zij nemen contact met je op.",
        ),
        "negative": (
            "Helaas kan ik daar op dit moment niets aan doen.",
            "Daar kan ik helaas geen uitzondering voor maken.",
            "Ik begrijp je frustratie, maar het systeem laat het niet toe.",
        ),
    },
    "en": {
        "neutral": (
            "I've made a note of it; you'll hear from us within two working days.",
            "I've passed it on to the right team, they'll get in touch.",
        ),
        "negative": (
            "Unfortunately there's nothing I can do about that right now.",
            "I'm afraid I can't make an exception there.",
            "I understand your frustration, but the system won't allow it.",
        ),
    },
}
CHAT_MIDDLE: dict[str, tuple[str, ...]] = {
    "nl": (
        "Het gaat om de {product} die ik vorige week bestelde.",
        "Dat heb ik al geprobeerd, helaas.",
        "Oké. Hoe lang gaat dat duren?",
        "Ik heb hier al eerder contact over gehad.",
        "Ja, klopt. Ik wacht het even af.",
    ),
    "en": (
        "It's about the {product} I ordered last week.",
        "I already tried that, unfortunately.",
        "Okay. How long will that take?",
        "I've been in touch about this before.",
        "Yes, that's right. I'll hold on.",
    ),
}
CHAT_ENDINGS: ToneBank = {
    "nl": {
        "positive": (
            "Top, dank je wel voor de snelle hulp!",
            "Super, dan ben ik geholpen. Fijne dag!",
            "Wat fijn, bedankt! Goed geregeld.",
            "Helemaal goed, heel erg bedankt.",
            "Merci, da's snel opgelost!",
        ),
        "negative": (
            "Dus ik moet gewoon weer wachten. Echt belachelijk.",
            "Laat maar, hier heb ik niks aan.",
            "Dit is de derde keer dat ik dit hoor. Heel teleurstellend.",
            "Ik ben er klaar mee. Bedankt voor niks.",
            "Weer niet geholpen dus. Ongelooflijk.",
        ),
        "neutral": (
            "Oké, dan wacht ik het af.",
            "Goed, ik hoor het wel.",
            "Oké, bedankt.",
            "Prima, we zien wel.",
        ),
    },
    "en": {
        "positive": (
            "Great, thanks so much for the quick help!",
            "Perfect, that sorts it. Have a nice day!",
            "Brilliant, thank you! Well handled.",
            "All good, thanks a lot.",
        ),
        "negative": (
            "So I just have to wait again. Ridiculous.",
            "Forget it, this is no help at all.",
            "That's the third time I've heard this. Very disappointing.",
            "I'm done. Thanks for nothing.",
        ),
        "neutral": (
            "Okay, I'll wait and see.",
            "Fine, I'll hear from you then.",
            "Okay, thanks.",
            "Alright, we'll see.",
        ),
    },
}

# Obviously fake people, for authors and for the personal data that redaction must remove.
FIRST_NAMES = (
    "Jan",
    "Sanne",
    "Mohammed",
    "Fatima",
    "Pieter",
    "Lotte",
    "Daan",
    "Emma",
    "Kevin",
    "Priya",
    "Thomas",
    "Noor",
    "Wim",
    "Els",
    "Bram",
    "Yara",
    "Joris",
    "Ilse",
    "Koen",
    "Ayşe",
)
LAST_NAMES = (
    "de Vries",
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "Peeters",
    "Janssens",
    "Yilmaz",
    "El Amrani",
    "van Dijk",
    "Bos",
    "Vermeulen",
    "Hendriks",
)
ORDER_PREFIXES = {"voltera": "VT", "stroomz": "SZ", "kabelhuis": "KH"}
STREETS = ("Dorpsstraat", "Kerkstraat", "Stationsweg", "Molenlaan", "Schoolstraat")

# Per brand: (P(positive), P(negative)) per phase; the rest is neutral. Voltera shines in use
# and stumbles at the webshop-to-carrier handoff; Stroomz is cheap and fast but flimsy;
# Kabelhuis gives old-school advice and service but has a clumsy web shop.
PROFILES: dict[str, dict[str, tuple[float, float]]] = {
    "voltera": {
        "orientation": (0.55, 0.15),
        "purchase": (0.60, 0.15),
        "payment": (0.60, 0.10),
        "delivery": (0.30, 0.50),
        "use": (0.75, 0.10),
        "service": (0.45, 0.35),
        "returns": (0.35, 0.45),
        "loyalty": (0.60, 0.25),
    },
    "stroomz": {
        "orientation": (0.45, 0.25),
        "purchase": (0.65, 0.15),
        "payment": (0.45, 0.30),
        "delivery": (0.70, 0.15),
        "use": (0.35, 0.45),
        "service": (0.25, 0.55),
        "returns": (0.30, 0.50),
        "loyalty": (0.40, 0.40),
    },
    "kabelhuis": {
        "orientation": (0.70, 0.10),
        "purchase": (0.40, 0.35),
        "payment": (0.30, 0.45),
        "delivery": (0.50, 0.25),
        "use": (0.60, 0.20),
        "service": (0.70, 0.15),
        "returns": (0.60, 0.20),
        "loyalty": (0.65, 0.15),
    },
}
_COMPETITOR_PROFILES = ("stroomz", "kabelhuis")

CHANNEL_WEIGHTS: dict[Channel, float] = {"review": 0.35, "social": 0.40, "chat": 0.25}
PHASE_WEIGHTS: dict[Channel, dict[str, float]] = {
    "review": {
        "orientation": 1.0,
        "purchase": 2.0,
        "payment": 1.0,
        "delivery": 3.0,
        "use": 4.0,
        "service": 1.5,
        "returns": 1.0,
        "loyalty": 2.5,
    },
    "social": {
        "orientation": 0.7,
        "purchase": 1.5,
        "payment": 1.0,
        "delivery": 3.5,
        "use": 3.0,
        "service": 3.0,
        "returns": 1.5,
        "loyalty": 1.5,
    },
    # Service is what every chat is about, so it is the ending, not the opening issue.
    "chat": {
        "orientation": 0.5,
        "purchase": 1.5,
        "payment": 2.0,
        "delivery": 4.0,
        "use": 2.5,
        "returns": 3.0,
        "loyalty": 0.3,
    },
}
# Two or three phases in one message is common in real feedback, and the hard case to score.
CLAUSE_COUNTS = (1, 2, 3)
CLAUSE_COUNT_WEIGHTS = (0.40, 0.40, 0.20)
DUTCH_SHARE = 0.75
OWN_BRAND_SHARE = 0.50  # of reviews and social posts; chats only exist for the own brand
INCIDENT_OWN_BRAND_SHARE = 0.80
INCIDENT_HIT_SHARE = 0.80  # own-brand messages during an incident that are about the failure
PERSONAL_DATA_SHARE = 0.05
CHAT_PERSONAL_DATA_SHARE = 0.15  # per conversation: one customer turn gives details
_SCORE: dict[str, int] = {"positive": 1, "neutral": 0, "negative": -1}


# --- Small text helpers ---------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: Mapping[_Key, float]) -> _Key:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _polarity(rng: random.Random, odds: tuple[float, float]) -> Polarity:
    draw = rng.random()
    if draw < odds[0]:
        return "positive"
    return "negative" if draw < odds[0] + odds[1] else "neutral"


def _tone(truth: Mapping[str, str]) -> Polarity:
    total = sum(_SCORE[p] for p in truth.values())
    return "positive" if total > 0 else "negative" if total < 0 else "neutral"


def _sentence_case(text: str) -> str:
    return re.sub(r"(^|[.!?]\s+)([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(), text)


def _finish(text: str) -> str:
    return text if text[-1] in ".!?" else text + "."


def _compose(parts: Sequence[tuple[str, Polarity]], lang: str, rng: random.Random) -> str:
    """Join clauses into one text, with "maar"/"but" where the sentiment turns."""
    text, used = parts[0][0], ""
    for (_, before), (clause, after) in pairwise(parts):
        turns = {before, after} == {"positive", "negative"}
        # "but ..., but ..." reads like a template, so never the same connector twice in a row.
        options = [c for c in (CONTRAST if turns else ADDITION)[lang] if c != used]
        used = rng.choice(options)
        text += used + clause
    return _finish(_sentence_case(text))


def _typo(text: str, rng: random.Random) -> str:
    """Swap two letters in one lower-case word; brand names (capitalised) stay intact."""
    words = list(re.finditer(r"\b[a-z]{5,}\b", text))
    if not words:
        return text
    word = rng.choice(words)
    i = word.start() + rng.randrange(1, len(word.group()) - 2)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def _username(rng: random.Random) -> str:
    first, last = _person(rng)
    last_part = last.lower().replace(" ", "_")
    style = rng.randrange(3)
    if style == 0:
        return f"{first.lower()}_{last_part}{rng.randint(60, 99)}"
    if style == 1:
        return f"{first.lower()}{last_part[0]}{rng.randint(1, 999)}"
    return f"{first.lower()}.{last_part.replace('_', '')}"


def _personal_data(rng: random.Random, lang: str, brand: DemoBrand, social: bool) -> str:
    """One sentence of plainly fake personal data, so downstream redaction has work to do."""
    first, last = _person(rng)
    kinds = ["phone", "email", "address", "name", "order"] + (["handle"] if social else [])
    kind = rng.choice(kinds)
    nl = lang == "nl"
    if kind == "phone":
        # 06-1 to 06-5 are real Dutch mobile ranges, so validating detectors see a number.
        number = f"06-{rng.randint(10_000_000, 59_999_999)}"
        return f"Bel me gerust op {number}." if nl else f"Call me on {number}."
    if kind == "email":
        address = f"{first}.{last.replace(' ', '')}@example.com".lower()
        return f"Mail me op {address}." if nl else f"Email me at {address}."
    if kind == "address":
        letters = rng.choice("ABCDEGHJKLMNPRST") + rng.choice("ABDEGHKLNRSTVXZ")
        postcode = f"{rng.randint(1000, 9999)} {letters}"
        street, house = rng.choice(STREETS), rng.randint(1, 180)
        if nl:
            return f"Mijn adres is {street} {house}, {postcode}."
        return f"My address is {street} {house}, {postcode}."
    if kind == "name":
        return f"Mijn naam is {first} {last}." if nl else f"My name is {first} {last}."
    if kind == "order":
        prefix = ORDER_PREFIXES.get(brand.key) or brand.name.upper()[:2]
        order = f"{prefix}-{rng.randint(100_000, 999_999)}"
        return f"Bestelnummer {order}." if nl else f"Order number {order}."
    return f"cc @{_username(rng).replace('.', '_')}"


# --- The source -----------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DemoSource:
    """A live, replayable stream of simulated customer messages for the demo wall.

    Sequence numbers sit on an absolute time grid (seq n is due n / rate minutes after the Unix
    epoch, with incident minutes packed twice as densely), so a restart without a cursor re-reads
    the same ids with the same content and storage sees them as duplicates, never as new."""

    def __init__(
        self,
        key: str = "demo",
        *,
        brands: Sequence[DemoBrand] = DEFAULT_BRANDS,
        rate_per_minute: float = 40,
        seed: int = 7,
        incident_every_minutes: float = 30,
        incident_minutes: float = 8,
        backfill_minutes: float = 30,
        max_batch: int = 500,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if not brands:
            raise ValueError("demo source needs at least one brand; check [[brands]] in the config")
        if rate_per_minute <= 0:
            raise ValueError(f"demo rate_per_minute must be > 0, got {rate_per_minute}")
        if max_batch < 1:
            raise ValueError(f"demo max_batch must be >= 1, got {max_batch}")
        if incident_every_minutes < 0 or incident_minutes < 0 or backfill_minutes < 0:
            raise ValueError("demo incident and backfill minutes must not be negative")
        self.key = key
        self.brands = tuple(brands)
        self.rate_per_minute = float(rate_per_minute)
        self.seed = seed
        self.incident_every_minutes = float(incident_every_minutes)
        self.incident_minutes = float(incident_minutes)
        self.backfill_minutes = float(backfill_minutes)
        self.max_batch = max_batch
        self._clock = clock
        self._own = tuple(b for b in self.brands if b.own) or self.brands[:1]
        self._rivals = tuple(b for b in self.brands if not b.own)
        self._profiles = self._assign_profiles()
        # Timeline constants, in seconds and messages per second.
        self._rate = self.rate_per_minute / 60
        self._incidents = self.incident_every_minutes > 0 and self.incident_minutes > 0
        self._cycle = self.incident_every_minutes * 60
        self._burst = min(self.incident_minutes, self.incident_every_minutes) * 60
        self._per_cycle = 2 * self._rate * self._burst + self._rate * (self._cycle - self._burst)

    def _assign_profiles(self) -> dict[str, dict[str, tuple[float, float]]]:
        profiles: dict[str, dict[str, tuple[float, float]]] = {}
        rivals = 0
        for brand in self.brands:
            if brand.key in PROFILES:
                profiles[brand.key] = PROFILES[brand.key]
            elif brand.own:
                profiles[brand.key] = PROFILES["voltera"]
            else:
                profiles[brand.key] = PROFILES[_COMPETITOR_PROFILES[rivals % 2]]
                rivals += 1
        return profiles

    # --- timeline: seq <-> epoch seconds ---

    def _slots_before(self, t: float) -> float:
        """How many messages the timeline schedules before epoch second t (fractional)."""
        if not self._incidents:
            return t * self._rate
        cycles, into = divmod(t, self._cycle)
        in_burst = min(into, self._burst)
        return cycles * self._per_cycle + 2 * self._rate * in_burst + self._rate * (into - in_burst)

    def _nominal(self, seq: int) -> float:
        """Epoch second at which seq is due, before jitter."""
        if not self._incidents:
            return seq / self._rate
        cycles, rest = divmod(float(seq), self._per_cycle)
        burst_slots = 2 * self._rate * self._burst
        into = (
            rest / (2 * self._rate)
            if rest < burst_slots
            else (self._burst + (rest - burst_slots) / self._rate)
        )
        return cycles * self._cycle + into

    def _first_seq_at(self, t: float) -> int:
        seq = max(0, math.ceil(self._slots_before(t)))
        # Float rounding near a slot boundary can be off by one either way.
        while self._nominal(seq) < t:
            seq += 1
        while seq > 0 and self._nominal(seq - 1) >= t:
            seq -= 1
        return seq

    def _in_incident(self, t: float) -> bool:
        return self._incidents and (t / 60) % self.incident_every_minutes < self.incident_minutes

    def _created_at(self, seq: int) -> datetime:
        nominal = self._nominal(seq)
        spacing = self._nominal(seq + 1) - nominal
        # Jitter stays under half the gap so timestamps keep the order of sequence numbers.
        jitter = random.Random(f"{self.seed}:{seq}:jitter").random() * 0.45 * spacing
        return datetime.fromtimestamp(nominal + jitter, tz=UTC)

    # --- Source protocol ---

    def fetch(self, cursor: str | None) -> Batch:
        now = self._now()
        if cursor is None:
            seq = self._first_seq_at((now - timedelta(minutes=self.backfill_minutes)).timestamp())
        else:
            seq = self._resume(cursor)
        messages: list[IncomingMessage] = []
        for _ in range(self.max_batch):
            if self._created_at(seq) > now:
                break
            messages.extend(generated.message for generated in self.generate(seq))
            seq += 1
        # "at" lets a later run notice that the settings, and so the grid, have changed.
        next_cursor = json.dumps({"seq": seq, "at": self._nominal(seq)})
        # A backlog larger than max_batch (a long backfill, a restart after downtime) is due now.
        has_more = self._created_at(seq) <= now
        return Batch(messages=messages, next_cursor=next_cursor, has_more=has_more)

    def _now(self) -> datetime:
        now = self._clock()
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)

    def _resume(self, cursor: str) -> int:
        try:
            state = json.loads(cursor)
            seq, at = int(state["seq"]), float(state["at"])
        except (ValueError, TypeError, KeyError) as error:
            raise DemoCursorError(
                f"demo cursor {cursor!r} is not readable ({error}); reset the demo source's cursor"
            ) from error
        # Changed rate or incident settings move seq on the grid; carry on from the same moment
        # instead of replaying years or going silent for years.
        if abs(self._nominal(seq) - at) > 1.0:
            return self._first_seq_at(at)
        return seq

    # --- content ---

    def generate(self, seq: int) -> list[GeneratedMessage]:
        """The message(s) of one sequence number: a pure function of (seed, seq, its time)."""
        rng = random.Random(f"{self.seed}:{seq}")
        incident = self._in_incident(self._nominal(seq))
        created = self._created_at(seq)
        channel = _weighted(rng, CHANNEL_WEIGHTS)
        lang = "nl" if rng.random() < DUTCH_SHARE else "en"
        if channel == "chat":
            return self._chat(rng, seq, rng.choice(self._own), lang, incident, created)
        brand = self._pick_brand(rng, incident)
        hit = incident and brand.own and rng.random() < INCIDENT_HIT_SHARE
        fill = self._fill(rng, lang, brand)
        parts, truth = self._draw_parts(rng, channel, lang, brand, fill, hit)
        body = _compose(parts, lang, rng)
        if channel == "review":
            text = self._review_text(rng, body, lang, truth, fill)
        else:
            text = self._social_text(rng, body, lang, brand, truth)
        if rng.random() < PERSONAL_DATA_SHARE:
            text += " " + _personal_data(rng, lang, brand, social=channel == "social")
        username = _username(rng)
        author = "@" + username.replace(".", "_") if channel == "social" else None
        message = IncomingMessage(
            source=self.key,
            external_id=f"{self.key}-{seq}",
            channel=channel,
            text=text,
            created_at=created,
            brands=(brand.key,),
            rating=float(self._rating(rng, truth)) if channel == "review" else None,
            author=author or self._reviewer(rng, username),
            language=lang,
        )
        return [GeneratedMessage(message, truth)]

    def _pick_brand(self, rng: random.Random, incident: bool) -> DemoBrand:
        own_share = INCIDENT_OWN_BRAND_SHARE if incident else OWN_BRAND_SHARE
        if not self._rivals or rng.random() < own_share:
            return rng.choice(self._own)
        return rng.choice(self._rivals)

    @staticmethod
    def _fill(rng: random.Random, lang: str, brand: DemoBrand) -> dict[str, str]:
        product = rng.randrange(len(PRODUCTS["nl"]))
        return {
            "product": PRODUCTS[lang][product],
            "brand": rng.choice(brand.aliases or (brand.name,)),
            "days": rng.choice(_DAYS[lang]),
            "minutes": rng.choice(_MINUTES),
        }

    def _draw_parts(
        self,
        rng: random.Random,
        channel: Channel,
        lang: str,
        brand: DemoBrand,
        fill: Mapping[str, str],
        hit: bool,
    ) -> tuple[list[tuple[str, Polarity]], dict[str, str]]:
        """Pick 1-3 distinct phases, a polarity for each and a clause that says it."""
        weights = dict(PHASE_WEIGHTS[channel])
        count = rng.choices(CLAUSE_COUNTS, weights=CLAUSE_COUNT_WEIGHTS)[0]
        phases: list[str] = []
        if hit:
            phases.append("delivery")
            del weights["delivery"]
            count = rng.choice((1, 1, 2))
        while len(phases) < count:
            phase = _weighted(rng, weights)
            phases.append(phase)
            del weights[phase]
        # Loyalty reads as a conclusion ("nooit meer ..."), so it goes last.
        phases.sort(key=lambda phase: phase == "loyalty")
        parts: list[tuple[str, Polarity]] = []
        truth: dict[str, str] = {}
        for phase in phases:
            if hit and phase == "delivery":
                polarity: Polarity = "negative"
                clause = rng.choice(INCIDENT_CLAUSES[lang])
            else:
                polarity = _polarity(rng, self._profiles[brand.key][phase])
                if hit:  # the rest of an incident complaint is angry too
                    polarity = "negative" if rng.random() < 0.7 else polarity
                clause = rng.choice(CLAUSES[phase][lang][polarity])
            parts.append((clause.format(**fill), polarity))
            truth[phase] = polarity
        return parts, truth

    @staticmethod
    def _review_text(
        rng: random.Random, body: str, lang: str, truth: Mapping[str, str], fill: Mapping[str, str]
    ) -> str:
        pieces = [body]
        if rng.random() < 0.3:
            pieces.insert(0, rng.choice(REVIEW_OPENERS[lang]).format(**fill))
        if rng.random() < 0.45:
            pieces.append(rng.choice(REVIEW_CLOSERS[lang][_tone(truth)]))
        return " ".join(pieces)

    @staticmethod
    def _social_text(
        rng: random.Random, body: str, lang: str, brand: DemoBrand, truth: Mapping[str, str]
    ) -> str:
        """Make the body read like a post: informal, a mention, emoji, hashtags, a typo."""
        tone = _tone(truth)
        text = _typo(body, rng) if rng.random() < 0.2 else body
        if rng.random() < 0.35:
            text = text[0].lower() + text[1:].rstrip(".")
        if tone == "negative" and rng.random() < 0.3:
            text = text.rstrip(".!") + "!!"
        if rng.random() < 0.25:
            text = rng.choice(SOCIAL_OPENERS[lang][tone]) + " " + text
        if rng.random() < 0.35:
            text += " " + rng.choice(SOCIAL_CLOSERS[lang][tone])
        names = brand.aliases + brand.handles + (brand.name,)
        if not any(name.lower() in text.lower() for name in names):
            handle = rng.choice(brand.handles or brand.aliases or (brand.name,))
            text = f"{handle} {text}" if rng.random() < 0.6 else f"{text} {handle}"
        if rng.random() < 0.55:
            text += " " + "".join(rng.choices(EMOJI[tone], k=rng.randint(1, 3)))
        if rng.random() < 0.35:
            tags = [rng.choice(HASHTAGS[lang][tone])]
            tags += [PHASE_HASHTAGS[p][lang] for p in truth if p in PHASE_HASHTAGS][:1]
            if rng.random() < 0.4:
                tags.append("#" + brand.name.lower().replace(" ", ""))
            text += " " + " ".join(dict.fromkeys(tags))
        return text

    @staticmethod
    def _rating(rng: random.Random, truth: Mapping[str, str]) -> int:
        score = sum(_SCORE[p] for p in truth.values()) / len(truth)
        return min(5, max(1, round(3 + 2 * score + rng.uniform(-0.6, 0.6))))

    @staticmethod
    def _reviewer(rng: random.Random, username: str) -> str:
        if rng.random() < 0.5:
            return username
        first, last = _person(rng)
        return f"{first} {last.split()[-1][0]}."

    def _chat(
        self,
        rng: random.Random,
        seq: int,
        brand: DemoBrand,
        lang: str,
        incident: bool,
        created: datetime,
    ) -> list[GeneratedMessage]:
        """A 3-6 turn conversation, each turn its own message, the customer's turn last."""
        fill = self._fill(rng, lang, brand)
        profile = self._profiles[brand.key]
        hit = incident and rng.random() < INCIDENT_HIT_SHARE
        opening, opening_truth, issue = self._chat_opening(rng, lang, fill, profile, hit)
        ending = _polarity(rng, (0.15, 0.60) if hit else profile["service"])
        details = rng.random() < CHAT_PERSONAL_DATA_SHARE
        rounds = rng.choice((1, 2))
        turns: list[tuple[TurnRole, str, dict[str, str]]] = []
        if rng.random() < 0.35:
            turns.append(("bot", rng.choice(CHAT_BOT[lang]).format(**fill), {}))
        if details and rounds == 1:
            opening += " " + _personal_data(rng, lang, brand, social=False)
        turns.append(("customer", opening, opening_truth))
        # Agents who give their name put a name in the transcript that the wall must not show.
        named = rng.random() < 0.15
        intro = AGENT_INTRO[lang].format(agent=rng.choice(FIRST_NAMES)) if named else ""
        if rounds == 2:
            ask = details and rng.random() < 0.7
            first_reply = rng.choice((AGENT_ASK if ask else AGENT_ACK)[lang])
            turns.append(("agent", intro + first_reply, {}))
            middle = (
                _personal_data(rng, lang, brand, social=False)
                if details
                else rng.choice(CHAT_MIDDLE[lang]).format(**fill)
            )
            turns.append(("customer", middle, {}))
            intro = ""
        turns.append(("agent", intro + self._agent_answer(rng, lang, issue, ending), {}))
        turns.append(("customer", rng.choice(CHAT_ENDINGS[lang][ending]), {"service": ending}))
        return self._chat_messages(rng, seq, brand, lang, created, turns)

    @staticmethod
    def _chat_opening(
        rng: random.Random,
        lang: str,
        fill: Mapping[str, str],
        profile: Mapping[str, tuple[float, float]],
        hit: bool,
    ) -> tuple[str, dict[str, str], str]:
        """The customer's first turn: a complaint or a question, sometimes with context first."""
        weights = dict(PHASE_WEIGHTS["chat"])
        polarity: Polarity
        if hit:
            issue, polarity = "delivery", "negative"
            clause = rng.choice(INCIDENT_CLAUSES[lang])
        else:
            issue = _weighted(rng, weights)
            polarity = "negative" if rng.random() < 0.7 else "neutral"
            if polarity == "negative":
                clause = rng.choice(CLAUSES[issue][lang]["negative"])
            else:
                clause = rng.choice(CHAT_QUESTIONS[issue][lang])
        parts: list[tuple[str, Polarity]] = [(clause.format(**fill), polarity)]
        truth: dict[str, str] = {issue: polarity}
        if rng.random() < 0.3:
            del weights[issue]
            context = _weighted(rng, weights)
            context_polarity = _polarity(rng, profile[context])
            context_clause = rng.choice(CLAUSES[context][lang][context_polarity]).format(**fill)
            parts.insert(0, (context_clause, context_polarity))
            truth = {context: context_polarity, issue: polarity}
        text = _compose(parts, lang, rng)
        greeting = rng.choice(CHAT_GREETINGS[lang])
        if greeting and not text.startswith(("I ", "I'", fill["brand"])):
            text = text[0].lower() + text[1:]
        return greeting + text, truth, issue

    @staticmethod
    def _agent_answer(rng: random.Random, lang: str, issue: str, ending: Polarity) -> str:
        if ending == "positive":
            return rng.choice(AGENT_FIX[lang][issue])
        return rng.choice(AGENT_OTHER[lang][ending])

    def _chat_messages(
        self,
        rng: random.Random,
        seq: int,
        brand: DemoBrand,
        lang: str,
        created: datetime,
        turns: Sequence[tuple[TurnRole, str, dict[str, str]]],
    ) -> list[GeneratedMessage]:
        # A transcript arrives when the chat closes, so the last turn carries the seq's time
        # and earlier turns lie before it; nothing is ever dated after the clock.
        gaps = [rng.randint(15, 120) for _ in turns[1:]] + [0]
        conversation = f"{self.key}-{seq}"
        generated = []
        for k, (role, text, truth) in enumerate(turns, start=1):
            offset = sum(gaps[k - 1 :])
            message = IncomingMessage(
                source=self.key,
                external_id=f"{conversation}-t{k}",
                channel="chat",
                text=text,
                created_at=created - timedelta(seconds=offset),
                brands=(brand.key,),
                conversation_id=conversation,
                turn_role=role,
                language=lang,
            )
            generated.append(GeneratedMessage(message, truth))
        return generated


def build(config: SourceConfig, settings: Settings) -> DemoSource:
    """The demo source for a `[[sources]]` entry of type "demo", with the configured brands."""
    brands = tuple(
        DemoBrand(b.key, b.name, b.own, tuple(b.aliases), tuple(b.handles)) for b in settings.brands
    )
    return DemoSource(config.key, brands=brands, **config.options)
