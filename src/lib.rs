//! waystation (驿站地图): union facilities and industrial parks on a map.
//!
//! Drivers and couriers ask for the nearest driver home (司机之家) or union rest
//! station (工会驿站) that is open now and has what they need; union planners ask
//! which industrial parks still have no union and where the next facility should go.
//!
//! # Layout
//! - [`model`]: the feature types (facilities, parks, layers, amenities) and the
//!   parse-don't-validate newtypes they are built from.
//! - [`geodata`]: loading and validating `geodata/`, opening hours with China's
//!   holiday calendar, coordinate systems (WGS-84 / GCJ-02 / BD-09), the demo
//!   data generator.
//! - [`index`]: the in-memory R-trees and the geodesic queries (k-nearest, bbox).
//! - [`coverage`]: the planners' analyses: park coverage and gap scores, the H3
//!   grid, facility catchments, summaries per city or district, and siting of new
//!   facilities (maximal covering, lazy greedy); CSV / XLSX export.
//! - [`store`]: the store of record (SQLite): features, tokens, audit log, imports.
//! - [`registry`]: edits and imports, validated, audited, and published live to
//!   the index as new generations.
//! - [`route`]: facilities along a driver's route (corridor search on the sphere).
//! - [`search`]: search by what people type (Chinese text by bigrams, pinyin and
//!   initials, English names), ranked by match and distance, with the matching
//!   cities and districts; built lazily per generation of the data.
//! - [`tiles`]: vector tiles (MVT) of the served generation, in WGS-84 or in the
//!   GCJ-02 frame of Amap basemaps: tile maths, a Z-order index per generation and
//!   frame, grid clustering of dense tiles, park outlines clipped to the tile,
//!   encoding.
//! - [`http`]: the axum router, handlers, problem+json errors.
//! - [`cli`]: the `waystation` command line: its clap types and every command
//!   (`serve`, `import`, `token`, `export`, `backup`, `purge`, `gen`, `validate`).
//! - [`config`]: the settings of `waystation serve` (`waystation.toml`, the
//!   environment, the flags) and their layering.
//! - [`import`]: union staff's own sheets (xlsx, CSV, GeoJSON; Chinese headers,
//!   GCJ-02 / BD-09 coordinates, Chinese hours and amenities) to features, with a
//!   reason for every rejected row and the sheet given back as a report.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod coverage;
pub mod geodata;
pub mod http;
pub mod import;
pub mod index;
pub mod model;
pub mod registry;
pub mod route;
pub mod search;
pub mod store;
pub mod tiles;
