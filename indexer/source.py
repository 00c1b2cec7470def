"""Where events come from: an Ethereum JSON-RPC node (eth_blockNumber, eth_getBlockByNumber, eth_getLogs), and
what the follower reads beside them: transactions' calldata (a direct registration's record) and whether an
address has code (an ERC-1271 owner of a batched record)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from indexer.store import BlockRef
from mediaproof.errors import ChainError


@dataclass(frozen=True)
class RawLog:
    address: str
    topics: list[bytes]
    data: bytes
    block_number: int
    block_hash: str
    tx_index: int
    log_index: int
    tx_hash: str


@dataclass(frozen=True)
class TxCall:
    """Who a transaction called and with what."""

    hash: str
    to: str | None  # None for a contract creation
    input: bytes


class ChainSource(Protocol):
    def head_number(self) -> int: ...

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]: ...

    def logs(self, from_block: int, to_block: int, topics: list[str]) -> list[RawLog]: ...

    def transactions(self, places: list[tuple[int, int]]) -> dict[tuple[int, int], TxCall]: ...

    def has_code(self, addresses: list[str]) -> dict[str, bool]: ...


CALLS_PER_REQUEST = 500  # JSON-RPC batches are split so no node refuses one for its size


def _int(value: str) -> int:
    return int(value, 16)


class JsonRpcSource:
    """A ChainSource over HTTP JSON-RPC; batches block lookups into one request."""

    def __init__(self, rpc_url: str, timeout: float = 30.0):
        self.rpc_url = rpc_url
        self._http = httpx.Client(timeout=timeout)
        self._next_id = 0

    def close(self) -> None:
        self._http.close()

    def _call_many(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        batch = []
        for method, params in calls:
            self._next_id += 1
            batch.append({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        try:
            reply = self._http.post(self.rpc_url, json=batch)
            reply.raise_for_status()
        except httpx.HTTPError as exc:
            raise ChainError(f"the Ethereum node at {self.rpc_url} did not answer ({exc}); is it running?") from exc
        answers = {a["id"]: a for a in reply.json()}
        results = []
        for request in batch:
            answer = answers.get(request["id"], {})
            if "error" in answer or "result" not in answer:
                raise ChainError(f"{request['method']} failed at {self.rpc_url}: {answer.get('error', answer)}")
            results.append(answer["result"])
        return results

    def chain_id(self) -> int:
        return _int(self._call_many([("eth_chainId", [])])[0])

    def head_number(self) -> int:
        return _int(self._call_many([("eth_blockNumber", [])])[0])

    def blocks(self, numbers: list[int]) -> dict[int, BlockRef]:
        if not numbers:
            return {}
        answers = self._call_many([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        out = {}
        for n, b in zip(numbers, answers, strict=True):
            if b is None:
                raise ChainError(f"block {n} is not known to {self.rpc_url} (yet)")
            out[n] = BlockRef(_int(b["number"]), b["hash"], b["parentHash"], _int(b["timestamp"]))
        return out

    def logs(self, from_block: int, to_block: int, topics: list[str]) -> list[RawLog]:
        query = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "topics": [topics]}
        answer = self._call_many([("eth_getLogs", [query])])[0]
        return [
            RawLog(
                address=log["address"],
                topics=[bytes.fromhex(t[2:]) for t in log["topics"]],
                data=bytes.fromhex(log["data"][2:]),
                block_number=_int(log["blockNumber"]),
                block_hash=log["blockHash"],
                tx_index=_int(log["transactionIndex"]),
                log_index=_int(log["logIndex"]),
                tx_hash=log["transactionHash"],
            )
            for log in answer
            if not log.get("removed")
        ]

    def transactions(self, places: list[tuple[int, int]]) -> dict[tuple[int, int], TxCall]:
        """Each transaction's hash, target and calldata, by (block number, index in the block). Read from the block
        bodies, which every full node keeps (unlike the hash lookup index, which geth keeps for recent blocks only);
        a place with no transaction is left out (the block is gone: the caller's reorg checks will notice)."""
        out: dict[tuple[int, int], TxCall] = {}
        for i in range(0, len(places), CALLS_PER_REQUEST):
            part = places[i : i + CALLS_PER_REQUEST]
            calls = [("eth_getTransactionByBlockNumberAndIndex", [hex(b), hex(t)]) for b, t in part]
            for place, tx in zip(part, self._call_many(calls), strict=True):
                if tx is not None:
                    out[place] = TxCall(tx["hash"], tx.get("to"), bytes.fromhex(tx["input"][2:]))
        return out

    def has_code(self, addresses: list[str]) -> dict[str, bool]:
        """Whether each address holds code now (a contract wallet rather than a key). Asked of the latest block:
        older state needs an archive node, and ERC-1271 signatures are checked against the code there is now."""
        out: dict[str, bool] = {}
        for i in range(0, len(addresses), CALLS_PER_REQUEST):
            part = addresses[i : i + CALLS_PER_REQUEST]
            codes = self._call_many([("eth_getCode", [a, "latest"]) for a in part])
            out.update({a: code not in ("0x", "", None) for a, code in zip(part, codes, strict=True)})
        return out
