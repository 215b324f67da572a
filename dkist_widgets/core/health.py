"""Reachability of the services the notebook talks to (no widgets).

A probe is one HTTP GET with a short timeout. Any HTTP answer below 500 counts as
"reachable": the real Globus answers 401 without a token, and that still tells the
user the network path works. Connection errors, timeouts and 5xx count as down; a
URL that cannot be asked at all (malformed, endless redirects) is down with the
reason's name, never an exception in the checking thread.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass

import requests

__all__ = ["ServiceHealth", "probe", "default_services", "transfer_base_url"]

GLOBUS_TRANSFER_DEFAULT = "https://transfer.api.globus.org/v0.10/"


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    url: str
    ok: bool | None
    detail: str
    latency_ms: float | None

    def to_json(self) -> dict:
        return asdict(self)


def probe(name: str, url: str, timeout: float = 3.0) -> ServiceHealth:
    """GET ``url`` once and describe the answer in plain words."""
    start = time.perf_counter()
    try:
        response = requests.get(url, timeout=timeout)
    except requests.Timeout:
        return ServiceHealth(name, url, False, f"no answer within {timeout:g} s", None)
    except requests.ConnectionError:
        return ServiceHealth(name, url, False, "cannot connect", None)
    except requests.RequestException as err:  # a malformed URL, too many redirects...
        return ServiceHealth(name, url, False, f"cannot ask ({type(err).__name__})", None)
    latency = (time.perf_counter() - start) * 1000.0
    if response.status_code >= 500:
        return ServiceHealth(name, url, False, f"server error {response.status_code}", latency)
    return ServiceHealth(name, url, True, f"reachable (HTTP {response.status_code})", latency)


def transfer_base_url() -> str:
    """The Globus Transfer base URL this process uses (the env var globus-sdk reads)."""
    return os.environ.get("GLOBUS_SDK_SERVICE_URL_TRANSFER", GLOBUS_TRANSFER_DEFAULT)


def default_services() -> list[tuple[str, str]]:
    """(name, probe URL) for the DKIST data centre and Globus Transfer in use now."""
    import dkist.net

    conf = dkist.net.conf
    datacentre = f"{conf.dataset_endpoint}{conf.dataset_config_path}"
    transfer = transfer_base_url().rstrip("/") + "/endpoint_search?filter_fulltext=DKIST"
    return [("DKIST data centre", datacentre), ("Globus Transfer", transfer)]
