"""The CLI starts at once: ``snapsim --help`` and ``snapsim validate`` load neither the simulator nor
pandas or pyarrow (what they import is checked, not how long it takes: ``snapsim bench --suite startup``
times them). Command modules import only argparse and the error type; the names their help offers are
checked here against the definitions they stand for."""

from __future__ import annotations

import subprocess
import sys

import pytest

from snapsim.benchmarks.startup import HEAVY, imported_modules, shipped_config_files


def test_help_imports_no_simulator_pandas_or_pyarrow():
    mods = imported_modules(["--help"])
    assert "snapsim.cli" in mods and "snapsim.commands.run" in mods  # the parser was built
    loaded = [m for m in HEAVY + ("simpy", "numpy", "pydantic", "ruamel.yaml", "snapsim.config") if m in mods]
    assert loaded == []


def test_validate_imports_config_but_no_simulator_pandas_or_pyarrow():
    mods = imported_modules(["validate", *shipped_config_files()])
    assert "snapsim.config.load" in mods  # it did validate
    assert [m for m in HEAVY if m in mods] == []


def test_every_command_module_is_light():
    code = ("import sys, snapsim.cli as c\nfor name in c.COMMAND_MODULES: __import__(name)\n"
            "print([m for m in sys.modules if m.split('.')[0] in ('numpy', 'pandas', 'pyarrow', 'simpy', 'pydantic')"
            " or m in ('snapsim.engine', 'snapsim.runner', 'snapsim.config')])")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_help_names_what_the_commands_accept(capsys):
    from snapsim.cli import main
    from snapsim.commands import pareto as pareto_cmd
    from snapsim.network import FIDELITIES
    from snapsim.pareto import DIRECTIONS
    from snapsim.plan import MODES
    from snapsim.runner import ENGINES

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for name in MODES + FIDELITIES + ENGINES:
        assert name in text
    assert "{" + ",".join(FIDELITIES) + "}" in text and "{" + ",".join(ENGINES) + "}" in text
    assert pareto_cmd.DIRECTIONS == DIRECTIONS


def test_run_rejects_unknown_fidelity_and_engine(capsys):
    from snapsim.cli import main

    for flag, value in (("--fidelity", "exact"), ("--engine", "vector")):
        code = main(["run", "--hw", "hwconfigs/packages/ucie-a-2x2.yaml", "--workload", "workloads/lm_32x4096.yaml",
                     flag, value])
        err = capsys.readouterr().err
        assert code == 2 and f"{flag}: unknown value {value!r}" in err


def test_parsed_yaml_is_kept_and_copied(tmp_path):
    """A text parsed once is not parsed again, and callers get their own copies."""
    from snapsim.config import yamlio

    f = tmp_path / "a.yaml"
    f.write_text("a: {b: [1, 2]}\n")
    d1, o1 = yamlio.load_yaml(f)
    d1["a"]["b"].append(3)
    o1.clear()
    d2, o2 = yamlio.load_yaml(f)
    assert d2 == {"a": {"b": [1, 2]}} and o2["a.b.1"] == (str(f), 1)
    f.write_text("a: {b: [1, 5]}\n")  # same size, other text: parsed anew
    assert yamlio.load_yaml(f)[0] == {"a": {"b": [1, 5]}}
