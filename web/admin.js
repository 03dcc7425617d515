// 驿站地图 · 数据编辑 / Waystation editor: sign in with a token, find, create, edit and
// delete features, see and revert their history, and import sheets with a dry run.
// Vanilla JS, no build; like the map page it loads nothing from any other host
// (plain background style, our own city labels, vendored MapLibre).
//
// The token lives in sessionStorage only (gone when the tab closes) and is sent as
// `Authorization: Bearer …` on every call but the public GETs. Coordinates are
// WGS-84 everywhere in the API; the form also shows the GCJ-02 (Amap) equivalent,
// and when the configured basemap is GCJ-02 the map draws converted positions.

import { LAYER_COLOURS, baseStyle, basemapSources, langHeader } from './common.js';
import { converterFor, wgs84ToGcj02, gcj02ToWgs84 } from './coords.js';
import { AMENITIES, POSITION_ACCURACY, VALUES, UNION_STATUS } from './i18n.js';

const maplibregl = window.maplibregl;

const TOKEN_KEY = 'waystation.token';
const LANG_KEY = 'waystation.lang';
const PAGE = 200; // features per page of /api/v1/layers/{layer}
const MAX_SCAN = 50_000; // features read at most by one search
const MAX_SHOWN = 200; // results listed at most
const CONTEXT_MIN_ZOOM = 8; // from here on the map shows the layer's features in view
const CONTEXT_LIMIT = 1000; // … at most this many

const LAYERS = ['driver_home', 'courier_station', 'fitness_station', 'park'];
const LAYER_WORDS = {
  driver_home: { zh: '司机之家', en: 'Driver homes' },
  courier_station: { zh: '工会驿站', en: 'Union rest stations' },
  fitness_station: { zh: '职工健身驿站', en: 'Worker fitness stations' },
  park: { zh: '工业园区', en: 'Industrial parks' },
};
const CRS_WORDS = {
  wgs84: { zh: 'WGS-84（GPS）', en: 'WGS-84 (GPS)' },
  gcj02: { zh: 'GCJ-02（高德、腾讯）', en: 'GCJ-02 (Amap, Tencent)' },
  bd09: { zh: 'BD-09（百度）', en: 'BD-09 (Baidu)' },
  cgcs2000: { zh: 'CGCS2000（天地图）', en: 'CGCS2000 (Tianditu)' },
};
const GRADES = ['simple', 'regular', 'comprehensive'];
const PARK_TYPES = ['industrial', 'logistics', 'development_zone', 'high_tech_zone', 'agricultural', 'culture_industry', 'mixed'];
const ROW_STATUS = {
  accepted: { zh: '新增', en: 'new' },
  updated: { zh: '更新', en: 'updated' },
  unchanged: { zh: '未变', en: 'unchanged' },
  rejected: { zh: '拒绝', en: 'rejected' },
};
const OPS = {
  create: { zh: '新建', en: 'created' },
  update: { zh: '修改', en: 'changed' },
  delete: { zh: '删除', en: 'deleted' },
  revert: { zh: '恢复', en: 'reverted' },
  import: { zh: '导入', en: 'imported' },
  purge: { zh: '清除演示数据', en: 'demo data purged' },
};

// Form inputs that are plain strings, by property.
const TEXT_FIELDS = ['name', 'name_en', 'address', 'city', 'district', 'notes', 'source'];
const FACILITY_TEXT = ['phone', 'operator', 'opening_hours'];
const PARK_COUNTS = ['enterprises', 'unionised_enterprises', 'workers', 'union_members'];
const PARK_DATES = ['union_founded', 'counts_as_of'];
// Properties the form does not show but a write must keep (the server refuses any
// property it does not know, so the computed ones of a GET are dropped).
const KEEP = ['opening_hours_text', 'amenities_unrecognised', 'synthetic'];

const STRINGS = {
  zh: {
    doc_title: '驿站地图 · 数据编辑',
    title: '驿站地图 · 数据编辑',
    title_short: '数据编辑',
    back_to_map: '回到地图',
    lang_button: 'EN',
    switch_lang: 'Switch to English',
    map_label: '地图',
    tools: '编辑工具',
    signin_title: '登录',
    signin_help: '请输入管理员发给您的令牌（waystation token create）。令牌只保存在本标签页中，关闭后需重新登录。',
    token: '令牌',
    sign_in: '登录',
    sign_out: '退出登录',
    signing_in: '正在验证令牌…',
    token_missing: '请输入令牌。',
    signed_in_as: (name, role, city) => `${name}（${role === 'admin' ? '管理员' : '编辑'}${city ? ` · ${city}` : ''}）`,
    session_ended: (d) => `登录已失效，请重新登录：${d}`,
    tab_find: '查找',
    tab_edit: '编辑',
    tab_history: '历史',
    tab_import: '导入',
    layer: '图层',
    city: '城市',
    city_ph: '如：临沂市',
    find_text: '名称或地址包含',
    find_text_ph: '名称、英文名或地址的一部分',
    find_in_view: '只查当前地图范围（移动地图后自动刷新）',
    find: '查找',
    new_feature: '＋ 新建',
    searching: (n, m) => (m ? `正在查找…（已读 ${n} / ${m} 条）` : '正在查找…'),
    found: (n, scanned, more) => `找到 ${n} 条${more ? `，只列出前 ${MAX_SHOWN} 条` : ''}（共查看 ${scanned} 条）`,
    found_none: (scanned) => `没有符合条件的条目（共查看 ${scanned} 条）。`,
    scan_capped: (m) => `此图层有 ${m} 条，只查看了前 ${MAX_SCAN} 条：请缩小地图范围。`,
    find_failed: (d) => `查找失败：${d}`,
    edit_empty: '从“查找”中选择一个条目，或按“新建”。',
    new_title: (layer) => `新建：${layer}`,
    edit_title: (name) => `编辑：${name}`,
    position: '位置',
    position_help: '点击地图或拖动标记设置位置；也可以输入坐标（WGS-84，或从高德复制的 GCJ-02）。',
    lon_wgs: '经度（WGS-84）',
    lat_wgs: '纬度（WGS-84）',
    lon_gcj: '经度（GCJ-02 高德）',
    lat_gcj: '纬度（GCJ-02 高德）',
    pos_moved: '位置已改动，保存后生效。',
    pos_polygon: '此园区的范围是多边形；移动标记会把它改为一个点。',
    map_hint_new: '点击地图设置新条目的位置。',
    map_hint_edit: '点击地图或拖动标记可修改位置。',
    context_zoom: '放大地图可看到此图层的现有条目。',
    context_many: (n) => `当前范围内有 ${n} 个条目，只显示 ${CONTEXT_LIMIT} 个：请放大地图。`,
    name: '名称',
    name_en: '英文名称',
    address: '地址',
    district: '区县',
    phone: '电话',
    operator: '运营方（所属工会）',
    opening_hours: '开放时间',
    hours_hint: '用 OpenStreetMap 格式（英文）：24/7；Mo-Su 07:00-22:00；Mo-Fr 08:00-20:00; PH off（PH＝法定节假日）。不知道就留空，不要填 24/7。',
    amenities: '设施',
    grade: '等级（仅健身驿站）',
    grade_none: '（未填）',
    park_figures: '园区情况',
    park_type: '园区类型',
    union_status: '建会情况',
    status_hint: '填了企业数和已建会企业数时，建会情况由服务器自动计算。',
    enterprises: '企业数',
    unionised_enterprises: '已建会企业数',
    workers: '职工数',
    union_members: '工会会员数',
    union_founded: '工会成立日期',
    counts_as_of: '统计截至',
    notes: '备注',
    provenance: '来源',
    source: '数据来源',
    source_ph: '如：《中国工人》 2022-10；不填则记为网页编辑',
    position_accuracy: '位置精度',
    synthetic: '演示数据',
    updated: '更新于',
    feature_id: '编号',
    yes_demo: '是（生成的演示数据）',
    no_real: '否',
    not_set: '（未填）',
    save: '保存',
    saving: '正在保存…',
    reload: '重新加载',
    delete: '删除',
    delete_confirm: '再按一次确认删除',
    saved_new: (id) => `已新建（编号 ${id}）。`,
    saved: '已保存。',
    saved_short: '✓ 已保存',
    failed_short: '未保存：见表单上方的说明',
    deleted: (name) => `已删除“${name}”。可在“历史”中恢复。`,
    conflict: '保存失败：其他人已经修改了这个条目。请按“重新加载”取得最新版本，再重新修改。',
    gone: '这个条目已不存在（可能已被删除）。',
    save_failed: (d) => `保存失败：${d}`,
    delete_failed: (d) => `删除失败：${d}`,
    load_failed: (d) => `加载失败：${d}`,
    loading: '正在加载…',
    no_history_target: '先在“编辑”中打开一个已保存的条目。',
    history_of: (name) => `修改历史：${name}`,
    history_none: '没有记录。',
    history_failed: (d) => `历史加载失败：${d}`,
    revert: '恢复到此版本',
    reverting: '正在恢复…',
    reverted: (n) => `已恢复到第 ${n} 条记录时的状态。`,
    reverted_deleted: (n) => `已恢复到第 ${n} 条记录时的状态：该条目现为已删除。`,
    revert_failed: (d) => `恢复失败：${d}`,
    current_version: '当前版本',
    h_by: (who) => `操作人：${who}`,
    h_import: (id) => `导入 #${id}`,
    h_field: '字段',
    h_change: '修改',
    h_created: '新建条目',
    h_deleted: '删除了条目',
    h_nothing: '属性没有变化',
    h_position: '位置',
    crs: '坐标系',
    imp_source: '来源说明',
    imp_source_ph: '如：某市总工会 2026 年驿站名录',
    imp_file: '文件（.xlsx / .csv / .geojson）',
    imp_help: '先“试导入”：只检查、不写入，逐行显示结果。确认无误后再按“确认导入”。已有的条目（同编号，或同名且相距很近）会被更新。',
    dry_run: '试导入（不写入）',
    confirm_import: '确认导入',
    importing: '正在处理…',
    no_file: '请先选择文件。',
    import_failed: (d) => `导入失败：${d}`,
    import_summary: (s) => `共 ${s.rows} 行：新增 ${s.accepted}，更新 ${s.updated}，未变 ${s.unchanged}，拒绝 ${s.rejected}。${s.dry_run ? '（试导入，没有写入任何数据）' : '（已写入）'}`,
    import_done: (id) => `导入 #${id} 已完成。`,
    dry_done: (id) => `试导入 #${id} 完成：检查下面的结果，再按“确认导入”。`,
    confirm_changed: '文件或选项已改动，请重新试导入。',
    download_report: '下载报告（Excel）',
    report_failed: (d) => `报告下载失败：${d}`,
    col_row: '行',
    col_status: '结果',
    col_reason: '原因 / 提示',
    col_feature: '条目',
    open_feature: '打开',
    need_signin: '请先登录。',
  },
  en: {
    doc_title: 'Waystation · data editor',
    title: 'Waystation · data editor',
    title_short: 'Editor',
    back_to_map: 'Back to the map',
    lang_button: '中文',
    switch_lang: '切换到中文',
    map_label: 'Map',
    tools: 'Editing tools',
    signin_title: 'Sign in',
    signin_help: 'Enter the token your administrator gave you (waystation token create). It is kept in this tab only: sign in again after closing it.',
    token: 'Token',
    sign_in: 'Sign in',
    sign_out: 'Sign out',
    signing_in: 'Checking the token…',
    token_missing: 'Enter a token.',
    signed_in_as: (name, role, city) => `${name} (${role}${city ? ` · ${city}` : ''})`,
    session_ended: (d) => `You have been signed out: ${d}`,
    tab_find: 'Find',
    tab_edit: 'Edit',
    tab_history: 'History',
    tab_import: 'Import',
    layer: 'Layer',
    city: 'City',
    city_ph: 'e.g. 临沂市',
    find_text: 'Name or address contains',
    find_text_ph: 'part of the name, English name or address',
    find_in_view: 'Only the area in view (refreshes when the map moves)',
    find: 'Find',
    new_feature: '+ New',
    searching: (n, m) => (m ? `Searching… (${n} of ${m} read)` : 'Searching…'),
    found: (n, scanned, more) => `${n} found${more ? `, the first ${MAX_SHOWN} listed` : ''} (${scanned} read)`,
    found_none: (scanned) => `Nothing matches (${scanned} read).`,
    scan_capped: (m) => `This layer has ${m} features; only the first ${MAX_SCAN} were read: zoom in and search the area in view.`,
    find_failed: (d) => `Search failed: ${d}`,
    edit_empty: 'Pick a feature under “Find”, or press “New”.',
    new_title: (layer) => `New: ${layer}`,
    edit_title: (name) => `Edit: ${name}`,
    position: 'Position',
    position_help: 'Click the map or drag the marker; or type coordinates (WGS-84, or GCJ-02 copied from Amap).',
    lon_wgs: 'Longitude (WGS-84)',
    lat_wgs: 'Latitude (WGS-84)',
    lon_gcj: 'Longitude (GCJ-02, Amap)',
    lat_gcj: 'Latitude (GCJ-02, Amap)',
    pos_moved: 'Position changed; saved when you save.',
    pos_polygon: 'This park is a polygon; moving the marker turns it into a point.',
    map_hint_new: 'Click the map to place the new feature.',
    map_hint_edit: 'Click the map or drag the marker to move it.',
    context_zoom: 'Zoom in to see the features of this layer.',
    context_many: (n) => `${n} features in view; ${CONTEXT_LIMIT} shown: zoom in.`,
    name: 'Name (Chinese)',
    name_en: 'English name',
    address: 'Address',
    district: 'District',
    phone: 'Phone',
    operator: 'Operator (union body)',
    opening_hours: 'Opening hours',
    hours_hint: 'OpenStreetMap syntax: 24/7; Mo-Su 07:00-22:00; Mo-Fr 08:00-20:00; PH off (PH = public holidays). Leave empty when unknown; do not guess 24/7.',
    amenities: 'Amenities',
    grade: 'Grade (fitness stations only)',
    grade_none: '(not set)',
    park_figures: 'Park figures',
    park_type: 'Park type',
    union_status: 'Union status',
    status_hint: 'With both enterprise counts filled in, the server derives the union status.',
    enterprises: 'Enterprises',
    unionised_enterprises: 'Enterprises with a union',
    workers: 'Workers',
    union_members: 'Union members',
    union_founded: 'Union founded',
    counts_as_of: 'Counts as of',
    notes: 'Notes',
    provenance: 'Provenance',
    source: 'Source',
    source_ph: 'e.g. 《中国工人》 2022-10; empty: recorded as a web edit',
    position_accuracy: 'Position accuracy',
    synthetic: 'Demo data',
    updated: 'Updated',
    feature_id: 'Id',
    yes_demo: 'yes (generated demo data)',
    no_real: 'no',
    not_set: '(not set)',
    save: 'Save',
    saving: 'Saving…',
    reload: 'Reload',
    delete: 'Delete',
    delete_confirm: 'Press again to delete',
    saved_new: (id) => `Created (id ${id}).`,
    saved: 'Saved.',
    saved_short: '✓ Saved',
    failed_short: 'Not saved: see the message above the form',
    deleted: (name) => `Deleted “${name}”. It can be restored from its history.`,
    conflict: 'Not saved: someone else has changed this feature. Press “Reload” for the current version, then make your change again.',
    gone: 'This feature no longer exists (it may have been deleted).',
    save_failed: (d) => `Not saved: ${d}`,
    delete_failed: (d) => `Not deleted: ${d}`,
    load_failed: (d) => `Could not load: ${d}`,
    loading: 'Loading…',
    no_history_target: 'Open a saved feature under “Edit” first.',
    history_of: (name) => `History: ${name}`,
    history_none: 'No entries.',
    history_failed: (d) => `Could not load the history: ${d}`,
    revert: 'Revert to this',
    reverting: 'Reverting…',
    reverted: (n) => `Set back to its state after entry ${n}.`,
    reverted_deleted: (n) => `Set back to its state after entry ${n}: the feature is now deleted.`,
    revert_failed: (d) => `Could not revert: ${d}`,
    current_version: 'current version',
    h_by: (who) => `by ${who}`,
    h_import: (id) => `import #${id}`,
    h_field: 'Field',
    h_change: 'Change',
    h_created: 'created the feature',
    h_deleted: 'deleted the feature',
    h_nothing: 'no property changed',
    h_position: 'position',
    crs: 'Coordinate system',
    imp_source: 'Source',
    imp_source_ph: 'e.g. city federation station list 2026',
    imp_file: 'File (.xlsx / .csv / .geojson)',
    imp_help: 'First a dry run: it checks every row and writes nothing. Then “Confirm import”. Features already stored (same id, or same name close by) are updated.',
    dry_run: 'Dry run (writes nothing)',
    confirm_import: 'Confirm import',
    importing: 'Working…',
    no_file: 'Choose a file first.',
    import_failed: (d) => `Import failed: ${d}`,
    import_summary: (s) => `${s.rows} rows: ${s.accepted} new, ${s.updated} updated, ${s.unchanged} unchanged, ${s.rejected} rejected.${s.dry_run ? ' (dry run: nothing written)' : ' (written)'}`,
    import_done: (id) => `Import #${id} done.`,
    dry_done: (id) => `Dry run #${id} done: check the rows below, then press “Confirm import”.`,
    confirm_changed: 'The file or the options changed: run the dry run again.',
    download_report: 'Download the report (Excel)',
    report_failed: (d) => `Could not download the report: ${d}`,
    col_row: 'Row',
    col_status: 'Result',
    col_reason: 'Reason / notes',
    col_feature: 'Feature',
    open_feature: 'Open',
    need_signin: 'Sign in first.',
  },
};

// ---------------------------------------------------------------------------
// State

const state = {
  lang: pickLang(),
  token: null,
  who: null,
  config: null,
  conv: converterFor('wgs84'),
  layersDoc: [],
  places: [],
  placeMarkers: [],
  // The search: its answer and a counter that drops answers of older searches.
  results: [],
  findSeq: 0,
  context: [], // the find layer's features in view (zoomed in), drawn faintly
  contextSeq: 0,
  contextNote: null,
  findNote: null, // { key, args, error }
  // The feature in the form: null, or { id (null when new), layer, etag, original }.
  current: null,
  pos: null, // the form's position, WGS-84 [lon, lat]
  posMoved: false,
  marker: null,
  formNote: null, // { kind: 'ok' | 'error', text, invalid: [] }
  historyId: null,
  historyName: '',
  history: null, // the entries, or null
  historyNote: null,
  importNote: null,
  lastImport: null, // { summary, rows, key }
  importKeyDry: null, // the options and file of the last dry run
};

let map = null;

// ---------------------------------------------------------------------------
// i18n and small helpers

function pickLang() {
  const q = (new URLSearchParams(location.search).get('lang') || '').toLowerCase();
  if (q.startsWith('en')) return 'en';
  if (q.startsWith('zh')) return 'zh';
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch { /* blocked storage */ }
  return 'zh';
}

function t(key, ...args) {
  const v = STRINGS[state.lang][key] ?? STRINGS.zh[key] ?? key;
  return typeof v === 'function' ? v(...args) : v;
}

function word(table, key) {
  if (key == null || key === '') return '';
  const e = table[key];
  return e ? e[state.lang] : String(key);
}

function layerWord(id) {
  const l = state.layersDoc.find((x) => x.id === id);
  if (l) {
    const n = state.lang === 'en' ? (l.name_en || l.name_zh) : (l.name_zh || l.name_en);
    if (n) return n;
  }
  return word(LAYER_WORDS, id);
}

const $ = (id) => document.getElementById(id);

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

function fmtCoord(v) {
  return Number.isFinite(v) ? v.toFixed(6) : '';
}

function fmtTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso ?? '');
  return d.toLocaleString(state.lang === 'zh' ? 'zh-CN' : 'en-GB', { timeZone: 'Asia/Shanghai', hour12: false });
}

function representativePoint(g) {
  if (!g) return null;
  if (g.type === 'Point') return g.coordinates;
  const rings = g.type === 'Polygon' ? [g.coordinates[0]] : g.type === 'MultiPolygon' ? g.coordinates.map((p) => p[0]) : [];
  let sx = 0; let sy = 0; let n = 0;
  for (const ring of rings) for (const [x, y] of ring || []) { sx += x; sy += y; n += 1; }
  return n ? [sx / n, sy / n] : null;
}

function applyStaticStrings() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('doc_title');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  const lb = $('btn-lang');
  lb.textContent = t('lang_button');
  lb.lang = state.lang === 'zh' ? 'en' : 'zh';
  lb.title = t('switch_lang');
  lb.setAttribute('aria-label', t('switch_lang'));
}

function setLang(lang) {
  state.lang = lang;
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* ignore */ }
  applyStaticStrings();
  fillSelects();
  renderAmenityChecks(currentAmenities());
  renderWho();
  renderFindStatus();
  renderResults();
  renderFormChrome();
  renderFormNote();
  renderHistory();
  renderImport();
  refetchImportRows();
  renderPlaces();
}

// ---------------------------------------------------------------------------
// HTTP

class ApiProblem extends Error {
  constructor(status, detail, invalid, title) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.invalid = invalid;
    this.title = title;
  }
}

async function problemOf(r) {
  let detail = `${r.status} ${r.statusText}`;
  let invalid = [];
  let title = r.statusText;
  try {
    const body = await r.json();
    detail = body.detail || body.title || detail;
    title = body.title || title;
    invalid = Array.isArray(body['invalid-params']) ? body['invalid-params'] : [];
  } catch { /* not JSON */ }
  return new ApiProblem(r.status, detail, invalid, title);
}

// A call to our API. `auth` adds the token; a 401 on a signed-in call ends the session.
async function api(path, { method = 'GET', body, headers = {}, auth = true, cache } = {}) {
  const h = { Accept: 'application/json, application/geo+json, application/problem+json', ...langHeader(), ...headers };
  if (auth && state.token) h.Authorization = `Bearer ${state.token}`;
  let r;
  try {
    r = await fetch(path, { method, body, headers: h, cache });
  } catch (e) {
    throw new ApiProblem(0, e.message || String(e), [], 'network');
  }
  if (!r.ok && r.status !== 304) {
    const p = await problemOf(r);
    if (p.status === 401 && auth && state.token) signOut(t('session_ended', p.detail));
    throw p;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Sign in / out

async function signIn(token) {
  const r = await fetch('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, cache: 'no-store' });
  if (!r.ok) throw await problemOf(r);
  return r.json();
}

async function onSignIn(ev) {
  ev.preventDefault();
  const err = $('signin-error');
  const token = $('token').value.trim();
  if (!token) { err.textContent = t('token_missing'); err.hidden = false; return; }
  err.hidden = false;
  err.classList.add('muted');
  err.textContent = t('signing_in');
  $('btn-signin').disabled = true;
  try {
    const who = await signIn(token);
    err.hidden = true;
    err.classList.remove('muted');
    startSession(token, who);
  } catch (e) {
    err.classList.remove('muted');
    err.textContent = e.detail || e.message;
    err.hidden = false;
    $('token').setAttribute('aria-invalid', 'true');
    $('token').focus();
  } finally {
    $('btn-signin').disabled = false;
  }
}

function startSession(token, who) {
  state.token = token;
  state.who = who;
  try { sessionStorage.setItem(TOKEN_KEY, token); } catch { /* ignore */ }
  $('token').value = '';
  $('token').removeAttribute('aria-invalid');
  $('signin').hidden = true;
  $('workspace').hidden = false;
  $('flash').hidden = true;
  renderWho();
  if (who.city && !$('find-city').value) $('find-city').value = who.city;
  updateMapHint();
}

function signOut(message) {
  state.token = null;
  state.who = null;
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* ignore */ }
  closeForm();
  $('workspace').hidden = true;
  $('signin').hidden = false;
  renderWho();
  const f = $('flash');
  if (message) { f.textContent = message; f.className = ''; f.hidden = false; } else f.hidden = true;
  updateMapHint();
}

function renderWho() {
  const w = $('who');
  const b = $('btn-signout');
  if (!state.who) { w.hidden = true; b.hidden = true; return; }
  w.textContent = t('signed_in_as', state.who.name, state.who.role, state.who.city);
  w.title = w.textContent;
  w.hidden = false;
  b.hidden = false;
}

// ---------------------------------------------------------------------------
// Tabs

const TABS = ['find', 'edit', 'history', 'import'];

function showTab(name) {
  for (const n of TABS) {
    const on = n === name;
    $(`tab-${n}`).setAttribute('aria-selected', String(on));
    $(`tab-${n}`).tabIndex = on ? 0 : -1;
    $(`pane-${n}`).hidden = !on;
  }
  if (name === 'history') loadHistory();
  updateMapHint();
}

// On a phone the map sits above the tools: show both from their top.
function revealOnPhone() {
  if (window.matchMedia('(max-width: 767px)').matches) window.scrollTo({ top: 0 });
}

function currentTab() {
  return TABS.find((n) => $(`tab-${n}`).getAttribute('aria-selected') === 'true');
}

// ---------------------------------------------------------------------------
// Selects and checkboxes

function options(sel, entries, value) {
  const keep = value ?? sel.value;
  sel.replaceChildren(...entries.map(([v, label]) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = label;
    return o;
  }));
  if (entries.some(([v]) => v === keep)) sel.value = keep;
}

function fillSelects() {
  const layers = LAYERS.map((id) => [id, layerWord(id)]);
  options($('find-layer'), layers);
  options($('f-layer'), layers);
  options($('imp-layer'), layers);
  options($('imp-crs'), Object.keys(CRS_WORDS).map((k) => [k, word(CRS_WORDS, k)]));
  options($('f-grade'), [['', t('grade_none')], ...GRADES.map((g) => [g, word(VALUES, g)])]);
  options($('f-park_type'), [['', t('not_set')], ...PARK_TYPES.map((g) => [g, word(VALUES, g)])]);
  options($('f-union_status'), [['', t('not_set')], ...Object.keys(UNION_STATUS).map((g) => [g, word(UNION_STATUS, g)])]);
  options($('f-position_accuracy'), [['', t('not_set')], ...Object.keys(POSITION_ACCURACY).map((g) => [g, `${word(POSITION_ACCURACY, g)} (${g})`])]);
}

function renderAmenityChecks(checked = []) {
  const box = $('f-amenities');
  box.replaceChildren();
  const known = Object.keys(AMENITIES);
  for (const a of [...known, ...checked.filter((x) => !known.includes(x))]) {
    const l = document.createElement('label');
    l.className = 'check';
    const i = document.createElement('input');
    i.type = 'checkbox';
    i.name = 'amenities';
    i.value = a;
    i.checked = checked.includes(a);
    const s = document.createElement('span');
    s.textContent = AMENITIES[a] ? AMENITIES[a][state.lang] : a;
    l.append(i, ' ', s);
    box.append(l);
  }
}

function currentAmenities() {
  return [...document.querySelectorAll('#f-amenities input:checked')].map((i) => i.value);
}

// ---------------------------------------------------------------------------
// 2. Find

function viewBBox() {
  const b = map.getBounds();
  const sw = state.conv.fromDisplay([b.getWest(), b.getSouth()]);
  const ne = state.conv.fromDisplay([b.getEast(), b.getNorth()]);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  return [clamp(sw[0], -180, 180), clamp(sw[1], -90, 90), clamp(ne[0], -180, 180), clamp(ne[1], -90, 90)]
    .map((v) => +v.toFixed(6));
}

function matches(f, text, city) {
  const p = f.properties || {};
  if (city && !String(p.city || '').toLowerCase().includes(city)) return false;
  if (!text) return true;
  return [p.name, p.name_en, p.address, p.district, p.id ?? f.id].some((v) => v != null && String(v).toLowerCase().includes(text));
}

async function runFind() {
  const seq = ++state.findSeq;
  const layer = $('find-layer').value;
  const text = $('find-text').value.trim().toLowerCase();
  const city = $('find-city').value.trim().toLowerCase();
  const bbox = $('find-in-view').checked && map ? viewBBox() : null;
  const base = `/api/v1/layers/${encodeURIComponent(layer)}?limit=${PAGE}${bbox ? `&bbox=${bbox.join(',')}` : ''}`;
  const page = async (offset) => {
    const r = await api(`${base}&offset=${offset}`, { auth: false, cache: 'no-cache' });
    return r.json();
  };
  state.findNote = { key: 'searching', args: [0, 0] };
  renderFindStatus();
  const found = [];
  let scanned = 0;
  try {
    const first = await page(0);
    if (seq !== state.findSeq) return;
    const total = Number(first.numberMatched ?? (first.features || []).length);
    const keep = (fc) => {
      for (const f of fc.features || []) if (matches(f, text, city)) found.push(f);
      scanned += (fc.features || []).length;
    };
    keep(first);
    const limit = Math.min(total, MAX_SCAN);
    const offsets = [];
    for (let o = PAGE; o < limit; o += PAGE) offsets.push(o);
    // Four pages at a time, kept in order.
    for (let i = 0; i < offsets.length; i += 4) {
      state.findNote = { key: 'searching', args: [scanned, total] };
      renderFindStatus();
      const pages = await Promise.all(offsets.slice(i, i + 4).map(page));
      if (seq !== state.findSeq) return;
      pages.forEach(keep);
    }
    state.results = found.slice(0, MAX_SHOWN);
    state.findNote = found.length
      ? { key: 'found', args: [found.length, scanned, found.length > MAX_SHOWN] }
      : { key: 'found_none', args: [scanned] };
    if (total > MAX_SCAN) state.findNote.extra = { key: 'scan_capped', args: [total] };
  } catch (e) {
    if (seq !== state.findSeq) return;
    state.results = [];
    state.findNote = { key: 'find_failed', args: [e.detail || e.message], error: true };
  }
  renderFindStatus();
  renderResults();
}

function renderFindStatus() {
  const el = $('find-status');
  const n = state.findNote;
  if (!n) { el.textContent = ''; el.classList.remove('error'); return; }
  el.textContent = t(n.key, ...n.args) + (n.extra ? ` ${t(n.extra.key, ...n.extra.args)}` : '');
  el.classList.toggle('error', !!n.error);
}

function renderResults() {
  const ol = $('find-results');
  ol.replaceChildren();
  const currentId = state.current && state.current.id;
  for (const f of state.results) {
    const p = f.properties || {};
    const id = String(p.id ?? f.id);
    const li = document.createElement('li');
    li.dataset.id = id;
    if (id === currentId) li.classList.add('active');
    const b = document.createElement('button');
    b.type = 'button';
    const name = (state.lang === 'en' && p.name_en) ? p.name_en : (p.name || p.name_en || id);
    const sub = [p.city, p.district, p.address].filter(Boolean).join(' · ');
    b.innerHTML = `<span class="r-name">${esc(name)}${p.synthetic === true ? `<span class="badge">${esc(state.lang === 'zh' ? '演示' : 'demo')}</span>` : ''}</span>` +
      `<span class="r-sub">${esc(sub || id)}</span>`;
    b.addEventListener('click', () => openFeature(id, { fly: true }));
    li.append(b);
    ol.append(li);
  }
  drawResults();
}

function drawResults() {
  if (!map || !map.getSource('adm-results')) return;
  const features = [];
  for (const f of state.results) {
    const pt = representativePoint(f.geometry);
    if (!pt) continue;
    const p = f.properties || {};
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: state.conv.toDisplay(pt) },
      properties: { id: String(p.id ?? f.id), layer: p.layer || $('find-layer').value },
    });
  }
  map.getSource('adm-results').setData({ type: 'FeatureCollection', features });
}

// ---------------------------------------------------------------------------
// 3. The form

function isFacility(layer) { return layer !== 'park'; }

function formLayer() {
  return state.current ? state.current.layer : $('f-layer').value;
}

function renderFormChrome() {
  const form = $('edit-form');
  const cur = state.current;
  $('edit-empty').hidden = !!cur;
  form.hidden = !cur;
  if (!cur) { updateMapHint(); return; }
  const layer = formLayer();
  for (const el of form.querySelectorAll('.facility-only')) el.hidden = !isFacility(layer);
  for (const el of form.querySelectorAll('.park-only')) el.hidden = isFacility(layer);
  for (const el of form.querySelectorAll('.fitness-only')) el.hidden = layer !== 'fitness_station';
  $('f-layer').disabled = !!cur.id;
  const name = (cur.original && cur.original.properties && cur.original.properties.name) || cur.id || '';
  $('edit-title').textContent = cur.id ? t('edit_title', name) : t('new_title', layerWord(layer));
  $('btn-delete').hidden = !cur.id;
  $('btn-reload').hidden = !cur.id;
  const p = (cur.original && cur.original.properties) || {};
  $('f-synthetic').textContent = p.synthetic === true ? t('yes_demo') : t('no_real');
  $('f-updated').textContent = p.updated || '—';
  $('f-id').textContent = cur.id || '—';
  renderPosNote();
  updateMapHint();
}

function renderPosNote() {
  let note = $('pos-note');
  const cur = state.current;
  const polygon = cur && cur.original && cur.original.geometry && cur.original.geometry.type !== 'Point';
  const text = state.posMoved ? (polygon ? `${t('pos_moved')} ${t('pos_polygon')}` : t('pos_moved')) : '';
  if (!text) { if (note) note.remove(); return; }
  if (!note) {
    note = document.createElement('p');
    note.id = 'pos-note';
    note.className = 'pos-note';
    note.setAttribute('role', 'status');
    $('f-lat-gcj').closest('.grid2').after(note);
  }
  note.textContent = text;
}

function setInput(id, v) {
  const el = $(id);
  if (el) el.value = v == null ? '' : String(v);
}

function fillForm(feature) {
  const p = (feature && feature.properties) || {};
  for (const k of [...TEXT_FIELDS, ...FACILITY_TEXT, ...PARK_COUNTS, ...PARK_DATES]) setInput(`f-${k}`, p[k]);
  for (const k of ['grade', 'park_type', 'union_status', 'position_accuracy']) setInput(`f-${k}`, p[k] ?? '');
  const amenities = Array.isArray(p.amenities) ? p.amenities : [];
  renderAmenityChecks(amenities);
  const pt = feature ? representativePoint(feature.geometry) : null;
  setPosition(pt, { moved: false, pan: false });
}

function clearFieldErrors() {
  const form = $('edit-form');
  for (const el of form.querySelectorAll('.field-error')) {
    if (el.dataset.errorFor === 'geometry') { el.hidden = true; el.textContent = ''; } else el.remove();
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  for (const el of form.querySelectorAll('[data-described]')) {
    el.setAttribute('aria-describedby', el.dataset.described);
    delete el.dataset.described;
  }
}

function renderFormNote() {
  const err = $('form-error');
  const ok = $('form-ok');
  const n = state.formNote;
  const brief = $('save-status');
  err.hidden = true;
  ok.hidden = true;
  err.replaceChildren();
  brief.textContent = n ? (n.kind === 'ok' ? t('saved_short') : t('failed_short')) : '';
  brief.className = `save-status ${n ? (n.kind === 'ok' ? 'ok' : 'bad') : ''}`;
  if (!n) return;
  if (n.kind === 'ok') {
    ok.textContent = n.text();
    ok.hidden = false;
    return;
  }
  const p = document.createElement('p');
  p.style.margin = '0';
  p.textContent = n.text();
  err.append(p);
  if (n.unplaced && n.unplaced.length) {
    const ul = document.createElement('ul');
    for (const x of n.unplaced) {
      const li = document.createElement('li');
      li.textContent = `${x.name}: ${x.reason}`;
      ul.append(li);
    }
    err.append(ul);
  }
  if (n.reload) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn small';
    b.textContent = t('reload');
    b.addEventListener('click', reloadCurrent);
    const row = document.createElement('div');
    row.className = 'row';
    row.append(b);
    err.append(row);
  }
  err.hidden = false;
}

function setNote(note) {
  state.formNote = note;
  renderFormNote();
}

// Shows each invalid-param reason next to its field; returns those with no field.
function showFieldErrors(invalid) {
  clearFieldErrors();
  const form = $('edit-form');
  const unplaced = [];
  let firstInput = null;
  for (const x of invalid || []) {
    const name = String(x.name || '');
    let field = name.replace(/^properties\./, '');
    if (field.startsWith('geometry') || ['lon', 'lat', 'coordinates'].includes(field)) field = 'geometry';
    if (field.startsWith('amenities')) field = 'amenities';
    const box = form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!box || box.closest('[hidden]')) { unplaced.push(x); continue; }
    let msg;
    if (field === 'geometry') {
      msg = box.querySelector('[data-error-for="geometry"]');
      msg.textContent = msg.textContent ? `${msg.textContent}; ${x.reason}` : x.reason;
      msg.hidden = false;
    } else {
      msg = document.createElement('p');
      msg.className = 'field-error';
      msg.dataset.errorFor = field;
      msg.textContent = x.reason;
      box.append(msg);
    }
    msg.id = msg.id || `err-${field}`;
    const inputs = field === 'geometry'
      ? [$('f-lon'), $('f-lat'), $('f-lon-gcj'), $('f-lat-gcj')]
      : [...box.querySelectorAll('input, select, textarea')].slice(0, field === 'amenities' ? 0 : 1);
    for (const input of inputs) {
      input.setAttribute('aria-invalid', 'true');
      if (!('described' in input.dataset)) input.dataset.described = input.getAttribute('aria-describedby') || '';
      input.setAttribute('aria-describedby', `${input.dataset.described} ${msg.id}`.trim());
      firstInput = firstInput || input;
    }
  }
  return { unplaced, firstInput };
}

function newFeature(at = null) {
  if (!requireSignIn()) return;
  const layer = $('find-layer').value;
  $('f-layer').value = layer;
  state.current = { id: null, layer, etag: null, original: null };
  state.posMoved = false;
  fillForm(null);
  clearFieldErrors();
  setNote(null);
  renderFormChrome();
  renderResults();
  if (at) setPosition(at, { moved: false, pan: false });
  showTab('edit');
  revealOnPhone();
  $('f-name').focus({ preventScroll: true });
}

async function openFeature(id, { fly = false, tab = 'edit' } = {}) {
  if (!requireSignIn()) return;
  try {
    const r = await api(`/api/v1/features/${encodeURIComponent(id)}`, { auth: false, cache: 'no-store' });
    const f = await r.json();
    loadIntoForm(f, r.headers.get('ETag'));
    setNote(null);
    showTab(tab);
    revealOnPhone();
    if (fly && state.pos) {
      map.flyTo({ center: state.conv.toDisplay(state.pos), zoom: Math.max(map.getZoom(), 14), essential: true });
    }
  } catch (e) {
    state.findNote = { key: e.status === 404 ? 'gone' : 'load_failed', args: [e.detail || e.message], error: true };
    renderFindStatus();
  }
}

function loadIntoForm(feature, etag) {
  const p = feature.properties || {};
  const id = String(p.id ?? feature.id);
  state.current = { id, layer: p.layer || $('find-layer').value, etag, original: feature };
  state.posMoved = false;
  $('f-layer').value = state.current.layer;
  fillForm(feature);
  clearFieldErrors();
  renderFormChrome();
  state.historyId = id;
  state.historyName = p.name || id;
  state.history = null;
  renderResults();
}

async function reloadCurrent() {
  const cur = state.current;
  if (!cur || !cur.id) return;
  await openFeature(cur.id, { tab: currentTab() || 'edit' });
}

function closeForm() {
  state.current = null;
  state.pos = null;
  state.posMoved = false;
  if (state.marker) { state.marker.remove(); state.marker = null; }
  state.formNote = null;
  renderFormChrome();
  renderFormNote();
  renderResults();
}

// The form's position (WGS-84), shown in both systems and as the marker.
function setPosition(wgs, { moved = true, pan = false, from = null } = {}) {
  state.pos = wgs && Number.isFinite(wgs[0]) && Number.isFinite(wgs[1]) ? [wgs[0], wgs[1]] : null;
  if (moved) state.posMoved = true;
  if (from !== 'wgs') {
    setInput('f-lon', state.pos ? fmtCoord(state.pos[0]) : '');
    setInput('f-lat', state.pos ? fmtCoord(state.pos[1]) : '');
  }
  if (from !== 'gcj') {
    const g = state.pos ? wgs84ToGcj02(state.pos[0], state.pos[1]) : null;
    setInput('f-lon-gcj', g ? fmtCoord(g[0]) : '');
    setInput('f-lat-gcj', g ? fmtCoord(g[1]) : '');
  }
  placeMarker();
  renderPosNote();
  if (pan && state.pos && map) map.easeTo({ center: state.conv.toDisplay(state.pos) });
}

function placeMarker() {
  if (!map) return;
  if (!state.pos || !state.current) {
    if (state.marker) { state.marker.remove(); state.marker = null; }
    return;
  }
  const at = state.conv.toDisplay(state.pos);
  if (!state.marker) {
    state.marker = new maplibregl.Marker({ draggable: true, color: '#c92a2a' }).setLngLat(at).addTo(map);
    const el = state.marker.getElement();
    el.classList.add('edit-marker');
    el.setAttribute('aria-label', t('position'));
    state.marker.on('dragend', () => {
      const ll = state.marker.getLngLat();
      setPosition(state.conv.fromDisplay([ll.lng, ll.lat]), { moved: true });
    });
  } else {
    state.marker.setLngLat(at);
  }
}

function numberOrNull(s) {
  const v = String(s).trim();
  if (!v) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function onCoordInput(which) {
  if (which === 'wgs') {
    const lon = numberOrNull($('f-lon').value);
    const lat = numberOrNull($('f-lat').value);
    setPosition(lon != null && lat != null ? [lon, lat] : null, { from: 'wgs' });
  } else {
    const lon = numberOrNull($('f-lon-gcj').value);
    const lat = numberOrNull($('f-lat-gcj').value);
    setPosition(lon != null && lat != null ? gcj02ToWgs84(lon, lat) : null, { from: 'gcj' });
  }
}

// The feature as the form says, for POST / PUT: only non-empty properties.
function collectFeature() {
  const cur = state.current;
  const layer = formLayer();
  const before = (cur.original && cur.original.properties) || {};
  const props = {};
  for (const k of KEEP) if (before[k] != null && before[k] !== '') props[k] = before[k];
  props.layer = layer;
  if (cur.id) props.id = cur.id;
  const text = (id) => $(id).value.trim();
  const fields = [...TEXT_FIELDS, 'position_accuracy'];
  if (isFacility(layer)) fields.push(...FACILITY_TEXT);
  if (layer === 'fitness_station') fields.push('grade');
  if (!isFacility(layer)) fields.push('park_type', 'union_status', ...PARK_DATES);
  for (const k of fields) {
    const v = text(`f-${k}`);
    if (v) props[k] = v;
  }
  if (isFacility(layer)) {
    const a = currentAmenities();
    if (a.length) props.amenities = a;
  } else {
    for (const k of PARK_COUNTS) {
      const v = text(`f-${k}`);
      if (v) props[k] = /^\d+$/.test(v) ? Number(v) : v; // the server explains a bad number
    }
  }
  if (!isFacility(layer) && props.enterprises != null && props.unionised_enterprises != null) {
    delete props.union_status; // derived by the server from the counts
  }
  let geometry = null;
  const original = cur.original && cur.original.geometry;
  if (original && original.type !== 'Point' && !state.posMoved) {
    geometry = original; // a park's polygon, untouched
  } else if (state.pos) {
    geometry = { type: 'Point', coordinates: [+state.pos[0].toFixed(7), +state.pos[1].toFixed(7)] };
  } else {
    const lon = text('f-lon');
    const lat = text('f-lat');
    if (lon || lat) geometry = { type: 'Point', coordinates: [Number(lon) || lon, Number(lat) || lat] };
  }
  const feature = { type: 'Feature', geometry, properties: props };
  if (cur.id) feature.id = cur.id;
  return feature;
}

async function onSave(ev) {
  ev.preventDefault();
  const cur = state.current;
  if (!cur || !requireSignIn()) return;
  const body = JSON.stringify(collectFeature());
  const btn = $('btn-save');
  btn.disabled = true;
  btn.textContent = t('saving');
  clearFieldErrors();
  setNote(null);
  try {
    const isNew = !cur.id;
    const r = isNew
      ? await api('/api/v1/features', { method: 'POST', body, headers: { 'Content-Type': 'application/geo+json' } })
      : await api(`/api/v1/features/${encodeURIComponent(cur.id)}`, {
        method: 'PUT',
        body,
        headers: { 'Content-Type': 'application/geo+json', ...(cur.etag ? { 'If-Match': cur.etag } : {}) },
      });
    const stored = await r.json();
    loadIntoForm(stored, r.headers.get('ETag'));
    const id = state.current.id;
    setNote({ kind: 'ok', text: () => (isNew ? t('saved_new', id) : t('saved')) });
    upsertResult(stored);
    scheduleContext(0);
  } catch (e) {
    if (e.status === 412) {
      setNote({ kind: 'error', text: () => t('conflict'), reload: true });
    } else if (e.status === 404) {
      setNote({ kind: 'error', text: () => t('gone') });
    } else {
      const { unplaced, firstInput } = showFieldErrors(e.invalid);
      const detail = e.detail || e.message;
      setNote({ kind: 'error', text: () => t('save_failed', detail), unplaced });
      if (firstInput) firstInput.focus({ preventScroll: false });
      else $('form-error').scrollIntoView({ block: 'nearest' });
    }
  } finally {
    btn.disabled = false;
    btn.textContent = t('save');
  }
}

function upsertResult(feature) {
  const id = String(feature.properties.id ?? feature.id);
  const i = state.results.findIndex((f) => String(f.properties.id ?? f.id) === id);
  if (i >= 0) state.results[i] = feature;
  else if ((feature.properties.layer || '') === $('find-layer').value) state.results.unshift(feature);
  renderResults();
}

let deleteArmed = null;
async function onDelete() {
  const cur = state.current;
  const btn = $('btn-delete');
  if (!cur || !cur.id || !requireSignIn()) return;
  if (!deleteArmed) {
    btn.classList.add('armed');
    btn.textContent = t('delete_confirm');
    deleteArmed = setTimeout(disarmDelete, 5000);
    return;
  }
  disarmDelete();
  const name = (cur.original && cur.original.properties && cur.original.properties.name) || cur.id;
  try {
    await api(`/api/v1/features/${encodeURIComponent(cur.id)}`, {
      method: 'DELETE',
      headers: cur.etag ? { 'If-Match': cur.etag } : {},
    });
    const id = cur.id;
    state.results = state.results.filter((f) => String(f.properties.id ?? f.id) !== id);
    closeForm();
    state.historyId = id;
    state.historyName = name;
    state.history = null;
    state.findNote = { key: 'deleted', args: [name] };
    renderFindStatus();
    scheduleContext(0);
    showTab('find');
  } catch (e) {
    if (e.status === 412) setNote({ kind: 'error', text: () => t('conflict'), reload: true });
    else {
      const d = e.detail || e.message;
      setNote({ kind: 'error', text: () => t('delete_failed', d) });
    }
  }
}

function disarmDelete() {
  clearTimeout(deleteArmed);
  deleteArmed = null;
  const btn = $('btn-delete');
  btn.classList.remove('armed');
  btn.textContent = t('delete');
}

function requireSignIn() {
  if (state.token) return true;
  const f = $('flash');
  f.textContent = t('need_signin');
  f.className = 'info';
  f.hidden = false;
  return false;
}

// ---------------------------------------------------------------------------
// 5. History

async function loadHistory() {
  const id = state.historyId;
  if (!id || !state.token) { state.history = null; state.historyNote = null; renderHistory(); return; }
  state.historyNote = { key: 'loading', args: [] };
  renderHistory();
  try {
    const r = await api(`/api/v1/features/${encodeURIComponent(id)}/history`, { cache: 'no-store' });
    const body = await r.json();
    if (state.historyId !== id) return;
    state.history = body.history || [];
    state.historyNote = state.history.length ? null : { key: 'history_none', args: [] };
  } catch (e) {
    state.history = null;
    state.historyNote = { key: 'history_failed', args: [e.detail || e.message], error: true };
  }
  renderHistory();
}

function show(v) {
  if (v == null || v === '') return '—';
  if (Array.isArray(v)) return v.map((x) => (AMENITIES[x] ? AMENITIES[x][state.lang] : x)).join('、') || '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function pointText(g) {
  const pt = g && representativePoint(g);
  return pt ? `${fmtCoord(pt[0])}, ${fmtCoord(pt[1])}` : '—';
}

// Rows [field, before, after] of what an entry changed (`updated` left out).
function diff(before, after) {
  const a = (before && before.properties) || {};
  const b = (after && after.properties) || {};
  const rows = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => k !== 'updated');
  for (const k of keys) {
    const x = JSON.stringify(a[k] ?? null);
    const y = JSON.stringify(b[k] ?? null);
    if (x !== y) rows.push([k, show(a[k]), show(b[k])]);
  }
  const ga = JSON.stringify((before && before.geometry) || null);
  const gb = JSON.stringify((after && after.geometry) || null);
  if (ga !== gb) rows.unshift([t('h_position'), pointText(before && before.geometry), pointText(after && after.geometry)]);
  return rows;
}

function fieldLabel(k) {
  const s = STRINGS[state.lang][k];
  return typeof s === 'string' ? `${s} (${k})` : k;
}

function renderHistory() {
  const title = $('history-title');
  const status = $('history-status');
  const ol = $('history-list');
  ol.replaceChildren();
  if (!state.historyId) {
    title.textContent = '';
    status.textContent = t('no_history_target');
    status.classList.remove('error');
    return;
  }
  title.textContent = t('history_of', state.historyName || state.historyId);
  const n = state.historyNote;
  status.textContent = n ? t(n.key, ...n.args) : '';
  status.classList.toggle('error', !!(n && n.error));
  const entries = state.history || [];
  const newest = entries.length ? entries[entries.length - 1].n : null;
  for (const e of [...entries].reverse()) {
    const li = document.createElement('li');
    li.dataset.n = e.n;
    const head = document.createElement('div');
    head.className = 'h-head';
    head.innerHTML = `<span class="h-op">#${esc(e.n)} ${esc(word(OPS, e.op))}</span>` +
      `<span class="h-meta"><time datetime="${esc(e.at)}">${esc(fmtTime(e.at))}</time> · ${esc(t('h_by', e.who))}` +
      `${e.import_id != null ? ` · ${esc(t('h_import', e.import_id))}` : ''}</span>`;
    li.append(head);
    if (!e.before && e.after) {
      const p = document.createElement('p');
      p.className = 'small muted';
      p.style.margin = '4px 0';
      p.textContent = `${t('h_created')}: ${show(e.after.properties && e.after.properties.name)} · ${pointText(e.after.geometry)}`;
      li.append(p);
    } else if (e.before && !e.after) {
      const p = document.createElement('p');
      p.className = 'small muted';
      p.style.margin = '4px 0';
      p.textContent = t('h_deleted');
      li.append(p);
    } else {
      const rows = diff(e.before, e.after);
      if (!rows.length) {
        const p = document.createElement('p');
        p.className = 'small muted';
        p.style.margin = '4px 0';
        p.textContent = t('h_nothing');
        li.append(p);
      } else {
        const table = document.createElement('table');
        table.innerHTML = `<thead><tr><th scope="col">${esc(t('h_field'))}</th><th scope="col">${esc(t('h_change'))}</th></tr></thead>`;
        const tb = document.createElement('tbody');
        for (const [k, x, y] of rows) {
          const tr = document.createElement('tr');
          tr.innerHTML = `<th scope="row">${esc(fieldLabel(k))}</th><td><del>${esc(x)}</del> → <ins>${esc(y)}</ins></td>`;
          tb.append(tr);
        }
        table.append(tb);
        li.append(table);
      }
    }
    const row = document.createElement('div');
    row.className = 'row';
    if (e.n === newest) {
      const s = document.createElement('span');
      s.className = 'small muted';
      s.textContent = t('current_version');
      row.append(s);
    } else {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn small revert';
      b.textContent = t('revert');
      b.addEventListener('click', () => revertTo(e.n, b));
      row.append(b);
    }
    li.append(row);
    ol.append(li);
  }
}

async function revertTo(n, btn) {
  const id = state.historyId;
  if (!id || !requireSignIn()) return;
  btn.disabled = true;
  btn.textContent = t('reverting');
  try {
    const r = await api(`/api/v1/features/${encodeURIComponent(id)}/history/${encodeURIComponent(n)}/revert`, { method: 'POST' });
    if (r.status === 204) {
      state.results = state.results.filter((f) => String(f.properties.id ?? f.id) !== id);
      if (state.current && state.current.id === id) closeForm();
      state.historyNote = { key: 'reverted_deleted', args: [n] };
    } else {
      const f = await r.json();
      loadIntoForm(f, r.headers.get('ETag'));
      upsertResult(f);
      setNote({ kind: 'ok', text: () => t('reverted', n) });
    }
    scheduleContext(0);
    const note = state.historyNote;
    await loadHistory();
    if (note && note.key === 'reverted_deleted') { state.historyNote = note; renderHistory(); }
  } catch (e) {
    state.historyNote = { key: 'revert_failed', args: [e.detail || e.message], error: true };
    renderHistory();
  }
}

// ---------------------------------------------------------------------------
// 6. Import

function importKey() {
  const file = $('imp-file').files[0];
  if (!file) return null;
  return JSON.stringify([$('imp-layer').value, $('imp-crs').value, $('imp-source').value.trim(), file.name, file.size, file.lastModified]);
}

async function runImport(dry) {
  if (!requireSignIn()) return;
  const file = $('imp-file').files[0];
  if (!file) {
    state.importNote = { key: 'no_file', args: [], error: true };
    renderImport();
    return;
  }
  const key = importKey();
  if (!dry && key !== state.importKeyDry) {
    state.importNote = { key: 'confirm_changed', args: [], error: true };
    renderImport();
    return;
  }
  const q = new URLSearchParams({
    layer: $('imp-layer').value,
    crs: $('imp-crs').value,
    dry_run: String(dry),
  });
  const source = $('imp-source').value.trim();
  if (source) q.set('source', source);
  q.set('file_name', file.name);
  state.importNote = { key: 'importing', args: [] };
  $('btn-dry').disabled = true;
  $('btn-commit').disabled = true;
  renderImport();
  try {
    const r = await api(`/api/v1/imports?${q}`, {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': file.type || 'application/octet-stream' },
    });
    const body = await r.json();
    state.lastImport = { summary: body.import, rows: body.rows || [] };
    state.importKeyDry = dry ? key : null;
    state.importNote = { key: dry ? 'dry_done' : 'import_done', args: [body.import.id] };
    if (!dry && state.results.length) runFind();
    if (!dry) scheduleContext(0);
  } catch (e) {
    state.importNote = { key: 'import_failed', args: [e.detail || e.message], error: true };
  } finally {
    $('btn-dry').disabled = false;
  }
  renderImport();
}

// An import's reasons and warnings come from the server in the page's language
// (langHeader): after a switch the row report is asked for again, in the new one.
let importRowsAsk = 0;
async function refetchImportRows() {
  const li = state.lastImport;
  if (!li || !state.token) return;
  const ask = ++importRowsAsk;
  try {
    const r = await api(`/api/v1/imports/${encodeURIComponent(li.summary.id)}`, { cache: 'no-store' });
    const body = await r.json();
    if (ask !== importRowsAsk || state.lastImport !== li || !Array.isArray(body.rows)) return;
    li.rows = body.rows;
    renderImport();
  } catch { /* the rows stay in the language they came in */ }
}

function renderImport() {
  const status = $('import-status');
  const n = state.importNote;
  status.textContent = n ? t(n.key, ...n.args) : '';
  status.classList.toggle('error', !!(n && n.error));
  const li = state.lastImport;
  const canCommit = !!(li && li.summary.dry_run && state.importKeyDry && state.importKeyDry === importKey()
    && (li.summary.accepted + li.summary.updated) > 0);
  $('btn-commit').disabled = !canCommit;
  $('import-report').hidden = !li;
  if (!li) return;
  $('import-summary').textContent = `#${li.summary.id} · ${t('import_summary', li.summary)}`;
  const tb = $('import-table').querySelector('tbody');
  tb.replaceChildren();
  for (const row of [...li.rows].sort((a, b) => a.row - b.row)) {
    const tr = document.createElement('tr');
    tr.className = row.status;
    tr.dataset.row = row.row;
    tr.dataset.status = row.status;
    const warnings = (row.warnings || []).map((w) => `<li>${esc(w)}</li>`).join('');
    tr.innerHTML = `<td>${esc(row.row)}</td><td class="st">${esc(word(ROW_STATUS, row.status))}</td>` +
      `<td class="reason">${esc(row.reason || '')}${warnings ? `<ul class="warnings">${warnings}</ul>` : ''}</td><td class="feat"></td>`;
    if (row.feature_id && row.status !== 'rejected' && !(li.summary.dry_run && row.status === 'accepted')) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'linklike';
      b.textContent = row.feature_id;
      b.title = t('open_feature');
      b.addEventListener('click', () => openFeature(row.feature_id, { fly: true }));
      tr.querySelector('.feat').append(b);
    } else if (row.feature_id && row.status !== 'accepted') {
      tr.querySelector('.feat').textContent = row.feature_id;
    }
    tb.append(tr);
  }
}

async function downloadReport() {
  const li = state.lastImport;
  if (!li || !requireSignIn()) return;
  const id = li.summary.id;
  try {
    const r = await api(`/api/v1/imports/${encodeURIComponent(id)}/report.xlsx`, {
      headers: { Accept: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet, application/problem+json' },
      cache: 'no-store',
    });
    const blob = await r.blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `import-${id}-report.xlsx`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (e) {
    state.importNote = { key: 'report_failed', args: [e.detail || e.message], error: true };
    renderImport();
  }
}

// ---------------------------------------------------------------------------
// The map: a plain background (or the configured basemap), our city names, the
// search results and the marker of the feature being edited.

function configuredSources() {
  return basemapSources(state.config && state.config.basemap);
}

function renderPlaces() {
  for (const m of state.placeMarkers) m.remove();
  state.placeMarkers = [];
  if (!map || configuredSources().length) return;
  const places = [...state.places].sort((a, b) => ((b.properties || {}).weight || 0) - ((a.properties || {}).weight || 0));
  for (const f of places) {
    if (!f.geometry || f.geometry.type !== 'Point') continue;
    const p = f.properties || {};
    const el = document.createElement('div');
    el.className = 'place-label';
    el.textContent = state.lang === 'en' ? (p.name_en || p.name) : (p.name || p.name_en);
    const m = new maplibregl.Marker({ element: el, anchor: 'top', offset: [0, 4] })
      .setLngLat(state.conv.toDisplay(f.geometry.coordinates))
      .addTo(map);
    state.placeMarkers.push(m);
  }
  declutterPlaces();
}

function declutterPlaces() {
  if (!map) return;
  const boxes = [];
  const w = map.getContainer().clientWidth;
  const h = map.getContainer().clientHeight;
  for (const m of state.placeMarkers) {
    const el = m.getElement();
    const pt = map.project(m.getLngLat());
    const bw = el.offsetWidth || 60;
    const box = [pt.x - bw / 2 - 4, pt.y + 2, pt.x + bw / 2 + 4, pt.y + 22];
    const off = box[2] < 0 || box[0] > w || box[3] < 0 || box[1] > h;
    const hit = off || boxes.some((b) => !(box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3]));
    el.classList.toggle('hidden', hit);
    if (!hit) boxes.push(box);
  }
}

// The find layer's features in view, once zoomed in: what is already there.
async function loadContext() {
  if (!map) return;
  const seq = ++state.contextSeq;
  const layer = $('find-layer').value;
  if (map.getZoom() < CONTEXT_MIN_ZOOM) {
    state.context = [];
    state.contextNote = { key: 'context_zoom', args: [] };
  } else {
    try {
      const bbox = viewBBox().join(',');
      const r = await api(`/api/v1/layers/${encodeURIComponent(layer)}?bbox=${bbox}&limit=${CONTEXT_LIMIT}`, { auth: false, cache: 'no-cache' });
      const fc = await r.json();
      if (seq !== state.contextSeq) return;
      state.context = fc.features || [];
      const n = Number(fc.numberMatched ?? state.context.length);
      state.contextNote = n > state.context.length ? { key: 'context_many', args: [n] } : null;
    } catch {
      if (seq !== state.contextSeq) return;
      state.context = []; // only a convenience: the search still works
      state.contextNote = null;
    }
  }
  drawContext();
  updateMapHint();
}

function drawContext() {
  if (!map || !map.getSource('adm-context')) return;
  const features = [];
  for (const f of state.context) {
    const pt = representativePoint(f.geometry);
    if (!pt) continue;
    const p = f.properties || {};
    features.push({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: state.conv.toDisplay(pt) },
      properties: { id: String(p.id ?? f.id), layer: p.layer || $('find-layer').value },
    });
  }
  map.getSource('adm-context').setData({ type: 'FeatureCollection', features });
}

let contextTimer = null;
function scheduleContext(ms = 300) {
  clearTimeout(contextTimer);
  contextTimer = setTimeout(loadContext, ms);
}

function updateMapHint() {
  const el = $('map-hint');
  let text = '';
  if (state.token && state.current && currentTab() === 'edit') text = state.current.id ? t('map_hint_edit') : t('map_hint_new');
  if (state.token && state.contextNote) text = text ? `${text} ${t(state.contextNote.key, ...state.contextNote.args)}` : t(state.contextNote.key, ...state.contextNote.args);
  el.textContent = text;
  el.hidden = !text;
}

function onMapClick(e) {
  if (!state.token) return;
  const hits = map.queryRenderedFeatures(
    [[e.point.x - 5, e.point.y - 5], [e.point.x + 5, e.point.y + 5]],
    { layers: ['adm-results', 'adm-context'] },
  );
  const editing = state.current && currentTab() === 'edit';
  const onOther = hits.find((f) => !state.current || f.properties.id !== state.current.id);
  if (onOther && !(editing && !state.current.id)) {
    openFeature(onOther.properties.id);
    return;
  }
  if (editing) {
    const ll = state.conv.fromDisplay([e.lngLat.lng, e.lngLat.lat]);
    setPosition(ll, { moved: true });
  }
}

let moveTimer = null;
function onMoveEnd(e) {
  declutterPlaces();
  scheduleContext();
  // Only a move by the user searches again: flying to a picked result keeps the list.
  if (!state.token || !$('find-in-view').checked || !(e && e.originalEvent)) return;
  clearTimeout(moveTimer);
  moveTimer = setTimeout(runFind, 400);
}

async function getJSON(path) {
  const r = await api(path, { auth: false });
  return r.json();
}

async function initMap() {
  const [config, layersDoc, places] = await Promise.all([
    getJSON('/api/v1/config').catch(() => ({ basemap: { kind: 'none' } })),
    getJSON('/api/v1/layers').catch(() => ({ layers: [] })),
    getJSON('/api/v1/places').catch(() => ({ features: [] })),
  ]);
  state.config = config || { basemap: { kind: 'none' } };
  if (state.config.basemap && state.config.basemap.crs === 'gcj02') state.conv = converterFor('gcj02');
  state.layersDoc = (layersDoc && layersDoc.layers) || [];
  state.places = (places && places.features) || [];
  fillSelects();
  map = new maplibregl.Map({
    container: 'map',
    style: baseStyle('waystation-admin', state.config.basemap),
    center: state.conv.toDisplay([105, 35]),
    zoom: 3.2,
    attributionControl: { compact: true },
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxPitch: 0,
    renderWorldCopies: false,
    minZoom: 2,
    maxZoom: 18,
    fadeDuration: 0,
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
  map.on('error', (e) => {
    const src = e && (e.sourceId || (e.source && e.source.id));
    if (src && !String(src).startsWith('adm-')) return; // basemap tiles: not ours to report
    console.error(e && e.error ? e.error : e);
  });
  window.__admin = { ready: false, map, state, runFind, openFeature };
  await new Promise((res) => (map.loaded() ? res() : map.once('load', res)));
  map.addSource('adm-context', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'adm-context',
    type: 'circle',
    source: 'adm-context',
    paint: {
      'circle-radius': 4.5,
      'circle-color': ['match', ['get', 'layer'], ...Object.entries(LAYER_COLOURS).flat(), '#495057'],
      'circle-opacity': 0.4,
      'circle-stroke-color': '#fff',
      'circle-stroke-width': 1,
    },
  });
  map.addSource('adm-results', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'adm-results',
    type: 'circle',
    source: 'adm-results',
    paint: {
      'circle-radius': ['interpolate', ['linear'], ['zoom'], 3, 4, 12, 7],
      'circle-color': ['match', ['get', 'layer'], ...Object.entries(LAYER_COLOURS).flat(), '#495057'],
      'circle-stroke-color': '#1b1f24',
      'circle-stroke-width': 1.5,
    },
  });
  map.on('click', onMapClick);
  map.on('mousemove', (e) => {
    const f = map.queryRenderedFeatures([[e.point.x - 4, e.point.y - 4], [e.point.x + 4, e.point.y + 4]], { layers: ['adm-results', 'adm-context'] });
    map.getCanvas().style.cursor = f.length ? 'pointer' : (state.current ? 'crosshair' : '');
  });
  map.on('moveend', onMoveEnd);
  renderPlaces();
  drawResults();
  placeMarker();
  loadContext();
  map.once('idle', () => {
    window.__admin.ready = true;
    document.body.dataset.ready = 'true';
  });
  map.triggerRepaint();
}

// ---------------------------------------------------------------------------
// Wiring

function wire() {
  $('btn-lang').addEventListener('click', () => setLang(state.lang === 'zh' ? 'en' : 'zh'));
  $('signin-form').addEventListener('submit', onSignIn);
  $('token').addEventListener('input', () => $('token').removeAttribute('aria-invalid'));
  $('btn-signout').addEventListener('click', () => signOut(null));
  for (const n of TABS) $(`tab-${n}`).addEventListener('click', () => showTab(n));
  $('workspace').querySelector('.tabs').addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const i = TABS.indexOf(currentTab());
    const next = TABS[(i + (e.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
    showTab(next);
    $(`tab-${next}`).focus();
  });
  $('find-form').addEventListener('submit', (e) => { e.preventDefault(); runFind(); });
  $('find-layer').addEventListener('change', () => {
    state.results = [];
    renderResults();
    state.findNote = null;
    renderFindStatus();
    scheduleContext(0);
  });
  $('find-in-view').addEventListener('change', () => { if ($('find-in-view').checked) runFind(); });
  $('btn-new').addEventListener('click', () => newFeature());
  $('edit-form').addEventListener('submit', onSave);
  $('f-layer').addEventListener('change', () => {
    if (state.current && !state.current.id) state.current.layer = $('f-layer').value;
    renderFormChrome();
  });
  $('f-lon').addEventListener('input', () => onCoordInput('wgs'));
  $('f-lat').addEventListener('input', () => onCoordInput('wgs'));
  $('f-lon-gcj').addEventListener('input', () => onCoordInput('gcj'));
  $('f-lat-gcj').addEventListener('input', () => onCoordInput('gcj'));
  $('btn-reload').addEventListener('click', reloadCurrent);
  $('btn-delete').addEventListener('click', onDelete);
  $('import-form').addEventListener('submit', (e) => { e.preventDefault(); runImport(true); });
  $('btn-commit').addEventListener('click', () => runImport(false));
  $('btn-report').addEventListener('click', downloadReport);
  for (const id of ['imp-layer', 'imp-crs', 'imp-source', 'imp-file']) $(id).addEventListener('change', renderImport);
}

async function main() {
  applyStaticStrings();
  fillSelects();
  renderAmenityChecks();
  wire();
  showTab('find');
  renderHistory();
  // A token from earlier in this tab: check it is still good.
  let saved = null;
  try { saved = sessionStorage.getItem(TOKEN_KEY); } catch { /* ignore */ }
  if (saved) {
    signIn(saved).then((who) => startSession(saved, who)).catch((e) => signOut(t('session_ended', e.detail || e.message)));
  }
  if (!maplibregl) { console.error('maplibre-gl did not load'); return; }
  await initMap();
}

main().catch((e) => { console.error(e); });
