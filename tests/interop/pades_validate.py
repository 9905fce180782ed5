"""Validates every signature and document time-stamp of PDFs with pyHanko, trusting the given
roots (`pades_validate.py ROOT[,ROOT…] PDF…`); prints JSON keyed by each PDF's path
(tests/pades.rs, tests/pades_corpus.rs): for each signature what pyHanko says of it, and whether
it validates with revocation checking *required* from the PDF's own DSS alone (no fetching:
what B-LT promises a verifier years later); for each document time-stamp, whether it
validates."""

import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko_certvalidator import ValidationContext

trust = [load_cert_from_pemder(r) for r in sys.argv[1].split(",")]


def vc():
    return ValidationContext(trust_roots=trust, allow_fetching=False, revocation_mode="soft-fail")


def from_dss(reader, sig):
    """The signature validated with revocation required, from the DSS alone."""
    try:
        dss = DocumentSecurityStore.read_dss(handler=reader)
    except Exception as e:  # no DSS: nothing to validate from
        return f"no DSS: {e}"
    kwargs = {"trust_roots": trust, "allow_fetching": False, "revocation_mode": "hard-fail"}
    try:
        st = validate_pdf_signature(
            sig,
            dss.as_validation_context(kwargs),
            ts_validation_context=dss.as_validation_context(kwargs),
        )
        return bool(st.bottom_line)
    except Exception as e:
        return f"not valid from the DSS: {e}"


def validate(pdf):
    out = {"signatures": [], "document_timestamps": []}
    with open(pdf, "rb") as f:
        r = PdfFileReader(f)
        for sig in r.embedded_regular_signatures:
            st = validate_pdf_signature(sig, vc(), ts_validation_context=vc())
            signed_attrs = sig.signer_info["signed_attrs"]
            ts = st.timestamp_validity
            out["signatures"].append(
                {
                    "field": sig.field_name,
                    "subfilter": str(sig.sig_object["/SubFilter"]),
                    "bottom_line": st.bottom_line,
                    "coverage": st.coverage.name,
                    "modification_level": st.modification_level.name if st.modification_level else None,
                    "timestamp": bool(ts and ts.intact and ts.valid and ts.trusted),
                    "signing_time_attribute": any(
                        a["type"].native == "signing_time" for a in signed_attrs
                    ),
                    "signer_is_sealer": "Kokuin" in st.signing_cert.subject.human_friendly,
                    "docmdp": sig.docmdp_level.name if sig.docmdp_level else None,
                    "docmdp_ok": st.docmdp_ok,
                    "from_dss": from_dss(r, sig),
                }
            )
        for ts in r.embedded_timestamp_signatures:
            st = validate_pdf_timestamp(ts, validation_context=vc())
            out["document_timestamps"].append(
                {
                    "field": ts.field_name,
                    "subfilter": str(ts.sig_object["/SubFilter"]),
                    "valid": bool(st.intact and st.valid and st.trusted),
                    "coverage": st.coverage.name,
                }
            )
    return out


print(json.dumps({pdf: validate(pdf) for pdf in sys.argv[2:]}))
