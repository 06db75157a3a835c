// minsec dashboard: draws the figures the server built, runs jobs, and keeps the alert feed live.
// Everything goes to this server only (the page's Content-Security-Policy allows nothing else).
"use strict";

(function () {
  const PLOT_CONFIG = {responsive: true, displaylogo: false, topojsonURL: "/static/geo/",
                       modeBarButtonsToRemove: ["select2d", "lasso2d"]};
  const TLP_CLASS = {"CLEAR": "clear", "GREEN": "green", "AMBER": "amber", "AMBER+STRICT": "amber", "RED": "red"};

  function cookie(name) {
    const found = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
    return found ? decodeURIComponent(found.split("=")[1]) : "";
  }

  async function api(method, url, body) {
    const headers = {"Accept": "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = cookie("minsec_csrf");
    const response = await fetch(url, {method, headers, credentials: "same-origin",
                                        body: body === undefined ? undefined : JSON.stringify(body)});
    if (response.status === 401 && document.body.dataset.page !== "login") {
      window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search);
      throw new Error("signed out");
    }
    const text = await response.text();
    const data = text && (response.headers.get("content-type") || "").includes("json") ? JSON.parse(text) : text;
    if (!response.ok) {
      const detail = data && data.detail !== undefined ? data.detail : data;
      throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // ------------------------------------------------------------------------------------------ figures
  // Figures on screen are drawn first; the others as they come near the viewport (plotly needs ~50–150 ms a
  // figure on a small machine, and a material page has eight).  The world geometry is fetched once, before
  // plotly asks for it, and handed to plotly's asset cache.
  let geometry = null;

  function worldGeometry() {
    if (!geometry) {
      window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};
      const preloaded = document.querySelector("link[rel=preload][as=fetch]");
      geometry = fetch(preloaded ? preloaded.href : "/static/geo/world_110m.json", {credentials: "include"})
        .then((r) => r.json()).then((t) => { window.PlotlyGeoAssets.topojson.world_110m = t; });
    }
    return geometry;
  }

  function drawOne(box) {
    if (box.dataset.drawn) return box.drawing;
    box.dataset.drawn = "1";
    const source = document.getElementById(box.dataset.figure);
    const figure = JSON.parse(source.textContent);
    const needsMap = figure.data.some((t) => t.type === "choropleth");
    box.drawing = (needsMap ? worldGeometry() : Promise.resolve())
      .then(() => window.Plotly.newPlot(box, figure.data, figure.layout, PLOT_CONFIG));
    return box.drawing;
  }

  function onScreen(box) {
    const r = box.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight && r.right > 0 && r.left < window.innerWidth;
  }

  function drawFigures(root, eager) {
    const boxes = Array.from((root || document).querySelectorAll("[data-figure]"));
    // reserve each figure's height first: nothing moves when it is drawn, and "on screen" is known
    for (const box of boxes) {
      if (box.dataset.drawn) continue;
      const layout = JSON.parse(document.getElementById(box.dataset.figure).textContent).layout;
      if (layout.height) box.style.minHeight = `${layout.height}px`;
    }
    const now = eager ? boxes : boxes.filter(onScreen);
    const later = boxes.filter((b) => !now.includes(b));
    return Promise.all(now.map(drawOne)).then(() => {
      // the rest once the screen is drawn, as they come near the viewport
      if (!later.length) return;
      if (!("IntersectionObserver" in window)) { later.forEach(drawOne); return; }
      const observer = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (entry.isIntersecting) { observer.unobserve(entry.target); drawOne(entry.target); }
        }
      }, {rootMargin: "400px 0px"});
      later.forEach((b) => observer.observe(b));
    });
  }

  // every figure, on screen or not (printing, tests)
  window.minsecDrawAll = () => Promise.all(Array.from(document.querySelectorAll("[data-figure]")).map(drawOne))
    .then(() => true);

  // ------------------------------------------------------------------------------------------------ jobs
  function composedScenario(form) {
    const f = form.elements;
    const materials = Array.from(f.materials.selectedOptions).map((o) => o.value);
    const duration = parseFloat(f.duration_months.value);
    const event = {type: f.type.value, country: f.country.value.trim().toUpperCase(), materials,
                   fraction: parseFloat(f.fraction.value), duration_months: duration};
    if (event.type === "export_restriction") event.targets = f.targets.value;
    const definition = {name: f.name.value.trim(), horizon_months: parseInt(f.horizon_months.value, 10),
                        events: [event], responses: []};
    const tonnes = parseFloat(f.release_tonnes.value || "0");
    if (f.release_region.value && tonnes > 0) {
      for (const material of materials) {
        definition.responses.push({type: "stock_release", region: f.release_region.value, material,
                                   tonnes: tonnes / materials.length, duration_months: duration});
      }
    }
    return {kind: "scenario_run", definition};
  }

  function jobParams(form) {
    if (form.dataset.compose !== undefined) return composedScenario(form);
    const params = {kind: form.dataset.jobKind};
    for (const input of form.querySelectorAll("input, select")) {
      if (!input.name || input.value === "") continue;
      const type = input.dataset.type;
      if (type === "int") params[input.name] = parseInt(input.value, 10);
      else if (type === "float") params[input.name] = parseFloat(input.value);
      else if (type === "bool") params[input.name] = input.value === "true";
      else if (type === "days") {                      // "JPN=60, USA=30" → {"JPN": 60, "USA": 30}
        params[input.name] = Object.fromEntries(input.value.split(",").map((pair) => pair.split("="))
          .filter((kv) => kv.length === 2).map(([k, v]) => [k.trim().toUpperCase(), parseFloat(v)]));
      }
      else if (type === "floats") params[input.name] = input.value.split(",").map((v) => parseFloat(v.trim()));
      else if (type === "split") {
        const us = parseFloat(input.value);
        params.split = {US: us, EU: Math.round((1 - us) * 1e6) / 1e6};
      } else params[input.name] = input.value;
    }
    return params;
  }

  async function runJob(form) {
    const panel = document.querySelector(`[data-job-panel="${form.dataset.panel}"]`);
    const status = panel.querySelector(".job-status");
    const bar = status.querySelector("progress");
    const message = status.querySelector(".job-message");
    const result = panel.querySelector(".job-result");
    const button = form.querySelector("button[type=submit]");
    status.hidden = false;
    bar.value = 0;
    message.textContent = "queued";
    result.replaceChildren();
    button.disabled = true;
    try {
      let job = await api("POST", "/api/jobs", {params: jobParams(form)});
      while (job.status === "queued" || job.status === "running") {
        await new Promise((resolve) => setTimeout(resolve, 300));
        job = await api("GET", `/api/jobs/${job.id}`);
        bar.value = job.progress;
        message.textContent = `${job.status} ${Math.round(100 * job.progress)} %`;
      }
      if (job.status === "failed") throw new Error(job.error || "the job failed");
      bar.value = 1;
      message.textContent = "done";
      const response = await fetch(`/ui/jobs/${job.id}`, {credentials: "same-origin"});
      if (!response.ok) throw new Error(await response.text());
      const fragment = document.createElement("template");
      fragment.innerHTML = await response.text();   // server-rendered and escaped by Jinja2
      result.replaceChildren(fragment.content);
      await drawFigures(result, true);
      result.dataset.ready = "1";
    } catch (error) {
      message.textContent = "";
      result.replaceChildren(el("p", {class: "error", role: "alert", text: error.message}));
    } finally {
      button.disabled = false;
    }
  }

  // ---------------------------------------------------------------------------------------------- alerts
  function tlpBadge(tlp) {
    return el("span", {class: `tlp tlp-${TLP_CLASS[tlp] || "clear"}`, text: `TLP:${tlp}`,
                       title: `Traffic Light Protocol 2.0: ${tlp}`});
  }

  function alertItem(alert) {
    const when = new Date(alert.created_at);
    const meta = el("p", {class: "meta"},
      tlpBadge(alert.tlp), " ",
      el("span", {class: `severity sev-${alert.severity}`, text: alert.severity}), " ",
      el("span", {text: `${alert.author_organisation} · ${when.toISOString().slice(0, 16).replace("T", " ")} UTC`}),
      alert.kind === "early_warning" ? el("span", {class: "tag", text: "early warning"}) : null);
    const materials = el("p", {class: "materials"});
    for (const m of alert.materials) {
      materials.append(el("a", {href: `/materials/${m}`, text: m}), " ");
    }
    const body = el("details", {}, el("summary", {text: "Details"}), el("p", {class: "body", text: alert.body}));
    if (alert.recipient_orgs.length) {
      body.append(el("p", {class: "muted", text: `Recipients: ${alert.recipient_orgs.join(", ")}`}));
    }
    return el("li", {class: "alert", "data-alert-id": String(alert.id), "data-tlp": alert.tlp},
              el("h3", {text: alert.title}), meta, materials, body);
  }

  function filtersQuery(form) {
    const query = new URLSearchParams();
    for (const name of ["material", "tlp", "severity", "q"]) {
      const value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    return query;
  }

  const SEVERITIES = ["info", "low", "medium", "high", "critical"];
  let mySubscriptions = [];

  function matchesSubscriptions(alert) {
    // the service's rule: any subscription whose materials, countries and minimum severity all match
    return mySubscriptions.some((s) =>
      (!s.materials.length || s.materials.some((m) => alert.materials.includes(m)))
      && (!s.countries.length || s.countries.some((c) => alert.countries.includes(c)))
      && SEVERITIES.indexOf(alert.severity) >= SEVERITIES.indexOf(s.min_severity));
  }

  function matchesFilters(alert, form) {
    if (!form) return true;
    const material = form.elements.material.value, tlp = form.elements.tlp.value;
    const severity = form.elements.severity.value, q = form.elements.q.value.trim().toLowerCase();
    // severity is a minimum, as in the API's filter
    return (!material || alert.materials.includes(material)) && (!tlp || alert.tlp === tlp)
      && (!severity || SEVERITIES.indexOf(alert.severity) >= SEVERITIES.indexOf(severity))
      && (!q || (alert.title + " " + alert.body).toLowerCase().includes(q))
      && (!form.elements.subscribed.checked || matchesSubscriptions(alert));
  }

  let loading = 0;

  async function loadAlerts(list, form, limit) {
    const query = form ? filtersQuery(form) : new URLSearchParams();
    query.set("limit", String(limit || 50));
    const ticket = ++loading;        // an older request answering late must not overwrite a newer one
    const page = await api("GET", `/api/alerts?${query}`);
    if (ticket !== loading) return;
    const shown = page.alerts.filter((a) => !form || matchesFilters(a, form));
    list.replaceChildren(...shown.map(alertItem));
    if (!shown.length) list.append(el("li", {class: "empty", text: "No alerts you may read match."}));
    list.dataset.loaded = "1";
  }

  function liveFeed(list, form, status) {
    let source = null;
    function connect() {
      if (source) source.close();
      delete status.dataset.state;
      const subscribed = form && form.elements.subscribed.checked;
      source = new EventSource(`/api/alerts/stream${subscribed ? "?subscribed=true" : ""}`);
      source.addEventListener("open", () => {
        status.textContent = subscribed ? "Live: alerts matching your subscriptions" : "Live: all alerts you may read";
        status.dataset.state = "live";
      });
      source.addEventListener("error", () => {
        status.textContent = "Live feed interrupted; reconnecting…";
        status.dataset.state = "reconnecting";
        if (source.readyState === EventSource.CLOSED) {
          // the browser gave up (e.g. the session ended): check the session (a 401 goes to sign-in), retry
          api("GET", "/api/auth/me").then(() => setTimeout(connect, 2000), () => {});
        }
      });
      source.addEventListener("alert", (event) => {
        const alert = JSON.parse(event.data);
        const existing = list.querySelector(`[data-alert-id="${alert.id}"]`);
        if (!matchesFilters(alert, form)) {
          if (existing) existing.remove();
          return;
        }
        const item = alertItem(alert);
        item.classList.add("fresh");
        if (existing) existing.replaceWith(item);
        else {
          const empty = list.querySelector(".empty");
          if (empty) empty.remove();
          list.prepend(item);
        }
      });
    }
    connect();
    return connect;
  }

  async function loadOrganisations(fieldset) {
    const orgs = await api("GET", "/api/organisations");
    const boxes = orgs.map((org) => el("label", {class: "check"},
      el("input", {type: "checkbox", name: "recipient_orgs", value: org.slug}), ` ${org.name} (${org.slug})`));
    fieldset.replaceChildren(el("legend", {text: "Recipient organisations (AMBER)"}), ...boxes);
  }

  async function loadSubscriptions(list) {
    const subs = await api("GET", "/api/subscriptions");
    mySubscriptions = subs;
    list.replaceChildren(...subs.map((s) => {
      const remove = el("button", {type: "button", class: "link", text: "remove",
                                   "aria-label": `Remove subscription ${s.id}`});
      remove.addEventListener("click", async () => { await api("DELETE", `/api/subscriptions/${s.id}`); loadSubscriptions(list); });
      return el("li", {}, `${s.materials.length ? s.materials.join(", ") : "every material"} · severity ≥ ${s.min_severity} `, remove);
    }));
    if (!subs.length) list.append(el("li", {class: "empty", text: "None: you see every alert you may read."}));
    list.dataset.loaded = "1";
  }

  function setupAlertsPage() {
    const list = document.getElementById("alert-list");
    const form = document.getElementById("alert-filters");
    const status = document.getElementById("live-status");
    const preset = new URLSearchParams(location.search).get("material");
    if (preset) form.elements.material.value = preset;
    const reconnect = liveFeed(list, form, status);
    const reload = () => loadAlerts(list, form).catch((e) => status.textContent = e.message);
    form.addEventListener("change", (event) => {
      if (event.target.name === "subscribed") reconnect();
      reload();
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); reload(); });
    reload();
    loadOrganisations(document.getElementById("c-orgs")).catch(() => {});
    const subs = document.getElementById("subscriptions");
    loadSubscriptions(subs).catch(() => {});
    document.getElementById("subscribe").addEventListener("submit", async (event) => {
      event.preventDefault();
      await api("POST", "/api/subscriptions", {materials: [event.target.elements.material.value]});
      loadSubscriptions(subs);
    });
    const compose = document.getElementById("compose");
    compose.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = compose.querySelector(".error");
      error.hidden = true;
      const f = compose.elements;
      const body = {title: f.title.value, body: f.body.value, tlp: f.tlp.value, severity: f.severity.value,
                    materials: Array.from(f.materials.selectedOptions).map((o) => o.value),
                    recipient_orgs: Array.from(compose.querySelectorAll("input[name=recipient_orgs]:checked"))
                      .map((i) => i.value),
                    recipient_users: f.recipient_users.value.split(",").map((u) => u.trim()).filter(Boolean)};
      try {
        const alert = await api("POST", "/api/alerts", body);
        compose.reset();
        compose.dataset.published = String(alert.id);
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  }

  // ------------------------------------------------------------------------------------------------ set-up
  function setupLogin() {
    const form = document.getElementById("login-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".error");
      error.hidden = true;
      try {
        await api("POST", "/api/auth/login", {username: form.elements.username.value,
                                               password: form.elements.password.value});
        window.location = form.dataset.next || "/";
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
      }
    });
  }

  // ------------------------------------------------------------------------------------------ rules
  function csvLinks(root) {
    for (const link of root.querySelectorAll("a.csv-download[data-csv]")) {
      link.href = URL.createObjectURL(new Blob([link.dataset.csv], {type: "text/csv"}));
    }
  }

  function bomBody(text) {
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) {
      try { return {bom: JSON.parse(trimmed)}; } catch (error) {
        throw new Error(`the bill of materials is not valid JSON: ${error.message}`);
      }
    }
    return {bom_csv: text};
  }

  // a server-rendered fragment for a posted body, drawn into `result` (errors as an alert naming the field)
  async function postFragment(url, body, result, button) {
    button.disabled = true;
    delete result.dataset.ready;
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin", body: JSON.stringify(body),
        headers: {"Content-Type": "application/json", "X-CSRF-Token": cookie("minsec_csrf")}});
      const text = await response.text();
      if (!response.ok) {
        let message = text;
        try {
          const detail = JSON.parse(text).detail;
          message = typeof detail === "string" ? detail
            : detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ");
        } catch (ignored) { /* plain-text errors are shown as they are */ }
        throw new Error(message);
      }
      const fragment = document.createElement("template");
      fragment.innerHTML = text;                   // server-rendered and escaped by Jinja2
      result.replaceChildren(fragment.content);
      csvLinks(result);
      await drawFigures(result, true);
    } catch (error) {
      result.replaceChildren(el("p", {class: "error", role: "alert", text: error.message}));
    } finally {
      result.dataset.ready = "1";
      button.disabled = false;
    }
  }

  function setupRulesPage() {
    const form = document.getElementById("rules-form");
    const result = document.getElementById("rules-result");
    const textarea = document.getElementById("rules-bom");
    csvLinks(result);
    document.getElementById("rules-file").addEventListener("change", async (event) => {
      const file = event.target.files[0];
      if (file) textarea.value = await file.text();
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      let body;
      try {
        body = {policy: form.policy.value, ...bomBody(textarea.value)};
      } catch (error) {
        result.replaceChildren(el("p", {class: "error", role: "alert", text: error.message}));
        result.dataset.ready = "1";
        return;
      }
      if (form.date.value) body.date = form.date.value;
      postFragment("/ui/rules/verdict", body, result, form.querySelector("button[type=submit]"));
    });
    const policyForm = document.getElementById("policy-form");
    policyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      postFragment("/ui/rules/policy", {policy_yaml: policyForm.policy_yaml.value},
                   document.getElementById("policy-result"), policyForm.querySelector("button[type=submit]"));
    });
  }

  function setupCommon() {
    const logout = document.getElementById("logout");
    if (logout) {
      logout.addEventListener("click", async () => {
        try { await api("POST", "/api/auth/logout"); } finally { window.location = "/login"; }
      });
    }
    for (const select of document.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form.submit());
    }
    for (const input of document.querySelectorAll("input[data-filter]")) {
      input.addEventListener("input", () => {
        const needle = input.value.trim().toLowerCase();
        for (const item of document.querySelectorAll(input.dataset.filter)) {
          item.hidden = needle !== "" && !item.dataset.text.includes(needle);
        }
      });
    }
    for (const form of document.querySelectorAll("form.job-form")) {
      form.addEventListener("submit", (event) => { event.preventDefault(); runJob(form); });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupCommon();
    const page = document.body.dataset.page;
    if (page === "login") setupLogin();
    if (page === "alerts") setupAlertsPage();
    if (page === "rules") setupRulesPage();
    const latest = document.getElementById("latest-alerts");
    if (latest) loadAlerts(latest, null, parseInt(latest.dataset.limit, 10)).catch(() => {});
    drawFigures(document, false).then(() => {
      // first render: from navigation start to every figure on screen drawn (read by the browser tests)
      window.minsecRenderMs = performance.now();
      document.body.dataset.rendered = "1";
    }, (error) => {
      document.body.dataset.rendered = "error";
      console.error(error);
    });
  });
})();
