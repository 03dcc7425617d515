//! The commands on data files and on the database outside the server: `gen`
//! (the synthetic demo data), `validate` (a data directory), `export`, `backup`
//! and `purge` (the database).

use std::path::Path;

use super::db::open_existing;
use crate::geodata::{self, generate::GenOptions};
use crate::registry::{self, Registry};

/// `waystation gen`: writes the demo data set to `out`.
pub(super) fn generate(opts: &GenOptions, out: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let summary = geodata::generate::generate(opts, out).map_err(|e| e.to_string())?;
    println!(
        "wrote {} facilities and {} parks to {} in {:.1} s",
        summary.facilities,
        summary.parks,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `waystation validate`: loads `dir` as `serve` would; the first problem fails.
pub(super) fn validate(dir: &Path) -> Result<(), String> {
    let data = geodata::load_dir(dir).map_err(|e| e.to_string())?;
    println!(
        "{}: {} facilities, {} parks, {} distinct opening-hours expressions: no problems",
        dir.display(),
        data.facilities.len(),
        data.parks.len(),
        data.schedules.len()
    );
    Ok(())
}

/// `waystation export`: the database's features as GeoJSON files in `out`.
pub(super) fn export(db: &Path, out: &Path) -> Result<(), String> {
    let store = open_existing(db)?;
    for (path, n) in registry::export(&store, out).map_err(|e| e.to_string())? {
        println!("{}: {n} features", path.display());
    }
    Ok(())
}

/// `waystation backup`: SQLite's online backup of `db` to a new file `out`.
pub(super) fn backup(db: &Path, out: &Path) -> Result<(), String> {
    if out.exists() {
        return Err(format!(
            "{}: exists already; give a new file",
            out.display()
        ));
    }
    let store = open_existing(db)?;
    store.backup(out).map_err(|e| e.to_string())?;
    println!("{} copied to {}", db.display(), out.display());
    Ok(())
}

/// `waystation purge --synthetic`: removes the generated features, each audited.
pub(super) fn purge(db: &Path) -> Result<(), String> {
    let store = open_existing(db)?;
    let generation = store.generation().map_err(|e| e.to_string())?;
    // Nothing is served here: the registry publishes to nobody.
    let registry = Registry::new(store, Default::default(), generation, Path::new("geodata"));
    let n = registry
        .purge_synthetic("waystation purge")
        .map_err(|e| e.to_string())?;
    println!("removed {n} generated demo features (each is in the audit log)");
    Ok(())
}
