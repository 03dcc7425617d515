// 搜索 / Search: the box in the top bar that finds facilities and places by what
// people type (GET /api/v1/search): Chinese (临沂, 兰山驿站), pinyin (linyi),
// initials (ly) and English names.
//
// Typing asks the server after a short pause (the answer for the text typed
// last wins; earlier requests are aborted) from the map's centre, so the nearest
// matches come first (their distance is shown once the map is zoomed in to a
// city). The suggestions list the matching cities and districts,
// then the facilities. Picking a place fits the map to its facilities' extent;
// picking a facility flies there and opens its card as a click on its point
// does (window.__waystation.showFeature, app.js).
//
// On a phone the box is a magnifier button in the top bar that opens the field
// over the whole bar; on a desktop the field is always there. Keyboard: ↑ ↓ move
// through the suggestions, Enter picks, Esc closes.
//
// This module is imported by app.js for its side effects and speaks to the page
// only through window.__waystation (map, state, showFeature) and its own markup
// (#search in index.html). The page's language is the document's (app.js sets
// <html lang>); labels follow it when it changes.

import { LAYER_COLOURS as COLOURS, langHeader } from './common.js';
import { LAYER_SINGULAR } from './i18n.js';

const $ = (id) => document.getElementById(id);

const DEBOUNCE_MS = 220;
const LIMIT = 8; // facilities asked for
const MAX_PLACES = 3; // places shown
const MAX_CHARS = 64; // the server's limit
const LOCAL_ZOOM = 9; // from this zoom on, suggestions show their distance from the map's centre

const STRINGS = {
  zh: {
    label: '搜索地点或设施',
    placeholder: '搜索：临沂、兰山驿站、linyi…',
    open: '搜索',
    close: '关闭搜索',
    results: '搜索结果',
    city: '城市',
    district: '区县',
    count: (n) => `${n} 个设施`,
    none: '没有找到',
    failed: (d) => `搜索失败：${d}`,
    m: (n) => `${n} 米`,
    km: (n) => `${n} 公里`,
  },
  en: {
    label: 'Search places and facilities',
    placeholder: 'Search: 临沂, linyi, driver home…',
    open: 'Search',
    close: 'Close search',
    results: 'Search results',
    city: 'City',
    district: 'District',
    count: (n) => `${n} ${n === 1 ? 'facility' : 'facilities'}`,
    none: 'Nothing found',
    failed: (d) => `Search failed: ${d}`,
    m: (n) => `${n} m`,
    km: (n) => `${n} km`,
  },
};

const S = {
  timer: null,
  controller: null,
  token: 0,
  asked: '', // the text of the answer on show
  items: [], // [{ kind: 'place' | 'facility', place | feature }]
  active: -1,
  message: null, // shown instead of suggestions ("nothing found", an error)
};

function lang() {
  return (document.documentElement.lang || '').toLowerCase().startsWith('en') ? 'en' : 'zh';
}

function t(key, ...args) {
  const v = STRINGS[lang()][key] ?? STRINGS.zh[key];
  return typeof v === 'function' ? v(...args) : v;
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function ws() { return window.__waystation; }

function isDesktop() { return window.matchMedia('(min-width: 768px)').matches; }

function fmtDistance(m) {
  if (m == null || !Number.isFinite(+m)) return '';
  return +m < 1000 ? t('m', Math.round(+m)) : t('km', (+m / 1000).toFixed(+m < 10000 ? 1 : 0));
}

// The map's centre in WGS-84 (the basemap may be GCJ-02), or null before it is ready.
function centre() {
  const w = ws();
  if (!w || !w.map || !w.state) return null;
  const c = w.map.getCenter();
  const [lon, lat] = w.state.conv.fromDisplay([c.lng, c.lat]);
  const wrapped = ((((lon + 180) % 360) + 360) % 360) - 180;
  if (!Number.isFinite(wrapped) || !Number.isFinite(lat) || Math.abs(lat) > 90) return null;
  return [wrapped, lat];
}

// ---------------------------------------------------------------------------
// Asking

function schedule() {
  clearTimeout(S.timer);
  const q = $('search-q').value.trim();
  if (!q) {
    S.token++;
    if (S.controller) S.controller.abort();
    S.items = [];
    S.message = null;
    S.asked = '';
    render();
    return;
  }
  S.timer = setTimeout(() => ask(q), DEBOUNCE_MS);
}

async function ask(q) {
  if ([...q].length > MAX_CHARS) q = [...q].slice(0, MAX_CHARS).join('');
  const token = ++S.token;
  if (S.controller) S.controller.abort();
  S.controller = new AbortController();
  const params = new URLSearchParams({ q, limit: String(LIMIT) });
  const c = centre();
  // Distances from the centre of a map of the whole country say little.
  const w = ws();
  const local = !!(w && w.map && w.map.getZoom() >= LOCAL_ZOOM);
  if (c) {
    params.set('lon', c[0].toFixed(5));
    params.set('lat', c[1].toFixed(5));
  }
  try {
    const r = await fetch(`/api/v1/search?${params}`, {
      signal: S.controller.signal,
      headers: { Accept: 'application/geo+json, application/json', ...langHeader() },
    });
    let body = null;
    try { body = await r.json(); } catch { /* not JSON */ }
    if (token !== S.token) return;
    if (!r.ok) {
      S.items = [];
      S.message = t('failed', (body && body.detail) || `HTTP ${r.status}`);
    } else {
      const places = (body.places || []).slice(0, MAX_PLACES).map((place) => ({ kind: 'place', place }));
      const facilities = (body.features || []).map((feature) => ({ kind: 'facility', feature, local }));
      S.items = [...places, ...facilities];
      S.message = S.items.length ? null : t('none');
    }
    S.asked = q;
    S.active = -1;
    render();
  } catch (e) {
    if (e.name === 'AbortError' || token !== S.token) return;
    S.items = [];
    S.message = t('failed', e.message);
    render();
  }
}

// ---------------------------------------------------------------------------
// Showing

function placeHTML(p, i) {
  const kind = p.kind === 'district' ? t('district') : t('city');
  const name = lang() === 'en' && p.name_en ? p.name_en : p.name;
  const sub = [kind, p.kind === 'district' ? p.city : null, t('count', p.count)].filter(Boolean).join(' · ');
  return `<li id="search-opt-${i}" class="search-item place" role="option" data-i="${i}" aria-selected="false">
    <svg class="search-pin" viewBox="0 0 20 20" width="20" height="20" aria-hidden="true"><path d="M10 1.8a6 6 0 0 0-6 6c0 4.5 6 10.4 6 10.4s6-5.9 6-10.4a6 6 0 0 0-6-6zm0 8.4a2.4 2.4 0 1 1 0-4.8 2.4 2.4 0 0 1 0 4.8z" fill="currentColor"/></svg>
    <span class="search-text"><span class="search-name">${esc(name)}</span><span class="search-sub">${esc(sub)}</span></span></li>`;
}

function facilityHTML(f, i, local) {
  const p = f.properties || {};
  const name = lang() === 'en' && p.name_en ? p.name_en : (p.name || p.name_en || '');
  const layer = LAYER_SINGULAR[p.layer] ? LAYER_SINGULAR[p.layer][lang()] : (p.layer || '');
  const where = [p.city, p.district].filter(Boolean).join('');
  const sub = [layer, where, local ? fmtDistance(p.distance_m) : ''].filter(Boolean).join(' · ');
  const colour = COLOURS[p.layer] || '#5c6570';
  return `<li id="search-opt-${i}" class="search-item facility" role="option" data-i="${i}" data-id="${esc(p.id ?? f.id)}" aria-selected="false">
    <span class="search-swatch" style="background:${colour}" aria-hidden="true"></span>
    <span class="search-text"><span class="search-name">${esc(name)}</span><span class="search-sub">${esc(sub)}</span></span></li>`;
}

function render() {
  const list = $('search-list');
  const input = $('search-q');
  if (S.message) {
    list.innerHTML = `<li class="search-message" role="presentation">${esc(S.message)}</li>`;
  } else {
    list.innerHTML = S.items.map((it, i) => (it.kind === 'place' ? placeHTML(it.place, i) : facilityHTML(it.feature, i, it.local))).join('');
  }
  setActive(Math.min(S.active, S.items.length - 1));
  show(document.activeElement === input && (S.items.length > 0 || S.message != null));
}

function show(open) {
  const list = $('search-list');
  list.hidden = !open;
  $('search-q').setAttribute('aria-expanded', String(open));
  $('topbar').classList.toggle('search-listing', open);
}

function setActive(i) {
  S.active = i;
  const input = $('search-q');
  for (const li of $('search-list').querySelectorAll('.search-item')) {
    const on = Number(li.dataset.i) === i;
    li.setAttribute('aria-selected', String(on));
    if (on) li.scrollIntoView({ block: 'nearest' });
  }
  if (i >= 0) input.setAttribute('aria-activedescendant', `search-opt-${i}`);
  else input.removeAttribute('aria-activedescendant');
}

// Opens (or closes) the field over the top bar on a phone.
function expand(open) {
  $('topbar').classList.toggle('searching', open);
  $('search-open').setAttribute('aria-expanded', String(open));
  if (open) {
    $('search-q').focus();
    render();
  } else {
    show(false);
    $('search-q').blur();
  }
}

// ---------------------------------------------------------------------------
// Picking

function pick(i) {
  const it = S.items[i];
  const w = ws();
  if (!it || !w || !w.map) return;
  show(false);
  if (!isDesktop()) expand(false);
  else $('search-q').blur();
  const map = w.map;
  const conv = w.state.conv;
  if (it.kind === 'place') {
    const [w0, s0, e0, n0] = it.place.bbox;
    const sw = conv.toDisplay([w0, s0]);
    const ne = conv.toDisplay([e0, n0]);
    if (w.state.popup) w.state.popup.remove();
    map.fitBounds([sw, ne], { padding: isDesktop() ? 60 : 30, maxZoom: 13, duration: 900 });
    return;
  }
  const f = it.feature;
  const coords = f.geometry && f.geometry.coordinates;
  if (!Array.isArray(coords)) return;
  // The distance was from the map's centre, not from the person: not for the card.
  const { distance_m: _d, bearing_deg: _b, ...properties } = f.properties || {};
  const card = { ...f, properties };
  const open = () => { if (w.showFeature) w.showFeature(card); };
  map.once('moveend', open);
  map.flyTo({ center: conv.toDisplay(coords), zoom: Math.max(map.getZoom(), 14), duration: 900, essential: true });
}

function onKey(e) {
  const n = S.items.length;
  if (e.key === 'ArrowDown' && n) {
    e.preventDefault();
    show(true);
    setActive((S.active + 1) % n);
  } else if (e.key === 'ArrowUp' && n) {
    e.preventDefault();
    show(true);
    setActive(S.active <= 0 ? n - 1 : S.active - 1);
  } else if (e.key === 'Escape') {
    e.preventDefault();
    if (!$('search-list').hidden) show(false);
    else if (!isDesktop()) expand(false);
    else $('search-q').blur();
  }
}

// ---------------------------------------------------------------------------
// Wiring

function labels() {
  const input = $('search-q');
  input.placeholder = t('placeholder');
  input.setAttribute('aria-label', t('label'));
  $('search').setAttribute('aria-label', t('label'));
  $('search-list').setAttribute('aria-label', t('results'));
  for (const [id, key] of [['search-open', 'open'], ['search-close', 'close']]) {
    $(id).setAttribute('aria-label', t(key));
    $(id).title = t(key);
  }
  if (S.items.length || S.message) {
    if (S.message && !S.items.length && S.asked) S.message = t('none');
    render();
  }
}

function wire() {
  const form = $('search');
  if (!form) return;
  const input = $('search-q');
  input.maxLength = MAX_CHARS;
  input.addEventListener('input', schedule);
  input.addEventListener('keydown', onKey);
  input.addEventListener('focus', () => { if (S.items.length || S.message) show(true); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) return;
    if (q !== S.asked) { clearTimeout(S.timer); ask(q); return; }
    pick(S.active >= 0 ? S.active : 0);
  });
  $('search-open').addEventListener('click', () => expand(true));
  $('search-close').addEventListener('click', () => {
    input.value = '';
    schedule();
    expand(false);
  });
  const list = $('search-list');
  // Keep the focus in the field while a suggestion is pressed.
  list.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const li = e.target.closest('.search-item');
    if (li) pick(Number(li.dataset.i));
  });
  list.addEventListener('mousemove', (e) => {
    const li = e.target.closest('.search-item');
    if (li && Number(li.dataset.i) !== S.active) setActive(Number(li.dataset.i));
  });
  document.addEventListener('pointerdown', (e) => {
    if (form.contains(e.target)) return;
    show(false);
    if (!isDesktop() && $('topbar').classList.contains('searching') && !input.value.trim()) expand(false);
  });
  new MutationObserver(labels).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  labels();
}

wire();
