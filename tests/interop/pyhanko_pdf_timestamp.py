"""Time-stamps a new PDF through a TSA with pyHanko's own HTTP time-stamp client (a PAdES
document time-stamp), then validates it with pyHanko, offline, against ROOT.

usage: pyhanko_pdf_timestamp.py TSA_URL ROOT.pem OUT.pdf
Exit 0 when pyHanko finds the document time-stamp intact, valid and trusted; prints
pyHanko's summary either way.
"""
import io
import sys

from asn1crypto import pem, x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import signers, timestamps
from pyhanko.sign.validation import validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext


def blank_pdf() -> bytes:
    w = PdfFileWriter()
    contents = w.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (invoice) Tj ET"))
    w.insert_page(PageObject(contents=contents, media_box=[0, 0, 595, 842]))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def main() -> int:
    url, root_path, out_path = sys.argv[1:4]
    with open(root_path, "rb") as f:
        _, _, der = pem.unarmor(f.read())
    root = x509.Certificate.load(der)
    stamper = signers.PdfTimeStamper(timestamps.HTTPTimeStamper(url))
    out = io.BytesIO()
    stamper.timestamp_pdf(IncrementalPdfFileWriter(io.BytesIO(blank_pdf())), "sha256", output=out)
    with open(out_path, "wb") as f:
        f.write(out.getvalue())
    reader = PdfFileReader(io.BytesIO(out.getvalue()))
    sig = reader.embedded_timestamp_signatures[0]
    vc = ValidationContext(trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail")
    status = validate_pdf_timestamp(sig, validation_context=vc)
    print(status.summary())
    ok = status.intact and status.valid and status.trusted
    print(f"document time-stamp at {status.timestamp}")
    print("PYHANKO-OK" if ok else "PYHANKO-FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
