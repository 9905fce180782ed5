//! The one RFC 9162 §2.1.1 appender: a compact range over leaves `[0, size)` — the roots of the
//! complete subtrees along the tree's right edge, one per set bit of `size` — and a visitor
//! told of every node an append completes. The tree's stores differ only in what the visitor
//! does with them: level files (`tree_files`), vectors in memory (`merkle::MemoryTree`) and
//! the fleet's rows (`kokuin-fleet`), as Tessera's integrator is built.

use crate::merkle::{Hash, NodeSource, ProofError, empty_root, node_hash};

/// The right edge of a tree of `size` leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// The edge's subtree roots, the largest (leftmost) first: the root of level `l` for each
    /// bit `l` set in `size`, highest bit first.
    edge: Vec<Hash>,
}

impl CompactRange {
    /// The right edge of the tree of `size` leaves whose complete subtrees `src` holds:
    /// O(log n) nodes read.
    pub fn from_source(size: u64, src: &dyn NodeSource) -> Result<Self, ProofError> {
        let edge = Self::edge_nodes(size)
            .into_iter()
            .map(|(level, index)| src.node(level, index))
            .collect::<Result<_, _>>()?;
        Ok(Self { size, edge })
    }

    /// The nodes (level, index) on the right edge of a tree of `size` leaves, the largest
    /// first: what [`CompactRange::from_source`] reads, for a store that fetches them at once.
    pub fn edge_nodes(size: u64) -> Vec<(u32, u64)> {
        (0..64u32)
            .rev()
            .filter(|l| (size >> l) & 1 == 1)
            .map(|l| (l, (size >> l) - 1))
            .collect()
    }

    /// Leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// RFC 9162 §2.1.1: appends `leaf` (a leaf hash) as leaf `size`, telling `visit` of the
    /// leaf and of every parent it completes, as (level, index, hash), bottom up.
    pub fn append(&mut self, leaf: Hash, visit: &mut dyn FnMut(u32, u64, &Hash)) {
        let (mut h, mut level, mut index) = (leaf, 0u32, self.size);
        visit(level, index, &h);
        while index & 1 == 1 {
            // An odd index has its left sibling on the edge; the pair's parent replaces it.
            let Some(left) = self.edge.pop() else { break };
            h = node_hash(&left, &h);
            level += 1;
            index >>= 1;
            visit(level, index, &h);
        }
        self.edge.push(h);
        self.size += 1;
    }

    /// MTH of leaves `[0, size)` (RFC 9162 §2.1.1): the edge folded from the right, since the
    /// tree splits at the largest power of two below its size, which is the edge's first root.
    pub fn root(&self) -> Hash {
        let mut it = self.edge.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root};

    /// Complete subtrees made pairwise from the leaves, level by level: the reference.
    struct Levels(Vec<Vec<Hash>>);

    impl Levels {
        fn of(leaves: &[Hash]) -> Self {
            let mut levels = vec![leaves.to_vec()];
            while levels[levels.len() - 1].len() > 1 {
                let below = &levels[levels.len() - 1];
                let up = below
                    .chunks_exact(2)
                    .map(|p| node_hash(&p[0], &p[1]))
                    .collect();
                levels.push(up);
            }
            Self(levels)
        }
    }

    impl NodeSource for Levels {
        fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
            self.0
                .get(level as usize)
                .and_then(|l| l.get(index as usize))
                .copied()
                .ok_or_else(|| ProofError::Storage(format!("no node {level}/{index}")))
        }
    }

    #[test]
    fn appends_give_the_roots_and_nodes_of_rfc_9162() {
        let mut leaves = Vec::new();
        let mut range = CompactRange::default();
        assert_eq!(range.root(), empty_root());
        for i in 0..70u64 {
            let leaf = leaf_hash(&i.to_be_bytes());
            leaves.push(leaf);
            let mem = Levels::of(&leaves);
            let mut seen = Vec::new();
            range.append(leaf, &mut |l, x, h| seen.push((l, x, *h)));
            for (l, x, h) in seen {
                assert_eq!(mem.node(l, x).unwrap(), h, "node {l}/{x}");
            }
            assert_eq!(range.root(), root(&mem, i + 1).unwrap(), "size {}", i + 1);
            let again = CompactRange::from_source(i + 1, &mem).unwrap();
            assert_eq!(again, range);
        }
    }
}
