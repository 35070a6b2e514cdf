//! The one MIME form every mailer sends: `multipart/alternative` with the text part, then the
//! HTML part.
//!
//! The text part is sent unencoded whenever it can be: `7bit` when it is ASCII, `8bit`
//! otherwise (as Django does), quoted-printable only for a line over RFC 5322's 998 octets.
//! Links in it therefore appear in the raw message exactly as composed, whatever their length;
//! lettre's own choice would switch to quoted-printable from 76 characters a line on, which
//! breaks long links across lines and turns their `=` into `=3D`.

use application::ports::{MailError, OutgoingEmail};
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

use crate::MailConfigError;

/// RFC 5322's limit on a line, without its CRLF.
const MAX_LINE_OCTETS: usize = 998;

/// The sender address of `DEFAULT_FROM_EMAIL` (`Name <address>` or a bare address).
pub(crate) fn parse_from(from: &str) -> Result<Mailbox, MailConfigError> {
    from.parse()
        .map_err(|error| MailConfigError::InvalidFrom(format!("{from:?}: {error}")))
}

/// The message for `email`, from `from`, with a new `Message-ID` in the sender's domain and
/// the current time as its `Date`.
///
/// # Errors
/// `Permanent` when the recipient is no address lettre can write: another try cannot help.
pub(crate) fn build(from: &Mailbox, email: &OutgoingEmail) -> Result<Message, MailError> {
    let to: Mailbox = email.to.as_str().parse().map_err(|error| {
        MailError::Permanent(format!("the recipient address cannot be written: {error}"))
    })?;
    // A subject is one line (the composer makes it so; a stored one is checked again).
    let subject: String = email.subject.lines().collect::<Vec<_>>().join(" ");
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        from.email.domain()
    );
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject.trim())
        .date_now()
        .message_id(Some(message_id))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text_body(&email.text)),
                )
                .singlepart(SinglePart::html(email.html.clone())),
        )
        .map_err(|error| MailError::Permanent(format!("the message cannot be built: {error}")))
}

/// The text part's body, unencoded when RFC 5322 allows it (see the module's documentation).
fn text_body(text: &str) -> Body {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let sendable_as_is =
        !text.contains(['\0', '\r']) && lines.iter().all(|line| line.len() <= MAX_LINE_OCTETS);
    if !sendable_as_is {
        return Body::new(text);
    }
    let mut crlf = lines.join("\r\n");
    if text.ends_with('\n') {
        crlf.push_str("\r\n");
    }
    let encoding = if crlf.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
}

#[cfg(test)]
mod tests {
    use application::ports::MailKind;
    use domain::Email;

    use super::*;

    fn email(text: &str) -> OutgoingEmail {
        OutgoingEmail {
            kind: MailKind::PasswordReset,
            to: Email::parse("alice@example.com").expect("valid email"),
            subject: "Reset\nyour password".to_owned(),
            text: text.to_owned(),
            html: "<p>Hello</p>".to_owned(),
        }
    }

    fn formatted(text: &str) -> String {
        let from = parse_from("auth-server <noreply@localhost>").expect("valid from");
        let message = build(&from, &email(text)).expect("a message");
        String::from_utf8(message.formatted()).expect("UTF-8")
    }

    const LONG_LINK: &str = "http://localhost:3000/reset-password?uid=MTIzNDU2Nw&token=diwpc0-28c16b715620a9dc8fdacf573d85fba3";

    #[test]
    fn an_ascii_text_part_with_a_long_link_is_7bit_and_keeps_the_link_whole() {
        let raw = formatted(&format!("Open this link:\n\n{LONG_LINK}\n"));
        assert!(
            raw.contains("Content-Transfer-Encoding: 7bit\r\n\r\nOpen this link:\r\n\r\n"),
            "{raw}"
        );
        assert!(raw.contains(&format!("\r\n{LONG_LINK}\r\n")), "{raw}");
    }

    #[test]
    fn a_non_ascii_text_part_is_8bit() {
        let raw = formatted(&format!("Hello J\u{f6}rg,\n{LONG_LINK}\n"));
        assert!(
            raw.contains("Content-Transfer-Encoding: 8bit\r\n\r\nHello J\u{f6}rg,\r\n"),
            "{raw}"
        );
        assert!(raw.contains(LONG_LINK), "{raw}");
    }

    #[test]
    fn a_text_part_with_an_overlong_line_is_quoted_printable() {
        let raw = formatted(&"x".repeat(MAX_LINE_OCTETS + 1));
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable"),
            "{raw}"
        );
    }

    #[test]
    fn the_message_has_its_headers_and_both_parts_in_order() {
        let raw = formatted("Hello\n");
        for header in [
            "From: auth-server <noreply@localhost>\r\n",
            "To: alice@example.com\r\n",
            "Subject: Reset your password\r\n",
            "Date: ",
            "Message-ID: <",
            "@localhost>\r\n",
            "Content-Type: multipart/alternative;",
        ] {
            assert!(raw.contains(header), "{header:?} in {raw}");
        }
        let text = raw
            .find("Content-Type: text/plain; charset=utf-8")
            .expect("text part");
        let html = raw
            .find("Content-Type: text/html; charset=utf-8")
            .expect("html part");
        assert!(text < html, "text first, as multipart/alternative wants");
    }

    #[test]
    fn an_invalid_from_is_a_configuration_error() {
        assert!(matches!(
            parse_from("not an address"),
            Err(MailConfigError::InvalidFrom(_))
        ));
    }
}
