// The Review page: the pool's most useful sentences (GET /v1/pool/next) one at a time, labelled by keyboard.
// Keys: 1, 2, 3 … one per label (in the model's label order), s or → skips, u or Backspace undoes the last step.
"use strict";

(() => {
  const H = Haltung;
  const $ = (id) => document.getElementById(id);
  let labels = [];
  let queue = [];
  let position = 0;
  const history = []; // [{item, action: "label"|"skip", id}]
  let done = { labelled: 0, skipped: 0 };
  let remaining = null;
  let busy = false;

  function current() {
    return queue[position];
  }

  // The target field takes "Russland: Moskau, Kreml" like the Read page: a name, then aliases.
  function headAndTarget() {
    const head = $("head").value;
    const spec = head === "stance" ? H.parseTargets($("target").value)[0] : null;
    if (!spec) return { head, target: null, aliases: [] };
    return { head, target: H.targetName(spec), aliases: typeof spec === "string" ? [] : spec.aliases };
  }

  function renderKeys() {
    const items = labels.map((l, i) => `<li><kbd>${i + 1}</kbd> ${l}</li>`);
    items.push("<li><kbd>s</kbd> or <kbd>→</kbd> skip</li>", "<li><kbd>u</kbd> or <kbd>Backspace</kbd> undo</li>");
    $("key-help").innerHTML = items.join("");
  }

  function renderCounter() {
    const left = queue.length - position;
    const pool = remaining === null ? "" : ` · ${remaining} unlabelled in the pool`;
    $("counter").textContent = `${done.labelled} labelled · ${done.skipped} skipped · ${Math.max(left, 0)} left in this batch${pool}`;
  }

  function renderCard() {
    renderCounter();
    const item = current();
    if (!item) {
      $("card").innerHTML = '<p class="muted">Nothing left in this batch. Load the queue again for more.</p>';
      return;
    }
    const { head, target } = headAndTarget();
    const scores = item.scores
      ? Object.entries(item.scores).map(([l, p]) => `${l} ${(p * 100).toFixed(0)} %`).join(" · ")
      : "";
    const buttons = labels
      .map((l, i) => `<button class="label needs-key" data-label="${l}"><kbd>${i + 1}</kbd> ${l}</button>`)
      .join("");
    $("card").innerHTML =
      `<p class="muted">${head}${target ? ` toward <strong>${H.escape(target)}</strong>` : ""} · model says ` +
      `<strong>${H.escape(item.label ?? "–")}</strong> (${scores}) · uncertainty ${Number(item.uncertainty).toFixed(3)}</p>` +
      `<blockquote id="review-text">${H.escape(item.text)}</blockquote>` +
      `<div class="row">${buttons}<button id="skip"><kbd>s</kbd> skip</button><button id="undo"><kbd>u</kbd> undo</button></div>`;
    H.refreshKeyState();
  }

  async function load(event) {
    if (event) event.preventDefault();
    H.flash("");
    const { head, target, aliases } = headAndTarget();
    if (head === "stance" && !target) {
      H.flash("Stance needs a target.");
      return;
    }
    try {
      const info = await H.model();
      labels = info.heads[head] || [];
      renderKeys();
      const query = new URLSearchParams({ head, k: "10" });
      if (target) query.set("target", target);
      for (const alias of aliases) query.append("alias", alias);
      const data = await H.api("GET", `/v1/pool/next?${query}`);
      queue = data.items;
      position = 0;
      remaining = data.remaining;
      renderCard();
      $("card").focus();
    } catch (err) {
      H.flash(err.message);
    }
  }

  async function label(value) {
    const item = current();
    if (!item || busy) return;
    const { head, target } = headAndTarget();
    const row = { text: item.text, [head]: value };
    if (target) row.target = target;
    busy = true;
    try {
      const stored = await H.api("POST", "/v1/labels", { labels: [row] });
      history.push({ action: "label", id: stored.ids[0], created: stored.created > 0 });
      done.labelled += 1;
      if (remaining !== null) remaining = Math.max(remaining - 1, 0);
      position += 1;
      renderCard();
    } catch (err) {
      H.flash(err.message);
    } finally {
      busy = false;
    }
  }

  function skip() {
    if (!current()) return;
    history.push({ action: "skip" });
    done.skipped += 1;
    position += 1;
    renderCard();
  }

  async function undo() {
    if (busy || !history.length) return;
    const last = history.pop();
    busy = true;
    try {
      if (last.action === "label") {
        if (last.created) await H.api("DELETE", `/v1/labels/${encodeURIComponent(last.id)}`);
        done.labelled -= 1;
        if (remaining !== null) remaining += 1;
      } else {
        done.skipped -= 1;
      }
      position -= 1;
      renderCard();
    } catch (err) {
      H.flash(err.message);
    } finally {
      busy = false;
    }
  }

  function onKey(event) {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (!labels.length) return;
    const n = Number(event.key);
    if (Number.isInteger(n) && n >= 1 && n <= labels.length) {
      event.preventDefault();
      if (H.writable()) label(labels[n - 1]);
      else H.flash("Labelling needs an API key (type it at the top of the page).");
    } else if (event.key === "s" || event.key === "ArrowRight") {
      event.preventDefault();
      skip();
    } else if (event.key === "u" || event.key === "Backspace") {
      event.preventDefault();
      undo();
    }
  }

  async function addToPool(event) {
    event.preventDefault();
    const text = $("pool-text").value;
    const body = $("pool-lines").checked
      ? { sentences: text.split("\n").map((l) => l.trim()).filter(Boolean) }
      : { text };
    try {
      const r = await H.api("POST", "/v1/pool", body);
      H.flash(`Review pool: ${r.added} added, ${r.duplicates} duplicates, ${r.boilerplate} boilerplate left out; ${r.size} in the pool.`, "ok");
      $("pool-text").value = "";
    } catch (err) {
      H.flash(err.message);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("card").tabIndex = -1;
    $("queue-form").addEventListener("submit", load);
    $("pool-form").addEventListener("submit", addToPool);
    $("head").addEventListener("change", () => ($("target").disabled = $("head").value !== "stance"));
    $("target").disabled = $("head").value !== "stance";
    document.addEventListener("keydown", onKey);
    $("card").addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b || b.disabled) return;
      if (b.id === "skip") skip();
      else if (b.id === "undo") undo();
      else if (b.dataset.label) label(b.dataset.label);
    });
  });
})();
