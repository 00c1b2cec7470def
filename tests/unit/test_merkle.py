"""mediaproof.merkle: every leaf's proof leads to the root; no other leaf, path or root verifies (property tests).
The same trees against OpenZeppelin's npm package are checked in tests/contracts."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mediaproof import merkle

leaves = st.lists(
    st.tuples(
        st.binary(min_size=32, max_size=32),
        st.integers(min_value=1, max_value=2**160 - 1).map(lambda n: "0x" + n.to_bytes(20, "big").hex()),
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=32, max_size=32),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60)
@given(values=leaves, data=st.data())
def test_property_every_leaf_proves_and_nothing_else_does(values, data):
    tree = merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)
    for i, value in enumerate(values):
        leaf = merkle.leaf_hash(merkle.BATCH_LEAF_ENCODING, value)
        assert tree.leaf(i) == leaf
        assert merkle.verify(tree.root, leaf, tree.proof(i))
    i = data.draw(st.integers(0, len(values) - 1))
    flipped = bytes([tree.leaf(i)[0] ^ 1]) + tree.leaf(i)[1:]
    assert not merkle.verify(tree.root, flipped, tree.proof(i))
    if tree.proof(i):
        bad_path = [bytes(32), *tree.proof(i)[1:]]
        assert not merkle.verify(tree.root, tree.leaf(i), bad_path)


@given(values=leaves)
def test_property_root_does_not_depend_on_value_order(values):
    forward = merkle.StandardMerkleTree.of(values, merkle.BATCH_LEAF_ENCODING)
    backward = merkle.StandardMerkleTree.of(list(reversed(values)), merkle.BATCH_LEAF_ENCODING)
    assert forward.root == backward.root


def test_single_leaf_tree_is_its_leaf_and_needs_no_path():
    value = (b"\x01" * 32, "0x" + "22" * 20, b"\x03" * 32, b"\x04" * 32)
    tree = merkle.StandardMerkleTree.of([value], merkle.BATCH_LEAF_ENCODING)
    assert tree.root == tree.leaf(0) == merkle.batch_leaf(*value)
    assert tree.proof(0) == []
    dumped = tree.dump()
    assert dumped["format"] == "standard-v1" and dumped["values"][0]["treeIndex"] == 0
