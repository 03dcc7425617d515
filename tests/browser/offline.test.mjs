// Browser tests of the installable phone app (web/manifest.webmanifest, web/sw.js,
// web/offline.js) in headless Debian Chromium, with Chromium's offline emulation.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/offline.test.mjs
//
// The server must already be running on the bundled data. Screenshots go to
// target/screenshots/ at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BASE, READY_TIMEOUT, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

// Provoked on purpose, and logged by Chromium: offline, a query with no stored
// answer gets the service worker's 503; test 3's requests without a valid token
// get the server's 401.
const session = new Session((url, text) => (url.includes(`lon=${UNSTORED.longitude}`) && /status of 503/.test(text))
  || (/\/api\/v1\/(features|whoami)$/.test(url) && /status of 40[15]/.test(text)));

const BEIJING = { latitude: 39.9042, longitude: 116.4074 };
// A point asked for the first time while offline: nothing stored for it.
const UNSTORED = { longitude: 113.2644, latitude: 23.1291 };
const OLD_CACHE = 'waystation-shell-v0-old';

before(() => session.start());
after(() => session.close());

// Waits until the map has finished drawing (forces one frame so 'idle' fires).
async function idle(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__waystation.map;
    m.once('idle', () => r());
    m.triggerRepaint();
  }));
}

// Reads the results list as shown.
async function shownIds(page) {
  return page.$$eval('#results .result', (lis) => lis.map((li) => li.dataset.id));
}

// Polls `fn` in the page (it may return a promise) until it gives a truthy value.
async function until(page, fn, arg, what, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await page.evaluate(fn, arg);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(200);
  }
}

// The bytes of a PNG's IHDR: [width, height].
function pngSize(buf) {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

// 1. Proves the app starts without a network: after a nearest query online, an offline reload still draws the
//    map with its layers, lists the same results at the same position and says "离线 · HH:MM 的结果" with the time
//    the answer was stored (and in English after the switch); a new query with nothing stored says why; back
//    online the banner goes and the results are asked again. Also: old versioned caches are deleted on activate.
test('1. offline start shows the last results and their time', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('offline', {
    viewport: { width: 360, height: 740 },
    isMobile: true,
    hasTouch: true,
    geolocation: BEIJING,
    permissions: ['geolocation'],
  });
  // A cache of an older release, made before the worker installs: activate must delete it.
  await context.addInitScript((name) => {
    if (navigator.serviceWorker && !navigator.serviceWorker.controller) caches.open(name);
  }, OLD_CACHE);
  const page = await session.openMap(context);

  // The worker controls the page and holds what the first visit loaded.
  await page.waitForFunction(() => navigator.serviceWorker.controller && document.documentElement.dataset.offlineReady === 'true',
    null, { timeout: READY_TIMEOUT });
  const cacheNames = await page.evaluate(() => caches.keys());
  assert.ok(!cacheNames.includes(OLD_CACHE), `old cache deleted on activate (${cacheNames})`);
  assert.equal(cacheNames.filter((n) => n.startsWith('waystation-')).length, 2, `a shell and a data cache (${cacheNames})`);
  assert.equal(await page.locator('#offline-banner').isVisible(), false, 'no offline banner online');

  // A nearest query at the phone's position, online.
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.click('#btn-near');
  const resp = await respP;
  assert.equal(resp.status(), 200);
  const nearestUrl = resp.url();
  const answer = await (await fetch(nearestUrl)).json();
  assert.ok(answer.features.length > 0, 'the API found something near Beijing');
  const ids = answer.features.map((f) => String(f.properties.id ?? f.id));
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, ids.length);
  assert.deepEqual(await shownIds(page), ids, 'online: the list is the API answer');
  assert.equal(await page.locator('#offline-banner').isVisible(), false, 'no offline banner for a fresh answer');
  // The tiles around it are stored (when the map draws vector tiles; one round either way).
  await page.waitForFunction(() => Number(document.documentElement.dataset.offlineAround || 0) >= 1, null, { timeout: 30_000 });

  // The answer is stored, with the time it was made; the banner must show that time.
  const storedAt = await until(page, async (u) => {
    const r = await caches.match(u);
    const at = r && r.headers.get('X-Waystation-Cached-At');
    if (!at) return null;
    const d = new Date(at);
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  }, nearestUrl, 'the nearest answer in the cache');

  // Offline, reloaded: the app shell, the map, the layers and the last results. The
  // browser's HTTP cache is emptied first (the nearest answer may be kept there for
  // 30 s): what the page gets must come from the service worker's cache.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.clearBrowserCache');
  await cdp.detach();
  await context.setOffline(true);
  const storedP = page.waitForResponse((r) => r.url() === nearestUrl);
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  assert.equal(await page.evaluate(() => navigator.onLine), false, 'the browser is offline');
  assert.ok(await page.locator('#map canvas.maplibregl-canvas').isVisible(), 'the map is drawn offline');
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, ids.length, { timeout: 15_000 });
  assert.deepEqual(await shownIds(page), ids, 'offline: the last results, in the same order');
  await page.waitForTimeout(700); // the fit to the results
  await idle(page);
  const drawn = await page.evaluate(() => {
    const ws = window.__waystation;
    return Object.values(ws.layerIds).flat().reduce((n, id) => n + ws.map.queryRenderedFeatures({ layers: [id] }).length, 0);
  });
  assert.ok(drawn > 0, 'the layers around the results are drawn from the stored data');
  const stored = await storedP;
  assert.ok(stored.fromServiceWorker(), 'answered by the service worker');
  assert.ok(stored.headers()['x-waystation-cached-at'], 'from its cache, with the time it was made');
  assert.ok(await page.locator('#results').isVisible(), 'the results list is on screen');
  assert.equal(await page.locator('.me-marker').count(), 1, 'the last position is marked as "me" again');
  const banner = page.locator('#offline-banner');
  await banner.waitFor({ state: 'visible' });
  assert.equal((await banner.textContent()).trim(), `离线 · ${storedAt} 的结果`);

  await page.screenshot({ path: path.join(SHOTS, 'offline.png') });

  // Closer than the map was ever shown online, at the first result: the tiles around the results were stored
  // too (with GeoJSON layers instead of tiles, the stored layer data draws this anyway).
  const closer = await page.evaluate((c) => {
    const m = window.__waystation.map;
    const z = Math.min(Math.floor(m.getZoom()) + 2, 16);
    m.jumpTo({ center: window.__waystation.state.conv.toDisplay(c), zoom: z });
    return z;
  }, answer.features[0].geometry.coordinates);
  await idle(page);
  const drawnCloser = await page.evaluate(() => {
    const ws = window.__waystation;
    return Object.values(ws.layerIds).flat().reduce((n, id) => n + ws.map.queryRenderedFeatures({ layers: [id] }).length, 0);
  });
  assert.ok(drawnCloser > 0, `offline at zoom ${closer}, never shown online, the first result's layer is drawn`);

  await page.evaluate(() => window.__waystation.setLang('en'));
  assert.equal((await banner.textContent()).trim(), `Offline · results from ${storedAt}`);
  await page.evaluate(() => window.__waystation.setLang('zh'));

  // A point never asked before: nothing stored, and the status says so.
  await page.evaluate(([lon, lat]) => window.__waystation.nearest(lon, lat), [UNSTORED.longitude, UNSTORED.latitude]);
  await page.waitForFunction(() => /离线/.test(document.getElementById('status').textContent), null, { timeout: 15_000 });
  assert.equal(await page.locator('#results .result').count(), 0, 'no results for it');
  await page.waitForFunction(() => document.getElementById('offline-banner').textContent === '离线', null, { timeout: 5_000 });
  assert.ok(await banner.isVisible(), 'still offline, and no time: no results are shown');

  // Back online: the banner goes, and the last query is asked again, from the network this time.
  const freshP = page.waitForResponse((r) => r.url().includes(`lon=${UNSTORED.longitude}`) && r.status() === 200);
  await context.setOffline(false);
  await banner.waitFor({ state: 'hidden' });
  const fresh = await freshP;
  assert.equal(fresh.headers()['x-waystation-cached-at'], undefined, 'answered by the network');
  await page.waitForFunction(() => document.querySelectorAll('#results .result').length > 0, null, { timeout: 15_000 });
  assert.equal(await banner.isVisible(), false, 'online again: no banner after the fresh answer');
  await context.close();
});

// 2. Proves the manifest is served as application/manifest+json, is valid JSON with the fields an install needs,
//    its icons are PNGs of the sizes it says, the page links it, Chromium parses it without an error and finds
//    nothing against installing the app (but the test's incognito profile), and sw.js is JavaScript that
//    revalidates.
test('2. manifest, icons and service worker script', { timeout: TEST_TIMEOUT }, async () => {
  const r = await fetch(`${BASE}/manifest.webmanifest`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^application\/manifest\+json/);
  const m = JSON.parse(await r.text());
  assert.equal(m.name.startsWith('驿站地图'), true, 'name');
  assert.equal(m.short_name, '驿站地图');
  assert.equal(m.start_url, '/');
  assert.equal(m.scope, '/');
  assert.equal(m.display, 'standalone');
  assert.match(m.theme_color, /^#[0-9a-f]{6}$/i);
  assert.match(m.background_color, /^#[0-9a-f]{6}$/i);
  const html = await (await fetch(`${BASE}/`)).text();
  assert.ok(html.includes(`<meta name="theme-color" content="${m.theme_color}">`), 'the page and the manifest have one theme colour');
  assert.ok(html.includes('<link rel="manifest" href="manifest.webmanifest">'), 'the page links the manifest');
  const apple = /<link rel="apple-touch-icon" href="([^"]+)">/.exec(html);
  assert.ok(apple, 'the page names an apple-touch-icon');
  const icons = [...m.icons, { src: new URL(apple[1], `${BASE}/`).pathname, sizes: '180x180', purpose: 'any' }];
  const purposes = new Set();
  for (const icon of icons) {
    const ir = await fetch(new URL(icon.src, `${BASE}/`));
    assert.equal(ir.status, 200, `${icon.src} is served`);
    assert.equal(ir.headers.get('content-type'), 'image/png', `${icon.src} is a PNG`);
    const [w, h] = pngSize(Buffer.from(await ir.arrayBuffer()));
    assert.equal(`${w}x${h}`, icon.sizes, `${icon.src} is ${icon.sizes}`);
    for (const p of (icon.purpose || 'any').split(' ')) purposes.add(`${p}:${icon.sizes}`);
  }
  for (const need of ['any:192x192', 'any:512x512', 'maskable:512x512']) assert.ok(purposes.has(need), `an icon ${need}`);

  // Chromium's own reading of the manifest, and its installability checks.
  const context = await session.newContext('install', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await session.openMap(context);
  await page.waitForFunction(() => navigator.serviceWorker.controller && document.documentElement.dataset.offlineReady === 'true',
    null, { timeout: READY_TIMEOUT });
  const cdp = await context.newCDPSession(page);
  const parsed = await cdp.send('Page.getAppManifest');
  assert.equal(parsed.url, `${BASE}/manifest.webmanifest`);
  assert.deepEqual(parsed.errors, [], 'Chromium reads the manifest without an error');
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors.filter((e) => e.errorId !== 'in-incognito'), [], 'installable');
  await context.close();

  const sw = await fetch(`${BASE}/sw.js`);
  assert.equal(sw.status, 200);
  assert.match(sw.headers.get('content-type') || '', /^(text|application)\/javascript/);
  assert.equal(sw.headers.get('cache-control'), 'no-cache', 'a new worker is seen at once');
  const csp = (await fetch(`${BASE}/`)).headers.get('content-security-policy') || '';
  assert.match(csp, /worker-src 'self'/, 'the CSP allows our worker');
  assert.ok(!/manifest-src/.test(csp) && /default-src 'self'/.test(csp), 'the manifest falls back to default-src \'self\'');
});

// 3. Proves the worker stores nothing of the editor: requests with an Authorization header, POSTs and the admin
//    pages' requests are not in any cache, and every cached URL is one of ours.
test('3. editor requests, POSTs and authorised requests are never stored', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('sw-private', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context);
  await page.waitForFunction(() => navigator.serviceWorker.controller && document.documentElement.dataset.offlineReady === 'true',
    null, { timeout: READY_TIMEOUT });
  const probe = '/api/v1/nearest?lon=121.4737&lat=31.2304&k=3&layers=courier_station';
  const stored = await page.evaluate(async (u) => {
    await fetch(u, { headers: { Authorization: 'Bearer not-a-token' } });
    await fetch('/api/v1/features', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' }).catch(() => null);
    await fetch('/api/v1/whoami', { headers: { Authorization: 'Bearer not-a-token' } }).catch(() => null);
    await new Promise((r) => setTimeout(r, 1000));
    return Boolean(await caches.match(u));
  }, probe);
  assert.equal(stored, false, 'an answer to an authorised request is not stored');
  // The same query without credentials is stored: the check above can fail.
  await page.evaluate((u) => fetch(u), probe);
  await until(page, async (u) => Boolean(await caches.match(u)), probe, 'the public answer in the cache');

  // Our own vector tiles, when this server has them (/tiles/…): a tile the page asks for is stored.
  const tilejson = await fetch(`${BASE}/tiles/driver_home.json`);
  if (tilejson.status === 200) {
    const template = (await tilejson.json()).tiles[0];
    const tile = new URL(template.replace('{z}', '4').replace('{x}', '13').replace('{y}', '6'), `${BASE}/`).pathname; // Beijing
    assert.equal(await page.evaluate(async (u) => (await fetch(u)).status, tile), 200, `${tile} is served`);
    await until(page, async (u) => Boolean(await caches.match(u)), tile, 'a vector tile in the cache');
  }

  // The editor's page, in the worker's scope, is not served from or stored in the cache.
  const admin = await context.newPage();
  await admin.goto(`${BASE}/admin.html`, { waitUntil: 'load' });
  await admin.waitForTimeout(500);
  const keys = await page.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) {
      for (const req of await (await caches.open(name)).keys()) out.push(new URL(req.url).pathname);
    }
    return out;
  });
  assert.ok(keys.length > 10, `the caches hold the shell and data (${keys.length})`);
  const allowed = /^\/($|index\.html$|[a-z0-9]+\.js$|(base|style)\.css$|manifest\.webmanifest$|icons\/|vendor\/maplibre-gl\/|api\/v1\/(config|layers(\/[^/]+)?|places|nearest|features\/[^/]+)$|tiles\/)/;
  assert.deepEqual(keys.filter((k) => !allowed.test(k) || /admin|whoami/.test(k)), [], 'only the public shell and data are stored');
  await context.close();
});

// 3b. Proves a new release shows on the first start after it, not the second: the worker answers the page from
//     its cache (here an older release's page, planted in the shell cache), sees the network's differs, and the
//     page offers "新版本已就绪 · 重新加载" (in English after the switch); its button starts the new release.
test('3b. a new release is offered at once, not on the second start', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('update', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await session.openMap(context);
  await page.waitForFunction(() => navigator.serviceWorker.controller && document.documentElement.dataset.offlineReady === 'true',
    null, { timeout: READY_TIMEOUT });
  assert.equal(await page.locator('#update-banner').count(), 0, 'no update offered while the release is current');

  // The previous release's page in the shell cache: other bytes, an older Last-Modified.
  await page.evaluate(async () => {
    const shell = (await caches.keys()).find((n) => n.startsWith('waystation-shell-'));
    const cache = await caches.open(shell);
    const current = await cache.match('/');
    const html = (await current.text()).replace('<head>', '<head><meta name="waystation-release" content="old">');
    const headers = new Headers(current.headers);
    headers.set('Last-Modified', 'Mon, 01 Jan 2024 00:00:00 GMT');
    headers.delete('etag');
    headers.delete('content-length');
    await cache.put('/', new Response(html, { status: 200, headers }));
  });
  await page.reload({ waitUntil: 'load' });
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  assert.equal(await page.locator('meta[name="waystation-release"]').count(), 1, 'the start was answered from the cache (the old release)');
  const strip = page.locator('#update-banner');
  await strip.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await strip.innerText(), /新版本已就绪[\s\S]*重新加载/);
  const box = await strip.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 360, `the strip fits the 360 px screen (${JSON.stringify(box)})`);
  await page.screenshot({ path: path.join(SHOTS, 'offline-update-offered.png') });
  await page.click('#btn-lang');
  await page.waitForFunction(() => /A new version is ready[\s\S]*Reload/.test(document.getElementById('update-banner').innerText));

  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), strip.locator('button').click()]);
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  assert.equal(await page.locator('meta[name="waystation-release"]').count(), 0, 'the reload runs the new release');
  await page.waitForTimeout(1500); // the refresh behind this start finds nothing new
  assert.equal(await page.locator('#update-banner').count(), 0, 'nothing more to offer once current');
  await context.close();
});

// 4. Proves no request of the whole session went to any host but this machine.
test('4. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 5. Proves no console error or uncaught exception happened on any page of the session.
test('5. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
