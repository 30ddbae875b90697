// The tlsgate dashboard (issue 14): reads the admin API (docs/ADMIN.md) every
// 5 seconds and draws it. Served from the binary under CSP default-src 'self':
// no inline script or style, nothing fetched from elsewhere. Every value from
// the API reaches the page through textContent or an attribute, never as
// HTML, so a certificate subject cannot inject markup.
"use strict";

(function () {
  const POLL_MS = 5000;
  const MINUTES = 60;
  const DAY_RED = 7;
  const DAY_AMBER = 30;
  const BAR_FULL_DAYS = 90; // the bar is full at 90 days or more

  // The reason words of src/tls/failure_reason.h, in its order: a reason
  // keeps its colour from one refresh to the next.
  const REASONS = [
    "no_certificate", "unknown_ca", "expired", "not_yet_valid", "revoked",
    "revocation_unknown", "stale_crl", "hostname_mismatch", "pin_mismatch",
    "identity_not_allowed", "user_not_mapped", "protocol_version",
    "no_shared_cipher", "timeout", "plaintext_refused", "connect_failed", "certificate_pending", "unknown_peer", "other",
  ];
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#b07aa1", "#9c755f",
    "#edc948", "#59a14f", "#ff9da7", "#1f77b4", "#8c564b", "#17becf",
    "#bcbd22", "#7f7f7f", "#d62728", "#9467bd", "#bab0ac",
  ];
  const SVG_NS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  let canWrite = false;
  let lastOk = null;
  let timer = null;

  // ---- small helpers -------------------------------------------------------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") e.className = v;
      else if (k.startsWith("data-")) e.setAttribute(k, String(v));
      else if (k === "title") e.title = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  // "2026-12-06 08:15 UTC" ("08:15:43" with seconds); "–" for none.
  function when(iso, seconds) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? ":" + pad(d.getUTCSeconds()) : ""} UTC`;
  }

  function clock(d) {
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }

  // "3 d", "5 h", "12 min" from a span in seconds (sign ignored).
  function span(seconds) {
    const s = Math.abs(seconds);
    if (s >= 2 * 86400) return `${Math.floor(s / 86400)} d`;
    if (s >= 2 * 3600) return `${Math.floor(s / 3600)} h`;
    if (s >= 120) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s)} s`;
  }

  // "in 3 d" / "5 h ago" relative to now.
  function relative(iso) {
    if (!iso) return "";
    const t = Date.parse(iso);
    if (isNaN(t)) return "";
    const secs = (t - Date.now()) / 1000;
    return secs >= 0 ? `in ${span(secs)}` : `${span(secs)} ago`;
  }

  function uptime(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d} d ${h} h`;
    if (h > 0) return `${h} h ${m} min`;
    return `${m} min`;
  }

  // "the key does not match" -> "The key does not match."
  function sentence(s) {
    const t = String(s).trim();
    if (!t) return "";
    return t[0].toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
  }

  function fmtInt(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function sum(obj) {
    return Object.values(obj || {}).reduce((a, b) => a + (Number(b) || 0), 0);
  }

  function level(days) {
    if (days < DAY_RED) return "red";
    if (days < DAY_AMBER) return "amber";
    return "green";
  }

  function reasonColour(reason) {
    const i = REASONS.indexOf(reason);
    return PALETTE[(i >= 0 ? i : REASONS.length - 1) % PALETTE.length];
  }

  function replaceRows(tbody, rows, emptyText, columns) {
    tbody.replaceChildren(...rows);
    if (rows.length === 0) {
      tbody.append(el("tr", { class: "empty-row" }, el("td", { colspan: columns }, emptyText)));
    }
  }

  // ---- the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(what, status, body) {
      let text = `${what}: `;
      if (body && typeof body.error === "string") {
        text += body.error;
        const unsaid = (body.reasons || []).filter((r) => typeof r === "string" && !body.error.includes(r));
        if (unsaid.length) text += ` (${unsaid.join("; ")})`;
        if (body.fix) text += `. ${body.fix}`;
        if (!/[.!?]$/.test(text)) text += ".";
      } else if (status) {
        text += `the server answered ${status}.`;
      }
      super(text);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const what = `${method} ${path}`;
    let resp;
    try {
      resp = await fetch(path, {
        method,
        credentials: "same-origin",
        cache: "no-store",
        headers: body ? { "Content-Type": "application/json" } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(what, 0, { error: "the admin API cannot be reached", fix: "Check that tlsgate is running and that this browser presents an admin client certificate" });
    }
    let json = null;
    try {
      json = await resp.json();
    } catch (e) {
      json = null;
    }
    if (!resp.ok) throw new ApiError(what, `${resp.status} ${resp.statusText}`.trim(), json);
    if (json === null) throw new ApiError(what, resp.status, { error: "the answer is not JSON" });
    return json;
  }

  // ---- header and summary --------------------------------------------------

  function renderHeader(status) {
    $("version").textContent = status.version ? `v${status.version}` : "";
    $("config-file").textContent = status.config_file || "–";
    $("config-file").title = status.config_file || "";
    $("uptime").textContent = uptime(status.uptime_seconds);
    $("uptime").title = status.started_at ? `since ${when(status.started_at)}` : "";
    $("workers").textContent = status.workers ?? "–";

    const caller = status.caller || null;
    const callerEl = $("caller");
    canWrite = !!(caller && caller.can_write);
    callerEl.replaceChildren(
      caller && caller.identity ? caller.identity : "unknown",
      el("span", { class: canWrite ? "badge badge-write" : "badge" }, canWrite ? "read-write" : "read-only"),
    );
    callerEl.dataset.canWrite = String(canWrite);
    callerEl.dataset.identity = caller ? caller.identity || "" : "";
    $("upload").hidden = !canWrite;

    const cr = status.last_config_reload;
    const note = $("config-reload");
    note.classList.remove("bad");
    if (!cr) {
      note.textContent = "newest first · configuration not reloaded since start";
    } else if (cr.ok) {
      note.textContent = `newest first · configuration reloaded ${when(cr.at)}`;
    } else {
      note.textContent = `configuration reload failed ${when(cr.at)}: ${cr.error}`;
      note.classList.add("bad");
    }
  }

  function renderSummary(status, certs) {
    const policies = certs.policies || [];
    const withCert = policies.filter((p) => p.certificate);
    $("sum-certificates").textContent = fmtInt(withCert.length);
    const failedPolicies = policies.filter((p) => p.last_error);
    $("sum-certificates-note").textContent = failedPolicies.length
      ? `${failedPolicies.length} with a failed reload`
      : "no failed reload";
    $("card-certificates").dataset.level = failedPolicies.length ? "red" : "";

    const soonest = withCert.reduce((a, p) => (a && a.certificate.days_left <= p.certificate.days_left ? a : p), null);
    if (soonest) {
      const d = soonest.certificate.days_left;
      $("sum-expiry").textContent = d < 0 ? "expired" : `${d} d`;
      $("sum-expiry-note").textContent = `${soonest.policy} (${soonest.side}) · ${soonest.certificate.subject}`;
      $("card-expiry").dataset.level = level(d);
    } else {
      $("sum-expiry").textContent = "–";
      $("sum-expiry-note").textContent = "no certificate served";
      $("card-expiry").dataset.level = "";
    }

    const conns = status.connectors || [];
    $("sum-active").textContent = fmtInt(conns.reduce((a, c) => a + (c.active || 0), 0));
    $("sum-active-note").textContent = `${fmtInt(conns.reduce((a, c) => a + (c.accepted || 0), 0))} accepted · ${conns.length} connector${conns.length === 1 ? "" : "s"}`;
  }

  // ---- certificates --------------------------------------------------------

  function daysCell(cert) {
    const days = cert.days_left;
    const lv = level(days);
    const fill = el("span", { class: `bar-fill bar-${lv}` });
    fill.style.width = `${Math.max(3, Math.min(100, (Math.max(days, 0) / BAR_FULL_DAYS) * 100))}%`;
    const label = days < 0 ? `expired ${-days} d ago` : `${days} d`;
    return el("td", { class: "col-days" },
      el("div", { class: "days", title: `not after ${when(cert.not_after)}` },
        el("span", { class: `days-num days-${lv}` }, label),
        el("span", { class: "bar", "aria-hidden": "true" }, fill)));
  }

  function ocspCell(ocsp) {
    if (!ocsp) return el("td", { class: "muted", "data-ocsp": "off" }, "not stapling");
    const st = ocsp.status || "none";
    const cls = st === "good" ? "ok" : st === "revoked" ? "bad" : "warn";
    const td = el("td", { "data-ocsp": st },
      el("span", { class: `pill pill-${cls}` }, st),
      ocsp.next_update ? el("span", { class: "sub nowrap" }, ` next update ${relative(ocsp.next_update)}`) : null);
    if (ocsp.last_error) td.append(el("div", { class: "err-text" }, ocsp.last_error));
    td.title = [ocsp.responder && `responder ${ocsp.responder}`,
      ocsp.last_fetch && `fetched ${when(ocsp.last_fetch)}`].filter(Boolean).join(" · ");
    return td;
  }

  function crlCell(crls) {
    if (!crls || crls.length === 0) return el("td", { class: "muted", "data-crl-stale": "none" }, "none");
    const stale = crls.filter((c) => c.stale);
    const td = el("td", { "data-crl-stale": String(stale.length > 0) });
    for (const c of crls) {
      td.append(el("div", { class: "crl", title: c.file || "" },
        el("span", { class: `pill pill-${c.stale ? "bad" : "ok"}` }, c.stale ? "stale" : "fresh"),
        el("span", { class: "sub nowrap" }, ` next update ${c.stale ? "was " : ""}${relative(c.next_update)}`),
        el("div", { class: "sub" }, c.issuer)));
    }
    return td;
  }

  function renderCertificates(certs) {
    const rows = [];
    const policies = (certs.policies || []).slice().sort((a, b) =>
      a.policy.localeCompare(b.policy) || a.side.localeCompare(b.side));
    for (const p of policies) {
      const c = p.certificate;
      const policyCell = el("td", { class: "policy nowrap" },
        el("div", { class: "strong" }, p.policy),
        el("div", { class: "sub" }, `${p.side}${p.connectors && p.connectors.length ? " · " + p.connectors.join(", ") : ""}`));
      if (!c) {
        rows.push(el("tr", { class: "cert-row", "data-policy": p.policy, "data-side": p.side, "data-subject": "" },
          policyCell, el("td", { colspan: 4, class: "muted" }, "serves no certificate"),
          ocspCell(p.ocsp), crlCell(p.crls)));
        continue;
      }
      const subject = el("td", { class: "subject" },
        el("div", { class: "strong mono-ish" }, c.subject),
        el("div", { class: "sub" }, `issued by ${c.issuer}`));
      const sans = [...(c.san_dns || []), ...(c.san_ip || []), ...(c.san_email || []), ...(c.san_uri || [])];
      if (sans.length) subject.title = `names: ${sans.join(", ")}`;
      if (p.last_error) subject.append(el("div", { class: "err-text" }, `last reload failed: ${p.last_error}`));
      rows.push(el("tr", {
        class: "cert-row",
        "data-policy": p.policy, "data-side": p.side,
        "data-subject": c.subject, "data-serial": c.serial,
        "data-not-after": c.not_after, "data-days-left": c.days_left,
        "data-level": level(c.days_left),
      },
      policyCell, subject,
      el("td", { class: "mono", title: c.fingerprint_sha256 ? `SHA-256 fingerprint ${c.fingerprint_sha256}` : "" },
        el("div", { class: "serial" }, c.serial)),
      el("td", { class: "nowrap" }, when(c.not_after).slice(0, 10),
        el("div", { class: "sub" }, when(c.not_after).slice(11))),
      daysCell(c), ocspCell(p.ocsp), crlCell(p.crls)));
    }
    replaceRows($("certificate-rows"), rows, "No policy serves a certificate.", 7);
    fillPolicySelect(policies);
  }

  function fillPolicySelect(policies) {
    const select = $("upload-policy");
    const scopes = [...new Set(policies.filter((p) => p.side === "server").map((p) => p.policy))];
    const current = select.value;
    const have = [...select.options].map((o) => o.value).join("\n");
    if (have === scopes.join("\n")) return; // keep the operator's choice
    select.replaceChildren(...scopes.map((s) => el("option", { value: s }, s)));
    if (scopes.includes(current)) select.value = current;
  }

  // ---- connectors ----------------------------------------------------------

  function renderConnectors(status) {
    const rows = (status.connectors || []).map((c) => {
      const failed = sum(c.handshake_failures);
      const refused = sum(c.refused);
      const policy = c.ssl_policy || (c.tls_level === "DISABLED" ? "plaintext" : "–");
      return el("tr", {
        class: "connector-row", "data-connector": c.name,
        "data-active": c.active, "data-accepted": c.accepted, "data-failed": failed,
      },
      el("td", {}, el("div", { class: "strong" }, c.name),
        el("div", { class: "sub" }, `${c.protocol} · TLS ${String(c.tls_level || "").toLowerCase()}`)),
      el("td", {}, el("div", {}, policy),
        c.upstream_ssl_policy ? el("div", { class: "sub" }, `backend: ${c.upstream_ssl_policy}`) : null),
      el("td", { class: "nowrap" }, el("div", { class: "mono" }, c.listen_address),
        el("div", { class: "mono sub" }, el("span", { class: "arrow" }, "→ "), c.upstream_address)),
      el("td", { class: "num strong" }, fmtInt(c.active)),
      el("td", { class: "num" }, fmtInt(c.accepted),
        refused ? el("div", { class: "sub warn-text nowrap" }, `${fmtInt(refused)} refused`) : null,
        failed ? el("div", { class: "sub bad-text nowrap" }, `${fmtInt(failed)} failed`) : null));
    });
    replaceRows($("connector-rows"), rows, "No connectors configured.", 5);
  }

  // ---- the failure chart ---------------------------------------------------

  // 60 one-minute slots ending with the current minute; /v1/status sends
  // them oldest first, but slots are placed by their start time so a gap or
  // a short list still lands in the right minute.
  function failureSlots(failures) {
    const nowMin = Math.floor(Date.now() / 60000);
    let endMin = nowMin;
    for (const f of failures) {
      const m = Math.floor(Date.parse(f.start) / 60000);
      if (!isNaN(m) && m > endMin) endMin = m;
    }
    const startMin = endMin - (MINUTES - 1);
    const slots = [];
    for (let i = 0; i < MINUTES; i++) slots.push({ min: startMin + i, by: {} });
    for (const f of failures) {
      const m = Math.floor(Date.parse(f.start) / 60000);
      if (isNaN(m) || m < startMin || m > endMin) continue;
      const slot = slots[m - startMin];
      for (const [r, n] of Object.entries(f.by_reason || {})) slot.by[r] = (slot.by[r] || 0) + (Number(n) || 0);
    }
    return slots;
  }

  function niceMax(v) {
    if (v <= 4) return 4;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function renderFailures(status) {
    const chart = $("failure-chart");
    const slots = failureSlots(status.failures || []);
    const totals = {};
    let total = 0, peak = 0;
    for (const s of slots) {
      const t = sum(s.by);
      total += t;
      peak = Math.max(peak, t);
      for (const [r, n] of Object.entries(s.by)) totals[r] = (totals[r] || 0) + n;
    }

    const W = 600, H = 180, left = 34, right = 8, top = 10, bottom = 24;
    const plotW = W - left - right, plotH = H - top - bottom;
    const yMax = niceMax(peak);
    const step = plotW / MINUTES;
    const barW = Math.max(2, step - 2);
    const kids = [];

    for (const frac of [0, 0.5, 1]) {
      const y = top + plotH - frac * plotH;
      kids.push(svg("line", { x1: left, x2: W - right, y1: y, y2: y, class: frac === 0 ? "axis" : "gridline" }));
      const label = svg("text", { x: left - 6, y: y + 4, class: "tick", "text-anchor": "end" });
      label.textContent = String(Math.round(frac * yMax));
      kids.push(label);
    }
    for (const [i, text] of [[0, "−60 min"], [30, "−30 min"], [MINUTES - 1, "now"]]) {
      const x = left + i * step + step / 2;
      const anchor = i === 0 ? "start" : i === MINUTES - 1 ? "end" : "middle";
      const t = svg("text", { x: i === 0 ? left : i === MINUTES - 1 ? W - right : x, y: H - 6, class: "tick", "text-anchor": anchor });
      t.textContent = text;
      kids.push(t);
    }

    slots.forEach((s, i) => {
      const reasons = REASONS.filter((r) => s.by[r]).concat(Object.keys(s.by).filter((r) => !REASONS.includes(r)));
      let y = top + plotH;
      const x = left + i * step + (step - barW) / 2;
      const g = svg("g", { class: "minute", "data-minute": new Date(s.min * 60000).toISOString(), "data-count": sum(s.by) });
      for (const r of reasons) {
        const h = (s.by[r] / yMax) * plotH;
        y -= h;
        const rect = svg("rect", { x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: Math.max(h, 1).toFixed(1),
          fill: reasonColour(r), "data-reason": r, "data-count": s.by[r], rx: 1 });
        const title = svg("title", {});
        title.textContent = `${clock(new Date(s.min * 60000)).slice(0, 5)} UTC · ${r}: ${s.by[r]}`;
        rect.append(title);
        g.append(rect);
      }
      kids.push(g);
    });
    chart.replaceChildren(...kids);
    chart.dataset.totalFailures = String(total);
    for (const r of Object.keys(chart.dataset)) if (r.startsWith("reason")) delete chart.dataset[r];
    chart.setAttribute("aria-label", `Handshake failures per minute over the last hour: ${total} in all`);

    const legend = $("failure-legend");
    const ordered = Object.entries(totals).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    legend.replaceChildren(...ordered.map(([r, n]) => {
      const sw = el("span", { class: "swatch", "aria-hidden": "true" });
      sw.style.background = reasonColour(r);
      return el("li", { class: "legend-item", "data-reason": r, "data-count": n }, sw,
        el("span", { class: "legend-name" }, r), el("span", { class: "legend-count" }, fmtInt(n)));
    }));
    $("failure-empty").hidden = total > 0;

    $("sum-failures").textContent = fmtInt(total);
    $("sum-failures-note").textContent = ordered.length ? `most: ${ordered[0][0]} (${fmtInt(ordered[0][1])})` : "none in the last hour";
    $("card-failures").dataset.level = total > 0 ? "amber" : "";
  }

  // ---- reloads -------------------------------------------------------------

  function renderReloads(status) {
    const list = (status.reloads || []).slice().reverse().slice(0, 25);
    const rows = list.map((r) => {
      const newSerial = r.ok && r.changed && r.old_serial !== r.new_serial;
      const result = !r.ok ? ["bad", "failed"]
        : newSerial ? ["ok", "new certificate"]
          : r.changed ? ["neutral", "reloaded"] : ["neutral", "unchanged"];
      const serial = newSerial ? `${r.old_serial || "–"} → ${r.new_serial || "–"}` : r.new_serial || r.old_serial || "–";
      return el("tr", { class: "reload-row", "data-policy": r.policy, "data-ok": String(!!r.ok) },
        el("td", { class: "nowrap", title: relative(r.at) }, when(r.at, true)),
        el("td", { class: "nowrap" }, r.policy, el("span", { class: "sub" }, ` ${r.side}`)),
        el("td", {}, el("span", { class: `pill pill-${result[0]}` }, result[1])),
        el("td", { class: "mono nowrap" }, serial),
        el("td", { class: r.error ? "err-text" : "muted" }, r.error || "–"));
    });
    replaceRows($("reload-rows"), rows, "No reloads since the gate started.", 5);
  }

  // ---- refresh -------------------------------------------------------------

  function showError(message) {
    const banner = $("api-error");
    if (!message) {
      banner.hidden = true;
      banner.textContent = "";
      return;
    }
    banner.replaceChildren(el("strong", {}, "The admin API did not answer as expected. "), message,
      lastOk ? ` The figures below are from ${clock(lastOk)} UTC.` : "");
    banner.hidden = false;
  }

  async function refresh() {
    // Each answer is drawn on its own: a failing /v1/certificates still
    // leaves the connectors and the chart live, and the banner says which.
    const [status, certs] = await Promise.allSettled([api("GET", "/v1/status"), api("GET", "/v1/certificates")]);
    const errors = [];
    try {
      if (status.status === "fulfilled") {
        renderHeader(status.value);
        renderConnectors(status.value);
        renderFailures(status.value);
        renderReloads(status.value);
      } else {
        errors.push(status.reason.message);
      }
      if (certs.status === "fulfilled") {
        renderCertificates(certs.value);
      } else {
        errors.push(certs.reason.message);
      }
      if (status.status === "fulfilled" && certs.status === "fulfilled") renderSummary(status.value, certs.value);
    } catch (e) {
      errors.push(`the page could not draw the answer: ${e.message}`);
    }
    if (errors.length === 0) {
      lastOk = new Date();
      showError(null);
      $("live").dataset.ok = "true";
      $("live-text").textContent = "Live";
      $("refreshed").textContent = `Updated ${clock(lastOk)} UTC`;
      document.body.dataset.state = "ready";
      document.body.dataset.loadedAt = lastOk.toISOString();
    } else {
      showError(errors.join(" "));
      $("live").dataset.ok = "false";
      $("live-text").textContent = "Not updating";
      if (document.body.dataset.state !== "ready") document.body.dataset.state = "error";
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, POLL_MS);
  }

  // ---- certificate upload --------------------------------------------------

  function readInto(input) {
    const file = input.files && input.files[0];
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => { $(input.dataset.target).value = String(reader.result); };
    reader.onerror = () => uploadResult(false, `Cannot read ${file.name}: ${reader.error && reader.error.message}`);
    reader.readAsText(file);
  }

  function uploadResult(ok, ...parts) {
    const box = $("upload-result");
    box.className = `result ${ok ? "result-ok" : "result-bad"}`;
    box.dataset.ok = String(ok);
    box.replaceChildren(...parts.filter((x) => x !== null && x !== undefined && x !== ""));
    box.hidden = false;
  }

  async function upload(ev) {
    ev.preventDefault();
    const scope = $("upload-policy").value;
    const certificate = $("upload-certificate").value.trim();
    const privateKey = $("upload-key").value.trim();
    const missing = [];
    if (!scope) missing.push("a policy");
    if (!certificate.includes("-----BEGIN")) missing.push("a PEM certificate chain");
    if (!privateKey.includes("-----BEGIN")) missing.push("a PEM private key");
    if (missing.length) {
      uploadResult(false, `Give ${missing.join(", ")}.`);
      return;
    }
    const button = $("upload-submit");
    button.disabled = true;
    button.textContent = "Replacing…";
    try {
      const answer = await api("PUT", `/v1/policies/${encodeURIComponent(scope)}/certificate`,
        { certificate: `${certificate}\n`, private_key: `${privateKey}\n` });
      const cert = answer.certificate || {};
      const report = (answer.policies || []).find((p) => p.policy === scope) || {};
      const serial = cert.serial || report.new_serial || "";
      uploadResult(true, `Policy ${scope} now serves ${cert.subject || "the new certificate"}`,
        serial ? `, serial ${serial}` : "", cert.not_after ? `, valid until ${when(cert.not_after)}` : "", ".");
      for (const id of ["upload-certificate", "upload-key", "upload-certificate-file", "upload-key-file"]) $(id).value = "";
      refresh();
    } catch (e) {
      const body = e.body || {};
      uploadResult(false, el("strong", {}, "Not replaced. "),
        body.error ? `${sentence(body.error)} ${body.fix ? sentence(body.fix) : ""}` : e.message);
    } finally {
      button.disabled = false;
      button.textContent = "Replace certificate";
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("upload-form").addEventListener("submit", upload);
    for (const id of ["upload-certificate-file", "upload-key-file"]) {
      $(id).addEventListener("change", (ev) => readInto(ev.target));
    }
    refresh();
  });
})();
