"""In a real browser: a control inside a fragment reruns only its section, and still writes the URL."""

from tests.conftest import wait_idle


def _choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).first.click()
    page.get_by_role("option", name=option, exact=True).click()
    wait_idle(page)


def test_connectivity_highlight_is_a_fragment_that_updates_the_url_and_survives_a_page_change(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/connectivity?c_in=64&c_out=128&groups=8")
    wait_idle(page)
    # A full rerun redraws the title; a fragment rerun leaves it alone: mark it and see the mark survive.
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"] h1').dataset.mark = 'kept'")
    _choose(page, "Highlight a group", "group 2")
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"] h1').dataset.mark") == "kept"
    assert "highlight=2" in page.url and "groups=8" in page.url
    assert "Group 2 owns output channels [32, 48)" in page.locator('[data-testid="stMain"]').inner_text()
    page.get_by_role("link", name="Parameter math").first.click()
    wait_idle(page)
    page.get_by_role("link", name="Connectivity").first.click()
    wait_idle(page)
    assert "highlight=2" in page.url
    assert "Group 2 owns output channels [32, 48)" in page.locator('[data-testid="stMain"]').inner_text()
    # A change outside the fragment (the group count) still reruns the whole page and bounds the highlight.
    box = page.get_by_label("Groups", exact=True)
    box.fill("2")
    box.press("Enter")
    wait_idle(page)
    assert "groups=2" in page.url
    assert "highlight=2" not in page.url
    page.close()


def test_parameter_maths_group_slider_reruns_only_its_section_and_writes_the_url(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 2000})
    page.goto(f"{server}/parameters?c_in=64&c_out=128&groups=32&slide_g=1")
    wait_idle(page)
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"] h1').dataset.mark = 'kept'")
    slider = page.locator('.st-key-slider_groups input[type="range"]')
    for g in (2, 4):  # one step at a time: a rerun redraws the slider, which may drop the keyboard focus
        slider.focus()
        slider.press("ArrowRight")
        wait_idle(page)
        page.wait_for_function("(g) => location.search.includes('slide_g=' + g)", arg=g, timeout=30_000)
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"] h1').dataset.mark") == "kept"
    assert "groups=32" in page.url
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "18,432" in text  # 64·128·9 / 4 weights at the slider's G = 4
    page.close()
