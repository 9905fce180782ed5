// The verification page's script. The document is read and hashed here, with WebCrypto, and
// only its digests are posted: no byte of it is sent. Every value from the server is shown
// with textContent, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

// Every digest a seal or token may use that WebCrypto computes; the server takes the one the
// evidence names.
async function digests(file) {
  const data = await file.arrayBuffer();
  const out = {};
  for (const [name, alg] of [['sha256', 'SHA-256'], ['sha384', 'SHA-384'], ['sha512', 'SHA-512']]) {
    out[name] = hex(await crypto.subtle.digest(alg, data));
  }
  return out;
}

function dropZone(zoneId, inputId) {
  const zone = $(zoneId);
  const input = $(inputId);
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    if (e.dataTransfer && e.dataTransfer.files.length) input.files = e.dataTransfer.files;
  });
}

// A time as a person in Japan reads it, with UTC beside it.
function when(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const jst = d.toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', hour12: false });
  return jst + ' JST (' + d.toISOString().replace('.000Z', 'Z') + ' UTC)';
}

// The root of the dev PKI `serve --dev` makes (certs/src/dev.rs): evidence under it proves
// nothing outside a test.
const DEV_ROOT = 'CN=Kokuin Dev Root CA,O=Kokuin Development,C=JP';

function row(dl, ja, en, value) {
  if (value === null || value === undefined || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = ja + ' / ' + en;
  const dd = document.createElement('dd');
  dd.textContent = String(value);
  dl.append(dt, dd);
}

const KINDS = {
  'signing-time': ['署名時刻（署名者の申告）', 'Signing time (claimed by the signer)'],
  'signature-timestamp': ['署名タイムスタンプ', 'Signature time-stamp'],
  'archive-timestamp': ['アーカイブタイムスタンプ', 'Archive time-stamp'],
  'gen-time': ['タイムスタンプ時刻', 'Time-stamp time'],
  'cert-not-before': ['証明書の有効期間の開始', 'Certificate valid from'],
  'cert-not-after': ['証明書の有効期間の終了', 'Certificate valid until'],
};

function events(v) {
  const list = [];
  const add = (kind, time, note) => { if (time) list.push({ kind, time, note: note || '' }); };
  add('signing-time', v.signing_time);
  for (const s of v.signature_timestamps || []) add('signature-timestamp', s.gen_time, s.tsa);
  for (const s of v.archive_timestamps || []) add('archive-timestamp', s.gen_time, s.tsa);
  add('gen-time', v.gen_time, v.chain && v.chain[0]);
  if (v.certificate_validity) {
    add('cert-not-before', v.certificate_validity.not_before);
    add('cert-not-after', v.certificate_validity.not_after);
  }
  return list.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

// A horizontal axis from the first to the last time: the certificate's validity as a bar,
// each signing time and time-stamp as a mark.
function chart(list) {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  const W = 640, H = 70, pad = 20;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('width', '100%');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', '時系列の図 / Timeline chart (the list below has every time)');
  const times = list.map((e) => Date.parse(e.time));
  const lo = Math.min(...times), hi = Math.max(...times);
  const x = (t) => pad + (hi === lo ? (W - 2 * pad) / 2 : ((t - lo) / (hi - lo)) * (W - 2 * pad));
  const el = (name, attrs) => {
    const n = document.createElementNS(NS, name);
    for (const [k, val] of Object.entries(attrs)) n.setAttribute(k, val);
    svg.append(n);
    return n;
  };
  el('line', { x1: pad, x2: W - pad, y1: 40, y2: 40, stroke: '#999' });
  const nb = list.find((e) => e.kind === 'cert-not-before');
  const na = list.find((e) => e.kind === 'cert-not-after');
  if (nb && na) {
    el('rect', { x: x(Date.parse(nb.time)), y: 34, height: 12, fill: '#c8e6c9',
      width: Math.max(1, x(Date.parse(na.time)) - x(Date.parse(nb.time))) });
  }
  for (const e of list) {
    if (e.kind.startsWith('cert-')) continue;
    const color = e.kind === 'archive-timestamp' ? '#6a1b9a' : e.kind === 'signing-time' ? '#ef6c00' : '#1565c0';
    el('circle', { cx: x(Date.parse(e.time)), cy: 40, r: 5, fill: color });
  }
  el('text', { x: pad, y: 64 }).textContent = new Date(lo).toISOString().slice(0, 10);
  el('text', { x: W - pad, y: 64, 'text-anchor': 'end' }).textContent = new Date(hi).toISOString().slice(0, 10);
  return svg;
}

function show(v, httpStatus, checked) {
  const result = $('result');
  result.hidden = false;
  // Only a verdict the server gave (200) says "not valid"; anything else says "cannot".
  const cannot = !v.valid && (v.bad_input || httpStatus !== 200);
  result.className = v.valid ? 'valid' : (cannot ? 'bad' : 'invalid');
  result.dataset.verdict = v.valid ? 'valid' : (cannot ? 'bad-input' : 'invalid');
  $('verdict').textContent = v.valid
    ? '有効です — Valid'
    : cannot ? '検証できません — Cannot be verified' : '無効です — Not valid';
  // The reason in plain Japanese and English; the technical detail one click away.
  const reason = $('reason');
  reason.replaceChildren();
  if (!v.valid && v.reason_ja) {
    const en = document.createElement('span');
    en.lang = 'en';
    en.className = 'en';
    en.textContent = v.reason_en || '';
    reason.append(v.reason_ja, en);
  } else {
    reason.textContent = v.valid ? '' : (v.error || ('HTTP ' + httpStatus));
  }
  const showDetail = !v.valid && v.reason_ja && v.error;
  $('reason-detail').hidden = !showDetail;
  $('detail').textContent = showDetail ? v.error : '';
  const dl = $('details');
  dl.replaceChildren();
  const tl = $('timeline');
  tl.replaceChildren();
  $('timeline-chart').replaceChildren();
  // What was checked, whatever the verdict: the files by name and SHA-256.
  if (checked) {
    row(dl, '確認したファイル', 'File checked', checked.evidence.name + ' (SHA-256 ' + checked.evidence.sha256 + ')');
    if (checked.document) {
      row(dl, '書類', 'Document', checked.document.name + ' (SHA-256 ' + checked.document.sha256 + ')');
    }
  }
  const anchor = v.chain && v.chain.length ? v.chain[v.chain.length - 1] : null;
  $('dev-pki').hidden = !(v.valid && anchor === DEV_ROOT);
  if (v.valid) {
    row(dl, '種類', 'Kind', v.kind === 'e-seal' ? 'e シール / e-seal' : 'タイムスタンプ / time-stamp token');
    row(dl, '時刻（タイムスタンプ）', 'Time (time-stamp)', v.gen_time ? when(v.gen_time) : null);
    row(dl, '組織', 'Organisation', v.organization);
    row(dl, '法人番号', 'Corporate number', v.corporate_number);
    if (!v.corporate_number) row(dl, '組織識別子', 'Organisation identifier', v.organization_identifier);
    row(dl, 'e シール名', 'Seal name', v.seal_name);
    row(dl, '保証レベル', 'Assurance level', v.assurance_level ? 'レベル ' + v.assurance_level + ' / level ' + v.assurance_level : null);
    row(dl, 'CAdES レベル', 'CAdES level', v.level);
    row(dl, 'タイムスタンプ局', 'Time-stamp authority', v.kind === 'e-seal' ? null : v.chain && v.chain[0]);
    row(dl, 'シリアル番号', 'Serial number', v.serial);
    row(dl, '署名アルゴリズム', 'Signature algorithm', v.signature_algorithm_name);
    row(dl, '耐量子計算機暗号', 'Quantum-safe', v.quantum_safe ? 'はい / yes' : 'いいえ / no (classical)');
    row(dl, '信頼の起点', 'Trust anchor', anchor);
    const list = events(v);
    for (const e of list) {
      const li = document.createElement('li');
      li.dataset.kind = e.kind;
      const t = document.createElement('time');
      t.dateTime = e.time;
      t.textContent = when(e.time);
      const [ja, en] = KINDS[e.kind];
      li.append(t, ' — ' + ja + ' / ' + en + (e.note ? ' (' + e.note + ')' : ''));
      tl.append(li);
    }
    if (list.length) $('timeline-chart').append(chart(list));
  }
  $('verdict').focus();
}

async function verify(e) {
  e.preventDefault();
  const evidence = $('evidence').files[0];
  const doc = $('document').files[0];
  if (!evidence) {
    show({ valid: false, bad_input: true, error: 'e シールまたはタイムスタンプを選んでください / Choose a seal or token' }, 0);
    return;
  }
  if (!window.crypto || !crypto.subtle) {
    show({ valid: false, bad_input: true, error: 'このページは HTTPS で開いてください / Open this page over HTTPS (WebCrypto is unavailable)' }, 0);
    return;
  }
  const button = $('verify');
  button.disabled = true;
  try {
    const bytes = await evidence.arrayBuffer();
    const body = { evidence: base64(bytes) };
    const checked = { evidence: { name: evidence.name, sha256: hex(await crypto.subtle.digest('SHA-256', bytes)) } };
    if (doc) {
      body.digests = await digests(doc);
      checked.document = { name: doc.name, sha256: body.digests.sha256 };
    }
    const r = await fetch('/verify/v1', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    let v;
    try { v = await r.json(); } catch (_) { v = { valid: false, bad_input: true }; }
    show(v, r.status, checked);
  } catch (err) {
    show({ valid: false, bad_input: true, error: String(err) }, 0);
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  dropZone('evidence-drop', 'evidence');
  dropZone('document-drop', 'document');
  $('form').addEventListener('submit', verify);
});
