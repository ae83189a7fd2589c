"""A tiny deterministic stand-in for the simulator, importable by worker processes.

``fake_evaluate(point)`` derives metrics from the point's values and seed only. It fails for
``link.rate_gtps == 13``. Environment (read per call, so it also works in CLI subprocesses):
``SNAPSIM_FAKE_LOG`` — append one line ``<json point>`` per call (to count evaluations);
``SNAPSIM_FAKE_SLEEP_S`` — sleep this long per call (to give a kill something to interrupt).
"""

from __future__ import annotations

import hashlib
import json
import os
import time

import numpy as np

FAIL_RATE_GTPS = 13
_MODE_FACTOR = {"ann": 1.0, "snn": 0.6, "snap": 0.75}


def point_key(point: dict) -> str:
    return json.dumps(point, sort_keys=True)


def fake_metrics(point: dict) -> dict:
    rate = float(point.get("link.rate_gtps", 32))
    energy = float(point.get("link.energy_pj_per_bit", 0.3))
    firing = float(point.get("workload.boundary.firing_rate", 0.1))
    rng = np.random.default_rng([int(point["seed"]), int(rate * 1000)])
    noise = float(rng.normal(0.0, 1.0))
    factor = _MODE_FACTOR[point["mode"]]
    bits = 4096.0 * factor * (firing * 10 if point["mode"] != "ann" else 1.0)
    return {
        "latency_ns_p50": 100.0 + bits / rate + noise,
        "latency_ns_p99": 120.0 + 1.5 * bits / rate + abs(noise),
        "energy_pj_per_inf": bits * energy,
        "d2d_bits_per_inf": bits,
        "seed": int(point["seed"]),
        "config_hash": "fake-" + hashlib.sha256(point_key(point).encode()).hexdigest()[:12],
    }


def fake_evaluate(point: dict) -> dict:
    log = os.environ.get("SNAPSIM_FAKE_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(point_key(point) + "\n")
    sleep_s = float(os.environ.get("SNAPSIM_FAKE_SLEEP_S", "0") or 0)
    if sleep_s:
        time.sleep(sleep_s)
    if point.get("link.rate_gtps") == FAIL_RATE_GTPS:
        raise ValueError(f"link rate {FAIL_RATE_GTPS} GT/s is not supported by the fake model\nsecond line")
    return fake_metrics(point)


class FakeEvaluator:
    """Picklable object form of :func:`fake_evaluate` that logs to a file of its own."""

    def __init__(self, log_path: str | None = None):
        self.log_path = log_path

    def __call__(self, point: dict) -> dict:
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(point_key(point) + "\n")
        if point.get("link.rate_gtps") == FAIL_RATE_GTPS:
            raise ValueError("unsupported rate")
        return fake_metrics(point)


class CrashingEvaluator:
    """Kills its worker process (``os._exit``) on points matching ``victim``: a stand-in for a segfault."""

    def __init__(self, victim: dict):
        self.victim = victim

    def __call__(self, point: dict) -> dict:
        if all(point.get(k) == v for k, v in self.victim.items()):
            os._exit(3)
        return fake_metrics(point)


def not_a_mapping(point: dict) -> list:
    return [1, 2, 3]


class UnpicklableInWorker:
    """Pickles fine but cannot be rebuilt in a worker (as when its module is missing there)."""

    def __reduce__(self):
        return (_refuse, ())

    def __call__(self, point: dict) -> dict:
        return fake_metrics(point)


def _refuse():
    raise ImportError("this evaluation cannot be loaded in a worker")
