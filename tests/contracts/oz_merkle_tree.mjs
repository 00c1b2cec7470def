// Builds StandardMerkleTrees with OpenZeppelin's own npm package (@openzeppelin/merkle-tree), independent of ours.
// One JSON request per stdin line; one JSON answer per stdout line ({error} on failure):
//   {"op": "of", "values": [[…], …], "encoding": ["bytes32", …]} -> {root, leaves, proofs, dump}
//   {"op": "load", "dump": <standard-v1 JSON>}                    -> {root, verified}  (checks a tree someone dumped)
import readline from "node:readline";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

function answer(request) {
  if (request.op === "of") {
    const tree = StandardMerkleTree.of(request.values, request.encoding);
    return {
      root: tree.root,
      leaves: request.values.map((value) => tree.leafHash(value)),
      proofs: request.values.map((_, i) => tree.getProof(i)),
      dump: tree.dump(),
    };
  }
  if (request.op === "load") {
    const tree = StandardMerkleTree.load(request.dump);
    tree.validate(); // throws unless every node hashes from its children and every leaf from its value
    const last = request.dump.values.length - 1;
    const verified = [0, last].every((i) => tree.verify(i, tree.getProof(i)));
    return { root: tree.root, verified };
  }
  throw new Error(`unknown op ${request.op}`);
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  let reply;
  try {
    reply = answer(JSON.parse(line));
  } catch (err) {
    reply = { error: String(err?.message ?? err) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
