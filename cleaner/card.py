"""The model card: a short Markdown file next to a model saying what made it and how
well it does."""

from __future__ import annotations

import os
from typing import Any

from .fileio import atomic_write_text
from .labels import LABELS


def card_path(model_path: str) -> str:
    return os.path.splitext(model_path)[0] + ".md"


def format_card(name: str, info: dict[str, Any]) -> str:
    out = [f"# Model card: {name}", ""]
    out.append(f"- Trained: {info.get('trained', '?')}")
    out.append(f"- Command: `{info.get('command', '?')}`")
    data = info.get("data", {})
    out.append("- Data: " + ", ".join(f"`{k}` (sha256 {v})" for k, v in data.items()))
    out.append(f"- Documents: {info.get('documents')}, units: {info.get('units')}")
    for name, weight in (info.get("weighted") or {}).items():
        out.append(f"- Weighted data: `{name}`, each document counting {weight:g} times")
    if info.get("params"):
        out.append("- Estimator: `LineClassifier("
                   + ", ".join(f"{k}={v!r}" for k, v in info["params"].items()) + ")`")
    if info.get("init"):
        out.append(f"- Adapted from: `{info['init']}` (and its calibration table)")
    elif "calibration" in info:
        held = (info["calibration"] or {}).get("held_out_documents", 0)
        out.append(f"- Calibration table: fitted on {held} documents held out of a model "
                   "trained the same way on the rest" if held else
                   "- Calibration table: the default one (not fitted for this model)")
    labels = info.get("labels", {})
    out.append("- Training units per label: "
               + ", ".join(f"{k} {labels.get(k, 0)}" for k in LABELS))
    dev = info.get("dev")
    if dev:
        out += ["", f"## Scores on {dev['data']} ({dev['documents']} documents)", ""]
        out.append(f"Article-level word-shingle F1 (keep body): **{dev['shingle_f1']:.4f}**")
        out += ["", "| group | shingle F1 |", "|---|---|"]
        out += [f"| {k} | {v:.4f} |" for k, v in sorted(dev.get("by_group", {}).items())]
        out += ["", "| label | F1 |", "|---|---|"]
        out += [f"| {k} | {v:.4f} |" for k, v in dev.get("label_f1", {}).items()]
    precision = info.get("rule_precision", {})
    if precision:
        out += ["", "## Rule precision on the training data", "",
                "| rule | precision |", "|---|---|"]
        out += [f"| {k} | {v:.4f} |" for k, v in sorted(precision.items())]
    return "\n".join(out) + "\n"


def write_card(model_path: str, info: dict[str, Any]) -> str:
    path = card_path(model_path)
    atomic_write_text(path, format_card(os.path.basename(model_path), info))
    return path
