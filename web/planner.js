// 覆盖分析 / Coverage mode: the union planner's view of the map.
//
// - parks coloured by union status and sized by workers (/api/v1/coverage/parks);
// - an H3 hexagon grid as a choropleth of un-unionised workers or of the distance
//   to the nearest facility of a layer (/api/v1/coverage/grid), its resolution
//   following the zoom (4–8), asked for the visible area only;
// - the service areas of one layer: radius rings and the Voronoi cells clipped to
//   them (/api/v1/coverage/catchments), only when few enough are in view;
// - the table of the parks with the largest gaps, sortable, each row flying to
//   its park, with CSV / XLSX downloads of the same query;
// - the siting tool (POST /api/v1/siting): proposed sites as numbered markers.
//
// No request goes anywhere but this page's origin. Everything the server
// refuses is shown with its problem+json `detail`. The server's caps (cells per
// grid request, facilities per catchment request) are checked here before
// asking, so a normal session never provokes a refusal.
//
// app.js owns the map, the language and the popups; it hands them over in `ctx`.

import { langHeader } from './common.js';
import { UNION_STATUS, UNION_STATUS_SHORT, LAYER_ONE, LAYER_SHORT } from './i18n.js';

const FACILITY_LAYERS = ['driver_home', 'courier_station', 'fitness_station'];
const DEFAULT_RADII_KM = { driver_home: 20, courier_station: 3, fitness_station: 5 };
// The server's caps (src/http/coverage.rs): MAX_GRID_CELLS, MAX_CATCHMENT_FACILITIES.
const MAX_GRID_CELLS = 200_000;
const MAX_CATCHMENTS = 5_000;
// The siting body's bounds (src/http/coverage.rs: MAX_SITES; Radius: at most 500 km).
const MAX_SITES = 500;
const MAX_RADIUS_KM = 500;
const CATCHMENT_MIN_ZOOM = 6;
// Parks drawn on the map per request (the table shows the first few of them).
const MAP_PARKS = 20_000;
// Average H3 cell areas (m²) at resolutions 4–8, as the server's estimate uses.
const H3_AREA_M2 = { 4: 1_770_347_654.49, 5: 252_903_858.18, 6: 36_129_062.16, 7: 5_161_293.36, 8: 737_327.60 };
const EARTH_R = 6_371_008.8;
// One neutral ramp for both grid measures: darker = a bigger gap. It stays clear
// of the union-status colours of the parks and of the layer colours.
const RAMP = ['#eceff3', '#c3cad3', '#98a2b0', '#66707f', '#343a45'];
const NO_FACILITY = '#1b1f24';

export function createPlanner(ctx) {
  const { state, t, esc, fmtNumber, fmtDistance } = ctx;
  const $ = (id) => document.getElementById(id);
  const map = () => ctx.map;
  const lw = (table, key) => (table[key] ? table[key][state.lang] : key);

  const ps = {
    active: false,
    wired: false,
    metaLoaded: false,
    groups: [], // summary by district: the city and district choices
    filters: { union_status: [], min_workers: '', city: '', district: '', in_view: false },
    radiiKm: { ...DEFAULT_RADII_KM },
    measure: 'ununionised_workers', // or nearest:<layer>, or off
    catchLayer: 'courier_station', // '' for none
    tab: 'gaps',
    rankBy: 'gap_score',
    limit: 50,
    sort: null, // { key, dir } of the table's own (client-side) sort
    parks: [], // coverage features (WGS-84), in rank order
    matched: 0,
    parksError: null,
    grid: { fc: null, key: '', fetched: null, res: null, info: '', breaks: [], loading: false },
    catch: { fc: null, key: '', fetched: null, info: '', count: 0 },
    siting: { result: null, error: null, running: false, markers: [] },
    pending: 0,
    tokens: { parks: 0, grid: 0, catch: 0, siting: 0 },
  };

  // --- small helpers --------------------------------------------------------

  function radiusM(layer) {
    const km = Number(ps.radiiKm[layer]);
    return Number.isFinite(km) && km > 0 ? km * 1000 : DEFAULT_RADII_KM[layer] * 1000;
  }

  function track(p) {
    ps.pending++;
    document.body.dataset.coverage = 'loading';
    return p.finally(() => {
      ps.pending--;
      if (!ps.pending) document.body.dataset.coverage = 'ready';
    });
  }

  function pct(part, whole) {
    if (!whole) return '';
    return t('pct', (100 * part / whole).toFixed(1));
  }

  function units(n) {
    const w = ps.siting.result ? ps.siting.result.weight : 'workers';
    return w === 'parks' ? t('unit_parks', fmtNumber(n)) : t('unit_workers', fmtNumber(n));
  }

  function toDisplayGeometry(g) {
    const ring = (r) => r.map((c) => ctx.state.conv.toDisplay(c));
    if (g.type === 'Polygon') return { type: 'Polygon', coordinates: g.coordinates.map(ring) };
    if (g.type === 'MultiPolygon') return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(ring)) };
    if (g.type === 'Point') return { type: 'Point', coordinates: ctx.state.conv.toDisplay(g.coordinates) };
    return g;
  }

  function setData(id, fc) {
    const src = map() && map().getSource(id);
    if (src) src.setData(fc);
  }

  const EMPTY = { type: 'FeatureCollection', features: [] };

  // The visible area in WGS-84, optionally grown by a share of its size, clipped
  // to the world.
  function viewBBox(grow = 0) {
    const m = map();
    const b = m.getBounds();
    const sw = ctx.state.conv.fromDisplay([b.getWest(), b.getSouth()]);
    const ne = ctx.state.conv.fromDisplay([b.getEast(), b.getNorth()]);
    const w = ne[0] - sw[0];
    const h = ne[1] - sw[1];
    return [
      Math.max(-180, sw[0] - w * grow), Math.max(-85, sw[1] - h * grow),
      Math.min(180, ne[0] + w * grow), Math.min(85, ne[1] + h * grow),
    ];
  }

  // The data's extent (from /api/v1/layers), a little grown: the grid is never
  // asked for empty ocean.
  function dataExtent() {
    let b = null;
    for (const l of ctx.state.layers) {
      if (!Array.isArray(l.bbox) || l.bbox.length !== 4) continue;
      b = b ? [Math.min(b[0], l.bbox[0]), Math.min(b[1], l.bbox[1]), Math.max(b[2], l.bbox[2]), Math.max(b[3], l.bbox[3])] : [...l.bbox];
    }
    return b && [b[0] - 1, b[1] - 1, b[2] + 1, b[3] + 1];
  }

  function intersect(a, b) {
    if (!a || !b) return a || b;
    const r = [Math.max(a[0], b[0]), Math.max(a[1], b[1]), Math.min(a[2], b[2]), Math.min(a[3], b[3])];
    return r[0] < r[2] && r[1] < r[3] ? r : null;
  }

  function contains(outer, inner) {
    return outer && inner && outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
  }

  const bboxParam = (b) => b.map((x) => x.toFixed(4)).join(',');

  // The same estimate as the server's (grid::estimate_cells).
  function estimateCells(b, res) {
    const rad = Math.PI / 180;
    const area = EARTH_R * EARTH_R * (b[2] - b[0]) * rad * (Math.sin(b[3] * rad) - Math.sin(b[1] * rad));
    return area / H3_AREA_M2[res] + 1;
  }

  // About 15–35 px a hexagon at every zoom.
  function resForZoom(z) {
    if (z < 6.5) return 4;
    if (z < 8) return 5;
    if (z < 9.5) return 6;
    if (z < 11) return 7;
    return 8;
  }

  // Points of a geodesic circle (for the proposed sites' radius).
  function circle([lon, lat], r, n = 64) {
    const d = r / EARTH_R;
    const p1 = (lat * Math.PI) / 180;
    const l1 = (lon * Math.PI) / 180;
    const ring = [];
    for (let i = 0; i <= n; i++) {
      const th = (2 * Math.PI * (i % n)) / n;
      const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(th));
      const l2 = l1 + Math.atan2(Math.sin(th) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
      ring.push([(l2 * 180) / Math.PI, (p2 * 180) / Math.PI]);
    }
    return ring;
  }

  // 2 significant digits: class breaks a person can read.
  function nice(v) {
    if (v <= 10) return Math.max(1, Math.round(v));
    const p = 10 ** (Math.floor(Math.log10(v)) - 1);
    return Math.round(v / p) * p;
  }

  // --- query strings --------------------------------------------------------

  // The park filters and radius overrides, as the coverage endpoints take them.
  function filterQuery({ withView = true } = {}) {
    const q = new URLSearchParams();
    const f = ps.filters;
    if (f.union_status.length) q.set('union_status', f.union_status.join(','));
    const mw = String(f.min_workers).trim();
    if (mw !== '') q.set('min_workers', mw);
    if (f.city) q.set('city', f.city);
    if (f.district) q.set('district', f.district);
    if (withView && f.in_view && map()) q.set('bbox', bboxParam(viewBBox()));
    for (const l of FACILITY_LAYERS) {
      const km = String(ps.radiiKm[l]).trim();
      if (km !== '' && Number(km) !== DEFAULT_RADII_KM[l]) q.set(`radius_${l}`, String(Math.round(Number(km) * 1000)));
    }
    return q;
  }

  function exportUrl(format) {
    const q = filterQuery();
    q.set('format', format);
    q.set('sort', ps.rankBy);
    return `/api/v1/coverage/parks?${q}`;
  }

  function reportUrl() {
    const q = filterQuery();
    q.set('lang', state.lang);
    q.set('sort', ps.rankBy);
    q.set('limit', String(ps.limit));
    return `report.html?${q}`;
  }

  // --- the map's sources and layers ------------------------------------------

  function firstOwnLayer() {
    const layers = map().getStyle().layers;
    const hit = layers.find((l) => l.source && String(l.source).startsWith('ws-') && !String(l.source).startsWith('ws-cov'));
    return hit && hit.id;
  }

  function addMapLayers() {
    const m = map();
    if (m.getSource('ws-cov-grid')) return;
    const before = firstOwnLayer();
    m.addSource('ws-cov-grid', { type: 'geojson', data: EMPTY });
    m.addSource('ws-cov-catch', { type: 'geojson', data: EMPTY });
    m.addSource('ws-cov-parks', { type: 'geojson', data: EMPTY });
    m.addSource('ws-cov-sites', { type: 'geojson', data: EMPTY });
    m.addLayer({
      id: 'cov-grid-fill', type: 'fill', source: 'ws-cov-grid',
      paint: { 'fill-color': RAMP[0], 'fill-opacity': 0.62 },
    }, before);
    m.addLayer({
      id: 'cov-grid-line', type: 'line', source: 'ws-cov-grid',
      paint: { 'line-color': '#ffffff', 'line-width': 0.6, 'line-opacity': 0.8 },
    }, before);
    m.addLayer({
      id: 'cov-catch-fill', type: 'fill', source: 'ws-cov-catch', filter: ['==', ['get', 'kind'], 'voronoi'],
      paint: { 'fill-color': ctx.layerColour(ps.catchLayer || 'courier_station'), 'fill-opacity': 0.1 },
    }, before);
    m.addLayer({
      id: 'cov-catch-cell', type: 'line', source: 'ws-cov-catch', filter: ['==', ['get', 'kind'], 'voronoi'],
      paint: { 'line-color': ctx.layerColour(ps.catchLayer || 'courier_station'), 'line-width': 0.8, 'line-opacity': 0.45 },
    }, before);
    m.addLayer({
      id: 'cov-catch-ring', type: 'line', source: 'ws-cov-catch', filter: ['==', ['get', 'kind'], 'ring'],
      paint: { 'line-color': ctx.layerColour(ps.catchLayer || 'courier_station'), 'line-width': 1.4, 'line-opacity': 0.8, 'line-dasharray': [3, 2] },
    }, before);
    m.addLayer({
      id: 'cov-parks', type: 'circle', source: 'ws-cov-parks',
      layout: { 'circle-sort-key': ['-', 0, ['coalesce', ['get', 'workers'], 0]] },
      paint: {
        'circle-color': ['match', ['get', 'union_status'],
          'none', ctx.UNION_COLOURS.none, 'partial', ctx.UNION_COLOURS.partial, 'full', ctx.UNION_COLOURS.full, '#adb5bd'],
        'circle-opacity': 0.9,
        // Area ∝ workers; a little larger as one zooms in.
        'circle-radius': ['interpolate', ['linear'], ['zoom'],
          4, ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'workers'], 0]], 0, 2.5, 30, 4, 100, 8, 400, 18],
          12, ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'workers'], 0]], 0, 5, 30, 8, 100, 14, 400, 30]],
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': 1.2,
      },
    }, before);
    m.addLayer({
      id: 'cov-sites-ring', type: 'line', source: 'ws-cov-sites',
      paint: { 'line-color': '#1b1f24', 'line-width': 2, 'line-dasharray': [2, 1.5] },
    });
  }


  function setOwnVisibility() {
    const m = map();
    if (!m || !m.getLayer('cov-parks')) return;
    const vis = (id, on) => m.setLayoutProperty(id, 'visibility', ps.active && on ? 'visible' : 'none');
    vis('cov-parks', state.visible.has('park'));
    const grid = ps.measure !== 'off';
    vis('cov-grid-fill', grid);
    vis('cov-grid-line', grid);
    for (const id of ['cov-catch-fill', 'cov-catch-cell', 'cov-catch-ring']) vis(id, !!ps.catchLayer);
    vis('cov-sites-ring', true);
    for (const mk of ps.siting.markers) mk.getElement().hidden = !ps.active;
  }

  // --- parks and the gap table -------------------------------------------------

  async function loadParks() {
    const token = ++ps.tokens.parks;
    const q = filterQuery();
    q.set('sort', ps.rankBy);
    q.set('limit', String(MAP_PARKS));
    updateLinks();
    try {
      const fc = await ctx.getJSON(`/api/v1/coverage/parks?${q}`);
      if (token !== ps.tokens.parks) return;
      ps.parks = (fc.features || []).filter((f) => f && f.geometry);
      ps.matched = fc.numberMatched ?? ps.parks.length;
      ps.parksError = null;
    } catch (e) {
      if (token !== ps.tokens.parks) return;
      ps.parks = [];
      ps.matched = 0;
      ps.parksError = e;
    }
    drawParks();
    renderTable();
    renderStatus();
  }

  function drawParks() {
    const features = ps.parks.map((f, i) => {
      const p = f.properties || {};
      const pt = ctx.representativePoint(f.geometry);
      return {
        type: 'Feature',
        geometry: { type: 'Point', coordinates: ctx.state.conv.toDisplay(pt) },
        properties: { _i: i, union_status: p.union_status ?? null, workers: p.workers ?? null, synthetic: p.synthetic === true },
      };
    });
    setData('ws-cov-parks', { type: 'FeatureCollection', features });
  }

  // Every column the table can show. It shows five, so that it fits the 380 px panel
  // and a 360 px phone without sideways scrolling: rank, the park (with its city and
  // district under the name), the column the table is ranked by, and two more figures.
  const ALL_COLUMNS = [
    { key: 'rank', label: () => t('col_rank'), num: true, get: (p) => p.rank },
    { key: 'name', label: () => t('col_name'), get: (p) => ctx.featureName(p) },
    { key: 'gap_score', label: () => t('col_gap'), num: true, get: (p) => p.gap_score },
    { key: 'ununionised_workers', label: () => t('col_unun'), num: true, get: (p) => p.ununionised_workers },
    { key: 'workers', label: () => t('col_workers'), num: true, get: (p) => p.workers },
    ...FACILITY_LAYERS.map((l) => ({
      key: `nearest_${l}`, label: () => t('col_near', lw(LAYER_SHORT, l)), num: true, layer: l,
      get: (p) => (p.nearest_m ? p.nearest_m[l] : null),
    })),
  ];
  const FIGURES = ['gap_score', 'ununionised_workers', 'workers'];

  function columns() {
    const col = (k) => ALL_COLUMNS.find((c) => c.key === k);
    const ranked = col(ps.rankBy) || col('gap_score');
    const others = FIGURES.filter((k) => k !== ranked.key).slice(0, 2).map(col);
    return [col('rank'), col('name'), { ...ranked, ranked: true }, ...others];
  }

  // Row order: the server's rank, or the table's own sort over those rows.
  function tableRows() {
    const rows = ps.parks.slice(0, ps.limit).map((f, i) => ({ f, i }));
    const col = ps.sort && ALL_COLUMNS.find((c) => c.key === ps.sort.key);
    if (!col) return rows;
    const dir = ps.sort.dir === 'asc' ? 1 : -1;
    const coll = new Intl.Collator(state.lang === 'zh' ? 'zh-CN' : 'en');
    return rows.sort((a, b) => {
      const va = col.get(a.f.properties || {});
      const vb = col.get(b.f.properties || {});
      if (va == null && vb == null) return a.i - b.i;
      if (va == null) return 1; // unknown values last, either way
      if (vb == null) return -1;
      const o = col.num ? (va - vb) : coll.compare(String(va), String(vb));
      return o * dir || a.i - b.i;
    });
  }

  function renderTable() {
    const table = $('gap-table');
    const head = table.tHead.rows[0];
    head.replaceChildren();
    const cols = columns();
    for (const c of cols) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.className = `${c.num ? 'numeric' : ''}${c.ranked ? ' ranked' : ''}`;
      th.dataset.key = c.key;
      const sorted = ps.sort && ps.sort.key === c.key;
      th.setAttribute('aria-sort', sorted ? (ps.sort.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'th-sort';
      b.title = t('sort_by', c.label());
      const unit = c.layer ? `<span class="unit">${esc(t('col_km'))}</span>` : '';
      b.innerHTML = `<span class="th-text">${esc(c.label())}${unit}</span><span class="arrow" aria-hidden="true">${sorted ? (ps.sort.dir === 'asc' ? '▲' : '▼') : ''}</span>`;
      b.addEventListener('click', () => sortBy(c));
      th.appendChild(b);
      head.appendChild(th);
    }
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const { f, i } of tableRows()) {
      const p = f.properties || {};
      const tr = document.createElement('tr');
      tr.tabIndex = 0;
      tr.dataset.index = String(i);
      tr.dataset.id = String(p.id ?? f.id ?? '');
      tr.setAttribute('aria-label', t('row_aria', ctx.featureName(p)));
      const cells = cols.map((c) => {
        const v = c.get(p);
        let html;
        if (c.key === 'name') {
          const dot = `<span class="status-dot" style="background:${ctx.UNION_COLOURS[p.union_status] || '#adb5bd'}" title="${esc(p.union_status ? lw(UNION_STATUS, p.union_status) : '')}"></span>`;
          const place = [p.city && cityLabel(p.city), p.district].filter(Boolean).join(' ');
          html = `${dot}${esc(v)}${p.synthetic === true ? ` <span class="badge demo small">${esc(t('demo_short'))}</span>` : ''}` +
            `<span class="sub c-city">${esc(place || '–')}</span>`;
        } else if (c.layer) {
          const within = v != null && v <= radiusM(c.layer);
          html = v == null ? '–' : `<span class="${within ? 'within' : ''}">${esc((v / 1000).toFixed(v < 10000 ? 1 : 0))}</span>`;
        } else if (c.num) {
          html = v == null ? '–' : esc(fmtNumber(c.key === 'gap_score' ? Math.round(v) : v));
        } else {
          html = esc(v ?? '–');
        }
        return `<td class="${c.num ? 'numeric' : ''}${c.ranked ? ' ranked' : ''} c-${c.key}">${html}</td>`;
      });
      tr.innerHTML = cells.join('');
      tr.addEventListener('click', () => showPark(i));
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); showPark(i); } });
      body.appendChild(tr);
    }
    const shown = Math.min(ps.limit, ps.parks.length);
    $('gap-count').textContent = ps.parksError ? '' : (ps.matched ? t('n_of_matched', fmtNumber(shown), fmtNumber(ps.matched)) : t('no_parks'));
  }

  function sortBy(c) {
    if (ps.sort && ps.sort.key === c.key) {
      ps.sort = { key: c.key, dir: ps.sort.dir === 'asc' ? 'desc' : 'asc' };
    } else {
      // Numbers largest first, names A–Z, rank 1 first.
      ps.sort = { key: c.key, dir: c.num && c.key !== 'rank' ? 'desc' : 'asc' };
    }
    renderTable();
    const th = document.querySelector(`#gap-table th[data-key="${c.key}"] button`);
    if (th) th.focus();
  }

  // Flies to a park and opens its popup.
  function showPark(i) {
    const f = ps.parks[i];
    if (!f) return;
    document.querySelectorAll('#gap-table tbody tr').forEach((tr) => tr.classList.toggle('active', +tr.dataset.index === i));
    const wgs = ctx.representativePoint(f.geometry);
    const m = map();
    const target = Math.max(m.getZoom(), 11);
    const pad = ctx.viewPadding();
    // The popup opens once the flight ends (or at once, if there is nowhere to go).
    let opened = false;
    const open = () => {
      if (opened) return;
      opened = true;
      ctx.openPopup({ ...f, properties: { ...f.properties, _layer: 'park' } }, { enrich: true, fit: true });
    };
    m.once('moveend', open);
    m.flyTo({ center: ctx.state.conv.toDisplay(wgs), zoom: target, padding: pad, duration: 800, essential: true });
    setTimeout(() => { if (!m.isMoving()) open(); }, 1000);
  }

  // --- the grid ------------------------------------------------------------------

  function measureLayer() {
    return ps.measure.startsWith('nearest:') ? ps.measure.slice(8) : null;
  }

  async function refreshGrid(force = false) {
    if (!ps.active || !map()) return;
    if (ps.measure === 'off') {
      ps.grid = { ...ps.grid, fc: null, key: '', fetched: null, info: '' };
      setData('ws-cov-grid', EMPTY);
      renderLegend();
      renderInfo();
      return;
    }
    const view = intersect(viewBBox(0.05), dataExtent());
    if (!view) {
      setData('ws-cov-grid', EMPTY);
      return;
    }
    let res = resForZoom(map().getZoom());
    while (res > 4 && estimateCells(view, res) > MAX_GRID_CELLS / 2) res--;
    const layer = measureLayer() || ps.catchLayer || 'courier_station';
    if (!force && ps.grid.res === res && ps.grid.layer === layer && contains(ps.grid.fetched, view)) {
      restyleGrid();
      return;
    }
    // Ask for a larger area than the view, so small pans need no new request.
    let want = intersect(viewBBox(0.5), dataExtent()) || view;
    if (estimateCells(want, res) > MAX_GRID_CELLS) want = view;
    const token = ++ps.tokens.grid;
    ps.grid.loading = true;
    renderInfo();
    try {
      const fc = await ctx.getJSON(`/api/v1/coverage/grid?res=${res}&bbox=${bboxParam(want)}&layer=${layer}`);
      if (token !== ps.tokens.grid) return;
      ps.grid = { ...ps.grid, fc, fetched: want, res, layer, error: null, loading: false };
    } catch (e) {
      if (token !== ps.tokens.grid) return;
      ps.grid = { ...ps.grid, fc: null, fetched: null, res, layer, error: e, loading: false };
    }
    const features = ps.grid.fc ? ps.grid.fc.features.map((f) => ({ ...f, geometry: toDisplayGeometry(f.geometry) })) : [];
    setData('ws-cov-grid', { type: 'FeatureCollection', features });
    restyleGrid();
  }

  // The colours of the classes [1, b1), [b1, b2), …, [bn, ∞): the darkest end
  // of the ramp when there are fewer than four breaks.
  function ununColours(breaks) {
    return RAMP.slice(RAMP.length - 1 - breaks.length);
  }

  // Class breaks and the fill expression for the chosen measure.
  function restyleGrid() {
    const m = map();
    if (!m || !m.getLayer('cov-grid-fill')) return;
    const layer = measureLayer();
    let expr;
    if (layer) {
      const r = radiusM(layer);
      ps.grid.breaks = [r / 2, r, 2 * r, 4 * r];
      expr = ['case', ['==', ['get', 'nearest_m'], null], NO_FACILITY,
        ['step', ['get', 'nearest_m'], RAMP[0], r / 2, RAMP[1], r, RAMP[2], 2 * r, RAMP[3], 4 * r, RAMP[4]]];
    } else {
      const vals = ((ps.grid.fc && ps.grid.fc.features) || [])
        .map((f) => f.properties.ununionised_workers).filter((v) => v > 0).sort((a, b) => a - b);
      const breaks = [];
      if (vals.length) {
        for (const q of [0.2, 0.4, 0.6, 0.8]) {
          const b = nice(vals[Math.min(vals.length - 1, Math.floor(q * vals.length))]);
          if (b > 1 && (!breaks.length || b > breaks[breaks.length - 1])) breaks.push(b);
        }
      }
      ps.grid.breaks = breaks;
      const colours = ununColours(breaks);
      const step = ['step', ['get', 'ununionised_workers'], 'rgba(0,0,0,0)', 1, colours[0]];
      breaks.forEach((b, i) => step.push(b, colours[i + 1]));
      expr = step;
    }
    m.setPaintProperty('cov-grid-fill', 'fill-color', expr);
    renderLegend();
    renderInfo();
  }

  // --- catchments ------------------------------------------------------------

  async function refreshCatchments(force = false) {
    if (!ps.active || !map()) return;
    const layer = ps.catchLayer;
    const clear = (info) => {
      ps.catch = { ...ps.catch, fc: null, key: '', fetched: null, info };
      ps.tokens.catch++;
      setData('ws-cov-catch', EMPTY);
      renderInfo();
      renderLegend();
    };
    if (!layer) return clear('');
    if (map().getZoom() < CATCHMENT_MIN_ZOOM) return clear(t('catch_zoom_min'));
    const view = viewBBox(0.05);
    const want = viewBBox(0.3);
    const r = radiusM(layer);
    const key = `${layer}|${r}`;
    if (!force && ps.catch.key === key && contains(ps.catch.fetched, view)) return undefined;
    // Count what the request would cover, with the server's own rule (facilities
    // of the layer inside the bbox), from the layer data already on the page.
    const inBox = (b) => {
      const fc = ctx.state.data[layer];
      let n = 0;
      for (const f of (fc && fc.features) || []) {
        const c = f.geometry && f.geometry.type === 'Point' && f.geometry.coordinates;
        if (c && c[0] >= b[0] && c[0] <= b[2] && c[1] >= b[1] && c[1] <= b[3]) n++;
      }
      return n;
    };
    let box = want;
    let n = inBox(box);
    if (n > MAX_CATCHMENTS) { box = view; n = inBox(box); }
    if (n > MAX_CATCHMENTS) return clear(t('catch_zoom_in', fmtNumber(n), fmtNumber(MAX_CATCHMENTS)));
    const token = ++ps.tokens.catch;
    try {
      const fc = await ctx.getJSON(`/api/v1/coverage/catchments?layer=${layer}&bbox=${bboxParam(box)}&radius_m=${Math.round(r)}`);
      if (token !== ps.tokens.catch) return undefined;
      const features = fc.features.map((f) => ({ ...f, geometry: toDisplayGeometry(f.geometry) }));
      ps.catch = { fc, key, fetched: box, count: features.filter((f) => f.properties.kind === 'ring').length, info: '', error: null };
      setData('ws-cov-catch', { type: 'FeatureCollection', features });
      const colour = ctx.layerColour(layer);
      for (const id of ['cov-catch-fill', 'cov-catch-cell', 'cov-catch-ring']) {
        map().setPaintProperty(id, id === 'cov-catch-fill' ? 'fill-color' : 'line-color', colour);
      }
    } catch (e) {
      if (token !== ps.tokens.catch) return undefined;
      ps.catch = { ...ps.catch, fc: null, key: '', fetched: null, error: e, info: '' };
      setData('ws-cov-catch', EMPTY);
    }
    renderInfo();
    renderLegend();
    return undefined;
  }

  // --- siting ------------------------------------------------------------------

  // The siting problem of the form and the planner's park filters (city, district,
  // union status, minimum workers: the demand and the candidate parks are the parks
  // the planner is looking at). Checked here first, in kilometres and in the page's
  // language: { body } or { errors }.
  function sitingBody() {
    const cand = $('s-candidates').value;
    const km = $('s-radius').value.trim();
    const p = $('s-p').value.trim();
    const errors = [];
    const pn = Number(p);
    if (p === '' || !Number.isInteger(pn) || pn < 1 || pn > MAX_SITES) errors.push({ field: 's-p', text: t('s_bad_p', MAX_SITES) });
    const kn = Number(km);
    if (km !== '' && !(Number.isFinite(kn) && kn > 0 && kn <= MAX_RADIUS_KM)) errors.push({ field: 's-radius', text: t('s_bad_radius', MAX_RADIUS_KM) });
    for (const id of ['s-p', 's-radius']) {
      if (errors.some((e) => e.field === id)) $(id).setAttribute('aria-invalid', 'true');
      else $(id).removeAttribute('aria-invalid');
    }
    if (errors.length) return { errors };
    const body = {
      layer: $('s-layer').value,
      p: pn,
      radius_m: km === '' ? null : Math.round(kn * 1000),
      candidates: cand === 'parks' ? 'parks' : { h3: Number(cand.slice(3)) },
      weight: $('s-weight').value,
    };
    if (body.radius_m == null) delete body.radius_m;
    const f = ps.filters;
    if (f.city) body.city = f.city;
    if (f.district) body.district = f.district;
    if (f.union_status.length) body.union_status = [...f.union_status];
    const mw = String(f.min_workers).trim();
    if (mw !== '' && Number.isInteger(Number(mw)) && Number(mw) >= 0) body.min_workers = Number(mw);
    if ($('s-in-view').checked || f.in_view) body.bbox = viewBBox().map((x) => +x.toFixed(5));
    return { body };
  }

  // The park filters siting will use, in words.
  function renderSitingScope() {
    const f = ps.filters;
    const parts = [];
    if (f.city) parts.push([cityLabel(f.city), f.district].filter(Boolean).join(' '));
    if (f.union_status.length) parts.push(f.union_status.map((k) => lw(UNION_STATUS, k)).join(' / '));
    const mw = String(f.min_workers).trim();
    if (mw !== '') parts.push(`${t('f_min_workers')} ${mw}`);
    if (f.in_view) parts.push(t('s_in_view'));
    $('s-scope').textContent = parts.length ? t('s_scope', parts.join(state.lang === 'zh' ? '，' : ', ')) : t('s_scope_all');
  }

  async function runSiting(ev) {
    if (ev) ev.preventDefault();
    const token = ++ps.tokens.siting;
    const { body, errors } = sitingBody();
    if (errors) {
      ps.siting = { ...ps.siting, result: null, running: false, error: { local: true, message: errors.map((e) => e.text).join(' ') } };
      drawSites();
      renderSiting();
      renderLegend();
      return;
    }
    ps.siting = { ...ps.siting, running: true, error: null };
    renderSiting();
    try {
      const r = await track(fetch('/api/v1/siting', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...langHeader() },
        body: JSON.stringify(body),
      }));
      if (!r.ok) throw await ctx.problemError(r);
      const result = await r.json();
      if (token !== ps.tokens.siting) return;
      ps.siting = { ...ps.siting, result, running: false, error: null };
    } catch (e) {
      if (token !== ps.tokens.siting) return;
      ps.siting = { ...ps.siting, result: null, running: false, error: e };
    }
    drawSites();
    renderSiting();
    renderLegend();
    const sites = ps.siting.result && ps.siting.result.sites.features;
    if (sites && sites.length) fitSites(sites);
  }

  function clearSiting() {
    ps.tokens.siting++;
    ps.siting = { ...ps.siting, result: null, error: null, running: false };
    drawSites();
    renderSiting();
    renderLegend();
  }

  function fitSites(sites) {
    const m = map();
    const pts = sites.map((f) => ctx.state.conv.toDisplay(f.geometry.coordinates));
    const b = new window.maplibregl.LngLatBounds(pts[0], pts[0]);
    for (const p of pts) b.extend(p);
    m.fitBounds(b, { padding: ctx.viewPadding(), maxZoom: 10, duration: 600 });
  }

  function siteLabel(p) {
    if (p.source === 'park' && p.name) return p.name;
    if (p.source === 'h3') return t('s_site_h3', p.h3);
    return `${t('s_site_point')} ${p.candidate_id ?? p.candidate ?? ''}`;
  }

  function drawSites() {
    for (const mk of ps.siting.markers) mk.remove();
    ps.siting.markers = [];
    const res = ps.siting.result;
    const sites = res ? res.sites.features : [];
    const rings = sites.map((f) => ({
      type: 'Feature',
      geometry: { type: 'LineString', coordinates: circle(f.geometry.coordinates, res.radius_m).map((c) => ctx.state.conv.toDisplay(c)) },
      properties: { rank: f.properties.rank },
    }));
    setData('ws-cov-sites', { type: 'FeatureCollection', features: rings });
    sites.forEach((f, i) => {
      const p = f.properties;
      const el = document.createElement('button');
      el.type = 'button';
      el.className = 'site-marker';
      el.dataset.rank = String(p.rank);
      el.textContent = String(p.rank);
      el.title = `${t('s_marker', p.rank, units(p.gain))} · ${siteLabel(p)}`;
      el.setAttribute('aria-label', el.title);
      el.addEventListener('click', (ev) => { ev.stopPropagation(); selectSite(i, { fly: false }); });
      const mk = new window.maplibregl.Marker({ element: el }).setLngLat(ctx.state.conv.toDisplay(f.geometry.coordinates)).addTo(map());
      ps.siting.markers.push(mk);
    });
  }

  function selectSite(i, { fly = true } = {}) {
    const f = ps.siting.result && ps.siting.result.sites.features[i];
    if (!f) return;
    document.querySelectorAll('#siting-list li').forEach((li, j) => li.classList.toggle('active', j === i));
    ps.siting.markers.forEach((mk, j) => mk.getElement().classList.toggle('active', j === i));
    const li = document.querySelectorAll('#siting-list li')[i];
    if (li && !fly) li.scrollIntoView({ block: 'nearest' });
    if (fly) map().flyTo({ center: ctx.state.conv.toDisplay(f.geometry.coordinates), zoom: Math.max(map().getZoom(), 9), padding: ctx.viewPadding(), duration: 700 });
  }

  function renderSiting() {
    const s = ps.siting;
    const st = $('siting-status');
    $('s-run').disabled = s.running;
    $('s-run').textContent = s.running ? t('s_running') : t('s_run');
    $('s-clear').hidden = !s.result && !s.error;
    renderSitingScope();
    if (s.error) {
      // The server's detail already names every field at fault: shown once.
      st.className = 'error';
      st.innerHTML = `<strong>${esc(t('s_failed'))}:</strong> ${esc(s.error.detail || s.error.message)}`;
    } else {
      st.className = '';
      st.textContent = s.running ? t('s_running') : '';
    }
    const box = $('siting-result');
    const res = s.result;
    box.hidden = !res;
    if (!res) return;
    const total = res.demand_total;
    const bar = (v, cls) => `<span class="bar"><span class="${cls}" style="width:${total ? (100 * v / total).toFixed(2) : 0}%"></span></span>`;
    $('siting-totals').innerHTML =
      `<div><dt>${esc(t('s_total'))}</dt><dd class="s-total">${esc(units(total))}</dd></div>` +
      `<div><dt>${esc(t('s_before'))}</dt><dd class="s-before">${esc(units(res.covered_before))} <span class="muted">${esc(pct(res.covered_before, total))}</span>${bar(res.covered_before, 'before')}</dd></div>` +
      `<div><dt>${esc(t('s_after'))}</dt><dd class="s-after">${esc(units(res.covered_after))} <span class="muted">${esc(pct(res.covered_after, total))}</span>${bar(res.covered_after, 'after')}</dd></div>`;
    const ol = $('siting-list');
    ol.replaceChildren();
    const sites = res.sites.features;
    if (!sites.length) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = t('s_none');
      ol.appendChild(li);
      return;
    }
    sites.forEach((f, i) => {
      const p = f.properties;
      const li = document.createElement('li');
      li.className = 'site';
      li.dataset.rank = String(p.rank);
      li.dataset.gain = String(p.gain);
      li.innerHTML =
        `<button type="button" class="site-main">` +
          `<span class="num site-num">${esc(p.rank)}</span>` +
          '<span class="site-text">' +
            `<span class="site-name">${esc(siteLabel(p))}</span>` +
            `<span class="site-meta"><span class="gain">${esc(t('s_gain'))} +${esc(units(p.gain))}</span> · ` +
            `<span class="cum">${esc(t('s_cum'))} ${esc(units(p.covered_total))} (${esc(pct(p.covered_total, total))})</span></span>` +
          '</span>' +
        '</button>';
      li.querySelector('button').addEventListener('click', () => selectSite(i));
      ol.appendChild(li);
    });
  }

  // --- the controls ------------------------------------------------------------

  function option(value, label, selected) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = label;
    if (selected) o.selected = true;
    return o;
  }

  function renderControls() {
    // Union status checkboxes.
    const st = $('cf-status');
    st.replaceChildren();
    for (const k of Object.keys(UNION_STATUS)) {
      const lab = document.createElement('label');
      lab.className = 'check';
      lab.innerHTML = `<input type="checkbox" value="${k}" ${ps.filters.union_status.includes(k) ? 'checked' : ''}>` +
        `<span class="swatch" style="background:${ctx.UNION_COLOURS[k]}"></span><span>${esc(lw(UNION_STATUS, k))}</span>`;
      st.appendChild(lab);
    }
    $('cf-min-workers').value = ps.filters.min_workers;
    $('cf-in-view').checked = ps.filters.in_view;
    renderPlaceChoices();
    // Radii.
    const rd = $('cf-radii');
    rd.replaceChildren();
    for (const l of FACILITY_LAYERS) {
      const lab = document.createElement('label');
      lab.className = 'field';
      lab.innerHTML = `<span><span class="swatch" style="background:${ctx.layerColour(l)}"></span> ${esc(lw(LAYER_ONE, l))}</span>` +
        `<input type="number" min="0.1" max="500" step="any" inputmode="decimal" data-layer="${l}" value="${esc(ps.radiiKm[l])}">`;
      rd.appendChild(lab);
    }
    // Grid measure.
    const ms = $('cf-measure');
    ms.replaceChildren(
      option('ununionised_workers', t('measure_unun'), ps.measure === 'ununionised_workers'),
      ...FACILITY_LAYERS.map((l) => option(`nearest:${l}`, t('measure_dist', lw(LAYER_ONE, l)), ps.measure === `nearest:${l}`)),
      option('off', t('measure_off'), ps.measure === 'off'),
    );
    // Catchment layer.
    const cs = $('cf-catch');
    cs.replaceChildren(
      ...FACILITY_LAYERS.map((l) => option(l, ctx.layerName(l), ps.catchLayer === l)),
      option('', t('catch_off'), !ps.catchLayer),
    );
    // Rank-by.
    const rb = $('gap-rank');
    rb.replaceChildren(
      option('gap_score', t('rank_gap'), ps.rankBy === 'gap_score'),
      option('ununionised_workers', t('rank_unun'), ps.rankBy === 'ununionised_workers'),
      option('workers', t('rank_workers'), ps.rankBy === 'workers'),
      ...FACILITY_LAYERS.map((l) => option(`nearest_${l}`, t('rank_far', lw(LAYER_ONE, l)), ps.rankBy === `nearest_${l}`)),
    );
    $('gap-limit').value = String(ps.limit);
    // Siting.
    const sl = $('s-layer');
    const prevLayer = sl.value || 'driver_home';
    sl.replaceChildren(...FACILITY_LAYERS.map((l) => option(l, ctx.layerName(l), l === prevLayer)));
    const sc = $('s-candidates');
    const prevCand = sc.value || 'parks';
    sc.replaceChildren(option('parks', t('cand_parks'), prevCand === 'parks'),
      ...[5, 6, 7].map((r) => option(`h3:${r}`, t('cand_h3', r), prevCand === `h3:${r}`)));
    const sw = $('s-weight');
    const prevW = sw.value || 'ununionised_workers';
    sw.replaceChildren(option('ununionised_workers', t('weight_unun'), prevW === 'ununionised_workers'),
      option('workers', t('weight_workers'), prevW === 'workers'),
      option('parks', t('weight_parks'), prevW === 'parks'));
  }

  // A city's name in the page's language: the data says 临沂市, the place list
  // (/api/v1/places) knows 临沂 as Linyi; a city it does not know keeps its name.
  function cityLabel(c) {
    if (state.lang !== 'en') return c;
    const bare = c.replace(/市$/, '');
    const place = (state.places || []).find((f) => f.properties && (f.properties.name === c || f.properties.name === bare));
    return (place && place.properties.name_en) || c;
  }

  function renderPlaceChoices() {
    const locale = state.lang === 'en' ? 'en' : 'zh-CN';
    const cities = [...new Set(ps.groups.map((g) => g.city).filter(Boolean))]
      .map((c) => ({ c, label: cityLabel(c) }))
      .sort((a, b) => a.label.localeCompare(b.label, locale));
    const cs = $('cf-city');
    cs.replaceChildren(option('', t('f_all'), !ps.filters.city), ...cities.map(({ c, label }) => option(c, label, c === ps.filters.city)));
    const ds = $('cf-district');
    const districts = ps.groups.filter((g) => g.city === ps.filters.city && g.district).map((g) => g.district);
    ds.replaceChildren(option('', t('f_all'), !ps.filters.district), ...districts.map((d) => option(d, d, d === ps.filters.district)));
    ds.disabled = !ps.filters.city;
  }

  function updateLinks() {
    $('export-csv').href = exportUrl('csv');
    $('export-xlsx').href = exportUrl('xlsx');
    $('report-link').href = reportUrl();
    renderSitingScope();
  }

  function selectTab(tab) {
    ps.tab = tab;
    for (const name of ['filters', 'gaps', 'siting']) {
      const on = name === tab;
      $(`tab-${name}`).setAttribute('aria-selected', String(on));
      $(`tab-${name}`).tabIndex = on ? 0 : -1;
      $(`pane-${name}`).hidden = !on;
    }
    const planner = $('planner');
    planner.classList.remove('collapsed');
    $('planner-handle').setAttribute('aria-expanded', 'true');
  }

  let filterTimer = 0;
  function filtersChanged({ now = false } = {}) {
    clearTimeout(filterTimer);
    const go = () => { updateLinks(); return track(loadParks()); };
    if (now) return go();
    filterTimer = setTimeout(go, 350);
    return Promise.resolve();
  }

  function wire() {
    if (ps.wired) return;
    ps.wired = true;
    for (const name of ['filters', 'gaps', 'siting']) {
      $(`tab-${name}`).addEventListener('click', () => selectTab(name));
    }
    $('tab-filters').parentElement.addEventListener('keydown', (e) => {
      const order = ['filters', 'gaps', 'siting'];
      const i = order.indexOf(ps.tab);
      let j = -1;
      if (e.key === 'ArrowRight') j = (i + 1) % 3;
      else if (e.key === 'ArrowLeft') j = (i + 2) % 3;
      if (j >= 0) { e.preventDefault(); selectTab(order[j]); $(`tab-${order[j]}`).focus(); }
    });
    $('planner-handle').addEventListener('click', () => {
      if (ctx.isDesktop()) return;
      const collapsed = $('planner').classList.toggle('collapsed');
      $('planner-handle').setAttribute('aria-expanded', String(!collapsed));
      setTimeout(() => map() && map().resize(), 0);
    });
    $('cf-status').addEventListener('change', () => {
      ps.filters.union_status = [...document.querySelectorAll('#cf-status input:checked')].map((i) => i.value);
      filtersChanged({ now: true });
    });
    $('cf-min-workers').addEventListener('input', (e) => { ps.filters.min_workers = e.target.value; filtersChanged(); });
    $('cf-city').addEventListener('change', async (e) => {
      ps.filters.city = e.target.value;
      ps.filters.district = '';
      renderPlaceChoices();
      await filtersChanged({ now: true });
      flyToSelection();
    });
    $('cf-district').addEventListener('change', async (e) => {
      ps.filters.district = e.target.value;
      await filtersChanged({ now: true });
      flyToSelection();
    });
    $('cf-in-view').addEventListener('change', (e) => { ps.filters.in_view = e.target.checked; filtersChanged({ now: true }); });
    $('cf-radii').addEventListener('input', (e) => {
      const l = e.target.dataset.layer;
      if (!l) return;
      ps.radiiKm[l] = e.target.value;
      clearTimeout(ps.radiusTimer);
      ps.radiusTimer = setTimeout(() => {
        filtersChanged({ now: true });
        restyleGrid();
        track(refreshCatchments());
      }, 400);
    });
    $('cf-measure').addEventListener('change', (e) => {
      ps.measure = e.target.value;
      setOwnVisibility();
      track(refreshGrid());
    });
    $('cf-catch').addEventListener('change', (e) => {
      ps.catchLayer = e.target.value;
      setOwnVisibility();
      track(refreshCatchments(true));
    });
    $('gap-rank').addEventListener('change', (e) => { ps.rankBy = e.target.value; ps.sort = null; filtersChanged({ now: true }); });
    $('gap-limit').addEventListener('change', (e) => { ps.limit = Number(e.target.value) || 50; renderTable(); updateLinks(); });
    $('s-layer').addEventListener('change', (e) => { $('s-radius').value = String(DEFAULT_RADII_KM[e.target.value] ?? 5); });
    $('siting-form').addEventListener('submit', runSiting);
    $('s-clear').addEventListener('click', clearSiting);
  }

  // A city or district chosen: show its parks.
  function flyToSelection() {
    if (!ps.parks.length || !ps.filters.city) return;
    const pts = ps.parks.map((f) => ctx.state.conv.toDisplay(ctx.representativePoint(f.geometry)));
    const b = new window.maplibregl.LngLatBounds(pts[0], pts[0]);
    for (const p of pts) b.extend(p);
    map().fitBounds(b, { padding: ctx.viewPadding(), maxZoom: 11, duration: 600 });
  }

  async function loadMeta() {
    if (ps.metaLoaded) return;
    try {
      const s = await ctx.getJSON('/api/v1/coverage/summary?group_by=district');
      ps.groups = (s.groups || []).map((g) => ({ city: g.city, district: g.district }));
      ps.metaLoaded = true;
      renderPlaceChoices();
    } catch (e) {
      ps.metaError = e;
      renderStatus();
    }
  }

  // --- status lines, legend -----------------------------------------------------

  function renderStatus() {
    const el = $('planner-status');
    const e = ps.parksError || ps.metaError || ps.grid.error || ps.catch.error;
    if (!e) { el.className = ''; el.textContent = ''; return; }
    el.className = 'error';
    el.innerHTML = `<strong>${esc(t('cov_failed'))}:</strong> ${esc(e.detail || e.message)}`;
  }

  function renderInfo() {
    const g = ps.grid;
    const n = g.fc ? g.fc.features.length : 0;
    $('grid-info').textContent = ps.measure === 'off' ? '' : (g.loading ? t('grid_loading') : (g.res ? t('grid_res', g.res, fmtNumber(n)) : ''));
    const c = ps.catch;
    $('catch-info').textContent = c.info || (c.fc && ps.catchLayer ? t('catch_shown', fmtNumber(c.count), fmtDistance(radiusM(ps.catchLayer))) : '');
    renderStatus();
  }

  function renderLegend() {
    const el = $('cov-legend');
    if (!ps.active) { el.hidden = true; return; }
    el.hidden = false;
    const parts = [];
    if (state.visible.has('park')) {
      const status = ['none', 'partial', 'full'].map((k) =>
        `<span class="lg-item"><span class="swatch" style="background:${ctx.UNION_COLOURS[k]}"></span>${esc(lw(UNION_STATUS_SHORT, k))}</span>`).join('');
      const sizes = '<span class="lg-item lg-sizes" aria-hidden="true"><span class="dot s1"></span><span class="dot s2"></span><span class="dot s3"></span></span>';
      parts.push(`<div class="lg-row"><span class="lg-title">${esc(t('legend_cov_parks'))}</span>${status}${sizes}<span class="lg-item muted">${esc(t('legend_size'))}</span></div>`);
    }
    if (ps.measure !== 'off') {
      const layer = measureLayer();
      const b = ps.grid.breaks;
      const items = [];
      if (layer) {
        const lbl = [`< ${fmtDistance(b[0])}`, `${fmtDistance(b[0])}–${fmtDistance(b[1])}`, `${fmtDistance(b[1])}–${fmtDistance(b[2])}`,
          `${fmtDistance(b[2])}–${fmtDistance(b[3])}`, `≥ ${fmtDistance(b[3])}`];
        lbl.forEach((s, i) => items.push([RAMP[i], s]));
        const title = t('legend_grid_dist', lw(LAYER_ONE, layer));
        parts.push(`<div class="lg-row grid-legend" data-measure="nearest"><span class="lg-title">${esc(title)}</span>${
          items.map(([c, s]) => `<span class="lg-item"><span class="swatch sq" style="background:${c}"></span>${esc(s)}</span>`).join('')}</div>`);
      } else {
        const colours = ununColours(b);
        colours.forEach((c, i) => {
          let label;
          if (!b.length) label = `≥ ${fmtNumber(1)}`;
          else if (i === 0) label = `< ${fmtNumber(b[0])}`;
          else if (i === b.length) label = `≥ ${fmtNumber(b[i - 1])}`;
          else label = `${fmtNumber(b[i - 1])}–${fmtNumber(b[i])}`;
          items.push([c, label]);
        });
        parts.push(`<div class="lg-row grid-legend" data-measure="ununionised_workers"><span class="lg-title">${esc(t('legend_grid_unun'))}</span>${
          ps.grid.fc && ps.grid.fc.features.length ? items.map(([c, s]) => `<span class="lg-item"><span class="swatch sq" style="background:${c}"></span>${esc(s)}</span>`).join('') : ''}</div>`);
      }
    }
    if (ps.catchLayer && ps.catch.fc) {
      parts.push(`<div class="lg-row"><span class="lg-item"><span class="swatch ring dashed" style="border-color:${ctx.layerColour(ps.catchLayer)}"></span>${esc(t('catch_title'))}: ${esc(ctx.layerName(ps.catchLayer))} ${esc(fmtDistance(radiusM(ps.catchLayer)))}</span></div>`);
    }
    const res = ps.siting.result;
    if (res && res.sites.features.length) {
      parts.push(`<div class="lg-row"><span class="lg-item"><span class="swatch sq site"></span>${esc(t('legend_sites', fmtDistance(res.radius_m)))}</span></div>`);
    }
    el.innerHTML = parts.join('');
  }

  // --- popups for grid cells ------------------------------------------------------

  function cellPopupHTML(p) {
    const rows = [];
    const row = (k, v) => rows.push(`<dt>${esc(k)}</dt><dd>${v}</dd>`);
    row(t('cell_parks'), esc(fmtNumber(p.parks)));
    row(t('cell_workers'), esc(fmtNumber(p.workers)));
    row(t('ununionised_workers'), esc(fmtNumber(p.ununionised_workers)));
    if (p.unionised_share != null) row(t('cell_share'), esc(t('pct', (100 * p.unionised_share).toFixed(0))));
    const fac = FACILITY_LAYERS.map((l) => `${esc(lw(LAYER_SHORT, l))} ${esc(fmtNumber(p[`facilities_${l}`]))}`).join(' · ');
    row(t('cell_facilities'), fac);
    if (p.layer) row(t('cov_nearest', lw(LAYER_ONE, p.layer)), p.nearest_m == null ? esc(t('cov_none_layer')) : esc(fmtDistance(p.nearest_m)));
    return `<div class="pop"><div class="pop-layer">H3 ${esc(p.h3)}</div><h3>${esc(t('cell_title', p.res))}</h3><dl>${rows.join('')}</dl></div>`;
  }

  // --- what app.js calls -----------------------------------------------------------

  // Map moves are debounced; the wait counts as pending work, so idle() does not
  // resolve between a move and the requests it starts.
  let moveTimer = 0;
  let moveWait = null;
  function onMoveEnd() {
    if (!ps.active) return;
    clearTimeout(moveTimer);
    if (!moveWait) track(new Promise((resolve) => { moveWait = resolve; }));
    moveTimer = setTimeout(() => {
      track(refreshGrid());
      track(refreshCatchments());
      if (ps.filters.in_view) filtersChanged({ now: true });
      else updateLinks();
      const done = moveWait;
      moveWait = null;
      if (done) done();
    }, 200);
  }

  const api = {
    get active() { return ps.active; },
    get pending() { return ps.pending; },
    state: ps,

    enter() {
      ps.active = true;
      wire();
      $('planner').hidden = false;
      addMapLayers();
      renderControls();
      selectTab(ps.tab);
      setOwnVisibility();
      renderLegend();
      map().on('moveend', onMoveEnd);
      track(loadMeta());
      track(loadParks());
      track(refreshGrid(true));
      track(refreshCatchments(true));
      drawSites();
      renderSiting();
      updateLinks();
    },

    exit() {
      ps.active = false;
      $('planner').hidden = true;
      if (map()) {
        map().off('moveend', onMoveEnd);
        setOwnVisibility();
      }
      renderLegend();
    },

    // A layer chip was toggled.
    visibilityChanged() {
      setOwnVisibility();
      renderLegend();
    },

    interactiveLayers() {
      return ps.active && map() ? ['cov-parks', 'cov-grid-fill'].filter((id) => map().getLayer(id)) : [];
    },

    // A click on a coverage park: its popup. Returns true when handled.
    clickPark(e) {
      if (!ps.active || !map().getLayer('cov-parks')) return false;
      const pad = e.originalEvent && e.originalEvent.pointerType === 'touch' ? 10 : 4;
      const box = [[e.point.x - pad, e.point.y - pad], [e.point.x + pad, e.point.y + pad]];
      const hits = map().queryRenderedFeatures(box, { layers: ['cov-parks'] });
      if (!hits.length) return false;
      const d = (f) => { const p = map().project(f.geometry.coordinates); return (p.x - e.point.x) ** 2 + (p.y - e.point.y) ** 2; };
      hits.sort((a, b) => d(a) - d(b));
      const f = ps.parks[hits[0].properties._i];
      if (!f) return false;
      ctx.openPopup({ ...f, properties: { ...f.properties, _layer: 'park' } }, { enrich: true, fit: true });
      return true;
    },

    // A click on the grid (nothing else there): the cell's figures.
    clickGrid(e) {
      if (!ps.active || !map().getLayer('cov-grid-fill') || ps.measure === 'off') return false;
      const hits = map().queryRenderedFeatures(e.point, { layers: ['cov-grid-fill'] });
      if (!hits.length) return false;
      ctx.openHTMLPopup(e.lngLat, cellPopupHTML(hits[0].properties));
      return true;
    },

    setLang() {
      if (!ps.wired) return;
      renderControls();
      renderTable();
      renderLegend();
      renderInfo();
      renderSiting();
      drawSites();
      updateLinks();
    },

    // For the browser test: resolves when no request is under way.
    idle() {
      return new Promise((resolve) => {
        const check = () => (ps.pending === 0 ? resolve() : setTimeout(check, 50));
        check();
      });
    },
    busy: () => ps.pending > 0,
    runSiting,
  };
  return api;
}
