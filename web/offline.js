// The installable app, page side: registers the service worker (sw.js), says when
// the results shown are stored ones ("离线 · 14:05 的结果" / "Offline · results from
// 14:05"), and on a start without a network shows the last results again.
//
// How it knows:
// - each nearest answer passes through noteNearest(); one the service worker
//   answered from its cache carries X-Waystation-Cached-At, the time it was made;
// - the service worker posts {type: 'waystation-net', online} for every data answer
//   (config, layers, nearest, …): online false means it came from the cache;
// - navigator.onLine and the 'online' / 'offline' events.
// The banner shows while offline; back online it goes and the last query is
// asked again (quietly: the map does not move; again a few times if the network
// is not usable yet).
//
// The last query (position, whether it was "me", the filter) is kept in
// localStorage; an offline start asks it again once the map is ready, and the
// service worker answers it from its cache.
//
// The first visit loads its data before the service worker controls the page;
// once it does and the map is ready, the page hands it those URLs to store
// ('waystation-seed'), with the tiles of the view. <html data-offline-ready="true">
// then says the app can start offline (the browser test waits for it). After each
// nearest answer from the network the tiles around it are stored the same way, at
// the zooms where they are few (when the map draws our vector tiles).
//
// A new release: the worker answers the shell from its cache and refreshes it
// behind; when a refreshed file differs it posts {type: 'waystation-update'}, and
// a new worker taking over an already controlled page does the same job. Either
// way a strip offers "新版本已就绪 · 重新加载" (the page never reloads under a
// driver's fingers); the reload starts the new release from the refreshed cache.

const LAST_KEY = 'waystation.lastNearest';
const CACHED_AT = 'X-Waystation-Cached-At';
const EMBED = ['1', 'true', 'yes'].includes((new URLSearchParams(location.search).get('embed') || '').toLowerCase());

const net = {
  cacheAnswered: false, // the latest data answer came from the service worker's cache
  resultsAt: null, // when the shown results were answered (Date), if any
};
let opts = null; // { t, restore, current }
let banner = null;
let update = null; // the "new version" strip, once a new release is known

// Starts the offline support. `t(key, ...args)` gives the page's strings in its
// language; `restore(query, { fit })` sets the filter and asks the nearest query;
// `current()` is the last query asked ({ wgs, fromMe, filter }), or null.
export function initOffline({ t, restore, current }) {
  opts = { t, restore, current };
  banner = document.createElement('div');
  banner.id = 'offline-banner';
  banner.setAttribute('role', 'status');
  banner.setAttribute('aria-live', 'polite');
  banner.hidden = true;
  const top = document.getElementById('topbar');
  if (top) top.after(banner); else document.body.prepend(banner);

  window.addEventListener('offline', render);
  window.addEventListener('online', backOnline);
  // A language switch sets <html lang>: say the same in the other language.
  new MutationObserver(render).observe(document.documentElement, { attributes: true, attributeFilter: ['lang'] });
  // The time is said only while there are results to say it of.
  const list = document.getElementById('results');
  if (list) new MutationObserver(render).observe(list, { childList: true });

  if (!EMBED && 'serviceWorker' in navigator && window.isSecureContext) {
    const hadController = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.addEventListener('message', onWorkerMessage);
    // A new worker (a release that changed sw.js) took over a page an old one served.
    navigator.serviceWorker.addEventListener('controllerchange', () => { if (hadController) offerUpdate(); });
    navigator.serviceWorker.startMessages();
    const register = () => navigator.serviceWorker.register('/sw.js', { scope: '/' })
      .catch((e) => console.warn('service worker not registered:', e && e.message));
    if (document.readyState === 'complete') register(); else window.addEventListener('load', register, { once: true });
    whenReady().then(async () => {
      if (!hadController) await seed();
      document.documentElement.dataset.offlineReady = 'true';
      if (isOffline()) restoreLast();
    });
  } else {
    whenReady().then(() => { if (isOffline()) restoreLast(); });
  }
  render();
}

// Called with every good nearest answer (a Response) and the query it answers.
// Its time: when the service worker's copy was made, else the answer's Date (one
// from the browser's HTTP cache is older than now), else now.
export function noteNearest(response, query) {
  const at = response.headers.get(CACHED_AT);
  const made = Date.parse(at || response.headers.get('date') || '');
  net.resultsAt = new Date(Number.isFinite(made) ? made : Date.now());
  net.cacheAnswered = Boolean(at);
  if (EMBED) { render(); return; } // an embed's queries are not the app's
  try {
    localStorage.setItem(LAST_KEY, JSON.stringify(query));
  } catch { /* storage may be blocked (private mode, iframe) */ }
  render();
  if (!at) storeAround(query.wgs);
}

function isOffline() {
  return navigator.onLine === false || net.cacheAnswered;
}

function onWorkerMessage(event) {
  const msg = event.data || {};
  if (msg.type === 'waystation-update') { offerUpdate(); return; }
  if (msg.type !== 'waystation-net') return;
  net.cacheAnswered = !msg.online;
  render();
}

function backOnline() {
  net.cacheAnswered = false;
  render();
  clearTimeout(retryTimer);
  reask(0);
}

// The last query again, from the network, without moving the map. 'online' can come
// before the network carries anything: while the service worker still answers from
// its cache (or not at all), ask again a few times, further apart each time.
const RETRY_MS = [2000, 5000, 10000, 20000];
let retryTimer = 0;
function reask(n) {
  const q = opts && opts.current();
  if (!q || navigator.onLine === false) return;
  opts.restore(q, { fit: false });
  if (n >= RETRY_MS.length) return;
  retryTimer = setTimeout(() => { if (net.cacheAnswered) reask(n + 1); }, RETRY_MS[n]);
}

// Shows (once) the strip offering to start the new release now.
function offerUpdate() {
  if (update || !opts) return;
  update = document.createElement('div');
  update.id = 'update-banner';
  update.setAttribute('role', 'status');
  const text = document.createElement('span');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'btn';
  button.addEventListener('click', () => location.reload());
  update.append(text, button);
  (banner || document.body.firstElementChild).after(update);
  render();
}

function render() {
  if (update && opts) {
    const [text, button] = update.children;
    text.textContent = opts.t('update_ready');
    button.textContent = opts.t('update_reload');
  }
  if (!banner || !opts) return;
  const off = isOffline();
  banner.hidden = !off;
  if (!off) return;
  const shown = document.querySelector('#results .result');
  const text = net.resultsAt && shown ? opts.t('offline_results', when(net.resultsAt)) : opts.t('offline');
  if (banner.textContent !== text) banner.textContent = text;
}

// "14:05", or "11月29日 14:05" / "29 Nov 14:05" when not today.
function when(d) {
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  if (d.toDateString() === new Date().toDateString()) return hm;
  const locale = document.documentElement.lang === 'en' ? 'en-GB' : 'zh-CN';
  return `${new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric' }).format(d)} ${hm}`;
}

function lastQuery() {
  let q;
  try { q = JSON.parse(localStorage.getItem(LAST_KEY) || 'null'); } catch { return null; }
  if (!q || !Array.isArray(q.wgs) || q.wgs.length !== 2 || !q.wgs.every(Number.isFinite)) return null;
  const f = q.filter || {};
  const strings = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);
  const k = String(f.k || '');
  return {
    wgs: q.wgs,
    fromMe: q.fromMe === true,
    filter: {
      layers: strings(f.layers),
      amenities: strings(f.amenities),
      openNow: f.openNow === true,
      k: document.querySelector(`#f-k option[value="${CSS.escape(k)}"]`) ? k : '10',
    },
  };
}

function restoreLast() {
  const q = lastQuery();
  if (q && opts && !EMBED) opts.restore(q, { fit: true });
}

// Resolves once the map is drawn with its layers (app.js sets <body data-ready>).
function whenReady() {
  return new Promise((resolve) => {
    if (document.body.dataset.ready === 'true') { resolve(); return; }
    const mo = new MutationObserver(() => {
      if (document.body.dataset.ready === 'true') { mo.disconnect(); resolve(); }
    });
    mo.observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
  });
}

// Hands the service worker the data this page loaded before it was in control.
async function seed() {
  const reg = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((r) => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
  }
  const worker = navigator.serviceWorker.controller || reg.active;
  if (!worker) return;
  const urls = performance.getEntriesByType('resource')
    .map((e) => e.name)
    .filter((u) => u.startsWith(`${location.origin}/api/v1/`) || u.startsWith(`${location.origin}/tiles/`));
  // The map's tiles were loaded by its worker, which this page's timeline does not
  // list: those of the view as it is now.
  const map = window.__waystation && window.__waystation.map;
  if (map) {
    const b = map.getBounds();
    urls.push(...tileUrls([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()], Math.floor(map.getZoom()), VIEW_TILES));
  }
  await store(worker, [...new Set(urls)]);
}

// Asks the worker to store `urls` (it keeps only what it would keep anyway).
function store(worker, urls) {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    worker.postMessage({ type: 'waystation-seed', urls }, [ch.port2]);
    setTimeout(resolve, 60_000); // never hang on a lost reply
  });
}

// ---- the tiles around the last position (when the map draws our vector tiles)

const AROUND_PER_ZOOM = 16; // per source and zoom: past that, the zoom is left out
const AROUND_MAX = 300;
const AROUND_MIN_ZOOM = 5; // below, the view's own tiles (seen at start) cover it
const VIEW_TILES = 64;

// The query point and its results, padded: at every zoom from AROUND_MIN_ZOOM where
// that box takes a few tiles, each of the map's own tile sources; once the map has
// drawn (its own requests first). <html data-offline-around> counts the rounds
// stored (the browser test waits for it).
async function storeAround(wgs) {
  const ws = window.__waystation;
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!ws || !ws.map || !worker) return;
  await new Promise((resolve) => {
    ws.map.once('idle', resolve);
    ws.map.triggerRepaint();
    setTimeout(resolve, 10_000);
  });
  // In the map's frame (GCJ-02 on an Amap basemap), which its tiles are drawn in.
  const toDisplay = (ws.state.conv && ws.state.conv.toDisplay) || ((p) => p);
  const pts = [wgs, ...(ws.state.results || []).map((f) => f.geometry.coordinates)].map(toDisplay);
  const lons = pts.map((p) => p[0]);
  const lats = pts.map((p) => p[1]);
  const pad = 0.01;
  const box = [Math.min(...lons) - pad, Math.min(...lats) - pad, Math.max(...lons) + pad, Math.max(...lats) + pad];
  const urls = [];
  for (let z = AROUND_MIN_ZOOM; z <= 22 && urls.length < AROUND_MAX; z++) urls.push(...tileUrls(box, z, AROUND_PER_ZOOM));
  if (urls.length) await store(worker, urls.slice(0, AROUND_MAX));
  const root = document.documentElement.dataset;
  root.offlineAround = String(Number(root.offlineAround || 0) + 1);
}

// Tile URLs of the box [w, s, e, n] (in the map's display frame, which our tiles
// are drawn in: WGS-84, or GCJ-02 with `?crs=gcj02`) at zoom z, for each of the map's vector sources served here; none for a
// source where that takes more than `limit` tiles or z is outside its zooms.
function tileUrls(box, z, limit) {
  const map = window.__waystation && window.__waystation.map;
  if (!map) return [];
  const out = [];
  for (const id of Object.keys(map.getStyle().sources)) {
    const src = map.getSource(id);
    const tpl = src && src.type === 'vector' && Array.isArray(src.tiles) ? src.tiles[0] : '';
    if (!tpl.startsWith(`${location.origin}/tiles/`)) continue;
    if (z < (src.minzoom ?? 0) || z > (src.maxzoom ?? 22)) continue;
    const [x0, y0] = tileXY(box[0], box[3], z);
    const [x1, y1] = tileXY(box[2], box[1], z);
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > limit) continue;
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) out.push(tpl.replace('{z}', z).replace('{x}', x).replace('{y}', y));
    }
  }
  return out;
}

// The Web-Mercator tile holding lon/lat at zoom z.
function tileXY(lon, lat, z) {
  const n = 2 ** z;
  const clamp = (v) => Math.min(n - 1, Math.max(0, Math.floor(v)));
  const r = (Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180;
  return [clamp(((lon + 180) / 360) * n), clamp(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}
