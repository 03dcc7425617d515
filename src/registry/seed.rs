//! Opening the store of record: created and seeded from a data directory the first
//! time, then read back into a validated dataset; and exporting it to the same
//! directory layout.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::geodata::snapshot;
use crate::geodata::{Collection, Dataset, LoadError, load_collections, load_dir, read_calendar};
use crate::model::Layer;
use crate::store::{Store, StoreError};

/// Why the store could not be opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The seed directory or the stored features do not validate.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
struct Features<'a> {
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    properties: Option<IdProps<'a>>,
}

#[derive(Deserialize)]
struct IdProps<'a> {
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// Opens the database `db`; when it does not exist yet, creates it and seeds it from
/// the data directory `seed` (validated whole first: bad seed data creates nothing).
/// Returns the store, its features (validated by the loader's rules against the
/// holiday calendar of `seed`, else the bundled one), whether it was created, and
/// the store generation the features are of.
pub fn open(db: &Path, seed: &Path) -> Result<(Store, Dataset, bool, i64), OpenError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| OpenError::Io { path, source }
    };
    let created = !db.exists();
    if created {
        // Validate before creating anything.
        load_dir(seed)?;
    }
    let mut store = Store::open(db)?;
    if created {
        let mut rows = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(seed)
            .map_err(io(seed))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "geojson"))
            .collect();
        files.sort();
        for path in files {
            let stem = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .unwrap_or("");
            let Ok(layer) = stem.parse::<Layer>() else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let parsed: Features = serde_json::from_str(&text).map_err(|e| OpenError::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            })?;
            for raw in parsed.features {
                let id = serde_json::from_str::<IdOnly>(raw.get())
                    .ok()
                    .and_then(|f| f.properties?.id)
                    .map(|id| id.into_owned())
                    .unwrap_or_default();
                rows.push((id, layer, raw.get().to_owned()));
            }
        }
        let n = store.seed(rows)?;
        tracing::info!(
            "created {} with {n} features from {}",
            db.display(),
            seed.display()
        );
    }
    let (data, generation) = read_cached(&store, db, seed)?;
    Ok((store, data, created, generation))
}

/// [`read`], through a snapshot beside the database keyed by its generation (a
/// million features: the snapshot decodes in about a second, validation takes ten).
fn read_cached(store: &Store, db: &Path, calendar_dir: &Path) -> Result<(Dataset, i64), OpenError> {
    let generation = store.generation()?;
    let file = snapshot::database_snapshot(db);
    let key = snapshot::database_key(db, generation, calendar_dir);
    if let Ok(key) = key {
        match snapshot::read_from(&file, calendar_dir, key) {
            Ok(data) => {
                tracing::info!("features read from the snapshot {}", file.display());
                return Ok((data, generation));
            }
            Err(snapshot::SnapshotError::Stale) => {}
            Err(why) => tracing::warn!("{}: {why}; reading the database", file.display()),
        }
    }
    let (data, generation) = store.consistent(|s| Ok((read(s, calendar_dir), s.generation()?)))?;
    let data = data?;
    if let Ok(key) = snapshot::database_key(db, generation, calendar_dir) {
        match snapshot::write_to(&file, &data, key) {
            Ok(path) => tracing::info!("wrote {}", path.display()),
            Err(e) => tracing::warn!("no snapshot written: {e}"),
        }
    }
    Ok((data, generation))
}

/// The store's features, validated as the loader validates files.
pub fn read(store: &Store, calendar_dir: &Path) -> Result<Dataset, OpenError> {
    let (calendar, _) = read_calendar(calendar_dir).map_err(|source| OpenError::Io {
        path: calendar_dir.to_owned(),
        source,
    })?;
    let calendar = calendar.unwrap_or_else(|why| {
        tracing::warn!(
            "holiday calendar in {}: {why}; using the bundled one",
            calendar_dir.display()
        );
        crate::model::hours::Calendar::bundled()
    });
    let collections = Layer::ALL
        .iter()
        .map(|&layer| {
            Ok(Collection {
                label: store.path().join(layer.id()),
                layer,
                bytes: store.layer_collection(layer)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(load_collections(&collections, calendar)?)
}

/// Writes the store's features in the layout of `geodata/`: one
/// `LAYER.registry.geojson` FeatureCollection per layer, each feature exactly as
/// stored. Seeding a new database from the directory gives the same features.
pub fn export(store: &Store, out: &Path) -> Result<Vec<(PathBuf, usize)>, OpenError> {
    std::fs::create_dir_all(out).map_err(|source| OpenError::Io {
        path: out.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for layer in Layer::ALL {
        let features = store.features(Some(layer))?;
        let mut text = String::from("{\"type\":\"FeatureCollection\",\"features\":[\n");
        for (i, (_, body)) in features.iter().enumerate() {
            if i > 0 {
                text.push_str(",\n");
            }
            text.push_str(body);
        }
        text.push_str("\n]}\n");
        let path = out.join(format!("{}.registry.geojson", layer.id()));
        std::fs::write(&path, text).map_err(|source| OpenError::Io {
            path: path.clone(),
            source,
        })?;
        written.push((path, features.len()));
    }
    Ok(written)
}
