//! A Merkle tree held in memory, level by level: for tests and small tools (the log's own
//! tree is in files, `tree_files`; the fleet's in rows).

use crate::compact_range::CompactRange;
use crate::merkle::{Hash, NodeSource, ProofError};

/// A tree held in memory, level by level: for tests and for small tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl MemoryTree {
    /// Appends a leaf hash, and the parent of every subtree it completes.
    pub fn push(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.range.append(leaf, &mut |level, _, h| {
            let level = level as usize;
            if levels.len() == level {
                levels.push(Vec::new());
            }
            levels[level].push(*h);
        });
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// The root of the whole tree, from its right edge.
    pub fn root(&self) -> Hash {
        self.range.root()
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(usize::try_from(index).ok()?))
            .copied()
            .ok_or_else(|| ProofError::Storage(format!("no node {level}/{index}")))
    }
}
