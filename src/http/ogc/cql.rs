//! CQL2 filters (OGC API – Features Part 3): `filter`, `filter-lang`
//! (`cql2-text`, the default, or `cql2-json`) and `filter-crs` on the items.
//!
//! 1. parse: the `cql2` crate reads either encoding into one expression;
//! 2. compile: each property must be a queryable of the layer and each literal of
//!    its type, giving a tree of typed [`Node`]s (anything else is a 400 naming
//!    `filter` and the reason);
//! 3. evaluate: per feature, in CQL2's three-valued logic — a comparison with a
//!    null property is unknown, `NOT` unknown is unknown, and a feature is
//!    selected only when the filter is true.
//!
//! What is offered ([`CLASSES`]): Basic CQL2 (`=`, `<>`, `<`, `<=`, `>`, `>=`
//! between a queryable and a string, number, boolean or `DATE` literal;
//! `IS [NOT] NULL`; `AND`, `OR`, `NOT`; `true`, `false`), the advanced
//! comparison operators (`[NOT] LIKE` with `%`, `_` and `\` escapes on text
//! queryables, `[NOT] BETWEEN`, `[NOT] IN` of a list of literals), and
//! `S_INTERSECTS` of the `geometry` queryable with a `BBOX` or any geometry
//! literal (points, lines, polygons, their multi forms and collections). Not
//! offered, and refused: `CASEI`, `ACCENTI`, the other spatial functions,
//! temporal and array functions, arithmetic, property-to-property comparisons.
//!
//! A spatial predicate that is the filter, or a term of its top-level `AND`,
//! gives the box the R-tree is searched with ([`Filter::index_box`]); the
//! candidates are then tested against the whole filter.

use std::cmp::Ordering;

use chrono::{Datelike, NaiveDate};
use cql2::Expr;
use geo::{BoundingRect, CoordsIter, Intersects, MapCoordsInPlace};

use super::super::params::Params;
use super::crs::{self, Crs};
use super::meta::NO_DAY;
use super::queryables::{Item, Kind, Prop, QUERYABLES, Queryable};
use crate::index::BBox;
use crate::model::Layer;

/// The conformance classes of CQL2 and Part 3 that this module passes.
pub const CLASSES: [&str; 9] = [
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    // The queryables resource and the queryables as query parameters.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
];

/// The name of the geometry queryable.
pub const GEOMETRY: &str = "geometry";

/// A literal, typed by the queryable it is compared with.
#[derive(Clone, Debug)]
enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
    /// Days from the common era.
    Day(i32),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn parse(op: &str) -> Option<Op> {
        Some(match op {
            "=" => Op::Eq,
            "<>" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 < x` is `x > 5`).
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            same => same,
        }
    }

    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o.is_eq(),
            Op::Ne => o.is_ne(),
            Op::Lt => o.is_lt(),
            Op::Le => o.is_le(),
            Op::Gt => o.is_gt(),
            Op::Ge => o.is_ge(),
        }
    }
}

/// A geometry literal, with its bounding boxes for a quick rejection.
#[derive(Clone, Debug)]
struct Shape {
    geometry: geo::Geometry<f64>,
    bounds: Vec<geo::Rect<f64>>,
    /// The box to search the R-tree with (`min_lon > max_lon` across the
    /// antimeridian), none for an empty geometry.
    index: Option<BBox>,
}

impl Shape {
    fn intersects(&self, g: &Geom<'_>) -> bool {
        match g {
            Geom::Point(p) => {
                self.bounds.iter().any(|r| r.intersects(p)) && self.geometry.intersects(p)
            }
            Geom::Shape(shape, rect) => {
                self.bounds.iter().any(|r| r.intersects(*rect)) && self.geometry.intersects(*shape)
            }
        }
    }
}

/// A `LIKE` pattern: `%` any run of characters, `_` any one, a backslash the
/// next character as itself.
#[derive(Clone, Debug, PartialEq)]
struct Pattern(Vec<Wild>);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Wild {
    Char(char),
    One,
    Any,
}

impl Pattern {
    fn new(text: &str) -> Pattern {
        let mut out = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            out.push(match c {
                '%' => Wild::Any,
                '_' => Wild::One,
                '\\' => Wild::Char(chars.next().unwrap_or('\\')),
                c => Wild::Char(c),
            });
        }
        Pattern(out)
    }

    /// Whether `text` matches the whole pattern (greedy with one backtrack point:
    /// linear in practice, at most quadratic).
    fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.0.get(p) {
                Some(Wild::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Wild::One) => {
                    p += 1;
                    t += 1;
                }
                Some(Wild::Char(c)) if *c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.0[p..].iter().all(|w| *w == Wild::Any)
    }
}

/// A compiled condition.
#[derive(Clone, Debug)]
enum Node {
    Const(bool),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Compare(Prop, Op, Value),
    Like(Prop, Pattern),
    IsNull(Prop, Kind),
    Intersects(Shape),
}

/// A feature's geometry, for the spatial predicate.
#[derive(Clone, Copy)]
pub enum Geom<'a> {
    /// A point (facilities, and parks without a polygon).
    Point(geo::Point<f64>),
    /// A park's polygons and their bounding box.
    Shape(&'a geo::MultiPolygon<f64>, &'a geo::Rect<f64>),
}

/// What a filter is evaluated against.
pub struct Feature<'a> {
    /// The feature's properties.
    pub item: Item<'a>,
    /// Its `updated` day (see [`NO_DAY`]).
    pub day: i32,
    /// Its geometry.
    pub geom: Geom<'a>,
}

impl Node {
    /// True, false, or unknown (`None`).
    fn eval(&self, f: &Feature<'_>) -> Option<bool> {
        match self {
            Node::Const(b) => Some(*b),
            Node::And(terms) => {
                let mut unknown = false;
                for t in terms {
                    match t.eval(f) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Node::Or(terms) => {
                let mut unknown = false;
                for t in terms {
                    match t.eval(f) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Node::Not(n) => n.eval(f).map(|b| !b),
            Node::Compare(prop, op, value) => {
                let ordering = match value {
                    Value::Text(want) => f.item.text(*prop)?.cmp(want.as_str()),
                    Value::Number(want) => f64::from(f.item.count(*prop)?).partial_cmp(want)?,
                    Value::Bool(want) => f.item.synthetic().cmp(want),
                    Value::Day(want) => {
                        if f.day == NO_DAY {
                            return None;
                        }
                        f.day.cmp(want)
                    }
                };
                Some(op.holds(ordering))
            }
            Node::Like(prop, pattern) => Some(pattern.matches(f.item.text(*prop)?)),
            Node::IsNull(prop, kind) => Some(match kind {
                Kind::Text | Kind::Choice(_) => f.item.text(*prop).is_none(),
                Kind::Count => f.item.count(*prop).is_none(),
                Kind::Date => f.day == NO_DAY,
                // A flag is always written; an empty list of amenities is not null.
                Kind::Flag | Kind::Amenities => false,
            }),
            Node::Intersects(shape) => Some(shape.intersects(&f.geom)),
        }
    }
}

/// A request's CQL2 filter.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
}

impl Filter {
    /// Whether the feature is selected (the filter is true, not false or unknown).
    pub fn matches(&self, f: &Feature<'_>) -> bool {
        self.root.eval(f) == Some(true)
    }

    /// The box every selected feature meets, when a spatial predicate is the
    /// filter or a term of its top-level `AND`.
    pub fn index_box(&self) -> Option<BBox> {
        let spatial = |n: &Node| match n {
            Node::Intersects(s) => s.index,
            _ => None,
        };
        match &self.root {
            Node::And(terms) => terms.iter().find_map(spatial),
            n => spatial(n),
        }
    }
}

/// Takes `filter`, `filter-lang` and `filter-crs` for `layer`; a problem with
/// any is recorded under its name.
pub fn take(p: &mut Params, layer: Layer) -> Option<Filter> {
    let json = match p.raw("filter-lang").as_deref().map(str::trim) {
        // `cql-text` is the name of drafts, sent by GDAL (up to 3.9 at least)
        // when its OGR_OAPIF_ALLOW_CQL_TEXT option is on.
        None | Some("cql2-text" | "cql-text") => false,
        Some("cql2-json") => true,
        Some(other) => {
            p.problem(
                "filter-lang",
                format!("'{other}' is not offered (cql2-text, the default, or cql2-json)"),
            );
            false
        }
    };
    let crs = crs::take(p, "filter-crs");
    let raw = p.raw("filter")?;
    if p.has_problem("filter-lang") {
        return None;
    }
    if let Some(reason) = too_deep(&raw) {
        p.problem("filter", reason);
        return None;
    }
    let parsed = if json {
        cql2::parse_json(&raw).map_err(|e| format!("is not valid cql2-json: {e}"))
    } else {
        cql2::parse_text(&raw)
            .map_err(|e| format!("is not valid cql2-text: {}", one_line(&e.to_string())))
    };
    match parsed.and_then(|e| compile(e, &Cx { layer, crs })) {
        Ok(root) => Some(Filter { root }),
        Err(reason) => {
            p.problem("filter", reason);
            None
        }
    }
}

/// The deepest nesting of brackets a filter may have.
const MAX_NESTING: usize = 64;
/// The most `AND`, `OR` and `NOT` a filter may have.
const MAX_LOGICAL: usize = 256;

/// Why a filter is refused before parsing, if it is: the parsers and the
/// compiler recurse once per level of nesting and per logical operator, and a
/// thread's stack must not overflow on a hostile query (it would abort the
/// server, not fail the request).
fn too_deep(text: &str) -> Option<String> {
    let (mut depth, mut deepest, mut logical) = (0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let end_word = |word: &mut String, logical: &mut usize| {
        if ["and", "or", "not"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
        {
            *logical += 1;
        }
        word.clear();
    };
    for c in text.chars() {
        if let Some(q) = quote {
            // A doubled quote closes and opens again: the same count.
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphabetic() {
            word.push(c);
            continue;
        }
        end_word(&mut word, &mut logical);
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    end_word(&mut word, &mut logical);
    if deepest > MAX_NESTING {
        Some(format!(
            "nests {deepest} levels of brackets: at most {MAX_NESTING} are taken"
        ))
    } else if logical > MAX_LOGICAL {
        Some(format!(
            "has {logical} AND, OR and NOT: at most {MAX_LOGICAL} are taken"
        ))
    } else {
        None
    }
}

/// A parser's message on one line.
fn one_line(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 300 {
        s.chars().take(300).collect::<String>() + "…"
    } else {
        s
    }
}

/// What the compilation depends on.
struct Cx {
    layer: Layer,
    crs: Crs,
}

/// An expression as the user may recognise it, for messages.
fn show(e: &Expr) -> String {
    one_line(&e.to_text().unwrap_or_else(|_| format!("{e:?}")))
}

/// The operators of the classes not offered, for a precise refusal.
fn not_offered(op: &str) -> Option<&'static str> {
    let lower = op.to_ascii_lowercase();
    Some(match lower.as_str() {
        "casei" | "accenti" => "case- and accent-insensitive comparison is not offered",
        s if s.starts_with("s_") => "of the spatial functions only S_INTERSECTS is offered",
        s if s.starts_with("t_") => {
            "temporal functions are not offered: compare updated with DATE('2024-01-01')"
        }
        s if s.starts_with("a_") => {
            "array functions are not offered (the amenities parameter filters on amenities)"
        }
        "+" | "-" | "*" | "/" | "%" | "^" | "div" => "arithmetic is not offered",
        _ => return None,
    })
}

/// Why the function or operator `op` is refused.
fn unknown_function(op: &str) -> String {
    match not_offered(op) {
        Some(why) => format!("'{op}': {why}"),
        None => format!("'{op}' is not a function of this server"),
    }
}

fn compile(e: Expr, cx: &Cx) -> Result<Node, String> {
    match e {
        Expr::Bool(b) => Ok(Node::Const(b)),
        Expr::Operation { op, args } => {
            let args: Vec<Expr> = args.into_iter().map(|a| *a).collect();
            match op.as_str() {
                "and" | "or" => {
                    if args.is_empty() {
                        return Err(format!("{} needs operands", op.to_uppercase()));
                    }
                    let terms = args
                        .into_iter()
                        .map(|a| compile(a, cx))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(if op == "and" {
                        Node::And(terms)
                    } else {
                        Node::Or(terms)
                    })
                }
                "not" => {
                    let [a] = one(args, "NOT")?;
                    Ok(Node::Not(Box::new(compile(a, cx)?)))
                }
                "isNull" => {
                    let [a] = one(args, "IS NULL")?;
                    match a {
                        Expr::Property { property } => Ok(match queryable(&property, cx.layer)? {
                            None => Node::Const(false),
                            Some(q) => Node::IsNull(q.prop, q.kind),
                        }),
                        other => Err(format!("IS NULL takes a queryable, not {}", show(&other))),
                    }
                }
                "s_intersects" => {
                    let [a, b] = two(args, "S_INTERSECTS")?;
                    intersects(a, b, cx)
                }
                "like" => {
                    let [a, b] = two(args, "LIKE")?;
                    like(a, b, cx)
                }
                "between" => {
                    let n = args.len();
                    let [a, low, high]: [Expr; 3] = args
                        .try_into()
                        .map_err(|_| format!("BETWEEN takes three operands, not {n}"))?;
                    Ok(Node::And(vec![
                        compare(a.clone(), Op::Ge, low, cx)?,
                        compare(a, Op::Le, high, cx)?,
                    ]))
                }
                "in" => {
                    let [a, list] = two(args, "IN")?;
                    let Expr::Array(items) = list else {
                        return Err(format!("IN takes a list, not {}", show(&list)));
                    };
                    if items.is_empty() {
                        return Err("IN needs at least one value".into());
                    }
                    let terms = items
                        .into_iter()
                        .map(|item| compare(a.clone(), Op::Eq, *item, cx))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(Node::Or(terms))
                }
                other => {
                    if let Some(o) = Op::parse(other) {
                        let [a, b] = two(args, other)?;
                        return compare(a, o, b, cx);
                    }
                    Err(unknown_function(other))
                }
            }
        }
        Expr::Property { property } => Err(format!(
            "'{property}' alone is not a condition: compare it with a literal (e.g. {property} = …)"
        )),
        other => Err(format!("{} is not a condition", show(&other))),
    }
}

fn one(args: Vec<Expr>, name: &str) -> Result<[Expr; 1], String> {
    let n = args.len();
    args.try_into()
        .map_err(|_| format!("{name} takes one operand, not {n}"))
}

fn two(args: Vec<Expr>, name: &str) -> Result<[Expr; 2], String> {
    let n = args.len();
    args.try_into()
        .map_err(|_| format!("{name} takes two operands, not {n}"))
}

/// The queryable `name` of `layer`; `None` for the geometry.
fn queryable(name: &str, layer: Layer) -> Result<Option<&'static Queryable>, String> {
    if name == GEOMETRY {
        return Ok(None);
    }
    match QUERYABLES.iter().find(|q| q.name == name) {
        Some(q) if q.applies(layer) => Ok(Some(q)),
        found => {
            let names: Vec<&str> = super::queryables::of(layer)
                .map(|q| q.name)
                .chain([GEOMETRY])
                .collect();
            Err(if found.is_some() {
                format!(
                    "'{name}' is a queryable of other layers, not of {layer} (queryables: {})",
                    names.join(", ")
                )
            } else {
                format!(
                    "'{name}' is not a queryable of {layer} (queryables: {})",
                    names.join(", ")
                )
            })
        }
    }
}

/// `a op b`, one a queryable and the other a literal of its type.
fn compare(a: Expr, op: Op, b: Expr, cx: &Cx) -> Result<Node, String> {
    // A function as an operand (`CASEI(city) = 'x'`, `workers * 2 > 9`).
    for e in [&a, &b] {
        if let Expr::Operation { op, .. } = e {
            return Err(unknown_function(op));
        }
    }
    let (name, op, literal) = match (a, b) {
        (Expr::Property { property: x }, Expr::Property { property: y }) => {
            return Err(format!(
                "comparing two properties ({x}, {y}) is not offered: compare a queryable with a literal"
            ));
        }
        (Expr::Property { property }, literal) => (property, op, literal),
        (literal, Expr::Property { property }) => (property, op.flipped(), literal),
        (a, b) => {
            return Err(format!(
                "{} and {} are both literals: compare a queryable with a literal",
                show(&a),
                show(&b)
            ));
        }
    };
    let Some(q) = queryable(&name, cx.layer)? else {
        return Err(format!(
            "'{GEOMETRY}' is a geometry: use S_INTERSECTS({GEOMETRY}, …), not a comparison"
        ));
    };
    let wrong = |what: &str| {
        format!(
            "'{name}' is {what}, and {} is not: compare it with {}",
            show(&literal),
            match q.kind {
                Kind::Text | Kind::Choice(_) => "a string literal such as 'abc'",
                Kind::Flag => "true or false",
                Kind::Count => "a number",
                Kind::Date => "a date literal such as DATE('2024-01-01')",
                Kind::Amenities => "nothing",
            }
        )
    };
    let value = match (q.kind, &literal) {
        (Kind::Text | Kind::Choice(_), Expr::Literal(s)) => Value::Text(s.clone()),
        (Kind::Text | Kind::Choice(_), _) => return Err(wrong("a string")),
        (Kind::Flag, Expr::Bool(b)) => Value::Bool(*b),
        (Kind::Flag, _) => return Err(wrong("a boolean")),
        (Kind::Count, Expr::Float(n)) if n.is_finite() => Value::Number(*n),
        (Kind::Count, _) => return Err(wrong("a number")),
        (Kind::Date, Expr::Date { date }) => match date.as_ref() {
            Expr::Literal(s) => Value::Day(day(s)?),
            other => return Err(format!("DATE takes a string, not {}", show(other))),
        },
        // A plain string is taken as a date too (some clients write dates so).
        (Kind::Date, Expr::Literal(s)) => Value::Day(day(s).map_err(|_| wrong("a date"))?),
        (Kind::Date, _) => return Err(wrong("a date")),
        (Kind::Amenities, _) => {
            return Err(format!(
                "'{name}' is an array: comparisons and the array functions are not offered \
                 (the amenities parameter filters on amenities)"
            ));
        }
    };
    Ok(Node::Compare(q.prop, op, value))
}

/// `a LIKE b`: a text queryable and a string pattern.
fn like(a: Expr, b: Expr, cx: &Cx) -> Result<Node, String> {
    let (Expr::Property { property }, Expr::Literal(pattern)) = (&a, &b) else {
        return Err(format!(
            "LIKE takes a queryable and a string pattern, not {} and {}",
            show(&a),
            show(&b)
        ));
    };
    match queryable(property, cx.layer)? {
        Some(q) if matches!(q.kind, Kind::Text | Kind::Choice(_)) => {
            Ok(Node::Like(q.prop, Pattern::new(pattern)))
        }
        _ => Err(format!(
            "'{property}' is not text: LIKE compares text queryables with a pattern"
        )),
    }
}

fn day(s: &str) -> Result<i32, String> {
    // GDAL writes a date as `2024-01-01T`.
    let d = s.trim();
    let d = d.strip_suffix('T').unwrap_or(d);
    NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(|d| d.num_days_from_ce())
        .map_err(|_| format!("'{s}' is not a date YYYY-MM-DD"))
}

/// `S_INTERSECTS(a, b)`: the geometry queryable and a geometry literal.
fn intersects(a: Expr, b: Expr, cx: &Cx) -> Result<Node, String> {
    let is_geometry = |e: &Expr| matches!(e, Expr::Property { property } if property == GEOMETRY);
    let literal = match (a, b) {
        (p, lit) | (lit, p) if is_geometry(&p) && !is_geometry(&lit) => lit,
        (Expr::Property { property }, _) | (_, Expr::Property { property }) => {
            return Err(match queryable(&property, cx.layer)? {
                Some(_) => format!(
                    "'{property}' is not a geometry: S_INTERSECTS takes '{GEOMETRY}' and a geometry literal"
                ),
                None => format!("S_INTERSECTS takes '{GEOMETRY}' once and a geometry literal"),
            });
        }
        (a, b) => {
            return Err(format!(
                "S_INTERSECTS({}, {}) names no property: one operand must be '{GEOMETRY}'",
                show(&a),
                show(&b)
            ));
        }
    };
    let shape = shape(literal, cx.crs)?;
    Ok(match shape.index {
        None => Node::Const(false),
        Some(_) => Node::Intersects(shape),
    })
}

/// A number literal (a negated number may arrive as `-1 * n`).
fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::Float(v) => Some(*v),
        Expr::Operation { op, args } if op == "*" && args.len() == 2 => {
            Some(number(&args[0])? * number(&args[1])?)
        }
        _ => None,
    }
}

/// Checks a position of CRS84.
fn position(x: f64, y: f64) -> Result<(), String> {
    if !(x.is_finite() && y.is_finite()) {
        return Err("a coordinate is not a finite number".into());
    }
    if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
        return Err(format!(
            "({x}, {y}) is not a longitude in [-180, 180] and a latitude in [-90, 90]"
        ));
    }
    Ok(())
}

/// A geometry literal as a shape in CRS84 (from `crs`, whose axes may be swapped).
fn shape(e: Expr, crs: Crs) -> Result<Shape, String> {
    if let Expr::BBox { bbox } = &e {
        let nums = bbox.iter().map(|n| number(n)).collect::<Option<Vec<f64>>>();
        let (a, b, c, d) = match nums.as_deref() {
            Some(&[a, b, c, d]) | Some(&[a, b, _, c, d, _]) => (a, b, c, d),
            _ => {
                return Err(format!(
                    "{} is not a BBOX of four (or six) numbers",
                    show(&e)
                ));
            }
        };
        let (min_lon, min_lat, max_lon, max_lat) = if crs.lat_first() {
            (b, a, d, c)
        } else {
            (a, b, c, d)
        };
        position(min_lon, min_lat).and_then(|()| position(max_lon, max_lat))?;
        if min_lat > max_lat {
            return Err(format!(
                "the BBOX's south {min_lat} is north of its north {max_lat}"
            ));
        }
        let rect = |w: f64, e: f64| {
            geo::Rect::new(
                geo::coord! { x: w, y: min_lat },
                geo::coord! { x: e, y: max_lat },
            )
        };
        // West of east crosses the antimeridian: two boxes.
        let bounds = if min_lon <= max_lon {
            vec![rect(min_lon, max_lon)]
        } else {
            vec![rect(min_lon, 180.0), rect(-180.0, max_lon)]
        };
        let geometry = geo::Geometry::MultiPolygon(geo::MultiPolygon::new(
            bounds.iter().map(|r| r.to_polygon()).collect(),
        ));
        return Ok(Shape {
            geometry,
            bounds,
            index: Some(BBox {
                min_lon,
                min_lat,
                max_lon,
                max_lat,
            }),
        });
    }
    if !matches!(e, Expr::Geometry(_)) {
        return Err(format!(
            "{} is not a geometry literal (BBOX(…), POINT(…), POLYGON(…), … or GeoJSON)",
            show(&e)
        ));
    }
    let shown = show(&e);
    let mut geometry = geo::Geometry::<f64>::try_from(e).map_err(|err| {
        format!(
            "{shown} is not a usable geometry: {}",
            one_line(&err.to_string())
        )
    })?;
    if crs.lat_first() {
        geometry.map_coords_in_place(|c| geo::coord! { x: c.y, y: c.x });
    }
    for c in geometry.coords_iter() {
        position(c.x, c.y)?;
    }
    let rect = geometry.bounding_rect();
    Ok(Shape {
        geometry,
        bounds: rect.into_iter().collect(),
        index: rect.map(|r| BBox {
            min_lon: r.min().x,
            min_lat: r.min().y,
            max_lon: r.max().x,
            max_lat: r.max().y,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled(q: &str, layer: Layer) -> Result<Filter, String> {
        let mut p = Params::parse(Some(q)).unwrap();
        let f = take(&mut p, layer);
        match p.finish() {
            Ok(()) => Ok(f.expect("a filter")),
            Err(super::super::super::problem::ApiError::InvalidParams(v)) => Err(v
                .into_iter()
                .map(|p| format!("{}: {}", p.name, p.reason))
                .collect::<Vec<_>>()
                .join("; ")),
            Err(e) => panic!("{e}"),
        }
    }

    fn text(filter: &str, layer: Layer) -> Result<Filter, String> {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("filter", filter)
            .finish();
        compiled(&q, layer)
    }

    #[test]
    fn basic_cql2_compiles_for_queryables_only() {
        for ok in [
            "city = '临沂市'",
            "city <> 'x' AND NOT (workers > 100 OR workers IS NULL)",
            "union_status = 'foo'",
            "synthetic = true",
            "synthetic > false",
            "updated >= DATE('2026-11-01')",
            "updated < '2026-11-01'",
            "3 < workers",
            "true",
            "false",
            "district IS NOT NULL",
            "geometry IS NULL",
            "S_INTERSECTS(geometry, BBOX(118, 34, 119, 35))",
            "S_INTERSECTS(geometry, POINT(7.02 49.92))",
            "s_intersects(POLYGON((118 34, 119 34, 119 35, 118 34)), geometry)",
            "S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))",
            "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(7.02 49.92), POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))))",
            "city LIKE '临沂%'",
            "name NOT LIKE '%园区'",
            "workers BETWEEN 100 AND 1000",
            "updated NOT BETWEEN DATE('2026-01-01') AND DATE('2026-06-30')",
            "union_status IN ('none', 'partial')",
            "city NOT IN ('临沂市')",
        ] {
            assert!(
                text(ok, Layer::Park).is_ok(),
                "{ok}: {:?}",
                text(ok, Layer::Park).err()
            );
        }
        for (bad, why) in [
            ("city = ", "cql2-text"),
            ("nosuch = 1", "not a queryable of park"),
            ("grade = 'simple'", "of other layers, not of park"),
            ("workers = 'many'", "is a number"),
            ("city = 3", "is a string"),
            ("synthetic = 'yes'", "is a boolean"),
            ("updated = DATE('2026-13-01')", "not a date"),
            ("updated = TIMESTAMP('2026-01-01T00:00:00Z')", "is a date"),
            ("workers = enterprises", "two properties"),
            ("1 = 1", "both literals"),
            ("workers LIKE '1%'", "is not text"),
            ("city LIKE 3", "string pattern"),
            ("workers BETWEEN 1 AND 'x'", "is a number"),
            ("city IN ('a', 3)", "is a string"),
            ("CASEI(city) = 'x'", "case- and accent-insensitive"),
            ("S_WITHIN(geometry, POINT(1 2))", "only S_INTERSECTS"),
            ("S_INTERSECTS(geometry, POINT(90 180))", "latitude"),
            ("S_INTERSECTS(geometry, BBOX(1, 5, 2, 4))", "north"),
            ("S_INTERSECTS(city, POINT(1 2))", "not a geometry"),
            ("geometry = 'x'", "S_INTERSECTS"),
            ("city", "not a condition"),
        ] {
            let err = text(bad, Layer::Park).expect_err(bad);
            assert!(err.starts_with("filter: "), "{bad}: {err}");
            assert!(err.contains(why), "{bad}: {err}");
        }
        let err = text("amenities = 'shower'", Layer::DriverHome).unwrap_err();
        assert!(err.contains("is an array"), "{err}");
    }

    #[test]
    fn like_patterns_match_whole_texts() {
        let m = |pattern: &str, text: &str| Pattern::new(pattern).matches(text);
        assert!(m("临沂%", "临沂市"));
        assert!(!m("临沂%", "大临沂市"));
        assert!(m("%司机之家", "兰山区司机之家"));
        assert!(m("%物流%", "临沂物流园"));
        assert!(m("_沂市", "临沂市"));
        assert!(!m("_沂市", "临临沂市"));
        assert!(m("a%b%c", "axxbyyc"));
        assert!(!m("a%b%c", "axxbyy"));
        assert!(m("%", ""));
        assert!(!m("_", ""));
        assert!(m("100\\%", "100%"));
        assert!(!m("100\\%", "1000"));
        assert!(m("a\\_b", "a_b") && !m("a\\_b", "axb"));
        assert!(m("", "") && !m("", "x"));
    }

    #[test]
    fn json_and_parameters() {
        let q = |json: &str, extra: &str| {
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("filter", json)
                .append_pair("filter-lang", "cql2-json")
                .finish();
            compiled(&format!("{q}{extra}"), Layer::DriverHome)
        };
        assert!(q(r#"{"op":"=","args":[{"property":"city"},"临沂市"]}"#, "").is_ok());
        assert!(
            q(
                r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[34,118,35,119]}]}"#,
                "&filter-crs=http://www.opengis.net/def/crs/EPSG/0/4490"
            )
            .unwrap()
            .index_box()
                == Some(BBox {
                    min_lon: 118.0,
                    min_lat: 34.0,
                    max_lon: 119.0,
                    max_lat: 35.0
                })
        );
        assert!(q("{", "").unwrap_err().contains("cql2-json"));
        assert!(
            q(
                r#"{"op":"=","args":[{"property":"city"},"x"]}"#,
                "&filter-crs=EPSG:3857"
            )
            .unwrap_err()
            .starts_with("filter-crs: ")
        );
        // GDAL's name (of the drafts) for cql2-text.
        assert!(compiled("filter=true&filter-lang=cql-text", Layer::Park).is_ok());
        assert!(
            compiled("filter=true&filter-lang=cql", Layer::Park)
                .unwrap_err()
                .starts_with("filter-lang: ")
        );
    }

    /// Deep nesting is refused before it reaches the (recursive) parsers; what
    /// is taken parses on a thread with the 2 MiB stack of a tokio worker.
    #[test]
    fn deep_filters_are_refused_and_the_rest_fits_a_worker_stack() {
        let run = |f: String, json: bool| {
            std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    q.append_pair("filter", &f);
                    if json {
                        q.append_pair("filter-lang", "cql2-json");
                    }
                    compiled(&q.finish(), Layer::Park)
                })
                .unwrap()
                .join()
                .unwrap()
        };
        let n = MAX_NESTING;
        for within in [
            format!(
                "{}workers > 1 AND city = 'a ( (('{}",
                "(".repeat(n),
                ")".repeat(n)
            ),
            format!("{}workers > 1{}", "NOT (".repeat(n), ")".repeat(n)),
        ] {
            let r = run(within, false);
            assert!(r.is_ok(), "{:?}", r.err());
        }
        let chain = vec!["workers > 1"; MAX_LOGICAL + 1].join(" AND ");
        assert!(run(chain.clone(), false).is_ok());
        let chain = vec!["workers > 1"; MAX_LOGICAL + 2].join(" OR ");
        assert!(run(chain, false).unwrap_err().contains("at most"));
        for f in [
            format!("{}true{}", "(".repeat(n + 1), ")".repeat(n + 1)),
            format!("{}true{}", "(".repeat(20_000), ")".repeat(20_000)),
            format!("{}true", "NOT ".repeat(20_000)),
        ] {
            assert!(run(f, false).unwrap_err().contains("at most"));
        }
        let deep_json = format!(
            "{}true{}",
            r#"{"op":"not","args":["#.repeat(5000),
            "]}".repeat(5000)
        );
        assert!(run(deep_json, true).is_err());
        let json_within = format!(
            "{}true{}",
            r#"{"op":"not","args":["#.repeat(30),
            "]}".repeat(30)
        );
        assert!(run(json_within, true).is_ok());
    }

    #[test]
    fn the_index_box_comes_from_a_top_level_and() {
        let f = text(
            "city = 'x' AND S_INTERSECTS(geometry, BBOX(118, 34, 119, 35))",
            Layer::Park,
        )
        .unwrap();
        assert_eq!(f.index_box().map(|b| b.max_lat), Some(35.0));
        let f = text(
            "city = 'x' OR S_INTERSECTS(geometry, BBOX(118, 34, 119, 35))",
            Layer::Park,
        )
        .unwrap();
        assert!(f.index_box().is_none());
    }
}
