// The Retrain page: start a retrain, follow it live (server-sent events from GET /v1/jobs/{id}/events),
// then compare candidate and current model (macro-F1, confusion matrices, labels, pool sentences that would
// change) and activate the candidate or roll back to the baseline.
"use strict";

(() => {
  const H = Haltung;
  const $ = (id) => document.getElementById(id);
  let source = null;

  async function countLabels() {
    try {
      const stored = await H.storedLabels();
      $("label-count").textContent = `${stored.size} stored labels`;
    } catch (err) {
      $("label-count").textContent = "";
    }
  }

  async function start(force) {
    H.flash("");
    try {
      const job = await H.api("POST", "/v1/retrain", { force });
      follow(job.job_id);
    } catch (err) {
      H.flash(err.message);
    }
  }

  function follow(jobId) {
    if (source) source.close();
    location.hash = jobId;
    $("job-id").value = jobId;
    $("job-name").textContent = jobId;
    $("job-log").textContent = "";
    $("progress").hidden = false;
    $("comparison").hidden = true;
    setStatus("connecting");
    // EventSource sends no Authorization header: the events stream is readable without a key, like GET /v1/jobs.
    source = new EventSource(`/v1/jobs/${encodeURIComponent(jobId)}/events`);
    // Each (re)connection replays the lines the job keeps: start the log afresh rather than repeat them.
    source.onopen = () => {
      $("job-log").textContent = "";
    };
    source.addEventListener("status", (e) => setStatus(JSON.parse(e.data).status));
    source.addEventListener("log", (e) => {
      $("job-log").textContent += `${JSON.parse(e.data).line}\n`;
    });
    source.addEventListener("end", (e) => {
      source.close();
      source = null;
      const job = JSON.parse(e.data);
      setStatus(job.status || "gone");
      if (job.error) $("job-log").textContent += `error: ${job.error}\n`;
      compare(job);
    });
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) H.flash(`Lost the event stream of ${jobId}.`);
    };
  }

  function setStatus(status) {
    const badge = $("job-status");
    badge.textContent = status;
    badge.className = `badge job-${status}`;
    document.body.dataset.jobStatus = status;
  }

  function matrix(cm, title) {
    if (!cm) return `<p class="muted">${title}: no confusion matrix recorded</p>`;
    const max = Math.max(1, ...cm.rows_true_columns_predicted.flat());
    const head = cm.labels.map((l) => `<th scope="col">${l}</th>`).join("");
    const rows = cm.rows_true_columns_predicted
      .map((row, i) => {
        const cells = row
          .map((v, j) => `<td class="${i === j ? "diag" : "off"}" style="--a:${(v / max).toFixed(2)}">${v}</td>`)
          .join("");
        return `<tr><th scope="row">${cm.labels[i]}</th>${cells}</tr>`;
      })
      .join("");
    return `<table class="cm"><caption>${title} (rows: true, columns: predicted)</caption><tr><th></th>${head}</tr>${rows}</table>`;
  }

  async function compare(job) {
    const box = $("comparison");
    if (!job.metrics) {
      box.innerHTML = `<p>No comparison: the job ${H.escape(job.status)}${job.error ? ` (${H.escape(job.error)})` : ""}.</p>`;
      box.hidden = false;
      return;
    }
    const { candidate, current } = job.metrics;
    const heads = Object.keys({ ...current, ...candidate });
    const f1rows = heads
      .map((h) => {
        const a = current[h] ? current[h].macro_f1 : null;
        const b = candidate[h] ? candidate[h].macro_f1 : null;
        const delta = a !== null && b !== null ? b - a : null;
        const cls = delta === null ? "" : delta >= 0 ? "up" : "down";
        return `<tr><th scope="row">${h}</th><td>${a?.toFixed(4) ?? "–"}</td><td>${b?.toFixed(4) ?? "–"}</td>` +
          `<td class="${cls}">${delta === null ? "–" : (delta >= 0 ? "+" : "") + delta.toFixed(4)}</td><td>${candidate[h]?.n ?? ""}</td></tr>`;
      })
      .join("");
    const gate = job.gate || {};
    const data = job.data || {};
    let html = `<h2>Candidate <code>${H.escape(job.candidate_version)}</code> vs current <code>${H.escape(job.baseline_version)}</code></h2>`;
    html += `<p>Gate <strong class="${gate.passed ? "up" : "down"}">${gate.passed ? "passed" : "failed"}</strong>` +
      ` (tolerance ${gate.tolerance})${job.force ? ", forced" : ""} · promoted: <strong>${job.promoted ? "yes" : "no"}</strong>` +
      `${job.note ? ` · ${H.escape(job.note)}` : ""}</p>`;
    if (gate.reasons && gate.reasons.length) html += `<ul>${gate.reasons.map((r) => `<li>${H.escape(r)}</li>`).join("")}</ul>`;
    html += `<p>${data.labels ?? "?"} labels: ${data.labels_train ?? "?"} trained on, ${data.labels_held_out ?? "?"} held out; ` +
      `${data.evaluation_rows ?? "?"} evaluation rows.</p>`;
    html += `<table class="f1"><caption>Macro-F1 on the evaluation data</caption><tr><th></th><th>current</th><th>candidate</th><th>change</th><th>n</th></tr>${f1rows}</table>`;
    html += '<div class="matrices">';
    for (const h of heads) {
      html += `<div><h3>${h}</h3>${matrix(current[h]?.confusion_matrix, "current")}${matrix(candidate[h]?.confusion_matrix, "candidate")}</div>`;
    }
    html += "</div>";
    html += '<h3>Pool sentences whose label would change</h3><div id="changes" class="muted">comparing …</div>';
    html += `<div class="row"><button id="activate" class="needs-key" data-version="${H.escape(job.candidate_version)}">Activate candidate ${H.escape(job.candidate_version)}</button>` +
      `<button id="rollback" class="needs-key" data-version="${H.escape(job.baseline_version)}">Roll back to ${H.escape(job.baseline_version)}</button>` +
      '<span id="current-version" class="muted" role="status"></span></div>';
    box.innerHTML = html;
    box.hidden = false;
    H.refreshKeyState();
    showCurrent();
    changes(job);
  }

  async function changes(job) {
    const out = $("changes");
    try {
      const pool = await H.api("GET", "/v1/pool?limit=500");
      const sentences = pool.items.map((i) => i.text);
      if (!sentences.length) {
        out.textContent = "The review pool is empty.";
        return;
      }
      const targets = H.parseTargets(sessionStorage.getItem("haltung.targets") ?? "Russland: Moskau, Kreml");
      const r = await H.api("POST", `/v1/jobs/${encodeURIComponent(job.job_id)}/changes`, { sentences, targets });
      if (!r.changes.length) {
        out.textContent = `None of ${r.sentences} pool sentences would change.`;
        return;
      }
      out.classList.remove("muted");
      out.innerHTML = `<p>${r.changes.length} changes among ${r.sentences} pool sentences:</p><ul class="changes">${r.changes
        .map((c) => `<li><span class="badge">${c.head}${c.target ? ` ${H.escape(c.target)}` : ""}: ${c.before ?? "–"} → ${c.after ?? "–"}</span> ${H.escape(c.text)}</li>`)
        .join("")}</ul>`;
    } catch (err) {
      out.textContent = `Could not compare the pool: ${err.message}`;
    }
  }

  async function showCurrent() {
    try {
      const models = await H.api("GET", "/v1/models");
      $("current-version").textContent = `current: ${models.current}`;
      document.body.dataset.current = models.current;
    } catch (err) {
      $("current-version").textContent = "";
    }
  }

  async function activate(version) {
    H.flash("");
    try {
      const r = await H.api("POST", `/v1/models/${encodeURIComponent(version)}/activate`);
      H.flash(`Now serving ${r.version} (was ${r.previous}).`, "ok");
      showCurrent();
    } catch (err) {
      H.flash(err.message);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    countLabels();
    $("retrain").addEventListener("click", () => start(false));
    $("retrain-force").addEventListener("click", () => start(true));
    $("follow").addEventListener("click", () => $("job-id").value.trim() && follow($("job-id").value.trim()));
    $("comparison").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-version]");
      if (b && !b.disabled) activate(b.dataset.version);
    });
    if (location.hash.startsWith("#job_")) follow(location.hash.slice(1));
  });
})();
