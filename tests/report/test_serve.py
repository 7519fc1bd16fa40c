"""``locusflow serve`` over a real run: pages in headless Chromium (search a gene and a variant, tables),
and refusals over plain HTTP (path traversal, malformed queries)."""
from __future__ import annotations

import html
import http.client
import threading
import urllib.parse

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from locusflow.plots.locus import locus_data
from locusflow.report.html import fmt
from locusflow.report.server import make_server
from viz_run import browser_driver, example_run, screenshot


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    run = example_run(tmp_path_factory.mktemp("viz"))
    srv = make_server(run, port=0)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser():
    drv = browser_driver()
    yield drv
    drv.quit()


def _url(srv, path=""):
    h, p = srv.server_address[:2]
    return f"http://{h}:{p}{path}"


def _get(srv, path):
    h, p = srv.server_address[:2]
    c = http.client.HTTPConnection(h, p, timeout=120)
    c.request("GET", path)                     # sent as is: no client-side normalisation of '..'
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    c.close()
    return r.status, body, dict(r.getheaders())


def _search(browser, text):
    page = browser.find_element(By.TAG_NAME, "html")
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 120).until(EC.staleness_of(page))                # the next page has loaded


def test_binds_localhost(server):
    assert server.server_address[0] == "127.0.0.1"


def test_search_gene_and_variant_in_browser(server, browser, tmp_path):
    browser.get(_url(server, "/"))
    assert "rs12628193" in browser.find_element(By.ID, "loci").text
    assert all(browser.execute_script("return arguments[0].naturalWidth", i) > 100
               for i in browser.find_elements(By.TAG_NAME, "img"))            # Manhattan plots drawn
    screenshot(browser, "serve_home", tmp_path)
    _search(browser, "INSM1")
    assert browser.find_element(By.ID, "locus-title").text.startswith("Locus 20:")
    twas = browser.find_element(By.ID, "locus-twas").text
    assert "INSM1" in twas and "5.119" in twas                                # the TWAS stage's z of INSM1
    _search(browser, "20:20069826:G:T")
    assert browser.find_element(By.ID, "lead").text == "rs73125634"
    dots = browser.find_elements(By.CSS_SELECTOR, "#assoc .snp")
    n = int(browser.find_element(By.ID, "n-snps").text.replace(",", ""))
    assert len(dots) == n > 100                                               # one hoverable point per SNP
    tip = browser.find_element(By.CSS_SELECTOR, "#assoc .lead title").get_attribute("textContent")
    assert "rs73125634" in tip and "r2 = 1" in tip
    screenshot(browser, "serve_locus", tmp_path)
    svg = browser.find_element(By.ID, "assoc")                            # drag across the track: zoom in
    page = browser.find_element(By.TAG_NAME, "html")
    w = svg.size["width"]
    ActionChains(browser).move_to_element_with_offset(svg, int(-w * 0.2), 0).click_and_hold() \
        .move_by_offset(int(w * 0.3), 0).release().perform()
    WebDriverWait(browser, 120).until(EC.staleness_of(page))
    chrom, span = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)["region"][0].split(":")
    a, b = map(int, span.split("-"))
    assert chrom == "20" and 19_819_826 < a < b < 20_319_826 and 100_000 < b - a < 200_000   # ~30% of 500 kb
    assert browser.find_element(By.ID, "lead").text == "rs73125634"                          # lead kept
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "scale").click()                           # the locus plot as signed z
    WebDriverWait(browser, 120).until(EC.staleness_of(page))
    assert "y=z" in browser.current_url and browser.find_element(By.ID, "scale").text == "show -log10 p"
    img = browser.find_element(By.CSS_SELECTOR, "img[alt='locus plot']")
    assert "y=z" in img.get_attribute("src") and browser.execute_script("return arguments[0].naturalWidth", img) > 500
    _search(browser, "rs6136914")
    assert browser.find_element(By.ID, "lead").text == "rs6136914"


def test_locus_view_dnalm_track(server, browser, tmp_path):
    """The locus view's DNA-LM track: one hoverable point per scored SNP (the lead's diamond among them), its LLR
    in the tooltip equal to the variant_scores dataset's, an explanation above it; the SNP table lists llr."""
    run = server.app.run
    if not run.has("variant_scores"):
        pytest.skip("no DNA-LM scores in the example run (realdata FASTA absent)")
    browser.get(_url(server, "/locus?region=20:19569826-20569826&lead=20:20069826:G:T"))
    snps = locus_data(run, "20", 19_569_826, 20_569_826)["snps"]
    pts = browser.find_elements(By.CSS_SELECTOR, "#track-llr circle.score")
    assert len(pts) + 1 == snps["llr"].notna().sum() > 500                 # + the lead's diamond
    llr = run.table("variant_scores").set_index("variant_id").loc["20:20069826:G:T", "llr"]
    tip = browser.find_element(By.CSS_SELECTOR, "#track-llr .lead title").get_attribute("textContent")
    assert "rs73125634" in tip and f"DNA-LM LLR = {fmt(llr)}" in tip
    assert "log P(alt) - log P(ref)" in browser.find_element(By.TAG_NAME, "main").text
    assert "llr" in [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#locus-snps th")]
    screenshot(browser, "serve_locus_dnalm", tmp_path, element="dnalm-tracks")


def test_embedding_view(server, browser, tmp_path):
    """The embedding view: a point per embedded variant (all of them here), placed by the PCA of the run's
    emb_delta vectors; a variant highlighted by rsid, its point linking to its locus; colour by LLR."""
    run = server.app.run
    emb = run.embeddings()
    if emb is None:
        pytest.skip("no DNA-LM embeddings in the example run (realdata FASTA absent)")
    browser.get(_url(server, "/"))
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, "emb-link").click()
    WebDriverWait(browser, 120).until(EC.staleness_of(page))
    n = len(emb[0])
    pts = browser.find_elements(By.CSS_SELECTOR, "#embedding circle.emb")
    assert len(pts) == n == int(browser.find_element(By.ID, "emb-n").text.replace(",", "")) > 1000
    assert "PC1 (" in browser.find_element(By.ID, "embedding").text
    screenshot(browser, "serve_embedding", tmp_path)
    browser.get(_url(server, "/embedding?q=rs73125634&color=llr"))
    hit = browser.find_elements(By.CSS_SELECTOR, "#embedding circle.hit")
    assert len(hit) == 1 and "rs73125634" in hit[0].find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert "DNA-LM LLR (nats)" in browser.find_element(By.ID, "embedding").text
    page = browser.find_element(By.TAG_NAME, "html")
    browser.execute_script("arguments[0].parentNode.dispatchEvent(new MouseEvent('click', {bubbles: true}))", hit[0])
    WebDriverWait(browser, 120).until(EC.staleness_of(page))
    assert browser.find_element(By.ID, "lead").text == "rs73125634"
    for path, message in (("/embedding?color=x", "color must be p or llr"),
                          ("/embedding?q=rs1", "'rs1' is not among the")):
        got, body, _ = _get(server, path)
        assert got in (400, 404) and message in html.unescape(body)


def test_tables_filter_sort_download(server, browser, tmp_path):
    browser.get(_url(server, "/table/twas?sort=pvalue"))
    first = browser.find_element(By.CSS_SELECTOR, "#tbl tbody tr").text
    assert "ZNF74" in first
    assert browser.find_element(By.ID, "match-count").text == "24 matching rows"
    browser.get(_url(server, "/table/twas?q=SCARF2"))
    assert browser.find_element(By.ID, "match-count").text == "1 matching rows"
    assert browser.find_element(By.ID, "table-meaning").text.startswith("Gene-level TWAS association")   # its schema
    head = {th.text: th.get_attribute("title") for th in browser.find_elements(By.CSS_SELECTOR, "#tbl th")}
    assert head["pvalue"] == "2 Phi(-|zscore|)" and head["zscore"] != "sort"           # column meanings
    screenshot(browser, "serve_table", tmp_path)
    status, body, headers = _get(server, "/table/twas?sort=pvalue&limit=3&format=tsv")
    assert status == 200 and headers["Content-Type"].startswith("text/tab-separated-values")
    lines = body.splitlines()
    assert lines[0].split("\t")[:3] == ["model_id", "gene", "gene_name"] and len(lines) == 4
    assert lines[1].split("\t")[2] == "ZNF74"


@pytest.mark.parametrize("path", ["/files/../../../etc/passwd", "/files/%2e%2e/%2e%2e/etc/passwd",
                                  "/files/..%2f..%2fetc%2fpasswd", "/../etc/passwd"])
def test_path_traversal_refused(server, path):
    status, body, _ = _get(server, path)
    assert status == 403 and "refused" in body and "root:" not in body


def test_symlink_out_of_results_refused(server, tmp_path):
    link = server.app.root / "escape"
    link.symlink_to("/etc")
    try:
        status, body, _ = _get(server, "/files/escape/passwd")
        assert status == 403 and "outside the results directory" in body
    finally:
        link.unlink()
    (server.app.root / "notes").mkdir(exist_ok=True)
    (server.app.root / "notes" / "read me.txt").write_text("inside the results")
    status, body, headers = _get(server, "/files/notes/read%20me.txt")
    assert status == 200 and body == "inside the results" and headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize("path,status,message", [
    ("/search?q=20:1-x", 400, "cannot read '20:1-x' as a variant"),
    ("/search?q=", 400, "empty search"),
    ("/search?q=" + urllib.parse.quote("<script>alert(1)</script>"), 400, "cannot read '<script>alert(1)</script>'"),
    ("/search?q=NOSUCHGENE1", 404, "neither among this run"),
    ("/search?q=rs999999999", 404, "rsid rs999999999 is not in"),
    ("/locus?region=20:5-1", 400, "start must be"),
    ("/locus?region=20:1-90000000", 400, "at most 10,000,000 bp"),
    ("/locus?region=25:1-100", 400, "unknown chromosome"),
    ("/table/twas?sort=nope", 400, "no column 'nope'"),
    ("/table/twas?limit=abc", 400, "limit must be a whole number"),
    ("/table/secrets", 404, "no table 'secrets'"),
    ("/img/manhattan.png?what=x", 400, "what must be gwas or twas"),
    ("/locus?region=20:20000000-20300000&y=log", 400, "y must be logp or z"),
    ("/nowhere", 404, "no page '/nowhere'"),
])
def test_malformed_queries_answered_clearly(server, browser, path, status, message, tmp_path):
    got, body, _ = _get(server, path)
    assert got == status and message in html.unescape(body)
    assert "Traceback" not in body and "<script>alert" not in body          # shown escaped, never run
    if path.startswith("/search?q=20:1-x"):
        browser.get(_url(server, path))
        assert "as a variant" in browser.find_element(By.ID, "error").text
        screenshot(browser, "serve_error", tmp_path)
