// The web map on 1,000,000 generated facilities, drawn from vector tiles, on a
// 360×740 phone screen in headless Debian Chromium: the bytes transferred before
// the first draw (≤ 2 MB) and the time to it (≤ 3 s), then a click on a point
// that opens its full detail from /api/v1/features/{id}.
//
//   WAYSTATION_TILES_URL=http://127.0.0.1:8090 node tests/browser/tiles.test.mjs
//
// Without WAYSTATION_TILES_URL it makes the set itself (`waystation gen
// --facilities 1000000 --parks 1000 --seed 42` into target/tiles-1m, once) and
// serves it read-only with target/release/waystation on a free port.
// The figures go to target/tiles-browser.json.
//
// The second test draws the same set on a GCJ-02 basemap (Amap, Tencent): the
// page's /api/v1/config is answered with an Amap-like basemap whose crs is gcj02
// and which has no raster source (so nothing outside is fetched, and the bytes
// counted are ours). The page must draw from GCJ-02 tiles (?crs=gcj02) within the
// same budget, with each point where the shifted position is, and open the
// WGS-84 detail on a click. Its figures go to target/tiles-browser-gcj02.json.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { wgs84ToGcj02 } from '../../web/coords.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'target', 'screenshots');
const MAX_BYTES = 2 * 1024 * 1024;
const MAX_FIRST_DRAW_MS = 3000;
const FACILITIES = 1_000_000;
const PAGE_DATA_MAX = 20000; // web/app.js: layers above this are never page data

let base = (process.env.WAYSTATION_TILES_URL || '').replace(/\/+$/, '');
let server = null;
let browser = null;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function waitReady(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const st = await fetch(`${url}/readyz`).then((r) => r.status).catch(() => 0);
    if (st === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${ms} ms`);
}

before(async () => {
  if (!base) {
    const bin = path.join(ROOT, 'target', 'release', 'waystation');
    assert.ok(fs.existsSync(bin), 'cargo build --release first');
    const dir = path.join(ROOT, 'target', 'tiles-1m');
    if (!fs.existsSync(path.join(dir, 'park.synthetic.geojson'))) {
      const started = Date.now();
      const r = spawnSync(bin, ['gen', '--facilities', String(FACILITIES), '--parks', '1000', '--seed', '42', '--out', dir], { stdio: 'inherit' });
      assert.equal(r.status, 0, 'waystation gen');
      console.log(`# generated ${FACILITIES} facilities in ${Date.now() - started} ms`);
    }
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawn(bin, ['serve', '--data', dir, '--bind', `127.0.0.1:${port}`, '--web', path.join(ROOT, 'web')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  await waitReady(base, 180_000);
  const layers = await fetch(`${base}/api/v1/layers`).then((r) => r.json());
  const total = layers.layers.filter((l) => l.kind === 'facility').reduce((n, l) => n + l.count, 0);
  assert.ok(total >= FACILITIES, `the server holds ${total} facilities, not ${FACILITIES}`);
  fs.mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-quic',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
});

test('1,000,000 facilities draw from tiles on a phone within 2 MB and 3 s; a click opens the detail', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  // Every request the page and its workers (MapLibre fetches tiles in web workers)
  // finished; their bytes on the wire (headers and encoded bodies) as Chromium counts them.
  const finished = [];
  context.on('requestfinished', (req) => finished.push(req));
  const wireBytes = async (reqs) => {
    let n = 0;
    for (const r of reqs) {
      const s = await r.sizes();
      n += s.responseBodySize + s.responseHeadersSize;
    }
    return n;
  };
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  const started = Date.now();
  await page.goto(`${base}/`, { waitUntil: 'commit' });
  // The first draw: the app is ready once its tile sources are loaded and rendered.
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: 60_000, polling: 'raf' });
  const firstDrawMs = Date.now() - started;
  const atFirstDraw = [...finished];
  const bytesAtFirstDraw = await wireBytes(atFirstDraw);
  const urls = atFirstDraw.map((r) => r.url());
  const drawn = await page.evaluate(() => {
    const ws = window.__waystation;
    return ws.map.queryRenderedFeatures({ layers: Object.values(ws.layerIds).flat() }).length;
  });
  const tileRequests = urls.filter((u) => /\/tiles\/.*\.mvt/.test(u)).length;
  // The facility layers are far too big for GeoJSON: none may be fetched as such
  // (the park layer, 1,000 features, may come as page data for the planner).
  const geojson = urls.filter((u) => /\/api\/v1\/layers\/(driver_home|courier_station|fitness_station)/.test(u));
  await page.screenshot({ path: path.join(SHOTS, 'tiles-1m-phone.png') });
  const figures = { facilities: FACILITIES, viewport: '360x740@2x', firstDrawMs, bytesAtFirstDraw, requests: urls.length, tileRequests, drawn };
  fs.writeFileSync(path.join(ROOT, 'target', 'tiles-browser.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`# ${JSON.stringify(figures)}`);

  assert.ok(drawn > 0, 'clusters or points are drawn');
  assert.ok(tileRequests > 0, 'the map asked for tiles');
  assert.deepEqual(geojson, [], 'no facility layer is loaded as GeoJSON');
  assert.ok(bytesAtFirstDraw <= MAX_BYTES, `${bytesAtFirstDraw} bytes before the first draw (≤ ${MAX_BYTES})`);
  assert.ok(firstDrawMs <= MAX_FIRST_DRAW_MS, `first draw after ${firstDrawMs} ms (≤ ${MAX_FIRST_DRAW_MS})`);

  // Zoom into Shanghai's centre until single points are drawn, and click one.
  await page.evaluate(() => window.__waystation.map.jumpTo({ center: [121.47, 31.23], zoom: 16 }));
  await page.evaluate(() => new Promise((r) => { const m = window.__waystation.map; m.once('idle', r); m.triggerRepaint(); }));
  const target = await page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const ids = Object.values(ws.layerIds).map(([, pid]) => pid);
    const rect = m.getContainer().getBoundingClientRect();
    const feats = m.queryRenderedFeatures({ layers: ids });
    // One with no neighbour within 20 px, away from the edges.
    for (const f of feats) {
      const p = m.project(f.geometry.coordinates);
      if (p.x < 40 || p.y < 120 || p.x > rect.width - 40 || p.y > rect.height - 200) continue;
      const near = m.queryRenderedFeatures([[p.x - 20, p.y - 20], [p.x + 20, p.y + 20]], { layers: ids });
      if (near.length === 1) return { id: f.properties.id, name: f.properties.name, x: rect.left + p.x, y: rect.top + p.y };
    }
    return null;
  });
  assert.ok(target, 'a single point is drawn at zoom 16');
  const detail = page.waitForResponse((r) => r.url().endsWith(`/api/v1/features/${encodeURIComponent(target.id)}`));
  await page.mouse.click(target.x, target.y);
  assert.equal((await detail).status(), 200);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  assert.ok((await popup.textContent()).includes(target.name), 'the popup shows the clicked facility');
  await page.locator('.maplibregl-popup a.navlink').first().waitFor({ state: 'visible' });
  await page.screenshot({ path: path.join(SHOTS, 'tiles-1m-popup.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('on a GCJ-02 basemap: shifted tiles within 2 MB and 3 s; a point drawn at its GCJ-02 position opens its WGS-84 detail', { timeout: 240_000 }, async () => {
  const context = await browser.newContext({
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    serviceWorkers: 'block', // so that the config below is what the page reads
  });
  await context.route('**/api/v1/config', async (route) => {
    const res = await route.fetch();
    const config = await res.json();
    config.basemap = { kind: 'amap', crs: 'gcj02', sources: [] };
    await route.fulfill({ response: res, json: config });
  });
  const finished = [];
  context.on('requestfinished', (req) => finished.push(req));
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  const started = Date.now();
  await page.goto(`${base}/`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: 60_000, polling: 'raf' });
  const firstDrawMs = Date.now() - started;
  const atFirstDraw = [...finished];
  let bytesAtFirstDraw = 0;
  for (const r of atFirstDraw) {
    const s = await r.sizes();
    bytesAtFirstDraw += s.responseBodySize + s.responseHeadersSize;
  }
  const urls = atFirstDraw.map((r) => r.url());
  const tiles = urls.filter((u) => /\/tiles\/.*\.mvt/.test(u));
  const tilejson = urls.filter((u) => /\/tiles\/[^/]+\.json/.test(u));
  const layers = await fetch(`${base}/api/v1/layers`).then((r) => r.json());
  const big = layers.layers.filter((l) => l.count > PAGE_DATA_MAX).map((l) => l.id);
  const bigGeojson = urls.filter((u) => big.some((id) => u.includes(`/api/v1/layers/${id}`)));
  const drawn = await page.evaluate(() => {
    const ws = window.__waystation;
    return ws.map.queryRenderedFeatures({ layers: Object.values(ws.layerIds).flat() }).length;
  });
  await page.screenshot({ path: path.join(SHOTS, 'tiles-1m-gcj02-phone.png') });
  const figures = { facilities: FACILITIES, basemap_crs: 'gcj02', viewport: '360x740@2x', firstDrawMs, bytesAtFirstDraw, requests: urls.length, tileRequests: tiles.length, drawn };
  fs.writeFileSync(path.join(ROOT, 'target', 'tiles-browser-gcj02.json'), `${JSON.stringify(figures, null, 2)}\n`);
  console.log(`# ${JSON.stringify(figures)}`);

  assert.ok(tiles.length > 0 && drawn > 0, 'the map drew from tiles');
  assert.deepEqual(tiles.filter((u) => new URL(u).searchParams.get('crs') !== 'gcj02'), [], 'every tile is asked for in GCJ-02');
  assert.ok(tilejson.length > 0 && tilejson.every((u) => new URL(u).searchParams.get('crs') === 'gcj02'), 'TileJSON in GCJ-02');
  assert.deepEqual(bigGeojson, [], `no layer above ${PAGE_DATA_MAX} features is loaded as GeoJSON`);
  assert.ok(bytesAtFirstDraw <= MAX_BYTES, `${bytesAtFirstDraw} bytes before the first draw (≤ ${MAX_BYTES})`);
  assert.ok(firstDrawMs <= MAX_FIRST_DRAW_MS, `first draw after ${firstDrawMs} ms (≤ ${MAX_FIRST_DRAW_MS})`);

  // Zoom into Shanghai (display position: GCJ-02) and take an isolated point.
  const [clon, clat] = wgs84ToGcj02(121.47, 31.23);
  await page.evaluate(([lon, lat]) => window.__waystation.map.jumpTo({ center: [lon, lat], zoom: 16 }), [clon, clat]);
  await page.evaluate(() => new Promise((r) => { const m = window.__waystation.map; m.once('idle', r); m.triggerRepaint(); }));
  const target = await page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const ids = Object.values(ws.layerIds).map(([, pid]) => pid);
    const rect = m.getContainer().getBoundingClientRect();
    for (const f of m.queryRenderedFeatures({ layers: ids })) {
      const p = m.project(f.geometry.coordinates);
      if (p.x < 40 || p.y < 120 || p.x > rect.width - 40 || p.y > rect.height - 200) continue;
      const near = m.queryRenderedFeatures([[p.x - 20, p.y - 20], [p.x + 20, p.y + 20]], { layers: ids });
      if (near.length === 1) return { id: f.properties.id, name: f.properties.name, drawn: f.geometry.coordinates, x: rect.left + p.x, y: rect.top + p.y };
    }
    return null;
  });
  assert.ok(target, 'a single point is drawn at zoom 16');
  // Where it should be: its WGS-84 position from the API, shifted here.
  const api = await fetch(`${base}/api/v1/features/${encodeURIComponent(target.id)}`).then((r) => r.json());
  const [wlon, wlat] = api.geometry.coordinates;
  const [glon, glat] = wgs84ToGcj02(wlon, wlat);
  const off = await page.evaluate(([drawn, gcj, wgs]) => {
    const m = window.__waystation.map;
    const d = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);
    const at = m.project(drawn);
    return { gcj: d(at, m.project(gcj)), wgs: d(at, m.project(wgs)) };
  }, [target.drawn, [glon, glat], [wlon, wlat]]);
  assert.ok(off.gcj <= 1.5, `drawn ${off.gcj.toFixed(2)} px from its GCJ-02 position`);
  assert.ok(off.wgs > 50, `and far (${off.wgs.toFixed(0)} px) from the unshifted one`);
  const detail = page.waitForResponse((r) => r.url().endsWith(`/api/v1/features/${encodeURIComponent(target.id)}`));
  await page.mouse.click(target.x, target.y);
  assert.equal((await detail).status(), 200);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  assert.ok((await popup.textContent()).includes(target.name), 'the popup shows the clicked facility');
  // The popup stands on the drawn point (the page shifts the API's WGS-84 position).
  const popupOff = await page.evaluate((gcj) => {
    const ws = window.__waystation;
    const a = ws.map.project(ws.state.popup.getLngLat());
    const b = ws.map.project(gcj);
    return Math.hypot(a.x - b.x, a.y - b.y);
  }, [glon, glat]);
  assert.ok(popupOff <= 1.5, `the popup is ${popupOff.toFixed(2)} px from the point`);
  await page.screenshot({ path: path.join(SHOTS, 'tiles-1m-gcj02-popup.png') });
  assert.deepEqual(errors, []);
  await context.close();
});
