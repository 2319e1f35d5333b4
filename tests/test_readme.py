"""The README's examples run and its shown outputs are what the code prints today."""

import re
import subprocess
import sys
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
        setup = TEXT.split("## Set-up: two commands", 1)[1].split("\n## ", 1)[0]
        commands = re.findall(r"```sh\n(.*?)\n```", setup, flags=re.S)
        assert commands == [
            "pip install -e . && xlcalc build",
            "apt-get install -y --no-install-recommends libreoffice-calc-nogui && pip install -e '.[test]' "
            "&& python3 -m pytest -q",
        ]

    def test_ci_runs_the_readme_test_command(self):
        ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
        assert "libreoffice-calc-nogui" in ci and "pip install -q --disable-pip-version-check -e '.[test]'" in ci
        assert "python3 -m pytest -q" in ci
