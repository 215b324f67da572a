"""Print pip constraints pinning every direct dependency to its declared lower bound.

``make test-oldest`` installs the package with these constraints into ``.venv-oldest``
and runs the kernel-side tests there, so the lower bounds in ``pyproject.toml`` are
versions the project really works with (pip has no "lowest" resolution of its own).
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def lowest_pins(extras: list[str]) -> list[str]:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += [r for r in project["optional-dependencies"][extra] if not r.startswith("dkist-widgets")]
    pins = {}
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)", requirement)
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(3)}"
    return sorted(pins.values())


if __name__ == "__main__":
    print("\n".join(lowest_pins(sys.argv[1:])))
