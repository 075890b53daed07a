"""The seven line labels, defined once (wording follows ../shared/corpus/README.md)."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "body",
    "title",
    "caption",
    "credit",
    "promo",
    "meta",
    "boilerplate",
)

DEFINITIONS: dict[str, str] = {
    "body": "the article's own text: paragraphs, in-article subheadings, list items, "
    "quotes and tables that belong to the article",
    "title": "the article's headline, one line per document at most",
    "caption": "captions of images, videos and graphics",
    "credit": "photo and image credits and media copyright lines "
    "('Photo: ...', 'Bild: ...', '(c) AFP ...')",
    "promo": "cross-promotion: headlines and teasers of other articles, related and "
    "'most read' boxes, 'Read more: ...' and 'More on X' lead-ins",
    "meta": "byline, author and author bio, dates, reading time, 'Updated ...', "
    "tags and categories near the article",
    "boilerplate": "everything else: navigation, menus, footers, share buttons, "
    "cookie and consent text, newsletter sign-ups, ads, comments, legal text",
}

DEFAULT_KEEP: tuple[str, ...] = ("title", "body")

LABEL_INDEX: dict[str, int] = {label: i for i, label in enumerate(LABELS)}


def check_labels(labels: object) -> tuple[str, ...]:
    """Validate a user's label selection (e.g. ``keep=``) and return it as a tuple."""
    if isinstance(labels, str):
        labels = tuple(part.strip() for part in labels.split(",") if part.strip())
    try:
        chosen = tuple(labels)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"labels must be a sequence of label names, got {labels!r}") from None
    unknown = [label for label in chosen if label not in LABEL_INDEX]
    if unknown:
        raise ValueError(
            f"unknown label(s) {', '.join(map(repr, unknown))}; "
            f"known labels are {', '.join(LABELS)}"
        )
    return chosen
