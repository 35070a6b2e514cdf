//! `auth-server audit`: the audit log, as a table or as JSON lines.

use std::io::Write;

use anyhow::{Context, bail};
use chrono::{SecondsFormat, TimeDelta};
use domain::AuditEvent;
use serde_json::json;

/// A duration as `auth-server audit --since` takes it: one or more `<number><unit>` groups,
/// with the units `s`, `m`, `h`, `d` and `w` (`90m`, `24h`, `7d`, `1h30m`).
pub fn parse_duration(raw: &str) -> anyhow::Result<TimeDelta> {
    let invalid = || format!("{raw:?} is not a duration such as 30m, 24h, 7d or 1h30m");
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    let mut groups = 0;
    for c in raw.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let seconds_per: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => bail!(invalid()),
        };
        let count: i64 = digits.parse().with_context(invalid)?;
        let group = count
            .checked_mul(seconds_per)
            .and_then(TimeDelta::try_seconds)
            .with_context(invalid)?;
        total = total.checked_add(&group).with_context(invalid)?;
        digits.clear();
        groups += 1;
    }
    if groups == 0 || !digits.is_empty() {
        bail!(invalid());
    }
    Ok(total)
}

/// One JSON object per line, every field of the event.
pub fn write_json(out: &mut impl Write, events: &[AuditEvent]) -> std::io::Result<()> {
    for event in events {
        let line = json!({
            "time": event.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            "event": event.kind.as_str(),
            "user_id": event.user_id.map(domain::UserId::get),
            "username": event.username,
            "ip_address": event.client.ip_address(),
            "user_agent": event.client.user_agent(),
            "request_id": event.client.request_id(),
            "session_id": event.session_id.as_ref().map(domain::SessionId::as_str),
            "detail": event.detail,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// A table: time, event, account, address, detail and user agent, one event per line.
pub fn write_table(out: &mut impl Write, events: &[AuditEvent]) -> std::io::Result<()> {
    if events.is_empty() {
        return writeln!(out, "No audit events.");
    }
    writeln!(
        out,
        "{:<27} {:<24} {:<24} {:<39} {:<20} USER AGENT",
        "TIME (UTC)", "EVENT", "USER", "ADDRESS", "DETAIL"
    )?;
    for event in events {
        let user = match (&event.username, event.user_id) {
            (Some(name), Some(id)) => format!("{name} (#{id})"),
            (Some(name), None) => name.clone(),
            (None, Some(id)) => format!("#{id}"),
            (None, None) => "-".into(),
        };
        let or_dash = |text: &str| {
            if text.is_empty() {
                "-".to_owned()
            } else {
                text.to_owned()
            }
        };
        let agent: String = event.client.user_agent().chars().take(60).collect();
        writeln!(
            out,
            "{:<27} {:<24} {:<24} {:<39} {:<20} {}",
            event.at.format("%Y-%m-%d %H:%M:%S%.6f"),
            event.kind.as_str(),
            user,
            or_dash(event.client.ip_address()),
            or_dash(event.detail.as_deref().unwrap_or_default()),
            or_dash(&agent),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_groups_of_a_number_and_a_unit() {
        for (raw, seconds) in [
            ("90s", 90),
            ("30m", 1_800),
            ("24h", 86_400),
            ("7d", 604_800),
            ("2w", 1_209_600),
            ("1h30m", 5_400),
        ] {
            assert_eq!(parse_duration(raw).expect(raw), TimeDelta::seconds(seconds));
        }
        for raw in ["", "h", "10", "10x", "-5m", "1.5h", "99999999999999999999d"] {
            assert!(parse_duration(raw).is_err(), "{raw:?}");
        }
    }
}
