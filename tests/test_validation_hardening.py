"""Values that were wrongly accepted, or that validated and then failed at run (issue 14): refused at
validation, one line each with file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from snapsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = (ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml").read_text()
LM = (ROOT / "workloads" / "lm_32x4096.yaml").read_text()


def validate(tmp_path, capsys, text: str, name: str = "f.yaml") -> list[str]:
    f = tmp_path / name
    f.write_text(text)
    rc = main(["validate", str(f)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return [] if rc == 0 else [ln for ln in err.splitlines() if not ln.startswith("snapsim validate:")]


@pytest.mark.parametrize("between,message", [
    ("[0, 3]", "links.0.between: chiplets 0 and 3 are not neighbours in the mesh2d topology"),
    ("[1, 1]", "links.0.between: must join two different chiplets of the package (0..3); got [1, 1]"),
    ("[0, 99]", "links.0.between: must join two different chiplets of the package (0..3); got [0, 99]"),
])
def test_links_overrides_on_edges_that_do_not_exist(tmp_path, capsys, between, message):
    """Silently ignored before: the override named no edge of the topology."""
    lines = validate(tmp_path, capsys, PACKAGE + f"links:\n  - {{between: {between}, link: ucie-standard-16g}}\n")
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path / 'f.yaml'}:11: {message}"), lines


def test_links_override_given_twice(tmp_path, capsys):
    lines = validate(tmp_path, capsys, PACKAGE + "links:\n  - {between: [0, 1], link: ucie-standard-16g}\n"
                                                 "  - {between: [1, 0], link: aib2}\n")
    assert lines == [f"{tmp_path / 'f.yaml'}:12: links.1.between: edge [1, 0] is already given by links.0 (each edge once)"]


@pytest.mark.parametrize("encoding,message", [
    ("{kind: aer, address_bits: 4}", "boundary.encoding.address_bits: 4 bits cannot address 4096 neurons (needs 12) at boundary 0"),
    ("{kind: csr, index_bits: 2}", "boundary.encoding.index_bits: 2 bits cannot index 4096 neurons (needs 12) at boundary 0"),
    ("{kind: csr, count_bits: 3}", "boundary.encoding.count_bits: 3 bits cannot count up to 4096 spikes a frame (needs 13) at boundary 0"),
])
def test_boundary_encodings_too_narrow_for_their_boundary(tmp_path, capsys, encoding, message):
    """Accepted before (addresses wrapped silently); now refused with the encoding's line."""
    lines = validate(tmp_path, capsys, LM.replace("encoding: aer ", f"encoding: {encoding} "))
    assert lines == [f"{tmp_path / 'f.yaml'}:19: {message}"]


def test_rle_with_64_bit_tokens_sizes_frames_instead_of_overflowing():
    """count_bits 64 validated and then failed at run (OverflowError: the escape token 2^64 - 1)."""
    from snapsim.encoding import Rle

    frames = np.zeros((2, 100), dtype=bool)
    frames[0, [3, 50]] = True
    assert Rle(count_bits=64).frame_bits(frames).tolist() == [128, 0]
    assert Rle(count_bits=62).frame_bits(frames).tolist() == [124, 0]


SWEEP = """kind: sweep
name: s
hardware: {hw}
workload: {wl}
combine: random
samples: 3
seed: {seed}
axes:
{axes}
"""


@pytest.mark.parametrize("seed,axes,message", [
    ("9223372036854775808", "  link.lanes: [16, 32]", "7: seed: must fit a 64-bit integer"),
    ("0", "  seed: [1, 9223372036854775808]", "9: axes.seed.1: axis value 9223372036854775808 does not fit a 64-bit integer"),
    ("0", "  link.lanes: [16, 18446744073709551616]", "9: axes.link.lanes.1: axis value 18446744073709551616 does not fit"),
    ("0", "  link.rate_gtps: {range: [1, .inf], scale: log}", "9: axes.link.rate_gtps.range.1: input should be a finite number; got inf"),
    ("0", "  link.lanes: {range: [1, 1e30], integer: true}", "9: axes.link.lanes.range: an integer range must fit 64-bit integers"),
    ("0", "  link.rate_gtps: [8, .nan]", "9: axes.link.rate_gtps.1: axis value nan is not a finite number"),
])
def test_sweep_values_a_results_column_cannot_hold(tmp_path, capsys, seed, axes, message):
    """Seeds and axis values >= 2^63 and ranges to .inf validated, then failed with tracebacks."""
    text = SWEEP.format(hw=ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml", wl=ROOT / "workloads" / "lm_32x4096.yaml",
                        seed=seed, axes=axes)
    lines = validate(tmp_path, capsys, text, "s.yaml")
    assert any(ln.startswith(f"{tmp_path / 's.yaml'}:{message}") for ln in lines), lines


@pytest.mark.parametrize("line,value,message", [
    ("rate_gtps: 32", "rate_gtps: \"32\"", "rate_gtps: input should be a valid number; got '32'"),
    ("lanes: 64", "lanes: true", "lanes: input should be a valid integer; got True"),
])
def test_strings_and_booleans_are_not_numbers(tmp_path, capsys, line, value, message):
    link = (ROOT / "hwconfigs" / "link" / "ucie-advanced-32g.yaml").read_text()
    assert line in link
    lines = validate(tmp_path, capsys, link.replace(line, value))
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith(f"{tmp_path / 'f.yaml'}:")


def test_preset_names_the_file_system_cannot_hold(tmp_path, capsys):
    lines = validate(tmp_path, capsys, PACKAGE.replace("link: ucie-advanced-32g", 'link: "bad\\0name.yaml"'))
    assert len(lines) == 1 and "unknown link preset" in lines[0]
    lines = validate(tmp_path, capsys, PACKAGE.replace("link: ucie-advanced-32g", f"link: {'x' * 5000}.yaml"))
    assert len(lines) == 1 and "unknown link preset" in lines[0]


def test_repeated_stage_names_point_at_the_stage(tmp_path, capsys):
    text = LM.replace("  - {name: lm_head,", "  - {name: block3, macs: 1, output_shape: [4096]}\n  - {name: lm_head,")
    lines = validate(tmp_path, capsys, text)
    assert lines == [f"{tmp_path / 'f.yaml'}:13: stages.1.name: stage name 'block3' (after repeat expansion) is "
                     "already used by stages.0; names must be unique"]


def test_keys_with_control_characters_stay_one_line(tmp_path, capsys):
    lines = validate(tmp_path, capsys, PACKAGE + '"bad\\nkey\\u0007": 1\n')
    assert len(lines) == 1 and "bad\\nkey\\x07: unknown key" in lines[0]
