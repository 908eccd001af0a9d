//! A progress bar over a known (or unknown) total.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What the bar counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Units {
    Items,
    Bytes,
}

/// A live indicatif bar, or plain lines at every 10% when output is not a terminal.
pub struct Bar {
    label: String,
    total: Option<u64>,
    done: u64,
    units: Units,
    live: Option<ProgressBar>,
    next_tenth: u64,
    message: String,
    plain: Box<dyn FnMut(&str)>,
}

fn human(n: u64, units: Units) -> String {
    match units {
        Units::Items => n.to_string(),
        Units::Bytes if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        Units::Bytes if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        Units::Bytes => format!("{n} B"),
    }
}

impl Bar {
    /// A bar that draws live when `live` is true, else prints plain lines through `plain`.
    pub fn new(
        label: &str,
        total: Option<u64>,
        units: Units,
        live: bool,
        plain: Box<dyn FnMut(&str)>,
    ) -> Bar {
        let bar = live.then(|| {
            let b = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let tmpl = match (units, total.is_some()) {
                (Units::Bytes, true) => {
                    "{prefix} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}"
                }
                (Units::Bytes, false) => "{prefix} {spinner} {bytes} {bytes_per_sec} {msg}",
                (Units::Items, true) => "{prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
                (Units::Items, false) => "{prefix} {spinner} {pos} {per_sec} {msg}",
            };
            if let Ok(style) = ProgressStyle::with_template(tmpl) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_prefix(label.to_string());
            b
        });
        Bar {
            label: label.to_string(),
            total,
            done: 0,
            units,
            live: bar,
            next_tenth: 1,
            message: String::new(),
            plain,
        }
    }

    /// A bar on stderr, live when stderr is a terminal.
    pub fn stderr(label: &str, total: Option<u64>, units: Units) -> Bar {
        Bar::new(
            label,
            total,
            units,
            super::live(),
            Box::new(|s| eprintln!("{s}")),
        )
    }

    /// Sets a short message shown beside the bar (e.g. `loss 0.231`).
    pub fn set_message(&mut self, m: &str) {
        self.message = m.to_string();
        if let Some(b) = &self.live {
            b.set_message(m.to_string());
        }
    }

    /// Moves to `done` of the total.
    pub fn set_position(&mut self, done: u64) {
        self.done = done;
        if let Some(b) = &self.live {
            b.set_position(done);
            return;
        }
        if let Some(t) = self.total.filter(|&t| t > 0) {
            let tenth = (done.min(t) * 10 / t).min(10);
            if tenth >= self.next_tenth {
                let line = format!(
                    "{}: {}% ({} of {}){}",
                    self.label,
                    tenth * 10,
                    human(done, self.units),
                    human(t, self.units),
                    if self.message.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", self.message)
                    }
                );
                (self.plain)(&line);
                self.next_tenth = tenth + 1;
            }
        }
    }

    pub fn inc(&mut self, n: u64) {
        self.set_position(self.done + n);
    }

    /// Ends the bar (a plain line with the count when the total was unknown).
    pub fn finish(&mut self) {
        if let Some(b) = self.live.take() {
            b.finish();
        } else if self.total.is_none() {
            let line = format!("{}: done ({})", self.label, human(self.done, self.units));
            (self.plain)(&line);
        }
    }
}

impl crate::data::fetch::Progress for Bar {
    fn start(&mut self, what: &str, total: Option<u64>, done: u64) {
        let live = self.live.is_some();
        let plain = std::mem::replace(&mut self.plain, Box::new(|_| {}));
        *self = Bar::new(what, total, Units::Bytes, live, plain);
        self.done = done;
        if let Some(b) = &self.live {
            b.set_position(done);
        }
    }
    fn advance(&mut self, done: u64) {
        self.set_position(done);
    }
    fn finish(&mut self) {
        Bar::finish(self);
    }
}
