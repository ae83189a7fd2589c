"""Mutated configs: Hypothesis strategies over the shipped hardware, workload and sweep files.

Two kinds of mutation, drawn by Hypothesis:

* **structural** (:func:`structural`): the file is read, one dotted path (a leaf, a section, a list item
  or a new key) is replaced by a hostile value (huge or negative numbers, 2^63 and 2^64, 1e308, 1e-300,
  .inf and .nan, strings where numbers go and numbers where strings go, booleans, nulls, lists, mappings,
  deep nesting), deleted, or joined by an unknown key; the result is written back as YAML;
* **textual** (:func:`textual`): the bytes are damaged the way files are in the wild or by an attacker:
  other encodings (latin-1, UTF-16, UTF-32, binary, a NUL byte), truncation, duplicated or deleted lines,
  tabs, aliases and alias bombs, merge keys, ``!!python`` tags, a second document, 1000-deep nesting,
  control characters, a file over the size limit, very many keys.

Each mutated file is validated; one that validates (hardware or workload) is also run against a small
shipped partner with tight estimate limits, so values that validate but would overflow at run are caught.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from harness import get_at, paths_in, set_at

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "snapsim" / "data"

HOSTILE_NUMBERS = [
    0, -1, 1, 2, 3, 7, 2**31, 2**53 + 1, 2**62, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400,
    0.0, -0.0, 0.5, -1e-9, 1e-300, 5e-324, 1e-9, 1e12, 1e15, 1e308, -1e308, 1.7976931348623157e308,
    float("inf"), float("-inf"), float("nan"),
]
HOSTILE_TEXT = ["", " ", "16", "1e3", "true", "null", "~", "x" * 300, "\u00e9\u00e8", "a\tb", "../../etc/passwd",
                "/dev/zero", "nul\u0000byte", "${HOME}", "%s%s%s", "<<", "*", "&a", "!!python/object:os.system"]


def corpus() -> list[Path]:
    """The shipped files the mutations start from."""
    files = sorted((DATA / "hwconfigs").rglob("*.yaml"))
    files += sorted((DATA / "workloads").glob("*.yaml"))
    files += sorted((DATA / "workloads" / "zoo").glob("*_p2.yaml"))[:4]
    files += sorted((DATA / "workloads" / "sweeps").glob("*.yaml"))
    return files


@dataclass
class Mutant:
    source: Path
    how: str
    data: bytes
    kind: str  # hardware, workload, link, chiplet, sweep (of the source)

    @property
    def name(self) -> str:
        return f"{self.source.parent.name}/{self.source.name}: {self.how}"


def source_text(path: Path) -> str:
    """The text of a shipped file as a mutation starts from it: a sweep's base files made absolute, so the
    mutant works from any directory."""
    text = path.read_text()
    if _kind(path) == "sweep":
        for key in ("hardware", "workload", "trace"):
            text = "\n".join(
                f"{key}: {(path.parent / ln.split(':', 1)[1].strip()).resolve()}" if ln.startswith(f"{key}: ") else ln
                for ln in text.split("\n"))
    return text


def _kind(path: Path) -> str:
    parent = path.parent.name
    return {"link": "link", "chiplet": "chiplet", "packages": "hardware", "sweeps": "sweep"}.get(parent, "workload")


def _plain(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def _dump(data: Any) -> str:
    y = YAML(typ="safe", pure=True)
    y.default_flow_style = None
    y.allow_unicode = True
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


hostile_scalar = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.sampled_from(HOSTILE_TEXT),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
hostile_value = st.recursive(
    hostile_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def structural(draw, files: list[Path]) -> Mutant:
    """Replace, delete or add one value of a shipped file."""
    source = draw(st.sampled_from(files))
    data = _plain(source_text(source))
    paths = paths_in(data)
    action = draw(st.sampled_from(["replace", "replace", "delete", "add", "scale", "scale", "scale"]))
    if action == "add" or not paths:
        key = draw(st.sampled_from(["colour", "lanes ", "Lanes", "kind2", "sources", "0", "__class__"]))
        parent = draw(st.sampled_from([()] + [p for p in paths if isinstance(get_at(data, p), dict)]))
        value = draw(hostile_value)
        get_at(data, parent)[key] = value
        how = f"add {'.'.join(map(str, parent + (key,)))} = {value!r:.60}"
    else:
        path = draw(st.sampled_from(paths))
        if action == "delete":
            set_at(data, path, None, delete=True)
            how = f"delete {'.'.join(map(str, path))}"
        elif action == "scale" and isinstance(get_at(data, path), (int, float)) and not isinstance(get_at(data, path), bool):
            old = get_at(data, path)
            if isinstance(old, int):  # an integer stays an integer: the value validates and must run (or be refused)
                factor = draw(st.sampled_from([0, -1, 2, 10, 1000, 10**6, 10**9, 10**12, 10**18, 10**20]))
            else:
                factor = draw(st.sampled_from([0.0, -1.0, 1e-300, 1e-9, 1e3, 1e6, 1e9, 1e12, 1e300]))
            value = old * factor
            set_at(data, path, value)
            how = f"scale {'.'.join(map(str, path))} x {factor:g}"
        else:
            value = draw(hostile_value)
            set_at(data, path, value)
            how = f"set {'.'.join(map(str, path))} = {value!r:.60}"
    try:
        text = _dump(data)
    except Exception as exc:  # pragma: no cover - a value the emitter cannot write (not a finding)
        text = source_text(source)
        how += f" (not writable: {type(exc).__name__}; original kept)"
    return Mutant(source, how, text.encode("utf-8", errors="surrogatepass"), _kind(source))


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _textual(source: Path, kind: str, r: random.Random) -> tuple[str, bytes]:
    text = source_text(source)
    lines = _lines(text)
    i = r.randrange(len(lines))
    if kind == "latin1":
        return "a latin-1 comment", ("# caf\u00e9 na\u00efve\n" + text).encode("latin-1")
    if kind == "utf16":
        return "UTF-16", text.encode("utf-16")
    if kind == "utf32":
        return "UTF-32", text.encode("utf-32")
    if kind == "binary":
        return "binary garbage", bytes(r.randrange(256) for _ in range(r.randrange(1, 400)))
    if kind == "nul":
        return f"a NUL byte on line {i + 1}", "".join(lines[:i] + ["\0" + lines[i]] + lines[i + 1:]).encode()
    if kind == "invalid-utf8":
        return f"an invalid UTF-8 byte on line {i + 1}", "".join(lines[:i]).encode() + b"\xff\xfe" + "".join(lines[i:]).encode()
    if kind == "truncate":
        cut = r.randrange(len(text))
        return f"truncated at byte {cut}", text[:cut].encode()
    if kind == "dup-line":
        return f"line {i + 1} twice", "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]).encode()
    if kind == "del-line":
        return f"line {i + 1} deleted", "".join(lines[:i] + lines[i + 1:]).encode()
    if kind == "tab":
        return f"a tab indent on line {i + 1}", "".join(lines[:i] + ["\t" + lines[i]] + lines[i + 1:]).encode()
    if kind == "indent":
        return f"line {i + 1} indented", "".join(lines[:i] + ["   " + lines[i]] + lines[i + 1:]).encode()
    if kind == "alias":
        return "an alias", ("x: &a 3\n" + text + "y: *a\n").encode()
    if kind == "bomb":
        bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
        return "a billion laughs alias bomb", (bomb + text).encode()
    if kind == "merge":
        return "a merge key", (text + "extra:\n  <<: {a: 1}\n  b: 2\n").encode()
    if kind == "merge-alias":
        return "a merge key from an anchor", ("base: &b {x: 1}\n" + text + "more:\n  <<: *b\n").encode()
    if kind == "python-tag":
        j = next((k for k, ln in enumerate(lines) if ": " in ln and not ln.lstrip().startswith("#")), 0)
        key = lines[j].split(": ", 1)[0]
        return f"a !!python tag on line {j + 1}", "".join(
            lines[:j] + [f"{key}: !!python/object/apply:os.system ['true']\n"] + lines[j + 1:]).encode()
    if kind == "custom-tag":
        return "a custom tag", (text + "extra: !foo bar\n").encode()
    if kind == "two-docs":
        return "a second document", (text + "---\n" + text).encode()
    if kind == "deep":
        return "1000-deep nesting", (text + "deep: " + "[" * 1000 + "]" * 1000 + "\n").encode()
    if kind == "deep-map":
        return "100-deep mappings", (text + "deep: " + "{a: " * 100 + "1" + "}" * 100 + "\n").encode()
    if kind == "control":
        return f"a control character on line {i + 1}", "".join(lines[:i] + ["\x07" + lines[i]] + lines[i + 1:]).encode()
    if kind == "huge-comment":
        return "a 5 MB comment", ("#" + "x" * 5_000_000 + "\n" + text).encode()
    if kind == "many-keys":
        return "200k keys", (text + "sources2:\n" + "".join(f"  k{n}: v\n" for n in range(200_000))).encode()
    if kind == "empty":
        return "an empty file", b""
    if kind == "kind-list":
        return "kind given as a list", text.replace(f"kind: {_kind_name(source)}", f"kind: [{_kind_name(source)}]", 1).encode()
    if kind == "dup-key":
        j = next((k for k, ln in enumerate(lines) if ln[:1].isalpha() and ": " in ln), 0)
        return f"key of line {j + 1} repeated", (text + lines[j]).encode()
    if kind == "complex-key":
        return "a complex key", (text + "? [a, b]\n: 1\n").encode()
    raise ValueError(kind)


def _kind_name(path: Path) -> str:
    return {"hardware": "hardware", "workload": "workload", "link": "link", "chiplet": "chiplet", "sweep": "sweep"}[_kind(path)]


TEXTUAL = ["latin1", "utf16", "utf32", "binary", "nul", "invalid-utf8", "truncate", "dup-line", "del-line", "tab",
           "indent", "alias", "bomb", "merge", "merge-alias", "python-tag", "custom-tag", "two-docs", "deep", "deep-map",
           "control", "huge-comment", "many-keys", "empty", "kind-list", "dup-key", "complex-key"]


@st.composite
def textual(draw, files: list[Path]) -> Mutant:
    source = draw(st.sampled_from(files))
    kind = draw(st.sampled_from(TEXTUAL))
    r = random.Random(draw(st.integers(0, 2**32 - 1)))
    how, data = _textual(source, kind, r)
    return Mutant(source, how, data, _kind(source))


def mutants(files: list[Path]) -> st.SearchStrategy[Mutant]:
    """Structural and textual mutations, about two structural to one textual."""
    return st.one_of(structural(files), structural(files), textual(files))
