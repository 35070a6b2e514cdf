//! The file mailer against the real file system.

mod support;

use std::fs;
use std::path::PathBuf;

use application::ports::Mailer as _;
use mail::FileMailer;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("auth-mail-test-{}", uuid::Uuid::new_v4()));
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn files_in(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .expect("readable directory")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn each_message_becomes_one_complete_parsable_eml_file() {
    let temp = TempDir::new();
    // Missing, and nested: the mailer creates it.
    let dir = temp.0.join("outbox").join("mail");
    let mailer = FileMailer::new(&dir, support::FROM).expect("mailer");
    let email = support::reset_email();
    mailer.send(&email).expect("written");
    mailer.send(&email).expect("written");

    let files = files_in(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let name = file
            .file_name()
            .and_then(|name| name.to_str())
            .expect("name");
        // <YYYYmmddTHHMMSS.ffffffZ>-<16 hex>.eml, and nothing left over from writing.
        let (stamp, rest) = name.split_once('-').expect("a dash");
        assert_eq!(stamp.len(), "20261201T120000.123456Z".len(), "{name}");
        let random = rest.strip_suffix(".eml").expect(".eml");
        assert_eq!(random.len(), 16, "{name}");
        assert!(
            random.bytes().all(|byte| byte.is_ascii_hexdigit()),
            "{name}"
        );
        support::assert_is_reset_email(&fs::read(file).expect("readable"), &email);
    }
}

#[test]
fn a_from_that_is_no_address_is_refused() {
    let temp = TempDir::new();
    assert!(FileMailer::new(&temp.0, "not an address").is_err());
}
