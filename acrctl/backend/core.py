"""The backend facade: one object that owns the store, the clock and the settings, and
offers the resource services (groups, registries, replications, webhooks), the RBAC engine
and the long-running-operation machine. Plain Python: no HTTP, no Click."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, observers
from acrctl.backend.clock import Clock
from acrctl.backend.errors import SubscriptionNotFound
from acrctl.backend.kinds import SUBSCRIPTION
from acrctl.backend.store import Store

# the validation helpers lived here; acrctl.backend.validation has them now (re-exported for
# the modules that still import them from here)
from acrctl.backend.validation import body_properties, check_name, check_tags  # noqa: F401

if TYPE_CHECKING:
    from acrctl.backend.deployments import Deployments
    from acrctl.backend.drills import Drills
    from acrctl.backend.imports import DataPlanePort


@dataclass
class Settings:
    """Server-side knobs. `lro_mode`: immediate | polls | seconds."""

    lro_mode: str = "immediate"
    lro_polls: int = 2
    lro_seconds: float = 5.0
    retry_after: int = 1
    page_size: int = 100
    activity_retention_days: float = 90.0  # activity log records older than this are pruned
    activity_max_records: int = 100_000  # per subscription; the oldest are pruned (0 = no cap)
    # finished long-running operations (their status URLs) are kept this long (0 = forever)
    operation_retention_hours: float = 24.0
    # records of attempts refused before their handler (403, 429...), per principal: a
    # token bucket (records a second, burst); past it they are counted, not written
    activity_refused_rate: float = 1.0
    activity_refused_burst: int = 20
    # request token buckets (acrctl.server.ratelimit): per second and bucket size; 0 = off
    rate_limit_writes: float = 100.0  # PUT/PATCH/DELETE/POST per principal
    rate_limit_write_burst: int = 2000
    rate_limit_reads: float = 0.0  # GET/HEAD per principal (off: reads write nothing)
    rate_limit_read_burst: int = 10_000
    rate_limit_anonymous: float = 10.0  # requests without valid credentials, per address
    rate_limit_anonymous_burst: int = 100
    rate_limit_tracked: int = 10_000  # principals and addresses tracked at once
    answer_cache_entries: int = 4096  # whole GET answers kept per process (0: off)
    # per-process caches of data derived from the store (exact: used only while the store
    # is unchanged; emptied when full), read when the backend or the app is made
    store_cache_entries: int = 4096  # tokens, grants, drills, registries' data-plane flags
    rbac_decision_cache_entries: int = 8192  # (principal, action, scope) -> allowed
    route_match_cache_entries: int = 4096  # (method, path) -> route and parameters
    # a service principal's new token expires after this many days unless its end date is
    # given (create-for-rbac --years, credential reset --years/--end-date); 0 = never
    token_lifetime_days: float = 365.0
    # the identity provider (acrctl.server.handlers.identity, docs/azure-cli.md): lifetime
    # of the JWT access tokens it hands out (cut to the secret's own end); the managed
    # identity endpoint answers requests carrying X-IDENTITY-HEADER = managed_identity_header
    # with tokens of managed_identity_principal (appId or display name); both "" = off
    access_token_lifetime_seconds: int = 3600
    managed_identity_header: str = ""
    managed_identity_principal: str = ""
    # ARM template evaluation (acrctl.backend.template_limits; past one: 400 InvalidTemplate)
    template_max_string_length: int = 1_048_576  # characters of one string
    template_max_value_size: int = 4_194_304  # one array/object, as serialized
    template_max_total_size: int = 16_777_216  # all values built and produced, summed
    template_max_steps: int = 50_000  # function calls, property and index reads
    template_max_depth: int = 100  # nesting of calls, variables, arrays and objects
    template_max_seconds: float = 1.0  # evaluation time of one deployment
    template_max_resources: int = 800  # resources in one template (ARM's limit)
    template_max_expression_length: int = 24_576  # characters (ARM's limit)
    # custom roles (acrctl.backend.rbac; past one: 400 RoleDefinitionLimitExceeded)
    custom_roles_max: int = 5000  # custom role definitions on the server (ARM, per tenant)
    role_assignable_scopes_max: int = 100  # assignableScopes of one custom role
    portal_enabled: bool = True  # the map page at /portal (acrctl.portal; 404 when off)
    # the data plane (acrctl.dataplane, docs/dataplane.md): set by the server while it runs
    # one, `<name>.<suffix>` is a registry's loginServer ("" = <name>.azurecr.io)
    login_server_suffix: str = ""
    dataplane_storage: str = ""  # region storage; "" = `dataplane` beside the database
    dataplane_issuer: str = "acrctl"  # `iss` of access tokens; regions trust only it
    dataplane_service: str = "acrctl-dataplane"  # `aud` of access tokens (regions' service)
    dataplane_token_seconds: int = 1200  # lifetime of an access token
    dataplane_refresh_seconds: int = 10800  # lifetime of a refresh token (/oauth2/exchange)
    dataplane_ready_seconds: float = 10.0  # a region must answer within this after start
    dataplane_restart_max_seconds: float = 30.0  # cap of a dead region's restart backoff
    dataplane_reconcile_seconds: float = 2.0  # how often regions follow the store
    dataplane_upstream_timeout: float = 300.0  # seconds without a byte from a region
    dataplane_upstream_connections: int = 100  # open connections from the front to regions
    dataplane_form_max_bytes: int = 65536  # body of a token request (413 past it)
    dataplane_rewrite_max_bytes: int = 1_048_576  # a region's answer rewritten in memory
    # routing to the nearest healthy replica (acrctl.dataplane.geo, docs/dataplane.md)
    dataplane_client_regions: str = ""  # "CIDR=region,...": where clients are
    dataplane_health_interval_seconds: float = 1.0  # how often each region is probed
    dataplane_health_timeout_seconds: float = 1.0  # a probe's answer must come within this
    dataplane_push_pin_seconds: float = 60.0  # a push stays on its region this long idle
    dataplane_push_pins_max: int = 100_000  # push sessions remembered at once
    # data endpoints (acrctl.dataplane.dataep, docs/dataplane.md)
    dataplane_data_url_seconds: int = 1200  # lifetime of a pre-signed blob URL (ACR: 20 min)
    dataplane_data_chunk_bytes: int = 1_048_576  # read size of a blob served by a data endpoint
    dataplane_data_redirect: str = "auto"  # blob GETs given a 307: auto|client-region|always
    # the replication engine (acrctl.dataplane.engine, docs/dataplane.md)
    replication_backfill: bool = False  # set by the server while its engine runs
    replication_workers: int = 4  # tasks copied at once
    replication_max_attempts: int = 6  # attempts of one task before it is Failed
    replication_backoff_seconds: float = 1.0  # before the 2nd attempt; doubles, jittered
    replication_backoff_max_seconds: float = 60.0  # cap of one backoff delay
    replication_lease_seconds: float = 900.0  # a claimed task stays with its worker
    replication_poll_seconds: float = 0.5  # idle workers look for due tasks this often
    replication_reconcile_seconds: float = 30.0  # how often regions are compared (catch-up)
    replication_blob_retries: int = 3  # a failed blob copy is retried from zero
    replication_blob_parallel: int = 4  # blobs of one manifest copied at once
    replication_timeout: float = 300.0  # seconds without a byte from a region
    replication_chunk_bytes: int = 1_048_576  # read size of a streamed blob copy
    replication_fanout_chunks: int = 4  # chunks queued per target when one read feeds several
    replication_local_source: bool = True  # send blobs from a source region's storage on this host
    replication_storage_copy: bool = True  # ... and into a target region's storage on this host
    replication_task_retention_seconds: float = 86_400.0  # finished tasks kept for status
    replication_verify_max_tags: int = 10_000  # tags one verifyReplication compares (then stops)
    import_max_concurrent: int = 4  # imports copying at once per server (then 429)
    # webhook destinations (acrctl.delivery.Policy, docs/webhooks.md): networks (CIDRs)
    # deliveries may / may not go to; loopback and private ones (None: off on a server, on
    # embedded); public ones; TLS verification (false, or a CA bundle file)
    webhook_allow: list[str] = field(default_factory=list)
    webhook_deny: list[str] = field(default_factory=list)
    webhook_allow_local: bool | None = None
    webhook_allow_public: bool = True
    webhook_verify: bool | str = True
    # the webhook outbox (acrctl.backend.webhooks)
    webhook_max_attempts: int = 5  # attempts per event before it is marked failed
    webhook_backoff: float = 5.0  # seconds before the 2nd attempt; doubles each time
    webhook_backoff_max: float = 300.0  # cap of one backoff delay
    # how long a claimed event stays with its worker (raised to at least twice
    # webhook_timeout, so an attempt never outlives its lease)
    webhook_lease: float = 60.0
    # the webhook sender (acrctl.delivery)
    webhook_connect_timeout: float = 2.0
    webhook_timeout: float = 5.0  # one attempt in all: DNS, connect, TLS, send, the answer
    webhook_workers: int = 8  # concurrent deliveries per worker process
    webhook_per_endpoint: int = 2  # of which at most this many to one receiving host
    webhook_max_answer_head: int = 16384  # bytes of a receiver's status line and headers
    # the embedded mode's background sender (acrctl.delivery_agent)
    webhook_agent_lifetime: float = 600.0  # seconds an agent runs at most
    webhook_agent_log_bytes: int = 1_048_576  # its log is rotated past this size
    # set by the server from its own options (--allow-reset, --bootstrap-token)
    allow_reset: bool = False  # the admin reset endpoint answers
    admin_token: str | None = None  # the admin keeps this token across a reset
    # delete tombstones: a replica region that missed a delete has it reconciled this long
    replication_tombstone_retention_seconds: float = 604_800.0


class Backend:
    def __init__(
        self, store: Store, clock: Clock | None = None, settings: Settings | None = None
    ) -> None:
        from acrctl.backend.activity import Activity
        from acrctl.backend.gencache import GenerationCache
        from acrctl.backend.groups import Groups
        from acrctl.backend.operations import Operations
        from acrctl.backend.rbac import Rbac
        from acrctl.backend.registries import Registries
        from acrctl.backend.replications import Replications
        from acrctl.backend.resources import Resources
        from acrctl.backend.webhooks import Webhooks

        self.store = store
        self.clock = clock or Clock()
        self.settings = settings or Settings()
        # watches nothing until observe() installs another
        self.observer: observers.Observer = observers.Observer()
        entries = self.settings.store_cache_entries
        # derived data, exact while the store is unchanged
        self.cache = GenerationCache(self, entries)
        self.read_cache = GenerationCache(self, entries)  # settled GET answers (server.http)
        self.rbac = Rbac(self)
        self.ops = Operations(self)
        self.groups = Groups(self)
        self.registries = Registries(self)
        self.replications = Replications(self)
        self.resources = Resources(self)  # reads across kinds (server handlers, data plane)
        self.webhooks = Webhooks(self)
        self.activity = Activity(self)
        self.dataplane: DataPlanePort | None = None  # set by a running data plane

    @functools.cached_property
    def deployments(self) -> Deployments:
        """Template deployments; built on first use (the template engine is large and most
        commands never need it)."""
        from acrctl.backend.deployments import Deployments

        return Deployments(self)

    @functools.cached_property
    def drills(self) -> Drills:
        """Failure drills (acrctl.backend.drills): what the replication reads and the
        server's guard ask before answering."""
        from acrctl.backend.drills import Drills

        return Drills(self)

    # -- subscriptions and bootstrap ------------------------------------------------------
    def bootstrap(
        self, admin_token: str | None = None, subscription: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """On first start create a subscription and an Owner admin principal. Returns the
        subscription and the admin token (None when the store was already bootstrapped)."""
        with self.store.transaction():
            subs = self.list_subscriptions()
            if subs:
                return subs[0], None
            sub = self.create_subscription(subscription or str(uuid.uuid4()), "acrctl")
            principal, token = self.rbac.create_principal("admin", "User", admin_token)
            self.rbac.create_assignment(
                sub["id"],
                str(uuid.uuid4()),
                {
                    "properties": {
                        "roleDefinitionId": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
                        "principalId": principal["id"],
                    }
                },
            )
            self.store.meta_set("admin_principal", principal["id"])
            return sub, token

    def create_subscription(self, sub_id: str, name: str) -> dict[str, Any]:
        doc = {
            "id": ids.subscription_id(sub_id),
            "subscriptionId": sub_id,
            "displayName": name,
            "state": "Enabled",
            "tenantId": sub_id,
            "authorizationSource": "RoleBased",
        }
        self.store.put(SUBSCRIPTION, ids.key(doc["id"]), "", sub_id, doc)
        return doc

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return [i.doc for i in self.store.list(SUBSCRIPTION)]

    def subscription(self, sub: str) -> dict[str, Any]:
        item = self.store.get(SUBSCRIPTION, ids.key(ids.subscription_id(sub)))
        if item is None:
            raise SubscriptionNotFound(f"The subscription '{sub}' could not be found.")
        return item.doc

    def admin_principal_id(self) -> str | None:
        return self.store.meta_get("admin_principal")

    def observe(self, observer: observers.Observer) -> None:
        """Install the one observer of this backend (the server's metrics): it times the
        store's calls and hears of what the backend records (acrctl.backend.observers)."""
        self.observer = observer
        if hasattr(self.store, "timer"):
            setattr(self.store, "timer", observer.store_timer)  # noqa: B010 - the store's hook

    def pending_migrations(self) -> list[Any]:
        """Schema migrations the store still needs (a store without migrations: none)."""
        pending = getattr(self.store, "pending_migrations", None)
        return list(pending()) if callable(pending) else []

    def reset(self) -> None:
        self.store.reset()

    # -- shared helpers ---------------------------------------------------------------------
    def system_data(self, caller: Any, prev: dict[str, Any] | None = None) -> dict[str, Any]:
        now = self.clock.iso()
        ctype = getattr(caller, "type", "User")
        name = getattr(caller, "name", "system")
        created = prev or {"createdBy": name, "createdByType": ctype, "createdAt": now}
        return {
            "createdBy": created["createdBy"],
            "createdByType": created["createdByType"],
            "createdAt": created["createdAt"],
            "lastModifiedBy": name,
            "lastModifiedByType": ctype,
            "lastModifiedAt": now,
        }
