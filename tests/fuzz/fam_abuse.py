"""Family 3: resource abuse. Values that validate (or nearly do) but ask for more than a machine has:
10^12 inferences, a batch of 10^9, 10^9 timesteps or stage repeats, a 1000 x 1000 mesh, a 10^7-chiplet
ring, MACs of 1e300, clocks of 1e-300 GHz, one-byte flits with one credit, imports of 10^8 neurons...

Each runs with an estimate limit of 5 s and 1 GiB (and the child's own limits of a deadline and address
space): it must be refused at validation or by its estimate, or finish; a traceback (MemoryError,
OverflowError), a hang or a crash is a failure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness import Case, Outcome, run_cases

ROOT = Path(__file__).resolve().parents[2]
HW = str(ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
LM = str(ROOT / "workloads" / "lm_32x4096.yaml")
DIGITS = str(ROOT / "workloads" / "digits_snap.yaml")
TRACE = str(ROOT / "workloads" / "traces" / "digits_snap_l0.snaptrace")
LIMITS = ["--max-wall-s", "5", "--max-memory-gib", "1"]

RUNS: list[tuple[str, list[str], str]] = [
    # (name, --set items, workload)
    ("1e12 inferences", ["workload.stream.inferences=1000000000000"], LM),
    ("1e7 inferences", ["workload.stream.inferences=10000000"], LM),
    ("batch 1e9", ["workload.stream.batch=1000000000"], LM),
    ("batch 1e5", ["workload.stream.batch=100000"], DIGITS),
    ("snn T=1e9", ["workload.snn.timesteps=1000000000"], LM),
    ("snn T=1e5", ["workload.snn.timesteps=100000"], DIGITS),
    ("boundary T=1e9", ["workload.boundary.timesteps=1000000000"], LM),
    ("boundary T=1e6", ["workload.boundary.timesteps=1000000"], DIGITS),
    ("repeat 1e9", ["workload.stages.0.repeat=1000000000"], LM),
    ("repeat 99999", ["workload.stages.0.repeat=99999"], LM),
    ("MACs 1e300", ["workload.stages.0.macs=1e300"], LM),
    ("MACs 1e30", ["workload.stages.0.macs=1e30"], LM),
    ("output shape 1e9 x 1e9", ["workload.stages.0.output_shape=[1000000000, 1000000000]"], LM),
    ("output shape 1e6 x 1e3", ["workload.stages.0.output_shape=[1000000, 1000]"], LM),
    ("input shape 1e9 x 1e9", ["workload.input_shape=[1000000000, 1000000000]"], LM),
    ("weights 1e300", ["workload.stages.0.weight_params=1e300"], LM),
    ("skip elements 1e18", ["workload.stages.0.skip_elements=1000000000000000000"], LM),
    ("1e12 in flight", ["workload.stream.max_in_flight=1000000000000"], LM),
    ("periodic every 1e-300 ns", ["workload.stream.injection=periodic", "workload.stream.interval_ns=1e-300"], LM),
    ("poisson every 1e12 ns", ["workload.stream.injection=poisson", "workload.stream.interval_ns=1e12"], LM),
    ("rle on 1e8 neurons", ["workload.boundary.encoding=rle", "workload.stages.0.output_shape=[100000000]"], LM),
    ("every neuron fires, batch 1e4", ["workload.boundary.firing_rate=1.0", "workload.stream.batch=10000"], LM),
    ("1000 x 1000 mesh", ["topology.rows=1000", "topology.cols=1000"], LM),
    ("1e7-chiplet ring", ["topology={kind: ring, chiplets: 10000000}"], LM),
    ("1e5 fully connected", ["topology={kind: fully_connected, chiplets: 100000}"], LM),
    ("3000 x 3000 torus", ["topology={kind: torus2d, rows: 3000, cols: 3000}"], LM),
    ("clock 1e-300 GHz", ["chiplet.compute.clock_ghz=1e-300"], LM),
    ("rate 1e-300 GT/s", ["link.rate_gtps=1e-300"], LM),
    ("1e18 lanes", ["link.lanes=1000000000000000000"], LM),
    ("one-byte flits, one credit", ["link.flit_bytes=2", "link.flit_overhead_bytes=1", "link.rx_buffer_flits=1"], LM),
    ("1e18 credits", ["link.rx_buffer_flits=1000000000000000000"], LM),
    ("PHY latency 1e12 ns", ["link.phy_latency_ns=1e12"], LM),
    ("wake latency 1e15 ns", ["link.sleep_after_idle_ns=0", "link.wake_latency_ns=1e15"], LM),
    ("SRAM 1e-300 MiB, DRAM 1e-300 GB/s", ["chiplet.sram.capacity_mib=1e-300",
                                           "chiplet.dram={capacity_gib: 1, bandwidth_gbytes_per_s: 1e-300, energy_pj_per_bit: 1}"], LM),
    ("transit hops 1e18", ["chiplet.noc.transit_hops=1000000000000000000"], LM),
    ("codec 1 neuron per cycle, batch 1e4", ["chiplet.codec.neurons_per_cycle=1", "workload.stream.batch=10000"], LM),
    ("energy 1e308 pJ/bit", ["link.energy_pj_per_bit=1e308"], LM),
]


def _sweep(work: Path, name: str, body: str) -> Path:
    p = work / f"{name}.yaml"
    p.write_text(f"kind: sweep\nname: {name}\nhardware: {HW}\nworkload: {DIGITS}\n{body}")
    return p


def run(work: Path, jobs: int, mem_mb: int) -> tuple[list[Outcome], int]:
    work.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, sets, wl in RUNS:
        argv = ["run", "--hw", HW, "--workload", wl, "--mode", "all", *LIMITS]
        for item in sets:
            argv += ["--set", item]
        cases.append(Case(name, argv, files=(HW, wl), timeout_s=90, mem_mb=mem_mb))
    # a trace replayed with a huge batch
    cases.append(Case("trace replay, batch 1e6", ["run", "--hw", HW, "--workload", DIGITS, "--trace", TRACE, *LIMITS,
                                                   "--set", "workload.stream.batch=1000000"],
                      files=(HW, DIGITS, TRACE), timeout_s=90, mem_mb=mem_mb))
    # a package of 10,000 explicit edges (within the input gate's limits: 256 KiB, 50,000 values)
    edges = work / "edges.yaml"
    n = 10_001
    edges.write_text("kind: hardware\nname: edges\nchiplet: simba-like-16nm\nlink: ucie-advanced-32g\n"
                     f"topology:\n  kind: edges\n  chiplets: {n}\n  edges: [" +
                     ", ".join(f"[{i}, {i + 1}]" for i in range(n - 1)) + "]\n")
    cases.append(Case("10k explicit edges", ["run", "--hw", str(edges), "--workload", DIGITS, *LIMITS],
                      files=(str(edges), DIGITS), timeout_s=90, mem_mb=mem_mb))
    # sweeps too large, or whose points are
    for name, body in [
        ("sweep-1e7-points", "axes:\n  workload.stream.inferences: [" + ", ".join(str(i) for i in range(1, 1001))
         + "]\n  link.lanes: [" + ", ".join(str(i) for i in range(1, 10001)) + "]\n"),
        ("sweep-1e9-samples", "combine: random\nsamples: 1000000000\naxes:\n  link.rate_gtps: {range: [1, 64]}\n"),
        ("sweep-huge-points", "axes:\n  workload.stream.inferences: [1000000000000, 4]\n"),
        ("sweep-log-range-1e308", "combine: random\nsamples: 4\naxes:\n  link.rate_gtps: {range: [1e-300, 1e308], scale: log}\n"),
    ]:
        sweep = _sweep(work, name, body)
        out = work / f"{name}.parquet"
        cases.append(Case(name, ["sweep", str(sweep), "--out", str(out), "--workers", "1", "--no-progress", *LIMITS],
                          files=(str(sweep), str(out)), timeout_s=120, mem_mb=mem_mb))
    # trace imports that would not fit
    ev = work / "events.csv"
    ev.write_text("t,b,neuron\n0,0,1\n1,2,3\n")
    npy = work / "lie.npy"
    with open(npy, "wb") as f:  # a header declaring 10^12 float32 elements over a few bytes of data
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
        f.write(b"\0" * 64)
    for name, extra in [
        ("import 1e8 neurons", ["--events", str(ev), "--neurons", "100000000", "--timesteps", "8", "--samples", "1000"]),
        ("import 1e12 samples", ["--events", str(ev), "--neurons", "10", "--timesteps", "8", "--samples", "1000000000000"]),
        ("import 2^62 timesteps", ["--events", str(ev), "--neurons", "10", "--timesteps", str(2**62), "--samples", "3"]),
        ("import 1e12-element npy", ["--npy", str(npy), "--layout", "B,N"]),
        ("import shard of 1e9 samples", ["--events", str(ev), "--neurons", "10", "--timesteps", "2", "--samples", "5",
                                         "--shard-samples", "1000000000"]),
    ]:
        out = work / name.replace(" ", "-")
        cases.append(Case(name, ["trace", "import", "--out", str(out), "--boundary", "b", "--src", "a", "--dst", "c",
                                 "--max-memory-gib", "1", *extra],
                          files=(str(out), str(ev), str(npy)), timeout_s=90, mem_mb=mem_mb))
    return run_cases(cases, jobs=jobs, workdir=work / "w"), len(cases)
