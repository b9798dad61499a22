"""The web console in a real browser (headless Debian chromium through Selenium) against a real
gateway: what the page shows, its actions, and its numbers changing without a reload.
Screenshots go to JOBGATE_SCREENSHOTS (a directory) if set, else to the test's temp directory."""
import os
import shutil

import pytest

from jobgate_harness import free_tcp_port

webdriver = pytest.importorskip("selenium.webdriver", reason="pip install -r Tests/requirements.txt")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TOKEN = "browser-s3cret"


@pytest.fixture
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver_path, "install chromium and chromium-driver (scripts/setup --test)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,720", "--disable-gpu"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def console(stack_with):
    def make(*args):
        port = free_tcp_port()
        return stack_with("--http", f"tcp://127.0.0.1:{port}", *args), f"http://127.0.0.1:{port}"
    return make


@pytest.fixture
def screenshot(browser, tmp_path, request):
    directory = os.environ.get("JOBGATE_SCREENSHOTS") or str(tmp_path)
    os.makedirs(directory, exist_ok=True)

    def take(name):
        path = os.path.join(directory, f"{request.node.name}-{name}.png")
        # The page's own height, not the window's: no empty band below short pages.
        assert browser.find_element(By.TAG_NAME, "html").screenshot(path) and os.path.getsize(path) > 0
        return path
    return take


def until(browser, condition, what, timeout=10):
    # The page redraws what changed each poll, so an element found a moment ago may be gone.
    return WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda _: condition(), message=f"waiting for {what}")


def click(browser, css):
    until(browser, lambda: browser.find_element(By.CSS_SELECTOR, css).click() or True, f"to click {css}")


def cell(browser, queue, column):
    cells = browser.find_elements(By.CSS_SELECTOR, f'tr[data-queue="{queue}"] td[data-count="{column}"]')
    return cells[0].text if cells else None


def enqueue(stack, queue, n=1, **fields):
    with stack.client(unix=True) as c:
        return [c.ok({"op": "enqueue", "queue": queue, "func": "app.work", **fields})["id"] for _ in range(n)]


def fail_next(stack, queue, error):
    with stack.client(unix=True) as c:
        job = c.ok({"op": "lease", "queues": [queue], "worker": "worker-7"})["job"]
        c.ok({"op": "fail", "id": job["id"], "lease": job["lease"], "error": error, "retry": False})
        return job["id"]


def test_queues_show_and_numbers_change_without_a_reload(console, browser, screenshot):
    stack, url = console()
    enqueue(stack, "emails", 3)
    enqueue(stack, "thumbs", 2)
    fail_next(stack, "thumbs", "Traceback (most recent call last):\nValueError: bad image")
    browser.get(url + "/")
    until(browser, lambda: cell(browser, "emails", "queued") == "3", "emails to show 3 queued")
    assert cell(browser, "thumbs", "queued") == "1" and cell(browser, "thumbs", "failed") == "1"
    screenshot("queues")
    enqueue(stack, "emails", 2)
    enqueue(stack, "reports", 1)
    until(browser, lambda: cell(browser, "emails", "queued") == "5", "the count to follow new jobs")
    until(browser, lambda: cell(browser, "reports", "queued") == "1", "a new queue to appear")
    with stack.client(unix=True) as c:
        c.ok({"op": "pause", "queue": "emails"})
    until(browser, lambda: cell(browser, "emails", "paused") == "paused", "the paused flag")


def test_requeue_button_moves_a_failed_job_back(console, browser, screenshot):
    stack, url = console()
    enqueue(stack, "thumbs", 1, args=[7])
    job_id = fail_next(stack, "thumbs", "Traceback (most recent call last):\n  File \"x.py\"\nValueError: bad image")
    browser.get(url + "/#/queue/thumbs/failed/0")
    row = f'tr[data-job="{job_id}"]'
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, row), "the failed job's row")
    assert browser.find_element(By.CSS_SELECTOR, row + " .error-line").text == "ValueError: bad image"
    screenshot("failed")
    click(browser, row + ' button[data-action="requeue"]')
    until(browser, lambda: "requeued 1" in browser.find_element(By.ID, "message").text, "the requeue to be reported")
    with stack.client(unix=True) as c:
        assert c.ok({"op": "job", "id": job_id})["job"]["state"] == "queued"
    until(browser, lambda: not browser.find_elements(By.CSS_SELECTOR, row), "the row to leave the failed list")


def test_job_detail_and_its_actions(console, browser, screenshot):
    stack, url = console()
    [job_id] = enqueue(stack, "emails", 1, args=["ada@example.com"], kwargs={"subject": "hi"}, meta={"team": "growth"})
    browser.get(url + f"/#/job/{job_id}")
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, 'dd[data-field="state"]'), "the job's fields")
    page = browser.find_element(By.ID, "main").text
    assert "ada@example.com" in page and '"subject": "hi"' in page and '"team": "growth"' in page
    assert browser.find_element(By.CSS_SELECTOR, 'dd[data-field="state"]').text == "queued"
    click(browser, 'button[data-action="cancel"]')
    until(browser, lambda: browser.find_element(By.CSS_SELECTOR, 'dd[data-field="state"]').text == "canceled", "the state to follow")
    screenshot("job")
    enqueue(stack, "thumbs", 1)
    failed_id = fail_next(stack, "thumbs", "first line\nOSError: disk full")
    browser.get(url + f"/#/job/{failed_id}")
    until(browser, lambda: browser.find_elements(By.ID, "job-error"), "the error text")
    assert browser.find_element(By.ID, "job-error").text == "first line\nOSError: disk full"
    assert browser.find_element(By.CSS_SELECTOR, 'dd[data-field="worker"]').text == "worker-7"
    click(browser, 'button[data-action="delete"]')
    browser.switch_to.alert.accept()
    until(browser, lambda: "NOT_FOUND" in browser.find_element(By.ID, "main").text, "the deleted job to be gone")


def test_queued_jobs_in_either_order_or_the_gateways_error(console, browser):
    """Lists queued jobs oldest or newest first with the `jobs` op; a gateway without it gets
    its UNKNOWN_OP shown, as any refusal is."""
    stack, url = console()
    older, newer = enqueue(stack, "emails", 2)
    with stack.client(unix=True) as c:
        has_jobs_op = c.call({"op": "jobs", "queue": "emails", "state": "queued"})["ok"]
    browser.get(url + "/#/queue/emails/queued/0")
    if not has_jobs_op:
        until(browser, lambda: "UNKNOWN_OP: unknown op 'jobs'" in browser.find_element(By.ID, "main").text, "the gateway's error")
        return

    def first_row():
        rows = browser.find_elements(By.CSS_SELECTOR, "tr[data-job]")
        return rows[0].get_attribute("data-job") if rows else None
    until(browser, lambda: first_row() == older, "the oldest job first")
    click(browser, "#order")
    until(browser, lambda: first_row() == newer, "the newest job first")


def test_pause_and_resume_buttons(console, browser):
    stack, url = console()
    enqueue(stack, "emails", 1)
    browser.get(url + "/")
    button = 'tr[data-queue="emails"] button[data-action="{}"]'
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, button.format("pause")), "the pause button")
    click(browser, button.format("pause"))
    until(browser, lambda: cell(browser, "emails", "paused") == "paused", "the queue to show paused")
    with stack.client(unix=True) as c:
        assert c.ok({"op": "stats"})["queues"]["emails"]["paused"] is True
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, button.format("resume")), "the resume button")
    click(browser, button.format("resume"))
    until(browser, lambda: cell(browser, "emails", "paused") == "no", "the queue to show resumed")


def test_the_token_is_asked_once_and_kept_in_an_httponly_strict_cookie(console, browser, screenshot):
    stack, url = console("--token", TOKEN)
    enqueue(stack, "emails", 1)
    browser.get(url + "/")
    browser.find_element(By.NAME, "token").send_keys("wrong")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(browser, lambda: "Wrong token." in browser.page_source, "the refusal")
    screenshot("login")
    browser.find_element(By.NAME, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(browser, lambda: cell(browser, "emails", "queued") == "1", "the console after logging in")
    [cookie] = browser.get_cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and TOKEN not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""
    browser.get(url + "/#/queue/emails/queued/0")
    browser.refresh()
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "nav.tabs"), "the console again, without a login")
    assert TOKEN not in browser.page_source


def test_read_only_console_shows_no_actions(console, browser):
    stack, url = console("--http-read-only")
    enqueue(stack, "emails", 1)
    fail_next(stack, "emails", "boom")
    enqueue(stack, "emails", 1)
    browser.get(url + "/")
    until(browser, lambda: cell(browser, "emails", "failed") == "1", "the queue")
    assert "read-only" in browser.find_element(By.TAG_NAME, "header").text
    assert browser.find_elements(By.TAG_NAME, "button") == []
    browser.get(url + "/#/queue/emails/failed/0")
    until(browser, lambda: browser.find_elements(By.CSS_SELECTOR, "tr[data-job]"), "the failed job")
    assert browser.find_elements(By.TAG_NAME, "button") == []


def test_pages_follow_next_offset_when_a_page_ends_at_its_size_limit(console, browser):
    """25 jobs of 900 KB args pass max_page_bytes within one 50-job page: the page ends early
    and `next ›` goes on from next_offset, so every job is shown once."""
    stack, url = console()
    ids = enqueue(stack, "wide", 25, args=["x" * 900_000])
    browser.get(url + "/#/queue/wide/queued/0")

    def shown():
        return [r.get_attribute("data-job") for r in browser.find_elements(By.CSS_SELECTOR, "tr[data-job]")]
    until(browser, lambda: 0 < len(shown()) < 25, "a first page cut short", timeout=30)
    first = shown()
    assert first == ids[:len(first)]
    pager = browser.find_element(By.CSS_SELECTOR, ".pager").text
    assert pager.startswith(f"1–{len(first)} of 25"), pager
    click(browser, ".pager a[href*='/queue/wide/queued/%d/']" % len(first))
    until(browser, lambda: shown() and shown()[0] == ids[len(first)], "the next page", timeout=30)
    assert first + shown() == ids
    assert "next ›" not in browser.find_element(By.CSS_SELECTOR, ".pager").text
