//! The basemap the web map draws under our layers, and the raster sources it
//! needs, described here so that the page itself names no outside host: with the
//! default (none) it requests nothing from anywhere but this server.

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

/// The basemap the web map draws under our layers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Basemap {
    /// A plain background with our own place names; no request leaves the server.
    #[default]
    None,
    /// Tianditu Web-Mercator layers (approved, with borders) with the deployer's key.
    Tianditu {
        /// The deployer's Tianditu key (`tk`).
        key: String,
    },
    /// Amap raster tiles (GCJ-02: the page converts our points before drawing).
    Amap,
}

/// One raster source of a basemap, drawn in order.
#[derive(Debug, Serialize)]
struct RasterSource {
    id: &'static str,
    /// Tile URL templates (`{x}`, `{y}`, `{z}`), any of which serves every tile.
    tiles: Vec<String>,
    /// HTML attribution, on the first source only.
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'static str>,
    maxzoom: u8,
}

impl Basemap {
    fn id(&self) -> &'static str {
        match self {
            Basemap::None => "none",
            Basemap::Tianditu { .. } => "tianditu",
            Basemap::Amap => "amap",
        }
    }

    /// The origins its tiles come from (`https://host`), for the pages' CSP.
    pub fn tile_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = self
            .sources()
            .iter()
            .flat_map(|s| s.tiles.iter())
            .filter_map(|url| {
                let rest = url.strip_prefix("https://")?;
                let host = rest.split('/').next()?;
                Some(format!("https://{host}"))
            })
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }

    /// The coordinate system the basemap's tiles are drawn in.
    fn crs(&self) -> &'static str {
        match self {
            Basemap::Amap => "gcj02",
            Basemap::None | Basemap::Tianditu { .. } => "wgs84",
        }
    }

    fn sources(&self) -> Vec<RasterSource> {
        match self {
            Basemap::None => Vec::new(),
            Basemap::Tianditu { key } => {
                let key: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
                let tiles = |layer: &str| {
                    (0..8)
                        .map(|n| {
                            format!(
                                "https://t{n}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile\
                                 &VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles\
                                 &TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
                            )
                        })
                        .collect()
                };
                vec![
                    RasterSource {
                        id: "tdt_vec",
                        tiles: tiles("vec"),
                        attribution: Some(
                            "© <a href=\"https://www.tianditu.gov.cn/\" target=\"_blank\" \
                             rel=\"noopener\">天地图 Tianditu</a>",
                        ),
                        maxzoom: 18,
                    },
                    RasterSource {
                        id: "tdt_cva",
                        tiles: tiles("cva"),
                        attribution: None,
                        maxzoom: 18,
                    },
                ]
            }
            Basemap::Amap => vec![RasterSource {
                id: "amap",
                tiles: (1..=4)
                    .map(|n| {
                        format!(
                            "https://webrd0{n}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1\
                             &style=8&x={{x}}&y={{y}}&z={{z}}"
                        )
                    })
                    .collect(),
                attribution: Some(
                    "© <a href=\"https://www.amap.com/\" target=\"_blank\" rel=\"noopener\">\
                     高德地图 AutoNavi</a>",
                ),
                maxzoom: 18,
            }],
        }
    }
}

/// As the page reads it: `{"kind", "crs", "sources": [{id, tiles, attribution?, maxzoom}]}`.
impl Serialize for Basemap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Basemap", 3)?;
        m.serialize_field("kind", self.id())?;
        m.serialize_field("crs", self.crs())?;
        m.serialize_field("sources", &self.sources())?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_names_no_source_and_others_carry_their_tiles() {
        let none = serde_json::to_value(Basemap::None).unwrap();
        assert_eq!(none["kind"], "none");
        assert_eq!(none["sources"].as_array().unwrap().len(), 0);

        let tdt = serde_json::to_value(Basemap::Tianditu {
            key: "a b&c".into(),
        })
        .unwrap();
        assert_eq!(tdt["crs"], "wgs84");
        let tiles = tdt["sources"][0]["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), 8);
        let t0 = tiles[0].as_str().unwrap();
        assert!(
            t0.starts_with("https://t0.tianditu.gov.cn/vec_w/wmts?"),
            "{t0}"
        );
        assert!(
            t0.ends_with("TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=a+b%26c"),
            "{t0}"
        );
        assert_eq!(tdt["sources"][1]["id"], "tdt_cva");

        let amap = serde_json::to_value(Basemap::Amap).unwrap();
        assert_eq!(amap["crs"], "gcj02");
        let t = amap["sources"][0]["tiles"][3].as_str().unwrap();
        assert_eq!(
            t,
            "https://webrd04.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
        );
    }
}
