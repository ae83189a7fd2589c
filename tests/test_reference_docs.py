"""The reference pages of the input file kinds are generated from the config models: the committed pages
must equal what the models generate now, and every field must say what it is."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from snapsim.config.reference import PAGES, render

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reference"


@pytest.mark.parametrize("page", PAGES)
def test_committed_page_is_generated_from_the_models(page):
    committed = (DOCS / f"{page}.md").read_text(encoding="utf-8")
    assert committed == render(page), (
        f"docs/reference/{page}.md is stale: run `make docs` (python -m snapsim.config.reference docs/reference)"
    )


@pytest.mark.parametrize("page", PAGES)
def test_every_field_is_described(page):
    rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in render(page).splitlines() if line.startswith("| `")]
    assert rows and all(len(cells) == 4 for cells in rows)
    undocumented = [cells[0].strip() for cells in rows if not cells[3].strip()]
    assert undocumented == [], f"{page}: fields without a description: {undocumented}"
