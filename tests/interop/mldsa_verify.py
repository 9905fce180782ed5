"""Checks an ML-DSA signature inside a Kokuin token or seal with Python `cryptography` (its
ML-DSA public-key API, OpenSSL underneath): an implementation independent of Kokuin's.

usage: mldsa_verify.py SIGNER_CERT.pem ISSUER_CERT.pem SIGNED_BYTES SIGNATURE

SIGNED_BYTES are the DER signed attributes (RFC 9882 §3.3: pure ML-DSA over them, empty
context). Also checks that the issuer signed the signer's certificate. Exit 0 only if both hold.
"""

import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import mldsa


def main() -> int:
    cert_path, issuer_path, data_path, sig_path = sys.argv[1:5]
    cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
    issuer = x509.load_pem_x509_certificate(open(issuer_path, "rb").read())
    key = cert.public_key()
    kinds = (mldsa.MLDSA44PublicKey, mldsa.MLDSA65PublicKey, mldsa.MLDSA87PublicKey)
    if not isinstance(key, kinds):
        print(f"not an ML-DSA key: {type(key).__name__}")
        return 1
    key.verify(open(sig_path, "rb").read(), open(data_path, "rb").read())
    cert.verify_directly_issued_by(issuer)
    print(f"{type(key).__name__}: signature and certificate verify")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # an invalid signature raises InvalidSignature
        print(f"{type(e).__name__}: {e}")
        sys.exit(1)
