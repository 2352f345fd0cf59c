#![allow(dead_code, reason = "each test binary uses a different part")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helpers fail the test loudly"
)]

use std::path::{Path, PathBuf};

use tabby_load::{load_str, Diagnostic, LoadOptions, Loaded};

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tabby-load-{}-{}-{:?}",
            tag,
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn write(&self, rel: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn load(name: &str, text: &str) -> Loaded {
    load_str(name, text, &LoadOptions::default())
}

/// The only diagnostic of a load (fails the test when there are none or several).
pub fn only_diag(l: &Loaded) -> &Diagnostic {
    let all: Vec<_> = l.diagnostics.iter().collect();
    assert_eq!(
        all.len(),
        1,
        "expected exactly one diagnostic, got {all:#?}"
    );
    all[0]
}

/// `(code, line, col)` of a diagnostic.
pub fn where_(d: &Diagnostic) -> (&'static str, usize, usize) {
    let (line, col) = d
        .loc
        .as_ref()
        .expect("diagnostic has a location")
        .line_col();
    (d.code, line, col)
}
