//! How `import-django` shows its progress and its summary.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write as _};

use application::use_cases::{ImportProgress, ImportReport, Stage};
use indicatif::{ProgressBar, ProgressStyle};

/// A bar on a terminal; otherwise a plain line about every tenth of the way, for logs.
pub struct Progress {
    terminal: bool,
    bar: RefCell<Option<ProgressBar>>,
    /// The stage's total and the last count printed, for plain lines.
    plain: RefCell<(u64, u64)>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            terminal: io::stderr().is_terminal(),
            bar: RefCell::new(None),
            plain: RefCell::new((0, 0)),
        }
    }

    fn line(text: &str) {
        // Progress is a courtesy: a closed stderr must not stop the import.
        let _ = writeln!(io::stderr(), "{text}");
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl ImportProgress for Progress {
    fn start(&self, stage: Stage, total: u64) {
        if self.terminal {
            let bar = ProgressBar::new(total).with_prefix(stage.as_str());
            if let Ok(style) =
                ProgressStyle::with_template("{prefix:>7} [{bar:40}] {pos}/{len} ({eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            *self.bar.borrow_mut() = Some(bar);
        } else {
            *self.plain.borrow_mut() = (total, 0);
            Self::line(&format!("{}: writing {total}", stage.as_str()));
        }
    }

    fn advance(&self, stage: Stage, done: u64) {
        if let Some(bar) = self.bar.borrow().as_ref() {
            bar.set_position(done);
            return;
        }
        let mut plain = self.plain.borrow_mut();
        let (total, printed) = *plain;
        let step = (total / 10).max(1);
        if done == total || done >= printed + step {
            plain.1 = done;
            Self::line(&format!("{}: {done}/{total}", stage.as_str()));
        }
    }

    fn finish(&self, _stage: Stage) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish();
        }
    }
}

/// What the import did, for people: counts, then every record left out and why.
pub fn summary(report: &ImportReport) -> String {
    let verb = if report.dry_run {
        "would be imported"
    } else {
        "imported"
    };
    let mut text = String::new();
    if report.dry_run {
        text.push_str("Dry run: nothing was written.\n");
    }
    let profiles = match &report.profile_table {
        Some(table) => format!("profiles (from {table})"),
        None => "profiles (no profile table found)".to_owned(),
    };
    let users = report.users;
    let left_users = report
        .left_out
        .iter()
        .filter(|left| left.record == application::use_cases::Record::User)
        .count();
    let left_profiles = report.left_out.len() - left_users;
    let tokens = report.tokens;
    let _ = writeln!(
        text,
        "users: {} {verb}, {} already here, {left_users} left out",
        users.imported, users.present
    );
    let _ = writeln!(
        text,
        "{profiles}: {} {verb}, {} already here, {left_profiles} left out",
        report.profiles.imported, report.profiles.present
    );
    let _ = writeln!(
        text,
        "refresh tokens: {} {verb} ({} of them blacklisted), {} newly blacklisted, {} already here; \
         not imported: {} expired, {} without a user, {} of users left out",
        tokens.imported,
        tokens.blacklisted,
        tokens.revoked,
        tokens.present,
        tokens.expired,
        tokens.without_user,
        tokens.of_left_out_users
    );
    if !report.left_out.is_empty() {
        text.push_str("Left out:\n");
        for left in &report.left_out {
            let _ = writeln!(text, "  {left}");
        }
    }
    text.truncate(text.trim_end().len());
    text
}
