"""Contract tests for the shipped hardware presets in ``hwconfigs/`` (package data: :data:`snapsim.resources.HWCONFIGS`).

(a) every file loads and validates; (b) every field a link or chiplet preset sets names a non-empty source;
(c) every package maps partitions over all its chiplets in neighbour-to-neighbour order; (d) the per-direction
bandwidth stated in each link preset's header comment agrees with its fields, and idle power is derived from a cited fraction; (e) each link's
credits cover the credit round trip unless its header says it is credit-limited.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from snapsim.config import load_chiplet, load_hardware, load_link, load_yaml, validate_file
from snapsim.d2d.timing import LinkTiming
from snapsim.resources import HWCONFIGS

HW = HWCONFIGS
ALL_FILES = sorted(HW.rglob("*.yaml"))
LINKS = sorted((HW / "link").glob("*.yaml"))
CHIPLETS = sorted((HW / "chiplet").glob("*.yaml"))
PACKAGES = sorted((HW / "packages").glob("*.yaml"))
NOCS = sorted((HW / "noc").glob("*.yaml"))

EXEMPT = {"kind", "name", "standard", "description", "sources"}
REQUIRED_LINKS = {
    "ucie-advanced-32g",
    "ucie-standard-16g",
    "bow-256",
    "aib2",
    "xsr-serdes-112g",
    "lr-serdes-board-112g",
    "nvlink-c2c-like",
    "simba-like-grs",
}
REQUIRED_CHIPLETS = {"simba-like-16nm", "generic-7nm-hbm", "loihi-like-14nm"}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(HW)) for p in paths]


def _header_value(path: Path, key: str) -> float | None:
    """Value of a ``# key: number`` comment line in a preset file, or None."""
    pat = re.compile(rf"^#\s*{re.escape(key)}\s*:\s*([0-9.eE+-]+)\s*$")
    for line in path.read_text(encoding="utf-8").splitlines():
        m = pat.match(line.strip())
        if m:
            return float(m.group(1))
    return None


def _set_fields(data: dict, nested: bool) -> set[str]:
    """Keys a preset sets: top-level fields, or ``section.field`` for the sections of a chiplet.

    A mapping-valued field inside a section (e.g. ``compute.energy_pj_per_mac``) counts as one field.
    """
    out: set[str] = set()
    for k, v in data.items():
        if k in EXEMPT:
            continue
        if nested and isinstance(v, dict):
            out.update(f"{k}.{f}" for f in v)
        else:
            out.add(k)
    return out


def _neighbours(topology: dict, a: int, b: int) -> bool:
    """Neighbour test written independently of ``snapsim.topology`` (mesh2d, torus2d, ring, fully_connected, edges)."""
    kind = topology["kind"]
    if kind in ("mesh2d", "torus2d"):
        rows, cols = topology["rows"], topology["cols"]
        (ra, ca), (rb, cb) = divmod(a, cols), divmod(b, cols)
        dr, dc = abs(ra - rb), abs(ca - cb)
        if kind == "torus2d":
            dr = min(dr, rows - dr) if rows > 2 else dr
            dc = min(dc, cols - dc) if cols > 2 else dc
        return dr + dc == 1
    if kind == "ring":
        n = topology["chiplets"]
        return a != b and ((a - b) % n in (1, n - 1))
    if kind == "fully_connected":
        return a != b
    if kind == "edges":
        return (a, b) in {tuple(e) for e in topology["edges"]} or (b, a) in {tuple(e) for e in topology["edges"]}
    raise AssertionError(f"unknown topology kind {kind!r}")


# ------------------------------------------------------------------------------------------------ (a)


def test_required_presets_exist():
    assert REQUIRED_LINKS <= {p.stem for p in LINKS}
    assert REQUIRED_CHIPLETS <= {p.stem for p in CHIPLETS}
    assert len(PACKAGES) >= len(REQUIRED_LINKS)


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_every_file_validates(path: Path):
    kind = validate_file(path)
    assert kind == {"link": "link", "chiplet": "chiplet", "packages": "hardware", "noc": "hardware"}[path.parent.name]


@pytest.mark.parametrize("path", LINKS + CHIPLETS, ids=_ids(LINKS + CHIPLETS))
def test_preset_name_is_file_stem(path: Path):
    cfg = load_link(path) if path.parent.name == "link" else load_chiplet(path)
    assert cfg.name == path.stem


@pytest.mark.parametrize("path", PACKAGES, ids=_ids(PACKAGES))
def test_package_loads(path: Path):
    hw = load_hardware(path)
    assert hw.name == path.stem


@pytest.mark.parametrize("path", CHIPLETS, ids=_ids(CHIPLETS))
def test_every_chiplet_has_dram(path: Path):
    assert load_chiplet(path).dram is not None, "LLM-size workloads need a dram block on every chiplet"


# cost fields whose model default would silently decide a comparison: every chiplet preset sets them (so the
# source test below requires a citation for each)
DECISIVE_CHIPLET_FIELDS = ("spiking.energy_pj_per_ac", "spiking.membrane_state_bits", "spiking.sparse_efficiency",
                           "sram.arrays", "sram.energy_reference_kib", "sram.energy_size_exponent")


@pytest.mark.parametrize("path", CHIPLETS, ids=_ids(CHIPLETS))
def test_every_chiplet_sets_and_cites_the_decisive_cost_fields(path: Path):
    data, _ = load_yaml(path)
    set_fields = _set_fields(data, nested=True)
    missing = [f for f in DECISIVE_CHIPLET_FIELDS if f not in set_fields]
    assert not missing, f"{path.name} leaves {missing} at their model defaults"
    assert all((data.get("sources") or {}).get(f) for f in DECISIVE_CHIPLET_FIELDS)


LP_FIELDS = {"name", "sleep_after_idle_ns", "wake_latency_ns", "sleep_power_mw", "sources"}


@pytest.mark.parametrize("path", sorted((HW / "link").glob("*-lp.yaml")), ids=lambda p: p.stem)
def test_low_power_variant_is_its_base_with_power_states(path: Path):
    """A ``-lp`` variant is its base preset (copied) with the cited low-power state on."""
    lp = load_link(path)
    base = load_link(HW / "link" / f"{path.stem[:-3]}.yaml")
    a, b = lp.model_dump(exclude=LP_FIELDS), base.model_dump(exclude=LP_FIELDS)
    assert a == b
    assert lp.sleep_after_idle_ns is not None and lp.wake_latency_ns > 0
    assert 0 < lp.sleep_power_mw < lp.idle_power_mw
    assert {k: v for k, v in lp.sources.items() if k in base.sources} == base.sources


def test_every_link_and_chiplet_preset_is_used_by_a_package():
    used_links: set[str] = set()
    used_chiplets: set[str] = set()
    for p in PACKAGES:
        hw = load_hardware(p)
        used_links.add(hw.link.name)
        used_links.update(e.link.name for e in hw.links)
        used_chiplets.add(hw.chiplet.name)
        used_chiplets.update(c.name for c in hw.chiplets.values())
    # a low-power variant counts as used where its base is (power states are opt-in)
    assert {p.stem[:-3] if p.stem.endswith("-lp") else p.stem for p in LINKS} <= used_links
    assert {p.stem for p in CHIPLETS} <= used_chiplets


# ------------------------------------------------------------------------------------------------ (b)


@pytest.mark.parametrize("path", LINKS + CHIPLETS, ids=_ids(LINKS + CHIPLETS))
def test_every_set_field_has_a_source(path: Path):
    data, _ = load_yaml(path)
    fields = _set_fields(data, nested=data["kind"] == "chiplet")
    sources = data.get("sources") or {}
    missing = sorted(f for f in fields if not str(sources.get(f, "")).strip())
    assert not missing, f"{path.name}: fields without a source: {missing}"
    stale = sorted(set(sources) - fields)
    assert not stale, f"{path.name}: sources for fields it does not set: {stale}"


@pytest.mark.parametrize("path", LINKS + CHIPLETS, ids=_ids(LINKS + CHIPLETS))
def test_every_source_names_a_confidence_tag(path: Path):
    data, _ = load_yaml(path)
    untagged = []
    for field, text in (data.get("sources") or {}).items():
        # a confidence tag (H/M/L/D, possibly combined like "D/L" or "M-L") or an explicit calibration note
        if not re.search(r"\b[HMLD](?:\([^)]*\))?(?:[/-][HMLD](?:\([^)]*\))?)*\s*[);,]", text) and "calibrate" not in text:
            untagged.append(field)
    assert not untagged, f"{path.name}: sources without a confidence tag: {untagged}"


# ------------------------------------------------------------------------------------------------ (c)


@pytest.mark.parametrize("path", PACKAGES, ids=_ids(PACKAGES))
def test_mapping_is_a_neighbour_chain_over_all_chiplets(path: Path):
    hw = load_hardware(path)
    raw, _ = load_yaml(path)
    n = hw.topology.n_chiplets
    mapping = raw.get("mapping")
    assert mapping is not None, f"{path.name}: give an explicit mapping over all chiplets"
    assert sorted(mapping) == list(range(n)), f"{path.name}: mapping must be a permutation of 0..{n - 1}"
    topo = hw.topology.model_dump()
    for i, (a, b) in enumerate(zip(mapping, mapping[1:])):
        assert _neighbours(topo, a, b), f"{path.name}: partitions {i} and {i + 1} map to chiplets {a} and {b}, not neighbours"


def test_neighbour_check_itself():
    mesh = {"kind": "mesh2d", "rows": 2, "cols": 3}
    assert _neighbours(mesh, 0, 1) and _neighbours(mesh, 1, 4) and not _neighbours(mesh, 2, 3)
    assert not _neighbours(mesh, 0, 4)
    ring = {"kind": "ring", "chiplets": 4}
    assert _neighbours(ring, 3, 0) and not _neighbours(ring, 0, 2)
    assert _neighbours({"kind": "fully_connected", "chiplets": 4}, 0, 3)


# ------------------------------------------------------------------------------------------------ (d)


@pytest.mark.parametrize("path", LINKS, ids=_ids(LINKS))
def test_bandwidth_in_header_matches_fields(path: Path):
    link = load_link(path)
    stated = _header_value(path, "bandwidth_gbytes_per_s_per_direction")
    assert stated is not None, f"{path.name}: add '# bandwidth_gbytes_per_s_per_direction: N' to the header"
    computed = link.lanes * link.rate_gtps * link.bits_per_transfer / 8
    assert computed == pytest.approx(stated, rel=1e-9), f"{path.name}: fields give {computed} GB/s, header says {stated}"


@pytest.mark.parametrize("path", LINKS, ids=_ids(LINKS))
def test_idle_power_is_derived_from_the_cited_fraction(path: Path):
    """Presets give idle power as a cited fraction of active power; snapsim derives the mW (one rule)."""
    link = load_link(path)
    data, _ = load_yaml(path)
    assert "idle_power_mw" not in data and "idle_power_fraction" in data, path.name
    assert link.idle_power_mw == pytest.approx(link.idle_power_fraction * link.energy_pj_per_bit * link.raw_gbps)
    assert link.idle_power_source.startswith("idle_power_fraction")


def test_idle_power_follows_rate_lanes_and_energy_per_bit():
    """Issue 9 defect 7: a sweep over rate, lanes or pJ/bit moves the derived idle power; an explicit
    idle_power_mw stays as given, and the config says which."""
    pkg = HW / "packages" / "ucie-a-2x2.yaml"
    base = load_hardware(pkg).link
    for key, factor in (("link.rate_gtps", 0.5), ("link.lanes", 0.25), ("link.energy_pj_per_bit", 2.0)):
        value = getattr(base, key.split(".")[1]) * factor
        value = int(value) if key == "link.lanes" else value
        moved = load_hardware(pkg, {key: value}).link
        assert moved.idle_power_mw == pytest.approx(base.idle_power_mw * factor), key
    explicit = load_hardware(pkg, {"link.idle_power_mw": 40.0, "link.rate_gtps": 16}).link
    assert explicit.idle_power_mw == 40.0 and explicit.idle_power_source == "explicit"


# ------------------------------------------------------------------------------------------------ (e)


@pytest.mark.parametrize("path", LINKS, ids=_ids(LINKS))
def test_credits_cover_round_trip_unless_declared_credit_limited(path: Path):
    link = load_link(path)
    tm = LinkTiming.from_config(link)
    declared = "credit-limited" in path.read_text(encoding="utf-8").lower().split("kind:", 1)[0]
    needed = math.ceil(tm.credit_rtt / tm.t_flit)
    if declared:
        assert tm.credits_bind, f"{path.name}: header says credit-limited but {tm.credits} credits cover {needed}"
    else:
        assert not tm.credits_bind, f"{path.name}: {tm.credits} credits < {needed} needed for the round trip"


def test_at_most_one_link_is_credit_limited():
    limited = [p.stem for p in LINKS if LinkTiming.from_config(load_link(p)).credits_bind and not p.stem.endswith("-lp")]
    assert len(limited) <= 1, limited


# ------------------------------------------------------------------------------------------------ noc


@pytest.mark.parametrize("path", NOCS, ids=_ids(NOCS))
def test_noc_preset_cites_every_router_and_link_field(path: Path):
    """A network-on-chip preset: every router field it sets and every field of its inline link names a
    source, and the topology is cited."""
    data, _ = load_yaml(path)
    router = data["chiplet"]["router"]
    missing = sorted(set(router) - {"sources"} - set(router.get("sources", {})))
    assert not missing, f"router fields without a source: {missing}"
    link = data["link"]
    missing = sorted(_set_fields(link, nested=False) - set(link.get("sources", {})))
    assert not missing, f"link fields without a source: {missing}"
    assert "topology" in data.get("sources", {})
    hw = load_hardware(path)
    assert hw.name == path.stem and all(hw.chiplet_config(c).router for c in range(hw.topology.n_chiplets))
