"""Verify a Kokuin token with rfc3161-client (PyPI), a strict RFC 3161 verifier.

usage: rfc3161_client_verify.py TSR TSQ DATA ROOT_PEM [TSU_PEM]
Exit 0 when the token verifies against the request (nonce, policy) and the data; 1 otherwise.
"""
import sys

from cryptography import x509
from rfc3161_client import VerifierBuilder, VerificationError, decode_timestamp_response
from rfc3161_client._rust import parse_timestamp_request


def main() -> int:
    tsr, tsq, data, root_pem = sys.argv[1:5]
    tsu_pem = sys.argv[5] if len(sys.argv) > 5 else None
    with open(tsr, "rb") as f:
        response = decode_timestamp_response(f.read())
    with open(tsq, "rb") as f:
        request = parse_timestamp_request(f.read())
    with open(root_pem, "rb") as f:
        root = x509.load_pem_x509_certificate(f.read())
    builder = VerifierBuilder.from_request(request).add_root_certificate(root)
    if tsu_pem:
        with open(tsu_pem, "rb") as f:
            builder = builder.tsa_certificate(x509.load_pem_x509_certificate(f.read()))
    with open(data, "rb") as f:
        message = f.read()
    try:
        builder.build().verify_message(response, message)
    except VerificationError as e:
        print(f"rfc3161-client: INVALID: {e}")
        return 1
    print(f"rfc3161-client: OK policy={response.tst_info.policy.dotted_string} "
          f"nonce={response.tst_info.nonce}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
