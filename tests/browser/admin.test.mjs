// Browser tests of the editor page (/admin.html) in headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 WAYSTATION_TOKEN=ws_… node tests/browser/admin.test.mjs
//
// The server must already be running on a database (`waystation serve --db …`) and
// WAYSTATION_TOKEN must be an admin token of it (`waystation token create --db …
// --name browser --role admin`). The tests write to that database: one new courier
// station in Gansu per run (with its edits and a revert); the import is a dry run.
// They pass when run again on the same database. Screenshots go to
// target/screenshots/admin-*.png at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE, READY_TIMEOUT, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';
import { wgs84ToGcj02 } from '../../web/coords.js';

const TOKEN = process.env.WAYSTATION_TOKEN || '';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, 'fixtures', 'stations.xlsx');
const WRONG_TOKEN = 'ws_this-token-does-not-exist';

// Chromium logs every non-2xx fetch as a console error: these are provoked on purpose
// (the wrong token's 401, the nameless save's 422, the stale save's 412).
const session = new Session((url, text) => (url.includes('/api/v1/whoami') && /status of 401/.test(text))
  || (url.includes('/api/v1/features/') && /status of (422|412)/.test(text)));

// What the tests pass on: the station created in test 2.
const created = { id: null, name: null, lon: null, lat: null };

async function apiJSON(p, headers = {}) {
  const r = await fetch(`${BASE}${p}`, { headers });
  return { status: r.status, type: r.headers.get('content-type') || '', body: await r.json() };
}

async function openAdmin(context) {
  const page = await context.newPage();
  await page.goto(`${BASE}/admin.html`, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__admin && window.__admin.ready === true, null, { timeout: READY_TIMEOUT });
  return page;
}

async function signIn(page, token = TOKEN) {
  await page.fill('#token', token);
  await page.click('#btn-signin');
  await page.locator('#workspace').waitFor({ state: 'visible' });
}

async function idle(page) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__admin.map;
    m.once('idle', () => r());
    m.triggerRepaint();
  }));
}

// Centres the map on a WGS-84 point and returns its page pixel.
async function pixelOf(page, lon, lat, zoom) {
  await page.evaluate(([x, y, z]) => {
    const a = window.__admin;
    a.map.jumpTo({ center: a.state.conv.toDisplay([x, y]), zoom: z });
  }, [lon, lat, zoom]);
  await idle(page);
  return page.evaluate(([x, y]) => {
    const a = window.__admin;
    const p = a.map.project(a.state.conv.toDisplay([x, y]));
    const r = a.map.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y, crs: a.state.conv.crs };
  }, [lon, lat]);
}

// A spot in the Hexi corridor (Gansu) with no facility within 1 km: the first free
// point of a fixed grid, so a second run on the same database takes the next one.
async function freeSpot() {
  for (let i = 0; i < 200; i++) {
    const lon = +(100.30 + (i % 20) * 0.05).toFixed(4);
    const lat = +(39.10 + Math.floor(i / 20) * 0.04).toFixed(4);
    const near = (await apiJSON(`/api/v1/nearest?lon=${lon}&lat=${lat}&k=1`)).body;
    const d = near.features.length ? near.features[0].properties.distance_m : Infinity;
    if (d > 1000) return { lon, lat };
  }
  throw new Error('no free spot left on the grid from 100.30E 39.10N (200 runs on this database?)');
}

async function noSideScroll(page, what) {
  const m = await page.evaluate(() => {
    const w = window.innerWidth;
    const over = [];
    for (const el of document.querySelectorAll('body *')) {
      if (el.closest('.maplibregl-map') || el.closest('.table-wrap')) continue; // clipped / scrolled by design
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > w + 1 || r.left < -1)) over.push(`${el.tagName}#${el.id}.${el.className}`);
    }
    return { w, doc: document.documentElement.scrollWidth, over };
  });
  assert.ok(m.doc <= m.w, `${what}: no horizontal scroll (${JSON.stringify(m)})`);
  assert.deepEqual(m.over, [], `${what}: nothing sticks out sideways`);
}

before(async () => {
  assert.ok(TOKEN, 'WAYSTATION_TOKEN is set (waystation token create --db … --role admin)');
  await session.start();
});
after(() => session.close());

// 1. Proves a wrong token shows the server's 401 detail (in the page's language), the right one signs in (kept
// in sessionStorage only, and across a reload), and sign-out forgets it.
test('1. sign in with a token', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('signin', { viewport: { width: 1280, height: 800 } });
  const page = await openAdmin(context);
  assert.equal(await page.locator('#signin').isVisible(), true, 'the sign-in form shows first');
  assert.equal(await page.getAttribute('#token', 'type'), 'password');
  assert.equal(await page.locator('#workspace').isVisible(), false, 'no tools before signing in');

  // Asked as the page asks, in its language (Chinese): the detail shown is Chinese.
  const wrong = await apiJSON('/api/v1/whoami', { Authorization: `Bearer ${WRONG_TOKEN}`, 'Accept-Language': 'zh-CN' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.type, /problem\+json/);
  assert.equal(wrong.body.detail, '令牌无效或已被吊销', 'the 401 in Chinese');
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/whoami'));
  await page.fill('#token', WRONG_TOKEN);
  await page.click('#btn-signin');
  assert.equal((await respP).status(), 401);
  await page.waitForFunction((d) => document.querySelector('#signin-error').textContent === d, wrong.body.detail);
  assert.equal(await page.getAttribute('#token', 'aria-invalid'), 'true');
  assert.equal(await page.locator('#workspace').isVisible(), false);

  const me = (await apiJSON('/api/v1/whoami', { Authorization: `Bearer ${TOKEN}` })).body;
  await signIn(page);
  assert.ok((await page.textContent('#who')).includes(me.name), `shows who is signed in (${me.name})`);
  assert.equal(await page.locator('#btn-signout').isVisible(), true);
  assert.equal(await page.locator('#signin').isVisible(), false);
  const stored = await page.evaluate(() => ({ s: sessionStorage.getItem('waystation.token'), l: JSON.stringify(localStorage) }));
  assert.equal(stored.s, TOKEN, 'the token is in sessionStorage');
  assert.ok(!stored.l.includes(TOKEN), 'and not in localStorage');
  await page.screenshot({ path: path.join(SHOTS, 'admin-signin.png') });

  await page.reload();
  await page.waitForFunction(() => window.__admin && window.__admin.ready === true, null, { timeout: READY_TIMEOUT });
  await page.locator('#workspace').waitFor({ state: 'visible' });
  assert.ok((await page.textContent('#who')).includes(me.name), 'still signed in after a reload');

  await page.click('#btn-signout');
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('waystation.token')), null, 'sign-out forgets the token');
  await context.close();
});

// 2. Proves a courier station created by clicking an empty spot of the map, typing a
// name and saving is stored (201 with an ETag) and served at once by the public
// nearest API; the form shows the WGS-84 position and its GCJ-02 equivalent.
test('2. create a station by clicking the map', { timeout: TEST_TIMEOUT }, async () => {
  const spot = await freeSpot();
  const context = await session.newContext('create', { viewport: { width: 1280, height: 800 } });
  const page = await openAdmin(context);
  await signIn(page);
  await page.selectOption('#find-layer', 'courier_station');
  await page.click('#btn-new');
  await page.locator('#edit-form').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#f-layer'), 'courier_station');

  const px = await pixelOf(page, spot.lon, spot.lat, 13);
  await page.mouse.click(px.x, px.y);
  await page.waitForFunction(() => document.querySelector('#f-lon').value !== '');
  const lon = Number(await page.inputValue('#f-lon'));
  const lat = Number(await page.inputValue('#f-lat'));
  if (px.crs === 'wgs84') {
    // Within a couple of pixels at zoom 13 (1 px ≈ 0.00009° of longitude).
    assert.ok(Math.abs(lon - spot.lon) < 0.0005 && Math.abs(lat - spot.lat) < 0.0005, `position from the click (${lon}, ${lat} vs ${JSON.stringify(spot)})`);
  }
  const gcj = wgs84ToGcj02(lon, lat);
  assert.ok(Math.abs(Number(await page.inputValue('#f-lon-gcj')) - gcj[0]) < 2e-6, 'GCJ-02 longitude shown');
  assert.ok(Math.abs(Number(await page.inputValue('#f-lat-gcj')) - gcj[1]) < 2e-6, 'GCJ-02 latitude shown');
  assert.ok(Math.abs(gcj[0] - lon) > 1e-4, 'and it differs from WGS-84 in China');
  assert.equal(await page.locator('.edit-marker').count(), 1, 'a marker shows the position');

  const name = `浏览器测试驿站 ${new Date().toISOString().slice(0, 19).replace('T', ' ')}`;
  await page.fill('#f-name', name);
  await page.fill('#f-address', '甘肃省张掖市（浏览器测试）');
  await page.fill('#f-city', '张掖市');
  await page.fill('#f-opening_hours', 'Mo-Su 08:00-20:00');
  await page.check('#f-amenities input[value="toilet"]');
  await page.check('#f-amenities input[value="drinking_water"]');
  const saveP = page.waitForResponse((r) => r.url().endsWith('/api/v1/features') && r.request().method() === 'POST');
  await page.click('#btn-save');
  const save = await saveP;
  assert.equal(save.status(), 201, 'POST /api/v1/features answers 201');
  assert.ok(save.headers().etag, 'with an ETag');
  const sent = JSON.parse(save.request().postData());
  assert.equal(sent.type, 'Feature');
  assert.equal(sent.properties.layer, 'courier_station');
  assert.ok(!('updated' in sent.properties) && !('name_en' in sent.properties) && !('phone' in sent.properties), 'only non-empty properties sent');
  const body = await save.json();
  await page.locator('#form-ok').waitFor({ state: 'visible' });
  assert.equal(await page.textContent('#f-id'), body.id, 'the form now shows the stored id');
  Object.assign(created, { id: body.id, name, lon, lat });

  // The public API serves it within a few seconds.
  let first = null;
  for (let i = 0; i < 25; i++) {
    const near = (await apiJSON(`/api/v1/nearest?lon=${lon}&lat=${lat}&k=1`)).body;
    first = near.features[0];
    if (first && first.properties.name === name) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(first, 'nearest answers');
  assert.equal(first.properties.name, name, 'the nearest feature is the one just typed');
  assert.ok(first.properties.distance_m < 5, `at the clicked spot (${first.properties.distance_m} m)`);
  assert.deepEqual([...first.properties.amenities].sort(), ['drinking_water', 'toilet'], 'with the ticked amenities');
  assert.equal(first.properties.opening_hours, 'Mo-Su 08:00-20:00');
  await idle(page);
  await page.screenshot({ path: path.join(SHOTS, 'admin-create.png') });
  await context.close();
});

// 3. Proves the station can be found with the search box, and that saving it with
// the name cleared shows the server's reason (422 problem+json) next to the name
// field and the detail at the top, without writing anything.
test('3. a validation error shows next to its field', { timeout: TEST_TIMEOUT }, async () => {
  assert.ok(created.id, 'test 2 created a station');
  const context = await session.newContext('invalid', { viewport: { width: 1280, height: 800 } });
  const page = await openAdmin(context);
  await signIn(page);
  await page.selectOption('#find-layer', 'courier_station');
  await page.fill('#find-text', created.name);
  await page.click('#btn-find');
  const item = page.locator(`#find-results li[data-id="${created.id}"] button`);
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await page.locator('#find-results li').count(), 1, 'the search finds exactly the station');
  const getP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${created.id}`) && r.request().method() === 'GET');
  await item.click();
  const get = await getP;
  assert.ok(get.headers().etag, 'GET /api/v1/features/{id} gives the ETag');
  await page.locator('#edit-form').waitFor({ state: 'visible' });
  assert.equal(await page.inputValue('#f-name'), created.name);
  assert.equal(await page.isDisabled('#f-layer'), true, 'the layer of a stored feature is fixed');
  // The map flew to it.
  await page.waitForFunction(([lon, lat]) => {
    const a = window.__admin;
    const c = a.state.conv.fromDisplay([a.map.getCenter().lng, a.map.getCenter().lat]);
    return Math.abs(c[0] - lon) < 0.01 && Math.abs(c[1] - lat) < 0.01;
  }, [created.lon, created.lat], { timeout: 10_000 });

  await page.fill('#f-name', '');
  const putP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${created.id}`) && r.request().method() === 'PUT');
  await page.click('#btn-save');
  const put = await putP;
  assert.equal(put.status(), 422, 'the server refuses a nameless station');
  assert.equal(put.request().headers()['if-match'], get.headers().etag, 'the PUT carries If-Match with the ETag of the GET');
  const problem = await put.json();
  const reason = (problem['invalid-params'] || []).find((p) => p.name === 'properties.name');
  assert.ok(reason, `the problem names properties.name (${JSON.stringify(problem)})`);
  assert.equal(reason.reason, '必填', 'the page in Chinese gets the reason in Chinese');
  const fieldError = page.locator('[data-field="name"] .field-error');
  await fieldError.waitFor({ state: 'visible' });
  assert.equal(await fieldError.textContent(), reason.reason, 'the reason is shown next to the name');
  assert.equal(await page.getAttribute('#f-name', 'aria-invalid'), 'true');
  assert.ok((await page.getAttribute('#f-name', 'aria-describedby')).includes(await fieldError.getAttribute('id')), 'the input is described by its error');
  assert.ok((await page.textContent('#form-error')).includes(problem.detail), 'the detail is shown at the top');
  await page.screenshot({ path: path.join(SHOTS, 'admin-invalid.png') });
  const still = (await apiJSON(`/api/v1/features/${created.id}`)).body;
  assert.equal(still.properties.name, created.name, 'nothing was written');
  await context.close();
});

// 4. Proves an edit is saved with If-Match, listed in the history with what changed,
// and reverted from there; a stale ETag gets the "someone else changed it" message
// and a reload; a deletion (If-Match, 204) is undone from the history.
test('4. edit, history and revert', { timeout: TEST_TIMEOUT }, async () => {
  assert.ok(created.id, 'test 2 created a station');
  const context = await session.newContext('history', { viewport: { width: 1280, height: 800 } });
  const page = await openAdmin(context);
  await signIn(page);
  await page.evaluate((id) => window.__admin.openFeature(id), created.id);
  await page.locator('#edit-form').waitFor({ state: 'visible' });
  const renamed = `${created.name}（改）`;
  await page.fill('#f-name', renamed);
  await page.fill('#f-phone', '0936-0000000');
  const putP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${created.id}`) && r.request().method() === 'PUT');
  await page.click('#btn-save');
  assert.equal((await putP).status(), 200);
  await page.locator('#form-ok').waitFor({ state: 'visible' });
  assert.equal((await apiJSON(`/api/v1/features/${created.id}`)).body.properties.name, renamed);

  const histP = page.waitForResponse((r) => r.url().endsWith(`/api/v1/features/${created.id}/history`));
  await page.click('#tab-history');
  const hist = await (await histP).json();
  const entries = hist.history;
  assert.ok(entries.length >= 2, 'create and update are logged');
  await page.waitForFunction((n) => document.querySelectorAll('#history-list > li').length === n, entries.length);
  const top = page.locator('#history-list > li').first();
  const topText = await top.textContent();
  assert.ok(topText.includes('修改') && topText.includes(renamed) && topText.includes('0936-0000000'), `the newest entry shows what changed (${topText})`);
  const createEntry = entries.find((e) => e.op === 'create');
  assert.ok(createEntry, 'a create entry');
  const revertP = page.waitForResponse((r) => r.url().includes(`/history/${createEntry.n}/revert`));
  await page.click(`#history-list > li[data-n="${createEntry.n}"] button.revert`);
  assert.equal((await revertP).status(), 200);
  await page.waitForFunction((n) => document.querySelectorAll('#history-list > li').length === n, entries.length + 1);
  const back = (await apiJSON(`/api/v1/features/${created.id}`)).body;
  assert.equal(back.properties.name, created.name, 'reverted to the name it was created with');
  assert.equal(back.properties.phone ?? null, null, 'and without the phone');
  await page.screenshot({ path: path.join(SHOTS, 'admin-history.png') });

  // Someone else changes it behind the form's back: the save gets 412.
  await page.click('#tab-edit');
  assert.equal(await page.inputValue('#f-name'), created.name, 'the form shows the reverted state');
  await page.evaluate(async ({ id, token }) => {
    const r = await fetch(`/api/v1/features/${id}`, { cache: 'no-store' });
    const f = await r.json();
    const p = {};
    for (const k of ['id', 'layer', 'name', 'address', 'city', 'amenities', 'opening_hours', 'source', 'position_accuracy', 'synthetic']) if (f.properties[k] != null) p[k] = f.properties[k];
    p.operator = '另一位编辑';
    const w = await fetch(`/api/v1/features/${id}`, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/geo+json', 'If-Match': r.headers.get('ETag') },
      body: JSON.stringify({ type: 'Feature', id, geometry: f.geometry, properties: p }),
    });
    if (w.status !== 200) throw new Error(`the other edit got ${w.status}`);
  }, { id: created.id, token: TOKEN });
  await page.fill('#f-district', '甘州区');
  const staleP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${created.id}`) && r.request().method() === 'PUT');
  await page.click('#btn-save');
  assert.equal((await staleP).status(), 412);
  await page.locator('#form-error').waitFor({ state: 'visible' });
  assert.ok((await page.textContent('#form-error')).includes('其他人已经修改'), 'tells the user someone else changed it');
  await page.click('#form-error button');
  await page.waitForFunction(() => document.querySelector('#f-operator').value === '另一位编辑');

  // Delete (two presses, with If-Match), then undo it from the history.
  const etag = await page.evaluate(() => window.__admin.state.current.etag);
  await page.click('#btn-delete');
  assert.equal(await page.textContent('#btn-delete'), '再按一次确认删除', 'the first press only arms the button');
  const delP = page.waitForResponse((r) => r.url().includes(`/api/v1/features/${created.id}`) && r.request().method() === 'DELETE');
  await page.click('#btn-delete');
  const del = await delP;
  assert.equal(del.status(), 204);
  assert.equal(del.request().headers()['if-match'], etag, 'DELETE carries If-Match');
  assert.equal((await apiJSON(`/api/v1/features/${created.id}`)).status, 404, 'gone from the public API');
  const hist2P = page.waitForResponse((r) => r.url().endsWith(`/api/v1/features/${created.id}/history`));
  await page.click('#tab-history');
  const entries2 = (await (await hist2P).json()).history;
  assert.equal(entries2[entries2.length - 1].op, 'delete');
  await page.waitForFunction((n) => document.querySelectorAll('#history-list > li').length === n, entries2.length);
  assert.ok((await page.locator('#history-list > li').first().textContent()).includes('删除'), 'the deletion is listed first');
  const beforeDelete = entries2[entries2.length - 2];
  const undoP = page.waitForResponse((r) => r.url().includes(`/history/${beforeDelete.n}/revert`));
  await page.click(`#history-list > li[data-n="${beforeDelete.n}"] button.revert`);
  assert.equal((await undoP).status(), 200);
  const again = await apiJSON(`/api/v1/features/${created.id}`);
  assert.equal(again.status, 200, 'restored');
  assert.equal(again.body.properties.operator, '另一位编辑', 'in its state before the deletion');
  await page.click('#tab-edit');
  assert.equal(await page.inputValue('#f-name'), created.name, 'and open in the form again');
  await context.close();
});

// 5. Proves a dry-run import of an xlsx with Chinese headers reports each row: the
// three good rows new (or unchanged / updated), the bad row 5 (纬度 200) rejected with a
// Chinese reason (the page's language) and highlighted; the report downloads as an xlsx.
test('5. import dry run with a row report', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('import', { viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await openAdmin(context);
  await signIn(page);
  await page.click('#tab-import');
  await page.selectOption('#imp-layer', 'courier_station');
  await page.selectOption('#imp-crs', 'wgs84');
  await page.fill('#imp-source', '浏览器测试导入');
  await page.setInputFiles('#imp-file', FIXTURE);
  const respP = page.waitForResponse((r) => r.url().includes('/api/v1/imports?'));
  await page.click('#btn-dry');
  const resp = await respP;
  assert.equal(resp.status(), 201);
  const q = new URL(resp.url()).searchParams;
  assert.equal(q.get('dry_run'), 'true');
  assert.equal(q.get('layer'), 'courier_station');
  assert.equal(q.get('crs'), 'wgs84');
  assert.equal(q.get('file_name'), 'stations.xlsx');
  assert.equal(resp.request().headers()['content-type'], 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  // The answer's body as the page kept it (Chromium does not keep an upload's
  // answer for the inspector), checked against the stored import behind Location.
  await page.waitForFunction(() => window.__admin.state.lastImport !== null);
  const kept = await page.evaluate(() => window.__admin.state.lastImport);
  const report = { import: kept.summary, rows: kept.rows };
  const location = resp.headers().location;
  assert.equal(location, `/api/v1/imports/${report.import.id}`, 'Location of the import');
  // The page sends its language (langHeader): the stored report, asked for in
  // Chinese, is the one shown; in English it is the stored English.
  assert.equal(resp.request().headers()['accept-language'], 'zh-CN', 'the import asks in the page\'s language');
  const stored = (await apiJSON(location, { Authorization: `Bearer ${TOKEN}`, 'Accept-Language': 'zh-CN' })).body;
  assert.deepEqual(stored.rows, report.rows, 'the stored row report is the one shown');
  const storedEn = (await apiJSON(location, { Authorization: `Bearer ${TOKEN}`, 'Accept-Language': 'en' })).body;
  assert.match(storedEn.rows.find((r) => r.row === 5).reason, /^lat: latitude 200 is outside/, 'in English on request');
  assert.equal(report.import.dry_run, true);
  assert.equal(report.rows.length, 4, 'four rows read');
  await page.waitForFunction(() => document.querySelectorAll('#import-table tbody tr').length === 4);
  const shown = await page.$$eval('#import-table tbody tr', (trs) => trs.map((tr) => ({
    row: tr.children[0].textContent.trim(),
    status: tr.children[1].textContent.trim(),
    reason: tr.children[2].textContent.trim(),
    cls: tr.className,
    bg: getComputedStyle(tr.children[0]).backgroundColor,
  })));
  const bad = shown.filter((r) => r.status === '拒绝');
  assert.equal(bad.length, 1, `one rejected row (${JSON.stringify(shown)})`);
  assert.equal(bad[0].row, '5', 'the bad row is sheet row 5');
  assert.match(bad[0].reason, /纬度 200 超出 -90\.\.90/, 'its reason is in Chinese, the value kept');
  assert.doesNotMatch(bad[0].reason, /latitude|outside/, 'no English left in the reason');
  assert.equal(bad[0].cls, 'rejected');
  assert.notEqual(bad[0].bg, 'rgba(0, 0, 0, 0)', 'and it is highlighted');
  const good = shown.filter((r) => r.row !== '5');
  assert.deepEqual(good.map((r) => r.row), ['2', '3', '4']);
  // New on a fresh database; unchanged (or updated, when an earlier real import gave
  // them another source) once imported for real.
  for (const r of good) assert.ok(['新增', '未变', '更新'].includes(r.status), `row ${r.row} is accepted, unchanged or updated (${r.status})`);
  const summary = await page.textContent('#import-summary');
  assert.ok(summary.includes('拒绝 1') && summary.includes('试导入'), `summary (${summary})`);
  if (report.import.accepted > 0) assert.equal(await page.isEnabled('#btn-commit'), true, 'confirm is offered after the dry run');
  await page.screenshot({ path: path.join(SHOTS, 'admin-import.png'), fullPage: true });

  // The report, fetched with the token and saved through an object URL.
  const dlP = page.waitForEvent('download');
  const repP = page.waitForResponse((r) => r.url().includes(`/api/v1/imports/${report.import.id}/report.xlsx`));
  await page.click('#btn-report');
  const rep = await repP;
  assert.equal(rep.status(), 200);
  assert.ok((rep.request().headers().authorization || '').startsWith('Bearer '), 'sent with the token');
  const dl = await dlP;
  assert.equal(dl.suggestedFilename(), `import-${report.import.id}-report.xlsx`);
  const file = fs.readFileSync(await dl.path());
  assert.ok(file.length > 1000 && file.subarray(0, 2).toString() === 'PK', 'an xlsx (zip) file');
  // Nothing was written by the dry run.
  const near = (await apiJSON('/api/v1/nearest?lon=98.5108&lat=39.7446&k=1&max_distance_m=50')).body;
  if (report.import.accepted > 0) assert.equal(near.features.length, 0, 'the dry run wrote nothing');
  // Switched to English, the page asks for the row report again: the reason in English.
  await page.click('#btn-lang');
  await page.waitForFunction(() => /latitude 200 is outside/.test(document.querySelector('#import-table tbody tr.rejected .reason')?.textContent || ''));
  await page.click('#btn-lang');
  await page.waitForFunction(() => /纬度 200 超出/.test(document.querySelector('#import-table tbody tr.rejected .reason')?.textContent || ''));
  await context.close();
});

// 6. Proves the page works at 360 px: stacked, no horizontal scroll, the form
// reachable; and the English switch.
test('6. phone: 360 px and English', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('mobile', { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  const page = await openAdmin(context);
  await noSideScroll(page, 'signed out');
  await signIn(page);
  await noSideScroll(page, 'signed in');
  const mapBox = await page.locator('#map').boundingBox();
  const sideBox = await page.locator('#side').boundingBox();
  assert.ok(mapBox.width >= 350 && sideBox.width >= 350 && sideBox.y >= mapBox.y + mapBox.height - 1, `stacked (${JSON.stringify({ mapBox, sideBox })})`);
  await page.tap('#btn-new');
  await page.locator('#edit-form').waitFor({ state: 'visible' });
  await noSideScroll(page, 'form open');
  const small = await page.evaluate(() => [...document.querySelectorAll('#side button, #side input:not([type=checkbox]), #side select, #topbar button')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({ el: `${el.tagName}#${el.id}`, h: el.getBoundingClientRect().height }))
    .filter((x) => x.h < 40));
  assert.deepEqual(small, [], 'touch targets at least 40 px high');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
    .map((el) => el.id || el.name));
  assert.deepEqual(unlabelled, [], 'every input has a label');
  await page.screenshot({ path: path.join(SHOTS, 'admin-mobile.png'), fullPage: true });

  await page.tap('#btn-lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal((await page.textContent('#btn-lang')).trim(), '中文');
  assert.equal(await page.textContent('#tab-import'), 'Import');
  assert.equal(await page.textContent('#btn-save'), 'Save');
  assert.equal(await page.textContent('label[data-field="name"] [data-i18n="name"]'), 'Name (Chinese)');
  await noSideScroll(page, 'English');
  await page.screenshot({ path: path.join(SHOTS, 'admin-mobile-en.png'), fullPage: true });
  await context.close();
});

// 7. Proves no request of the whole session went to any host but this machine.
test('7. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 8. Proves no console error or uncaught exception, except the provoked 401 and 422.
test('8. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
