"""Transfer settings: where transfers go and how, read from the environment a user sets.

:class:`TransferSettings` is the only thing that differs between the real Globus and
the sandbox's loopback one. :meth:`TransferSettings.from_environment` reads:

=========================================  ============================================
``DKIST_WIDGETS_GLOBUS_SOURCE``            DKIST endpoint id (else the data centre's
                                           ``config``, dkist's own lookup)
``DKIST_WIDGETS_GLOBUS_DESTINATION``       destination endpoint id (else the local
                                           Globus Connect Personal, else the user picks)
``DKIST_WIDGETS_GLOBUS_DESTINATION_ROOT``  the folder on *this* machine behind the
                                           destination's ``/~/`` (so landed files are
                                           seen); unset for a remote destination
``DKIST_WIDGETS_GLOBUS_LOGIN``             ``required`` (default) or ``none``: whether
                                           the Transfer API needs a Globus login. Only
                                           a Transfer service without Globus Auth (a
                                           test service) says ``none``.
``GLOBUS_SDK_SERVICE_URL_TRANSFER``        read by globus-sdk itself (and here to name
                                           the service in the task store)
=========================================  ============================================

Choices: nothing is guessed from a URL (a ``127.0.0.1`` Transfer URL says nothing
about whether it wants a token); an unknown ``DKIST_WIDGETS_GLOBUS_LOGIN`` value is
an error that names the accepted ones, not a silent default.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import globus_sdk

from .destinations import DEFAULT_DATASET_PATH, DEFAULT_TEMPLATE

__all__ = [
    "TransferSettings",
    "find_local_endpoint",
    "login_required_from_environment",
    "SYNC_LEVELS",
    "ENV_SOURCE",
    "ENV_DESTINATION",
    "ENV_DESTINATION_ROOT",
    "ENV_LOGIN",
    "ENV_TRANSFER_URL",
    "LOGIN_CHOICES",
]

SYNC_LEVELS = ("exists", "size", "mtime", "checksum")
ENV_DESTINATION = "DKIST_WIDGETS_GLOBUS_DESTINATION"
ENV_DESTINATION_ROOT = "DKIST_WIDGETS_GLOBUS_DESTINATION_ROOT"
ENV_SOURCE = "DKIST_WIDGETS_GLOBUS_SOURCE"
#: ``required`` | ``none``: does the Transfer API need a Globus login?
ENV_LOGIN = "DKIST_WIDGETS_GLOBUS_LOGIN"
#: globus-sdk's own variable for the Transfer API base URL.
ENV_TRANSFER_URL = "GLOBUS_SDK_SERVICE_URL_TRANSFER"
#: Accepted values of :data:`ENV_LOGIN` -> whether a login is required.
LOGIN_CHOICES = {"required": True, "none": False}


def login_required_from_environment() -> bool:
    """``DKIST_WIDGETS_GLOBUS_LOGIN``: ``required`` (also when unset) or ``none``."""
    raw = (os.environ.get(ENV_LOGIN) or "required").strip().lower()
    if raw not in LOGIN_CHOICES:
        raise ValueError(f"{ENV_LOGIN}={raw!r} is not understood; use one of {', '.join(LOGIN_CHOICES)}")
    return LOGIN_CHOICES[raw]


@dataclass
class TransferSettings:
    """Where transfers go and how; the only thing that differs between sandbox and real Globus.

    ``destination_local_root`` is the folder on *this* machine behind the
    destination endpoint's ``/~/`` (so the model can be pointed at landed files);
    ``None`` when unknown (a remote endpoint). ``login_required`` says whether the
    Transfer API needs a Globus login (``False`` only for a service without Globus
    Auth, such as a test's loopback Transfer API).
    """

    transfer_url: str | None = None
    source_endpoint_id: str | None = None
    destination_endpoint_id: str | None = None
    destination_local_root: Path | None = None
    destination_root: str = "/~/"
    destination_template: str = DEFAULT_TEMPLATE
    sync_level: str = "checksum"
    verify_checksum: bool = True
    dataset_path: str = DEFAULT_DATASET_PATH
    label_prefix: str = "DKIST"
    login_required: bool = True

    def __post_init__(self) -> None:
        if self.sync_level not in SYNC_LEVELS:
            raise ValueError(f"sync_level must be one of {SYNC_LEVELS}, got {self.sync_level!r}")
        if self.destination_local_root is not None:
            self.destination_local_root = Path(self.destination_local_root)

    @classmethod
    def from_environment(cls, **overrides: Any) -> TransferSettings:
        """Settings from the variables in the module notes; dkist's ``dataset_path`` if dkist.net is loaded."""
        kwargs: dict[str, Any] = {
            "source_endpoint_id": os.environ.get(ENV_SOURCE) or None,
            "destination_endpoint_id": os.environ.get(ENV_DESTINATION) or None,
            "destination_local_root": os.environ.get(ENV_DESTINATION_ROOT) or None,
            "login_required": login_required_from_environment(),
        }
        net = sys.modules.get("dkist.net")  # importing dkist.net reaches the network: only reuse it
        if net is not None:
            kwargs["dataset_path"] = str(net.conf.dataset_path)
        kwargs.update(overrides)
        return cls(**kwargs)

    @property
    def service_key(self) -> str:
        """Names the Transfer service (task ids only mean something there)."""
        url = self.transfer_url or os.environ.get(ENV_TRANSFER_URL) or "https://transfer.api.globus.org/"
        if "transfer.api.globus.org" in url:
            return "globus"
        return "svc-" + hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:10]


def find_local_endpoint() -> str | None:
    """The Globus Connect Personal endpoint id on this machine, or None."""
    try:
        return globus_sdk.LocalGlobusConnectPersonal().endpoint_id
    except Exception:  # noqa: BLE001 - an unreadable GCP config means "none"
        return None
