"""High-precision line rules for the obvious cases.

Rules are data: each one is a named whole-line pattern that fires only where its label is
near-certain, measured against the training corpus by ``benchmarks/rule_precision.py``
(every rule must reach precision >= 0.95 there). Everything ambiguous is left to the learned
model, so a rule that cannot reach that precision is narrowed or dropped, never kept
"mostly right". Where the corpus labels a kind of line differently from intuition (all-caps
ADVERTISEMENT inside teaser boxes, bylines and dates on teaser cards, related-box headers
in languages the corpus tooling does not cover), the rules follow the corpus, because the
model is trained and scored on it.

The rules run on every line of every document. One big alternation of all rules costs
the sum of its branches in the ``regex`` engine (about 30 us a line), so instead the first
characters of the line (after Markdown markers) select, through a cache filled by partial
matching, the few rules that can still match, and a short line's result is remembered. A
line seen before costs a dict lookup; on pages the process has not seen, most lines are
new, and the rules are then one of the largest costs of ``clean`` (``benchmarks/speed.py``,
"unseen pages"). ``match_rules`` does a page's lines at once, its loop in C where the
extension is built (the same caches, the same patterns deciding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import regex

from cleaner.labels import LABELS

try:  # the loop over a page's lines in C (see cleaner/_fastcore.c)
    from cleaner._fastcore import match_rules as _match_rules
except ImportError:  # built without a C compiler, or an older build
    _match_rules = None

__all__ = ["RULES", "RULE_MAX_CHARS", "Rule", "match_rule", "match_rules"]


@dataclass(frozen=True)
class Rule:
    """One named whole-line rule; ``pattern`` is used with ``fullmatch`` on the stripped line."""

    name: str
    label: str
    pattern: regex.Pattern[str]
    description: str


RULE_MAX_CHARS: int = 200
"""Lines longer than this never match: rules target UI strings, credits and lead-ins."""

# --- shared fragments --------------------------------------------------------------------

# Markdown list / heading / quote markers that html2text and inscriptis put before a line.
_LEAD = r"(?:(?:[*+\-•·>|]|#{1,6})\s+)*"
# Optional emphasis or link-text opener, and the closer (emphasis or a Markdown link target).
_OPEN = r"(?:\*\*|__|\[)?"
_CLOSE = r"(?:\*\*|__|\]\([^()\s]*(?:\s+\"[^\"]*\")?\))?"
# What ``_LEAD``/``_OPEN`` may consume before a rule's own text (the markers, and every
# character ``\s`` matches, which ``_LEAD`` allows after a marker: "*\u00a0Home"); no
# rule's own text starts with one of these, so the characters after them decide which
# rules can match.
_SPACES = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_LEAD_CHARS = "*+-•·>|#_" + _SPACES


def _words(lo: int, hi: int) -> str:
    """``lo``..``hi`` whitespace-separated tokens (possessive, so matching stays linear)."""
    return rf"\S++(?:\s++\S++){{{max(lo, 1) - 1},{hi - 1}}}"


def _alt(*options: str) -> str:
    return "(?:" + "|".join(options) + ")"


# One part of a slash-joined credit ("Jane Doe", "Jae C. Hong", "ullstein bild", "evgenyb"):
# up to five capitalised words (with name particles), or one or two lowercase tokens (stock
# photographers' user names). A dot inside a word must not be followed by a lowercase letter,
# so a domain ("Example.de") is not a name. Atomic, so a failed credit match does not
# backtrack through every way of splitting the words.
_NAME_WORD = r"[\p{Lu}\d](?:[\p{L}\p{M}\d'’&_\-]|\.(?!\p{Ll}))*+"
_PARTICLE = r"(?:de|van|von|der|den|da|di|del|la|le|du)"
_PART = (
    rf"(?>{_NAME_WORD}(?:[ \t]+(?:{_NAME_WORD}|{_PARTICLE})){{0,4}}"
    r"|[\p{Ll}\d][\p{L}\p{M}\d_\-]*+(?:[ \t]+(?!via\b)\p{Ll}++)?)"
)
# The separator of credit parts ("Jane Doe/AFP", "Jane Doe / AFP", "Jane Doe // Getty Images").
_SLASH = r"\s*/{1,2}\s*"
# The characters a slash-joined credit line can begin with (a superset, for the dispatch).
_CREDIT_START = r"\(?[\p{L}\d][\p{L}\p{M}\d.'’&_\-\s/()\[\]*]*"
# A one-word note in parentheses after a credit ("(Symbolbild)", "(Ausschnitt)", "(file)").
_NOTE = r"(?:\s*\(\p{L}[\p{L} ]{0,19}\))?"

# Photo and news agencies that, with a photographer's name, make up a whole credit line.
# (Bloomberg is left out: "X/Bloomberg" is as often a text source as a photo credit.)
_AGENCY = _alt(
    rf"Getty\s?Images(?:\s+(?:News|Europe|Entertainment|Sport|Plus)|\s+for\s+{_PART})?",
    r"AFP(?:\s+PHOTO)?",
    r"Reuters",
    r"REUTERS",
    r"AP(?:\s+Photo)?",
    r"dpa(?:-Zentralbild)?",
    r"[Pp]icture[- ][Aa]lliance",
    r"(?:IMAGO|[Ii]mago)(?:\s+[Ii]mages)?",
    r"KEYSTONE|Keystone",
    r"EPA(?:-EFE)?",
    r"EFE",
    r"ANSA",
    r"[Ss]hutterstock(?:\.com)?",
    r"iStock(?:photo)?(?:\.com)?",
    r"Alamy(?:\s+Stock\s+Photo)?",
    r"Unsplash",
    r"Pexels",
    r"Pixabay(?:\.com)?",
    r"Adobe\s?Stock(?:\.com)?",
    r"stock\.adobe\.com",
    r"Depositphotos(?:\.com)?",
    r"Fotolia(?:\.com)?",
    r"Dreamstime(?:\.com)?",
    r"Thinkstock",
    r"Xinhua",
    r"NurPhoto",
    r"SOPA\s+Images",
    r"LightRocket",
    r"ZUMA(?:\s+Press|\s+Wire)?",
    r"Anadolu(?:\s+Agency)?",
    r"PA\s+(?:Images|Wire|Media)",
    r"Sipa(?:\s+USA)?|SIPA",
    r"Corbis",
    r"WireImage",
    r"FilmMagic",
    r"Sportsfile",
    r"Yonhap",
)
# Agencies that make a credit line on their own ("Getty Images"); wire services such as
# Reuters or AP also stand alone as source lines and bylines, so they need a name or "via".
_PHOTO_AGENCY = _alt(
    r"Getty\s?Images",
    r"[Ss]hutterstock(?:\.com)?",
    r"iStock(?:photo)?(?:\.com)?",
    r"Alamy(?:\s+Stock\s+Photo)?",
    r"[Pp]icture[- ][Aa]lliance(?:\s*/\s*dpa)?",
    r"(?:IMAGO|[Ii]mago)(?:\s+[Ii]mages)?",
    r"Adobe\s?Stock",
    r"Depositphotos(?:\.com)?",
    r"Fotolia(?:\.com)?",
    r"Dreamstime(?:\.com)?",
    r"Thinkstock",
    r"AFP\s+PHOTO",
    r"AP\s+Photo",
)
# What a photographer's picture is distributed "via" in a credit line ("X via Getty Images");
# "via AP" and "via Reuters" are left out: the corpus has them on teaser cards (promo).
_VIA_AGENCY = _alt(
    r"Getty\s?Images",
    r"[Ss]hutterstock(?:\.com)?",
    r"iStock(?:photo)?(?:\.com)?",
    r"Alamy",
    r"Unsplash",
    r"Pexels",
    r"Pixabay",
    r"AP\s+Photo",
)

_SOCIAL = _alt(
    r"Facebook",
    r"Twitter",
    r"X",
    r"LinkedIn",
    r"Instagram",
    r"YouTube",
    r"Pinterest",
    r"Reddit",
    r"WhatsApp",
    r"Xing",
    r"Bluesky",
    r"Threads",
    r"Flipboard",
    r"E-?mail",
)

_NEEDS: dict[str, str] = {}
_STARTS: dict[str, regex.Pattern[str]] = {}


def _rule(
    name: str,
    label: str,
    core: str,
    description: str,
    *,
    ignore_case: bool = True,
    needs: str | None = None,
    start: str | None = None,
) -> Rule:
    """Compile one rule: the optional Markdown prefix, ``core``, the optional link closer.

    ``needs`` is a literal that every line the rule matches contains; ``match_rule`` skips
    the rule on lines without it (for rules that can start with any capitalised word).
    ``start`` is a cheap pattern that the beginning of every line the rule matches also
    fits (after the Markdown prefix); the dispatch probes it instead of ``core`` when
    partial matching ``core`` is slow and would rule little out anyway.
    """
    assert label in LABELS, f"rule {name}: unknown label {label!r}"
    scoped = f"(?i:{core})" if ignore_case else f"(?:{core})"
    pattern = regex.compile(f"{_LEAD}{_OPEN}{scoped}{_CLOSE}")
    assert pattern.groups == 0, f"rule {name}: use non-capturing groups only"
    if needs is not None:
        _NEEDS[name] = needs
    if start is not None:
        _STARTS[name] = regex.compile(f"{_LEAD}{_OPEN}(?:{start})")
    return Rule(name, label, pattern, description)


# Priority order: the first rule that matches wins.
RULES: tuple[Rule, ...] = (
    # --- boilerplate: site chrome, ads, sharing, consent ----------------------------------
    _rule(
        "boilerplate_ad_marker",
        "boilerplate",
        _alt(
            _alt(
                r"Advertisement",
                r"advertisement",
                r"Anzeige",
                r"Werbung",
                r"Publicit[ée]",
                r"Publicidad",
                r"Pubblicit[àa]",
                r"Publicidade",
                r"Advertentie",
                r"Reklama",
            )
            + r"(?:\s*[-–—·|:]?\s*(?:Scroll to continue(?: with content)?|Continue reading below"
            r"|Weiterlesen nach der Anzeige|Scrollen zum Weiterlesen))?",
            r"(?:Story|Article|Content) continues (?:below|after) (?:this )?"
            r"(?:advertisement|ad)",
        ),
        "ad-slot labels ('Advertisement', 'Anzeige', 'Publicité'); case-sensitive because "
        "all-caps ADVERTISEMENT/ANZEIGE sit inside teaser boxes (promo) as often as not",
        ignore_case=False,
    ),
    _rule(
        "boilerplate_skip_link",
        "boilerplate",
        _alt(
            r"Skip\s+(?:to|navigation)(?:\s+(?:the\s+)?(?:main|primary|page)?\s*"
            r"(?:content|navigation|menu|footer|search|sidebar|article))?",
            r"(?:Direkt\s+)?[Zz]um\s+(?:Haupt)?[Ii]nhalt(?:\s+springen|\s+wechseln)?",
            r"(?:Aller|Passer)\s+au\s+contenu(?:\s+principal)?",
            r"(?:Saltar|Ir)\s+al\s+contenido(?:\s+principal)?",
            r"Vai\s+al\s+contenuto(?:\s+principale)?",
            r"(?:Ir|Saltar)\s+para\s+o\s+conte[úu]do(?:\s+principal)?",
            r"(?:Ga|Spring)\s+naar\s+(?:de\s+)?(?:hoofd)?inhoud",
            r"Przejd[źz]\s+do\s+(?:tre[śs]ci|zawarto[śs]ci)",
        ),
        "accessibility skip links are never article text",
    ),
    _rule(
        "boilerplate_share",
        "boilerplate",
        _alt(
            r"Share\s+(?:this|the)\s+(?:article|story|post|page|video|link|recipe)"
            rf"(?:\s+(?:on|via|with)\s+{_SOCIAL})?",
            rf"Share\s+(?:on|via|to|with)\s+(?:{_SOCIAL}|other\s+sites)",
            r"(?:(?:Diesen\s+)?(?:Artikel|Beitrag|Seite)\s+)?teilen",
            rf"(?:Auf|Bei|Per|Via)\s+{_SOCIAL}\s+teilen",
            rf"Partager(?:\s+(?:cet\s+article|l'article))?(?:\s+sur\s+{_SOCIAL})?",
            rf"Compartir(?:\s+en\s+{_SOCIAL})?",
            rf"Condividi(?:\s+su\s+{_SOCIAL})?",
            r"Compartilhar|Partilhar|Delen|Udost[ęe]pnij",
            r"Tweet",
            r"Pin\s+it",
            r"Copy\s+link|Link\s+kopieren|Copier\s+le\s+lien|Copiar\s+(?:el\s+)?enlace",
            r"Link\s+copied!?|Copied!",
        ),
        "share and social buttons; bare 'Share' is left out because the corpus has it on "
        "teaser cards (promo) a fifth of the time",
    ),
    _rule(
        "boilerplate_email_print",
        "boilerplate",
        r"E-?mail|Print|Drucken|Imprimer|Imprimir|Stampa|Afdrukken|Drukuj",
        "one-word e-mail and print buttons",
    ),
    _rule(
        "boilerplate_social_link",
        "boilerplate",
        _alt(
            r"Facebook|Twitter|X|LinkedIn|Instagram|YouTube|Pinterest|Reddit|WhatsApp|Xing",
            r"Bluesky|Threads|Flipboard",
            r"Follow\s+us(?:\s+on)?|Folgen\s+Sie\s+uns(?:\s+auf)?|Suivez-nous(?:\s+sur)?",
            r"S[íi]guenos(?:\s+en)?|Seguici(?:\s+su)?",
        )
        + r"\s*:?",
        "bare social-network links and 'Follow us' headers",
    ),
    _rule(
        "boilerplate_cookie",
        "boilerplate",
        _alt(
            r"(?:We|This\s+(?:web)?site|Our\s+(?:web)?site)\s+uses?\s+cookies\b.*",
            r"(?:Wir\s+verwenden|Wir\s+nutzen|Diese\s+Web-?[Ss]eite\s+verwendet)"
            r"\s+Cookies\b.*",
            r"(?:Nous\s+utilisons|Ce\s+site\s+utilise)\s+des\s+cookies\b.*",
            r"(?:Utilizamos|Usamos|Este\s+sitio(?:\s+web)?\s+utiliza)\s+cookies\b.*",
            r"(?:Utilizziamo|Questo\s+sito\s+utilizza)\s+(?:i\s+)?cookie\b.*",
            r"Accept(?:\s+(?:all|all\s+cookies|cookies))?",
            r"Reject\s+(?:all|all\s+cookies)|Decline",
            r"(?:Cookie|Privacy)\s+(?:settings|preferences)",
            r"Manage\s+(?:cookies|cookie\s+settings|consent)",
            r"Alle\s+(?:akzeptieren|ablehnen)|Akzeptieren|Ablehnen",
            r"Cookie-?Einstellungen|Datenschutzeinstellungen",
            r"Tout\s+(?:accepter|refuser)",
            r"Param[èe]tres\s+des\s+cookies",
            r"(?:Aceptar|Rechazar)\s+(?:todo|todas|todas\s+las\s+cookies|cookies)",
            r"Configuraci[óo]n\s+de\s+cookies",
            r"(?:Accetta|Rifiuta)\s+tutt[io]",
            r"(?:Aceitar|Rejeitar)\s+todos",
            r"Alles\s+accepteren",
            r"Zaakceptuj\s+wszystkie",
            # The consent dialog's own heading (short, headline-like: the model took one
            # for the article's title).
            r"(?:We\s+value\s+your\s+privacy|Your\s+privacy\s+(?:is\s+important|matters)"
            r"(?:\s+to\s+us)?)[.!]?",
            r"(?:Wir\s+respektieren\s+Ihre\s+Privatsph[äa]re|Ihre\s+Privatsph[äa]re\s+ist"
            r"\s+uns\s+wichtig)[.!]?",
            r"(?:Tu\s+privacidad\s+es\s+importante(?:\s+para\s+nosotros)?"
            r"|Valoramos\s+tu\s+privacidad)[.!]?",
            r"(?:Votre\s+vie\s+priv[ée]e\s+(?:est\s+importante|nous\s+importe)"
            r"(?:\s+pour\s+nous)?|Nous\s+respectons\s+votre\s+vie\s+priv[ée]e)[.!]?",
            r"(?:La\s+tua\s+privacy\s+[èe]\s+importante(?:\s+per\s+noi)?"
            r"|Rispettiamo\s+la\s+tua\s+privacy)[.!]?",
        ),
        "cookie and consent banners and their buttons",
    ),
    _rule(
        "boilerplate_newsletter",
        "boilerplate",
        _alt(
            r"(?:Sign\s+up|Subscribe)\s+(?:for|to)\s+(?:our|the)\s+(?:free\s+)?"
            r"(?:\S+\s+){0,3}?newsletters?[.!]?",
            r"(?:Jetzt\s+)?(?:zum\s+|unseren\s+)?Newsletter\s+(?:abonnieren|anmelden)",
            r"(?:Inscrivez-vous|Abonnez-vous)\s+[àa]\s+(?:notre|la)\s+newsletter",
            r"Suscr[íi]bete\s+a\s+(?:nuestro|nuestra|la|el)\s+(?:newsletter|bolet[íi]n)",
            r"Iscriviti\s+alla\s+(?:nostra\s+)?newsletter",
            r"Subscribe|Abonnieren|S'abonner|Suscribirse|Suscr[íi]bete|Iscriviti",
        ),
        "newsletter and subscription prompts",
    ),
    _rule(
        "boilerplate_account",
        "boilerplate",
        _alt(
            r"Log\s*in|Log\s*out|Sign\s+in|Sign\s+up|Register",
            r"(?:Log\s*in|Sign\s+in)\s*/\s*(?:Register|Sign\s+up)",
            r"Create\s+(?:an\s+)?account",
            r"Einloggen|Abmelden|Mein\s+Konto",
            r"Se\s+connecter|Connexion|S'inscrire|Mon\s+compte",
            r"Iniciar\s+sesi[óo]n|Registrarse|Mi\s+cuenta",
            r"Accedi|Registrati",
            r"Inloggen",
            r"Zaloguj(?:\s+si[ęe])?",
        ),
        "account buttons ('Anmelden' and 'Registrieren' are left out: the corpus also has "
        "them in event and author boxes)",
    ),
    _rule(
        "boilerplate_nav_ui",
        "boilerplate",
        _alt(
            r"(?:Main\s+|Open\s+|Close\s+)?Men[uüú]",
            r"Toggle\s+(?:navigation|menu)",
            r"Search|Suche|Suchen|Rechercher|Buscar|Cerca|Zoeken|Szukaj",
            r"Back\s+to\s+top|Nach\s+oben|Zur[üu]ck\s+nach\s+oben|Retour\s+en\s+haut"
            r"|Volver\s+arriba|Torna\s+su",
            r"Home|Startseite|Accueil|Inicio",
            r"Close|Schlie[ßs]en|Fermer|Cerrar|Chiudi",
            r"Back|Zur[üu]ck|Retour|Volver|Indietro",
        ),
        "menu, search, home, close and back-to-top controls",
    ),
    _rule(
        "boilerplate_footer_link",
        "boilerplate",
        _alt(
            r"Privacy(?:\s+(?:Policy|Notice|Statement))?|Cookie\s+(?:Policy|Notice)|Cookies",
            r"Terms(?:\s+(?:of\s+(?:Service|Use)|and\s+Conditions|&\s+Conditions))?",
            r"Legal(?:\s+Notice)?|Your\s+Privacy\s+Choices",
            r"Contact(?:\s+us)?|About(?:\s+us)?|Careers|Jobs|Press|Help|Site\s?map",
            r"Advertise(?:\s+with\s+us)?",
            r"Impressum|Imprint|Kontakt|[ÜU]ber\s+uns|Datenschutz(?:erkl[äa]rung)?|AGB",
            r"Nutzungsbedingungen|Mediadaten|Presse|Hilfe|Barrierefreiheit|Cookie-Richtlinie",
            r"Mentions\s+l[ée]gales|Politique\s+de\s+confidentialit[ée]|Contactez-nous",
            r"Pol[íi]tica\s+de\s+(?:privacidad|cookies)|Aviso\s+legal|Qui[ée]nes\s+somos",
            r"Cont[áa]ctanos|Contacto|T[ée]rminos\s+y\s+condiciones|Mapa\s+del\s+sitio",
            r"Qui\s+sommes-nous\s*\??|Nous\s+contacter|Plan\s+du\s+site"
            r"|Conditions\s+g[ée]n[ée]rales(?:\s+d'utilisation)?",
            r"Chi\s+siamo|Contatti|Contattaci|Note\s+legali|Mappa\s+del\s+sito",
        ),
        "footer links (legal, contact, about); the corpus calls them boilerplate everywhere",
    ),
    _rule(
        "boilerplate_comments",
        "boilerplate",
        _alt(
            r"Reply|Antworten|R[ée]pondre|Responder|Rispondi",
            r"Leave\s+a\s+(?:Reply|comment)|Cancel\s+reply",
            r"Kommentare|Commentaires|Comentarios|Commenti",
            r"Like",
        ),
        "comment-section controls ('Reply', 'Leave a Reply'); bare 'Comments' is left out "
        "because teaser cards show comment counters",
    ),
    _rule(
        "boilerplate_rights_reserved",
        "boilerplate",
        r"(?:©|\(c\)|&copy;|Copyright|All\s+rights|Alle\s+Rechte|Tous\s+droits|Todos\s+los"
        r"|Tutti\s+i|Wszelkie|Alle\s+rechten|Todos\s+os)"
        r".{0,150}?\b(?:All\s+rights\s+reserved|Alle\s+Rechte\s+vorbehalten"
        r"|Tous\s+droits\s+r[ée]serv[ée]s|Todos\s+los\s+derechos\s+reservados"
        r"|Tutti\s+i\s+diritti\s+riservati|Wszelkie\s+prawa\s+zastrze[żz]one"
        r"|Alle\s+rechten\s+voorbehouden|Todos\s+os\s+direitos\s+reservados)\b.{0,150}"
        r"|(?:All\s+rights\s+reserved|Alle\s+Rechte\s+vorbehalten"
        r"|Tous\s+droits\s+r[ée]serv[ée]s|Todos\s+los\s+derechos\s+reservados)\.?",
        "a copyright line that says 'All rights reserved' is the site footer; a bare "
        "'(c) 2024 Site' is left to the model, the corpus splits those with media credits",
    ),
    # --- credit -----------------------------------------------------------------------------
    _rule(
        "credit_marker",
        "credit",
        r"[(\[]?(?-i:(?:Cover|Title|Header|Featured|Main|Top|Lead|Hero|COVER|FEATURED)\s+)?"
        + _alt(
            r"photos?",
            r"pictures?",
            r"(?-i:Images?|IMAGES?)",
            r"foto",
            r"bild",
            r"imagen",
            r"immagine",
            r"fotograf[íi]as?",
            r"(?:photo|image|picture|foto)\s+credits?",
            r"credit",
            r"cr[ée]dit\s+photo",
            r"image\s+source",
            r"photographer",
        )
        + r"\s?[:：]\s*(?![=])"
        + _words(1, 10),
        "an explicit credit marker ('Photo:', 'Bild:', 'Image credit:') opening a short line "
        "with the credit after it; lowercase 'image:' is left out (a YAML key in code samples), "
        "and so are 'Credits:' lists and a marker with nothing after it",
    ),
    _rule(
        "credit_photo_by",
        "credit",
        r"[(\[]?(?:photo|image|picture|foto|illustration)s?\s+(?:by|von)\s+" + _words(1, 9),
        "'Photo by X' / 'Foto von X' on a short line ('Photograph by' and 'Video by' are "
        "bylines in the corpus)",
    ),
    _rule(
        "credit_courtesy",
        "credit",
        r"[(\[]?(?:(?:photo|image|picture|foto)s?\s+)?courtesy(?:\s+of)?\s+" + _words(1, 8),
        "'Courtesy of X' on a short line",
    ),
    _rule(
        "credit_agency",
        "credit",
        rf"[(\[]?(?:©\s*)?{_PHOTO_AGENCY}[)\]]?",
        "a line that is nothing but a photo agency ('Getty Images', '© iStock')",
        ignore_case=False,
    ),
    _rule(
        "credit_agency_slash",
        "credit",
        r"\(?"
        + _alt(
            rf"(?:{_PART}{_SLASH}){{1,3}}(?:{_AGENCY})(?:{_SLASH}{_PART}){{0,2}}",
            rf"(?:{_AGENCY})(?:{_SLASH}{_PART}){{1,3}}",
        )
        + _NOTE
        + r"[)\]]?",
        "photographers and an agency joined by slashes ('Jane Doe/AFP', 'Getty Images / Jane "
        "Doe', 'Jane Doe/iStock/Getty Images'); the '© Agency/Name' form is left to the model, "
        "the corpus has it on teaser cards (promo) a third of the time",
        ignore_case=False,
        needs="/",
        start=_CREDIT_START,
    ),
    _rule(
        "credit_agency_via",
        "credit",
        rf"\(?(?!(?:{_AGENCY})\s+via\b)(?:{_PART}{_SLASH}){{0,3}}{_PART}"
        rf"\s+via\s+(?:{_VIA_AGENCY})[)\]]?",
        "'Jane Doe via Getty Images', 'Jane Doe/AFP via Getty Images'; an agency alone before "
        "'via' ('AFP via Getty Images') is left out, the corpus has it in hidden galleries",
        ignore_case=False,
        needs="via",
        start=_CREDIT_START,
    ),
    # --- promo ------------------------------------------------------------------------------
    _rule(
        "promo_read_more",
        "promo",
        _alt(
            r"Read\s+(?:more|also|next)",
            r"Also\s+read",
            r"See\s+also",
            r"Lesen\s+Sie\s+(?:auch|mehr)",
            r"Lies\s+auch",
            r"Weiterlesen",
            r"[ÀA]\s+lire\s+aussi",
            r"Lire\s+(?:aussi|la\s+suite)",
            r"Lee\s+tambi[ée]n",
            r"Leer\s+m[áa]s",
            r"Mehr\s+lesen",
            r"Leggi\s+anche",
        )
        + r"(?:\s*(?:[:»›>→|]|\.\.\.|…)+(?:\s*.*)?)?",
        "'Read more' / 'Lesen Sie auch' lead-ins, alone or followed by another headline",
    ),
    _rule(
        "promo_more_on",
        "promo",
        r"More\s+(?:on|about|from)\s+[^:]{1,60}:",
        "'More on X:' lead-in before a list of other articles",
    ),
    _rule(
        "promo_section_header",
        "promo",
        _alt(
            r"Related(?:\s+(?:articles|stories|posts|content|reading|links|coverage|topics))?",
            r"Recommended(?:\s+(?:for\s+you|articles|stories|reading))?",
            r"Most\s+(?:read|popular|viewed|shared|commented)(?:\s+(?:articles|stories))?",
            r"Popular\s+(?:posts|articles|stories|now)",
            r"Trending(?:\s+(?:now|articles))?",
            r"Top\s+stories",
            r"You\s+(?:may|might)\s+also\s+(?:like|enjoy|be\s+interested\s+in)",
            r"More\s+(?:stories|articles)",
            r"Further\s+reading",
            r"Recent\s+(?:posts|articles)",
            r"Latest\s+(?:news|stories|posts)",
            r"Editor'?s\s+picks",
            r"Mehr\s+zum\s+Thema",
            r"Auch\s+interessant",
            r"Das\s+k[öo]nnte\s+Sie\s+auch\s+interessieren",
            r"[ÄA]hnliche\s+Beitr[äa]ge",
            r"Verwandte\s+(?:Beitr[äa]ge|Artikel|Themen)",
            r"Meistgelesen(?:e\s+Artikel)?",
            r"Weitere\s+(?:Artikel|Beitr[äa]ge|Nachrichten)",
            r"Sur\s+le\s+m[êe]me\s+sujet",
            r"Te\s+(?:puede|podr[íi]a)\s+interesar",
            r"(?:Noticias|Art[íi]culos)\s+relacionad[oa]s",
            r"Zum\s+Thema",
            r"Articoli\s+correlati",
            r"(?:Ti\s+)?[Pp]otrebbe\s+interessarti(?:\s+anche)?",
        )
        + r"\s*:?",
        "headers of related / recommended / most-read boxes (EN, DE, FR, ES, IT; not the "
        "Spanish 'Lo más leído', which the corpus has as boilerplate)",
    ),
    # --- meta -------------------------------------------------------------------------------
    _rule(
        "meta_posted_by",
        "meta",
        _alt(
            r"Posted\s+by",
            r"Ver[öo]ffentlicht\s+von",
            r"Publi[ée]\s+par",
            r"Publicado\s+por",
            r"Pubblicato\s+da",
        )
        + r"\s+"
        + _words(1, 12),
        "'Posted by X on DATE' blog bylines ('Written by' and 'geschrieben von' are left out: "
        "the corpus has them on teaser cards and in comments)",
    ),
    _rule(
        "meta_last_updated",
        "meta",
        _alt(
            r"Last\s+(?:updated|modified)(?:\s+on)?",
            r"Zuletzt\s+aktualisiert(?:\s+am)?",
            r"Letzte\s+Aktualisierung",
            r"Derni[èe]re\s+mise\s+[àa]\s+jour(?:\s+le)?",
            r"[ÚU]ltima\s+actualizaci[óo]n",
            r"Ultimo\s+aggiornamento",
            r"This\s+(?:page|article|post)\s+was\s+last\s+updated(?:\s+on)?",
        )
        + r"\s*:?\s*(?=[^\d]{0,12}\d)"
        + _words(1, 10),
        "'Last updated: DATE' stamps",
    ),
    _rule(
        "meta_reading_time",
        "meta",
        r"(?:Lesezeit|Reading\s+time|Read\s+time|Temps\s+de\s+lecture|Tiempo\s+de\s+lectura"
        r"|Tempo\s+di\s+lettura|Tempo\s+de\s+leitura|Leestijd|Czas\s+czytania)\s*:?\s*"
        r"(?:ca\.\s*|about\s+|environ\s+)?\d+\s*"
        r"(?:min\.?|mins?|minutes?|Minuten|minutos|minuti|minuty|minut)",
        "'Lesezeit: 4 Minuten' / 'Reading time: 3 min' with an explicit reading-time label "
        "(a bare '3 min read' also sits on teaser cards)",
    ),
)

assert len({rule.name for rule in RULES}) == len(RULES), "rule names must be unique"

# --- dispatch ----------------------------------------------------------------------------

# A candidate: (rule, its bound fullmatch, the literal the line must contain or "", the
# pattern that the dispatch probes with partial matching).
_Candidate = tuple[Rule, object, str, regex.Pattern[str]]

# The first _KEY_CHARS characters after the Markdown prefix select the rules that can still
# match, found by partial matching (a rule that fullmatches a line partially matches every
# prefix of it). Filled lazily, first per character to narrow the probing, then per key;
# cleared if it outgrows _CACHE_MAX keys. Three characters, not more: on pages the process
# has not seen, most 5-character keys are new, and probing for them cost more than the
# few more full matches a shorter key leaves to do.
_KEY_CHARS = 3
_CACHE_MAX = 1 << 17
# A full-length key is probed the second time it is met; the first time, the line is tried
# against the candidates of its first _KEY_CHARS - 1 characters (a superset, so the result
# is the same). On new pages most new keys come once, from the first word of a paragraph,
# and probing one (about 20 us) costs more than the few more full matches it would spare.
_ONCE: set[str] = set()
# Lines repeat across the pages of a site (menus, buttons, credits, footers), and in
# Markdown a menu item is a long line ("* [Home](https://example.com/)"): the result of
# every line a rule could match (up to RULE_MAX_CHARS) is memoised. Memoising only lines of
# up to 40 characters left html2text's pages, cleaned again, at 40 ms per MB in the rules
# against 3. At its limit of 2^17 lines the memo holds 18 MB (the training pages' lines).
_MEMO: dict[str, Rule | None] = {}
_UNKNOWN = object()
_CANDIDATES: tuple[_Candidate, ...] = tuple(
    (rule, rule.pattern.fullmatch, _NEEDS.get(rule.name, ""), _STARTS.get(rule.name, rule.pattern))
    for rule in RULES
)
_DISPATCH: dict[str, tuple[_Candidate, ...]] = {}
# One shared tuple per distinct candidate list, keyed by the candidates' ids (hashing the
# rules themselves would hash their patterns and descriptions on every new key).
_INTERNED: dict[tuple[int, ...], tuple[_Candidate, ...]] = {}
# What the process learns about lines as it goes (by line, by first characters, the keys
# met once): what the speed benchmark and the tests put back or empty.
_CACHES: tuple[dict | set, ...] = (_MEMO, _DISPATCH, _ONCE)


def _partial_by_position() -> bool:
    """Whether this ``regex`` release takes ``partial`` as ``fullmatch``'s fifth positional
    argument (string, pos, endpos, concurrent, partial): passed by keyword, it costs about
    0.5 us more a call, and probing makes two calls per rule and new key."""
    try:
        found = regex.compile("ab").fullmatch("a", None, None, None, True)
    except TypeError:
        return False
    return found is not None and found.partial


_PARTIAL_BY_POSITION = _partial_by_position()


# Zero-width assertions that ``regex``'s partial matching reads at the end of a partial
# string as if the text ended there (see ``_could_start``).
_END_ASSERTIONS = ("\\b", "\\B", "(?=", "(?!", "(?<=", "(?<!")
# Per pattern probed (by id, with the pattern kept so that the id stays its own): whether
# its source holds one of them.
_END_SENSITIVE: dict[int, tuple[regex.Pattern[str], bool]] = {}


def _partial(pattern: regex.Pattern[str], text: str) -> bool:
    """Whether ``text`` is the start of something ``pattern`` fullmatches."""
    if _PARTIAL_BY_POSITION:
        return pattern.fullmatch(text, None, None, None, True) is not None
    return pattern.fullmatch(text, partial=True) is not None


def _end_sensitive(pattern: regex.Pattern[str]) -> bool:
    """Whether ``pattern`` holds an assertion that partial matching reads wrongly at the
    end of a partial string (looked at once per pattern)."""
    known = _END_SENSITIVE.get(id(pattern))
    if known is None:
        known = _END_SENSITIVE[id(pattern)] = (
            pattern, any(a in pattern.pattern for a in _END_ASSERTIONS))
    return known[1]


def _could_start(pattern: regex.Pattern[str], prefix: str) -> bool:
    """Whether some line starting with ``prefix`` could fullmatch ``pattern``.

    ``regex`` evaluates ``\\b`` at the end of a partial string as if the text ended there
    (so ``"(c) "`` would rule out ``(c).*?\\bAll``); for a pattern with such an assertion,
    probing a word character after the prefix as well covers that. Other patterns take
    one call (on every key of the corpus both ways agree for them).
    """
    return _partial(pattern, prefix) or (
        _end_sensitive(pattern) and _partial(pattern, prefix + "a"))


def _dispatch(key: str) -> tuple[_Candidate, ...]:
    """The candidates for ``key``: those of ``key[:-1]`` that partially match ``key``."""
    if len(key) > 1:
        shorter = _DISPATCH.get(key[:-1])
        if shorter is None:
            shorter = _dispatch(key[:-1])
    else:
        shorter = _CANDIDATES
    # Rules that share a probe pattern (the slash and "via" credits) are probed once. For a
    # full key, a rule with a literal every line it matches holds (those two credits:
    # their start fits nearly any words) is kept without probing: the literal is tested on
    # each line for less than the probes cost. Not for shorter keys: there the probe rules
    # out Markdown link and image syntax ("[!", "![", "[ "), whose lines all hold a "/".
    probed: dict[int, bool] = {}
    kept = []
    for candidate in shorter:
        if candidate[2] and len(key) == _KEY_CHARS:
            kept.append(candidate)
            continue
        fits = probed.get(id(candidate[3]))
        if fits is None:
            fits = probed[id(candidate[3])] = _could_start(candidate[3], key)
        if fits:
            kept.append(candidate)
    found = tuple(kept)
    found = _INTERNED.setdefault(tuple(map(id, found)), found)
    if len(_DISPATCH) >= _CACHE_MAX:
        _DISPATCH.clear()
        _ONCE.clear()
    _DISPATCH[key] = found
    return found


def _new_key(key: str) -> tuple[_Candidate, ...]:
    """The candidates for a key not in ``_DISPATCH``: probed if met before (or shorter
    than a full key), else those of its shorter key, and the key remembered as met."""
    if len(key) < _KEY_CHARS or key in _ONCE:
        _ONCE.discard(key)
        return _dispatch(key)
    if len(_ONCE) >= _CACHE_MAX:
        _ONCE.clear()
    _ONCE.add(key)
    shorter = _DISPATCH.get(key[:-1])
    return shorter if shorter is not None else _dispatch(key[:-1])


def match_rule(text: str) -> Rule | None:
    """The first rule (in RULES order) whose pattern fullmatches text.strip(), or None."""
    stripped = text.strip()
    if not stripped or len(stripped) > RULE_MAX_CHARS:
        return None
    found = _MEMO.get(stripped, _UNKNOWN)  # not try/except: most lines of a new page miss
    if found is not _UNKNOWN:
        return found  # type: ignore[return-value]
    key = stripped.lstrip(_LEAD_CHARS)[:_KEY_CHARS]
    candidates = _DISPATCH.get(key)
    if candidates is None:
        candidates = _new_key(key)
    found = None
    for rule, fullmatch, needs, _ in candidates:
        if (not needs or needs in stripped) and fullmatch(stripped) is not None:  # type: ignore[operator]
            found = rule
            break
    if len(_MEMO) >= _CACHE_MAX:
        _MEMO.clear()
    _MEMO[stripped] = found
    return found


def match_rules(texts: Sequence[str]) -> list[Rule | None]:
    """``match_rule`` of each text, with the loop in C where the extension is built."""
    if _match_rules is not None and isinstance(texts, list):
        return _match_rules(texts, _MEMO, _DISPATCH, _new_key, _LEAD_CHARS, _KEY_CHARS,
                            RULE_MAX_CHARS, _CACHE_MAX)
    return list(map(match_rule, tuple(texts)))  # a copy, as in C: the loop runs Python code


def match_rule_reference(text: str) -> Rule | None:
    """``match_rule`` without the dispatch (one regex per rule); for checks only."""
    stripped = text.strip()
    if not stripped or len(stripped) > RULE_MAX_CHARS:
        return None
    for rule in RULES:
        if rule.pattern.fullmatch(stripped):
            return rule
    return None
