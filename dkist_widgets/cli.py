"""``dkist-widgets``: the command line.

``dkist-widgets demo``
    generate what is missing of the sample archive, start the loopback services, and
    run JupyterLab on the workshop notebooks with kernels pointed at them, opening
    the workshop notebook (``01_downloading_data.ipynb``). Its loopback Globus copies
    at the pace of :func:`demo_rate` so a transfer can be watched and cancelled in a
    room.
``dkist-widgets app``
    the explorer alone as a web page (Voila), on the offline world (``--real`` for
    the real DKIST and Globus).
``dkist-widgets world``
    the same services without JupyterLab (prints the env vars a kernel or shell
    needs), until Ctrl-C.
``dkist-widgets generate``
    only generate the sample archive.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

__all__ = ["main", "demo_rate", "DEMO_NOTEBOOK", "DEMO_TRANSFER_SECONDS"]

#: The notebook the demo opens: the workshop's own session.
DEMO_NOTEBOOK = "01_downloading_data.ipynb"

#: How long the workshop's transfer (:data:`WORKSHOP_FILES` files of the workshop
#: dataset) takes in the demo: long enough to point at the moving bar and press
#: Cancel in front of a room, short enough to end well inside the notebook's
#: ``wait(timeout=120)`` (docs/design.md, "Demo transfer rate").
DEMO_TRANSFER_SECONDS = 30.0
#: The workshop's dataset on the sample archive and the size of its selection
#: (the longest good-seeing run, every Stokes state).
WORKSHOP_DATASET = ("data", "pid_1_123", "KPLMQ")
WORKSHOP_FILES = 80
#: Used when the workshop dataset is not in the archive.
FALLBACK_RATE = 1e6


def demo_rate(archive_dir: str | os.PathLike) -> float:
    """Loopback Globus bytes/s per task so the workshop transfer takes :data:`DEMO_TRANSFER_SECONDS`.

    Paced from the archive's own files (their size changes between sample-archive
    versions), not a fixed number of bytes per second.
    """
    folder = Path(archive_dir).joinpath(*WORKSHOP_DATASET)
    sizes = [p.stat().st_size for p in folder.glob("*.fits")] if folder.is_dir() else []
    if not sizes:
        return FALLBACK_RATE
    return sum(sizes) / len(sizes) * WORKSHOP_FILES / DEMO_TRANSFER_SECONDS


def _say(message: str) -> None:
    print(f"[dkist-widgets] {message}", flush=True)


def _missing_for(*, sandbox: bool = True, lab: bool = False) -> str | None:
    """One sentence naming what to install, or None when everything needed is there."""
    import importlib.util

    needs = []
    if sandbox:
        try:
            import dkist_widgets.sandbox  # noqa: F401
        except ImportError:
            needs.append("sandbox")
    if lab and importlib.util.find_spec("jupyterlab") is None:
        needs.append("lab")
    if not needs:
        return None
    what = {"sandbox": "the offline sample world", "lab": "JupyterLab"}
    return (
        f"dkist-widgets needs {' and '.join(what[n] for n in needs)} for this command: "
        f'pip install "dkist-widgets[{",".join(needs)}]"'
    )


def _notebook_dir(requested: str | None) -> Path:
    """The folder JupyterLab serves.

    An explicit ``--notebook-dir`` wins. From a source checkout, the checkout's
    ``notebooks/`` is served in place. Otherwise the notebooks shipped with the package
    are copied once into the data folder (later edits by the user are kept).
    """
    if requested:
        return Path(requested).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent / "notebooks"
    if checkout.is_dir():
        return checkout
    from .core.paths import data_root

    shipped = Path(__file__).resolve().parent / "_notebooks"
    target = data_root() / "notebooks"
    if shipped.is_dir() and not target.exists():
        shutil.copytree(shipped, target)
    target.mkdir(parents=True, exist_ok=True)
    return target


def _start_world(rate: float | None):
    """Start the offline world; ``rate`` None: paced by :func:`demo_rate`."""
    from . import sandbox

    started = time.perf_counter()
    world = sandbox.start(transfer_rate_bytes_per_s=rate or FALLBACK_RATE, progress=_say, attach=False)
    if rate is None:
        rate = demo_rate(world.archive_dir)
        world.globus.set_rate(rate)
    _say(f"offline world ready in {time.perf_counter() - started:.1f} s")
    _say(f"  DKIST data centre : {world.dataset_endpoint}")
    _say(f"  Globus Transfer   : {world.transfer_url} (copies at {rate / 1e6:g} MB/s per task)")
    _say(f"  sample archive    : {world.archive_dir}")
    _say(f"  local endpoint    : {world.local_endpoint_dir}")
    return world


def _run_until_interrupted(command: list[str], env: dict[str, str]) -> int:
    """Run a server until it exits. Ctrl-C or SIGTERM stops it too (SIGTERM, which
    Jupyter servers take as "shut down now"; killed after 15 s), so no server is left
    running without its loopback services."""
    process = subprocess.Popen(command, env=env)

    def _terminated(_signum, _frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


# A kernel started before the world is up waits for the world's kernelspec, then
# runs it: JupyterLab and the world start side by side (issue 18.4), and every
# kernel still gets the world's settings. argv: connection file, spec file.
_WAIT_FOR_WORLD = """
import json, os, sys, time
connection, spec_file = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 600
while True:
    try:
        spec = json.loads(open(spec_file, encoding="utf-8").read())
    except (OSError, ValueError):
        spec = {}
    state = spec.get("metadata", {}).get("dkist_widgets_world")
    if spec and state is None:
        break
    if state not in (None, "starting") or time.monotonic() > deadline:
        sys.exit("dkist-widgets: the offline world did not start: " + str(state or "timed out"))
    time.sleep(0.2)
placeholder = "{" + "connection_file}"  # spelt apart: the launcher substitutes it in this code too
argv = [a.replace(placeholder, connection) for a in spec["argv"]]
os.execve(argv[0], argv, dict(os.environ, **spec.get("env", {})))
"""


def _waiting_kernelspec(folder: Path, state: str = "starting") -> Path:
    """Write the ``python3`` kernelspec that waits for the world's (see ``_WAIT_FOR_WORLD``)."""
    spec_file = folder / "kernels" / "python3" / "kernel.json"
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-c", _WAIT_FOR_WORLD, "{connection_file}", str(spec_file)],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "metadata": {"dkist_widgets_world": state},
    }
    spec_file.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return spec_file


def _demo(args: argparse.Namespace) -> int:
    """The world and JupyterLab start side by side; kernels wait for the world's kernelspec."""
    problem = _missing_for(sandbox=True, lab=True)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from .sandbox import paths

    folder = paths.state_root() / "jupyter"  # where World.server_environment writes the kernelspec
    _waiting_kernelspec(folder)
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(folder), os.environ.get("JUPYTER_PATH", "")) if p)
    started: dict[str, object] = {}

    def start_world() -> None:
        try:
            world = _start_world(args.rate)
            started["world"] = world
            world.server_environment(folder)  # the real kernelspec replaces the waiting one
        except BaseException as exc:  # noqa: BLE001 - said, and waiting kernels are told
            _say(f"the offline world did not start: {type(exc).__name__}: {exc}")
            _waiting_kernelspec(folder, state=f"{type(exc).__name__}: {exc}")

    world_thread = threading.Thread(target=start_world, name="dkw-demo-world", daemon=True)
    world_thread.start()
    notebooks = _notebook_dir(args.notebook_dir)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={notebooks}",
        f"--ServerApp.ip={args.ip}",
        f"--ServerApp.port={args.port}",
    ]
    if args.no_browser:
        command.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # containers and CI machines often run as root; JupyterLab refuses without this
        command.append("--allow-root")
    if args.first_notebook and (notebooks / args.first_notebook).exists():
        command.append(f"--LabApp.default_url=/lab/tree/{args.first_notebook}")
    command += args.lab_args
    _say("starting JupyterLab (the offline world starts alongside): " + " ".join(command))
    try:
        return _run_until_interrupted(command, env)
    finally:
        world_thread.join()
        world = started.get("world")
        if world is not None:
            world.stop()


APP_NOTEBOOK = Path(__file__).resolve().parent / "app" / "dkist_explorer.ipynb"


def _app(args: argparse.Namespace) -> int:
    """Serve ``explore()`` as a standalone page with Voila (needs the ``app`` extra)."""
    try:
        import voila  # noqa: F401
    except ImportError:
        print("dkist-widgets app needs Voila: pip install 'dkist-widgets[app]'", file=sys.stderr)
        return 2
    env = dict(os.environ)
    world = None
    problem = None if args.real else _missing_for(sandbox=True)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    if not args.real:
        world = _start_world(args.rate)
        env.update(world.server_environment())
    from .app import voila_arguments, voila_environment  # the offline template (issue 14.10)

    env.update(voila_environment(env))
    command = [
        sys.executable,
        "-m",
        "voila",
        str(APP_NOTEBOOK),
        f"--port={args.port}",
        f"--Voila.ip={args.ip}",
        "--theme=" + args.theme,
        *voila_arguments(),
    ]
    if args.no_browser:
        command.append("--no-browser")
    _say("starting Voila: " + " ".join(command))
    try:
        return _run_until_interrupted(command, env)
    finally:
        if world is not None:
            world.stop()


def _world(args: argparse.Namespace) -> int:
    problem = _missing_for(sandbox=True)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    world = _start_world(args.rate)
    # Never print the kernels' HOME as an export: eval'd in a shell it would move the
    # user's home. A Jupyter server started with these finds a kernel that has it.
    for key, value in sorted(world.server_environment().items()):
        print(f"export {key}={value}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        world.stop()


def _generate(_args: argparse.Namespace) -> int:
    problem = _missing_for(sandbox=True)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from .sandbox.archive import ensure_archive

    started = time.perf_counter()
    archive = ensure_archive(progress=_say)
    _say(f"sample archive ready in {time.perf_counter() - started:.1f} s at {archive.root}")
    for record in archive.catalogue:
        _say(
            f"  {record['datasetId']}  {record['instrumentName']:5s} "
            f"{record['frameCount']:>7d} frames  proposal {record['primaryProposalId']}"
        )
    return 0


def _frame_count(text: str) -> int:
    """``100k``, ``1M``, ``4000`` -> frames (a multiple of 4: VISP with four Stokes states)."""
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    number = text[:-1] if scale > 1 else text
    try:
        value = float(number) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a frame count: {text!r} (e.g. 100k, 1M)") from None
    frames = int(value)
    if frames != value or frames < 4 or frames % 4:
        raise argparse.ArgumentTypeError(f"{text}: give a multiple of 4 frames (4 Stokes states)")
    return frames


def _generate_command(args: argparse.Namespace) -> int:
    """``generate``: the sample archive, or with ``--frames`` only the headers-only datasets of
    those sizes (cached; the load benchmarks and tests use them)."""
    if not args.frames:
        return _generate(args)
    problem = _missing_for(sandbox=True)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from .sandbox.headers_only import cached_headers_only_dataset

    for frames in args.frames:
        started = time.perf_counter()
        path = cached_headers_only_dataset(frames // 4, 4, progress=_say)
        _say(f"{frames:,}-frame headers-only dataset ready in {time.perf_counter() - started:.1f} s: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="dkist-widgets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="sample world + JupyterLab on the workshop notebooks")
    demo.add_argument("--notebook-dir", default=None)
    demo.add_argument("--ip", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8888)
    demo.add_argument("--no-browser", action="store_true")
    demo.add_argument("--first-notebook", default=DEMO_NOTEBOOK)
    demo.add_argument(
        "--rate",
        type=float,
        default=None,
        help="loopback Globus copy rate in bytes/s (default: the workshop's transfer takes "
        f"{DEMO_TRANSFER_SECONDS:g} s, to watch and cancel it in a room)",
    )
    demo.add_argument("lab_args", nargs=argparse.REMAINDER, help="further arguments passed to jupyter lab")
    demo.set_defaults(run=_demo)

    app = sub.add_parser("app", help="the explorer as a standalone web page (Voila)")
    app.add_argument(
        "--real", action="store_true", help="use the configured (real) DKIST and Globus, not the offline world"
    )
    app.add_argument("--ip", default="127.0.0.1")
    app.add_argument("--port", type=int, default=8866)
    app.add_argument("--theme", choices=["light", "dark"], default="light")
    app.add_argument("--no-browser", action="store_true")
    app.add_argument("--rate", type=float, default=20e6)
    app.set_defaults(run=_app)

    world = sub.add_parser("world", help="only the loopback services, until Ctrl-C")
    world.add_argument("--rate", type=float, default=20e6)
    world.set_defaults(run=_world)

    generate = sub.add_parser("generate", help="only generate the sample archive")
    generate.add_argument(
        "--frames",
        nargs="*",
        type=_frame_count,
        default=[],
        metavar="N",
        help="instead of the archive, generate (once; cached) headers-only VISP datasets of N frames, e.g. 100k 1M",
    )
    generate.set_defaults(run=_generate_command)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
