// The Read page: classify an article, render every sentence (sentiment colour + text label, stance badges
// where a target is mentioned, boilerplate greyed), explain and correct a sentence, add the article to the pool.
// The article is rendered as one HTML string (one layout), and clicks are handled by one delegated listener,
// so even a 30 kB article with hundreds of sentences stays responsive.
"use strict";

(() => {
  const H = Haltung;
  const $ = (id) => document.getElementById(id);
  let state = null; // {docs: [{id, text, sentences}], targets, stored: Map}

  function readInput() {
    const text = $("text").value;
    const trimmed = text.trim();
    if (trimmed.startsWith("{")) {
      // JSON lines: one article per line with a "text" field
      const documents = trimmed.split("\n").filter((l) => l.trim()).map((line, i) => {
        const row = JSON.parse(line);
        return { id: String(row.id ?? i + 1), text: row.text };
      });
      return { documents };
    }
    return { text };
  }

  async function read(event) {
    if (event) event.preventDefault();
    H.flash("");
    const targets = H.parseTargets($("targets").value);
    let input;
    try {
      input = readInput();
    } catch (err) {
      H.flash(`Not valid JSON lines: ${err.message}`);
      return;
    }
    sessionStorage.setItem("haltung.targets", $("targets").value);
    $("read-status").textContent = "reading …";
    const started = performance.now();
    try {
      const [result, stored] = await Promise.all([
        H.api("POST", "/v1/classify", { ...input, targets }),
        H.storedLabels().catch(() => new Map()),
      ]);
      const texts = input.documents ? input.documents.map((d) => d.text) : [input.text];
      state = {
        version: result.model_version,
        targets,
        stored,
        docs: result.documents.map((d, i) => ({ ...d, text: texts[i] })),
      };
      const drawn = performance.now();
      render();
      document.body.dataset.renderMs = String(Math.round(performance.now() - drawn)); // layout of the sentences only
      const ms = Math.round(performance.now() - started);
      const count = state.docs.reduce((n, d) => n + d.sentences.length, 0);
      $("read-status").textContent = `${count} sentences, model ${result.model_version}, ${ms} ms`;
      document.body.dataset.rendered = String(Date.now());
    } catch (err) {
      $("read-status").textContent = "";
      H.flash(err.message);
    }
  }

  function storedFor(sentence) {
    const out = [];
    const mine = state.stored.get(`${sentence.text}\u0000`);
    if (mine && mine.sentiment) out.push(`sentiment ${mine.sentiment}`);
    for (const t of state.targets) {
      const got = state.stored.get(`${sentence.text}\u0000${H.targetName(t)}`);
      if (got && got.stance) out.push(`${H.targetName(t)} ${got.stance}`);
    }
    return out;
  }

  function sentenceHtml(doc, d, s) {
    const label = s.boilerplate ? "boilerplate" : s.sentiment ? s.sentiment.label : "";
    const cls = s.boilerplate ? "boiler" : `sent-${label}`;
    const badges = s.stance
      .filter((st) => st.label)
      .map((st) => `<span class="badge stance-${st.label}">${H.escape(st.target)}: ${st.label}</span>`)
      .join("");
    const stored = storedFor(s).map((t) => `<span class="badge stored">stored: ${H.escape(t)}</span>`).join("");
    return (
      `<span class="s ${cls}" tabindex="0" role="button" data-d="${d}" data-i="${s.index}">` +
      `${H.escape(s.text)} <span class="tag">${label}</span>${badges}${stored}</span>`
    );
  }

  function render() {
    const parts = [];
    state.docs.forEach((doc, d) => {
      parts.push(`<article class="doc" data-d="${d}">`);
      if (state.docs.length > 1) parts.push(`<h2>Document ${H.escape(doc.id ?? d + 1)}</h2>`);
      parts.push("<p>");
      let last = 0;
      for (const s of doc.sentences) {
        const gap = doc.text ? doc.text.slice(last, s.start) : " ";
        if (/\n\s*\n/.test(gap)) parts.push("</p><p>");
        else if (gap.includes("\n")) parts.push("<br>");
        else parts.push(" ");
        parts.push(sentenceHtml(doc, d, s));
        last = s.end;
      }
      parts.push("</p></article>");
    });
    $("article").innerHTML = parts.join("");
    renderSummary();
    $("detail").innerHTML = '<p class="muted">Click a sentence for its probabilities, the words that decided it, and to correct it.</p>';
  }

  // A stacked bar per target (counts of stance labels), and one for the sentiment of the document(s).
  function bar(counts, prefix) {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (!total) return '<div class="bar empty">no sentence</div>';
    const cells = Object.entries(counts)
      .filter(([, n]) => n)
      .map(([label, n]) => `<span class="${prefix}-${label}" style="flex:${n}" title="${label}: ${n}">${label} ${n}</span>`);
    return `<div class="bar">${cells.join("")}</div>`;
  }

  function renderSummary() {
    const sentiment = {};
    const stance = new Map();
    for (const doc of state.docs) {
      for (const [label, n] of Object.entries(doc.summary.sentiment)) sentiment[label] = (sentiment[label] || 0) + n;
      for (const t of doc.summary.stance) {
        const into = stance.get(t.target) || {};
        for (const [label, n] of Object.entries(t.counts)) into[label] = (into[label] || 0) + n;
        stance.set(t.target, into);
      }
    }
    const rows = [`<h2>Summary</h2><h3>Sentiment</h3>${bar(sentiment, "sent")}`];
    for (const [target, counts] of stance) rows.push(`<h3>Stance toward ${H.escape(target)}</h3>${bar(counts, "stance")}`);
    $("summary").innerHTML = rows.join("");
  }

  function probabilities(scores) {
    return Object.entries(scores)
      .map(([label, p]) => `<div class="prob"><span>${label}</span><meter min="0" max="1" value="${p}"></meter><span>${(p * 100).toFixed(1)} %</span></div>`)
      .join("");
  }

  function words(explanation) {
    if (!explanation || !explanation.length) return '<p class="muted">no deciding features</p>';
    return `<ul class="words">${explanation
      .map((f) => `<li><span class="${f.weight >= 0 ? "pro" : "contra"}">${H.escape(f.words.length ? f.words.join(" ") : f.feature)}</span> <small>${f.view} ${f.weight.toFixed(3)}</small></li>`)
      .join("")}</ul>`;
  }

  function correctButtons(head, target, labels, current) {
    const data = target ? ` data-target="${H.escape(target)}"` : "";
    return labels
      .map((l) => `<button class="needs-key fix${l === current ? " current" : ""}" data-head="${head}"${data} data-label="${l}">${l}</button>`)
      .join("");
  }

  async function select(el) {
    for (const old of document.querySelectorAll(".s.selected")) old.classList.remove("selected");
    el.classList.add("selected");
    const doc = state.docs[Number(el.dataset.d)];
    const s = doc.sentences[Number(el.dataset.i)];
    const info = await H.model();
    const stanceTargets = s.stance.filter((st) => st.label).map((st) => st.target);
    let html = `<h2>Sentence ${s.index + 1}</h2><blockquote>${H.escape(s.text)}</blockquote>`;
    if (s.boilerplate) html += '<p class="muted">Boilerplate: left out of the summary.</p>';
    if (s.sentiment) {
      html += `<h3>Sentiment: ${s.sentiment.label}</h3>${probabilities(s.sentiment.scores)}<div id="why-sentiment" class="why">explaining …</div>`;
    }
    for (const st of s.stance.filter((x) => x.label)) {
      html += `<h3>Stance toward ${H.escape(st.target)}: ${st.label}</h3>${probabilities(st.scores)}`;
      html += `<div class="why" data-why="${H.escape(st.target)}">explaining …</div>`;
    }
    html += '<h3>Correct</h3><p class="muted">One click stores the label (POST /v1/labels).</p>';
    html += `<div class="fixes" data-text-d="${el.dataset.d}" data-text-i="${el.dataset.i}">`;
    html += `<div class="fixrow"><span>Sentiment</span>${correctButtons("sentiment", null, info.heads.sentiment || [], null)}</div>`;
    const targets = stanceTargets.length ? stanceTargets : state.targets.map(H.targetName);
    for (const t of targets) {
      html += `<div class="fixrow"><span>Stance: ${H.escape(t)}</span>${correctButtons("stance", t, info.heads.stance || [], null)}</div>`;
    }
    html += '</div><p id="fix-status" role="status"></p>';
    $("detail").innerHTML = html;
    H.refreshKeyState();
    explain(s, stanceTargets);
  }

  async function explain(s, stanceTargets) {
    const targets = state.targets.filter((t) => stanceTargets.includes(H.targetName(t)));
    try {
      const result = await H.api("POST", "/v1/classify", { sentences: [s.text], targets, explain: 8 });
      const got = result.documents[0].sentences[0];
      const why = $("why-sentiment");
      if (why && got.sentiment) why.innerHTML = words(got.sentiment.explanation);
      for (const st of got.stance) {
        const box = document.querySelector(`.why[data-why="${CSS.escape(st.target)}"]`);
        if (box) box.innerHTML = words(st.explanation);
      }
    } catch (err) {
      for (const box of document.querySelectorAll(".why")) box.textContent = `no explanation: ${err.message}`;
    }
  }

  async function correct(button) {
    const box = button.closest(".fixes");
    const doc = state.docs[Number(box.dataset.textD)];
    const s = doc.sentences[Number(box.dataset.textI)];
    const row = { text: s.text };
    if (button.dataset.head === "stance") {
      row.target = button.dataset.target;
      row.stance = button.dataset.label;
    } else {
      row.sentiment = button.dataset.label;
    }
    try {
      const stored = await H.api("POST", "/v1/labels", { labels: [row] });
      const key = `${s.text}\u0000${row.target || ""}`;
      state.stored.set(key, { ...(state.stored.get(key) || {}), ...row, id: stored.ids[0] });
      for (const b of box.querySelectorAll(`button[data-head="${button.dataset.head}"]`)) {
        if ((b.dataset.target || "") === (button.dataset.target || "")) b.classList.toggle("current", b === button);
      }
      $("fix-status").textContent = `Stored label ${stored.ids[0]}: ${row.target ? row.target + " " : ""}${button.dataset.label}`;
      const el = document.querySelector(`.s[data-d="${box.dataset.textD}"][data-i="${box.dataset.textI}"]`);
      const fresh = document.createElement("span");
      fresh.innerHTML = sentenceHtml(doc, Number(box.dataset.textD), s);
      fresh.firstChild.classList.add("selected");
      el.replaceWith(fresh.firstChild);
    } catch (err) {
      H.flash(err.message);
    }
  }

  async function addToPool() {
    H.flash("");
    try {
      const input = readInput();
      const body = input.documents ? { documents: input.documents } : { text: input.text };
      const r = await H.api("POST", "/v1/pool", body);
      H.flash(`Review pool: ${r.added} sentences added, ${r.duplicates} duplicates, ${r.boilerplate} boilerplate left out; ${r.size} in the pool.`, "ok");
    } catch (err) {
      H.flash(err.message);
    }
  }

  async function openFile() {
    const file = $("file").files[0];
    if (file) $("text").value = await file.text();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const saved = sessionStorage.getItem("haltung.targets");
    if (saved !== null) $("targets").value = saved;
    $("read-form").addEventListener("submit", read);
    $("file").addEventListener("change", openFile);
    $("pool-add").addEventListener("click", addToPool);
    $("article").addEventListener("click", (e) => {
      const el = e.target.closest(".s");
      if (el) select(el);
    });
    $("article").addEventListener("keydown", (e) => {
      const el = e.target.closest(".s");
      if (el && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        select(el);
      }
    });
    $("detail").addEventListener("click", (e) => {
      const b = e.target.closest("button.fix");
      if (b && !b.disabled) correct(b);
    });
  });
})();
