//! The Merkle tree over the audit records: RFC 9162 §2.1 (as RFC 6962 §2.1), SHA-256.
//!
//! Written here rather than taken from a crate: the algorithms are a page each, and the
//! ones in crates either verify only or keep the whole tree in memory, while the log's tree
//! lives in files read a node at a time ([`NodeSource`]). They are checked against the
//! published transparency-dev vectors (`audit/tests/merkle_vectors.rs`).

use sha2::{Digest, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof could not be made or does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// An index or size the tree does not have (leaf past the end, second tree smaller).
    #[error("{0}")]
    OutOfRange(String),
    /// The proof has the wrong number of hashes for the sizes.
    #[error("the proof has {got} hashes; sizes {what} need {want}")]
    Length {
        /// What the proof is for, e.g. `leaf 5 of 8`.
        what: String,
        /// Hashes given.
        got: usize,
        /// Hashes needed.
        want: usize,
    },
    /// The hashes do not lead to the root.
    #[error("the proof does not lead to the root: {0}")]
    Mismatch(&'static str),
    /// The tree's storage could not give a node.
    #[error("tree storage: {0}")]
    Storage(String),
}

/// RFC 9162 §2.1.1: the hash of a leaf, `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// RFC 9162 §2.1.1: the hash of an interior node, `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 §2.1.1: the root of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where the hashes of complete subtrees come from: the node at `level` and `index` is the
/// root of leaves `[index << level, (index + 1) << level)`, which must all exist.
pub trait NodeSource {
    /// The hash of that complete subtree.
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError>;
}

/// The largest power of two smaller than `n` (`n` ≥ 2): where RFC 9162 splits a tree.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)` (RFC 9162 §2.1.1), from complete subtrees: O(log n) nodes.
pub fn range_root(src: &dyn NodeSource, start: u64, end: u64) -> Result<Hash, ProofError> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.node(n.trailing_zeros(), start / n);
    }
    let k = split(n);
    Ok(node_hash(
        &range_root(src, start, start + k)?,
        &range_root(src, start + k, end)?,
    ))
}

/// The root of the first `size` leaves.
pub fn root(src: &dyn NodeSource, size: u64) -> Result<Hash, ProofError> {
    range_root(src, 0, size)
}

/// RFC 9162 §2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves, from
/// the leaf's sibling up.
pub fn inclusion_proof(
    src: &dyn NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size}"
        )));
    }
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

/// PATH(m, D[start:end]), appended bottom-up.
fn path(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(range_root(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(range_root(src, start, start + k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.1: the consistency proof from the tree of `old` leaves to the tree of
/// `new` leaves.
pub fn consistency_proof(
    src: &dyn NodeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old > new {
        return Err(ProofError::OutOfRange(format!(
            "a tree of {old} is not a prefix of one of {new}"
        )));
    }
    let mut out = Vec::new();
    if old > 0 && old < new {
        subproof(src, old, 0, new, true, &mut out)?;
    }
    Ok(out)
}

/// SUBPROOF(m, D[start:end], b), appended in order.
fn subproof(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_root(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(range_root(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(range_root(src, start, start + k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size}"
        )));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::Length {
                what: format!("leaf {index} of {size}"),
                got: proof.len(),
                want: inclusion_length(index, size),
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Length {
            what: format!("leaf {index} of {size}"),
            got: proof.len(),
            want: inclusion_length(index, size),
        });
    }
    if r != *root {
        return Err(ProofError::Mismatch(
            "the inclusion path gives another root",
        ));
    }
    Ok(())
}

/// How many hashes an inclusion proof of leaf `index` in a tree of `size` has.
fn inclusion_length(index: u64, size: u64) -> usize {
    let (mut fn_, mut sn, mut n) = (index, size.saturating_sub(1), 0);
    while sn != 0 {
        if fn_ & 1 == 1 || fn_ == sn {
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        }
        fn_ >>= 1;
        sn >>= 1;
        n += 1;
    }
    n
}

/// RFC 9162 §2.1.4.2: checks that the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root`: the log only grew.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), ProofError> {
    let what = || format!("{old} to {new}");
    if old > new {
        return Err(ProofError::OutOfRange(format!(
            "a tree of {old} is not a prefix of one of {new}"
        )));
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(ProofError::Length {
                what: what(),
                got: proof.len(),
                want: 0,
            });
        }
        if old == new && old_root != new_root {
            return Err(ProofError::Mismatch(
                "two trees of one size with different roots",
            ));
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(ProofError::Length {
            what: what(),
            got: 0,
            want: 1,
        });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::Mismatch("the proof is longer than the trees"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Mismatch("the proof is shorter than the trees"));
    }
    if fr != *old_root {
        return Err(ProofError::Mismatch(
            "the proof does not lead to the old root",
        ));
    }
    if sr != *new_root {
        return Err(ProofError::Mismatch(
            "the proof does not lead to the new root",
        ));
    }
    Ok(())
}
