"""Paths of the bundled front-end modules built from ``js/`` at install time."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def esm_path(name: str) -> Path:
    """The built ES module for widget ``name`` (``js/src/widgets/<name>.ts``)."""
    path = STATIC_DIR / f"{name}.js"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the JavaScript bundle was not built. Reinstall the "
            "package (`pip install .`, which runs the js build) or run `npm run build` in js/."
        )
    return path
