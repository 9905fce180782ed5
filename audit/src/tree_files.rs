//! The log's Merkle tree in files, so that a proof for any record costs O(log n) reads and no
//! rescan: `DIR/tree/level-LL` holds the 32-byte hashes of the complete subtrees of 2^LL
//! leaves, in order (level 0: the leaf hashes). A leaf is `SHA-256(0x00 || line)`, `line`
//! being the record's stored line without its newline (docs/audit-log.md).
//!
//! The tree is derived from the segments, never the other way round: at open it is checked
//! against the log and rebuilt from the segments when it is behind or ahead (a torn record cut
//! off, a crash between a batch and its tree update), so it needs no sync of its own.

use crate::compact_range::CompactRange;
use crate::merkle::{Hash, NodeSource, ProofError, leaf_hash};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// The tree's directory inside a log directory.
pub const TREE_DIR: &str = "tree";

/// The Merkle tree of a log directory, appended to as records are written.
pub struct TreeFiles {
    dir: PathBuf,
    levels: Vec<File>,
    /// Nodes in each level.
    counts: Vec<u64>,
    /// The tree's right edge, kept between batches so that appending reads nothing back.
    frontier: Option<CompactRange>,
}

impl TreeFiles {
    /// Opens the tree of `log_dir` to read proofs from, changing nothing: while a server
    /// appends, the nodes a published checkpoint covers are complete and never change.
    pub fn open_read_only(log_dir: &Path) -> std::io::Result<Self> {
        Self::open_levels(log_dir, false)
    }

    /// Opens (creating) the tree of the log in `log_dir`, for the writer.
    pub fn open(log_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(log_dir.join(TREE_DIR))?;
        let mut t = Self::open_levels(log_dir, true)?;
        // Each level must hold exactly the parents of the one below; otherwise start over.
        let consistent = t.counts.windows(2).all(|w| w[1] == w[0] / 2);
        if !consistent {
            t.reset()?;
        }
        Ok(t)
    }

    /// Every level file there is; for the writer, a node cut short by a crash is dropped
    /// (it is recomputed from its children).
    fn open_levels(log_dir: &Path, write: bool) -> std::io::Result<Self> {
        let mut t = Self {
            dir: log_dir.join(TREE_DIR),
            levels: Vec::new(),
            counts: Vec::new(),
            frontier: None,
        };
        loop {
            let p = t.level_path(t.levels.len());
            // A FIFO or device planted as a level file must not block or feed the reader.
            match std::fs::metadata(&p) {
                Ok(m) if !m.is_file() => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{} is not a regular file", p.display()),
                    ));
                }
                _ => {}
            }
            let f = match OpenOptions::new().read(true).write(write).open(&p) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(e),
            };
            let n = f.metadata()?.len() / 32;
            if write {
                f.set_len(n * 32)?;
            }
            t.levels.push(f);
            t.counts.push(n);
        }
        Ok(t)
    }

    fn level_path(&self, level: usize) -> PathBuf {
        self.dir.join(format!("level-{level:02}"))
    }

    /// Leaves in the tree.
    pub fn size(&self) -> u64 {
        self.counts.first().copied().unwrap_or(0)
    }

    /// Empties the tree (to rebuild it from the segments).
    pub fn reset(&mut self) -> std::io::Result<()> {
        self.levels.clear();
        self.counts.clear();
        self.frontier = None;
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        std::fs::create_dir_all(&self.dir)
    }

    /// Appends the leaves of `lines` (each a record line without its newline), and every
    /// parent they complete: the new nodes are computed in memory and each level gets one
    /// write per batch (a write per node made the tree a quarter of the writer's time).
    pub fn append_lines<'a>(
        &mut self,
        lines: impl IntoIterator<Item = &'a str>,
    ) -> std::io::Result<()> {
        let mut range = match self.frontier.take() {
            Some(r) => r,
            None => CompactRange::from_source(self.size(), self)
                .map_err(|e| std::io::Error::other(e.to_string()))?,
        };
        // New nodes per level, written at the end.
        let mut fresh: Vec<Vec<Hash>> = Vec::new();
        for line in lines {
            range.append(leaf_hash(line.as_bytes()), &mut |level, _, h| {
                let level = level as usize;
                if fresh.len() == level {
                    fresh.resize_with(level + 1, Vec::new);
                }
                fresh[level].push(*h);
            });
        }
        for (level, nodes) in fresh.iter().enumerate() {
            if nodes.is_empty() {
                continue;
            }
            if self.levels.len() == level {
                let f = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(self.level_path(level))?;
                self.levels.push(f);
                self.counts.push(0);
            }
            let bytes: Vec<u8> = nodes.iter().flatten().copied().collect();
            self.levels[level].write_all_at(&bytes, self.counts[level] * 32)?;
            self.counts[level] += nodes.len() as u64;
        }
        self.frontier = Some(range);
        Ok(())
    }

    fn read(&self, level: usize, index: u64) -> std::io::Result<Hash> {
        let mut h = [0u8; 32];
        match self.levels.get(level) {
            Some(f) if index < self.counts[level] => f.read_exact_at(&mut h, index * 32)?,
            _ => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no tree node {level}/{index}"),
                ));
            }
        }
        Ok(h)
    }
}

impl NodeSource for TreeFiles {
    fn node(&self, level: u32, index: u64) -> Result<Hash, ProofError> {
        self.read(level as usize, index)
            .map_err(|e| ProofError::Storage(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_tree::MemoryTree;
    use crate::merkle::root;

    #[test]
    fn files_hold_the_tree_memory_holds_and_survive_reopening() {
        let d = tempfile::tempdir().unwrap();
        let mut mem = MemoryTree::default();
        let lines: Vec<String> = (0..37).map(|i| format!("{{\"seq\":{i}}}")).collect();
        {
            let mut t = TreeFiles::open(d.path()).unwrap();
            t.append_lines(lines[..20].iter().map(String::as_str))
                .unwrap();
        }
        let mut t = TreeFiles::open(d.path()).unwrap();
        assert_eq!(t.size(), 20);
        t.append_lines(lines[20..].iter().map(String::as_str))
            .unwrap();
        for l in &lines {
            mem.push(leaf_hash(l.as_bytes()));
        }
        for size in 0..=37 {
            assert_eq!(root(&t, size).unwrap(), root(&mem, size).unwrap());
        }
        // A level cut short is noticed and the tree starts over.
        let l1 = d.path().join(TREE_DIR).join("level-01");
        std::fs::write(&l1, [0u8; 32]).unwrap();
        assert_eq!(TreeFiles::open(d.path()).unwrap().size(), 0);
    }
}
