// Shared by every workbench page: the API key (session storage only), fetch wrappers, small DOM helpers.
// The key is sent only as the Authorization header; it never goes into a URL, the page, or a log.
"use strict";

const Haltung = (() => {
  const KEY = "haltung.apiKey";

  function key() {
    return sessionStorage.getItem(KEY) || "";
  }

  function writable() {
    return key() !== "";
  }

  function escape(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function flash(message, kind = "error") {
    const box = document.getElementById("flash");
    box.textContent = message;
    box.className = `flash flash-${kind}`;
    box.hidden = !message;
  }

  // fetch JSON from the service; a non-2xx answer throws an Error carrying the API's error message.
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (key()) headers.Authorization = `Bearer ${key()}`;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      let message = error.message || `${method} ${path}: HTTP ${response.status}`;
      if (response.status === 401) message = `The API key was refused: ${message}`;
      const err = new Error(message);
      err.status = response.status;
      err.code = error.code;
      throw err;
    }
    return data;
  }

  // Disable everything marked .needs-key while no key is set, and say why.
  function refreshKeyState() {
    const has = writable();
    document.getElementById("readonly-note").hidden = has;
    document.getElementById("key-state").textContent = has ? "key set for this session" : "";
    document.getElementById("api-key").hidden = has;
    document.getElementById("key-save").hidden = has;
    document.querySelector('label[for="api-key"]').hidden = has;
    document.getElementById("key-forget").hidden = !has;
    document.body.classList.toggle("read-only", !has);
    for (const el of document.querySelectorAll(".needs-key")) {
      el.disabled = !has;
      el.title = has ? "" : "needs an API key (type it at the top of the page)";
    }
    document.dispatchEvent(new CustomEvent("haltung:key"));
  }

  function setupKeyForm() {
    const form = document.getElementById("key-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("api-key");
      const value = input.value.trim();
      input.value = "";
      if (value) sessionStorage.setItem(KEY, value);
      refreshKeyState();
    });
    document.getElementById("key-forget").addEventListener("click", () => {
      sessionStorage.removeItem(KEY);
      refreshKeyState();
    });
  }

  // "Russland: Moskau, Kreml" per line -> [{name, aliases}] (a line without ":" is a plain name).
  function parseTargets(text) {
    const targets = [];
    for (const line of text.split("\n")) {
      const [name, rest] = line.split(/:(.*)/s);
      if (!name || !name.trim()) continue;
      const aliases = (rest || "").split(",").map((a) => a.trim()).filter(Boolean);
      targets.push(aliases.length ? { name: name.trim(), aliases } : name.trim());
    }
    return targets;
  }

  function targetName(target) {
    return typeof target === "string" ? target : target.name;
  }

  // Labels per head of the served model (GET /v1/model), fetched once per page.
  let modelInfo = null;
  async function model() {
    if (!modelInfo) modelInfo = await api("GET", "/v1/model");
    return modelInfo;
  }

  // Every stored label, as a map "text\u0000target" -> label (paged through GET /v1/labels).
  async function storedLabels(maxPages = 20) {
    const map = new Map();
    let cursor = null;
    for (let page = 0; page < maxPages; page++) {
      const query = new URLSearchParams({ limit: "1000" });
      if (cursor) query.set("cursor", cursor);
      const data = await api("GET", `/v1/labels?${query}`);
      for (const item of data.items) map.set(`${item.text}\u0000${item.target || ""}`, item);
      cursor = data.next_cursor;
      if (!cursor) break;
    }
    return map;
  }

  document.addEventListener("DOMContentLoaded", () => {
    setupKeyForm();
    refreshKeyState();
  });

  return { key, writable, escape, flash, api, parseTargets, targetName, model, storedLabels, refreshKeyState };
})();
