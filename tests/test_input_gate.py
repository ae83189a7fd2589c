"""The input gate (snapsim/config/yamlio.py): every YAML and JSON file is decoded, bounded and parsed in one
place, and every refusal is one line with file, line and field (issue 14: hostile configs).

Cases that used to hang run in a forked child with a deadline (tests/fuzz/harness.py), so a regression
fails instead of stalling the suite."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from snapsim.cli import main
import snapsim.config.yamlio as yamlio
from snapsim.config.yamlio import load_yaml, load_yaml_text
from snapsim.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
from harness import Case, run_cases  # noqa: E402

LINK = (ROOT / "hwconfigs" / "link" / "ucie-advanced-32g.yaml").read_text()
WORKLOAD = (ROOT / "workloads" / "lm_32x4096.yaml").read_text()


def refusal(tmp_path, capsys, data: bytes | str, name: str = "bad.yaml") -> str:
    f = tmp_path / name
    f.write_bytes(data.encode() if isinstance(data, str) else data)
    assert main(["validate", str(f)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[0]


# ------------------------------------------------------------------------------------------------ bytes


def test_latin1_comment_names_line_and_column(tmp_path, capsys):
    line = refusal(tmp_path, capsys, ("kind: link\n# caf\xe9 au lait\n" + LINK.split("\n", 1)[1]).encode("latin-1"))
    assert line == f"{tmp_path / 'bad.yaml'}:2: not UTF-8 text (byte 0xe9) at column 6; save the file as UTF-8 text"


def test_utf16_is_named(tmp_path, capsys):
    line = refusal(tmp_path, capsys, LINK.encode("utf-16"))
    assert line.startswith(f"{tmp_path / 'bad.yaml'}:1: UTF-16 text (byte-order mark ff fe)")


def test_binary_data_is_refused_with_its_line(tmp_path, capsys):
    line = refusal(tmp_path, capsys, b"kind: link\nname: x\n\x00\x01\x02binary")
    assert line == f"{tmp_path / 'bad.yaml'}:3: binary data (a NUL byte) at column 1; snapsim reads UTF-8 text"


def test_utf8_byte_order_mark_is_accepted():
    data, origins = load_yaml_text("\ufeffkind: link\nname: x\n", "f.yaml")
    assert data == {"kind": "link", "name": "x"} and origins["name"] == ("f.yaml", 2)


# ----------------------------------------------------------------------------------------- structures


def test_merge_keys_are_refused(tmp_path, capsys):
    text = "base: &b {lanes: 16}\nlink:\n  <<: *b\n  rate_gtps: 8\n"
    line = refusal(tmp_path, capsys, text)
    assert line.startswith(f"{tmp_path / 'bad.yaml'}:3: link: merge key <<: merge keys are not supported")


def test_aliases_are_refused(tmp_path, capsys):
    line = refusal(tmp_path, capsys, "a: &x 1\nkind: *x\n")
    assert line.startswith(f"{tmp_path / 'bad.yaml'}:2: kind: alias *x: aliases are not supported")


def test_python_tags_are_refused_not_constructed(tmp_path, capsys):
    line = refusal(tmp_path, capsys, LINK.replace("lanes: 64", "lanes: !!python/object/apply:os.system ['echo pwned']"))
    assert "tag 'tag:yaml.org,2002:python/object/apply:os.system': tags are not supported" in line
    assert ":9: lanes:" in line


def test_kind_given_as_a_list(tmp_path, capsys):
    line = refusal(tmp_path, capsys, "kind: [link]\nname: x\n")
    assert line == f"{tmp_path / 'bad.yaml'}:1: kind: must be one of hardware, workload, link, chiplet, sweep; got ['link']"


def test_nesting_1000_deep_yaml_and_json(tmp_path, capsys):
    line = refusal(tmp_path, capsys, "kind: link\nx: " + "[" * 1000 + "]" * 1000 + "\n")
    assert line.startswith(f"{tmp_path / 'bad.yaml'}:2: x.0.0.0") and f"nested more than {yamlio.MAX_DEPTH} levels" in line
    with pytest.raises(ConfigError, match=f"m.json:3: JSON nested more than {yamlio.MAX_DEPTH} levels deep"):
        yamlio.load_json_text('{"a":\n\n' + "[" * 100_000 + "]" * 100_000 + "}", "m.json")


def test_second_document_and_complex_keys(tmp_path, capsys):
    assert "a second YAML document" in refusal(tmp_path, capsys, "kind: link\n---\nkind: link\n")
    assert "a mapping key must be a plain value" in refusal(tmp_path, capsys, "kind: link\n? [a, b]\n: 1\n")


# ------------------------------------------------------------------------------------- bounded and fast


def _timed(tmp_path, name: str, text: str, within_s: float):
    f = tmp_path / name
    f.write_text(text)
    [o] = run_cases([Case(name, ["validate", str(f)], files=(str(f),), need_line=False, timeout_s=60)],
                    jobs=1, workdir=tmp_path / "w")
    assert o.kind == "refused", o.short()
    assert o.elapsed_s < within_s, o.short()
    return o.stderr


def test_billion_laughs_is_refused_at_the_first_alias(tmp_path):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    err = _timed(tmp_path, "bomb.yaml", bomb + "kind: link\n", 10)
    assert ":2: b: alias *a: aliases are not supported" in err


def test_a_5_mb_comment_and_200k_keys_are_refused_by_size_at_once(tmp_path):
    err = _timed(tmp_path, "comment.yaml", "#" + "x" * 5_000_000 + "\n" + LINK, 10)
    assert f"file is {5_000_000 + len(LINK) + 2:,} bytes; snapsim reads at most {yamlio.MAX_BYTES:,}" in err
    err = _timed(tmp_path, "keys.yaml", "kind: link\nsources:\n" + "".join(f"  k{i}: v\n" for i in range(200_000)), 10)
    assert "snapsim reads at most" in err


def test_loading_is_linear_in_the_size_of_the_file():
    """Eight times the text takes about eight times as long (the old round-trip reader once took 0.04 s for
    a 100 KB comment and 15 s for an 800 KB one): best of two to damp a loaded machine, bounded loosely."""
    def best(text: str) -> float:
        times = []
        for i in range(2):
            t0 = time.perf_counter()
            load_yaml_text(f"{text}#{i}\n", "k.yaml")  # a new text each time: parsed texts are kept
            times.append(time.perf_counter() - t0)
        return min(times)

    for make in (lambda n: "#" + "x" * n + "\nkind: link\n",
                 lambda n: "kind: link\nsources:\n" + "".join(f"  k{i}: v\n" for i in range(n // 10))):
        small, large = best(make(24_000)), best(make(192_000))
        assert large < 4 * 8 * max(small, 1e-3), (small, large)


def test_shipped_files_read_the_same(root):
    """Every shipped YAML file reads to plain data with a line for every key (spot checks)."""
    data, origins = load_yaml(root / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
    assert data["topology"] == {"kind": "mesh2d", "rows": 2, "cols": 2} and origins["topology.rows"][1] == 7
    data, origins = load_yaml(root / "workloads" / "lm_32x4096.yaml")
    assert data["stages"][0]["repeat"] == 32 and origins["stages.0"][1] == 12 and origins["stream.batch"][1] == 21


EDGE_TEXTS = [
    "a: 1\nb: [x, 'y', \"z\", 0x1F, 0o17, 1_000, .inf, -.Inf, .nan, ~, null, true, False, 2024-01-01]\n",
    "a: |\n  literal\n  text\nb: >\n  folded\n  text\nc: ''\nd:\n",
    "x: &anchor 3\ny: 4\n",  # an anchor alone is harmless
    "x: &a 3\ny: *a\n", "<<: {a: 1}\n", "x: !!python/object:os.system 1\n", "x: !custom 1\n",
    "a: 1\na: 2\n", "? [a, b]\n: 1\n", "a: 1\n---\nb: 2\n", "a: [1, 2\n", "a: b: c\n", "\ta: 1\n",
    "a: \"\\x00\"\n", "{a: 1, b: {c: [1, {d: 2}]}}\n", "- 1\n- - 2\n  - 3\n", "", "# only a comment\n",
    "a: 1\x07\n", "a: 1\n\x85b: 2\n", "'quoted key': 1\n1: int key\n",
]


@pytest.mark.parametrize("text", EDGE_TEXTS, ids=range(len(EDGE_TEXTS)))
def test_the_c_and_pure_parsers_read_alike(text):
    """The gate reads with libyaml when ruamel.yaml has its C extension and falls back to the pure parser for
    anything the C parser refuses: where the C parser accepts a text, data and lines must be the pure
    parser's (so results never depend on which is installed)."""
    from snapsim.config import yamlio

    def read(pure):
        try:
            return yamlio._parse_events(text, "t.yaml", pure=pure)
        except Exception as exc:  # noqa: BLE001
            return type(exc).__name__

    pure = read(True)
    if yamlio._C_PARSER and yamlio.c_parser_may_read(text):
        c = read(False)  # where the C parser refuses, the gate falls back to the pure one
        assert not isinstance(c, tuple) or repr(c) == repr(pure), (c, pure)  # repr: nan == nan
    assert repr(yamlio.load_yaml_text(text, "t.yaml") if isinstance(pure, tuple) else pure) == repr(pure)


def test_every_shipped_yaml_file_reads_alike_with_both_parsers(root):
    from snapsim.config import yamlio

    files = sorted(root.glob("hwconfigs/**/*.yaml")) + sorted(root.glob("workloads/**/*.yaml"))
    assert len(files) > 50
    for f in files:
        text = f.read_text()
        pure = yamlio._parse_events(text, str(f), pure=True)
        if yamlio._C_PARSER:
            assert repr(yamlio._parse_events(text, str(f), pure=False)) == repr(pure), f
