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
import { gcj02ToWgs84, wgs84ToGcj02 } from '../../web/coords.js';

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

async function apiJSON(p, headers = {}) {
  const r = await fetch(`${BASE}${p}`, { headers });
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
  // The page asks in its own language (Chinese here), so the problem comes in Chinese.
  const bad = await apiJSON(`/api/v1/nearest?lon=${BAD_LON}&lat=39.9&k=5&layers=driver_home`, { 'Accept-Language': 'zh-CN' });
  assert.equal(bad.status, 400, 'the API rejects lon=200');
  assert.match(bad.type, /problem\+json/);
  assert.match(bad.body.detail, /经度 200 超出/, 'the detail is in Chinese');
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
      '#topbar button, .chip, #layerbar button, #panel button, #panel a, #panel label.check, #panel select, #panel summary, .maplibregl-ctrl-zoom-in, .maplibregl-ctrl-zoom-out',
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
  assert.equal(await page.textContent('#btn-near .long'), 'Near me');
  assert.equal((await page.innerText('#btn-near')).trim(), 'Near', 'short label on a phone');
  assert.equal(await page.textContent('#panel-title'), 'Nearest facilities');
  assert.equal((await page.textContent('#btn-lang')).trim(), '中文');
  // A phone shows short chip names; the full name is the chip's accessible name and tooltip.
  const chipNames = await page.$$eval('.chip', (els) => els.map((e) => e.getAttribute('aria-label')));
  for (const l of layersDoc.layers) if (l.name_en) assert.ok(chipNames.some((n) => n.startsWith(l.name_en)), `chip named ${l.name_en}`);
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

// ---------------------------------------------------------------------------
// What a driver met on a 360 px phone (issue 10, section 6).

const PHONE = {
  viewport: { width: 360, height: 740 },
  deviceScaleFactor: 1,
  isMobile: true,
  hasTouch: true,
  geolocation: BEIJING,
  permissions: ['geolocation'],
};

// Taps 附近 (or runs `action`) and returns the nearest answer once the list shows it.
async function nearestVia(page, action) {
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await action();
  const resp = await respP;
  assert.equal(resp.status(), 200);
  const answer = await resp.json();
  await page.waitForFunction((ids) => [...document.querySelectorAll('#results .result')].map((li) => li.dataset.id).join() === ids.join(),
    answer.features.map((f) => String(f.properties.id ?? f.id)));
  return { url: new URL(resp.url()), answer };
}

// Rendered cluster circles as screen boxes (page pixels): translate and radius as the style draws them.
async function clusterCircles(page) {
  return page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const rect = m.getContainer().getBoundingClientRect();
    const out = [];
    for (const [, [cid]] of Object.entries(ws.layerIds)) {
      if (m.getLayoutProperty(cid, 'visibility') === 'none') continue;
      const [tx, ty] = m.getPaintProperty(cid, 'circle-translate') || [0, 0];
      for (const f of m.queryRenderedFeatures({ layers: [cid] })) {
        const n = f.properties.point_count;
        const r = (n >= 1000 ? 19 : n >= 100 ? 16 : n >= 10 ? 13 : 11) + 2;
        const p = m.project(f.geometry.coordinates);
        const x = rect.left + p.x + tx;
        const y = rect.top + p.y + ty;
        out.push({ layer: cid, n, box: [x - r, y - r, x + r, y + r] });
      }
    }
    return out;
  });
}

// 7. Proves numbered results cannot be taken for clusters: a dark pin standing on its point (not a coloured
//    circle), clusters faded with their counts hidden while results show, and the "me" dot on top.
test('7. phone: result pins are not cluster bubbles', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('pins', PHONE);
  const page = await session.openMap(context, '?lang=zh');
  const clusterOpacity = () => page.evaluate(() => Object.values(window.__waystation.layerIds)
    .map(([cid]) => window.__waystation.map.getPaintProperty(cid, 'circle-opacity')));
  const before = await clusterOpacity();
  assert.ok(before.every((o) => o > 0.6), `clusters drawn in full before any result (${before})`);
  const { answer } = await nearestVia(page, () => page.tap('#btn-near'));
  assert.ok(answer.features.length > 1);
  await page.waitForTimeout(700); // fitBounds
  await idle(page);
  const layerColours = await page.evaluate(() => Object.values(window.__waystation.layerIds)
    .map(([cid]) => window.__waystation.map.getPaintProperty(cid, 'circle-color')));
  const rgb = (hex) => `rgb(${parseInt(hex.slice(1, 3), 16)}, ${parseInt(hex.slice(3, 5), 16)}, ${parseInt(hex.slice(5, 7), 16)})`;
  const markers = await page.evaluate(() => {
    const ws = window.__waystation;
    const rect = ws.map.getContainer().getBoundingClientRect();
    return ws.state.resultMarkers.map((mk, i) => {
      const el = mk.getElement();
      const r = el.getBoundingClientRect();
      const p = ws.map.project(mk.getLngLat());
      const face = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(10, r.height / 2));
      const cs = face ? getComputedStyle(face) : null;
      return {
        i,
        text: el.textContent.trim(),
        bottom: r.bottom,
        pointY: rect.top + p.y,
        inView: r.top >= rect.top && r.bottom <= rect.bottom && r.left >= rect.left && r.right <= rect.right,
        faceInMarker: !!face && el.contains(face),
        fill: cs && cs.backgroundColor,
        radius: cs && cs.borderTopLeftRadius,
        width: r.width,
      };
    });
  });
  const inView = markers.filter((m) => m.inView);
  assert.ok(inView.length > 0, 'result pins in view');
  for (const m of inView) {
    assert.equal(m.text, String(m.i + 1), 'a pin shows its rank');
    // A pin: it stands on its point (the tail ends there), not centred on it as a cluster circle is.
    assert.ok(Math.abs(m.bottom - m.pointY) <= 3, `pin ${m.i + 1} stands on its point (${JSON.stringify(m)})`);
    if (!m.faceInMarker) continue; // covered by a nearer-ranked pin
    assert.ok(!layerColours.map(rgb).includes(m.fill), `pin ${m.i + 1} is not filled with a cluster colour (${m.fill})`);
    assert.notEqual(m.radius, `${m.width / 2}px`, 'a pin is not a circle');
    assert.ok(!/50%/.test(m.radius), 'a pin is not a circle');
  }
  const during = await clusterOpacity();
  assert.ok(during.every((o) => o <= 0.4), `clusters step back while results show (${during})`);
  const counts = await page.$$eval('.cluster-count', (els) => els.filter((e) => e.checkVisibility({ visibilityProperty: true })).length);
  assert.equal(counts, 0, 'no cluster counts among the result numbers');
  // The "me" dot: on screen, and what a tap on it hits.
  const me = await page.evaluate(() => {
    const el = document.querySelector('.me-marker');
    const r = el.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return { top: hit === el || el.contains(hit), hit: hit && hit.className, r: [r.left, r.top, r.width, r.height] };
  });
  assert.ok(me.top, `the "me" dot is above every pin (${JSON.stringify(me)})`);
  await page.screenshot({ path: path.join(SHOTS, 'mobile-pins.png') });
  await context.close();
});

// 8. Proves the layer chips and the park legend take one row on a 360×740 phone, and with the results sheet
//    open at least 300 px of map stays visible between the chips and the sheet.
test('8. phone: one row of chips, 300 px of map above the sheet', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('chips', PHONE);
  const page = await session.openMap(context, '?lang=zh');
  const bar = async () => page.evaluate(() => {
    const boxes = ['#layer-chips', '#park-legend', '#btn-legend'].map((sel) => document.querySelector(sel))
      .filter((el) => el && el.offsetParent !== null).map((el) => el.getBoundingClientRect());
    return { top: Math.min(...boxes.map((b) => b.top)), bottom: Math.max(...boxes.map((b) => b.bottom)) };
  });
  const b = await bar();
  assert.ok(b.bottom - b.top <= 56, `chips and legend at most 56 px high (${JSON.stringify(b)})`);
  const chipRows = new Set(await page.$$eval('.chip', (cs) => cs.map((c) => Math.round(c.getBoundingClientRect().top))));
  assert.equal(chipRows.size, 1, 'all chips in one row');
  // The legend opens from its button and folds again.
  await page.tap('#btn-legend');
  await page.locator('#park-legend').waitFor({ state: 'visible' });
  assert.ok((await page.textContent('#park-legend')).includes('未建会'), 'legend shows the union colours');
  await page.tap('#btn-legend');
  await page.locator('#park-legend').waitFor({ state: 'hidden' });
  await page.screenshot({ path: path.join(SHOTS, 'mobile-chips.png') });

  await nearestVia(page, () => page.tap('#btn-near'));
  const sheet = await page.locator('#panel').boundingBox();
  const b2 = await bar();
  const map = await page.locator('#map').boundingBox();
  const free = sheet.y - Math.max(b2.bottom, map.y);
  assert.ok(free >= 300, `at least 300 px of map between the chips and the sheet (${free} px; sheet ${JSON.stringify(sheet)}, bar ${JSON.stringify(b2)})`);
  assert.ok(await page.locator('#results .result:nth-child(1) a.go').isVisible(), 'the first result is in the sheet');
  // Pins and city names stay under the sheet and the chips (move result 1 under the sheet to see).
  await page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const sheet = document.getElementById('panel').getBoundingClientRect();
    const rect = m.getContainer().getBoundingClientRect();
    const p = m.project(ws.state.resultMarkers[0].getLngLat());
    m.panBy([0, p.y - (sheet.top - rect.top + 80)], { duration: 0 });
  });
  await idle(page);
  const covered = await page.evaluate(() => {
    const sheet = document.getElementById('panel').getBoundingClientRect();
    const bar = document.getElementById('layerbar').getBoundingClientRect();
    const out = [];
    for (const el of document.querySelectorAll('.result-marker, .place-label:not(.hidden)')) {
      const r = el.getBoundingClientRect();
      const x = r.left + r.width / 2;
      const y = r.top + r.height / 2;
      const under = (b) => x >= b.left && x <= b.right && y >= b.top && y <= b.bottom;
      const hit = document.elementFromPoint(x, y);
      if ((under(sheet) || under(bar)) && hit && el.contains(hit)) out.push(`${el.className} ${el.textContent}`);
    }
    return out;
  });
  assert.deepEqual(covered, [], 'nothing of the map is drawn over the sheet or the chips');
  await context.close();
});

// 9. Proves a layer's chip and its box in the nearest filter are one control: hiding 健身驿站 with its chip
//    leaves it out of the nearest request and its results; unticking a type box hides that layer's chip.
test('9. chips and the type filter are one notion of layers', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('layers', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context, '?lang=zh');
  await page.click('.chip[data-layer="fitness_station"]');
  assert.equal(await page.getAttribute('.chip[data-layer="fitness_station"]', 'aria-pressed'), 'false');
  const { url, answer } = await nearestVia(page, () => page.evaluate(([lon, lat]) => window.__waystation.nearest(lon, lat), [BEIJING.longitude, BEIJING.latitude]));
  const layers = url.searchParams.get('layers').split(',');
  assert.ok(!layers.includes('fitness_station'), `request leaves out the hidden layer (${url})`);
  assert.deepEqual(layers.sort(), ['courier_station', 'driver_home']);
  assert.ok(answer.features.length > 0);
  for (const f of answer.features) assert.notEqual(f.properties.layer, 'fitness_station', 'no hidden layer in the results');
  await page.click('#filters summary');
  assert.equal(await page.isChecked('#f-layers input[value="fitness_station"]'), false, 'the type box follows the chip');
  // …and the other way round: a type box hides the layer and re-runs the query.
  const again = await nearestVia(page, () => page.click('#f-layers label.check:has(input[value="courier_station"])'));
  assert.equal(again.url.searchParams.get('layers'), 'driver_home');
  assert.equal(await page.getAttribute('.chip[data-layer="courier_station"]', 'aria-pressed'), 'false', 'the chip follows the type box');
  assert.equal(await page.evaluate(() => window.__waystation.map.getLayoutProperty('courier_station-points', 'visibility')), 'none');
  // Showing it again with its chip searches it again.
  const back = await nearestVia(page, () => page.click('.chip[data-layer="courier_station"]'));
  assert.deepEqual(back.url.searchParams.get('layers').split(',').sort(), ['courier_station', 'driver_home']);
  assert.equal(await page.isChecked('#f-layers input[value="courier_station"]'), true);
  await context.close();
});

// 10. Proves the common driver filter is one tap (driver homes, open now, shower and truck parking), each card
//     lists the asked-for amenities first, and Go starts Amap's navigation to the GCJ-02 position.
test('10. phone: one-tap driver filter, matched amenities first, Go navigates', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('driver', PHONE);
  const page = await session.openMap(context, '?lang=zh');
  await nearestVia(page, () => page.tap('#btn-near'));
  const quick = page.locator('#q-driver');
  assert.ok(await quick.isVisible(), 'the quick driver filter is in the sheet');
  assert.match(await quick.textContent(), /营业中.*淋浴.*货车停车/);
  const { url, answer } = await nearestVia(page, () => quick.tap());
  assert.equal(url.searchParams.get('layers'), 'driver_home');
  assert.equal(url.searchParams.get('open_now'), 'true');
  assert.equal(url.searchParams.get('amenities'), 'shower,truck_parking');
  assert.equal(await quick.getAttribute('aria-pressed'), 'true');
  assert.ok(answer.features.length > 0, 'open driver homes with a shower and truck parking near Beijing');
  const cards = await page.$$eval('#results .result', (lis) => lis.map((li) => ({
    tags: [...li.querySelectorAll('.tags li')].map((x) => x.textContent.trim()),
    layer: li.querySelector('.result-layer').textContent,
    go: li.querySelector('a.go') && li.querySelector('a.go').href,
  })));
  const conv = await page.evaluate(async (pts) => {
    const { wgs84ToGcj02 } = await import('/coords.js');
    return pts.map(([lon, lat]) => wgs84ToGcj02(lon, lat));
  }, answer.features.map((f) => f.geometry.coordinates));
  cards.forEach((c, i) => {
    const p = answer.features[i].properties;
    assert.deepEqual(c.tags.slice(0, 2), ['淋浴', '货车停车'], `card ${i + 1} lists the asked-for amenities first (${c.tags})`);
    assert.ok(c.layer.startsWith('司机之家'));
    const go = new URL(c.go);
    assert.equal(go.origin + go.pathname, 'https://uri.amap.com/navigation', `Go starts navigation (${c.go})`);
    assert.equal(go.searchParams.get('mode'), 'car');
    assert.equal(go.searchParams.get('callnative'), '1');
    const [lon, lat, ...name] = go.searchParams.get('to').split(',');
    assert.equal(name.join(','), p.name, 'destination named');
    assert.ok(Math.abs(+lon - conv[i][0]) < 2e-6 && Math.abs(+lat - conv[i][1]) < 2e-6, `GCJ-02 destination (${go.searchParams.get('to')} vs ${conv[i]})`);
  });
  // The popup's Baidu link routes there too.
  await page.tap('#results .result:nth-child(1) .result-main');
  const baidu = await page.getAttribute('.maplibregl-popup a.navlink[href*="baidu"]', 'href');
  assert.match(baidu, /^https:\/\/api\.map\.baidu\.com\/direction\?destination=/);
  assert.match(baidu, /mode=driving/);
  await page.waitForTimeout(700); // the map eases to the result
  await idle(page);
  await page.screenshot({ path: path.join(SHOTS, 'mobile-driver.png') });
  await page.tap('.maplibregl-popup-close-button');
  // A second tap puts back what it replaced.
  const undo = await nearestVia(page, () => quick.tap());
  assert.deepEqual(undo.url.searchParams.get('layers').split(',').sort(), ['courier_station', 'driver_home', 'fitness_station']);
  assert.equal(undo.url.searchParams.get('amenities'), null);
  assert.equal(undo.url.searchParams.get('open_now'), null);
  assert.equal(await quick.getAttribute('aria-pressed'), 'false');
  await context.close();
});

// 11. Proves English fits a 360 px phone: no chip's name is cut, and a driver home is "Driver home" (singular).
test('11. phone: English chips fit, singular layer names', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('english', PHONE);
  const page = await session.openMap(context, '?lang=en');
  const cut = await page.$$eval('.chip', (cs) => cs.flatMap((c) => [...c.querySelectorAll('.name, .name > *, .count')]
    .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth)
    .map((e) => `${c.dataset.layer}: ${e.textContent} (${e.scrollWidth} > ${e.clientWidth})`)));
  assert.deepEqual(cut, [], 'no chip text overflows');
  const shown = await page.$$eval('.chip .name', (els) => els.map((e) => e.innerText.trim()));
  for (const name of shown) assert.ok(name.length > 0 && !name.includes('…'), `chip name "${name}" shown whole`);
  // The title is read whole beside the buttons (it was "Way…").
  const title = await page.$eval('#title', (h) => ({ text: h.innerText.trim(), scroll: h.scrollWidth, width: h.clientWidth }));
  assert.ok(title.text === 'Waystation' && title.scroll <= title.width, `title shown whole: ${JSON.stringify(title)}`);
  assert.equal((await page.innerText('#btn-near')).trim(), 'Near');
  await page.screenshot({ path: path.join(SHOTS, 'mobile-en-chips.png') });
  // Only driver homes: hide the other facility layers.
  await page.tap('.chip[data-layer="courier_station"]');
  await page.tap('.chip[data-layer="fitness_station"]');
  await nearestVia(page, () => page.tap('#btn-near'));
  const kinds = await page.$$eval('#results .result-layer', (els) => els.map((e) => e.textContent));
  assert.ok(kinds.length > 0);
  for (const k of kinds) {
    assert.ok(k.startsWith('Driver home'), `card says "Driver home" (${k})`);
    assert.ok(!k.startsWith('Driver homes'), `card is singular (${k})`);
  }
  await page.tap('#results .result:nth-child(1) .result-main');
  const pop = await page.textContent('.maplibregl-popup .pop-layer');
  assert.ok(pop.startsWith('Driver home') && !pop.startsWith('Driver homes'), `popup singular (${pop})`);
  await context.close();
});

// 12. Proves an embed naming an unknown layer says so, naming the valid ones, in Chinese and in English.
test('12. embed with an unknown layer explains itself', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('embed-bad', { viewport: { width: 360, height: 500 } });
  for (const [lang, words] of [['', '未知图层'], ['&lang=en', 'Unknown layer']]) {
    const page = await session.openMap(context, `?embed=1&layers=nonsense${lang}`);
    const notice = page.locator('#notice');
    await notice.waitFor({ state: 'visible' });
    const text = await notice.textContent();
    assert.ok(text.includes(words), `says "${words}" (${text})`);
    assert.ok(text.includes('nonsense'), 'names the unknown layer');
    for (const id of LAYERS) assert.ok(text.includes(id), `names the valid layer ${id}`);
    const box = await notice.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 360 && box.y >= 0, 'on screen');
    await page.screenshot({ path: path.join(SHOTS, `embed-unknown${lang ? '-en' : ''}.png`) });
    await page.close();
  }
  // A good ?layers= shows no notice.
  const ok = await session.openMap(context, '?embed=1&layers=driver_home');
  assert.equal(await ok.locator('#notice').isVisible(), false);
  await context.close();
});

// 13. Proves city names are placed clear of the cluster circles (their counts never sit on a name), on a desktop
//     and on a phone, and that names are still shown.
test('13. city labels do not collide with clusters', { timeout: TEST_TIMEOUT }, async () => {
  for (const [label, viewport] of [['labels-desktop', { width: 1280, height: 800 }], ['labels-phone', { width: 360, height: 740 }]]) {
    const context = await session.newContext(label, { viewport });
    const page = await session.openMap(context, '?lang=zh');
    for (const view of [null, { center: [116.4, 39.9], zoom: 7 }, { center: [118.35, 35.1], zoom: 8 }]) {
      if (view) await page.evaluate((v) => window.__waystation.map.jumpTo(v), view);
      await idle(page);
      await page.waitForTimeout(100);
      const labels = await page.$$eval('.place-label', (els) => els.filter((e) => !e.classList.contains('hidden'))
        .map((e) => { const r = e.getBoundingClientRect(); return { name: e.textContent, box: [r.left, r.top, r.right, r.bottom] }; }));
      const circles = await clusterCircles(page);
      assert.ok(labels.length >= (view ? 1 : 3), `${label} ${JSON.stringify(view)}: city names shown (${labels.length})`);
      assert.ok(circles.length > 0, 'clusters drawn');
      const hits = [];
      for (const l of labels) {
        for (const c of circles) {
          const [a, b] = [l.box, c.box];
          if (a[0] < b[2] - 1 && b[0] < a[2] - 1 && a[1] < b[3] - 1 && b[1] < a[3] - 1) hits.push(`${l.name} × ${c.layer}(${c.n})`);
        }
      }
      assert.deepEqual(hits, [], `${label} ${JSON.stringify(view)}: no city name under a cluster`);
    }
    await page.screenshot({ path: path.join(SHOTS, `${label}.png`) });
    await context.close();
  }
});

// 14. Proves that on a GCJ-02 basemap (Amap, Tencent) the page still draws from tiles,
//     asked for in GCJ-02 (?crs=gcj02), with no layer GeoJSON above the page-data
//     limit; a point is drawn where its shifted position is; a click on it opens the
//     WGS-84 detail; a click on the empty map asks for the nearest at the WGS-84
//     position under the pointer. The page's /api/v1/config is answered with an
//     Amap-like basemap without raster sources (nothing is fetched from outside).
test('14. GCJ-02 basemap: shifted tiles, positions back in WGS-84', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('gcj02', { viewport: { width: 1280, height: 800 }, serviceWorkers: 'block' });
  await context.route('**/api/v1/config', async (route) => {
    const res = await route.fetch();
    const config = await res.json();
    config.basemap = { kind: 'amap', crs: 'gcj02', sources: [] };
    await route.fulfill({ response: res, json: config });
  });
  const page = await session.openMap(context);
  await idle(page);
  const urls = session.requests.filter((r) => r.label === 'gcj02').map((r) => new URL(r.url));
  const tiles = urls.filter((u) => u.pathname.endsWith('.mvt'));
  assert.ok(tiles.length > 0, 'the map asked for tiles');
  assert.deepEqual(tiles.filter((u) => u.searchParams.get('crs') !== 'gcj02').map(String), [], 'every tile in GCJ-02');
  const counts = Object.fromEntries((await apiJSON('/api/v1/layers')).body.layers.map((l) => [l.id, l.count]));
  const pageData = urls.filter((u) => /^\/api\/v1\/layers\/[^/]+$/.test(u.pathname));
  const limit = 20000; // web/app.js PAGE_DATA_MAX
  for (const u of pageData) {
    const id = decodeURIComponent(u.pathname.split('/').pop());
    assert.ok(counts[id] <= limit, `${id} (${counts[id]} features) loaded as GeoJSON`);
  }

  // A driver home: drawn at its GCJ-02 position, not at its WGS-84 one.
  const f = await page.evaluate(() => {
    const ws = window.__waystation;
    const g = ws.state.data.driver_home.features[0];
    return { id: g.properties.id ?? g.id, name: g.properties.name, wgs: g.geometry.coordinates };
  });
  const gcj = wgs84ToGcj02(...f.wgs);
  await page.evaluate((c) => window.__waystation.map.jumpTo({ center: c, zoom: 16 }), gcj);
  await idle(page);
  const drawn = await page.evaluate(({ id, gcj, wgs }) => {
    const m = window.__waystation.map;
    const hit = m.queryRenderedFeatures({ layers: ['driver_home-points'] }).find((x) => x.properties.id === id);
    if (!hit) return null;
    const at = m.project(hit.geometry.coordinates);
    const d = (p) => { const q = m.project(p); return Math.hypot(q.x - at.x, q.y - at.y); };
    const r = m.getContainer().getBoundingClientRect();
    return { gcj: d(gcj), wgs: d(wgs), x: r.left + at.x, y: r.top + at.y };
  }, { id: f.id, gcj, wgs: f.wgs });
  assert.ok(drawn, `driver home ${f.id} is drawn`);
  assert.ok(drawn.gcj <= 1.5, `drawn ${drawn.gcj.toFixed(2)} px from its GCJ-02 position`);
  assert.ok(drawn.wgs > 50, `and ${drawn.wgs.toFixed(0)} px from its WGS-84 one`);
  const detail = page.waitForResponse((r) => r.url().endsWith(`/api/v1/features/${encodeURIComponent(f.id)}`));
  await page.mouse.click(drawn.x, drawn.y);
  assert.equal((await detail).status(), 200);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  assert.ok((await popup.textContent()).includes(f.name), 'the popup shows the driver home');
  await page.evaluate(() => document.querySelector('.maplibregl-popup-close-button')?.click());
  // The popup's fitting pan (300 ms) must be over, or the spot moves under the pointer.
  await page.waitForFunction(() => !window.__waystation.map.isMoving());

  // An empty spot: the nearest query is at the WGS-84 position under the pointer.
  const spot = await page.evaluate(() => {
    const m = window.__waystation.map;
    const r = m.getContainer().getBoundingClientRect();
    for (let y = 200; y < r.height - 100; y += 37) {
      for (let x = 500; x < r.width - 100; x += 41) {
        if (m.queryRenderedFeatures([[x - 30, y - 30], [x + 30, y + 30]]).filter((h) => h.source.startsWith('ws-')).length) continue;
        const ll = m.unproject([x, y]);
        return { x: r.left + x, y: r.top + y, lon: ll.lng, lat: ll.lat };
      }
    }
    return null;
  });
  assert.ok(spot, 'an empty spot of the map');
  const nearest = page.waitForResponse((r) => r.url().includes('/api/v1/nearest?'));
  await page.mouse.click(spot.x, spot.y);
  const qs = new URL((await nearest).url()).searchParams;
  const [wlon, wlat] = gcj02ToWgs84(spot.lon, spot.lat);
  assert.ok(Math.abs(+qs.get('lon') - wlon) < 2e-5 && Math.abs(+qs.get('lat') - wlat) < 2e-5,
    `nearest asked at ${qs.get('lon')},${qs.get('lat')}, the WGS-84 of ${spot.lon},${spot.lat} is ${wlon},${wlat}`);
  assert.ok(Math.abs(+qs.get('lon') - spot.lon) > 1e-3, 'not at the display position');
  await page.screenshot({ path: path.join(SHOTS, 'map-gcj02.png') });
  await context.close();
});

// 3. Proves no request of the whole session went to any host but this machine (data: and blob: allowed).
//    Run after every other test so that it covers them all.
test('3. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 5. Proves no console error or uncaught exception happened on any page of the session.
test('5. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
