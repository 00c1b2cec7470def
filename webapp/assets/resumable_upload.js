// Resumable uploads for the web app: files over MEDIAPROOF_UPLOAD_RESUMABLE_ABOVE go to the upload service's tus
// endpoint (/files/) with npm tus-js-client's browser bundle (copied from node_modules to /vendor/tus.min.js by
// tooling/web_setup.sh, never committed), in chunks, so a dropped connection costs one chunk, not the whole file.
// Like mediaproof.js, every call resolves (never rejects) to a plain object the Reflex backend can explain.
(() => {
  "use strict";

  // Waits before each retry of a failed chunk; tus-js-client then asks HEAD for the service's offset and goes on
  // from there. Network errors, 5xx, 408 (the service stopped waiting for a stalled chunk), 409 and 423 are
  // retried; any other 4xx is an answer for the page.
  const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000];
  const RETRIED_4XX = new Set([408, 409, 423]);
  const UPLOAD_ID_HEADER = "Mediaproof-Upload-Id";
  // Each file's tus URL until it is done: sending the same held file again (after a wait, a new sign-in, a stall)
  // resumes it instead of starting over. A WeakMap, so a forgotten file takes its URL with it.
  const urls = new WeakMap();
  let running = null; // {upload, resolve} of the transfer in progress, so the page can stop it

  function detailOf(response) {
    try {
      const body = JSON.parse(response.getBody());
      return body && body.detail ? String(body.detail) : "";
    } catch (e) {
      return "";
    }
  }

  // tus-js-client's DetailedError → mediaproof.js's answer: {error: "rejected", status, message, retryAfter}
  // when the service answered, else {error: "unreachable", message}.
  function refusal(error, uploadUrl) {
    const response = error && error.originalResponse;
    if (!response) {
      return { error: "unreachable", message: `the upload service at ${uploadUrl} could not be reached` };
    }
    return {
      error: "rejected",
      status: response.getStatus(),
      message: detailOf(response) || "no explanation",
      retryAfter: response.getHeader("Retry-After") || null,
    };
  }

  // All bytes are there but the service has not stored the file yet (a cluster was away when the last chunk
  // arrived): a PATCH at the final offset with no body asks it to try again.
  async function finishStoring(url, token, size) {
    try {
      const answer = await fetch(url, {
        method: "PATCH",
        headers: {
          "Tus-Resumable": "1.0.0",
          "Upload-Offset": String(size),
          "Content-Type": "application/offset+octet-stream",
          Authorization: `Bearer ${token}`,
        },
      });
      const id = answer.headers.get(UPLOAD_ID_HEADER);
      if (answer.ok && id) return { uploadId: id };
      let detail = "";
      try {
        detail = (await answer.json()).detail || "";
      } catch (e) {
        detail = "";
      }
      return {
        error: "rejected",
        status: answer.ok ? 503 : answer.status,
        message: String(detail || "all bytes arrived but the file is not stored yet"),
        retryAfter: answer.headers.get("Retry-After"),
      };
    } catch (e) {
      return { error: "unreachable", message: `the upload service at ${url} could not be reached` };
    }
  }

  // Sends `file` by tus with `metadata` (strings) in `chunkSize`-byte PATCHes; onProgress(sent, total) as bytes are
  // accepted. Resolves to {uploadId} (the service's Mediaproof-Upload-Id: an upload id, or a project file's sha256)
  // or to a refusal as above, or {error: "aborted"} once stop() was called.
  // tus-js-client (87 KB) is fetched on the first resumable send, not with every page: only uploads of large files
  // need it, and a script in every page's head costs each page's first paint and main thread (Lighthouse).
  let loadingTus = null;
  function loadTus() {
    if (window.tus && window.tus.Upload) return Promise.resolve(true);
    if (!loadingTus) {
      loadingTus = new Promise((resolve) => {
        const script = document.createElement("script");
        script.src = "/vendor/tus.min.js";
        script.onload = () => resolve(Boolean(window.tus && window.tus.Upload));
        script.onerror = () => {
          loadingTus = null; // a later send tries again
          script.remove();
          resolve(false);
        };
        document.head.appendChild(script);
      });
    }
    return loadingTus;
  }

  async function send(file, uploadUrl, token, chunkSize, metadata, onProgress) {
    if (!(await loadTus())) {
      return {
        error: "failed",
        message: "this page could not load its resumable upload client (/vendor/tus.min.js); reload it",
      };
    }
    stop();
    return new Promise((resolve) => {
      const upload = new window.tus.Upload(file, {
        endpoint: `${uploadUrl}/files/`,
        uploadUrl: urls.get(file) || null,
        chunkSize,
        retryDelays: RETRY_DELAYS_MS,
        onShouldRetry: (error) => {
          const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
          return status < 400 || status >= 500 || RETRIED_4XX.has(status);
        },
        headers: { Authorization: `Bearer ${token}` },
        metadata,
        // The URL lives in `urls` for this page only: a stored fingerprint would outlive the sign-in it belongs to.
        storeFingerprintForResuming: false,
        onUploadUrlAvailable: () => urls.set(file, upload.url),
        onProgress: (sent, total) => onProgress(sent, total),
        onSuccess: async (payload) => {
          running = null;
          const id = payload.lastResponse.getHeader(UPLOAD_ID_HEADER);
          const done = id ? { uploadId: id } : await finishStoring(upload.url, token, file.size);
          if (done.uploadId) urls.delete(file);
          resolve(done);
        },
        onError: (error) => {
          running = null;
          resolve(refusal(error, uploadUrl));
        },
      });
      running = { upload, resolve };
      upload.start();
    });
  }

  // Stops the transfer in progress (the page started over); what the service holds expires by itself.
  function stop() {
    if (!running) return;
    const { upload, resolve } = running;
    running = null;
    upload.abort().catch(() => null);
    resolve({ error: "aborted", message: "the upload was stopped" });
  }

  // IPFS's chunker (mediaproof/unixfs.py CHUNK_SIZE): a file's CID follows from the sha256 of these chunks.
  const CID_CHUNK = 262144;

  // The sha256 of each CID_CHUNK-byte chunk of `file`, hex, one after another (one empty chunk for an empty file):
  // mediaproof.content.cid_from_chunk_digests names the file's CID from them without its bytes.
  async function chunkDigests(file) {
    const parts = [];
    for (let start = 0; start === 0 || start < file.size; start += CID_CHUNK) {
      const chunk = await file.slice(start, start + CID_CHUNK).arrayBuffer();
      const digest = new Uint8Array(await window.crypto.subtle.digest("SHA-256", chunk));
      parts.push(Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join(""));
    }
    return parts.join("");
  }

  window.mediaproofResumable = { send, stop, chunkDigests };
})();
