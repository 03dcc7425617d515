//! Opening hours as staff write them in Chinese, to OpenStreetMap `opening_hours`.
//!
//! `周一至周五 9:00-18:00，周六 9:00-12:00，节假日休息` becomes
//! `Mo-Fr 09:00-18:00; Sa 09:00-12:00; PH off`. The text is cut into tokens (day
//! words, times, "all day", "closed", noise words such as 开放时间), the tokens into
//! rules (days + time spans), and the rules are written in OSM syntax. Anything the
//! tokenizer does not know makes the whole text "not understood": the caller keeps it
//! verbatim rather than guess. Text already in OSM syntax passes through.
//!
//! Days come first (`周一至周五 9:00-18:00`) or after the times
//! (`9:00-18:00（周一至周五）`); times may be `8:00`, `08：00`, `8点`, `8点半`,
//! `8时30分`, `8.30`, with 上午/下午/晚上 (`下午2:00-6:00` is 14:00-18:00); spans are
//! joined by `-`, `—`, `~`, `至` or `到`; split shifts by a space, comma, `、` or `；`.

use opening_hours::OpeningHours;

use super::text::halfwidth;

/// The OSM expression for `text`, validated by the `opening-hours` crate, or `None`
/// when the text is not understood (or what we made of it does not parse).
pub(crate) fn to_osm(text: &str) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    if let Some(osm) = chinese(trimmed)
        && osm.parse::<OpeningHours>().is_ok()
    {
        return Some(osm);
    }
    // Already OSM (`Mo-Fr 08:00-18:00`, `24/7`): no Chinese, a weekday, keyword or
    // `24/7` (bare times such as `8:00-6:00` were refused above, and parse as OSM),
    // and it parses.
    if trimmed.is_ascii()
        && trimmed.contains(|c: char| c.is_ascii_alphabetic() || c == '/')
        && trimmed.parse::<OpeningHours>().is_ok()
    {
        return Some(trimmed.to_owned());
    }
    None
}

/// Days of the week as bits (Monday = bit 0) plus public holidays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Days {
    week: u8,
    ph: bool,
}

const ALL_WEEK: u8 = 0x7f;
const MO_FR: u8 = 0x1f;
const SA_SU: u8 = 0x60;

impl Days {
    fn week(week: u8) -> Self {
        Days { week, ph: false }
    }
    fn union(self, other: Days) -> Days {
        Days {
            week: self.week | other.week,
            ph: self.ph || other.ph,
        }
    }
    /// `Mo-Fr`, `Sa-Su`, `Mo,We,Fr`, `Mo-Fr,PH`, `PH`.
    fn osm(self) -> String {
        const NAMES: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
        let mut parts: Vec<String> = Vec::new();
        let mut d = 0;
        while d < 7 {
            if self.week & (1 << d) == 0 {
                d += 1;
                continue;
            }
            let start = d;
            while d + 1 < 7 && self.week & (1 << (d + 1)) != 0 {
                d += 1;
            }
            parts.push(if start == d {
                NAMES[start].to_owned()
            } else {
                format!("{}-{}", NAMES[start], NAMES[d])
            });
            d += 1;
        }
        if self.ph {
            parts.push("PH".to_owned());
        }
        parts.join(",")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    Morning,
    Noon,
    Afternoon,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok {
    Days(Days),
    /// Minutes since midnight, whether it had a unit (`:`/点/时), and the 上午/下午
    /// in force.
    Time(u16, bool, Option<Period>),
    Dash,
    AllDay,
    Off,
    /// A separator that joins day lists (`、`, `及`, `和`).
    Conj,
    /// Any other separator (space, comma, semicolon, brackets).
    Sep,
}

enum Word {
    Tok(Tok),
    Period(Period),
    Noise,
}

/// Words, longest first where one starts another (the scanner takes the longest).
const WORDS: &[(&str, Word)] = &[
    ("节假日不休息", Word::Noise),
    ("节假日正常开放", Word::Noise),
    ("节假日照常开放", Word::Noise),
    ("节假日正常", Word::Noise),
    ("节假日照常", Word::Noise),
    ("节假日无休", Word::Noise),
    ("节假日不休", Word::Noise),
    (
        "国家法定节假日",
        Word::Tok(Tok::Days(Days { week: 0, ph: true })),
    ),
    (
        "法定节假日",
        Word::Tok(Tok::Days(Days { week: 0, ph: true })),
    ),
    ("法定假日", Word::Tok(Tok::Days(Days { week: 0, ph: true }))),
    ("节假日", Word::Tok(Tok::Days(Days { week: 0, ph: true }))),
    ("节日", Word::Tok(Tok::Days(Days { week: 0, ph: true }))),
    ("假日", Word::Tok(Tok::Days(Days { week: 0, ph: true }))),
    (
        "每天",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "每日",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "天天",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "全周",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "全年无休",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "全年",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "一周七天",
        Word::Tok(Tok::Days(Days {
            week: ALL_WEEK,
            ph: false,
        })),
    ),
    (
        "工作日",
        Word::Tok(Tok::Days(Days {
            week: MO_FR,
            ph: false,
        })),
    ),
    (
        "周末",
        Word::Tok(Tok::Days(Days {
            week: SA_SU,
            ph: false,
        })),
    ),
    (
        "双休日",
        Word::Tok(Tok::Days(Days {
            week: SA_SU,
            ph: false,
        })),
    ),
    ("7x24小时", Word::Tok(Tok::AllDay)),
    ("7×24小时", Word::Tok(Tok::AllDay)),
    ("7*24小时", Word::Tok(Tok::AllDay)),
    ("7x24h", Word::Tok(Tok::AllDay)),
    ("7×24h", Word::Tok(Tok::AllDay)),
    ("7*24h", Word::Tok(Tok::AllDay)),
    ("7x24", Word::Tok(Tok::AllDay)),
    ("7×24", Word::Tok(Tok::AllDay)),
    ("7*24", Word::Tok(Tok::AllDay)),
    ("二十四小时", Word::Tok(Tok::AllDay)),
    ("24小时", Word::Tok(Tok::AllDay)),
    ("24hrs", Word::Tok(Tok::AllDay)),
    ("24hr", Word::Tok(Tok::AllDay)),
    ("24h", Word::Tok(Tok::AllDay)),
    ("全天候", Word::Tok(Tok::AllDay)),
    ("全天", Word::Tok(Tok::AllDay)),
    ("不对外开放", Word::Tok(Tok::Off)),
    ("不开放", Word::Tok(Tok::Off)),
    ("不营业", Word::Tok(Tok::Off)),
    ("停止营业", Word::Tok(Tok::Off)),
    ("停止服务", Word::Tok(Tok::Off)),
    ("休息", Word::Tok(Tok::Off)),
    ("闭馆", Word::Tok(Tok::Off)),
    ("休馆", Word::Tok(Tok::Off)),
    ("闭园", Word::Tok(Tok::Off)),
    ("关闭", Word::Tok(Tok::Off)),
    ("歇业", Word::Tok(Tok::Off)),
    ("除外", Word::Tok(Tok::Off)),
    ("休", Word::Tok(Tok::Off)),
    ("以及", Word::Tok(Tok::Conj)),
    ("及", Word::Tok(Tok::Conj)),
    ("和", Word::Tok(Tok::Conj)),
    ("与", Word::Tok(Tok::Conj)),
    ("、", Word::Tok(Tok::Conj)),
    ("上午", Word::Period(Period::Morning)),
    ("早上", Word::Period(Period::Morning)),
    ("早晨", Word::Period(Period::Morning)),
    ("清晨", Word::Period(Period::Morning)),
    ("凌晨", Word::Period(Period::Morning)),
    ("早", Word::Period(Period::Morning)),
    ("中午", Word::Period(Period::Noon)),
    ("下午", Word::Period(Period::Afternoon)),
    ("晚上", Word::Period(Period::Afternoon)),
    ("晚间", Word::Period(Period::Afternoon)),
    ("傍晚", Word::Period(Period::Afternoon)),
    ("夜间", Word::Period(Period::Afternoon)),
    ("晚", Word::Period(Period::Afternoon)),
    ("开放时间", Word::Noise),
    ("服务时间", Word::Noise),
    ("营业时间", Word::Noise),
    ("办公时间", Word::Noise),
    ("工作时间", Word::Noise),
    ("时间", Word::Noise),
    ("时段", Word::Noise),
    ("对外开放", Word::Noise),
    ("开放", Word::Noise),
    ("营业", Word::Noise),
    ("服务", Word::Noise),
    ("照常", Word::Noise),
    ("正常", Word::Noise),
    ("次日", Word::Noise),
    ("均", Word::Noise),
    ("为", Word::Noise),
    ("是", Word::Noise),
    ("从", Word::Noise),
    ("起", Word::Noise),
    ("止", Word::Noise),
];

fn weekday(c: char) -> Option<u8> {
    Some(match c {
        '一' | '1' => 0,
        '二' | '2' => 1,
        '三' | '3' => 2,
        '四' | '4' => 3,
        '五' | '5' => 4,
        '六' | '6' => 5,
        '日' | '天' | '七' | '7' => 6,
        _ => return None,
    })
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '~' | '—' | '–' | '−' | '〜' | '─' | '至' | '到' | '﹣'
    )
}

/// Days `a` to `b` inclusive, wrapping past Sunday (`周五至周一`).
fn day_range(a: u8, b: u8) -> u8 {
    let mut bits = 0u8;
    let mut d = a;
    loop {
        bits |= 1 << d;
        if d == b {
            return bits;
        }
        d = (d + 1) % 7;
    }
}

struct Scanner {
    chars: Vec<char>,
    at: usize,
}

impl Scanner {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.at + k).copied()
    }
    fn starts_with(&self, word: &str) -> bool {
        (self.at..)
            .zip(word.chars())
            .all(|(i, c)| self.chars.get(i) == Some(&c))
    }
    fn skip_spaces(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }
    /// `周`, `星期`, `礼拜` followed by a weekday: its number, consuming both.
    fn prefixed_weekday(&mut self) -> Option<u8> {
        for prefix in ["星期", "礼拜", "周"] {
            if self.starts_with(prefix) {
                let n = prefix.chars().count();
                if let Some(d) = self.peek(n).and_then(weekday) {
                    self.at += n + 1;
                    return Some(d);
                }
            }
        }
        None
    }
    fn digits(&mut self, max: usize) -> Option<u16> {
        let mut v: u16 = 0;
        let mut n = 0;
        while n < max
            && let Some(d) = self.peek(0).and_then(|c| c.to_digit(10))
        {
            v = v * 10 + d as u16;
            self.at += 1;
            n += 1;
        }
        (n > 0).then_some(v)
    }
    /// A time at a digit: `8`, `8:00`, `8.30`, `8点`, `8点半`, `8时30分`.
    fn time(&mut self) -> Option<(u16, u16, bool)> {
        let h = self.digits(2)?;
        if self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        let next = self.peek(0);
        let (m, unit) = match next {
            Some(':') => {
                let start = self.at;
                self.at += 1;
                let m = self.digits(2);
                match m {
                    Some(m) if self.at - start == 3 => (m, true),
                    _ => return None,
                }
            }
            Some('.')
                if self.peek(1).is_some_and(|c| c.is_ascii_digit())
                    && self.peek(2).is_some_and(|c| c.is_ascii_digit())
                    && !self.peek(3).is_some_and(|c| c.is_ascii_digit()) =>
            {
                self.at += 1;
                (self.digits(2)?, true)
            }
            Some('点') | Some('时') => {
                self.at += 1;
                if self.peek(0) == Some('半') {
                    self.at += 1;
                    (30, true)
                } else if self.peek(0) == Some('整') {
                    self.at += 1;
                    (0, true)
                } else if self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                    let m = self.digits(2)?;
                    if self.peek(0) == Some('分') {
                        self.at += 1;
                    }
                    (m, true)
                } else {
                    (0, true)
                }
            }
            _ => (0, false),
        };
        // Seconds (`08:00:00`) are allowed when zero.
        if unit
            && self.peek(0) == Some(':')
            && self.peek(1) == Some('0')
            && self.peek(2) == Some('0')
        {
            self.at += 3;
        }
        if h > 24 || m > 59 || (h == 24 && m != 0) {
            return None;
        }
        Some((h, m, unit))
    }
}

/// Cuts the normalized text into tokens; `None` at the first thing it does not know.
fn tokens(text: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = text
        .chars()
        .map(halfwidth)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut s = Scanner { chars, at: 0 };
    let mut out: Vec<Tok> = Vec::new();
    let mut period: Option<Period> = None;
    // Whether the last day token came from a weekday, so that a bare weekday may
    // follow (`周六日`, `周一、三、五`).
    let mut after_weekday = false;
    'scan: while let Some(c) = s.peek(0) {
        if c.is_whitespace() {
            s.at += 1;
            out.push(Tok::Sep);
            continue;
        }
        if let Some(d) = s.prefixed_weekday().or_else(|| {
            if after_weekday && !c.is_ascii_digit() {
                weekday(c).inspect(|_| s.at += 1)
            } else {
                None
            }
        }) {
            // A range `周一至周五`, `周一-五`, `星期一到星期五`.
            let save = s.at;
            s.skip_spaces();
            let mut bits = 1u8 << d;
            if s.peek(0).is_some_and(is_dash) {
                s.at += 1;
                s.skip_spaces();
                let end = s.prefixed_weekday().or_else(|| {
                    let c = s.peek(0)?;
                    if c.is_ascii_digit() {
                        return None;
                    }
                    weekday(c).inspect(|_| s.at += 1)
                });
                match end {
                    Some(e) => bits = day_range(d, e),
                    None => s.at = save,
                }
            } else {
                s.at = save;
            }
            out.push(Tok::Days(Days::week(bits)));
            after_weekday = true;
            period = None;
            continue;
        }
        for (word, meaning) in WORDS {
            if s.starts_with(word) {
                s.at += word.chars().count();
                match meaning {
                    Word::Tok(t) => {
                        match t {
                            // `周一、三、五`: a bare weekday may follow a conjunction.
                            Tok::Conj => {}
                            Tok::Days(_) => {
                                period = None;
                                after_weekday = false;
                            }
                            _ => after_weekday = false,
                        }
                        out.push(*t);
                    }
                    Word::Period(p) => period = Some(*p),
                    Word::Noise => {}
                }
                continue 'scan;
            }
        }
        if c.is_ascii_digit() {
            let (h, m, unit) = s.time()?;
            out.push(Tok::Time(h * 60 + m, unit, period));
            after_weekday = false;
            continue;
        }
        if is_dash(c) {
            s.at += 1;
            if out.last() != Some(&Tok::Dash) {
                out.push(Tok::Dash);
            }
            continue;
        }
        if matches!(
            c,
            ',' | ';' | '.' | '。' | '(' | ')' | '[' | ']' | '【' | '】' | '/' | ':' | '"'
        ) {
            s.at += 1;
            out.push(Tok::Sep);
            continue;
        }
        return None;
    }
    Some(out)
}

/// A time's hour after 上午/下午: `下午2:00` is 14:00, `中午1点` 13:00.
fn with_period(minutes: u16, period: Option<Period>) -> u16 {
    let h = minutes / 60;
    match period {
        Some(Period::Afternoon) if h < 12 => minutes + 12 * 60,
        Some(Period::Noon) if h < 6 => minutes + 12 * 60,
        _ => minutes,
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Item {
    Days(Days),
    Span(u16, u16),
    AllDay,
    Off,
    Conj,
    Sep,
}

/// Joins `time - time` into spans; refuses a lone time or a lone dash.
fn items(toks: &[Tok]) -> Option<Vec<Item>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            Tok::Time(a, unit_a, period_a) => {
                let (Some(Tok::Dash), Some(&Tok::Time(b, unit_b, period_b))) =
                    (toks.get(i + 1), toks.get(i + 2))
                else {
                    return None;
                };
                // A bare number is an hour only beside a time with a unit (`8-20点`)
                // or under 上午/下午.
                if !(unit_a || unit_b || period_a.is_some() || period_b.is_some()) {
                    return None;
                }
                let start = with_period(a, period_a);
                // 下午2:00-6:00: the period before the span holds for both ends.
                let end = with_period(b, period_b.or(period_a));
                if start == end {
                    return None;
                }
                // `8:00-6:00` is more likely a slip than 22 hours open: not understood.
                // Overnight spans start in the afternoon or evening (`20:00-08:00`).
                if end < start && start < 12 * 60 && end != 0 {
                    return None;
                }
                if start == 0 && (end == 24 * 60 || end == 23 * 60 + 59) {
                    out.push(Item::AllDay);
                } else {
                    out.push(Item::Span(start, end));
                }
                i += 3;
            }
            Tok::Dash => return None,
            Tok::Days(d) => {
                out.push(Item::Days(d));
                i += 1;
            }
            Tok::AllDay => {
                out.push(Item::AllDay);
                i += 1;
            }
            Tok::Off => {
                out.push(Item::Off);
                i += 1;
            }
            Tok::Conj => {
                out.push(Item::Conj);
                i += 1;
            }
            Tok::Sep => {
                if out.last() != Some(&Item::Sep) {
                    out.push(Item::Sep);
                }
                i += 1;
            }
        }
    }
    Some(out)
}

#[derive(Clone, Debug, Default)]
struct Rule {
    days: Option<Days>,
    spans: Vec<(u16, u16)>,
    all_day: bool,
    off: bool,
}

impl Rule {
    fn is_open(&self) -> bool {
        self.all_day || !self.spans.is_empty()
    }
}

/// A list of days starting at `i` (`周六、周日`, `周六周日`, `周末及节假日`): their
/// union and the index of the list's last item.
fn day_list(items: &[Item], i: usize) -> Option<(Days, usize)> {
    let Some(Item::Days(first)) = items.get(i) else {
        return None;
    };
    let (mut days, mut j) = (*first, i);
    loop {
        match (items.get(j + 1), items.get(j + 2)) {
            (Some(Item::Days(more)), _) => {
                days = days.union(*more);
                j += 1;
            }
            (Some(Item::Conj), Some(Item::Days(more))) => {
                days = days.union(*more);
                j += 2;
            }
            _ => return Some((days, j)),
        }
    }
}

/// The first item after `j` that is not a separator, with its index.
fn next_content(items: &[Item], j: usize) -> Option<(usize, &Item)> {
    items
        .iter()
        .enumerate()
        .skip(j + 1)
        .find(|(_, it)| !matches!(it, Item::Sep))
}

/// The rules the items describe. Days come first (`周一至周五 9:00-18:00`) unless the
/// text starts with a time and names days that are not just closures
/// (`9:00-18:00（周一至周五）`): then the days follow their times.
fn rules(items: &[Item]) -> Option<Vec<Rule>> {
    let starts_with_time = items
        .iter()
        .find(|i| !matches!(i, Item::Sep | Item::Conj))
        .is_some_and(|i| matches!(i, Item::Span(..) | Item::AllDay));
    if starts_with_time {
        let mut i = 0;
        while i < items.len() {
            if let Some((_, j)) = day_list(items, i) {
                if !matches!(next_content(items, j), Some((_, Item::Off))) {
                    return rules_postfix(items);
                }
                i = j;
            }
            i += 1;
        }
    }
    let mut out: Vec<Rule> = Vec::new();
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Days(_) => {
                let (days, j) = day_list(items, i)?;
                out.push(Rule {
                    days: Some(days),
                    ..Rule::default()
                });
                i = j;
            }
            Item::Span(a, b) => match out.last_mut() {
                Some(r) if !r.off => r.spans.push((*a, *b)),
                _ => out.push(Rule {
                    spans: vec![(*a, *b)],
                    ..Rule::default()
                }),
            },
            Item::AllDay => match out.last_mut() {
                Some(r) if !r.off => r.all_day = true,
                _ => out.push(Rule {
                    all_day: true,
                    ..Rule::default()
                }),
            },
            Item::Off => match out.last_mut() {
                Some(r) if r.days.is_some() && !r.is_open() && !r.off => r.off = true,
                _ => return None,
            },
            Item::Conj | Item::Sep => {}
        }
        i += 1;
    }
    Some(out)
}

/// Rules whose days follow their times: `9:00-18:00（周一至周五），10:00-16:00（周六日）`.
fn rules_postfix(items: &[Item]) -> Option<Vec<Rule>> {
    let mut out: Vec<Rule> = Vec::new();
    let mut pending = Rule::default();
    let mut i = 0;
    while i < items.len() {
        match &items[i] {
            Item::Span(a, b) => pending.spans.push((*a, *b)),
            Item::AllDay => pending.all_day = true,
            Item::Days(_) => {
                let (days, j) = day_list(items, i)?;
                i = j;
                if let Some((k, Item::Off)) = next_content(items, j) {
                    out.push(Rule {
                        days: Some(days),
                        off: true,
                        ..Rule::default()
                    });
                    i = k;
                } else if pending.is_open() {
                    pending.days = Some(days);
                    out.push(std::mem::take(&mut pending));
                } else {
                    return None;
                }
            }
            Item::Sep | Item::Conj => {}
            Item::Off => return None,
        }
        i += 1;
    }
    // Times left after the last days: whose are they? Not understood.
    if pending.is_open() {
        return None;
    }
    Some(out)
}

fn hhmm(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// The OSM expression for Chinese hours text, or `None` when not understood.
fn chinese(text: &str) -> Option<String> {
    let toks = tokens(text)?;
    let items = items(&toks)?;
    let rules = rules(&items)?;
    let mut open: Vec<String> = Vec::new();
    let mut closed: Vec<String> = Vec::new();
    let mut ph_off = false;
    for r in &rules {
        let days = r.days.unwrap_or(Days::week(ALL_WEEK));
        if r.off {
            if days.week != 0 {
                closed.push(format!("{} off", Days::week(days.week).osm()));
            }
            ph_off |= days.ph;
            continue;
        }
        if !r.is_open() {
            return None;
        }
        if days.week == 0 && !days.ph {
            return None;
        }
        let times = if r.all_day {
            "00:00-24:00".to_owned()
        } else {
            r.spans
                .iter()
                .map(|(a, b)| format!("{}-{}", hhmm(*a), hhmm(*b)))
                .collect::<Vec<_>>()
                .join(",")
        };
        open.push(format!("{} {times}", days.osm()));
    }
    if open.is_empty() {
        return None;
    }
    if open.len() == 1 && open[0] == "Mo-Su 00:00-24:00" {
        open[0] = "24/7".to_owned();
    }
    let mut parts = open;
    parts.extend(closed);
    if ph_off {
        parts.push("PH off".to_owned());
    }
    Some(parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table of the issue, and the forms around it.
    #[test]
    fn chinese_hours_to_osm() {
        let table: &[(&str, &str)] = &[
            ("24小时", "24/7"),
            ("全天", "24/7"),
            ("全天候", "24/7"),
            ("24h", "24/7"),
            ("24H", "24/7"),
            ("24小时开放", "24/7"),
            ("7×24小时", "24/7"),
            ("全年无休 24小时", "24/7"),
            ("每天 8:00-20:00", "Mo-Su 08:00-20:00"),
            ("每日 08:00—20:00", "Mo-Su 08:00-20:00"),
            ("8:00~20:00", "Mo-Su 08:00-20:00"),
            ("8点-20点", "Mo-Su 08:00-20:00"),
            ("8：00－20：00", "Mo-Su 08:00-20:00"),
            ("08:00至20:00", "Mo-Su 08:00-20:00"),
            ("早8点到晚8点", "Mo-Su 08:00-20:00"),
            ("8点半-17点半", "Mo-Su 08:30-17:30"),
            ("8-20点", "Mo-Su 08:00-20:00"),
            ("周一至周五 9:00-18:00", "Mo-Fr 09:00-18:00"),
            ("周一到周五9:00-18:00", "Mo-Fr 09:00-18:00"),
            ("星期一至星期五 9:00-18:00", "Mo-Fr 09:00-18:00"),
            ("周一至五 9:00-18:00", "Mo-Fr 09:00-18:00"),
            ("工作日 9:00-17:00", "Mo-Fr 09:00-17:00"),
            ("周末 10:00-16:00", "Sa-Su 10:00-16:00"),
            ("周六日 10:00-16:00", "Sa-Su 10:00-16:00"),
            ("周六、周日 10:00-16:00", "Sa-Su 10:00-16:00"),
            ("8:00-12:00 14:00-18:00", "Mo-Su 08:00-12:00,14:00-18:00"),
            ("8:00-12:00，14:00-18:00", "Mo-Su 08:00-12:00,14:00-18:00"),
            ("8:00-12:00、14:00-18:00", "Mo-Su 08:00-12:00,14:00-18:00"),
            ("8:00-12:00；14:00-18:00", "Mo-Su 08:00-12:00,14:00-18:00"),
            (
                "上午8:00-12:00，下午2:00-6:00",
                "Mo-Su 08:00-12:00,14:00-18:00",
            ),
            ("每天8:00-20:00，节假日休息", "Mo-Su 08:00-20:00; PH off"),
            (
                "周一至周五 8:00-18:00 法定节假日休息",
                "Mo-Fr 08:00-18:00; PH off",
            ),
            (
                "周一至周五 9:00-18:00，周六 9:00-12:00",
                "Mo-Fr 09:00-18:00; Sa 09:00-12:00",
            ),
            (
                "周一至周五 9:00-18:00；周六 9:00-12:00；节假日休息",
                "Mo-Fr 09:00-18:00; Sa 09:00-12:00; PH off",
            ),
            (
                "9:00-18:00（周一至周五），10:00-16:00（周六日）",
                "Mo-Fr 09:00-18:00; Sa-Su 10:00-16:00",
            ),
            (
                "9:00-17:00（周一至周五）节假日休息",
                "Mo-Fr 09:00-17:00; PH off",
            ),
            ("9:00-17:00，周一闭馆", "Mo-Su 09:00-17:00; Mo off"),
            ("开放时间：9:00-21:00", "Mo-Su 09:00-21:00"),
            ("周一至周五24小时", "Mo-Fr 00:00-24:00"),
            ("0:00-24:00", "24/7"),
            ("20:00-次日8:00", "Mo-Su 20:00-08:00"),
            ("每天 08:00:00-20:00:00", "Mo-Su 08:00-20:00"),
            (
                "工作日9:00-21:00，周末及节假日9:00-17:00",
                "Mo-Fr 09:00-21:00; Sa-Su,PH 09:00-17:00",
            ),
            (
                "工作日 8:30-17:30，周末及法定节假日休息",
                "Mo-Fr 08:30-17:30; Sa-Su off; PH off",
            ),
            // Already OSM: passes through.
            ("Mo-Fr 08:00-18:00", "Mo-Fr 08:00-18:00"),
            ("24/7", "24/7"),
            (
                "Mo-Fr 09:00-21:00; Sa,Su 09:00-17:00; PH off",
                "Mo-Fr 09:00-21:00; Sa,Su 09:00-17:00; PH off",
            ),
        ];
        for (text, want) in table {
            assert_eq!(to_osm(text).as_deref(), Some(*want), "{text}");
        }
    }

    proptest::proptest! {
        /// Whatever the text, no panic; whatever we produce parses as OSM.
        #[test]
        fn any_text_is_safe(
            text in "[0-9:：.点时半分至到~—\\-周星期一二三四五六日天每工作末节假法定休息闭馆除外全24小h上下午晚早 ,，、；（）/MoFrSaPHof]{0,40}"
        ) {
            if let Some(osm) = to_osm(&text) {
                proptest::prop_assert!(osm.parse::<OpeningHours>().is_ok(), "{text} -> {osm}");
            }
        }

        #[test]
        fn any_string_is_safe(text in proptest::prelude::any::<String>()) {
            let _ = to_osm(&text);
            let _ = super::super::amenities::parse(&text);
            let _ = super::super::text::parse_count(&text);
            let _ = super::super::text::parse_date(&text);
            let _ = super::super::text::parse_coordinate(&text);
        }
    }

    /// Text we cannot read with certainty is refused, not guessed.
    #[test]
    fn not_understood() {
        for text in [
            "",
            "夏季8:00-20:00，冬季9:00-18:00",
            "看情况",
            "8:00",
            "8-20",
            "8:00-6:00",
            "周一至周五",
            "25:00-26:00",
            "8:00-8:00",
            "休息",
            "9:00-18:00（周一至周五），10:00-16:00",
            "Mo-Fr 25:00-26:00",
            "预约开放",
        ] {
            assert_eq!(to_osm(text), None, "{text}");
        }
    }
}
