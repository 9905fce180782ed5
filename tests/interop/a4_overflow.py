"""How far a local HTML page overflows an A4 page's width when printed, in CSS pixels, in
Debian's headless Chromium: the page laid out for print media in the width of A4 (210 mm at
96 px per inch), its widest element measured. Prints one number (0: nothing is cut off).
usage: a4_overflow.py FILE.html"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

page = sys.argv[1]
os.environ["SE_OFFLINE"] = "true"
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
    options.add_argument(arg)
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
a4 = round(210 / 25.4 * 96)
driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
driver.execute_cdp_cmd(
    "Emulation.setDeviceMetricsOverride",
    {"width": a4, "height": 1123, "deviceScaleFactor": 1, "mobile": False},
)
driver.get("file://" + os.path.abspath(page))
overflow = driver.execute_script(
    """
    const w = document.documentElement.clientWidth;
    let worst = document.documentElement.scrollWidth - w;
    for (const e of document.querySelectorAll('body *')) {
      worst = Math.max(worst, Math.ceil(e.getBoundingClientRect().right - w));
    }
    return Math.max(0, worst);
    """
)
print(overflow)
driver.quit()
