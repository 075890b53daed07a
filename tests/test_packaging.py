"""The dependency floors that CI tests against are the ones pyproject.toml declares."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _by_name(requirements, operator: str) -> dict[str, str]:
    """{name: version} of requirements written ``name<operator>version``."""
    return {name.strip().lower(): version.strip()
            for name, version in (r.split(operator) for r in requirements)}


def test_ci_tests_the_oldest_release_of_every_dependency():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / ".ci" / "oldest.txt").read_text().splitlines()
    pins = _by_name((line for line in lines if line.strip() and not line.startswith("#")), "==")
    floors = _by_name(declared, ">=")
    assert set(pins) == set(floors)
    for name, bound in floors.items():
        floor = _release(bound)
        assert _release(pins[name]) == floor + (0,) * (3 - len(floor)), name  # 1.24: 1.24.0
