//! Django's console backend: each message on standard output, for development.

use std::io::{self, Write};

use application::ports::{MailError, Mailer, OutgoingEmail};
use lettre::message::Mailbox;

use crate::{MailConfigError, message};

/// What Django's console backend writes after each message.
const SEPARATOR: &str =
    "-------------------------------------------------------------------------------\n";

/// Writes each message, as it would be sent but with `\n` line ends, to standard output,
/// followed by a line of dashes.
#[derive(Debug)]
pub struct ConsoleMailer {
    from: Mailbox,
}

impl ConsoleMailer {
    /// # Errors
    /// When `from` is no address.
    pub fn new(from: &str) -> Result<Self, MailConfigError> {
        Ok(Self {
            from: message::parse_from(from)?,
        })
    }

    fn write_to(&self, email: &OutgoingEmail, out: &mut impl Write) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        let text = String::from_utf8_lossy(&message.formatted()).replace("\r\n", "\n");
        // One write of the whole message, so that messages of two threads never interleave.
        let whole = format!("{text}\n{SEPARATOR}");
        out.write_all(whole.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|error| MailError::Transient(format!("cannot write to stdout: {error}")))
    }
}

impl Mailer for ConsoleMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        self.write_to(email, &mut io::stdout().lock())
    }
}

#[cfg(test)]
mod tests {
    use application::ports::MailKind;
    use domain::Email;

    use super::*;

    #[test]
    fn the_message_is_written_with_a_separator() {
        let mailer = ConsoleMailer::new("auth-server <noreply@localhost>").expect("valid from");
        let email = OutgoingEmail {
            kind: MailKind::VerifyEmail,
            to: Email::parse("alice@example.com").expect("valid email"),
            subject: "Confirm".to_owned(),
            text: "Open http://localhost:3000/verify-email?key=abc\n".to_owned(),
            html: "<p>Open</p>".to_owned(),
        };
        let mut out = Vec::new();
        mailer.write_to(&email, &mut out).expect("written");
        let out = String::from_utf8(out).expect("UTF-8");
        assert!(out.contains("To: alice@example.com\n"), "{out}");
        assert!(
            out.contains("Open http://localhost:3000/verify-email?key=abc\n"),
            "{out}"
        );
        assert!(!out.contains('\r'), "{out}");
        assert!(out.ends_with(&format!("\n{SEPARATOR}")), "{out}");
    }
}
