//! Batches for training loops: a loader over tensors that share their first dimension
//! (shuffled per epoch, optionally with a fixed share of positive rows per batch), a mix of
//! loaders (one batch from each per step, concatenated), and train/test splitting.

use crate::tensor::{Device, Tensor, random};
use anyhow::{Result, bail};
use std::cell::RefCell;
use std::rc::Rc;

/// Rows held for the balanced sampler.
struct Balanced {
    positive: Vec<i64>,
    negative: Vec<i64>,
    fraction: f64,
}

pub struct Loader {
    tensors: Vec<Tensor>,
    rows: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    pub drop_last: bool,
    seed: Option<u64>,
    epoch: u64,
    balanced: Option<Balanced>,
}

/// Rows `idx` of every tensor (which share their first dimension).
fn rows(tensors: &[Tensor], idx: &[i64]) -> Result<Vec<Tensor>> {
    let device: Device = tensors[0].device();
    let i = Tensor::from_i64(idx.to_vec(), &[idx.len()], device)?;
    tensors.iter().map(|t| t.index_select(0, &i)).collect()
}

/// Checks that the tensors share a non-empty first dimension; returns it.
fn common_rows(op: &str, tensors: &[Tensor]) -> Result<usize> {
    let Some(first) = tensors.first() else {
        bail!("{op}: needs at least one tensor");
    };
    if first.ndim() == 0 {
        bail!("{op}: tensors need a first (row) dimension, got a scalar");
    }
    let n = first.shape()[0];
    for t in tensors {
        if t.ndim() == 0 || t.shape()[0] != n {
            let shapes: Vec<&[usize]> = tensors.iter().map(|t| t.shape()).collect();
            bail!("{op}: the tensors must have the same number of rows, got shapes {shapes:?}");
        }
    }
    Ok(n)
}

impl Loader {
    pub fn new(
        tensors: Vec<Tensor>,
        batch_size: usize,
        shuffle: bool,
        drop_last: bool,
        seed: Option<u64>,
    ) -> Result<Loader> {
        let rows = common_rows("loader", &tensors)?;
        if batch_size == 0 {
            bail!("loader: batch_size must be positive");
        }
        Ok(Loader {
            tensors,
            rows,
            batch_size,
            shuffle,
            drop_last,
            seed,
            epoch: 0,
            balanced: None,
        })
    }

    /// Batches that hold `fraction` positive rows (where `positive` is true) each, drawn
    /// without replacement from each class in turn (reshuffled when a class runs out).
    pub fn balanced(
        tensors: Vec<Tensor>,
        positive: &Tensor,
        batch_size: usize,
        fraction: f64,
        seed: Option<u64>,
    ) -> Result<Loader> {
        let mut l = Loader::new(tensors, batch_size, true, true, seed)?;
        if positive.shape() != [l.rows] {
            bail!(
                "balanced: the positive mask should be [{}], got {:?}",
                l.rows,
                positive.shape()
            );
        }
        let mask = positive.to_bool_vec()?;
        let (pos, neg): (Vec<i64>, Vec<i64>) = (0..l.rows as i64).partition(|&i| mask[i as usize]);
        if pos.is_empty() || neg.is_empty() {
            bail!(
                "balanced: needs both positive and negative rows ({} and {})",
                pos.len(),
                neg.len()
            );
        }
        l.balanced = Some(Balanced {
            positive: pos,
            negative: neg,
            fraction: 0.0,
        });
        l.set_fraction(fraction)?;
        Ok(l)
    }

    pub fn fraction(&self) -> Option<f64> {
        self.balanced.as_ref().map(|b| b.fraction)
    }

    /// Changes the share of positive rows per batch (balanced loaders), e.g. during training.
    pub fn set_fraction(&mut self, f: f64) -> Result<()> {
        let Some(b) = self.balanced.as_mut() else {
            bail!("fraction: only loaders from data::balanced have a positive fraction");
        };
        if !(0.0..=1.0).contains(&f) {
            bail!("fraction must be in [0, 1], got {f}");
        }
        b.fraction = f;
        Ok(())
    }

    /// Batches per epoch.
    pub fn len(&self) -> usize {
        if self.drop_last || self.balanced.is_some() {
            self.rows / self.batch_size
        } else {
            self.rows.div_ceil(self.batch_size)
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    fn permutation(&mut self, n: usize) -> Result<Vec<i64>> {
        self.epoch += 1;
        match self.seed {
            Some(s) => random::seeded_permutation(n, s.wrapping_add(self.epoch)),
            None => random::permutation(n),
        }
    }

    /// The row indices of every batch of one epoch.
    pub fn epoch_indices(&mut self) -> Result<Vec<Vec<i64>>> {
        let n_batches = self.len();
        if self.balanced.is_some() {
            let (np, nn) = {
                let b = self
                    .balanced
                    .as_ref()
                    .map(|b| (b.positive.len(), b.negative.len()));
                b.unwrap_or((0, 0))
            };
            let pp = self.permutation(np)?;
            let pn = self.permutation(nn)?;
            let Some(b) = self.balanced.as_ref() else {
                return Ok(Vec::new());
            };
            let k = (b.fraction * self.batch_size as f64).round() as usize;
            let (mut ip, mut ineg) = (0usize, 0usize);
            return Ok((0..n_batches)
                .map(|_| {
                    let mut rows = Vec::with_capacity(self.batch_size);
                    for _ in 0..k {
                        rows.push(b.positive[pp[ip % np] as usize]);
                        ip += 1;
                    }
                    for _ in k..self.batch_size {
                        rows.push(b.negative[pn[ineg % nn] as usize]);
                        ineg += 1;
                    }
                    rows
                })
                .collect());
        }
        let order: Vec<i64> = if self.shuffle {
            self.permutation(self.rows)?
        } else {
            (0..self.rows as i64).collect()
        };
        Ok(order
            .chunks(self.batch_size)
            .take(n_batches)
            .map(<[i64]>::to_vec)
            .collect())
    }

    /// The tensors' rows at `idx`.
    pub fn gather(&self, idx: &[i64]) -> Result<Vec<Tensor>> {
        rows(&self.tensors, idx)
    }
}

/// A shared loader (scripts hold these; `for batch in loader` iterates one epoch).
#[derive(Clone)]
pub struct LoaderHandle(pub Rc<RefCell<Loader>>);

/// One epoch of batches.
pub struct Epoch {
    loader: LoaderHandle,
    batches: std::vec::IntoIter<Vec<i64>>,
}

impl LoaderHandle {
    pub fn epoch(&self) -> Epoch {
        // the index lists are far smaller than the loader's own tensors; if even they cannot
        // be allocated the epoch is empty
        let batches = self.0.borrow_mut().epoch_indices().unwrap_or_default();
        Epoch {
            loader: self.clone(),
            batches: batches.into_iter(),
        }
    }
}

impl Iterator for Epoch {
    type Item = Vec<Tensor>;
    fn next(&mut self) -> Option<Vec<Tensor>> {
        let idx = self.batches.next()?;
        self.loader.0.borrow().gather(&idx).ok()
    }
}

/// One batch from every loader per step, concatenated row-wise (lesson 6's MixIterator). An
/// epoch is as long as the first loader's; the others start over when they run out.
#[derive(Clone)]
pub struct Mix {
    pub loaders: Vec<LoaderHandle>,
}

impl Mix {
    pub fn new(loaders: Vec<LoaderHandle>) -> Result<Mix> {
        let Some(first) = loaders.first() else {
            bail!("mix: needs at least one loader");
        };
        let arity = first.0.borrow().tensors.len();
        for l in &loaders {
            let l = l.0.borrow();
            if l.tensors.len() != arity {
                bail!("mix: every loader must hold the same number of tensors ({arity})");
            }
            for (a, b) in l.tensors.iter().zip(&first.0.borrow().tensors) {
                if a.shape()[1..] != b.shape()[1..] || a.dtype() != b.dtype() {
                    bail!(
                        "mix: rows must match across loaders, got {} {:?} and {} {:?}",
                        a.dtype(),
                        a.shape(),
                        b.dtype(),
                        b.shape()
                    );
                }
            }
        }
        Ok(Mix { loaders })
    }

    pub fn len(&self) -> usize {
        self.loaders[0].0.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub struct MixEpoch {
    mix: Mix,
    epochs: Vec<Epoch>,
    left: usize,
}

impl Mix {
    pub fn epoch(&self) -> MixEpoch {
        MixEpoch {
            mix: self.clone(),
            epochs: self.loaders.iter().map(LoaderHandle::epoch).collect(),
            left: self.len(),
        }
    }
}

impl Iterator for MixEpoch {
    type Item = Vec<Tensor>;
    fn next(&mut self) -> Option<Vec<Tensor>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut parts: Vec<Vec<Tensor>> = Vec::with_capacity(self.epochs.len());
        for (i, e) in self.epochs.iter_mut().enumerate() {
            let b = match e.next() {
                Some(b) => b,
                None => {
                    *e = self.mix.loaders[i].epoch();
                    e.next()?
                }
            };
            parts.push(b);
        }
        (0..parts[0].len())
            .map(|k| {
                let cols: Vec<Tensor> = parts.iter().map(|p| p[k].clone()).collect();
                Tensor::cat(&cols, 0).ok()
            })
            .collect()
    }
}

/// Splits rows into (train, test) with `test` rows held out, shuffled unless `shuffle` is false.
pub fn train_test_split(
    tensors: &[Tensor],
    test: usize,
    shuffle: bool,
    seed: Option<u64>,
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let n = common_rows("train_test_split", tensors)?;
    if test > n {
        bail!("train_test_split: cannot hold out {test} of {n} rows");
    }
    let order: Vec<i64> = match (shuffle, seed) {
        (false, _) => (0..n as i64).collect(),
        (true, Some(s)) => random::seeded_permutation(n, s)?,
        (true, None) => random::permutation(n)?,
    };
    Ok((
        rows(tensors, &order[test..])?,
        rows(tensors, &order[..test])?,
    ))
}
