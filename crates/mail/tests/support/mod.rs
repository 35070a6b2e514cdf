//! What the integration tests share: one composed mail and the checks of its raw form.

use application::ports::{MailComposer as _, MailContext, MailKind, OutgoingEmail};
use domain::Email;
use mail::TemplateComposer;

pub const FROM: &str = "auth-server <noreply@localhost>";

/// Longer than 76 characters, which lettre would otherwise quoted-printable-encode.
pub const LINK: &str = "http://localhost:3000/reset-password?uid=MTIzNDU2Nw&token=diwpc0-28c16b715620a9dc8fdacf573d85fba3";

/// A password-reset mail to alice@example.com, as the worker composes it.
pub fn reset_email() -> OutgoingEmail {
    let composer =
        TemplateComposer::new("auth-server", "http://localhost:3000").expect("templates");
    let to = Email::parse("alice@example.com").expect("valid email");
    composer
        .compose(
            &to,
            &MailContext {
                kind: MailKind::PasswordReset,
                username: "alice".to_owned(),
                link: Some(LINK.to_owned()),
                new_email: None,
            },
        )
        .expect("composed")
}

/// Parses `raw` and checks it is `email` from [`FROM`]: headers, a text part with the link on
/// a raw line of its own, and an HTML part.
pub fn assert_is_reset_email(raw: &[u8], email: &OutgoingEmail) {
    let text = String::from_utf8_lossy(raw);
    let parsed = mail_parser::MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("not a parsable message:\n{text}"));
    assert_eq!(parsed.subject(), Some(email.subject.as_str()), "{text}");
    let from = parsed.from().and_then(|from| from.first()).expect("From");
    assert_eq!(from.address(), Some("noreply@localhost"));
    assert_eq!(from.name(), Some("auth-server"));
    let to = parsed.to().and_then(|to| to.first()).expect("To");
    assert_eq!(to.address(), Some("alice@example.com"));
    assert!(parsed.date().is_some(), "Date: {text}");
    assert!(
        parsed
            .message_id()
            .is_some_and(|id| id.ends_with("@localhost")),
        "Message-ID: {text}"
    );
    assert_eq!(parsed.text_body_count(), 1, "{text}");
    assert_eq!(parsed.html_body_count(), 1, "{text}");
    // On the wire, lines end in CRLF.
    let lf = |body: &str| body.replace("\r\n", "\n").trim_end().to_owned();
    assert_eq!(
        lf(&parsed.body_text(0).expect("text part")),
        email.text.trim_end()
    );
    assert_eq!(
        lf(&parsed.body_html(0).expect("html part")),
        email.html.trim_end()
    );
    // What a test reading the link out of the raw file relies on.
    assert!(
        text.contains("Content-Transfer-Encoding: 7bit"),
        "the text part is 7bit: {text}"
    );
    assert!(text.contains(&format!("\r\n{LINK}\r\n")), "{text}");
}
