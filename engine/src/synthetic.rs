//! Synthetic mixed traffic for benchmarks and load tests: several WABAs,
//! numbers, markets and message kinds, deterministic for a seed.

use chrono::{DateTime, Utc};

use crate::event::{Direction, Event, Features, Side, Source, TemplateCategory, WabaId};
use crate::phone::{parse_user, PhoneNumber};

/// The WABA profiles the generated traffic needs, as config TOML.
pub fn profiles_toml(wabas: usize) -> String {
    const SETUPS: [(&str, &str, &str); 4] = [
        ("USD", "UTC", "ID"),
        ("USD", "Asia/Jakarta", "ID"),
        ("EUR", "Europe/Berlin", "DE"),
        ("USD", "America/Sao_Paulo", "BR"),
    ];
    let mut out = String::new();
    for w in 0..wabas {
        let (currency, tz, country) = SETUPS[w % SETUPS.len()];
        out.push_str(&format!(
            "[waba.SW{w}]\ncurrency = \"{currency}\"\ntimezone = \"{tz}\"\nprimary_country = \"{country}\"\nauth_international_from = 2025-01-01\n\n[[waba.SW{w}.numbers]]\nnumber = \"+62215550{w:03}\"\ncoexistence_onboarded_at = 2026-01-01T00:00:00Z\n\n"
        ));
    }
    out
}

/// Recipient prefixes drawn from the shipped market map (30 markets).
const PREFIXES: [&str; 30] = [
    "62812", "91987", "55119", "52155", "57300", "20100", "23480", "92300", "96650", "27820", "97150", "60123",
    "90532", "44770", "49151", "33612", "39320", "34612", "31612", "7912", "54911", "56912", "51912", "97250", "1212",
    "1416", "1809", "25471", "8613", "4869",
];

/// A small deterministic generator (xorshift), so runs are repeatable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Generates `count` events over `wabas` WABAs, starting at `start`, one
/// event every `step_ms` per WABA, with `users` distinct users per market.
pub fn traffic(count: usize, wabas: usize, users: u64, start: DateTime<Utc>, seed: u64) -> Vec<Event> {
    traffic_iter(count, wabas, users, start, seed).collect()
}

/// [`traffic`], one event at a time.
pub fn traffic_iter(
    count: usize,
    wabas: usize,
    users: u64,
    start: DateTime<Utc>,
    seed: u64,
) -> impl Iterator<Item = Event> {
    let mut rng = Rng(seed.max(1));
    let wabas = wabas.max(1);
    let numbers: Vec<PhoneNumber> =
        (0..wabas).map(|w| PhoneNumber::parse(&format!("+62215550{w:03}")).expect("a valid number")).collect();
    (0..count).map(move |i| {
        let w = i % wabas;
        let prefix = PREFIXES[rng.below(PREFIXES.len() as u64) as usize];
        let digits = 12 - prefix.len().min(11);
        let user = format!("+{prefix}{:0digits$}", rng.below(users));
        let at = start + chrono::Duration::milliseconds((i / wabas) as i64 * 1_000);
        let roll = rng.below(100);
        let (direction, side, template_category) = match roll {
            0..30 => (Direction::Inbound, Side::Api, None),
            30..55 => (Direction::Outbound, Side::Api, None),
            55..65 => (Direction::Outbound, Side::Api, Some(TemplateCategory::Marketing)),
            65..80 => (Direction::Outbound, Side::Api, Some(TemplateCategory::Utility)),
            80..88 => (Direction::Outbound, Side::Api, Some(TemplateCategory::Authentication)),
            _ => (Direction::Outbound, Side::App, None),
        };
        Event {
            id: format!("wamid.S{seed}.{i}").into(),
            waba: WabaId(format!("SW{w}")),
            business_number: numbers[w].clone(),
            user: parse_user(&user).expect("generated numbers are valid"),
            direction,
            side,
            kind: if template_category.is_some() { "template" } else { "text" }.to_owned(),
            template_category,
            at,
            referral: direction == Direction::Inbound && rng.below(20) == 0,
            features: Features::default(),
            source: Source::Record,
        }
    })
}

/// One event as a normalized JSON line.
pub fn to_json_line(e: &Event) -> String {
    let mut v = serde_json::json!({
        "id": e.id,
        "waba": e.waba.0,
        "business_number": e.business_number.as_str(),
        "user": e.user.display(),
        "direction": e.direction,
        "type": e.kind,
        "timestamp": e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if e.direction == Direction::Outbound {
        v["side"] = serde_json::json!(e.side);
    }
    if let Some(c) = e.template_category {
        v["template_category"] = serde_json::json!(c);
    }
    if e.referral {
        v["referral"] = serde_json::json!({"source_type": "ad", "source_id": "1"});
    }
    v.to_string()
}
