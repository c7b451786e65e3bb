//! Progress on stderr for long command-line runs, drawn only when stderr is
//! a terminal (indicatif hides itself otherwise), so piped output stays plain.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over a known total (bytes, messages).
pub struct Bar(ProgressBar);

impl Bar {
    /// A bar over `total` messages.
    pub fn messages(total: u64, what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} messages ({eta})",
        ) {
            bar.set_style(style);
        }
        bar.set_message(what.to_owned());
        Self(bar)
    }

    /// Changes the total, once it is known.
    pub fn set_total(&self, total: u64) {
        self.0.set_length(total);
    }

    /// Changes the text before the bar.
    pub fn set_message(&self, what: &str) {
        self.0.set_message(what.to_owned());
    }

    pub fn set(&self, done: u64) {
        self.0.set_position(done);
    }

    pub fn finish(self) {
        self.0.finish_and_clear();
    }
}

/// A spinner for a step without a known size.
pub struct Spinner(ProgressBar);

impl Spinner {
    pub fn start(what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(bar)
    }

    pub fn finish(self) {
        self.0.finish_and_clear();
    }
}
