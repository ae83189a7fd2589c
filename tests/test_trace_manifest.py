"""The trace manifest is checked by a typed model with the config machinery: every problem at once, each as
``manifest.json:LINE: dotted.path: message``; any wrong-typed field is a clean error, never a traceback."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from snapsim.cli import main
from snapsim.errors import ConfigError, ManifestError, TraceError
from snapsim.trace import TraceWriter, open_trace
from snapsim.trace.manifest import parse_manifest
from snapsim.trace.stats import report_encodings


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp("manifest") / "good.snaptrace"
    rng = np.random.default_rng(0)
    with TraceWriter(path, model="m", partitions=["die0", "die1"], timesteps=3, shard_samples=4,
                     metrics={"accuracy": 0.5}) as w:
        w.add_boundary("s", src="die0", dst=["die1"], kind="spike", features=[12])
        w.add_boundary("a", src="die1", dst=["die0"], kind="activation", features=[5], logical_dtype="I64")
        w.append("s", rng.random((3, 8, 12)) < 0.4)
        w.append("a", rng.integers(-9, 9, (8, 5)))
    return path


def _variant(good, tmp_path, mutate=None, text=None):
    path = tmp_path / "t.snaptrace"
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(good, path)
    if text is None:
        m = json.loads((good / "manifest.json").read_text())
        mutate(m)
        text = json.dumps(m, indent=2)
    (path / "manifest.json").write_text(text)
    return path


def _line(text: str, fragment: str, nth: int = 0) -> int:
    """1-based line of the ``nth`` occurrence of ``fragment``."""
    pos = -1
    for _ in range(nth + 1):
        pos = text.index(fragment, pos + 1)
    return text[:pos].count("\n") + 1


def test_every_problem_at_once_with_lines(good, tmp_path):
    def mutate(m):
        m["samples"] = "8"
        m["time"] = [3]
        m["boundaries"][0]["features"] = [True]
        m["boundaries"][1]["precision_bits"] = 2**70
        m["boundaries"][1]["stats"]["nnz"] = "x"
        m["shards"][0]["bytes"] = -1
        m["colour"] = "red"

    path = _variant(good, tmp_path, mutate)
    text = (path / "manifest.json").read_text()
    f = path / "manifest.json"
    with pytest.raises(ManifestError) as info:
        open_trace(path)
    q = '"'
    at = {k: _line(text, q + k + q) for k in ("time", "bytes", "colour")}
    at["samples"] = _line(text, '"samples": "8"')
    at["true"] = _line(text, "true")
    at["bits"] = _line(text, '"precision_bits"', 1)
    at["nnz"] = _line(text, '"nnz": "x"')
    assert [str(p) for p in info.value.problems] == [
        f"{f}:{at['time']}: time: input should be a mapping (a section of named fields); got a list",
        f"{f}:{at['samples']}: samples: input should be a valid integer; got '8'",
        f"{f}:{at['bytes']}: shards.0.bytes: input should be greater than or equal to 0; got -1",
        f"{f}:{at['true']}: boundaries.0.features.0: boundary 's': input should be a valid integer; got True",
        f"{f}:{at['bits']}: boundaries.1.precision_bits: boundary 'a': input should be "
        f"less than or equal to 64; got {2**70}",
        f"{f}:{at['nnz']}: boundaries.1.stats.nnz: boundary 'a': input should be a valid integer; got 'x'",
        f"{f}:{at['colour']}: colour: unknown key (not a field of this section; check the spelling)",
    ]
    assert isinstance(info.value, TraceError) and isinstance(info.value, ConfigError)


def test_rules_across_fields_are_all_reported(good, tmp_path):
    def mutate(m):
        m["partitions"].append({"id": "die0"})
        m["shards"][0]["file"] = "../x.safetensors"
        m["boundaries"][0]["dst"] = ["die9"]
        m["boundaries"][1]["logical_dtype"] = "C64"

    path = _variant(good, tmp_path, mutate)
    text = (path / "manifest.json").read_text()
    f = path / "manifest.json"
    with pytest.raises(ManifestError) as info:
        open_trace(path)
    msgs = [str(p) for p in info.value.problems]
    at = {k: _line(text, k) for k in ('"partitions"', "../x", "die9", "C64")}
    assert msgs[0] == f"{f}:{at[chr(34) + 'partitions' + chr(34)]}: partitions: ids must be unique; got ['die0', 'die1', 'die0']"
    assert msgs[1].startswith(f"{f}:{at['../x']}: shards.0.file: must be a plain .safetensors file name")
    assert msgs[2].startswith(f"{f}:{at['die9']}: boundaries.0.dst.0: boundary 's': unknown partition 'die9'")
    assert msgs[3].startswith(f"{f}:{at['C64']}: boundaries.1.logical_dtype: boundary 'a': unknown dtype 'C64'")
    assert len(msgs) == 4


def test_cli_prints_every_problem_and_exits_2(good, tmp_path, capsys):
    path = _variant(good, tmp_path, lambda m: m.update(samples=True, shard_samples="4"))
    assert main(["trace", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "samples: input should be a valid integer; got True" in err
    assert "shard_samples: input should be a valid integer; got '4'" in err
    assert "Traceback" not in err


def test_duplicate_key_nan_and_syntax_errors_name_their_line(good, tmp_path):
    text = (good / "manifest.json").read_text()
    f = tmp_path / "t.snaptrace" / "manifest.json"
    writer, spike_value, samples = _line(text, "writer"), _line(text, "spike_value"), _line(text, '"samples"')
    cases = [
        (text.replace('"writer"', '"model"'), f"{f}:{writer}: model: duplicate key"),
        (text.replace('"spike_value": 1.0', '"spike_value": NaN'),
         f"{f}:{spike_value}: not valid JSON: NaN is not a JSON number"),
        (text.replace('"container": "safetensors",', '"container": "safetensors"'),
         f"{f}:{samples}: not valid JSON (Expecting ',' delimiter"),
    ]
    for bad, expected in cases:
        path = _variant(good, tmp_path, text=bad)
        with pytest.raises(TraceError) as info:
            open_trace(path)
        assert str(info.value).startswith(expected), (str(info.value), expected)


def test_unknown_keys_of_a_newer_minor_version_are_ignored(good, tmp_path):
    def newer(m):
        m["version"] = "1.7"
        m["provenance"] = {"tool": "x"}
        m["boundaries"][0]["quant"] = None

    tr = open_trace(_variant(good, tmp_path, newer))
    assert tr.boundary("s").n_features == 12 and tr.manifest["provenance"] == {"tool": "x"}
    with pytest.raises(ManifestError, match="boundaries.0.quant: boundary 's': unknown key"):
        open_trace(_variant(good, tmp_path, lambda m: m["boundaries"][0].update(quant=None)))


def test_free_sections_keep_their_keys(good, tmp_path):
    def extra(m):
        m["model"]["structure"] = {"nir": "model.nir"}
        m["partitions"][0]["modules"] = ["fc1"]

    tr = open_trace(_variant(good, tmp_path, extra))
    assert tr.manifest["partitions"][0]["modules"] == ["fc1"]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


WRONG = ["x", True, 2**70, -1, 0.5, [], {}, None, [1, "a"], {"k": 1}]


def test_no_wrong_value_anywhere_gives_a_traceback(good, tmp_path):
    """Every field and section, replaced by each kind of wrong value: the manifest is refused with a
    ManifestError, or the trace opens, reads, validates and reports; nothing else escapes. (The check runs
    on the parsed data, without the line lookup that the tests above cover, to keep it quick.)"""
    m0 = json.loads((good / "manifest.json").read_text())
    trace = _variant(good, tmp_path, text=json.dumps(m0))
    file = str(trace / "manifest.json")
    refused = opened = 0
    for path in list(_paths(m0))[1:]:
        for value in WRONG:
            m = json.loads(json.dumps(m0))
            node = m
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
            try:
                parse_manifest(m, file)
            except ManifestError as exc:
                assert str(exc) and all(p.path and p.message for p in exc.problems), str(exc)
                refused += 1
                continue
            (trace / "manifest.json").write_text(json.dumps(m, indent=1))
            try:
                tr = open_trace(trace)
                tr.validate()
                for b in tr.boundaries:
                    tr.read(b.name)
                report_encodings(tr)
                opened += 1
            except TraceError as exc:  # e.g. a changed sha256 or size: the shards disagree
                assert str(exc)
                refused += 1
    assert refused > 10 * opened  # almost every change is refused; the rest are harmless (metrics, writer, ...)
