"""The one error format: every class of mediaproof.errors goes on the wire as problem+json with one status, and the
one decoder raises the same class again (with the answer's retry_after and status); an answer that is not ours
(a proxy's HTML page) still becomes the class of its status."""

from __future__ import annotations

import json

import pytest

from mediaproof import errors
from mediaproof.errors import (
    Busy,
    ClientTooSlow,
    ContractRefused,
    InputError,
    MediaproofError,
    MethodNotAllowed,
    NotAuthenticated,
    NotRegistered,
    RateLimited,
    StorageError,
)
from mediaproof.problems import KINDS, MEDIA_TYPE, STATUS, encode, error_from, problem, problem_headers, status_of


def make(kind: type[MediaproofError]) -> MediaproofError:
    if issubclass(kind, RateLimited):
        return kind("wait a little", 7)
    if issubclass(kind, ContractRefused):
        return kind("UserMediaNonceUsed(nonce=7)")
    return kind("what was wrong, and what to do next")


@pytest.mark.parametrize("kind", sorted(KINDS.values(), key=lambda k: k.__name__), ids=lambda k: k.__name__)
def test_every_error_kind_round_trips_through_the_wire(kind: type[MediaproofError]) -> None:
    sent = make(kind)
    status, headers, body = encode(sent)
    document = json.loads(body)
    assert dict(headers)[b"content-type"] == MEDIA_TYPE.encode()
    assert document["status"] == status == status_of(sent) and document["error"] == kind.__name__
    assert document["type"] == "about:blank" and document["title"] and document["detail"] == str(sent)
    read = error_from(status, body, {k.decode(): v.decode() for k, v in headers}, "the service")
    assert type(read) is kind and read.status == status
    assert str(read) == f"the service: {sent}" or isinstance(read, ContractRefused)
    if isinstance(sent, RateLimited):
        assert isinstance(read, RateLimited) and read.retry_after == 7 and document["retry_after"] == 7
    if isinstance(sent, ContractRefused):
        assert isinstance(read, ContractRefused) and read.error == "UserMediaNonceUsed"


def test_every_kind_has_a_status_from_the_one_table() -> None:
    assert all(status_of(make(kind)) in STATUS.values() for kind in KINDS.values())
    assert status_of(make(InputError)) == 422 and status_of(make(Busy)) == 503 and status_of(make(RateLimited)) == 429
    assert set(KINDS) == {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, MediaproofError)}


def test_a_subclass_of_a_service_goes_as_its_parent_kind() -> None:
    class UnknownRoute(errors.NotFound):
        pass

    document = problem(UnknownRoute("nothing is served at /x"))
    assert document["error"] == "NotFound" and document["status"] == 404


def test_headers_keep_retry_after_allow_and_connection_close() -> None:
    assert problem_headers(Busy("full", 9))["Retry-After"] == "9"
    assert problem_headers(MethodNotAllowed("use GET", "GET, HEAD"))["Allow"] == "GET, HEAD"
    assert problem_headers(ClientTooSlow("too slow"))["Connection"] == "close"
    assert "X-Error-Detail" in problem_headers(NotRegistered("none\nhere"), "HEAD")
    status, _, body = encode(NotRegistered("none"), "HEAD")
    assert status == 404 and body == b""


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, NotAuthenticated), (404, NotRegistered), (418, InputError), (429, RateLimited), (502, StorageError)],
)
def test_an_answer_that_is_not_ours_becomes_the_class_of_its_status(status: int, kind: type[Exception]) -> None:
    read = error_from(status, b"<html>Bad Gateway</html>", {"retry-after": "3"}, "the proxy")
    assert type(read) is kind and "Bad Gateway" in str(read)
    assert not isinstance(read, RateLimited) or read.retry_after == 3


def test_a_head_answer_is_read_from_its_header() -> None:
    read = error_from(404, b"", {"x-error-detail": "no object with that sha256"}, "cluster")
    assert isinstance(read, NotRegistered) and str(read) == "cluster: no object with that sha256"
