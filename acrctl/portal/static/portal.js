// acrctl portal: the Replications blade as a map. Every action is the ARM call the CLI makes,
// through the same routes, with the signed-in bearer token (kept in memory only). Every name
// shown goes through textContent; every error shown is the server's message.
"use strict";

(() => {
  const ACR_API = "2025-11-01";
  const ARM_API = "2022-12-01";
  const AUTHZ_API = "2022-04-01";
  const SCOPE = "https://management.azure.com/.default";
  const WRITE = "Microsoft.ContainerRegistry/registries/replications/write";
  const DELETE = "Microsoft.ContainerRegistry/registries/replications/delete";
  const SETTLED = new Set(["Succeeded", "Failed", "Canceled"]);
  const MIN_WAIT = 0.5; // seconds, when an answer's Retry-After is 0 or missing

  const state = {
    token: null, subs: [], registries: [], registry: null, offered: new Set(),
    replicas: new Map(), perms: null, selected: null, retryAfter: 1, refreshTimer: null,
    generation: 0,
  };
  const $ = (id) => document.getElementById(id);
  const regions = () => Array.from(document.querySelectorAll("#map .region"));
  const norm = (s) => String(s || "").replace(/\s+/g, "").toLowerCase();

  class ApiError extends Error {
    constructor(status, body) {
      const err = body && typeof body === "object" ? body.error : null;
      const message = err && typeof err === "object" ? err.message
        : (body && body.error_description) || `The server answered ${status}.`;
      super(String(message));
      this.status = status;
      this.code = err && typeof err === "object" ? String(err.code || "") : String(err || "");
    }
  }

  // -- HTTP -------------------------------------------------------------------------------
  function withVersion(url, version) {
    return url.includes("api-version=") ? url : `${url}${url.includes("?") ? "&" : "?"}api-version=${version}`;
  }

  async function call(method, url, body) {
    const headers = { Authorization: `Bearer ${state.token}` };
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(url, init);
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return { resp, data };
  }

  async function listAll(url) {
    const out = [];
    let next = url;
    while (next) {
      const { data } = await call("GET", next);
      out.push(...(data.value || []));
      next = data.nextLink || null;
    }
    return out;
  }

  const sleep = (seconds) => new Promise((done) => setTimeout(done, seconds * 1000));
  const retryAfter = (resp) => {
    const value = Number(resp.headers.get("Retry-After"));
    return Number.isFinite(value) && value > 0 ? value : MIN_WAIT;
  };

  // -- messages ---------------------------------------------------------------------------
  function showError(err) {
    $("message-code").textContent = err.code ? `${err.code}:` : "";
    $("message-text").textContent = err.message;
    $("message").hidden = false;
  }
  function clearError() { $("message").hidden = true; }
  function live(text) { $("live").textContent = text; }

  // -- sign-in ----------------------------------------------------------------------------
  async function signIn(token) {
    state.token = token;
    try {
      state.subs = await listAll(withVersion("/subscriptions", ARM_API));
    } catch (err) {
      state.token = null;
      throw err;
    }
    try {
      const { data } = await call("GET", withVersion("/providers/Microsoft.Authorization/whoami", AUTHZ_API));
      $("who").textContent = `Signed in as ${data.displayName || data.id}`;
    } catch (_) {
      $("who").textContent = "Signed in";
    }
    $("signin").hidden = true;
    $("workspace").hidden = false;
    $("signout").hidden = false;
    $("token").value = "";
    $("secret").value = "";
    fillSelect($("subscription"), state.subs, (s) => s.subscriptionId,
      (s) => `${s.displayName || s.subscriptionId} (${s.subscriptionId})`);
    await chooseSubscription();
  }

  async function servicePrincipalToken() {
    const form = new URLSearchParams({
      grant_type: "client_credentials", client_id: $("app-id").value.trim(),
      client_secret: $("secret").value, scope: SCOPE,
    });
    const tenant = encodeURIComponent($("tenant").value.trim());
    const resp = await fetch(`/${tenant}/oauth2/v2.0/token`, {
      method: "POST", body: form, cache: "no-store", credentials: "omit",
    });
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (!resp.ok || !data || !data.access_token) throw new ApiError(resp.status, data);
    return data.access_token;
  }

  function signinHandler(getToken) {
    return async (event) => {
      event.preventDefault();
      $("signin-error").hidden = true;
      try {
        await signIn(await getToken());
      } catch (err) {
        $("signin-error").textContent = err.message;
        $("signin-error").hidden = false;
      }
    };
  }

  function signOut() {
    state.generation += 1;
    clearTimeout(state.refreshTimer);
    Object.assign(state, { token: null, registry: null, replicas: new Map(), perms: null, selected: null });
    $("workspace").hidden = true;
    $("signin").hidden = false;
    $("signout").hidden = true;
    $("who").textContent = "";
  }

  // -- subscription and registry ----------------------------------------------------------
  function fillSelect(select, items, value, label) {
    select.replaceChildren(...items.map((item) => {
      const option = document.createElement("option");
      option.value = value(item);
      option.textContent = label(item);
      return option;
    }));
  }

  async function chooseSubscription() {
    clearError();
    const sub = $("subscription").value;
    state.registry = null;
    state.registries = [];
    if (!sub) { render(); return; }
    try {
      const base = `/subscriptions/${encodeURIComponent(sub)}`;
      const [registries, locations] = await Promise.all([
        listAll(withVersion(`${base}/providers/Microsoft.ContainerRegistry/registries`, ACR_API)),
        listAll(withVersion(`${base}/locations`, ARM_API)),
      ]);
      state.registries = registries;
      state.offered = new Set(locations.map((l) => norm(l.name)));
    } catch (err) {
      showError(err);
    }
    fillSelect($("registry"), state.registries, (r) => r.id,
      (r) => `${r.name} (${r.id.split("/")[4] || ""})`);
    $("notice").hidden = state.registries.length > 0;
    $("notice").textContent = "No registry in this subscription that you may read.";
    await chooseRegistry();
  }

  async function chooseRegistry() {
    clearError();
    const id = $("registry").value;
    state.registry = state.registries.find((r) => r.id === id) || null;
    state.replicas = new Map();
    state.perms = null;
    state.selected = null;
    if (state.registry) {
      await Promise.all([loadPermissions(), loadReplicas()]);
    }
    render();
  }

  async function loadPermissions() {
    const url = withVersion(`${state.registry.id}/providers/Microsoft.Authorization/permissions`, AUTHZ_API);
    try {
      state.perms = (await call("GET", url)).data.value || [];
    } catch (_) {
      state.perms = null; // unknown: the controls stay enabled and the server decides
    }
  }

  function glob(pattern, action) {
    const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
    return re.test(action);
  }

  function can(action) {
    if (state.perms === null) return true;
    return state.perms.some((p) => (p.actions || []).some((a) => glob(a, action))
      && !(p.notActions || []).some((n) => glob(n, action)));
  }

  async function loadReplicas() {
    const reg = state.registry;
    if (!reg) return;
    const generation = state.generation;
    try {
      const [fresh, items] = await Promise.all([
        call("GET", withVersion(reg.id, ACR_API)),
        listAll(withVersion(`${reg.id}/replications`, ACR_API)),
      ]);
      if (generation !== state.generation || state.registry !== reg) return;
      Object.assign(reg, fresh.data);
      state.replicas = new Map(items.map((r) => [norm(r.location), r]));
    } catch (err) {
      showError(err);
    }
    render();
    scheduleRefresh();
  }

  function busy(replica) {
    const props = replica.properties || {};
    const status = (props.status || {}).displayStatus;
    return !SETTLED.has(props.provisioningState) || status === "Provisioning" || status === "Syncing";
  }

  // refresh the replica list while anything is on its way (no reload, no refresh button)
  function scheduleRefresh() {
    clearTimeout(state.refreshTimer);
    if (Array.from(state.replicas.values()).some(busy)) {
      live("Updating…");
      state.refreshTimer = setTimeout(loadReplicas, state.retryAfter * 1000);
    } else {
      live("");
    }
  }

  // -- what each region is ----------------------------------------------------------------
  function describe(name) {
    const reg = state.registry;
    const home = reg && norm(reg.location) === name;
    const replica = state.replicas.get(name);
    if (replica) {
      const props = replica.properties || {};
      const status = props.provisioningState === "Deleting" ? "Deleting"
        : (props.status || {}).displayStatus || props.provisioningState || "";
      return { kind: "replica", home, replica, busy: busy(replica), text: `${home ? "home region, " : ""}replica, ${status}` };
    }
    if (!reg) return { kind: "none", home: false, text: "" };
    if (!state.offered.has(name)) return { kind: "unavailable", home, text: "not offered by this server" };
    if (reg.sku && reg.sku.name !== "Premium") {
      return { kind: "unavailable", home, text: home ? "home region" : `unavailable (${reg.sku.name})` };
    }
    return { kind: "available", home, text: "available" };
  }

  function render() {
    const reg = state.registry;
    $("sku").hidden = !reg;
    if (reg) {
      $("sku").textContent = `${(reg.sku || {}).name || ""} · home ${reg.location}`;
      $("sku").classList.toggle("premium", (reg.sku || {}).name === "Premium");
    }
    for (const g of regions()) {
      const name = g.dataset.region;
      const d = describe(name);
      g.dataset.kind = d.kind;
      g.dataset.busy = String(Boolean(d.busy));
      g.dataset.status = d.replica ? ((d.replica.properties || {}).status || {}).displayStatus || "" : "";
      g.classList.toggle("home", Boolean(d.home));
      g.classList.toggle("selected", state.selected === name);
      const label = d.text ? `${g.dataset.display}: ${d.text}` : g.dataset.display;
      g.setAttribute("aria-label", label);
      g.querySelector("title").textContent = label;
      g.setAttribute("aria-pressed", String(state.selected === name));
    }
    renderList();
    renderTable();
    renderDetails();
  }

  function cell(text, dot) {
    const td = document.createElement("td");
    if (dot) {
      const span = document.createElement("span");
      span.className = dot;
      td.append(span);
    }
    td.append(document.createTextNode(text));
    return td;
  }

  function renderTable() {
    const rows = Array.from(state.replicas.entries()).sort(([a], [b]) => a.localeCompare(b)).map(([name, r]) => {
      const props = r.properties || {};
      const tr = document.createElement("tr");
      tr.dataset.region = name;
      tr.classList.toggle("selected", state.selected === name);
      const home = state.registry && norm(state.registry.location) === name ? " (home)" : "";
      tr.append(cell(`${r.name}${home}`), cell(r.location),
        cell((props.status || {}).displayStatus || "", busy(r) ? "dot busy" : "dot"),
        cell(props.provisioningState || ""), cell(props.zoneRedundancy || "Disabled"),
        cell(props.regionEndpointEnabled === false ? "Off" : "On"));
      tr.addEventListener("click", () => select(name));
      return tr;
    });
    $("replica-rows").replaceChildren(...rows);
  }

  function buildList() {
    const groups = new Map();
    for (const g of regions()) {
      if (!groups.has(g.dataset.group)) groups.set(g.dataset.group, []);
      groups.get(g.dataset.group).push(g);
    }
    const parts = [];
    for (const group of Array.from(groups.keys()).sort()) {
      const h = document.createElement("h3");
      h.textContent = group;
      const ul = document.createElement("ul");
      const items = groups.get(group).sort((a, b) => a.dataset.display.localeCompare(b.dataset.display));
      for (const g of items) {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.dataset.region = g.dataset.region;
        const label = document.createElement("span");
        label.textContent = g.dataset.display;
        const what = document.createElement("span");
        what.className = "what";
        button.append(label, what);
        button.addEventListener("click", () => select(g.dataset.region));
        li.append(button);
        ul.append(li);
      }
      parts.push(h, ul);
    }
    $("region-list").replaceChildren(...parts);
  }

  function renderList() {
    for (const button of $("region-list").querySelectorAll("button")) {
      const d = describe(button.dataset.region);
      button.dataset.kind = d.kind;
      button.querySelector(".what").textContent = d.text;
      button.setAttribute("aria-current", String(state.selected === button.dataset.region));
    }
  }

  function renderDetails() {
    const name = state.selected;
    const g = name ? $(`region-${name}`) : null;
    $("create-panel").hidden = true;
    $("replica-panel").hidden = true;
    if (!g || !state.registry) {
      $("d-title").textContent = "Select a region";
      $("d-state").textContent = "Click a region on the map or in the list, or focus it and press Enter.";
      return;
    }
    const d = describe(name);
    $("d-title").textContent = g.dataset.display;
    $("d-state").textContent = d.home ? `Home region of ${state.registry.name}` : d.text;
    if (d.kind === "available") {
      const zones = g.dataset.zones === "true";
      $("create-zone").disabled = !zones;
      if (!zones) $("create-zone").checked = false;
      $("zone-hint").hidden = zones;
      $("create").disabled = !can(WRITE);
      $("create").textContent = `Create replication in ${g.dataset.display}`;
      $("create-panel").hidden = false;
    } else if (d.kind === "replica") {
      const props = d.replica.properties || {};
      const status = props.status || {};
      $("d-status").textContent = [status.displayStatus, status.message].filter(Boolean).join(": ");
      $("d-provisioning").textContent = props.provisioningState || "";
      $("d-zone").textContent = props.zoneRedundancy || "Disabled";
      const routing = props.regionEndpointEnabled !== false;
      $("d-routing").textContent = routing ? "On (regional endpoint enabled)" : "Off (regional endpoint disabled)";
      const tags = Object.entries(d.replica.tags || {});
      $("d-tags").replaceChildren(...(tags.length ? tags : [["", "none"]]).map(([k, v]) => {
        const li = document.createElement("li");
        li.textContent = k ? `${k}: ${v}` : v;
        if (!k) li.className = "none";
        return li;
      }));
      const settled = SETTLED.has(props.provisioningState);
      $("toggle-routing").textContent = routing ? "Disable routing" : "Enable routing";
      $("toggle-routing").disabled = !can(WRITE) || !settled;
      $("delete").disabled = !can(DELETE) || props.provisioningState === "Deleting";
      $("replica-panel").hidden = false;
    } else if (d.kind === "unavailable" && state.registry.sku && state.registry.sku.name !== "Premium") {
      $("d-state").textContent = `Geo-replication needs a Premium registry; ${state.registry.name} is ${state.registry.sku.name}.`;
    }
  }

  function select(name) {
    state.selected = name;
    clearError();
    render();
  }

  // -- actions ----------------------------------------------------------------------------
  function replicaUrl(name) {
    return withVersion(`${state.registry.id}/replications/${encodeURIComponent(name)}`, ACR_API);
  }

  // follow a long-running operation to its end, polling as Retry-After says
  async function follow(resp, kind) {
    state.retryAfter = retryAfter(resp);
    scheduleRefresh();
    const url = kind === "delete" ? resp.headers.get("Location") : resp.headers.get("Azure-AsyncOperation");
    let wait = state.retryAfter;
    while (url) {
      await sleep(wait);
      const { resp: polled, data } = await call("GET", url);
      wait = retryAfter(polled);
      if (kind === "delete") {
        if (polled.status !== 202) break;
      } else if (data && SETTLED.has(data.status)) {
        if (data.status !== "Succeeded" && data.error) throw new ApiError(400, { error: data.error });
        break;
      }
    }
  }

  async function run(action) {
    clearError();
    try {
      await action();
    } catch (err) {
      showError(err);
    }
    await loadReplicas();
  }

  async function create() {
    const name = state.selected;
    const body = {
      location: name,
      properties: {
        zoneRedundancy: $("create-zone").checked ? "Enabled" : "Disabled",
        regionEndpointEnabled: $("create-routing").checked,
      },
    };
    $("create").disabled = true;
    await run(async () => {
      const { resp, data } = await call("PUT", replicaUrl(name), body);
      state.replicas.set(name, data);
      render();
      await follow(resp, "put");
    });
  }

  async function toggleRouting() {
    const replica = state.replicas.get(state.selected);
    if (!replica) return;
    const enabled = (replica.properties || {}).regionEndpointEnabled !== false;
    $("toggle-routing").disabled = true;
    await run(async () => {
      const { resp } = await call("PATCH", replicaUrl(replica.name),
        { properties: { regionEndpointEnabled: !enabled } });
      await follow(resp, "patch");
    });
  }

  let answer = null; // resolves the open confirmation

  function confirmDelete(replica) {
    $("confirm-text").textContent = `Delete the replication ${replica.name} of ${state.registry.name}? Its region stops serving the registry.`;
    return new Promise((done) => {
      answer = done;
      $("confirm").showModal();
      $("confirm-no").focus();
    });
  }

  function closeConfirm(yes) {
    if ($("confirm").open) $("confirm").close();
    if (answer) answer(yes);
    answer = null;
  }

  async function remove() {
    const replica = state.replicas.get(state.selected);
    if (!replica || !(await confirmDelete(replica))) return;
    await run(async () => {
      const { resp } = await call("DELETE", replicaUrl(replica.name));
      if (resp.status === 202) await follow(resp, "delete");
    });
  }

  // -- wiring -----------------------------------------------------------------------------
  function wireRegions() {
    for (const g of regions()) {
      g.addEventListener("click", () => select(g.dataset.region));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(g.dataset.region);
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    buildList();
    wireRegions();
    $("token-form").addEventListener("submit", signinHandler(async () => $("token").value.trim()));
    $("sp-form").addEventListener("submit", signinHandler(servicePrincipalToken));
    $("signout").addEventListener("click", signOut);
    $("subscription").addEventListener("change", chooseSubscription);
    $("registry").addEventListener("change", chooseRegistry);
    $("refresh").addEventListener("click", () => { clearError(); loadReplicas(); });
    $("message-close").addEventListener("click", clearError);
    $("create").addEventListener("click", create);
    $("toggle-routing").addEventListener("click", toggleRouting);
    $("delete").addEventListener("click", remove);
    $("confirm-yes").addEventListener("click", () => closeConfirm(true));
    $("confirm-no").addEventListener("click", () => closeConfirm(false));
    $("confirm").addEventListener("close", () => closeConfirm(false));
  });
})();
