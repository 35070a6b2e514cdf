//! The mail templates: for each [`MailKind`], `templates/<kind>.subject.txt`, `<kind>.txt` and
//! `<kind>.html`, compiled into the binary. The HTML is autoescaped; the text and the subject
//! are not (they are no markup).

use application::ports::{ComposeError, MailComposer, MailContext, MailKind, OutgoingEmail};
use domain::Email;
use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, Output, State, UndefinedBehavior};

/// `(file name, source)` of every template.
const TEMPLATES: [(&str, &str); 12] = [
    (
        "password_reset.subject.txt",
        include_str!("../templates/password_reset.subject.txt"),
    ),
    (
        "password_reset.txt",
        include_str!("../templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../templates/password_reset.html"),
    ),
    (
        "password_changed.subject.txt",
        include_str!("../templates/password_changed.subject.txt"),
    ),
    (
        "password_changed.txt",
        include_str!("../templates/password_changed.txt"),
    ),
    (
        "password_changed.html",
        include_str!("../templates/password_changed.html"),
    ),
    (
        "verify_email.subject.txt",
        include_str!("../templates/verify_email.subject.txt"),
    ),
    (
        "verify_email.txt",
        include_str!("../templates/verify_email.txt"),
    ),
    (
        "verify_email.html",
        include_str!("../templates/verify_email.html"),
    ),
    (
        "email_changed.subject.txt",
        include_str!("../templates/email_changed.subject.txt"),
    ),
    (
        "email_changed.txt",
        include_str!("../templates/email_changed.txt"),
    ),
    (
        "email_changed.html",
        include_str!("../templates/email_changed.html"),
    ),
];

/// Fills the templates with the context and the product's name and web address.
#[derive(Debug)]
pub struct TemplateComposer {
    env: Environment<'static>,
    site_name: String,
    frontend_url: String,
}

impl TemplateComposer {
    /// `site_name` is the product's name as mails show it; `frontend_url` the web app's base
    /// address (a trailing `/` is dropped), for links the templates make themselves.
    ///
    /// # Errors
    /// When a template does not compile: a bug, caught by the unit tests.
    pub fn new(
        site_name: impl Into<String>,
        frontend_url: impl Into<String>,
    ) -> Result<Self, ComposeError> {
        let mut env = Environment::new();
        // A variable the context lacks is an error, never an empty string in a mail.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_formatter(html_formatter);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .map_err(|error| ComposeError(format!("template {name}: {error}")))?;
        }
        let frontend_url = frontend_url.into().trim_end_matches('/').to_owned();
        Ok(Self {
            env,
            site_name: site_name.into(),
            frontend_url,
        })
    }

    fn render(
        &self,
        kind: MailKind,
        suffix: &str,
        context: &Value,
    ) -> Result<String, ComposeError> {
        let name = format!("{}.{suffix}", kind.as_str());
        self.env
            .get_template(&name)
            .and_then(|template| template.render(context))
            .map_err(|error| ComposeError(format!("template {name}: {error}")))
    }
}

/// minijinja's formatter, except that HTML escaping leaves `/` alone (minijinja writes
/// `&#x2f;`), so a link reads in the HTML source as it does in the text part.
fn html_formatter(out: &mut Output<'_>, state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    if !matches!(state.auto_escape(), AutoEscape::Html) || value.is_safe() || value.is_undefined() {
        return minijinja::escape_formatter(out, state, value);
    }
    let text = value.to_string();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    out.write_str(&escaped).map_err(Error::from)
}

/// Whether the kind's mail is about a link, which it then cannot go without.
fn needs_link(kind: MailKind) -> bool {
    match kind {
        MailKind::PasswordReset | MailKind::VerifyEmail => true,
        MailKind::PasswordChanged | MailKind::EmailChanged => false,
    }
}

fn present(value: Option<&String>) -> Option<&str> {
    value
        .map(String::as_str)
        .filter(|value| !value.trim().is_empty())
}

impl MailComposer for TemplateComposer {
    fn compose(&self, to: &Email, context: &MailContext) -> Result<OutgoingEmail, ComposeError> {
        let kind = context.kind;
        let link = present(context.link.as_ref());
        if needs_link(kind) && link.is_none() {
            return Err(ComposeError(format!(
                "a {} mail needs a link",
                kind.as_str()
            )));
        }
        let new_email = present(context.new_email.as_ref());
        if kind == MailKind::EmailChanged && new_email.is_none() {
            return Err(ComposeError(
                "an email_changed mail needs the new address".to_owned(),
            ));
        }
        let mut values = vec![
            ("site_name", Value::from(self.site_name.as_str())),
            ("frontend_url", Value::from(self.frontend_url.as_str())),
            ("username", Value::from(context.username.as_str())),
        ];
        // Absent values stay undefined, so a template using one fails instead of printing
        // "none".
        if let Some(link) = link {
            values.push(("link", Value::from(link)));
        }
        if let Some(new_email) = new_email {
            values.push(("new_email", Value::from(new_email)));
        }
        let values: Value = values.into_iter().collect();
        // Django's rule: a subject is one line.
        let subject = self
            .render(kind, "subject.txt", &values)?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = self.render(kind, "txt", &values)?;
        text.push('\n');
        let mut html = self.render(kind, "html", &values)?;
        html.push('\n');
        Ok(OutgoingEmail {
            kind,
            to: to.clone(),
            subject,
            text,
            html,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str =
        "http://localhost:3000/reset-password/NDI/diwpc0-010991fea222b571d59075ab533d9074";

    fn composer() -> TemplateComposer {
        TemplateComposer::new("Example Accounts", "http://localhost:3000/").expect("templates")
    }

    fn to() -> Email {
        Email::parse("alice@example.com").expect("valid email")
    }

    fn context(kind: MailKind) -> MailContext {
        MailContext {
            kind,
            username: "alice".to_owned(),
            link: needs_link(kind).then(|| LINK.to_owned()),
            new_email: (kind == MailKind::EmailChanged).then(|| "alice@new.example".to_owned()),
        }
    }

    #[test]
    fn every_kind_renders_a_one_line_subject_and_both_bodies() {
        for kind in MailKind::ALL {
            let email = composer().compose(&to(), &context(kind)).expect("composed");
            assert_eq!(email.kind, kind);
            assert_eq!(email.to, to());
            assert!(!email.subject.is_empty(), "{kind:?}");
            assert!(
                !email.subject.contains('\n'),
                "{kind:?}: {:?}",
                email.subject
            );
            assert!(email.text.contains("alice"), "{kind:?}: {}", email.text);
            assert!(email.html.contains("alice"), "{kind:?}: {}", email.html);
            assert!(email.html.contains("Example Accounts"), "{kind:?}");
            assert!(
                email.text.is_ascii(),
                "{kind:?}: ASCII keeps the text part 7bit"
            );
        }
    }

    #[test]
    fn link_mails_carry_the_link_on_a_line_of_its_own() {
        for kind in [MailKind::PasswordReset, MailKind::VerifyEmail] {
            let email = composer().compose(&to(), &context(kind)).expect("composed");
            assert!(
                email.text.lines().any(|line| line == LINK),
                "{}",
                email.text
            );
            assert!(
                email.html.contains(&format!("href=\"{LINK}\"")),
                "{}",
                email.html
            );
        }
    }

    #[test]
    fn the_password_reset_mail_says_it_works_once_and_expires() {
        let email = composer()
            .compose(&to(), &context(MailKind::PasswordReset))
            .expect("composed");
        for words in ["once", "expires", "ignore"] {
            assert!(email.text.contains(words), "{words}: {}", email.text);
            assert!(email.html.contains(words), "{words}: {}", email.html);
        }
    }

    #[test]
    fn the_password_changed_notice_points_to_the_reset_page() {
        let email = composer()
            .compose(&to(), &context(MailKind::PasswordChanged))
            .expect("composed");
        let reset = "http://localhost:3000/forgot-password";
        assert!(email.text.contains(reset), "{}", email.text);
        assert!(
            email.html.contains(&format!("href=\"{reset}\"")),
            "{}",
            email.html
        );
    }

    #[test]
    fn the_email_changed_notice_names_the_new_address() {
        let email = composer()
            .compose(&to(), &context(MailKind::EmailChanged))
            .expect("composed");
        assert!(email.text.contains("alice@new.example"), "{}", email.text);
        assert!(email.html.contains("alice@new.example"), "{}", email.html);
    }

    #[test]
    fn html_escapes_the_username_and_text_keeps_it() {
        let mut context = context(MailKind::VerifyEmail);
        context.username = "<script>alert(1)</script>".to_owned();
        let email = composer().compose(&to(), &context).expect("composed");
        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(email.html.contains("&lt;script&gt;"), "{}", email.html);
        assert!(
            email.text.contains("<script>alert(1)</script>"),
            "{}",
            email.text
        );
    }

    #[test]
    fn html_escapes_a_link_but_leaves_its_slashes() {
        let mut context = context(MailKind::PasswordReset);
        context.link = Some("http://localhost:3000/reset?a=1&b=\"2\"".to_owned());
        let email = composer().compose(&to(), &context).expect("composed");
        let escaped = "href=\"http://localhost:3000/reset?a=1&amp;b=&quot;2&quot;\"";
        assert!(email.html.contains(escaped), "{}", email.html);
    }

    #[test]
    fn a_link_mail_without_a_link_is_an_error() {
        for kind in [MailKind::PasswordReset, MailKind::VerifyEmail] {
            for link in [None, Some(String::new()), Some("  ".to_owned())] {
                let mut context = context(kind);
                context.link = link;
                assert!(composer().compose(&to(), &context).is_err(), "{kind:?}");
            }
        }
    }

    #[test]
    fn an_email_changed_notice_without_the_new_address_is_an_error() {
        let mut context = context(MailKind::EmailChanged);
        context.new_email = None;
        assert!(composer().compose(&to(), &context).is_err());
    }

    #[test]
    fn a_subject_never_spans_lines() {
        let composer =
            TemplateComposer::new("Example\nAccounts", "http://localhost:3000").expect("templates");
        for kind in MailKind::ALL {
            let email = composer.compose(&to(), &context(kind)).expect("composed");
            assert!(!email.subject.contains(['\n', '\r']), "{:?}", email.subject);
        }
    }
}
