"""The wheel a plain ``pip install .`` builds carries everything a run needs (protocol files,
every subpackage), so a non-editable install can ``pamdp-bench train --protocol=quick``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_wheel_ships_protocols_and_every_subpackage(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), REPO],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = [p for p in os.listdir(tmp_path) if p.endswith(".whl")]
    names = set(zipfile.ZipFile(tmp_path / wheel).namelist())
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("pamdp_bench/protocol_files/")}
    in_repo = {f for f in os.listdir(os.path.join(REPO, "experiments")) if f.endswith(".toml")}
    assert in_repo and in_repo <= shipped, f"protocols missing from the wheel: {in_repo - shipped}"
    packages = {os.path.dirname(n) for n in names if n.endswith("/__init__.py")}
    for root, _, files in os.walk(REPO):
        rel = os.path.relpath(root, REPO)
        top = rel.split(os.sep)[0]
        if "__init__.py" not in files or top not in ("pamdp_bench", "envs", "baselines"):
            continue
        mapped = {"envs": "pamdp_bench/envs", "baselines": "pamdp_bench/baselines"}.get(top, top)
        pkg = os.path.join(mapped, *rel.split(os.sep)[1:])
        assert pkg in packages, f"{rel} (package {pkg}) is not in the wheel: add it to pyproject"


def test_the_lock_pins_every_requirement_within_its_range() -> None:
    """``requirements-lock.txt`` (the constraints every ``make`` install uses) pins each runtime
    and dev requirement of pyproject.toml at a version its range admits: a changed range
    without ``make lock`` fails here, not as a quietly different environment."""
    import tomllib
    from packaging.requirements import Requirement

    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    pins: dict[str, str] = {}
    with open(os.path.join(REPO, "requirements-lock.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                name, rest = line.split("==", 1)
                pins[name.split("[")[0].strip().lower().replace("_", "-")] = (
                    rest.split(";")[0].strip())
    reqs = [Requirement(r) for r in
            (*project["dependencies"], *project["optional-dependencies"]["dev"])]
    for req in reqs:
        if req.marker is not None and not req.marker.evaluate({"python_version": "3.11"}):
            continue
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{req.name} is not in requirements-lock.txt: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{req.name}=={pins[name]} in the lock is outside {req.specifier}: run `make lock`")
