// Signs and hashes EIP-712 typed data with ethers v6 (npm ethers@6.17.0), an implementation independent of ours.
// One JSON request per stdin line: {"typed_data": <eth_signTypedData_v4 JSON>, "private_key": "0x…"}; one JSON
// answer per stdout line: {hash, signature, address, recovered} or {error}.
import readline from "node:readline";
import { TypedDataEncoder, Wallet, verifyTypedData } from "ethers";

async function answer(request) {
  const { domain, message, types } = request.typed_data;
  // ethers derives the domain type from the domain object itself: EIP712Domain must not be among the types.
  const { EIP712Domain: _domain, ...structTypes } = types;
  const wallet = new Wallet(request.private_key);
  const signature = await wallet.signTypedData(domain, structTypes, message);
  return {
    hash: TypedDataEncoder.hash(domain, structTypes, message),
    signature,
    address: wallet.address,
    recovered: verifyTypedData(domain, structTypes, message, signature),
  };
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  let reply;
  try {
    reply = await answer(JSON.parse(line));
  } catch (err) {
    reply = { error: String(err?.shortMessage ?? err?.message ?? err) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
