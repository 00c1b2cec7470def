"""Run one storage cluster: `python -m mediaproof.storage --cluster-id N --chain-id C --topology ADDR --media-app ADDR
--rpc-url URL [--port P --ipfs-api MULTIADDR ...]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn
from eth_utils import is_address, to_checksum_address

from mediaproof.errors import MediaproofError
from mediaproof.ipfs_node import node_ports
from mediaproof.settings import Settings
from mediaproof.storage.config import ClusterConfig, cluster_data_dir, cluster_port
from mediaproof.storage.keys import load_or_create_key
from mediaproof.storage.server import create_app


def parse_config(argv: list[str], settings: Settings) -> tuple[ClusterConfig, int | None]:
    """The cluster's config, and the inherited socket to serve on when its launcher bound the port (--fd)."""
    parser = argparse.ArgumentParser(prog="python -m mediaproof.storage", description=__doc__)
    parser.add_argument(
        "--cluster-id", type=int, required=True, help="this cluster's id in StorageTopology (1, 2, ...)"
    )
    parser.add_argument("--index", type=int, default=None, help="local cluster index for default ports/dirs (id - 1)")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: cluster_base_port + index)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fd", type=int, default=None, help="serve on this inherited socket, bound to --port")
    parser.add_argument(
        "--ipfs-api",
        default=None,
        help="Kubo RPC address, a multiaddr or http://host:port (default: local node <index>)",
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="database, key and log (default: under data_dir)")
    parser.add_argument("--chain-id", type=int, required=True, help="chain id of the receipts' EIP-712 domain")
    parser.add_argument("--topology", required=True, help="StorageTopology address (the receipts' domain)")
    parser.add_argument("--media-app", required=True, help="MediaApp address (the records' domain: media ids)")
    parser.add_argument(
        "--rpc-url",
        default=settings.rpc_url,
        help="Ethereum JSON-RPC endpoint asked who is a gateway (default: %(default)s)",
    )
    parser.add_argument(
        "--gateway-cache-seconds", type=float, default=10.0, help="how long an isGateway answer is kept (default: 10)"
    )
    args = parser.parse_args(argv)
    if args.cluster_id < 1:
        parser.error(f"--cluster-id {args.cluster_id}: cluster ids start at 1")
    for option, value in (("--topology", args.topology), ("--media-app", args.media_app)):
        if not is_address(value):
            parser.error(f"{option} {value!r} is not an address (0x + 40 hex digits)")
    if args.gateway_cache_seconds < 0:
        parser.error(f"--gateway-cache-seconds {args.gateway_cache_seconds} is negative")
    index = args.index if args.index is not None else args.cluster_id - 1
    ipfs_api = args.ipfs_api or f"/ip4/127.0.0.1/tcp/{node_ports(settings, index).api}"
    config = ClusterConfig(
        cluster_id=args.cluster_id,
        data_dir=args.data_dir or cluster_data_dir(settings, index),
        ipfs_api=ipfs_api,
        chain_id=args.chain_id,
        topology=to_checksum_address(args.topology),
        rpc_url=args.rpc_url,
        media_app=to_checksum_address(args.media_app),
        host=args.host,
        port=args.port if args.port is not None else cluster_port(settings, index),
        max_upload_bytes=settings.max_upload_bytes,
        ipfs_timeout=settings.http_timeout,
        gateway_cache_seconds=args.gateway_cache_seconds,
    )
    return config, args.fd


def main(argv: list[str] | None = None) -> None:
    settings = Settings()
    config, fd = parse_config(sys.argv[1:] if argv is None else argv, settings)
    try:
        load_or_create_key(config.data_dir)  # fail before binding the port if the key file is unusable
    except MediaproofError as exc:
        sys.exit(f"storage cluster {config.cluster_id}: {exc}")
    if fd is not None:
        uvicorn.run(create_app(config), fd=fd, log_level="warning")
    else:
        uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning")


if __name__ == "__main__":
    main()
