"""In a real browser: a control that is hidden (another view, a collapsed option) keeps its value.

AppTest keeps every widget's state on the server, so only a browser shows the loss these
tests guard against: a widget that is not drawn in one run comes back empty or at its
minimum, and the next rerun writes that into the URL.
"""

from tests.conftest import wait_idle


def _main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _set_number(page, label: str, value: int) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def test_cardinality_switch_view_change_switch_back(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/cardinality?budget=120000&cardinalities=1,4,32")
    wait_idle(page)
    assert page.get_by_label("Budget: weights in the block", exact=True).input_value() == "120000"
    page.get_by_text("Same width, more groups", exact=True).click()
    wait_idle(page)
    _set_number(page, "Width C·d of the grouped 3×3", 256)
    page.get_by_text("Same weights, more paths (Table 2)", exact=True).click()
    wait_idle(page)
    assert page.get_by_label("Budget: weights in the block", exact=True).input_value() == "120000"
    chosen = page.locator('[data-testid="stMultiSelect"]').inner_text()
    assert all(c in chosen for c in ("1", "4", "32")), chosen
    assert "budget=120000" in page.url and "cardinalities=1%2C4%2C32" in page.url.replace(",", "%2C")
    # and the other view kept its own change
    page.get_by_text("Same width, more groups", exact=True).click()
    wait_idle(page)
    assert page.get_by_label("Width C·d of the grouped 3×3", exact=True).input_value() == "256"
    page.close()


def test_kernel_width_survives_the_square_toggle_and_a_page_switch(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/parameters?square=0&kw=5")
    wait_idle(page)
    page.get_by_text("Input size, stride, padding, bias, non-square kernel").click()
    assert page.get_by_label("Kernel width", exact=True).input_value() == "5"
    page.get_by_text("Square kernel", exact=True).click()   # hide the width
    wait_idle(page)
    page.get_by_text("Square kernel", exact=True).click()   # show it again
    wait_idle(page)
    assert page.get_by_label("Kernel width", exact=True).input_value() == "5"
    page.get_by_role("link", name="Connectivity").first.click()
    wait_idle(page)
    page.get_by_role("link", name="Parameter math").first.click()
    wait_idle(page)
    assert "kw=5" in page.url and "square=0" in page.url
    page.close()


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page, 120_000)


def test_gradients_channel_survives_switching_the_target_away_and_back(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.goto(f"{server}/gradients?target=channel&group=1&channel=6")
    wait_idle(page, 120_000)
    assert "channel=6" in page.url
    _choose(page, "Backpropagate", "group g's energy")     # the channel selectbox disappears
    _choose(page, "Backpropagate", "one channel of g")     # and comes back
    assert "channel=6" in page.url and "target=channel" in page.url
    assert "outside channel 6's filter" in _main_text(page)  # the page computes for the kept channel
    page.close()


def test_a_data_table_opens_on_demand_and_stays_open_through_a_change(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/parameters?groups=32")
    wait_idle(page)
    assert page.locator('[data-testid="stTable"]').count() == 0  # none built while every expander is closed
    page.locator('.st-key-dt_params_chart summary').click()
    wait_idle(page)
    table = page.locator('.st-key-dt_params_chart [data-testid="stTable"]')
    assert table.count() == 1 and "32" in table.inner_text()
    _set_number(page, "Groups", 16)
    assert table.count() == 1 and "groups=16" in page.url
    page.close()
