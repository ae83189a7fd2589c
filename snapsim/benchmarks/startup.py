"""CLI start-up benchmark: wall time of ``snapsim --help`` and of ``snapsim validate`` on every shipped
config file, each in a fresh interpreter, best of a few runs; and which heavy modules each imports.

Baseline, measured in the same run: the same command the way it started before the commands imported
lazily (the simulator, pandas and pyarrow loaded with the parser, and every YAML text parsed anew).
Targets: ``--help`` under 0.3 s, ``validate`` under 1 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from ..resources import DATA

__all__ = ["run", "shipped_config_files", "imported_modules", "HEAVY"]

TARGET_HELP_S = 0.3
TARGET_VALIDATE_S = 1.0
#: modules a command that simulates nothing should not load (validating a sweep file does load
#: snapsim.network, hence simpy, for the fidelity names: snapsim.config.sweep)
HEAVY = ("snapsim.engine", "snapsim.stream", "snapsim.runner", "pandas", "pyarrow", "matplotlib")

_BEFORE = ("import snapsim.engine, snapsim.runner, pandas, pyarrow; import snapsim.config.yamlio as y; "
           "y.KEEP_PARSED = 0; ")


def shipped_config_files() -> list[str]:
    """Every shipped hardware, link, chiplet, workload and sweep file."""
    return sorted(str(p) for p in DATA.rglob("*.yaml"))


def _best_wall(argv: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return best


def imported_modules(args: list[str]) -> list[str]:
    """Modules loaded by ``snapsim ARGS`` in a fresh interpreter (top-level names and snapsim modules)."""
    code = ("import sys, json; from snapsim.cli import main\n"
            "try:\n    main(json.loads(sys.argv[1]))\nexcept SystemExit:\n    pass\n"
            "sys.stdout = sys.__stdout__\n"
            "print('\\n' + json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run(quick: bool = False) -> dict:
    py = sys.executable
    repeats = 3 if quick else 7
    files = shipped_config_files()
    main = "from snapsim.cli import main; import sys; sys.exit(main(sys.argv[1:]))"
    help_s = _best_wall([py, "-c", main, "--help"], repeats)
    help_base = _best_wall([py, "-c", _BEFORE + main, "--help"], repeats)
    val_s = _best_wall([py, "-c", main, "validate", *files], max(2, repeats // 2))
    val_base = _best_wall([py, "-c", _BEFORE + main, "validate", *files], max(2, repeats // 2))
    heavy_help = [m for m in HEAVY if m in imported_modules(["--help"])]
    heavy_validate = [m for m in HEAVY if m in imported_modules(["validate", files[0]])]
    return {
        "help_s": help_s,
        "help_baseline_s": help_base,
        "help_speedup": help_base / help_s,
        "help_target_s": TARGET_HELP_S,
        "help_meets_target": help_s < TARGET_HELP_S,
        "help_heavy_imports": heavy_help,
        "validate_files": len(files),
        "validate_s": val_s,
        "validate_baseline_s": val_base,
        "validate_speedup": val_base / val_s,
        "validate_target_s": TARGET_VALIDATE_S,
        "validate_meets_target": val_s < TARGET_VALIDATE_S,
        "validate_heavy_imports": heavy_validate,
        "timing": f"wall time of a fresh interpreter, best of {repeats} (validate: {max(2, repeats // 2)})",
        "baseline": "the same command with the simulator, pandas and pyarrow imported first and no parsed-YAML "
                    "cache, as before lazy imports",
    }
