"""Drives the verification page in headless Chromium (selenium + chromedriver, Debian's).

Every request from the browser goes through a recording reverse proxy in this script, so the
check that no byte of the document reaches the server looks at what the server was sent.

usage: verify_page.py SERVER_BASE SEAL DOCUMENT CHANGED_DOCUMENT SCREENSHOT_DIR [SEALED_PDF CHANGED_PDF MARKER]
Prints one JSON object with what the page showed; exits non-zero on the first failed check.
"""

import base64
import http.client
import http.server
import json
import os
import sys
import threading
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

server, seal, document, changed, shots = sys.argv[1:6]
pdf_args = sys.argv[6:9]
upstream = urllib.parse.urlsplit(server)
recorded = []  # (method, path, body) of every request the browser sent


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        recorded.append((self.command, self.path, body))
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        r = conn.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = forward
    do_POST = forward

    def log_message(self, *args):
        pass


proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
threading.Thread(target=proxy.serve_forever, daemon=True).start()
page = f"http://127.0.0.1:{proxy.server_address[1]}/verify"

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
    options.add_argument(arg)
# Debian's chromedriver, named: selenium must not try to download one.
os.environ["SE_OFFLINE"] = "true"
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
driver.set_page_load_timeout(30)
wait = WebDriverWait(driver, 30)


def check(cond, what):
    if not cond:
        driver.quit()
        sys.exit(f"FAILED: {what}")


def verify(evidence, doc):
    driver.get(page)
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.find_element(By.ID, "evidence").send_keys(os.path.abspath(evidence))
    if doc:
        driver.find_element(By.ID, "document").send_keys(os.path.abspath(doc))
    # Submitted from the keyboard: the page must work without a mouse.
    button = driver.find_element(By.ID, "verify")
    driver.execute_script("arguments[0].focus()", button)
    check(driver.switch_to.active_element == button, "the Verify button takes keyboard focus")
    button.send_keys("\n")
    wait.until(lambda d: d.find_element(By.ID, "result").get_attribute("data-verdict"))
    result = driver.find_element(By.ID, "result")
    details = {}
    dts = result.find_elements(By.CSS_SELECTOR, "#details dt")
    dds = result.find_elements(By.CSS_SELECTOR, "#details dd")
    for dt, dd in zip(dts, dds):
        details[dt.text.split(" / ")[-1]] = dd.text
    return {
        "verdict": result.get_attribute("data-verdict"),
        "heading": driver.find_element(By.ID, "verdict").text,
        "reason": driver.find_element(By.ID, "reason").text,
        "detail": driver.find_element(By.ID, "detail").get_attribute("textContent"),
        "details": details,
        "timeline": [
            li.get_attribute("data-kind")
            for li in result.find_elements(By.CSS_SELECTOR, "#timeline li")
        ],
        "focused_verdict": driver.switch_to.active_element.get_attribute("id") == "verdict",
        "times": [t.text for t in result.find_elements(By.CSS_SELECTOR, "#timeline time")],
        "dev_banner": driver.find_element(By.ID, "dev-pki").is_displayed(),
    }


# Accessibility: every input has a label, the result is announced.
driver.get(page)
for input_id in ("evidence", "document"):
    labels = driver.find_elements(By.CSS_SELECTOR, f"label[for={input_id}]")
    check(len(labels) == 1 and labels[0].text.strip(), f"#{input_id} has a label")
check(driver.find_element(By.ID, "result").get_attribute("aria-live") == "polite", "result is aria-live")

def layout(size):
    """At `size`: nothing wider than the window, every value readable (its column not
    squeezed to a few characters, inside the window)."""
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    check(overflow <= 0, f"{size}: the page is {overflow}px wider than the window")
    width = driver.execute_script("return document.documentElement.clientWidth")
    for dd in driver.find_elements(By.CSS_SELECTOR, "#details dd"):
        box = dd.rect
        check(box["x"] + box["width"] <= width + 1, f"{size}: {dd.text!r} runs off the window")
        # A value of any length gets at least 40% of the width (or all it needs).
        needed = driver.execute_script(
            "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
            "return r.getBoundingClientRect().width", dd)
        check(box["width"] >= min(0.4 * width, needed), f"{size}: {dd.text!r} squeezed to {box['width']}px")


good = verify(seal, document)
layout("1280x900")
# What was checked, when, and against what: the files by name and SHA-256, times in JST with
# UTC, the trust anchor, and a banner because it is the dev PKI.
import hashlib
check(hashlib.sha256(open(seal, "rb").read()).hexdigest() in good["details"].get("File checked", ""), f"the seal's SHA-256 is shown: {good['details']}")
check(hashlib.sha256(open(document, "rb").read()).hexdigest() in good["details"].get("Document", ""), "the document's SHA-256 is shown")
check("Kokuin Dev Root CA" in good["details"].get("Trust anchor", ""), "the trust anchor is named")
check(good["times"] and all("JST" in t and "UTC" in t for t in good["times"]), f"times in JST and UTC: {good['times']}")
check(good["dev_banner"], "the dev PKI banner is shown")
driver.save_screenshot(os.path.join(shots, "verify-page-valid.png"))
bad = verify(seal, changed)
driver.save_screenshot(os.path.join(shots, "verify-page-invalid.png"))
# The changed document: a plain sentence in Japanese and in English, the technical detail
# behind a disclosure.
check("書類" in bad["reason"] and "changed" in bad["reason"], f"a plain reason in both languages: {bad['reason']!r}")
check("message-digest" in bad["detail"], f"the technical detail kept: {bad['detail']!r}")
# A recipient on a phone (390x844 CSS pixels).
driver.set_window_size(390, 844)
phone = verify(seal, document)
layout("390x844")
check(phone["verdict"] == good["verdict"], "the phone gets the same verdict")
driver.save_screenshot(os.path.join(shots, "verify-page-phone.png"))
pdf_seen = {}
if pdf_args:
    # A sealed PDF dropped on its own: read and hashed here, judged there.
    sealed_pdf, changed_pdf, marker = pdf_args
    driver.set_window_size(1280, 900)
    pdf_seen["valid"] = verify(sealed_pdf, None)
    layout("1280x900 (PDF)")
    driver.save_screenshot(os.path.join(shots, "verify-page-pdf.png"))
    pdf_seen["changed"] = verify(changed_pdf, None)
    driver.set_window_size(390, 844)
    pdf_seen["phone"] = verify(sealed_pdf, None)
    layout("390x844 (PDF)")
    driver.save_screenshot(os.path.join(shots, "verify-page-pdf-phone.png"))
driver.quit()
proxy.shutdown()

# What the server was sent: the page and its assets, then only the seal and digests.
doc_bytes = open(document, "rb").read()
changed_bytes = open(changed, "rb").read()
posts = [(p, b) for (m, p, b) in recorded if m == "POST"]
pdf_posts = posts[3:]
posts = posts[:3]
check(len(posts) == 3, f"three verifications posted, got {[p for p, _ in posts]}")
seal_b64 = base64.b64encode(open(seal, "rb").read()).decode()
for path, body in posts:
    check(path == "/verify/v1", f"posted to {path}")
    sent = json.loads(body)
    check(set(sent) == {"evidence", "digests"}, f"fields sent: {sorted(sent)}")
    check(sent["evidence"] == seal_b64, "the evidence sent is the seal")
    for d in (doc_bytes, changed_bytes):
        # The document's bytes, raw or in base64 at any alignment, are in no request.
        for i in range(3):
            chunk = base64.b64encode(d[i : i + 48])[4:-4]
            check(chunk not in body, "no base64 of the document in the request")
        check(d[:32] not in body and d[-32:] not in body, "no byte run of the document in the request")
if pdf_args:
    check(len(pdf_posts) == 3, f"three PDF verifications posted, got {len(pdf_posts)}")
    pdf_bytes = [open(f, "rb").read() for f in pdf_args[:2]]
    for path, body in pdf_posts:
        check(path == "/verify/v1", f"posted to {path}")
        sent = json.loads(body)
        check(set(sent) == {"pdf"}, f"fields sent for a PDF: {sorted(sent)}")
        # The invoice's words (in its content stream) and any run of the file outside the
        # signatures' /Contents are in no request, raw or in base64.
        check(marker.encode() not in body, "the invoice's text is not sent")
        for d in pdf_bytes:
            for i in range(3):
                chunk = base64.b64encode(d[i : i + 48])[4:-4]
                check(chunk not in body, "no base64 of the PDF's start in the request")
            check(d[:32] not in body and d[-32:] not in body, "no byte run of the PDF in the request")
print(json.dumps({"valid": good, "changed": bad, "pdf": pdf_seen, "requests": len(recorded)}))
