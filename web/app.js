// 驿站地图 / Waystation map: the page's whole behaviour. Vanilla JS, no build.
//
// Offline by default: with basemap kind "none" the only requests go to this
// page's own origin. No glyph server is used: the style has no symbol layers;
// cluster counts, place names and result numbers are HTML markers drawn with
// the device's own fonts (place names are placed clear of the cluster circles
// by declutterPlaces, since no symbol collision is at hand).
//
// Which facility layers count is one set, state.visible: a layer's chip, its
// box in the nearest filter and the quick driver filter all change that set,
// and the nearest query asks for the visible facility layers only.
//
// Coordinates: the API speaks WGS-84. When the basemap is Amap (GCJ-02) every
// drawn point is converted WGS-84 → GCJ-02 (coords.js) and every map position
// we read back (clicks) is converted GCJ-02 → WGS-84 before querying.

import { converterFor } from './coords.js';
import { LAYER_COLOURS, baseStyle, basemapSources, getJSON, langHeader, pickLang, problemError, saveLang } from './common.js';
import {
  STRINGS, AMENITIES, UNION_STATUS, UNION_STATUS_SHORT, POSITION_ACCURACY, VALUES, COMPASS, HOURS_WORDS, LAYER_ONE,
  LAYER_SINGULAR, LAYER_CHIP,
} from './i18n.js';
import { createPlanner } from './planner.js';
import './along.js'; // the along-route mode (沿途), wired to this page through window.__waystation
import './search.js'; // the search box (搜索), wired to this page through window.__waystation
import { initOffline, noteNearest } from './offline.js'; // the installable app: service worker, offline results

const maplibregl = window.maplibregl;

// ---------------------------------------------------------------------------
// Settings from the address bar: ?lang=en ?embed=1 ?layers=a,b ?center=lon,lat ?zoom=z
// ?mode=coverage (the planner's coverage mode, planner.js)

const params = new URLSearchParams(location.search);
const EMBED = ['1', 'true', 'yes'].includes((params.get('embed') || '').toLowerCase());
const LAYER_PARAM = (params.get('layers') || '').split(',').map((s) => s.trim()).filter(Boolean);

const FALLBACK_COLOURS = ['#087f5b', '#c2255c', '#495057', '#364fc7', '#862e9c']; // white text ≥ 4.5:1, as LAYER_COLOURS
// Clusters of different layers at one city sit side by side (2×2), not on top
// of each other: a pixel offset per layer, for the circle and its HTML count.
const CLUSTER_OFFSETS = [[-14, -14], [14, -14], [-14, 14], [14, 14]];
const UNION_COLOURS = { none: '#e03131', partial: '#f59f00', full: '#2f9e44' };
// The common driver filter, one tap (the quick chip in the nearest sheet).
const DRIVER_PRESET = { layers: ['driver_home'], openNow: true, amenities: ['shower', 'truck_parking'] };
// Cluster circles step back while numbered results are on the map.
const CLUSTER_OPACITY = 0.88;
const CLUSTER_OPACITY_BEHIND = 0.28;

const state = {
  lang: pickLang(params),
  config: null,
  conv: converterFor('wgs84'),
  layers: [], // from /api/v1/layers, in order, only those this page shows
  visible: new Set(),
  data: {}, // layer id → original FeatureCollection (WGS-84)
  places: [],
  placeMarkers: [],
  clusterMarkers: new Map(),
  query: null, // { wgs: [lon, lat], fromMe: bool }
  results: [], // nearest features (WGS-84, as the API returned them)
  resultMarkers: [],
  queryMarker: null,
  meMarker: null,
  popup: null,
  popupFeature: null,
  ready: false,
  errors: [],
  queryToken: 0,
  mode: 'find', // 'find' (nearest facilities) or 'coverage' (planner.js)
  resultFilter: null, // the filter of the query whose results are shown
  quickUndo: null, // what the quick driver filter replaced, to restore on a second tap
  notice: null, // { unknown: [ids], valid: [ids] } for ?layers= naming no layer
};

let map;
let planner = null; // coverage mode (planner.js), made once the map is ready

// ---------------------------------------------------------------------------
// i18n

function t(key, ...args) {
  const v = STRINGS[state.lang][key] ?? STRINGS.zh[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

function word(table, key) {
  if (key == null || key === '') return '';
  const e = table[key];
  return e ? e[state.lang] : String(key);
}

function applyStaticStrings() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('doc_title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  const lb = document.getElementById('btn-lang');
  lb.textContent = t('lang_button');
  lb.lang = state.lang === 'zh' ? 'en' : 'zh';
  lb.title = t('switch_lang');
}

function setLang(lang) {
  state.lang = lang;
  saveLang(lang);
  const u = new URL(location.href);
  if (u.searchParams.has('lang')) {
    u.searchParams.set('lang', lang);
    history.replaceState(null, '', u);
  }
  applyStaticStrings();
  hideToast();
  renderLayerChips();
  renderFilters();
  renderPlaces();
  renderResults();
  renderStatus();
  updateFilterSummary();
  renderNotice();
  if (state.popup && state.popup.isOpen() && state.popupFeature) {
    state.popup.setHTML(popupHTML(state.popupFeature));
  }
  if (state.queryMarker) state.queryMarker.getElement().title = t('query_point');
  if (state.meMarker) state.meMarker.getElement().title = t('you_are_here');
  if (planner) planner.setLang();
}

// ---------------------------------------------------------------------------
// Small helpers

const $ = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function safeUrl(u) {
  try {
    const x = new URL(u, location.href);
    return ['http:', 'https:', 'geo:', 'tel:', 'amapuri:', 'baidumap:', 'maps:'].includes(x.protocol) ? x.href : null;
  } catch { return null; }
}

function layerColour(id, i = 0) {
  return LAYER_COLOURS[id] || FALLBACK_COLOURS[i % FALLBACK_COLOURS.length];
}

function layerName(id) {
  const l = state.layers.find((x) => x.id === id);
  if (!l) return id;
  return state.lang === 'en' ? (l.name_en || l.name_zh || id) : (l.name_zh || l.name_en || id);
}

// One facility of a layer ("Driver home"), for cards and popups.
function layerOne(id) {
  const e = LAYER_SINGULAR[id];
  return e ? e[state.lang] : layerName(id);
}

// The short name of a layer's chip on a phone.
function chipName(id) {
  const e = LAYER_CHIP[id];
  return e ? e[state.lang] : layerName(id);
}

function featureName(p) {
  if (state.lang === 'en' && p.name_en) return p.name_en;
  return p.name || p.name_en || '';
}

function fmtDistance(m) {
  if (m == null || !Number.isFinite(+m)) return '';
  m = +m;
  if (m < 1000) return t('m', Math.round(m));
  return t('km', (m / 1000).toFixed(m < 10000 ? 1 : 0));
}

function fmtBearing(deg) {
  if (deg == null || !Number.isFinite(+deg)) return '';
  const i = Math.round((((+deg % 360) + 360) % 360) / 45) % 8;
  const arrow = ['↑', '↗', '→', '↘', '↓', '↙', '←', '↖'][i];
  return `${arrow} ${COMPASS[state.lang][i]}`;
}

function fmtNumber(n) {
  if (n == null || n === '') return '';
  const x = Number(n);
  if (!Number.isFinite(x)) return String(n);
  return x.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en');
}

function fmtHours(h) {
  if (!h) return '';
  let s = String(h);
  for (const [re, rep] of HOURS_WORDS[state.lang]) s = s.replace(re, rep);
  return s;
}

function asArray(v) {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string' && v.startsWith('[')) {
    try { return JSON.parse(v); } catch { return []; }
  }
  if (typeof v === 'string' && v) return v.split(/[;,]/).map((s) => s.trim()).filter(Boolean);
  return [];
}

function openState(v) {
  if (v === true) return `<span class="open yes">${esc(t('open_now'))}</span>`;
  if (v === false) return `<span class="open no">${esc(t('closed_now'))}</span>`;
  return `<span class="open unknown">${esc(t('open_unknown'))}</span>`;
}

let toastTimer;
function toast(msg, ms = 4000) {
  const el = $('toast');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, ms);
}

// The server answers 503 while it is still loading its data: wait and retry.
async function getJSONWhenReady(path, tries = 30) {
  for (let i = 1; ; i++) {
    try {
      return await getJSON(path);
    } catch (e) {
      if (e.status !== 503 || i >= tries) throw e;
      toast(t('loading'), 1500);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function isDesktop() {
  return window.matchMedia('(min-width: 768px)').matches;
}

function configuredSources() {
  return basemapSources(state.config && state.config.basemap);
}

function basemapHasLabels() {
  return configuredSources().length > 0;
}

// ---------------------------------------------------------------------------
// Data → map sources. Each feature gets `_i` (its index in the layer's array)
// and `_layer`, so a clicked rendered feature leads back to the original.

function displayCollection(layerId, fc) {
  const features = [];
  (fc.features || []).forEach((f, i) => {
    const pt = f && representativePoint(f.geometry);
    if (!pt) return;
    const [lon, lat] = pt;
    // Only what the map styles need; the popup reads the original feature.
    const properties = { _i: i, _layer: layerId };
    for (const k of ['union_status', 'synthetic']) if (f.properties && k in f.properties) properties[k] = f.properties[k];
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: state.conv.toDisplay([lon, lat]) },
      properties,
    });
  });
  return { type: 'FeatureCollection', features };
}

function isFacilityLayer(l) {
  return l.kind ? l.kind === 'facility' : l.id !== 'park';
}

// A point for any geometry: the point itself, or the area-weighted centroid of
// a polygon's outer ring (the largest ring of a multipolygon).
function representativePoint(g) {
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  let rings = [];
  if (g.type === 'Polygon') rings = [g.coordinates[0]];
  else if (g.type === 'MultiPolygon') rings = g.coordinates.map((poly) => poly[0]);
  let best = null;
  for (const ring of rings) {
    if (!ring || ring.length < 3) continue;
    let a = 0; let cx = 0; let cy = 0;
    for (let k = 0; k < ring.length - 1; k++) {
      const [x0, y0] = ring[k]; const [x1, y1] = ring[k + 1];
      const cross = x0 * y1 - x1 * y0;
      a += cross; cx += (x0 + x1) * cross; cy += (y0 + y1) * cross;
    }
    if (Math.abs(a) < 1e-18) continue;
    const c = { area: Math.abs(a / 2), pt: [cx / (3 * a), cy / (3 * a)] };
    if (!best || c.area > best.area) best = c;
  }
  return best ? best.pt : (rings[0] && rings[0][0]) || null;
}

function mapGeometry(g, fn) {
  const ring = (r) => r.map((c) => fn(c));
  if (g.type === 'Polygon') return { type: 'Polygon', coordinates: g.coordinates.map(ring) };
  if (g.type === 'MultiPolygon') return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(ring)) };
  return null;
}

// Park outlines (when the data has polygons), drawn from zoom 9 without clustering.
function areaCollection(layerId, fc) {
  const features = [];
  (fc.features || []).forEach((f, i) => {
    const g = f && f.geometry && mapGeometry(f.geometry, state.conv.toDisplay);
    if (g) features.push({ type: 'Feature', geometry: g, properties: { _i: i, _layer: layerId, union_status: f.properties && f.properties.union_status } });
  });
  return { type: 'FeatureCollection', features };
}

function sourceId(layerId) { return `ws-${layerId}`; }
function clusterLayerId(layerId) { return `${layerId}-clusters`; }
function pointLayerId(layerId) { return `${layerId}-points`; }

function clusterOffset(layerId) {
  const i = state.layers.findIndex((l) => l.id === layerId);
  return state.layers.length > 1 ? (CLUSTER_OFFSETS[i] || [0, 0]) : [0, 0];
}

// Vector tiles (/tiles/{layer}.json) draw every layer, clustered on the server
// (?tiles=0 asks for GeoJSON instead). On a GCJ-02 basemap (Amap, Tencent) the
// server draws them shifted (?crs=gcj02): positions read back from the map are
// display positions, converted with state.conv like any other.
function useTiles() {
  return params.get('tiles') !== '0';
}

// The tile set's frame, as a query string for its TileJSON (which keeps it in
// the tile URLs).
function tileQuery() {
  const gcj = state.config && state.config.basemap && state.config.basemap.crs === 'gcj02';
  return gcj ? '?crs=gcj02' : '';
}

// Layer data in the page is only needed by the GeoJSON path; with tiles it is
// loaded (in the background, after the first draw) only for small layers, for
// the planner's client-side counts.
const PAGE_DATA_MAX = 20000;
function wantsPageData(l) {
  return !useTiles() || (l.count != null && l.count <= PAGE_DATA_MAX);
}

function abbreviate(n) {
  if (n >= 10000) return `${Math.round(n / 1000)}k`;
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

function addLayerToMap(layer, idx) {
  const id = layer.id;
  const colour = layerColour(id, idx);
  const isPark = layer.kind === 'park' || id === 'park';
  const tiled = useTiles();
  const src = tiled
    ? { type: 'vector', url: `${location.origin}/tiles/${encodeURIComponent(id)}.json${tileQuery()}` }
    : {
      type: 'geojson',
      data: displayCollection(id, state.data[id]),
      cluster: true,
      clusterRadius: 48,
      clusterMaxZoom: 11,
    };
  // Server clusters are a layer of their own; the GeoJSON ones share the source's.
  const clusterPart = tiled ? { 'source-layer': 'clusters' } : { filter: ['has', 'point_count'] };
  const pointPart = tiled ? { 'source-layer': id } : { filter: ['!', ['has', 'point_count']] };
  if (isPark && !tiled) {
    src.clusterProperties = {
      no_union: ['+', ['case', ['==', ['get', 'union_status'], 'none'], 1, 0]],
    };
  }
  map.addSource(sourceId(id), src);
  const vis = state.visible.has(id) ? 'visible' : 'none';
  // Park outlines, under the points: from the tiles' park_area layer (the server
  // sends a polygon from the zoom where it spans a few pixels), or from the page's
  // GeoJSON from zoom 9.
  let areaSource = null;
  if (isPark && tiled) areaSource = { source: sourceId(id), 'source-layer': 'park_area' };
  if (isPark && !tiled) {
    const areas = areaCollection(id, state.data[id]);
    if (areas.features.length) {
      map.addSource(`${sourceId(id)}-areas`, { type: 'geojson', data: areas });
      areaSource = { source: `${sourceId(id)}-areas`, minzoom: 9 };
    }
  }
  if (areaSource) {
    map.addLayer({
      id: `${id}-areas`,
      type: 'fill',
      ...areaSource,
      layout: { visibility: vis },
      paint: {
        'fill-color': ['match', ['get', 'union_status'],
          'none', UNION_COLOURS.none, 'partial', UNION_COLOURS.partial, 'full', UNION_COLOURS.full, '#adb5bd'],
        'fill-opacity': 0.18,
      },
    });
    map.addLayer({
      id: `${id}-outline`,
      type: 'line',
      ...areaSource,
      layout: { visibility: vis },
      paint: { 'line-color': colour, 'line-width': 1.5, 'line-opacity': 0.8 },
    });
  }
  map.addLayer({
    id: clusterLayerId(id),
    type: 'circle',
    source: sourceId(id),
    ...clusterPart,
    layout: { visibility: vis },
    paint: {
      'circle-color': colour,
      'circle-opacity': CLUSTER_OPACITY,
      'circle-radius': ['step', ['get', 'point_count'], 11, 10, 13, 100, 16, 1000, 19],
      'circle-translate': clusterOffset(id),
      // Park clusters hiding a park without a union get its colour (the server's
      // tiles and the page's own GeoJSON clusters both count them as `no_union`).
      'circle-stroke-color': isPark
        ? ['case', ['>', ['coalesce', ['get', 'no_union'], 0], 0], UNION_COLOURS.none, '#ffffff']
        : '#ffffff',
      'circle-stroke-width': isPark ? ['case', ['>', ['coalesce', ['get', 'no_union'], 0], 0], 3, 2] : 2,
    },
  });
  map.addLayer({
    id: pointLayerId(id),
    type: 'circle',
    source: sourceId(id),
    ...pointPart,
    layout: { visibility: vis },
    paint: isPark
      ? {
        'circle-color': ['match', ['get', 'union_status'],
          'none', UNION_COLOURS.none, 'partial', UNION_COLOURS.partial, 'full', UNION_COLOURS.full, '#adb5bd'],
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 5, 6, 14, 9],
        'circle-stroke-color': colour,
        'circle-stroke-width': 3,
      }
      : {
        'circle-color': colour,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 5, 5, 14, 8],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.5,
      },
  });
}

// In coverage mode the park layer is drawn by planner.js (unclustered, sized by
// workers); the clustered one stays hidden.
function hiddenByMode(id) {
  return state.mode === 'coverage' && isParkLayer(id);
}

function isParkLayer(id) {
  const l = state.layers.find((x) => x.id === id);
  return id === 'park' || (l && l.kind === 'park');
}

function applyLayerVisibility(id) {
  const on = state.visible.has(id) && !hiddenByMode(id);
  for (const lid of [clusterLayerId(id), pointLayerId(id), `${id}-areas`, `${id}-outline`]) {
    if (map && map.getLayer(lid)) map.setLayoutProperty(lid, 'visibility', on ? 'visible' : 'none');
  }
}

// Shows or hides a layer: its chip, its box in the nearest filter and the
// nearest query follow (a hidden facility layer is not searched).
function setLayerVisible(id, on, { requery = true } = {}) {
  if (on) state.visible.add(id); else state.visible.delete(id);
  applyLayerVisibility(id);
  renderLayerChips();
  syncLayerBoxes();
  updateClusterMarkers();
  scheduleDeclutter();
  if (planner) planner.visibilityChanged();
  updateFilterSummary();
  const l = state.layers.find((x) => x.id === id);
  if (requery && l && isFacilityLayer(l) && state.mode === 'find' && state.query) {
    runNearest(state.query.wgs, { fromMe: state.query.fromMe });
  }
}

// While numbered results are on the map the clusters step back (faint, no
// counts), so that "9" is result 9 and never a cluster of nine.
function applyResultFocus() {
  const on = state.mode === 'find' && state.results.length > 0;
  document.body.classList.toggle('results-shown', on);
  if (!map) return;
  for (const l of state.layers) {
    const cid = clusterLayerId(l.id);
    const pid = pointLayerId(l.id);
    if (map.getLayer(cid)) {
      map.setPaintProperty(cid, 'circle-opacity', on ? CLUSTER_OPACITY_BEHIND : CLUSTER_OPACITY);
      map.setPaintProperty(cid, 'circle-stroke-opacity', on ? 0.35 : 1);
    }
    if (map.getLayer(pid)) {
      map.setPaintProperty(pid, 'circle-opacity', on ? 0.5 : 1);
      map.setPaintProperty(pid, 'circle-stroke-opacity', on ? 0.5 : 1);
    }
  }
}

// ---------------------------------------------------------------------------
// HTML cluster counts (no glyphs needed)

let clusterFrame = 0;
function updateClusterMarkers() {
  if (clusterFrame) return;
  clusterFrame = requestAnimationFrame(() => {
    clusterFrame = 0;
    const seen = new Set();
    for (const l of state.layers) {
      if (!state.visible.has(l.id) || hiddenByMode(l.id) || !map.getSource(sourceId(l.id))) continue;
      const tiled = map.getSource(sourceId(l.id)).type === 'vector';
      const feats = tiled
        ? map.querySourceFeatures(sourceId(l.id), { sourceLayer: 'clusters' })
        : map.querySourceFeatures(sourceId(l.id), { filter: ['has', 'point_count'] });
      for (const f of feats) {
        const p = f.properties;
        if (tiled) p.point_count_abbreviated = abbreviate(p.point_count);
        const key = tiled
          ? `${l.id}:${f.geometry.coordinates.map((c) => c.toFixed(6)).join(',')}:${p.point_count}`
          : `${l.id}:${p.cluster_id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        let m = state.clusterMarkers.get(key);
        if (!m) {
          const el = document.createElement('div');
          el.className = 'cluster-count';
          el.textContent = p.point_count_abbreviated ?? p.point_count;
          m = new maplibregl.Marker({ element: el, offset: clusterOffset(l.id) }).setLngLat(f.geometry.coordinates).addTo(map);
          state.clusterMarkers.set(key, m);
        } else {
          m.setLngLat(f.geometry.coordinates);
        }
      }
    }
    for (const [key, m] of state.clusterMarkers) {
      if (!seen.has(key)) { m.remove(); state.clusterMarkers.delete(key); }
    }
  });
}

// ---------------------------------------------------------------------------
// Place names from our own data, as HTML labels. Each label takes the first of a
// few spots around its city (just below the point, below or above the city's
// clusters, beside them) that overlaps no cluster circle, point, result marker
// or label already placed; a label with no free spot is hidden. So cluster
// counts never sit on a city name.

const LABEL_H = 18;

function renderPlaces() {
  for (const m of state.placeMarkers) m.remove();
  state.placeMarkers = [];
  if (!map || basemapHasLabels()) return;
  // Heavier (bigger) cities first: they win the overlap check.
  const places = [...state.places].sort((a, b) => ((b.properties || {}).weight || 0) - ((a.properties || {}).weight || 0));
  for (const f of places) {
    if (!f.geometry || f.geometry.type !== 'Point') continue;
    const p = f.properties || {};
    const el = document.createElement('div');
    el.className = 'place-label hidden';
    const name = state.lang === 'en' ? (p.name_en || p.name) : (p.name || p.name_en);
    el.textContent = name;
    const m = new maplibregl.Marker({ element: el, anchor: 'center' })
      .setLngLat(state.conv.toDisplay(f.geometry.coordinates))
      .addTo(map);
    state.placeMarkers.push(m);
  }
  declutterPlaces();
}

// Cluster radius in pixels, as the cluster layer's 'circle-radius' step, plus its stroke.
function clusterRadiusPx(count) {
  const r = count >= 1000 ? 19 : count >= 100 ? 16 : count >= 10 ? 13 : 11;
  return r + 3;
}

// Screen boxes [x0, y0, x1, y1] (map container pixels) that a label must not cover.
function labelObstacles() {
  const boxes = [];
  const circle = (x, y, r) => boxes.push([x - r, y - r, x + r, y + r]);
  for (const l of state.layers) {
    if (!state.visible.has(l.id) || hiddenByMode(l.id)) continue;
    const cid = clusterLayerId(l.id);
    const pid = pointLayerId(l.id);
    const [tx, ty] = clusterOffset(l.id);
    if (map.getLayer(cid)) {
      for (const f of map.queryRenderedFeatures({ layers: [cid] })) {
        const pt = map.project(f.geometry.coordinates);
        circle(pt.x + tx, pt.y + ty, clusterRadiusPx(f.properties.point_count || 0));
      }
    }
    if (map.getLayer(pid)) {
      for (const f of map.queryRenderedFeatures({ layers: [pid] })) {
        const pt = map.project(f.geometry.coordinates);
        circle(pt.x, pt.y, 9);
      }
    }
  }
  const origin = map.getContainer().getBoundingClientRect();
  const markers = [...state.resultMarkers, state.meMarker, state.queryMarker].filter((m) => m && m.getElement().isConnected);
  for (const m of markers) {
    const r = m.getElement().getBoundingClientRect();
    if (r.width) boxes.push([r.left - origin.left, r.top - origin.top, r.right - origin.left, r.bottom - origin.top]);
  }
  return boxes;
}

let declutterFrame = 0;
function scheduleDeclutter() {
  if (declutterFrame || !map) return;
  declutterFrame = requestAnimationFrame(() => { declutterFrame = 0; declutterPlaces(); });
}

function declutterPlaces() {
  if (!map || !state.placeMarkers.length) return;
  const w = map.getContainer().clientWidth;
  const h = map.getContainer().clientHeight;
  const zoom = map.getZoom();
  const taken = labelObstacles();
  const overlaps = (box) => taken.some((b) => !(box[2] <= b[0] || box[0] >= b[2] || box[3] <= b[1] || box[1] >= b[3]));
  for (const m of state.placeMarkers) {
    const el = m.getElement();
    const bw = (el.dataset.w ? +el.dataset.w : (el.dataset.w = el.offsetWidth || 60, +el.dataset.w));
    const pt = map.project(m.getLngLat());
    const half = bw / 2;
    // Label centres relative to the city: just below the point; below / above
    // the 2×2 cluster group (±14 px, radius up to 22 px); right / left of it.
    const spots = [[0, 6 + LABEL_H / 2], [0, 38 + LABEL_H / 2], [0, -38 - LABEL_H / 2], [38 + half, 0], [-38 - half, 0]];
    let placed = null;
    if (zoom >= 2) {
      for (const [dx, dy] of spots) {
        const cx = pt.x + dx;
        const cy = pt.y + dy;
        const box = [cx - half - 3, cy - LABEL_H / 2, cx + half + 3, cy + LABEL_H / 2];
        if (box[0] < 0 || box[2] > w || box[1] < 0 || box[3] > h) continue; // whole names only
        if (overlaps(box)) continue;
        placed = { off: [dx, dy], box };
        break;
      }
    }
    el.classList.toggle('hidden', !placed);
    if (placed) {
      m.setOffset(placed.off);
      taken.push(placed.box);
    } else if (pt.x >= 0 && pt.x <= w && pt.y >= 0 && pt.y <= h) {
      // A bigger city with no room keeps its neighbourhood: a smaller neighbour's
      // name there would seem to name the bigger city's clusters.
      taken.push([pt.x - 40, pt.y - 40, pt.x + 40, pt.y + 40]);
    }
  }
}

// ---------------------------------------------------------------------------
// Layer toggles with counts, and the legend

function renderLayerChips() {
  const box = $('layer-chips');
  box.replaceChildren();
  state.layers.forEach((l, i) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chip';
    b.dataset.layer = l.id;
    const on = state.visible.has(l.id);
    b.setAttribute('aria-pressed', String(on));
    const count = l.count ?? (state.data[l.id] ? state.data[l.id].features.length : '');
    const swatch = (l.kind === 'park' || l.id === 'park')
      ? `<span class="swatch ring" style="border-color:${layerColour(l.id, i)}"></span>`
      : `<span class="swatch" style="background:${layerColour(l.id, i)}"></span>`;
    // The full name where there is room, the short one on a phone (CSS picks).
    const full = layerName(l.id);
    b.title = `${full} · ${fmtNumber(count)}`;
    b.setAttribute('aria-label', `${full} ${fmtNumber(count)}`);
    b.innerHTML = `${swatch}<span class="label"><span class="name"><span class="name-full">${esc(full)}</span>` +
      `<span class="name-short" aria-hidden="true">${esc(chipName(l.id))}</span></span>` +
      `<span class="count">${esc(fmtNumber(count))}</span></span>`;
    b.addEventListener('click', () => setLayerVisible(l.id, !state.visible.has(l.id)));
    box.appendChild(b);
  });
  const hasPark = state.mode !== 'coverage' && state.layers.some((l) => (l.kind === 'park' || l.id === 'park') && state.visible.has(l.id));
  const lg = $('park-legend');
  lg.hidden = !hasPark;
  // On a phone the legend folds behind a button at the end of the chips' row.
  const lb = $('btn-legend');
  lb.hidden = !hasPark;
  if (!hasPark) { lg.classList.remove('open'); lb.setAttribute('aria-expanded', 'false'); }
  lb.querySelectorAll('.dots i').forEach((d, k) => { d.style.background = Object.values(UNION_COLOURS)[k]; });
  lg.innerHTML = `<span class="lg-title">${esc(t('legend_parks'))}</span>` +
    Object.keys(UNION_STATUS).map((k) =>
      `<span class="lg-item"><span class="swatch" style="background:${UNION_COLOURS[k]}"></span>${esc(word(UNION_STATUS_SHORT, k))}</span>`).join('') +
    `<span class="lg-item"><span class="swatch ring" style="border-color:${UNION_COLOURS.none};background:${layerColour('park')}"></span>${esc(t('legend_ring'))}</span>`;
}

// ---------------------------------------------------------------------------
// Popups

// Navigation links come from the server (nearest answers and /features/{id}),
// which converts each to the app's own coordinate system.
function serverLinks(p) {
  return (p.links && typeof p.links === 'object') ? p.links : {};
}

function linkRow(p) {
  if (p._enriching) return '<div class="navrow muted">…</div>';
  const links = serverLinks(p);
  const order = ['amap', 'baidu', 'apple', 'osm'];
  const names = { amap: state.lang === 'zh' ? '高德' : 'Amap', baidu: state.lang === 'zh' ? '百度' : 'Baidu', apple: 'Apple', osm: 'OSM' };
  const items = order.filter((k) => links[k] && safeUrl(links[k]))
    .map((k) => `<a class="navlink" href="${esc(safeUrl(links[k]))}" target="_blank" rel="noopener">${esc(names[k])}</a>`);
  if (!items.length) return '';
  return `<div class="navrow" role="group" aria-label="${esc(t('nav'))}">${items.join(' ')}</div>`;
}

function goLink(p) {
  const links = serverLinks(p);
  const href = safeUrl(links.amap || links.baidu || links.apple || links.osm || '');
  return href;
}

// A facility's amenities with those the shown results were filtered for first,
// in the filter's order: [{ key, match }].
function matchedFirst(amenities) {
  const want = (state.resultFilter && state.resultFilter.amenities) || [];
  const have = new Set(amenities);
  const matched = want.filter((a) => have.has(a)).map((key) => ({ key, match: true }));
  return [...matched, ...amenities.filter((a) => !want.includes(a)).map((key) => ({ key, match: false }))];
}

function tagHTML(key, match) {
  return `<li${match ? ' class="match"' : ''}>${esc(word(AMENITIES, key))}</li>`;
}

function popupHTML(f) {
  const p = f.properties || {};
  const isPark = p.layer === 'park' || p._layer === 'park' || p.union_status != null;
  const lid = p.layer || p._layer;
  const rows = [];
  const row = (label, html) => { if (html) rows.push(`<dt>${esc(label)}</dt><dd>${html}</dd>`); };
  let html = '<div class="pop">';
  html += `<div class="pop-layer"><span class="swatch" style="background:${layerColour(lid)}"></span>${esc(layerOne(lid))}`;
  if (p.synthetic === true || p.synthetic === 'true') {
    html += ` <span class="badge demo" title="${esc(t('demo_note'))}">演示数据 / demo data</span>`;
  }
  html += '</div>';
  html += `<h3>${esc(featureName(p))}</h3>`;
  if (state.lang === 'en' && p.name_en && p.name && p.name !== p.name_en) html += `<div class="muted" lang="zh-CN">${esc(p.name)}</div>`;
  if (p.distance_m != null) {
    html += `<div class="pop-dist">${esc(fmtDistance(p.distance_m))} · ${esc(fmtBearing(p.bearing_deg))}</div>`;
  }
  html += linkRow(p);
  if (isPark) {
    row(t('park_type'), esc(word(VALUES, p.park_type)));
    row(t('union_status'), p.union_status
      ? `<span class="status-dot" style="background:${UNION_COLOURS[p.union_status] || '#adb5bd'}"></span>${esc(word(UNION_STATUS, p.union_status))}`
      : '');
    const ent = Number(p.enterprises);
    const uni = Number(p.unionised_enterprises);
    if (p.enterprises != null) {
      let v = `${esc(fmtNumber(p.unionised_enterprises ?? '?'))} / ${esc(fmtNumber(p.enterprises))}`;
      if (ent > 0 && Number.isFinite(uni)) v += ` （${t('union_rate')} ${(100 * uni / ent).toFixed(0)}%）`;
      row(`${t('unionised')} / ${t('enterprises')}`, v);
    }
    if (p.workers != null) {
      row(t('workers'), esc(fmtNumber(p.workers)) + (p.union_members != null ? ` · ${esc(t('union_members'))} ${esc(fmtNumber(p.union_members))}` : ''));
    }
    row(t('union_founded'), esc(p.union_founded || ''));
    row(t('counts_as_of'), esc(p.counts_as_of || ''));
    // Added by /api/v1/coverage/parks (coverage mode).
    if (p.nearest_m && typeof p.nearest_m === 'object') {
      if (p.ununionised_workers != null) row(t('ununionised_workers'), esc(fmtNumber(p.ununionised_workers)));
      for (const [lid2, d] of Object.entries(p.nearest_m)) {
        const r = p.radius_m && p.radius_m[lid2];
        const n = p.count_within && p.count_within[lid2];
        const within = r != null && n != null ? ` <span class="muted">(${esc(t('cov_within', fmtNumber(n), fmtDistance(r)))})</span>` : '';
        row(t('cov_nearest', word(LAYER_ONE, lid2)), d == null ? esc(t('cov_none_layer')) : `${esc(fmtDistance(d))}${within}`);
      }
      if (p.gap_score != null) row(t('gap_score'), `<strong>${esc(fmtNumber(Math.round(p.gap_score)))}</strong>`);
    }
  } else {
    const am = matchedFirst(asArray(p.amenities));
    if (am.length) {
      row(t('amenities'), `<ul class="tags">${am.map(({ key, match }) => tagHTML(key, match)).join('')}</ul>`);
    }
    const hours = p.opening_hours ? `<span class="hours">${esc(fmtHours(p.opening_hours))}</span> ` : '';
    const open = ('open_now' in p) ? openState(p.open_now) : (p._enriching ? `<span class="muted">…</span>` : openState(null));
    row(t('hours'), hours + open);
    if (p.phone) {
      const tel = String(p.phone).replace(/[^0-9+]/g, '');
      row(t('phone'), `<a href="tel:${esc(tel)}">${esc(p.phone)}</a>`);
    }
    row(t('operator'), esc(p.operator || ''));
    row(t('grade'), esc(word(VALUES, p.grade)));
  }
  const addr = [p.city, p.district].filter((x) => x && !(p.address || '').includes(x)).join(' ');
  row(t('address'), esc([addr, p.address].filter(Boolean).join(' ')));
  if (p.position_accuracy && p.position_accuracy !== 'surveyed') {
    row(t('position'), `<span class="badge approx">${esc(word(POSITION_ACCURACY, p.position_accuracy))}</span>`);
  }
  row(t('source'), esc(p.source || ''));
  row(t('updated'), esc(p.updated || ''));
  if (rows.length) html += `<dl>${rows.join('')}</dl>`;
  html += stationLink(p);
  html += '</div>';
  return html;
}

// The feature's own page (/s/{id}: hours, a link to share, the problem-report
// form), in the map's language; a new tab from an embed, whose frame is small.
function stationLink(p) {
  const id = typeof p.id === 'string' || typeof p.id === 'number' ? String(p.id) : '';
  if (!id) return '';
  const href = `/s/${encodeURIComponent(id)}${state.lang === 'en' ? '?lang=en' : ''}`;
  const target = EMBED ? ' target="_blank" rel="noopener"' : '';
  return `<a class="pop-page" href="${esc(href)}"${target}>${esc(t('station_page'))}</a>`;
}

// Opens a popup for a feature given with WGS-84 coordinates.
function openPopup(featureWgs, { enrich = false, fit = false } = {}) {
  const wgs = representativePoint(featureWgs.geometry);
  const disp = state.conv.toDisplay(wgs);
  const f = {
    type: 'Feature',
    geometry: { type: 'Point', coordinates: wgs },
    properties: { ...featureWgs.properties },
    _wgs: wgs,
  };
  if (enrich && !('links' in f.properties)) f.properties._enriching = true;
  if (state.popup) state.popup.remove();
  state.popupFeature = f;
  state.popup = new maplibregl.Popup({ maxWidth: '320px', focusAfterOpen: false, className: 'ws-popup' })
    .setLngLat(disp)
    .setHTML(popupHTML(f))
    .addTo(map);
  const sheet = activeSheet();
  state.popup.on('close', () => {
    if (state.popupFeature === f) { state.popupFeature = null; highlight(null); }
    if (state.foldedForPopup) {
      state.foldedForPopup = false;
      sheet.el.classList.remove('collapsed');
      sheet.handle.setAttribute('aria-expanded', 'true');
      keepVisible(disp);
    }
  });
  highlight(wgs);
  // On a phone the sheet would cover the popup: fold it down to its header.
  if (!isDesktop() && !sheet.el.hidden && !sheet.el.classList.contains('collapsed')) {
    state.foldedForPopup = true;
    sheet.el.classList.add('collapsed');
    sheet.handle.setAttribute('aria-expanded', 'false');
  }
  if (fit) requestAnimationFrame(fitPopup);
  if (enrich && f.properties._enriching) enrichFeature(f, fit);
}

// The bottom sheet / side panel of the current mode, and its fold button.
function activeSheet() {
  return state.mode === 'coverage'
    ? { el: $('planner'), handle: $('planner-handle') }
    : { el: $('panel'), handle: $('sheet-handle') };
}

// A popup with ready-made HTML (a grid cell's figures, in coverage mode).
function openHTMLPopup(lngLat, html) {
  if (state.popup) state.popup.remove();
  state.popupFeature = null;
  state.popup = new maplibregl.Popup({ maxWidth: '320px', focusAfterOpen: false, className: 'ws-popup' })
    .setLngLat(lngLat)
    .setHTML(html)
    .addTo(map);
  requestAnimationFrame(fitPopup);
}

// Pans the map so that the open popup lies inside the free part of the map
// (not under the layer toggles, the bottom sheet or the map's edges).
function fitPopup() {
  if (!state.popup || !state.popup.isOpen()) return;
  const el = state.popup.getElement();
  const box = el.getBoundingClientRect();
  const mapBox = map.getContainer().getBoundingClientRect();
  const pad = viewPadding();
  // Coverage mode's legend is taller: keep the popup below all of it.
  const top = mapBox.top + (state.mode === 'coverage' ? pad.top : Math.min(pad.top, 70));
  const bottom = mapBox.bottom - pad.bottom + 30;
  const left = mapBox.left + 8;
  const right = mapBox.right - 8;
  let dx = 0;
  let dy = 0;
  if (box.height > bottom - top || box.top < top) dy = box.top - top;
  else if (box.bottom > bottom) dy = box.bottom - bottom;
  if (box.left < left) dx = box.left - left;
  else if (box.right > right) dx = box.right - right;
  if (Math.abs(dx) > 1 || Math.abs(dy) > 1) map.panBy([dx, dy], { duration: 300 });
}

// `?feature=ID` (the station page's "show on the map"): that feature's card, open.
function openNamedFeature(id) {
  getJSON(`/api/v1/features/${encodeURIComponent(id)}`)
    .then((full) => openPopup({ ...full, properties: { ...full.properties, _layer: full.properties.layer } }, { enrich: true, fit: true }))
    .catch((err) => toast(err.detail || err.message));
}

// A layer feature has no open-now state or server-made navigation links (they
// depend on the time and on coordinate conversions): fetch the single feature.
async function enrichFeature(f, fit) {
  const p = f.properties;
  try {
    if (p.id == null) throw new Error('no id');
    const full = await getJSON(`/api/v1/features/${encodeURIComponent(p.id)}`);
    for (const k of ['open_now', 'links']) if (full.properties && k in full.properties) p[k] = full.properties[k];
  } catch { /* keep what we have */ }
  delete p._enriching;
  if (state.popupFeature === f && state.popup && state.popup.isOpen()) {
    state.popup.setHTML(popupHTML(f));
    if (fit) requestAnimationFrame(fitPopup);
  }
}

// Pans the map so that a display position is not hidden under the bottom sheet.
function keepVisible(disp) {
  const pad = viewPadding();
  const h = map.getContainer().clientHeight;
  const y = map.project(disp).y;
  const limit = h - pad.bottom;
  if (y > limit || y < pad.top) map.panBy([0, y - (pad.top + (limit - pad.top) / 2)], { duration: 300 });
}

function highlight(wgs) {
  const src = map && map.getSource('ws-highlight');
  if (!src) return;
  src.setData({
    type: 'FeatureCollection',
    features: wgs ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: state.conv.toDisplay(wgs) }, properties: {} }] : [],
  });
}

// ---------------------------------------------------------------------------
// Map clicks: cluster → zoom in; point → popup; empty map → nearest query.

const INTERACTIVE = () => state.layers.flatMap((l) => [pointLayerId(l.id), clusterLayerId(l.id), `${l.id}-areas`]).filter((id) => map.getLayer(id));

function onMapClick(e) {
  // Coverage mode: its parks come first (they are what a planner clicks).
  if (state.mode === 'coverage' && planner && planner.clickPark(e)) return;
  const pad = e.originalEvent && e.originalEvent.pointerType === 'touch' ? 12 : 6;
  const bbox = [[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]];
  const feats = map.queryRenderedFeatures(bbox, { layers: INTERACTIVE() });
  // The nearest rendered feature to the click wins.
  const d = (f) => (f.geometry.type === 'Point' ? dist2(map.project(f.geometry.coordinates), e.point) : 1e12);
  feats.sort((a, b) => d(a) - d(b));
  const f = feats[0];
  if (f && f.sourceLayer === 'clusters') {
    // A server cluster is one cell, 1/4 of its tile's side: two zooms in split it.
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(Math.floor(map.getZoom()) + 2, 17), padding: viewPadding() });
    return;
  }
  if (f && f.sourceLayer && f.properties.id != null) {
    // A tile feature: its layer is its `layer` (park_area's outlines are parks).
    const lid = f.properties.layer || f.sourceLayer;
    getJSON(`/api/v1/features/${encodeURIComponent(f.properties.id)}`)
      .then((full) => openPopup({ ...full, properties: { ...full.properties, _layer: lid } }, { enrich: true, fit: true }))
      .catch((err) => toast(err.detail || err.message));
    return;
  }
  if (f && f.properties.cluster_id != null) {
    const lid = f.layer.id.replace(/-clusters$/, '');
    const src = map.getSource(sourceId(lid));
    Promise.resolve(src.getClusterExpansionZoom(f.properties.cluster_id)).then((z) => {
      map.easeTo({ center: f.geometry.coordinates, zoom: Math.min(z + 0.5, 17), padding: viewPadding() });
    }).catch(() => map.easeTo({ center: f.geometry.coordinates, zoom: map.getZoom() + 2, padding: viewPadding() }));
    return;
  }
  if (f) {
    const lid = f.properties._layer;
    const orig = state.data[lid] && state.data[lid].features[f.properties._i];
    if (orig) {
      openPopup({ ...orig, properties: { ...orig.properties, _layer: lid } }, { enrich: true, fit: true });
      return;
    }
  }
  if (state.mode === 'coverage') {
    if (planner) planner.clickGrid(e);
    return;
  }
  if (EMBED) return;
  const wgs = state.conv.fromDisplay([e.lngLat.lng, e.lngLat.lat]);
  runNearest(wgs, { fromMe: false });
}

function dist2(a, b) { return (a.x - b.x) ** 2 + (a.y - b.y) ** 2; }

// Long-press on touch screens (some browsers swallow the click after a hold).
function setupLongPress() {
  let timer = null;
  let start = null;
  const cancel = () => { clearTimeout(timer); timer = null; };
  map.on('touchstart', (e) => {
    if (EMBED || state.mode === 'coverage' || e.points.length !== 1) return cancel();
    start = e.point;
    const lngLat = e.lngLat;
    timer = setTimeout(() => {
      timer = null;
      const wgs = state.conv.fromDisplay([lngLat.lng, lngLat.lat]);
      runNearest(wgs, { fromMe: false });
    }, 600);
  });
  map.on('touchmove', (e) => { if (start && dist2(start, e.point) > 100) cancel(); });
  map.on('touchend', cancel);
  map.on('touchcancel', cancel);
  map.on('movestart', cancel);
}

// ---------------------------------------------------------------------------
// The nearest panel

// The nearest query's filter. Its layers are the visible facility layers (the
// chips): one set, whichever control changed it.
function filterState() {
  const layers = state.layers.filter((l) => isFacilityLayer(l) && state.visible.has(l.id)).map((l) => l.id);
  const amenities = [...document.querySelectorAll('#f-amenities input:checked')].map((i) => i.value);
  return { layers, amenities, openNow: $('f-open').checked, k: $('f-k').value };
}

function renderFilters() {
  const prevAmenities = document.querySelector('#f-amenities input')
    ? [...document.querySelectorAll('#f-amenities input:checked')].map((i) => i.value)
    : [];
  const fl = $('f-layers');
  fl.replaceChildren();
  state.layers.forEach((l, i) => {
    if (!isFacilityLayer(l)) return; // parks are not "nearest" targets
    const lab = document.createElement('label');
    lab.className = 'check';
    lab.innerHTML = `<input type="checkbox" value="${esc(l.id)}" ${state.visible.has(l.id) ? 'checked' : ''}>` +
      `<span class="swatch" style="background:${layerColour(l.id, i)}"></span><span>${esc(layerName(l.id))}</span>`;
    fl.appendChild(lab);
  });
  const fa = $('f-amenities');
  fa.replaceChildren();
  for (const key of Object.keys(AMENITIES)) {
    const checked = prevAmenities.includes(key);
    const lab = document.createElement('label');
    lab.className = 'check';
    lab.innerHTML = `<input type="checkbox" value="${esc(key)}" ${checked ? 'checked' : ''}><span>${esc(word(AMENITIES, key))}</span>`;
    fa.appendChild(lab);
  }
  const qd = $('q-driver');
  qd.hidden = !state.layers.some((l) => l.id === 'driver_home');
  qd.querySelector('.swatch').style.background = layerColour('driver_home');
}

// The filter's type boxes show the chips' state.
function syncLayerBoxes() {
  for (const input of document.querySelectorAll('#f-layers input')) input.checked = state.visible.has(input.value);
}

function updateFilterSummary() {
  const f = filterState();
  const n = f.amenities.length + (f.openNow ? 1 : 0);
  $('filter-summary').textContent = n ? t('n_filters', n) : '';
  $('q-driver').setAttribute('aria-pressed', String(driverPresetOn()));
}

function onFiltersChanged(e) {
  const input = e && e.target;
  if (input && input.closest && input.closest('#f-layers')) {
    // A type box is the layer's chip by another name.
    setLayerVisible(input.value, input.checked);
    return;
  }
  updateFilterSummary();
  if (state.query) runNearest(state.query.wgs, { fromMe: state.query.fromMe });
}

// ---- the quick driver filter: driver homes open now with a shower and truck parking

function facilityIds() {
  return state.layers.filter(isFacilityLayer).map((l) => l.id);
}

function driverPresetOn() {
  const f = filterState();
  const same = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
  return f.openNow === DRIVER_PRESET.openNow && same(f.layers, DRIVER_PRESET.layers) && same(f.amenities, DRIVER_PRESET.amenities);
}

// Sets the nearest filter (facility layers, amenities, open now) in one go.
function applyFilter({ layers, amenities, openNow }) {
  for (const id of facilityIds()) {
    const on = layers.includes(id);
    if (on !== state.visible.has(id)) setLayerVisible(id, on, { requery: false });
  }
  for (const input of document.querySelectorAll('#f-amenities input')) input.checked = amenities.includes(input.value);
  $('f-open').checked = openNow;
  updateFilterSummary();
}

// One tap: the common driver filter, searched at once (from the last query
// point, or from the phone's position). A second tap puts back what it replaced.
function toggleDriverPreset() {
  if (driverPresetOn()) {
    const undo = state.quickUndo || { layers: facilityIds(), amenities: [], openNow: false };
    state.quickUndo = null;
    applyFilter(undo);
  } else {
    const f = filterState();
    state.quickUndo = { layers: f.layers, amenities: f.amenities, openNow: f.openNow };
    applyFilter(DRIVER_PRESET);
  }
  if (state.query) runNearest(state.query.wgs, { fromMe: state.query.fromMe });
  else locateMe();
}

// ---- a notice on the map (shown in embeds too): ?layers= naming unknown layers

function renderNotice() {
  const el = $('notice');
  const n = state.notice;
  if (!n) { el.hidden = true; return; }
  const valid = n.valid.map((l) => t('layer_item', l.id, layerNameOf(l))).join(t('list_sep'));
  $('notice-text').textContent = t('unknown_layers', n.unknown.join(', '), valid);
  el.hidden = false;
}

function layerNameOf(l) {
  return state.lang === 'en' ? (l.name_en || l.name_zh || l.id) : (l.name_zh || l.name_en || l.id);
}

function setPanel(open) {
  const panel = $('panel');
  panel.hidden = !open;
  $('btn-list').setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('panel-open', open);
  if (open) { panel.classList.remove('collapsed'); $('sheet-handle').setAttribute('aria-expanded', 'true'); }
  if (map) setTimeout(() => { map.resize(); declutterPlaces(); }, 0);
}

// Padding that keeps points clear of the side panel / bottom sheet.
function viewPadding() {
  const panel = activeSheet().el;
  const pad = { top: 70, right: 40, bottom: 40, left: 40 };
  const bar = $('layerbar');
  if (bar) pad.top = Math.min(bar.offsetHeight + 24, 160);
  if (!panel.hidden && !isDesktop()) pad.bottom = panel.offsetHeight + 24;
  const mh = map.getContainer().clientHeight;
  const mw = map.getContainer().clientWidth;
  if (pad.top + pad.bottom > mh - 60) { const s = (mh - 60) / (pad.top + pad.bottom); pad.top *= s; pad.bottom *= s; }
  if (pad.left + pad.right > mw - 60) { pad.left = pad.right = 10; }
  return pad;
}

// The status line is kept as data so that a language switch can redraw it.
function setStatus(key, args = [], error = null) {
  state.status = { key, args, error };
  renderStatus();
}

function renderStatus() {
  const el = $('status');
  const st = state.status;
  const qi = $('query-info');
  if (!state.query) qi.textContent = t('hint_click');
  else if (state.query.fromMe) qi.textContent = t('query_from_me');
  else qi.textContent = t('query_from_point', state.query.wgs[0].toFixed(4), state.query.wgs[1].toFixed(4));
  if (!st) { el.className = ''; el.textContent = ''; return; }
  if (st.error) {
    el.className = 'error';
    const inv = (st.error.invalid || []).map((p) => `<li><code>${esc(p.name)}</code>: ${esc(p.reason)}</li>`).join('');
    el.innerHTML = `<strong>${esc(t(st.key))}:</strong> ${esc(st.error.detail)}${inv ? `<ul>${inv}</ul>` : ''}`;
    return;
  }
  el.className = ['geo_denied', 'geo_failed', 'geo_unsupported'].includes(st.key) ? 'error' : '';
  el.textContent = t(st.key, ...st.args);
}

function hideToast() {
  clearTimeout(toastTimer);
  const el = $('toast');
  if (!el.classList.contains('error')) el.hidden = true;
}

async function runNearest(wgs, { fromMe = false, fit = true } = {}) {
  hideToast();
  state.query = { wgs, fromMe };
  setPanel(true);
  placeQueryMarker(wgs, fromMe);
  const f = filterState();
  const token = ++state.queryToken;
  if (!f.layers.length) {
    state.results = [];
    state.resultFilter = f;
    renderResults();
    setStatus('no_layers');
    return;
  }
  setStatus('searching');
  const q = new URLSearchParams({ lon: wgs[0].toFixed(6), lat: wgs[1].toFixed(6), k: f.k, layers: f.layers.join(',') });
  if (f.amenities.length) q.set('amenities', f.amenities.join(','));
  if (f.openNow) q.set('open_now', 'true');
  try {
    const r = await fetch(`/api/v1/nearest?${q}`, { headers: { Accept: 'application/geo+json, application/json', ...langHeader() } });
    if (token !== state.queryToken) return;
    if (!r.ok) throw await problemError(r);
    const fc = await r.json();
    if (token !== state.queryToken) return;
    state.results = (fc.features || []).filter((x) => x && x.geometry && x.geometry.type === 'Point');
    state.resultFilter = f;
    renderResults();
    noteNearest(r, { wgs, fromMe, filter: f });
    if (state.results.length) setStatus('n_results', [state.results.length]); else setStatus('no_results');
    if (fit) fitToResults();
  } catch (err) {
    if (token !== state.queryToken) return;
    state.results = [];
    renderResults();
    setStatus('query_failed', [], { detail: err.detail || err.message, invalid: err.invalid || [] });
  }
}

function fitToResults() {
  const pts = [state.query.wgs, ...state.results.map((x) => x.geometry.coordinates)].map(state.conv.toDisplay);
  if (pts.length < 2) { map.easeTo({ center: pts[0], zoom: Math.max(map.getZoom(), 12) }); return; }
  const b = new maplibregl.LngLatBounds(pts[0], pts[0]);
  for (const p of pts) b.extend(p);
  // Result pins stand 38 px above their point.
  const pad = viewPadding();
  pad.top += 38;
  map.fitBounds(b, { padding: pad, maxZoom: 16, duration: 600 });
}

function placeQueryMarker(wgs, fromMe) {
  const disp = state.conv.toDisplay(wgs);
  if (fromMe) {
    if (state.queryMarker) { state.queryMarker.remove(); state.queryMarker = null; }
    if (!state.meMarker) {
      const el = document.createElement('div');
      el.className = 'me-marker';
      state.meMarker = new maplibregl.Marker({ element: el });
    }
    state.meMarker.getElement().title = t('you_are_here');
    state.meMarker.setLngLat(disp).addTo(map);
    return;
  }
  if (!state.queryMarker) {
    const el = document.createElement('div');
    el.className = 'query-marker';
    el.innerHTML = '<span></span>';
    state.queryMarker = new maplibregl.Marker({ element: el, anchor: 'bottom' });
  }
  state.queryMarker.getElement().title = t('query_point');
  state.queryMarker.setLngLat(disp).addTo(map);
}

function renderResults() {
  const ol = $('results');
  ol.replaceChildren();
  for (const m of state.resultMarkers) m.remove();
  state.resultMarkers = [];
  if (!map) return;
  state.results.forEach((f, i) => {
    const p = f.properties || {};
    const name = featureName(p);
    const li = document.createElement('li');
    li.className = 'result';
    li.dataset.index = String(i);
    li.dataset.id = String(p.id ?? f.id ?? '');
    // What the driver asked for first (all of it), then the rest up to six.
    const tags = matchedFirst(asArray(p.amenities));
    const shown = tags.slice(0, Math.max(6, tags.filter((x) => x.match).length));
    const am = shown.map(({ key, match }) => tagHTML(key, match)).join('');
    const go = goLink(p);
    li.innerHTML =
      `<button type="button" class="result-main" aria-label="${esc(t('show_on_map'))}: ${esc(name)}">` +
        `<span class="num" style="background:${layerColour(p.layer)}">${i + 1}</span>` +
        '<span class="result-text">' +
          `<span class="result-name">${esc(name)}${p.synthetic === true ? ` <span class="badge demo small">${esc(t('demo_badge'))}</span>` : ''}</span>` +
          `<span class="result-meta"><span class="dist">${esc(fmtDistance(p.distance_m))}</span> · <span class="bearing">${esc(fmtBearing(p.bearing_deg))}</span> · ${openState(p.open_now)}</span>` +
          `<span class="result-layer muted">${esc(layerOne(p.layer))}${p.address ? ` · ${esc(p.address)}` : ''}</span>` +
          (am ? `<ul class="tags small">${am}</ul>` : '') +
        '</span>' +
      '</button>' +
      (go ? `<a class="btn go" href="${esc(go)}" target="_blank" rel="noopener" aria-label="${esc(t('go_aria', name))}">${esc(t('go'))}</a>` : '');
    const main = li.querySelector('.result-main');
    main.addEventListener('mouseenter', () => setActive(i, false));
    main.addEventListener('focus', () => setActive(i, false));
    main.addEventListener('click', () => selectResult(i));
    ol.appendChild(li);

    // A numbered pin (dark label, the layer's colour as its rim, a tail to the
    // point): no cluster looks like it, and it stands above its point, so result 1
    // leaves the "me" dot at the query point uncovered.
    const el = document.createElement('div');
    el.className = 'result-marker';
    el.dataset.layer = String(p.layer || '');
    el.innerHTML = `<span class="pin" style="border-color:${layerColour(p.layer)}">${i + 1}</span><span class="tail"></span>`;
    el.title = name;
    el.style.zIndex = String(100 - Math.min(i, 50)); // result 1 on top of 2, …
    el.addEventListener('click', (ev) => { ev.stopPropagation(); selectResult(i, { scroll: true, move: false }); });
    el.addEventListener('mouseenter', () => setActive(i, true));
    const m = new maplibregl.Marker({ element: el, anchor: 'bottom' }).setLngLat(state.conv.toDisplay(f.geometry.coordinates)).addTo(map);
    state.resultMarkers.push(m);
  });
  applyResultFocus();
  scheduleDeclutter();
}

function setActive(i, scroll) {
  document.querySelectorAll('#results .result').forEach((li) => li.classList.toggle('active', +li.dataset.index === i));
  state.resultMarkers.forEach((m, j) => m.getElement().classList.toggle('active', j === i));
  const f = state.results[i];
  if (f) highlight(f.geometry.coordinates);
  if (scroll) {
    const li = document.querySelector(`#results .result[data-index="${i}"]`);
    if (li) li.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
}

function selectResult(i, { scroll = false, move = true } = {}) {
  const f = state.results[i];
  if (!f) return;
  setActive(i, scroll);
  openPopup(f, { fit: !move });
  if (move) {
    // Put the point low in the visible part of the map, so its popup fits above.
    const pad = viewPadding();
    const visibleH = map.getContainer().clientHeight - pad.top - pad.bottom;
    const center = state.conv.toDisplay(f.geometry.coordinates);
    map.easeTo({ center, zoom: Math.max(map.getZoom(), 14), padding: pad, offset: [0, Math.max(0, visibleH / 2 - 40)], duration: 500 });
  }
}

// ---------------------------------------------------------------------------
// Geolocation

function locateMe() {
  hideToast();
  setPanel(true);
  if (!('geolocation' in navigator)) { setStatus('geo_unsupported'); return; }
  setStatus('locating');
  navigator.geolocation.getCurrentPosition(
    (pos) => runNearest([pos.coords.longitude, pos.coords.latitude], { fromMe: true }),
    (err) => {
      setStatus(err.code === 1 ? 'geo_denied' : 'geo_failed');
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

// ---------------------------------------------------------------------------
// Start-up

function unionBBox(layers) {
  let b = null;
  for (const l of layers) {
    if (!Array.isArray(l.bbox) || l.bbox.length !== 4 || !l.count) continue;
    const [a, c, d, e] = l.bbox.map(Number);
    if (![a, c, d, e].every(Number.isFinite)) continue;
    b = b ? [Math.min(b[0], a), Math.min(b[1], c), Math.max(b[2], d), Math.max(b[3], e)] : [a, c, d, e];
  }
  return b;
}

function initialView(bbox) {
  const c = (params.get('center') || '').split(',').map(Number);
  const z = Number(params.get('zoom'));
  if (c.length === 2 && c.every(Number.isFinite)) {
    return { center: state.conv.toDisplay(c), zoom: Number.isFinite(z) && params.get('zoom') ? z : 11 };
  }
  if (bbox) {
    const sw = state.conv.toDisplay([bbox[0], bbox[1]]);
    const ne = state.conv.toDisplay([bbox[2], bbox[3]]);
    const top = Math.min(($('layerbar').offsetHeight || 0) + 30, 150);
    return { bounds: [sw, ne], fitBoundsOptions: { padding: { top, bottom: 40, left: 40, right: 60 }, maxZoom: 12 } };
  }
  return { center: state.conv.toDisplay([105, 35]), zoom: 3 }; // mainland China
}

function fail(msg) {
  state.errors.push(msg);
  const s = $('toast');
  s.textContent = `${t('load_failed')}: ${msg}`;
  s.hidden = false;
  s.classList.add('error');
}

async function main() {
  if (EMBED) document.body.classList.add('embed');
  applyStaticStrings();
  if (!maplibregl) { fail('maplibre-gl'); return; }

  let config; let layersDoc; let places;
  try {
    [config, layersDoc, places] = await Promise.all([
      getJSON('/api/v1/config').catch(() => ({ basemap: { kind: 'none' } })),
      getJSONWhenReady('/api/v1/layers'),
      getJSON('/api/v1/places').catch(() => ({ features: [] })),
    ]);
  } catch (e) { fail(e.detail || e.message); return; }

  state.config = config || { basemap: { kind: 'none' } };
  if (state.config.basemap && state.config.basemap.crs === 'gcj02') state.conv = converterFor('gcj02');
  state.places = (places && places.features) || [];

  let layers = (layersDoc && layersDoc.layers) || [];
  // ?layers= naming a layer we do not have: say so, with the valid names (an
  // embed would otherwise show an empty map and no word why).
  const unknown = LAYER_PARAM.filter((id) => !layers.some((l) => l.id === id));
  if (unknown.length) {
    state.notice = { unknown, valid: layers.map((l) => ({ id: l.id, name_zh: l.name_zh, name_en: l.name_en })) };
    renderNotice();
  }
  if (EMBED && LAYER_PARAM.length) layers = layers.filter((l) => LAYER_PARAM.includes(l.id));
  state.layers = layers;
  for (const l of layers) if (!LAYER_PARAM.length || LAYER_PARAM.includes(l.id)) state.visible.add(l.id);

  renderLayerChips();
  renderFilters();

  if (!EMBED && isDesktop()) setPanel(true);
  const view = initialView(unionBBox(layers));
  map = new maplibregl.Map({
    container: 'map',
    style: baseStyle('waystation', state.config.basemap),
    ...view,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxPitch: 0,
    renderWorldCopies: false,
    minZoom: 2,
    maxZoom: 18,
    fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  // Basemap tiles that fail (no key, no network, blocked) get one notice, not a
  // console error per tile; MapLibre logs other errors as usual.
  let tileNotice = false;
  map.on('error', (e) => {
    const src = e && (e.sourceId || (e.source && e.source.id));
    if (src && !String(src).startsWith('ws-')) {
      if (!tileNotice) { tileNotice = true; toast(t('basemap_failed'), 6000); }
      return;
    }
    console.error(e && e.error ? e.error : e);
  });

  window.__waystation = {
    map,
    state,
    ready: false,
    layerIds: Object.fromEntries(layers.map((l) => [l.id, [clusterLayerId(l.id), pointLayerId(l.id)]])),
    nearest: (lon, lat) => runNearest([lon, lat], { fromMe: false }),
    setLang,
    setMode,
    showFeature: (f) => openPopup(f, { enrich: true, fit: true }), // search.js: a picked facility's card
    planner: null,
  };

  // Layer data, all in parallel (see wantsPageData: with tiles, small layers only).
  const loads = layers.filter(wantsPageData).map((l) => getJSON(`/api/v1/layers/${encodeURIComponent(l.id)}`)
    .then((fc) => { state.data[l.id] = fc; })
    .catch((e) => { state.data[l.id] = { type: 'FeatureCollection', features: [] }; fail(`${l.id}: ${e.detail || e.message}`); }));

  await new Promise((res) => (map.loaded() ? res() : map.once('load', res)));
  if (!useTiles()) await Promise.all(loads);

  layers.forEach((l, i) => addLayerToMap(l, i));
  map.addSource('ws-highlight', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'ws-highlight',
    type: 'circle',
    source: 'ws-highlight',
    paint: {
      'circle-radius': 16,
      'circle-color': 'rgba(255, 212, 59, 0.35)',
      'circle-stroke-color': '#f08c00',
      'circle-stroke-width': 3,
    },
  });
  renderLayerChips();

  planner = createPlanner({
    get map() { return map; },
    state, t, word, esc, fmtNumber, fmtDistance, layerName, layerColour, featureName,
    openPopup, openHTMLPopup, getJSON, problemError, isDesktop, representativePoint, viewPadding,
    UNION_COLOURS,
  });
  window.__waystation.planner = planner;

  map.on('click', onMapClick);
  setupLongPress();
  map.on('mousemove', (e) => {
    const cov = state.mode === 'coverage';
    const layers = cov ? [...INTERACTIVE(), ...planner.interactiveLayers().filter((id) => id !== 'cov-grid-fill')] : INTERACTIVE();
    const f = map.queryRenderedFeatures([[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]], { layers });
    map.getCanvas().style.cursor = f.length ? 'pointer' : (EMBED || cov ? '' : 'crosshair');
  });
  map.on('render', updateClusterMarkers);
  map.on('moveend', declutterPlaces);
  map.on('idle', scheduleDeclutter); // the clusters of a new zoom are drawn by now
  renderPlaces();

  if (!EMBED && !isDesktop()) toast(t('hint_toast'));

  // Ready once our own sources are loaded and drawn (basemap tiles may still be
  // loading, or failing, and must not hold this up), and any page data is in.
  await Promise.all(loads);
  const ownSources = layers.map((l) => sourceId(l.id));
  const checkReady = () => {
    if (window.__waystation.ready) return;
    if (!ownSources.every((id) => map.isSourceLoaded(id))) return;
    map.off('render', checkReady);
    updateClusterMarkers();
    declutterPlaces();
    window.__waystation.ready = true;
    document.body.dataset.ready = 'true';
    if (!EMBED && (params.get('mode') || '') === 'coverage') setMode('coverage');
    else if (params.get('feature')) openNamedFeature(params.get('feature'));
  };
  map.on('render', checkReady);
  map.triggerRepaint();
}

// ---------------------------------------------------------------------------
// Modes: 'find' (the nearest-facility map) and 'coverage' (planner.js).

let panelWasOpen = false;

function setMode(mode) {
  const cov = mode === 'coverage';
  if (cov === (state.mode === 'coverage')) return;
  if (cov && !planner) return; // the map is not ready yet
  state.mode = cov ? 'coverage' : 'find';
  document.body.classList.toggle('coverage', cov);
  $('btn-mode').setAttribute('aria-pressed', String(cov));
  if (state.popup) state.popup.remove();
  if (cov) {
    panelWasOpen = !$('panel').hidden;
    setPanel(false);
    hideToast();
    planner.enter();
  } else {
    planner.exit();
    if (panelWasOpen || isDesktop()) setPanel(true);
  }
  for (const l of state.layers) applyLayerVisibility(l.id);
  renderLayerChips();
  applyResultFocus();
  updateClusterMarkers();
  const u = new URL(location.href);
  if (cov) u.searchParams.set('mode', 'coverage'); else u.searchParams.delete('mode');
  history.replaceState(null, '', u);
  setTimeout(() => { map.resize(); declutterPlaces(); }, 0);
}

// UI wiring that needs no map.
$('btn-mode').addEventListener('click', () => setMode(state.mode === 'coverage' ? 'find' : 'coverage'));
$('btn-lang').addEventListener('click', () => setLang(state.lang === 'zh' ? 'en' : 'zh'));
$('btn-near').addEventListener('click', locateMe);
$('btn-list').addEventListener('click', () => setPanel($('panel').hidden));
$('btn-close').addEventListener('click', () => setPanel(false));
$('sheet-handle').addEventListener('click', () => {
  if (isDesktop()) return;
  state.foldedForPopup = false;
  const collapsed = $('panel').classList.toggle('collapsed');
  $('sheet-handle').setAttribute('aria-expanded', String(!collapsed));
});
$('filters').addEventListener('change', onFiltersChanged);
$('q-driver').addEventListener('click', toggleDriverPreset);
$('btn-legend').addEventListener('click', () => {
  const open = $('park-legend').classList.toggle('open');
  $('btn-legend').setAttribute('aria-expanded', String(open));
});
$('notice-close').addEventListener('click', () => { state.notice = null; renderNotice(); });
// Offline: the last query asked again (its filter first), answered from the service worker's cache.
initOffline({
  t,
  restore: (q, { fit }) => { applyFilter(q.filter); $('f-k').value = q.filter.k; runNearest(q.wgs, { fromMe: q.fromMe, fit }); },
  current: () => (state.query ? { ...state.query, filter: filterState() } : null),
});

main().catch((e) => { console.error(e); fail(e.message); });
