//! Text corpora: decoding (UTF-8 or Latin-1), character vocabularies and word vocabularies
//! with a frequency cut-off.

use anyhow::{Result, bail};
use std::collections::HashMap;
use std::path::Path;

/// How the bytes of a text file are decoded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoding {
    /// Strict UTF-8: invalid bytes are an error naming the offset.
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// UTF-8 when the whole file is valid UTF-8, Latin-1 otherwise.
    Auto,
}

impl Encoding {
    pub fn parse(s: &str) -> Result<Encoding> {
        Ok(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Encoding::Latin1,
            "auto" => Encoding::Auto,
            other => bail!("unknown encoding {other:?} (known: utf-8, latin-1, auto)"),
        })
    }
}

/// Decodes bytes; `what` names the source in errors.
pub fn decode(bytes: &[u8], enc: Encoding, what: &str) -> Result<String> {
    match enc {
        Encoding::Latin1 => Ok(bytes.iter().map(|&b| b as char).collect()),
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(e) => {
                let at = e.valid_up_to();
                let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                bail!(
                    "{what}: invalid UTF-8 at byte offset {at} (line {line}); if the file is Latin-1, pass #{{encoding: \"latin-1\"}}"
                )
            }
        },
        Encoding::Auto => match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => decode(bytes, Encoding::Latin1, what),
        },
    }
}

/// Reads and decodes a text file.
pub fn read_text(path: &Path, enc: Encoding) -> Result<String> {
    let bytes = crate::files::read("text", path)?;
    decode(&bytes, enc, &path.display().to_string())
}

/// A character corpus: sorted distinct characters and each character's index.
pub struct CharCorpus {
    pub chars: Vec<char>,
    pub ids: Vec<i64>,
}

/// The sorted character vocabulary of `text` and the text as indices into it.
pub fn char_corpus(text: &str) -> CharCorpus {
    let mut chars: Vec<char> = text.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    let index: HashMap<char, i64> = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| (c, i as i64))
        .collect();
    let ids = text.chars().map(|c| index[&c]).collect();
    CharCorpus { chars, ids }
}

/// Lower-cased words: runs of letters, digits and apostrophes; other characters separate.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// A word vocabulary ordered by frequency (ties alphabetically): word `i` has id `i`; words
/// outside it map to the unknown id `words.len()`.
pub struct Vocab {
    pub words: Vec<String>,
    pub counts: Vec<usize>,
    pub index: HashMap<String, i64>,
}

impl Vocab {
    /// The `max_size` most frequent tokens seen at least `min_count` times.
    pub fn build<'a>(
        tokens: impl IntoIterator<Item = &'a str>,
        max_size: Option<usize>,
        min_count: usize,
    ) -> Vocab {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for t in tokens {
            *counts.entry(t).or_default() += 1;
        }
        let mut by_freq: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        by_freq.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if let Some(m) = max_size {
            by_freq.truncate(m);
        }
        let words: Vec<String> = by_freq.iter().map(|(w, _)| w.to_string()).collect();
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as i64))
            .collect();
        Vocab {
            counts: by_freq.iter().map(|&(_, c)| c).collect(),
            words,
            index,
        }
    }

    /// The id for unknown words.
    pub fn unknown(&self) -> i64 {
        self.words.len() as i64
    }

    pub fn encode<'a>(&self, tokens: impl IntoIterator<Item = &'a str>) -> Vec<i64> {
        tokens
            .into_iter()
            .map(|t| *self.index.get(t).unwrap_or(&self.unknown()))
            .collect()
    }
}
