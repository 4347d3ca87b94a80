// The cloudapi admin console: vanilla JS over the /admin JSON API.
// The session is an HttpOnly cookie; writes echo the CSRF token from the page's <meta>.
// Every value from the API is written with textContent, never as HTML.
"use strict";

(() => {
  const CAPACITY_POLL_MS = 2000;
  const INSTANCE_POLL_MS = 1000;
  const DEFAULT_PLAN = "g1-gpu-rtx6000-1";
  const EMPLOYEE = "employee";

  const $ = (selector, root = document) => root.querySelector(selector);

  // el("div", {class: "x", data: {state: "free"}, title: "t"}, "text", childNode, ...)
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "data") Object.assign(node.dataset, value);
      else if (key === "on") Object.entries(value).forEach(([ev, fn]) => node.addEventListener(ev, fn));
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiFailure extends Error {
    constructor(status, errors) {
      const reasons = errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason));
      super(reasons.join("; ") || `HTTP ${status}`);
      this.status = status;
      this.errors = errors;  // the API's [{field, reason}]: some refusals are acted on
    }
  }

  function csrfToken() {
    const meta = $('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // One JSON call. A 401 on the console means the session ended: back to the login form.
  async function api(method, path, body, { on401 = "reload" } = {}) {
    const init = { method, credentials: "same-origin", cache: "no-store",
                   headers: { Accept: "application/json" } };
    if (method !== "GET") init.headers["X-CSRF-Token"] = csrfToken();
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) {
      if (response.status === 401 && on401 === "reload") window.location.reload();
      throw new ApiFailure(response.status, data && Array.isArray(data.errors) ? data.errors : []);
    }
    return data;
  }

  function notice(text, kind = "info") {
    const box = $("#notice");
    if (!box) return;
    box.textContent = text;
    box.dataset.kind = kind;
    box.hidden = !text;
  }

  function showError(node, error) {
    node.textContent = error ? String(error.message || error) : "";
    node.hidden = !error;
  }

  const gib = (mb) => `${(mb / 1024).toFixed(0)} GiB`;
  const shortPlan = (id) => id.replace(/^g1-gpu-/, "");

  // ------------------------------------------------------------------ login page
  function initLogin() {
    const form = $("#login-form");
    const input = $("#login-token");
    const error = $("#login-error");
    input.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const token = input.value.trim();
      input.value = "";  // the token is not kept in the page
      showError(error, null);
      if (!token) return;
      $("#login-submit").disabled = true;
      try {
        await api("POST", "/admin/session", { token }, { on401: "throw" });
        window.location.replace(window.location.pathname);
      } catch (failure) {
        const text = failure.status === 401
          ? "Sign-in refused: that is not an admin token."
          : `Sign-in failed: ${failure.message}`;
        showError(error, text);
      } finally {
        $("#login-submit").disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ tabs
  const TABS = ["capacity", "flags", "accounts", "bringup"];
  const onShow = {};
  let activeTab = null;

  function showTab(name) {
    if (!TABS.includes(name)) name = "capacity";
    activeTab = name;
    for (const tab of TABS) {
      $(`#tab-${tab}`).hidden = tab !== name;
      const button = $(`#tabbtn-${tab}`);
      button.setAttribute("aria-selected", String(tab === name));
      button.classList.toggle("active", tab === name);
    }
    if (window.location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
    if (onShow[name]) onShow[name]();
  }

  // ------------------------------------------------------------------ capacity
  let capacityBusy = false;
  let lastCapacity = null;

  async function refreshCapacity() {
    if (capacityBusy) return;
    capacityBusy = true;
    try {
      const report = await api("GET", "/admin/capacity");
      lastCapacity = report;
      renderCapacity(report);
      $("#capacity-updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (failure) {
      $("#capacity-updated").textContent = `refresh failed: ${failure.message}`;
    } finally {
      capacityBusy = false;
    }
  }

  function sellableList(plans, sellable) {
    return el("dl", { class: "sellable" }, plans.map((plan) => [
      el("dt", { title: plan }, shortPlan(plan)),
      el("dd", { data: { plan } }, sellable[plan] ?? 0),
    ]));
  }

  function totals(thing) {
    return el("span", { class: "totals" },
      el("b", {}, thing.gpus_total), " GPUs · ",
      el("b", {}, thing.gpus_allocated), " allocated · ",
      el("b", {}, thing.gpus_free), " free");
  }

  function gpuBox(gpu, hostStatus) {
    const state = gpu.instance_id !== null ? "allocated" : hostStatus === "active" ? "free" : "unavailable";
    const title = `${gpu.pci_address} ${gpu.model}` +
      (gpu.instance_id !== null ? ` — Linode ${gpu.instance_id}, account ${gpu.account_id}` : "");
    return el("div", {
      class: "gpu", title,
      data: { state, pci: gpu.pci_address, instance: gpu.instance_id ?? "", account: gpu.account_id ?? "" },
    },
    el("span", { class: "pci" }, gpu.pci_address.replace(/^0000:/, "")),
    state === "allocated"
      ? [el("span", { class: "holder" }, `#${gpu.instance_id}`),
         el("span", { class: "holder" }, `acct ${gpu.account_id}`)]
      : el("span", { class: "holder" }, state === "free" ? "free" : hostStatus));
  }

  function hostCard(host, plans) {
    const active = host.status === "active";
    return el("article", { class: `host${active ? "" : " inactive"}`, data: { host: host.hostname, status: host.status } },
      el("header", {},
        el("h4", {}, host.hostname),
        el("span", { class: `badge status-${host.status}` }, host.status)),
      el("div", { class: "host-totals" }, totals(host)),
      el("div", { class: "numa-nodes" }, host.numa_nodes.map((node) =>
        el("div", { class: "numa", data: { node: node.node } },
          el("div", { class: "numa-head" },
            el("b", {}, `NUMA ${node.node}`),
            el("span", { class: "muted" },
              ` threads ${node.threads_free}/${node.threads_total} · mem ${gib(node.memory_free_mb)}/${gib(node.memory_mb)}`)),
          el("div", { class: "gpus" }, node.gpus.map((gpu) => gpuBox(gpu, host.status)))))),
      el("div", { class: "host-sellable" }, el("span", { class: "muted" }, "sellable"), sellableList(plans, host.sellable)));
  }

  function renderCapacity(report) {
    const root = $("#capacity");
    const all = report.regions.reduce((acc, r) => ({
      gpus_total: acc.gpus_total + r.gpus_total,
      gpus_allocated: acc.gpus_allocated + r.gpus_allocated,
      gpus_free: acc.gpus_free + r.gpus_free,
    }), { gpus_total: 0, gpus_allocated: 0, gpus_free: 0 });
    $("#capacity-summary").replaceChildren(
      `${report.regions.length} region(s) with GPU hosts: `, totals(all));
    if (!report.regions.length) {
      root.replaceChildren(el("p", { class: "muted" }, "No GPU hosts registered."));
      return;
    }
    root.replaceChildren(...report.regions.map((region) =>
      el("section", { class: "region card", data: { region: region.region } },
        el("header", { class: "region-head" },
          el("h3", {}, region.region),
          totals(region),
          el("div", { class: "region-sellable" },
            el("span", { class: "muted" }, "sellable per plan"), sellableList(report.plans, region.sellable))),
        el("div", { class: "hosts" }, region.hosts.map((host) => hostCard(host, report.plans))))));
  }

  // ------------------------------------------------------------------ flags
  // A launch flag can be scoped: on in some regions only, for a share of accounts. The list
  // does not say which flags take a scope, so every row offers the scope controls (folded
  // away) and the API's refusal of a non-launch flag ("... is not a launch flag") is shown
  // as a notice: the rule lives in one place, the server.
  let regionChoices = [];         // [{id, label}] for the "open region" select
  const scopesUnfolded = new Set();  // flags whose scope controls are open: kept across reloads
  let refused = null;             // the open-region flip refused for capacity: {flag, scope}

  async function loadFlags() {
    try {
      const [flags, audit] = await Promise.all([
        api("GET", "/admin/flags"), api("GET", "/admin/flags/audit"), loadRegionChoices()]);
      renderFlags(flags);
      renderAudit(audit.data);
    } catch (failure) {
      notice(`Could not load flags: ${failure.message}`, "error");
    }
  }

  // Regions come and go with a migration, not while the page is open: read them once.
  async function loadRegionChoices() {
    if (regionChoices.length) return;
    try {
      // The public catalog: a 401 here is not the console session ending.
      const page = await api("GET", "/v4/regions?page_size=500", undefined, { on401: "throw" });
      regionChoices = page.data.map((r) => ({ id: r.id, label: r.label }))
        .sort((a, b) => a.id.localeCompare(b.id));
    } catch (failure) {
      notice(`Could not load the regions: ${failure.message}`, "error");
    }
  }

  // "on everywhere", "on in us-ord, us-sea" or "off"; then " · rollout 30%" when a share is set
  // (null: the share the flags file defines).
  function scopeText(enabled, regions, rollout) {
    const where = !enabled ? "off" : regions === null ? "on everywhere" : `on in ${regions.join(", ")}`;
    // 100% is every account: said only when a share is set.
    return rollout === null || rollout === undefined || rollout === 100
      ? where : `${where} · rollout ${rollout}%`;
  }

  function renderFlags(list) {
    $("#flags-context").replaceChildren(
      "Environment ", el("b", { id: "flags-environment" }, list.environment),
      " · source ", el("b", {}, list.mode));
    $("#flags-table tbody").replaceChildren(...list.data.map(flagRow));
  }

  function flagRow(flag) {
    return el("tr", {
      data: { flag: flag.name, enabled: String(flag.enabled),
              regions: flag.regions === null ? "everywhere" : flag.regions.join(","),
              rollout: flag.rollout ?? "" },
    },
    el("td", {}, el("code", {}, flag.name), el("div", { class: "muted" }, flag.description)),
    el("td", {}, el("span", { class: `badge ${flag.enabled ? "on" : "off"}` },
      `${flag.enabled ? "ON" : "OFF"} in ${flag.environment}`)),
    el("td", { class: "scope" },
      el("div", { class: "scope-summary" }, scopeText(flag.enabled, flag.regions, flag.rollout)),
      scopeControls(flag)),
    el("td", {}, el("ul", { class: "strategies" }, flag.strategies.map((s) => el("li", {}, s)))),
    el("td", {}, el("button", {
      type: "button", class: flag.enabled ? "danger" : "primary",
      data: { action: flag.enabled ? "disable" : "enable" },
      on: { click: () => toggleFlag(flag) },
    }, flag.enabled ? "Roll back (disable)" : "Launch (enable)")));
  }

  // Folded by default: most visits only read the table.
  function scopeControls(flag) {
    const scoped = flag.regions !== null;
    return el("details", {
      class: "scope-controls", open: scopesUnfolded.has(flag.name),
      on: { toggle: (event) => (event.currentTarget.open
        ? scopesUnfolded.add(flag.name) : scopesUnfolded.delete(flag.name)) },
    },
    el("summary", {}, "Change scope…"),
    openRegionForm(flag),
    scoped ? el("div", { class: "scope-row" }, el("span", { class: "muted" }, "Close"),
      flag.regions.map((region) => el("button", {
        type: "button", class: "region-chip", data: { action: "close-region", region },
        title: `Close ${region}`, on: { click: () => closeRegion(flag, region) },
      }, `${region} ×`))) : null,
    scoped && flag.enabled ? el("div", { class: "scope-row" }, el("button", {
      type: "button", data: { action: "open-everywhere" }, on: { click: () => openEverywhere(flag) },
    }, "Open everywhere")) : null,
    rolloutForm(flag));
  }

  function openRegionForm(flag) {
    // A flag that is off starts from just the regions opened, so none counts as open yet.
    const open = new Set(flag.enabled && flag.regions !== null ? flag.regions : []);
    const select = el("select", { class: "region-select", "aria-label": `Region to open for ${flag.name}` },
      regionChoices.filter((r) => !open.has(r.id)).map((r) =>
        el("option", { value: r.id }, `${r.id} (${r.label})`)));
    return el("form", {
      class: "scope-row", data: { scope: "open-region" },
      on: { submit: (event) => { event.preventDefault(); if (select.value) openRegion(flag, select.value); } },
    }, select, el("button", { type: "submit", data: { action: "open-region" } }, "Open region"));
  }

  function rolloutForm(flag) {
    const input = el("input", {
      type: "number", class: "rollout-input", min: 0, max: 100, step: 1, required: true,
      value: flag.rollout ?? 100, "aria-label": `Rollout percentage for ${flag.name}`,
    });
    return el("form", {
      class: "scope-row", data: { scope: "rollout" },
      on: { submit: (event) => { event.preventDefault(); setRollout(flag, Number(input.value)); } },
    }, el("span", { class: "muted" }, "Rollout"), input, "% of accounts",
    el("button", { type: "submit", data: { action: "set-rollout" } }, "Set rollout"));
  }

  // Each control below asks before it flips, naming the flag and the environment.
  function toggleFlag(flag) {
    const verb = flag.enabled ? "Roll back: DISABLE" : "Launch: ENABLE";
    const scoped = flag.enabled && flag.regions !== null ? ` everywhere (it is on in ${flag.regions.join(", ")})` : "";
    flip(flag, flag.enabled ? "disable" : "enable", undefined,
      `${verb} flag "${flag.name}"${scoped} in environment "${flag.environment}"?`);
  }

  function openRegion(flag, region) {
    const fresh = flag.enabled ? "" : ` It is OFF now: it goes ON in ${region} only.`;
    flip(flag, "enable", { regions: [region] },
      `Open region ${region} for flag "${flag.name}" in environment "${flag.environment}"?${fresh}`);
  }

  function closeRegion(flag, region) {
    const last = flag.regions.length === 1 ? " It is the last region: the flag goes OFF." : "";
    flip(flag, "disable", { regions: [region] },
      `Close region ${region} for flag "${flag.name}" in environment "${flag.environment}"?${last}`);
  }

  function openEverywhere(flag) {
    flip(flag, "enable", { everywhere: true },
      `Open flag "${flag.name}" in every region (now ${flag.regions.join(", ")}) in environment "${flag.environment}"?`);
  }

  function setRollout(flag, percent) {
    const off = flag.enabled ? "" : " It is OFF now: this turns it ON.";
    flip(flag, "enable", { rollout: percent },
      `Set the rollout of flag "${flag.name}" to ${percent}% of accounts in environment "${flag.environment}"?${off}`);
  }

  // Every flip: confirm, POST, say what it did (or why not), then reload flags and audit.
  async function flip(flag, action, scope, question) {
    if (!window.confirm(question)) return;
    hideRefusal();
    try {
      const done = await api("POST", `/admin/flags/${encodeURIComponent(flag.name)}/${action}`, scope);
      const change = done.change ? ` (${done.change})` : "";
      notice(`${done.name} in ${done.environment}: ${scopeText(done.to, done.regions, done.rollout)}${change}.`);
    } catch (failure) {
      const refusal = scope && scope.regions && !scope.force ? capacityRefusal(failure) : null;
      if (refusal) showRefusal(flag, scope, refusal);
      else notice(`Could not ${action} ${flag.name}: ${failure.message}`, "error");
    }
    await loadFlags();
  }

  // Opening a region where none of the launch's plans can be sold is refused (400, field
  // "regions"): a headline that says to use force, then the capacity table, a line a region.
  function capacityRefusal(failure) {
    const error = (failure.errors || []).find((e) => e.field === "regions" && /use force/.test(e.reason));
    if (!error) return null;
    const [headline, ...table] = error.reason.split("\n");
    return { headline, table: table.join("\n") };
  }

  function showRefusal(flag, scope, refusal) {
    refused = { flag, scope };
    $("#flag-refusal-reason").textContent = `Not opened: ${refusal.headline}`;
    $("#flag-refusal-table").textContent = refusal.table;
    $("#flag-refusal-force").textContent = `Force: open ${scope.regions.join(", ")} for ${flag.name} anyway…`;
    $("#flag-refusal").hidden = false;
    notice(`${flag.name} was not opened in ${scope.regions.join(", ")}: no sellable capacity.`, "error");
  }

  function hideRefusal() {
    refused = null;
    $("#flag-refusal").hidden = true;
  }

  // Force is the release manager's call (hosts about to arrive, say): it asks once more.
  function forceRefused() {
    if (!refused) return;
    const { flag, scope } = refused;
    flip(flag, "enable", { ...scope, force: true },
      `FORCE: open flag "${flag.name}" in ${scope.regions.join(", ")} in environment ` +
      `"${flag.environment}" with NO sellable capacity there? Customers will see plans they cannot buy.`);
  }

  function renderAudit(entries) {
    const body = $("#audit-table tbody");
    if (!entries.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No flips yet.")));
      return;
    }
    const onOff = (v) => (v === null ? "unset" : v ? "on" : "off");
    body.replaceChildren(...entries.map((e) =>
      el("tr", { data: { audit: e.id, flag: e.flag } },
        el("td", {}, e.at), el("td", {}, el("code", {}, e.flag)), el("td", {}, e.environment),
        el("td", {}, `${onOff(e.from)} → ${onOff(e.to)}`),
        el("td", { class: "change" }, e.change ?? el("span", { class: "muted" }, "–")),
        el("td", { class: "actor" }, e.actor))));
  }

  // ------------------------------------------------------------------ accounts
  let searchSeq = 0;  // only the latest search's answer is shown

  async function searchAccounts() {
    const query = $("#account-query").value.trim();
    const seq = ++searchSeq;
    try {
      const found = await api("GET", `/admin/accounts?search=${encodeURIComponent(query)}`);
      if (seq === searchSeq) renderAccounts(found.data);
    } catch (failure) {
      notice(`Search failed: ${failure.message}`, "error");
    }
  }

  function accountRow(account) {
    const employee = account.tags.includes(EMPLOYEE);
    const row = el("tr", { data: { account: account.id } },
      el("td", {}, account.id),
      el("td", { class: "email" }, account.email),
      el("td", {}, account.username),
      el("td", { class: "tags" }, account.tags.length
        ? account.tags.map((t) => el("span", { class: "chip", data: { tag: t } }, t))
        : el("span", { class: "muted" }, "none")),
      el("td", { class: "actions" },
        el("button", {
          type: "button", data: { action: employee ? "untag-employee" : "tag-employee" },
          on: { click: () => setEmployee(account, !employee, row) },
        }, employee ? "Remove employee tag" : "Tag as employee"),
        el("button", {
          type: "button", data: { action: "bring-up" },
          on: { click: () => chooseForBringUp(account) },
        }, "Bring up GPU…")));
    return row;
  }

  function renderAccounts(accounts) {
    const body = $("#accounts-table tbody");
    if (!accounts.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No accounts match.")));
      return;
    }
    body.replaceChildren(...accounts.map(accountRow));
  }

  async function setEmployee(account, on, row) {
    try {
      const changed = on
        ? await api("POST", `/admin/accounts/${account.id}/tags`, { tag: EMPLOYEE })
        : await api("DELETE", `/admin/accounts/${account.id}/tags/${EMPLOYEE}`);
      row.replaceWith(accountRow(changed));
      notice(`${changed.email}: ${on ? "tagged" : "no longer tagged"} ${EMPLOYEE}.`);
    } catch (failure) {
      notice(`Could not change tags of ${account.email}: ${failure.message}`, "error");
    }
  }

  // ------------------------------------------------------------------ the one button
  let following = null;  // the timer of the instance being followed

  function chooseForBringUp(account) {
    $("#bringup-account").value = account.id;
    $("#bringup-account-email").textContent = account.email;
    showTab("bringup");
  }

  async function loadBringUpChoices() {
    let report = lastCapacity;
    try {
      report = await api("GET", "/admin/capacity");
      lastCapacity = report;
    } catch (failure) {
      if (!report) { notice(`Could not load plans and regions: ${failure.message}`, "error"); return; }
    }
    const planSelect = $("#bringup-plan");
    const regionSelect = $("#bringup-region");
    const plan = planSelect.value || (report.plans.includes(DEFAULT_PLAN) ? DEFAULT_PLAN : report.plans[0]);
    planSelect.replaceChildren(...report.plans.map((p) => el("option", { value: p }, p)));
    if (plan) planSelect.value = plan;
    const regions = report.regions.filter((r) => r.gpus_total > 0);
    const chosen = regionSelect.value;
    regionSelect.replaceChildren(...regions.map((r) =>
      el("option", { value: r.region }, `${r.region} (${r.gpus_free} of ${r.gpus_total} GPUs free)`)));
    const sellable = regions.find((r) => (r.sellable[planSelect.value] || 0) > 0);
    if (chosen && regions.some((r) => r.region === chosen)) regionSelect.value = chosen;
    else if (sellable) regionSelect.value = sellable.region;
  }

  async function describeAccount() {
    const id = $("#bringup-account").value;
    const label = $("#bringup-account-email");
    label.textContent = "";
    if (!id) return;
    try {
      label.textContent = (await api("GET", `/admin/accounts/${encodeURIComponent(id)}`)).email;
    } catch (failure) {
      label.textContent = failure.status === 404 ? "no such account" : "";
    }
  }

  async function bringUp(event) {
    event.preventDefault();
    const error = $("#bringup-error");
    const submit = $("#bringup-submit");
    showError(error, null);
    const accountId = $("#bringup-account").value;
    const body = { type: $("#bringup-plan").value, region: $("#bringup-region").value };
    submit.disabled = true;
    try {
      const made = await api("POST", `/admin/accounts/${encodeURIComponent(accountId)}/gpu-instances`, body);
      startFollowing(made);
      loadBringUpChoices();  // free GPU counts changed
    } catch (failure) {
      showError(error, `Could not bring up an instance: ${failure.message}`);
    } finally {
      submit.disabled = false;
    }
  }

  function startFollowing(made) {
    if (following) clearTimeout(following);
    const instance = made.instance;
    $("#bringup-result").hidden = false;
    $("#bringup-result").dataset.instance = instance.id;
    $("#bringup-title").textContent =
      `Linode ${instance.id} (${instance.label}) · ${instance.type} in ${instance.region} · account ${made.account_id}`;
    $("#root-pass").textContent = made.root_pass;
    $("#root-pass-box").hidden = false;
    $("#instance-outcome").textContent = "Following the instance…";
    $("#instance-outcome").dataset.outcome = "pending";
    renderInstance({ status: instance.status, host: null, events: [] });
    follow(instance.id);
  }

  async function follow(id) {
    let view = null;
    try {
      view = await api("GET", `/admin/instances/${id}`);
    } catch (failure) {
      $("#instance-outcome").textContent = `Could not read the instance: ${failure.message}`;
    }
    if (view) {
      renderInstance(view);
      const failed = view.events.find((e) => e.status === "failed");
      const outcome = $("#instance-outcome");
      if (failed) {
        outcome.textContent = `Failed: ${failed.message || failed.action}`;
        outcome.dataset.outcome = "failed";
        return;
      }
      if (view.deleted) {
        outcome.textContent = "The instance was deleted.";
        outcome.dataset.outcome = "deleted";
        return;
      }
      if (view.status === "running") {
        outcome.textContent = `Running on ${view.host}.`;
        outcome.dataset.outcome = "running";
        return;
      }
    }
    following = setTimeout(() => follow(id), INSTANCE_POLL_MS);
  }

  function renderInstance(view) {
    const status = $("#instance-status");
    status.textContent = view.status;
    status.className = `badge status-${view.status}`;
    $("#instance-host").textContent = view.host || "–";
    $("#instance-events").replaceChildren(...view.events.map((e) =>
      el("li", { data: { status: e.status } },
        el("code", {}, e.action), ` ${e.status}`,
        e.percent_complete !== null ? ` ${e.percent_complete}%` : "",
        e.message ? ` — ${e.message}` : "")));
  }

  // ------------------------------------------------------------------ console page
  function initConsole() {
    for (const tab of TABS) $(`#tabbtn-${tab}`).addEventListener("click", () => showTab(tab));
    window.addEventListener("hashchange", () => showTab(window.location.hash.slice(1)));
    onShow.capacity = refreshCapacity;
    onShow.flags = loadFlags;
    onShow.accounts = searchAccounts;
    onShow.bringup = loadBringUpChoices;

    $("#sign-out").addEventListener("click", async () => {
      try { await api("DELETE", "/admin/session", undefined, { on401: "throw" }); } catch (_) { /* gone anyway */ }
      window.location.replace(window.location.pathname);
    });
    $("#account-search").addEventListener("submit", (event) => { event.preventDefault(); searchAccounts(); });
    $("#flag-refusal-force").addEventListener("click", forceRefused);
    $("#flag-refusal-dismiss").addEventListener("click", hideRefusal);
    $("#bringup-form").addEventListener("submit", bringUp);
    $("#bringup-account").addEventListener("change", describeAccount);
    $("#bringup-plan").addEventListener("change", () => { $("#bringup-region").value = ""; loadBringUpChoices(); });
    $("#root-pass-hide").addEventListener("click", () => {
      $("#root-pass").textContent = "";
      $("#root-pass-box").hidden = true;
    });
    $("#root-pass-copy").addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText($("#root-pass").textContent);
        notice("Root password copied.");
      } catch (_) {
        notice("Copy failed: select the password and copy it by hand.", "error");
      }
    });

    setInterval(() => {
      if (activeTab === "capacity" && !document.hidden) refreshCapacity();
    }, CAPACITY_POLL_MS);
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && activeTab === "capacity") refreshCapacity();
    });
    showTab(window.location.hash.slice(1) || "capacity");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const page = document.body.dataset.page;
    if (page === "login") initLogin();
    else if (page === "console") initConsole();
  });
})();
