// 覆盖分析报告 / The coverage report: a printable page for one set of park filters.
//
// Reads the same query the planner uses (union_status, min_workers, city,
// district, bbox, radius_<layer>, sort, limit, lang) and shows:
// 1. the summary figures (/api/v1/coverage/summary), overall and per city or
//    district;
// 2. a static map image: the hexagons filled by un-unionised workers, the parks
//    by union status and the facilities of each layer (/api/v1/layers/{layer} in
//    the map's box), on a MapLibre map made with preserveDrawingBuffer (on
//    this map only), drawn once, copied with canvas.toDataURL() into an <img>
//    (a WebGL canvas does not print reliably), then removed; place names are
//    HTML over the image, as on the main map (no glyph server);
// 3. the top-gap table (/api/v1/coverage/parks).
// Only this page's own origin is asked for anything.

import { STRINGS, UNION_STATUS, LAYER_ONE, LAYER_SHORT } from './i18n.js';
import { LAYER_COLOURS, getJSON, pickLang, saveLang } from './common.js';

const FACILITY_LAYERS = ['driver_home', 'courier_station', 'fitness_station'];
const UNION_COLOURS = { none: '#e03131', partial: '#f59f00', full: '#2f9e44' };
// Un-unionised workers per hexagon, light to dark: a sequential purple that prints
// clearly on the pale background and stays apart from the union-status colours of
// the parks (red, amber, green) and the layer colours of the facilities.
const RAMP = ['#dadaeb', '#bcbddc', '#9e9ac8', '#756bb1', '#54278f'];
const HEX_OPACITY = 0.85;
// Cells narrower than this on the map image get a dot this wide.
const MIN_CELL_PX = 10;
// The width of a summed hexagon on the map image (about 4 mm on A4).
const BIN_PX = 18;
const H3_AREA_M2 = { 4: 1_770_347_654.49, 5: 252_903_858.18, 6: 36_129_062.16, 7: 5_161_293.36, 8: 737_327.60 };
const EARTH_R = 6_371_008.8;
// Facilities per layer drawn on the map image (the whole country holds fewer).
const MAX_FACILITIES = 50_000;
const FILTER_KEYS = ['union_status', 'min_workers', 'city', 'district', 'bbox',
  ...FACILITY_LAYERS.map((l) => `radius_${l}`)];

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const data = { summary: null, top: null, parks: null, places: [], generated: new Date() };
let lang = pickLang(params);

function t(key, ...args) {
  const v = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}
const lw = (table, key) => (table[key] ? table[key][lang] : key);

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function num(n) {
  if (n == null || n === '') return '–';
  const x = Number(n);
  return Number.isFinite(x) ? x.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en') : String(n);
}

function share(v) {
  return v == null ? '–' : t('pct', (100 * v).toFixed(1));
}

function dist(m) {
  if (m == null || !Number.isFinite(+m)) return '–';
  m = +m;
  return m < 1000 ? t('m', Math.round(m)) : t('km', (m / 1000).toFixed(m < 10000 ? 1 : 0));
}

function featureName(p) {
  return lang === 'en' && p.name_en ? p.name_en : (p.name || p.name_en || '');
}

// The filters of this report, as the API takes them.
function filterQuery() {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v != null && v !== '') q.set(k, v);
  }
  return q;
}

function radiusM(layer, summary) {
  const r = summary && summary.radius_m && summary.radius_m[layer];
  return r ?? { driver_home: 20000, courier_station: 3000, fitness_station: 5000 }[layer];
}

// --- rendering (all of it again on a language switch, except the map image) ---

function applyStatic() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('report_doc_title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  const lb = $('btn-lang');
  lb.textContent = t('lang_button');
  lb.lang = lang === 'zh' ? 'en' : 'zh';
  lb.title = t('switch_lang');
  const back = new URLSearchParams(filterQuery());
  back.set('mode', 'coverage');
  back.set('lang', lang);
  $('back').href = `/?${back}`;
}

function scopeText() {
  const parts = [];
  const st = params.get('union_status');
  if (st) parts.push(`${t('f_status')}: ${st.split(',').map((s) => lw(UNION_STATUS, s)).join(' / ')}`);
  if (params.get('min_workers')) parts.push(`${t('f_min_workers')} ${num(params.get('min_workers'))}`);
  if (params.get('city')) parts.push(`${t('f_city')}: ${params.get('city')}${params.get('district') ? ` ${params.get('district')}` : ''}`);
  if (params.get('bbox')) parts.push(`bbox ${params.get('bbox')}`);
  return parts.length ? parts.join(lang === 'zh' ? '；' : '; ') : t('report_all_parks');
}

function renderMeta() {
  const d = data.generated;
  const stamp = d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  $('meta').textContent = `${t('report_generated', stamp)} · ${t('report_filters')}: ${scopeText()}`;
}

function renderSummary() {
  const s = data.summary;
  const g = s.total;
  const fig = (label, value, sub = '') => `<div class="fig"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${sub ? `<div class="sub">${esc(sub)}</div>` : ''}</div>`;
  $('figures').innerHTML = [
    fig(t('r_parks'), num(g.parks)),
    fig(t('r_enterprises'), num(g.enterprises), `${t('r_union_rate')} ${share(g.unionised_enterprise_share)}`),
    fig(t('r_workers'), num(g.workers), `${t('r_member_rate')} ${share(g.unionised_worker_share)}`),
    fig(t('r_unun'), num(g.ununionised_workers)),
  ].join('');
  // One row per facility layer: how many, the radius, who is within it.
  $('layer-table').tHead.innerHTML = `<tr><th scope="col">${esc(t('s_layer'))}</th><th scope="col" class="n">${esc(t('cell_facilities'))}</th>` +
    `<th scope="col" class="n">${esc(t('s_radius'))}</th>` +
    `<th scope="col" class="n">${esc(t('r_col_parks_within'))}</th>` +
    `<th scope="col" class="n">${esc(t('r_col_workers_within'))}</th></tr>`;
  $('layer-table').tBodies[0].innerHTML = FACILITY_LAYERS.map((l) => {
    const r = radiusM(l, s);
    return `<tr><th scope="row"><span class="dot" style="background:${LAYER_COLOURS[l]}"></span>${esc(lw(LAYER_ONE, l))}</th>` +
      `<td class="n">${esc(num(g.facilities[l]))}</td>` +
      `<td class="n">${esc(dist(r))}</td>` +
      `<td class="n">${esc(num(g.parks_within[l]))} <span class="muted">(${esc(share(g.parks_within_share[l]))})</span></td>` +
      `<td class="n">${esc(num(g.workers_within[l]))} <span class="muted">(${esc(share(g.workers_within_share[l]))})</span></td></tr>`;
  }).join('');
  const radii = FACILITY_LAYERS.map((l) => `${lw(LAYER_ONE, l)} ${dist(radiusM(l, s))}`).join(lang === 'zh' ? '，' : ', ');
  $('summary-notes').textContent = t('report_radii', radii);
}

function renderGroups() {
  const s = data.summary;
  const byDistrict = s.group_by === 'district';
  $('h-groups').textContent = byDistrict ? t('report_by_district') : t('report_by_city');
  const groups = [...s.groups].sort((a, b) => b.ununionised_workers - a.ununionised_workers);
  const shown = groups.slice(0, 20);
  $('groups-note').textContent = t('report_top_groups', shown.length, groups.length);
  $('group-table').tHead.innerHTML = `<tr><th scope="col">${esc(byDistrict ? t('f_district') : t('f_city'))}</th>` +
    `<th scope="col" class="n">${esc(t('r_parks'))}</th><th scope="col" class="n">${esc(t('r_workers'))}</th>` +
    `<th scope="col" class="n">${esc(t('r_member_rate'))}</th><th scope="col" class="n">${esc(t('r_unun'))}</th>` +
    FACILITY_LAYERS.map((l) => `<th scope="col" class="n">${esc(lw(LAYER_SHORT, l))}<span class="sub">${esc(t('cell_parks'))} ≤ ${esc(dist(radiusM(l, s)))}</span></th>`).join('') +
    '</tr>';
  $('group-table').tBodies[0].innerHTML = shown.map((g) => {
    const name = byDistrict ? `${esc(g.district || '–')}<span class="sub">${esc(g.city || '')}</span>` : esc(g.city || '–');
    return `<tr><td>${name}</td>` +
      `<td class="n">${esc(num(g.parks))}</td><td class="n">${esc(num(g.workers))}</td>` +
      `<td class="n">${esc(share(g.unionised_worker_share))}</td><td class="n">${esc(num(g.ununionised_workers))}</td>` +
      FACILITY_LAYERS.map((l) => `<td class="n">${esc(share(g.parks_within_share[l]))}</td>`).join('') +
      '</tr>';
  }).join('');
}

function renderTop() {
  const feats = data.top.features || [];
  const radius = (p, l) => (p.radius_m && p.radius_m[l]) || radiusM(l, data.summary);
  $('top-table').tHead.innerHTML = `<tr><th scope="col" class="n">${esc(t('col_rank'))}</th>` +
    `<th scope="col">${esc(t('col_name'))}</th><th scope="col">${esc(t('col_city'))}</th>` +
    `<th scope="col" class="n">${esc(t('col_workers'))}</th><th scope="col" class="n">${esc(t('col_unun'))}</th>` +
    FACILITY_LAYERS.map((l) => `<th scope="col" class="n">${esc(lw(LAYER_SHORT, l))}<span class="sub">${esc(t('col_km'))}</span></th>`).join('') +
    `<th scope="col" class="n">${esc(t('col_gap'))}</th></tr>`;
  $('top-table').tBodies[0].innerHTML = feats.map((f) => {
    const p = f.properties || {};
    const near = FACILITY_LAYERS.map((l) => {
      const d = p.nearest_m ? p.nearest_m[l] : null;
      if (d == null) return '<td class="n">–</td>';
      const cls = d <= radius(p, l) ? ' within' : '';
      return `<td class="n${cls}">${esc((d / 1000).toFixed(d < 10000 ? 1 : 0))}</td>`;
    }).join('');
    const status = p.union_status ? `<span class="dot" style="background:${UNION_COLOURS[p.union_status]}" title="${esc(lw(UNION_STATUS, p.union_status))}"></span>` : '';
    return `<tr data-id="${esc(p.id ?? f.id)}"><td class="n">${esc(p.rank)}</td>` +
      `<td class="name">${status}${esc(featureName(p))}` +
      `<span class="sub">${esc(p.union_status ? lw(UNION_STATUS, p.union_status) : '')}` +
      `${p.synthetic === true ? ` <span class="badge">${esc(t('demo_short'))}</span>` : ''}</span></td>` +
      `<td>${esc(p.city || '–')}${p.district ? `<span class="sub">${esc(p.district)}</span>` : ''}</td>` +
      `<td class="n">${esc(num(p.workers))}</td><td class="n">${esc(num(p.ununionised_workers))}</td>${near}` +
      `<td class="n"><strong>${esc(p.gap_score == null ? '–' : num(Math.round(p.gap_score)))}</strong></td></tr>`;
  }).join('');
  const synthetic = feats.filter((f) => f.properties && f.properties.synthetic === true).length;
  const note = $('top-note');
  note.className = synthetic ? 'note warn' : 'note';
  note.textContent = synthetic ? t('report_synthetic', synthetic, feats.length) : '';
  const anySynthetic = (data.parks.features || []).some((f) => f.properties && f.properties.synthetic === true);
  const sn = $('summary-notes');
  if (anySynthetic) sn.textContent += ` ${t('report_synthetic_all', num(data.summary.total.parks))}`;
}

function renderCaption() {
  const st = ['none', 'partial', 'full'].map((k) => `<span><span class="sw round ring" style="border-color:${UNION_COLOURS[k]}"></span>${esc(lw(UNION_STATUS, k))}</span>`).join('');
  const ramp = data.breaks
    ? `<span>${esc(t('legend_grid_unun'))}:</span>${rampLabels().map(([c, s]) => `<span class="ramp-item"><span class="sw" style="background:${c};opacity:${HEX_OPACITY}"></span>${esc(s)}</span>`).join('')}`
    : '';
  const fac = (data.facilityCounts ? FACILITY_LAYERS : []).map((l) =>
    `<span class="fac-item" data-layer="${l}"><span class="sw round" style="background:${LAYER_COLOURS[l]}"></span>${esc(lw(LAYER_ONE, l))} ${esc(num(data.facilityCounts[l]))}</span>`).join('');
  const binned = data.binned ? ` ${t('report_hex_binned')}` : '';
  $('map-caption').innerHTML = `${st}${fac}${ramp}<span class="muted">${esc(t('report_map_note'))}${esc(binned)}</span>`;
}

function rampLabels() {
  const b = data.breaks;
  const colours = RAMP.slice(RAMP.length - 1 - b.length);
  if (!b.length) return [[colours[0], `≥ ${num(1)}`]];
  return colours.map((c, i) => {
    if (i === 0) return [c, `< ${num(b[0])}`];
    if (i === b.length) return [c, `≥ ${num(b[i - 1])}`];
    return [c, `${num(b[i - 1])}–${num(b[i])}`];
  });
}

function renderAll() {
  applyStatic();
  renderMeta();
  if (!data.summary) return;
  renderSummary();
  renderGroups();
  renderTop();
  renderCaption();
  $('footer').textContent = t('report_source');
}

// --- the static map ---------------------------------------------------------------

function extentOf(features) {
  let b = null;
  for (const f of features) {
    const c = f.geometry && f.geometry.type === 'Point' ? f.geometry.coordinates : null;
    if (!c) continue;
    b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : [c[0], c[1], c[0], c[1]];
  }
  return b;
}

function estimateCells(b, res) {
  const rad = Math.PI / 180;
  const area = EARTH_R * EARTH_R * (b[2] - b[0]) * rad * (Math.sin(b[3] * rad) - Math.sin(b[1] * rad));
  return area / H3_AREA_M2[res] + 1;
}

function nice(v) {
  if (v <= 10) return Math.max(1, Math.round(v));
  const p = 10 ** (Math.floor(Math.log10(v)) - 1);
  return Math.round(v / p) * p;
}

async function drawMap() {
  const maplibregl = window.maplibregl;
  const parks = data.parks.features.filter((f) => f.geometry && f.geometry.type === 'Point');
  let ext = extentOf(parks);
  if (!ext) ext = [73, 18, 135, 54];
  const pad = Math.max(0.05, 0.05 * Math.max(ext[2] - ext[0], ext[3] - ext[1]));
  const area = [ext[0] - pad, ext[1] - pad, ext[2] + pad, ext[3] + pad];
  // Grid of un-unionised workers: the finest resolution that keeps cells visible.
  const span = Math.max(area[2] - area[0], area[3] - area[1]);
  let res = span > 20 ? 4 : span > 6 ? 5 : span > 2 ? 6 : span > 0.6 ? 7 : 8;
  while (res > 4 && estimateCells(area, res) > 50_000) res--;
  const box = area.map((x) => x.toFixed(4)).join(',');
  const [grid, ...facilities] = await Promise.all([
    getJSON(`/api/v1/coverage/grid?res=${res}&bbox=${box}&layer=courier_station`),
    ...FACILITY_LAYERS.map((l) => getJSON(`/api/v1/layers/${l}?bbox=${box}&limit=${MAX_FACILITIES}`)),
  ]);
  // One source for all facilities, each tagged with its layer.
  const facilityFeatures = [];
  data.facilityCounts = {};
  FACILITY_LAYERS.forEach((l, i) => {
    const fs = (facilities[i].features || []).filter((f) => f.geometry && f.geometry.type === 'Point');
    data.facilityCounts[l] = facilities[i].numberMatched ?? fs.length;
    for (const f of fs) facilityFeatures.push({ type: 'Feature', geometry: f.geometry, properties: { layer: l } });
  });
  const map = new maplibregl.Map({
    container: 'map',
    style: {
      version: 8,
      sources: {
        grid: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
        parks: { type: 'geojson', data: { type: 'FeatureCollection', features: parks } },
        facilities: { type: 'geojson', data: { type: 'FeatureCollection', features: facilityFeatures } },
      },
      layers: [
        { id: 'bg', type: 'background', paint: { 'background-color': '#eef0e8' } },
        { id: 'grid', type: 'fill', source: 'grid', paint: { 'fill-color': RAMP[0], 'fill-opacity': HEX_OPACITY } },
        {
          id: 'grid-line', type: 'line', source: 'grid', filter: ['>=', ['coalesce', ['get', 'ununionised_workers'], 0], 1],
          paint: { 'line-color': '#54278f', 'line-width': 0.4, 'line-opacity': 0.35 },
        },
        {
          id: 'parks', type: 'circle', source: 'parks',
          layout: { 'circle-sort-key': ['-', 0, ['coalesce', ['get', 'workers'], 0]] },
          // Rings, not discs: every non-empty cell holds a park, and a filled park
          // would hide its cell's colour.
          paint: {
            'circle-color': 'rgba(0, 0, 0, 0)',
            'circle-radius': ['interpolate', ['linear'], ['zoom'],
              4, ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'workers'], 0]], 0, 2.5, 30, 4, 100, 7, 400, 15],
              12, ['interpolate', ['linear'], ['sqrt', ['coalesce', ['get', 'workers'], 0]], 0, 5, 30, 8, 100, 14, 400, 30]],
            'circle-stroke-color': ['match', ['get', 'union_status'], 'none', UNION_COLOURS.none, 'partial', UNION_COLOURS.partial, 'full', UNION_COLOURS.full, '#adb5bd'],
            'circle-stroke-width': 2,
            'circle-stroke-opacity': 0.95,
          },
        },
        {
          id: 'facilities', type: 'circle', source: 'facilities',
          paint: {
            'circle-color': ['match', ['get', 'layer'], 'driver_home', LAYER_COLOURS.driver_home,
              'courier_station', LAYER_COLOURS.courier_station, LAYER_COLOURS.fitness_station],
            'circle-radius': ['interpolate', ['linear'], ['zoom'], 4, 2.5, 12, 5],
            'circle-stroke-color': '#ffffff',
            'circle-stroke-width': 0.8,
          },
        },
      ],
    },
    bounds: [[area[0], area[1]], [area[2], area[3]]],
    fitBoundsOptions: { padding: 16 },
    interactive: false,
    attributionControl: false,
    fadeDuration: 0,
    renderWorldCopies: false,
    // Only this map keeps its drawing buffer, so that toDataURL sees the picture.
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  await new Promise((resolve, reject) => {
    map.once('load', resolve);
    map.once('error', (e) => reject(e.error || new Error('map error')));
  });
  // The hexagons, filled by un-unionised workers. On a map of the whole country the
  // finest cells the API gives (H3 res 4) are a few pixels wide and each sits under
  // its park: they are then summed into hexagons of the picture (BIN_PX wide).
  const px = cellPixels(map, grid);
  data.cellPixels = px;
  data.binned = !!px && px < MIN_CELL_PX;
  const hexes = data.binned ? hexbin(map, grid, BIN_PX / Math.sqrt(3)) : grid;
  const vals = hexes.features.map((f) => f.properties.ununionised_workers).filter((v) => v > 0).sort((a, b) => a - b);
  const breaks = [];
  for (const q of [0.2, 0.4, 0.6, 0.8]) {
    if (!vals.length) break;
    const b = nice(vals[Math.min(vals.length - 1, Math.floor(q * vals.length))]);
    if (b > 1 && (!breaks.length || b > breaks[breaks.length - 1])) breaks.push(b);
  }
  data.breaks = breaks;
  const colours = RAMP.slice(RAMP.length - 1 - breaks.length);
  const step = ['step', ['coalesce', ['get', 'ununionised_workers'], 0], 'rgba(0,0,0,0)', 1, colours[0]];
  breaks.forEach((b, i) => step.push(b, colours[i + 1]));
  data.hexColours = colours;
  data.hexCount = hexes.features.filter((f) => f.properties.ununionised_workers > 0).length;
  map.getSource('grid').setData(hexes);
  map.setPaintProperty('grid', 'fill-color', step);
  await new Promise((resolve) => { map.once('idle', resolve); map.triggerRepaint(); });
  const url = map.getCanvas().toDataURL('image/png');
  // Place names over the image, in % of its size, greedily kept apart.
  const w = map.getContainer().clientWidth;
  const h = map.getContainer().clientHeight;
  const labels = [];
  const boxes = [];
  const places = [...data.places].sort((a, b) => ((b.properties || {}).weight || 0) - ((a.properties || {}).weight || 0));
  for (const f of places) {
    if (!f.geometry || f.geometry.type !== 'Point') continue;
    const pt = map.project(f.geometry.coordinates);
    const name = (lang === 'en' ? f.properties.name_en : f.properties.name) || f.properties.name || '';
    const bw = name.length * (lang === 'en' ? 6.5 : 11.5) + 6;
    const box = [pt.x - bw / 2, pt.y, pt.x + bw / 2, pt.y + 16];
    if (box[0] < 0 || box[2] > w || box[1] < 0 || box[3] > h) continue;
    if (boxes.some((b) => !(box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3]))) continue;
    boxes.push(box);
    labels.push({ f, x: (100 * pt.x) / w, y: (100 * pt.y) / h });
    if (labels.length >= 40) break;
  }
  map.remove();
  $('map').remove();
  const img = $('map-img');
  await new Promise((resolve) => { img.onload = resolve; img.onerror = resolve; img.src = url; img.hidden = false; });
  data.labels = labels;
  renderLabels();
}

// The median width of the grid's cells on the map, in pixels.
function cellPixels(map, grid) {
  const w = grid.features.slice(0, 200).map((f) => {
    const xs = f.geometry.coordinates[0].map((c) => map.project(c).x);
    return Math.max(...xs) - Math.min(...xs);
  }).sort((a, b) => a - b);
  return w.length ? w[Math.floor(w.length / 2)] : null;
}

// Sums the grid cells into hexagons of radius `r` pixels on `map` (pointy-top, as
// d3-hexbin lays them out), returned as polygons in lon/lat with the summed
// un-unionised workers, workers and parks.
function hexbin(map, grid, r) {
  const dx = r * Math.sqrt(3);
  const dy = r * 1.5;
  const bins = new Map();
  for (const f of grid.features) {
    if (!f.geometry || f.geometry.type !== 'Polygon') continue;
    const ring = f.geometry.coordinates[0].slice(0, -1);
    const c = ring.reduce((a, q) => [a[0] + q[0] / ring.length, a[1] + q[1] / ring.length], [0, 0]);
    const { x, y } = map.project(c);
    let py = y / dy;
    let pj = Math.round(py);
    let px = x / dx - (pj & 1) / 2;
    let pi = Math.round(px);
    const py1 = py - pj;
    if (Math.abs(py1) * 3 > 1) {
      const px1 = px - pi;
      const pi2 = pi + (px < pi ? -1 : 1) / 2;
      const pj2 = pj + (py < pj ? -1 : 1);
      const px2 = px - pi2;
      const py2 = py - pj2;
      if (px1 * px1 + py1 * py1 > px2 * px2 + py2 * py2) { pi = pi2 + (pj & 1 ? 1 : -1) / 2; pj = pj2; }
    }
    const key = `${pi},${pj}`;
    const b = bins.get(key) || { x: (pi + (pj & 1) / 2) * dx, y: pj * dy, ununionised_workers: 0, workers: 0, parks: 0, cells: 0 };
    const p = f.properties || {};
    b.ununionised_workers += p.ununionised_workers || 0;
    b.workers += p.workers || 0;
    b.parks += p.parks || 0;
    b.cells += 1;
    bins.set(key, b);
  }
  const features = [...bins.values()].map((b) => {
    const ring = [];
    for (let i = 0; i <= 6; i++) {
      const a = (Math.PI / 3) * (i % 6);
      const ll = map.unproject([b.x + r * Math.sin(a), b.y - r * Math.cos(a)]);
      ring.push([ll.lng, ll.lat]);
    }
    const { x, y, ...props } = b;
    return { type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: props };
  });
  return { type: 'FeatureCollection', features };
}

function renderLabels() {
  const box = $('mapbox');
  box.querySelectorAll('.map-label').forEach((el) => el.remove());
  for (const { f, x, y } of data.labels || []) {
    const el = document.createElement('span');
    el.className = 'map-label';
    el.style.left = `${x}%`;
    el.style.top = `${y}%`;
    el.textContent = (lang === 'en' ? f.properties.name_en : f.properties.name) || f.properties.name || '';
    box.appendChild(el);
  }
}

// --- start ----------------------------------------------------------------------------

async function main() {
  applyStatic();
  renderMeta();
  const q = filterQuery();
  const groupBy = params.get('city') ? 'district' : 'city';
  const sumQ = new URLSearchParams(q);
  sumQ.set('group_by', groupBy);
  const topQ = new URLSearchParams(q);
  topQ.set('sort', params.get('sort') || 'gap_score');
  topQ.set('limit', String(Math.min(500, Math.max(1, Number(params.get('limit')) || 50))));
  const mapQ = new URLSearchParams(q);
  mapQ.set('limit', '20000');
  try {
    const [summary, top, parks, places] = await Promise.all([
      getJSON(`/api/v1/coverage/summary?${sumQ}`),
      getJSON(`/api/v1/coverage/parks?${topQ}`),
      getJSON(`/api/v1/coverage/parks?${mapQ}`),
      getJSON('/api/v1/places').catch(() => ({ features: [] })),
    ]);
    Object.assign(data, { summary, top, parks, places: places.features || [] });
    renderAll();
    $('status').hidden = true;
    await drawMap();
    renderCaption();
    document.body.dataset.ready = 'true';
  } catch (e) {
    const st = $('status');
    st.hidden = false;
    st.className = 'error';
    st.textContent = `${t('report_failed')}: ${e.message}`;
    document.body.dataset.ready = 'error';
  }
}

$('btn-print').addEventListener('click', () => window.print());
$('btn-lang').addEventListener('click', () => {
  lang = lang === 'zh' ? 'en' : 'zh';
  saveLang(lang);
  if (params.has('lang')) {
    params.set('lang', lang);
    history.replaceState(null, '', `?${params}`);
  }
  renderAll();
  renderLabels();
});

window.__report = data;
main();
