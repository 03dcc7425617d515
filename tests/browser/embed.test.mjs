// Browser tests of the embed builder (/embed: web/embed.html, embed.js), in
// headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/embed.test.mjs
//
// The server must already be running with the bundled data and the default
// basemap (none). Screenshots go to target/screenshots/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BASE, READY_TIMEOUT, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

const session = new Session();
const ALL_LAYERS = ['driver_home', 'courier_station', 'fitness_station', 'park'];

before(() => session.start());
after(() => session.close());

// Opens the builder through its route and waits until its preview map is ready.
async function openBuilder(context, query = '') {
  const page = await context.newPage();
  const resp = await page.goto(`${BASE}/${process.env.EMBED_PAGE || "embed"}${query}`, { waitUntil: 'load' });
  assert.equal(resp.status(), 200);
  await page.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: READY_TIMEOUT });
  await previewReady(page);
  return page;
}

// Waits until the preview iframe shows `src` (if given) and its map is ready.
async function previewReady(page, src) {
  if (src) await page.waitForFunction((s) => document.getElementById('preview').getAttribute('src') === s, src, { timeout: READY_TIMEOUT });
  await page.waitForFunction(() => document.body.dataset.preview === 'ready', null, { timeout: READY_TIMEOUT });
  const frame = await (await page.$('#preview')).contentFrame();
  assert.ok(frame, 'the preview frame');
  await frame.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  return frame;
}

// The snippet as it must be, from the settings.
function expectedSnippet({ layers, center, zoom, lang, height }) {
  const q = [`embed=1`, `layers=${layers.join(',')}`];
  if (center) q.push(`center=${center.join(',')}`, `zoom=${zoom}`);
  q.push(`lang=${lang}`);
  const title = lang === 'en' ? 'Waystation map' : '驿站地图';
  return `<iframe src="${BASE}/?${q.join('&amp;')}" width="100%" height="${height}" style="border:0" loading="lazy" title="${title}" allowfullscreen></iframe>`;
}

// The preview's map as it is: its layers, centre (WGS-84), zoom, language, embed mode.
async function mapView(frame) {
  return frame.evaluate(() => {
    const ws = window.__waystation;
    const c = ws.map.getCenter();
    return {
      layers: ws.state.layers.map((l) => l.id),
      visible: [...ws.state.visible].sort(),
      center: ws.state.conv.fromDisplay([c.lng, c.lat]),
      zoom: ws.map.getZoom(),
      lang: document.documentElement.lang,
      embed: document.body.classList.contains('embed'),
      notice: document.getElementById('notice').hidden ? '' : document.getElementById('notice-text').textContent,
    };
  });
}

// 1. Proves the builder at /embed offers every layer and the cities of /api/v1/places, and that picking layers,
//    a city, the language and the height changes the snippet to exactly the iframe the map reads, the preview iframe
//    loads the public map in embed mode with those settings, and the copy button puts the snippet on the clipboard.
test('1. pick layers and a city: snippet, preview, copy', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('builder', { viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await openBuilder(context);
  assert.ok(page.url().endsWith('/embed.html'), `the route leads to the page (${page.url()})`);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN', 'Chinese first');

  // Every layer of /api/v1/layers, all chosen at first; every city of /api/v1/places offered.
  const layers = await page.$$eval('#e-layers input', (els) => els.map((e) => ({ id: e.value, on: e.checked })));
  assert.deepEqual(layers, ALL_LAYERS.map((id) => ({ id, on: true })));
  const places = await (await fetch(`${BASE}/api/v1/places`)).json();
  const offered = await page.$$eval('#e-cities option', (os) => os.map((o) => o.value));
  assert.deepEqual(offered, places.features.map((f) => f.properties.name));
  const first = await page.inputValue('#e-snippet');
  assert.equal(first, expectedSnippet({ layers: ALL_LAYERS, lang: 'zh', height: 480 }));

  // Two layers and a city.
  await page.uncheck('#e-layers input[value="fitness_station"]');
  await page.uncheck('#e-layers input[value="park"]');
  await page.fill('#e-city', '临沂市');
  await page.press('#e-city', 'Enter');
  await page.locator('#e-city').blur();
  const linyi = places.features.find((f) => f.properties.name === '临沂');
  const centre = linyi.geometry.coordinates.map((x) => Number(x.toFixed(4)));
  const want = { layers: ['driver_home', 'courier_station'], center: centre, zoom: 10, lang: 'zh', height: 480 };
  await page.waitForFunction((s) => document.getElementById('e-snippet').value === s, expectedSnippet(want));
  assert.equal(await page.inputValue('#e-city'), '临沂', 'the city as /places names it');
  assert.deepEqual([await page.inputValue('#e-lon'), await page.inputValue('#e-lat'), await page.inputValue('#e-zoom')],
    [String(centre[0]), String(centre[1]), '10']);

  // The preview is the snippet's map, in embed mode, with those layers, there.
  const src = `${BASE}/?embed=1&layers=driver_home,courier_station&center=${centre.join(',')}&zoom=10&lang=zh`;
  let frame = await previewReady(page, src);
  let view = await mapView(frame);
  assert.equal(view.embed, true, 'embed mode');
  assert.deepEqual(view.layers, ['driver_home', 'courier_station']);
  assert.deepEqual(view.visible, ['courier_station', 'driver_home']);
  assert.ok(Math.abs(view.center[0] - centre[0]) < 1e-3 && Math.abs(view.center[1] - centre[1]) < 1e-3, `centred on Linyi (${view.center})`);
  assert.ok(Math.abs(view.zoom - 10) < 1e-6, `zoom 10 (${view.zoom})`);
  assert.equal(view.lang, 'zh-CN');
  assert.equal(view.notice, '');
  assert.equal(await frame.evaluate(() => getComputedStyle(document.getElementById('topbar')).display), 'none', 'no page chrome in the embed');

  // English map, 600 px high.
  await page.check('input[name="e-lang"][value="en"]');
  await page.fill('#e-height', '600');
  const wantEn = { ...want, lang: 'en', height: 600 };
  await page.waitForFunction((s) => document.getElementById('e-snippet').value === s, expectedSnippet(wantEn));
  frame = await previewReady(page, src.replace('lang=zh', 'lang=en'));
  view = await mapView(frame);
  assert.equal(view.lang, 'en');
  assert.equal(await page.getAttribute('#preview', 'height'), '600');
  assert.equal(Math.round((await page.locator('#preview').boundingBox()).height), 600, 'the preview is as high as the snippet says');

  // Copy: the clipboard holds the snippet, exactly.
  await page.click('#e-copy');
  await page.waitForFunction(() => document.getElementById('e-copied').textContent !== '');
  assert.equal(await page.textContent('#e-copied'), '已复制到剪贴板');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(clip, expectedSnippet(wantEn));
  await page.screenshot({ path: path.join(SHOTS, 'embed-builder.png') });

  // Dragging the preview sets the centre and zoom (and the city no longer applies).
  await frame.evaluate(() => {
    const ws = window.__waystation;
    ws.map.jumpTo({ center: ws.state.conv.toDisplay([117.0, 36.65]), zoom: 8 });
  });
  const moved = { ...wantEn, center: [117, 36.65], zoom: 8 };
  await page.waitForFunction((s) => document.getElementById('e-snippet').value === s, expectedSnippet(moved));
  assert.equal(await page.inputValue('#e-city'), '');
  assert.equal(await page.inputValue('#e-zoom'), '8');

  // No area: the snippet has no centre and the map fits all the data.
  await page.click('#e-reset-view');
  await page.waitForFunction((s) => document.getElementById('e-snippet').value === s,
    expectedSnippet({ ...wantEn, center: null }));
  await context.close();
});

// 2. Proves an unknown city or layer is said over the preview (and never reaches the snippet), a bad height is
//    refused in words, no layer at all disables the copy, and the public map itself shows a notice for an unknown
//    layer in an embed.
test('2. unknown city and layer, bad values', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('unknown', { viewport: { width: 1280, height: 900 } });
  const page = await openBuilder(context, '?layers=driver_home,no_such_layer&city=临沂市');
  const notice = page.locator('#preview-notice');
  assert.ok(await notice.isVisible(), 'a notice over the preview');
  assert.match(await notice.textContent(), /未知图层：no_such_layer/);
  const snippet = await page.inputValue('#e-snippet');
  assert.ok(!snippet.includes('no_such_layer') && snippet.includes('layers=driver_home&amp;'), snippet);

  await page.fill('#e-city', '火星市');
  await page.locator('#e-city').dispatchEvent('change');
  await page.waitForFunction(() => document.getElementById('preview-notice').textContent.includes('火星市'));
  assert.match(await notice.textContent(), /未找到城市“火星市”/);
  assert.equal(await page.inputValue('#e-snippet'), snippet, 'the snippet keeps the last good area');
  await page.screenshot({ path: path.join(SHOTS, 'embed-builder-unknown.png') });

  // A choice clears the notice.
  await page.check('#e-layers input[value="park"]');
  await page.fill('#e-city', '');
  await page.locator('#e-city').dispatchEvent('change');
  await page.waitForFunction(() => document.getElementById('preview-notice').hidden);

  await page.fill('#e-height', '5');
  await page.waitForFunction(() => !document.getElementById('e-error').hidden);
  assert.match(await page.textContent('#e-error'), /高度应为 200–1200 像素/);
  assert.equal(await page.getAttribute('#e-height', 'aria-invalid'), 'true');
  await page.fill('#e-height', '480');
  for (const id of ALL_LAYERS) await page.uncheck(`#e-layers input[value="${id}"]`);
  assert.ok(await page.locator('#e-copy').isDisabled(), 'nothing to copy without a layer');
  assert.match(await page.textContent('#e-error'), /请至少选择一个图层/);

  // The public map in an embed: its own notice for a layer it does not have.
  const map = await context.newPage();
  await map.goto(`${BASE}/?embed=1&layers=courier_station,no_such_layer&lang=zh`);
  await map.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  assert.ok(await map.locator('#notice').isVisible());
  assert.match(await map.textContent('#notice-text'), /未知图层：no_such_layer/);
  await context.close();
});

// 3. Proves the builder switches to English and fits a 360 px phone without sideways scrolling.
test('3. English and a phone', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('phone', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await openBuilder(context);
  await page.tap('#btn-lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.textContent('#e-copy'), 'Copy code');
  const layer = (await (await fetch(`${BASE}/api/v1/layers`)).json()).layers[0];
  assert.equal(await page.textContent('#e-layers label:first-child span'), layer.name_en, 'layer names in English');
  const m = await page.evaluate(() => ({ w: window.innerWidth, doc: document.documentElement.scrollWidth }));
  assert.ok(m.doc <= m.w, `no horizontal scroll (${m.doc} > ${m.w})`);
  await page.screenshot({ path: path.join(SHOTS, 'embed-builder-mobile.png'), fullPage: true });
  await context.close();
});

// 4. Proves no request of the whole session went to any host but this machine.
test('4. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 5. Proves no console error (a CSP refusal of an inline script would be one) or uncaught exception happened.
test('5. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
