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

/// Opens `path` for reading if it is a regular file (after links): a FIFO or device posing as
/// a segment, checkpoint or tree file would block the open or never end, so its type is
/// checked first and it is an `InvalidData` error.
pub fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::metadata(path)?.file_type();
    if !t.is_file() {
        let what = if t.is_fifo() {
            "a FIFO"
        } else if t.is_dir() {
            "a directory"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "special"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is {what}, not a regular file", path.display()),
        ));
    }
    std::fs::File::open(path)
}
