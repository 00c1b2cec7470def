"""The storage cluster service: one IPFS node, a metadata database and a signing key behind an HTTP API.

server.py is the ASGI app, client.py the HTTP client the CLI and services use, process.py starts it for `make up`.
"""
