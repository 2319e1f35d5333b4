"""The README's examples run and its shown outputs are what the code prints today."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")


def python_blocks():
    return re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)


def shell_sessions():
    """(command, expected output) for every ``$ xlcalc ...`` shown with its output in a ``` block."""
    sessions = []
    for block in re.findall(r"```\n(\$ xlcalc .*?)```", TEXT, flags=re.S):
        command, _, output = block.partition("\n")
        sessions.append((command[2:], output))
    return sessions


class TestReadme:
    def test_has_examples(self):
        assert python_blocks() and shell_sessions()

    @pytest.mark.parametrize("block", python_blocks())
    def test_python_block_runs(self, block, monkeypatch):
        monkeypatch.chdir(README.parent)  # the examples use paths relative to the repository's root
        exec(compile(block, str(README), "exec"), {})

    @pytest.mark.parametrize("command,expected", shell_sessions())
    def test_shell_output_matches(self, command, expected):
        args = command.split()[1:]
        done = subprocess.run([sys.executable, "-m", "xlcalc.cli", *args], capture_output=True, text=True, check=True,
                              cwd=README.parent)
        assert done.stdout == expected

    def test_two_setup_commands_present(self):
        commands = setup_commands()
        assert commands == [
            "pip install -e . && xlcalc build",
            "apt-get update && apt-get install -y --no-install-recommends libreoffice-calc-nogui gnumeric "
            "poppler-utils && python3 -m venv .venv && .venv/bin/pip install -c constraints.txt -e '.[test]' "
            "&& .venv/bin/python -m pytest -q",
        ]

    def test_ci_runs_the_readme_test_command(self):
        ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
        for package in ("libreoffice-calc-nogui", "gnumeric", "poppler-utils"):
            assert package in ci and package in setup_commands()[1]
        assert 'python3 -m venv "$venv"' in ci  # a fresh environment on every run
        assert "-m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'" in ci
        assert '"$venv/bin/python" -m pytest -q' in ci

    def test_constraints_pin_every_declared_dependency(self):
        """Each package pyproject.toml names (run time and test extra) has an exact version in constraints.txt."""
        project = tomllib.loads((README.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
        pins = {}
        for line in (README.parent / "constraints.txt").read_text(encoding="utf-8").splitlines():
            if line and not line.startswith("#"):
                name, version = line.split("==")
                pins[canonical(name)] = version
        for requirement in declared:
            name = canonical(re.match(r"[A-Za-z0-9_.-]+", requirement).group())
            assert name in pins, f"{name} is declared in pyproject.toml but not pinned in constraints.txt"


def setup_commands():
    setup = TEXT.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", setup, flags=re.S)


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()
