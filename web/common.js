// Small pieces every page shares: the language choice (remembered across pages)
// and reading a JSON answer, a failure as an Error carrying the server's
// problem+json detail and invalid-params.

const LANG_KEY = 'waystation.lang';

// 'zh' or 'en': the query parameter `param` first, then the last choice made on
// any page, then Chinese.
export function pickLang(params, param = 'lang') {
  const q = (params.get(param) || '').toLowerCase();
  if (q.startsWith('en')) return 'en';
  if (q.startsWith('zh')) return 'zh';
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch { /* storage may be blocked in an iframe */ }
  return 'zh';
}

// Remembers the language chosen, for every page of the site.
export function saveLang(lang) {
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage may be blocked */ }
}

// The Error for a failed answer: its message (and `detail`) the problem's detail
// (or title, or the status line), `invalid` the problem's invalid-params (each
// { name, reason }), `status` the HTTP status.
export async function problemError(r) {
  let detail = `${r.status} ${r.statusText}`;
  let invalid = [];
  try {
    const body = await r.json();
    detail = body.detail || body.title || detail;
    invalid = Array.isArray(body['invalid-params']) ? body['invalid-params'] : [];
  } catch { /* not JSON */ }
  const e = new Error(detail);
  e.detail = detail;
  e.invalid = invalid;
  e.status = r.status;
  return e;
}

// The language this page shows, for the server's problem texts (`Accept-Language`:
// the page's switch, not the browser's default).
export function langHeader() {
  return { 'Accept-Language': (document.documentElement.lang || '').toLowerCase().startsWith('en') ? 'en' : 'zh-CN' };
}

// GETs `path` as JSON; a failed answer throws problemError's Error.
export async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json', ...langHeader() } });
  if (!r.ok) throw await problemError(r);
  return r.json();
}

// ---- the map's base: a plain land background, plus the configured raster basemap
// if any. No borders are drawn by us, ever (审图号 rule): only an approved basemap may.

const LAND = '#eef0e8';

// The opt-in basemap's raster sources as the server describes them
// (/api/v1/config): no page names an outside host, and with kind "none" there are none.
export function basemapSources(basemap) {
  return (basemap && Array.isArray(basemap.sources)) ? basemap.sources : [];
}

// A MapLibre style named `name`: the land background and the basemap's raster layers.
export function baseStyle(name, basemap) {
  const style = {
    version: 8,
    name,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': LAND } }],
  };
  for (const src of basemapSources(basemap)) {
    style.sources[src.id] = { type: 'raster', tiles: src.tiles, tileSize: 256, maxzoom: src.maxzoom, attribution: src.attribution };
    style.layers.push({ id: src.id, type: 'raster', source: src.id });
  }
  return style;
}

// The layers' colours, on every page: white text on each is at least 4.5:1 (WCAG AA
// for small text: the cluster counts are drawn in white on them).
export const LAYER_COLOURS = {
  driver_home: '#1c64c8',
  courier_station: '#c44d0a',
  fitness_station: '#0b7285',
  park: '#7048e8',
};
