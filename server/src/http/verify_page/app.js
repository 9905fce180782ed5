// The verification page's script. The document is read and hashed here, with WebCrypto, and
// only its digests are posted: no byte of it is sent. A sealed PDF is read here too: each
// signature's byte ranges found and hashed, and only each signature's /Contents (the CMS or
// token) and those digests posted. Every value from the server is shown with textContent,
// never parsed as HTML.
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
  for (const [name, alg] of DIGESTS) {
    out[name] = hex(await crypto.subtle.digest(alg, data));
  }
  return out;
}

const DIGESTS = [['sha256', 'SHA-256'], ['sha384', 'SHA-384'], ['sha512', 'SHA-512']];

// The DER object at the start of `bytes` (the hex string is padded with zeros after it).
function der(bytes) {
  if (bytes.length < 2 || bytes[0] !== 0x30) return bytes;
  let len = bytes[1], head = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || bytes.length < 2 + n) return bytes;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[2 + i];
    head = 2 + n;
  }
  return head + len <= bytes.length ? bytes.subarray(0, head + len) : bytes;
}

function unhex(s) {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

// The signatures of a PDF as its bytes give them (ISO 32000-1 §12.8.1): each /ByteRange
// [0 b c d] must start the file and leave out exactly the /Contents hex string between b and
// c. A signature the page cannot find (e.g. in a compressed object stream) leaves bytes after
// the last one it found, which the server answers as "cannot be verified", never "valid".
async function pdfRequest(bytes) {
  const text = new TextDecoder('latin1').decode(bytes);
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g;
  const seen = new Set();
  const signatures = [];
  let m;
  while ((m = re.exec(text)) !== null && signatures.length < 64) {
    const [a, b, c, d] = m.slice(1, 5).map(Number);
    if (seen.has(b + ':' + c)) continue;
    seen.add(b + ':' + c);
    const hexs = text.slice(b + 1, c - 1);
    if (a !== 0 || !(b < c) || c + d > bytes.length || text[b] !== '<' || text[c - 1] !== '>'
        || !/^[0-9a-fA-F]*$/.test(hexs)) {
      throw new Error('署名のバイト範囲が /Contents と一致しません / A signature\'s byte ranges do not frame its /Contents');
    }
    // Its dictionary, around the hex string: from its object's start to its end.
    const start = Math.max(0, text.lastIndexOf(' obj', b));
    const stop = text.indexOf('endobj', c);
    const dict = text.slice(start, b) + text.slice(c, stop < 0 ? c + 4096 : stop);
    const sub = /\/SubFilter\s*\/([A-Za-z0-9.]+)/.exec(dict);
    const covered = new Uint8Array(b + d);
    covered.set(bytes.subarray(0, b));
    covered.set(bytes.subarray(c, c + d), b);
    const digests = {};
    for (const [name, alg] of DIGESTS) digests[name] = hex(await crypto.subtle.digest(alg, covered));
    signatures.push({
      type: /\/Type\s*\/DocTimeStamp/.test(dict) ? 'DocTimeStamp' : 'Sig',
      sub_filter: sub ? sub[1] : '',
      ranges: [a, b, c, d],
      contents: base64(der(unhex(hexs))),
      digests,
    });
  }
  if (!signatures.length) throw new Error('この PDF には署名がありません / This PDF holds no signature');
  signatures.sort((x, y) => (x.ranges[2] + x.ranges[3]) - (y.ranges[2] + y.ranges[3]));
  return { size: bytes.length, signatures };
}

function isPdf(bytes) {
  const head = new Uint8Array(bytes, 0, Math.min(5, bytes.byteLength));
  return String.fromCharCode.apply(null, head) === '%PDF-';
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
  // A PDF: each signature's own verdict, whatever the whole's.
  if (v.kind === 'pdf') {
    const sigs = v.signatures || [];
    row(dl, '種類', 'Kind', 'PDF（署名 ' + sigs.length + ' 件） / PDF (' + sigs.length + ' signature(s))');
    sigs.forEach((s, i) => {
      const state = s.valid ? '有効 / valid' : s.bad_input ? '確認できません / cannot be verified' : '無効 / not valid';
      const what = s.type === 'DocTimeStamp'
        ? '文書タイムスタンプ / document time-stamp' + (s.gen_time ? ' ' + when(s.gen_time) : '')
        : (s.organization || (s.chain && s.chain[0]) || '') + (s.level ? ' — ' + s.level : '');
      const after = s.bytes_after ? ' (+' + s.bytes_after + ' bytes after it)' : '';
      row(dl, '署名 ' + (i + 1), 'Signature ' + (i + 1), state + ' — ' + what + after);
    });
  }
  const anchor = v.chain && v.chain.length ? v.chain[v.chain.length - 1] : null;
  $('dev-pki').hidden = !(v.valid && anchor === DEV_ROOT);
  if (v.valid) {
    if (v.kind !== 'pdf') row(dl, '種類', 'Kind', v.kind === 'e-seal' ? 'e シール / e-seal' : 'タイムスタンプ / time-stamp token');
    row(dl, '時刻（タイムスタンプ）', 'Time (time-stamp)', v.gen_time ? when(v.gen_time) : null);
    row(dl, '組織', 'Organisation', v.organization);
    row(dl, '法人番号', 'Corporate number', v.corporate_number);
    if (!v.corporate_number) row(dl, '組織識別子', 'Organisation identifier', v.organization_identifier);
    row(dl, 'e シール名', 'Seal name', v.seal_name);
    row(dl, '保証レベル', 'Assurance level', v.assurance_level ? 'レベル ' + v.assurance_level + ' / level ' + v.assurance_level : null);
    if (v.kind === 'pdf') row(dl, 'PAdES レベル（署名）', 'PAdES level (signature)', v.level);
    else row(dl, 'CAdES レベル', 'CAdES level', v.level);
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
    const checked = { evidence: { name: evidence.name, sha256: hex(await crypto.subtle.digest('SHA-256', bytes)) } };
    // A sealed PDF carries its seals: nothing of it but their /Contents is sent.
    const pdf = isPdf(bytes);
    const body = pdf ? { pdf: await pdfRequest(new Uint8Array(bytes)) } : { evidence: base64(bytes) };
    if (doc && !pdf) {
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
