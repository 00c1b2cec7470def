// Browser side of the web app: talks to the user's EIP-1193 wallet and hashes files with WebCrypto.
// Every helper resolves (never rejects) to a plain object, so the Reflex backend always gets an answer it can explain.
(() => {
  "use strict";

  // The browser's time zone (IANA) for the app's backend, in the cookie webapp.state.ViewerZoneState receives with
  // the app's hydration: grids head their dates by the viewer's days. Looking it up is the page's first use of ICU,
  // 25–50 ms of main thread here and four times that on a phone, so it is not done while every page loads: a page
  // whose first data is a dated grid says so (meta mediaproof:day-headings) and gets it before the app hydrates;
  // any grid also asks for it once loaded (viewerZone), which covers a grid reached from another page and a zone
  // changed since the cookie was written.
  const ZONE_COOKIE = "mediaproof_tz";
  const ZONE_COOKIE_SECONDS = 365 * 24 * 3600;
  function viewerZone() {
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      // no Intl time zone: the headings count UTC days
    }
    document.cookie = `${ZONE_COOKIE}=${encodeURIComponent(zone)}; path=/; max-age=${ZONE_COOKIE_SECONDS}; samesite=lax`;
    return zone;
  }
  if (document.querySelector('meta[name="mediaproof:day-headings"]')) viewerZone();

  // EIP-6963: every installed wallet announces itself (name, icon, provider), so a browser with several is not left
  // with whichever overwrote window.ethereum last. One announced wallet is used as is; several, the user chooses;
  // none, window.ethereum (older wallets). What an extension announces is outside input: the name and icon are
  // shown, so they are bounded and the icon must be an image data URI (EIP-6963 requires one; no remote fetch).
  const MAX_WALLETS = 16;
  const announced = new Map(); // uuid → { info, provider }
  let chosen = null; // the provider the user picked (or the only one announced)
  window.addEventListener("eip6963:announceProvider", (event) => {
    const detail = event && event.detail;
    const info = detail && detail.info;
    const provider = detail && detail.provider;
    if (!info || !provider || typeof provider.request !== "function") return;
    const uuid = String(info.uuid || "").slice(0, 64);
    if (!uuid || (!announced.has(uuid) && announced.size >= MAX_WALLETS)) return;
    const icon = String(info.icon || "");
    const entry = {
      info: {
        uuid,
        name: String(info.name || "Unnamed wallet").slice(0, 60),
        icon: /^data:image\/(svg\+xml|png|webp|jpeg|gif)[;,]/i.test(icon) && icon.length <= 100000 ? icon : "",
        rdns: String(info.rdns || "").slice(0, 100),
      },
      provider,
    };
    announced.set(uuid, entry);
    // The wallet chosen earlier in this tab: a reload (whose uuids are new) keeps using it.
    if (!chosen && entry.info.rdns && entry.info.rdns === remembered()) useWallet(provider);
  });

  const walletList = () => [...announced.values()].map((w) => w.info);

  // The provider every helper talks to: the chosen one, else the only one announced, else window.ethereum.
  function wallet() {
    if (chosen) return chosen;
    if (announced.size === 1) return useWallet([...announced.values()][0].provider);
    return announced.size === 0 ? window.ethereum : null;
  }

  const REFUSED = 4001; // EIP-1193: the user rejected the request
  const UNKNOWN_CHAIN = 4902; // the wallet does not know the chain yet: add it first

  const failure = (e) => ({
    error: e && e.code === REFUSED ? "refused" : "failed",
    code: e && e.code !== undefined ? e.code : null,
    message: String((e && e.message) || e),
  });

  const toHex = (buffer) =>
    Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

  const utf8Hex = (text) => "0x" + toHex(new TextEncoder().encode(text));

  // connect() asks the wallet in use; with several announced and none chosen it answers the list to choose from.
  // connect(uuid) uses that announced wallet from now on.
  async function connect(uuid) {
    if (uuid) {
      const picked = announced.get(String(uuid));
      if (!picked) return { error: "failed", message: "that wallet is no longer in this browser: reload the page" };
      useWallet(picked.provider);
      remember(picked.info.rdns);
    }
    const eth = wallet();
    if (!eth && announced.size > 1) return { error: "choose", wallets: walletList() };
    if (!eth) return { error: "no_wallet" };
    try {
      const accounts = await eth.request({ method: "eth_requestAccounts" });
      if (!accounts || accounts.length === 0) return { error: "refused", message: "no account shared" };
      const chainId = await eth.request({ method: "eth_chainId" });
      return { address: accounts[0], chainId: parseInt(chainId, 16) };
    } catch (e) {
      return failure(e);
    }
  }

  // personal_sign takes the message as hex of its UTF-8 bytes, then the address (EIP-1193 wallets agree on this).
  async function personalSign(address, message) {
    const eth = wallet();
    if (!eth) return { error: "no_wallet" };
    try {
      const signature = await eth.request({
        method: "personal_sign",
        params: [utf8Hex(message), address],
      });
      return { signature, message };
    } catch (e) {
      return failure(e);
    }
  }

  async function switchChain(chainIdHex, rpcUrl) {
    const eth = wallet();
    if (!eth) return { error: "no_wallet" };
    try {
      await eth.request({ method: "wallet_switchEthereumChain", params: [{ chainId: chainIdHex }] });
      return { ok: true };
    } catch (e) {
      if (!e || e.code !== UNKNOWN_CHAIN) return failure(e);
    }
    try {
      await eth.request({
        method: "wallet_addEthereumChain",
        params: [
          {
            chainId: chainIdHex,
            chainName: "Mediaproof local chain",
            rpcUrls: [rpcUrl],
            nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
          },
        ],
      });
      return { ok: true };
    } catch (e) {
      return failure(e);
    }
  }

  // Hashes the file chosen in <input id=inputId>. The bytes stay in this page; only the digest leaves it.
  async function hashChosenFile(inputId) {
    const input = document.getElementById(inputId);
    const file = input && input.files && input.files[0];
    if (!file) return { error: "no_file", message: "no file was chosen" };
    if (!(window.crypto && window.crypto.subtle)) {
      return {
        error: "no_webcrypto",
        message:
          "this page cannot hash files here: browsers allow WebCrypto only on https or localhost addresses",
      };
    }
    try {
      const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
      return { name: file.name, size: file.size, sha256: toHex(digest) };
    } catch (e) {
      return failure(e);
    } finally {
      input.value = ""; // choosing the same file again must hash it again
    }
  }

  async function rpcCall(rpcUrl, method, params) {
    const response = await fetch(rpcUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = await response.json();
    if (body.error) throw body.error;
    return body.result;
  }

  // eth_call through the wallet when it is on the right chain, else straight to the chain's RPC URL.
  // `tag` comes back unchanged so the backend can tell which request this answer belongs to.
  async function ethCall(to, data, chainIdHex, rpcUrl, tag) {
    const eth = wallet();
    try {
      if (eth) {
        const walletChain = await eth.request({ method: "eth_chainId" });
        if (parseInt(walletChain, 16) === parseInt(chainIdHex, 16)) {
          const result = await eth.request({ method: "eth_call", params: [{ to, data }, "latest"] });
          return { result, via: "wallet", tag };
        }
      }
      const result = await rpcCall(rpcUrl, "eth_call", [{ to, data }, "latest"]);
      return { result, via: "rpc", tag };
    } catch (e) {
      return { ...failure(e), tag };
    }
  }

  // Drop zones are <label data-drop-for="input id">: a dropped file becomes the input's file and fires its
  // change event, so dropping and picking take the same path. Delegated, because React renders zones later.
  const zoneOf = (event) => event.target instanceof Element && event.target.closest("[data-drop-for]");
  document.addEventListener("dragover", (event) => {
    const zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.setAttribute("data-dragging", "true");
  });
  document.addEventListener("dragleave", (event) => {
    const zone = zoneOf(event);
    if (zone) zone.removeAttribute("data-dragging");
  });
  document.addEventListener("drop", (event) => {
    const zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.removeAttribute("data-dragging");
    const input = document.getElementById(zone.getAttribute("data-drop-for"));
    if (!input || !event.dataTransfer || event.dataTransfer.files.length === 0) return;
    input.files = event.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // rx.upload renders react-dropzone's file input with no label of its own, and gives no way to pass one: a zone
  // names it with data-file-label, which becomes the input's aria-label whenever React (re)renders it.
  function labelFileInputs() {
    for (const input of document.querySelectorAll("[data-file-label] input[type=file]:not([aria-label])")) {
      input.setAttribute("aria-label", input.closest("[data-file-label]").getAttribute("data-file-label"));
    }
  }
  new MutationObserver(labelFileInputs).observe(document.documentElement, { childList: true, subtree: true });

  // The accounts the wallet already shares, without prompting (eth_accounts, not eth_requestAccounts).
  async function currentAccount() {
    const eth = wallet();
    if (!eth) return { error: "no_wallet" };
    try {
      const accounts = await eth.request({ method: "eth_accounts" });
      const chainId = await eth.request({ method: "eth_chainId" });
      return { address: (accounts && accounts[0]) || "", chainId: parseInt(chainId, 16) };
    } catch (e) {
      return failure(e);
    }
  }

  // A wallet that changes account or chain must not leave the old address signed in. The backend hears of it
  // through a hidden button (#wallet-changed) so the event takes Reflex's ordinary path. Only the wallet in use
  // is listened to: another installed wallet switching accounts says nothing about this session.
  const notify = () => {
    const button = document.getElementById("wallet-changed");
    if (button) button.click();
  };
  let listened = null;
  function listenTo(eth) {
    if (eth === listened || !eth || typeof eth.on !== "function") return;
    if (listened && typeof listened.removeListener === "function") {
      listened.removeListener("accountsChanged", notify);
      listened.removeListener("chainChanged", notify);
    }
    eth.on("accountsChanged", notify);
    eth.on("chainChanged", notify);
    listened = eth;
  }
  function useWallet(provider) {
    chosen = provider;
    listenTo(provider);
    return provider;
  }
  function remembered() {
    try {
      return window.sessionStorage.getItem("mediaproof.wallet") || "";
    } catch (e) {
      return ""; // storage blocked: the user chooses again after a reload
    }
  }
  function remember(rdns) {
    try {
      window.sessionStorage.setItem("mediaproof.wallet", rdns);
    } catch (e) {
      // storage blocked: nothing to keep
    }
  }
  if (window.ethereum) listenTo(window.ethereum);
  // Asked once everything above exists: wallets answer synchronously, inside this call.
  window.dispatchEvent(new Event("eip6963:requestProvider"));

  // EIP-712 typed data arrives as a JSON string and goes to the wallet as one: parsing it here would round the
  // record's 256-bit nonce to a float.
  async function signTypedData(address, typedJson) {
    const eth = wallet();
    if (!eth) return { error: "no_wallet" };
    try {
      const signature = await eth.request({
        method: "eth_signTypedData_v4",
        params: [address, typedJson],
      });
      return { signature };
    } catch (e) {
      return failure(e);
    }
  }

  // Sends a transaction from the wallet and waits until it is mined (polling its receipt through the wallet).
  async function sendTransaction(tx, timeoutMs) {
    const eth = wallet();
    if (!eth) return { error: "no_wallet" };
    let hash;
    try {
      hash = await eth.request({ method: "eth_sendTransaction", params: [tx] });
    } catch (e) {
      return failure(e);
    }
    const deadline = Date.now() + (timeoutMs || 120000);
    while (Date.now() < deadline) {
      try {
        const receipt = await eth.request({ method: "eth_getTransactionReceipt", params: [hash] });
        if (receipt) return { hash, status: parseInt(receipt.status, 16), block: parseInt(receipt.blockNumber, 16) };
      } catch (e) {
        return { ...failure(e), hash };
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return { error: "timeout", hash, message: `transaction ${hash} was not mined in time` };
  }

  // The upload page: the drop zone hands the accepted file to holdFile, and its bytes then go from this page
  // straight to the upload service (POST /uploads), so the progress bar follows the real transfer. Progress
  // reaches the Reflex backend through a hidden button (#upload-progress-report) that reads uploadProgress().
  let heldFile = null;
  let heldPreview = "";
  let progressPercent = 0;
  const PROGRESS_INTERVAL_MS = 100; // at most ~10 reports a second over the websocket

  function forgetHeldFile() {
    if (window.mediaproofResumable) window.mediaproofResumable.stop();
    if (heldPreview) URL.revokeObjectURL(heldPreview);
    heldFile = null;
    heldPreview = "";
    progressPercent = 0;
    return { ok: true };
  }

  function holdFile(files) {
    forgetHeldFile();
    heldFile = (files && files[0]) || null;
    if (!heldFile) return { name: "", size: 0, type: "" };
    return { name: heldFile.name, size: heldFile.size, type: heldFile.type };
  }

  const uploadProgress = () => progressPercent;

  function reportProgress(percent) {
    progressPercent = percent;
    const button = document.getElementById("upload-progress-report");
    if (button) button.click();
  }

  // (loaded, total) → reportProgress(percent), at most every PROGRESS_INTERVAL_MS but always at 100 %.
  function throttledProgress() {
    let reportedAt = 0;
    let reported = -1;
    const report = (loaded, total) => {
      if (!total) return;
      const percent = Math.floor((100 * loaded) / total);
      const now = Date.now();
      if (percent !== reported && (percent === 100 || now - reportedAt >= PROGRESS_INTERVAL_MS)) {
        reported = percent;
        reportedAt = now;
        reportProgress(percent);
      }
    };
    report.finish = () => {
      if (reported !== 100) reportProgress(100);
    };
    return report;
  }

  // Sends the held file with the signed-in wallet's bearer token (the upload service's CORS allows the header):
  // one POST /uploads, or by tus (resumable_upload.js) in `chunkBytes` chunks when it is over `resumableAbove`
  // bytes. Resolves to {answer, preview} with the upload service's JSON answer (by tus: {upload_id}, which the
  // backend reads back as it does after a POST) and an object URL of the file for the preview, or to
  // {error: "rejected" (a 4xx/5xx: its status, the service's sentence, and the seconds of its Retry-After if any) |
  // "unreachable" | "no_file", message}. A refused file stays held, so it can be sent again (by tus: resumed).
  function sendHeldFile(uploadUrl, token, resumableAbove, chunkBytes) {
    const file = heldFile;
    if (!file) return Promise.resolve({ error: "no_file", message: "no file was chosen" });
    if (typeof resumableAbove === "number" && file.size > resumableAbove) {
      return sendHeldFileResumably(file, uploadUrl, token, chunkBytes);
    }
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      const report = throttledProgress();
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) report(event.loaded, event.total);
      });
      xhr.upload.addEventListener("load", () => report.finish());
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          body = null;
        }
        if (xhr.status === 201 && body && body.upload_id) {
          if (file !== heldFile) return resolve({ error: "replaced", message: "another file was chosen meanwhile" });
          heldPreview = URL.createObjectURL(file);
          resolve({ answer: body, preview: heldPreview });
        } else {
          const detail = body && body.detail ? body.detail : xhr.statusText || "no explanation";
          const wait = xhr.getResponseHeader("Retry-After") || (body && body.retry_after) || null;
          resolve({ error: "rejected", status: xhr.status, message: String(detail), retryAfter: wait });
        }
      });
      // A refused CORS preflight, a stopped service and a connection the service closed all land here.
      xhr.addEventListener("error", () =>
        resolve({ error: "unreachable", message: `the upload service at ${uploadUrl} could not be reached` }),
      );
      xhr.addEventListener("abort", () => resolve({ error: "aborted", message: "the upload was stopped" }));
      xhr.open("POST", `${uploadUrl}/uploads`);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      reportProgress(0);
      xhr.send(file);
    });
  }

  async function sendHeldFileResumably(file, uploadUrl, token, chunkBytes) {
    if (!window.mediaproofResumable) {
      return { error: "failed", message: "this page could not load resumable_upload.js; reload it" };
    }
    const report = throttledProgress();
    reportProgress(0);
    const metadata = { filename: file.name, filetype: file.type || "application/octet-stream" };
    const sent = await window.mediaproofResumable.send(file, uploadUrl, token, chunkBytes, metadata, report);
    if (sent.error) return sent;
    report.finish();
    if (file !== heldFile) return { error: "replaced", message: "another file was chosen meanwhile" };
    heldPreview = URL.createObjectURL(file);
    return { answer: { upload_id: sent.uploadId }, preview: heldPreview };
  }

  // The project page's upload of many files or a folder: the chosen files stay in this page, their sha256 go to
  // the backend, and the bytes of those it asks for go from here to the upload service
  // (PUT /projects/<pid>/blobs/<sha256>), one after another, with one progress figure over all of their bytes.
  let projectFiles = [];
  let projectPercent = 0;

  async function hashProjectFiles(inputId) {
    const input = document.getElementById(inputId);
    const files = Array.from((input && input.files) || []);
    if (!files.length) return { error: "no_file", message: "no file was chosen" };
    if (!(window.crypto && window.crypto.subtle)) {
      return { error: "no_webcrypto", message: "this page cannot hash files here: WebCrypto needs https or localhost" };
    }
    try {
      const listed = [];
      for (const file of files) {
        const digest = await window.crypto.subtle.digest("SHA-256", await file.arrayBuffer());
        listed.push({ path: file.webkitRelativePath || file.name, size: file.size, mtime_ms: file.lastModified,
          sha256: toHex(digest), file });
      }
      projectFiles = listed;
      return { files: listed.map(({ file, ...rest }) => rest) };
    } catch (e) {
      return failure(e);
    } finally {
      input.value = ""; // choosing the same files again must hash them again
    }
  }

  const projectUploadProgress = () => projectPercent;

  function reportProjectProgress(percent) {
    projectPercent = percent;
    const button = document.getElementById("project-upload-progress-report");
    if (button) button.click();
  }

  function putBlob(url, token, file, onProgress) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          body = null;
        }
        if (xhr.status === 201 && body && body.cid) return resolve({ cid: body.cid });
        const detail = body && body.detail ? body.detail : xhr.statusText || "no explanation";
        resolve({ error: "rejected", status: xhr.status, message: String(detail) });
      });
      xhr.addEventListener("error", () => resolve({ error: "unreachable", message: "the upload service could not be reached" }));
      xhr.open("PUT", url);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Authorization", `Bearer ${token}`);
      xhr.send(file);
    });
  }

  // Over the threshold a file goes by tus (resumable_upload.js) with Upload-Metadata project + sha256; the service
  // answers only its sha256, so the page names the sha256 of each of its 256 KiB chunks instead of a CID (the
  // backend computes the CID from them; the service checks it against what it stored when the manifest comes).
  async function sendProjectFileResumably(uploadUrl, token, projectId, sha, item, chunkBytes, onLoaded) {
    if (!window.mediaproofResumable) {
      return { error: "failed", message: "this page could not load resumable_upload.js; reload it" };
    }
    const metadata = { project: projectId, sha256: sha };
    const resumable = window.mediaproofResumable;
    const sent = await resumable.send(item.file, uploadUrl, token, chunkBytes, metadata, (loaded) => onLoaded(loaded));
    if (sent.error) return sent;
    if (sent.uploadId !== sha) {
      return { error: "rejected", status: 0, message: `the upload service stored ${sent.uploadId}, not ${sha}` };
    }
    return { chunks: await resumable.chunkDigests(item.file) };
  }

  // Sends the bytes of the held files whose sha256 is in `hashes` (those over `resumableAbove` bytes by tus, in
  // `chunkBytes` chunks); resolves to {cids: {sha256: cid}, chunks: {sha256: hex of its chunks' sha256}} or to the
  // first refusal ({error, status, message}, with `path`).
  async function sendProjectFiles(uploadUrl, token, projectId, hashes, resumableAbove, chunkBytes) {
    const wanted = new Set(hashes);
    const bySha = new Map();
    for (const item of projectFiles) if (wanted.has(item.sha256) && !bySha.has(item.sha256)) bySha.set(item.sha256, item);
    const total = Array.from(bySha.values()).reduce((sum, item) => sum + item.size, 0) || 1;
    let done = 0;
    let reportedAt = 0;
    const cids = {};
    const chunks = {};
    reportProjectProgress(0);
    for (const [sha, item] of bySha) {
      const onLoaded = (loaded) => {
        const now = Date.now();
        if (now - reportedAt >= PROGRESS_INTERVAL_MS) {
          reportedAt = now;
          reportProjectProgress(Math.floor((100 * (done + loaded)) / total));
        }
      };
      const answer =
        typeof resumableAbove === "number" && item.size > resumableAbove
          ? await sendProjectFileResumably(uploadUrl, token, projectId, sha, item, chunkBytes, onLoaded)
          : await putBlob(`${uploadUrl}/projects/${projectId}/blobs/${sha}`, token, item.file, onLoaded);
      if (answer.error) return { ...answer, path: item.path };
      if (answer.cid) cids[sha] = answer.cid;
      else chunks[sha] = answer.chunks;
      done += item.size;
    }
    reportProjectProgress(100);
    return { cids, chunks };
  }

  window.mediaproof = {
    viewerZone,
    wallet,
    connect,
    personalSign,
    switchChain,
    hashChosenFile,
    ethCall,
    currentAccount,
    signTypedData,
    sendTransaction,
    holdFile,
    forgetHeldFile,
    sendHeldFile,
    uploadProgress,
    hashProjectFiles,
    sendProjectFiles,
    projectUploadProgress,
  };
})();
