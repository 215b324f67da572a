"""The core and the sandbox import with ipywidgets and anywidget made unimportable."""

import subprocess
import sys
from pathlib import Path

import dkist_widgets

_PACKAGE = Path(dkist_widgets.__file__).parent
#: Every module under core/, packages (core/search/) included.
CORE_MODULES = sorted(
    ".".join(("dkist_widgets", *p.relative_to(_PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in (_PACKAGE / "core").rglob("*.py")
    if p.relative_to(_PACKAGE).parts != ("core", "__init__.py")
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
