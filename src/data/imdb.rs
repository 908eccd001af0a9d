//! The aclImdb folder layout: `<split>/pos/*.txt` and `<split>/neg/*.txt`, one review per file.

use anyhow::{Result, bail};
use std::path::Path;

/// Reviews of one split, sorted by file name within each class: (texts, labels 1 = positive).
pub fn read_split(dir: &Path, split: &str) -> Result<(Vec<String>, Vec<i64>)> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (class, label) in [("neg", 0), ("pos", 1)] {
        let folder = dir.join(split).join(class);
        if !folder.is_dir() {
            bail!(
                "imdb: {} is missing (expected the aclImdb layout: {split}/pos/*.txt and {split}/neg/*.txt)",
                folder.display()
            );
        }
        let files: Vec<_> = crate::files::read_dir("imdb", &folder)?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        for f in files {
            let bytes = crate::files::read("imdb", &f)?;
            texts.push(super::text::decode(
                &bytes,
                super::text::Encoding::Utf8,
                &f.display().to_string(),
            )?);
            labels.push(label);
        }
    }
    Ok((texts, labels))
}
