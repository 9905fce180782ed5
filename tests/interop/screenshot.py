"""A full-page screenshot of a local HTML file in Debian's headless Chromium, for a person to
look at (kept under target/screenshots/). usage: screenshot.py FILE.html OUT.png"""

import os
import sys

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

page, out = sys.argv[1:3]
os.environ["SE_OFFLINE"] = "true"
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1000"):
    options.add_argument(arg)
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
driver.get("file://" + os.path.abspath(page))
height = driver.execute_script("return document.documentElement.scrollHeight")
driver.set_window_size(1100, min(max(height + 100, 600), 8000))
driver.save_screenshot(out)
driver.quit()
