//! The cutover from the Django system: its users, profiles and simplejwt tokens, imported so that
//! nobody has to sign in again.
//!
//! Everything is read and checked before anything is written: under [`OnConflict::Fail`] a
//! single problem means no write at all, and the error lists every problem. Writes then go in
//! batches, each one transaction that leaves alone what is already there, so an interrupted run
//! is finished by running it again, and a second run writes nothing.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{Email, PasswordHash, PersonName, Phone, User, UserId, Username};
use thiserror::Error;

use crate::ports::{
    Clock, DjangoData, DjangoProfile, DjangoSource, DjangoSourceError, DjangoToken, DjangoUser,
    ImportTarget, ImportedProfile, ImportedToken, RepositoryError, StoredState,
};

/// Users (with their profiles) per transaction.
pub const USER_BATCH: usize = 1_000;
/// Tokens per transaction.
pub const TOKEN_BATCH: usize = 5_000;
/// The longest stored password hash the `users.password` column holds.
const PASSWORD_MAX_CHARS: usize = 255;
/// The longest `jti` the `refresh_tokens.jti` column holds (simplejwt's own limit).
const JTI_MAX_CHARS: usize = 255;

/// What to do with an account that cannot be imported as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnConflict {
    /// Write nothing, and list every problem.
    #[default]
    Fail,
    /// Leave the account out (the later one, for two with one address), and list it.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportOptions {
    pub on_conflict: OnConflict,
    /// Check and count everything, write nothing.
    pub dry_run: bool,
}

/// Why a record is left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Another account (`holder`, a Django user imported before it or one of this system's)
    /// has the address, ignoring case.
    EmailTaken { holder: String },
    /// One of this system's users, with another id, has the username.
    UsernameTaken,
    /// One of this system's users, `holder`, has the id.
    IdTaken { holder: String },
    /// A value this system cannot store or read back: the field and what is wrong.
    Invalid {
        field: &'static str,
        problem: String,
    },
    /// The profile's user is left out.
    UserLeftOut,
    /// A profile of another user here has the profile's id.
    ProfileIdTaken { id: i64 },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmailTaken { holder } => {
                write!(
                    f,
                    "its e-mail address is already {holder:?}'s (ignoring case)"
                )
            }
            Self::UsernameTaken => f.write_str("a user with another id has its username here"),
            Self::IdTaken { holder } => write!(f, "its id belongs to {holder:?} here"),
            Self::Invalid { field, problem } => write!(f, "invalid {field}: {problem}"),
            Self::UserLeftOut => f.write_str("its user is left out"),
            Self::ProfileIdTaken { id } => {
                write!(f, "another user's profile has its id {id} here")
            }
        }
    }
}

/// Which kind of record a [`LeftOut`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    User,
    Profile,
}

/// A record that is not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub record: Record,
    /// The Django user's id (the profile's user, for a profile).
    pub user_id: i64,
    pub username: String,
    pub reason: Reason,
}

impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let record = match self.record {
            Record::User => "user",
            Record::Profile => "profile of user",
        };
        write!(
            f,
            "{record} {:?} (id {}): {}",
            self.username, self.user_id, self.reason
        )
    }
}

/// How many records of one kind were imported and how many were there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub imported: u64,
    pub present: u64,
}

/// What happened to the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCounts {
    /// Recorded now; `blacklisted` of them revoked, as Django had them.
    pub imported: u64,
    pub blacklisted: u64,
    /// Recorded before, blacklisted in Django since: revoked now.
    pub revoked: u64,
    pub present: u64,
    /// Not recorded: they can no longer be used anyway.
    pub expired: u64,
    /// Not recorded: simplejwt kept them after their user was deleted.
    pub without_user: u64,
    /// Not recorded: their user is left out.
    pub of_left_out_users: u64,
}

/// What the import did, or would do on a dry run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub dry_run: bool,
    pub profile_table: Option<String>,
    pub users: Counts,
    pub profiles: Counts,
    pub tokens: TokenCounts,
    pub left_out: Vec<LeftOut>,
}

#[derive(Debug, Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] DjangoSourceError),
    #[error(transparent)]
    Repository(#[from] RepositoryError),
    /// Under [`OnConflict::Fail`]: nothing was written.
    #[error("{} record(s) cannot be imported as they are; nothing was written", .0.len())]
    Conflicts(Vec<LeftOut>),
}

/// The stages an import goes through, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Users,
    Tokens,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Tokens => "tokens",
        }
    }
}

/// Told how far the writes are; the command line draws a bar or prints lines.
pub trait ImportProgress {
    fn start(&self, stage: Stage, total: u64);
    fn advance(&self, stage: Stage, done: u64);
    fn finish(&self, stage: Stage);
}

/// A progress display that shows nothing.
pub struct NoProgress;

impl ImportProgress for NoProgress {
    fn start(&self, _: Stage, _: u64) {}
    fn advance(&self, _: Stage, _: u64) {}
    fn finish(&self, _: Stage) {}
}

#[derive(Clone)]
pub struct ImportDjango {
    pub source: Arc<dyn DjangoSource>,
    pub target: Arc<dyn ImportTarget>,
    pub clock: Arc<dyn Clock>,
}

/// The checked plan: what is written, and what was counted on the way.
struct Plan {
    users: Vec<User>,
    profiles: Vec<ImportedProfile>,
    tokens: Vec<ImportedToken>,
    revocations: Vec<(String, DateTime<Utc>)>,
    report: ImportReport,
}

impl ImportDjango {
    /// # Errors
    /// `Conflicts` under [`OnConflict::Fail`] when any record cannot be imported (nothing is
    /// written); `Source` when the Django database cannot be read; `Repository` when a write
    /// fails (the batches before it stay, and a new run goes on from there).
    pub fn execute(
        &self,
        options: ImportOptions,
        progress: &dyn ImportProgress,
    ) -> Result<ImportReport, ImportError> {
        let data = self.source.read()?;
        let stored = self.target.stored()?;
        let mut plan = plan(data, &stored, self.clock.now());
        plan.report.dry_run = options.dry_run;
        if options.on_conflict == OnConflict::Fail && !plan.report.left_out.is_empty() {
            // A profile left out with its user follows from the user's problem.
            let mut problems = plan.report.left_out;
            problems.retain(|left| left.reason != Reason::UserLeftOut);
            return Err(ImportError::Conflicts(problems));
        }
        if !options.dry_run {
            self.write(&plan, progress)?;
        }
        Ok(plan.report)
    }

    fn write(&self, plan: &Plan, progress: &dyn ImportProgress) -> Result<(), ImportError> {
        let mut profiles: HashMap<UserId, Vec<ImportedProfile>> = HashMap::new();
        for profile in &plan.profiles {
            profiles
                .entry(profile.user_id)
                .or_default()
                .push(profile.clone());
        }
        progress.start(Stage::Users, plan.users.len() as u64);
        let mut done = 0;
        for batch in plan.users.chunks(USER_BATCH) {
            let theirs: Vec<ImportedProfile> = batch
                .iter()
                .filter_map(|user| profiles.remove(&user.id))
                .flatten()
                .collect();
            self.target.write_users(batch, &theirs)?;
            done += batch.len() as u64;
            progress.advance(Stage::Users, done);
        }
        // Profiles of users imported by an earlier run that stopped between the two.
        let rest: Vec<ImportedProfile> = profiles.into_values().flatten().collect();
        for batch in rest.chunks(USER_BATCH) {
            self.target.write_users(&[], batch)?;
        }
        progress.finish(Stage::Users);

        progress.start(Stage::Tokens, plan.tokens.len() as u64);
        let mut done = 0;
        for batch in plan.tokens.chunks(TOKEN_BATCH) {
            self.target.write_tokens(batch, &[])?;
            done += batch.len() as u64;
            progress.advance(Stage::Tokens, done);
        }
        for batch in plan.revocations.chunks(TOKEN_BATCH) {
            self.target.write_tokens(&[], batch)?;
        }
        progress.finish(Stage::Tokens);
        Ok(self.target.finish()?)
    }
}

/// Decides, for every record, whether it is written, is there already, or is left out (and why).
fn plan(data: DjangoData, stored: &StoredState, now: DateTime<Utc>) -> Plan {
    let mut report = ImportReport {
        profile_table: data.profile_table,
        ..ImportReport::default()
    };
    let by_id: HashMap<i64, &str> = stored
        .accounts
        .iter()
        .map(|account| (account.id.get(), account.username.as_str()))
        .collect();
    let usernames: HashSet<&str> = stored
        .accounts
        .iter()
        .map(|account| account.username.as_str())
        .collect();
    // Lower-cased address → who holds it. `to_lowercase` folds at least what either database's
    // `lower()` folds, so an address let through here is one the unique index accepts.
    let mut addresses: HashMap<String, String> = stored
        .accounts
        .iter()
        .filter(|account| !account.email.is_empty())
        .map(|account| (account.email.to_lowercase(), account.username.clone()))
        .collect();

    let mut users = Vec::new();
    // Django id → username, for the users that are (or will be) here.
    let mut included: HashMap<i64, String> = HashMap::new();
    let mut sorted = data.users;
    sorted.sort_by_key(|user| user.id);
    let django_usernames: HashMap<i64, String> = sorted
        .iter()
        .map(|user| (user.id, user.username.clone()))
        .collect();
    for django in sorted {
        let left_out = |reason| LeftOut {
            record: Record::User,
            user_id: django.id,
            username: django.username.clone(),
            reason,
        };
        if let Some(&holder) = by_id.get(&django.id) {
            if holder == django.username {
                report.users.present += 1;
                included.insert(django.id, django.username.clone());
            } else {
                report.left_out.push(left_out(Reason::IdTaken {
                    holder: holder.to_owned(),
                }));
            }
            continue;
        }
        if usernames.contains(django.username.as_str()) {
            report.left_out.push(left_out(Reason::UsernameTaken));
            continue;
        }
        let user = match to_user(&django) {
            Ok(user) => user,
            Err(reason) => {
                report.left_out.push(left_out(reason));
                continue;
            }
        };
        if !user.email.is_blank() {
            let key = user.email.as_str().to_lowercase();
            if let Some(holder) = addresses.get(&key) {
                report.left_out.push(left_out(Reason::EmailTaken {
                    holder: holder.clone(),
                }));
                continue;
            }
            addresses.insert(key, django.username.clone());
        }
        included.insert(django.id, django.username.clone());
        users.push(user);
    }
    report.users.imported = users.len() as u64;

    let profile_owners: HashSet<i64> = stored.profiles.iter().map(|(_, user)| user.get()).collect();
    let profile_ids: HashSet<i64> = stored.profiles.iter().map(|(id, _)| *id).collect();
    let mut profiles = Vec::new();
    for django in data.profiles {
        let Some(username) = included.get(&django.user_id) else {
            report.left_out.push(LeftOut {
                record: Record::Profile,
                user_id: django.user_id,
                username: django_usernames
                    .get(&django.user_id)
                    .cloned()
                    .unwrap_or_default(),
                reason: Reason::UserLeftOut,
            });
            continue;
        };
        if profile_owners.contains(&django.user_id) {
            report.profiles.present += 1;
            continue;
        }
        if profile_ids.contains(&django.id) {
            report.left_out.push(LeftOut {
                record: Record::Profile,
                user_id: django.user_id,
                username: username.clone(),
                reason: Reason::ProfileIdTaken { id: django.id },
            });
            continue;
        }
        match to_profile(&django) {
            Ok(profile) => profiles.push(profile),
            Err(reason) => report.left_out.push(LeftOut {
                record: Record::Profile,
                user_id: django.user_id,
                username: username.clone(),
                reason,
            }),
        }
    }
    report.profiles.imported = profiles.len() as u64;

    let recorded: HashMap<&str, bool> = stored
        .tokens
        .iter()
        .map(|(jti, revoked)| (jti.as_str(), *revoked))
        .collect();
    let mut tokens = Vec::new();
    let mut revocations = Vec::new();
    for django in data.tokens {
        let Some(user_id) = django.user_id else {
            report.tokens.without_user += 1;
            continue;
        };
        if !included.contains_key(&user_id) {
            report.tokens.of_left_out_users += 1;
            continue;
        }
        if django.expires_at <= now || django.jti.chars().count() > JTI_MAX_CHARS {
            report.tokens.expired += 1;
            continue;
        }
        match recorded.get(django.jti.as_str()) {
            Some(&revoked) => match django.blacklisted_at {
                Some(at) if !revoked => {
                    report.tokens.revoked += 1;
                    revocations.push((django.jti, at));
                }
                _ => report.tokens.present += 1,
            },
            None => tokens.push(to_token(django, UserId::new(user_id))),
        }
    }
    report.tokens.imported = tokens.len() as u64;
    report.tokens.blacklisted = tokens.iter().filter(|t| t.revoked_at.is_some()).count() as u64;
    Plan {
        users,
        profiles,
        tokens,
        revocations,
        report,
    }
}

/// The user as this system stores it, checked by the same rules it is read back with.
fn to_user(django: &DjangoUser) -> Result<User, Reason> {
    let invalid = |field, problem: String| Reason::Invalid { field, problem };
    let username = Username::parse(&django.username)
        .map_err(|problems| invalid("username", describe(&problems)))?;
    let email = if django.email.is_empty() {
        Email::blank()
    } else {
        Email::parse(&django.email).map_err(|problems| invalid("email", describe(&problems)))?
    };
    let first_name = PersonName::parse(&django.first_name)
        .map_err(|problem| invalid("first_name", problem.to_string()))?;
    let last_name = PersonName::parse(&django.last_name)
        .map_err(|problem| invalid("last_name", problem.to_string()))?;
    if django.password.chars().count() > PASSWORD_MAX_CHARS {
        return Err(invalid(
            "password",
            format!("the hash is longer than {PASSWORD_MAX_CHARS} characters"),
        ));
    }
    Ok(User {
        id: UserId::new(django.id),
        username,
        email,
        password_hash: PasswordHash::new(django.password.clone()),
        first_name,
        last_name,
        is_active: django.is_active,
        is_staff: django.is_staff,
        is_superuser: django.is_superuser,
        date_joined: django.date_joined,
        last_login: django.last_login,
        // Nothing in the original system proved an address.
        email_verified: false,
        pending_email: None,
    })
}

fn to_profile(django: &DjangoProfile) -> Result<ImportedProfile, Reason> {
    let phone = Phone::parse(&django.phone).map_err(|problem| Reason::Invalid {
        field: "phone",
        problem: problem.to_string(),
    })?;
    Ok(ImportedProfile {
        id: django.id,
        user_id: UserId::new(django.user_id),
        phone,
        created_at: django.created_at,
        updated_at: django.updated_at,
    })
}

fn to_token(django: DjangoToken, user_id: UserId) -> ImportedToken {
    ImportedToken {
        // simplejwt leaves `created_at` empty only for rows made by hand; the expiry is then the
        // closest time known.
        issued_at: django.created_at.unwrap_or(django.expires_at),
        jti: django.jti,
        user_id,
        expires_at: django.expires_at,
        revoked_at: django.blacklisted_at,
    }
}

fn describe<E: fmt::Display>(problems: &[E]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
