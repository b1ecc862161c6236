"""The three environment files agree, and the README's commands are the ones that run.

pyproject.toml (pip), environment.yml (conda) and anaconda-project.yml must name the same packages with
the same version ranges and Python >= 3.12; CI (.ci/run) must run the README's test command; every
`novamart-panel …` line in the README must parse with the real command-line parser.
"""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
# Conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"python-duckdb": "duckdb"}
# What the conda files add for their own sake: the installer itself.
CONDA_TOOLING = {"pip"}
# The pyproject extras the conda environments carry besides the dependencies (`maps` is for the
# boundary build script only; its packages are in `test` too).
CONDA_EXTRAS = ("test", "notebook")
CONDA_FILES = ("environment.yml", "anaconda-project.yml")
TEST_COMMAND_MARK = "<!-- test-command -->"


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def pip_requirements() -> dict[str, SpecifierSet]:
    """Name → version range of the dependencies and the extras the conda files mirror."""
    project = pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in CONDA_EXTRAS:
        lines += project["optional-dependencies"][extra]
    requirements = {}
    for line in lines:
        requirement = Requirement(line)
        requirements[canonicalize_name(requirement.name)] = requirement.specifier
    return requirements


def conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """`name >=1,<2` or `name=3.12` (conda's "3.12.*") as a PyPI name and a specifier set."""
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry.strip())
    assert match, f"unreadable conda package spec {entry!r}"
    name, spec = match.groups()
    spec = spec.replace(" ", "")
    if re.fullmatch(r"=[0-9][0-9.]*", spec):
        spec = f"=={spec[1:]}.*"
    name = CONDA_TO_PYPI.get(name, name)
    return canonicalize_name(name), SpecifierSet(spec)


def conda_requirements(packages: list) -> tuple[SpecifierSet, dict[str, SpecifierSet]]:
    """Python's range and name → range of the other packages (conda and pip entries) of a conda file."""
    python, requirements = None, {}
    for entry in packages:
        if isinstance(entry, dict):
            for line in entry.get("pip", []):
                if line.startswith("-"):   # `-e .`: the project itself
                    continue
                requirement = Requirement(line)
                requirements[canonicalize_name(requirement.name)] = requirement.specifier
            continue
        name, spec = conda_spec(entry)
        if name == "python":
            python = spec
        elif name not in CONDA_TOOLING:
            assert name not in requirements, f"{name} is listed twice"
            requirements[name] = spec
    assert python is not None, "no python entry"
    return python, requirements


def conda_packages(filename: str) -> list:
    document = yaml.safe_load((REPO / filename).read_text(encoding="utf-8"))
    return document["dependencies"] if filename == "environment.yml" else document["packages"]


def readme_test_command() -> str:
    """The command in the fenced block right after the README's test-command mark."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert TEST_COMMAND_MARK in text, "README.md has no test-command mark"
    block = re.search(r"```\w*\n(.*?)\n```", text.split(TEST_COMMAND_MARK, 1)[1], re.S)
    assert block, "no code block after the test-command mark"
    lines = [line.strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, f"the test command should be one line, got {lines}"
    return lines[0]


def readme_cli_lines() -> list[list[str]]:
    """Every `novamart-panel …` command in the README's code blocks, as argument lists."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```bash\n(.*?)\n```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0]
            for command in line.split("&&"):
                words = shlex.split(command)
                while words and "=" in words[0]:      # VAR=value prefixes
                    words.pop(0)
                if words and Path(words[0]).name == "novamart-panel":
                    commands.append(words[1:])
    return commands


@pytest.mark.parametrize("filename", CONDA_FILES)
def test_conda_files_name_the_pyproject_packages_with_the_same_ranges(filename):
    _, conda = conda_requirements(conda_packages(filename))
    pip = pip_requirements()
    assert sorted(conda) == sorted(pip), (
        f"only in {filename}: {sorted(set(conda) - set(pip))}; only in pyproject.toml: {sorted(set(pip) - set(conda))}")
    different = {name: (str(conda[name]), str(pip[name])) for name in pip if conda[name] != pip[name]}
    assert not different, f"{filename} ranges differ from pyproject.toml (conda, pip): {different}"


def test_conda_spec_reading():
    assert conda_spec("python-duckdb >=1.4,<2.1") == ("duckdb", SpecifierSet(">=1.4,<2.1"))
    assert conda_spec("python=3.12") == ("python", SpecifierSet("==3.12.*"))
    assert conda_spec("pip") == ("pip", SpecifierSet(""))


@pytest.mark.parametrize("filename", CONDA_FILES)
def test_python_is_312_or_newer_in_conda_files(filename):
    python, _ = conda_requirements(conda_packages(filename))
    assert "3.12.1" in python
    assert not any(version in python for version in ("3.11.9", "3.10.0", "2.7.18"))


def test_python_is_312_or_newer_in_pyproject():
    requires = SpecifierSet(pyproject()["project"]["requires-python"])
    assert "3.12.0" in requires and "3.13.0" in requires
    assert "3.11.9" not in requires


@pytest.mark.parametrize("filename", CONDA_FILES)
def test_conda_files_use_conda_forge_only(filename):
    document = yaml.safe_load((REPO / filename).read_text(encoding="utf-8"))
    assert document["channels"] == ["conda-forge"]


def test_anaconda_project_lists_packages_once_and_its_commands_name_real_files():
    document = yaml.safe_load((REPO / "anaconda-project.yml").read_text(encoding="utf-8"))
    assert document["dependencies"] == document["packages"]
    assert document["env_specs"] == {"default": {}}
    commands = {name: spec["unix"] for name, spec in document["commands"].items()}
    assert set(commands) == {"dashboard", "notebook", "test"}
    assert "panel serve novamart_panel/serve_app.py" in commands["dashboard"]
    assert "jupyter lab notebooks/novamart.ipynb" in commands["notebook"]
    for command in commands.values():
        for word in shlex.split(command):
            if word.endswith((".py", ".ipynb")):
                assert (REPO / word).is_file(), f"{word} named by anaconda-project.yml does not exist"


def test_anaconda_project_tests_with_the_readme_pytest_arguments():
    document = yaml.safe_load((REPO / "anaconda-project.yml").read_text(encoding="utf-8"))
    readme = readme_test_command()
    arguments = readme.split(" -m pytest", 1)[1]
    assert document["commands"]["test"]["unix"].endswith(f"python -m pytest{arguments}")


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    assert "pytest" in command
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci_lines, f".ci/run does not run the README's test command {command!r}"


def test_readme_setup_commands_are_the_documented_ones():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python3.12 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/novamart-panel serve" in text
    assert "```bash\nbash .ci/run\n```" in text


def test_readme_cli_commands_parse_with_the_real_parser():
    from novamart_panel.cli import build_parser

    commands = readme_cli_lines()
    documented = {words[0] for words in commands}
    assert documented >= {"serve", "validate", "generate", "export-wasm", "report"}
    parser = build_parser()
    for words in commands:
        arguments = parser.parse_args(words)
        assert arguments.command == words[0]
        assert getattr(arguments, "panel_args", []) == [], f"README passes unknown options: {words}"


def test_pyproject_entry_point_is_the_cli():
    from novamart_panel import cli

    assert pyproject()["project"]["scripts"] == {"novamart-panel": "novamart_panel.cli:main"}
    assert callable(cli.main)
