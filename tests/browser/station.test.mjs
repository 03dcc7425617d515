// Browser tests of a station's own page (/s/{id}), its report form and its door
// poster, in headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 [WAYSTATION_TOKEN=ws_…] node tests/browser/station.test.mjs
//
// The server must run on a database (`waystation serve --db …`): test 2 sends one
// problem report from the page's form, and the server takes at most 5 per address
// per hour, so start from a fresh database (as scripts/test.sh does). With an admin
// WAYSTATION_TOKEN the test also finds the report in the editors' list and closes it.
// Screenshots go to target/screenshots/station-*.png at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

const TOKEN = process.env.WAYSTATION_TOKEN || '';
const session = new Session();
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

// The station the tests look at: a bundled courier station open 24/7, else the
// first courier station the server has.
const station = { id: 'cs-liaocheng-devzone-service-centre', name: null, lonlat: null };

before(async () => {
  await session.start();
  let r = await fetch(`${BASE}/api/v1/features/${station.id}`);
  if (r.status !== 200) {
    const layer = await fetch(`${BASE}/api/v1/layers/courier_station?limit=1`).then((x) => x.json());
    station.id = layer.features[0].id;
    r = await fetch(`${BASE}/api/v1/features/${station.id}`);
  }
  const f = await r.json();
  station.name = f.properties.name;
  station.lonlat = f.geometry.coordinates;
});

after(async () => {
  await session.close();
});

// Everything on the page fits 360 px: no horizontal scroll, no visible element
// sticking out sideways.
async function fitsWidth(page) {
  return page.evaluate(() => {
    const w = window.innerWidth;
    const over = [...document.querySelectorAll('body *')]
      .filter((e) => e.getClientRects().length > 0 && !e.closest('details:not([open]) > :not(summary)'))
      .map((e) => ({ e, r: e.getBoundingClientRect() }))
      .filter(({ r }) => r.width > 0 && (r.right > w + 1 || r.left < -1))
      .map(({ e, r }) => `${e.tagName}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    return { w, doc: document.documentElement.scrollWidth, over };
  });
}

// 1. Proves the page works on a 360 px phone: the name is visible at the top, the
// open-now state and the four navigation buttons are there and big enough to tap,
// nothing scrolls sideways; the English page too.
test('1. station page at 360 px', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('station', PHONE);
  const page = await context.newPage();
  const response = await page.goto(`${BASE}/s/${station.id}`, { waitUntil: 'load' });
  assert.equal(response.status(), 200);
  const h1 = page.locator('h1#name');
  await h1.waitFor({ state: 'visible' });
  assert.equal((await h1.textContent()).trim(), station.name);
  const box = await h1.boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 740, 'the name is on the first screen');
  assert.ok(await page.locator('.state strong').isVisible(), 'open-now state shown');
  const nav = page.locator('nav.go a');
  assert.equal(await nav.count(), 4);
  for (let i = 0; i < 4; i++) {
    const b = await nav.nth(i).boundingBox();
    assert.ok(b.height >= 40 && b.width >= 40, `navigation button ${i} is ${b.width}×${b.height}`);
  }
  const og = await page.locator('meta[property="og:title"]').getAttribute('content');
  assert.equal(og, station.name);
  const fit = await fitsWidth(page);
  assert.ok(fit.doc <= fit.w, `page is ${fit.doc} px wide in a ${fit.w} px window`);
  assert.deepEqual(fit.over, [], 'elements sticking out sideways');
  await page.screenshot({ path: path.join(SHOTS, 'station.png'), fullPage: true });

  // The report form opens and still fits.
  await page.locator('details.report summary').click();
  await page.locator('textarea#note').waitFor({ state: 'visible' });
  const open = await fitsWidth(page);
  assert.deepEqual(open.over, [], 'the open form sticks out');

  await page.goto(`${BASE}/s/${station.id}?lang=en`, { waitUntil: 'load' });
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');
  assert.ok(await page.locator('text=Report a problem').isVisible());
  const en = await fitsWidth(page);
  assert.ok(en.doc <= en.w && en.over.length === 0, `English page: ${JSON.stringify(en)}`);
  await page.screenshot({ path: path.join(SHOTS, 'station-en.png'), fullPage: true });
  await context.close();
});

// 1b. Proves a driver reaches the page from the map: the card of a nearest result links to /s/{id} (in the map's
//     language), and the link opens the station's page. Before, the card had no way there.
test('1b. the map card links to the station page', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('station-from-map', PHONE);
  for (const lang of ['zh', 'en']) {
    const page = await session.openMap(context, `?lang=${lang}`);
    await page.evaluate(([lon, lat]) => window.__waystation.nearest(lon, lat), station.lonlat);
    const item = page.locator(`#results .result[data-id="${station.id}"] .result-main`);
    await item.waitFor({ state: 'visible', timeout: 20_000 });
    await item.click();
    const link = page.locator('.maplibregl-popup .pop-page');
    await link.waitFor({ state: 'visible', timeout: 10_000 });
    const href = await link.getAttribute('href');
    assert.equal(href, `/s/${encodeURIComponent(station.id)}${lang === 'en' ? '?lang=en' : ''}`);
    assert.match(await link.innerText(), lang === 'en' ? /Details/ : /详情页/);
    const b = await link.boundingBox();
    assert.ok(b && b.height >= 32 && b.x >= 0 && b.x + b.width <= 360, `the link is tappable and on screen: ${JSON.stringify(b)}`);
    await page.screenshot({ path: path.join(SHOTS, `station-from-map-${lang}.png`) });
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), link.click()]);
    assert.equal((await page.locator('h1#name').textContent()).trim(), station.name);
    assert.equal(await page.locator('html').getAttribute('lang'), lang === 'en' ? 'en' : 'zh-CN');
    await page.close();
  }
  await context.close();
});

// 1c. Proves the way back works: the station page's "show on the map" opens the map on that station with its
//     card open. Before, it only centred the map, and the driver had to find the station among its neighbours.
test('1c. the station page shows its station on the map', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('station-to-map', PHONE);
  const page = await context.newPage();
  await page.goto(`${BASE}/s/${station.id}`, { waitUntil: 'load' });
  const back = page.locator('footer.more a').first();
  assert.match(await back.innerText(), /在地图上查看/);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), back.click()]);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible', timeout: 30_000 });
  const text = await popup.innerText();
  assert.ok(text.includes(station.name), `the card names the station: ${text}`);
  await page.screenshot({ path: path.join(SHOTS, 'station-to-map.png') });
  await context.close();
});

// 2. Proves the report form works without JavaScript: a reader picks "wrong hours",
// writes a note, sends it, and lands back on the page with a thank-you.
test('2. report a problem through the form (no JavaScript)', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('report', { ...PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${BASE}/s/${station.id}`, { waitUntil: 'load' });
  await page.locator('details.report summary').click();
  await page.locator('input[name="kind"][value="wrong_hours"]').check();
  const note = `浏览器测试 ${Date.now()}`;
  await page.locator('textarea#note').fill(note);
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.locator('form button[type="submit"]').click(),
  ]);
  const body = await page.locator('body').textContent();
  assert.ok(!/提交太频繁/.test(body), 'this address has sent 5 reports in the last hour: start the server on a fresh database');
  assert.equal(response.status(), 200);
  assert.ok(page.url().endsWith(`/s/${station.id}?reported=1`), page.url());
  const thanks = page.locator('.thanks');
  await thanks.waitFor({ state: 'visible' });
  assert.match(await thanks.textContent(), /谢谢/);
  assert.equal((await page.locator('h1#name').textContent()).trim(), station.name);
  const fit = await fitsWidth(page);
  assert.deepEqual(fit.over, []);
  await page.screenshot({ path: path.join(SHOTS, 'station-report.png'), fullPage: true });
  await context.close();

  if (TOKEN) {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const list = await fetch(`${BASE}/api/v1/reports?status=open`, { headers: auth }).then((r) => r.json());
    const mine = list.reports.find((r) => r.note === note);
    assert.ok(mine, 'the report is in the editors\' list');
    assert.equal(mine.kind, 'wrong_hours');
    assert.equal(mine.feature_id, station.id);
    const closed = await fetch(`${BASE}/api/v1/reports/${mine.id}/close`, { method: 'POST', headers: auth });
    assert.equal(closed.status, 200);
    assert.equal((await closed.json()).report.status, 'closed');
  }
});

// 3. Proves the poster prints on one A4 page with the QR code, and the QR image
// itself is an SVG.
test('3. door poster', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('poster', { viewport: { width: 900, height: 1200 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/s/${station.id}/poster`, { waitUntil: 'load' });
  assert.equal((await page.locator('.sheet h1').textContent()).trim(), station.name);
  const qr = await page.locator('svg.qr').boundingBox();
  assert.ok(qr && qr.width > 200, 'the QR code is drawn large');
  assert.match(await page.locator('figcaption').textContent(), /扫码查看开放时间和导航/);
  await page.screenshot({ path: path.join(SHOTS, 'station-poster.png'), fullPage: true });
  const pdfPath = path.join(SHOTS, 'station-poster.pdf');
  await page.pdf({ path: pdfPath, preferCSSPageSize: true });
  const pdf = fs.readFileSync(pdfPath).toString('latin1');
  const pages = (pdf.match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.equal(pages, 1, 'one sheet');
  const box = pdf.match(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/);
  assert.ok(box, 'a media box');
  assert.ok(Math.abs(Number(box[1]) - 595.92) < 2 && Math.abs(Number(box[2]) - 842.88) < 2, `A4, not ${box[1]}×${box[2]}`);

  const svg = await page.request.get(`${BASE}/s/${station.id}/qr.svg`);
  assert.equal(svg.status(), 200);
  assert.equal(svg.headers()['content-type'], 'image/svg+xml');
  await context.close();
});

// 4. Proves no request of any page of this file went to another host, and no page
// logged an error.
test('4. nothing from other hosts, no console errors', () => {
  assert.ok(session.requests.length >= 5, 'requests were recorded');
  const outside = session.requests.filter(({ url }) => {
    const u = new URL(url);
    if (u.protocol === 'data:' || u.protocol === 'blob:') return false;
    return !LOCAL_HOSTS.has(u.hostname);
  });
  assert.deepEqual(outside, [], 'requests to other hosts');
  assert.ok(session.requests.some(({ url }) => url.endsWith('/station.css')), 'the stylesheet was loaded');
  session.assertNoConsoleErrors();
});
