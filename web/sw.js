// The map's service worker: the installable phone app works without a network.
//
// What it keeps, and how it answers (only GETs of this origin from the public map;
// everything else goes to the network untouched):
//
// 1. The app shell (SHELL_FILES: the page, its modules, styles, the vendored
//    MapLibre and the icons) is stored on install and answered
//    stale-while-revalidate: from the cache at once, refreshed in the background.
//    When the refreshed file differs from the one answered, the open pages are
//    told ('waystation-update'), and the page offers to reload now (offline.js):
//    a new release no longer waits for the second start.
// 2. The data the map shows (DATA_PATTERNS: config, layer list, every layer's
//    features, city names, nearest answers, feature cards, and our own vector
//    tiles if the map draws from them) is answered network first, and each good
//    answer is stored with the time it was made (X-Waystation-Cached-At).
//    Without a network the stored answer is returned as is; the page shows
//    "离线 · 14:05 的结果" from that header (offline.js). A nearest query that hangs
//    (NEAREST_TIMEOUT_MS) gets the stored answer too. Nearest answers, feature
//    cards and tiles are kept for the last few only.
// 3. Never touched: the editor's pages and their requests (/admin*), requests
//    with an Authorization header, any method but GET, other hosts (basemap
//    tiles), and everything not listed here (analyses, search, exports).
//
// Cache names carry a version; activate deletes every other waystation cache. The
// shell's version changes with a release that changes the shell's file list; the
// data cache's only with the format of what it stores, so the last answers
// survive an update.
//
// The page sends URLs to store with a 'waystation-seed' message: the answers it
// loaded before this worker controlled it (the first visit; fetched again, a 304
// from the HTTP cache for most), and the tiles around the last nearest answer
// (offline.js); the reply says how many were stored.

const SHELL_CACHE = 'waystation-shell-v1';
const DATA_CACHE = 'waystation-data-v1';
const CACHED_AT = 'X-Waystation-Cached-At';
const NEAREST_TIMEOUT_MS = 8000;

const SHELL_FILES = [
  '/', // also answers /index.html
  '/app.js',
  '/common.js',
  '/coords.js',
  '/i18n.js',
  '/planner.js',
  '/along.js',
  '/search.js',
  '/offline.js',
  '/base.css',
  '/style.css',
  '/vendor/maplibre-gl/maplibre-gl.js',
  '/vendor/maplibre-gl/maplibre-gl.css',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/maskable-512.png',
  '/icons/apple-touch-icon.png',
];
const SHELL_SET = new Set(SHELL_FILES);

// Data answers worth keeping offline, and how many of each kind (0: no limit).
const DATA_PATTERNS = [
  { kind: 'config', re: /^\/api\/v1\/config$/, keep: 0 },
  { kind: 'layers', re: /^\/api\/v1\/layers(\/[^/]+)?$/, keep: 0 },
  { kind: 'places', re: /^\/api\/v1\/places$/, keep: 0 },
  { kind: 'nearest', re: /^\/api\/v1\/nearest$/, keep: 20 },
  { kind: 'feature', re: /^\/api\/v1\/features\/[^/]+$/, keep: 100 },
  // Our own vector tiles (src/http/tiles.rs), for a map that draws from them: the
  // tiles around the last positions seen.
  { kind: 'tilejson', re: /^\/tiles\/[^/]+\.json$/, keep: 0 },
  { kind: 'tile', re: /^\/tiles\/[^/]+\/\d+\/\d+\/\d+(\.mvt)?$/, keep: 1500 },
];

function dataKind(pathname) {
  return DATA_PATTERNS.find((p) => p.re.test(pathname)) || null;
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const shell = await caches.open(SHELL_CACHE);
    await shell.addAll(SHELL_FILES.map((u) => new Request(u, { cache: 'no-cache' })));
    // The basemap's description, so an offline start draws the same map. Not fatal:
    // the page falls back to the plain background.
    const data = await caches.open(DATA_CACHE);
    try {
      const r = await fetch('/api/v1/config', { cache: 'no-cache' });
      if (r.ok) await data.put('/api/v1/config', await stamped(r));
    } catch { /* offline while installing: stored on the first online start */ }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL_CACHE, DATA_CACHE]);
    for (const name of await caches.keys()) {
      if (name.startsWith('waystation-') && !keep.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || req.headers.has('Authorization')) return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  // The editor's pages and whatever they ask for go to the network, always.
  if (url.pathname.startsWith('/admin') || refererPath(req).startsWith('/admin')) return;

  if (req.mode === 'navigate') {
    if (url.pathname === '/' || url.pathname === '/index.html') {
      event.respondWith(staleWhileRevalidate(event, req, url.pathname));
    }
    return;
  }
  if (SHELL_SET.has(url.pathname) && !url.search) {
    event.respondWith(staleWhileRevalidate(event, req, url.pathname));
    return;
  }
  const kind = dataKind(url.pathname);
  if (kind) event.respondWith(networkFirst(event, req, kind));
});

self.addEventListener('message', (event) => {
  const msg = event.data || {};
  if (msg.type !== 'waystation-seed' || !Array.isArray(msg.urls)) return;
  const reply = event.ports && event.ports[0];
  event.waitUntil((async () => {
    let stored = 0;
    for (const u of msg.urls.slice(0, 200)) {
      let url;
      try { url = new URL(String(u), self.location.origin); } catch { continue; }
      const kind = url.origin === self.location.origin ? dataKind(url.pathname) : null;
      if (!kind) continue;
      try {
        const r = await fetch(url.href);
        if (r.ok) { await store(kind, url.href, r); stored += 1; }
      } catch { /* offline again: nothing to store */ }
    }
    if (reply) reply.postMessage({ type: 'waystation-seeded', stored });
  })());
});

function refererPath(req) {
  try { return req.referrer ? new URL(req.referrer).pathname : ''; } catch { return ''; }
}

// ---- the shell: cached at once, refreshed behind

async function staleWhileRevalidate(event, req, path) {
  const key = path === '/index.html' ? '/' : path; // one page, one entry
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(key);
  const network = fetch(req).then(async (r) => {
    if (r.ok && r.type === 'basic' && !r.redirected) {
      // The page was answered from `cached`: a different file from the network is
      // a new release it is not running yet. Say so (the page offers a reload).
      // `cached` went to the page (its body is read): compare a fresh copy of it.
      const stored = cached ? await cache.match(key) : undefined;
      const changed = stored ? await differs(stored, r.clone()) : false;
      await cache.put(key, r.clone());
      if (changed) await announceUpdate(event, key);
    }
    return r;
  });
  if (cached) {
    event.waitUntil(network.catch(() => undefined));
    return cached;
  }
  return network;
}

// Whether two answers for one shell file differ: equal validators (ETag, else
// Last-Modified and length) say no at once; otherwise the bytes decide (a file
// only touched, or served by another instance, is not a new release).
async function differs(a, b) {
  const etag = (r) => r.headers.get('etag');
  if (etag(a) && etag(a) === etag(b)) return false;
  const stamp = (r) => `${r.headers.get('last-modified')} ${r.headers.get('content-length')}`;
  if (!etag(a) && a.headers.get('last-modified') && stamp(a) === stamp(b)) return false;
  const [x, y] = await Promise.all([a.arrayBuffer(), b.arrayBuffer()]);
  if (x.byteLength !== y.byteLength) return true;
  const u = new Uint8Array(x);
  const v = new Uint8Array(y);
  for (let i = 0; i < u.length; i++) if (u[i] !== v[i]) return true;
  return false;
}

// Tells every open map page that the shell changed under it (several files of one
// release change together: one message per file, the page shows one notice).
// The page a navigation is loading may not exist yet when the network answers
// (matchAll does not list it): wait for it by its id, a few seconds at most.
async function announceUpdate(event, path) {
  const msg = { type: 'waystation-update', path };
  const told = new Set();
  for (const client of await self.clients.matchAll({ type: 'window' })) {
    client.postMessage(msg);
    told.add(client.id);
  }
  const id = event.resultingClientId || event.clientId;
  if (!id || told.has(id)) return;
  for (let waited = 0; waited < 10_000; waited += 100) {
    const client = await self.clients.get(id);
    if (client) { client.postMessage(msg); return; }
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the data: the network's answer, else the stored one with its time

async function networkFirst(event, req, kind) {
  const cache = await caches.open(DATA_CACHE);
  const network = fetch(req);
  network.catch(() => undefined); // handled below; not an unhandled rejection meanwhile
  let r;
  try {
    if (kind.kind === 'nearest') {
      const hit = await cache.match(req.url, { ignoreVary: true });
      r = hit ? await Promise.race([network, timeout(NEAREST_TIMEOUT_MS)]) : await network;
      if (!r) {
        // Slow network: the stored answer now, and the network's kept when it comes.
        event.waitUntil(network.then((n) => (n.ok ? store(kind, req.url, n) : undefined)).catch(() => undefined));
        event.waitUntil(notify(event, false, hit));
        return hit;
      }
    } else {
      r = await network;
    }
  } catch {
    const hit = await cache.match(req.url, { ignoreVary: true });
    event.waitUntil(notify(event, false, hit));
    if (hit) return hit;
    // A tile never seen: an empty one (the banner says the map is offline), not an
    // error per tile.
    return kind.kind === 'tile' ? new Response(null, { status: 204 }) : offlineProblem(req.url);
  }
  if (r.ok) event.waitUntil(store(kind, req.url, r.clone()));
  event.waitUntil(notify(event, true, null));
  return r;
}

function timeout(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

// A copy of the answer with the time it was made: its Date header (an answer from
// the browser's HTTP cache is older than its fetch), else now. The transfer
// headers of the original (encoding, length, vary) do not describe the stored body.
async function stamped(r) {
  const headers = new Headers(r.headers);
  for (const h of ['content-encoding', 'content-length', 'vary', 'content-security-policy']) headers.delete(h);
  const date = Date.parse(r.headers.get('date') || '');
  headers.set(CACHED_AT, new Date(Number.isFinite(date) ? date : Date.now()).toISOString());
  const body = [204, 205].includes(r.status) ? null : await r.blob(); // an empty tile is a 204
  return new Response(body, { status: r.status, statusText: r.statusText, headers });
}

async function store(kind, key, r) {
  const cache = await caches.open(DATA_CACHE);
  await cache.delete(key, { ignoreVary: true }); // re-put: the newest goes last
  await cache.put(key, await stamped(r));
  if (!kind.keep) return;
  const same = (await cache.keys()).filter((k) => kind.re.test(new URL(k.url).pathname));
  for (const k of same.slice(0, Math.max(0, same.length - kind.keep))) await cache.delete(k);
}

function offlineProblem(url) {
  const body = {
    type: 'about:blank',
    title: 'Offline',
    status: 503,
    detail: '离线，且没有保存这次查询的结果 / offline, and no stored answer for this request',
    instance: new URL(url).pathname,
  };
  return new Response(JSON.stringify(body), {
    status: 503,
    statusText: 'Service Unavailable',
    headers: { 'Content-Type': 'application/problem+json' },
  });
}

// Tells the page whether its data came from the network (online) or the cache,
// and from when.
async function notify(event, online, hit) {
  const id = event.clientId || event.resultingClientId;
  if (!id) return;
  const client = await self.clients.get(id);
  if (!client) return;
  const at = hit ? hit.headers.get(CACHED_AT) : null;
  client.postMessage({ type: 'waystation-net', online, at, url: event.request.url });
}
