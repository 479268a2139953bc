// The upload page: one file at a time, to this gateway (same origin).
//
// Files up to STREAM_MAX_BYTES go in one streamed request, PUT /files/{name},
// which answers with the file id and the SHA-256 the gateway computed. Larger
// files use tus 1.0 (https://tus.io/protocols/resumable-upload): POST
// /uploads/direct returns a signed upload URL and a chunk size, then one
// PATCH per chunk, each with an Upload-Checksum the gateway verifies. A
// dropped connection is resumed from the offset a HEAD request reports.
// XMLHttpRequest, not fetch: it reports upload progress.
"use strict";

// Keep at or below the gateway's MAX_UPLOAD_BYTES (100 MiB in production,
// 8 MiB in the tests). A streamed request cannot resume, so it stays small.
const STREAM_MAX_BYTES = 8 * 1024 * 1024;
const TOKEN_KEY = "fastio-edge.token";
const TUS = { "Tus-Resumable": "1.0.0" };
const RETRY_DELAYS_MS = [500, 1000, 3000, 5000];

const $ = (id) => document.getElementById(id);

class UploadError extends Error {
  /** A failure to show the user: a short title and a sentence of detail. */
  constructor(title, detail) {
    super(`${title}: ${detail}`);
    this.title = title;
    this.detail = detail;
  }
}

class ConnectionLost extends Error {}

// -- HTTP ---------------------------------------------------------------------

function send(method, url, { headers = {}, body = null, onProgress } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) {
      xhr.setRequestHeader(name, value);
    }
    if (onProgress) {
      xhr.upload.onprogress = (event) => onProgress(event.loaded);
    }
    xhr.onload = () =>
      resolve({
        status: xhr.status,
        text: xhr.responseText,
        header: (name) => xhr.getResponseHeader(name),
      });
    xhr.onerror = () => reject(new ConnectionLost(`${method} ${url}`));
    xhr.onabort = xhr.onerror;
    xhr.send(body);
  });
}

/** The gateway's errors are application/problem+json (RFC 9457). */
function refused(response, doing) {
  const outcome = response.status < 500 ? "refused" : "failed";
  let phrase = "";
  let detail = `The gateway answered ${response.status}.`;
  try {
    const problem = JSON.parse(response.text);
    phrase = problem.title ? ` ${problem.title}` : "";
    detail = problem.detail || detail;
  } catch {
    // Not JSON (a proxy's error page, say): the status says what is known.
  }
  return new UploadError(`${doing} ${outcome} (${response.status}${phrase})`, detail);
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

// -- the two routes -------------------------------------------------------------

async function uploadStreamed(file, token, progress) {
  const response = await send("PUT", `/files/${encodeURIComponent(file.name)}`, {
    headers: { Authorization: `Bearer ${token}` },
    body: file,
    onProgress: (sent) => progress(sent),
  }).catch(() => {
    throw new UploadError("Upload failed", "The connection to the gateway was lost.");
  });
  if (response.status !== 201) throw refused(response, "Upload");
  const record = JSON.parse(response.text);
  return {
    fileId: record.file_id,
    sha256: record.sha256,
    route: "one streamed request",
  };
}

async function uploadResumable(file, token, progress) {
  const spec = { name: file.name, size: file.size };
  if (file.type) spec.type = file.type;
  const granted = await send("POST", "/uploads/direct", {
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify(spec),
  }).catch(() => {
    throw new UploadError("Upload failed", "The connection to the gateway was lost.");
  });
  if (granted.status !== 201) throw refused(granted, "Upload");
  const { upload_url: url, chunk_size: chunkSize } = JSON.parse(granted.text);

  let offset = 0;
  let requests = 0;
  let retries = 0; // in a row
  let last = null;
  while (offset < file.size) {
    // Read whole: WebCrypto has no streaming digest. A chunk is at most
    // 100 MB (Fast.io's limit; 50 MiB as configured in production).
    const chunk = await file.slice(offset, offset + chunkSize).arrayBuffer();
    const headers = {
      ...TUS,
      "Content-Type": "application/offset+octet-stream",
      "Upload-Offset": String(offset),
    };
    if (crypto.subtle) {
      // Only secure contexts (HTTPS, localhost) have WebCrypto.
      const digest = await crypto.subtle.digest("SHA-256", chunk);
      headers["Upload-Checksum"] = `sha256 ${base64(digest)}`;
    }
    const start = offset;
    let response = null;
    try {
      requests += 1;
      response = await send("PATCH", url, {
        headers,
        body: chunk,
        onProgress: (sent) => progress(start + sent),
      });
    } catch (err) {
      if (!(err instanceof ConnectionLost)) throw err;
    }

    // Lost connection, locked upload (423) or a server error: wait, ask the
    // gateway where the upload stands, go on from there.
    if (response === null || response.status === 423 || response.status >= 500) {
      if (retries >= RETRY_DELAYS_MS.length) {
        if (response) throw refused(response, "Upload");
        throw new UploadError("Upload failed", "The connection was lost repeatedly.");
      }
      await sleep(RETRY_DELAYS_MS[retries++]);
      last = await uploadState(url);
      offset = Number(last.header("Upload-Offset"));
      continue;
    }
    if (response.status !== 204) throw refused(response, "Upload");
    const accepted = Number(response.header("Upload-Offset"));
    if (!(accepted > offset)) {
      // Each PATCH is one whole chunk of the gateway's size, so this would
      // repeat forever.
      throw new UploadError("Upload failed", "The gateway kept none of the bytes sent.");
    }
    offset = accepted;
    retries = 0;
    last = response;
    progress(offset);
  }

  return {
    fileId: last.header("X-Fastio-File-Id"),
    sha256: fromReprDigest(last.header("Repr-Digest")),
    route: `${plural(requests, "resumable request")} (tus)`,
    requests,
  };
}

/** HEAD: the upload's offset (and, once stored, its file id). */
async function uploadState(url) {
  const response = await send("HEAD", url, { headers: TUS }).catch(() => {
    throw new UploadError("Upload failed", "The gateway cannot be reached.");
  });
  if (response.status !== 200) throw refused(response, "Resuming the upload");
  return response;
}

// -- formatting -----------------------------------------------------------------

function base64(buffer) {
  return btoa(String.fromCharCode(...new Uint8Array(buffer)));
}

/** "sha-256=:<base64>:" (RFC 9530) as hex; null when absent. */
function fromReprDigest(value) {
  const match = /sha-256=:([^:]+):/.exec(value || "");
  if (!match) return null;
  return Array.from(atob(match[1]), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

function bytes(n) {
  if (n < 1024) return plural(n, "byte");
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = -1;
  do {
    value /= 1024;
    unit += 1;
  } while (value >= 1024 && unit < units.length - 1);
  const shown = value.toFixed(value < 10 ? 1 : 0).replace(/\.0$/, "");
  return `${shown} ${units[unit]}`;
}

function plural(n, word) {
  return `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
}

// -- the page -------------------------------------------------------------------

function show(id, visible) {
  $(id).hidden = !visible;
}

function showError(error) {
  const known = error instanceof UploadError;
  $("error-title").textContent = known ? error.title : "Something went wrong";
  $("error-detail").textContent = known ? error.detail : String(error);
  show("error", true);
}

function showResult(file, stored, seconds) {
  $("result-name").textContent = file.name;
  $("result-size").textContent = bytes(file.size);
  $("result-route").textContent = `${stored.route}, in ${seconds.toFixed(1)} s`;
  $("result-file-id").textContent = stored.fileId;
  const sha256 = $("result-sha256");
  sha256.textContent =
    stored.sha256 ??
    `Not computed: the file was sent in ${stored.requests} requests, each checked against its own SHA-256.`;
  sha256.classList.toggle("note", !stored.sha256);
  show("result", true);
}

let busy = false;

async function upload(file) {
  if (busy) return;
  show("error", false);
  show("result", false);
  const token = $("token").value.trim();
  if (!token) {
    showError(new UploadError("No access token", "Paste your access token first."));
    return;
  }

  busy = true;
  $("upload").classList.add("busy");
  show("activity", true);
  const bar = $("progress");
  bar.hidden = false;
  const status = $("status");
  const progress = (sent) => {
    const done = Math.min(sent, file.size);
    bar.value = file.size ? done / file.size : 1;
    status.textContent = `Sending ${file.name}: ${bytes(done)} of ${bytes(file.size)}`;
  };
  progress(0);

  const started = performance.now();
  try {
    const route = file.size <= STREAM_MAX_BYTES ? uploadStreamed : uploadResumable;
    const stored = await route(file, token, progress);
    bar.value = 1;
    status.textContent = `Stored ${file.name}.`;
    showResult(file, stored, (performance.now() - started) / 1000);
  } catch (error) {
    bar.hidden = true;
    status.textContent = `${file.name} was not stored.`;
    showError(error);
  } finally {
    busy = false;
    $("upload").classList.remove("busy");
    $("file").value = ""; // the same file can be chosen again
  }
}

function start() {
  for (const element of document.querySelectorAll("[data-stream-max]")) {
    element.textContent = bytes(STREAM_MAX_BYTES);
  }

  const token = $("token");
  token.value = sessionStorage.getItem(TOKEN_KEY) ?? "";
  token.addEventListener("input", () => sessionStorage.setItem(TOKEN_KEY, token.value.trim()));

  $("file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) upload(file);
  });

  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const [file] = event.dataTransfer.files;
    if (file) upload(file);
  });
}

start();
