//! The settings of `waystation serve`, and where each comes from.
//!
//! Four layers, each overriding the one before it:
//! 1. the defaults ([`Settings::default`]: `cargo run --release` on a fresh clone),
//! 2. the file (`--config FILE`, else `waystation.toml` in the working directory
//!    when it exists; see `waystation.example.toml` for every key),
//! 3. the environment (`WAYSTATION_BIND`, `WAYSTATION_RADIUS_M__DRIVER_HOME`, …:
//!    [`env_var`] names each key's variable),
//! 4. the command line's flags.
//!
//! The file is read first on its own, so a bad one is refused with its line and key
//! (unknown keys included); the layers are then merged with figment. Settings that
//! parse but make no sense (a radius of 0, Tianditu without a key) are refused by
//! [`Settings::check`], naming the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use figment::value::Value;
use serde::{Deserialize, Serialize};

use crate::coverage::{FacilityLayer, Radii, Radius};
use crate::http::Basemap;

/// The file read when no `--config` is given, if it exists.
pub const DEFAULT_FILE: &str = "waystation.toml";

/// The prefix of every environment variable that sets a key.
pub const ENV_PREFIX: &str = "WAYSTATION_";

/// Everything `waystation serve` can be told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8080`, or `0.0.0.0:8080` behind a proxy.
    pub bind: String,
    /// The database (the store of record), created from `data` when missing, e.g.
    /// `/var/lib/waystation/waystation.db`. When neither `db` nor `data` is set:
    /// `waystation.db` in the working directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<PathBuf>,
    /// Data directory, e.g. `geodata`: the seed of a new database or, without `db`,
    /// the data served read-only (default `geodata`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Directory of the web map's files, e.g. `web`.
    pub web: PathBuf,
    /// External basemap: `none` (every request stays on this server), `tianditu`
    /// (needs `tianditu_key`) or `amap`.
    pub basemap: BasemapKind,
    /// Tianditu key, required with `basemap = "tianditu"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tianditu_key: Option<String>,
    /// Who may frame the public map and embeds: a CSP `frame-ancestors` source list,
    /// e.g. `*` (any site), `'self'`, or `https://www.acftu.org https://*.acftu.org`.
    /// The editor's pages may be framed by this server only, whatever this says.
    pub frame_ancestors: String,
    /// Origins whose pages may write (edits, imports, reports) besides this server's
    /// own, e.g. `["https://admin.example.org"]`. Tools that send no `Origin` header
    /// (scripts, curl) are not affected.
    pub write_origins: Vec<String>,
    /// Log lines as `text` (for people) or `json` (one object a line, for collectors).
    /// The level comes from `RUST_LOG` (default `info`; access lines are at `info`
    /// under the target `waystation::access`).
    pub log_format: LogFormat,
    /// The service radius of each facility layer, metres: a facility "serves" the
    /// places within it. The coverage analyses' default; a request may still give
    /// its own (`radius_driver_home=…`).
    pub radius_m: RadiusSettings,
    /// Limits on what a request may send.
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bind: "127.0.0.1:8080".into(),
            db: None,
            data: None,
            web: PathBuf::from("web"),
            basemap: BasemapKind::None,
            tianditu_key: None,
            frame_ancestors: "*".into(),
            write_origins: Vec::new(),
            log_format: LogFormat::Text,
            radius_m: RadiusSettings::default(),
            limits: Limits::default(),
        }
    }
}

/// The basemaps a deployer can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BasemapKind {
    /// A plain background: nothing is requested from another host.
    None,
    /// Tianditu (天地图), with the deployer's key: approved borders.
    Tianditu,
    /// Amap (高德) raster tiles.
    Amap,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// The default service radius of each facility layer, metres (more than 0, at most
/// 500 000).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadiusSettings {
    /// 司机之家: a truck driver detours this far for a rest home, e.g. `20000`.
    pub driver_home: f64,
    /// 工会驿站: a courier's break is minutes long, e.g. `3000`.
    pub courier_station: f64,
    /// 职工健身驿站: a worker goes this far to exercise, e.g. `5000`.
    pub fitness_station: f64,
}

impl Default for RadiusSettings {
    fn default() -> Self {
        let d = Radii::defaults();
        let [driver_home, courier_station, fitness_station] =
            FacilityLayer::ALL.map(|l| d[l].metres());
        RadiusSettings {
            driver_home,
            courier_station,
            fitness_station,
        }
    }
}

/// Limits on what a request may send (the defaults are `crate::http::ServeOptions`'s).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// The longest request target (path and query string) answered, bytes; longer
    /// ones get 414. At most 65 534 (the HTTP stack's own ceiling), e.g. `8192`.
    pub max_uri_bytes: usize,
    /// The largest feature an edit may send, bytes (413 past it), e.g. `1048576`.
    pub max_feature_bytes: usize,
    /// The largest file an import may send, bytes, e.g. `52428800`.
    pub max_import_bytes: usize,
    /// The largest siting request, bytes (200,000 candidate points fit in 32 MiB).
    pub max_siting_bytes: usize,
    /// Failed sign-ins allowed from one address a minute before 429, e.g. `10`.
    pub failed_sign_ins_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        let http = crate::http::ServeOptions::default();
        Limits {
            max_uri_bytes: http.max_uri_bytes,
            max_feature_bytes: http.max_feature_bytes,
            max_import_bytes: http.max_import_bytes,
            max_siting_bytes: http.max_siting_bytes,
            failed_sign_ins_per_minute: http.failed_sign_ins_per_minute,
        }
    }
}

/// The longest URI the HTTP stack parses at all (the `http` crate's limit).
const URI_CEILING: usize = (u16::MAX - 1) as usize;

/// How a key's environment value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EnvKind {
    /// Taken as it is (a path, an address, a key: `0123` stays `0123`).
    Text,
    /// Read as a TOML-like value: numbers, `["a", "b"]`.
    Value,
}

/// Every key, dotted, with how its environment variable is read.
const KEYS: &[(&str, EnvKind)] = &[
    ("bind", EnvKind::Text),
    ("db", EnvKind::Text),
    ("data", EnvKind::Text),
    ("web", EnvKind::Text),
    ("basemap", EnvKind::Text),
    ("tianditu_key", EnvKind::Text),
    ("frame_ancestors", EnvKind::Text),
    ("write_origins", EnvKind::Value),
    ("log_format", EnvKind::Text),
    ("radius_m.driver_home", EnvKind::Value),
    ("radius_m.courier_station", EnvKind::Value),
    ("radius_m.fitness_station", EnvKind::Value),
    ("limits.max_uri_bytes", EnvKind::Value),
    ("limits.max_feature_bytes", EnvKind::Value),
    ("limits.max_import_bytes", EnvKind::Value),
    ("limits.max_siting_bytes", EnvKind::Value),
    ("limits.failed_sign_ins_per_minute", EnvKind::Value),
];

/// The environment variable of a dotted key: `radius_m.driver_home` →
/// `WAYSTATION_RADIUS_M__DRIVER_HOME`.
pub fn env_var(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

/// Values from the command line, each overriding the file and the environment.
/// Unset flags (`None`) leave the layers below alone.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Flags {
    /// `--bind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// `--db`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<PathBuf>,
    /// `--data`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// `--web`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web: Option<PathBuf>,
    /// `--basemap`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basemap: Option<BasemapKind>,
    /// `--tianditu-key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tianditu_key: Option<String>,
    /// `--frame-ancestors`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_ancestors: Option<String>,
    /// `--log-format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
}

impl Settings {
    /// The settings from the defaults, the file, the process's environment and
    /// `flags`. `file`: `--config`, which must exist; without it `waystation.toml`
    /// is read if it exists.
    pub fn load(file: Option<&Path>, flags: &Flags) -> Result<Settings, String> {
        Self::load_from(file, std::env::vars(), flags)
    }

    /// [`Self::load`] with the environment given (tests pass their own).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        flags: &Flags,
    ) -> Result<Settings, String> {
        let text = match file {
            Some(path) => Some(
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            ),
            None => match std::fs::read_to_string(DEFAULT_FILE) {
                Ok(text) => Some(text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("{DEFAULT_FILE}: {e}")),
            },
        };
        let name = file.map_or(DEFAULT_FILE.into(), |p| p.display().to_string());
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(text) = &text {
            // On its own first: toml's errors carry the line, the column and the key.
            toml::from_str::<Settings>(text).map_err(|e| format!("{name}: {e}"))?;
            figment = figment.merge(Toml::string(text));
        }
        let env = environment(env);
        for (key, value) in &env {
            figment = figment.merge(Serialized::default(key, value));
        }
        let settings: Settings = figment
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| {
                // The file was checked above and the flags are typed: a bad value
                // here came from the environment.
                e.into_iter()
                    .map(|e| {
                        let key = e.path.join(".");
                        match env.iter().any(|(k, _)| *k == key) {
                            true => format!("{}: {}", env_var(&key), e.kind),
                            false => format!("{key}: {}", e.kind),
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
        settings.check()?;
        Ok(settings)
    }

    /// Refuses settings that parse but cannot be served, naming the key.
    pub fn check(&self) -> Result<(), String> {
        self.basemap()?;
        self.radii()?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || " :/.*'-_".contains(c);
        if self.frame_ancestors.trim().is_empty() || !self.frame_ancestors.chars().all(allowed) {
            return Err(format!(
                "frame_ancestors: '{}' is not a CSP source list (e.g. * or 'self' or https://www.acftu.org)",
                self.frame_ancestors
            ));
        }
        for origin in &self.write_origins {
            let ok = origin.split_once("://").is_some_and(|(scheme, host)| {
                matches!(scheme, "http" | "https")
                    && !host.is_empty()
                    && !host.contains('/')
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
            });
            if !ok {
                return Err(format!(
                    "write_origins: '{origin}' is not an origin (scheme://host[:port], e.g. https://admin.example.org)"
                ));
            }
        }
        if !(1..=URI_CEILING).contains(&self.limits.max_uri_bytes) {
            return Err(format!(
                "limits.max_uri_bytes: must be between 1 and {URI_CEILING}, got {}",
                self.limits.max_uri_bytes
            ));
        }
        for (key, value) in [
            ("max_feature_bytes", self.limits.max_feature_bytes),
            ("max_import_bytes", self.limits.max_import_bytes),
            ("max_siting_bytes", self.limits.max_siting_bytes),
            (
                "failed_sign_ins_per_minute",
                self.limits.failed_sign_ins_per_minute as usize,
            ),
        ] {
            if value == 0 {
                return Err(format!("limits.{key}: must be more than 0"));
            }
        }
        Ok(())
    }

    /// The basemap, with its key.
    pub fn basemap(&self) -> Result<Basemap, String> {
        match (self.basemap, &self.tianditu_key) {
            (BasemapKind::None, _) => Ok(Basemap::None),
            (BasemapKind::Amap, _) => Ok(Basemap::Amap),
            (BasemapKind::Tianditu, Some(key)) if !key.trim().is_empty() => {
                Ok(Basemap::Tianditu { key: key.clone() })
            }
            (BasemapKind::Tianditu, _) => Err(format!(
                "basemap = \"tianditu\" needs tianditu_key (or --tianditu-key, or {})",
                env_var("tianditu_key")
            )),
        }
    }

    /// The service radii, validated.
    pub fn radii(&self) -> Result<Radii, String> {
        let r = &self.radius_m;
        let mut radii = Radii::defaults();
        for (layer, metres) in FacilityLayer::ALL.into_iter().zip([
            r.driver_home,
            r.courier_station,
            r.fitness_station,
        ]) {
            radii[layer] = Radius::new(metres).map_err(|e| format!("radius_m.{layer}: {e}"))?;
        }
        Ok(radii)
    }

    /// The database served: `db`, or `waystation.db` when neither `db` nor `data` is
    /// set; `None` serves `data` read-only.
    pub fn database(&self) -> Option<PathBuf> {
        self.db
            .clone()
            .or_else(|| self.data.is_none().then(|| PathBuf::from("waystation.db")))
    }

    /// The data directory: the seed of a new database, or the data served read-only.
    pub fn data_dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| PathBuf::from("geodata"))
    }

    /// The settings as a TOML file (what `waystation config check` prints), with a
    /// last comment saying what is served.
    pub fn to_toml(&self) -> Result<String, String> {
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        let data = self.data_dir();
        let served = match self.database() {
            Some(db) => format!(
                "the database {} (created from {} when missing), edits on",
                db.display(),
                data.display()
            ),
            None => format!("{} read-only", data.display()),
        };
        Ok(format!("{text}\n# serves {served}\n"))
    }
}

/// The known keys set in `env`, as figment values; other `WAYSTATION_` variables
/// (the browser tests' `WAYSTATION_URL`, …) are not settings and are left alone.
fn environment(env: impl IntoIterator<Item = (String, String)>) -> Vec<(&'static str, Value)> {
    let vars: BTreeMap<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    KEYS.iter()
        .filter_map(|(key, kind)| {
            let raw = vars.get(&env_var(key))?;
            let value = match kind {
                EnvKind::Text => Value::from(raw.clone()),
                EnvKind::Value => raw
                    .parse::<Value>()
                    .unwrap_or_else(|_| Value::from(raw.clone())),
            };
            Some((*key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, env: &[(&str, &str)], flags: &Flags) -> Result<Settings, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("waystation.toml");
        std::fs::write(&path, file).map_err(|e| e.to_string())?;
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Settings::load_from(Some(&path), env, flags)
    }

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let s = load("", &[], &Flags::default()).unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.database(), Some(PathBuf::from("waystation.db")));
        assert_eq!(s.data_dir(), PathBuf::from("geodata"));
        assert_eq!(s.radii().unwrap(), Radii::defaults());
    }

    #[test]
    fn the_file_sets_nested_keys_and_leaves_the_rest() {
        let s = load(
            "bind = \"0.0.0.0:9000\"\n[radius_m]\ncourier_station = 1500\n",
            &[],
            &Flags::default(),
        )
        .unwrap();
        assert_eq!(s.bind, "0.0.0.0:9000");
        assert_eq!(s.radius_m.courier_station, 1500.0);
        assert_eq!(s.radius_m.driver_home, 20_000.0);
        assert_eq!(s.limits, Limits::default());
    }

    #[test]
    fn unknown_keys_are_refused_with_line_and_key() {
        let e = load(
            "bind = \"127.0.0.1:1\"\n\ncolour = \"red\"\n",
            &[],
            &Flags::default(),
        )
        .unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("colour"), "{e}");
        let e = load("[radius_m]\ndriver_hom = 5\n", &[], &Flags::default()).unwrap_err();
        assert!(e.contains("line 2") && e.contains("driver_hom"), "{e}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_line() {
        let e = load(
            "\n[limits]\nmax_uri_bytes = \"big\"\n",
            &[],
            &Flags::default(),
        )
        .unwrap_err();
        assert!(e.contains("line 3") && e.contains("max_uri_bytes"), "{e}");
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let file = "bind = \"127.0.0.1:1\"\ntianditu_key = \"from-file\"\n[radius_m]\ndriver_home = 1000\n";
        let env = [
            ("WAYSTATION_BIND", "127.0.0.1:2"),
            ("WAYSTATION_RADIUS_M__DRIVER_HOME", "2000"),
            ("WAYSTATION_TIANDITU_KEY", "0123"),
            ("WAYSTATION_WRITE_ORIGINS", "[\"https://a.example.org\"]"),
            ("WAYSTATION_URL", "http://not-a-setting"),
        ];
        let s = load(file, &env, &Flags::default()).unwrap();
        assert_eq!(s.bind, "127.0.0.1:2");
        assert_eq!(s.radius_m.driver_home, 2000.0);
        // A key that looks like a number stays text.
        assert_eq!(s.tianditu_key.as_deref(), Some("0123"));
        assert_eq!(s.write_origins, ["https://a.example.org"]);
        let flags = Flags {
            bind: Some("127.0.0.1:3".into()),
            ..Flags::default()
        };
        let s = load(file, &env, &flags).unwrap();
        assert_eq!(s.bind, "127.0.0.1:3");
        assert_eq!(s.radius_m.driver_home, 2000.0);
    }

    #[test]
    fn a_bad_environment_value_names_its_variable() {
        let e = load(
            "",
            &[("WAYSTATION_LIMITS__MAX_URI_BYTES", "lots")],
            &Flags::default(),
        )
        .unwrap_err();
        assert!(e.starts_with("WAYSTATION_LIMITS__MAX_URI_BYTES: "), "{e}");
    }

    #[test]
    fn nonsense_is_refused_by_key() {
        for (file, key) in [
            (
                "[radius_m]\nfitness_station = 0\n",
                "radius_m.fitness_station",
            ),
            ("basemap = \"tianditu\"\n", "tianditu_key"),
            ("frame_ancestors = \"a; script-src *\"\n", "frame_ancestors"),
            ("write_origins = [\"example.org\"]\n", "write_origins"),
            ("[limits]\nmax_uri_bytes = 100000\n", "limits.max_uri_bytes"),
        ] {
            let e = load(file, &[], &Flags::default()).unwrap_err();
            assert!(e.contains(key), "{file}: {e}");
        }
    }

    #[test]
    fn the_printed_settings_read_back_the_same() {
        let mut s = Settings {
            db: Some("x.db".into()),
            write_origins: vec!["https://a.example.org".into()],
            ..Settings::default()
        };
        s.radius_m.courier_station = 2500.0;
        let text = s.to_toml().unwrap();
        assert_eq!(toml::from_str::<Settings>(&text).unwrap(), s);
    }

    /// Every key of the settings has its environment variable, and no other.
    #[test]
    fn every_key_is_in_the_environment_table() {
        let full = Settings {
            db: Some("x".into()),
            data: Some("y".into()),
            tianditu_key: Some("k".into()),
            ..Settings::default()
        };
        let value = toml::Value::try_from(&full).unwrap();
        let mut keys = Vec::new();
        for (k, v) in value.as_table().unwrap() {
            match v.as_table() {
                Some(t) => keys.extend(t.keys().map(|n| format!("{k}.{n}"))),
                None => keys.push(k.clone()),
            }
        }
        keys.sort();
        let mut known: Vec<String> = KEYS.iter().map(|(k, _)| k.to_string()).collect();
        known.sort();
        assert_eq!(keys, known);
    }

    /// The example file at the top of the repository is a valid configuration that
    /// sets every key.
    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../waystation.example.toml");
        let s: Settings = toml::from_str(text).unwrap();
        s.check().unwrap();
    }
}
