// Small pieces every page shares: the language choice (remembered across pages)
// and reading a JSON answer, a failure as an Error carrying the server's
// problem+json detail and invalid-params.

const LANG_KEY = 'waystation.lang';

// 'zh' or 'en': the query parameter `param` first, then the last choice made on
// any page, then Chinese.
export function pickLang(params, param = 'lang') {
  const q = (params.get(param) || '').toLowerCase();
  if (q.startsWith('en')) return 'en';
  if (q.startsWith('zh')) return 'zh';
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved === 'en' || saved === 'zh') return saved;
  } catch { /* storage may be blocked in an iframe */ }
  return 'zh';
}

// Remembers the language chosen, for every page of the site.
export function saveLang(lang) {
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage may be blocked */ }
}

// The Error for a failed answer: its message (and `detail`) the problem's detail
// (or title, or the status line), `invalid` the problem's invalid-params (each
// { name, reason }), `status` the HTTP status.
export async function problemError(r) {
  let detail = `${r.status} ${r.statusText}`;
  let invalid = [];
  try {
    const body = await r.json();
    detail = body.detail || body.title || detail;
    invalid = Array.isArray(body['invalid-params']) ? body['invalid-params'] : [];
  } catch { /* not JSON */ }
  const e = new Error(detail);
  e.detail = detail;
  e.invalid = invalid;
  e.status = r.status;
  return e;
}

// GETs `path` as JSON; a failed answer throws problemError's Error.
export async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) throw await problemError(r);
  return r.json();
}
