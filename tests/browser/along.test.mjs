// Browser tests of the map's along-route mode (沿途, web/along.js) in headless
// Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/along.test.mjs
//
// The server must already be running with the bundled data (cargo run --release
// -- serve ...). Screenshots go to target/screenshots/ at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BASE, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

// The one request that fails on purpose (test 3): Chromium logs its 400.
const session = new Session((url, text) => url.includes('/api/v1/along') && /status of 400/.test(text));

// A drive through Linyi (临沂), WGS-84, as the brief gives it.
const ROUTE = [[118.36, 35.05], [118.30, 35.09], [118.20, 35.20]];
// Longer than the server's 10,000 km limit.
const TOO_LONG = '10,35;170,35;-170,-35';
const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

// Every /api/v1/along answer of the session: its status.
const alongStatuses = [];
// Every /api/v1/nearest request made while the along mode was on.
const nearestInAlong = [];

function watch(page) {
  page.on('response', (r) => { if (r.url().includes('/api/v1/along')) alongStatuses.push(r.status()); });
  page.on('request', async (r) => {
    if (!r.url().includes('/api/v1/nearest')) return;
    const on = await page.evaluate(() => document.body.classList.contains('along')).catch(() => false);
    if (on) nearestInAlong.push(r.url());
  });
}

// Waits until the map has finished drawing (forces one frame so 'idle' fires).
async function idle(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__waystation.map;
    m.once('idle', () => r());
    m.triggerRepaint();
  }));
}

// A WGS-84 position as page pixels, through the app's own projection.
async function screenPoint(page, lonLat) {
  return page.evaluate(([lon, lat]) => {
    const ws = window.__waystation;
    const p = ws.map.project(ws.state.conv.toDisplay([lon, lat]));
    const r = ws.map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lonLat);
}

// Fits the route into the map left free by the chips and the sheet.
async function fitRouteInView(page, pts) {
  await page.evaluate((pts) => {
    const ws = window.__waystation;
    const m = ws.map;
    const b = new window.maplibregl.LngLatBounds();
    for (const q of pts) b.extend(ws.state.conv.toDisplay(q));
    const rect = m.getContainer().getBoundingClientRect();
    const bar = document.getElementById('layerbar').getBoundingClientRect();
    const sheet = document.getElementById('along').getBoundingClientRect();
    const desktop = sheet.left < 1 && sheet.height > rect.height - 2 && sheet.width < rect.left + 1;
    const bottom = desktop ? 60 : rect.bottom - sheet.top + 50;
    m.fitBounds(b, { padding: { top: bar.bottom - rect.top + 50, bottom, left: 60, right: 60 }, duration: 0 });
  }, pts);
  await idle(page);
}

// Taps (or clicks) the map at each point, checking each lands as a route point.
async function drawRoute(page, pts, { touch }) {
  for (const q of pts) {
    const before = await page.evaluate(() => window.__waystation.along.state.points.length);
    const xy = await screenPoint(page, q);
    const hit = await page.evaluate(({ x, y }) => {
      const el = document.elementFromPoint(x, y);
      return el && el.classList.contains('maplibregl-canvas');
    }, xy);
    assert.ok(hit, `the map itself is under ${JSON.stringify(q)} (${JSON.stringify(xy)})`);
    if (touch) await page.touchscreen.tap(xy.x, xy.y); else await page.mouse.click(xy.x, xy.y);
    await page.waitForFunction((n) => window.__waystation.along.state.points.length === n + 1, before);
    // Wait out the double-tap window so that the next tap is a tap of its own.
    await page.waitForTimeout(350);
  }
  const got = await page.evaluate(() => window.__waystation.along.state.points);
  return got;
}

// Runs the query with `action` and returns { request, answer } once the list shows the answer.
async function query(page, action, { ok = true } = {}) {
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/along') && r.request().method() === 'POST');
  await action();
  const resp = await respP;
  const request = resp.request();
  const answer = await resp.json();
  if (ok) {
    assert.equal(resp.status(), 200, `the along query succeeded (${JSON.stringify(answer)})`);
    await page.waitForFunction((ids) => [...document.querySelectorAll('#along-results .result')].map((li) => li.dataset.id).join() === ids.join(),
      answer.features.map((f) => String(f.properties.id ?? f.id)));
  }
  return { request, answer, status: resp.status() };
}

// The list as shown.
async function shownResults(page) {
  return page.$$eval('#along-results .result', (lis) => lis.map((li) => ({
    id: li.dataset.id,
    along: Number(li.dataset.along),
    name: li.querySelector('.result-name').firstChild.textContent.trim(),
    at: li.querySelector('.along-at').textContent.trim(),
    detour: li.querySelector('.detour').textContent.trim(),
    side: (li.querySelector('.side') || {}).textContent || '',
    eta: (li.querySelector('.eta') || {}).textContent || '',
    arrival: li.querySelector('.arrival').textContent.trim(),
    go: (li.querySelector('a.go') || {}).href || null,
  })));
}

function assertListMatches(shown, answer, lang = 'zh') {
  assert.ok(answer.features.length > 0, 'the API found facilities along the route');
  assert.equal(shown.length, answer.features.length, 'list length = answer length');
  let last = -Infinity;
  answer.features.forEach((f, i) => {
    const p = f.properties;
    const s = shown[i];
    assert.equal(s.id, String(p.id ?? f.id), `item ${i + 1} is the answer's item ${i + 1}`);
    assert.equal(s.name, lang === 'en' && p.name_en ? p.name_en : p.name, `item ${i + 1} shows the name`);
    assert.ok(s.along >= last, `items in increasing distance along the route (${s.along} after ${last})`);
    last = s.along;
    assert.equal(s.along, p.along_m);
    const time = p.eta.slice(11, 16);
    if (lang === 'zh') {
      assert.match(s.at, /^[\d.]+ (米|公里)处$/, `item ${i + 1} shows its distance along (${s.at})`);
      assert.match(s.detour, /^绕行 [\d.]+ (米|公里)$/, `item ${i + 1} shows its detour (${s.detour})`);
      assert.equal(s.side, p.side === 'left' ? '左侧' : '右侧');
      assert.ok(s.eta.endsWith(`${time} 到达`), `item ${i + 1} shows its arrival time ${time} (${s.eta})`);
      assert.equal(s.arrival, { true: '营业', false: '关闭', null: '未知' }[String(p.open_on_arrival)]);
    } else {
      assert.match(s.at, /^at [\d.]+ (m|km)$/, s.at);
      assert.match(s.detour, /^detour [\d.]+ (m|km)$/, s.detour);
      assert.equal(s.side, p.side === 'left' ? 'on the left' : 'on the right');
      assert.ok(s.eta.startsWith('arrive ') && s.eta.endsWith(time), s.eta);
      assert.equal(s.arrival, { true: 'open', false: 'closed', null: 'hours unknown' }[String(p.open_on_arrival)]);
    }
    assert.equal(s.go, p.links.amap, `item ${i + 1} navigates with Amap`);
  });
}

const ids = (answer) => answer.features.map((f) => String(f.properties.id ?? f.id));

async function noSideScroll(page, what) {
  const m = await page.evaluate(() => {
    const w = window.innerWidth;
    const over = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.maplibregl-map')) continue;
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > w + 1 || r.left < -1)) over.push(`${el.tagName}#${el.id}.${el.className}`);
    }
    return { w, doc: document.documentElement.scrollWidth, over };
  });
  assert.ok(m.doc <= m.w, `${what}: no horizontal scroll (${JSON.stringify(m)})`);
  assert.deepEqual(m.over, [], `${what}: nothing sticks out sideways`);
}

async function bigTargets(page, what) {
  const small = await page.evaluate(() => [...document.querySelectorAll(
    '#topbar button, #along button, #along a, #along label.check, #along select, #along summary, #along input:not([type="checkbox"]):not([type="file"]), #along textarea, #along label.file-btn, #panel button',
  )].filter((el) => el.offsetParent !== null).map((el) => {
    const r = el.getBoundingClientRect();
    return { el: `${el.tagName}#${el.id}.${el.className} ${el.textContent.trim().slice(0, 20)}`, w: r.width, h: r.height };
  }).filter((x) => x.w < 40 || x.h < 40));
  assert.deepEqual(small, [], `${what}: touch targets at least 40×40 px`);
}

const GPX = (pts) => '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<gpx version="1.1" creator="waystation test" xmlns="http://www.topografix.com/GPX/1/1"><trk><name>临沂</name><trkseg>\n' +
  pts.map(([lon, lat]) => `  <trkpt lat="${lat}" lon="${lon}"></trkpt>`).join('\n') + '\n</trkseg></trk></gpx>\n';

// Google's encoded polyline (precision 5).
function encodePolyline(pts) {
  let out = '';
  let plat = 0; let plon = 0;
  const enc = (v) => {
    let n = v < 0 ? ~(v << 1) : v << 1;
    let s = '';
    while (n >= 0x20) { s += String.fromCharCode((0x20 | (n & 0x1f)) + 63); n >>= 5; }
    return s + String.fromCharCode(n + 63);
  };
  for (const [lon, lat] of pts) {
    const la = Math.round(lat * 1e5); const lo = Math.round(lon * 1e5);
    out += enc(la - plat) + enc(lo - plon);
    plat = la; plon = lo;
  }
  return out;
}

before(() => session.start());
after(() => session.close());

// Shared by tests 1–5 (one phone session, as a driver would use it).
let page;
let context;
let drawn; // the route as tapped (WGS-84)
let first; // the drawn route's answer

// 1. Proves the mode opens from the nearest sheet on a 360 px phone, a route is drawn by tapping the map (with
//    undo), the query lists the answer in route order with distance along, detour, side, arrival time, open on
//    arrival and an Amap link, and draws the route and green signs (not circles) on the map.
test('1. phone: draw a route by tapping and list what is along it', { timeout: TEST_TIMEOUT }, async () => {
  context = await session.newContext('along-phone', PHONE);
  page = await session.openMap(context, '?lang=zh');
  watch(page);
  await page.tap('#btn-list');
  await page.locator('#btn-along').waitFor({ state: 'visible' });
  assert.equal((await page.textContent('#btn-along')).trim(), '沿途');
  await bigTargets(page, 'nearest sheet with the 沿途 button');
  await page.tap('#btn-along');
  await page.locator('#along').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#panel').isVisible(), false, 'the nearest sheet gives way');
  assert.equal(await page.evaluate(() => window.__waystation.state.mode), 'along');
  assert.equal(await page.textContent('#along-title'), '沿途设施');
  assert.equal(await page.getAttribute('#along-tab-draw', 'aria-selected'), 'true');
  assert.ok(await page.isDisabled('#along-run'), 'nothing to query before a route');
  const sheet = await page.locator('#along').boundingBox();
  assert.ok(sheet.x >= 0 && sheet.x + sheet.width <= 361 && sheet.y + sheet.height <= 741 && sheet.y > 300, `a bottom sheet (${JSON.stringify(sheet)})`);
  await noSideScroll(page, 'along sheet');
  await bigTargets(page, 'along sheet');

  await fitRouteInView(page, ROUTE);
  drawn = await drawRoute(page, ROUTE, { touch: true });
  // Undo the last point and tap it again.
  await page.tap('#along-undo');
  assert.equal(await page.evaluate(() => window.__waystation.along.state.points.length), 2, 'undo removes the last point');
  drawn = await drawRoute(page, ROUTE.slice(2), { touch: true });
  assert.equal(drawn.length, 3);
  drawn.forEach((p, i) => assert.ok(Math.abs(p[0] - ROUTE[i][0]) < 0.003 && Math.abs(p[1] - ROUTE[i][1]) < 0.003, `point ${i + 1} where tapped (${p} vs ${ROUTE[i]})`));
  assert.match(await page.textContent('#along-points'), /^3 个点 · 2\d 公里$/);
  const line = await page.evaluate(() => window.__waystation.map.getSource('ws-along-route').getData());
  assert.equal(line.features.length, 1, 'the route is drawn as one taps');
  assert.equal(line.features[0].geometry.coordinates[0].length, 3);
  assert.equal((await page.evaluate(() => window.__waystation.map.getSource('ws-along-vertices').getData())).features.length, 3);

  const { request, answer } = await query(page, () => page.tap('#along-run'));
  const body = request.postDataJSON();
  assert.equal(request.headers()['content-type'], 'application/json');
  assert.deepEqual(body.route, { type: 'LineString', coordinates: drawn }, 'the drawn route is sent');
  assert.equal(body.crs, 'wgs84');
  assert.equal(body.corridor_m, 2000, 'default corridor 2 km');
  assert.deepEqual(body.layers, ['driver_home', 'courier_station', 'fitness_station'], 'the visible facility layers');
  assert.equal(body.speed_kmh, 60, 'default speed 60 km/h');
  assert.match(body.depart, /^\d{4}-\d\d-\d\dT\d\d:\d\d:00\+08:00$/, 'departs now, Beijing time');
  const now = Date.now();
  assert.ok(Math.abs(Date.parse(body.depart) - now) < 3 * 60e3, `departure is now (${body.depart})`);
  assert.ok(answer.features.length >= 3, `several facilities along the route (${answer.features.length})`);
  assertListMatches(await shownResults(page), answer);
  first = answer;
  assert.match(await page.textContent('#along-status'), new RegExp(`离路线 2 公里内有 ${answer.features.length} 处`));

  // The map: the route line, and one green sign per result standing on its point.
  await page.waitForTimeout(700); // fitBounds
  await idle(page);
  const signs = await page.evaluate(() => {
    const ws = window.__waystation;
    const rect = ws.map.getContainer().getBoundingClientRect();
    return [...document.querySelectorAll('.along-marker')].map((el, i) => {
      const r = el.getBoundingClientRect();
      const sign = el.querySelector('.sign');
      const cs = getComputedStyle(sign);
      const f = ws.along.state.results[i];
      const p = ws.map.project(ws.state.conv.toDisplay(f.geometry.coordinates));
      return { text: sign.textContent.trim(), bottom: r.bottom, pointY: rect.top + p.y, radius: cs.borderTopLeftRadius, fill: cs.backgroundColor, shown: el.checkVisibility() };
    });
  });
  assert.equal(signs.length, answer.features.length, 'a sign per result');
  signs.forEach((s, i) => {
    assert.equal(s.text, String(i + 1));
    assert.ok(s.shown, 'signs are shown');
    assert.ok(Math.abs(s.bottom - s.pointY) <= 3, `sign ${i + 1} stands on its point (${JSON.stringify(s)})`);
    assert.ok(!/50%/.test(s.radius) && parseFloat(s.radius) < 8, `sign ${i + 1} is not a circle (${s.radius})`);
    assert.equal(s.fill, 'rgb(27, 127, 59)', 'signs are green');
  });
  assert.equal(await page.locator('.result-marker:visible').count(), 0, 'no nearest pins in this mode');
  const clusterOpacity = await page.evaluate(() => Object.values(window.__waystation.layerIds)
    .map(([cid]) => window.__waystation.map.getPaintProperty(cid, 'circle-opacity')));
  assert.ok(clusterOpacity.every((o) => o <= 0.4), `clusters step back while results show (${clusterOpacity})`);
  // At least 300 px of map between the chips and the sheet.
  const free = await page.evaluate(() => document.getElementById('along').getBoundingClientRect().top -
    document.getElementById('layer-chips').getBoundingClientRect().bottom);
  assert.ok(free >= 300, `300 px of map above the sheet (${free})`);
  await noSideScroll(page, 'results');
  await bigTargets(page, 'results');
  await page.screenshot({ path: path.join(SHOTS, 'along-phone.png') });

  // Tapping a result flies to it and opens its popup; the sheet folds meanwhile.
  const target = answer.features[1] || answer.features[0];
  const n = answer.features.indexOf(target) + 1;
  await page.tap(`#along-results .result:nth-child(${n}) .result-main`);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  assert.ok((await popup.textContent()).includes(target.properties.name), 'the popup names the result');
  assert.ok((await popup.textContent()).includes('到达'), 'the popup gives the arrival time');
  assert.equal(await page.locator('#along-body').isVisible(), false, 'the sheet folds under the popup');
  await page.waitForTimeout(1000); // the flight
  await idle(page);
  const landed = await page.evaluate((c) => {
    const ws = window.__waystation;
    const p = ws.map.project(ws.state.conv.toDisplay(c));
    const rect = ws.map.getContainer().getBoundingClientRect();
    const bar = document.getElementById('layerbar').getBoundingClientRect();
    const sheet = document.getElementById('along').getBoundingClientRect();
    return { y: rect.top + p.y, x: rect.left + p.x, top: bar.bottom, bottom: sheet.top, zoom: ws.map.getZoom() };
  }, target.geometry.coordinates);
  assert.ok(landed.zoom >= 13 && landed.y > landed.top && landed.y < landed.bottom && landed.x > 0 && landed.x < 360,
    `the map flew to the result (${JSON.stringify(landed)})`);
  const hl = await page.evaluate(() => window.__waystation.map.getSource('ws-highlight').getData());
  assert.equal(hl.features.length, 1, 'the result is highlighted');
  await page.screenshot({ path: path.join(SHOTS, 'along-phone-popup.png') });
  await page.tap('.maplibregl-popup-close-button');
  await page.locator('#along-body').waitFor({ state: 'visible' });
  assert.deepEqual(nearestInAlong, [], 'no nearest query while the along mode is on');
});

// 2. Proves the same route pasted as an Amap (GCJ-02) string, as an encoded polyline and as a GPX file gives
//    the same first result (and the same list) as the drawn one.
test('2. phone: the same route pasted (Amap GCJ-02, encoded polyline) and as a GPX file', { timeout: TEST_TIMEOUT }, async () => {
  assert.ok(first, 'test 1 ran');
  await page.tap('#along-tab-paste');
  assert.equal(await page.locator('#along-text').isVisible(), true);
  assert.equal(await page.locator('#along-results .result').count(), 0, 'another route: the list is cleared');
  // The tapped points converted to GCJ-02 in the page (coords.js), as Amap would give them.
  const amap = await page.evaluate(async (pts) => {
    const { wgs84ToGcj02 } = await import('/coords.js');
    return pts.map(([lon, lat]) => wgs84ToGcj02(lon, lat).map((v) => v.toFixed(6)).join(',')).join(';');
  }, drawn);
  await page.fill('#along-text', amap);
  await page.selectOption('#along-crs', 'gcj02');
  // The pasted route is drawn where the drawn one was (converted back to WGS-84).
  const line = await page.evaluate(() => window.__waystation.map.getSource('ws-along-route').getData());
  const disp = await page.evaluate((pts) => pts.map((q) => window.__waystation.state.conv.toDisplay(q)), drawn);
  line.features[0].geometry.coordinates[0].forEach((c, i) => assert.ok(Math.abs(c[0] - disp[i][0]) < 1e-5 && Math.abs(c[1] - disp[i][1]) < 1e-5, `pasted point ${i + 1} drawn in place`));
  const pasted = await query(page, () => page.tap('#along-run'));
  const body = pasted.request.postDataJSON();
  assert.equal(body.route, amap, 'the Amap string is sent as pasted');
  assert.equal(body.crs, 'gcj02');
  assert.equal(ids(pasted.answer)[0], ids(first)[0], 'the same first result as the drawn route');
  assert.deepEqual(ids(pasted.answer), ids(first), 'the same results as the drawn route');
  assertListMatches(await shownResults(page), pasted.answer);

  // An encoded polyline (WGS-84).
  const poly = encodePolyline(drawn);
  await page.fill('#along-text', poly);
  await page.selectOption('#along-crs', 'wgs84');
  const encoded = await query(page, () => page.tap('#along-run'));
  assert.equal(encoded.request.postDataJSON().route, poly);
  assert.equal(encoded.request.postDataJSON().crs, 'wgs84');
  assert.equal(ids(encoded.answer)[0], ids(first)[0], 'an encoded polyline gives the same first result');

  // A GPX file, read in the page and posted as application/gpx+xml with the options in the query string.
  await page.tap('#along-tab-gpx');
  const gpx = GPX(drawn);
  await page.setInputFiles('#along-file', { name: 'linyi.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from(gpx) });
  await page.waitForFunction(() => /linyi\.gpx：3 个点/.test(document.getElementById('along-gpx-info').textContent));
  assert.equal(await page.isDisabled('#along-run'), false);
  const file = await query(page, () => page.tap('#along-run'));
  assert.equal(file.request.headers()['content-type'], 'application/gpx+xml');
  assert.equal(file.request.postData(), gpx, 'the file is posted as it is');
  const qs = new URL(file.request.url()).searchParams;
  assert.equal(qs.get('corridor_m'), '2000');
  assert.equal(qs.get('layers'), 'driver_home,courier_station,fitness_station');
  assert.equal(qs.get('speed_kmh'), '60');
  assert.match(qs.get('depart'), /\+08:00$/);
  assert.equal(ids(file.answer)[0], ids(first)[0], 'the GPX file gives the same first result');
  assertListMatches(await shownResults(page), file.answer);
  await page.screenshot({ path: path.join(SHOTS, 'along-phone-gpx.png') });
});

// 3. Proves a route the server refuses (longer than 10,000 km) shows the server's problem+json detail and reason.
test('3. phone: a refused route shows the server\'s reason', { timeout: TEST_TIMEOUT }, async () => {
  const direct = await fetch(`${BASE}/api/v1/along`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'Accept-Language': 'zh-CN' }, body: JSON.stringify({ route: TOO_LONG, crs: 'wgs84' }),
  });
  assert.equal(direct.status, 400);
  assert.match(direct.headers.get('content-type'), /problem\+json/);
  const problem = await direct.json();
  const reason = problem['invalid-params'][0].reason;
  assert.match(reason, /最多 10000 公里/, 'the reason in the page language (Chinese)');
  await page.tap('#along-tab-paste');
  await page.fill('#along-text', TOO_LONG);
  await page.selectOption('#along-crs', 'wgs84');
  const bad = await query(page, () => page.tap('#along-run'), { ok: false });
  assert.equal(bad.status, 400);
  await page.waitForSelector('#along-status.error');
  const shown = await page.textContent('#along-status');
  assert.ok(shown.includes('沿途查询失败'), shown);
  assert.ok(shown.includes(problem.detail), `shows the detail "${problem.detail}" (${shown})`);
  assert.ok(shown.includes(reason), 'shows the reason');
  assert.equal(await page.locator('#along-results .result').count(), 0);
  assert.equal(await page.locator('.along-marker').count(), 0, 'no signs for a refused route');
  assert.equal(await page.isDisabled('#along-run'), false, 'the query can be sent again');
  await noSideScroll(page, 'error');
  await page.screenshot({ path: path.join(SHOTS, 'along-phone-error.png') });
});

// 4. Proves the options reach the query (corridor, only open on arrival) and the layers are the chips': hiding a
//    layer with its chip re-runs the query without it, and its box here follows.
test('4. phone: options and layer chips', { timeout: TEST_TIMEOUT }, async () => {
  await page.tap('#along-tab-draw');
  assert.equal((await page.evaluate(() => window.__waystation.along.state.points)).length, 3, 'the drawn route is kept');
  await page.tap('#along-opts summary');
  await page.selectOption('#along-corridor', '5');
  await page.check('#along-open');
  assert.equal(await page.isChecked('#along-layers input[value="fitness_station"]'), true);
  const wide = await query(page, () => page.tap('#along-run'));
  const body = wide.request.postDataJSON();
  assert.equal(body.corridor_m, 5000);
  assert.equal(body.open_on_arrival, true);
  assert.ok(wide.answer.features.length > 0);
  for (const f of wide.answer.features) assert.equal(f.properties.open_on_arrival, true, 'only open on arrival');
  const shown = await shownResults(page);
  for (const s of shown) assert.equal(s.arrival, '营业');
  assert.match(await page.textContent('#along-opts-summary'), /5 公里内 · 60 公里\/小时/);
  // A chip hides its layer: the query runs again without it.
  const again = await query(page, () => page.tap('.chip[data-layer="fitness_station"]'));
  assert.deepEqual(again.request.postDataJSON().layers, ['driver_home', 'courier_station']);
  for (const f of again.answer.features) assert.notEqual(f.properties.layer, 'fitness_station');
  assert.equal(await page.isChecked('#along-layers input[value="fitness_station"]'), false, 'the type box follows the chip');
  // …and the type box is the chip.
  const back = await query(page, () => page.click('#along-layers label.check:has(input[value="fitness_station"])'));
  assert.deepEqual(back.request.postDataJSON().layers, ['driver_home', 'courier_station', 'fitness_station']);
  assert.equal(await page.getAttribute('.chip[data-layer="fitness_station"]', 'aria-pressed'), 'true');
  await page.tap('#along-opts summary');
});

// 5. Proves the English switch translates the sheet and the list, and leaving the mode gives the map back to
//    nearest (a tap queries nearest again, the route and signs are hidden).
test('5. phone: English, then leave the mode', { timeout: TEST_TIMEOUT }, async () => {
  await page.tap('#btn-lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.textContent('#along-title'), 'Along the route');
  assert.equal(await page.textContent('#along-tab-draw'), 'Draw');
  assert.equal(await page.textContent('#along-run'), 'Find facilities along the route');
  const answer = await page.evaluate(() => ({ features: window.__waystation.along.state.results }));
  assertListMatches(await shownResults(page), answer, 'en');
  assert.match(await page.textContent('#along-status'), /within 5 km of the 2\d km route, in route order/);
  assert.equal((await page.textContent('#along-results .result:nth-child(1) a.go')).trim(), 'Navigate');
  await noSideScroll(page, 'English');
  await bigTargets(page, 'English');
  await page.screenshot({ path: path.join(SHOTS, 'along-phone-en.png') });

  await page.tap('#along-close');
  await page.locator('#panel').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#along').isVisible(), false);
  assert.equal(await page.evaluate(() => window.__waystation.state.mode), 'find');
  assert.equal(await page.locator('.along-marker:visible').count(), 0, 'signs hidden with the mode');
  assert.equal(await page.evaluate(() => window.__waystation.map.getLayoutProperty('along-route-line', 'visibility')), 'none');
  // A tap on the map is a nearest query again.
  await page.tap('#sheet-handle'); // fold the sheet
  const xy = await screenPoint(page, [118.25, 35.16]);
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.touchscreen.tap(xy.x, xy.y);
  assert.equal((await respP).status(), 200, 'nearest answers a tap once the mode is left');
  await context.close();
});

// 6. Proves the mode works on a desktop: a side panel, a route drawn with mouse clicks, the list and a popup; the
//    coverage button leaves it.
test('6. desktop: side panel, clicks, coverage button leaves', { timeout: TEST_TIMEOUT }, async () => {
  const ctx = await session.newContext('along-desktop', { viewport: { width: 1280, height: 800 } });
  const p = await session.openMap(ctx, '?lang=zh');
  watch(p);
  await p.click('#btn-along');
  await p.locator('#along').waitFor({ state: 'visible' });
  const box = await p.locator('#along').boundingBox();
  assert.ok(box.x === 0 && box.width >= 300 && box.width <= 480 && box.height > 600, `a side panel (${JSON.stringify(box)})`);
  await fitRouteInView(p, ROUTE);
  const pts = await drawRoute(p, ROUTE, { touch: false });
  const { answer } = await query(p, () => p.click('#along-run'));
  assertListMatches(await shownResults(p), answer);
  assert.equal(ids(answer)[0], ids(first)[0], 'the same first result as on the phone');
  await p.click('#along-results .result:nth-child(1) .result-main');
  await p.locator('.maplibregl-popup').waitFor({ state: 'visible' });
  await p.waitForTimeout(900);
  await idle(p);
  await p.screenshot({ path: path.join(SHOTS, 'along-desktop.png') });
  // Clear empties the route; the coverage button leaves the mode.
  await p.click('.maplibregl-popup-close-button');
  await p.click('#along-clear');
  assert.equal(await p.evaluate(() => window.__waystation.along.state.points.length), 0);
  assert.ok(await p.isDisabled('#along-run'));
  assert.equal(await p.locator('.along-marker').count(), 0);
  assert.ok(pts.length === 3);
  await p.click('#btn-mode');
  await p.waitForFunction(() => document.body.classList.contains('coverage'));
  assert.equal(await p.locator('#along').isVisible(), false, 'coverage mode leaves the along mode');
  assert.equal(await p.evaluate(() => window.__waystation.state.mode), 'coverage');
  await p.click('#btn-mode');
  await p.waitForFunction(() => !document.body.classList.contains('coverage'));
  assert.equal(await p.locator('#panel').isVisible(), true, 'back to the nearest panel');
  assert.deepEqual(nearestInAlong, [], 'no nearest query while the along mode is on');
  // The mode has an address of its own.
  const direct = await session.openMap(ctx, '?mode=along&lang=en');
  await direct.locator('#along').waitFor({ state: 'visible' });
  assert.equal(await direct.textContent('#along-title'), 'Along the route');
  assert.equal(await direct.getAttribute('#btn-along', 'aria-pressed'), 'true');
  await direct.click('#along-close');
  assert.equal(new URL(direct.url()).searchParams.get('mode'), null, 'leaving drops ?mode=along');
  await ctx.close();
});

// 7. Proves no request of the whole session went to any host but this machine (data: and blob: allowed).
test('7. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 8. Proves no console error happened but the one provoked 400 of test 3.
test('8. no console errors but the provoked 400', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
  assert.deepEqual(alongStatuses.filter((s) => s !== 200), [400], `one refused along query, the rest answered (${alongStatuses})`);
});
