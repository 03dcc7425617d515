// WGS-84 <-> GCJ-02 conversion for drawing on Amap (高德) tiles.
//
// Source of the formula: the commonly published GCJ-02 forward transform
// (Krasovsky-1940 ellipsoid, a = 6378245 m, e² = 0.00669342162296594323, with
// the polynomial/sine offset terms below), as used by e.g. the open-source
// "eviltransform" (MIT) and "coordtransform" projects — the Rust server uses the
// `coordtransform` crate with the same constants. The formula has no closed-form
// inverse; gcj02ToWgs84 refines a first guess by fixed-point iteration against
// the forward transform, which gets below 1e-7° (≈1 cm) in a few rounds.
//
// Outside a rough rectangle around China the offset is not applied (GCJ-02 is
// only defined for mainland China). The server uses a finer land mask, so
// points near the borders or in Hong Kong / Macau may differ by up to the
// offset (a few hundred metres) between the two; all our data is inland.
//
// Plain functions, no dependencies; coordinates are [lon, lat] in degrees.

const A = 6378245.0;
const EE = 0.00669342162296594323;
const PI = Math.PI;

export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function transformLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * PI) + 320 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function transformLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
  return r;
}

function delta(lon, lat) {
  let dLat = transformLat(lon - 105.0, lat - 35.0);
  let dLon = transformLon(lon - 105.0, lat - 35.0);
  const radLat = (lat / 180.0) * PI;
  let magic = Math.sin(radLat);
  magic = 1 - EE * magic * magic;
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sqrtMagic)) * PI);
  dLon = (dLon * 180.0) / ((A / sqrtMagic) * Math.cos(radLat) * PI);
  return [dLon, dLat];
}

/** WGS-84 [lon, lat] → GCJ-02 [lon, lat]. */
export function wgs84ToGcj02(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  const [dLon, dLat] = delta(lon, lat);
  return [lon + dLon, lat + dLat];
}

/** GCJ-02 [lon, lat] → WGS-84 [lon, lat] (iterative inverse). */
export function gcj02ToWgs84(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let wLon = lon;
  let wLat = lat;
  for (let i = 0; i < 10; i++) {
    const [gLon, gLat] = wgs84ToGcj02(wLon, wLat);
    const eLon = gLon - lon;
    const eLat = gLat - lat;
    wLon -= eLon;
    wLat -= eLat;
    if (Math.abs(eLon) < 1e-9 && Math.abs(eLat) < 1e-9) break;
  }
  return [wLon, wLat];
}

/**
 * A converter pair for the current basemap: `toDisplay` maps stored WGS-84
 * to what the basemap expects, `fromDisplay` maps a map position back.
 */
export function converterFor(crs) {
  if (crs === 'gcj02') {
    return {
      crs,
      toDisplay: (c) => wgs84ToGcj02(c[0], c[1]),
      fromDisplay: (c) => gcj02ToWgs84(c[0], c[1]),
    };
  }
  return { crs: 'wgs84', toDisplay: (c) => [c[0], c[1]], fromDisplay: (c) => [c[0], c[1]] };
}
