"""Read ``name==version`` lines on stdin; fail unless each is the installed version.

``make test-oldest`` uses it to prove the oldest-versions job really runs on the lower
bounds (a constraint that pip silently could not honour would make the job a lie).
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

wrong = []
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    name, wanted = line.split("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        wrong.append(f"{name}: not installed")
        continue
    if Version(have) != Version(wanted):
        wrong.append(f"{name}: {have} installed, {wanted} wanted")
if wrong:
    sys.exit("oldest-versions job is not on its lower bounds:\n  " + "\n  ".join(wrong))
print("every direct dependency is at its declared lower bound")
