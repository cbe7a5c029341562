//! One line of a stream: an event in the streaming API's envelope, a
//! heartbeat, or something leadgen cannot use.
//!
//! The envelope (Companies House's streaming guide, "Getting started"):
//! `{"resource_kind", "resource_uri", "resource_id", "data": {...},
//! "event": {"timepoint", "published_at", "type", "fields_changed"}}`.
//! `data` is the REST resource and is absent from `deleted` events; leadgen
//! needs only the company the event is about, taken from `resource_uri`
//! (officer and PSC data do not carry the company number).

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::company_number::CompanyNumber;
use crate::stream_kind::Stream;

/// What a line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A blank line: the stream is alive and has nothing more to send now.
    Heartbeat,
    Event(Event),
    /// An event leadgen skips, with why; its timepoint (when it had one)
    /// still counts as processed.
    Skipped {
        timepoint: Option<u64>,
        reason: String,
    },
}

/// An event about a company. Serialised, it is the change line `leadgen
/// stream` writes for a company the cache knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(rename = "company_number")]
    pub company: String,
    /// The stream it came on (its path).
    pub stream: &'static str,
    pub resource_kind: String,
    pub resource_id: Option<String>,
    /// `changed` or `deleted`.
    pub event_type: String,
    pub fields_changed: Option<Vec<String>>,
    pub timepoint: u64,
    /// As sent (`2022-11-15T18:27:56`, no zone).
    pub published_at: Option<String>,
}

impl Event {
    /// When it was published, reading `published_at` as UTC (the guide
    /// shows no zone; UTC is an assumption).
    pub fn published(&self) -> Option<SystemTime> {
        self.published_at.as_deref().and_then(published)
    }
}

#[derive(Deserialize)]
struct Envelope {
    resource_kind: Option<String>,
    resource_uri: Option<String>,
    resource_id: Option<String>,
    event: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    timepoint: Option<serde_json::Value>,
    published_at: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    fields_changed: Option<Vec<String>>,
}

/// Parse one line of `stream` (without its newline).
pub fn parse(stream: Stream, line: &[u8]) -> Line {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Line::Heartbeat;
    }
    let envelope: Envelope = match serde_json::from_slice(line) {
        Ok(e) => e,
        Err(e) => {
            return Line::Skipped {
                timepoint: None,
                reason: format!("not a JSON event ({e})"),
            };
        }
    };
    let meta = envelope.event;
    let timepoint = meta
        .as_ref()
        .and_then(|m| m.timepoint.as_ref())
        .and_then(|t| match t {
            serde_json::Value::Number(n) => n.as_u64(),
            // The guide types it "integer"; a quoted one is still usable.
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
    let skip = |reason: String| Line::Skipped { timepoint, reason };
    let Some(timepoint) = timepoint else {
        return skip("no event.timepoint".into());
    };
    let kind = envelope.resource_kind.unwrap_or_default();
    if !stream.knows_kind(&kind) {
        return skip(format!(
            "resource_kind {kind:?} is not one the {stream} stream sends"
        ));
    }
    let uri = envelope.resource_uri.unwrap_or_default();
    let Some(raw) = uri
        .strip_prefix("/company/")
        .map(|rest| rest.split(['/', '?']).next().unwrap_or_default())
    else {
        return skip(format!("resource_uri {uri:?} is not under /company/"));
    };
    let company = match CompanyNumber::parse(raw) {
        Ok(n) if n.as_str() == raw => n.as_str().to_owned(),
        Ok(_) => {
            return skip(format!(
                "{raw:?} in resource_uri is not an 8-character company number"
            ));
        }
        Err(e) => return skip(format!("resource_uri {uri:?}: {e}")),
    };
    let meta = meta.unwrap_or(Meta {
        timepoint: None,
        published_at: None,
        kind: None,
        fields_changed: None,
    });
    Line::Event(Event {
        company,
        stream: stream.path(),
        resource_kind: kind,
        resource_id: envelope.resource_id,
        event_type: meta.kind.unwrap_or_else(|| "changed".into()),
        fields_changed: meta.fields_changed,
        timepoint,
        published_at: meta.published_at,
    })
}

/// `2022-11-15T18:27:56` (or with a zone or fraction) as a time, read as UTC.
pub fn published(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (date, time) = text.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.trim_end_matches('Z');
    let time = time.split(['+']).next()?;
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next().unwrap_or("0").parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec >= 61.0 {
        return None;
    }
    let days = days_from_civil(y, m, day);
    let secs = days * 86_400 + h * 3600 + min * 60;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_secs_f64(sec))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The officers sample of mrbrianevans/ch-guide docs/streams/officers.md.
    const OFFICER: &str = r#"{"resource_kind":"company-officers","resource_uri":"/company/11787956/appointments/iKuQLdnRcqfBN9vTpEIJqgVsT7A","resource_id":"iKuQLdnRcqfBN9vTpEIJqgVsT7A","data":{"appointed_on":"2019-01-25","links":{"self":"/company/11787956/appointments/iKuQLdnRcqfBN9vTpEIJqgVsT7A"},"name":"DUKE, Michael","officer_role":"director","resigned_on":"2019-01-25"},"event":{"timepoint":7802811,"published_at":"2022-11-15T18:27:56","type":"changed"}}"#;

    #[test]
    fn the_recorded_officer_event_is_about_its_company() {
        let Line::Event(e) = parse(Stream::Officers, OFFICER.as_bytes()) else {
            panic!("not an event");
        };
        assert_eq!(e.company, "11787956");
        assert_eq!(e.timepoint, 7_802_811);
        assert_eq!(e.event_type, "changed");
        assert_eq!(
            e.published(),
            humantime::parse_rfc3339("2022-11-15T18:27:56Z").ok()
        );
    }

    #[test]
    fn bad_lines_are_skipped_with_their_timepoint_when_they_have_one() {
        assert_eq!(parse(Stream::Officers, b""), Line::Heartbeat);
        assert_eq!(parse(Stream::Officers, b"  \r"), Line::Heartbeat);
        assert!(matches!(
            parse(Stream::Officers, b"{\"resource_kind\":"),
            Line::Skipped {
                timepoint: None,
                ..
            }
        ));
        // An officers event read from the companies stream.
        assert!(matches!(
            parse(Stream::Companies, OFFICER.as_bytes()),
            Line::Skipped {
                timepoint: Some(7_802_811),
                ..
            }
        ));
        let bad_number = OFFICER.replace("/company/11787956/", "/company/1178795/");
        let Line::Skipped { timepoint, reason } = parse(Stream::Officers, bad_number.as_bytes())
        else {
            panic!("accepted a 7-character number");
        };
        assert_eq!(timepoint, Some(7_802_811));
        assert!(reason.contains("1178795"), "{reason}");
        let unknown = OFFICER.replace("company-officers", "company-charges");
        assert!(matches!(
            parse(Stream::Officers, unknown.as_bytes()),
            Line::Skipped { .. }
        ));
        let psc = r#"{"resource_kind":"company-psc-individual","resource_uri":"/company/14101021/persons-with-significant-control/individual/VLR98","resource_id":"VLR98","event":{"timepoint":4989097,"published_at":"2022-11-15T18:58:33","type":"deleted"}}"#;
        let Line::Event(e) = parse(Stream::Psc, psc.as_bytes()) else {
            panic!("a deleted PSC event without data");
        };
        assert_eq!(
            (e.company.as_str(), e.event_type.as_str()),
            ("14101021", "deleted")
        );
    }

    #[test]
    fn published_times_read_as_utc() {
        let t = |s| published(s).and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        assert_eq!(t("1970-01-01T00:00:00"), Some(Duration::ZERO));
        assert_eq!(
            t("2000-03-01T00:00:01Z"),
            Some(Duration::from_secs(951_868_801))
        );
        assert_eq!(t("not a time"), None);
        assert_eq!(t("2022-13-01T00:00:00"), None);
    }
}
