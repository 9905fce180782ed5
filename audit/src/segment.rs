//! Segment files: `segment-<seq of its first record, 12 digits>.jsonl`, read in name order.

use std::path::{Path, PathBuf};

/// The newest signed tree checkpoint (C2SP signed note), beside the segments.
pub const TREE_CHECKPOINT_FILE: &str = "checkpoint";
/// The newest checkpoint's file, beside the segments.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// The file name of the segment whose first record is `first_seq`.
pub fn name(first_seq: u64) -> String {
    format!("segment-{first_seq:012}.jsonl")
}

/// The first seq a segment file name declares.
pub fn first_seq(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix("segment-")?
        .strip_suffix(".jsonl")?
        .parse()
        .ok()
}

/// Segment files in `dir`, in log order.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| first_seq(p).is_some())
        .collect();
    v.sort();
    Ok(v)
}

/// fsync of a directory, so that a created or renamed file survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
