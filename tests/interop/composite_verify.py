"""Checks an id-MLDSA65-ECDSA-P256-SHA512 composite signature inside a Kokuin token or seal
with Python `cryptography`, following draft-ietf-lamps-pq-composite-sigs §2.2 and §4.3 from
its text, not from Kokuin's code: both halves must verify.

usage: composite_verify.py SIGNER_CERT.pem SIGNED_BYTES SIGNATURE

SIGNED_BYTES are the DER signed attributes (draft-ietf-lamps-cms-composite-sigs: the
composite signs them with an empty context). Exit 0 only if both signatures hold.
"""

import hashlib
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, mldsa

OID = "1.3.6.1.5.5.7.6.45"
PREFIX = b"CompositeAlgorithmSignatures2025"
LABEL = b"COMPSIG-MLDSA65-ECDSA-P256-SHA512"
MLDSA65_PK, MLDSA65_SIG = 1952, 3309


def der_length(b: bytes, i: int) -> tuple[int, int]:
    first = b[i]
    if first < 0x80:
        return first, i + 1
    n = first & 0x7F
    return int.from_bytes(b[i + 1 : i + 1 + n], "big"), i + 1 + n


def spki_bits(cert: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING of the certificate (cryptography knows no composite
    key type, so the SPKI is read from the TBS by hand: SEQUENCE { SEQUENCE alg, BIT STRING })."""
    tbs = cert.tbs_certificate_bytes
    _, i = der_length(tbs, 1)  # TBSCertificate
    fields = []
    while i < len(tbs):
        tag = tbs[i]
        length, start = der_length(tbs, i + 1)
        fields.append((tag, tbs[start : start + length]))
        i = start + length
    # [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo
    spki = fields[6 if fields[0][0] == 0xA0 else 5][1]
    alg_len, j = der_length(spki, 1)
    alg_end = j + alg_len
    length, start = der_length(spki, alg_end + 1)
    bits = spki[start : start + length]
    assert bits[0] == 0, "unused bits in the public key"
    return bits[1:]


def main() -> int:
    cert_path, data_path, sig_path = sys.argv[1:4]
    cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    if cert.public_key_algorithm_oid.dotted_string != OID:
        print(f"not {OID}: {cert.public_key_algorithm_oid.dotted_string}")
        return 1
    pk = spki_bits(cert)
    sig = open(sig_path, "rb").read()
    message = open(data_path, "rb").read()
    # M' = Prefix || Label || len(ctx) || ctx || PH(M), ctx empty, PH = SHA-512.
    m = PREFIX + LABEL + bytes([0]) + hashlib.sha512(message).digest()
    ml_pk = mldsa.MLDSA65PublicKey.from_public_bytes(pk[:MLDSA65_PK])
    ml_pk.verify(sig[:MLDSA65_SIG], m, LABEL)
    ec_pk = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pk[MLDSA65_PK:])
    ec_pk.verify(sig[MLDSA65_SIG:], m, ec.ECDSA(hashes.SHA256()))
    print("ML-DSA-65 and ECDSA P-256 halves verify")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an invalid signature raises InvalidSignature
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
