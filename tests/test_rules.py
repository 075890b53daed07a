"""The rule layer: every rule's positives and near misses, dispatch vs reference, limits.

``EXAMPLES`` holds, for every rule in ``RULES``, lines it must decide (``match_rule`` returns
that rule) and near misses it must not match. A new rule fails
``test_every_rule_has_examples`` until it gets its own entry here. Precision on the corpus is
measured separately by ``benchmarks/rule_precision.py``; these tests need only the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cleaner import fastcore, rules
from cleaner.fixture_format import read_fixture
from cleaner.labels import LABELS
from cleaner.rules import (
    RULE_MAX_CHARS,
    RULES,
    Rule,
    match_rule,
    match_rule_reference,
    match_rules,
)

REPO = Path(__file__).resolve().parent.parent
FIXTURES = sorted((REPO / "fixtures").glob("*.tsv"))

# The seed article's lines (see ../shared/seed/): test data may quote it, the code may not.
SEED_CAPTION = (
    "Ukrainian President Volodymyr Zelensky claimed Russia was using North Korean troops to "
    "push Kyiv's forces out of the Kursk region (file photo).  © AFP PHOTO/KCNA VIA KNS"
)
SEED_CAPTION_SHORT = (
    "Ukrainian President Volodymyr Zelensky claimed Russia was using North Korean troops to "
    "push back Ukrainian forces in Kursk. © AFP PHOTO/KCNA VIA KNS"
)
SEED_CREDIT = "Cover photo: AFP PHOTO/KCNA VIA KNS"
SEED_PROMO = "More on Ukraine conflict:"

# rule name -> (positives: match_rule must return this rule, negatives: it must not).
EXAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "boilerplate_ad_marker": (
        [
            "Advertisement",
            "advertisement",
            "Advertisement - Scroll to continue",
            "Story continues below advertisement",
            "Anzeige",
            "Werbung",
            "Publicité",
            "Publicidad",
            "Pubblicità",
            "**Anzeige**",
        ],
        [
            "ADVERTISEMENT",  # all caps: sits inside teaser boxes as often as not
            "ANZEIGE",
            "Advertisement spending rose 4% in the first quarter.",
            "Die Polizei nahm eine Anzeige wegen Sachbeschädigung auf.",
            "La publicité en ligne représente désormais la moitié du marché.",
        ],
    ),
    "boilerplate_skip_link": (
        [
            "Skip to content",
            "Skip to main content",
            "Skip navigation",
            "Zum Inhalt springen",
            "Direkt zum Inhalt",
            "Aller au contenu",
            "Passer au contenu principal",
            "Saltar al contenido",
            "Ir al contenido principal",
            "Vai al contenuto",
            "* [Skip to content](#main)",
        ],
        [
            "Skip to the end of the season and the picture looks very different.",
            "Zum Inhalt des Vertrags äußerte sich das Ministerium nicht.",
            "Saltar al vacío no es una opción, dijo el ministro.",
        ],
    ),
    "boilerplate_share": (
        [
            "Share this article",
            "Share this story on Facebook",
            "Share on Twitter",
            "Share via Email",
            "Artikel teilen",
            "teilen",
            "Auf Facebook teilen",
            "Partager",
            "Partager sur Facebook",
            "Compartir",
            "Compartir en WhatsApp",
            "Condividi",
            "Condividi su Facebook",
            "Copy link",
            "Link kopieren",
            "* [Share on LinkedIn](https://www.linkedin.com/shareArticle?url=x)",
        ],
        [
            "Share",  # bare: on teaser cards in the corpus
            "Share prices fell sharply on Monday after the profit warning.",
            "Wir teilen diese Einschätzung nicht.",
            "Ils refusent de partager les bénéfices avec les salariés.",
        ],
    ),
    "boilerplate_email_print": (
        [
            "Email",
            "E-Mail",
            "Print",
            "Drucken",
            "Imprimer",
            "Imprimir",
            "Stampa",
            "* [Print](#print)",
        ],
        [
            "Print edition subscribers get the magazine a day early.",
            "E-Mail: redaktion@example.de",
            "La stampa estera ha seguito il vertice da vicino.",
        ],
    ),
    "boilerplate_social_link": (
        [
            "Facebook",
            "Twitter",
            "X",
            "Instagram",
            "* [LinkedIn](https://www.linkedin.com/company/example)",
            "Follow us",
            "Follow us on:",
            "Folgen Sie uns auf:",
            "Suivez-nous sur",
            "Síguenos en",
            "Seguici su",
        ],
        [
            "Facebook said on Tuesday it would appeal the fine.",
            "Twitter users quickly spotted the mistake.",
            "Follow the money, investigators were told.",
        ],
    ),
    "boilerplate_cookie": (
        [
            "We use cookies to improve your experience on our site.",
            "This website uses cookies.",
            "Wir verwenden Cookies, um unsere Website für Sie optimal zu gestalten.",
            "Nous utilisons des cookies pour vous garantir la meilleure expérience.",
            "Utilizamos cookies propias y de terceros.",
            "Utilizziamo i cookie per personalizzare contenuti e annunci.",
            "Accept all cookies",
            "Accept",
            "Reject all",
            "Cookie settings",
            "Alle akzeptieren",
            "Tout accepter",
            "Aceptar todas las cookies",
            "Accetta tutti",
            "We value your privacy",
            "Your privacy is important to us.",
            "Tu privacidad es importante para nosotros",
            "Ihre Privatsphäre ist uns wichtig",
            "Votre vie privée est importante pour nous",
            "La tua privacy è importante per noi",
        ],
        [
            "Cookies are small text files that websites store on your device.",
            "Your privacy is important to us, the company wrote, but the data was sold.",
            "Why we value your privacy less than we think",
            "The bakery sells cookies and cakes from 7 a.m.",
            "Accepting the offer would have cost the club its best player.",
            "Die Verbraucherzentrale kritisiert, dass viele Seiten Cookies setzen.",
        ],
    ),
    "boilerplate_newsletter": (
        [
            "Sign up for our newsletter",
            "Subscribe to our free daily newsletter.",
            "Subscribe",
            "Newsletter abonnieren",
            "Jetzt zum Newsletter anmelden",
            "Inscrivez-vous à notre newsletter",
            "Suscríbete a nuestro boletín",
            "Iscriviti alla nostra newsletter",
            "Iscriviti",
        ],
        [
            "Subscribers to the newsletter received the report first.",
            "The newsletter was founded in 1998 by two former reporters.",
            "Wer den Newsletter abonniert, bekommt die Zahlen früher.",
        ],
    ),
    "boilerplate_account": (
        [
            "Log in",
            "Login",
            "Sign in",
            "Sign up",
            "Log in / Register",
            "Create an account",
            "Einloggen",
            "Mein Konto",
            "Se connecter",
            "Mon compte",
            "Iniciar sesión",
            "Accedi",
            "Registrati",
        ],
        [
            "Anmelden",  # also in event and author boxes
            "Registrieren",
            "Log in records show the server was accessed twice that night.",
            "Sign in sheets from the meeting were handed to the police.",
        ],
    ),
    "boilerplate_nav_ui": (
        [
            "Menu",
            "Main Menu",
            "Menü",
            "Menú",
            "Toggle navigation",
            "Search",
            "Suche",
            "Rechercher",
            "Buscar",
            "Cerca",
            "Home",
            "Startseite",
            "Accueil",
            "Inicio",
            "Close",
            "Schließen",
            "Fermer",
            "Cerrar",
            "Chiudi",
            "Back to top",
            "Nach oben",
            "Retour en haut",
            "Volver arriba",
            "Torna su",
            "* [Home](/)",
        ],
        [
            "Home prices rose 4% last year, the slowest pace since 2012.",
            "Search and rescue teams arrived on Sunday morning.",
            "Cerca de 200 personas asistieron al acto.",
            "Menus at the new restaurant change every week.",
        ],
    ),
    "boilerplate_footer_link": (
        [
            "Privacy Policy",
            "Terms of Use",
            "Terms and Conditions",
            "Contact us",
            "About us",
            "Careers",
            "Impressum",
            "Datenschutzerklärung",
            "Über uns",
            "Mentions légales",
            "Qui sommes-nous ?",
            "Plan du site",
            "Política de privacidad",
            "Aviso legal",
            "Términos y condiciones",
            "Chi siamo",
            "Contatti",
            "Note legali",
            "* [Privacy Policy](https://example.com/privacy)",
        ],
        [
            "Privacy advocates criticised the plan on Monday.",
            "About 300 people attended the vigil.",
            "Contact with the crew was lost shortly after take-off.",
            "Das Impressum der Seite nennt keinen Verantwortlichen.",
        ],
    ),
    "boilerplate_comments": (
        [
            "Reply",
            "Leave a Reply",
            "Cancel reply",
            "Antworten",
            "Kommentare",
            "Répondre",
            "Commentaires",
            "Responder",
            "Comentarios",
            "Rispondi",
            "Commenti",
            "Like",
        ],
        [
            "Comments",  # teaser cards show comment counters
            "Replies to the consultation are due by Friday.",
            "Like many of his colleagues, he voted against the bill.",
        ],
    ),
    "boilerplate_rights_reserved": (
        [
            "© 2024 Example Media Ltd. All rights reserved.",
            "Copyright © 2023 Beispiel Verlag GmbH. Alle Rechte vorbehalten.",
            "© 2024 Exemple SA - Tous droits réservés",
            "© 2024 Ejemplo Comunicación S.A. Todos los derechos reservados.",
            "© 2024 Esempio Editore S.p.A. - Tutti i diritti riservati",
            "All rights reserved.",
            "Alle Rechte vorbehalten.",
        ],
        [
            "© 2024 Example Media",  # a bare copyright is left to the model
            "Copyright Example Media 2024",
            "The estate says it has reserved all rights to the photographs.",
            SEED_CAPTION,
        ],
    ),
    "credit_marker": (
        [
            SEED_CREDIT,
            "Photo: Jane Doe/Reuters",
            "Photo : AFP",
            "Photos: Jane Doe",
            "PHOTO: AP",
            "Image: NASA/JPL-Caltech",
            "Image credit: Example Labs",
            "Photo credit: John Smith",
            "Credit: Apple",
            "Featured Image: Pexels",
            "Bild: dpa",
            "(Bild: Hersteller)",
            "Foto: Imago",
            "Foto: Michael Kappeler/dpa",
            "Crédit photo : Jean Dupont",
            "Imagen: EFE",
            "Immagine: ANSA",
            "Foto: Claudio Peri/ANSA",
            "Fotografía: Marcador Sur / Inés Carmona",
            "Fotografia: Mario Rossi/ANSA",
            "Photographer: Jane Doe",
            "**Photo:** Jane Doe",
        ],
        [
            "image: nginx:1.25",  # a YAML key in a code sample
            "featured image: Jane Doe",  # lowercase lead word
            "Bild:",  # nothing after the marker
            "Credits: Director Jane Doe, Camera John Smith",  # a credits list
            "Photo: The mayor speaks to reporters outside city hall on Monday after the vote "
            "was delayed again",  # a caption, not a credit
            "Photos show the damage to the roof.",
            "Das Foto zeigt den Kanzler bei seiner Ankunft in Brüssel.",
        ],
    ),
    "credit_photo_by": (
        [
            "Photo by Jane Doe on Unsplash",
            "(Photo by John Smith/Getty Images)",
            "Image by Gerd Altmann from Pixabay",
            "Foto von Max Mustermann",
            "Illustration by Jane Doe",
        ],
        [
            "Photograph by Jane Doe",  # a byline in the corpus
            "Video by Jane Doe",
            "Photo by photo, the exhibition traces the city's changing skyline over five "
            "decades of growth.",
        ],
    ),
    "credit_courtesy": (
        [
            "Courtesy of the artist",
            "Photo courtesy of NASA",
            "(Courtesy of Jane Doe)",
            "Courtesy Example Gallery",
        ],
        [
            "Courtesy is in short supply in parliament these days, critics say.",
            "The courtesy of the staff was praised in every review.",
        ],
    ),
    "credit_agency": (
        [
            "Getty Images",
            "© Getty Images",
            "(Getty Images)",
            "© iStock",
            "Shutterstock",
            "© picture alliance/dpa",
            "Alamy Stock Photo",
            "IMAGO",
            "AFP PHOTO",
            "* Getty Images",
        ],
        [
            "Reuters",  # wire services also stand alone as source lines and bylines
            "AP",
            "dpa",
            "EFE",
            "getty images",
            "Getty Images said the photo had been altered.",
        ],
    ),
    "credit_agency_slash": (
        [
            "Jane Doe/AFP",
            "Jae C. Hong/AP",
            "Noah Berger / AP",
            "Kim Kyung-Hoon/Reuters",
            "Michael Kappeler/dpa",
            "Juan Carlos Hidalgo/EFE",
            "Claudio Peri/ANSA",
            "Mark Stout/iStock/Getty Images",
            "imaginima/Getty Images",
            "ullstein bild/Getty Images",
            "Getty Images / Jane Doe",
            "Getty Images/EyeEm (Symbolbild)",
            "iStock/Gargonia",
            "Tanja Ivanova // Getty Images",
            "(Jane Doe/AFP)",
            "AFP PHOTO/KCNA VIA KNS",
            "Jean de La Fontaine/AFP",
            "Jane Doe/Getty Images for Example Festival",
        ],
        [
            SEED_CAPTION,
            SEED_CAPTION_SHORT,
            "FMW/Bloomberg",  # Bloomberg is as often a text source
            "Spektrum.de/dpa",  # a domain is not a photographer
            "© Adobe Stock / Jane Doe",  # '© Agency/Name' is left to the model
            "Reuters/Ipsos poll shows support slipping",
            "He told Reuters/Ipsos pollsters he would vote for her.",
            "Jane Doe/Example Magazine",
        ],
    ),
    "credit_agency_via": (
        [
            "Jane Doe via Getty Images",
            "Gregg Newton/AFP via Getty Images",
            "Justin Sullivan / Staff via Getty Images",
            "Daniel Dorko/Hans Lucas/AFP via Getty Images",
            "(Jane Doe via Getty Images)",
            "jethuynh via Shutterstock",
            "* Sean Gallup via Getty Images",
        ],
        [
            "AFP via Getty Images",  # an agency alone before "via"
            "Jane Doe/Example Sun via AP",  # "via AP" sits on teaser cards
            "The photos were distributed via Getty Images.",
        ],
    ),
    "promo_read_more": (
        [
            "Read more",
            "Read more: Why the central bank cut rates again",
            "Read more » The best laptops of the year",
            "Also read: Ten things to know about the budget",
            "See also: Our guide to the election",
            "Lesen Sie auch",
            "Lesen Sie auch: Die Bahn erhöht die Preise",
            "Weiterlesen",
            "Mehr lesen",
            "À lire aussi : La réforme des retraites en cinq questions",
            "Lire la suite",
            "Lee también: Las claves del nuevo Gobierno",
            "Leer más",
            "Leggi anche: Le novità della manovra",
            "Leggi anche:",
            "**Read more:** [Why rates rose](https://example.com/rates)",
        ],
        [
            "Read more books, the study's authors recommend.",
            "Weiterlesen lohnt sich trotzdem, findet die Kritikerin.",
            "Lee también a los clásicos, aconseja la autora.",
        ],
    ),
    "promo_more_on": (
        [
            SEED_PROMO,
            "More on this story:",
            "More from Business:",
            "More about climate change:",
            "## More on the election:",
        ],
        [
            "More on that later: the committee meets again on Friday.",
            "More than 200 people were arrested.",
            "More on Ukraine conflict",
        ],
    ),
    "promo_section_header": (
        [
            "Related articles",
            "Related",
            "Recommended for you",
            "Most read",
            "Most popular",
            "You may also like",
            "Trending now",
            "Mehr zum Thema",
            "Das könnte Sie auch interessieren",
            "Meistgelesen",
            "Zum Thema:",
            "Sur le même sujet",
            "Te puede interesar",
            "Noticias relacionadas",
            "Articoli correlati",
            "Potrebbe interessarti",
            "## Related Stories",
        ],
        [
            "Related articles in the journal reached the same conclusion.",
            "Lo más leído",  # boilerplate in the corpus
            "Trending downward, the index lost 3% in a week.",
            "Die meistgelesenen Bücher des Jahres stammen von Frauen.",
        ],
    ),
    "meta_posted_by": (
        [
            "Posted by Jane Doe on March 3, 2024",
            "Posted by EditorDavid on Sunday March 08, 2026 @03:34AM",
            "Veröffentlicht von Max Mustermann am 3. März 2024",
            "Publié par Jean Dupont le 3 mars 2024",
            "Publicado por María García el 3 de marzo de 2024",
            "Pubblicato da Mario Rossi il 3 marzo 2024",
        ],
        [
            "Written by Jane Doe",  # teaser cards and comments in the corpus
            "Posted by mistake, the message was deleted an hour later after readers complained "
            "loudly about it.",
            "The video was posted by a local resident.",
        ],
    ),
    "meta_last_updated": (
        [
            "Last updated: March 3, 2024",
            "Last modified on 2024-03-03",
            "Zuletzt aktualisiert am 03.03.2024",
            "Letzte Aktualisierung: 3. März 2024",
            "Dernière mise à jour le 3 mars 2024",
            "Última actualización: 3 de marzo de 2024",
            "Ultimo aggiornamento: 3 marzo 2024",
        ],
        [
            "Last updated by the editors",  # no date
            "Updated March 2, 2026",  # the corpus has these as body as often as not
            "The last update of the software was released in 2019 and fixed the bug.",
        ],
    ),
    "meta_reading_time": (
        [
            "Reading time: 4 min",
            "Read time: 3 minutes",
            "Lesezeit: 3 Minuten",
            "Lesezeit: ca. 5 Min.",
            "Temps de lecture : 5 minutes",
            "Tiempo de lectura: 8 minutos",
            "Tempo di lettura: 2 minuti",
        ],
        [
            "3 min read",  # also on teaser cards
            "Reading time for adults averages 20 minutes a day.",
            "Lesezeit:",
        ],
    ),
}

# Lines no rule may decide: body text that mentions photos, agencies and buttons, captions,
# headlines and teasers.
NO_RULE: list[str] = [
    SEED_CAPTION,
    SEED_CAPTION_SHORT,
    'Russia using "significant" number of North Korean troops against Ukraine, Zelensky claims',
    "Joe Manchin and Kyrsten Sinema hand labor board majority to Republicans with latest "
    "obstruction",
    "Labor Unions Joe Manchin and Kyrsten Sinema hand labor board majority to Republicans "
    "with latest obstruction",
    "A Ukrainian army source told AFP last month that Kyiv still controlled some 300 square "
    "miles of the Kursk region, about a third less than previous claims.",
    "The photo, taken by a Reuters photographer, shows the aftermath of the strike.",
    "Getty Images and Shutterstock agreed to merge in a deal worth $3.7bn.",
    "Click the share button below the video to send it to a friend.",
    "Das Foto zeigt den Kanzler bei seiner Ankunft in Brüssel.",
    "Wie die Deutsche Presse-Agentur (dpa) berichtet, wurde niemand verletzt.",
    "La photo, prise par un photographe de l'AFP, a fait le tour du monde.",
    "La agencia EFE informó de que el fuego ya está controlado.",
    "Secondo l'agenzia ANSA, il governo presenterà il decreto lunedì.",
    "Ukraine conflict enters its third winter",
]

# Markdown and converter forms that the rules accept around a line's own text.
WRAPPERS: tuple[str, ...] = (
    "{}",
    "  {}  ",
    "* {}",
    "## {}",
    "**{}**",
    "[{}](https://example.com/a)",
)

RULES_BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def _cases(kind: int) -> list[tuple[str, str]]:
    return [(name, text) for name, pair in EXAMPLES.items() for text in pair[kind]]


def _all_example_lines() -> list[str]:
    lines = [text for pair in EXAMPLES.values() for kind in pair for text in kind] + NO_RULE
    return [wrapper.format(text) for text in lines for wrapper in WRAPPERS]


def test_every_rule_has_examples() -> None:
    names = [rule.name for rule in RULES]
    missing = [name for name in names if name not in EXAMPLES]
    assert not missing, f"rules without examples in tests/test_rules.py: {missing}"
    stale = [name for name in EXAMPLES if name not in RULES_BY_NAME]
    assert not stale, f"examples for rules that no longer exist: {stale}"
    for name, (positives, negatives) in EXAMPLES.items():
        assert positives and negatives, f"{name} needs positive and negative examples"


def test_rule_names_are_unique_and_labels_known() -> None:
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names)
    for rule in RULES:
        assert rule.label in LABELS, rule
        assert re.fullmatch(r"[a-z][a-z0-9_]*", rule.name), rule.name
        assert rule.name.startswith(rule.label), f"{rule.name} should start with its label"
        assert rule.description.strip(), rule.name


@pytest.mark.parametrize(("name", "text"), _cases(0))
def test_positive(name: str, text: str) -> None:
    rule = match_rule(text)
    assert rule is not None, f"{text!r} should match {name}"
    assert rule.name == name, f"{text!r} matched {rule.name}, expected {name}"
    assert rule.label == RULES_BY_NAME[name].label


@pytest.mark.parametrize(("name", "text"), _cases(1))
def test_negative(name: str, text: str) -> None:
    assert not RULES_BY_NAME[name].pattern.fullmatch(text.strip()), f"{name} matched {text!r}"
    rule = match_rule(text)
    assert rule is None or rule.name != name


@pytest.mark.parametrize("text", NO_RULE)
def test_no_rule_decides_body_captions_and_headlines(text: str) -> None:
    rule = match_rule(text)
    assert rule is None, f"{text!r} matched {rule.name if rule else None}"


def test_seed_article_lines() -> None:
    credit = match_rule(SEED_CREDIT)
    assert credit is not None and credit.label == "credit"
    promo = match_rule(SEED_PROMO)
    assert promo is not None and promo.label == "promo"
    assert match_rule(SEED_CAPTION) is None
    assert match_rule(SEED_CAPTION_SHORT) is None


def test_rules_are_not_fitted_to_the_seed_article() -> None:
    """The rules must be general: nothing in cleaner/ may name the seed article's specifics."""
    specific = re.compile(
        r"\b(?:Zelensky|Kursk|Manchin|Sinema|KCNA|KNS|Pyongyang|Labor\s+Unions"
        r"|Ukraine\s+conflict)\b",
        re.IGNORECASE,
    )
    found = []
    for path in sorted((REPO / "cleaner").rglob("*")):
        if not path.is_file() or path.suffix not in {".py", ".md", ".txt", ".json", ".tsv"}:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if specific.search(line):
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not found, "\n".join(found)


def test_dispatch_agrees_with_reference_on_examples() -> None:
    for line in _all_example_lines():
        for text in (line, line.upper(), line.lower()):
            assert match_rule(text) is match_rule_reference(text), repr(text)


def test_dispatch_agrees_with_reference_on_prefixes() -> None:
    """The dispatch is keyed on a line's first characters: every prefix of every example
    (each a line the dispatch sees first with its own key) must agree too."""
    lines = [text for pair in EXAMPLES.values() for kind in pair for text in kind] + NO_RULE
    for line in lines:
        for k in range(1, min(len(line), 60)):
            text = line[:k]
            assert match_rule(text) is match_rule_reference(text), repr(text)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_dispatch_agrees_with_reference_on_fixtures(path: Path) -> None:
    doc = read_fixture(str(path))
    for text in doc.lines:
        assert match_rule(text) is match_rule_reference(text), repr(text)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_rules_agree_with_fixture_labels(path: Path) -> None:
    doc = read_fixture(str(path))
    for text, label in zip(doc.lines, doc.labels, strict=True):
        rule = match_rule(text)
        assert rule is None or rule.label == label, f"{rule.name if rule else ''}: {text!r}"


def test_fixtures_exist() -> None:
    assert FIXTURES, "fixtures/*.tsv are missing"


def test_wrapped_positives_still_match() -> None:
    for name, text in _cases(0):
        for wrapper in ("  {}  ", "* {}", "## {}"):
            rule = match_rule(wrapper.format(text))
            assert rule is not None and rule.name == name, (name, wrapper.format(text))


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("promo_read_more", "Read more: " + "A very long headline about the budget " * 6),
        ("boilerplate_cookie", "We use cookies " + "to give you the best experience " * 6),
        (
            "boilerplate_rights_reserved",
            "© 2024 Example Media Group, a division of Example Holdings. All rights reserved. "
            + "Reproduction in whole or in part without permission is prohibited. " * 2,
        ),
    ],
)
def test_lines_longer_than_the_limit_never_match(name: str, text: str) -> None:
    assert len(text.strip()) > RULE_MAX_CHARS
    # The pattern alone would take the line; the length limit is what rules it out.
    assert RULES_BY_NAME[name].pattern.fullmatch(text.strip())
    assert match_rule(text) is None
    assert match_rule_reference(text) is None


def test_limit_is_on_the_stripped_line() -> None:
    padded = " " * (RULE_MAX_CHARS + 10) + "Advertisement" + " " * 10
    rule = match_rule(padded)
    assert rule is not None and rule.name == "boilerplate_ad_marker"
    assert match_rule_reference(padded) is rule


def test_blank_lines_match_nothing() -> None:
    for text in ("", " ", "\t", "\r", "  \n"):
        assert match_rule(text) is None
        assert match_rule_reference(text) is None


# Lines that exercise the page loop's edges: Unicode whitespace around the text (str.strip
# strips it), Markdown prefixes with nothing after them, a key shorter than the dispatch's.
EDGE_LINES: list[str] = [
    "", " ", "\u2003Advertisement\u00a0", "\x85Print\x1c", "** ##", "* ", "#", "X",
    "  Xi", "\u3000Home\u3000", "Getty Images\u2028", "\ud800", "a" * (RULE_MAX_CHARS + 1),
    " " * 50 + "Advertisement", "\tReuters/Jane Doe\t", "* \xa0Home", "#\xa0Home",
    "- \u2003Advertisement", "> \u3000Reply", "*\x1cHome", "## \u2028\u2029Print",
]


def _fresh_caches() -> None:
    for cache in rules._CACHES:
        cache.clear()


def _all_lines() -> list[str]:
    lines = _all_example_lines() + EDGE_LINES
    lines += [text[:k] for text in lines for k in range(1, min(len(text), 12))]
    for path in FIXTURES:
        lines += read_fixture(str(path)).lines
    return lines


@pytest.mark.parametrize("built", [True, False], ids=["c", "python"])
def test_page_loop_agrees_with_reference(built: bool) -> None:
    """match_rules (the loop over a page, in C where built) gives what match_rule_reference
    gives, on lines met first with fresh caches (keys met once use their shorter key) and
    again (the memo, keys probed on their second meeting)."""
    if built and rules._match_rules is None:
        pytest.skip("the C extension is not built")
    lines = _all_lines()
    expected = [match_rule_reference(text) for text in lines]
    _fresh_caches()
    for _ in range(3):
        assert all(a is b for a, b in zip(_page_loop(lines, built), expected, strict=True))
        assert all(a is b for a, b in zip(map(match_rule, lines), expected, strict=True))


def _page_loop(lines: list[str], built: bool) -> list[Rule | None]:
    if built:
        assert rules._match_rules is not None
        return match_rules(lines)
    with fastcore.disabled():
        assert rules._match_rules is None
        return match_rules(lines)


def test_the_key_skips_every_space_the_markdown_prefix_may_hold() -> None:
    import regex

    spaces = {c for c in map(chr, range(0x110000)) if regex.match(r"\s", c)}
    assert spaces <= set(rules._LEAD_CHARS)


def test_a_key_met_once_is_probed_when_met_again() -> None:
    _fresh_caches()
    first = "Advertisement"
    assert match_rule(first).name == "boilerplate_ad_marker"
    assert "Adv" in rules._ONCE and "Adv" not in rules._DISPATCH
    assert match_rule("Advertisement - Scroll to continue").name == "boilerplate_ad_marker"
    assert "Adv" not in rules._ONCE and "Adv" in rules._DISPATCH
    names = [c[0].name for c in rules._DISPATCH["Adv"]]
    assert "boilerplate_ad_marker" in names and "boilerplate_share" not in names
    assert set(names) < {c[0].name for c in rules._DISPATCH["Ad"]}


@pytest.fixture
def fresh_caches():
    _fresh_caches()
    yield
    _fresh_caches()


@pytest.mark.parametrize("built", [True, False], ids=["c", "python"])
def test_page_loop_clears_a_full_memo(monkeypatch, fresh_caches, built: bool) -> None:
    if built and rules._match_rules is None:
        pytest.skip("the C extension is not built")
    monkeypatch.setattr(rules, "_CACHE_MAX", 4)
    lines = ["Home", "Menu", "Print", "Search", "Close", "Back", "Tweet"]
    found = _page_loop(lines, built)
    assert [r.name for r in found] == [match_rule_reference(t).name for t in lines]
    assert len(rules._MEMO) <= 4


@pytest.mark.parametrize("built", [True, False], ids=["c", "python"])
def test_page_loop_survives_a_list_changed_while_it_runs(monkeypatch, fresh_caches,
                                                         built: bool) -> None:
    """The loop runs Python code (new keys, the patterns) while it goes through the list."""
    if built and rules._match_rules is None:
        pytest.skip("the C extension is not built")
    lines = ["Home", "Advertisement", "Menu", "Print", "Getty Images"]
    new_key = rules._new_key

    def clearing(key: str):
        lines.clear()
        return new_key(key)

    monkeypatch.setattr(rules, "_new_key", clearing)
    expected = [match_rule_reference(t) for t in lines]
    assert _page_loop(lines, built) == expected


def test_page_loop_rejects_what_is_not_text() -> None:
    with pytest.raises((TypeError, AttributeError)):
        match_rules(["Home", 3])  # type: ignore[list-item]


_RULE_WORDS = st.sampled_from([
    "\xa0", "* ", "- \u3000", "Home", "Share", "on", "Facebook", "Photo:", "©", "AFP", "/",
    "via", "Getty", "Images",
    "Read", "more:", "All", "rights", "reserved", "We", "use", "cookies", "Lesezeit:", "4",
    "Minuten", "*", "#", "**", "[", "](https://x.example/)", "\u00a0", "\u2003", "Jane",
    "Doe", "the", "council", "voted", "Last", "updated", "2024",
])


_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)  # surrogates too


@pytest.mark.parametrize("built", [True, False], ids=["c", "python"])
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.one_of(_ANY_TEXT, st.lists(_RULE_WORDS, max_size=8).map(" ".join),
                                st.lists(_RULE_WORDS, max_size=8).map("".join)), max_size=20))
def test_page_loop_agrees_on_any_lines(built: bool, lines: list[str]) -> None:
    if built and rules._match_rules is None:
        pytest.skip("the C extension is not built")
    _fresh_caches()
    for _ in range(2):  # keys met once, then again
        found = _page_loop(lines, built)
        assert all(a is match_rule_reference(t) for a, t in zip(found, lines, strict=True))


def _probe_keys() -> list[str]:
    return sorted({text.strip().lstrip(rules._LEAD_CHARS)[:k] for text in _all_lines()
                   for k in (1, 2, 3)} - {""})


def test_probing_passes_partial_by_position_and_agrees_with_the_keyword(monkeypatch) -> None:
    """The dispatch probes with ``partial`` passed by position where this ``regex`` takes it
    so (half the cost of a call); both ways give the same candidates for every key."""
    if not rules._partial_by_position():
        pytest.skip("this regex release takes partial by keyword only")
    keys = _probe_keys()
    probes = {id(c[3]): c[3] for c in rules._CANDIDATES}.values()
    monkeypatch.setattr(rules, "_PARTIAL_BY_POSITION", True)
    by_position = [[rules._could_start(p, key) for p in probes] for key in keys]
    monkeypatch.setattr(rules, "_PARTIAL_BY_POSITION", False)
    assert [[rules._could_start(p, key) for p in probes] for key in keys] == by_position
    assert any(map(any, by_position)) and not all(map(all, by_position))


def test_one_probe_call_where_no_assertion_reads_past_the_prefix() -> None:
    """A pattern without \\b or lookarounds is probed once per key; what a second probe
    with a word character after the key would add, it never adds for them. For one with
    an assertion the second probe is what keeps its rule: "(c) " has no word boundary
    before "All" yet, so "(c) All rights reserved" needs it."""
    def both(pattern, key: str) -> bool:
        return bool(pattern.fullmatch(key, partial=True)
                    or pattern.fullmatch(key + "a", partial=True))

    keys = _probe_keys() + ["(c) ", "© 20", "(C) "]
    probes = {id(c[3]): c[3] for c in rules._CANDIDATES}.values()
    for pattern in probes:
        assert [rules._could_start(pattern, key) for key in keys] == [
            both(pattern, key) for key in keys]
    rights = next(c[3] for c in rules._CANDIDATES if c[0].name == "boilerplate_rights_reserved")
    assert not rights.fullmatch("(c) ", partial=True) and rules._could_start(rights, "(c) ")
    assert match_rule("(c) All rights reserved").name == "boilerplate_rights_reserved"
