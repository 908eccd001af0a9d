//! Checked versions of the Rhai built-ins that make a large string, array or blob in one
//! step from a small input (`pad`, `blob`): each refuses, with an error, a size that would
//! take the script's values past the session's memory limit, instead of letting the
//! allocation abort the process. (Growth step by step, such as a string doubled in a loop, is
//! stopped by the runtime's check after every operation.)

use super::convert::{IntoRR, RR};
use super::registrar::Api;
use rhai::{Array, Blob, Dynamic, ImmutableString};

/// The size to grow to, or `None` when nothing is to be added.
fn grow_to(len: i64, current: usize) -> Option<usize> {
    usize::try_from(len).ok().filter(|&l| l > current)
}

fn check(op: &str, bytes: usize) -> RR<()> {
    crate::alloc::check_script_alloc(op, bytes).rr()
}

pub fn register(api: &mut Api) {
    let engine = &mut *api.engine;
    engine.register_fn("pad", |a: &mut Array, len: i64, item: Dynamic| -> RR<()> {
        if let Some(l) = grow_to(len, a.len()) {
            check(
                "pad",
                (l - a.len()).saturating_mul(std::mem::size_of::<Dynamic>()),
            )?;
            a.resize(l, item);
        }
        Ok(())
    });
    engine.register_fn(
        "pad",
        |s: &mut ImmutableString, len: i64, c: char| -> RR<()> {
            let chars = s.chars().count();
            if let Some(l) = grow_to(len, chars) {
                check("pad", (l - chars).saturating_mul(c.len_utf8()))?;
                let mut out = s.to_string();
                out.extend(std::iter::repeat_n(c, l - chars));
                *s = out.into();
            }
            Ok(())
        },
    );
    engine.register_fn(
        "pad",
        |s: &mut ImmutableString, len: i64, pad: ImmutableString| -> RR<()> {
            let chars = s.chars().count();
            if pad.is_empty() {
                return Ok(());
            }
            if let Some(l) = grow_to(len, chars) {
                check("pad", (l - chars).saturating_mul(4))?;
                let mut out = s.to_string();
                out.extend(pad.chars().cycle().take(l - chars));
                *s = out.into();
            }
            Ok(())
        },
    );
    engine.register_fn("pad", |b: &mut Blob, len: i64, value: i64| -> RR<()> {
        if let Some(l) = grow_to(len, b.len()) {
            check("pad", l - b.len())?;
            b.resize(l, value as u8);
        }
        Ok(())
    });
    engine.register_fn("blob", |len: i64| -> RR<Blob> {
        let l = usize::try_from(len).unwrap_or(0);
        check("blob", l)?;
        Ok(vec![0u8; l])
    });
    engine.register_fn("blob", |len: i64, value: i64| -> RR<Blob> {
        let l = usize::try_from(len).unwrap_or(0);
        check("blob", l)?;
        Ok(vec![value as u8; l])
    });
}
