//! Opening hours: OpenStreetMap `opening_hours` expressions evaluated in Asia/Shanghai
//! against China's own holiday calendar.
//!
//! The `opening-hours` crate parses and evaluates the expressions. Its bundled China
//! holidays miss the multi-day holidays and the make-up working days (调休), so we
//! give it our dated calendar (`geodata/holidays_cn.json`) instead:
//! - on a holiday, `PH` rules apply (e.g. `Mo-Fr 08:00-20:00; PH off` is closed);
//! - on a make-up working day (a Saturday or Sunday worked in exchange for a holiday),
//!   a facility keeps the hours of the adjacent working day (Saturday → Friday,
//!   Sunday → Monday), evaluated without holidays.
//!
//! Many facilities share a schedule (`24/7` above all), so schedules are interned:
//! a facility holds a [`HoursId`], and each distinct schedule is evaluated once per
//! minute (opening hours change on whole minutes), whatever the number of queries.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use compact_calendar::CompactCalendar;
use opening_hours::RuleKind;
use opening_hours::{Context, ContextHolidays, OpeningHours};
use serde::Deserialize;

/// The calendar bundled into the binary; a data directory may carry a newer one.
pub const BUNDLED_CALENDAR: &str = include_str!("../../geodata/holidays_cn.json");

/// China's public holidays and make-up working days.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
struct CalendarFile {
    holidays: Vec<NaiveDate>,
    makeup_workdays: Vec<NaiveDate>,
}

impl Calendar {
    /// Parses the `holidays_cn.json` format (see `geodata/README.md`).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: CalendarFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let holidays: BTreeSet<_> = file.holidays.into_iter().collect();
        let makeup_workdays: BTreeSet<_> = file.makeup_workdays.into_iter().collect();
        if let Some(day) = holidays.intersection(&makeup_workdays).next() {
            return Err(format!("{day} is both a holiday and a make-up working day"));
        }
        Ok(Calendar {
            holidays,
            makeup_workdays,
        })
    }

    /// The calendar compiled into the binary.
    pub fn bundled() -> Self {
        // The bundled file is checked by a unit test, so this cannot fail at run time;
        // should it ever, evaluating without holidays is the safe fallback.
        Self::from_json(BUNDLED_CALENDAR).unwrap_or_default()
    }

    /// Whether `day` is a public holiday.
    pub fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays.contains(&day)
    }

    /// Whether `day` is a weekend day worked in exchange for a holiday.
    pub fn is_makeup_workday(&self, day: NaiveDate) -> bool {
        self.makeup_workdays.contains(&day)
    }

    fn context_holidays(&self) -> ContextHolidays {
        let mut public = CompactCalendar::default();
        for day in &self.holidays {
            public.insert(*day);
        }
        ContextHolidays::new(Arc::new(public), Arc::default())
    }
}

/// A handle on one distinct opening-hours expression in a [`Schedules`] table.
/// Holds the position plus one, so `Option<HoursId>` is four bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HoursId(NonZeroU32);

impl HoursId {
    /// Position in the table (for per-query caches).
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// The handle at position `i` (the caller checks it is in its table's range,
    /// which holds fewer than `u32::MAX` entries).
    pub(crate) fn from_index(i: usize) -> Self {
        HoursId(NonZeroU32::MIN.saturating_add(i as u32))
    }
}

struct Schedule {
    text: Box<str>,
    with_holidays: OpeningHours,
    without_holidays: OpeningHours,
    always_open: bool,
    /// The last answer: `minute << 2 | state` (state 1 open, 2 closed, 3 unknown).
    /// Evaluating an expression costs microseconds and opening hours change on whole
    /// minutes, so every query of the same minute shares one evaluation, across threads.
    last: AtomicU64,
}

impl Clone for Schedule {
    fn clone(&self) -> Self {
        Schedule {
            text: self.text.clone(),
            with_holidays: self.with_holidays.clone(),
            without_holidays: self.without_holidays.clone(),
            always_open: self.always_open,
            last: AtomicU64::new(0),
        }
    }
}

/// The table of distinct opening-hours expressions of a dataset, with the calendar.
#[derive(Clone)]
pub struct Schedules {
    calendar: Calendar,
    entries: Vec<Schedule>,
    by_text: HashMap<Box<str>, HoursId>,
    holidays: ContextHolidays,
}

impl std::fmt::Debug for Schedules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedules")
            .field("distinct", &self.entries.len())
            .finish()
    }
}

impl Schedules {
    /// An empty table evaluating against `calendar`.
    pub fn new(calendar: Calendar) -> Self {
        let holidays = calendar.context_holidays();
        Schedules {
            calendar,
            entries: Vec::new(),
            by_text: HashMap::new(),
            holidays,
        }
    }

    /// Parses `text` (once per distinct expression) and returns its handle.
    pub fn intern(&mut self, text: &str) -> Result<HoursId, String> {
        if let Some(id) = self.by_text.get(text) {
            return Ok(*id);
        }
        if self.entries.len() >= u32::MAX as usize - 1 {
            return Err("more distinct opening_hours expressions than a table holds".into());
        }
        let parsed = text.parse::<OpeningHours>().map_err(|e| {
            let why = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            format!("cannot parse opening_hours '{text}': {why}")
        })?;
        let id = HoursId::from_index(self.entries.len());
        self.entries.push(Schedule {
            text: text.into(),
            with_holidays: parsed
                .clone()
                .with_context(Context::default().with_holidays(self.holidays.clone())),
            without_holidays: parsed,
            always_open: text.trim() == "24/7",
            last: AtomicU64::new(0),
        });
        self.by_text.insert(text.into(), id);
        Ok(id)
    }

    /// The expression as written in the data.
    pub fn text(&self, id: HoursId) -> &str {
        &self.entries[id.index()].text
    }

    /// How many distinct expressions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the schedule is open at `at`: `Some(true)` open, `Some(false)` closed,
    /// `None` when the expression itself says "unknown".
    pub fn is_open(&self, id: HoursId, at: DateTime<Utc>) -> Option<bool> {
        let s = &self.entries[id.index()];
        if s.always_open {
            return Some(true);
        }
        let minute = (at.timestamp().div_euclid(60) as u64) << 2;
        let last = s.last.load(Relaxed);
        let state = if last & !3 == minute && last & 3 != 0 {
            last & 3
        } else {
            let state = self.evaluate(s, at);
            s.last.store(minute | state, Relaxed);
            state
        };
        match state {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }

    /// Evaluates a schedule at `at`: 1 open, 2 closed, 3 unknown.
    fn evaluate(&self, s: &Schedule, at: DateTime<Utc>) -> u64 {
        let local = at.with_timezone(&chrono_tz::Asia::Shanghai).naive_local();
        let day = local.date();
        let (oh, when) = if self.calendar.is_makeup_workday(day) {
            let worked_as = match day.weekday() {
                Weekday::Sat => day.checked_sub_days(Days::new(1)),
                Weekday::Sun => day.checked_add_days(Days::new(1)),
                _ => Some(day),
            }
            .unwrap_or(day);
            (&s.without_holidays, worked_as.and_time(local.time()))
        } else {
            (&s.with_holidays, local)
        };
        match oh.state(when).0 {
            RuleKind::Open => 1,
            RuleKind::Closed => 2,
            RuleKind::Unknown => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shanghai(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .map(|t| t.with_timezone(&Utc))
            .expect("valid local time")
    }

    fn table() -> (Schedules, HoursId) {
        let mut s = Schedules::new(Calendar::bundled());
        let id = s.intern("Mo-Fr 08:00-20:00; PH off").unwrap();
        (s, id)
    }

    #[test]
    fn bundled_calendar_parses() {
        let c = Calendar::from_json(BUNDLED_CALENDAR).unwrap();
        assert!(c.is_holiday(NaiveDate::from_ymd_opt(2026, 10, 7).unwrap()));
        assert!(c.is_makeup_workday(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()));
    }

    #[test]
    fn evaluates_in_shanghai_time() {
        let (s, id) = table();
        // Monday 2026-11-23 09:00 in Shanghai is 01:00 UTC: open.
        assert_eq!(s.is_open(id, shanghai(2026, 11, 23, 9, 0)), Some(true));
        // 21:00 Shanghai: closed.
        assert_eq!(s.is_open(id, shanghai(2026, 11, 23, 21, 0)), Some(false));
    }

    #[test]
    fn multi_day_holiday_closes_weekday_hours() {
        let (s, id) = table();
        // Tuesday 2026-10-06 is inside the National Day holiday.
        assert_eq!(s.is_open(id, shanghai(2026, 10, 6, 10, 0)), Some(false));
        // Thursday 2026-10-08 is a normal working day again.
        assert_eq!(s.is_open(id, shanghai(2026, 10, 8, 10, 0)), Some(true));
    }

    #[test]
    fn makeup_saturday_opens_weekday_hours() {
        let (s, id) = table();
        // Saturday 2026-10-10 is worked (调休): weekday hours apply.
        assert_eq!(s.is_open(id, shanghai(2026, 10, 10, 10, 0)), Some(true));
        // An ordinary Saturday stays closed.
        assert_eq!(s.is_open(id, shanghai(2026, 10, 17, 10, 0)), Some(false));
    }

    #[test]
    fn cached_minute_follows_the_clock() {
        let (s, id) = table();
        // Alternate between open and closed minutes: the cache must never answer stale.
        for _ in 0..3 {
            assert_eq!(s.is_open(id, shanghai(2026, 11, 23, 19, 59)), Some(true));
            assert_eq!(s.is_open(id, shanghai(2026, 11, 23, 20, 0)), Some(false));
        }
        let copy = s.clone();
        assert_eq!(copy.is_open(id, shanghai(2026, 11, 23, 19, 59)), Some(true));
    }

    #[test]
    fn interning_and_errors() {
        let mut s = Schedules::new(Calendar::bundled());
        let a = s.intern("24/7").unwrap();
        assert_eq!(s.intern("24/7").unwrap(), a);
        assert_eq!(s.len(), 1);
        assert!(s.intern("Mo-Fr 25:00-26:99 nonsense").is_err());
        assert_eq!(s.is_open(a, shanghai(2026, 1, 1, 3, 0)), Some(true));
    }
}
