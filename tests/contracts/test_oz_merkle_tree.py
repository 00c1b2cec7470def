"""OpenZeppelin's own npm package (@openzeppelin/merkle-tree) and mediaproof.merkle build the same StandardMerkleTree:
same root, same leaf hashes, same proofs, the same `dump()`, each loads the other's; and MediaApp.verifyInclusion
accepts the npm package's proofs. Anyone can rebuild or check a batch with the package, without our code."""

from __future__ import annotations

import secrets

import pytest
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediakit import random_sha
from nodejs import NodeScript

from mediaproof import merkle

ENCODING = list(merkle.BATCH_LEAF_ENCODING)


@pytest.fixture(scope="module")
def oz():
    script = NodeScript("oz_merkle_tree.mjs")
    yield script
    script.close()


def random_leaf() -> tuple[bytes, str, bytes, bytes]:
    return (random_sha(), to_checksum_address(secrets.token_bytes(20)), random_sha(), random_sha())


def as_json(values) -> list[list[str]]:
    return [[f"0x{v.hex()}" if isinstance(v, bytes) else v for v in value] for value in values]


def hexes(items: list[bytes]) -> list[str]:
    return [f"0x{item.hex()}" for item in items]


def assert_same_tree(oz, values) -> tuple[merkle.StandardMerkleTree, dict]:
    ours = merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)
    theirs = oz.ask({"op": "of", "values": as_json(values), "encoding": ENCODING})
    assert "error" not in theirs, theirs
    assert theirs["root"] == f"0x{ours.root.hex()}"
    assert theirs["leaves"] == hexes([ours.leaf(i) for i in range(len(values))])
    assert theirs["leaves"] == hexes([merkle.batch_leaf(*v) for v in values])
    assert theirs["proofs"] == [hexes(ours.proof(i)) for i in range(len(values))]
    assert theirs["dump"] == ours.dump()
    # Each loads the other's dump: the package validates ours node by node.
    loaded = oz.ask({"op": "load", "dump": ours.dump()})
    assert loaded == {"root": f"0x{ours.root.hex()}", "verified": True}
    return ours, theirs


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 33, 1024])
def test_same_root_proofs_and_dump_as_the_npm_package(oz, size):
    assert_same_tree(oz, [random_leaf() for _ in range(size)])


def test_duplicate_leaves_too(oz):
    leaf = random_leaf()
    assert_same_tree(oz, [leaf, random_leaf(), leaf])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=32, max_size=32),
            st.binary(min_size=20, max_size=20),
            st.binary(min_size=32, max_size=32),
            st.binary(min_size=32, max_size=32),
        ),
        min_size=1,
        max_size=70,
    )
)
def test_random_leaves_give_the_same_tree(oz, raw):
    assert_same_tree(oz, [(sha, to_checksum_address(owner), mid, rh) for sha, owner, mid, rh in raw])


def test_tampered_dump_is_refused_by_the_npm_package(oz):
    ours = merkle.StandardMerkleTree.of([random_leaf() for _ in range(5)], merkle.BATCH_LEAF_ENCODING)
    dump = ours.dump()
    dump["values"][2]["value"][3] = f"0x{secrets.token_hex(32)}"  # another receipts hash
    assert "error" in oz.ask({"op": "load", "dump": dump})


@pytest.mark.parametrize("size", [1, 9, 1024])
def test_verify_inclusion_accepts_the_npm_packages_proofs(oz, app, kit, owner, owner_key, sequencer, size):
    if size == 9:  # real entries: records signed by the owner with their receipts
        values = [kit.entry(kit.record(owner, max_fee=0), owner_key).leaf_values for _ in range(size)]
    else:
        values = [random_leaf() for _ in range(size)]
    theirs = oz.ask({"op": "of", "values": as_json(values), "encoding": ENCODING})
    root = bytes.fromhex(theirs["root"][2:])
    batch = app.anchorBatch(root, b"\x01\x71\x12\x20" + random_sha(), sender=sequencer).block_number
    for i in sorted({0, size // 2, size - 1}):
        leaf = bytes.fromhex(theirs["leaves"][i][2:])
        proof = [bytes.fromhex(p[2:]) for p in theirs["proofs"][i]]
        assert app.batchLeaf(*values[i]) == leaf
        assert app.verifyInclusion(leaf, proof, batch)
        assert not app.verifyInclusion(leaf, proof, batch - 1)
        if proof:
            assert not app.verifyInclusion(leaf, [random_sha(), *proof[1:]], batch)
        assert not app.verifyInclusion(random_sha(), proof, batch)
