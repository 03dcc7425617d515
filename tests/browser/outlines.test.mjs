// Park outlines drawn from the vector tiles (layer park_area), on a WGS-84 and on
// a GCJ-02 basemap, in headless Debian Chromium.
//
//   node tests/browser/outlines.test.mjs
//
// The bundled data has no park polygons, so this makes a data set that has some:
// geodata/ with its first 30 synthetic parks given an octagon of 300 m radius
// around their point (in target/outlines-data), served read-only with
// target/release/waystation on a free port. The GCJ-02 basemap is the page's
// /api/v1/config answered with an Amap-like basemap without raster sources.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { wgs84ToGcj02 } from '../../web/coords.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'target', 'screenshots');
const DIR = path.join(ROOT, 'target', 'outlines-data');
const RADIUS_M = 300;

let base = '';
let server = null;
let browser = null;
let parks = []; // [{ id, center: [lon, lat] }] with an outline

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

function octagon([lon, lat]) {
  const ring = [];
  for (let k = 0; k < 8; k++) {
    const a = (k / 8) * 2 * Math.PI;
    ring.push([lon + (RADIUS_M / (111_320 * Math.cos((lat * Math.PI) / 180))) * Math.cos(a), lat + (RADIUS_M / 110_540) * Math.sin(a)]);
  }
  ring.push(ring[0]);
  return ring;
}

function makeData() {
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });
  const src = path.join(ROOT, 'geodata');
  for (const f of fs.readdirSync(src)) {
    if (f.endsWith('.geojson') || f === 'holidays_cn.json') fs.copyFileSync(path.join(src, f), path.join(DIR, f));
  }
  const file = path.join(DIR, 'park.synthetic.geojson');
  const fc = JSON.parse(fs.readFileSync(file, 'utf8'));
  for (const f of fc.features.slice(0, 30)) {
    const center = f.geometry.coordinates;
    f.geometry = { type: 'Polygon', coordinates: [octagon(center)] };
    parks.push({ id: f.properties.id ?? f.id, center });
  }
  fs.writeFileSync(file, JSON.stringify(fc));
}

before(async () => {
  const bin = path.join(ROOT, 'target', 'release', 'waystation');
  assert.ok(fs.existsSync(bin), 'cargo build --release first');
  makeData();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['serve', '--data', DIR, '--bind', `127.0.0.1:${port}`, '--web', path.join(ROOT, 'web')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const st = await fetch(`${base}/readyz`).then((r) => r.status).catch(() => 0);
    if (st === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
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

for (const crs of ['wgs84', 'gcj02']) {
  test(`park outlines come from the tiles and sit at the park (${crs} basemap)`, { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN', serviceWorkers: 'block' });
    if (crs === 'gcj02') {
      await context.route('**/api/v1/config', async (route) => {
        const res = await route.fetch();
        const config = await res.json();
        config.basemap = { kind: 'amap', crs: 'gcj02', sources: [] };
        await route.fulfill({ response: res, json: config });
      });
    }
    const tileUrls = [];
    context.on('request', (r) => { if (r.url().includes('/tiles/park/')) tileUrls.push(r.url()); });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.goto(`${base}/`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: 60_000 });
    const wiring = await page.evaluate(() => {
      const m = window.__waystation.map;
      const l = m.getLayer('park-areas');
      const o = m.getLayer('park-outline');
      return l && o && { source: l.source, sourceLayer: l.sourceLayer, outline: o.sourceLayer, type: m.getSource(l.source).type };
    });
    assert.deepEqual(wiring, { source: 'ws-park', sourceLayer: 'park_area', outline: 'park_area', type: 'vector' }, 'outlines from the tiles');

    const shift = (c) => (crs === 'gcj02' ? wgs84ToGcj02(c[0], c[1]) : c);
    let checked = 0;
    let shifted = 0;
    for (const p of parks.slice(0, 8)) {
      const here = shift(p.center);
      await page.evaluate((c) => window.__waystation.map.jumpTo({ center: c, zoom: 15 }), here);
      await page.evaluate(() => new Promise((r) => { const m = window.__waystation.map; m.once('idle', r); m.triggerRepaint(); }));
      const seen = await page.evaluate(({ id, here, other }) => {
        const m = window.__waystation.map;
        const at = (c) => m.queryRenderedFeatures(m.project(c), { layers: ['park-areas'] }).some((f) => f.properties.id === id);
        const lines = m.queryRenderedFeatures({ layers: ['park-outline'] }).filter((f) => f.properties.id === id).length;
        return { atPark: at(here), atOther: other ? at(other) : false, lines };
      }, { id: p.id, here, other: crs === 'gcj02' ? p.center : null });
      assert.ok(seen.atPark, `${p.id}: its outline covers its ${crs} position`);
      assert.ok(seen.lines > 0, `${p.id}: its outline is stroked`);
      // 300 m around the GCJ-02 position: the unshifted one, where the shift is
      // longer than that (100 to 700 m in China), is outside.
      const shiftM = Math.hypot((here[0] - p.center[0]) * 111_320 * Math.cos((p.center[1] * Math.PI) / 180), (here[1] - p.center[1]) * 110_540);
      if (crs === 'gcj02' && shiftM > 1.2 * RADIUS_M) {
        assert.ok(!seen.atOther, `${p.id}: the outline is not drawn at the unshifted position (${shiftM.toFixed(0)} m away)`);
        shifted += 1;
      }
      checked += 1;
    }
    assert.equal(checked, 8);
    if (crs === 'gcj02') assert.ok(shifted >= 2, `${shifted} parks shifted by more than their radius`);
    const mvt = tileUrls.filter((u) => u.includes('.mvt'));
    assert.ok(mvt.length > 0, 'park tiles were asked for');
    if (crs === 'gcj02') assert.ok(mvt.every((u) => new URL(u).searchParams.get('crs') === 'gcj02'), 'in GCJ-02');
    await page.screenshot({ path: path.join(SHOTS, `outlines-${crs}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  });
}
