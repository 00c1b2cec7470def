// The browser's own check of Mediaproof proof bundles (mediaproof-proof-v1) against the chain: the steps of
// docs/proofs.md "Verifying", with ethers v6 from npm. A bundle may come from anywhere (the indexer, a file someone
// sent): nothing in it is believed until the chain, reached through the user's wallet or the RPC URL, agrees.
//
// An ES module bundled by the app's build (webapp/components/proof_check.py imports it, which also makes Reflex
// install `ethers`); it puts `window.mediaproofCheck` in place for rx.call_script. Every function resolves (never
// rejects) to plain JSON: numbers and strings only, so the backend always gets an answer it can show.
import { ethers } from "ethers";

const FORMAT = "mediaproof-proof-v1";
const ERC1271_ABI = ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"];
const ERC1271_MAGIC = "0x1626ba7e";
const MAX_BUNDLES = 8; // proofs of the same bytes checked at once (earliest first)

const lower = (value) => String(value ?? "").toLowerCase();
const hex = (value) => (lower(value).startsWith("0x") ? lower(value) : `0x${lower(value)}`);
const short = (address) => (address && address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address);
const utc = (seconds) =>
  seconds ? new Date(Number(seconds) * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : "";
const message = (e) => String((e && (e.shortMessage || e.message)) || e);

// The wallet when it is on the app's chain (the user's own connection), else the chain's RPC URL.
async function connect(config) {
  // The wallet the user chose (EIP-6963, assets/mediaproof.js), else whatever injected window.ethereum.
  const eth =
    typeof window === "undefined"
      ? undefined
      : window.mediaproof && window.mediaproof.wallet
        ? window.mediaproof.wallet()
        : window.ethereum;
  if (eth) {
    try {
      const chain = await eth.request({ method: "eth_chainId" });
      if (parseInt(chain, 16) === config.chainId) {
        return { provider: new ethers.BrowserProvider(eth, config.chainId, { staticNetwork: true }), via: "wallet" };
      }
    } catch (e) {
      // a wallet that cannot answer: the RPC URL below
    }
  }
  const provider = new ethers.JsonRpcProvider(config.rpcUrl, config.chainId, { staticNetwork: true });
  return { provider, via: "rpc" };
}

// OpenZeppelin StandardMerkleTree: leaf = keccak256(keccak256(abi.encode(values))), pairs hashed sorted.
function batchLeaf(sha256, owner, mediaId, receiptsHash) {
  const encoded = ethers.AbiCoder.defaultAbiCoder().encode(
    ["bytes32", "address", "bytes32", "bytes32"],
    [sha256, owner, mediaId, receiptsHash],
  );
  return ethers.keccak256(ethers.keccak256(encoded));
}

function receiptsHash(receipts) {
  const values = receipts.map((r) => [r.cluster_id, r.issued_at, r.signature]);
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["tuple(uint32,uint64,bytes)[]"], [values]));
}

function processProof(leaf, proof) {
  let node = lower(leaf);
  for (const sibling of proof) {
    const other = lower(sibling);
    node = lower(ethers.keccak256(ethers.concat(node < other ? [node, other] : [other, node])));
  }
  return node;
}

function recover(domain, types, value, signature) {
  try {
    return ethers.verifyTypedData(domain, types, value, signature);
  } catch (e) {
    return "";
  }
}

async function ownerSigned(ctx, owner, mediaId, domain, record, signature) {
  const signer = recover(domain, ctx.config.recordTypes, record, signature);
  if (signer && lower(signer) === lower(owner)) return { ok: true, how: "ecdsa", signer };
  if ((await ctx.provider.getCode(owner)) === "0x") return { ok: false, signer };
  try {
    const wallet = new ethers.Contract(owner, ERC1271_ABI, ctx.provider);
    return { ok: lower(await wallet.isValidSignature(mediaId, signature)) === ERC1271_MAGIC, how: "erc1271", signer };
  } catch (e) {
    return { ok: false, signer };
  }
}

// Batched: the leaf made here from the bundle's parts is in its batch (verifyInclusion), and the anchor's block and
// time. Never the bundle's own `leaf`: it is only compared.
async function checkBatched(ctx, bundle, parts, add) {
  const hash = receiptsHash(bundle.receipts);
  const leaf = batchLeaf(parts.sha256, parts.owner, parts.mediaId, hash);
  const proof = Array.isArray(bundle.proof) ? bundle.proof : [];
  let included = false;
  try {
    included = await ctx.app.verifyInclusion(leaf, proof, BigInt(bundle.batch || 0));
  } catch (e) {
    included = false;
  }
  if (!included) {
    add(
      "inclusion",
      false,
      `The leaf of (sha256, owner, media id, receipts hash) is not in batch ${bundle.batch}: ` +
        "MediaApp.verifyInclusion says no (the record, its receipts or the Merkle path were changed, or no such batch).",
    );
    return { block: 0, timestamp: 0 };
  }
  const [batch, timestamp] = await ctx.app.anchorOf(processProof(leaf, proof));
  add(
    "inclusion",
    true,
    `The leaf of (sha256, owner, media id, receipts hash) is in batch ${batch}: MediaApp.verifyInclusion says yes ` +
      (proof.length === 0
        ? "(the batch holds this leaf alone: it is the root)"
        : `(Merkle path of ${proof.length} step${proof.length === 1 ? "" : "s"})`) +
      `; the batch was anchored in block ${batch} at ${utc(timestamp)}.`,
  );
  return { block: Number(batch), timestamp: Number(timestamp) };
}

// Direct: the registration transaction holds MediaRegistered(media id) from the owner's UserMedia, with the same
// receipts as the bundle.
async function checkDirect(ctx, bundle, parts, add) {
  const fail = (why) => {
    add("inclusion", false, why);
    return { block: 0, timestamp: 0 };
  };
  const userContract = await ctx.app.userContract(parts.owner);
  if (userContract === ethers.ZeroAddress) return fail(`${parts.owner} has no UserMedia, so it registered nothing directly.`);
  let receipt = null;
  try {
    receipt = await ctx.provider.getTransactionReceipt(bundle.tx);
  } catch (e) {
    receipt = null;
  }
  if (!receipt) return fail(`No mined transaction ${bundle.tx} on this chain.`);
  const events = new ethers.Interface(ctx.config.abis.UserMedia);
  const ours = receipt.logs
    .filter((log) => lower(log.address) === lower(userContract))
    .map((log) => {
      try {
        return events.parseLog(log);
      } catch (e) {
        return null;
      }
    })
    .filter((event) => event && event.name === "MediaRegistered" && lower(event.args.mediaId) === parts.mediaId);
  if (receipt.status !== 1 || ours.length === 0) {
    return fail(`Transaction ${bundle.tx} did not register media ${parts.mediaId} in the owner's UserMedia.`);
  }
  const onChain = ours[0].args.receipts.map((r) => `${r[0]}:${r[1]}:${lower(r[2])}`).join(",");
  const given = bundle.receipts.map((r) => `${r.cluster_id}:${r.issued_at}:${lower(r.signature)}`).join(",");
  if (onChain !== given) return fail("The bundle's receipts differ from the ones the registration carried on chain.");
  const block = await ctx.provider.getBlock(receipt.blockNumber);
  add(
    "inclusion",
    true,
    `Transaction ${short(bundle.tx)} registered this media id in block ${receipt.blockNumber} at ` +
      `${utc(block.timestamp)}: a MediaRegistered event of the owner's UserMedia, carrying the same receipts.`,
  );
  return { block: receipt.blockNumber, timestamp: block.timestamp };
}

// Each receipt's signature recovers to its cluster's signer as StorageTopology lists it now; the cluster is Active
// now; it was issued within the receipt lifetime of the proof's time. R distinct clusters must pass.
async function checkReceipts(ctx, bundle, parts, anchor, add) {
  const domain = { ...ctx.config.domain, chainId: ctx.chainId, verifyingContract: ctx.topologyAddress };
  const lines = [];
  const good = new Set();
  for (const r of bundle.receipts) {
    const value = {
      clusterId: r.cluster_id,
      sha256: parts.sha256,
      owner: parts.owner,
      mediaId: parts.mediaId,
      issuedAt: r.issued_at,
    };
    const signer = recover(domain, ctx.config.receiptTypes, value, r.signature);
    let cluster = null;
    try {
      cluster = await ctx.topology.cluster(r.cluster_id);
    } catch (e) {
      cluster = null;
    }
    const clusterSigner = cluster ? cluster.signer : ethers.ZeroAddress;
    const status = cluster ? ctx.config.clusterStatusNames[Number(cluster.status)] || "Unknown" : "None";
    const signatureOk = Boolean(signer) && clusterSigner !== ethers.ZeroAddress && lower(signer) === lower(clusterSigner);
    const active = status === "Active";
    const issued = Number(r.issued_at);
    const inLifetime =
      anchor.timestamp > 0 && issued <= anchor.timestamp + ctx.skew && anchor.timestamp <= issued + ctx.lifetime;
    const ok = signatureOk && active && inLifetime;
    if (ok) good.add(Number(r.cluster_id));
    const why = [];
    if (!signatureOk) why.push(`its signature recovers to ${signer || "no address"}, not the cluster's signer ${clusterSigner}`);
    if (!active) why.push(`the cluster is ${status} now`);
    if (!inLifetime) why.push("it was not issued within the receipt lifetime of the proof's time");
    lines.push({
      cluster_id: Number(r.cluster_id),
      issued_at: issued,
      issued: utc(issued),
      signer: signer || "",
      cluster_signer: clusterSigner,
      status,
      ok,
      text: ok
        ? `Cluster ${r.cluster_id}: signed by ${signer}, its signer in StorageTopology; Active; issued ${utc(issued)}.`
        : `Cluster ${r.cluster_id}: ${why.join("; ")}.`,
    });
  }
  const needed = ctx.replicationFactor;
  add(
    "receipts",
    good.size >= needed && lines.length > 0,
    `${good.size} of ${lines.length} storage receipt${lines.length === 1 ? "" : "s"} ` +
      `${good.size === 1 ? "checks" : "check"} out ` +
      `(${needed} distinct cluster${needed === 1 ? "" : "s"} needed): each signature recovers to its cluster's ` +
      "signer in StorageTopology, the cluster is Active, and the receipt was issued within its lifetime of the " +
      "proof's time.",
  );
  return lines;
}

async function verifyBundle(ctx, bundle, expectedSha, shaSource) {
  const checks = [];
  const add = (key, ok, text, info = false) => checks.push({ key, ok: Boolean(ok), text, info });
  const record = (bundle && bundle.record) || {};
  const report = {
    kind: String(bundle.kind || ""),
    owner: String(bundle.owner || record.owner || ""),
    title: String(record.title || ""),
    media_id: lower(bundle.media_id),
    sha256: lower(bundle.sha256),
    batch: Number(bundle.batch || 0),
    tx: String(bundle.tx || ""),
    block: 0,
    timestamp: 0,
    first: false,
    first_owner: "",
    first_block: 0,
    revealed: false,
    proven: false,
    checks,
    receipts: [],
  };
  if (!bundle || bundle.format !== FORMAT || !bundle.record || !Array.isArray(bundle.receipts)) {
    add("format", false, `This is not a Mediaproof proof bundle (format "${bundle && bundle.format}", expected ${FORMAT}).`);
    return report;
  }
  const parts = { sha256: lower(bundle.sha256), owner: report.owner, mediaId: report.media_id };

  // 1. The bytes: the file's (or the page's) sha256 is the one the bundle and its record name.
  const shaOk = lower(record.sha256) === parts.sha256 && (!expectedSha || hex(expectedSha) === parts.sha256);
  const what = shaSource === "file" ? "The file's SHA-256" : "The SHA-256 of the bytes this page shows";
  add(
    "file",
    shaOk,
    shaOk
      ? `${what} is the one the signed record names.`
      : `${what} (${hex(expectedSha)}) is not the one this proof names (${lower(record.sha256)}).`,
  );

  // 2. The chain and the contract: the ones this app knows, not whatever the bundle says.
  const chainOk = Number(bundle.chain_id) === ctx.chainId;
  add("chain", chainOk, chainOk ? `The proof is for chain ${ctx.chainId}, the chain asked.` :
    `The proof is for chain ${bundle.chain_id}, but the chain asked is ${ctx.chainId}.`);
  const contractOk = lower(bundle.contract) === lower(ctx.config.mediaApp) && lower(bundle.topology) === lower(ctx.topologyAddress);
  add(
    "contract",
    contractOk,
    contractOk
      ? `It names MediaApp ${ctx.config.mediaApp} and its StorageTopology, the contracts this app knows.`
      : `It names MediaApp ${bundle.contract} and StorageTopology ${bundle.topology}; this app knows MediaApp ` +
          `${ctx.config.mediaApp} with StorageTopology ${ctx.topologyAddress}.`,
  );

  // 3. The record's EIP-712 digest under MediaApp's domain is the media id.
  const domain = { ...ctx.config.domain, chainId: ctx.chainId, verifyingContract: ctx.config.mediaApp };
  let digest = "";
  try {
    digest = lower(ethers.TypedDataEncoder.hash(domain, ctx.config.recordTypes, record));
  } catch (e) {
    digest = "";
  }
  const digestOk = digest !== "" && digest === parts.mediaId && lower(record.owner) === lower(parts.owner);
  add(
    "media_id",
    digestOk,
    digestOk
      ? `The signed record's EIP-712 digest under MediaApp's domain is the media id ${short(parts.mediaId)}.`
      : `The record's EIP-712 digest is ${digest || "not computable"}, not the media id ${parts.mediaId}: ` +
          "the record was altered.",
  );

  // 4. The owner signed that record.
  const signed = await ownerSigned(ctx, parts.owner, parts.mediaId, domain, record, bundle.owner_signature);
  add(
    "owner_signature",
    signed.ok,
    signed.ok
      ? signed.how === "erc1271"
        ? `The owner's contract wallet ${parts.owner} accepts the signature (ERC-1271).`
        : `The owner's signature recovers to ${parts.owner}, the owner.`
      : `The owner signature recovers to ${signed.signer || "no address"}, not to the owner ${parts.owner}.`,
  );

  // 5. On chain: in its batch, or registered directly.
  const anchor =
    bundle.kind === "batched"
      ? await checkBatched(ctx, bundle, parts, add)
      : bundle.kind === "direct"
        ? await checkDirect(ctx, bundle, parts, add)
        : (add("inclusion", false, `Unknown kind of proof "${bundle.kind}" (batched or direct).`), { block: 0, timestamp: 0 });
  report.block = Number(anchor.block);
  report.timestamp = Number(anchor.timestamp);

  // 6. The storage receipts, against today's StorageTopology.
  report.receipts = report.block ? await checkReceipts(ctx, bundle, parts, anchor, add) : [];
  if (!report.block) add("receipts", false, "The receipts were not checked: the proof is not on chain.");

  report.proven = checks.every((c) => c.ok);

  // 7. First? MediaApp.proofDetail names the earliest proof of these bytes known on chain.
  const known = await ctx.app.proofDetail(parts.sha256);
  const knownBlock = Number(known.blockNumber);
  report.revealed =
    lower(known.owner) === lower(parts.owner) && knownBlock === report.block && Boolean(known.batched) === (bundle.kind === "batched");
  if (report.proven) {
    report.first =
      known.owner === ethers.ZeroAddress ||
      knownBlock > report.block ||
      (knownBlock === report.block && lower(known.owner) === lower(parts.owner));
    if (!report.first) {
      report.first_owner = known.owner;
      report.first_block = knownBlock;
    }
    add(
      "first",
      report.first,
      report.first
        ? "First proof of these bytes: MediaApp.proofDetail names no earlier proof."
        : `A later registration: ${known.owner} proved these bytes first, in block ${knownBlock} (MediaApp.proofDetail).`,
      true,
    );
  }
  return report;
}

// Checks `bundles` (earliest first) against the chain, and asks proofDetail(sha256) for the bytes themselves.
// request: {config, bundles, sha256 (what the bytes hash to), shaSource: "file" | "page", tag}.
async function check(request) {
  const { config, tag } = request;
  try {
    const { provider, via } = await connect(config);
    const chainId = Number(await provider.send("eth_chainId", []));
    if ((await provider.getCode(config.mediaApp)) === "0x") {
      return { tag, via, error: "no_contract", message: `no MediaApp at ${config.mediaApp} on chain ${chainId}` };
    }
    const app = new ethers.Contract(config.mediaApp, config.abis.MediaApp, provider);
    const topologyAddress = await app.topology();
    const topology = new ethers.Contract(topologyAddress, config.abis.StorageTopology, provider);
    const ctx = {
      config,
      provider,
      chainId,
      app,
      topology,
      topologyAddress,
      lifetime: Number(await topology.receiptLifetime()),
      skew: Number(await topology.MAX_CLOCK_SKEW()),
      replicationFactor: Number(await topology.replicationFactor()),
    };
    const reports = [];
    for (const bundle of (request.bundles || []).slice(0, MAX_BUNDLES)) {
      try {
        reports.push(await verifyBundle(ctx, bundle || {}, request.sha256, request.shaSource));
      } catch (e) {
        reports.push({
          kind: String((bundle && bundle.kind) || ""),
          owner: String((bundle && bundle.owner) || ""),
          proven: false,
          checks: [{ key: "error", ok: false, info: false, text: `This proof could not be checked: ${message(e)}` }],
          receipts: [],
        });
      }
    }
    let proofOf = null;
    if (request.sha256) {
      const known = await app.proofDetail(hex(request.sha256));
      proofOf = {
        owner: known.owner,
        block: Number(known.blockNumber),
        timestamp: Number(known.timestamp),
        batched: Boolean(known.batched),
      };
    }
    return { tag, via, chain_id: chainId, reports, proof_of: proofOf };
  } catch (e) {
    return { tag, error: "failed", message: message(e) };
  }
}

// A bundle file the user chose (JSON): one bundle, a list of them, or the indexer's {sha256, bundles}.
async function readBundleFile(inputId) {
  const input = document.getElementById(inputId);
  const file = input && input.files && input.files[0];
  if (!file) return { error: "no_file", message: "no file was chosen" };
  try {
    const data = JSON.parse(await file.text());
    const bundles = Array.isArray(data) ? data : data && Array.isArray(data.bundles) ? data.bundles : [data];
    return { name: file.name, bundles: bundles.filter((b) => b && typeof b === "object") };
  } catch (e) {
    return { error: "unreadable", message: `${file.name} is not JSON: ${message(e)}` };
  } finally {
    input.value = ""; // the same file chosen again is read again
  }
}

if (typeof window !== "undefined") {
  window.mediaproofCheck = { check, readBundleFile, batchLeaf, receiptsHash };
  // A page that checks on load (/verify/<sha256>) may ask before this module has loaded: it waits for this.
  window.dispatchEvent(new Event("mediaproofcheck-ready"));
}

// What the app's component renders: nothing (it is here for the module's side effect above).
export function ProofCheck() {
  return null;
}
