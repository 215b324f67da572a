"""Point the real ``dkist`` client at a (loopback) data centre.

Two situations:

**This process** -- :func:`configure_this_process`. ``dkist.net.conf`` is an astropy
``ConfigNamespace``; its items read an in-memory ``ConfigObj`` (section ``net`` of
root ``dkist``). Importing ``dkist.net`` registers the DKIST Fido client, and that
asks ``{dataset_endpoint}v1/searchValues`` (1 s timeout) unless the cached copy in
``platformdirs.user_data_path("dkist")/api_search_values.json`` is younger than
``attr_max_age`` days. So, when ``dkist.net`` is not imported yet, the endpoints are
written into that in-memory config *before* the import: the import then only ever
talks to the loopback. Afterwards the search values are fetched from the loopback
into dkist's cache file and the DKIST entries of sunpy's attr registry are
replaced, so ``a.dkist.*`` / ``a.Instrument`` values reflect the loopback catalogue
even if ``dkist.net`` had been imported earlier. The cached Globus endpoint id
(``dkist.net.globus.endpoints.get_data_center_endpoint_id``, an ``lru_cache``) is
cleared too.

**Fresh kernels and subprocesses** -- :func:`kernel_environment`. Astropy reads
``$XDG_CONFIG_HOME/dkist/dkist.cfg`` (section ``[net]``) when ``dkist.net`` is
imported, so a child process started with ``XDG_CONFIG_HOME=<config_dir>`` uses the
loopback without importing anything of ours. The file also sets
``attr_max_age = 0`` so each fresh ``import dkist.net`` refreshes the search values
from the loopback instead of trusting a cache written against another server.

What ``XDG_CONFIG_HOME`` also moves (checked on Linux with the versions pinned
here): astropy's own config (``astropy.cfg``), sunpy's ``sunpyrc``
(platformdirs), matplotlib's ``matplotlibrc`` (unless ``MPLCONFIGDIR``), Jupyter's
config only with ``JUPYTER_PLATFORM_DIRS=1``, IPython only when ``~/.ipython`` is
missing, fontconfig. dask (``~/.config/dask`` hard-coded), globus-sdk, parfive,
dkist's token cache (``user_cache_dir``) and dkist's search-values cache
(``user_data_dir``) do not move. To keep that harmless, ``config_dir`` is made an
*overlay* of the user's real config home: every entry of it except ``dkist`` is
symlinked in (plus a legacy ``~/.astropy/config`` as ``astropy`` when that is
where the user's astropy config lives), and the user's own ``dkist.cfg``, if any,
is copied with only the ``[net]`` endpoints changed. Entries the user adds to the
real config home later are not mirrored until :func:`kernel_environment` runs again.
Where symlinks are not permitted (Windows without developer mode or admin rights:
``OSError``), the entries are copied instead; copies are listed in
``.dkist-widgets-copies`` and copied afresh on every run.

Caveat: refreshing the search values writes the loopback's values into dkist's
*user* cache file (``~/.local/share/dkist/api_search_values.json``); a later session
against the real data centre uses them until they are older than ``attr_max_age``
(7 days by default) -- harmless for searching, only tab-completion values differ.
``XDG_DATA_HOME`` is deliberately not moved: Jupyter keeps kernelspecs there.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = [
    "configure_this_process",
    "kernel_environment",
    "refresh_search_values",
    "write_dkist_cfg",
]

ENV_XDG_CONFIG = "XDG_CONFIG_HOME"
ENV_GLOBUS_TRANSFER = "GLOBUS_SDK_SERVICE_URL_TRANSFER"


def _check_endpoints(dataset_endpoint: str, download_endpoint: str) -> None:
    if not dataset_endpoint.endswith("/"):
        raise ValueError(f"dataset_endpoint must end with '/' (dkist appends 'v1' to it): {dataset_endpoint!r}")
    if download_endpoint.endswith("/"):
        raise ValueError(f"download_endpoint must not end with '/' (dkist appends '/asdf?...'): {download_endpoint!r}")


def configure_this_process(
    dataset_endpoint: str, download_endpoint: str, *, refresh_values: bool = True, timeout: float = 5.0
) -> dict[str, str]:
    """Point this process's ``dkist.net.conf`` at the given endpoints.

    Safe before or after ``import dkist.net``. With ``refresh_values`` the search
    values are fetched from the new endpoint (``timeout`` seconds) and re-registered
    with sunpy's attrs; a failure to fetch raises (the endpoint is not answering).

    Returns the previous ``{"dataset_endpoint", "download_endpoint"}`` so a caller
    (a test) can point back with another call.
    """
    _check_endpoints(dataset_endpoint, download_endpoint)
    fetched_at_import = False
    if "dkist.net" not in sys.modules:
        # Set the in-memory config before the import so the import-time
        # searchValues request goes to the loopback, never to the real host.
        from astropy.config.configuration import get_config

        section = get_config("dkist.net", rootname="dkist")
        section["dataset_endpoint"] = dataset_endpoint
        section["download_endpoint"] = download_endpoint
        before = _cache_stamp()
        import dkist.net

        after = _cache_stamp()
        # The import refreshed an *existing* cache from the loopback and registered
        # those values: no second fetch. (Without a cache file dkist registers the
        # values it ships, even though it fetches: then refresh.)
        fetched_at_import = before is not None and after is not None and after != before

    import dkist.net

    conf = dkist.net.conf
    previous = {"dataset_endpoint": conf.dataset_endpoint, "download_endpoint": conf.download_endpoint}
    conf.dataset_endpoint = dataset_endpoint
    conf.download_endpoint = download_endpoint

    endpoints_module = sys.modules.get("dkist.net.globus.endpoints")
    if endpoints_module is not None:
        endpoints_module.get_data_center_endpoint_id.cache_clear()

    if refresh_values and not fetched_at_import:
        refresh_search_values(timeout=timeout)
    return previous


def _cache_file() -> Path:
    import platformdirs

    return platformdirs.user_data_path("dkist") / "api_search_values.json"


def _cache_stamp() -> tuple[int, int] | None:
    """(mtime_ns, size) of dkist's searchValues cache file, None if absent."""
    try:
        st = _cache_file().stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def refresh_search_values(timeout: float = 5.0) -> None:
    """Fetch ``searchValues`` from the configured endpoint and re-register the DKIST attrs.

    sunpy's ``Attr.update_values`` only appends, so the DKIST client's old entries
    are removed from the registry first.
    """
    from dkist.net.attrs_values import attempt_local_update
    from dkist.net.client import DKISTClient
    from sunpy.net import attr as sunpy_attr

    attempt_local_update(timeout=timeout, silence_net_errors=False)
    client_name = DKISTClient.__name__.replace("Client", "")
    for entry in sunpy_attr.Attr._attr_registry.values():
        keep = [i for i, c in enumerate(entry.client) if c != client_name]
        for column in entry:
            column[:] = [column[i] for i in keep]
    sunpy_attr.Attr.update_values({DKISTClient: DKISTClient.register_values()})


def _original_config_home() -> Path:
    env = os.environ.get(ENV_XDG_CONFIG)
    return Path(env) if env else Path.home() / ".config"


def write_dkist_cfg(
    config_dir: Path, dataset_endpoint: str, download_endpoint: str, *, template: Path | None = None
) -> Path:
    """Write ``{config_dir}/dkist/dkist.cfg`` with the endpoints in ``[net]``.

    ``template`` (the user's own ``dkist.cfg``) is copied first so their other
    settings survive. ``attr_max_age = 0`` makes every fresh import refresh the
    search values from these endpoints.
    """
    from astropy.extern.configobj import configobj

    _check_endpoints(dataset_endpoint, download_endpoint)
    cfg_path = Path(config_dir) / "dkist" / "dkist.cfg"
    cfg_path.parent.mkdir(parents=True, exist_ok=True)
    if template is not None and template.is_file() and template.resolve() != cfg_path.resolve():
        cfg = configobj.ConfigObj(str(template), interpolation=False)
    elif cfg_path.is_file():
        cfg = configobj.ConfigObj(str(cfg_path), interpolation=False)
    else:
        cfg = configobj.ConfigObj(interpolation=False)
    cfg.setdefault("net", {})
    cfg["net"]["dataset_endpoint"] = dataset_endpoint
    cfg["net"]["download_endpoint"] = download_endpoint
    cfg["net"]["attr_max_age"] = "0"
    cfg.initial_comment = ["Written by dkist_widgets.sandbox.dkist_config: points dkist at a sandbox."]
    tmp = cfg_path.with_suffix(".cfg.tmp")
    cfg.filename = str(tmp)
    cfg.write()
    tmp.replace(cfg_path)
    return cfg_path


COPIES_FILE = ".dkist-widgets-copies"


def _link_or_copy(link: Path, target: Path) -> bool:
    """Symlink ``link`` -> ``target``; copy ``target`` there when the platform refuses
    symlinks (``OSError``, e.g. Windows without developer mode). True if copied."""
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
        return False
    except OSError:
        if target.is_dir():
            shutil.copytree(target, link, symlinks=True, ignore_dangling_symlinks=True)
        else:
            shutil.copy2(target, link)
        return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mirror(config_dir: Path, original: Path) -> None:
    """Symlink (or copy) the user's config entries (all but ``dkist``) into ``config_dir``."""
    if not original.is_dir() or original.resolve() == config_dir.resolve():
        return
    record = config_dir / COPIES_FILE
    # Copies made by an earlier run are refreshed: removed here, made again below.
    for name in record.read_text(encoding="utf-8").splitlines() if record.is_file() else []:
        if name and name not in (".", "..") and Path(name).name == name:
            _remove(config_dir / name)
    copied: list[str] = []
    for entry in original.iterdir():
        if entry.name in ("dkist", COPIES_FILE):
            continue
        link = config_dir / entry.name
        if link.is_symlink():
            if Path(os.readlink(link)) == entry:
                continue
            link.unlink()
        elif link.exists():
            continue  # something real of ours (or the user's) lives there: leave it
        if _link_or_copy(link, entry):
            copied.append(entry.name)
    legacy_astropy = Path.home() / ".astropy" / "config"
    astropy_link = config_dir / "astropy"
    if not (original / "astropy").exists() and legacy_astropy.is_dir() and not astropy_link.exists():
        if _link_or_copy(astropy_link, legacy_astropy):
            copied.append("astropy")
    if copied:
        record.write_text("\n".join(copied) + "\n", encoding="utf-8")
    else:
        record.unlink(missing_ok=True)


def _seed_search_values(dataset_endpoint: str, timeout: float = 5.0) -> bool:
    """Write the endpoint's searchValues into dkist's cache file (best effort).

    dkist registers the values it *ships* when a process imports ``dkist.net`` with
    no cache file yet (it fetches, but reads the packaged file it had chosen
    before). Seeding the cache makes even a child's first import show the
    loopback's values. The child's cache is this one unless ``XDG_DATA_HOME`` differs.
    """
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(dataset_endpoint + "v1/searchValues", timeout=timeout) as resp:
            data = resp.read()
        json.loads(data)
    except Exception:  # noqa: BLE001 - the child's own import will try again
        return False
    target = _cache_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return True


def kernel_environment(
    config_dir: Path | str, dataset_endpoint: str, download_endpoint: str, transfer_url: str | None = None
) -> dict[str, str]:
    """Environment variables that make a fresh process use these endpoints.

    Writes ``{config_dir}/dkist/dkist.cfg``, mirrors the user's config home into
    ``config_dir`` (see the module docstring) and seeds dkist's search-values cache
    from the endpoint when it answers. Returns the variables to *add* to
    the child's environment: ``XDG_CONFIG_HOME`` and, when ``transfer_url`` is
    given, ``GLOBUS_SDK_SERVICE_URL_TRANSFER``.
    """
    config_dir = Path(config_dir).absolute()
    config_dir.mkdir(parents=True, exist_ok=True)
    original = _original_config_home()
    _mirror(config_dir, original)
    template = original / "dkist" / "dkist.cfg"
    if not template.is_file():
        template = Path.home() / ".dkist" / "config" / "dkist.cfg"
    write_dkist_cfg(config_dir, dataset_endpoint, download_endpoint, template=template)
    _seed_search_values(dataset_endpoint)
    env = {ENV_XDG_CONFIG: str(config_dir)}
    if transfer_url:
        env[ENV_GLOBUS_TRANSFER] = transfer_url
    return env
