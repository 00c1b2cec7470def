"""The storage cluster service: one IPFS node, a metadata database and a signing key behind an HTTP API.

server.py is the ASGI app, gatekeeper.py lets only gateways in, launch.py starts it for `make up` and the tests; the
gateway-signed HTTP client the services use is mediaproof.clients.storage.
"""
