// 沿途 / Along route: the facilities along a driver's route (POST /api/v1/along).
//
// A third mode of the map beside "find" (nearest) and "coverage" (planner.js),
// opened from the 沿途 button in the nearest sheet's header. The route comes
// from taps on the map (drawn as one taps, with undo and clear), from a pasted
// Amap / Baidu route string ("lon,lat;lon,lat;…", GCJ-02 / BD-09 / WGS-84) or
// encoded polyline (or GeoJSON), or from a GPX file (read with FileReader and
// posted as application/gpx+xml, the options then in the query string). The
// answer is listed in route order and drawn on the map as green "service area"
// signs (not circles: clusters are circles).
//
// This module is imported by app.js for its side effects and speaks to the page
// only through what app.js exposes on window.__waystation (map, state, setMode,
// layerIds) and through the page's own controls:
// - the mode is state.mode = 'along', so app.js neither re-runs the nearest
//   query on a chip toggle nor treats the map as in coverage mode;
// - the map's 'click' events (and 'touchstart', which starts app.js's
//   long-press) are taken before app.js sees them while the mode is on: a tap
//   adds a route point on the 画路线 tab; elsewhere a tap on a facility still
//   opens its popup (app.js) and a tap on empty map does nothing;
// - the facility layers searched are the visible ones (the layer chips, as
//   for nearest); the type boxes here click the chips;
// - 附近, ☰ and the coverage button leave this mode first.
//
// Coordinates: WGS-84 throughout, converted with state.conv for display (an
// Amap basemap is GCJ-02), as app.js does.

import { langHeader, problemError } from './common.js';
import { STRINGS, AMENITIES, HOURS_WORDS, LAYER_SINGULAR } from './i18n.js';
import { gcj02ToWgs84 } from './coords.js';

const $ = (id) => document.getElementById(id);
const maplibregl = window.maplibregl;

const CORRIDORS_KM = [1, 2, 5, 10, 20];
const DEFAULT_CORRIDOR_KM = 2;
const DEFAULT_SPEED = 60;
const LIMIT = 100;
const MAX_GPX_BYTES = 16 << 20; // the server's body limit
const EARTH_R = 6371008.8;
// As app.js: clusters step back while numbered results are on the map.
const FOCUS = { cluster: [0.88, 0.28], clusterStroke: [1, 0.35], point: [1, 0.5] };
const ROUTE_COLOUR = '#1d3557';
const SIGN_COLOUR = '#1b7f3b'; // Chinese expressway signs are green

const A = {
  wired: false,
  active: false,
  tab: 'draw', // 'draw' | 'paste' | 'gpx'
  points: [], // drawn route, WGS-84 [lon, lat]
  paste: { parts: [], error: null },
  gpx: { name: '', text: '', parts: [], error: null },
  results: [], // features of the last answer, in route order
  answer: null, // { length_m, corridor_m, matched, depart }
  status: null, // { key, args, error }
  token: 0,
  markers: [],
  popup: null,
  foldedForPopup: false,
  departEdited: false,
  sourcesAdded: false,
};

// ---------------------------------------------------------------------------
// Small helpers (the page's language is the document's: app.js sets it)

function lang() {
  return (document.documentElement.lang || '').toLowerCase().startsWith('en') ? 'en' : 'zh';
}

function t(key, ...args) {
  const v = STRINGS[lang()][key] ?? STRINGS.zh[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

function word(table, key) {
  const e = table[key];
  return e ? e[lang()] : String(key);
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function safeUrl(u) {
  try {
    const x = new URL(u, location.href);
    return ['http:', 'https:', 'geo:', 'amapuri:', 'baidumap:', 'maps:'].includes(x.protocol) ? x.href : null;
  } catch { return null; }
}

function ws() { return window.__waystation; }
function map() { return ws() && ws().map; }
function appState() { return ws() && ws().state; }
function toDisplay(c) { return appState().conv.toDisplay(c); }

function isDesktop() {
  return window.matchMedia('(min-width: 768px)').matches;
}

function fmtDistance(m) {
  if (m == null || !Number.isFinite(+m)) return '';
  m = +m;
  if (m < 1000) return t('m', Math.round(m));
  return t('km', (m / 1000).toFixed(m < 10000 ? 1 : 0));
}

function fmtHours(h) {
  let s = String(h || '');
  for (const [re, rep] of HOURS_WORDS[lang()]) s = s.replace(re, rep);
  return s;
}

function featureName(p) {
  if (lang() === 'en' && p.name_en) return p.name_en;
  return p.name || p.name_en || '';
}

function layerOne(id) {
  const e = LAYER_SINGULAR[id];
  if (e) return e[lang()];
  const l = (appState().layers || []).find((x) => x.id === id);
  return l ? (lang() === 'en' ? l.name_en || l.name_zh : l.name_zh || l.name_en) || id : id;
}

function layerName(l) {
  return lang() === 'en' ? (l.name_en || l.name_zh || l.id) : (l.name_zh || l.name_en || l.id);
}

// The layer's colour as the map draws its single points (app.js's palette).
function layerColour(id) {
  const m = map();
  const ids = ws().layerIds[id];
  const c = m && ids && m.getLayer(ids[1]) ? m.getPaintProperty(ids[1], 'circle-color') : null;
  return typeof c === 'string' ? c : '#495057';
}

function isFacilityLayer(l) {
  return l.kind ? l.kind === 'facility' : l.id !== 'park';
}

// The facility layers searched: the visible ones (the chips), as for nearest.
function visibleFacilityLayers() {
  const st = appState();
  return st.layers.filter((l) => isFacilityLayer(l) && st.visible.has(l.id)).map((l) => l.id);
}

function haversine(a, b) {
  const r = Math.PI / 180;
  const dLat = (b[1] - a[1]) * r;
  const dLon = (b[0] - a[0]) * r;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_R * Math.asin(Math.min(1, Math.sqrt(h)));
}

function partsLength(parts) {
  let m = 0;
  for (const p of parts) for (let i = 1; i < p.length; i++) m += haversine(p[i - 1], p[i]);
  return m;
}

// ---------------------------------------------------------------------------
// Routes as drivers' apps give them, read here only to draw them (the server
// reads them again, exactly, for the query).

const X_PI = (Math.PI * 3000) / 180;

function bd09ToGcj02(lon, lat) {
  const x = lon - 0.0065;
  const y = lat - 0.006;
  const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
  const th = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
  return [z * Math.cos(th), z * Math.sin(th)];
}

function toWgs84(crs, [lon, lat]) {
  if (crs === 'gcj02') return gcj02ToWgs84(lon, lat);
  if (crs === 'bd09') return gcj02ToWgs84(...bd09ToGcj02(lon, lat));
  return [lon, lat];
}

const COORD_LIST = /^[0-9.,;\-+\s|]+$/;

// What is sent for pasted text: GeoJSON as an object; a coordinate list with
// line breaks as separators too; an encoded polyline as it is (without quotes).
function pastedRoute(text) {
  let s = String(text || '').trim();
  if (!s) return null;
  if (s.startsWith('{')) {
    try { return JSON.parse(s); } catch { return s; }
  }
  if (/^".*"$/s.test(s)) s = s.slice(1, -1);
  if (COORD_LIST.test(s)) {
    return s.split(/[;|\r\n]+/).map((x) => x.trim()).filter(Boolean).join(';');
  }
  return s;
}

function coordinateList(s) {
  const pts = [];
  for (const pair of s.split(/[;|]+/).map((x) => x.trim()).filter(Boolean)) {
    const [a, b] = pair.split(',').map((x) => Number(x.trim()));
    if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
    pts.push([a, b]);
  }
  return pts;
}

// Google's encoded polyline (latitude first); precision 5 unless a longitude
// then falls outside ±180, as the server decides.
function decodePolyline(s, precision) {
  const decode = (p) => {
    const f = 10 ** p;
    const out = [];
    let lat = 0; let lon = 0; let i = 0;
    const next = () => {
      let result = 0; let shift = 0; let b;
      do {
        if (i >= s.length) throw new Error('cut');
        b = s.charCodeAt(i++) - 63;
        if (b < 0 || b > 63) throw new Error('char');
        result += (b & 0x1f) * 2 ** shift;
        shift += 5;
      } while (b >= 0x20);
      return result % 2 === 1 ? -(result + 1) / 2 : result / 2;
    };
    while (i < s.length) {
      lat += next();
      lon += next();
      out.push([lon / f, lat / f]);
    }
    return out;
  };
  try {
    if (precision) return decode(precision);
    const five = decode(5);
    return five.some(([lon, lat]) => Math.abs(lon) > 180 || Math.abs(lat) > 90) ? decode(6) : five;
  } catch { return null; }
}

function geojsonParts(v) {
  const g = v && v.type === 'Feature' ? v.geometry : v;
  if (!g) return null;
  const line = (cs) => (Array.isArray(cs) ? cs.filter((c) => Array.isArray(c) && c.length >= 2).map((c) => [+c[0], +c[1]]) : []);
  if (g.type === 'LineString') return [line(g.coordinates)];
  if (g.type === 'MultiLineString' && Array.isArray(g.coordinates)) return g.coordinates.map(line);
  return null;
}

// The parts (WGS-84) of a route as sent, or [] when it cannot be read here.
function routeParts(route, crs) {
  let raw = null;
  if (route && typeof route === 'object') raw = geojsonParts(route);
  else if (typeof route === 'string' && COORD_LIST.test(route)) raw = [coordinateList(route)];
  else if (typeof route === 'string') raw = [decodePolyline(route)];
  if (!raw || raw.some((p) => !p)) return [];
  const ok = (c) => Number.isFinite(c[0]) && Number.isFinite(c[1]) && Math.abs(c[0]) <= 180 && Math.abs(c[1]) <= 90;
  return raw.map((p) => p.filter(ok).map((c) => toWgs84(crs, c))).filter((p) => p.length);
}

function gpxParts(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length) return null;
  const parts = [];
  const groups = [...doc.getElementsByTagNameNS('*', 'trkseg'), ...doc.getElementsByTagNameNS('*', 'rte')];
  for (const g of groups) {
    const pts = [...g.getElementsByTagNameNS('*', g.localName === 'rte' ? 'rtept' : 'trkpt')]
      .map((e) => [Number(e.getAttribute('lon')), Number(e.getAttribute('lat'))])
      .filter((c) => Number.isFinite(c[0]) && Number.isFinite(c[1]));
    if (pts.length) parts.push(pts);
  }
  return parts;
}

// ---------------------------------------------------------------------------
// Time: the departure is Beijing time (the app is for China; the server answers
// ETAs in +08:00 too), whatever the phone's own time zone.

function beijingNow() {
  return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 16); // "YYYY-MM-DDTHH:MM"
}

function departValue() {
  const el = $('along-depart');
  if (!A.departEdited || !el.value) el.value = beijingNow();
  return el.value;
}

function fmtEta(eta, depart) {
  if (!eta || typeof eta !== 'string') return '';
  const time = eta.slice(11, 16);
  const day = eta.slice(0, 10);
  if (depart && depart.slice(0, 10) === day) return time;
  const [, mo, d] = day.split('-').map(Number);
  return t('along_day', mo, d) + time;
}

// ---------------------------------------------------------------------------
// The controls

function corridorKm() {
  return Number($('along-corridor').value) || DEFAULT_CORRIDOR_KM;
}

function speedValue() {
  const v = $('along-speed').value.trim();
  return v === '' ? DEFAULT_SPEED : Number(v);
}

function renderControls() {
  const sel = $('along-corridor');
  const cur = sel.value || String(DEFAULT_CORRIDOR_KM);
  sel.replaceChildren(...CORRIDORS_KM.map((k) => {
    const o = document.createElement('option');
    o.value = String(k);
    o.textContent = t('km', k);
    return o;
  }));
  sel.value = cur;

  const fl = $('along-layers');
  const st = appState();
  fl.replaceChildren();
  if (st) {
    for (const l of st.layers) {
      if (!isFacilityLayer(l)) continue;
      const lab = document.createElement('label');
      lab.className = 'check';
      lab.innerHTML = `<input type="checkbox" value="${esc(l.id)}" ${st.visible.has(l.id) ? 'checked' : ''}>` +
        `<span class="swatch" style="background:${esc(layerColour(l.id))}"></span><span>${esc(layerName(l))}</span>`;
      fl.appendChild(lab);
    }
  }

  const fa = $('along-amenities');
  const had = [...fa.querySelectorAll('input:checked')].map((i) => i.value);
  fa.replaceChildren(...Object.keys(AMENITIES).map((key) => {
    const lab = document.createElement('label');
    lab.className = 'check';
    lab.innerHTML = `<input type="checkbox" value="${esc(key)}" ${had.includes(key) ? 'checked' : ''}><span>${esc(word(AMENITIES, key))}</span>`;
    return lab;
  }));
  renderSummary();
}

function syncLayerBoxes() {
  const st = appState();
  for (const input of document.querySelectorAll('#along-layers input')) input.checked = st.visible.has(input.value);
}

function amenities() {
  return [...document.querySelectorAll('#along-amenities input:checked')].map((i) => i.value);
}

function renderSummary() {
  const el = $('along-opts-summary');
  const d = $('along-depart').value;
  const when = A.departEdited && d ? d.slice(5).replace('T', ' ').replace('-', '/') : t('along_now');
  let s = t('along_summary', t('km', corridorKm()), speedValue(), when);
  const n = amenities().length + ($('along-open').checked ? 1 : 0);
  if (n) s += ` ${t('n_filters', n)}`;
  el.textContent = s;
}

function selectTab(tab) {
  const changed = tab !== A.tab;
  A.tab = tab;
  for (const k of ['draw', 'paste', 'gpx']) {
    const b = $(`along-tab-${k}`);
    b.setAttribute('aria-selected', String(k === tab));
    b.tabIndex = k === tab ? 0 : -1;
    $(`along-pane-${k}`).hidden = k !== tab;
  }
  const m = map();
  if (m) {
    if (A.active && tab === 'draw') m.doubleClickZoom.disable(); else m.doubleClickZoom.enable();
  }
  if (changed) clearResults();
  drawRoute();
  renderDraw();
  updateRunButton();
  if (A.active && changed) fitRoute();
}

function renderDraw() {
  const n = A.points.length;
  $('along-points').textContent = n ? t('along_points', n, fmtDistance(partsLength([A.points]))) : t('along_no_points');
  $('along-undo').disabled = n === 0;
  $('along-clear').disabled = n === 0;
}

function renderGpxInfo() {
  const el = $('along-gpx-info');
  if (A.gpx.error) {
    el.className = 'small error-text';
    el.textContent = t(A.gpx.error);
  } else {
    el.className = 'small muted';
    el.textContent = A.gpx.name
      ? t('along_gpx_loaded', A.gpx.name, A.gpx.parts.reduce((s, p) => s + p.length, 0))
      : t('along_gpx_none');
  }
}

// The route of the current tab: { parts (WGS-84, to draw), send }, or null.
function currentRoute() {
  if (A.tab === 'draw') {
    if (A.points.length < 2) return null;
    return { parts: [A.points], send: { kind: 'json', route: { type: 'LineString', coordinates: A.points }, crs: 'wgs84' } };
  }
  if (A.tab === 'paste') {
    const route = pastedRoute($('along-text').value);
    if (!route) return null;
    return { parts: A.paste.parts, send: { kind: 'json', route, crs: $('along-crs').value } };
  }
  if (!A.gpx.text || A.gpx.error) return null;
  return { parts: A.gpx.parts, send: { kind: 'gpx', text: A.gpx.text } };
}

function updateRunButton() {
  $('along-run').disabled = !currentRoute();
}

let pasteFitTimer = 0;
function onPasteInput() {
  const route = pastedRoute($('along-text').value);
  A.paste.parts = route ? routeParts(route, $('along-crs').value) : [];
  clearResults();
  drawRoute();
  updateRunButton();
  // Show the whole pasted route once the typing or pasting stops.
  clearTimeout(pasteFitTimer);
  pasteFitTimer = setTimeout(() => { if (A.active && A.tab === 'paste') fitRoute(); }, 500);
}

function onGpxFile() {
  const file = $('along-file').files && $('along-file').files[0];
  clearResults();
  A.gpx = { name: file ? file.name : '', text: '', parts: [], error: null };
  if (!file) { renderGpxInfo(); drawRoute(); updateRunButton(); return; }
  if (file.size > MAX_GPX_BYTES) {
    A.gpx.error = 'along_gpx_big';
    renderGpxInfo(); drawRoute(); updateRunButton();
    return;
  }
  const reader = new FileReader();
  reader.onload = () => {
    const text = String(reader.result || '');
    const parts = gpxParts(text);
    A.gpx = { name: file.name, text, parts: parts || [], error: parts && parts.length ? null : 'along_gpx_empty' };
    renderGpxInfo();
    drawRoute();
    updateRunButton();
    fitRoute();
  };
  reader.onerror = () => {
    A.gpx.error = 'along_gpx_unreadable';
    renderGpxInfo();
    updateRunButton();
  };
  reader.readAsText(file);
}

// ---------------------------------------------------------------------------
// Drawing on the map

function beforeOwnLayers() {
  const layers = map().getStyle().layers;
  const own = Object.values(ws().layerIds).flat();
  const hit = layers.find((l) => own.includes(l.id));
  return hit && hit.id;
}

function addMapLayers() {
  const m = map();
  if (A.sourcesAdded || m.getSource('ws-along-route')) return;
  A.sourcesAdded = true;
  const empty = { type: 'FeatureCollection', features: [] };
  m.addSource('ws-along-route', { type: 'geojson', data: empty });
  m.addSource('ws-along-vertices', { type: 'geojson', data: empty });
  const before = beforeOwnLayers();
  m.addLayer({
    id: 'along-route-casing', type: 'line', source: 'ws-along-route',
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': '#ffffff', 'line-width': 8, 'line-opacity': 0.9 },
  }, before);
  m.addLayer({
    id: 'along-route-line', type: 'line', source: 'ws-along-route',
    layout: { 'line-join': 'round', 'line-cap': 'round' },
    paint: { 'line-color': ROUTE_COLOUR, 'line-width': 4 },
  }, before);
  m.addLayer({
    id: 'along-vertices', type: 'circle', source: 'ws-along-vertices',
    paint: {
      'circle-radius': 6,
      'circle-color': ['match', ['get', 'kind'], 'start', '#2b8a3e', 'end', '#c92a2a', '#ffffff'],
      'circle-stroke-color': ROUTE_COLOUR,
      'circle-stroke-width': 2.5,
    },
  });
}

function setOwnVisibility() {
  const m = map();
  if (!m) return;
  for (const id of ['along-route-casing', 'along-route-line', 'along-vertices']) {
    if (m.getLayer(id)) m.setLayoutProperty(id, 'visibility', A.active ? 'visible' : 'none');
  }
  for (const mk of A.markers) mk.getElement().hidden = !A.active;
}

function drawRoute() {
  const m = map();
  if (!m || !m.getSource('ws-along-route')) return;
  const r = currentRoute();
  const parts = A.tab === 'draw' ? (A.points.length ? [A.points] : []) : ((r && r.parts) || []);
  const lines = parts.filter((p) => p.length >= 2).map((p) => p.map(toDisplay));
  m.getSource('ws-along-route').setData({
    type: 'FeatureCollection',
    features: lines.length ? [{ type: 'Feature', properties: {}, geometry: { type: 'MultiLineString', coordinates: lines } }] : [],
  });
  const vs = A.tab === 'draw' ? A.points : [];
  m.getSource('ws-along-vertices').setData({
    type: 'FeatureCollection',
    features: vs.map((c, i) => ({
      type: 'Feature',
      properties: { kind: i === 0 ? 'start' : (i === vs.length - 1 ? 'end' : 'mid') },
      geometry: { type: 'Point', coordinates: toDisplay(c) },
    })),
  });
}

// Padding that keeps points clear of the layer chips and the sheet.
function viewPadding() {
  const m = map();
  const pad = { top: 70, right: 40, bottom: 40, left: 40 };
  const bar = $('layerbar');
  if (bar) pad.top = Math.min(bar.offsetHeight + 24, 160);
  const sheet = $('along');
  if (!sheet.hidden && !isDesktop()) pad.bottom = sheet.offsetHeight + 24;
  const mh = m.getContainer().clientHeight;
  const mw = m.getContainer().clientWidth;
  if (pad.top + pad.bottom > mh - 60) { const s = (mh - 60) / (pad.top + pad.bottom); pad.top *= s; pad.bottom *= s; }
  if (pad.left + pad.right > mw - 60) { pad.left = pad.right = 10; }
  return pad;
}

function fitRoute() {
  const m = map();
  const r = currentRoute();
  const pts = [...((r && r.parts) || []).flat(), ...A.results.map((f) => f.geometry.coordinates)].map(toDisplay);
  if (!m || pts.length < 2) return;
  const b = new maplibregl.LngLatBounds(pts[0], pts[0]);
  for (const p of pts) b.extend(p);
  const pad = viewPadding();
  pad.top += 34; // the signs stand above their points
  m.fitBounds(b, { padding: pad, maxZoom: 14, duration: 600 });
}

// Clusters step back (their counts hidden) while the numbered signs are shown,
// as app.js does for nearest results; back to app.js's own rule on leaving.
function applyFocus() {
  const m = map();
  const st = appState();
  if (!m || !st) return;
  const on = A.active && A.results.length > 0;
  const behind = on || (!A.active && st.mode === 'find' && st.results.length > 0);
  document.body.classList.toggle('along-results', on);
  const k = behind ? 1 : 0;
  for (const [cid, pid] of Object.values(ws().layerIds)) {
    if (m.getLayer(cid)) {
      m.setPaintProperty(cid, 'circle-opacity', FOCUS.cluster[k]);
      m.setPaintProperty(cid, 'circle-stroke-opacity', FOCUS.clusterStroke[k]);
    }
    if (m.getLayer(pid)) {
      m.setPaintProperty(pid, 'circle-opacity', FOCUS.point[k]);
      m.setPaintProperty(pid, 'circle-stroke-opacity', FOCUS.point[k]);
    }
  }
}

// ---------------------------------------------------------------------------
// Map taps while the mode is on. The map's own 'click' (MapLibre's, with its
// click tolerance) is taken here before app.js's listener can run a nearest
// query; so is 'touchstart', which would start app.js's long-press query.

function wrapMapEvents() {
  const m = map();
  if (m.__alongWrapped) return;
  m.__alongWrapped = true;
  const fire = m.fire;
  m.fire = function alongFire(ev, props) {
    if (A.active) {
      const type = typeof ev === 'string' ? ev : ev && ev.type;
      if (type === 'touchstart') return this;
      if (type === 'click' && ev && ev.lngLat) {
        const st = appState();
        if (A.tab === 'draw') {
          // A tap beside an open popup closes it (as on the map elsewhere);
          // the next one adds a point.
          if (st.popup && st.popup.isOpen()) { st.popup.remove(); return this; }
          addPoint(st.conv.fromDisplay([ev.lngLat.lng, ev.lngLat.lat]));
          return this;
        }
        // A facility or cluster: app.js opens its popup / zooms in. Empty map:
        // only what a click closes (the popup).
        const layers = Object.values(ws().layerIds).flat().filter((id) => m.getLayer(id));
        const pad = 6;
        const hits = m.queryRenderedFeatures([[ev.point.x - pad, ev.point.y - pad], [ev.point.x + pad, ev.point.y + pad]], { layers });
        if (!hits.length) {
          if (st.popup) st.popup.remove();
          return this;
        }
        const before = appState().popup;
        const out = fire.call(this, ev, props);
        const after = appState().popup;
        if (after && after !== before && after.isOpen()) foldForPopup(after);
        return out;
      }
    }
    return fire.call(this, ev, props);
  };
}

function addPoint(wgs) {
  const p = [Number(wgs[0].toFixed(6)), Number(wgs[1].toFixed(6))];
  A.points.push(p);
  afterPointsChanged();
}

function afterPointsChanged() {
  clearResults();
  drawRoute();
  renderDraw();
  updateRunButton();
}

// ---------------------------------------------------------------------------
// The query

async function run() {
  const st = appState();
  const r = currentRoute();
  if (!r) { setStatus('along_need_route'); return; }
  const layers = visibleFacilityLayers();
  if (!layers.length) { clearResults(); setStatus('no_layers'); return; }
  const depart = `${departValue()}:00+08:00`;
  renderSummary();
  const opts = {
    corridor_m: Math.round(corridorKm() * 1000),
    layers,
    depart,
    speed_kmh: speedValue(),
    limit: LIMIT,
  };
  const am = amenities();
  if (am.length) opts.amenities = am;
  if ($('along-open').checked) opts.open_on_arrival = true;
  const token = ++A.token;
  setStatus('searching');
  $('along-run').disabled = true;
  let req;
  if (r.send.kind === 'gpx') {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts)) q.set(k, Array.isArray(v) ? v.join(',') : String(v));
    req = fetch(`/api/v1/along?${q}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/gpx+xml', Accept: 'application/geo+json, application/json', ...langHeader() },
      body: r.send.text,
    });
  } else {
    const body = { route: r.send.route, crs: r.send.crs, ...opts };
    req = fetch('/api/v1/along', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/geo+json, application/json', ...langHeader() },
      body: JSON.stringify(body),
    });
  }
  try {
    const resp = await req;
    if (token !== A.token) return;
    if (!resp.ok) throw await problemError(resp);
    const fc = await resp.json();
    if (token !== A.token) return;
    A.results = (fc.features || []).filter((f) => f && f.geometry && f.geometry.type === 'Point');
    A.answer = {
      length_m: fc.route_length_m,
      corridor_m: opts.corridor_m,
      matched: fc.numberMatched ?? A.results.length,
      depart,
    };
    if (st.popup && st.popup === A.popup) st.popup.remove();
    renderResults();
    if (A.results.length) setStatus('along_found'); else setStatus('along_none');
    showStatus();
    if (A.active) fitRoute();
  } catch (err) {
    if (token !== A.token) return;
    A.results = [];
    A.answer = null;
    renderResults();
    setStatus('along_failed', { detail: err.detail || err.message, invalid: err.invalid || [] });
    showStatus();
  } finally {
    if (token === A.token) updateRunButton();
  }
}

function setStatus(key, error = null) {
  A.status = key ? { key, error } : null;
  renderStatus();
}

function renderStatus() {
  const el = $('along-status');
  const s = A.status;
  if (!s) { el.className = ''; el.textContent = ''; return; }
  if (s.error) {
    el.className = 'error';
    const inv = (s.error.invalid || []).map((p) => `<li><code>${esc(p.name)}</code>: ${esc(p.reason)}</li>`).join('');
    el.innerHTML = `<strong>${esc(t(s.key))}:</strong> ${esc(s.error.detail)}${inv ? `<ul>${inv}</ul>` : ''}`;
    return;
  }
  el.className = ['along_need_route', 'no_layers'].includes(s.key) ? 'warn' : '';
  const a = A.answer;
  if (s.key === 'along_found' && a) {
    el.textContent = t('along_found', A.results.length, fmtDistance(a.length_m), t('km', a.corridor_m / 1000)) +
      (a.matched >= LIMIT ? t('along_limit', LIMIT) : '');
  } else if (s.key === 'along_none' && a) {
    el.textContent = t('along_none', t('km', a.corridor_m / 1000));
  } else {
    el.textContent = t(s.key);
  }
}

// Scrolls the sheet so that the answer (or the error) is at its top: the
// route's controls are above it, one swipe away.
function showStatus() {
  const body = $('along-body');
  const el = $('along-status');
  if (!body || !el || body.offsetParent === null) return;
  body.scrollTop += el.getBoundingClientRect().top - body.getBoundingClientRect().top - 6;
}

function clearResults() {
  A.token++;
  const had = A.results.length > 0 || A.status;
  A.results = [];
  A.answer = null;
  if (A.popup) A.popup.remove();
  if (had) setStatus(null);
  renderResults();
}

// ---------------------------------------------------------------------------
// Results: the list in route order and the signs on the map

function arrivalHTML(v) {
  if (v === true) return `<span class="open yes">${esc(t('arr_open'))}</span>`;
  if (v === false) return `<span class="open no">${esc(t('arr_closed'))}</span>`;
  return `<span class="open unknown">${esc(t('arr_unknown'))}</span>`;
}

function sideText(side) {
  if (side === 'left') return t('side_left');
  if (side === 'right') return t('side_right');
  return '';
}

function navLink(p) {
  const l = (p.links && typeof p.links === 'object') ? p.links : {};
  return safeUrl(l.amap || l.baidu || l.apple || l.osm || '');
}

function renderResults() {
  const ol = $('along-results');
  ol.replaceChildren();
  for (const mk of A.markers) mk.remove();
  A.markers = [];
  const m = map();
  const depart = A.answer && A.answer.depart;
  A.results.forEach((f, i) => {
    const p = f.properties || {};
    const name = featureName(p);
    const colour = layerColour(p.layer);
    const li = document.createElement('li');
    li.className = 'result along-result';
    li.dataset.index = String(i);
    li.dataset.id = String(p.id ?? f.id ?? '');
    li.dataset.along = String(p.along_m ?? '');
    const eta = fmtEta(p.eta, depart);
    const go = navLink(p);
    const side = sideText(p.side);
    li.innerHTML =
      `<button type="button" class="result-main" aria-label="${esc(t('show_on_map'))}: ${esc(name)}">` +
        `<span class="num along-num">${i + 1}</span>` +
        '<span class="result-text">' +
          `<span class="result-name">${esc(name)}${p.synthetic === true ? ` <span class="badge demo small">${esc(t('demo_badge'))}</span>` : ''}</span>` +
          `<span class="result-meta"><span class="along-at">${esc(t('along_at', fmtDistance(p.along_m)))}</span>` +
            ` · <span class="detour">${esc(t('along_detour', fmtDistance(p.detour_m)))}</span>` +
            (side ? ` · <span class="side">${esc(side)}</span>` : '') + '</span>' +
          '<span class="result-meta">' +
            (eta ? `<span class="eta">${esc(t('along_eta', eta))}</span> · ` : '') +
            `<span class="arrival" title="${esc(t('arr_title'))}">${arrivalHTML(p.open_on_arrival)}</span></span>` +
          `<span class="result-layer muted"><span class="swatch" style="background:${esc(colour)}"></span> ${esc(layerOne(p.layer))}${p.address ? ` · ${esc(p.address)}` : ''}</span>` +
        '</span>' +
      '</button>' +
      (go ? `<a class="btn go" href="${esc(go)}" target="_blank" rel="noopener" aria-label="${esc(t('go_aria', name))}">${esc(t('along_nav'))}</a>` : '');
    const main = li.querySelector('.result-main');
    main.addEventListener('click', () => selectResult(i));
    main.addEventListener('mouseenter', () => setActive(i, false));
    main.addEventListener('focus', () => setActive(i, false));
    ol.appendChild(li);

    if (!m) return;
    // A green road sign with its number on a short post: unlike a cluster
    // (a coloured circle) or a nearest pin (a dark label with a tail).
    const el = document.createElement('div');
    el.className = 'along-marker';
    el.dataset.layer = String(p.layer || '');
    el.innerHTML = `<span class="sign"><span class="dot" style="background:${esc(colour)}"></span>${i + 1}</span><span class="post"></span>`;
    el.title = `${i + 1}. ${name} · ${t('along_at', fmtDistance(p.along_m))}`;
    el.style.zIndex = String(100 - Math.min(i, 50));
    el.hidden = !A.active;
    el.addEventListener('click', (ev) => { ev.stopPropagation(); selectResult(i, { scroll: true, move: false }); });
    const mk = new maplibregl.Marker({ element: el, anchor: 'bottom' }).setLngLat(toDisplay(f.geometry.coordinates)).addTo(m);
    A.markers.push(mk);
  });
  applyFocus();
}

function setActive(i, scroll) {
  document.querySelectorAll('#along-results .result').forEach((li) => li.classList.toggle('active', +li.dataset.index === i));
  A.markers.forEach((mk, j) => mk.getElement().classList.toggle('active', j === i));
  const f = A.results[i];
  highlight(f ? f.geometry.coordinates : null);
  if (scroll) {
    const li = document.querySelector(`#along-results .result[data-index="${i}"]`);
    if (li) li.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  }
}

function highlight(wgs) {
  const src = map() && map().getSource('ws-highlight');
  if (!src) return;
  src.setData({
    type: 'FeatureCollection',
    features: wgs ? [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: toDisplay(wgs) } }] : [],
  });
}

// Flies to a result and opens its popup (the sheet folds on a phone).
function selectResult(i, { scroll = false, move = true } = {}) {
  const f = A.results[i];
  const m = map();
  if (!f || !m) return;
  setActive(i, scroll);
  openPopup(f, i);
  if (move) {
    const pad = viewPadding();
    const visibleH = m.getContainer().clientHeight - pad.top - pad.bottom;
    m.flyTo({
      center: toDisplay(f.geometry.coordinates),
      zoom: Math.max(m.getZoom(), 13),
      padding: pad,
      offset: [0, Math.max(0, visibleH / 2 - 40)],
      duration: 800,
      essential: true,
    });
  }
}

function popupHTML(f, i) {
  const p = f.properties || {};
  const depart = A.answer && A.answer.depart;
  const eta = fmtEta(p.eta, depart);
  const l = (p.links && typeof p.links === 'object') ? p.links : {};
  const names = { amap: lang() === 'zh' ? '高德' : 'Amap', baidu: lang() === 'zh' ? '百度' : 'Baidu', apple: 'Apple', osm: 'OSM' };
  const links = ['amap', 'baidu', 'apple', 'osm'].filter((k) => l[k] && safeUrl(l[k]))
    .map((k) => `<a class="navlink" href="${esc(safeUrl(l[k]))}" target="_blank" rel="noopener">${esc(names[k])}</a>`).join(' ');
  const rows = [];
  const row = (label, html) => { if (html) rows.push(`<dt>${esc(label)}</dt><dd>${html}</dd>`); };
  const am = Array.isArray(p.amenities) ? p.amenities : [];
  if (am.length) row(t('amenities'), `<ul class="tags">${am.map((a) => `<li>${esc(word(AMENITIES, a))}</li>`).join('')}</ul>`);
  if (p.opening_hours) row(t('hours'), `<span class="hours">${esc(fmtHours(p.opening_hours))}</span>`);
  if (p.phone) row(t('phone'), `<a href="tel:${esc(String(p.phone).replace(/[^0-9+]/g, ''))}">${esc(p.phone)}</a>`);
  row(t('address'), esc(p.address || ''));
  const side = sideText(p.side);
  return '<div class="pop along-pop">' +
    `<div class="pop-layer"><span class="swatch" style="background:${esc(layerColour(p.layer))}"></span>${esc(layerOne(p.layer))}` +
      (p.synthetic === true ? ` <span class="badge demo" title="${esc(t('demo_note'))}">演示数据 / demo data</span>` : '') + '</div>' +
    `<h3><span class="along-num small-num">${i + 1}</span> ${esc(featureName(p))}</h3>` +
    `<div class="pop-dist">${esc(t('along_at', fmtDistance(p.along_m)))} · ${esc(t('along_detour', fmtDistance(p.detour_m)))}${side ? ` · ${esc(side)}` : ''}</div>` +
    `<div class="pop-dist">${eta ? `${esc(t('along_eta', eta))} · ` : ''}${arrivalHTML(p.open_on_arrival)}</div>` +
    (links ? `<div class="navrow" role="group" aria-label="${esc(t('nav'))}">${links}</div>` : '') +
    (rows.length ? `<dl>${rows.join('')}</dl>` : '') +
    '</div>';
}

function openPopup(f, i) {
  const st = appState();
  const m = map();
  if (st.popup) st.popup.remove();
  if (A.popup) A.popup.remove();
  const popup = new maplibregl.Popup({ maxWidth: '320px', focusAfterOpen: false, className: 'ws-popup', offset: { bottom: [0, -36], 'bottom-left': [0, -36], 'bottom-right': [0, -36] } })
    .setLngLat(toDisplay(f.geometry.coordinates))
    .setHTML(popupHTML(f, i))
    .addTo(m);
  popup.__along = { f, i };
  A.popup = popup;
  st.popup = popup; // app.js closes it when it opens one of its own
  st.popupFeature = null;
  popup.on('close', () => {
    if (A.popup === popup) { A.popup = null; highlight(null); setActive(-1, false); }
    if (st.popup === popup) st.popup = null;
  });
  foldForPopup(popup);
}

// On a phone the sheet would cover the popup: fold it to its header until the
// popup closes.
function foldForPopup(popup) {
  const sheet = $('along');
  if (isDesktop() || sheet.hidden || sheet.classList.contains('collapsed')) return;
  setCollapsed(true);
  A.foldedForPopup = true;
  popup.once('close', () => {
    if (!A.foldedForPopup) return;
    A.foldedForPopup = false;
    if (A.active) setCollapsed(false);
  });
}

function setCollapsed(on) {
  $('along').classList.toggle('collapsed', on);
  $('along-handle').setAttribute('aria-expanded', String(!on));
}

// ---------------------------------------------------------------------------
// Entering and leaving the mode

function enter() {
  const w = ws();
  if (!w || !w.ready || A.active || document.body.classList.contains('embed')) return;
  if (w.state.mode === 'coverage') w.setMode('find');
  if (w.state.popup) w.state.popup.remove();
  if (!$('panel').hidden) $('btn-close').click(); // app.js closes its sheet
  A.active = true;
  w.state.mode = 'along';
  document.body.classList.add('along');
  $('btn-along').setAttribute('aria-pressed', 'true');
  $('along').hidden = false;
  setCollapsed(false);
  wrapMapEvents();
  addMapLayers();
  renderControls();
  selectTab(A.tab);
  renderDraw();
  renderGpxInfo();
  renderStatus();
  setOwnVisibility();
  applyFocus();
  if (!A.departEdited) $('along-depart').value = beijingNow();
  renderSummary();
  const u = new URL(location.href);
  u.searchParams.set('mode', 'along');
  history.replaceState(null, '', u);
  setTimeout(() => { if (map()) map().resize(); }, 0);
}

// `panel`: open the nearest sheet again (false when the caller is about to).
function exit({ panel = true } = {}) {
  const w = ws();
  if (!A.active) return;
  A.active = false;
  if (w.state.mode === 'along') w.state.mode = 'find';
  document.body.classList.remove('along');
  $('btn-along').setAttribute('aria-pressed', 'false');
  $('along').hidden = true;
  A.foldedForPopup = false;
  if (A.popup) A.popup.remove();
  highlight(null);
  map().doubleClickZoom.enable();
  setOwnVisibility();
  applyFocus();
  const u = new URL(location.href);
  if (u.searchParams.get('mode') === 'along') { u.searchParams.delete('mode'); history.replaceState(null, '', u); }
  if (panel && $('panel').hidden) $('btn-list').click(); // app.js opens its sheet
  setTimeout(() => { if (map()) map().resize(); }, 0);
}

function onLangChange() {
  if (!ws() || !ws().ready) return;
  renderControls();
  renderDraw();
  renderGpxInfo();
  renderStatus();
  renderResults();
  if (A.popup && A.popup.isOpen() && A.popup.__along) A.popup.setHTML(popupHTML(A.popup.__along.f, A.popup.__along.i));
  applyFocus();
}

// Options changed: the shown results follow.
function onOptionsChanged() {
  renderSummary();
  if (A.active && A.answer) run();
}

// ---------------------------------------------------------------------------
// Wiring. Module scripts run after the document is parsed, and before app.js's
// own body: the listeners below on 附近, ☰ and the coverage button run before
// app.js's, so this mode is left before those act.

function wire() {
  if (A.wired || !$('along')) return;
  A.wired = true;
  $('btn-along').addEventListener('click', () => (A.active ? exit() : enter()));
  $('along-close').addEventListener('click', () => exit());
  $('btn-near').addEventListener('click', () => exit({ panel: false }));
  $('btn-list').addEventListener('click', () => exit({ panel: false }));
  $('btn-mode').addEventListener('click', () => exit({ panel: true }));
  $('along-handle').addEventListener('click', () => {
    if (isDesktop()) return;
    A.foldedForPopup = false;
    setCollapsed(!$('along').classList.contains('collapsed'));
  });
  const tabs = ['draw', 'paste', 'gpx'];
  for (const k of tabs) {
    const b = $(`along-tab-${k}`);
    b.addEventListener('click', () => { if (A.tab !== k) selectTab(k); });
    b.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      const next = tabs[(tabs.indexOf(k) + d + tabs.length) % tabs.length];
      selectTab(next);
      $(`along-tab-${next}`).focus();
    });
  }
  $('along-undo').addEventListener('click', () => { A.points.pop(); afterPointsChanged(); });
  $('along-clear').addEventListener('click', () => { A.points = []; afterPointsChanged(); });
  $('along-text').addEventListener('input', onPasteInput);
  $('along-crs').addEventListener('change', onPasteInput);
  $('along-file').addEventListener('change', onGpxFile);
  $('along-form').addEventListener('submit', (e) => { e.preventDefault(); run(); });
  $('along-depart').addEventListener('change', () => { A.departEdited = !!$('along-depart').value; onOptionsChanged(); });
  for (const id of ['along-corridor', 'along-speed', 'along-open']) $(id).addEventListener('change', onOptionsChanged);
  $('along-amenities').addEventListener('change', onOptionsChanged);
  // A type box is its layer's chip (app.js's setLayerVisible); a chip's click
  // reaches #layer-chips after the chip itself has acted.
  $('along-layers').addEventListener('change', (e) => {
    const input = e.target;
    const chip = input && document.querySelector(`.chip[data-layer="${CSS.escape(input.value)}"]`);
    if (chip) chip.click(); else syncLayerBoxes();
  });
  $('layer-chips').addEventListener('click', (e) => {
    if (!e.target.closest('.chip') || !ws() || !ws().ready) return;
    syncLayerBoxes();
    if (A.active) onOptionsChanged();
  });
  new MutationObserver(onLangChange).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
}

function whenReady(fn) {
  if (ws() && ws().ready) { fn(); return; }
  const obs = new MutationObserver(() => {
    if (ws() && ws().ready) { obs.disconnect(); fn(); }
  });
  obs.observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
}

wire();
whenReady(() => {
  const w = ws();
  // The test hook, beside app.js's.
  w.along = {
    state: A,
    enter,
    exit,
    run,
    selectTab,
    addPoint: (lon, lat) => addPoint([lon, lat]),
    get active() { return A.active; },
  };
  if (new URLSearchParams(location.search).get('mode') === 'along') enter();
});
