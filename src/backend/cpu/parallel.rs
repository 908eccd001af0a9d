//! Splitting large kernels across the machine's cores on one persistent pool of workers, and
//! building outputs without first zero-filling them.

use std::mem::MaybeUninit;
use std::sync::OnceLock;

/// Below this many output elements a kernel runs on the calling thread.
pub const PARALLEL_MIN: usize = 1 << 16;

/// Number of worker threads to use: `EMBER_NUM_THREADS`, else the available cores. A value
/// that is not a positive number, or above [`MAX_THREADS_PER_CORE`] times the cores, is
/// replaced (with a warning on stderr) rather than trusted.
pub fn num_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (n, warning) = threads_from(std::env::var("EMBER_NUM_THREADS").ok().as_deref(), cores);
        if let Some(w) = warning {
            eprintln!("ember: {w}");
        }
        n
    })
}

/// Oversubscription beyond this many threads per core only costs.
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The thread count for an `EMBER_NUM_THREADS` value on a machine with `cores` cores, and the
/// warning to print when the value was not used as given.
fn threads_from(value: Option<&str>, cores: usize) -> (usize, Option<String>) {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (cores, None);
    };
    let most = cores.saturating_mul(MAX_THREADS_PER_CORE).max(1);
    match text.parse::<usize>() {
        Ok(n) if (1..=most).contains(&n) => (n, None),
        Ok(n) if n > most => (
            most,
            Some(format!(
                "EMBER_NUM_THREADS={n} is more than {MAX_THREADS_PER_CORE} threads per core on \
                 this {cores}-core machine; using {most}"
            )),
        ),
        _ => (
            cores,
            Some(format!(
                "EMBER_NUM_THREADS={text:?} is not a positive number of threads; using {cores}"
            )),
        ),
    }
}

/// ember's pool of `num_threads()` workers, started on first use; `None` with one thread (or if
/// the threads could not be started, when kernels simply run on the calling thread). Starting
/// threads for every kernel call cost tens of microseconds each, a real share of a training
/// step made of many mid-sized products and maps.
pub fn workers() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = num_threads();
        (n > 1)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .thread_name(|i| format!("ember-worker-{i}"))
                    .build()
                    .ok()
            })
            .flatten()
    })
    .as_ref()
}

/// Calls `f(first_row, rows_chunk)` on disjoint chunks of `out`, each holding whole rows of
/// `row_len` elements, in parallel when the output is large.
pub fn for_row_chunks<U: Send>(out: &mut [U], row_len: usize, f: impl Fn(usize, &mut [U]) + Sync) {
    for_row_chunks_min(out, row_len, PARALLEL_MIN, f);
}

/// [`for_row_chunks`] with the caller's own threshold: parallel once `out` has `min_len`
/// elements (for kernels whose cost per element is far above a copy's).
pub fn for_row_chunks_min<U: Send>(
    out: &mut [U],
    row_len: usize,
    min_len: usize,
    f: impl Fn(usize, &mut [U]) + Sync,
) {
    let rows = out.len().checked_div(row_len).unwrap_or(0);
    let pool = match workers() {
        Some(pool) if out.len() >= min_len && rows >= 2 => pool,
        _ => {
            f(0, out);
            return;
        }
    };
    let rows_per = rows.div_ceil(pool.current_num_threads());
    pool.scope(|scope| {
        for (i, chunk) in out.chunks_mut(rows_per * row_len).enumerate() {
            let f = &f;
            scope.spawn(move |_| f(i * rows_per, chunk));
        }
    });
}

/// Splits `items` into one contiguous range per thread and returns `f(range, rows)` for each,
/// in order, where `rows` is that range's share of `out` (`row_len` elements per item; pass an
/// empty `out` when there is nothing to write). Runs on the calling thread when `parallel` is
/// false or there is one thread or item.
pub fn map_item_ranges<U: Send, R: Send>(
    items: usize,
    out: &mut [U],
    row_len: usize,
    parallel: bool,
    f: impl Fn(std::ops::Range<usize>, &mut [U]) -> R + Sync,
) -> Vec<R> {
    let pool = match workers() {
        Some(pool) if parallel && items >= 2 => pool,
        _ => return vec![f(0..items, out)],
    };
    let per = items.div_ceil(pool.current_num_threads());
    let ranges: Vec<_> = (0..items)
        .step_by(per)
        .map(|s| s..(s + per).min(items))
        .collect();
    let mut rest = out;
    let mut parts = Vec::with_capacity(ranges.len());
    for r in &ranges {
        let take = if rest.is_empty() {
            0
        } else {
            r.len() * row_len
        };
        let (head, tail) = rest.split_at_mut(take);
        parts.push(head);
        rest = tail;
    }
    let mut results: Vec<Option<R>> = ranges.iter().map(|_| None).collect();
    pool.scope(|scope| {
        for ((r, part), slot) in ranges.into_iter().zip(parts).zip(results.iter_mut()) {
            let f = &f;
            scope.spawn(move |_| *slot = Some(f(r, part)));
        }
    });
    // the scope returns once every task has run (a task's panic resumes here), so all are set
    results.into_iter().flatten().collect()
}

/// A vector of `n` elements produced by `fill`, which must write every slot of each chunk it
/// is given (`fill(first_row, chunk)`, chunks of whole `row_len` rows, possibly in parallel).
/// Allocated through the checked path (`op` names the op in the error).
pub fn build_vec<U: Copy + Send>(
    op: &str,
    n: usize,
    row_len: usize,
    fill: impl Fn(usize, &mut [MaybeUninit<U>]) + Sync,
) -> anyhow::Result<Vec<U>> {
    let mut v: Vec<U> = crate::backend::memory::alloc(op, n)?;
    for_row_chunks(&mut v.spare_capacity_mut()[..n], row_len.max(1), fill);
    // SAFETY: every caller's `fill` writes each element of every chunk it receives, and the
    // chunks cover 0..n.
    unsafe { v.set_len(n) };
    Ok(v)
}

#[cfg(test)]
mod thread_count_tests {
    use super::threads_from;

    #[test]
    fn thread_counts_are_clamped() {
        assert_eq!(threads_from(None, 2), (2, None));
        assert_eq!(threads_from(Some("1"), 2), (1, None));
        let (n, w) = threads_from(Some("100000"), 2);
        assert_eq!(n, 8);
        assert!(w.unwrap().contains("using 8"));
        let (n, w) = threads_from(Some("0"), 2);
        assert_eq!(n, 2);
        assert!(w.is_some());
        assert_eq!(threads_from(Some("lots"), 3).0, 3);
    }
}
