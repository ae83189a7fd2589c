"""Family 1: mutated configs (see configs.py). Each mutant is validated; one that validates is then run
(hardware, link and chiplet mutants against a small shipped workload, workload mutants on a 36-chiplet
package, sweep mutants as a sweep) with tight estimate limits, so a value that validates but overflows,
hangs or exhausts memory at run shows up."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings

import configs
from harness import Case, Outcome, run_cases

ROOT = configs.ROOT
SMALL_WL = str(ROOT / "workloads" / "digits_snap.yaml")
BIG_HW = str(ROOT / "hwconfigs" / "packages" / "simba-grs-6x6.yaml")
LIMITS = ["--max-wall-s", "2", "--max-memory-gib", "1"]
FILE_LEVEL = ("file is", "refused by its estimate", "beyond snapsim's clock", "could simulate up to", "carries messages of",
              "not a regular file", "file not found", "is a directory", "maps only", "has no energy_pj_per_mac",
              "is not reachable", "no Dask", "not found:", "required field is missing", ") is required")
"""Refusals about a whole file or run (no line to name): a run's estimate, a mapping that does not fit, a
required top-level field that is not written (a missing field inside a section names the section's line)."""


def draw(n: int, seed: int) -> list[configs.Mutant]:
    files = configs.corpus()
    out: list[configs.Mutant] = []

    @hseed(seed)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate], derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(configs.mutants(files))
    def collect(m):
        out.append(m)

    collect()
    return out[:n]


def _needs_line(o: Outcome) -> None:
    """A refusal about a field must carry its line; one about a whole file or run need not."""
    lines = [ln for ln in o.stderr.splitlines() if ln.strip() and not ln.startswith("snapsim validate: ")]
    for ln in lines:
        if any(f in ln for f in FILE_LEVEL):
            continue
        body = ln.split(": error: ", 1)[-1]
        head = body.split(": ", 1)[0]
        if body.startswith("--"):
            continue
        if ":" not in head or not head.rsplit(":", 1)[1].isdigit():
            o.kind, o.detail = "bad_refusal", f"no line number: {ln[:200]!r}"
            return


def run(n: int, seed: int, work: Path, jobs: int, mem_mb: int) -> tuple[list[Outcome], int]:
    work.mkdir(parents=True, exist_ok=True)
    mutants = draw(n, seed)
    paths = []
    cases = []
    for i, m in enumerate(mutants):
        suffix = ".yaml"
        path = work / f"m{i:05d}-{m.source.stem}{suffix}"
        path.write_bytes(m.data)
        paths.append(path)
        cases.append(Case(f"validate {m.name}", ["validate", str(path)], files=(str(path),), timeout_s=30,
                          mem_mb=mem_mb, check=_needs_line))
    first = run_cases(cases, jobs=jobs, workdir=work / "w")
    runs, owners = [], []
    modes = ("ann", "snn", "snap")
    for i, (m, path, o) in enumerate(zip(mutants, paths, first)):
        if o.kind != "ok":
            continue
        mode = modes[i % 3]
        files: tuple[str, ...]
        if m.kind == "hardware":
            argv = ["run", "--hw", str(path), "--workload", SMALL_WL, "--mode", mode, *LIMITS]
            files = (str(path), SMALL_WL)
        elif m.kind == "workload":
            argv = ["run", "--hw", BIG_HW, "--workload", str(path), "--mode", mode, *LIMITS]
            files = (BIG_HW, str(path))
        elif m.kind in ("link", "chiplet"):
            pkg = path.with_suffix(".package.yaml")
            pkg.write_text(f"kind: hardware\nname: fuzz\nchiplet: {path if m.kind == 'chiplet' else 'simba-like-16nm'}\n"
                           f"link: {path if m.kind == 'link' else 'ucie-advanced-32g'}\n"
                           "topology: {kind: mesh2d, rows: 2, cols: 2}\nmapping: [0, 1, 3, 2]\n")
            argv = ["run", "--hw", str(pkg), "--workload", SMALL_WL, "--mode", mode, *LIMITS]
            files = (str(path), str(pkg), SMALL_WL)
        else:  # a sweep: its points, each refused by its estimate when over the limits
            argv = ["sweep", str(path), "--out", str(path.with_suffix(".parquet")), "--workers", "1", "--no-progress",
                    *LIMITS]
            files = (str(path), str(path.with_suffix(".parquet")))
        runs.append(Case(f"run {m.name}", argv, files=files, timeout_s=60, mem_mb=mem_mb, check=_needs_line))
        owners.append(i)
    second = run_cases(runs, jobs=jobs, workdir=work / "w")
    return first + second, len(mutants)
