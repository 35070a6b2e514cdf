//! Adapters for auth-server's mail ports: the [`Mailer`]s (SMTP through lettre, `.eml` files,
//! the console, as Django's e-mail backends) and the [`MailComposer`] filling the templates in
//! `templates/`.
//!
//! Rule: a mail's content is the composer's; the mailers only wrap it in one MIME form, the
//! same for every mailer (`message.rs`), and report failures as transient or permanent. The SMTP
//! password is never logged and never part of an error.
//!
//! [`Mailer`]: application::ports::Mailer
//! [`MailComposer`]: application::ports::MailComposer

mod console;
mod file;
mod message;
mod smtp;
mod templates;

use thiserror::Error;

pub use console::ConsoleMailer;
pub use file::FileMailer;
pub use smtp::{SmtpMailer, SmtpSettings};
pub use templates::TemplateComposer;

/// A mailer that cannot be built from its settings.
#[derive(Debug, Error)]
pub enum MailConfigError {
    #[error("DEFAULT_FROM_EMAIL is not a valid address: {0}")]
    InvalidFrom(String),
    #[error("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive; set one of them at most")]
    TlsAndSsl,
    #[error("the extra root certificate is not a usable PEM certificate: {0}")]
    RootCertificate(String),
    #[error("TLS cannot be set up: {0}")]
    Tls(String),
    #[error("the mail directory {path} cannot be created: {source}")]
    Directory {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
