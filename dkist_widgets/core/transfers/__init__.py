"""Globus transfers of DKIST files, one concern per module.

No widgets here (:mod:`dkist_widgets.panels.transfers` shows them). The same code
drives real Globus and the sandbox's loopback Transfer API; only
:class:`TransferSettings` (read from the environment a user sets) and the
credentials differ.

=====================  ==========================================================
:mod:`.settings`       :class:`TransferSettings`, environment variables (including
                       whether a login is required), :func:`find_local_endpoint`
:mod:`.destinations`   destination path templates, dataset folders, labels
:mod:`.plan`           :class:`TransferItem`, :class:`TransferPlan`, planning (no
                       side effects)
:mod:`.session`        :class:`TransferSession`: client, endpoints, submission
:mod:`.progress`       :class:`TaskProgress`, :func:`status_words`, rate and ETA
:mod:`.store`          :class:`TaskStore`: task ids across kernel restarts
:mod:`.watcher`        :class:`TransferWatcher`: the polling thread
:mod:`.file_activity`  which files of a model are transferring or failed
=====================  ==========================================================

Each module's docstring gives the choices made for its concern.
"""

from .destinations import (
    DEFAULT_BUCKET,
    DEFAULT_DATASET_PATH,
    DEFAULT_TEMPLATE,
    TEMPLATE_FIELDS,
    PathTemplateError,
    clean_label,
    dataset_folder,
    expand_destination,
    template_fields,
)
from .file_activity import TransferFileStates, fault_path
from .plan import TransferItem, TransferPlan, TransferPlanner
from .progress import EVENT_LIMIT, TaskProgress, status_words
from .session import TransferSession
from .settings import (
    ENV_DESTINATION,
    ENV_DESTINATION_ROOT,
    ENV_LOGIN,
    ENV_SOURCE,
    ENV_TRANSFER_URL,
    LOGIN_CHOICES,
    SYNC_LEVELS,
    TransferSettings,
    find_local_endpoint,
    login_required_from_environment,
)
from .store import STORE_LIMIT, TaskStore
from .watcher import FINISHED_KEEP, TASK_LIST_MAX_IDS, TransferWatcher

__all__ = [
    "TransferSettings",
    "TransferSession",
    "TransferPlanner",
    "TransferPlan",
    "TransferItem",
    "TransferWatcher",
    "TransferFileStates",
    "TaskStore",
    "TaskProgress",
    "PathTemplateError",
    "TEMPLATE_FIELDS",
    "DEFAULT_BUCKET",
    "DEFAULT_DATASET_PATH",
    "DEFAULT_TEMPLATE",
    "SYNC_LEVELS",
    "STORE_LIMIT",
    "EVENT_LIMIT",
    "FINISHED_KEEP",
    "TASK_LIST_MAX_IDS",
    "ENV_SOURCE",
    "ENV_DESTINATION",
    "ENV_DESTINATION_ROOT",
    "ENV_LOGIN",
    "ENV_TRANSFER_URL",
    "LOGIN_CHOICES",
    "expand_destination",
    "template_fields",
    "dataset_folder",
    "status_words",
    "clean_label",
    "fault_path",
    "find_local_endpoint",
    "login_required_from_environment",
]
