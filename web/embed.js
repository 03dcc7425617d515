// 嵌入地图 / The embed builder: a union website editor picks the layers, an area
// (a city from /api/v1/places, or a centre and zoom by moving the preview), the
// language and the height, sees the public map as it will be embedded, and copies
// the <iframe> snippet.
//
// The embedded map is the public map page with the parameters app.js reads:
// ?embed=1&layers=a,b&center=lon,lat&zoom=z&lang=zh|en (WGS-84 centre).
//
// The builder's own address takes the same settings (plus city= and height=), so a
// link to a prepared builder can be shared: /embed?layers=driver_home&city=临沂市.
// What it cannot use (an unknown city or layer) is said over the preview, and the
// snippet only ever holds values the map understands.
//
// The preview is an iframe of this origin, so the builder reads its map's view
// after the user drags or zooms it. Nothing is asked of any other host.

import { EMBED_STRINGS, STRINGS } from './i18n.js';
import { getJSON, pickLang, saveLang } from './common.js';

const HEIGHT = { min: 200, max: 1200, initial: 480 };
const ZOOM = { min: 2, max: 18 };
const CITY_ZOOM = 10;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

const st = {
  lang: pickLang(params, 'ui'),
  layers: [], // from /api/v1/layers: { id, name_zh, name_en }
  places: [], // from /api/v1/places: { name, name_en, lon, lat }
  chosen: new Set(),
  city: '', // the city whose centre is used ('' for none)
  center: null, // [lon, lat] or null: the map fits all the data
  zoom: null,
  mapLang: 'zh',
  height: HEIGHT.initial,
  badCity: '', // a city asked for that /api/v1/places does not have
  badLayers: [], // layer ids asked for (in the builder's address) that do not exist
  previewSrc: '',
  frame: 0, // counts preview loads: a watcher of an older load stops
};

function t(key, ...args) {
  const table = EMBED_STRINGS[st.lang];
  const v = table[key] ?? EMBED_STRINGS.zh[key] ?? STRINGS[st.lang][key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

const layerName = (l) => (st.lang === 'en' ? (l.name_en || l.name_zh || l.id) : (l.name_zh || l.name_en || l.id));
const round = (x, places) => Number(x.toFixed(places));

// --- the snippet --------------------------------------------------------------------

// The embedded map's address (absolute, for the snippet) from the current settings.
function embedURL() {
  const q = new URLSearchParams();
  q.set('embed', '1');
  q.set('layers', st.layers.filter((l) => st.chosen.has(l.id)).map((l) => l.id).join(','));
  if (st.center) {
    q.set('center', `${round(st.center[0], 4)},${round(st.center[1], 4)}`);
    q.set('zoom', String(round(st.zoom ?? CITY_ZOOM, 1)));
  }
  q.set('lang', st.mapLang);
  // Commas stay readable: they are allowed in a query.
  return `${location.origin}/?${q.toString().replace(/%2C/g, ',')}`;
}

function escAttr(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function snippet() {
  const title = EMBED_STRINGS[st.mapLang].e_iframe_title;
  return `<iframe src="${escAttr(embedURL())}" width="100%" height="${st.height}" style="border:0" ` +
    `loading="lazy" title="${escAttr(title)}" allowfullscreen></iframe>`;
}

// --- validation of the form ---------------------------------------------------------------

// Which fields are wrong: { height, center, zoom, layers } (true = at fault).
function checkForm() {
  const num = (id) => { const v = $(id).value.trim(); return v === '' ? null : Number(v); };
  const h = num('e-height');
  const lon = num('e-lon');
  const lat = num('e-lat');
  const zoom = num('e-zoom');
  const centreGiven = lon != null || lat != null;
  const lonOk = lon != null && Number.isFinite(lon) && Math.abs(lon) <= 180;
  const latOk = lat != null && Number.isFinite(lat) && Math.abs(lat) <= 85;
  const bad = {
    layers: !st.chosen.size,
    height: h == null || !Number.isFinite(h) || h < HEIGHT.min || h > HEIGHT.max,
    lon: centreGiven && !lonOk,
    lat: centreGiven && !latOk,
    zoom: zoom != null && !(Number.isFinite(zoom) && zoom >= ZOOM.min && zoom <= ZOOM.max),
  };
  for (const k of ['height', 'lon', 'lat', 'zoom']) {
    if (bad[k]) $(`e-${k}`).setAttribute('aria-invalid', 'true'); else $(`e-${k}`).removeAttribute('aria-invalid');
  }
  return { bad, h, lon, lat, zoom, centreGiven };
}

// Reads the form into the settings (only the valid parts); returns the problems in words.
function readForm() {
  const { bad, h, lon, lat, zoom, centreGiven } = checkForm();
  if (!bad.height) st.height = Math.round(h);
  if (!centreGiven) st.center = null;
  else if (!bad.lon && !bad.lat) st.center = [lon, lat];
  if (zoom == null) st.zoom = null;
  else if (!bad.zoom) st.zoom = zoom;
  st.mapLang = document.querySelector('input[name="e-lang"]:checked').value;
  const errs = [];
  if (bad.layers) errs.push(t('e_no_layers'));
  if (bad.height) errs.push(t('e_bad_height', HEIGHT.min, HEIGHT.max));
  if (bad.lon || bad.lat) errs.push(t('e_bad_center'));
  if (bad.zoom) errs.push(t('e_bad_zoom', ZOOM.min, ZOOM.max));
  return errs;
}

// --- the area: a city, or a centre and zoom ------------------------------------------------

function findCity(name) {
  const n = name.trim().toLowerCase();
  if (!n) return null;
  // 临沂市 finds 临沂 (the data's cities carry no 市), and the other way round; Linyi finds 临沂.
  const bare = (x) => x.replace(/市$/, '');
  return st.places.find((p) => p.name.toLowerCase() === n || (p.name_en || '').toLowerCase() === n)
    || st.places.find((p) => bare(p.name) === bare(n));
}

function applyCity() {
  const name = $('e-city').value.trim();
  st.badCity = '';
  if (!name) { st.city = ''; return; }
  const p = findCity(name);
  if (!p) {
    st.badCity = name;
    return;
  }
  st.city = p.name;
  $('e-city').value = p.name;
  st.center = [p.lon, p.lat];
  st.zoom = CITY_ZOOM;
  $('e-lon').value = String(round(p.lon, 4));
  $('e-lat').value = String(round(p.lat, 4));
  $('e-zoom').value = String(CITY_ZOOM);
}

// --- rendering ----------------------------------------------------------------------------

function renderNotice() {
  const parts = [];
  if (st.badLayers.length) {
    const valid = st.layers.map((l) => t('layer_item', l.id, layerName(l))).join(t('list_sep'));
    parts.push(t('e_unknown_layers', st.badLayers.join(', '), valid));
  }
  if (st.badCity) {
    const some = st.places.slice(0, 6).map((c) => (st.lang === 'en' ? `${c.name_en} (${c.name})` : c.name)).join(t('list_sep'));
    parts.push(t('e_unknown_city', st.badCity, some));
  }
  const el = $('preview-notice');
  el.textContent = parts.join(' ');
  el.hidden = !parts.length;
}

function renderLayers() {
  const box = $('e-layers');
  box.replaceChildren();
  for (const l of st.layers) {
    const lab = document.createElement('label');
    lab.className = 'check';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.value = l.id;
    input.checked = st.chosen.has(l.id);
    const span = document.createElement('span');
    span.textContent = layerName(l);
    lab.append(input, span);
    box.appendChild(lab);
  }
}

function renderCities() {
  const dl = $('e-cities');
  dl.replaceChildren(...st.places.map((p) => {
    const o = document.createElement('option');
    o.value = p.name;
    o.label = p.name_en ? `${p.name} · ${p.name_en}` : p.name;
    return o;
  }));
}

// Everything that follows from the settings: error line, notice, snippet, preview.
function update({ reload = true } = {}) {
  const errs = readForm();
  const err = $('e-error');
  err.textContent = errs.join(' ');
  err.hidden = !errs.length;
  renderNotice();
  const ok = st.chosen.size > 0;
  const code = ok ? snippet() : '';
  $('e-snippet').value = code;
  $('e-copy').disabled = !ok;
  $('e-open').href = ok ? embedURL() : './';
  $('preview').height = String(st.height);
  $('preview').style.height = `${st.height}px`;
  document.body.dataset.snippet = code;
  if (reload && ok) loadPreview();
}

let previewTimer = 0;
function loadPreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => {
    const src = embedURL();
    if (src === st.previewSrc) return;
    st.previewSrc = src;
    st.frame++;
    document.body.dataset.preview = 'loading';
    $('preview').src = src;
  }, 250);
}

// Once the preview's map is ready, follow its moves: a drag or zoom there becomes
// the centre and zoom of the snippet (and the city is no longer the reason).
function watchPreview() {
  let win;
  try { win = $('preview').contentWindow; } catch { return; }
  const frame = st.frame;
  const poll = () => {
    if (st.frame !== frame) return;
    const ws = win && win.__waystation;
    if (!ws || !ws.ready || !ws.map) { setTimeout(poll, 100); return; }
    document.body.dataset.preview = 'ready';
    ws.map.on('moveend', () => {
      if (st.frame !== frame) return;
      const c = ws.map.getCenter();
      const [lon, lat] = ws.state.conv.fromDisplay([c.lng, c.lat]);
      const z = ws.map.getZoom();
      const same = st.center && Math.abs(st.center[0] - lon) < 1e-4 && Math.abs(st.center[1] - lat) < 1e-4
        && Math.abs((st.zoom ?? CITY_ZOOM) - z) < 0.05;
      if (same) return;
      $('e-lon').value = String(round(lon, 4));
      $('e-lat').value = String(round(lat, 4));
      $('e-zoom').value = String(round(z, 1));
      $('e-city').value = '';
      st.city = '';
      st.badCity = '';
      update({ reload: false });
      // The preview already shows this view; the next reload starts from it.
      st.previewSrc = embedURL();
      document.body.dataset.moved = String(Number(document.body.dataset.moved || 0) + 1);
    });
  };
  poll();
}

function applyStatic() {
  document.documentElement.lang = st.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('e_doc_title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  const lb = $('btn-lang');
  lb.textContent = t('lang_button');
  lb.lang = st.lang === 'zh' ? 'en' : 'zh';
  lb.title = t('switch_lang');
}

async function copySnippet() {
  const ta = $('e-snippet');
  const out = $('e-copied');
  try {
    await navigator.clipboard.writeText(ta.value);
    out.textContent = t('e_copied');
    out.className = 'ok-text';
  } catch {
    ta.focus();
    ta.select();
    let done = false;
    try { done = document.execCommand('copy'); } catch { /* not allowed */ }
    out.textContent = done ? t('e_copied') : t('e_copy_manual');
    out.className = done ? 'ok-text' : 'error-text';
  }
  document.body.dataset.copied = ta.value;
}

// --- start ------------------------------------------------------------------------------

// The builder's own address: layers=, city=, center=, zoom=, lang=, height=.
function applyAddress() {
  const want = (params.get('layers') || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (want.length) {
    const known = want.filter((id) => st.layers.some((l) => l.id === id));
    const unknown = want.filter((id) => !known.includes(id));
    st.chosen = new Set(known);
    st.badLayers = unknown;
  }
  const c = (params.get('center') || '').split(',').map(Number);
  if (c.length === 2 && c.every(Number.isFinite)) {
    $('e-lon').value = String(c[0]);
    $('e-lat').value = String(c[1]);
    $('e-zoom').value = params.get('zoom') || String(CITY_ZOOM);
  }
  if (params.get('city')) $('e-city').value = params.get('city');
  if (params.get('height')) $('e-height').value = params.get('height');
  const ml = (params.get('lang') || '').toLowerCase().startsWith('en') ? 'en' : 'zh';
  document.querySelector(`input[name="e-lang"][value="${ml}"]`).checked = true;
}

async function main() {
  applyStatic();
  let layersDoc;
  let places;
  try {
    [layersDoc, places] = await Promise.all([
      getJSON('/api/v1/layers'),
      getJSON('/api/v1/places').catch(() => ({ features: [] })),
    ]);
  } catch (e) {
    const err = $('e-error');
    err.textContent = `${t('e_load_failed')}: ${e.message}`;
    err.hidden = false;
    document.body.dataset.ready = 'error';
    return;
  }
  st.layers = (layersDoc.layers || []).map((l) => ({ id: l.id, name_zh: l.name_zh, name_en: l.name_en }));
  st.chosen = new Set(st.layers.map((l) => l.id));
  st.places = (places.features || []).filter((f) => f.geometry && f.geometry.type === 'Point').map((f) => ({
    name: f.properties.name, name_en: f.properties.name_en, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1],
  }));
  applyAddress();
  renderLayers();
  renderCities();
  if ($('e-city').value.trim()) applyCity();
  update();

  $('e-layers').addEventListener('change', (e) => {
    const i = e.target;
    if (i.checked) st.chosen.add(i.value); else st.chosen.delete(i.value);
    st.badLayers = [];
    update();
  });
  $('e-city').addEventListener('change', () => { applyCity(); update(); });
  for (const id of ['e-lon', 'e-lat', 'e-zoom']) {
    $(id).addEventListener('change', () => { $('e-city').value = ''; st.city = ''; st.badCity = ''; update(); });
  }
  $('e-height').addEventListener('input', () => update({ reload: false }));
  for (const r of document.querySelectorAll('input[name="e-lang"]')) r.addEventListener('change', () => update());
  $('e-reset-view').addEventListener('click', () => {
    for (const id of ['e-city', 'e-lon', 'e-lat', 'e-zoom']) $(id).value = '';
    st.city = '';
    st.badCity = '';
    update();
  });
  $('builder').addEventListener('submit', (e) => e.preventDefault());
  $('e-copy').addEventListener('click', copySnippet);
  $('preview').addEventListener('load', watchPreview);
  $('btn-lang').addEventListener('click', () => {
    st.lang = st.lang === 'zh' ? 'en' : 'zh';
    saveLang(st.lang);
    applyStatic();
    renderLayers();
    update({ reload: false });
  });
  document.body.dataset.ready = 'true';
}

main();
