"""The core and the sandbox import with ipywidgets and anywidget made unimportable."""

import subprocess
import sys
from pathlib import Path

import dkist_widgets

_CORE = Path(dkist_widgets.__file__).parent / "core"
CORE_MODULES = sorted(  # modules of core/ and of its packages (core/transfers/)
    "dkist_widgets.core." + ".".join(p.relative_to(_CORE).with_suffix("").parts)
    for p in _CORE.rglob("*.py")
    if p.stem != "__init__"
)


def test_core_imports_without_widget_libraries():
    assert CORE_MODULES, "no core modules found"
    code = (
        "import sys\n"
        "for blocked in ('ipywidgets', 'anywidget', 'bqplot', 'ipydatagrid'):\n"
        "    sys.modules[blocked] = None\n"
        f"for name in {CORE_MODULES + ['dkist_widgets.sandbox']!r}:\n"
        "    __import__(name)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
