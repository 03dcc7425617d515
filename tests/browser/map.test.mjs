// Browser tests of the waystation map page in headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/map.test.mjs
//
// The server must already be running (cargo run --release -- serve ...).
// Screenshots go to target/screenshots/ at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BASE, READY_TIMEOUT, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

const session = new Session((url, text) => url.includes(`lon=${BAD_LON}`) && /status of 400/.test(text));

const LAYERS = ['driver_home', 'courier_station', 'fitness_station', 'park'];
const BEIJING = { latitude: 39.9042, longitude: 116.4074 };
// The deliberately invalid query of test 2b; its 400 response is expected.
const BAD_LON = 200;

// Waits until the map has finished drawing (forces one frame so 'idle' fires).
async function idle(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__waystation.map;
    m.once('idle', () => r());
    m.triggerRepaint();
  }));
}

async function apiJSON(p) {
  const r = await fetch(`${BASE}${p}`);
  return { status: r.status, type: r.headers.get('content-type') || '', body: await r.json() };
}

// Rendered features per layer, counted with map.queryRenderedFeatures.
async function renderedCounts(page) {
  return page.evaluate(() => {
    const ws = window.__waystation;
    const out = {};
    for (const [id, layerIds] of Object.entries(ws.layerIds)) {
      out[id] = ws.map.queryRenderedFeatures({ layers: layerIds }).length;
    }
    return out;
  });
}

// Reads the results list as shown.
async function shownResults(page) {
  return page.$$eval('#results .result', (lis) => lis.map((li) => ({
    id: li.dataset.id,
    name: li.querySelector('.result-name').firstChild.textContent.trim(),
    dist: li.querySelector('.dist').textContent.trim(),
    go: (li.querySelector('a.go') || {}).href || null,
  })));
}

function assertListMatches(shown, answer) {
  assert.ok(answer.features.length > 0, 'the API answered with no features');
  assert.equal(shown.length, answer.features.length, 'list length = API answer length');
  let last = -Infinity;
  answer.features.forEach((f, i) => {
    const p = f.properties;
    assert.equal(shown[i].id, String(p.id ?? f.id), `item ${i + 1} is the API's feature ${i + 1}`);
    assert.equal(shown[i].name, p.name, `item ${i + 1} shows the name`);
    assert.ok(shown[i].dist.length > 0, `item ${i + 1} shows a distance`);
    assert.ok(p.distance_m >= last, 'API answer ordered by distance');
    last = p.distance_m;
    assert.ok(shown[i].go && /^https?:/.test(shown[i].go), `item ${i + 1} has a Go link`);
  });
}

before(() => session.start());
after(() => session.close());
// 1. Proves the page loads and the map renders features of all four layers (offline style, no glyphs).
test('1. map draws all four layers', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('desktop', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context);
  const ids = await page.evaluate(() => Object.keys(window.__waystation.layerIds));
  for (const id of LAYERS) assert.ok(ids.includes(id), `layer ${id} is on the page`);
  const counts = await renderedCounts(page);
  for (const id of LAYERS) assert.ok(counts[id] > 0, `layer ${id} has rendered features (${JSON.stringify(counts)})`);
  const style = await page.evaluate(() => {
    const s = window.__waystation.map.getStyle();
    return { glyphs: s.glyphs || null, sprite: s.sprite || null, sources: Object.keys(s.sources) };
  });
  const config = (await apiJSON('/api/v1/config')).body;
  if ((config.basemap || {}).kind === 'none') {
    assert.equal(style.glyphs, null, 'no glyph server in the default style');
    assert.equal(style.sprite, null, 'no sprite in the default style');
    assert.deepEqual(style.sources.filter((s) => !s.startsWith('ws-')), [], 'only our own sources');
  }
  // Chips: one per layer, with the count the API reports.
  const layersDoc = (await apiJSON('/api/v1/layers')).body;
  const chips = await page.$$eval('.chip', (bs) => bs.map((b) => ({ id: b.dataset.layer, count: b.querySelector('.count').textContent })));
  assert.equal(chips.length, layersDoc.layers.length);
  for (const l of layersDoc.layers) {
    const c = chips.find((x) => x.id === l.id);
    assert.ok(c, `chip for ${l.id}`);
    assert.equal(c.count.replace(/[^0-9]/g, ''), String(l.count), `chip count of ${l.id}`);
  }
  // Clicking a chip hides that layer.
  await page.click('.chip[data-layer="courier_station"]');
  await page.waitForFunction(() => window.__waystation.map.getLayoutProperty('courier_station-points', 'visibility') === 'none');
  await page.click('.chip[data-layer="courier_station"]');
  await page.waitForFunction(() => window.__waystation.map.getLayoutProperty('courier_station-points', 'visibility') === 'visible');
  await idle(page);
  await page.screenshot({ path: path.join(SHOTS, 'map.png') });

  // Clicking a single driver home opens its popup, completed from /api/v1/features/{id}.
  const target = await page.evaluate(() => {
    const ws = window.__waystation;
    const f = ws.state.data.driver_home.features[0];
    ws.map.jumpTo({ center: ws.state.conv.toDisplay(f.geometry.coordinates), zoom: 16 });
    return { id: f.properties.id ?? f.id, name: f.properties.name, synthetic: f.properties.synthetic };
  });
  await idle(page);
  const pt = await page.evaluate(() => {
    const m = window.__waystation.map;
    const c = m.project(m.getCenter());
    const r = m.getContainer().getBoundingClientRect();
    return { x: r.left + c.x, y: r.top + c.y };
  });
  const featP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${encodeURIComponent(target.id)}`));
  await page.mouse.click(pt.x, pt.y);
  assert.equal((await featP).status(), 200);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  await page.locator('.maplibregl-popup a.navlink').first().waitFor({ state: 'visible' });
  const text = await popup.textContent();
  assert.ok(text.includes(target.name), 'popup shows the name');
  assert.ok(/营业中|已关闭|营业时间未知/.test(text), 'popup shows the open-now state');
  if (target.synthetic === true) assert.ok(text.includes('演示数据 / demo data'), 'popup shows the demo badge');
  await context.close();
});

// 2. Proves a nearest query (geolocation at Beijing, then a click on the map) lists the API's answer in distance order, and a click on an item opens its popup.
test('2. nearest to me and to a clicked point', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('nearest', {
    viewport: { width: 1280, height: 800 },
    geolocation: BEIJING,
    permissions: ['geolocation'],
  });
  const page = await session.openMap(context);

  // a) Geolocation path.
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.click('#btn-near');
  const resp = await respP;
  assert.equal(resp.status(), 200);
  const qs = new URL(resp.url()).searchParams;
  assert.ok(Math.abs(+qs.get('lon') - BEIJING.longitude) < 1e-4 && Math.abs(+qs.get('lat') - BEIJING.latitude) < 1e-4,
    `query at the browser's position (${resp.url()})`);
  const answer = await resp.json();
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, answer.features.length);
  assertListMatches(await shownResults(page), answer);
  // The same query straight to the API gives the same list.
  const again = (await apiJSON(new URL(resp.url()).pathname + new URL(resp.url()).search)).body;
  assert.deepEqual(again.features.map((f) => f.properties.id ?? f.id), answer.features.map((f) => f.properties.id ?? f.id));
  assert.equal(await page.locator('.me-marker').count(), 1, 'a marker shows the query point');
  assert.equal(await page.locator('.result-marker').count(), answer.features.length, 'results are on the map');

  // Hover highlights the point; click opens its popup.
  await page.hover('#results .result:nth-child(2) .result-main');
  const hl = await page.evaluate(() => window.__waystation.map.getSource('ws-highlight').getData());
  assert.equal((hl.features || []).length, 1, 'hovering an item highlights its point');
  await page.click('#results .result:nth-child(1) .result-main');
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  const first = answer.features[0].properties;
  assert.ok((await popup.textContent()).includes(first.name), 'popup shows the first item');
  if (first.synthetic === true) assert.ok((await popup.textContent()).includes('演示数据 / demo data'), 'demo badge');
  await idle(page);
  await page.screenshot({ path: path.join(SHOTS, 'nearest.png') });

  // b) Click path: an empty spot of the map near Beijing.
  await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
  await page.evaluate(([lon, lat]) => {
    const ws = window.__waystation;
    ws.map.jumpTo({ center: ws.state.conv.toDisplay([lon, lat]), zoom: 9 });
  }, [BEIJING.longitude + 0.05, BEIJING.latitude + 0.05]);
  await idle(page);
  const spot = await page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const layers = Object.values(ws.layerIds).flat();
    const c = m.project(m.getCenter());
    const rect = m.getContainer().getBoundingClientRect();
    for (let r = 0; r < 300; r += 10) {
      for (let a = 0; a < 360; a += 30) {
        const x = c.x + r * Math.cos((a * Math.PI) / 180);
        const y = c.y + r * Math.sin((a * Math.PI) / 180);
        const hits = m.queryRenderedFeatures([[x - 16, y - 16], [x + 16, y + 16]], { layers });
        const el = document.elementFromPoint(rect.left + x, rect.top + y);
        if (!hits.length && el && el.classList.contains('maplibregl-canvas')) {
          const ll = m.unproject([x, y]);
          return { x: rect.left + x, y: rect.top + y, lon: ll.lng, lat: ll.lat, crs: ws.state.conv.crs };
        }
      }
    }
    return null;
  });
  assert.ok(spot, 'found an empty spot near Beijing to click');
  const resp2P = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.mouse.click(spot.x, spot.y);
  const resp2 = await resp2P;
  const qs2 = new URL(resp2.url()).searchParams;
  if (spot.crs === 'wgs84') {
    // Within a few pixels at zoom 9 (1 px ≈ 0.0014°).
    assert.ok(Math.abs(+qs2.get('lon') - spot.lon) < 0.005 && Math.abs(+qs2.get('lat') - spot.lat) < 0.005, `query at the clicked point (${resp2.url()} vs ${JSON.stringify(spot)})`);
  }
  const answer2 = await resp2.json();
  await page.waitForFunction((ids) => [...document.querySelectorAll('#results .result')].map((li) => li.dataset.id).join() === ids.join(),
    answer2.features.map((f) => String(f.properties.id ?? f.id)));
  assertListMatches(await shownResults(page), answer2);
  assert.equal(await page.locator('.query-marker').count(), 1, 'a marker shows the clicked point');

  // c) A failing query shows the server's problem+json detail.
  const bad = await apiJSON(`/api/v1/nearest?lon=${BAD_LON}&lat=39.9&k=5&layers=driver_home`);
  assert.equal(bad.status, 400, 'the API rejects lon=200');
  assert.match(bad.type, /problem\+json/);
  await page.evaluate((lon) => window.__waystation.nearest(lon, 39.9), BAD_LON);
  await page.waitForSelector('#status.error');
  const shownError = await page.textContent('#status');
  assert.ok(shownError.includes(bad.body.detail), `shows the detail "${bad.body.detail}" (got "${shownError}")`);
  await context.close();
});

// 4. Proves that at 360×740 there is no horizontal scroll, touch targets are ≥ 40 px, the nearest sheet works, and the English switch changes UI strings (and is remembered).
test('4. phone: 360 px, nearest sheet, English switch', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('mobile', {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    geolocation: BEIJING,
    permissions: ['geolocation'],
  });
  const page = await session.openMap(context);
  const noSideScroll = async (what) => {
    const m = await page.evaluate(() => {
      const w = window.innerWidth;
      const over = [];
      for (const el of document.querySelectorAll('body *')) {
        if (el.closest('.maplibregl-map')) continue; // clipped by the map itself
        const r = el.getBoundingClientRect();
        if (r.width && (r.right > w + 1 || r.left < -1)) over.push(`${el.tagName}#${el.id}.${el.className}`);
      }
      return { w, doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, over };
    });
    assert.ok(m.doc <= m.w && m.body <= m.w, `${what}: no horizontal scroll (${JSON.stringify(m)})`);
    assert.deepEqual(m.over, [], `${what}: nothing sticks out sideways`);
  };
  const bigTargets = async (what) => {
    const small = await page.evaluate(() => [...document.querySelectorAll(
      '#topbar button, .chip, #panel button, #panel a, #panel label.check, #panel select, #panel summary, .maplibregl-ctrl-zoom-in, .maplibregl-ctrl-zoom-out',
    )].filter((el) => el.offsetParent !== null).map((el) => {
      const r = el.getBoundingClientRect();
      return { el: `${el.tagName}.${el.className} ${el.textContent.trim().slice(0, 20)}`, w: r.width, h: r.height };
    }).filter((x) => x.w < 40 || x.h < 40));
    assert.deepEqual(small, [], `${what}: touch targets at least 40×40 px`);
  };
  await noSideScroll('loaded');
  await bigTargets('loaded');

  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.tap('#btn-near');
  const answer = await (await respP).json();
  await page.waitForFunction((n) => document.querySelectorAll('#results .result').length === n, answer.features.length);
  assertListMatches(await shownResults(page), answer);
  const sheet = await page.locator('#panel').boundingBox();
  assert.ok(sheet.x >= 0 && sheet.x + sheet.width <= 361 && sheet.y + sheet.height <= 741 && sheet.y > 100, `sheet at the bottom, on screen (${JSON.stringify(sheet)})`);
  const go = await page.locator('#results .result:nth-child(1) a.go').boundingBox();
  assert.ok(go && go.x + go.width <= 360 && go.y + go.height <= 740, 'first Go link is on screen');
  await page.tap('#filters summary');
  await noSideScroll('filters open');
  await bigTargets('filters open');
  // An amenity filter re-runs the query with amenities=…
  const resp2P = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?') && r.url().includes('amenities=toilet'));
  await page.tap('#f-amenities label.check:has(input[value="toilet"])');
  const answer2 = await (await resp2P).json();
  await page.waitForFunction((ids) => [...document.querySelectorAll('#results .result')].map((li) => li.dataset.id).join() === ids.join(),
    answer2.features.map((f) => String(f.properties.id ?? f.id)));
  for (const f of answer2.features) assert.ok(f.properties.amenities.includes('toilet'), 'filtered answer has toilets');
  await page.tap('#filters summary');
  if (answer2.features.length) {
    await page.tap('#results .result:nth-child(1) .result-main');
    await page.locator('.maplibregl-popup').waitFor({ state: 'visible' });
    await noSideScroll('popup open');
  }
  await idle(page);
  await page.screenshot({ path: path.join(SHOTS, 'mobile-zh.png') });
  if (answer2.features.length) {
    // The popup folded the sheet; closing the popup unfolds it again.
    assert.equal(await page.locator('#panel-body').isVisible(), false, 'sheet folded while the popup is open');
    await page.tap('.maplibregl-popup-close-button');
    await page.locator('#panel-body').waitFor({ state: 'visible' });
  }

  // English switch.
  const layersDoc = (await apiJSON('/api/v1/layers')).body;
  assert.equal(await page.textContent('#title .long'), '驿站地图');
  await page.tap('#btn-lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.textContent('#title .long'), 'Waystation map');
  assert.equal(await page.innerText('#title'), 'Waystation', 'short title on a phone');
  assert.equal(await page.textContent('#btn-near [data-i18n]'), 'Near me');
  assert.equal(await page.textContent('#panel-title'), 'Nearest facilities');
  assert.equal((await page.textContent('#btn-lang')).trim(), '中文');
  const chipNames = await page.$$eval('.chip .name', (els) => els.map((e) => e.textContent));
  for (const l of layersDoc.layers) if (l.name_en) assert.ok(chipNames.includes(l.name_en), `chip shows ${l.name_en}`);
  assert.equal(await page.evaluate(() => localStorage.getItem('waystation.lang')), 'en');
  await noSideScroll('English');
  await bigTargets('English');
  await page.screenshot({ path: path.join(SHOTS, 'mobile.png') });
  // Remembered after a reload.
  await page.reload();
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  assert.equal(await page.textContent('#title .long'), 'Waystation map');
  await context.close();
});

// 6. Proves ?embed=1 hides the chrome but keeps the map and layer toggles, ?layers= picks the layers, and ?lang=en starts in English.
test('6. embed mode with ?layers= and ?lang=en', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('embed', { viewport: { width: 600, height: 400 } });
  const page = await session.openMap(context, '?embed=1&lang=en&layers=driver_home,courier_station');
  assert.equal(await page.locator('#topbar').isVisible(), false, 'no header');
  assert.equal(await page.locator('#panel').isVisible(), false, 'no panel');
  const chips = await page.$$eval('.chip', (bs) => bs.map((b) => b.dataset.layer));
  assert.deepEqual(chips, ['driver_home', 'courier_station']);
  const counts = await renderedCounts(page);
  assert.deepEqual(Object.keys(counts), ['driver_home', 'courier_station']);
  assert.ok(counts.driver_home > 0 && counts.courier_station > 0, 'both picked layers drawn');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await page.screenshot({ path: path.join(SHOTS, 'embed.png') });
  await context.close();
});

// 3. Proves no request of the whole session went to any host but this machine (data: and blob: allowed).
test('3. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 5. Proves no console error or uncaught exception happened on any page of the session.
test('5. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
