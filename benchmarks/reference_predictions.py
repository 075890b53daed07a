"""Record the shipped model's predictions on the fixtures in ``models/reference.json``.

    python benchmarks/reference_predictions.py

Run it whenever the shipped model is retrained. ``tests/test_modelfile.py`` then checks
that the model gives these labels and probabilities with whatever numpy and scikit-learn
are installed: prediction uses plain arrays only, so it must not depend on them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cleaner import Cleaner
from cleaner.fileio import atomic_write_text
from cleaner.fixture_format import read_fixture

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    model = ROOT / "models" / "cleaner.npz"
    cleaner = Cleaner(model)
    reference = {}
    for path in sorted((ROOT / "fixtures").glob("*.tsv")):
        text = read_fixture(str(path)).text
        reference[path.name] = [[r.label, round(r.probability, 6)]
                                for r in cleaner.classify(text)]
    out = ROOT / "models" / "reference.json"
    atomic_write_text(str(out), json.dumps(reference, indent=0, sort_keys=True) + "\n")
    print(f"wrote {os.path.relpath(out)}: {sum(map(len, reference.values()))} units "
          f"of {len(reference)} fixtures")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
