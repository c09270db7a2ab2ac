//! What a renderer returns: one or more named files.

/// A rendered file: its suggested name, Unix mode and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    /// Relative, `/`-separated path (the name the bundle and `-o DIR` use).
    pub path: String,
    pub mode: u32,
    pub contents: Vec<u8>,
}

/// The output of one renderer. Most artifacts are one file; networkd units are one file per interface.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Artifact {
    pub files: Vec<ArtifactFile>,
}

impl Artifact {
    pub fn single(path: impl Into<String>, mode: u32, contents: impl Into<Vec<u8>>) -> Artifact {
        Artifact { files: vec![ArtifactFile { path: path.into(), mode, contents: contents.into() }] }
    }

    /// The contents of a single-file artifact as text (renderers of text formats only produce UTF-8).
    pub fn text(&self) -> String {
        self.files.iter().map(|f| String::from_utf8_lossy(&f.contents)).collect()
    }
}
