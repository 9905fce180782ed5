"""A C2SP tlog-witness (c2sp.org/tlog-witness) for the tests, written apart from Kokuin's
Rust code: it checks the log's ECDSA note signature (c2sp.org/signed-note type 0x02) with the
audit certificate, the RFC 9162 consistency proof from the size it cosigned last, and answers
with a timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature, type 0x04).

Usage: witness.py AUDIT_CERT.pem [NAME] [--hang]  -- prints "vkey <verifier key>" and
"listening <port>". NAME defaults to witness.test/w1; with --hang the witness reads each
request and never answers (a witness that hangs, for the test that others are not held up).
"""
import base64
import hashlib
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

with open(sys.argv[1], "rb") as f:
    LOG_KEY = x509.load_pem_x509_certificate(f.read()).public_key()
SPKI = LOG_KEY.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
LOG_KEY_ID = hashlib.sha256(SPKI).digest()[:4]

ARGS = [a for a in sys.argv[2:] if a != "--hang"]
HANG = "--hang" in sys.argv[2:]
NAME = ARGS[0] if ARGS else "witness.test/w1"
KEY = ed25519.Ed25519PrivateKey.generate()
PUB = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
KEY_ID = hashlib.sha256(NAME.encode() + b"\n" + b"\x04" + PUB).digest()[:4]
VKEY = NAME + "+" + KEY_ID.hex() + "+" + base64.b64encode(b"\x04" + PUB).decode()

STATE = {}  # origin -> (size, root)
LOCK = threading.Lock()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def consistent(old, new, proof, old_root, new_root):
    """RFC 9162 section 2.1.4.2."""
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


class Witness(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if HANG:
            self.rfile.read(int(self.headers["Content-Length"]))
            threading.Event().wait()
        if self.path != "/add-checkpoint":
            return self.reply(404, "not found\n")
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        head, note = body.split("\n\n", 1)
        lines = head.split("\n")
        old = int(lines[0][len("old "):])
        proof = [base64.b64decode(x) for x in lines[1:]]
        split = note.rindex("\n\n")
        text, sigs = note[: split + 1], note[split + 2:]
        origin, size, root = text.split("\n")[0], int(text.split("\n")[1]), base64.b64decode(text.split("\n")[2])
        verified = False
        for line in sigs.strip("\n").split("\n"):
            _, name, b64 = line.split(" ", 2)
            blob = base64.b64decode(b64)
            if name == origin and blob[:4] == LOG_KEY_ID:
                try:
                    LOG_KEY.verify(blob[4:], text.encode(), ec.ECDSA(hashes.SHA256()))
                    verified = True
                except InvalidSignature:
                    return self.reply(403, "bad log signature\n")
        if not verified:
            return self.reply(403, "no signature by the log's key\n")
        if old > size:
            return self.reply(400, "old size past the checkpoint\n")
        with LOCK:
            cosigned = STATE.get(origin, (0, None))
            if old != cosigned[0]:
                return self.reply(409, "%d\n" % cosigned[0], "text/x.tlog.size")
            if old > 0 and not consistent(old, size, proof, cosigned[1], root):
                return self.reply(422, "not consistent\n")
            if old == 0 and proof:
                return self.reply(422, "a proof from the empty tree\n")
            STATE[origin] = (size, root)
        t = int(time.time())
        sig = KEY.sign(b"cosignature/v1\ntime %d\n" % t + text.encode())
        blob = KEY_ID + struct.pack(">Q", t) + sig
        self.reply(200, "\u2014 " + NAME + " " + base64.b64encode(blob).decode() + "\n")


server = ThreadingHTTPServer(("127.0.0.1", 0), Witness)
server.daemon_threads = True
print("vkey " + VKEY, flush=True)
print("listening %d" % server.server_address[1], flush=True)
server.serve_forever()
