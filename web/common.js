// Small pieces every page shares: the language choice (remembered across pages)
// and reading a JSON answer with the server's problem+json detail as the error.

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

// GETs `path` as JSON; a failed answer throws an Error whose message is the
// problem's detail (or title, or the status line) and whose `status` is the status.
export async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: 'application/json' } });
  if (!r.ok) {
    let detail = `${r.status} ${r.statusText}`;
    try { const b = await r.json(); detail = b.detail || b.title || detail; } catch { /* not JSON */ }
    const e = new Error(detail);
    e.status = r.status;
    throw e;
  }
  return r.json();
}
