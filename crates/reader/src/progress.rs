//! A spinner per step while the card is read (on stderr, only on a terminal).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::i18n::{self, Lang};

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    lang: Lang,
}

impl Progress {
    pub(crate) fn new(lang: Lang, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        });
        Progress { bar, lang }
    }

    pub(crate) fn step(&self, step: &mynaid_card::Step) {
        let text = i18n::step(self.lang, step);
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => eprintln!("… {text}"),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
