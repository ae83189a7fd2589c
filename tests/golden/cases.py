"""Shipped runs whose results are pinned by golden files (``tests/golden/<name>.json``).

Each case is a ``snapsim run`` command line (paths relative to the repository root). A model change
that moves any pinned number shows up as a failing test and, once regenerated with
``pytest tests/test_golden.py --update-golden``, as a reviewed diff of the JSON file.
"""

from __future__ import annotations

HW = "hwconfigs/packages"
WL = "workloads"

CASES: dict[str, list[str]] = {
    # the demo's language model on the shipped 2x2 UCIe-A package, all three designs
    "lm_ucie-a-2x2": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/lm_32x4096.yaml", "--mode", "all"],
    # a CNN with residual shortcuts at its cuts
    "resnet18_ucie-a-2x2": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/resnet18_imagenet.yaml",
                            "--mode", "all"],
    # a zoo model on the slowest, costliest preset (the study's SNAP-friendliest link)
    "rwkv1.5b_xsr-1x4": ["--hw", f"{HW}/xsr-serdes-1x4.yaml", "--workload", f"{WL}/zoo/rwkv-1.5b_p4.yaml",
                         "--mode", "all"],
    # heterogeneous chiplets
    "lm_hetero-2x2": ["--hw", f"{HW}/ucie-a-hetero-2x2.yaml", "--workload", f"{WL}/lm_32x4096.yaml",
                      "--mode", "all", "--set", "workload.stream.inferences=128"],
    # multi-hop routes (non-adjacent partitions on a ring: messages cross intermediate dies)
    "resnet18_bow-ring-multihop": ["--hw", f"{HW}/bow-ring-4.yaml", "--workload", f"{WL}/resnet18_imagenet.yaml",
                                   "--mode", "all", "--set", "mapping=[0, 2, 1, 3]"],
    # link power states (sleep after idle, wake latency, sleep power)
    "lm_ucie-a-2x2_power-states": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/lm_32x4096.yaml",
                                   "--mode", "snap", "--set", "link.sleep_after_idle_ns=100",
                                   "--set", "link.wake_latency_ns=100", "--set", "link.sleep_power_mw=20",
                                   "--set", "workload.stream.inferences=128"],
    # open-loop Poisson arrivals
    "resnet18_poisson": ["--hw", f"{HW}/ucie-s-2x2.yaml", "--workload", f"{WL}/resnet18_imagenet.yaml",
                         "--mode", "all", "--seed", "3", "--set", "workload.stream.injection=poisson",
                         "--set", "workload.stream.interval_ns=20000", "--set", "workload.stream.inferences=64"],
    # rate-coded boundary with a 4-step window
    "resnet18_rate-window": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/resnet18_imagenet.yaml",
                             "--mode", "snap", "--set",
                             "workload.boundary.encoding={kind: rate, window_steps: 4}",
                             "--set", "workload.stream.inferences=64"],
    # trace replay of a trained SNAP model in every mode
    "digits_trace_l1": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/digits_snap.yaml",
                        "--trace", f"{WL}/traces/digits_snap_l1.snaptrace", "--mode", "all"],
    "charlm_trace_l2_aer": ["--hw", f"{HW}/ucie-a-2x2.yaml", "--workload", f"{WL}/charlm_snap.yaml",
                            "--trace", f"{WL}/traces/charlm_snap_l2.snaptrace", "--mode", "snap", "--set",
                            "workload.boundary.encoding=aer"],
}
