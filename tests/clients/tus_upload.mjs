// Uploads one file with tus-js-client (its Node build, options left at their
// defaults unless a flag says otherwise), so the tests can check the Worker's
// tus server against a client they did not write.
//
// Usage:
//   node tests/clients/tus_upload.mjs FILE --upload-url URL [options]
//   node tests/clients/tus_upload.mjs FILE --endpoint URL --token JWT [options]
//
//   --upload-url URL   upload to (or resume) this tus URL, e.g. a signed
//                      /tus/s/{token} URL from POST /uploads/direct
//   --endpoint URL     create the upload there (tus creation, POST /tus/)
//   --token JWT        sent as "Authorization: Bearer JWT" on every request
//   --chunk-size N     bytes per PATCH (default: the whole file in one PATCH)
//   --abort-after N    call upload.abort() once more than N bytes were sent;
//                      the connection is dropped mid-PATCH
//   --url-store FILE   remember the upload URL in FILE (tus-js-client's
//                      FileUrlStorage) and resume the upload found there
//   --name NAME        Upload-Metadata filename (default: FILE's base name)
//   --type MIME        Upload-Metadata filetype
//
// Prints one JSON object on stdout: {"outcome": "success" | "aborted" |
// "error", "url", "offset", "file_id", "headers" (of the last response),
// "responses": [{method, status, offset}], "resumed_from", "error"}. Exits 0
// on success or a requested abort, 1 on an error.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { FileUrlStorage, Upload } from "tus-js-client";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "upload-url": { type: "string" },
    endpoint: { type: "string" },
    token: { type: "string" },
    "chunk-size": { type: "string" },
    "abort-after": { type: "string" },
    "url-store": { type: "string" },
    name: { type: "string" },
    type: { type: "string" },
  },
});

const file = positionals[0];
if (!file || !(args["upload-url"] || args.endpoint)) {
  console.error("usage: tus_upload.mjs FILE (--upload-url URL | --endpoint URL) ...");
  process.exit(2);
}

const responses = [];
let lastResponse = null;
let aborting = false;
let resumedFrom = null;

function report(outcome, extra = {}) {
  const res = lastResponse?.getUnderlyingObject();
  const headers = res ? res.headers : {};
  const offset = headers["upload-offset"];
  const result = {
    outcome,
    url: upload.url,
    offset: offset === undefined ? null : Number(offset),
    file_id: headers["x-fastio-file-id"] ?? null,
    headers,
    responses,
    resumed_from: resumedFrom,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

const options = {
  metadata: { filename: args.name ?? path.basename(file) },
  onAfterResponse(req, res) {
    lastResponse = res;
    const offset = res.getHeader("Upload-Offset");
    responses.push({
      method: req.getMethod(),
      status: res.getStatus(),
      offset: offset === undefined ? null : Number(offset),
    });
  },
  onProgress(bytesSent) {
    const limit = args["abort-after"];
    if (limit === undefined || aborting || bytesSent <= Number(limit)) {
      return;
    }
    // Drop the connection in the middle of a PATCH, as a lost network would.
    aborting = true;
    upload.abort().then(() => {
      report("aborted", { bytes_sent: bytesSent });
      process.exit(0);
    });
  },
  onSuccess(payload) {
    lastResponse = payload.lastResponse;
    report("success");
    process.exit(0);
  },
  onError(error) {
    if (aborting) {
      return;
    }
    report("error", { error: String(error) });
    process.exit(1);
  },
};
if (args.type) options.metadata.filetype = args.type;
if (args["upload-url"]) options.uploadUrl = args["upload-url"];
if (args.endpoint) options.endpoint = args.endpoint;
if (args.token) options.headers = { Authorization: `Bearer ${args.token}` };
if (args["chunk-size"]) options.chunkSize = Number(args["chunk-size"]);
if (args["url-store"]) {
  // FileUrlStorage locks the file before writing, so it must exist.
  if (!fs.existsSync(args["url-store"])) fs.writeFileSync(args["url-store"], "{}");
  options.urlStorage = new FileUrlStorage(args["url-store"]);
}

// A path-backed ReadStream: tus-js-client reads each PATCH's slice from disk.
const upload = new Upload(fs.createReadStream(file), options);

if (args["url-store"]) {
  const previous = await upload.findPreviousUploads();
  if (previous.length > 0) {
    resumedFrom = previous[0].uploadUrl;
    upload.resumeFromPreviousUpload(previous[0]);
  }
}
upload.start();
