//! Django's file backend: one `.eml` file per message, for development and for tests that read
//! the mail a flow sent.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use application::ports::{MailError, Mailer, OutgoingEmail};
use chrono::Utc;
use lettre::message::Mailbox;

use crate::{MailConfigError, message};

/// Writes each message, exactly as it would be sent, to `<dir>/<UTC time>-<random>.eml`.
#[derive(Debug)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `dir`, which is created if missing.
    ///
    /// # Errors
    /// When `from` is no address or `dir` cannot be created.
    pub fn new(dir: impl Into<PathBuf>, from: &str) -> Result<Self, MailConfigError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| MailConfigError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            dir,
            from: message::parse_from(from)?,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Mailer for FileMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        // Sortable by time; the random part keeps two messages of one microsecond apart.
        let stem = format!(
            "{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..16],
        );
        let path = self.dir.join(format!("{stem}.eml"));
        // Written under a name no reader looks for, then renamed within the directory, so a
        // `.eml` is always complete.
        let partial = self.dir.join(format!(".{stem}.eml.partial"));
        let written = fs::create_dir_all(&self.dir).and_then(|()| {
            let mut file = fs::File::create_new(&partial)?;
            file.write_all(&message.formatted())?;
            file.sync_all()?;
            fs::rename(&partial, &path)
        });
        written.map_err(|error| {
            let _ = fs::remove_file(&partial);
            MailError::Transient(format!("cannot write {}: {error}", path.display()))
        })
    }
}
