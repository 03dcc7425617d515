// Browser tests of the search box (搜索, web/search.js) in headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/search.test.mjs
//
// The server must already be running on the bundled data. Screenshots go to
// target/screenshots/ at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { BASE, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

const session = new Session();

before(() => session.start());
after(() => session.close());

// Types `text` into the search box and waits for the answer to exactly that text
// and for its suggestions on screen; returns the API's answer.
async function typeAndWait(page, text) {
  const answered = page.waitForResponse((r) => {
    const u = new URL(r.url());
    return u.pathname === '/api/v1/search' && u.searchParams.get('q') === text;
  });
  await page.locator('#search-q').fill('');
  await page.locator('#search-q').pressSequentially(text, { delay: 30 });
  const response = await answered;
  assert.equal(response.status(), 200, `search for ${text}`);
  const answer = await response.json();
  await page.locator('#search-list').waitFor({ state: 'visible' });
  const n = Math.min(answer.places.length, 3) + answer.features.length;
  await page.waitForFunction((k) => document.querySelectorAll('#search-list .search-item').length === k, n);
  return answer;
}

// The suggestions as shown: places, then facilities (by id).
async function shown(page) {
  return page.$$eval('#search-list .search-item', (lis) => lis.map((li) => ({
    kind: li.classList.contains('place') ? 'place' : 'facility',
    id: li.dataset.id || null,
    name: li.querySelector('.search-name').textContent,
    sub: li.querySelector('.search-sub').textContent,
  })));
}

function assertListMatches(list, answer) {
  const places = answer.places.slice(0, 3);
  assert.equal(list.length, places.length + answer.features.length, 'one suggestion per place and facility');
  places.forEach((p, i) => assert.equal(list[i].kind, 'place', `suggestion ${i + 1} is a place`));
  answer.features.forEach((f, i) => {
    const item = list[places.length + i];
    assert.equal(item.kind, 'facility');
    assert.equal(item.id, String(f.properties.id), `facility ${i + 1} in the API's order`);
  });
}

async function mapCentre(page) {
  return page.evaluate(() => {
    const ws = window.__waystation;
    const c = ws.map.getCenter();
    return { wgs: ws.state.conv.fromDisplay([c.lng, c.lat]), zoom: ws.map.getZoom() };
  });
}

async function waitMoved(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__waystation.map;
    if (!m.isMoving()) { m.once('moveend', () => r()); setTimeout(r, 3000); } else m.once('moveend', () => r());
  }));
}

function near(a, b, deg) {
  return Math.abs(a[0] - b[0]) < deg && Math.abs(a[1] - b[1]) < deg;
}

// 1. Proves that typing shows the API's suggestions (places first, then the
// facilities nearest the map's centre), that picking a place fits the map to it
// and that picking a facility flies to it and opens its card.
test('1. desktop: suggestions, a place, a facility', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('search-desktop', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context);
  assert.ok(await page.locator('#search-q').isVisible(), 'the field is in the top bar');

  const answer = await typeAndWait(page, '临沂');
  const list = await shown(page);
  assertListMatches(list, answer);
  assert.equal(list[0].name, '临沂市', 'the city first');
  assert.ok(list[0].sub.includes('城市'), 'labelled a city');
  const url = new URL((await page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => e.name).filter((n) => n.includes('/api/v1/search?')).pop())));
  assert.ok(url.searchParams.has('lon') && url.searchParams.has('lat'), 'asked from the map centre');

  // Keyboard: ↓ marks the first suggestion; Enter picks it (the city): the map fits its extent.
  const before = await mapCentre(page);
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.getAttribute('#search-q', 'aria-activedescendant'), 'search-opt-0');
  await page.keyboard.press('Enter');
  await waitMoved(page);
  const city = answer.places[0];
  const after = await mapCentre(page);
  const [w, s, e, n] = city.bbox;
  assert.ok(after.wgs[0] > w - 0.2 && after.wgs[0] < e + 0.2 && after.wgs[1] > s - 0.2 && after.wgs[1] < n + 0.2,
    `the map is over 临沂市 (${JSON.stringify(after)})`);
  assert.ok(after.zoom > before.zoom, 'and zoomed in');
  assert.ok(await page.locator('#search-list').isHidden(), 'the list closes');

  // A facility: found apart (兰山 + 司机之家), picked with the mouse.
  const answer2 = await typeAndWait(page, '兰山司机之家');
  assertListMatches(await shown(page), answer2);
  const f = answer2.features[0];
  assert.equal(f.properties.id, 'dh-linyi-caiyuan');
  await page.locator(`#search-list .search-item[data-id="${f.properties.id}"]`).click();
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  await waitMoved(page);
  assert.ok((await popup.textContent()).includes(f.properties.name), 'its card opens');
  await page.locator('.maplibregl-popup a.navlink').first().waitFor({ state: 'visible' });
  const there = await mapCentre(page);
  assert.ok(near(there.wgs, f.geometry.coordinates, 0.05), `the map flew there (${JSON.stringify(there)})`);
  assert.ok(there.zoom >= 13.5, 'close up');
  await page.screenshot({ path: path.join(SHOTS, 'search-desktop.png') });

  // Nothing found.
  await page.locator('#search-q').fill('');
  const none = page.waitForResponse((r) => new URL(r.url()).searchParams.get('q') === '火星基地');
  await page.locator('#search-q').pressSequentially('火星基地', { delay: 30 });
  assert.equal((await (await none).json()).features.length, 0);
  await page.locator('#search-list .search-message').waitFor({ state: 'visible' });
  assert.equal(await page.locator('#search-list .search-message').textContent(), '没有找到');
  await context.close();
});

// 2. Proves the box works on a 360 px phone: the magnifier opens the field over
// the bar, pinyin finds 临沂's facilities, nothing sticks out sideways, and a
// tapped facility opens its card on the map.
test('2. phone: magnifier, pinyin, tap a facility', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('search-phone', {
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
  });
  const page = await session.openMap(context);
  const open = await page.locator('#search-open').boundingBox();
  assert.ok(open && open.width >= 40 && open.height >= 40, 'the magnifier is a big enough target');
  assert.ok(open.x + open.width <= 360, 'the magnifier is on screen');
  assert.ok(await page.locator('#search-q').isHidden(), 'the field is folded away');
  await page.tap('#search-open');
  await page.locator('#search-q').waitFor({ state: 'visible' });
  const field = await page.locator('#search-q').boundingBox();
  assert.ok(field.width > 220 && field.x >= 0 && field.x + field.width <= 360, `the field spans the bar (${JSON.stringify(field)})`);
  assert.equal(await page.evaluate(() => document.activeElement.id), 'search-q', 'and has the focus');

  const answer = await typeAndWait(page, 'linyi');
  assertListMatches(await shown(page), answer);
  assert.ok(answer.places.some((p) => p.name === '临沂市'));
  for (const f of answer.features) {
    assert.ok(f.properties.city === '临沂市' || f.properties.name.includes('临沂'), `${f.properties.name} is Linyi's`);
  }
  const over = await page.evaluate(() => {
    const w = window.innerWidth;
    return [...document.querySelectorAll('body *')]
      .filter((el) => !el.closest('.maplibregl-map'))
      .filter((el) => { const r = el.getBoundingClientRect(); return r.width && (r.right > w + 1 || r.left < -1); })
      .map((el) => `${el.tagName}#${el.id}.${el.className}`);
  });
  assert.deepEqual(over, [], 'nothing sticks out sideways');
  const small = await page.$$eval('#search-list .search-item', (lis) => lis
    .map((li) => li.getBoundingClientRect()).filter((r) => r.height < 44 || r.width < 300).length);
  assert.equal(small, 0, 'suggestions are big enough to tap');
  await page.screenshot({ path: path.join(SHOTS, 'search-mobile.png') });

  const f = answer.features[0];
  await page.tap(`#search-list .search-item[data-id="${f.properties.id}"]`);
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  await waitMoved(page);
  assert.ok((await popup.textContent()).includes(f.properties.name), 'its card opens');
  const there = await mapCentre(page);
  assert.ok(near(there.wgs, f.geometry.coordinates, 0.1), `the map flew there (${JSON.stringify(there)})`);
  assert.ok(await page.locator('#search-q').isHidden(), 'the field folds away again');
  await page.screenshot({ path: path.join(SHOTS, 'search-mobile-picked.png') });
  await context.close();
});

// 3. Proves the box speaks English: labels, places by their English names.
test('3. English', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('search-en', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context, '?lang=en');
  assert.match(await page.getAttribute('#search-q', 'placeholder'), /^Search/);
  await typeAndWait(page, 'ly');
  const list = await shown(page);
  assert.ok(list.some((x) => x.kind === 'place' && x.name === 'Linyi' && x.sub.startsWith('City')), JSON.stringify(list.slice(0, 3)));
  // Switching to Chinese relabels the box.
  await page.click('#btn-lang');
  await page.waitForFunction(() => document.getElementById('search-q').placeholder.startsWith('搜索'));
  await context.close();
});

// 4. Proves that no request of these pages left this machine.
test('4. no request leaves 127.0.0.1', () => {
  session.assertNoOutsideRequests();
  assert.ok(session.requests.some(({ url }) => url.startsWith(`${BASE}/api/v1/search?`)), 'the box asked the server');
});

// 5. Proves no page logged an error.
test('5. no console errors', () => {
  session.assertNoConsoleErrors();
});
