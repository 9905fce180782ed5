//! Where the binary under test is.

use std::path::Path;

/// The `kokuin` binary under test: beside the test executable's `deps/` directory, where
/// Cargo builds a package's binaries before its integration tests (`$KOKUIN_BIN` overrides).
pub fn kokuin_exe() -> &'static str {
    static EXE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        if let Ok(p) = std::env::var("KOKUIN_BIN") {
            return p;
        }
        let test = std::env::current_exe().expect("the test executable's path");
        let profile_dir = test
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        let exe = profile_dir.join("kokuin");
        assert!(exe.exists(), "{} is not built", exe.display());
        exe.to_string_lossy().into_owned()
    })
}
