//! Learning-rate schedules: each `step()` advances one step (an epoch or a batch, as the script
//! chooses) and sets the optimiser's learning rate.

use super::Optimizer;
use anyhow::{Result, bail};
use std::cell::RefCell;
use std::f64::consts::PI;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    /// `base * gamma^floor(t / step_size)`
    Step { step_size: u64, gamma: f64 },
    /// `base * gamma^t`
    Exponential { gamma: f64 },
    /// Cosine annealing from the base rate to `eta_min` over `t_max` steps.
    Cosine { t_max: u64, eta_min: f64 },
    /// Leslie Smith's triangular cycle between `base_lr` and `max_lr`, `step_size` steps per half.
    Cyclic {
        base_lr: f64,
        max_lr: f64,
        step_size: u64,
    },
    /// One cycle: cosine warm-up from `max_lr / div` to `max_lr` over `pct_start` of the steps,
    /// then cosine annealing to `max_lr / (div * final_div)`.
    OneCycle {
        max_lr: f64,
        total_steps: u64,
        pct_start: f64,
        div: f64,
        final_div: f64,
    },
}

impl Schedule {
    /// The learning rate at step `t` for a base rate `base`.
    pub fn lr_at(&self, base: f64, t: u64) -> f64 {
        let tf = t as f64;
        match *self {
            Schedule::Step { step_size, gamma } => base * gamma.powi((t / step_size.max(1)) as i32),
            Schedule::Exponential { gamma } => base * gamma.powf(tf),
            Schedule::Cosine { t_max, eta_min } => {
                let tt = (t.min(t_max)) as f64;
                eta_min + (base - eta_min) * (1.0 + (PI * tt / t_max.max(1) as f64).cos()) / 2.0
            }
            Schedule::Cyclic {
                base_lr,
                max_lr,
                step_size,
            } => {
                let ss = step_size.max(1) as f64;
                let cycle = (1.0 + tf / (2.0 * ss)).floor();
                let x = (tf / ss - 2.0 * cycle + 1.0).abs();
                base_lr + (max_lr - base_lr) * (1.0 - x).max(0.0)
            }
            Schedule::OneCycle {
                max_lr,
                total_steps,
                pct_start,
                div,
                final_div,
            } => {
                let start = max_lr / div;
                let end = start / final_div;
                let up = ((total_steps as f64) * pct_start).max(1.0);
                let anneal = |from: f64, to: f64, frac: f64| {
                    to + (from - to) * (1.0 + (PI * frac.clamp(0.0, 1.0)).cos()) / 2.0
                };
                if tf <= up {
                    anneal(start, max_lr, tf / up)
                } else {
                    anneal(
                        max_lr,
                        end,
                        (tf - up) / ((total_steps as f64 - up).max(1.0)),
                    )
                }
            }
        }
    }
}

struct SchedulerState {
    opt: Optimizer,
    schedule: Schedule,
    base: f64,
    t: u64,
}

/// A schedule attached to an optimiser.
#[derive(Clone)]
pub struct Scheduler(Rc<RefCell<SchedulerState>>);

impl Scheduler {
    /// Attaches `schedule` and sets the rate for step 0.
    pub fn new(opt: Optimizer, schedule: Schedule) -> Result<Scheduler> {
        match &schedule {
            Schedule::Step { step_size: 0, .. } => bail!("step_lr: step_size must be positive"),
            Schedule::Cosine { t_max: 0, .. } => bail!("cosine_lr: t_max must be positive"),
            Schedule::Cyclic { step_size: 0, .. } => bail!("cyclic_lr: step_size must be positive"),
            Schedule::OneCycle { total_steps: 0, .. } => {
                bail!("one_cycle: total_steps must be positive")
            }
            _ => {}
        }
        let base = opt.lr();
        let s = Scheduler(Rc::new(RefCell::new(SchedulerState {
            opt,
            schedule,
            base,
            t: 0,
        })));
        s.apply()?;
        Ok(s)
    }

    fn apply(&self) -> Result<()> {
        let st = self.0.borrow();
        st.opt.set_lr(st.schedule.lr_at(st.base, st.t))
    }

    /// Advances one step and updates the optimiser's rate; returns the new rate.
    pub fn step(&self) -> Result<f64> {
        self.0.borrow_mut().t += 1;
        self.apply()?;
        Ok(self.lr())
    }

    pub fn lr(&self) -> f64 {
        self.0.borrow().opt.lr()
    }

    /// The optimiser the schedule drives.
    pub fn optimizer(&self) -> Optimizer {
        self.0.borrow().opt.clone()
    }

    /// The base rate and the number of steps taken (PyTorch's `base_lrs` and `last_epoch`).
    pub fn position(&self) -> (f64, u64) {
        let st = self.0.borrow();
        (st.base, st.t)
    }

    /// Restores a position from [`Scheduler::position`] and sets the rate it gives.
    pub fn set_position(&self, base: f64, t: u64) -> Result<()> {
        if base.is_nan() || base < 0.0 {
            bail!("load_state_dict: base_lr must be non-negative, got {base}");
        }
        {
            let mut st = self.0.borrow_mut();
            st.base = base;
            st.t = t;
        }
        self.apply()
    }
}
