"""``snapsim trace`` sub-commands and the array/event importers behind ``trace import``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from snapsim.cli import main
from snapsim.trace import TraceWriter, open_trace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def trace_dir(tmp_path):
    rng = np.random.default_rng(5)
    spikes = rng.random((6, 9, 100)) < 0.07
    acts = rng.standard_normal((9, 8)).astype(np.float16)
    acts[acts < 0] = 0
    with TraceWriter(tmp_path / "t.snaptrace", model="digits-mlp", framework="snntorch", framework_version="1.0.0",
                     partitions=["die0", "die1"], timesteps=6, shard_samples=4, metrics={"accuracy": 0.93}) as w:
        w.add_boundary("fc1->fc2", src="die0", dst=["die1"], kind="spike", features=[100])
        w.add_boundary("fc2->out", src="die1", dst=["die0"], kind="activation", features=[8], logical_dtype="F16")
        w.append("fc1->fc2", spikes)
        w.append("fc2->out", acts)
    return tmp_path / "t.snaptrace", spikes, acts


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok_and_errors(trace_dir, capsys, tmp_path):
    path = trace_dir[0]
    code, out, _ = _run(capsys, "trace", "validate", str(path))
    assert code == 0 and "ok: 2 boundaries, 9 samples, 3 safetensors shards" in out
    code, _, err = _run(capsys, "trace", "validate", str(tmp_path / "nope"))
    assert code == 2 and err.startswith("snapsim trace: error: ") and "no such trace directory" in err
    shard = path / "tensors-00002.safetensors"
    shard.write_bytes(shard.read_bytes()[:-3])
    code, _, err = _run(capsys, "trace", "validate", str(path))
    assert code == 2 and str(shard) in err and "truncated" in err and "Traceback" not in err


def test_stats_json_is_exact(trace_dir, capsys):
    path, spikes, acts = trace_dir
    code, out, _ = _run(capsys, "trace", "stats", str(path), "--json", "--precision-bits", "8")
    assert code == 0
    report = json.loads(out)
    assert report["metrics"] == {"accuracy": 0.93} and report["samples"] == 9
    spk, act = report["boundaries"]
    nnz = int(spikes.sum())
    assert spk["firing_rate"] == pytest.approx(spikes.mean())
    bits = spk["bits_per_sample"]
    assert bits["bitmap"] == pytest.approx(600)  # 100 neurons x 6 timesteps
    assert bits["aer"] == pytest.approx(nnz * 7 / 9)  # ceil(log2 100) = 7
    assert bits["csr"] == pytest.approx((6 * 9 * 7 + nnz * 7) / 9)
    assert bits["rate(window=6)"] == pytest.approx(100 * 3)
    assert bits["dense activation (8b, 1 frame)"] == 800
    assert any(k.startswith("rle(count_bits=") for k in bits)
    assert spk["breakeven_bitmap_vs_aer"] == pytest.approx(1 / 7)
    assert spk["breakeven_vs_dense"]["aer"] == pytest.approx(8 / (6 * 7))
    assert spk["breakeven_vs_dense"]["bitmap"] is None
    assert act["zero_fraction"] == pytest.approx((acts == 0).mean())
    assert act["bits_per_sample"]["zvc(8b)"] == pytest.approx(8 + 8 * np.count_nonzero(acts) / 9)


def test_stats_table(trace_dir, capsys):
    code, out, _ = _run(capsys, "trace", "stats", str(trace_dir[0]))
    assert code == 0
    assert "digits-mlp (snntorch 1.0.0), 9 samples, T=6" in out and "accuracy=0.93" in out
    assert "boundary fc1->fc2: spike die0 -> die1" in out
    assert "break-even bitmap vs aer: p=0.1429" in out


def test_convert_and_back(trace_dir, capsys, tmp_path):
    path = trace_dir[0]
    code, _, _ = _run(capsys, "trace", "convert", str(path), str(tmp_path / "n"), "--to", "npz")
    assert code == 0 and open_trace(tmp_path / "n").container == "npz"
    code, _, err = _run(capsys, "trace", "convert", str(path), str(tmp_path / "n"), "--to", "npz")
    assert code == 2 and "not empty" in err
    code, _, _ = _run(capsys, "trace", "convert", str(tmp_path / "n"), str(tmp_path / "s"), "--to", "safetensors")
    assert code == 0
    for f in path.iterdir():
        assert f.read_bytes() == (tmp_path / "s" / f.name).read_bytes()


def test_import_npy_batch_first(capsys, tmp_path):
    rng = np.random.default_rng(1)
    spikes = (rng.random((7, 3, 2, 5)) < 0.3).astype(np.uint8)  # [B, T, C, N]
    np.save(tmp_path / "s.npy", spikes)
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "imp"), "--boundary", "enc->dec",
                        "--src", "p0", "--dst", "p1,p2", "--npy", str(tmp_path / "s.npy"), "--layout", "B,T,C,N",
                        "--shard-samples", "3")
    assert code == 0, err
    tr = open_trace(tmp_path / "imp")
    b = tr.boundary("enc->dec")
    assert b.layout == ("T", "B", "C", "N") and b.features == (2, 5) and b.dst == ("p1", "p2")
    assert (tr.read("enc->dec") == spikes.transpose(1, 0, 2, 3).astype(bool)).all()
    assert len(tr.shards) == 3


def test_import_npy_activation_and_errors(capsys, tmp_path):
    acts = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "a.npy", acts)
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "a"), "--boundary", "x", "--src", "p0",
                        "--dst", "p1", "--npy", str(tmp_path / "a.npy"), "--layout", "B,N")
    assert code == 0, err
    assert open_trace(tmp_path / "a").boundary("x").logical_dtype == "F32"
    assert (open_trace(tmp_path / "a").read("x") == acts).all()
    base = ["trace", "import", "--out", str(tmp_path / "b"), "--boundary", "x", "--src", "p0", "--dst", "p1"]
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "a.npy"))
    assert code == 2 and "--npy needs --layout" in err
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "a.npy"), "--layout", "T,B")
    assert code == 2 and "feature dimension" in err
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "a.npy"), "--layout", "T,B,N")
    assert code == 2 and "a.npy" in err and "2 dimensions" in err
    np.save(tmp_path / "f.npy", np.full((2, 2, 3), 0.5, dtype=np.float32))
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "f.npy"), "--layout", "T,B,N")
    assert code == 2 and "f.npy" in err and "boundary 'x'" in err and "non-binary" in err
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "o.npy"), "--layout", "B,N")
    assert code == 2 and "o.npy" in err and "pickle" in err
    code, _, err = _run(capsys, *base, "--npy", str(tmp_path / "missing.npy"), "--layout", "B,N")
    assert code == 2 and "no such file" in err


def test_import_events_csv(capsys, tmp_path):
    csv = tmp_path / "ev.csv"
    csv.write_text("neuron,t,b\n3,0,0\n0,1,0\n9,1,2\n")
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "e"), "--boundary", "hw", "--src", "a",
                        "--dst", "b", "--events", str(csv), "--neurons", "10", "--timesteps", "2", "--samples", "3")
    assert code == 0, err
    spikes = open_trace(tmp_path / "e").read("hw")
    expected = np.zeros((2, 3, 10), dtype=bool)
    expected[0, 0, 3] = expected[1, 0, 0] = expected[1, 2, 9] = True
    assert (spikes == expected).all()


def test_import_events_npy_matches_csv(capsys, tmp_path):
    events = np.array([[0, 0, 3], [1, 0, 0], [1, 2, 9]], dtype=np.int32)
    np.save(tmp_path / "ev.npy", events)
    (tmp_path / "ev.csv").write_text("0,0,3\n1,0,0\n1,2,9\n")  # no header: t,b,neuron
    for src in ("ev.npy", "ev.csv"):
        code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / src.replace(".", "_")),
                            "--boundary", "hw", "--src", "a", "--dst", "b", "--events", str(tmp_path / src),
                            "--neurons", "10", "--timesteps", "2", "--samples", "3", "--container", "npz")
        assert code == 0, err
    a, b = open_trace(tmp_path / "ev_npy"), open_trace(tmp_path / "ev_csv")
    assert (a.read("hw") == b.read("hw")).all() and a.boundary("hw").stats["nnz"] == 3


@pytest.mark.parametrize(
    "rows, fragment",
    [
        ("t,b,neuron\n0,0,3\n2,0,1\n", "ev.csv:3: t=2 outside [0, 2) set by timesteps"),
        ("t,b,neuron\n0,0,10\n", "ev.csv:2: neuron=10 outside [0, 10)"),
        ("t,b,neuron\n0,-1,1\n", "ev.csv:2: b=-1 outside [0, 3)"),
        ("t,b,neuron\n0,0,1\n1,1,1\n0,0,1\n", "ev.csv:4: duplicate spike (t=0, b=0, neuron=1)"),
        ("t,b,neuron\n0,0,x\n", "cannot parse integer events"),
        ("time,sample\n0,0\n", "header must name the columns t, b, neuron"),
    ],
)
def test_import_events_errors(capsys, tmp_path, rows, fragment):
    (tmp_path / "ev.csv").write_text(rows)
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "e"), "--boundary", "hw", "--src", "a",
                        "--dst", "b", "--events", str(tmp_path / "ev.csv"), "--neurons", "10", "--timesteps", "2",
                        "--samples", "3")
    assert code == 2 and fragment in err, err
    assert not (tmp_path / "e" / "manifest.json").exists()


def test_import_events_needs_sizes(capsys, tmp_path):
    (tmp_path / "ev.csv").write_text("0,0,1\n")
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "e"), "--boundary", "hw", "--src", "a",
                        "--dst", "b", "--events", str(tmp_path / "ev.csv"), "--neurons", "10")
    assert code == 2 and "--events needs --timesteps, --samples" in err


def test_module_entry_point_exit_code(tmp_path):
    """Through ``python -m snapsim``: exit 2 and one line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "snapsim", "trace", "stats", str(tmp_path / "nothing")],
                          capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.startswith("snapsim trace: error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------------------- issue 13 regressions


def test_readme_shell_commands_have_no_unquoted_redirections():
    """Defect 7: every `snapsim ...` line of the README's shell blocks pastes into a shell as one command
    (an unquoted `a->b` redirects to a file named `b`)."""
    import re
    import shlex

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
    lines = [ln for b in blocks for ln in b.splitlines() if ln.strip().startswith("snapsim ")]
    assert lines
    for line in lines:
        command = line.split("  #")[0].rstrip("\\ ")
        lex = shlex.shlex(command, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        tokens = list(lex)
        # `fc1->fc2` unquoted splits into `fc1-`, `>`, `fc2`: the shell redirects instead of passing a name
        split = [a for a, b in zip(tokens, tokens[1:]) if b in (">", ">>") and a.endswith("-")]
        assert not split, line


def test_import_text_file_named_npy_is_named_for_what_it_is(capsys, tmp_path):
    """Defect 9: a text file given as .npy is 'not a .npy file', not 'would need pickle'."""
    (tmp_path / "a.npy").write_text("0,1,0\n1,0,0\n")
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "t"), "--boundary", "x", "--src", "p0",
                        "--dst", "p1", "--npy", str(tmp_path / "a.npy"), "--layout", "B,N")
    assert code == 2 and "a.npy: not a .npy file" in err and "pickle" not in err


def test_import_zero_samples_leaves_no_directory(capsys, tmp_path):
    """Defect 9: an array with B=0 is refused and leaves no empty output directory."""
    np.save(tmp_path / "z.npy", np.zeros((0, 5), dtype=np.float32))
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "t"), "--boundary", "x", "--src", "p0",
                        "--dst", "p1", "--npy", str(tmp_path / "z.npy"), "--layout", "B,N")
    assert code == 2 and "no samples" in err
    assert not (tmp_path / "t").exists()
    # the writer itself cleans up a trace that received no samples
    with pytest.raises(Exception, match="no samples"):
        with TraceWriter(tmp_path / "w", model="m", partitions=["a", "b"], timesteps=1) as w:
            w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2])
    assert not (tmp_path / "w").exists()


def test_cli_overwrite_message_names_the_flag(trace_dir, capsys, tmp_path):
    """Defect 9: the CLI says --overwrite, not overwrite=True."""
    path = trace_dir[0]
    assert _run(capsys, "trace", "convert", str(path), str(tmp_path / "n"), "--to", "npz")[0] == 0
    code, _, err = _run(capsys, "trace", "convert", str(path), str(tmp_path / "n"), "--to", "npz")
    assert code == 2 and "--overwrite" in err and "overwrite=True" not in err
    np.save(tmp_path / "a.npy", np.ones((2, 3), dtype=np.float32))
    args = ["trace", "import", "--out", str(tmp_path / "n"), "--boundary", "x", "--src", "p0", "--dst", "p1",
            "--npy", str(tmp_path / "a.npy"), "--layout", "B,N"]
    code, _, err = _run(capsys, *args)
    assert code == 2 and "--overwrite" in err and "overwrite=True" not in err
    assert _run(capsys, *args, "--overwrite")[0] == 0


def test_import_spec_writes_several_boundaries(capsys, tmp_path):
    """Defect 6: one `trace import` writes a multi-boundary trace (arrays in any layout and an event table)."""
    rng = np.random.default_rng(3)
    s01 = rng.random((7, 4, 6)) < 0.3                      # [B, T, N]
    a01 = rng.standard_normal((7, 6)).astype(np.float16)   # the dense view of the same cut
    np.save(tmp_path / "s01.npy", s01)
    np.save(tmp_path / "a01.npy", a01)
    (tmp_path / "ev.csv").write_text("t,b,neuron\n0,0,3\n3,6,1\n")
    (tmp_path / "spec.yaml").write_text(
        "kind: trace-import\nmodel: lab-net\nshard_samples: 3\n"
        "partitions: [die0, die1, die2]\n"
        "boundaries:\n"
        "  - {name: 'c0', src: die0, dst: die1, npy: s01.npy, layout: 'B,T,N'}\n"
        "  - {name: 'c0:dense', src: die0, dst: [die1], npy: a01.npy, layout: [B, N]}\n"
        "  - {name: 'c1', src: die1, dst: die2, events: ev.csv, neurons: 5, timesteps: 4, samples: 7}\n")
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "t"), "--spec", str(tmp_path / "spec.yaml"))
    assert code == 0, err
    tr = open_trace(tmp_path / "t")
    tr.validate()
    assert [b.name for b in tr.boundaries] == ["c0", "c0:dense", "c1"] and tr.partitions == ["die0", "die1", "die2"]
    assert len(tr.shards) == 3 and tr.manifest["model"]["name"] == "lab-net"
    assert (tr.read("c0") == s01.transpose(1, 0, 2)).all()
    assert (tr.read("c0:dense") == a01).all() and tr.boundary("c0:dense").logical_dtype == "F16"
    ev = tr.read("c1")
    assert ev.sum() == 2 and ev[0, 0, 3] and ev[3, 6, 1]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("boundaries: []\n", "spec.yaml:1: boundaries:"),
        ("boundaries:\n  - {name: a, src: p, dst: q, npy: x.npy}\n", "spec.yaml:2: boundaries.0.layout: "),
        ("boundaries:\n  - {name: a, src: p, dst: q, events: e.csv, neurons: 0, timesteps: 1, samples: 1}\n",
         "spec.yaml:2: boundaries.0.neurons:"),
        ("boundaries:\n  - {name: a, src: p, dst: q, npy: missing.npy, layout: 'B,N'}\n", "missing.npy: no such file"),
    ],
)
def test_import_spec_errors(capsys, tmp_path, body, fragment):
    (tmp_path / "spec.yaml").write_text(body)
    code, _, err = _run(capsys, "trace", "import", "--out", str(tmp_path / "t"), "--spec", str(tmp_path / "spec.yaml"))
    assert code == 2 and fragment in err, err
    assert not (tmp_path / "t").exists()


def test_stats_are_computed_from_the_data(trace_dir, capsys):
    """Defect 3 (stats part): a manifest with stale statistics does not show its firing rate beside bits
    computed from the data; the data's rate is shown and the disagreement is reported."""
    path, spikes, _ = trace_dir
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["boundaries"][0]["stats"]["firing_rate"] = 0.5
    manifest["boundaries"][0]["stats"]["nnz"] += 7
    (path / "manifest.json").write_text(json.dumps(manifest))
    code, out, _ = _run(capsys, "trace", "stats", str(path), "--json")
    assert code == 0
    spk = json.loads(out)["boundaries"][0]
    assert spk["firing_rate"] == pytest.approx(spikes.mean())
    assert spk["nnz"] == int(spikes.sum()) and spk["manifest_stats"]["nnz"] == int(spikes.sum()) + 7
    code, out, _ = _run(capsys, "trace", "stats", str(path))
    assert f"firing rate {spikes.mean():.4f}" in out and "0.5000" not in out and "warning: the manifest records" in out


def test_stats_reference_is_the_recorded_precision(tmp_path, capsys):
    """Defect 9: `trace stats` compares with the recorded dtype (F32: 32 bits), not a fixed 16-bit dense."""
    rng = np.random.default_rng(0)
    with TraceWriter(tmp_path / "t", model="m", partitions=["d0", "d1"], timesteps=4) as w:
        w.add_boundary("c", src="d0", dst=["d1"], kind="spike", features=[10])
        w.add_boundary("c:dense", src="d0", dst=["d1"], kind="activation", features=[10], logical_dtype="F32")
        w.append("c", rng.random((4, 3, 10)) < 0.2)
        w.append("c:dense", rng.standard_normal((3, 10)).astype(np.float32))
    code, out, _ = _run(capsys, "trace", "stats", str(tmp_path / "t"), "--json")
    spk, act = json.loads(out)["boundaries"]
    assert act["reference_precision_bits"] == 32 and "dense(32b)" in act["bits_per_sample"]
    assert spk["reference_precision_bits"] == 32 and spk["bits_per_sample"]["dense activation (32b, 1 frame)"] == 320
    code, out, _ = _run(capsys, "trace", "stats", str(tmp_path / "t"), "--json", "--precision-bits", "8")
    assert json.loads(out)["boundaries"][0]["reference_precision_bits"] == 8


def test_stats_flits_per_sample_use_the_framing_rule(trace_dir, capsys):
    """With a flit payload, stats give the flits each encoding takes (the link's framing rule), and the
    spike encodings packed over all T steps, where sparse frames share a flit."""
    path, spikes, _ = trace_dir
    code, out, _ = _run(capsys, "trace", "stats", str(path), "--json", "--flit-payload-bytes", "62")
    assert code == 0
    flits = json.loads(out)["boundaries"][0]["flits_per_sample"]
    assert flits["aer"] == 6 and flits["bitmap"] == 6  # one 100-neuron frame per flit, whatever its size
    assert flits["bitmap, pack=6"] == 2  # 600 bits = 75 bytes
    per_sample = spikes.sum(axis=(0, 2)) * 7 + 6 * 7  # 7-bit addresses and a 7-bit count per frame
    assert flits["aer, pack=6"] == pytest.approx(np.mean(-(-(-(-per_sample // 8)) // 62)))
