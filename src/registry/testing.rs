//! Helpers for the registry's unit tests: a seed directory of the bundled data,
//! every feature served, the database read whole, a station to write.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::read;
use crate::index::Atlas;
use crate::model::Layer;
use crate::store::{Op, Store, Write};

/// A seed directory under `root`: the bundled data.
pub fn seed_dir(root: &Path) -> PathBuf {
    let seed = root.join("seed");
    std::fs::create_dir_all(&seed).unwrap();
    for e in std::fs::read_dir("geodata").unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".geojson") || name == "holidays_cn.json" {
            std::fs::copy(&p, seed.join(name)).unwrap();
        }
    }
    seed
}

/// Every feature served, by id: its record in full.
pub fn served(atlas: &Atlas) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for i in 0..atlas.facility_count() as u32 {
        // Opening hours by their text: their numbering depends on the load order.
        let mut f = atlas.facility(i).clone();
        let hours = f.hours.take().map(|h| atlas.schedules().text(h).to_owned());
        let record = format!("{f:?} {hours:?}");
        assert!(out.insert(f.id().to_owned(), record).is_none());
    }
    for i in 0..atlas.park_count() as u32 {
        let p = atlas.park(i);
        assert!(out.insert(p.id.to_string(), format!("{p:?}")).is_none());
    }
    out
}

/// The database `db` read whole, as served.
pub fn truth(db: &Path, seed: &Path) -> BTreeMap<String, String> {
    let store = Store::open(db).unwrap();
    served(&Atlas::new(read(&store, seed).unwrap()))
}

/// A courier station `id` named `name` at (`lon`, 35.1), written as `op`.
pub fn station(id: &str, name: &str, lon: f64, op: Op) -> Write {
    let body = serde_json::json!({"type": "Feature", "id": id,
        "geometry": {"type": "Point", "coordinates": [lon, 35.1]},
        "properties": {"id": id, "layer": "courier_station", "name": name,
            "source": "test", "position_accuracy": "surveyed", "synthetic": false}});
    Write::Put {
        id: id.into(),
        layer: Layer::CourierStation,
        body: body.to_string(),
        expect: None,
        op,
    }
}
