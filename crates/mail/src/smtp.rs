//! Delivery through an SMTP relay, configured as Django's SMTP backend is.

use std::fmt;
use std::time::Duration;

use application::ports::{MailError, Mailer, OutgoingEmail};
use lettre::Transport as _;
use lettre::message::Mailbox;
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use secrecy::{ExposeSecret as _, SecretString};

use crate::{MailConfigError, message};

/// The SMTP backend's settings, named after Django's.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// `EMAIL_HOST`; also the name the server's certificate must carry.
    pub host: String,
    /// `EMAIL_PORT`.
    pub port: u16,
    /// `EMAIL_HOST_USER`.
    pub username: Option<String>,
    /// `EMAIL_HOST_PASSWORD`. As in Django, the client authenticates only when both a username
    /// and a password are set and not empty.
    pub password: Option<SecretString>,
    /// `EMAIL_USE_TLS`: STARTTLS, required (a server that does not offer it is an error).
    pub use_tls: bool,
    /// `EMAIL_USE_SSL`: TLS from the first byte (SMTPS, usually port 465).
    pub use_ssl: bool,
    /// `EMAIL_TIMEOUT`: for connecting, and for each read and write after that.
    pub timeout: Duration,
    /// `DEFAULT_FROM_EMAIL`, such as `auth-server <noreply@example.com>`.
    pub from: String,
    /// A PEM certificate to trust besides the system's roots, for a relay with a private or
    /// self-signed certificate.
    pub extra_root_certificate: Option<Vec<u8>>,
}

/// Sends each message over a connection of its own: the outbox worker sends few, and a
/// connection kept open would only time out between them.
pub struct SmtpMailer {
    transport: SmtpTransport,
    from: Mailbox,
    /// `host:port`, for error messages.
    server: String,
}

impl SmtpMailer {
    /// # Errors
    /// When both `use_tls` and `use_ssl` are set, `from` is no address, or TLS cannot be set
    /// up with the extra root certificate. Nothing is connected yet: an unreachable server is
    /// found out by the first `send`.
    pub fn new(settings: SmtpSettings) -> Result<Self, MailConfigError> {
        if settings.use_tls && settings.use_ssl {
            return Err(MailConfigError::TlsAndSsl);
        }
        let from = message::parse_from(&settings.from)?;
        let tls = if settings.use_tls || settings.use_ssl {
            let parameters = tls_parameters(&settings)?;
            if settings.use_ssl {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        } else {
            Tls::None
        };
        let mut builder = SmtpTransport::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        let username = settings.username.filter(|username| !username.is_empty());
        let password = settings
            .password
            .filter(|password| !password.expose_secret().is_empty());
        if let (Some(username), Some(password)) = (username, password) {
            builder = builder.credentials(Credentials::new(
                username,
                password.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            server: format!("{}:{}", settings.host, settings.port),
        })
    }
}

const PEM_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, MailConfigError> {
    let mut builder = TlsParameters::builder(settings.host.clone());
    if let Some(pem) = &settings.extra_root_certificate {
        // lettre takes a text without any PEM block for an empty list of certificates.
        if !pem
            .windows(PEM_CERTIFICATE.len())
            .any(|window| window == PEM_CERTIFICATE)
        {
            return Err(MailConfigError::RootCertificate(
                "no \"BEGIN CERTIFICATE\" block".to_owned(),
            ));
        }
        let certificate = Certificate::from_pem(pem)
            .map_err(|error| MailConfigError::RootCertificate(error.to_string()))?;
        builder = builder.add_root_certificate(certificate);
    }
    builder
        .build()
        .map_err(|error| MailConfigError::Tls(error.to_string()))
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = message::build(&self.from, email)?;
        self.transport
            .send(&message)
            .map(|_response| ())
            .map_err(|error| {
                // lettre's errors carry the server's answer or the I/O error, never the
                // credentials; a server's answer may name the recipient
                // (`550 5.1.1 <bob@example.com>: Recipient address rejected`), which the log
                // and the outbox row must not keep.
                let text = format!("{}: {}", self.server, without_addresses(&error.to_string()));
                if error.is_permanent() {
                    MailError::Permanent(text)
                } else {
                    MailError::Transient(text)
                }
            })
    }
}

/// `text` with every word that holds an `@` replaced by `<address>`.
fn without_addresses(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            if word.contains('@') {
                "<address>"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_answer_loses_the_addresses_it_names() {
        assert_eq!(
            without_addresses(
                "permanent error (550): 5.1.1 <bob@example.com>: Recipient address rejected"
            ),
            "permanent error (550): 5.1.1 <address> Recipient address rejected"
        );
        assert_eq!(
            without_addresses("connection refused"),
            "connection refused"
        );
    }

    fn settings() -> SmtpSettings {
        SmtpSettings {
            host: "localhost".to_owned(),
            port: 25,
            username: Some("user".to_owned()),
            password: Some(SecretString::from("hunter2-secret")),
            use_tls: false,
            use_ssl: false,
            timeout: Duration::from_secs(10),
            from: "auth-server <noreply@localhost>".to_owned(),
            extra_root_certificate: None,
        }
    }

    #[test]
    fn tls_and_ssl_together_are_refused() {
        let both = SmtpSettings {
            use_tls: true,
            use_ssl: true,
            ..settings()
        };
        assert!(matches!(
            SmtpMailer::new(both),
            Err(MailConfigError::TlsAndSsl)
        ));
    }

    #[test]
    fn a_bad_root_certificate_is_refused() {
        let bad = SmtpSettings {
            use_tls: true,
            extra_root_certificate: Some(b"not a certificate".to_vec()),
            ..settings()
        };
        assert!(matches!(
            SmtpMailer::new(bad),
            Err(MailConfigError::RootCertificate(_))
        ));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let mailer = SmtpMailer::new(settings()).expect("valid settings");
        let shown = format!("{mailer:?} {:?}", settings());
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("localhost:25"), "{shown}");
    }
}
