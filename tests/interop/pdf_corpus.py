"""Writes a corpus of PDFs from different producers into OUTDIR and prints its manifest (JSON):
for each file its name, producer and what sealing it must do ("seal", or "refuse" with the
words the refusal must contain). tests/pades.rs seals every "seal" PDF at every level and has
pyHanko, pdfsig, qpdf and `kokuin verify` check the result.

Producers: reportlab (text, Japanese CID and embedded TrueType fonts, forms, outlines, links,
many pages, landscape, uncompressed), pikepdf/qpdf (object streams, PDF 2.0, rotated and
cropped pages, an embedded XML invoice in a PDF/A-3-shaped file, linearized, QDF), Ghostscript
(pdfwrite, PDF 1.4, PDF/A-2b), cairo (pdftocairo), pyHanko (an incremental update, an
approval signature, a certification P=2, a certification P=1, an empty signature field), and
a minimal file written by hand."""

import datetime
import json
import os
import subprocess
import sys

import pikepdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
manifest = []
IPA = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"


def path(name):
    return os.path.join(out, name)


def add(name, producer, expect="seal", reason=None, visible_refused=None):
    manifest.append(
        {
            "name": name,
            "producer": producer,
            "expect": expect,
            "reason": reason,
            # Sealed invisibly only: a visible seal is refused with these words.
            "visible_refused": visible_refused,
        }
    )


def invoice(c, title="Invoice 2026-0042", font="Helvetica"):
    c.setFont(font, 18)
    c.drawString(72, 770, title)
    c.setFont("Helvetica", 10)
    for i in range(12):
        c.drawString(72, 720 - i * 16, f"Item {i + 1:02d}    {1000 + i * 137:>8,} JPY")
    c.drawString(72, 500, "Total 17,652 JPY (incl. consumption tax 10%)")


def reportlab(name, title, build=None, pagesize=A4, **kw):
    c = canvas.Canvas(path(name), pagesize=pagesize, **kw)
    c.setTitle(title)
    c.setAuthor("Kokuin test corpus")
    if build:
        build(c)
    else:
        invoice(c)
    c.showPage()
    c.save()
    add(name, "reportlab")


# --- reportlab
reportlab("rl-invoice.pdf", "Invoice")
reportlab("rl-uncompressed.pdf", "Uncompressed", pageCompression=0)
reportlab("rl-landscape.pdf", "Landscape", pagesize=landscape(A4))
reportlab("rl-pdf14.pdf", "PDF 1.4", pdfVersion=(1, 4))

pdfmetrics.registerFont(UnicodeCIDFont("HeiseiKakuGo-W5"))
pdfmetrics.registerFont(TTFont("IPAGothic", IPA))


def japanese_cid(c):
    invoice(c, "請求書 第2026-0042号", font="HeiseiKakuGo-W5")


def japanese_ttf(c):
    invoice(c, "適格請求書 株式会社刻印", font="IPAGothic")


reportlab("rl-japanese-cid.pdf", "請求書", japanese_cid)
reportlab("rl-japanese-ttf.pdf", "適格請求書", japanese_ttf)


def many_pages(c):
    for p in range(25):
        invoice(c, f"Statement page {p + 1}")
        c.bookmarkPage(f"p{p}")
        c.addOutlineEntry(f"Page {p + 1}", f"p{p}", level=0)
        c.showPage()


reportlab("rl-25-pages-outline.pdf", "Statement", many_pages)


def links(c):
    invoice(c)
    c.linkURL("https://www.example.jp/invoices/2026-0042", (72, 760, 300, 790))
    c.drawString(72, 450, "Pay at https://www.example.jp/pay")
    c.linkURL("https://www.example.jp/pay", (72, 445, 300, 460))


reportlab("rl-links.pdf", "Links", links)


def form(c):
    invoice(c)
    f = c.acroForm
    f.textfield(name="approver", tooltip="Approver", x=72, y=400, width=200, height=20)
    f.checkbox(name="paid", tooltip="Paid", x=72, y=360, buttonStyle="check")
    f.choice(name="terms", value="30 days", options=["30 days", "60 days"], x=72, y=320)


reportlab("rl-form.pdf", "Form", form)


def big(c):
    # About 200 KB of content: a long invoice (what docs/performance.md seals).
    for p in range(14):
        invoice(c, f"Detailed invoice, page {p + 1}")
        c.setFont("Helvetica", 6)
        for i in range(90):
            c.drawString(40, 480 - i * 5, f"{p:03d}-{i:03d} " + "detail line " * 9)
        c.showPage()


reportlab("rl-200k.pdf", "Big", big, pageCompression=0)

# --- pikepdf (qpdf's library)
src = pikepdf.open(path("rl-invoice.pdf"))
src.save(path("pk-object-streams.pdf"), object_stream_mode=pikepdf.ObjectStreamMode.generate)
add("pk-object-streams.pdf", "pikepdf")
src.save(path("pk-pdf20.pdf"), force_version="2.0")
add("pk-pdf20.pdf", "pikepdf")
src.save(path("pk-linearized.pdf"), linearize=True)
add("pk-linearized.pdf", "pikepdf")
src.save(path("pk-qdf.pdf"), qdf=True, object_stream_mode=pikepdf.ObjectStreamMode.disable)
add("pk-qdf.pdf", "pikepdf")

with pikepdf.open(path("rl-invoice.pdf")) as p:
    p.pages[0].Rotate = 90
    p.save(path("pk-rotated.pdf"))
add("pk-rotated.pdf", "pikepdf")

with pikepdf.open(path("rl-invoice.pdf")) as p:
    p.pages[0].CropBox = [36, 36, 559, 806]
    p.save(path("pk-cropbox.pdf"))
add("pk-cropbox.pdf", "pikepdf")

with pikepdf.open(path("rl-japanese-ttf.pdf")) as p:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<rsm:CrossIndustryInvoice '
        b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
        b"<rsm:ExchangedDocument><ID>2026-0042</ID></rsm:ExchangedDocument>"
        b"</rsm:CrossIndustryInvoice>\n"
    )
    spec = pikepdf.AttachedFileSpec(
        p, xml, mime_type="text/xml", description="Factur-X invoice", relationship=pikepdf.Name.Alternative
    )
    p.attachments["factur-x.xml"] = spec
    p.Root.AF = pikepdf.Array([spec.obj])
    with p.open_metadata() as m:
        m["pdfaid:part"] = "3"
        m["pdfaid:conformance"] = "B"
        m["dc:title"] = "適格請求書"
    p.save(path("pk-pdfa3-xml.pdf"))
add("pk-pdfa3-xml.pdf", "pikepdf")

with pikepdf.open(path("rl-invoice.pdf")) as p:
    p.docinfo["/Title"] = "請求書（日本語のタイトル）"
    p.docinfo["/Producer"] = "pikepdf"
    p.save(path("pk-unicode-info.pdf"))
add("pk-unicode-info.pdf", "pikepdf")

# --- qpdf itself
for name, args in [
    ("qpdf-linearized.pdf", ["--linearize"]),
    ("qpdf-object-streams.pdf", ["--object-streams=generate"]),
    ("qpdf-uncompressed.pdf", ["--stream-data=uncompress", "--object-streams=disable"]),
]:
    subprocess.run(["qpdf", *args, path("rl-25-pages-outline.pdf"), path(name)], check=True)
    add(name, "qpdf")

# --- Ghostscript
gs = ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite"]
for name, extra, source in [
    ("gs-pdfwrite.pdf", [], "rl-invoice.pdf"),
    ("gs-pdf14.pdf", ["-dCompatibilityLevel=1.4"], "rl-japanese-ttf.pdf"),
    ("gs-pdfa2b.pdf", ["-dPDFA=2", "-dPDFACompatibilityPolicy=1", "-sColorConversionStrategy=RGB"], "rl-links.pdf"),
    ("gs-25-pages.pdf", [], "rl-25-pages-outline.pdf"),
]:
    subprocess.run([*gs, *extra, f"-sOutputFile={path(name)}", path(source)], check=True)
    add(name, "Ghostscript")

# --- cairo (poppler's pdftocairo)
for name, source in [("cairo-invoice.pdf", "rl-invoice.pdf"), ("cairo-japanese.pdf", "rl-japanese-cid.pdf")]:
    subprocess.run(["pdftocairo", "-pdf", path(source), path(name)], check=True)
    add(name, "cairo")

# --- by hand: the smallest valid file, xref table offsets computed here
objs = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 200 200] >>",
    b"<< /Type /Page /Parent 2 0 R >>",
]
body = b"%PDF-1.3\n"
offsets = []
for i, o in enumerate(objs, 1):
    offsets.append(len(body))
    body += b"%d 0 obj\n%s\nendobj\n" % (i, o)
xref = len(body)
body += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
body += b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
open(path("hand-minimal.pdf"), "wb").write(body)
add("hand-minimal.pdf", "by hand")

# --- pyHanko: signed, certified and updated files, under a throwaway CA of their own
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: E402
from pyhanko.pdf_utils import generic  # noqa: E402
from pyhanko.sign import fields, signers  # noqa: E402

now = datetime.datetime.now(datetime.timezone.utc)
ca_key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other Signer CA")])
ca = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(ca_key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=365))
    .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    .sign(ca_key, hashes.SHA256())
)
key = ec.generate_private_key(ec.SECP256R1())
cert = (
    x509.CertificateBuilder()
    .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Other Signer")]))
    .issuer_name(name)
    .public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=365))
    .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
    .sign(ca_key, hashes.SHA256())
)
open(path("other-root.pem"), "wb").write(ca.public_bytes(serialization.Encoding.PEM))
open(path("other.pem"), "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(path("other.key"), "wb").write(
    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
signer = signers.SimpleSigner.load(path("other.key"), path("other.pem"), ca_chain_files=(path("other-root.pem"),))


def pyhanko(name, source, meta, expect="seal", reason=None, visible_refused=None):
    with open(path(source), "rb") as f:
        w = IncrementalPdfFileWriter(f)
        with open(path(name), "wb") as o:
            signers.sign_pdf(w, meta, signer=signer, output=o)
    add(name, "pyHanko", expect, reason, visible_refused)


pyhanko("ph-signed.pdf", "rl-invoice.pdf", signers.PdfSignatureMetadata(field_name="Approval"))
pyhanko("ph-signed-gs.pdf", "gs-pdfwrite.pdf", signers.PdfSignatureMetadata(field_name="Approval"))
pyhanko(
    "ph-certified-p2.pdf",
    "rl-form.pdf",
    signers.PdfSignatureMetadata(
        field_name="Certification", certify=True, docmdp_permissions=fields.MDPPerm.FILL_FORMS
    ),
    visible_refused="seal it invisibly",
)
pyhanko(
    "ph-certified-p1.pdf",
    "rl-invoice.pdf",
    signers.PdfSignatureMetadata(
        field_name="Certification", certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES
    ),
    expect="refuse",
    reason="DocMDP",
)

with open(path("rl-invoice.pdf"), "rb") as f:
    w = IncrementalPdfFileWriter(f)
    fields.append_signature_field(w, fields.SigFieldSpec("Unsigned", box=(300, 60, 520, 120)))
    with open(path("ph-empty-field.pdf"), "wb") as o:
        w.write(o)
add("ph-empty-field.pdf", "pyHanko")

with open(path("pk-object-streams.pdf"), "rb") as f:
    w = IncrementalPdfFileWriter(f)
    w.root["/Lang"] = generic.TextStringObject("ja-JP")
    w.update_root()
    with open(path("ph-incremental-xref-stream.pdf"), "wb") as o:
        w.write(o)
add("ph-incremental-xref-stream.pdf", "pyHanko")

# --- refused: encrypted (no key to write an update a reader can open)
with pikepdf.open(path("rl-invoice.pdf")) as p:
    p.save(path("pk-encrypted.pdf"), encryption=pikepdf.Encryption(owner="owner", user="", R=6))
add("pk-encrypted.pdf", "pikepdf", "refuse", "encrypted")

print(json.dumps(manifest))
