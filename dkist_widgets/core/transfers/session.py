"""TransferSession: a Transfer client bound to a login and settings; plans and submits.

Choices
-------
* **One task per request.** :meth:`TransferSession.submit` sends one
  ``TransferData`` per :class:`~.plan.TransferPlan` and returns its task id.
  ``sync_level="checksum"`` by default (files already present and identical are
  skipped; Globus still checks them), ``verify_checksum=True``.
* **Destination endpoint**: an explicit setting, else the local Globus Connect
  Personal (``globus_sdk.LocalGlobusConnectPersonal``), else the user picks one from
  :meth:`TransferSession.find_destinations` (own collections, guest collections and
  bookmarks first; :mod:`.destinations_search`).
* **Retries**: a click gives up fast (two quick retries), the watcher's own client
  retries once (its next tick is the real retry).
"""

from __future__ import annotations

from dataclasses import replace

import globus_sdk
from globus_sdk.transport import RetryConfig

from ..destination import check_local_destination
from ..globus_auth import GlobusLogin, consent_required_from
from .destination_folder import prepare_destination_folder
from .destinations_search import Destination, find_destinations
from .plan import TransferPlan, TransferPlanner
from .settings import SYNC_LEVELS, TransferSettings, find_local_endpoint

__all__ = ["TransferSession"]


class TransferSession(TransferPlanner):
    """A Transfer client bound to a login and settings; builds plans and submits them.

    ``login=None`` sends no token (only a Transfer service without Globus Auth
    accepts that; see ``TransferSettings.login_required``).
    """

    def __init__(
        self,
        settings: TransferSettings | None = None,
        login: GlobusLogin | None = None,
        *,
        client: globus_sdk.TransferClient | None = None,
    ):
        settings = settings or TransferSettings.from_environment()
        self.login = login
        authorizer = login.authorizer() if login is not None else globus_sdk.NullAuthorizer()
        if client is None:
            #: Interactive calls (a click: list, submit, cancel, endpoint search) run on the
            #: kernel's comm thread: two quick retries at most, not the SDK's default
            #: five with backoff up to 10 s. With Globus refusing connections a click
            #: gives up in 1.15 s instead of 15.9 s (benchmarks/results/loopback_http.md).
            client = globus_sdk.TransferClient(
                authorizer=authorizer,
                base_url=settings.transfer_url,
                retry_config=RetryConfig(max_retries=2, max_sleep=2),
            )
        super().__init__(settings, client)
        #: The watcher's client: one retry at most (a refreshed token, or one Retry-After),
        #: since the next tick is the real retry and SDK retries would multiply requests.
        self.poll_client = globus_sdk.TransferClient(
            authorizer=client.authorizer if client.authorizer is not None else authorizer,
            base_url=client.base_url,
            retry_config=RetryConfig(max_retries=1, max_sleep=5),
        )

    # ------------------------------------------------------------------ endpoints
    def source_endpoint(self) -> str:
        """The DKIST endpoint id: the setting, else the data centre's config (dkist's own lookup)."""
        if self.settings.source_endpoint_id:
            return self.settings.source_endpoint_id
        from dkist.net.globus.endpoints import get_data_center_endpoint_id  # network: only when needed

        self.settings.source_endpoint_id = get_data_center_endpoint_id()
        return self.settings.source_endpoint_id

    def destination_endpoint(self) -> str | None:
        """The setting, else the local Globus Connect Personal, else None (ask the user)."""
        return self.settings.destination_endpoint_id or find_local_endpoint()

    def search_endpoints(self, text: str, limit: int = 20) -> list[dict]:
        """Endpoint search by name; small dicts (id, display_name, owner, description, is_globus_connect)."""
        text = (text or "").strip()
        if not text:
            return []
        resp = self.client.endpoint_search(text, filter_scope="all", limit=limit)
        return [
            {
                "id": ep["id"],
                "display_name": ep.get("display_name") or ep.get("canonical_name") or ep["id"],
                "owner": ep.get("owner_string") or "",
                "description": ep.get("description") or "",
                "is_globus_connect": bool(ep.get("is_globus_connect")),
            }
            for ep in resp
        ]

    def find_destinations(self, text: str, limit: int = 20) -> list[Destination]:
        """Own collections, guest collections shared with the user and bookmarks matching
        ``text`` (labelled by group), then matches among all collections; deduplicated."""
        return find_destinations(self.client, text, limit)

    def describe_endpoint(self, endpoint_id: str) -> str:
        doc = self.client.get_endpoint(endpoint_id)
        return doc.get("display_name") or doc.get("canonical_name") or endpoint_id

    # ------------------------------------------------------------------ submit
    def for_destination(self, plan: TransferPlan, endpoint_id: str) -> TransferPlan:
        """The plan as it lands on ``endpoint_id``: its ``local_dirs`` only when that is this machine.

        The local folders are worked out for the configured destination (or the local
        Globus Connect Personal); files sent to any other endpoint land elsewhere.
        """
        if not plan.local_dirs or endpoint_id in (self.settings.destination_endpoint_id, find_local_endpoint()):
            return plan
        return replace(plan, local_dirs=())

    def submit(
        self,
        plan: TransferPlan,
        *,
        destination_endpoint_id: str | None = None,
        sync_level: str | None = None,
        verify_checksum: bool | None = None,
    ) -> str:
        """Submit one task for the plan; return its task id.

        When the files land on this machine, a folder that cannot be written or a disk
        without room is refused first (:func:`~dkist_widgets.core.destination.check_local_destination`).
        On any other collection (an institution's, a guest collection) each destination
        folder is looked up and created level by level, or refused in one sentence
        (:class:`~.destination_folder.DestinationRefused`), before anything is submitted.
        """
        dest = destination_endpoint_id or self.destination_endpoint()
        if not dest:
            raise ValueError("no destination endpoint: install Globus Connect Personal or pick an endpoint")
        level = sync_level or self.settings.sync_level
        if level not in SYNC_LEVELS:
            raise ValueError(f"sync_level must be one of {SYNC_LEVELS}")
        plan = self.for_destination(plan, dest)
        if plan.local_dirs:
            check_local_destination(plan.local_dirs, plan.bytes_total)
        else:
            for folder in dict.fromkeys(dest_folder for _, dest_folder in plan.folders):
                prepare_destination_folder(self.client, dest, folder)
        td = globus_sdk.TransferData(
            self.source_endpoint(),
            dest,
            label=plan.label or None,
            sync_level=level,
            verify_checksum=self.settings.verify_checksum if verify_checksum is None else verify_checksum,
        )
        for item in plan.items:
            td.add_item(item.source, item.destination, recursive=item.recursive)
        try:
            result = self.client.submit_transfer(td)
        except globus_sdk.GlobusAPIError as err:
            # a GCS v5 collection's consent / identity / MFA requirement: a sign-in fixes it
            consent = consent_required_from(err)
            if consent is not None:
                raise consent from err
            raise
        return result["task_id"]
