//! Coverage on a hexagonal grid: parks, workers and facilities aggregated on H3 cells.
//!
//! 1. every park and facility (inside the bbox, when one is given) is put in its H3
//!    cell at the chosen resolution, in parallel;
//! 2. the (cell, feature) pairs are sorted by cell and folded into one [`GridCell`]
//!    per cell that holds anything: empty cells are left out;
//! 3. per cell, in parallel, the great-circle distance from the cell's centre to the
//!    nearest facility of the chosen layer.
//!
//! Resolutions 4 (about 1,770 km² a cell) to 8 (about 0.74 km²). The cost is in the
//! cells that hold something, not in the area: [`grid`] counts them after step 2 and
//! refuses (with the count) before step 3 when there are more than the caller allows.

use h3o::{CellIndex, LatLng, Resolution};
use rayon::prelude::*;

use super::{CoverageError, FacilityLayer, PerLayer};
use crate::index::{Atlas, BBox, sphere};
use crate::model::{Layer, LonLat};

/// An H3 resolution the grid offers: 4 to 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridResolution(Resolution);

impl GridResolution {
    /// The coarsest resolution offered.
    pub const MIN: u8 = 4;
    /// The finest resolution offered.
    pub const MAX: u8 = 8;

    /// Validates a resolution.
    pub fn new(res: i64) -> Result<Self, CoverageError> {
        let refuse = || CoverageError::Resolution {
            got: res,
            min: Self::MIN,
            max: Self::MAX,
        };
        let r = u8::try_from(res)
            .ok()
            .filter(|r| (Self::MIN..=Self::MAX).contains(r))
            .ok_or_else(refuse)?;
        Resolution::try_from(r)
            .map(GridResolution)
            .map_err(|_| refuse())
    }

    /// The H3 resolution.
    pub fn resolution(self) -> Resolution {
        self.0
    }

    /// Its number, 4 to 8.
    pub fn number(self) -> u8 {
        u8::from(self.0)
    }
}

/// One cell with something in it.
#[derive(Clone, Debug, PartialEq)]
pub struct GridCell {
    /// The H3 cell.
    pub cell: CellIndex,
    /// Parks whose representative point is in the cell.
    pub parks: u32,
    /// Their workers (parks with a known count).
    pub workers: u64,
    /// Workers of the parks whose worker and member counts are both known.
    pub workers_with_members: u64,
    /// Union members of those parks.
    pub union_members: u64,
    /// `workers − union_members`, summed over those parks.
    pub ununionised_workers: u64,
    /// Facilities of each layer in the cell.
    pub facilities: PerLayer<u32>,
    /// Metres from the cell's centre to the nearest facility of the chosen layer.
    pub nearest_m: Option<f64>,
}

impl GridCell {
    fn empty(cell: CellIndex) -> Self {
        GridCell {
            cell,
            parks: 0,
            workers: 0,
            workers_with_members: 0,
            union_members: 0,
            ununionised_workers: 0,
            facilities: PerLayer::from_fn(|_| 0),
            nearest_m: None,
        }
    }

    /// Union members per worker, over the parks where both are known.
    pub fn unionised_share(&self) -> Option<f64> {
        (self.workers_with_members > 0)
            .then(|| self.union_members as f64 / self.workers_with_members as f64)
    }

    /// The cell's centre.
    pub fn centre(&self) -> LatLng {
        LatLng::from(self.cell)
    }

    /// The cell's outline as a closed GeoJSON ring `[lon, lat]`, counter-clockwise.
    /// Longitudes are kept continuous, so a cell across ±180° extends past it rather
    /// than wrapping round the world.
    pub fn ring(&self) -> Vec<[f64; 2]> {
        let boundary = self.cell.boundary();
        let mut ring: Vec<[f64; 2]> = boundary.iter().map(|ll| [ll.lng(), ll.lat()]).collect();
        continuous_longitudes(&mut ring);
        if let Some(first) = ring.first().copied() {
            ring.push(first);
        }
        ring
    }
}

/// Shifts longitudes by ±360° so that no edge of the ring jumps across the antimeridian.
pub fn continuous_longitudes(ring: &mut [[f64; 2]]) {
    for i in 1..ring.len() {
        let prev = ring[i - 1][0];
        let lon = &mut ring[i][0];
        while *lon - prev > 180.0 {
            *lon -= 360.0;
        }
        while prev - *lon > 180.0 {
            *lon += 360.0;
        }
    }
}

/// What fell in a cell: a park or a facility of some layer, by index.
#[derive(Clone, Copy)]
enum Item {
    Park(u32),
    Facility(FacilityLayer),
}

fn cell_of(p: LonLat, res: Resolution) -> Option<CellIndex> {
    LatLng::new(p.lat(), p.lon()).ok().map(|ll| ll.to_cell(res))
}

/// The grid over the whole data or a bbox, with distances to `layer`, in cell order;
/// `Err(cells)` when it would hold more than `max_cells` cells (found before any
/// distance is measured: the cost is in the cells that hold something, not in the
/// area).
pub fn grid(
    atlas: &Atlas,
    res: GridResolution,
    bbox: Option<&BBox>,
    layer: FacilityLayer,
    max_cells: usize,
) -> Result<Vec<GridCell>, usize> {
    let res = res.resolution();
    let data = atlas.data();
    let parks: Vec<u32> = match bbox {
        Some(b) => atlas.in_bbox(Layer::Park, b),
        None => (0..data.parks.len() as u32).collect(),
    };
    let facilities: Vec<u32> = match bbox {
        Some(b) => FacilityLayer::ALL
            .iter()
            .flat_map(|l| atlas.in_bbox(l.layer(), b))
            .collect(),
        None => (0..data.facilities.len() as u32).collect(),
    };
    // 1. each feature to its cell.
    let mut keyed: Vec<(CellIndex, Item)> = parks
        .par_iter()
        .filter_map(|i| cell_of(atlas.park(*i).position, res).map(|c| (c, Item::Park(*i))))
        .chain(facilities.par_iter().filter_map(|i| {
            let f = atlas.facility(*i);
            let l = FacilityLayer::new(f.layer).ok()?;
            cell_of(f.position, res).map(|c| (c, Item::Facility(l)))
        }))
        .collect();
    // 2. group by cell.
    keyed.par_sort_unstable_by_key(|(c, _)| *c);
    let groups: Vec<&[(CellIndex, Item)]> = keyed.chunk_by(|a, b| a.0 == b.0).collect();
    if groups.len() > max_cells {
        return Err(groups.len());
    }
    // 3. fold each cell and measure from its centre.
    Ok(groups
        .par_iter()
        .filter_map(|g| {
            let cell = g.first()?.0;
            let mut out = GridCell::empty(cell);
            for (_, item) in g.iter() {
                match *item {
                    Item::Park(i) => {
                        let c = atlas.park(i).counts;
                        out.parks += 1;
                        out.workers += u64::from(c.workers.unwrap_or(0));
                        if let (Some(w), Some(m)) = (c.workers, c.union_members) {
                            out.workers_with_members += u64::from(w);
                            out.union_members += u64::from(m.min(w));
                            out.ununionised_workers += u64::from(w.saturating_sub(m));
                        }
                    }
                    Item::Facility(l) => out.facilities[l] += 1,
                }
            }
            let centre = out.centre();
            let xyz = LonLat::new(centre.lng(), centre.lat())
                .ok()
                .map(sphere::unit_vector)?;
            out.nearest_m = atlas
                .layer_nearest(layer.layer(), xyz)
                .map(|(_, d2)| sphere::chord2_to_metres(d2));
            Some(out)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::coverage::test_data;

    #[test]
    fn resolutions_are_bounded() {
        assert!(GridResolution::new(4).is_ok());
        assert_eq!(GridResolution::new(8).map(|r| r.number()), Ok(8));
        for bad in [-1, 0, 3, 9, 15, 300] {
            assert!(GridResolution::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rings_are_closed_and_continuous() {
        let mut ring = vec![[179.9, 0.0], [-179.9, 0.0], [-179.9, 1.0]];
        continuous_longitudes(&mut ring);
        assert_eq!(ring[0], [179.9, 0.0]);
        assert!((ring[1][0] - 180.1).abs() < 1e-9);
        assert!((ring[2][0] - 180.1).abs() < 1e-9);
        let cell = LatLng::new(31.23, 121.47).unwrap().to_cell(Resolution::Six);
        let r = GridCell::empty(cell).ring();
        assert_eq!(r.first(), r.last());
        assert!(r.len() >= 7);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        /// Every park and facility lands in exactly one listed cell, the cell that holds
        /// it; no listed cell is empty; distances from cell centres are the brute-force ones.
        #[test]
        fn cells_hold_everything_once(atlas in test_data::atlas(), res in 4i64..=8, l in 0usize..3) {
            let res = GridResolution::new(res).unwrap();
            let layer = FacilityLayer::ALL[l];
            let cells = grid(&atlas, res, None, layer, usize::MAX).unwrap();
            // One cell fewer allowed than the answer holds: refused, with the count.
            let refused = grid(&atlas, res, None, layer, cells.len().saturating_sub(1)).err();
            prop_assert_eq!(refused, (!cells.is_empty()).then_some(cells.len()));
            let data = atlas.data();
            prop_assert_eq!(cells.iter().map(|c| c.parks as usize).sum::<usize>(), data.parks.len());
            let facilities: u32 = cells.iter().map(|c| c.facilities.iter().map(|(_, n)| *n).sum::<u32>()).sum();
            prop_assert_eq!(facilities as usize, data.facilities.len());
            prop_assert!(cells.windows(2).all(|w| w[0].cell < w[1].cell));
            for c in &cells {
                prop_assert!(c.parks > 0 || c.facilities.iter().any(|(_, n)| *n > 0));
                let centre = c.centre();
                let centre = LonLat::new(centre.lng(), centre.lat()).unwrap();
                let brute = data.facilities.iter()
                    .filter(|f| f.layer == layer.layer())
                    .map(|f| sphere::haversine_m(centre, f.position))
                    .reduce(f64::min);
                match (c.nearest_m, brute) {
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-3),
                    (a, b) => prop_assert_eq!(a, b),
                }
            }
            for p in &data.parks {
                let cell = cell_of(p.position, res.resolution()).unwrap();
                prop_assert!(cells.binary_search_by_key(&cell, |c| c.cell).is_ok());
            }
        }
    }
}
