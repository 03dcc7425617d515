//! Axis-aligned boxes around points on the unit sphere, in `f64`: the bounds the
//! coverage k-d tree prunes with (the packed nearest tree keeps its own `f32`
//! copies, column-wise, see `packed`).

/// An axis-aligned box around points on the unit sphere, and the squared chord
/// distances from a query point that prune a tree walk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Aabb {
    pub(crate) min: [f64; 3],
    pub(crate) max: [f64; 3],
}

impl Aabb {
    pub(crate) const EMPTY: Aabb = Aabb {
        min: [f64::INFINITY; 3],
        max: [f64::NEG_INFINITY; 3],
    };

    /// The box around `points` ([`Aabb::EMPTY`] when there are none).
    pub(crate) fn of(points: &[[f64; 3]]) -> Self {
        let mut b = Aabb::EMPTY;
        for p in points {
            b.extend(p);
        }
        b
    }

    /// Grows the box to hold `p`.
    pub(crate) fn extend(&mut self, p: &[f64; 3]) {
        for ((lo, hi), v) in self.min.iter_mut().zip(self.max.iter_mut()).zip(p) {
            *lo = lo.min(*v);
            *hi = hi.max(*v);
        }
    }

    /// The box around both.
    pub(crate) fn union(a: Aabb, b: Aabb) -> Self {
        Aabb {
            min: std::array::from_fn(|i| a.min[i].min(b.min[i])),
            max: std::array::from_fn(|i| a.max[i].max(b.max[i])),
        }
    }

    /// Squared distance from `q` to the nearest point of the box.
    pub(crate) fn min_d2(&self, q: &[f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for ((lo, hi), v) in self.min.iter().zip(&self.max).zip(q) {
            let d = if v < lo {
                lo - v
            } else if v > hi {
                v - hi
            } else {
                0.0
            };
            d2 += d * d;
        }
        d2
    }

    /// Squared distance from `q` to the farthest corner: no point of the box is farther.
    pub(crate) fn max_d2(&self, q: &[f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for ((lo, hi), v) in self.min.iter().zip(&self.max).zip(q) {
            let d = (v - lo).abs().max((hi - v).abs());
            d2 += d * d;
        }
        d2
    }
}
