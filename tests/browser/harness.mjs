// What both browser test files share: where the server and Chromium are, one
// browser session that records every request and console error of every page,
// and the checks made on that record at the end.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE = (process.env.WAYSTATION_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS = path.join(ROOT, 'target', 'screenshots');
export const READY_TIMEOUT = 90_000;
export const TEST_TIMEOUT = 240_000;
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

// One Chromium for a test file. `expected(url, text)` says which console error is
// provoked on purpose (Chromium logs every non-2xx fetch as a console error).
export class Session {
  constructor(expected = () => false) {
    this.expected = expected;
    this.requests = []; // every request URL of the whole session, all pages
    this.consoleErrors = []; // console errors and uncaught page errors, all pages
    this.browser = null;
  }

  // Waits for the server's data, then runs Chromium on a fresh temporary profile.
  async start() {
    fs.mkdirSync(SHOTS, { recursive: true });
    const health = await fetch(`${BASE}/healthz`).then((r) => r.text()).catch((e) => `unreachable: ${e.message}`);
    assert.equal(health.trim(), 'ok', `server at ${BASE} is not healthy`);
    for (let i = 0; i < 120; i++) {
      const st = await fetch(`${BASE}/readyz`).then((r) => r.status).catch(() => 0);
      if (st === 200) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-quic',
        '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  }

  async close() {
    if (this.browser) await this.browser.close();
  }

  // A browser context in Chinese and Shanghai time whose pages are all watched.
  async newContext(label, options = {}) {
    const context = await this.browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
    context.on('request', (req) => this.requests.push({ label, url: req.url() }));
    context.on('page', (page) => {
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const url = (msg.location() && msg.location().url) || '';
        if (this.expected(url, msg.text())) return;
        this.consoleErrors.push(`[${label}] ${msg.text()} ${url}`);
      });
      page.on('pageerror', (err) => this.consoleErrors.push(`[${label}] uncaught: ${err.message}`));
    });
    return context;
  }

  // Opens the map page and waits until the app says it is ready.
  async openMap(context, query = '') {
    const page = await context.newPage();
    await page.goto(`${BASE}/${query}`, { waitUntil: 'load' });
    await page.waitForFunction(() => window.__waystation && window.__waystation.ready === true, null, { timeout: READY_TIMEOUT });
    return page;
  }

  // No request of the session went to any host but this machine (data: and blob: allowed).
  assertNoOutsideRequests() {
    assert.ok(this.requests.length > 10, 'requests were recorded');
    const outside = this.requests.filter(({ url }) => {
      const u = new URL(url);
      if (u.protocol === 'data:' || u.protocol === 'blob:') return false;
      return !LOCAL_HOSTS.has(u.hostname);
    });
    assert.deepEqual(outside, [], 'requests to other hosts');
  }

  assertNoConsoleErrors() {
    assert.deepEqual(this.consoleErrors, []);
  }
}
