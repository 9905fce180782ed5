"""Validates a detached CMS seal with pyHanko's own CMS validator (validate_detached_cms): the
signature, the signer's chain to ROOT, and the embedded signature time-stamp with its TSA
chain.

usage: pyhanko_cms.py SEAL.p7s ROOT.pem DATA
Exit 0 when pyHanko finds the seal intact, valid and trusted and (if the seal has one) the
signature time-stamp intact, valid and trusted; prints pyHanko's summary either way.
"""
import asyncio
import sys

from asn1crypto import cms, pem, x509
from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
from pyhanko_certvalidator import ValidationContext


def main() -> int:
    seal_path, root_path = sys.argv[1], sys.argv[2]
    with open(seal_path, "rb") as f:
        ci = cms.ContentInfo.load(f.read())
    with open(root_path, "rb") as f:
        _, _, der = pem.unarmor(f.read())
    root = x509.Certificate.load(der)
    signed_data = ci["content"]
    with open(sys.argv[3], "rb") as f:
        data = f.read()
    # Offline, as an auditor: no fetching; revocation data is what the seal carries.
    vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    status = asyncio.run(async_validate_detached_cms(data, signed_data, signer_validation_context=vc))
    print(status.pretty_print_details())
    ok = status.intact and status.valid and status.trusted
    ts = status.timestamp_validity
    if ts is not None:
        print(f"signature time-stamp: intact={ts.intact} valid={ts.valid} trusted={ts.trusted} at {ts.timestamp}")
        ok = ok and ts.intact and ts.valid and ts.trusted
    else:
        print("signature time-stamp: none")
    print("PYHANKO-OK" if ok else "PYHANKO-FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
