"""Report helpers shared by the studies: markdown tables, CSV files, figures saved and closed."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["md_table", "save_figure", "write_tables"]


def md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub markdown table (no tabulate dependency)."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def write_tables(out: Path, tables: Mapping[str, pd.DataFrame]) -> dict[str, Path]:
    """Each table as ``out/<name>.csv`` (no index); returns the paths by table name."""
    files = {}
    for name, df in tables.items():
        files[name] = out / f"{name}.csv"
        df.to_csv(files[name], index=False)
    return files


def save_figure(fig, path: Path) -> Path:
    """Write a matplotlib figure as PNG and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
