//! The CMU Pronouncing Dictionary: `word PH1 PH2 ...` per line, `word(2)` for alternate
//! pronunciations, `# ...` comments (whole lines or after an entry).

use anyhow::{Result, bail};
use std::path::Path;

/// One pronunciation.
pub struct Entry {
    pub word: String,
    /// 1 for the main pronunciation, 2, 3, ... for alternates.
    pub variant: u32,
    pub phonemes: Vec<String>,
}

/// Parses dictionary text; `what` names the source in errors.
pub fn parse(text: &str, what: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with(";;;") {
            continue;
        }
        let mut parts = line.split_whitespace();
        let head = parts.next().unwrap_or_default();
        let phonemes: Vec<String> = parts.map(str::to_string).collect();
        if phonemes.is_empty() {
            bail!("{what}: line {}: {head:?} has no phonemes", n + 1);
        }
        let (word, variant) = match head.strip_suffix(')').and_then(|h| h.rsplit_once('(')) {
            Some((w, v)) => match v.parse::<u32>() {
                Ok(v) => (w.to_string(), v),
                Err(_) => bail!("{what}: line {}: bad variant in {head:?}", n + 1),
            },
            None => (head.to_string(), 1),
        };
        out.push(Entry {
            word: word.to_lowercase(),
            variant,
            phonemes,
        });
    }
    Ok(out)
}

/// Reads a dictionary file (UTF-8, or Latin-1 for old releases).
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let bytes = crate::files::read("cmudict", path)?;
    let text = super::text::decode(&bytes, super::text::Encoding::Auto, "cmudict")?;
    parse(&text, &path.display().to_string())
}
