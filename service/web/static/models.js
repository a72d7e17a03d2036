// The Models page: every version with its provenance (data, job, gate) and which one is current.
"use strict";

(() => {
  const H = Haltung;
  const $ = (id) => document.getElementById(id);

  function trainedFrom(manifest) {
    const data = manifest.data || {};
    const files = (data.train || []).map((f) => f.split("/").pop());
    const parts = [files.join(", ") || "?"];
    if (data.labels) parts.push(`+ ${data.labels} labels`);
    return parts.join(" ");
  }

  function f1(manifest) {
    const heads = (manifest.metrics || {}).heads || {};
    return Object.entries(heads).map(([h, r]) => `${h} ${Number(r.macro_f1).toFixed(3)}`).join("<br>") || "–";
  }

  async function jobOf(by) {
    const match = /^retrain (job_[a-z0-9_]+)$/.exec(by || "");
    if (!match) return null;
    try {
      return await H.api("GET", `/v1/jobs/${match[1]}`);
    } catch (err) {
      return null;
    }
  }

  async function load() {
    try {
      const models = await H.api("GET", "/v1/models");
      const firstBy = new Map();
      for (const a of models.history) if (!firstBy.has(a.version)) firstBy.set(a.version, a.by);
      const rows = await Promise.all(
        models.versions.map(async (v) => {
          // Who made it: the retrain job recorded in its manifest, else who first activated it.
          const by = (v.manifest.data && v.manifest.data.origin) || firstBy.get(v.version) || "";
          const job = await jobOf(by);
          const gate = job && job.gate ? `${job.gate.passed ? "passed" : "failed"}${job.force ? " (forced)" : ""}` : "–";
          const labels = job && job.data ? `<br><small>${job.data.labels} labels</small>` : "";
          const button = v.current
            ? '<strong class="current-marker">current</strong>'
            : `<button class="needs-key activate" data-version="${H.escape(v.version)}">Activate</button>`;
          return `<tr${v.current ? ' class="is-current"' : ""}><td><code>${H.escape(v.version)}</code></td>` +
            `<td>${H.escape((v.created_at || "").replace("T", " ").slice(0, 19))}</td>` +
            `<td>${H.escape(trainedFrom(v.manifest))}${labels}</td><td>${f1(v.manifest)}</td>` +
            `<td>${job ? `<a href="/retrain#${job.job_id}">${H.escape(by)}</a>` : H.escape(by || "–")}</td>` +
            `<td>${gate}</td><td>${button}</td></tr>`;
        }),
      );
      $("models").tBodies[0].innerHTML = rows.join("") || '<tr><td colspan="7">no versions</td></tr>';
      $("history").innerHTML = models.history
        .slice()
        .reverse()
        .map((a) => `<li><code>${H.escape(a.version)}</code> by ${H.escape(a.by)} at ${H.escape(a.at)}${a.previous ? ` (was ${H.escape(a.previous)})` : ""}</li>`)
        .join("");
      H.refreshKeyState();
      document.body.dataset.loaded = "1";
    } catch (err) {
      H.flash(err.message);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    load();
    $("models").addEventListener("click", async (e) => {
      const b = e.target.closest("button.activate");
      if (!b || b.disabled) return;
      try {
        await H.api("POST", `/v1/models/${encodeURIComponent(b.dataset.version)}/activate`);
        H.flash(`Now serving ${b.dataset.version}.`, "ok");
        load();
      } catch (err) {
        H.flash(err.message);
      }
    });
  });
})();
