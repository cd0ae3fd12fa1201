"""The data plane (issue 15): real OCI registries behind acrctl's login servers.

* `supervisor`: one CNCF distribution process (Debian `docker-registry`) per region, on a
  loopback port, token auth pointed at acrctl, restarted with backoff when it dies.
* `pki`: the root certificate the regions trust and the leaf that signs access tokens.
* `tokens`: the ACR token service (`/oauth2/token`, `/oauth2/exchange`): requested access
  intersected with what RBAC grants.
* `front`: the data-plane listener (ASGI): registry from the Host header or the path,
  repository names into the registry's namespace, the OCI API streamed to the region.
* `plane`: ties them to a running server (start, reconcile with the store, stop).

The backend stays free of HTTP: this package calls it for permissions and replica lists,
as acrctl.delivery does for webhooks. docs/dataplane.md describes it for operators."""
