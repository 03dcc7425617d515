// Browser tests of the planner's coverage mode (覆盖分析) and the printable
// report, in headless Debian Chromium.
//
//   WAYSTATION_URL=http://127.0.0.1:8080 node tests/browser/planner.test.mjs
//
// The server must already be running (cargo run --release -- serve ...) with
// the bundled data and the default basemap (none). Screenshots and the PDF go
// to target/screenshots/ at the repository root.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, READY_TIMEOUT, SHOTS, Session, TEST_TIMEOUT } from './harness.mjs';

const session = new Session((url, text) => expectSiting400 && url.includes('/api/v1/siting') && /status of 400/.test(text));

// A region with parks, facilities of every layer and few enough of them for
// the catchments: around Beijing.
const BEIJING = [116.4074, 39.9042];
// The siting radius of test 2's deliberate error: more than the server's 500 km.
const BAD_RADIUS_KM = 600;

let expectSiting400 = false; // while test 2 provokes its 400 on purpose

// Waits until no coverage request is under way and the map has drawn.
async function settle(page) {
  await page.waitForFunction(() => document.body.dataset.coverage === 'ready', null, { timeout: READY_TIMEOUT });
  // Requests finish, the map draws what they brought; a redraw may move the map and start
  // new requests (grid, catchments), so go round until nothing is under way after a draw.
  for (let round = 0; round < 10; round++) {
    await page.evaluate(() => window.__waystation.planner.idle());
    await page.evaluate(() => new Promise((r) => {
      const m = window.__waystation.map;
      m.once('idle', () => r());
      m.triggerRepaint();
    }));
    if (!await page.evaluate(() => window.__waystation.planner.busy())) return;
  }
  throw new Error('the planner never settled');
}

async function jumpTo(page, [lon, lat], zoom) {
  await page.evaluate(([x, y, z]) => {
    const ws = window.__waystation;
    ws.map.jumpTo({ center: ws.state.conv.toDisplay([x, y]), zoom: z });
  }, [lon, lat, zoom]);
  await settle(page);
}

async function apiJSON(p, init) {
  const r = await fetch(`${BASE}${p}`, init);
  return { status: r.status, type: r.headers.get('content-type') || '', body: await r.json() };
}

async function rendered(page, layer) {
  return page.evaluate((id) => window.__waystation.map.queryRenderedFeatures({ layers: [id] }).length, layer);
}

// The gap table as shown: id, and the values of the numeric columns.
async function tableRows(page) {
  return page.$$eval('#gap-table tbody tr', (trs) => trs.map((tr) => {
    const n = (cls) => {
      const td = tr.querySelector(`td.c-${cls}`);
      const s = td ? td.textContent.replace(/[,\s]/g, '') : '';
      return s === '–' || s === '' ? null : Number(s);
    };
    return { id: tr.dataset.id, name: tr.querySelector('td.c-name').textContent, workers: n('workers'), gap: n('gap_score'), rank: n('rank') };
  }));
}

before(() => session.start());
after(() => session.close());
// 1. Proves the header switch opens Coverage mode; parks (by status, sized by workers), the H3 grid (resolution from
//    the zoom, for the visible bbox, two measures with their legends), the catchments and the gap table render; the
//    table matches the API, sorts, filters, exports CSV / XLSX, and a row click flies to its park and opens its popup.
test('1. coverage mode: parks, grid, catchments, gap table', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('coverage', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context);
  assert.equal(await page.getAttribute('#btn-mode', 'aria-pressed'), 'false');
  await page.click('#btn-mode');
  await page.waitForFunction(() => document.body.classList.contains('coverage'));
  await settle(page);
  assert.equal(await page.getAttribute('#btn-mode', 'aria-pressed'), 'true');
  assert.ok(await page.locator('#planner').isVisible(), 'the planner panel is shown');
  assert.equal(await page.locator('#panel').isVisible(), false, 'the nearest panel is not');
  assert.ok(page.url().includes('mode=coverage'), 'the mode is in the address');

  // Parks: all that match (no filter), drawn unclustered; the clustered park layer is hidden.
  const all = (await apiJSON('/api/v1/coverage/parks?limit=1')).body;
  const shownParks = await page.evaluate(() => window.__waystation.planner.state.parks.length);
  assert.equal(shownParks, all.numberMatched, 'every park is on the coverage map');
  assert.ok(await rendered(page, 'cov-parks') > 0, 'coverage parks are drawn');
  assert.equal(await page.evaluate(() => window.__waystation.map.getLayoutProperty('park-points', 'visibility')), 'none');
  const sized = await page.evaluate(() => {
    const m = window.__waystation.map;
    return JSON.stringify(m.getPaintProperty('cov-parks', 'circle-radius')).includes('workers')
      && JSON.stringify(m.getPaintProperty('cov-parks', 'circle-color')).includes('union_status');
  });
  assert.ok(sized, 'parks are coloured by union status and sized by workers');

  // Grid and catchments around Beijing at zoom 8.5 (H3 resolution 6).
  const gridP = page.waitForResponse((r) => r.url().includes('/api/v1/coverage/grid?') && r.url().includes('res=6'));
  const catchP = page.waitForResponse((r) => r.url().includes('/api/v1/coverage/catchments?'));
  await jumpTo(page, BEIJING, 8.5);
  const gridResp = await gridP;
  assert.equal(gridResp.status(), 200);
  const gq = new URL(gridResp.url()).searchParams;
  const bbox = gq.get('bbox').split(',').map(Number);
  assert.ok(bbox[0] < BEIJING[0] && bbox[2] > BEIJING[0] && bbox[1] < BEIJING[1] && bbox[3] > BEIJING[1], `grid bbox around the view (${gq.get('bbox')})`);
  assert.ok(bbox[2] - bbox[0] < 10, 'grid asked for the visible area, not the whole country');
  assert.ok(await rendered(page, 'cov-grid-fill') > 0, 'grid cells are drawn');
  const catchResp = await catchP;
  assert.equal(catchResp.status(), 200);
  assert.equal(new URL(catchResp.url()).searchParams.get('layer'), 'courier_station');
  assert.ok(await rendered(page, 'cov-catch-ring') > 0, 'catchment rings are drawn');
  // A click on a cell (away from parks and facilities) shows its figures.
  const cell = await page.evaluate(() => {
    const ws = window.__waystation;
    const m = ws.map;
    const r = m.getContainer().getBoundingClientRect();
    for (const f of ws.planner.state.grid.fc.features) {
      const ring = f.geometry.coordinates[0].slice(0, -1);
      const c = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
      const p = m.project(ws.state.conv.toDisplay(c));
      if (p.x < 20 || p.y < 200 || p.x > r.width - 20 || p.y > r.height - 20) continue;
      const near = m.queryRenderedFeatures([[p.x - 12, p.y - 12], [p.x + 12, p.y + 12]]);
      if (near.every((g) => g.layer.id.startsWith('cov-grid') || g.layer.id.startsWith('cov-catch'))
        && m.queryRenderedFeatures([p.x, p.y], { layers: ['cov-grid-fill'] }).length) {
        return { x: r.left + p.x, y: r.top + p.y, h3: f.properties.h3 };
      }
    }
    return null;
  });
  assert.ok(cell, 'found a grid cell clear of other features');
  await page.mouse.click(cell.x, cell.y);
  await page.locator('.maplibregl-popup').waitFor({ state: 'visible' });
  assert.ok((await page.textContent('.maplibregl-popup')).includes(cell.h3), 'the cell popup names its H3 cell');
  await page.click('.maplibregl-popup-close-button');
  const legend = await page.$$eval('#cov-legend .grid-legend .lg-item', (els) => els.map((e) => e.textContent));
  assert.ok(legend.length >= 2, `grid legend with class breaks (${legend})`);
  assert.equal(await page.getAttribute('#cov-legend .grid-legend', 'data-measure'), 'ununionised_workers');

  // The gap table: the API's top 50 by gap score, in order.
  const top = (await apiJSON('/api/v1/coverage/parks?sort=gap_score&limit=50')).body;
  let rows = await tableRows(page);
  assert.equal(rows.length, Math.min(50, top.numberMatched));
  assert.deepEqual(rows.map((r) => r.id), top.features.map((f) => String(f.properties.id)), 'table rows = API ranking');
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].gap != null && rows[i - 1].gap != null) assert.ok(rows[i].gap <= rows[i - 1].gap, 'gap scores non-increasing');
  }
  await idleShot(page, 'planner.png');

  // The table fits its pane: the ranked column (the gap score) comes right after the park and is on screen
  // without sideways scrolling (it was 582 px wide in a 434 px pane, the score off screen).
  const fit = async (key) => page.evaluate((k) => {
    const wrap = document.querySelector('#pane-gaps .table-wrap');
    const w = wrap.getBoundingClientRect();
    const keys = [...document.querySelectorAll('#gap-table thead th')].map((th) => th.dataset.key);
    const ranked = document.querySelector(`#gap-table thead th[data-key="${k}"]`);
    const r = ranked.getBoundingClientRect();
    return { keys, marked: ranked.classList.contains('ranked'), table: document.getElementById('gap-table').scrollWidth, wrap: wrap.clientWidth, right: r.right, wrapRight: w.right };
  }, key);
  let f = await fit('gap_score');
  assert.deepEqual(f.keys.slice(0, 3), ['rank', 'name', 'gap_score'], `the score right after the park (${f.keys})`);
  assert.ok(f.table <= f.wrap, `the table fits its pane (${f.table} > ${f.wrap} px)`);
  assert.ok(f.right <= f.wrapRight + 1, 'the ranked column is on screen');
  // Ranked by distance to a driver home: that column takes the third place.
  await page.selectOption('#gap-rank', 'nearest_driver_home');
  await settle(page);
  f = await fit('nearest_driver_home');
  assert.ok(f.marked, 'the ranked column is marked');
  assert.equal(f.keys[2], 'nearest_driver_home');
  assert.ok(f.table <= f.wrap && f.right <= f.wrapRight + 1, `fits when ranked by distance (${JSON.stringify(f)})`);
  await page.selectOption('#gap-rank', 'gap_score');
  await settle(page);

  // Sorting by workers, then the other way.
  await page.click('#gap-table th[data-key="workers"] button');
  rows = await tableRows(page);
  const w = rows.map((r) => r.workers).filter((x) => x != null);
  assert.deepEqual(w, [...w].sort((a, b) => b - a), 'sorted by workers, largest first');
  assert.equal(await page.getAttribute('#gap-table th[data-key="workers"]', 'aria-sort'), 'descending');
  await page.click('#gap-table th[data-key="workers"] button');
  rows = await tableRows(page);
  const w2 = rows.map((r) => r.workers).filter((x) => x != null);
  assert.deepEqual(w2, [...w2].sort((a, b) => a - b), 'then smallest first');

  // Exports: the server's CSV / XLSX with the current filters.
  const csvHref = await page.getAttribute('#export-csv', 'href');
  const xlsxHref = await page.getAttribute('#export-xlsx', 'href');
  assert.match(csvHref, /^\/api\/v1\/coverage\/parks\?.*format=csv/);
  assert.match(xlsxHref, /format=xlsx/);
  const csv = await fetch(`${BASE}${csvHref}`);
  assert.equal(csv.status, 200);
  assert.match(csv.headers.get('content-type'), /text\/csv/);
  const csvBytes = Buffer.from(await csv.arrayBuffer());
  assert.ok(csvBytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'CSV starts with a UTF-8 BOM');
  assert.ok(csvBytes.subarray(3, 20).toString().startsWith('rank,id,name'), 'CSV header');
  assert.match(csv.headers.get('content-disposition'), /filename\*=UTF-8''park-coverage_\d{4}-\d{2}-\d{2}\.csv/, 'named after what it holds');
  const xlsx = await fetch(`${BASE}${xlsxHref}`);
  assert.equal(xlsx.status, 200);
  assert.equal(Buffer.from(await xlsx.arrayBuffer()).subarray(0, 2).toString(), 'PK', 'XLSX is a zip');

  // A filter (no union yet) reaches the table, the map and the export links.
  await page.click('#tab-filters');
  const filteredP = page.waitForResponse((r) => r.url().includes('/api/v1/coverage/parks?') && r.url().includes('union_status=none'));
  await page.click('#cf-status label.check:has(input[value="none"])');
  await filteredP;
  await settle(page);
  const none = (await apiJSON('/api/v1/coverage/parks?union_status=none&sort=gap_score&limit=50')).body;
  await page.click('#tab-gaps');
  await page.click('#gap-table th[data-key="rank"] button');
  rows = await tableRows(page);
  assert.deepEqual(rows.map((r) => r.id), none.features.map((f) => String(f.properties.id)), 'filtered table = API');
  assert.match(await page.getAttribute('#export-csv', 'href'), /union_status=none/);
  assert.match(await page.getAttribute('#report-link', 'href'), /report\.html\?.*union_status=none/);
  assert.equal(await page.evaluate(() => window.__waystation.planner.state.parks.length), none.numberMatched);

  // The distance measure: another grid request with the layer, and its legend.
  await page.click('#tab-filters');
  const distP = page.waitForResponse((r) => r.url().includes('/api/v1/coverage/grid?') && r.url().includes('layer=driver_home'));
  await page.selectOption('#cf-measure', 'nearest:driver_home');
  assert.equal((await distP).status(), 200);
  await settle(page);
  assert.equal(await page.getAttribute('#cov-legend .grid-legend', 'data-measure'), 'nearest');
  assert.equal(await page.locator('#cov-legend .grid-legend .lg-item').count(), 5, 'five distance classes');

  // A row flies to its park and opens its popup with the coverage figures.
  await page.click('#tab-gaps');
  const first = none.features[0];
  await page.click('#gap-table tbody tr:nth-child(1)');
  const popup = page.locator('.maplibregl-popup');
  await popup.waitFor({ state: 'visible' });
  const text = await popup.textContent();
  assert.ok(text.includes(first.properties.name), 'popup shows the park');
  assert.ok(text.includes('缺口分'), 'popup shows the gap score');
  await settle(page);
  const centre = await page.evaluate(() => {
    const ws = window.__waystation;
    const c = ws.map.getCenter();
    return { z: ws.map.getZoom(), c: ws.state.conv.fromDisplay([c.lng, c.lat]) };
  });
  const [plon, plat] = first.geometry.coordinates;
  assert.ok(centre.z >= 10.9, `zoomed in to the park (${centre.z})`);
  assert.ok(Math.abs(centre.c[0] - plon) < 0.2 && Math.abs(centre.c[1] - plat) < 0.2, `flew to the park (${JSON.stringify(centre)} vs ${plon},${plat})`);

  // A city: its parks only, and the map moves to them.
  await page.click('.maplibregl-popup-close-button');
  await page.click('#tab-filters');
  await page.click('#cf-status label.check:has(input[value="none"])');
  const cityP = page.waitForResponse((r) => r.url().includes('/api/v1/coverage/parks?') && r.url().includes(`city=${encodeURIComponent('临沂市')}`));
  await page.selectOption('#cf-city', '临沂市');
  await cityP;
  await settle(page);
  const linyi = (await apiJSON(`/api/v1/coverage/parks?city=${encodeURIComponent('临沂市')}&limit=1`)).body;
  assert.ok(linyi.numberMatched > 0);
  await page.click('#tab-gaps');
  const cities = await page.$$eval('#gap-table tbody td.c-name .c-city', (els) => els.map((el) => el.textContent));
  assert.equal(cities.length, linyi.numberMatched);
  assert.ok(cities.every((c) => c.startsWith('临沂市')), `only Linyi parks (${cities})`);
  assert.match(decodeURIComponent(await page.getAttribute('#report-link', 'href')), /city=临沂市/);
  // The exports are named after the city and the day, and the sheet's about page records the filter.
  const cityXlsx = await fetch(`${BASE}${await page.getAttribute('#export-xlsx', 'href')}`);
  const disposition = decodeURIComponent(cityXlsx.headers.get('content-disposition'));
  assert.match(disposition, /filename\*=UTF-8''park-coverage_临沂市_\d{4}-\d{2}-\d{2}\.xlsx$/, disposition);
  const view = await page.evaluate(() => {
    const ws = window.__waystation;
    const c = ws.map.getCenter();
    return ws.state.conv.fromDisplay([c.lng, c.lat]);
  });
  assert.ok(Math.abs(view[0] - 118.35) < 1 && Math.abs(view[1] - 35.1) < 1, `the map moved to Linyi (${view})`);

  // Back to the nearest map: coverage layers off, the clustered parks back.
  await page.click('#btn-mode');
  await page.waitForFunction(() => !document.body.classList.contains('coverage'));
  assert.equal(await page.evaluate(() => window.__waystation.map.getLayoutProperty('cov-parks', 'visibility')), 'none');
  assert.equal(await page.evaluate(() => window.__waystation.map.getLayoutProperty('park-points', 'visibility')), 'visible');
  assert.ok(await page.locator('#panel').isVisible(), 'nearest panel back on a desktop');
  await context.close();
});

async function idleShot(page, name) {
  await page.evaluate(() => new Promise((r) => {
    const m = window.__waystation.map;
    m.once('idle', () => r());
    m.triggerRepaint();
  }));
  await page.screenshot({ path: path.join(SHOTS, name) });
}

// 2. Proves the siting tool posts the chosen problem, draws the proposed sites as numbered markers in pick order and
//    lists them with gains in non-increasing order and the before / after totals, all as the API answers; a problem
//    the server refuses shows its problem+json detail.
test('2. siting: proposed sites on the map and in the list', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('siting', { viewport: { width: 1280, height: 800 } });
  const page = await session.openMap(context, '?mode=coverage');
  await page.waitForFunction(() => document.body.classList.contains('coverage'));
  await settle(page);
  await page.click('#tab-siting');
  await page.selectOption('#s-layer', 'driver_home');
  await page.fill('#s-p', '3');
  await page.fill('#s-radius', '20');
  await page.selectOption('#s-candidates', 'parks');
  await page.selectOption('#s-weight', 'workers');
  const respP = page.waitForResponse((r) => r.url().endsWith('/api/v1/siting') && r.request().method() === 'POST');
  await page.click('#s-run');
  const resp = await respP;
  assert.equal(resp.status(), 200);
  const sent = JSON.parse(resp.request().postData());
  assert.deepEqual(sent, { layer: 'driver_home', p: 3, radius_m: 20000, candidates: 'parks', weight: 'workers' });
  const answer = await resp.json();
  const sites = answer.sites.features;
  assert.ok(sites.length > 0 && sites.length <= 3, `1–3 sites (${sites.length})`);
  await page.waitForFunction((n) => document.querySelectorAll('#siting-list li.site').length === n, sites.length);

  // The same problem straight to the API: the same picks.
  const again = (await apiJSON('/api/v1/siting', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sent),
  })).body;
  assert.deepEqual(again.sites.features.map((f) => f.properties.candidate), sites.map((f) => f.properties.candidate));

  // Markers numbered in pick order, at the sites.
  const markers = await page.$$eval('.site-marker', (els) => els.map((e) => e.textContent));
  assert.deepEqual(markers, sites.map((_, i) => String(i + 1)));
  const list = await page.$$eval('#siting-list li.site', (lis) => lis.map((li) => ({
    rank: Number(li.dataset.rank), gain: Number(li.dataset.gain), text: li.textContent,
  })));
  assert.deepEqual(list.map((x) => x.rank), sites.map((f) => f.properties.rank));
  assert.deepEqual(list.map((x) => x.gain), sites.map((f) => f.properties.gain), 'gains as the API answered');
  for (let i = 1; i < list.length; i++) assert.ok(list[i].gain <= list[i - 1].gain, 'gains non-increasing');
  sites.forEach((f, i) => {
    if (f.properties.name) assert.ok(list[i].text.includes(f.properties.name), `site ${i + 1} named`);
  });
  assert.equal(answer.covered_after, answer.covered_before + sites.reduce((s, f) => s + f.properties.gain, 0));
  const fmt = (n) => n.toLocaleString('zh-CN');
  assert.ok((await page.textContent('.s-before')).includes(fmt(answer.covered_before)), 'before total shown');
  assert.ok((await page.textContent('.s-after')).includes(fmt(answer.covered_after)), 'after total shown');
  assert.ok((await page.textContent('.s-total')).includes(fmt(answer.demand_total)), 'total demand shown');
  const onMap = await page.evaluate(() => {
    const m = window.__waystation.map;
    const r = m.getContainer().getBoundingClientRect();
    return [...document.querySelectorAll('.site-marker')].map((el) => {
      const b = el.getBoundingClientRect();
      return b.left >= r.left - 1 && b.right <= r.right + 1 && b.top >= r.top - 1 && b.bottom <= r.bottom + 1;
    });
  });
  assert.ok(onMap.every(Boolean), 'the map was fitted to the sites');
  assert.ok(await rendered(page, 'cov-sites-ring') > 0, 'the sites\' radius rings are drawn');
  await settle(page);
  await idleShot(page, 'siting.png');

  // A radius above the server's 500 km and a fractional count: refused here, before asking the server, in
  // kilometres and in the page's language, each said once (the server's English, in metres, came twice).
  let posted = 0;
  const count = (req) => { if (req.url().endsWith('/api/v1/siting') && req.method() === 'POST') posted++; };
  page.on('request', count);
  await page.fill('#s-radius', String(BAD_RADIUS_KM));
  await page.click('#s-run');
  await page.waitForSelector('#siting-status.error');
  assert.equal((await page.textContent('#siting-status')).trim(), '选址失败: 服务半径应为大于 0、不超过 500 公里的数字。');
  assert.equal(await page.getAttribute('#s-radius', 'aria-invalid'), 'true');
  assert.equal(await page.locator('.site-marker').count(), 0, 'no stale sites after a failure');
  await page.fill('#s-radius', '20');
  await page.fill('#s-p', '2.5');
  await page.click('#s-run');
  await page.waitForFunction(() => document.getElementById('siting-status').textContent.includes('新建数量'));
  assert.equal((await page.textContent('#siting-status')).trim(), '选址失败: 新建数量应为 1 到 500 之间的整数。');
  assert.equal(await page.getAttribute('#s-radius', 'aria-invalid'), null);
  assert.equal(posted, 0, 'nothing was sent');
  page.off('request', count);

  // What the server still refuses (here its answer to a radius, given back for any body) is said once.
  const bad = (await apiJSON('/api/v1/siting', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ...sent, radius_m: BAD_RADIUS_KM * 1000 }),
  }));
  assert.equal(bad.status, 400);
  expectSiting400 = true;
  await page.route('**/api/v1/siting', (route) => route.fulfill({
    status: 400, contentType: 'application/problem+json', body: JSON.stringify(bad.body),
  }));
  await page.fill('#s-p', '3');
  await page.click('#s-run');
  await page.waitForFunction((d) => document.getElementById('siting-status').textContent.includes(d), bad.body.detail);
  const shown = await page.textContent('#siting-status');
  assert.equal(shown.split(bad.body.detail).length - 1, 1, `the server's detail once (got "${shown}")`);
  await page.unroute('**/api/v1/siting');
  await page.waitForTimeout(200);
  expectSiting400 = false;

  // Siting follows the planner's park filters: a city and a union status reach the body, and the demand is
  // the parks of that city and status only.
  await page.click('#tab-filters');
  await page.click('#cf-status label.check:has(input[value="none"])');
  await page.selectOption('#cf-city', '临沂市');
  await settle(page);
  await page.click('#tab-siting');
  assert.match(await page.textContent('#s-scope'), /临沂市.*未建会/);
  await page.fill('#s-radius', '3'); // 20 km: Linyi's driver homes already reach both parks
  const filteredP = page.waitForResponse((r) => r.url().endsWith('/api/v1/siting') && r.request().method() === 'POST');
  await page.click('#s-run');
  const filtered = await filteredP;
  assert.equal(filtered.status(), 200);
  const fsent = JSON.parse(filtered.request().postData());
  assert.equal(fsent.city, '临沂市');
  assert.deepEqual(fsent.union_status, ['none']);
  const fanswer = await filtered.json();
  const linyiNone = (await apiJSON(`/api/v1/coverage/parks?city=${encodeURIComponent('临沂市')}&union_status=none&limit=1`)).body;
  assert.equal(fanswer.demand_points, linyiNone.numberMatched, 'demand = the filtered parks');
  const names = await page.$$eval('#siting-list li.site .site-name', (els) => els.map((e) => e.textContent));
  assert.ok(names.length > 0, 'sites proposed in Linyi');
  await context.close();
});

// 3. Proves Coverage mode is usable at 360 px: no horizontal page scroll (the table scrolls in its own box), touch
//    targets of at least 40 px, and the English switch translates the planner.
test('3. phone: 360 px coverage mode, English', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('phone', { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const page = await session.openMap(context, `?mode=coverage&center=${BEIJING.join(',')}&zoom=9`);
  await page.waitForFunction(() => document.body.classList.contains('coverage'));
  await settle(page);
  const check = async (what) => {
    const m = await page.evaluate(() => {
      const w = window.innerWidth;
      const over = [];
      for (const el of document.querySelectorAll('body *')) {
        if (el.closest('.maplibregl-map') || el.closest('.table-wrap')) continue; // clipped by their boxes
        const r = el.getBoundingClientRect();
        if (r.width && (r.right > w + 1 || r.left < -1)) over.push(`${el.tagName}#${el.id}.${el.className}`);
      }
      const small = [...document.querySelectorAll('#topbar button, .chip, #planner button, #planner a, #planner select, #planner input, #planner label.check')]
        .filter((el) => el.offsetParent !== null && !el.closest('.table-wrap td') && !el.matches('input[type="checkbox"]'))
        .map((el) => { const r = el.getBoundingClientRect(); return { el: `${el.tagName}#${el.id}.${el.className}`, w: r.width, h: r.height }; })
        .filter((x) => x.h < 40 || (x.w < 40 && x.el.startsWith('BUTTON')));
      return { w, doc: document.documentElement.scrollWidth, over, small };
    });
    assert.ok(m.doc <= m.w, `${what}: no horizontal scroll (${m.doc} > ${m.w})`);
    assert.deepEqual(m.over, [], `${what}: nothing sticks out sideways`);
    assert.deepEqual(m.small, [], `${what}: touch targets at least 40 px`);
  };
  await check('gaps');
  const sheet = await page.locator('#planner').boundingBox();
  assert.ok(sheet.y > 150 && sheet.y + sheet.height <= 741, `planner is a bottom sheet (${JSON.stringify(sheet)})`);
  assert.ok(await page.locator('#gap-table tbody tr').count() > 0, 'table rows on a phone');
  const phoneFit = await page.evaluate(() => ({
    table: document.getElementById('gap-table').scrollWidth,
    wrap: document.querySelector('#pane-gaps .table-wrap').clientWidth,
  }));
  assert.ok(phoneFit.table <= phoneFit.wrap, `the gap table fits a phone (${phoneFit.table} > ${phoneFit.wrap} px)`);
  await page.tap('#tab-filters');
  await check('filters');
  await page.tap('#tab-siting');
  await check('siting');
  await page.tap('#btn-lang');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal((await page.textContent('#planner-title')).trim(), 'Coverage analysis');
  assert.equal(await page.textContent('#tab-siting'), 'Siting');
  assert.equal(await page.textContent('#s-run'), 'Find sites');
  await page.tap('#tab-gaps');
  assert.equal((await page.textContent('#gap-table th[data-key="name"]')).trim(), 'Park');
  await check('English');
  await page.screenshot({ path: path.join(SHOTS, 'planner-mobile.png') });
  await context.close();
});

// 4. Proves the report page shows the summary of /coverage/summary, a static map image and the top-gap table of
//    /coverage/parks, and prints to A4 (no controls, repeated table header, PDF written).
test('4. printable report', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('report', { viewport: { width: 1000, height: 900 } });
  // The link as Coverage mode makes it.
  const mapPage = await session.openMap(context, '?mode=coverage');
  await mapPage.waitForFunction(() => document.body.classList.contains('coverage'));
  await settle(mapPage);
  const href = await mapPage.getAttribute('#report-link', 'href');
  assert.match(href, /^report\.html\?/);
  await mapPage.close();

  const page = await context.newPage();
  await page.goto(`${BASE}/${href}`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.ready, null, { timeout: READY_TIMEOUT });
  assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true', await page.textContent('#status'));

  const summary = (await apiJSON('/api/v1/coverage/summary?group_by=city')).body;
  const figures = await page.textContent('#figures');
  for (const v of [summary.total.parks, summary.total.workers, summary.total.ununionised_workers]) {
    assert.ok(figures.includes(v.toLocaleString('zh-CN')), `summary shows ${v}`);
  }
  assert.equal(await page.locator('#layer-table tbody tr').count(), 3, 'one line per facility layer');
  assert.ok(await page.locator('#group-table tbody tr').count() > 0, 'per-city table');

  const top = (await apiJSON('/api/v1/coverage/parks?sort=gap_score&limit=50')).body;
  const ids = await page.$$eval('#top-table tbody tr', (trs) => trs.map((tr) => tr.dataset.id));
  assert.deepEqual(ids, top.features.map((f) => String(f.properties.id)), 'top-gap table = API');

  // The map image: a PNG data URL with parks drawn in it (red / amber / green pixels).
  const img = await page.evaluate(async () => {
    const el = document.getElementById('map-img');
    const c = document.createElement('canvas');
    c.width = el.naturalWidth; c.height = el.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(el, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) {
      const [r, gg, b] = [d[i], d[i + 1], d[i + 2]];
      if (Math.max(r, gg, b) - Math.min(r, gg, b) > 80) coloured++;
    }
    return { src: el.src.slice(0, 22), w: el.naturalWidth, h: el.naturalHeight, coloured, live: !!document.querySelector('.maplibregl-canvas') };
  });
  assert.equal(img.src, 'data:image/png;base64,');
  assert.ok(img.w > 300 && img.h > 200, `image size ${img.w}×${img.h}`);
  assert.ok(img.coloured > 200, `parks drawn in the image (${img.coloured} coloured pixels)`);
  assert.equal(img.live, false, 'the live map was replaced by the image');

  // The hexagons are filled by value and the facilities are drawn (the hex layer was white outlines under the
  // parks, and no facility was on the map): pixels of the hexagons' colours and of each layer's colour.
  const drawn = await page.evaluate(() => {
    const el = document.getElementById('map-img');
    const c = document.createElement('canvas');
    c.width = el.naturalWidth; c.height = el.naturalHeight;
    const g = c.getContext('2d');
    g.drawImage(el, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const rgb = (hex) => { const n = parseInt(hex.slice(1), 16); return [n >> 16, (n >> 8) & 255, n & 255]; };
    const bg = rgb('#eef0e8');
    const r = window.__report;
    // The ramp as painted: 85 % over the background.
    const hex = (r.hexColours || []).map((h) => rgb(h).map((v, i) => Math.round(0.85 * v + 0.15 * bg[i])));
    const layers = { driver_home: rgb('#1c64c8'), courier_station: rgb('#c44d0a'), fitness_station: rgb('#0b7285') };
    const near = (p, q, tol) => Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]) <= tol;
    const out = { hex: 0, classes: new Set(), layers: { driver_home: 0, courier_station: 0, fitness_station: 0 } };
    for (let i = 0; i < d.length; i += 4) {
      const p = [d[i], d[i + 1], d[i + 2]];
      hex.forEach((h, k) => { if (near(p, h, 12)) { out.hex++; out.classes.add(k); } });
      for (const [l, q] of Object.entries(layers)) if (near(p, q, 30)) out.layers[l]++;
    }
    return { ...out, classes: out.classes.size, counts: r.facilityCounts, caption: document.getElementById('map-caption').textContent };
  });
  assert.ok(drawn.hex > 2000, `hexagons filled (${drawn.hex} pixels)`);
  assert.ok(drawn.classes >= 3, `several classes of the ramp shown (${drawn.classes})`);
  for (const [l, n] of Object.entries(drawn.layers)) {
    assert.ok(drawn.counts && drawn.counts[l] > 0, `${l} fetched for the map`);
    assert.ok(n >= 20, `${l} drawn (${n} pixels of its colour)`);
  }
  assert.match(drawn.caption, /司机之家.*工会驿站.*健身驿站/, 'the caption names the facility layers');
  await page.screenshot({ path: path.join(SHOTS, 'report.png'), fullPage: true });

  // Print: controls hidden, the table header repeats, rows are not split.
  await page.emulateMedia({ media: 'print' });
  const print = await page.evaluate(() => ({
    toolbar: getComputedStyle(document.querySelector('.toolbar')).display,
    thead: getComputedStyle(document.querySelector('#top-table thead')).display,
    row: getComputedStyle(document.querySelector('#top-table tbody tr')).breakInside,
  }));
  assert.deepEqual(print, { toolbar: 'none', thead: 'table-header-group', row: 'avoid' });
  await page.emulateMedia({ media: null }); // page.pdf() prints with the print styles itself
  const pdfPath = path.join(SHOTS, 'report.pdf');
  await page.pdf({ path: pdfPath, format: 'A4' });
  const pdf = fs.readFileSync(pdfPath);
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  assert.ok(pages >= 2, `the report spans pages (${pages})`);
  await context.close();
});

// 4c. Proves the city choice speaks the page's language: in English 临沂市 reads "Linyi" (its value stays the
//     data's 临沂市, which the API filters on), and back in Chinese it reads 临沂市 again.
test('4c. planner city names in English', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('planner-cities', { viewport: { width: 1440, height: 900 } });
  const page = await session.openMap(context, '?mode=coverage&lang=en');
  await settle(page);
  const label = (v) => page.$eval('#cf-city', (sel, value) => {
    const o = [...sel.options].find((x) => x.value === value);
    return o ? o.textContent : null;
  }, v);
  await page.waitForFunction(() => document.querySelectorAll('#cf-city option').length > 1, null, { timeout: 15_000 });
  assert.equal(await label('临沂市'), 'Linyi');
  assert.equal(await label('北京市'), 'Beijing');
  await page.click('#tab-filters');
  await page.screenshot({ path: path.join(SHOTS, 'planner-cities-en.png') });
  await page.selectOption('#cf-city', '临沂市');
  await settle(page);
  assert.match(await page.locator('#gap-count').textContent(), /\d/, 'the gap count is shown for the city');
  const places = await page.$$eval('#gap-table tbody td .c-city', (l) => l.map((x) => x.textContent));
  assert.ok(places.length > 0 && places.every((x) => x.startsWith('Linyi')), `the gap table says Linyi: ${places.slice(0, 3)}`);
  await page.click('#btn-lang');
  await page.waitForFunction(() => {
    const o = [...document.querySelectorAll('#cf-city option')].find((x) => x.value === '临沂市');
    return o && o.textContent === '临沂市';
  }, null, { timeout: 10_000 });
  await context.close();
});

// 4b. Proves a planner who types /planner (or follows a bookmark to it) lands in the coverage mode, not on a 404.
test('4b. /planner opens the coverage mode', { timeout: TEST_TIMEOUT }, async () => {
  const context = await session.newContext('planner-path', { viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const first = await page.goto(`${BASE}/planner`, { waitUntil: 'load' });
  assert.notEqual(first && first.status(), 404, '/planner is not a 404');
  await page.waitForURL((u) => u.pathname === '/' && u.searchParams.get('mode') === 'coverage', { timeout: 15_000 });
  await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
  await page.waitForFunction(() => document.body.classList.contains('coverage'), null, { timeout: 15_000 });
  assert.ok(await page.locator('#planner').isVisible(), 'the planner panel shows');
  await context.close();
});

// 5. Proves no request of the whole session went to any host but this machine (data: and blob: allowed).
test('5. no request leaves 127.0.0.1', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoOutsideRequests();
});

// 6. Proves no console error or uncaught exception happened on any page of the session.
test('6. no console errors', { timeout: TEST_TIMEOUT }, () => {
  session.assertNoConsoleErrors();
});
